//! The log cleaner's bookkeeping for a cluster (Kafka's `LogCleanerManager`): the
//! `cleaner-offset-checkpoint` (Kafka's text format, with kafkalite's checksum line), the
//! logs marked uncleanable and why, when the next pass is due, and the passes themselves:
//! the filthiest compacted log whose dirty ratio passes `min.cleanable.dirty.ratio` (or whose
//! dirty data passed `max.compaction.lag.ms`) first, then the next, until none is eligible;
//! then the cleaner backs off `log.cleaner.backoff.ms` on the cluster's clock. A log whose
//! cleaning fails is marked uncleanable, reported, and skipped from then on; the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::{split_name, Cluster};
use crate::error::{Error, Result};
use crate::log::checkpoint::{self, CheckpointMap};
use crate::log::{CleanStats, Log};

/// Kafka's cleaner checkpoint file, in the data directory.
pub(super) const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
/// Kafka's `log.cleaner.dedupe.buffer.size` default (128 MiB).
pub(super) const DEDUPE_BUFFER_BYTES: usize = 128 * 1024 * 1024;
/// Kafka's `log.cleaner.backoff.ms` default.
pub(super) const BACKOFF_MS: i64 = 15_000;
/// Kafka's `log.cleaner.threads` default.
pub(super) const THREADS: usize = 1;

/// The cleaner's settings (Kafka's broker keys).
#[derive(Debug, Clone, Copy)]
pub(super) struct CleanerSettings {
    /// `log.cleaner.enable`.
    pub enabled: bool,
    /// `log.cleaner.dedupe.buffer.size`.
    pub dedupe_buffer_bytes: usize,
    /// `log.cleaner.backoff.ms`.
    pub backoff_ms: i64,
    /// `log.cleaner.threads`.
    pub threads: usize,
}

impl Default for CleanerSettings {
    fn default() -> Self {
        CleanerSettings {
            enabled: true,
            dedupe_buffer_bytes: DEDUPE_BUFFER_BYTES,
            backoff_ms: BACKOFF_MS,
            threads: THREADS,
        }
    }
}

/// The cleaner's state in a cluster.
#[derive(Debug)]
pub(super) struct CleanerState {
    settings: CleanerSettings,
    /// Where each log's dirty section starts (the end of its last cleaning).
    checkpoints: Mutex<CheckpointMap>,
    /// Logs whose cleaning failed, with the failure.
    uncleanable: Mutex<BTreeMap<String, String>>,
    /// When the cleaner may look for work next.
    next_pass_ms: Mutex<i64>,
    /// The logs being cleaned now (by a cleaner thread, [`Cluster::run_maintenance`] or
    /// [`Cluster::compact`]): one cleaner per log, the others pick another (Kafka's
    /// `inProgress`).
    in_progress: Mutex<BTreeSet<String>>,
    /// Told when a cleaning ends.
    finished: Condvar,
}

/// A log claimed for cleaning, released (and waiters told) when dropped.
struct Claim<'a> {
    state: &'a CleanerState,
    log: Arc<Log>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.state.in_progress.lock().remove(self.log.name());
        self.state.finished.notify_all();
    }
}

impl CleanerState {
    pub(super) fn new(settings: CleanerSettings, checkpoints: CheckpointMap) -> CleanerState {
        CleanerState {
            settings,
            checkpoints: Mutex::new(checkpoints),
            uncleanable: Mutex::new(BTreeMap::new()),
            next_pass_ms: Mutex::new(i64::MIN),
            in_progress: Mutex::new(BTreeSet::new()),
            finished: Condvar::new(),
        }
    }

    /// How many cleaner threads to run (`log.cleaner.threads`, none when disabled).
    pub(super) fn threads(&self) -> usize {
        if self.settings.enabled {
            self.settings.threads
        } else {
            0
        }
    }

    /// Claims `log`, waiting while another cleaner has it.
    fn claim(&self, log: &Arc<Log>) -> Claim<'_> {
        let mut in_progress = self.in_progress.lock();
        while in_progress.contains(log.name()) {
            self.finished.wait(&mut in_progress);
        }
        in_progress.insert(log.name().to_string());
        Claim {
            state: self,
            log: Arc::clone(log),
        }
    }

    /// Waits until no log is being cleaned.
    fn wait_idle(&self) {
        let mut in_progress = self.in_progress.lock();
        while !in_progress.is_empty() {
            self.finished.wait(&mut in_progress);
        }
    }
}

/// Reads the cleaner checkpoint at open. A damaged one is reported and dropped: it only
/// says where cleaning resumes, so every log starts over from its beginning (as Kafka does
/// when the checkpoint is missing).
pub(super) fn read_checkpoint(
    storage: &dyn crate::storage::Storage,
    dir: &std::path::Path,
) -> CheckpointMap {
    match checkpoint::read(storage, &dir.join(CHECKPOINT_FILE)) {
        Ok(map) => map,
        Err(error) => {
            tracing::warn!(target: "kafkalite::cleaner", "{CHECKPOINT_FILE} is unreadable, so every compacted log is cleaned from its start again: {error}");
            CheckpointMap::new()
        }
    }
}

/// A compacted partition as the cleaner sees it ([`Cluster::cleaner_status`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogCleanerStatus {
    /// `topic-partition`.
    pub partition: String,
    /// Where the dirty section starts: everything below was cleaned (the cleaner checkpoint,
    /// or the log start when never cleaned).
    pub first_dirty_offset: i64,
    /// Where cleaning must stop now (active segment, high watermark, `min.compaction.lag.ms`).
    pub first_uncleanable_offset: i64,
    /// Dirty bytes over all bytes up to the first uncleanable segment.
    pub dirty_ratio: f64,
    /// Whether the next pass cleans it (ratio above `min.cleanable.dirty.ratio`, or dirty
    /// data older than `max.compaction.lag.ms`).
    pub eligible: bool,
    /// Why it is no longer cleaned: the failure of its last cleaning.
    pub uncleanable: Option<String>,
}

/// What one cleaning of one partition did ([`Cluster::compact`]).
#[derive(Debug)]
pub struct CleanReport {
    /// `topic-partition`.
    pub partition: String,
    /// What the cleaning did, or why it failed (the partition is then uncleanable).
    pub outcome: Result<CleanStats>,
}

impl Cluster {
    /// Every compacted partition's cleaner state (those of `cleanup.policy` `compact` or
    /// `compact,delete`, `__consumer_offsets` included), sorted by name. A partition that
    /// cannot be measured is shown uncleanable, with why, and marked so.
    pub fn cleaner_status(&self) -> Result<Vec<LogCleanerStatus>> {
        self.check_open()?;
        let now = self.inner.clock.now_ms();
        let mut out = Vec::new();
        for log in self.compacted_logs() {
            let checkpoint = self.cleaner_checkpoint(&log);
            let cleanable = match log.cleanable(checkpoint, now) {
                Ok(cleanable) => cleanable,
                Err(error) => {
                    self.mark_uncleanable(&log, &error);
                    let start = log.log_start_offset();
                    out.push(LogCleanerStatus {
                        partition: log.name().to_string(),
                        first_dirty_offset: checkpoint.unwrap_or(start).max(start),
                        first_uncleanable_offset: start,
                        dirty_ratio: 0.0,
                        eligible: false,
                        uncleanable: Some(error.to_string()),
                    });
                    continue;
                }
            };
            let uncleanable = self
                .inner
                .cleaner
                .uncleanable
                .lock()
                .get(log.name())
                .cloned();
            let config = log.config();
            out.push(LogCleanerStatus {
                partition: log.name().to_string(),
                first_dirty_offset: cleanable.first_dirty_offset,
                first_uncleanable_offset: cleanable.first_uncleanable_offset,
                dirty_ratio: cleanable.dirty_ratio(),
                eligible: cleanable.cleanable_bytes > 0
                    && (cleanable.dirty_ratio() > config.min_cleanable_dirty_ratio
                        || cleanable.compaction_overdue),
                uncleanable,
            });
        }
        Ok(out)
    }

    /// Runs the cleaner to completion now, whatever the dirty ratios and the backoff: cleans
    /// every compacted partition (of `topic`, or all) until nothing in it is cleanable, and
    /// returns what each cleaning did; without a topic, the metadata log is then compacted to
    /// the live topics (the last report). For tests and scripts (`kafkalite compact`); the
    /// cleaner threads clean by Kafka's rules on their own. A partition whose cleaning fails
    /// is reported, marked uncleanable, and the others go on.
    pub fn compact(&self, topic: Option<&str>) -> Result<Vec<CleanReport>> {
        self.check_open()?;
        if let Some(topic) = topic {
            self.topic_config(topic)?;
        }
        let mut reports = Vec::new();
        for log in self.compacted_logs() {
            if topic.is_some_and(|t| split_name(log.name()).0 != t) {
                continue;
            }
            let _claim = self.inner.cleaner.claim(&log);
            while !self.is_uncleanable(&log) {
                match self.clean_one(&log) {
                    Ok(None) => break,
                    Ok(Some(stats)) => reports.push(CleanReport {
                        partition: log.name().to_string(),
                        outcome: Ok(stats),
                    }),
                    Err(error) => {
                        reports.push(CleanReport {
                            partition: log.name().to_string(),
                            outcome: Err(error),
                        });
                        break;
                    }
                }
            }
        }
        // The metadata log last, with the whole cluster (`metadata_compaction`).
        if topic.is_none() {
            let outcome = self.clean_metadata(true).transpose();
            reports.extend(outcome.map(|outcome| CleanReport {
                partition: self.inner.metadata.name().to_string(),
                outcome,
            }));
        }
        Ok(reports)
    }

    /// A cleaner pass (a cleaner thread's, or [`Cluster::run_maintenance`]'s): when due,
    /// cleans the filthiest eligible log no other cleaner has, then the next, until none is
    /// eligible, and backs off. With `wait`, it then waits for the other cleaners' cleanings
    /// to end, so that everything due is clean when it returns. Failures mark their log
    /// uncleanable and are returned, the first of them.
    pub(super) fn clean_when_due(&self, wait: bool) -> Result<()> {
        let state = &self.inner.cleaner;
        let now = self.inner.clock.now_ms();
        if !state.settings.enabled || now < *state.next_pass_ms.lock() {
            return Ok(());
        }
        let mut first_error = None;
        // Logs this pass found nothing to clean in, or whose cleaning stopped: not again.
        let mut passed = BTreeSet::new();
        while let Some(claim) = self.claim_filthiest(&passed)? {
            match self.clean_one(&claim.log) {
                Ok(Some(_)) => {}
                Ok(None) | Err(Error::Closed) => {
                    passed.insert(claim.log.name().to_string());
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = self.clean_metadata(false).err() {
            first_error.get_or_insert(error);
        }
        *state.next_pass_ms.lock() = now.saturating_add(state.settings.backoff_ms);
        if wait {
            state.wait_idle();
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Claims the eligible log with the highest dirty ratio that no other cleaner has and
    /// that is not in `passed` (Kafka's `grabFilthiestCompactedLog`); none once the cluster
    /// is closed.
    fn claim_filthiest(&self, passed: &BTreeSet<String>) -> Result<Option<Claim<'_>>> {
        let now = self.inner.clock.now_ms();
        let state = &self.inner.cleaner;
        let mut in_progress = state.in_progress.lock();
        if self.is_closed() {
            return Ok(None);
        }
        let mut best: Option<(f64, Arc<Log>)> = None;
        for log in self.compacted_logs() {
            let name = log.name();
            if self.is_uncleanable(&log)
                || in_progress.contains(name)
                || passed.contains(name)
                || log.cleaning_stopped()
            {
                continue;
            }
            // A log that cannot even be measured (damage found reading it) is marked, as a
            // failed cleaning is, and the others go on.
            let cleanable = match log.cleanable(self.cleaner_checkpoint(&log), now) {
                Ok(cleanable) => cleanable,
                Err(error) => {
                    self.mark_uncleanable(&log, &error);
                    continue;
                }
            };
            let ratio = cleanable.dirty_ratio();
            let eligible = cleanable.cleanable_bytes > 0
                && (ratio > log.config().min_cleanable_dirty_ratio || cleanable.compaction_overdue);
            if eligible && best.as_ref().is_none_or(|(r, _)| ratio > *r) {
                best = Some((ratio, log));
            }
        }
        Ok(best.map(|(_, log)| {
            in_progress.insert(log.name().to_string());
            Claim { state, log }
        }))
    }

    /// Compacts the metadata log (see `metadata_compaction`) when due, or at once if
    /// `forced`; one cleaner at a time. A failure is logged and returned (the log is
    /// compacted again at the next pass: nothing marks it uncleanable).
    fn clean_metadata(&self, forced: bool) -> Result<Option<CleanStats>> {
        let _claim = self.inner.cleaner.claim(&self.inner.metadata);
        let compacted = if forced {
            self.compact_metadata()
        } else {
            self.compact_metadata_when_due()
        };
        if let Err(error) = &compacted {
            if !matches!(error, Error::Closed) {
                tracing::error!(target: "kafkalite::cleaner", "{}: compaction failed: {error}", self.inner.metadata.name());
            }
        }
        compacted
    }

    /// Cleans `log` once and moves its checkpoint; a failure marks it uncleanable.
    fn clean_one(&self, log: &Arc<Log>) -> Result<Option<CleanStats>> {
        let now = self.inner.clock.now_ms();
        let checkpoint = self.cleaner_checkpoint(log);
        let bytes = self.inner.cleaner.settings.dedupe_buffer_bytes;
        let cleaned = log.clean(checkpoint, now, bytes).and_then(|stats| {
            if let Some(stats) = &stats {
                self.set_cleaner_checkpoint(log, stats.end_offset)?;
                tracing::info!(target: "kafkalite::cleaner", "{}: cleaned offsets below {} ({} of {} records kept, {} bytes to {})", log.name(), stats.end_offset, stats.records_kept, stats.records_kept + stats.records_removed, stats.bytes_before, stats.bytes_after);
            }
            Ok(stats)
        });
        if let Err(error) = &cleaned {
            if !matches!(error, Error::Closed) {
                self.mark_uncleanable(log, error);
            }
        }
        cleaned
    }

    /// Marks `log` uncleanable until the cluster reopens, logging why.
    fn mark_uncleanable(&self, log: &Log, error: &Error) {
        tracing::error!(target: "kafkalite::cleaner", "{}: cleaning failed; the partition is not cleaned again until the cluster reopens: {error}", log.name());
        self.inner
            .cleaner
            .uncleanable
            .lock()
            .insert(log.name().to_string(), error.to_string());
    }

    fn is_uncleanable(&self, log: &Log) -> bool {
        self.inner
            .cleaner
            .uncleanable
            .lock()
            .contains_key(log.name())
    }

    fn compacted_logs(&self) -> Vec<Arc<Log>> {
        let topics = self.inner.topics.read();
        topics
            .values()
            .filter(|t| t.config.cleanup_compact)
            .flat_map(|t| t.partitions.iter().cloned())
            .collect()
    }

    fn cleaner_checkpoint(&self, log: &Log) -> Option<i64> {
        let checkpoints = self.inner.cleaner.checkpoints.lock();
        checkpoints.get(&split_name(log.name())).copied()
    }

    /// Drops what the cleaner knows of `topic` (deleted, or created anew under a name an
    /// earlier topic had): its checkpoint entries, writing the file if any changed, and its
    /// partitions' uncleanable marks.
    pub(super) fn forget_cleaner_checkpoints(&self, topic: &str) -> Result<()> {
        self.inner
            .cleaner
            .uncleanable
            .lock()
            .retain(|partition, _| split_name(partition).0 != topic);
        let mut checkpoints = self.inner.cleaner.checkpoints.lock();
        let before = checkpoints.len();
        checkpoints.retain(|(t, _), _| t != topic);
        if checkpoints.len() == before {
            return Ok(());
        }
        let path = self.inner.dir.join(CHECKPOINT_FILE);
        checkpoint::write(&*self.inner.storage, &path, &checkpoints)
    }

    /// Records `offset` as where `log`'s dirty section starts, and writes the checkpoint file
    /// (entries of partitions that no longer exist dropped).
    fn set_cleaner_checkpoint(&self, log: &Log, offset: i64) -> Result<()> {
        let mut checkpoints = self.inner.cleaner.checkpoints.lock();
        // A deleted topic's log is stopped before its checkpoint is forgotten (under this
        // lock): a cleaning that ended meanwhile must not mark a topic created again clean.
        if log.cleaning_stopped() {
            return Ok(());
        }
        checkpoints.insert(split_name(log.name()), offset);
        let live: Vec<(String, i32)> = self
            .compacted_logs()
            .iter()
            .map(|l| split_name(l.name()))
            .collect();
        checkpoints.retain(|key, _| live.contains(key));
        let path = self.inner.dir.join(CHECKPOINT_FILE);
        checkpoint::write(&*self.inner.storage, &path, &checkpoints)
    }
}

#[cfg(test)]
mod tests {
    use crate::record::BatchBuilder;
    use crate::{Cluster, NewTopic};

    #[test]
    fn a_pass_over_a_log_whose_cleaning_stopped_ends_and_leaves_it() {
        let cluster = Cluster::builder().background(false).temporary().unwrap();
        cluster
            .create_topic(NewTopic::new("c", 1).config("cleanup.policy", "compact"))
            .unwrap();
        let log = cluster.partition("c", 0).unwrap();
        for value in ["1", "2"] {
            let mut batch = BatchBuilder::new();
            batch
                .append(0, Some(b"k"), Some(value.as_bytes()), &[])
                .unwrap();
            log.append(&batch.build().unwrap()).unwrap();
        }
        log.roll().unwrap();
        assert!(cluster.cleaner_status().unwrap()[0].eligible);
        // As a closing cluster or a topic deletion leaves it: the pass must not spin on it.
        log.abort_cleaning();
        cluster.run_maintenance().unwrap();
        let status = cluster.cleaner_status().unwrap();
        assert!(status[0].eligible, "still dirty: not cleaned");
        assert_eq!(status[0].uncleanable, None, "and not marked");
        assert_eq!(cluster.background_errors().count, 0);
    }
}
