//! One cleaning of one log, as Kafka's `Cleaner.clean`: map the latest offset of every key in
//! the dirty section (from the cleaner checkpoint to the first uncleanable offset), then
//! rewrite the log from its start up to the end of what was mapped, in groups of segments
//! that together fit `segment.bytes`, keeping the latest record of each key, and swap each
//! rewritten group in with the crash-safe protocol of [`super::swap`].
//!
//! Kept as Kafka keeps them: offsets (kept records keep theirs; a batch keeps its base and
//! last offset), producer id, epoch and sequence, the batch that holds a producer's last
//! data (emptied if need be, so its sequence survives), and tombstones until their batch's
//! delete horizon (stamped `cleaning time + delete.retention.ms` the first time the batch is
//! rewritten, KIP-534) has passed. Keyless records go. Transactions by Kafka's rules (see
//! [`super::transactions`]): records of aborted transactions are neither mapped nor kept, and
//! a marker goes once its transaction has left no batch and its delete horizon has passed.
//!
//! One difference in bytes, not in what readers see: where Kafka leaves a gap after removing
//! whole batches, kafkalite writes one empty batch covering their offsets, so that batches
//! stay back to back and the open's check of base offsets (which no CRC covers) keeps
//! catching damage on compacted logs too (see `log::scan`).

use std::collections::HashMap;
use std::sync::Arc;

use super::offset_map::OffsetMap;
use super::output::Output;
use super::retention::{Policy, Retention};
use super::swap::{replace_segments, CLEANED_SUFFIX};
use super::transactions::{CleanedTransactions, MarkerFate};
use crate::error::{Error, Result};
use crate::log::index::SegmentIndex;
use crate::log::partition::Log;
use crate::log::segment::{segment_path, Segment, LOG_SUFFIX};
use crate::record::{
    empty_batch, filter_batch, stamp_delete_horizon, Filtered, RecordBatch, DECOMPRESSED_BYTES_MAX,
};
use crate::storage::OpenMode;

/// Where a log stands for the cleaner (Kafka's `LogToClean`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cleanable {
    /// Where the dirty section starts: the cleaner checkpoint, or the log start when there is
    /// none or it is outside the log.
    pub first_dirty_offset: i64,
    /// Where cleaning must stop: the active segment, the high watermark, or the first
    /// segment newer than `min.compaction.lag.ms`, whichever comes first.
    pub first_uncleanable_offset: i64,
    /// Bytes of the segments below the dirty section.
    pub clean_bytes: u64,
    /// Bytes of the segments that a cleaning would map.
    pub cleanable_bytes: u64,
    /// Whether a dirty segment holds data older than `max.compaction.lag.ms`.
    pub compaction_overdue: bool,
}

impl Cleanable {
    /// `cleanable / (clean + cleanable)`, 0 for an empty log.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            0.0
        } else {
            // Ratios of byte counts: precision loss past 2^53 bytes does not matter.
            #[allow(clippy::cast_precision_loss)]
            let ratio = self.cleanable_bytes as f64 / total as f64;
            ratio
        }
    }
}

/// What one cleaning did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// The dirty section started here.
    pub first_dirty_offset: i64,
    /// Everything below this offset is clean now: the next cleaning's first dirty offset
    /// (the cleaner checkpoint).
    pub end_offset: i64,
    /// Segments rewritten.
    pub segments_cleaned: usize,
    /// Segments they became.
    pub segments_written: usize,
    /// Bytes of the rewritten segments before and after.
    pub bytes_before: u64,
    /// See [`CleanStats::bytes_before`].
    pub bytes_after: u64,
    /// Records kept and removed.
    pub records_kept: u64,
    /// See [`CleanStats::records_kept`].
    pub records_removed: u64,
    /// Keys mapped in the dirty section.
    pub keys_mapped: usize,
}

impl Log {
    /// Where this log stands for the cleaner at `now`, given the cleaner checkpoint (the end
    /// of the last cleaning, `None` if never cleaned).
    pub fn cleanable(&self, checkpoint: Option<i64>, now: i64) -> Result<Cleanable> {
        let config = self.config();
        let segments = self.segment_list();
        let log_start = self.log_start_offset();
        let log_end = self.log_end_offset();
        let first_dirty = checkpoint
            .filter(|c| (log_start..=log_end).contains(c))
            .unwrap_or(log_start);
        let ends = segment_ends(&segments, log_end);
        let active = segments.len() - 1;
        // Never past the last stable offset (Kafka's rule): below it every transaction is
        // decided.
        let mut uncleanable = segments[active]
            .base_offset()
            .min(self.last_stable_offset());
        let mut earliest_dirty_timestamp = None;
        for (segment, &end) in segments[..active].iter().zip(&ends) {
            if end <= first_dirty {
                continue;
            }
            let index = segment.index(config.index_interval_bytes)?;
            if config.min_compaction_lag_ms > 0
                && index.max_timestamp > now.saturating_sub(config.min_compaction_lag_ms)
            {
                uncleanable = uncleanable.min(segment.base_offset());
                break;
            }
            drop(index);
            if let Some(first) = first_batch_timestamp(segment).filter(|&t| t > 0) {
                let earliest: &mut i64 = earliest_dirty_timestamp.get_or_insert(first);
                *earliest = (*earliest).min(first);
            }
        }
        let mut stats = Cleanable {
            first_dirty_offset: first_dirty,
            first_uncleanable_offset: uncleanable,
            clean_bytes: 0,
            cleanable_bytes: 0,
            compaction_overdue: false,
        };
        for (segment, &end) in segments.iter().zip(&ends) {
            if segment.base_offset() < first_dirty {
                stats.clean_bytes += segment.size();
            }
            if end > first_dirty && end <= uncleanable && segment.base_offset() < uncleanable {
                stats.cleanable_bytes += segment.size();
            }
        }
        let clean_until = now.saturating_sub(config.max_compaction_lag_ms.max(0));
        stats.compaction_overdue = stats.cleanable_bytes > 0
            && earliest_dirty_timestamp.is_some_and(|earliest| earliest < clean_until);
        Ok(stats)
    }

    /// Cleans this log once at `now` with an offset map of `map_bytes` (Kafka's accounting:
    /// 24 bytes a key, filled to 90%), whatever its dirty ratio; returns what it did, or
    /// `None` when nothing is cleanable. When the dirty section holds more keys than the map,
    /// the cleaning covers what was mapped and the next one goes on from there. The caller
    /// keeps `end_offset` as the next `checkpoint`. A map too small for one key is an
    /// [`Error::InvalidConfig`] naming `log.cleaner.dedupe.buffer.size`; a failure while
    /// swapping files fails the log (its writes return the error; reopening finishes or
    /// rolls back the swap).
    pub fn clean(
        &self,
        checkpoint: Option<i64>,
        now: i64,
        map_bytes: usize,
    ) -> Result<Option<CleanStats>> {
        let _cleaning = self.cleaning.lock();
        if self.cleaning_stopped() {
            return Err(Error::Closed);
        }
        let cleanable = self.cleanable(checkpoint, now)?;
        if cleanable.cleanable_bytes == 0 {
            return Ok(None);
        }
        let segments = self.segment_list();
        let records = dirty_records(&segments, &cleanable, self.log_end_offset());
        let span = cleanable.first_uncleanable_offset - cleanable.first_dirty_offset;
        let mut map = OffsetMap::with_memory_for(
            map_bytes,
            records,
            cleanable.first_dirty_offset,
            usize::try_from(span).unwrap_or(0),
        );
        let mut txns = CleanedTransactions::new(
            &self.aborted_transactions(self.log_start_offset(), cleanable.first_uncleanable_offset),
        );
        self.build_offset_map(&segments, &cleanable, &txns, &mut map)?;
        if map.latest_offset() < cleanable.first_dirty_offset {
            return Ok(None);
        }
        let end_offset = map.latest_offset() + 1;
        let mut stats = CleanStats {
            first_dirty_offset: cleanable.first_dirty_offset,
            end_offset,
            keys_mapped: map.len(),
            ..CleanStats::default()
        };
        let producers = last_batch_of_each_producer(&segments);
        let ends = segment_ends(&segments, self.log_end_offset());
        // The segments holding offsets below the end, never the active one.
        let upto = segments[..segments.len() - 1]
            .iter()
            .take_while(|s| s.base_offset() < end_offset)
            .count();
        let segment_bytes = self.config().segment_bytes;
        for group in group_by_size(&segments[..upto], &ends, segment_bytes) {
            let base = group[0].base_offset();
            let rule = Retention {
                policy: Policy::Latest {
                    map: &map,
                    producers: &producers,
                },
                now,
                horizon: now.saturating_add(self.config().delete_retention_ms),
            };
            if !self.clean_group(group, &rule, &mut txns, &mut stats)? {
                // Retention took part of the group meanwhile: what is left of it was not
                // cleaned, so the checkpoint may not pass it.
                stats.end_offset = stats.end_offset.min(base);
                break;
            }
        }
        Ok(Some(stats))
    }

    /// Maps the dirty section below the first uncleanable offset, oldest first, until the
    /// map holds as many keys as it may (Kafka's `buildOffsetMap`): at the first key that does
    /// not fit it stops, and the cleaning ends after the last record mapped (Kafka's
    /// `latestOffset`), which may be inside a batch; the next cleaning goes on from there.
    fn build_offset_map(
        &self,
        segments: &[Arc<Segment>],
        cleanable: &Cleanable,
        txns: &CleanedTransactions,
        map: &mut OffsetMap,
    ) -> Result<()> {
        if map.memory_capacity() == 0 {
            return Err(Error::InvalidConfig {
                key: "log.cleaner.dedupe.buffer.size".into(),
                message: format!(
                    "{}: the cleaner's offset map cannot hold a single key; raise the buffer (24 bytes a key, filled to 90%)",
                    self.name
                ),
                suggestion: None,
            });
        }
        let first_dirty = cleanable.first_dirty_offset;
        // One batch's staged digests (24 bytes a record), besides the map's buffer.
        let mut staged = Vec::new();
        for segment in dirty_segments(segments, cleanable, self.log_end_offset()) {
            if self.cleaning_stopped() {
                return Err(Error::Closed);
            }
            for item in segment.scan_all()? {
                let (at, batch) = item?;
                checked(segment, at, &batch)?;
                if batch.last_offset() < first_dirty {
                    continue;
                }
                // Records of aborted transactions supersede nothing (Kafka's rule).
                if !batch.is_control() && !txns.is_aborted(&batch) {
                    // The fast path: the batch was validated at append, its CRC checked now.
                    staged.clear();
                    for record in batch.records_with_limit(DECOMPRESSED_BYTES_MAX)?.keys() {
                        let (offset_delta, key) = record?;
                        let offset = batch.base_offset() + i64::from(offset_delta);
                        if let Some(key) = key.filter(|_| offset >= first_dirty) {
                            map.stage(key, offset, &mut staged);
                        }
                    }
                    if map.put_staged(&staged) < staged.len() {
                        // Full: the cleaning ends after the last record mapped.
                        return Ok(());
                    }
                }
                map.mapped_through(batch.last_offset());
            }
        }
        Ok(())
    }

    /// Rewrites one group of segments into `<first base>.log.cleaned` and swaps it in;
    /// returns whether it did (not if retention took part of the group meanwhile). A failure
    /// before the swap removes the `.cleaned` file.
    pub(super) fn clean_group(
        &self,
        group: &[Arc<Segment>],
        rule: &Retention<'_>,
        txns: &mut CleanedTransactions,
        stats: &mut CleanStats,
    ) -> Result<bool> {
        let base = group[0].base_offset();
        let cleaned_path = segment_path(&self.dir, base, &format!("{LOG_SUFFIX}{CLEANED_SUFFIX}"));
        let index = match self.write_cleaned(group, rule, txns, stats, &cleaned_path) {
            Ok(index) => index,
            Err(error) => {
                if let Err(e) = self.storage.remove_file(&cleaned_path) {
                    tracing::warn!(target: "kafkalite::cleaner", "{}: removing {} after a failed cleaning: {e}", self.name, cleaned_path.display());
                }
                return Err(error);
            }
        };
        stats.segments_cleaned += group.len();
        stats.segments_written += 1;
        self.swap_in(group, index, txns)
    }

    /// Writes and syncs the cleaned bytes of `group` to `cleaned_path`; returns their index.
    fn write_cleaned(
        &self,
        group: &[Arc<Segment>],
        rule: &Retention<'_>,
        txns: &mut CleanedTransactions,
        stats: &mut CleanStats,
        cleaned_path: &std::path::Path,
    ) -> Result<SegmentIndex> {
        let base = group[0].base_offset();
        let file = self.storage.open(cleaned_path, OpenMode::Create)?;
        file.set_len(0)?;
        let interval = self.config().index_interval_bytes;
        let mut out = Output::new(base, interval, &*file);
        for segment in group {
            if self.cleaning_stopped() {
                return Err(Error::Closed);
            }
            stats.bytes_before += segment.size();
            for item in segment.scan_all()? {
                let (at, batch) = item?;
                let records = u64::from(batch.last_offset_delta().unsigned_abs()) + 1;
                if batch.is_control() {
                    checked(segment, at, &batch)?;
                    match txns.control_batch(&batch, rule.now) {
                        MarkerFate::Keep => out.batch(&batch, batch.as_bytes())?,
                        MarkerFate::Stamp => {
                            let stamped =
                                stamp_delete_horizon(&batch, DECOMPRESSED_BYTES_MAX, rule.horizon)?;
                            out.batch(&batch, &stamped)?;
                        }
                        MarkerFate::Remove => {
                            stats.records_removed += records;
                            out.gap(&batch);
                        }
                    }
                    continue;
                }
                if txns.data_batch(&batch) {
                    // An aborted transaction's: none of it stays (a batch emptied before
                    // holds no record to count).
                    stats.records_removed += u64::from(batch.records_count().unsigned_abs());
                    if rule.holds_producer_state(&batch) {
                        out.batch(&batch, &empty_batch(&batch))?;
                    } else {
                        out.gap(&batch);
                    }
                    continue;
                }
                if rule.supersedes_whole(&batch) {
                    // Mapped, so its CRC was checked moments ago; it goes undecoded.
                    stats.records_removed += records;
                    out.gap(&batch);
                    continue;
                }
                checked(segment, at, &batch)?;
                let horizon_passed = batch.delete_horizon_ms().is_some_and(|h| rule.now >= h);
                let (filtered, counts) = filter_batch(
                    &batch,
                    DECOMPRESSED_BYTES_MAX,
                    rule.horizon,
                    |offset, key, has_value| rule.keeps(offset, key, has_value, horizon_passed),
                )?;
                stats.records_kept += counts.kept;
                stats.records_removed += counts.removed;
                match filtered {
                    Filtered::Unchanged => out.batch(&batch, batch.as_bytes())?,
                    Filtered::Rebuilt(bytes) => out.batch(&batch, &bytes)?,
                    Filtered::Emptied if rule.holds_producer_state(&batch) => {
                        out.batch(&batch, &empty_batch(&batch))?;
                    }
                    Filtered::Emptied => out.gap(&batch),
                }
            }
        }
        let (size, index) = out.finish()?;
        file.sync_data()?;
        stats.bytes_after += size;
        Ok(index)
    }

    /// Replaces `group` with the cleaned segment at its base, on disk and in the list, and
    /// returns true; skips (removing the cleaned file, returning false) if retention took
    /// part of the group meanwhile, and stops with [`Error::Closed`] if the log was closed.
    /// Once the files are swapped, the new segment is in the list: a failure to write its
    /// index files (derived data, rebuilt at the next open) is only logged.
    fn swap_in(
        &self,
        group: &[Arc<Segment>],
        index: SegmentIndex,
        txns: &CleanedTransactions,
    ) -> Result<bool> {
        let base = group[0].base_offset();
        // Retired before the writer lock, so that appends never wait for a reader that is
        // rebuilding an old segment's index. Should the swap not happen, the group's segments
        // only lose the writing of their index files, which the next open rebuilds.
        for segment in group {
            segment.retire();
        }
        // The writer lock orders this with rolls and retention, the other writers of the list.
        let mut writer = self.writer.lock();
        let current = self.segment_list();
        let at = current.iter().position(|s| Arc::ptr_eq(s, &group[0]));
        let still_there = at.is_some_and(|at| {
            current.len() > at + group.len()
                && group
                    .iter()
                    .zip(&current[at..])
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        let stopped = self.cleaning_stopped();
        let Some(at) = at.filter(|_| still_there && !stopped) else {
            let cleaned = segment_path(&self.dir, base, &format!("{LOG_SUFFIX}{CLEANED_SUFFIX}"));
            self.storage.remove_file(&cleaned)?;
            return if stopped {
                Err(Error::Closed)
            } else {
                Ok(false)
            };
        };
        let old: Vec<i64> = group.iter().map(|s| s.base_offset()).collect();
        // The new segment was synced whole: the old ones need no sync of their own.
        writer
            .rolled_unsynced
            .retain(|s| !group.iter().any(|g| Arc::ptr_eq(g, s)));
        let swapped = replace_segments(&*self.storage, &self.dir, &[base], &old).and_then(|()| {
            let file = Segment::open_file(&self.storage, &self.dir, base, 0)?;
            let segment = Segment::from_file(
                &self.storage,
                &self.checksums,
                &self.dir,
                base,
                file,
                Some(index),
                self.clock.now_ms(),
            );
            self.checksums.remove(&old[1..]);
            Ok(segment)
        });
        let segment = swapped.map_err(|e| self.fail(e))?;
        if let Err(e) = segment.write_index_files() {
            tracing::warn!(target: "kafkalite::cleaner", "{}: the cleaned segment at {base} is in place, but writing its index files failed (the next open rebuilds them): {e}", self.name);
        }
        let mut list = current[..at].to_vec();
        list.push(Arc::new(segment));
        list.extend_from_slice(&current[at + group.len()..]);
        *self.segments.write() = Arc::new(list);
        // `still_there` found a segment after the group.
        let next = current[at + group.len()].base_offset();
        self.remove_merged_snapshots(base, next);
        // The group's `.txnindex` files went with it: the new segment's holds the aborted
        // transactions whose markers it kept (those whose markers went are forgotten, as
        // Kafka's cleaner leaves them out of the cleaned index).
        self.forget_aborted_markers(&txns.removed_markers);
        if let Err(e) = self.write_txn_index(base, next) {
            tracing::warn!(target: "kafkalite::cleaner", "{}: the cleaned segment at {base} is in place, but writing its .txnindex failed (the records of its aborted transactions are gone; the next open reads it as empty): {e}", self.name);
        }
        Ok(true)
    }
}

/// A scanned batch whose CRC holds, or the corruption naming where.
fn checked(segment: &Segment, at: usize, batch: &RecordBatch<'_>) -> Result<()> {
    batch
        .verify_crc()
        .map_err(|e| Error::corruption(segment.log_path(), at as u64, e.to_string()))
}

/// Each segment's end: the next segment's base, or the log end offset for the last.
pub(super) fn segment_ends(segments: &[Arc<Segment>], log_end: i64) -> Vec<i64> {
    segments
        .iter()
        .skip(1)
        .map(|s| s.base_offset())
        .chain(std::iter::once(log_end))
        .collect()
}

/// The segments holding the dirty section: those ending past the first dirty offset, up to
/// the first ending past the first uncleanable offset.
fn dirty_segments<'a>(
    segments: &'a [Arc<Segment>],
    cleanable: &Cleanable,
    log_end: i64,
) -> impl Iterator<Item = &'a Arc<Segment>> {
    let ends = segment_ends(segments, log_end);
    let (first_dirty, first_uncleanable) = (
        cleanable.first_dirty_offset,
        cleanable.first_uncleanable_offset,
    );
    segments
        .iter()
        .zip(ends)
        .skip_while(move |(_, end)| *end <= first_dirty)
        .take_while(move |(_, end)| *end <= first_uncleanable)
        .map(|(segment, _)| segment)
}

/// At most how many records the dirty section holds (batch headers' counts; a batch
/// straddling its start counted whole): what the offset map is sized for.
fn dirty_records(segments: &[Arc<Segment>], cleanable: &Cleanable, log_end: i64) -> usize {
    let mut records = 0usize;
    for segment in dirty_segments(segments, cleanable, log_end) {
        for (_, batch) in
            crate::record::BatchIter::new(segment.log().bytes()).map_while(|item| item.ok())
        {
            if batch.last_offset() >= cleanable.first_dirty_offset {
                let count = usize::try_from(batch.records_count()).unwrap_or(0);
                records = records.saturating_add(count);
            }
        }
    }
    records
}

/// The max timestamp of a segment's first batch (Kafka's first-batch timestamp, for
/// `max.compaction.lag.ms`).
fn first_batch_timestamp(segment: &Segment) -> Option<i64> {
    RecordBatch::parse_prefix(segment.log().bytes())
        .ok()
        .map(|b| b.max_timestamp())
}

/// The last offset of each producer's last batch (headers only).
fn last_batch_of_each_producer(segments: &[Arc<Segment>]) -> HashMap<i64, i64> {
    let mut last = HashMap::new();
    for segment in segments {
        for (_, batch) in
            crate::record::BatchIter::new(segment.log().bytes()).map_while(|item| item.ok())
        {
            if batch.producer_id() >= 0 {
                last.insert(batch.producer_id(), batch.last_offset());
            }
        }
    }
    last
}

/// Consecutive segments merged while their bytes fit `segment.bytes` and their offsets fit
/// one segment (Kafka's `groupSegmentsBySize`, without its index-size rule: kafkalite's
/// indexes grow with the log they index, which the size rule already bounds).
pub(super) fn group_by_size<'a>(
    segments: &'a [Arc<Segment>],
    ends: &[i64],
    segment_bytes: u64,
) -> Vec<&'a [Arc<Segment>]> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let base = segments[start].base_offset();
        let mut size = segments[start].size();
        let mut end = start + 1;
        while end < segments.len()
            && size + segments[end].size() <= segment_bytes
            && ends[end] - 1 - base <= i64::from(i32::MAX)
        {
            size += segments[end].size();
            end += 1;
        }
        groups.push(&segments[start..end]);
        start = end;
    }
    groups
}
