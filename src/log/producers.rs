//! The log's side of idempotence: checking an append against the producer state, applying
//! what was written, snapshots on roll and close, the state rebuilt at open from the newest
//! good snapshot and the batches after it, and expiry.

use super::incoming::Incoming;
use super::partition::{Log, Writer};
use super::producer_snapshot as snapshot;
use super::producer_state::{BatchFacts, Checked, ProducerEntry, ProducerState};
use super::recovery_report::RecoveryReport;
use super::transactions::AbortedTransaction;
use crate::error::Result;

/// Kafka's default `producer.id.expiration.ms`: one day.
pub const DEFAULT_PRODUCER_ID_EXPIRATION_MS: i64 = 86_400_000;

/// The producer state as of the log end, and the newest snapshot on disk.
#[derive(Debug, Default)]
pub(crate) struct Producers {
    pub(crate) state: ProducerState,
    /// The offset of the newest snapshot file, if any.
    pub(crate) snapshot: Option<i64>,
}

/// The producer facts of an append's batches placed from `first_offset`; empty when no
/// batch has a producer id (the common, cheap case).
pub(super) fn placed(incoming: &[Incoming], first_offset: i64) -> Vec<BatchFacts> {
    let mut at = first_offset;
    let mut facts = Vec::new();
    for batch in incoming {
        if let Some(mut f) = batch.producer {
            f.first_offset += at;
            f.last_offset += at;
            facts.push(f);
        }
        at += batch.offsets;
    }
    facts
}

impl Log {
    /// Checks an append's producer batches against the state (see
    /// [`ProducerState::check`]).
    pub(super) fn check_producers(&self, writer: &Writer, facts: &[BatchFacts]) -> Result<Checked> {
        if facts.is_empty() {
            return Ok(Checked::New);
        }
        writer.producers.state.check(facts, &self.name)
    }

    /// Writes a snapshot of the state at the log end, unless the newest one is there already
    /// and need not be `durable` (a clean close makes it so: the next open relies on it).
    pub(super) fn take_snapshot(&self, writer: &mut Writer, durable: bool) -> Result<()> {
        let offset = writer.next_offset;
        if writer.producers.snapshot == Some(offset) && !durable {
            return Ok(());
        }
        let entries = writer.producers.state.entries();
        snapshot::write(
            &*self.storage,
            &self.dir,
            offset,
            entries.into_iter(),
            durable,
        )?;
        writer.producers.snapshot = Some(offset);
        Ok(())
    }

    /// Removes the snapshots of the segments a cleaning merged into the one at `base`, which
    /// ends before `end` (a leftover costs a file, not correctness: failures are logged).
    pub(super) fn remove_merged_snapshots(&self, base: i64, end: i64) {
        if let Err(e) = snapshot::remove_within(&*self.storage, &self.dir, base, end) {
            tracing::warn!(target: "kafkalite::cleaner", "{}: removing the producer snapshots of cleaned segments: {e}", self.name);
        }
    }

    /// Removes the snapshots below the first segment (their segments are gone).
    pub(super) fn remove_snapshots_below_first_segment(&self) -> Result<()> {
        let first = self.segment_list()[0].base_offset();
        snapshot::remove_below(&*self.storage, &self.dir, first)?;
        Ok(())
    }

    /// Forgets producers that have not written for `expiration_ms` of the log's clock and
    /// have no open transaction (Kafka's `removeExpiredProducers`); returns how many.
    pub fn remove_expired_producers(&self, expiration_ms: i64) -> usize {
        let now = self.clock.now_ms();
        self.writer
            .lock()
            .producers
            .state
            .remove_expired(now, expiration_ms)
    }

    /// The producer ids the log holds state for, with their epoch and last sequence.
    pub fn producer_states(&self) -> Vec<ProducerStateInfo> {
        let writer = self.writer.lock();
        writer
            .producers
            .state
            .entries()
            .into_iter()
            .map(ProducerStateInfo::of)
            .collect()
    }

    /// The state of one producer, if the partition keeps one.
    pub(crate) fn producer_state(&self, producer_id: i64) -> Option<ProducerStateInfo> {
        self.producer_states()
            .into_iter()
            .find(|p| p.producer_id == producer_id)
    }
}

/// One producer's state in a partition, as `kafka-transactions --describe-producers`
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateInfo {
    /// The producer id.
    pub producer_id: i64,
    /// Its epoch.
    pub epoch: i16,
    /// The last sequence written, −1 if none is remembered.
    pub last_sequence: i32,
    /// The epoch of the last transaction coordinator that wrote a marker for it, −1 if none.
    pub coordinator_epoch: i32,
    /// The max timestamp of its last batch.
    pub last_timestamp: i64,
    /// The first offset of its open transaction.
    pub current_transaction_start_offset: Option<i64>,
}

impl ProducerStateInfo {
    fn of(entry: &ProducerEntry) -> ProducerStateInfo {
        ProducerStateInfo {
            producer_id: entry.producer_id,
            epoch: entry.epoch,
            last_sequence: entry.last_seq(),
            coordinator_epoch: entry.coordinator_epoch,
            last_timestamp: entry.last_timestamp,
            current_transaction_start_offset: entry.current_txn_first_offset,
        }
    }
}

/// Rebuilds the producer state and the aborted transactions of a log just opened (Kafka's
/// `rebuildProducerState`): the newest good snapshot (see [`newest_snapshot`]), then the
/// batches from the snapshot to the log end replayed. Without a good snapshot the log is
/// replayed from its start, unless `clean` and the directory held no snapshot at all (a log
/// from before snapshots, whose state Kafka too assumes empty). Expired producers stay
/// until [`Log::remove_expired_producers`] runs with the configured time.
/// Aborted transactions come from the `.txnindex` files below the replay and from the
/// replay itself; a damaged `.txnindex` makes the whole log replay, with no snapshot, and
/// its files written again.
pub(super) fn load(log: &Log, clean: bool, report: &mut RecoveryReport) -> Result<Producers> {
    let storage = &*log.storage;
    // Records below the log start may still be in the first segment: their producers count.
    let start = log.segment_list()[0].base_offset();
    let end = log.log_end_offset();
    let indexed = log.read_txn_indexes(end, report)?;
    let rebuild = indexed.is_none();
    // Whether any snapshot was there, good or not: only a log without any is one from
    // before snapshots (a damaged one means a replay).
    let any_snapshot = !snapshot::list(storage, &log.dir)?.is_empty();
    // Looked for (and the bad or stray ones removed) even when a rebuild will not use it.
    let newest = newest_snapshot(log, start, end, report)?;
    let loaded = if indexed.is_some() { newest } else { None };
    report.producer_snapshot = loaded.as_ref().map(|(offset, _)| *offset);
    let (from, entries, snapshot_offset) = match loaded {
        Some((offset, entries)) => (offset, entries, Some(offset)),
        None if clean && indexed.is_some() && !any_snapshot => {
            // Kafka's upgrade case: an empty snapshot at the end, so that a crash before the
            // next roll does not replay the whole log.
            snapshot::write(storage, &log.dir, end, std::iter::empty(), false)?;
            (end, Vec::new(), Some(end))
        }
        None => (start, Vec::new(), None),
    };
    // Expiry is left to `remove_expired_producers`, which knows the configured time.
    let mut state = ProducerState::from_entries(entries);
    let mut aborted: Vec<AbortedTransaction> = indexed
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.last_offset < from)
        .collect();
    let (batches, replayed) = replay(log, &mut state, from, end)?;
    report.producer_batches_replayed += batches;
    aborted.extend(replayed);
    *log.aborted.write() = aborted;
    log.publish_first_unstable(&state);
    if rebuild || report.stale_txn_entries > 0 {
        log.rewrite_txn_indexes()?;
    }
    Ok(Producers {
        state,
        snapshot: snapshot_offset,
    })
}

/// The newest good snapshot in `start..=end` and its entries: snapshots outside are
/// removed, and so is a damaged one, for the next older (Kafka's `loadFromSnapshot`).
fn newest_snapshot(
    log: &Log,
    start: i64,
    end: i64,
    report: &mut RecoveryReport,
) -> Result<Option<(i64, Vec<ProducerEntry>)>> {
    let storage = &*log.storage;
    report.orphan_files_removed += snapshot::remove_interrupted(storage, &log.dir)?;
    report.snapshots_removed += snapshot::remove_outside(storage, &log.dir, start, end)?;
    let bases: Vec<i64> = log.segment_list().iter().map(|s| s.base_offset()).collect();
    report.snapshots_removed += snapshot::remove_strays(storage, &log.dir, &bases)?;
    let mut offsets = snapshot::list(storage, &log.dir)?;
    while let Some(offset) = offsets.pop() {
        let path = snapshot::snapshot_path(&log.dir, offset);
        match snapshot::decode(&storage.read_file(&path)?) {
            Ok(entries) => return Ok(Some((offset, entries))),
            Err(why) => {
                tracing::warn!(
                    target: "kafkalite::recovery",
                    path = %path.display(),
                    "producer snapshot cannot be trusted ({why}); removed, trying the next older one"
                );
                storage.remove_file(&path)?;
                report.snapshots_removed += 1;
                report.damaged_snapshots += 1;
            }
        }
    }
    Ok(None)
}

/// Applies every producer batch in `[from, end)` (from the log start at the lowest: reads
/// stop there) to `state`; returns how many, and the transactions their markers aborted.
fn replay(
    log: &Log,
    state: &mut ProducerState,
    from: i64,
    end: i64,
) -> Result<(u64, Vec<AbortedTransaction>)> {
    let mut offset = from.max(log.log_start_offset());
    let mut applied = 0;
    let mut aborted = Vec::new();
    while offset < end {
        let data = log.read(offset, 1 << 20)?;
        if data.is_empty() {
            break;
        }
        for batch in data.batches() {
            let batch = batch?;
            if batch.base_offset() >= end {
                return Ok((applied, aborted));
            }
            if batch.last_offset() >= offset {
                if let Some(facts) = BatchFacts::of(&batch, batch.base_offset()) {
                    if let Some(done) = state.apply(&facts).filter(|c| c.aborted) {
                        aborted.push(AbortedTransaction::of(
                            &done,
                            state.stable_offset_after(&done),
                        ));
                    }
                    applied += 1;
                }
            }
            offset = offset.max(batch.next_offset());
        }
    }
    Ok((applied, aborted))
}
