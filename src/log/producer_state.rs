//! Producer state of one partition, as Kafka's `ProducerStateManager`, `ProducerStateEntry`
//! and `ProducerAppendInfo` keep it: per producer id, its epoch, the metadata of its last
//! five batches (the duplicate window), the last transaction coordinator epoch and the first
//! offset of its open transaction. An append from a client is checked against it in Kafka's
//! order (duplicate, epoch, sequence, transaction state); a replay at open applies batches
//! without sequence checks, as Kafka's `AppendOrigin.REPLICATION`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::error::{Error, Result};
use crate::record::{parse_end_transaction_marker, ControlRecordType, RecordBatch};

/// Batches remembered per producer for duplicate detection (Kafka's
/// `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub(crate) const BATCHES_TO_RETAIN: usize = 5;

/// Kafka's `RecordBatch.NO_PRODUCER_EPOCH`: a producer the partition knows nothing of.
const NO_EPOCH: i16 = -1;

/// One remembered batch: Kafka's `BatchMetadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMetadata {
    pub(crate) last_seq: i32,
    pub(crate) last_offset: i64,
    /// Last offset minus first offset.
    pub(crate) offset_delta: i32,
    /// The batch's max timestamp.
    pub(crate) timestamp: i64,
}

impl BatchMetadata {
    /// The batch's first sequence (wrapping below 0 to `i32::MAX`, as Kafka's
    /// `DefaultRecordBatch.decrementSequence`).
    pub(crate) fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    pub(crate) fn first_offset(&self) -> i64 {
        self.last_offset - i64::from(self.offset_delta)
    }
}

/// `sequence` plus `increment`, wrapping past `i32::MAX` to 0 (Kafka's
/// `DefaultRecordBatch.incrementSequence`: `…, MAX - 1, MAX, 0, 1, …`).
pub(crate) fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX - decrement + sequence + 1
    } else {
        sequence - decrement
    }
}

/// Kafka's `inSequence`: `next` follows `last`, wrapping after `i32::MAX`.
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// What the partition knows of one producer id (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProducerEntry {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    /// The last batches, oldest first, at most [`BATCHES_TO_RETAIN`].
    pub(crate) batches: VecDeque<BatchMetadata>,
    pub(crate) coordinator_epoch: i32,
    pub(crate) last_timestamp: i64,
    pub(crate) current_txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn empty(producer_id: i64) -> ProducerEntry {
        ProducerEntry {
            producer_id,
            epoch: NO_EPOCH,
            batches: VecDeque::new(),
            coordinator_epoch: -1,
            last_timestamp: -1,
            current_txn_first_offset: None,
        }
    }

    /// The last sequence written, −1 when no batch is remembered.
    pub(crate) fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }

    fn set_epoch(&mut self, epoch: i16) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
    }

    fn add_batch(&mut self, batch: BatchMetadata) {
        if self.batches.len() == BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
        self.last_timestamp = batch.timestamp;
    }

    /// The remembered batch with exactly this sequence range, under the same epoch (Kafka's
    /// `findDuplicateBatch`).
    fn duplicate_of(&self, facts: &BatchFacts) -> Option<BatchMetadata> {
        if facts.epoch != self.epoch {
            return None;
        }
        self.batches
            .iter()
            .find(|b| b.first_seq() == facts.base_seq && b.last_seq == facts.last_seq)
            .copied()
    }
}

/// What the checks need of one batch, read from its header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchFacts {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) base_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) first_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) transactional: bool,
    /// For a control batch: its COMMIT or ABORT marker, `None` for an empty one (a cleaned
    /// transaction) or one without a marker.
    pub(crate) marker: Option<Option<Marker>>,
}

/// A transaction marker's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) coordinator_epoch: i32,
    pub(crate) abort: bool,
}

/// A transaction that a marker ended in this partition (Kafka's `CompletedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompletedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// The marker's offset.
    pub(crate) last_offset: i64,
    pub(crate) aborted: bool,
}

impl BatchFacts {
    /// The facts of `batch` placed at `first_offset`; `None` for a batch without a producer.
    pub(crate) fn of(batch: &RecordBatch<'_>, first_offset: i64) -> Option<BatchFacts> {
        if batch.producer_id() < 0 {
            return None;
        }
        let marker = batch.is_control().then(|| {
            let records = batch.records().ok()?;
            let record = records.iter().next()?.ok()?;
            let abort = match ControlRecordType::parse_key(record.key?).ok()? {
                ControlRecordType::Commit => false,
                ControlRecordType::Abort => true,
                _ => return None,
            };
            let coordinator_epoch = parse_end_transaction_marker(record.value?).ok()?;
            Some(Marker {
                coordinator_epoch,
                abort,
            })
        });
        Some(BatchFacts {
            producer_id: batch.producer_id(),
            epoch: batch.producer_epoch(),
            base_seq: batch.base_sequence(),
            last_seq: batch.last_sequence(),
            first_offset,
            last_offset: first_offset + i64::from(batch.last_offset_delta()),
            max_timestamp: batch.max_timestamp(),
            transactional: batch.is_transactional(),
            marker,
        })
    }

    fn metadata(&self) -> BatchMetadata {
        BatchMetadata {
            last_seq: self.last_seq,
            last_offset: self.last_offset,
            offset_delta: i32::try_from(self.last_offset - self.first_offset).unwrap_or(i32::MAX),
            timestamp: self.max_timestamp,
        }
    }
}

/// How an append relates to what is written: new batches, or one already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// Append: the checks passed.
    New,
    /// A duplicate of a batch written before: answer with its offsets, write nothing.
    Duplicate(BatchMetadata),
}

/// The state of every producer that wrote to the partition and has not expired, and the
/// transactions open in it.
#[derive(Debug, Default)]
pub(crate) struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions: first offset → producer id (Kafka's `ongoingTxns`).
    ongoing: BTreeMap<i64, i64>,
}

/// Within one append, what the batches before a batch did to their producer's state.
#[derive(Clone, Copy)]
struct Tail {
    producer_id: i64,
    epoch: i16,
    last_seq: i32,
    txn_open: bool,
}

impl ProducerState {
    pub(crate) fn from_entries(entries: impl IntoIterator<Item = ProducerEntry>) -> Self {
        let producers: HashMap<i64, ProducerEntry> =
            entries.into_iter().map(|e| (e.producer_id, e)).collect();
        let ongoing = producers
            .values()
            .filter_map(|e| Some((e.current_txn_first_offset?, e.producer_id)))
            .collect();
        ProducerState { producers, ongoing }
    }

    /// The first offset of the oldest open transaction (Kafka's `firstUndecidedOffset`).
    pub(crate) fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// The last stable offset once `completed` is done (Kafka's `lastStableOffset`): the
    /// first offset of the oldest transaction still open, else the offset after the marker.
    pub(crate) fn stable_offset_after(&self, completed: &CompletedTxn) -> i64 {
        self.ongoing
            .iter()
            .find(|(_, &producer)| producer != completed.producer_id)
            .map_or(completed.last_offset + 1, |(&first, _)| first)
    }

    /// The entries, by producer id.
    pub(crate) fn entries(&self) -> Vec<&ProducerEntry> {
        let mut entries: Vec<&ProducerEntry> = self.producers.values().collect();
        entries.sort_unstable_by_key(|e| e.producer_id);
        entries
    }

    /// Checks a client's append of `batches` (in order) in Kafka's order
    /// (`analyzeAndValidateProducerState`, `ProducerAppendInfo`): a duplicate of a remembered
    /// batch first, then the epoch, the sequence and the transaction state. `partition`
    /// names the log in messages.
    pub(crate) fn check(&self, batches: &[BatchFacts], partition: &str) -> Result<Checked> {
        let mut tails: Vec<Tail> = Vec::new();
        for facts in batches {
            let current = self.producers.get(&facts.producer_id);
            if let Some(duplicate) = current.and_then(|entry| entry.duplicate_of(facts)) {
                if batches.len() > 1 {
                    return Err(Error::DuplicateSequenceNumber(format!(
                        "producer {} epoch {} sequences {}..={} in {partition} were written before, at offset {}; this append also holds other batches: append them separately",
                        facts.producer_id, facts.epoch, facts.base_seq, facts.last_seq, duplicate.first_offset()
                    )));
                }
                return Ok(Checked::Duplicate(duplicate));
            }
            let empty = ProducerEntry::empty(facts.producer_id);
            let current = current.unwrap_or(&empty);
            let tail = match tails
                .iter()
                .position(|t| t.producer_id == facts.producer_id)
            {
                Some(at) => tails.swap_remove(at),
                None => Tail {
                    producer_id: facts.producer_id,
                    epoch: current.epoch,
                    last_seq: current.last_seq(),
                    txn_open: current.current_txn_first_offset.is_some(),
                },
            };
            check_batch(facts, current, &tail, partition)?;
            // What `apply` will make of the entry: a marker ends the transaction and keeps
            // the batches unless the epoch changes.
            tails.push(match facts.marker {
                Some(_) => Tail {
                    producer_id: facts.producer_id,
                    epoch: facts.epoch,
                    last_seq: if facts.epoch == tail.epoch {
                        tail.last_seq
                    } else {
                        -1
                    },
                    txn_open: false,
                },
                None => Tail {
                    producer_id: facts.producer_id,
                    epoch: facts.epoch,
                    last_seq: facts.last_seq,
                    txn_open: tail.txn_open || facts.transactional,
                },
            });
        }
        Ok(Checked::New)
    }

    /// Applies a written batch: after a checked append, and in a replay at open (which checks
    /// nothing, as Kafka's replication origin; an older epoch then simply takes over). A
    /// marker that ends a transaction open here returns it (Kafka's `appendEndTxnMarker`,
    /// then `completeTxn`); a marker without one changes only the epochs.
    pub(crate) fn apply(&mut self, facts: &BatchFacts) -> Option<CompletedTxn> {
        let entry = self
            .producers
            .entry(facts.producer_id)
            .or_insert_with(|| ProducerEntry::empty(facts.producer_id));
        match facts.marker {
            // An empty control batch: its transaction was cleaned away.
            Some(None) => None,
            Some(Some(marker)) => {
                let completed = entry.current_txn_first_offset.map(|first| CompletedTxn {
                    producer_id: facts.producer_id,
                    first_offset: first,
                    last_offset: facts.first_offset,
                    aborted: marker.abort,
                });
                entry.set_epoch(facts.epoch);
                entry.coordinator_epoch = marker.coordinator_epoch;
                entry.current_txn_first_offset = None;
                entry.last_timestamp = facts.max_timestamp;
                if let Some(done) = &completed {
                    self.ongoing.remove(&done.first_offset);
                }
                completed
            }
            None => {
                entry.set_epoch(facts.epoch);
                entry.add_batch(facts.metadata());
                if facts.transactional && entry.current_txn_first_offset.is_none() {
                    entry.current_txn_first_offset = Some(facts.first_offset);
                    self.ongoing.insert(facts.first_offset, facts.producer_id);
                }
                None
            }
        }
    }

    /// Forgets producers without an open transaction whose last write is
    /// `expiration_ms` or more before `now` (Kafka's `removeExpiredProducers`); returns how
    /// many.
    pub(crate) fn remove_expired(&mut self, now: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, entry| !is_expired(entry, now, expiration_ms));
        before - self.producers.len()
    }
}

/// Kafka's `isProducerExpired`.
fn is_expired(entry: &ProducerEntry, now: i64, expiration_ms: i64) -> bool {
    entry.current_txn_first_offset.is_none()
        && now.saturating_sub(entry.last_timestamp) >= expiration_ms
}

/// Kafka's `checkProducerEpoch`, `checkSequence` and the transaction-state check of
/// `appendDataBatch` (or `appendEndTxnMarker`'s epoch check for a marker), for one batch
/// given the state before it (`tail`) and the stored entry (`current`).
fn check_batch(
    facts: &BatchFacts,
    current: &ProducerEntry,
    tail: &Tail,
    partition: &str,
) -> Result<()> {
    let (producer, offset) = (facts.producer_id, facts.first_offset);
    if facts.epoch < tail.epoch {
        return Err(Error::InvalidProducerEpoch(format!(
            "epoch of producer {producer} at offset {offset} in {partition} is {}, which is smaller than the last seen epoch {}",
            facts.epoch, tail.epoch
        )));
    }
    if let Some(marker) = facts.marker {
        let stored = current.coordinator_epoch;
        return match marker {
            Some(marker) if marker.coordinator_epoch < stored => {
                Err(Error::TransactionCoordinatorFenced(format!(
                    "invalid coordinator epoch for producer {producer} at offset {offset} in {partition}: {} (zombie), {stored} (current)",
                    marker.coordinator_epoch
                )))
            }
            _ => Ok(()),
        };
    }
    if facts.epoch != tail.epoch {
        if facts.base_seq != 0 && tail.epoch != NO_EPOCH {
            return Err(Error::OutOfOrderSequence(format!(
                "invalid sequence number for new epoch of producer {producer} at offset {offset} in {partition}: {} (request epoch), {} (seq. number), {} (current producer epoch); a new epoch starts at sequence 0",
                facts.epoch, facts.base_seq, tail.epoch
            )));
        }
    } else if current.epoch != NO_EPOCH && !in_sequence(tail.last_seq, facts.base_seq) {
        return Err(Error::OutOfOrderSequence(format!(
            "out of order sequence number for producer {producer} at offset {offset} in {partition}: {} (incoming seq. number), {} (current end sequence number)",
            facts.base_seq, tail.last_seq
        )));
    }
    if tail.txn_open && !facts.transactional {
        return Err(Error::InvalidTxnState(format!(
            "expected transactional write from producer {producer} at offset {offset} in partition {partition}"
        )));
    }
    Ok(())
}
