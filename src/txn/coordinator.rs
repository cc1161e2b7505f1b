//! The in-process transaction coordinator (Kafka's `TransactionCoordinator` and
//! `TransactionStateManager`): one state per `transactional.id`, each change a record in
//! `__transaction_state` written before it takes effect (synced where a power cut could
//! otherwise lose it: see `persist`), so that a crash leaves the decision on disk and the
//! next open finishes it. The calls are the protocol's:
//! `InitProducerId`, `AddPartitionsToTxn` (and `AddOffsetsToTxn`, the offsets partition),
//! `EndTxn`; the markers go to every partition of the transaction before it completes.
//!
//! Transactions are Kafka's version 1: the epoch stays across transactions and moves only
//! when a producer (re)initialises or is fenced, as with librdkafka and Java clients before
//! KIP-890's version 2.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::markers::{write_markers, Marker, Offload};
use super::state_log::{
    decode_key, decode_value, encode_key, encode_value, TransactionState, TxnMetadata, STATE_TOPIC,
};
use crate::clock::Clock;
use crate::cluster::{Cluster, NewTopic};
use crate::error::{Error, Result};
use crate::log::Log;
use crate::record::BatchBuilder;

/// The coordinator epoch on every marker: there is one coordinator, never replaced.
pub(crate) const COORDINATOR_EPOCH: i32 = 0;
/// `segment.bytes` of `__transaction_state`: as for `__consumer_offsets`, 512 KiB bounds the
/// replay at open and the space superseded states take until compaction.
const SEGMENT_BYTES: &str = "524288";

/// The transactional ids of one cluster.
#[derive(Debug)]
pub(crate) struct TransactionCoordinator {
    log: Arc<Log>,
    /// Transactional id → state. Held through each call, markers and syncs included: calls
    /// on the coordinator are serialised across ids (Kafka serialises them per id; one
    /// process's producers rarely contend, and one lock keeps recovery simple).
    txns: Mutex<BTreeMap<String, TxnMetadata>>,
    clock: Arc<dyn Clock>,
    /// `transaction.max.timeout.ms`.
    max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`.
    id_expiration_ms: i64,
}

impl TransactionCoordinator {
    /// The cluster's coordinator, started on first use (creating `__transaction_state`,
    /// compacted as in Kafka, or replaying it).
    pub(crate) fn of(cluster: &Cluster) -> Result<Arc<TransactionCoordinator>> {
        cluster.service(|| {
            cluster.ensure_internal_topic(
                NewTopic::new(STATE_TOPIC, 1)
                    .config("cleanup.policy", "compact")
                    .config("segment.bytes", SEGMENT_BYTES),
            )?;
            let log = cluster.partition(STATE_TOPIC, 0)?;
            let txns = replay(&log)?;
            let (max_timeout_ms, id_expiration_ms) = cluster.transaction_settings();
            Ok(TransactionCoordinator {
                log,
                txns: Mutex::new(txns),
                clock: Arc::clone(cluster.clock()),
                max_timeout_ms,
                id_expiration_ms,
            })
        })
    }

    /// The coordinator if `__transaction_state` exists (a cluster that never ran a
    /// transaction has none, and gets none from asking).
    pub(crate) fn if_used(cluster: &Cluster) -> Result<Option<Arc<TransactionCoordinator>>> {
        match cluster.partition(STATE_TOPIC, 0) {
            Ok(_) => TransactionCoordinator::of(cluster).map(Some),
            Err(Error::UnknownTopicOrPartition(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Writes `meta` for `id`, synced if `durable`, then keeps it.
    ///
    /// What must be synced: a new epoch (before a producer writes with it: an epoch lost to
    /// a power cut would be handed out again, to a producer whose sequences then clash with
    /// the lost one's), and a commit or abort decision before any of its markers can become
    /// durable, and then its completion too, when the transaction touches a partition that
    /// is ever synced (see [`needs_durable_decision`]): after a power cut the open must find
    /// the decision the surviving markers follow, and must not find a decision already
    /// carried out (see `complete`). Partitions added may be lost: the open aborts what it
    /// finds open.
    fn persist(
        &self,
        txns: &mut BTreeMap<String, TxnMetadata>,
        id: &str,
        meta: TxnMetadata,
        durable: bool,
    ) -> Result<()> {
        self.write_state(id, &meta, durable)?;
        store(txns, id, meta);
        Ok(())
    }

    /// The record half of [`TransactionCoordinator::persist`]: `meta` written as `id`'s
    /// state, the map left alone.
    fn write_state(&self, id: &str, meta: &TxnMetadata, durable: bool) -> Result<()> {
        let mut builder = BatchBuilder::new();
        builder.append(
            self.clock.now_ms(),
            Some(&encode_key(id)?),
            Some(&encode_value(meta)?),
            &[],
        )?;
        let info = self.log.append(&builder.build()?)?;
        if durable {
            self.log.sync_to(info.last_offset + 1)?;
        }
        Ok(())
    }

    /// Kafka's `InitProducerId` for a transactional id: a producer id and a new epoch, which
    /// fences every older producer with the id. An open transaction is aborted first, one
    /// being completed is completed. `current` is the caller's own id and epoch when it
    /// re-initialises after an error (KIP-360): it must still be the id's current one.
    pub(crate) fn init_producer_id(
        &self,
        cluster: &Cluster,
        id: &str,
        timeout_ms: i32,
        current: Option<(i64, i16)>,
    ) -> Result<(i64, i16)> {
        if id.is_empty() {
            return Err(Error::InvalidConfig {
                key: "transactional.id".into(),
                message: "a transactional id cannot be empty".into(),
                suggestion: None,
            });
        }
        if timeout_ms <= 0 || timeout_ms > self.max_timeout_ms {
            return Err(Error::InvalidTransactionTimeout(format!(
                "transaction.timeout.ms {timeout_ms} is not in 1..={}: the transaction timeout \
                 is larger than the maximum value allowed by the broker (as configured by \
                 transaction.max.timeout.ms)",
                self.max_timeout_ms
            )));
        }
        let mut txns = self.txns.lock();
        let now = self.clock.now_ms();
        let Some(mut meta) = txns.get(id).cloned() else {
            let meta = TxnMetadata {
                producer_id: cluster.allocate_producer_id()?,
                epoch: 0,
                timeout_ms,
                state: TransactionState::Empty,
                partitions: BTreeSet::new(),
                last_update_ms: now,
                start_ms: -1,
            };
            let answer = (meta.producer_id, meta.epoch);
            self.persist(&mut txns, id, meta, true)?;
            return Ok(answer);
        };
        if let Some((producer_id, epoch)) = current {
            if (producer_id, epoch) != (meta.producer_id, meta.epoch) {
                return Err(fenced(id, producer_id, epoch, &meta));
            }
        }
        match meta.state {
            TransactionState::PrepareCommit => {
                meta = self.complete(cluster, &mut txns, id, true, None)?
            }
            TransactionState::PrepareAbort => {
                meta = self.complete(cluster, &mut txns, id, false, None)?
            }
            TransactionState::Ongoing | TransactionState::PrepareEpochFence => {
                meta = self.fence_and_abort(cluster, &mut txns, id, meta)?
            }
            _ => {}
        }
        // Kafka's `isEpochExhausted`: a new producer id near the end of the epochs.
        if meta.epoch >= i16::MAX - 1 {
            meta.producer_id = cluster.allocate_producer_id()?;
            meta.epoch = 0;
        } else {
            meta.epoch += 1;
        }
        meta.state = TransactionState::Empty;
        meta.partitions.clear();
        meta.timeout_ms = timeout_ms;
        meta.last_update_ms = now;
        meta.start_ms = -1;
        let answer = (meta.producer_id, meta.epoch);
        self.persist(&mut txns, id, meta, true)?;
        Ok(answer)
    }

    /// Kafka's `AddPartitionsToTxn` (and `AddOffsetsToTxn`, with the offsets partition): the
    /// partitions join the transaction, which opens (and its timeout starts) with the first.
    pub(crate) fn add_partitions(
        &self,
        id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<()> {
        let mut txns = self.txns.lock();
        current(&txns, id, producer_id, epoch)?;
        let meta = txns.get_mut(id).ok_or_else(|| unknown(id))?;
        match meta.state {
            TransactionState::Ongoing => {
                // Kept in memory only, and in place: the prepare record lists every
                // partition, and an open finding the transaction open aborts it in every
                // partition anyway. One record per transaction start instead of one per
                // partition.
                let mut added = false;
                for partition in partitions {
                    if !meta.partitions.contains(partition) {
                        meta.partitions.insert(partition.clone());
                        added = true;
                    }
                }
                if added {
                    meta.last_update_ms = self.clock.now_ms();
                }
                return Ok(());
            }
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort => {}
            state => {
                return Err(Error::InvalidTxnState(format!(
                    "cannot add partitions to transactional id '{id}' in state {state}"
                )))
            }
        }
        let mut meta = meta.clone();
        let now = self.clock.now_ms();
        meta.last_update_ms = now;
        meta.start_ms = now;
        meta.state = TransactionState::Ongoing;
        meta.partitions = partitions.iter().cloned().collect();
        self.persist(&mut txns, id, meta, false)
    }

    /// Kafka's `EndTxn`: commits (`commit`) or aborts the open transaction, writing the
    /// markers to every partition it touched before it returns (part of them on another
    /// thread, through `offload`). Ending one already ended the same way is a retry and
    /// succeeds.
    pub(crate) fn end_transaction(
        &self,
        cluster: &Cluster,
        id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        offload: Option<Offload<'_>>,
    ) -> Result<()> {
        let mut txns = self.txns.lock();
        let state = current(&txns, id, producer_id, epoch)?.state;
        let prepare = if commit {
            TransactionState::PrepareCommit
        } else {
            TransactionState::PrepareAbort
        };
        let done = if commit {
            TransactionState::CompleteCommit
        } else {
            TransactionState::CompleteAbort
        };
        match state {
            TransactionState::Ongoing => {
                // Prepared in place: the map holds the transaction with its partitions at
                // every step (Ongoing until the decision is written, then prepared).
                let meta = txns.get_mut(id).ok_or_else(|| unknown(id))?;
                let ongoing = (meta.state, meta.last_update_ms);
                meta.state = prepare;
                meta.last_update_ms = self.clock.now_ms();
                let durable = needs_durable_decision(cluster, meta);
                if let Err(error) = self.write_state(id, meta, durable) {
                    (meta.state, meta.last_update_ms) = ongoing;
                    return Err(error);
                }
                self.complete(cluster, &mut txns, id, commit, offload)?;
                Ok(())
            }
            state if state == prepare => {
                self.complete(cluster, &mut txns, id, commit, offload)?;
                Ok(())
            }
            state if state == done => Ok(()),
            TransactionState::PrepareEpochFence => Err(fenced(
                id,
                producer_id,
                epoch,
                current(&txns, id, producer_id, epoch)?,
            )),
            state => Err(Error::InvalidTxnState(format!(
                "cannot {} the transaction of transactional id '{id}' in state {state}",
                if commit { "commit" } else { "abort" }
            ))),
        }
    }

    /// Writes the markers of `id`'s prepared transaction (part of them through `offload`, if
    /// given) and records it complete; returns the new state. The map keeps the prepared
    /// state, partitions and all, until the completion is written: a failed write leaves it
    /// to be completed again.
    fn complete(
        &self,
        cluster: &Cluster,
        txns: &mut BTreeMap<String, TxnMetadata>,
        id: &str,
        commit: bool,
        offload: Option<Offload<'_>>,
    ) -> Result<TxnMetadata> {
        let meta = txns.get_mut(id).ok_or_else(|| unknown(id))?;
        // A durable decision needs a durable completion: were the completion lost to a power
        // cut, the next open would write this transaction's markers again, and with the
        // epoch unchanged they would end the producer's next transaction wherever it is open.
        // For the same reason its markers are synced before it: a partition whose marker a
        // power cut took would find the transaction open and abort it at the next open.
        let durable = needs_durable_decision(cluster, meta);
        let marker = Marker {
            producer_id: meta.producer_id,
            epoch: meta.epoch,
            commit,
        };
        write_markers(cluster, &meta.partitions, marker, durable, offload)?;
        let completed = TxnMetadata {
            state: if commit {
                TransactionState::CompleteCommit
            } else {
                TransactionState::CompleteAbort
            },
            partitions: BTreeSet::new(),
            last_update_ms: self.clock.now_ms(),
            ..*meta
        };
        self.write_state(id, &completed, durable)?;
        *meta = completed.clone();
        Ok(completed)
    }

    /// Fences the producer of an open transaction (epoch + 1, Kafka's
    /// `prepareFenceProducerEpoch`) and aborts the transaction with the new epoch.
    fn fence_and_abort(
        &self,
        cluster: &Cluster,
        txns: &mut BTreeMap<String, TxnMetadata>,
        id: &str,
        mut meta: TxnMetadata,
    ) -> Result<TxnMetadata> {
        if meta.state == TransactionState::Ongoing {
            meta.epoch = meta.epoch.saturating_add(1);
        }
        meta.state = TransactionState::PrepareAbort;
        meta.last_update_ms = self.clock.now_ms();
        // The new epoch fences: durable, as any new epoch.
        self.persist(txns, id, meta, true)?;
        self.complete(cluster, txns, id, false, None)
    }

    /// Kafka's timeout check: every transaction open longer than its
    /// `transaction.timeout.ms` on the cluster clock is fenced and aborted; prepared ones
    /// whose markers could not all be written are completed; ids idle past
    /// `transactional.id.expiration.ms` with no transaction open are forgotten (a
    /// tombstone). One id's failure does not stop the others; the first is returned.
    pub(crate) fn maintain(&self, cluster: &Cluster) -> Result<()> {
        let mut txns = self.txns.lock();
        let now = self.clock.now_ms();
        let mut first_error = None;
        let ids: Vec<String> = txns.keys().cloned().collect();
        for id in ids {
            if let Err(error) = self.maintain_one(cluster, &mut txns, &id, now) {
                tracing::warn!(target: "kafkalite::txn", transactional_id = id, "{error}");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn maintain_one(
        &self,
        cluster: &Cluster,
        txns: &mut BTreeMap<String, TxnMetadata>,
        id: &str,
        now: i64,
    ) -> Result<()> {
        let Some(meta) = txns.get(id).cloned() else {
            return Ok(());
        };
        match meta.state {
            TransactionState::Ongoing
                if meta.start_ms.saturating_add(i64::from(meta.timeout_ms)) < now =>
            {
                tracing::info!(
                    target: "kafkalite::txn",
                    transactional_id = id,
                    producer_id = meta.producer_id,
                    "aborting a transaction open past its transaction.timeout.ms of {} ms",
                    meta.timeout_ms
                );
                self.fence_and_abort(cluster, txns, id, meta)?;
            }
            TransactionState::PrepareCommit => {
                self.complete(cluster, txns, id, true, None)?;
            }
            TransactionState::PrepareAbort => {
                self.complete(cluster, txns, id, false, None)?;
            }
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort
                if meta.last_update_ms.saturating_add(self.id_expiration_ms) < now =>
            {
                let mut builder = BatchBuilder::new();
                builder.append(now, Some(&encode_key(id)?), None, &[])?;
                self.log.append(&builder.build()?)?;
                txns.remove(id);
            }
            _ => {}
        }
        Ok(())
    }

    /// At open: finishes what a crash interrupted. Prepared transactions get their markers
    /// and complete; open ones are aborted (their producers did not survive the process).
    /// Returns what was done, one line per transactional id, and the first failure (the
    /// other ids are recovered regardless; maintenance retries prepared ones).
    pub(crate) fn recover(&self, cluster: &Cluster) -> (Vec<String>, Option<Error>) {
        let mut txns = self.txns.lock();
        let mut done = Vec::new();
        let mut first_error = None;
        let ids: Vec<String> = txns.keys().cloned().collect();
        for id in ids {
            let Some(meta) = txns.get(&id).cloned() else {
                continue;
            };
            let (producer_id, partitions) = (meta.producer_id, meta.partitions.len());
            let recovered = match meta.state {
                TransactionState::PrepareCommit => self
                    .complete(cluster, &mut txns, &id, true, None)
                    .map(|_| "committed (prepared before the crash)"),
                TransactionState::PrepareAbort => self
                    .complete(cluster, &mut txns, &id, false, None)
                    .map(|_| "aborted (prepared before the crash)"),
                TransactionState::Ongoing | TransactionState::PrepareEpochFence => self
                    .fence_and_abort(cluster, &mut txns, &id, meta)
                    .map(|_| "aborted (open at the crash)"),
                _ => continue,
            };
            match recovered {
                Ok(what) => done.push(format!(
                    "transactional id '{id}' (producer {producer_id}, {partitions} partitions): {what}"
                )),
                Err(error) => {
                    done.push(format!(
                        "transactional id '{id}' (producer {producer_id}): not recovered: {error}"
                    ));
                    first_error.get_or_insert(error);
                }
            }
        }
        (done, first_error)
    }

    /// The producer ids whose transactions are decided but not yet complete (their markers
    /// are still to be written): nobody may abort them.
    pub(crate) fn prepared_producers(&self) -> Vec<i64> {
        self.txns
            .lock()
            .values()
            .filter(|meta| {
                matches!(
                    meta.state,
                    TransactionState::PrepareCommit | TransactionState::PrepareAbort
                )
            })
            .map(|meta| meta.producer_id)
            .collect()
    }

    /// Every transactional id's state, by id.
    pub(crate) fn states(&self) -> Vec<(String, TxnMetadata)> {
        self.txns
            .lock()
            .iter()
            .map(|(id, meta)| (id.clone(), meta.clone()))
            .collect()
    }

    /// One transactional id's state.
    pub(crate) fn state(&self, id: &str) -> Option<TxnMetadata> {
        self.txns.lock().get(id).cloned()
    }
}

/// Sets `id`'s state in `txns` (its key allocated only the first time).
fn store(txns: &mut BTreeMap<String, TxnMetadata>, id: &str, meta: TxnMetadata) {
    match txns.get_mut(id) {
        Some(slot) => *slot = meta,
        None => {
            txns.insert(id.to_string(), meta);
        }
    }
}

/// The error for a transactional id the coordinator does not know.
fn unknown(id: &str) -> Error {
    Error::ProducerFenced(format!(
        "transactional id '{id}' is unknown to the coordinator"
    ))
}

/// Whether a decision on `meta`'s transaction must be synced before its markers are written:
/// when one of its partitions syncs its appends at some point (`flush.messages` or
/// `flush.ms` set; the offsets topic syncs every append). A transaction only on page-cache
/// partitions needs no sync: a process kill loses nothing of the page cache, and a power
/// cut promises nothing of such partitions, whose records may be lost in any case.
fn needs_durable_decision(cluster: &Cluster, meta: &TxnMetadata) -> bool {
    meta.partitions.iter().any(
        |(topic, partition)| match cluster.partition(topic, *partition) {
            Ok(log) => log.config().syncs_appends(),
            Err(Error::UnknownTopicOrPartition(_)) => false,
            // Not knowing is no reason to skip a sync.
            Err(_) => true,
        },
    )
}

/// The state of `id` if `producer_id` at `epoch` is its current producer; otherwise that
/// producer is fenced.
fn current<'t>(
    txns: &'t BTreeMap<String, TxnMetadata>,
    id: &str,
    producer_id: i64,
    epoch: i16,
) -> Result<&'t TxnMetadata> {
    let meta = txns.get(id).ok_or_else(|| {
        Error::ProducerFenced(format!(
            "transactional id '{id}' is unknown to the coordinator (expired, or never \
             initialised): call init_transactions on a new producer"
        ))
    })?;
    if (meta.producer_id, meta.epoch) != (producer_id, epoch) {
        return Err(fenced(id, producer_id, epoch, meta));
    }
    Ok(meta)
}

fn fenced(id: &str, producer_id: i64, epoch: i16, meta: &TxnMetadata) -> Error {
    Error::ProducerFenced(format!(
        "there is a newer producer with the same transactionalId '{id}' (producer {} at epoch \
         {}; this one is producer {producer_id} at epoch {epoch}), which fences the current \
         one: close it",
        meta.producer_id, meta.epoch
    ))
}

/// Rebuilds the states from the topic: later records win; a null value forgets the id.
fn replay(log: &Log) -> Result<BTreeMap<String, TxnMetadata>> {
    let mut txns = BTreeMap::new();
    log.for_each_record(|record| {
        let Some(id) = record.key.and_then(decode_key) else {
            return Ok(());
        };
        match record.value {
            None => {
                txns.remove(&id);
            }
            Some(value) => {
                let meta = decode_value(value).ok_or_else(|| {
                    Error::CorruptRecord(format!(
                        "{STATE_TOPIC}: undecodable state of transactional id '{id}' at offset {}",
                        record.offset
                    ))
                })?;
                txns.insert(id, meta);
            }
        }
        Ok(())
    })?;
    Ok(txns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction whose commit was decided (PrepareCommit on disk) but whose markers were
    /// not all written when the process died: recovery writes them and completes it.
    #[test]
    fn recovery_completes_a_prepared_commit_and_aborts_an_open_transaction() {
        let cluster = Cluster::builder().background(false).temporary().unwrap();
        cluster.create_topic(NewTopic::new("t", 2)).unwrap();
        let coordinator = TransactionCoordinator::of(&cluster).unwrap();
        let mut ids = Vec::new();
        for (id, partition) in [("prepared", 0), ("open", 1)] {
            let (producer_id, epoch) = coordinator
                .init_producer_id(&cluster, id, 60_000, None)
                .unwrap();
            coordinator
                .add_partitions(id, producer_id, epoch, &[("t".to_string(), partition)])
                .unwrap();
            let mut batch = BatchBuilder::new()
                .producer(producer_id, epoch, 0)
                .transactional(true);
            batch.append(0, None, Some(b"v"), &[]).unwrap();
            let log = cluster.partition("t", partition).unwrap();
            log.append(&batch.build().unwrap()).unwrap();
            ids.push((producer_id, epoch));
        }
        {
            let mut txns = coordinator.txns.lock();
            let mut meta = txns["prepared"].clone();
            meta.state = TransactionState::PrepareCommit;
            coordinator
                .persist(&mut txns, "prepared", meta, true)
                .unwrap();
        }
        // Replayed as a reopen would: the prepared state is what the log says.
        let replayed = replay(&coordinator.log).unwrap();
        assert_eq!(replayed["prepared"].state, TransactionState::PrepareCommit);
        assert_eq!(replayed["open"].state, TransactionState::Ongoing);

        let (done, error) = coordinator.recover(&cluster);
        assert!(error.is_none(), "{error:?}");
        assert_eq!(done.len(), 2, "{done:?}");
        let prepared = coordinator.state("prepared").unwrap();
        assert_eq!(prepared.state, TransactionState::CompleteCommit);
        assert_eq!(prepared.epoch, ids[0].1, "a commit keeps the epoch");
        let open = coordinator.state("open").unwrap();
        assert_eq!(open.state, TransactionState::CompleteAbort);
        assert_eq!(
            open.epoch,
            ids[1].1 + 1,
            "the abort fences the old producer"
        );
        let committed = cluster.partition("t", 0).unwrap();
        assert_eq!(committed.last_stable_offset(), 2);
        assert!(committed.aborted_transactions(0, 2).is_empty());
        let aborted = cluster.partition("t", 1).unwrap();
        assert_eq!(aborted.last_stable_offset(), 2);
        assert_eq!(aborted.aborted_transactions(0, 2).len(), 1);
        // Nothing left to do.
        assert!(coordinator.recover(&cluster).0.is_empty());
    }
}
