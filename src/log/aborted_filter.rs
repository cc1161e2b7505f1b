//! `isolation.level=read_committed`: which batches read belong to aborted transactions,
//! decided as Kafka's consumer does (`CompletedFetch.nextFetchedRecord`): the partition's
//! aborted transactions for the range read, ordered by first offset, join the set of
//! aborted producers as the batches reach them; a transactional batch of a producer in the
//! set is skipped; the producer's ABORT marker takes it out of the set again. Used by
//! `read_committed` consumers and by the event store's stream index and scans.

use std::collections::{HashSet, VecDeque};

use super::{AbortedTransaction, Log};
use crate::record::{ControlRecordType, RecordBatch};

/// The aborted transactions of one `read_committed` read, in offset order.
pub(crate) struct AbortedFilter {
    /// Not yet reached, by first offset.
    pending: VecDeque<AbortedTransaction>,
    /// Producers whose batches are skipped until their ABORT marker.
    producers: HashSet<i64>,
}

impl AbortedFilter {
    /// The filter for a fetch of `log` from `position` (below its last stable offset).
    pub(crate) fn new(log: &Log, position: i64) -> AbortedFilter {
        AbortedFilter::below(log, position, log.last_stable_offset())
    }

    /// The filter for a read of `log` from `position` up to `upper`, where every
    /// transaction is decided (below the first offset of any still open).
    pub(crate) fn below(log: &Log, position: i64, upper: i64) -> AbortedFilter {
        let mut aborted = log.aborted_transactions(position, upper);
        aborted.sort_unstable_by_key(|t| t.first_offset);
        AbortedFilter {
            pending: aborted.into(),
            producers: HashSet::new(),
        }
    }

    /// Whether `batch` is part of an aborted transaction (or a marker a `read_committed`
    /// reader never sees anyway: control batches are skipped by the caller).
    pub(crate) fn skips(&mut self, batch: &RecordBatch<'_>) -> bool {
        let producer = batch.producer_id();
        if producer < 0 {
            return false;
        }
        while self
            .pending
            .front()
            .is_some_and(|t| t.first_offset <= batch.last_offset())
        {
            let reached = self.pending.pop_front().expect("checked");
            self.producers.insert(reached.producer_id);
        }
        if batch.is_control() {
            if is_abort_marker(batch) {
                self.producers.remove(&producer);
            }
            return false;
        }
        batch.is_transactional() && self.producers.contains(&producer)
    }
}

fn is_abort_marker(batch: &RecordBatch<'_>) -> bool {
    let Ok(records) = batch.records() else {
        return false;
    };
    let first = records.iter().next().and_then(|r| r.ok());
    first
        .and_then(|r| r.key.map(ControlRecordType::parse_key))
        .is_some_and(|kind| matches!(kind, Ok(ControlRecordType::Abort)))
}
