//! The stream index of one partition: for each stream, the offsets of its events by version.
//! Derived data, rebuilt from the log: it follows the log by reading whatever was appended
//! since it last looked, whoever appended it, so that plain producers may write to a store's
//! topic too (their records count as events of the stream their key names).

use std::collections::HashMap;

use super::event::record_version;
use crate::error::{Error, Result};
use crate::log::Log;

/// How many bytes one read of the log takes while following it.
const FOLLOW_READ_BYTES: usize = 1 << 20;

/// The highest version a record may state: a partition holds fewer records than this, so
/// versions counted on from it never overflow.
const MAX_STATED_VERSION: u64 = i64::MAX as u64;

/// One stream's events: the offset of each, by version.
#[derive(Debug)]
pub(super) struct StreamIndex {
    /// The version of `offsets[0]` (0 unless retention removed the stream's first events
    /// before the index was built).
    pub(super) first_version: u64,
    /// Ascending offsets, one per event.
    pub(super) offsets: Vec<i64>,
    /// Where each event's batch starts in its segment file: a hint that saves the offset
    /// index's search when reading it (`u32::MAX`: unknown).
    positions: Vec<u32>,
}

impl StreamIndex {
    /// The version of the stream's last event.
    pub(super) fn last_version(&self) -> u64 {
        self.first_version + self.offsets.len() as u64 - 1
    }

    /// The offset of the event at `version`, if indexed.
    pub(super) fn offset_of(&self, version: u64) -> Option<i64> {
        let at = usize::try_from(version.checked_sub(self.first_version)?).ok()?;
        self.offsets.get(at).copied()
    }

    /// The offset of the event at `version` and where its batch was in its segment file.
    pub(super) fn location(&self, version: u64) -> Option<(i64, u32)> {
        let at = usize::try_from(version.checked_sub(self.first_version)?).ok()?;
        Some((*self.offsets.get(at)?, self.positions[at]))
    }

    fn push(&mut self, offset: i64, position: u32) {
        self.offsets.push(offset);
        self.positions.push(position);
    }

    /// The version of the event at `offset`, if it is one of this stream's.
    pub(super) fn version_at(&self, offset: i64) -> Option<u64> {
        let at = self.offsets.binary_search(&offset).ok()?;
        Some(self.first_version + at as u64)
    }
}

/// The streams of one partition, as of `next_offset`.
#[derive(Debug, Default)]
pub(super) struct PartitionIndex {
    /// Every record below this offset is indexed.
    pub(super) next_offset: i64,
    streams: HashMap<String, StreamIndex>,
}

impl PartitionIndex {
    /// The stream's events, if it has any.
    pub(super) fn stream(&self, stream: &str) -> Option<&StreamIndex> {
        self.streams.get(stream)
    }

    /// The version of the stream's last event, `None` if it has none.
    pub(super) fn version(&self, stream: &str) -> Option<u64> {
        self.streams.get(stream).map(StreamIndex::last_version)
    }

    /// Records `count` events of `stream` this process appended in one batch at
    /// `first_offset` onwards (the log's last records), the batch at `position`.
    pub(super) fn appended(
        &mut self,
        stream: &str,
        first_version: u64,
        first_offset: i64,
        count: usize,
        position: Option<u64>,
    ) {
        let position = hint(position);
        let index = self.entry(stream, first_version);
        for offset in (first_offset..).take(count) {
            index.push(offset, position);
        }
        self.next_offset = first_offset + count as i64;
    }

    fn entry(&mut self, stream: &str, first_version: u64) -> &mut StreamIndex {
        if !self.streams.contains_key(stream) {
            let index = StreamIndex {
                first_version,
                offsets: Vec::new(),
                positions: Vec::new(),
            };
            self.streams.insert(stream.to_string(), index);
        }
        self.streams.get_mut(stream).expect("inserted above")
    }

    /// Indexes what was appended to `log` since the index last looked (everything, at the
    /// first call), synced or not.
    pub(super) fn follow(&mut self, log: &Log) -> Result<()> {
        let start = log.log_start_offset();
        if self.next_offset < start {
            // Retention removed records never indexed; their streams' versions start later.
            self.next_offset = start;
        }
        while self.next_offset < log.log_end_offset() {
            let data = match log.read_unsynced(self.next_offset, FOLLOW_READ_BYTES) {
                Ok(data) => data,
                // Retention raised the log start meanwhile: go on from there.
                Err(Error::OffsetOutOfRange { log_start, .. }) if self.next_offset < log_start => {
                    self.next_offset = log_start;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if data.is_empty() {
                break;
            }
            for batch in data.batches() {
                let batch = batch?;
                let next = batch.last_offset() + 1;
                if !batch.is_control() {
                    // Decode the whole batch before indexing any of it, so that a batch that
                    // fails half way is not indexed twice by the next call.
                    let records = batch.records()?;
                    let position = hint(data.position_of(&batch).map(|p| p as u64));
                    let mut events = Vec::new();
                    for record in records.iter() {
                        let record = record.map_err(|e| data.undecodable(&batch, e))?;
                        if record.offset < self.next_offset {
                            continue;
                        }
                        if let Some(stream) = record.key.and_then(|k| std::str::from_utf8(k).ok()) {
                            events.push((stream, record.offset, record_version(&record)));
                        }
                    }
                    for (stream, offset, stated) in events {
                        self.index(stream, offset, position, stated, log.name());
                    }
                }
                self.next_offset = self.next_offset.max(next);
            }
        }
        Ok(())
    }

    /// Indexes one event of `stream` at `offset` (its batch at `position`), whose record
    /// states version `stated`.
    fn index(
        &mut self,
        stream: &str,
        offset: i64,
        position: u32,
        stated: Option<u64>,
        partition: &str,
    ) {
        let stated = stated.filter(|&v| v <= MAX_STATED_VERSION);
        match self.streams.get_mut(stream) {
            Some(index) => {
                let version = index.last_version() + 1;
                if stated.is_some_and(|v| v != version) {
                    tracing::warn!(
                        target: "kafkalite::eventstore",
                        "{partition} offset {offset}: stream '{stream}' event says version {}, but it is the stream's version {version}; reads use {version}",
                        stated.unwrap_or_default(),
                    );
                }
                index.push(offset, position);
            }
            None => self
                .entry(stream, stated.unwrap_or(0))
                .push(offset, position),
        }
    }
}

/// A position as the index keeps it.
fn hint(position: Option<u64>) -> u32 {
    position
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(u32::MAX)
}
