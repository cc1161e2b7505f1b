//! Transactions as a partition sees them: the last stable offset (LSO), the aborted
//! transactions (Kafka's `TransactionIndex`, persisted per segment as `.txnindex` files of
//! 34-byte `AbortedTxn` entries), the COMMIT/ABORT markers a coordinator writes, and what a
//! `read_committed` reader needs to know (Kafka's `collectAbortedTransactions`).

use std::path::Path;

use super::partition::{AppendInfo, Log};
use super::producer_state::CompletedTxn;
use super::segment::segment_path;
use crate::error::{Error, Result};
use crate::record::{end_transaction_marker_value, BatchBuilder, ControlRecordType};
use crate::storage::Storage;
use crate::sync::Ordering;

/// The suffix of transaction index files.
pub(crate) const TXN_INDEX_SUFFIX: &str = ".txnindex";
/// Bytes per entry (Kafka's `AbortedTxn.TOTAL_SIZE`): version i16, producer id i64, first
/// offset i64, last offset i64, last stable offset i64.
const ENTRY_BYTES: usize = 2 + 8 + 8 + 8 + 8;

/// An aborted transaction (Kafka's `AbortedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTransaction {
    /// The producer that aborted it.
    pub producer_id: i64,
    /// Its first offset in this partition.
    pub first_offset: i64,
    /// The offset of its ABORT marker.
    pub last_offset: i64,
    /// The last stable offset once it was aborted.
    pub last_stable_offset: i64,
}

impl AbortedTransaction {
    pub(crate) fn of(completed: &CompletedTxn, last_stable_offset: i64) -> Self {
        AbortedTransaction {
            producer_id: completed.producer_id,
            first_offset: completed.first_offset,
            last_offset: completed.last_offset,
            last_stable_offset,
        }
    }
}

/// Encodes entries as a `.txnindex` file.
pub(crate) fn encode(entries: &[AbortedTransaction]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * ENTRY_BYTES);
    for entry in entries {
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&entry.producer_id.to_be_bytes());
        out.extend_from_slice(&entry.first_offset.to_be_bytes());
        out.extend_from_slice(&entry.last_offset.to_be_bytes());
        out.extend_from_slice(&entry.last_stable_offset.to_be_bytes());
    }
    out
}

/// Decodes the `.txnindex` of the segment at `base`, checked as Kafka's `TransactionIndex`
/// does (`sanityCheck`, version 0, strictly rising last offsets) and more: a whole number of
/// entries, each with a producer id, a first offset at or below its last, and a last stable
/// offset no further than just past its marker (the lookup stops at the first entry whose
/// LSO reaches the read's bound, so a damaged one would hide later aborts).
pub(crate) fn decode(
    bytes: &[u8],
    base: i64,
) -> std::result::Result<Vec<AbortedTransaction>, String> {
    if !bytes.len().is_multiple_of(ENTRY_BYTES) {
        return Err(format!(
            "{} bytes is not a whole number of {ENTRY_BYTES}-byte entries",
            bytes.len()
        ));
    }
    let mut entries: Vec<AbortedTransaction> = Vec::with_capacity(bytes.len() / ENTRY_BYTES);
    for (i, raw) in bytes.chunks_exact(ENTRY_BYTES).enumerate() {
        let i64_at = |at: usize| i64::from_be_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
        let version = i16::from_be_bytes([raw[0], raw[1]]);
        let entry = AbortedTransaction {
            producer_id: i64_at(2),
            first_offset: i64_at(10),
            last_offset: i64_at(18),
            last_stable_offset: i64_at(26),
        };
        let previous = entries.last().map_or(i64::MIN, |e| e.last_offset);
        let why = if version != 0 {
            Some(format!("version {version}, not 0"))
        } else if entry.last_offset < base || entry.last_offset <= previous {
            Some(format!(
                "last offset {} below the segment base {base} or not above the entry before",
                entry.last_offset
            ))
        } else if entry.producer_id < 0
            || entry.first_offset < 0
            || entry.first_offset > entry.last_offset
            || entry.last_stable_offset < 0
            || entry.last_stable_offset > entry.last_offset + 1
        {
            Some(format!("offsets out of order: {entry:?}"))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(format!("entry {i}: {why}"));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// Reads the bytes of the `.txnindex` file of the segment at `base`, checked as Kafka's
/// `TransactionIndex` checks them and more (whole 34-byte entries, version 0, marker offsets
/// rising from `base`, first offsets at or below them, last stable offsets no further than
/// just past them): `CorruptRecord` says what is wrong.
pub fn read_transaction_index(bytes: &[u8], base: i64) -> Result<Vec<AbortedTransaction>> {
    decode(bytes, base).map_err(|why| Error::CorruptRecord(format!("transaction index: {why}")))
}

/// Writes (or, with no entries, removes) the `.txnindex` of the segment at `base`, durably
/// before this returns: a snapshot written after it may make the open skip replaying the
/// segment, and then only this file knows its aborted transactions.
pub(crate) fn write(
    storage: &dyn Storage,
    dir: &Path,
    base: i64,
    entries: &[AbortedTransaction],
) -> Result<()> {
    let path = segment_path(dir, base, TXN_INDEX_SUFFIX);
    if entries.is_empty() {
        if storage.exists(&path) {
            storage.remove_file(&path)?;
            storage.sync_dir(dir)?;
        }
        return Ok(());
    }
    storage.replace_file(&path, &encode(entries), true)
}

impl Log {
    /// The last stable offset (LSO): below it every transaction is decided, and decided
    /// for good. It is the first offset of the oldest transaction still open, or of the
    /// oldest one whose COMMIT or ABORT marker is not yet below the high watermark (under
    /// `flush.messages=1`, not yet synced: a power loss could take the decision back;
    /// Kafka's `unreplicatedTxns`), else the high watermark; never below the log start.
    /// `read_committed` readers read only below it.
    pub fn last_stable_offset(&self) -> i64 {
        // The high watermark first: the writer publishes the first unstable offset before
        // it moves the end, so a reader that sees the new end sees the open transaction.
        let high_watermark = self.high_watermark();
        let open = self.first_unstable.load(Ordering::Acquire);
        let deciding = self.first_undecided_below(high_watermark);
        open.min(deciding)
            .min(high_watermark)
            .max(self.log_start_offset())
    }

    /// The first offset of the oldest transaction still open (no marker yet), `i64::MAX`
    /// if none. Below it and below the log end, every transactional batch's COMMIT or ABORT
    /// marker is written (perhaps not synced yet) and an aborted one is in
    /// [`Log::aborted_transactions`]. Read the log end first: the writer publishes this
    /// before it moves the end.
    pub(crate) fn first_open_transaction(&self) -> i64 {
        self.first_unstable.load(Ordering::Acquire)
    }

    /// The first offset of the oldest completed transaction whose marker is at or past
    /// `high_watermark`; forgets those below it.
    fn first_undecided_below(&self, high_watermark: i64) -> i64 {
        if self.unreplicated_first.load(Ordering::Acquire) == i64::MAX {
            return i64::MAX;
        }
        self.forget_decided(&mut self.unreplicated.lock(), high_watermark)
    }

    /// Drops from `pending` (the locked `Log.unreplicated`) the transactions whose markers
    /// are below `high_watermark`, and publishes and returns the first offset of those left.
    fn forget_decided(&self, pending: &mut Vec<(i64, i64)>, high_watermark: i64) -> i64 {
        pending.retain(|&(_, marker)| marker >= high_watermark);
        let first = pending
            .iter()
            .map(|&(first, _)| first)
            .min()
            .unwrap_or(i64::MAX);
        self.unreplicated_first.store(first, Ordering::Release);
        first
    }

    /// The aborted transactions a `read_committed` read from `from` up to `upper` needs
    /// (Kafka's `collectAbortedTransactions`): those whose ABORT marker is at or after
    /// `from` and that started below `upper`, oldest marker first.
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<AbortedTransaction> {
        let aborted = self.aborted.read();
        // By marker offset: skip to `from`, and stop after the first entry whose LSO at
        // the abort reaches `upper` (every later one started at or after it), as Kafka's
        // `TransactionIndex.collectAbortedTxns` does.
        let start = aborted.partition_point(|t| t.last_offset < from);
        let mut found = Vec::new();
        for t in &aborted[start..] {
            if t.first_offset < upper {
                found.push(*t);
            }
            if t.last_stable_offset >= upper {
                break;
            }
        }
        found
    }

    /// Writes a COMMIT (`commit`) or ABORT marker for `producer_id` at `epoch` from a
    /// coordinator at `coordinator_epoch`, as Kafka's `WriteTxnMarkers` does: checked as
    /// Kafka checks a marker (an older producer epoch is `InvalidProducerEpoch`, an older
    /// coordinator epoch `TransactionCoordinatorFenced`), then appended as a control batch
    /// and made durable as the topic's appends are. It ends the producer's open transaction
    /// here, if any: an aborted one joins the aborted transactions.
    pub fn write_transaction_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
    ) -> Result<AppendInfo> {
        if producer_id < 0 {
            return Err(Error::InvalidRecord(format!(
                "a transaction marker needs a producer id, not {producer_id}"
            )));
        }
        let kind = if commit {
            ControlRecordType::Commit
        } else {
            ControlRecordType::Abort
        };
        let mut builder = BatchBuilder::new()
            .producer(producer_id, epoch, -1)
            .transactional(true)
            .control(true);
        builder.append(
            self.clock.now_ms(),
            Some(&kind.key()),
            Some(&end_transaction_marker_value(coordinator_epoch)),
            &[],
        )?;
        let (info, sync) = self.append_built(&builder.build()?)?;
        if sync {
            self.sync_to(info.last_offset + 1)?;
        }
        Ok(info)
    }

    /// Records transactions that markers just completed: aborted ones join the aborted
    /// list (with the LSO at their abort, Kafka's `lastStableOffset(completedTxn)`), and
    /// the first unstable offset moves on. Called under the writer lock.
    pub(super) fn complete_transactions(
        &self,
        state: &super::producer_state::ProducerState,
        completed: &[CompletedTxn],
    ) {
        if !completed.is_empty() {
            // Until their markers are below the high watermark, they hold the LSO back.
            // Those already below it are forgotten here too, not only when a reader asks
            // for the LSO: with no reader the list would grow with every transaction.
            // The new markers are not published yet, so all of them stay.
            let high_watermark = self.high_watermark();
            let mut pending = self.unreplicated.lock();
            pending.extend(completed.iter().map(|c| (c.first_offset, c.last_offset)));
            self.forget_decided(&mut pending, high_watermark);
            drop(pending);
            let mut aborted = self.aborted.write();
            for done in completed.iter().filter(|c| c.aborted) {
                aborted.push(AbortedTransaction::of(
                    done,
                    state.stable_offset_after(done),
                ));
            }
        }
        self.publish_first_unstable(state);
    }

    /// Publishes where the oldest open transaction starts, for [`Log::last_stable_offset`].
    pub(super) fn publish_first_unstable(&self, state: &super::producer_state::ProducerState) {
        let first = state.first_unstable_offset().unwrap_or(i64::MAX);
        self.first_unstable.store(first, Ordering::Release);
    }

    /// The aborted transactions whose markers lie in `[base, end)`.
    pub(super) fn aborted_between(&self, base: i64, end: i64) -> Vec<AbortedTransaction> {
        self.aborted
            .read()
            .iter()
            .filter(|t| (base..end).contains(&t.last_offset))
            .copied()
            .collect()
    }

    /// Writes the `.txnindex` of the segment at `base`, which ends before `end`.
    pub(super) fn write_txn_index(&self, base: i64, end: i64) -> Result<()> {
        write(
            &*self.storage,
            &self.dir,
            base,
            &self.aborted_between(base, end),
        )
    }

    /// The aborted transactions in the segments' `.txnindex` files, checked (see
    /// [`decode`]); entries whose markers lie at or past `end` (a tail recovery cut) are
    /// dropped. `None` when a file is damaged or misplaced: the caller then rebuilds them.
    pub(super) fn read_txn_indexes(
        &self,
        end: i64,
        report: &mut super::RecoveryReport,
    ) -> Result<Option<Vec<AbortedTransaction>>> {
        let segments = self.segment_list();
        let mut all = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            let base = segment.base_offset();
            let path = segment_path(&self.dir, base, TXN_INDEX_SUFFIX);
            if !self.storage.exists(&path) {
                continue;
            }
            let next = segments.get(i + 1).map_or(i64::MAX, |s| s.base_offset());
            let decoded = decode(&self.storage.read_file(&path)?, base).and_then(|entries| {
                match entries.iter().find(|t| t.last_offset >= next) {
                    Some(t) => Err(format!(
                        "an entry's marker offset {} is past the segment, which ends before {next}",
                        t.last_offset
                    )),
                    None => Ok(entries),
                }
            });
            match decoded {
                Ok(entries) => {
                    // Markers past a log end that recovery cut back: the file must lose them
                    // before the log grows past their offsets again.
                    let count = entries.len();
                    let kept: Vec<_> = entries
                        .into_iter()
                        .filter(|t| t.last_offset < end)
                        .collect();
                    report.stale_txn_entries += count - kept.len();
                    all.extend(kept);
                }
                Err(why) => {
                    tracing::warn!(
                        target: "kafkalite::recovery",
                        path = %path.display(),
                        "transaction index cannot be trusted ({why}); rebuilding the aborted transactions from the whole log"
                    );
                    report.damaged_txn_indexes += 1;
                    return Ok(None);
                }
            }
        }
        Ok(Some(all))
    }

    /// Writes every segment's `.txnindex` again from the aborted transactions in memory
    /// (after they were rebuilt, or entries past a cut-back end were dropped).
    pub(super) fn rewrite_txn_indexes(&self) -> Result<()> {
        let segments = self.segment_list();
        let end = self.log_end_offset();
        for (i, segment) in segments.iter().enumerate() {
            let next = segments.get(i + 1).map_or(end, |s| s.base_offset());
            self.write_txn_index(segment.base_offset(), next)?;
        }
        Ok(())
    }

    /// Forgets the aborted transactions whose markers are at `markers` (the cleaner removed
    /// them, the transactions' records first).
    pub(super) fn forget_aborted_markers(&self, markers: &[i64]) {
        if !markers.is_empty() {
            self.aborted
                .write()
                .retain(|t| !markers.contains(&t.last_offset));
        }
    }

    /// Forgets aborted transactions whose markers are below `offset` (their segments went).
    pub(super) fn forget_aborted_below(&self, offset: i64) {
        self.aborted.write().retain(|t| t.last_offset >= offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicConfig;
    use crate::storage::SimStorage;

    fn open_log() -> Log {
        let sim = SimStorage::new(Path::new("/sim"));
        super::super::test_log::open(&sim, TopicConfig::default(), None)
            .unwrap()
            .0
    }

    /// Completed transactions whose markers are below the high watermark no longer hold
    /// the LSO back, and are forgotten as markers are written, not only when a reader asks
    /// for the LSO: a producer committing forever with no reader keeps the list short.
    #[test]
    fn decided_transactions_are_forgotten_without_readers() {
        let log = open_log();
        for sequence in 0..100 {
            let mut batch = BatchBuilder::new()
                .producer(7, 0, sequence)
                .transactional(true);
            batch.append(1_000, None, Some(b"v"), &[]).unwrap();
            log.append(&batch.build().unwrap()).unwrap();
            log.write_transaction_marker(7, 0, 0, sequence % 3 != 0)
                .unwrap();
        }
        assert!(
            log.unreplicated.lock().len() <= 1,
            "at most the last marker's"
        );
        assert_eq!(log.last_stable_offset(), log.log_end_offset());
        assert!(log.unreplicated.lock().is_empty());
    }

    fn entry(producer_id: i64, first: i64, last: i64, lso: i64) -> AbortedTransaction {
        AbortedTransaction {
            producer_id,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        }
    }

    /// Kafka's `AbortedTxn` layout: version i16 (0), producerId, firstOffset, lastOffset,
    /// lastStableOffset, each i64, big-endian: 34 bytes.
    #[test]
    fn encodes_kafkas_34_byte_entries() {
        let bytes = encode(&[entry(7, 10, 20, 21)]);
        let mut expected = vec![0u8, 0];
        for field in [7i64, 10, 20, 21] {
            expected.extend_from_slice(&field.to_be_bytes());
        }
        assert_eq!(bytes, expected);
        assert_eq!(decode(&bytes, 0).unwrap(), [entry(7, 10, 20, 21)]);
    }

    #[test]
    fn damaged_or_misplaced_entries_are_refused() {
        let good = encode(&[entry(7, 10, 20, 21), entry(8, 12, 30, 31)]);
        assert!(decode(&good, 0).is_ok());
        assert!(decode(&good[..good.len() - 1], 0).is_err(), "torn");
        assert!(decode(&good, 25).is_err(), "a last offset below the base");
        let mut version = good.clone();
        version[1] = 1;
        assert!(decode(&version, 0).is_err(), "version");
        let backwards = encode(&[entry(8, 12, 30, 31), entry(7, 10, 20, 21)]);
        assert!(decode(&backwards, 0).is_err(), "last offsets must rise");
        let inverted = encode(&[entry(7, 25, 20, 21)]);
        assert!(decode(&inverted, 0).is_err(), "first after last");
        // Kafka's LSO at an abort is at most just past its marker: a flipped high bit there
        // would end lookups early and hide later aborts.
        let far = encode(&[entry(7, 10, 20, 22)]);
        assert!(decode(&far, 0).is_err(), "an LSO past the marker");
        assert!(
            decode(&encode(&[entry(7, 10, 20, 3)]), 0).is_ok(),
            "an older open one"
        );
    }
}
