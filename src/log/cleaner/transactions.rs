//! What a cleaning knows of transactions (Kafka's `CleanedTransactionMetadata`): which data
//! batches belong to aborted transactions (not mapped, and removed), and which transaction
//! markers may go: a marker stays while a batch of its transaction is still read in the
//! log, is stamped with a delete horizon by the first cleaning that finds its transaction
//! empty, and is removed by a cleaning past that horizon.

use std::collections::{HashMap, HashSet};

use crate::log::AbortedTransaction;
use crate::record::{ControlRecordType, RecordBatch};

/// One cleaning's view of the log's transactions, read in offset order from the log start.
#[derive(Debug, Default)]
pub(crate) struct CleanedTransactions {
    /// Producer id → its aborted transactions' (first offset, marker offset).
    aborted: HashMap<i64, Vec<(i64, i64)>>,
    /// Producers with a transactional data batch read since their last marker.
    seen: HashSet<i64>,
    /// The offsets of the markers this cleaning removed.
    pub(crate) removed_markers: Vec<i64>,
}

/// What to do with a transaction marker.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum MarkerFate {
    /// Its transaction still has batches in the log: kept as it is.
    Keep,
    /// Its transaction is empty and the marker has no delete horizon: stamp one.
    Stamp,
    /// Its transaction is empty and its delete horizon has passed: removed.
    Remove,
}

impl CleanedTransactions {
    /// For a log whose aborted transactions are `aborted`.
    pub(crate) fn new(aborted: &[AbortedTransaction]) -> Self {
        let mut by_producer: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for txn in aborted {
            by_producer
                .entry(txn.producer_id)
                .or_default()
                .push((txn.first_offset, txn.last_offset));
        }
        CleanedTransactions {
            aborted: by_producer,
            ..CleanedTransactions::default()
        }
    }

    /// Whether `batch` (a data batch) belongs to an aborted transaction.
    pub(super) fn is_aborted(&self, batch: &RecordBatch<'_>) -> bool {
        if !batch.is_transactional() || batch.is_control() {
            return false;
        }
        let offset = batch.base_offset();
        self.aborted
            .get(&batch.producer_id())
            .is_some_and(|ranges| ranges.iter().any(|&(f, l)| f <= offset && offset <= l))
    }

    /// Reads a data batch: whether it belongs to an aborted transaction (then it goes), and
    /// notes its transaction as not empty.
    pub(super) fn data_batch(&mut self, batch: &RecordBatch<'_>) -> bool {
        if batch.is_transactional() {
            self.seen.insert(batch.producer_id());
        }
        self.is_aborted(batch)
    }

    /// Reads a control batch at cleaning time `now`. Only COMMIT and ABORT markers go; other
    /// control records stay, as Kafka keeps them.
    pub(super) fn control_batch(&mut self, batch: &RecordBatch<'_>, now: i64) -> MarkerFate {
        if !is_marker(batch) {
            return MarkerFate::Keep;
        }
        if self.seen.remove(&batch.producer_id()) {
            return MarkerFate::Keep;
        }
        match batch.delete_horizon_ms() {
            None => MarkerFate::Stamp,
            Some(horizon) if now >= horizon => {
                self.removed_markers.push(batch.base_offset());
                MarkerFate::Remove
            }
            Some(_) => MarkerFate::Keep,
        }
    }
}

/// Whether `batch` holds a COMMIT or ABORT marker.
fn is_marker(batch: &RecordBatch<'_>) -> bool {
    let Ok(records) = batch.records() else {
        return false;
    };
    let first = records.iter().next().and_then(|r| r.ok());
    first
        .and_then(|record| record.key.map(ControlRecordType::parse_key))
        .is_some_and(|kind| {
            matches!(
                kind,
                Ok(ControlRecordType::Commit | ControlRecordType::Abort)
            )
        })
}
