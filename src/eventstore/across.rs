//! Appends to streams of several partitions, all or nothing: one transaction of the store's
//! own transactional producer, as a Kafka producer writes across partitions. Under every
//! partition's index lock (taken in ascending order), the parts are decided as one
//! partition's are; then the transaction opens at the coordinator, each partition gets one
//! transactional batch (conditional on the log end its index saw), and the coordinator
//! commits, writing a COMMIT marker to each. A partition whose log moved (another writer)
//! aborts the transaction and the parts are decided again: the index skips aborted
//! transactions, as it does a crash's (the open aborts a transaction left open).
//!
//! The producer's transactional id is `kafkalite-eventstore-<topic>`; it is initialised
//! (a new epoch) on the store's first such append in a cluster, and again after a failure
//! leaves its sequences in doubt.

use std::collections::{BTreeMap, HashMap};

use parking_lot::MutexGuard;

use super::append::{
    build, decide_held, first_versions, index_parts, retried, Decision, Locked, StreamAppend,
};
use super::index::PartitionIndex;
use super::EventStore;
use crate::error::{Error, Result};
use crate::log::{increment_sequence, AppendInfo};
use crate::txn::{TransactionCoordinator, TransactionState};

/// Per partition (ascending): the partition, the indexes of its parts in the call, and the
/// parts.
type Parts<'a> = Vec<(i32, Vec<usize>, Vec<&'a StreamAppend>)>;

/// What deciding every partition came to.
enum Across {
    /// Append: each partition's parts' first versions.
    Decided(Vec<Vec<u64>>),
    /// Every part is a retry of what was written: per partition, each part's (last
    /// version, last offset).
    Retried(Vec<Vec<(u64, i64)>>),
    /// A conflict, or an open transaction holding a partition.
    Stop(Locked),
}

/// The parts of `appends` by partition.
fn parts_of<'a>(
    appends: &'a [StreamAppend],
    by_partition: &BTreeMap<i32, Vec<usize>>,
) -> Parts<'a> {
    let parts = by_partition.iter().map(|(&partition, indexes)| {
        let parts = indexes.iter().map(|&i| &appends[i]).collect();
        (partition, indexes.clone(), parts)
    });
    parts.collect()
}

/// Each part's (partition, last version, last offset) in the order of the call, from the
/// same per partition.
fn in_order(count: usize, parts: &Parts<'_>, done: Vec<Vec<(u64, i64)>>) -> Vec<(i32, u64, i64)> {
    let mut results = vec![(0, 0, 0); count];
    for ((partition, indexes, _), done) in parts.iter().zip(done) {
        for (&i, (version, offset)) in indexes.iter().zip(done) {
            results[i] = (*partition, version, offset);
        }
    }
    results
}

/// The store's transactional producer, as the coordinator knows it.
#[derive(Debug)]
pub(super) struct StoreProducer {
    producer_id: i64,
    epoch: i16,
    /// The next base sequence, by partition.
    sequences: HashMap<i32, i32>,
}

/// `transaction.timeout.ms` of the store's producer, or the cluster's
/// `transaction.max.timeout.ms` if lower: its transactions run under the partitions' locks
/// and last milliseconds; a crash leaves one to the next open.
const TRANSACTION_TIMEOUT_MS: i32 = 60_000;

impl EventStore {
    /// The transactional id of the store's own producer.
    pub fn transactional_id(&self) -> String {
        format!("kafkalite-eventstore-{}", self.shared.topic)
    }

    /// The check and the transactional append of parts in several partitions, under their
    /// index locks (see the module's documentation).
    pub(super) fn append_across(
        &self,
        appends: &[StreamAppend],
        by_partition: &BTreeMap<i32, Vec<usize>>,
    ) -> Result<Locked> {
        let coordinator = TransactionCoordinator::of(&self.cluster)?;
        let mut producer = self.shared.producer.lock();
        let parts = parts_of(appends, by_partition);
        // Ascending: a one-partition append holds one of these locks and takes no other.
        let mut indexes: Vec<_> = parts.iter().map(|(p, ..)| self.index(*p).lock()).collect();
        loop {
            let firsts = match self.decide_across(&parts, &mut indexes)? {
                Across::Decided(firsts) => firsts,
                Across::Retried(done) => {
                    // Recognized events may be another thread's, still syncing: the caller
                    // syncs to them, as after a one-partition retry.
                    let sync = self.log(parts[0].0).config().sync_every_append();
                    return Ok(Locked::Done(in_order(appends.len(), &parts, done), sync));
                }
                Across::Stop(locked) => return Ok(locked),
            };
            let Some(written) =
                self.write_across(&coordinator, &mut producer, &parts, &indexes, &firsts)?
            else {
                continue; // another writer appended: follow it and decide again
            };
            let done = parts
                .iter()
                .zip(&mut indexes)
                .zip(&firsts)
                .zip(&written)
                .map(|((((_, _, parts), index), first), info)| {
                    index_parts(index, parts, first, info)
                })
                .collect();
            // The markers went in as the topic's appends do: synced, if it syncs.
            return Ok(Locked::Done(in_order(appends.len(), &parts, done), false));
        }
    }

    /// Decides every partition's parts.
    fn decide_across(
        &self,
        parts: &Parts<'_>,
        indexes: &mut [MutexGuard<'_, PartitionIndex>],
    ) -> Result<Across> {
        let seen = |indexes: &[MutexGuard<'_, PartitionIndex>]| {
            let seen = parts
                .iter()
                .zip(indexes)
                .map(|((p, ..), i)| (*p, i.next_offset));
            seen.collect()
        };
        let mut decided = Vec::with_capacity(parts.len());
        for (k, (partition, _, parts)) in parts.iter().enumerate() {
            match decide_held(&mut indexes[k], self.log(*partition), parts) {
                Ok(Some(decisions)) => decided.push(decisions),
                Ok(None) => {
                    let held = Locked::Held(*partition, indexes[k].next_offset);
                    return Ok(Across::Stop(held));
                }
                Err(conflict @ Error::WrongExpectedVersion { .. }) => {
                    return Ok(Across::Stop(Locked::Conflict(conflict, seen(indexes))));
                }
                Err(error) => return Err(error),
            }
        }
        let firsts: Vec<Option<Vec<u64>>> = decided.iter().map(|d| first_versions(d)).collect();
        if firsts.iter().all(Option::is_none) {
            let done = decided.iter().map(|d| retried(d).collect()).collect();
            return Ok(Across::Retried(done));
        }
        if let Some(k) = firsts.iter().position(Option::is_none) {
            // A part retried next to a new one: its stream is past the version expected.
            let retried_part = decided[k]
                .iter()
                .position(|d| matches!(d, Decision::AlreadyAppended(..)))
                .expect("a part decided as retried");
            let part = parts[k].2[retried_part];
            let conflict = Error::WrongExpectedVersion {
                stream: part.stream.clone(),
                expected: part.expected,
                actual: indexes[k].version(&part.stream)?,
            };
            return Ok(Across::Stop(Locked::Conflict(conflict, seen(indexes))));
        }
        Ok(Across::Decided(firsts.into_iter().flatten().collect()))
    }

    /// Writes one transactional batch per partition, each where its index saw the log end,
    /// and commits. `None` if a log had moved: the transaction was aborted.
    fn write_across(
        &self,
        coordinator: &TransactionCoordinator,
        slot: &mut Option<StoreProducer>,
        parts: &Parts<'_>,
        indexes: &[MutexGuard<'_, PartitionIndex>],
        firsts: &[Vec<u64>],
    ) -> Result<Option<Vec<AppendInfo>>> {
        let (producer_id, epoch) = self.open_transaction(coordinator, slot, parts)?;
        let id = self.transactional_id();
        let end = |commit| {
            coordinator.end_transaction(&self.cluster, &id, producer_id, epoch, commit, None)
        };
        let written = match self.write_batches(slot, parts, firsts, indexes) {
            Ok(Some(written)) => written,
            // A log moved: abort, and decide again.
            Ok(None) => return end(false).map(|()| None).inspect_err(|_| *slot = None),
            Err(error) => return Err(self.abandon(slot, error, end(false))),
        };
        // Every batch durable before the decision is, whenever the decision is synced (a
        // topic that syncs at all, every few appends included): once the coordinator has
        // logged a commit, recovery commits each partition, and a batch a power cut took
        // back would leave the others' parts alone.
        for ((partition, ..), (info, sync)) in parts.iter().zip(&written) {
            let log = self.log(*partition);
            if *sync || log.config().syncs_appends() {
                if let Err(error) = log.sync_to(info.last_offset + 1) {
                    return Err(self.abandon(slot, error, end(false)));
                }
            }
        }
        if let Err(error) = end(true) {
            // The decision may be logged, its markers still to come (the coordinator
            // finishes them): the outcome is unknown, and a retry by event ids tells.
            *slot = None;
            return Err(error);
        }
        Ok(Some(written.into_iter().map(|(info, _)| info).collect()))
    }

    /// After a failure before the commit: the transaction was aborted (`aborted`, or it is
    /// left to the coordinator's timeout and the next initialisation, which ends it), and
    /// the producer is forgotten, its sequences in doubt. Answers the failure.
    fn abandon(
        &self,
        slot: &mut Option<StoreProducer>,
        error: Error,
        aborted: Result<()>,
    ) -> Error {
        if let Err(abort) = aborted {
            tracing::warn!(
                target: "kafkalite::eventstore",
                "{}: an append across partitions failed ({error}) and its transaction could not be aborted ({abort}); the coordinator aborts it after its transaction.timeout.ms",
                self.shared.topic
            );
        }
        *slot = None;
        error
    }

    /// Opens a transaction on the parts' partitions; the producer's id and epoch. A
    /// producer the coordinator no longer takes (its id expired after
    /// `transactional.id.expiration.ms` idle, or fenced) is initialised again, once.
    fn open_transaction(
        &self,
        coordinator: &TransactionCoordinator,
        slot: &mut Option<StoreProducer>,
        parts: &Parts<'_>,
    ) -> Result<(i64, i16)> {
        let id = self.transactional_id();
        let topic = &self.shared.topic;
        let touched: Vec<(String, i32)> = parts.iter().map(|(p, ..)| (topic.clone(), *p)).collect();
        let (producer_id, epoch) = self.store_producer(coordinator, slot)?;
        if coordinator
            .add_partitions(&id, producer_id, epoch, &touched)
            .is_ok()
        {
            return Ok((producer_id, epoch));
        }
        *slot = None;
        let (producer_id, epoch) = self.store_producer(coordinator, slot)?;
        coordinator.add_partitions(&id, producer_id, epoch, &touched)?;
        Ok((producer_id, epoch))
    }

    /// The batches of [`EventStore::write_across`], each with whether its topic syncs;
    /// `None` once one finds its log moved.
    fn write_batches(
        &self,
        slot: &mut Option<StoreProducer>,
        parts: &Parts<'_>,
        firsts: &[Vec<u64>],
        indexes: &[MutexGuard<'_, PartitionIndex>],
    ) -> Result<Option<Vec<(AppendInfo, bool)>>> {
        let producer = slot.as_mut().expect("initialised");
        let now = self.now_ms();
        let mut written = Vec::with_capacity(parts.len());
        for (((partition, _, parts), index), first) in parts.iter().zip(indexes).zip(firsts) {
            let sequence = producer.sequences.get(partition).copied().unwrap_or(0);
            let ids = Some((producer.producer_id, producer.epoch, sequence));
            let batch = build(parts, first, now, ids)?;
            match self
                .log(*partition)
                .append_if_unsynced(&batch, index.next_offset, false)
            {
                Ok((info, sync)) => {
                    let count = i32::try_from(info.last_offset - info.first_offset + 1)
                        .expect("a batch holds at most i32::MAX records");
                    let next = increment_sequence(sequence, count);
                    producer.sequences.insert(*partition, next);
                    written.push((info, sync));
                }
                Err(Error::UnexpectedLogEndOffset { .. }) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
        Ok(Some(written))
    }

    /// Ends a transaction of the store's producer that a failure left open (its commit or
    /// abort failed part way: the producer was forgotten): it holds appends to its
    /// partitions, and only a new epoch ends it before its timeout. The initialisation
    /// finishes a decided one (its markers) and aborts an undecided one, as the next
    /// `init_transactions` of a Kafka producer does. Called when an open transaction holds
    /// an append; nothing to do while the producer is known (the transaction is a live
    /// append's, or another producer's), nor unless that transaction holds `held`, the
    /// partition the append waits on (another producer's transaction there is waited
    /// for; trying anyway would fail it, and a failed try writes to the coordinator's log,
    /// which wakes the append to try again). A failure to end it (a partition of it that
    /// refuses its marker) fails the append.
    pub(super) fn settle_abandoned_transaction(&self, held: i32) -> Result<()> {
        let Some(coordinator) = TransactionCoordinator::if_used(&self.cluster)? else {
            return Ok(());
        };
        let mut slot = self.shared.producer.lock();
        let open = coordinator.state(&self.transactional_id()).filter(|meta| {
            matches!(
                meta.state,
                TransactionState::Ongoing
                    | TransactionState::PrepareCommit
                    | TransactionState::PrepareAbort
                    | TransactionState::PrepareEpochFence
            )
        });
        let Some(meta) = open.filter(|_| slot.is_none()) else {
            return Ok(());
        };
        let holds = self
            .log(held)
            .producer_state(meta.producer_id)
            .is_some_and(|p| p.current_transaction_start_offset.is_some());
        if !holds {
            return Ok(());
        }
        tracing::info!(
            target: "kafkalite::eventstore",
            "{}: ending the store's transaction that a failure left open",
            self.shared.topic
        );
        self.store_producer(&coordinator, &mut slot).map(|_| ())
    }

    /// The store's producer id and epoch, initialised at the coordinator if need be.
    fn store_producer(
        &self,
        coordinator: &TransactionCoordinator,
        slot: &mut Option<StoreProducer>,
    ) -> Result<(i64, i16)> {
        if slot.is_none() {
            let id = self.transactional_id();
            let (max_timeout_ms, _) = self.cluster.transaction_settings();
            let timeout_ms = TRANSACTION_TIMEOUT_MS.min(max_timeout_ms);
            let (producer_id, epoch) =
                coordinator.init_producer_id(&self.cluster, &id, timeout_ms, None)?;
            *slot = Some(StoreProducer {
                producer_id,
                epoch,
                sequences: HashMap::new(),
            });
        }
        let producer = slot.as_ref().expect("initialised");
        Ok((producer.producer_id, producer.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventstore::{EventData, EventStoreConfig};
    use crate::record::BatchBuilder;
    use crate::{Cluster, ExpectedVersion};

    /// A stream name in `partition` of `store`.
    fn stream_in(store: &EventStore, partition: i32) -> String {
        (0..)
            .map(|n| format!("s{n}"))
            .find(|s| store.partition_of(s) == partition)
            .expect("some name lands in every partition")
    }

    #[test]
    fn a_log_moved_under_the_transaction_aborts_it_and_the_index_skips_its_batches() {
        let cluster = Cluster::temporary().unwrap();
        let config = EventStoreConfig::new().partitions(2).durable(false);
        let store = cluster.event_store("t", config).unwrap();
        let (a, b) = (stream_in(&store, 0), stream_in(&store, 1));
        let appends = vec![
            StreamAppend::new(&a, ExpectedVersion::NoStream, [EventData::new("E", "a")]),
            StreamAppend::new(&b, ExpectedVersion::NoStream, [EventData::new("E", "b")]),
        ];
        let by_partition = store.check_input(&appends).unwrap();
        let parts = parts_of(&appends, &by_partition);
        let coordinator = TransactionCoordinator::of(&cluster).unwrap();
        let mut indexes: Vec<_> = [0, 1].map(|p| store.index(p).lock()).into();
        let Across::Decided(firsts) = store.decide_across(&parts, &mut indexes).unwrap() else {
            panic!("both streams are new");
        };
        // Another writer appends to the second partition between the check and the write.
        let mut plain = BatchBuilder::new();
        plain.append(0, Some(b"other"), Some(b"v"), &[]).unwrap();
        store.log(1).append(&plain.build().unwrap()).unwrap();
        let mut slot = None;
        let written = store
            .write_across(&coordinator, &mut slot, &parts, &indexes, &firsts)
            .unwrap();
        assert!(written.is_none(), "the second batch found its log moved");
        drop(indexes);
        // The first partition's batch went in, then its transaction aborted: no event.
        assert_eq!(store.log(0).aborted_transactions(0, i64::MAX).len(), 1);
        assert_eq!(store.stream_version(&a).unwrap(), None);
        // The next try decides again and goes through, in the same epoch.
        let results = store.append_to_streams(appends).unwrap();
        let versions: Vec<u64> = results.iter().map(|r| r.next_expected_version).collect();
        assert_eq!(versions, [0, 0]);
        assert_eq!(store.stream_version(&a).unwrap(), Some(0));
        assert_eq!(store.stream_version(&b).unwrap(), Some(0));
    }
}
