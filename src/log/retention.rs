//! Deleting whole old segments: by `retention.ms`, `retention.bytes`, and the log start offset
//! that `delete_records` advances. As Kafka's `UnifiedLog.deletableSegments`: oldest first,
//! stopping at the first that stays; only segments wholly below the high watermark; the
//! active segment too when it qualifies and is not empty (a new empty one is rolled first, so
//! a topic that stops receiving writes does not keep its last records forever).
//!
//! Two steps, so that a cluster can persist the raised log start offset in between: detach
//! the segments from the list (raising the log start), then remove their files. Files are
//! thus never gone while the checkpoint still names an older start, and an open that finds
//! the checkpoint's start below the oldest segment knows that segment files are missing.

use crate::sync::Ordering;
use std::sync::Arc;

use super::partition::Log;
use super::segment::Segment;
use crate::error::{Error, Result};

impl Log {
    /// Deletes the old segments that retention allows, oldest first, stopping at the first
    /// that must stay; returns how many were deleted. The log start offset moves to the first
    /// remaining segment. (A cluster persists that start between the two steps; a log opened
    /// on its own has no checkpoint to keep.)
    pub fn apply_retention(&self) -> Result<usize> {
        let detached = self.detach_expired()?;
        self.remove_detached(&detached)
    }

    /// Step one: takes the segments that retention allows out of the list and raises the log
    /// start offset past them; returns them, their files still on disk.
    pub(crate) fn detach_expired(&self) -> Result<Vec<Arc<Segment>>> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        // A failed log's list may not match its files (a swap that failed halfway): nothing is
        // deleted from it until a reopen has recovered the files.
        if self.is_failed() {
            return Ok(Vec::new());
        }
        let config = self.config();
        let now = self.clock.now_ms();
        let high_watermark = self.high_watermark();
        let log_end = self.log_end_offset();
        let log_start = self.log_start_offset();
        let segments = self.segment_list();
        let mut remaining: u64 = segments.iter().map(|s| s.size()).sum();
        let mut deletable = 0;
        for (i, segment) in segments.iter().enumerate() {
            let next_base = segments.get(i + 1).map(|next| next.base_offset());
            let upper_bound = next_base.unwrap_or(log_end);
            // An empty last segment is never deleted: it would only be made again.
            if upper_bound > high_watermark || (next_base.is_none() && segment.size() == 0) {
                break;
            }
            let by_start = next_base.is_some_and(|next| next <= log_start);
            let by_time = config.cleanup_delete && config.retention_ms >= 0 && {
                let newest = segment.index(config.index_interval_bytes)?.max_timestamp;
                newest >= 0 && now.saturating_sub(newest) > config.retention_ms
            };
            let by_size = config.cleanup_delete
                && config.retention_bytes >= 0
                && remaining - segment.size() >= config.retention_bytes.unsigned_abs();
            if !(by_start || by_time || by_size) {
                break;
            }
            remaining -= segment.size();
            deletable += 1;
        }
        if deletable == 0 {
            return Ok(Vec::new());
        }
        self.detach_oldest(&segments[..deletable], deletable == segments.len(), log_end)
    }

    /// Takes `doomed` (the oldest segments of an earlier snapshot) out of the list, skipping
    /// any that a concurrent retention pass took already; returns those this call took. When
    /// `doomed` ends with the segment that was active when judged (`judged_active`), a new
    /// one is rolled first, unless records were appended since `log_end` was read: they were
    /// not judged, so that segment stays.
    fn detach_oldest(
        &self,
        doomed: &[Arc<Segment>],
        judged_active: bool,
        log_end: i64,
    ) -> Result<Vec<Arc<Segment>>> {
        // The writer lock orders this with rolls and appends, the other writers of the list.
        let mut writer = self.writer.lock();
        // The segment that was active when judged: if records were appended since (it may
        // even have been rolled since), they were not judged, so it stays.
        let mut doomed = doomed;
        if let Some(last) = doomed.last().filter(|_| judged_active).cloned() {
            if writer.next_offset != log_end {
                doomed = &doomed[..doomed.len() - 1];
            } else if Arc::ptr_eq(&last, &writer.active) {
                let config = self.config();
                self.roll_locked(&mut writer, &config, self.clock.now_ms())?;
            }
        }
        let mut segments = self.segments.write();
        let mut list = (**segments).clone();
        let count = list
            .iter()
            .take_while(|s| doomed.iter().any(|d| Arc::ptr_eq(d, s)))
            .count()
            .min(list.len() - 1);
        let removed: Vec<Arc<Segment>> = list.drain(..count).collect();
        // They go: nothing left in them needs a sync.
        writer
            .rolled_unsynced
            .retain(|s| !removed.iter().any(|r| Arc::ptr_eq(r, s)));
        self.log_start
            .fetch_max(list[0].base_offset(), Ordering::AcqRel);
        *segments = Arc::new(list);
        Ok(removed)
    }

    /// Step two: removes the files of segments that [`Log::detach_expired`] returned; returns
    /// how many.
    pub(crate) fn remove_detached(&self, removed: &[Arc<Segment>]) -> Result<usize> {
        if removed.is_empty() {
            return Ok(0);
        }
        // Oldest first, so that after a crash the files left are always a suffix of the log.
        for segment in removed {
            // A reader still holding it must not write its index files back.
            segment.retire();
            segment.remove_files()?;
        }
        let bases: Vec<i64> = removed.iter().map(|s| s.base_offset()).collect();
        self.checksums.remove(&bases);
        self.remove_snapshots_below_first_segment()?;
        self.forget_aborted_below(self.segment_list()[0].base_offset());
        self.storage.sync_dir(&self.dir)?;
        Ok(removed.len())
    }

    /// Advances the log start offset to `offset` (−1: the high watermark), as Kafka's
    /// DeleteRecords does. Records below it can no longer be read; whole segments below it go
    /// at the next retention check. Returns the new log start offset. The caller persists it
    /// (`log-start-offset-checkpoint`).
    pub fn delete_records(&self, offset: i64) -> Result<i64> {
        let start = self.delete_records_start(offset)?;
        self.raise_log_start(start);
        Ok(start)
    }

    /// The log start offset [`Log::delete_records`]`(offset)` would leave, without moving it
    /// (so that a caller can persist it first).
    pub(crate) fn delete_records_start(&self, offset: i64) -> Result<i64> {
        let high_watermark = self.high_watermark();
        let offset = if offset == -1 { high_watermark } else { offset };
        if offset < 0 || offset > high_watermark {
            return Err(Error::OffsetOutOfRange {
                partition: self.name.clone(),
                offset,
                log_start: self.log_start_offset(),
                log_end: high_watermark,
            });
        }
        Ok(self.log_start_offset().max(offset))
    }

    /// Moves the log start offset up to `start` (never down).
    pub(crate) fn raise_log_start(&self, start: i64) {
        self.log_start.fetch_max(start, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::TopicConfig;
    use crate::log::Log;
    use crate::record::BatchBuilder;
    use crate::storage::{SimStorage, Storage};

    use crate::log::test_log::DIR;

    fn open(sim: &SimStorage, recovery_point: Option<i64>) -> Log {
        crate::log::test_log::open(sim, TopicConfig::default(), recovery_point)
            .unwrap()
            .0
    }

    /// Segments 0, 2 and 4 of one two-record batch each, rolled, none synced; active at 6.
    fn filled(log: &Log) {
        for i in 0..3_i64 {
            let mut batch = BatchBuilder::new();
            for j in 0..2 {
                batch
                    .append(i * 2 + j, Some(b"k"), Some(b"v"), &[])
                    .unwrap();
            }
            log.append(&batch.build().unwrap()).unwrap();
            log.roll().unwrap();
        }
    }

    /// Files of the log directory whose segment has no `.log`.
    fn orphans(sim: &SimStorage) -> Vec<String> {
        let names: Vec<String> = sim
            .list(Path::new(DIR))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names
            .iter()
            .filter(|n| n.len() > 20 && n.as_bytes()[..20].iter().all(u8::is_ascii_digit))
            .filter(|n| !names.contains(&format!("{}.log", &n[..20])))
            .cloned()
            .collect()
    }

    #[test]
    fn deleted_segments_held_by_a_reader_or_unsynced_leave_no_files_behind() {
        let sim = SimStorage::new(Path::new("/sim"));
        filled(&open(&sim, None));
        // Reopened cleanly: the segments load their indexes at first use.
        let log = open(&sim, Some(6));
        let held = log.segment_list();
        log.append(&{
            let mut batch = BatchBuilder::new();
            batch.append(6, Some(b"k"), Some(b"v"), &[]).unwrap();
            batch.build().unwrap()
        })
        .unwrap();
        log.roll().unwrap();
        log.delete_records(7).unwrap();
        let detached = log.detach_expired().unwrap();
        assert_eq!(detached.len(), 4, "segments 0, 2, 4 and 6 go");
        log.remove_detached(&detached).unwrap();
        for segment in held.iter().take(3) {
            drop(segment.index(4096).unwrap());
            segment.write_index_files().unwrap();
            segment.sync_index_files().unwrap();
        }
        // Segment 6 was rolled and not synced when it went.
        log.sync().unwrap();
        assert_eq!(orphans(&sim), Vec::<String>::new());
        assert_eq!(log.log_start_offset(), 7);
    }
}
