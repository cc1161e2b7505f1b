//! Rewriting a log to a chosen set of records: what the metadata log needs in place of
//! KRaft's snapshots. The caller knows which records its replay still needs (the live
//! topics' latest state), and every closed segment is rewritten to those, through the same
//! groups, files and crash-safe swap as a cleaning; offsets are kept.

use std::collections::BTreeSet;

use super::clean::{group_by_size, segment_ends};
use super::retention::{Policy, Retention};
use super::transactions::CleanedTransactions;
use crate::error::{Error, Result};
use crate::log::partition::Log;
use crate::log::CleanStats;

impl Log {
    /// Rewrites every segment but the active one to the records at the offsets in `keep`
    /// (the others are removed, their offsets left as gaps), with the cleaner's files and
    /// swap (see [`Log::clean`]); returns what it did, or `None` when there is only the
    /// active segment. Callers must keep whatever a reader of the log needs.
    pub(crate) fn retain_only(&self, keep: &BTreeSet<i64>, now: i64) -> Result<Option<CleanStats>> {
        let _cleaning = self.cleaning.lock();
        if self.cleaning_stopped() {
            return Err(Error::Closed);
        }
        let segments = self.segment_list();
        let closed = &segments[..segments.len() - 1];
        if closed.is_empty() {
            return Ok(None);
        };
        let ends = segment_ends(&segments, self.log_end_offset());
        let mut stats = CleanStats {
            first_dirty_offset: closed[0].base_offset(),
            end_offset: ends[closed.len() - 1],
            ..CleanStats::default()
        };
        let rule = Retention {
            policy: Policy::Offsets(keep),
            now,
            horizon: now,
        };
        for group in group_by_size(closed, &ends, self.config().segment_bytes) {
            if !self.clean_group(
                group,
                &rule,
                &mut CleanedTransactions::default(),
                &mut stats,
            )? {
                stats.end_offset = stats.end_offset.min(group[0].base_offset());
                break;
            }
        }
        Ok(Some(stats))
    }
}
