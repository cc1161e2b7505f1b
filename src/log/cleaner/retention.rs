//! What a cleaning keeps of each record and batch (Kafka's `Cleaner.shouldRetainRecord` and
//! batch retention).

use std::collections::{BTreeSet, HashMap};

use super::offset_map::OffsetMap;
use crate::record::RecordBatch;

/// What a cleaning keeps (Kafka's `Cleaner.shouldRetainRecord` and batch retention).
pub(super) struct Retention<'a> {
    pub(super) policy: Policy<'a>,
    pub(super) now: i64,
    /// The delete horizon to stamp on batches with tombstones.
    pub(super) horizon: i64,
}

/// Which records a rewrite keeps.
pub(super) enum Policy<'a> {
    /// Kafka's cleaner: the latest record of each key in `map` (and everything past what it
    /// mapped), tombstones until their horizon, each producer's last batch.
    Latest {
        map: &'a OffsetMap,
        /// Each producer's last batch in the log, by its last offset.
        producers: &'a HashMap<i64, i64>,
    },
    /// The records at these offsets, and no other (see `Log::retain_only`).
    Offsets(&'a BTreeSet<i64>),
}

impl Retention<'_> {
    pub(super) fn keeps(
        &self,
        offset: i64,
        key: Option<&[u8]>,
        has_value: bool,
        horizon_passed: bool,
    ) -> bool {
        let map = match self.policy {
            Policy::Latest { map, .. } => map,
            Policy::Offsets(offsets) => return offsets.contains(&offset),
        };
        if offset > map.latest_offset() {
            return true;
        }
        let Some(key) = key else {
            return false;
        };
        let latest = match map.superseded(offset) {
            Some(superseded) => !superseded,
            None => offset >= map.get(key).unwrap_or(-1),
        };
        latest && (has_value || !horizon_passed)
    }

    /// Whether every record of `batch` was replaced by a later one of its key, and nothing
    /// else keeps the batch: it goes whole, without decoding its records.
    pub(super) fn supersedes_whole(&self, batch: &RecordBatch<'_>) -> bool {
        match self.policy {
            Policy::Latest { map, .. } => {
                !batch.is_control()
                    && map.all_superseded(batch.base_offset(), batch.last_offset())
                    && !self.holds_producer_state(batch)
            }
            Policy::Offsets(_) => false,
        }
    }

    /// Whether `batch` holds its producer's last data: kept, emptied if need be.
    pub(super) fn holds_producer_state(&self, batch: &RecordBatch<'_>) -> bool {
        match self.policy {
            Policy::Latest { producers, .. } => {
                batch.producer_id() >= 0
                    && producers.get(&batch.producer_id()) == Some(&batch.last_offset())
            }
            Policy::Offsets(_) => false,
        }
    }
}
