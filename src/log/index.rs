//! A segment's sparse offset index (`.index`) and time index (`.timeindex`), in Kafka's
//! formats. Indexes are derived data: kept in memory, written to their files when the segment
//! is rolled or closed, checked when loaded, and rebuilt from the log on any doubt.

/// Bytes of one offset-index entry: relative offset u32 + position u32.
pub const OFFSET_ENTRY_BYTES: usize = 8;
/// Bytes of one time-index entry: timestamp i64 + relative offset u32.
pub const TIME_ENTRY_BYTES: usize = 12;

/// One `.index` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Offset minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of the batch in the `.log`.
    pub position: u32,
}

/// One `.timeindex` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    /// Largest timestamp seen up to the offset.
    pub timestamp: i64,
    /// Offset minus the segment's base offset.
    pub relative_offset: u32,
}

/// The in-memory indexes of one segment plus what is needed to extend them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentIndex {
    /// Offset entries, strictly increasing.
    pub offsets: Vec<OffsetEntry>,
    /// Time entries, strictly increasing in timestamp.
    pub times: Vec<TimeEntry>,
    bytes_since_entry: u64,
    /// Largest timestamp in the segment (−1 if none yet).
    pub max_timestamp: i64,
    /// Last offset of the batch that carried `max_timestamp`.
    pub offset_of_max_timestamp: i64,
}

impl SegmentIndex {
    /// An empty index.
    pub fn new() -> Self {
        SegmentIndex {
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            ..Default::default()
        }
    }

    /// Records an appended batch, adding entries with Kafka's rule: when more than
    /// `interval_bytes` were appended since the last entry, this batch gets one.
    pub fn on_append(
        &mut self,
        base_offset: i64,
        batch_last_offset: i64,
        batch_max_timestamp: i64,
        position: u64,
        size: u64,
        interval_bytes: u64,
    ) {
        if batch_max_timestamp > self.max_timestamp {
            self.max_timestamp = batch_max_timestamp;
            self.offset_of_max_timestamp = batch_last_offset;
        }
        // Kafka's entries are 32 bits. The log rolls before a relative offset passes i32::MAX
        // and `segment.bytes` is at most i32::MAX, so both fit; an entry that did not would be
        // skipped, never wrapped (a lookup then starts at an earlier entry and scans on).
        if self.bytes_since_entry > interval_bytes {
            let relative = u32::try_from(batch_last_offset - base_offset);
            if let (Ok(relative_offset), Ok(position)) = (relative, u32::try_from(position)) {
                self.offsets.push(OffsetEntry {
                    relative_offset,
                    position,
                });
                self.maybe_append_time(base_offset);
                self.bytes_since_entry = 0;
            }
        }
        self.bytes_since_entry += size;
    }

    fn maybe_append_time(&mut self, base_offset: i64) {
        let newer = self
            .times
            .last()
            .is_none_or(|last| self.max_timestamp > last.timestamp);
        if newer && self.max_timestamp >= 0 {
            // Skipped rather than wrapped if it ever did not fit (see `on_append`).
            if let Ok(relative_offset) = u32::try_from(self.offset_of_max_timestamp - base_offset) {
                self.times.push(TimeEntry {
                    timestamp: self.max_timestamp,
                    relative_offset,
                });
            }
        }
    }

    /// Adds the final time entry Kafka writes when a segment stops being active.
    pub fn seal(&mut self, base_offset: i64) {
        self.maybe_append_time(base_offset);
    }

    /// Whether either index holds as many entries as `index_bytes` allows.
    pub fn is_full(&self, index_bytes: u64) -> bool {
        self.offsets.len() as u64 >= index_bytes / OFFSET_ENTRY_BYTES as u64
            || self.times.len() as u64 >= index_bytes / TIME_ENTRY_BYTES as u64
    }

    /// The entry with the greatest offset ≤ `relative`, else (0, position 0).
    pub fn lookup(&self, relative: u32) -> OffsetEntry {
        let at = self
            .offsets
            .partition_point(|e| e.relative_offset <= relative);
        at.checked_sub(1)
            .map(|i| self.offsets[i])
            .unwrap_or(OffsetEntry {
                relative_offset: 0,
                position: 0,
            })
    }

    /// The last time entry whose timestamp is below `timestamp`: every record up to its offset
    /// is older, so a search for the first record at or after `timestamp` can start there.
    /// (Kafka takes the last entry ≤ the target, which can skip a record stamped exactly at
    /// the target; strict comparison cannot.)
    pub fn lookup_time(&self, timestamp: i64) -> Option<TimeEntry> {
        let at = self.times.partition_point(|e| e.timestamp < timestamp);
        at.checked_sub(1).map(|i| self.times[i])
    }

    /// The `.index` file's bytes.
    pub fn encode_offsets(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.offsets.len() * OFFSET_ENTRY_BYTES);
        for e in &self.offsets {
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
            out.extend_from_slice(&e.position.to_be_bytes());
        }
        out
    }

    /// The `.timeindex` file's bytes.
    pub fn encode_times(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.times.len() * TIME_ENTRY_BYTES);
        for e in &self.times {
            out.extend_from_slice(&e.timestamp.to_be_bytes());
            out.extend_from_slice(&e.relative_offset.to_be_bytes());
        }
        out
    }

    /// Reads index files of a sealed segment starting at `base_offset` whose `.log` is
    /// `log_bytes` long and whose last offset is `last_relative`. Any inconsistency is
    /// reported, so the caller rebuilds. The largest timestamp and its offset come from the
    /// last time entry (the one sealing wrote), as Kafka's `LogSegment` takes them.
    pub fn decode(
        offset_bytes: &[u8],
        time_bytes: &[u8],
        base_offset: i64,
        log_bytes: u64,
        last_relative: u32,
    ) -> Result<SegmentIndex, String> {
        if !offset_bytes.len().is_multiple_of(OFFSET_ENTRY_BYTES) {
            return Err(format!(
                "offset index length {} is not a multiple of 8",
                offset_bytes.len()
            ));
        }
        if !time_bytes.len().is_multiple_of(TIME_ENTRY_BYTES) {
            return Err(format!(
                "time index length {} is not a multiple of 12",
                time_bytes.len()
            ));
        }
        let mut index = SegmentIndex::new();
        for chunk in offset_bytes.chunks_exact(OFFSET_ENTRY_BYTES) {
            let entry = OffsetEntry {
                relative_offset: u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                position: u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
            };
            let ordered = index.offsets.last().is_none_or(|p| {
                p.relative_offset < entry.relative_offset && p.position < entry.position
            });
            if !ordered
                || entry.position as u64 >= log_bytes
                || entry.relative_offset > last_relative
            {
                return Err(format!(
                    "offset index entry {entry:?} is out of order or past the log"
                ));
            }
            index.offsets.push(entry);
        }
        for chunk in time_bytes.chunks_exact(TIME_ENTRY_BYTES) {
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&chunk[..8]);
            let entry = TimeEntry {
                timestamp: i64::from_be_bytes(ts),
                relative_offset: u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]),
            };
            let ordered = index
                .times
                .last()
                .is_none_or(|p| p.timestamp < entry.timestamp);
            if !ordered || entry.relative_offset > last_relative {
                return Err(format!(
                    "time index entry {entry:?} is out of order or past the log"
                ));
            }
            index.times.push(entry);
        }
        if let Some(last) = index.times.last() {
            index.max_timestamp = last.timestamp;
            index.offset_of_max_timestamp = base_offset + i64::from(last.relative_offset);
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_batch_gets_no_entry_then_every_interval() {
        let mut index = SegmentIndex::new();
        for i in 0..10i64 {
            index.on_append(
                100,
                100 + i,
                1000 + i,
                (i * 3000).unsigned_abs(),
                3000,
                4096,
            );
        }
        // Entries after the accumulated bytes exceed 4096: at batches 2, 4, 6, 8.
        let offsets: Vec<u32> = index.offsets.iter().map(|e| e.relative_offset).collect();
        assert_eq!(offsets, vec![2, 4, 6, 8]);
        assert_eq!(index.lookup(5).position, 4 * 3000);
        assert_eq!(index.lookup(1).position, 0);
        assert_eq!(index.lookup_time(1005).unwrap().timestamp, 1004);
        assert_eq!(
            index.lookup_time(1004).unwrap().timestamp,
            1002,
            "strictly below"
        );
        assert_eq!(index.lookup_time(1002), None);
        index.seal(100);
        assert_eq!(index.times.last().unwrap().timestamp, 1009);
        let decoded = SegmentIndex::decode(
            &index.encode_offsets(),
            &index.encode_times(),
            100,
            30_000,
            9,
        )
        .unwrap();
        assert_eq!(decoded.offsets, index.offsets);
        assert_eq!(decoded.times, index.times);
        assert_eq!(decoded.max_timestamp, 1009);
        assert_eq!(
            decoded.offset_of_max_timestamp, 109,
            "restored from the last time entry, as Kafka does"
        );
    }

    #[test]
    fn decode_rejects_inconsistent_files() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&5u32.to_be_bytes());
        bytes.extend_from_slice(&100u32.to_be_bytes());
        assert!(
            SegmentIndex::decode(&bytes, &[], 0, 50, 10).is_err(),
            "position past the log"
        );
        assert!(
            SegmentIndex::decode(&bytes, &[], 0, 500, 3).is_err(),
            "offset past the last"
        );
        assert!(
            SegmentIndex::decode(&bytes[..5], &[], 0, 500, 10).is_err(),
            "torn entry"
        );
        assert!(SegmentIndex::decode(&bytes, &[], 0, 500, 10).is_ok());
    }
}
