//! Conditional append: append only if the log ends where the caller last saw it. The building
//! block of optimistic concurrency on a plain partition (and of the event store's
//! expected-version check, which must hold even while other producers write to its topic).

use super::incoming::validate;
use super::partition::{AppendInfo, Log};
use crate::error::Result;

impl Log {
    /// As [`Log::append`], but only if the log end offset is `expected_end` when the batches
    /// go in; otherwise nothing is written and the answer is
    /// [`crate::Error::UnexpectedLogEndOffset`] with the actual end offset (read the records
    /// appended since, decide again, and retry with the new end).
    pub fn append_if(&self, batches: &[u8], expected_end: i64) -> Result<AppendInfo> {
        let (info, sync_now) = self.append_if_unsynced(batches, expected_end, true)?;
        if sync_now {
            self.sync_to(info.last_offset + 1)?;
        }
        Ok(info)
    }

    /// As [`Log::append_if`], without the sync the topic's durability may ask for: the
    /// answer says whether a [`Log::sync_to`] must follow before the append counts as done
    /// (so that callers can sync outside their own locks, sharing one sync). `check_crc` is
    /// false only for batches a builder in this process just made.
    pub(crate) fn append_if_unsynced(
        &self,
        batches: &[u8],
        expected_end: i64,
        check_crc: bool,
    ) -> Result<(AppendInfo, bool)> {
        self.check_writable()?;
        let config = self.config();
        let incoming = validate(batches, &config, check_crc, &self.name)?;
        self.append_validated(batches, &incoming, &config, Some(expected_end))
    }
}
