//! One partition's log: append, read, roll, sync with group commit, offsets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::incoming::{index_appended, stamped_headers, validate, write_slices, Incoming};
use super::producer_state::Checked;
use super::producers::{placed, Producers};
use super::segment::Segment;
use crate::clock::Clock;
use crate::config::TopicConfig;
use crate::error::{Error, Result, SharedIoError};
use crate::notify::Notifier;
use crate::record::{RecordBatch, TimestampType};
use crate::storage::Storage;
use crate::sync::{AtomicBool, AtomicI64, Mutex, Ordering, RwLock};

/// Offsets and sizes of one append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first appended record.
    pub first_offset: i64,
    /// Offset of the last appended record.
    pub last_offset: i64,
    /// Largest record timestamp among the appended batches (the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// The time the log stamped, when the topic uses LogAppendTime.
    pub log_append_time: Option<i64>,
    /// Number of batches appended: 0 when the append was a duplicate of a batch an
    /// idempotent producer wrote before (same producer id, epoch and sequences, among its
    /// last five), whose offsets and timestamp are then returned and nothing is written.
    pub batches: usize,
    /// Bytes appended.
    pub bytes: usize,
    /// Where the first appended batch starts in its segment's `.log` file (none for a
    /// duplicate): a hint for reading it back ([`Log::read_hinted`]).
    pub(crate) position: Option<u64>,
}

/// A segment as listed by [`Log::segments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Base offset (the file name).
    pub base_offset: i64,
    /// Size of the `.log` in bytes.
    pub size_bytes: u64,
}

#[derive(Debug)]
pub(super) struct Writer {
    pub(super) active: Arc<Segment>,
    pub(super) next_offset: i64,
    /// Max timestamp of the active segment's first batch, when known (for `segment.ms`).
    pub(super) active_first_timestamp: Option<i64>,
    pub(super) unsynced_messages: i64,
    pub(super) last_sync_ms: i64,
    /// Segments rolled since the last sync; their data is not yet durable.
    pub(super) rolled_unsynced: Vec<Arc<Segment>>,
    /// Every producer's state as of `next_offset`, and the newest snapshot of it.
    pub(super) producers: Producers,
}

/// One partition's log: an ordered list of segments, one active. One writer at a time (inside
/// `append`); any number of readers, which never wait for the writer: the end offset is
/// published atomically and segments are reference-counted.
#[derive(Debug)]
pub struct Log {
    pub(super) name: String,
    pub(super) dir: PathBuf,
    pub(super) storage: Arc<dyn Storage>,
    pub(super) checksums: Arc<super::IndexChecksums>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) config: RwLock<Arc<TopicConfig>>,
    pub(super) segments: RwLock<Arc<Vec<Arc<Segment>>>>,
    pub(super) writer: Mutex<Writer>,
    pub(super) end_offset: AtomicI64,
    pub(super) log_start: AtomicI64,
    pub(super) durable: AtomicI64,
    pub(super) sync_every_append: AtomicBool,
    /// Whether data in the active segment was ever synced while its topic's config asks
    /// for no syncs (`Log::sync`, a durable transaction decision's markers, the transaction
    /// coordinator's own log): such a log gets no zeros ahead, which each sync would write.
    pub(super) synced_outside_config: AtomicBool,
    pub(super) sync_lock: Mutex<()>,
    /// The `Failed` error of the first failed sync, returned by every write after it.
    pub(super) failure: Mutex<Option<Error>>,
    pub(super) closed: AtomicBool,
    /// Told whenever what readers may see changes (set by the cluster).
    pub(super) notifier: std::sync::OnceLock<Arc<Notifier>>,
    /// The locks a log opened on its own holds (see [`Log::open`]); none in a cluster, whose
    /// data-directory lock covers its logs.
    pub(super) locks: Mutex<Vec<Box<dyn crate::storage::LockGuard>>>,
    /// Held for the whole of a cleaning: one at a time per log (their files share names).
    pub(super) cleaning: Mutex<()>,
    /// Set by [`Log::abort_cleaning`]: a cleaning stops at its next segment.
    pub(super) cleaning_aborted: AtomicBool,
    /// The aborted transactions whose markers are in the log, by marker offset (what the
    /// segments' `.txnindex` files hold).
    pub(super) aborted: RwLock<Vec<super::transactions::AbortedTransaction>>,
    /// The first offset of the oldest open transaction, `i64::MAX` when none is open.
    pub(super) first_unstable: AtomicI64,
    /// Transactions whose markers are written but may not be below the high watermark
    /// yet: (first offset, marker offset). They hold the LSO back until they are.
    pub(super) unreplicated: Mutex<Vec<(i64, i64)>>,
    /// The smallest first offset in `unreplicated`, `i64::MAX` when it is empty.
    pub(super) unreplicated_first: AtomicI64,
}

impl Log {
    /// `topic-partition`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The storage the log's files are on (for files other layers keep in its directory).
    pub(crate) fn storage(&self) -> &dyn Storage {
        &*self.storage
    }
    /// Has `notifier` told whenever the high watermark or the log start moves (once).
    pub(crate) fn set_notifier(&self, notifier: Arc<Notifier>) {
        let _ = self.notifier.set(notifier);
    }

    /// Tells waiting readers that what they may see changed.
    pub(super) fn notify_readers(&self) {
        if let Some(notifier) = self.notifier.get() {
            notifier.notify();
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<TopicConfig> {
        Arc::clone(&self.config.read())
    }
    /// Replaces the configuration; it applies to the next append, roll and retention check.
    pub fn set_config(&self, config: Arc<TopicConfig>) {
        self.sync_every_append
            .store(config.sync_every_append(), Ordering::Release);
        *self.config.write() = config;
    }
    /// First readable offset.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start.load(Ordering::Acquire)
    }
    /// Offset the next appended record gets (LEO).
    pub fn log_end_offset(&self) -> i64 {
        self.end_offset.load(Ordering::Acquire)
    }
    /// Every offset below this one is synced to disk.
    pub fn durable_offset(&self) -> i64 {
        self.durable.load(Ordering::Acquire)
    }
    /// What readers may see: the log end offset, or the durable offset when every append is
    /// synced (`flush.messages=1`), so that no reader sees a record a power loss could take back.
    pub fn high_watermark(&self) -> i64 {
        if self.sync_every_append.load(Ordering::Acquire) {
            self.durable_offset().min(self.log_end_offset())
        } else {
            self.log_end_offset()
        }
    }
    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.segment_list()
            .iter()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset(),
                size_bytes: s.size(),
            })
            .collect()
    }
    /// Bytes in the active segment.
    pub fn active_segment_size(&self) -> u64 {
        self.segment_list().last().map_or(0, |s| s.size())
    }
    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.segment_list().iter().map(|s| s.size()).sum()
    }
    pub(super) fn segment_list(&self) -> Arc<Vec<Arc<Segment>>> {
        Arc::clone(&self.segments.read())
    }

    pub(super) fn check_writable(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if let Some(failed) = self.failure.lock().clone() {
            return Err(failed);
        }
        Ok(())
    }

    /// Puts the log in the sticky failed state after an error on a sync. The first failure
    /// is the cause that every later write reports.
    pub(super) fn fail(&self, error: Error) -> Error {
        let (op, path, source) = match error {
            Error::Io { op, path, source } => (op, path, source.into()),
            // Storage reports I/O as `Io`; anything else is kept whole inside an io::Error.
            other => (
                "sync",
                self.dir.clone(),
                SharedIoError::new(std::io::Error::other(other)),
            ),
        };
        let failed = Error::Failed {
            partition: self.name.clone(),
            op,
            path,
            source,
        };
        self.failure.lock().get_or_insert_with(|| failed.clone());
        failed
    }

    /// Whether an earlier sync failed.
    pub fn is_failed(&self) -> bool {
        self.failure.lock().is_some()
    }

    /// Appends one or more batches laid back to back in `batches`. The log assigns offsets and
    /// stamps each batch's base offset and leader epoch (neither is covered by the CRC); under
    /// LogAppendTime it also stamps the time and recomputes the CRC. The input is validated
    /// first (framing, CRC, `max.message.bytes`, `segment.bytes`, and, as Kafka's
    /// `LogValidator` does, every record: it must decode, with offset deltas 0, 1, 2 ...) and
    /// nothing is written if any batch is bad (`CorruptRecord`). A compacted topic refuses a
    /// record without a key (`InvalidRecord`, as Kafka). Under `flush.messages=1`
    /// this returns only once the data is synced.
    pub fn append(&self, batches: &[u8]) -> Result<AppendInfo> {
        self.check_writable()?;
        let config = self.config();
        let incoming = validate(batches, &config, true, &self.name)?;
        let (info, sync_now) = self.append_validated(batches, &incoming, &config, None)?;
        if sync_now {
            self.sync_to(info.last_offset + 1)?;
        }
        Ok(info)
    }

    /// Appends batches that a [`crate::record::BatchBuilder`] in this process just built (so
    /// their CRCs are not checked again), without syncing: the answer says whether the topic's
    /// durability needs a [`Log::sync_to`] before the append counts as done.
    pub(crate) fn append_built(&self, batches: &[u8]) -> Result<(AppendInfo, bool)> {
        self.check_writable()?;
        let config = self.config();
        let incoming = validate(batches, &config, false, &self.name)?;
        self.append_validated(batches, &incoming, &config, None)
    }

    /// Appends validated batches; with `expected_end`, only if the log end offset is that
    /// (checked under the writer's lock, so no other append can come in between).
    pub(super) fn append_validated(
        &self,
        batches: &[u8],
        incoming: &[Incoming],
        config: &TopicConfig,
        expected_end: Option<i64>,
    ) -> Result<(AppendInfo, bool)> {
        let total_bytes: usize = incoming.iter().map(|b| b.size).sum();
        let total_offsets: i64 = incoming.iter().map(|b| b.offsets).sum();
        let incoming_max_ts = incoming.iter().map(|b| b.max_timestamp).max().unwrap_or(-1);
        let now = self.clock.now_ms();
        let log_append_time =
            (config.message_timestamp_type == TimestampType::LogAppendTime).then_some(now);

        let mut writer = self.writer.lock();
        self.check_writable()?;
        if let Some(expected) = expected_end.filter(|&e| e != writer.next_offset) {
            return Err(Error::UnexpectedLogEndOffset {
                partition: self.name.clone(),
                expected,
                actual: writer.next_offset,
            });
        }
        let producers = placed(incoming, writer.next_offset);
        if let Checked::Duplicate(original) = self.check_producers(&writer, &producers)? {
            return Ok(self.duplicate(original, config));
        }
        if self.should_roll(
            &mut writer,
            total_bytes as u64,
            incoming_max_ts,
            total_offsets,
            config,
            now,
        )? {
            self.roll_locked(&mut writer, config, now)?;
        }
        let first_offset = writer.next_offset;
        let (headers, next) = stamped_headers(batches, incoming, first_offset, log_append_time);
        let bufs = write_slices(batches, incoming, &headers);
        let active = Arc::clone(&writer.active);
        // Load the index before writing: once the bytes are in, nothing may fail before the
        // offsets are published, or the next append would reuse them.
        drop(active.index(config.index_interval_bytes)?);
        let zero_ahead = super::segment::zero_ahead_bytes(
            total_bytes,
            config.syncs_appends() || self.synced_outside_config.load(Ordering::Relaxed),
        );
        // A failed write publishes nothing and the next append overwrites the same bytes, so
        // unlike a failed sync it does not fail the partition (ENOSPC may clear).
        let position = active.log().append(&bufs, zero_ahead)?;
        index_appended(
            &active,
            incoming,
            position,
            first_offset,
            log_append_time,
            config,
        )?;
        if writer.active_first_timestamp.is_none() {
            writer.active_first_timestamp =
                Some(log_append_time.unwrap_or(incoming[0].max_timestamp));
        }
        if !producers.is_empty() {
            let mut completed = Vec::new();
            for facts in &producers {
                let mut facts = *facts;
                facts.max_timestamp = log_append_time.unwrap_or(facts.max_timestamp);
                completed.extend(writer.producers.state.apply(&facts));
            }
            self.complete_transactions(&writer.producers.state, &completed);
        }
        writer.next_offset = next;
        self.end_offset.store(next, Ordering::Release);
        if !self.sync_every_append.load(Ordering::Acquire) {
            self.notify_readers();
        }
        writer.unsynced_messages += total_offsets;
        let sync_now =
            config.sync_every_append() || writer.unsynced_messages >= config.flush_messages;
        let info = AppendInfo {
            first_offset,
            last_offset: next - 1,
            max_timestamp: log_append_time.unwrap_or(incoming_max_ts),
            log_append_time,
            batches: incoming.len(),
            bytes: total_bytes,
            position: Some(position),
        };
        Ok((info, sync_now))
    }

    /// The answer to a duplicate of a batch written before (Kafka's `maybeDuplicate`): its
    /// original offsets and timestamp, nothing written. It counts as done once the original
    /// is, hence a sync under `flush.messages=1`.
    fn duplicate(
        &self,
        original: super::producer_state::BatchMetadata,
        config: &TopicConfig,
    ) -> (AppendInfo, bool) {
        let log_append_time = (config.message_timestamp_type == TimestampType::LogAppendTime)
            .then_some(original.timestamp);
        let info = AppendInfo {
            first_offset: original.first_offset(),
            last_offset: original.last_offset,
            max_timestamp: original.timestamp,
            log_append_time,
            batches: 0,
            bytes: 0,
            position: None,
        };
        (info, config.sync_every_append())
    }

    fn should_roll(
        &self,
        writer: &mut Writer,
        incoming_bytes: u64,
        incoming_max_ts: i64,
        incoming_offsets: i64,
        config: &TopicConfig,
        now: i64,
    ) -> Result<bool> {
        let active = &writer.active;
        let size = active.size();
        let room = config.segment_bytes.min(active.capacity() as u64);
        if size == 0 {
            // An empty segment is never rolled; one made under a smaller segment.bytes is
            // replaced so that the batch fits.
            if incoming_bytes > active.capacity() as u64 {
                self.replace_empty_active(writer, config, now)?;
            }
            return Ok(false);
        }
        if size + incoming_bytes > room {
            return Ok(true);
        }
        let first_ts = match writer.active_first_timestamp {
            Some(ts) => ts,
            None => {
                let ts = RecordBatch::parse_prefix(active.log().bytes())
                    .map_or(-1, |b| b.max_timestamp());
                writer.active_first_timestamp = Some(ts);
                ts
            }
        };
        let age = if first_ts >= 0 && incoming_max_ts >= 0 {
            incoming_max_ts - first_ts
        } else {
            now - active.created_ms()
        };
        if age > config.segment_ms {
            return Ok(true);
        }
        if writer
            .active
            .index(config.index_interval_bytes)?
            .is_full(config.segment_index_bytes)
        {
            return Ok(true);
        }
        Ok(writer.next_offset + incoming_offsets - 1 - active.base_offset() > i32::MAX as i64)
    }

    fn replace_empty_active(
        &self,
        writer: &mut Writer,
        config: &TopicConfig,
        now: i64,
    ) -> Result<()> {
        let base = writer.active.base_offset();
        writer.active.remove_files()?;
        let segment = Arc::new(Segment::create(
            &self.storage,
            &self.checksums,
            &self.dir,
            base,
            usize::try_from(config.segment_bytes).unwrap_or(usize::MAX),
            now,
        )?);
        self.storage.sync_dir(&self.dir)?;
        let mut segments = self.segments.write();
        let mut list = (**segments).clone();
        if let Some(last) = list.last_mut() {
            *last = Arc::clone(&segment);
        }
        *segments = Arc::new(list);
        writer.active = segment;
        Ok(())
    }

    /// Starts a new segment now (if the active one holds any data).
    pub fn roll(&self) -> Result<()> {
        self.check_writable()?;
        let config = self.config();
        let mut writer = self.writer.lock();
        if writer.active.size() > 0 {
            self.roll_locked(&mut writer, &config, self.clock.now_ms())?;
        }
        Ok(())
    }

    pub(super) fn roll_locked(
        &self,
        writer: &mut Writer,
        config: &TopicConfig,
        now: i64,
    ) -> Result<()> {
        let old = Arc::clone(&writer.active);
        // Its aborted transactions first, durably: the snapshot after it may spare the next
        // open a replay of this segment, and then only the file knows them.
        self.write_txn_index(old.base_offset(), writer.next_offset)?;
        // The producer state at the new segment's base, as Kafka takes it on roll.
        self.take_snapshot(writer, false)?;
        old.index_mut(config.index_interval_bytes)?
            .seal(old.base_offset());
        old.log().trim()?;
        old.write_index_files()?;
        let capacity = usize::try_from(config.segment_bytes).unwrap_or(usize::MAX);
        let segment = Arc::new(Segment::create(
            &self.storage,
            &self.checksums,
            &self.dir,
            writer.next_offset,
            capacity,
            now,
        )?);
        self.storage.sync_dir(&self.dir)?;
        let mut segments = self.segments.write();
        let mut list = (**segments).clone();
        list.push(Arc::clone(&segment));
        *segments = Arc::new(list);
        drop(segments);
        writer.rolled_unsynced.push(old);
        writer.active = segment;
        writer.active_first_timestamp = None;
        Ok(())
    }

    /// Syncs everything appended so far (one `fdatasync` per dirty segment).
    pub fn sync(&self) -> Result<()> {
        self.sync_to(self.log_end_offset())
    }

    /// Group commit: returns once every offset below `target` is durable. Concurrent callers
    /// queue on one lock; whoever holds it syncs everything appended so far, so one
    /// `fdatasync` covers many appends.
    pub fn sync_to(&self, target: i64) -> Result<()> {
        if self.durable_offset() >= target {
            return Ok(());
        }
        let _sync = self.sync_lock.lock();
        if self.durable_offset() >= target {
            return Ok(());
        }
        if let Some(failed) = self.failure.lock().clone() {
            return Err(failed);
        }
        let (end, rolled, active) = {
            let writer = self.writer.lock();
            (
                writer.next_offset,
                writer.rolled_unsynced.clone(),
                Arc::clone(&writer.active),
            )
        };
        // Not a sync of rolled segments only (the background one after a roll asks for the
        // active segment's base).
        if target > active.base_offset() && !self.config().syncs_appends() {
            self.synced_outside_config.store(true, Ordering::Relaxed);
        }
        for segment in &rolled {
            segment
                .log()
                .sync()
                .and_then(|_| segment.sync_index_files())
                .map_err(|e| self.fail(e))?;
        }
        active.log().sync().map_err(|e| self.fail(e))?;
        {
            let mut writer = self.writer.lock();
            writer
                .rolled_unsynced
                .retain(|s| !rolled.iter().any(|r| Arc::ptr_eq(r, s)));
            writer.unsynced_messages = (writer.next_offset - end).max(0);
            writer.last_sync_ms = self.clock.now_ms();
        }
        self.durable.fetch_max(end, Ordering::AcqRel);
        if self.sync_every_append.load(Ordering::Acquire) {
            self.notify_readers();
        }
        Ok(())
    }

    /// Interval durability: syncs when `flush.ms` has passed since the last sync with data
    /// waiting, and syncs segments rolled since the last sync (Kafka flushes them after a roll).
    /// Called by the cluster's background thread.
    pub fn sync_if_due(&self) -> Result<bool> {
        if self.closed.load(Ordering::Acquire) || self.is_failed() {
            return Ok(false);
        }
        let config = self.config();
        let (due, rolled) = {
            let writer = self.writer.lock();
            let waiting = writer.next_offset > self.durable_offset();
            let age = self.clock.now_ms().saturating_sub(writer.last_sync_ms);
            (
                waiting && age >= config.flush_ms,
                !writer.rolled_unsynced.is_empty(),
            )
        };
        if due {
            self.sync()?;
        } else if rolled {
            let target = self.writer.lock().active.base_offset();
            self.sync_to(target)?;
        }
        Ok(due || rolled)
    }

    /// Clean close: trims the active segment, writes its indexes and syncs everything.
    pub fn close(&self) -> Result<()> {
        // A cleaning must not write into the directory once its locks go.
        self.stop_cleaning();
        let closed = self.close_files();
        self.locks.lock().clear();
        closed
    }

    fn close_files(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if self.is_failed() {
            return Ok(());
        }
        let interval = self.config().index_interval_bytes;
        let mut writer = self.writer.lock();
        let active = Arc::clone(&writer.active);
        active.index_mut(interval)?.seal(active.base_offset());
        active.log().trim()?;
        active.write_index_files()?;
        for segment in writer
            .rolled_unsynced
            .iter()
            .chain(std::iter::once(&active))
        {
            segment.log().sync()?;
            segment.sync_index_files()?;
        }
        self.durable.fetch_max(writer.next_offset, Ordering::AcqRel);
        // After the data (a full disk here leaves it synced): the active segment's aborted
        // transactions, then the producer state at the end, both durable.
        self.write_txn_index(active.base_offset(), writer.next_offset)?;
        self.take_snapshot(&mut writer, true)
    }

    /// Whether the log was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops a cleaning of this log at its next segment, and every later one, with
    /// [`Error::Closed`] (Kafka's `abortCleaning`): a closing cluster does not wait for a
    /// cleaning to finish. What the stopped cleaning wrote is removed; the log is unchanged.
    pub(crate) fn abort_cleaning(&self) {
        self.cleaning_aborted.store(true, Ordering::Release);
    }

    /// Aborts this log's cleaning ([`Log::abort_cleaning`]) and waits until a running one has
    /// stopped: its directory may then be renamed or removed.
    pub(crate) fn stop_cleaning(&self) {
        self.abort_cleaning();
        drop(self.cleaning.lock());
    }

    /// Whether a cleaning must stop now: the log was closed or its cleaning aborted.
    pub(crate) fn cleaning_stopped(&self) -> bool {
        self.is_closed() || self.cleaning_aborted.load(Ordering::Acquire)
    }
}
