//! One segment: a `.log` of record batches with its `.index` and `.timeindex`, named by the
//! base offset in 20 digits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{
    MappedRwLockReadGuard, MappedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use super::index::{OffsetEntry, SegmentIndex};
use super::index_checksums::IndexChecksums;
use super::scan::SegmentScan;
use crate::error::{Error, Result};
use crate::record::{BatchError, RecordBatch};
use crate::storage::{AppendFile, FileSlice, OpenMode, Storage};

/// Suffix of a segment's data file.
pub const LOG_SUFFIX: &str = ".log";
/// Suffix of the offset index.
pub const INDEX_SUFFIX: &str = ".index";
/// Suffix of the time index.
pub const TIME_INDEX_SUFFIX: &str = ".timeindex";
/// Preallocation step ahead of the writer.
const ALLOCATION_STEP_BYTES: u64 = 16 * 1024 * 1024;
/// How far ahead of the writer a segment of a topic that is not synced while written has
/// its pages made, with zeros (`AppendFile::append`), after an append smaller than
/// [`ZERO_AHEAD_BELOW_BYTES`]: appends of a few KiB, as transactional and `linger.ms=0`
/// batches are, then take about half the kernel time (`StorageFile::zero_ahead` has the
/// figures).
pub(super) const ZERO_AHEAD_BYTES: u64 = 128 * 1024;
/// Appends this large or larger gain nothing from zeros ahead (a new page costs little
/// against the bytes copied), and would pay for the zeros on top.
pub(super) const ZERO_AHEAD_BELOW_BYTES: usize = 8 * 1024;

/// How many bytes of zeros to make ahead after an append of `append_bytes` to a log:
/// none for a log that is synced while written (each sync would write the zeros to disk)
/// or after a large append.
pub(super) fn zero_ahead_bytes(append_bytes: usize, synced_while_written: bool) -> u64 {
    if synced_while_written || append_bytes >= ZERO_AHEAD_BELOW_BYTES {
        0
    } else {
        ZERO_AHEAD_BYTES
    }
}

/// `00000000000000000042` for base offset 42.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// Every file a segment has.
pub const SEGMENT_SUFFIXES: [&str; 4] = [
    LOG_SUFFIX,
    INDEX_SUFFIX,
    TIME_INDEX_SUFFIX,
    super::transactions::TXN_INDEX_SUFFIX,
];

/// The path of segment `base_offset`'s file with `suffix` in `dir`.
pub fn segment_path(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{}{suffix}", file_stem(base_offset)))
}

/// Removes segment `base_offset`'s files that exist (the caller syncs the directory).
pub fn remove_segment_files(storage: &dyn Storage, dir: &Path, base_offset: i64) -> Result<()> {
    for suffix in SEGMENT_SUFFIXES {
        let path = segment_path(dir, base_offset, suffix);
        if storage.exists(&path) {
            storage.remove_file(&path)?;
        }
    }
    Ok(())
}

/// The base offset a segment file's stem names (`00000000000000000042` → 42), if it is 20
/// digits.
pub fn segment_base_offset(stem: &str) -> Option<i64> {
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

#[derive(Debug)]
enum IndexState {
    Unloaded,
    Loaded(SegmentIndex),
}

/// A segment of a partition log.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    dir: PathBuf,
    log: Arc<AppendFile>,
    index: RwLock<IndexState>,
    storage: Arc<dyn Storage>,
    checksums: Arc<IndexChecksums>,
    created_ms: i64,
    /// Replaced by a cleaning: the index files at this segment's paths are no longer its
    /// own. Set and read under the `index` lock.
    retired: AtomicBool,
}

impl Segment {
    /// Creates an empty segment's files (the caller syncs the directory).
    pub fn create(
        storage: &Arc<dyn Storage>,
        checksums: &Arc<IndexChecksums>,
        dir: &Path,
        base_offset: i64,
        capacity_bytes: usize,
        now_ms: i64,
    ) -> Result<Segment> {
        let file = storage.open(
            &segment_path(dir, base_offset, LOG_SUFFIX),
            OpenMode::Create,
        )?;
        file.set_len(0)?;
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            storage
                .open(&segment_path(dir, base_offset, suffix), OpenMode::Create)?
                .set_len(0)?;
        }
        let log = AppendFile::new(file, capacity_bytes, ALLOCATION_STEP_BYTES)?;
        Ok(Segment::from_parts(
            storage,
            checksums,
            dir,
            base_offset,
            log,
            IndexState::Loaded(SegmentIndex::new()),
            now_ms,
        ))
    }

    /// Opens an existing segment's `.log`, without reading it (indexes load on first use).
    pub fn open_file(
        storage: &Arc<dyn Storage>,
        dir: &Path,
        base_offset: i64,
        capacity_bytes: usize,
    ) -> Result<AppendFile> {
        let file = storage.open(
            &segment_path(dir, base_offset, LOG_SUFFIX),
            OpenMode::Existing,
        )?;
        AppendFile::new(file, capacity_bytes, ALLOCATION_STEP_BYTES)
    }

    /// Wraps an opened `.log`; `index` is `None` to load it lazily from the index files.
    pub fn from_file(
        storage: &Arc<dyn Storage>,
        checksums: &Arc<IndexChecksums>,
        dir: &Path,
        base_offset: i64,
        log: AppendFile,
        index: Option<SegmentIndex>,
        now_ms: i64,
    ) -> Segment {
        let state = index.map_or(IndexState::Unloaded, IndexState::Loaded);
        Segment::from_parts(storage, checksums, dir, base_offset, log, state, now_ms)
    }

    fn from_parts(
        storage: &Arc<dyn Storage>,
        checksums: &Arc<IndexChecksums>,
        dir: &Path,
        base_offset: i64,
        log: AppendFile,
        index: IndexState,
        created_ms: i64,
    ) -> Segment {
        Segment {
            base_offset,
            dir: dir.to_path_buf(),
            log: Arc::new(log),
            index: RwLock::new(index),
            storage: Arc::clone(storage),
            checksums: Arc::clone(checksums),
            created_ms,
            retired: AtomicBool::new(false),
        }
    }

    /// Marks the segment replaced, before a cleaning swaps its files out: from then on it
    /// neither reads, writes nor syncs files at its paths, which soon belong to the new
    /// segment (a reader still holding it keeps its bytes and builds its index in memory).
    /// Waits for an index load or write in flight.
    pub(crate) fn retire(&self) {
        let _index = self.index.write();
        self.retired.store(true, Ordering::Release);
    }

    fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    /// Offset of the segment's first record.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// Published size of the `.log` in bytes.
    pub fn size(&self) -> u64 {
        self.log.len() as u64
    }
    /// Most bytes this segment's `.log` can hold.
    pub fn capacity(&self) -> usize {
        self.log.capacity()
    }
    /// When this segment was created or opened (clock time).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }
    /// The `.log` file.
    pub fn log(&self) -> &Arc<AppendFile> {
        &self.log
    }
    /// Path of the `.log` file.
    pub fn log_path(&self) -> PathBuf {
        self.path(LOG_SUFFIX)
    }
    fn path(&self, suffix: &str) -> PathBuf {
        segment_path(&self.dir, self.base_offset, suffix)
    }

    /// The published bytes `[from, to)` as a zero-copy slice.
    pub fn slice(&self, from: usize, to: usize) -> Option<FileSlice> {
        self.log.slice(from..to)
    }

    /// The indexes, loading (or rebuilding) them on first use.
    pub fn index(&self, interval_bytes: u64) -> Result<MappedRwLockReadGuard<'_, SegmentIndex>> {
        self.ensure_index(interval_bytes)?;
        let guard = self.index.read();
        Ok(RwLockReadGuard::map(guard, |state| match state {
            IndexState::Loaded(index) => index,
            IndexState::Unloaded => unreachable!("ensure_index loaded the index"),
        }))
    }

    /// The indexes for updating, loading them on first use.
    pub fn index_mut(
        &self,
        interval_bytes: u64,
    ) -> Result<MappedRwLockWriteGuard<'_, SegmentIndex>> {
        self.ensure_index(interval_bytes)?;
        let guard = self.index.write();
        Ok(RwLockWriteGuard::map(guard, |state| match state {
            IndexState::Loaded(index) => index,
            IndexState::Unloaded => unreachable!("ensure_index loaded the index"),
        }))
    }

    fn ensure_index(&self, interval_bytes: u64) -> Result<()> {
        if matches!(*self.index.read(), IndexState::Loaded(_)) {
            return Ok(());
        }
        let mut state = self.index.write();
        if matches!(*state, IndexState::Unloaded) && self.is_retired() {
            *state = IndexState::Loaded(self.rebuild_index(interval_bytes)?);
        } else if matches!(*state, IndexState::Unloaded) {
            let index = match self.read_index_files() {
                Ok(index) => index,
                Err(why) => {
                    let rebuilt = self.rebuild_index(interval_bytes)?;
                    // Derived data: a read goes on with the index in memory even if it cannot
                    // be written back (a full disk); the next load rebuilds it again.
                    let written = self.write_index(&rebuilt);
                    tracing::warn!(
                        target: "kafkalite::recovery",
                        "{}: index rebuilt from the log at first use ({why}){}",
                        self.path(LOG_SUFFIX).display(),
                        match &written {
                            Ok(()) => String::new(),
                            Err(error) => format!("; could not write it back: {error}"),
                        }
                    );
                    rebuilt
                }
            };
            *state = IndexState::Loaded(index);
        }
        Ok(())
    }

    fn read_index_files(&self) -> std::result::Result<SegmentIndex, String> {
        let read = |suffix| {
            self.storage
                .read_file(&self.path(suffix))
                .map_err(|e| e.to_string())
        };
        let offsets = read(INDEX_SUFFIX)?;
        let times = read(TIME_INDEX_SUFFIX)?;
        if self.checksums.get(self.base_offset) != Some(IndexChecksums::compute(&offsets, &times)) {
            return Err("index checksum is missing or does not match".into());
        }
        let index =
            SegmentIndex::decode(&offsets, &times, self.base_offset, self.size(), u32::MAX)?;
        if self.size() > 0 && index.times.is_empty() {
            return Err("time index has no final entry".into());
        }
        // An entry must point at a batch ending at its offset; check the last one cheaply.
        if let Some(entry) = index.offsets.last() {
            let at = &self.log.bytes()[entry.position as usize..];
            let batch = RecordBatch::parse_prefix(at).map_err(|e| e.to_string())?;
            if batch.last_offset() != self.base_offset + entry.relative_offset as i64 {
                return Err("offset index entry does not match the batch at its position".into());
            }
        }
        Ok(index)
    }

    /// Rebuilds the indexes by scanning the `.log` (framing and CRC checked).
    pub fn rebuild_index(&self, interval_bytes: u64) -> Result<SegmentIndex> {
        let mut index = SegmentIndex::new();
        // The index is built from the offsets the batches claim, so the scan checks them:
        // strictly, as no code leaves gaps between batches (see `log::scan`).
        let start = OffsetEntry {
            relative_offset: 0,
            position: 0,
        };
        for item in SegmentScan::new(self, start)? {
            let (position, batch) = item?;
            batch
                .verify_crc()
                .map_err(|e| self.corruption(position, &e))?;
            index.on_append(
                self.base_offset,
                batch.last_offset(),
                batch.max_timestamp(),
                position as u64,
                batch.size() as u64,
                interval_bytes,
            );
        }
        index.seal(self.base_offset);
        Ok(index)
    }

    fn corruption(&self, position: usize, error: &BatchError) -> Error {
        Error::corruption(self.log_path(), position as u64, error.to_string())
    }

    /// Writes the in-memory indexes to their files (on roll, close, or after a rebuild).
    pub fn write_index_files(&self) -> Result<()> {
        match &*self.index.read() {
            _ if self.is_retired() => Ok(()),
            IndexState::Loaded(index) => self.write_index(index),
            IndexState::Unloaded => Ok(()),
        }
    }

    fn write_index(&self, index: &SegmentIndex) -> Result<()> {
        for (suffix, bytes) in [
            (INDEX_SUFFIX, index.encode_offsets()),
            (TIME_INDEX_SUFFIX, index.encode_times()),
        ] {
            let file = self.storage.open(&self.path(suffix), OpenMode::Create)?;
            file.set_len(bytes.len() as u64)?;
            file.write_at(&[&bytes], 0)?;
        }
        let crc = IndexChecksums::compute(&index.encode_offsets(), &index.encode_times());
        self.checksums.set(self.base_offset, crc)
    }

    /// Syncs the index files (their data only matters once the segment is sealed).
    pub fn sync_index_files(&self) -> Result<()> {
        let _index = self.index.read();
        if self.is_retired() {
            return Ok(());
        }
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            self.storage
                .open(&self.path(suffix), OpenMode::Create)?
                .sync_data()?;
        }
        Ok(())
    }

    /// The checked batches from the index entry at or below `offset` on (see
    /// [`SegmentScan`]).
    pub fn scan(&self, offset: i64, interval_bytes: u64) -> Result<SegmentScan<'_>> {
        let relative = u32::try_from((offset - self.base_offset).max(0)).unwrap_or(u32::MAX);
        let entry = self.index(interval_bytes)?.lookup(relative);
        SegmentScan::new(self, entry)
    }

    /// The checked batches from the first on (see [`SegmentScan`]).
    pub fn scan_all(&self) -> Result<SegmentScan<'_>> {
        SegmentScan::new(
            self,
            OffsetEntry {
                relative_offset: 0,
                position: 0,
            },
        )
    }

    /// The checked batches from an index entry on (see [`SegmentScan`]).
    /// The offset index's last entry, from the loaded index or else read straight from the
    /// end of the `.index` file (which holds whole entries, written at close), without
    /// loading or checking the index: a hint, which the caller must verify by scanning from
    /// it. `None` if the file is missing or not whole entries.
    pub fn last_index_entry_hint(&self) -> Option<OffsetEntry> {
        if let IndexState::Loaded(index) = &*self.index.read() {
            return Some(index.lookup(u32::MAX));
        }
        let file = self
            .storage
            .open(&self.path(INDEX_SUFFIX), OpenMode::Existing)
            .ok()?;
        let len = file.len().ok()?;
        if len % 8 != 0 {
            return None;
        }
        let Some(at) = len.checked_sub(8) else {
            return Some(OffsetEntry {
                relative_offset: 0,
                position: 0,
            });
        };
        let mut entry = [0u8; 8];
        file.read_at(&mut entry, at).ok()?;
        let [r0, r1, r2, r3, p0, p1, p2, p3] = entry;
        Some(OffsetEntry {
            relative_offset: u32::from_be_bytes([r0, r1, r2, r3]),
            position: u32::from_be_bytes([p0, p1, p2, p3]),
        })
    }

    pub fn scan_from(&self, entry: OffsetEntry) -> Result<SegmentScan<'_>> {
        SegmentScan::new(self, entry)
    }

    /// Removes the segment's files (the caller syncs the directory). Readers that still hold
    /// slices keep the mapped bytes.
    pub fn remove_files(&self) -> Result<()> {
        remove_segment_files(&*self.storage, &self.dir, self.base_offset)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{zero_ahead_bytes, ZERO_AHEAD_BYTES};
    use crate::config::TopicConfig;
    use crate::record::BatchBuilder;
    use crate::storage::SimStorage;

    #[test]
    fn zeros_ahead_only_after_small_appends_to_logs_never_synced_while_written() {
        assert_eq!(zero_ahead_bytes(4400, false), ZERO_AHEAD_BYTES);
        assert_eq!(zero_ahead_bytes(4400, true), 0);
        assert_eq!(zero_ahead_bytes(16 * 1024, false), 0);
    }

    /// A sync of the active segment's data marks the log synced while written (its next
    /// appends make no zeros that the next sync would write); the background sync of
    /// segments rolled away does not.
    #[test]
    fn a_sync_of_the_active_segment_stops_the_zeros() {
        let sim = SimStorage::new(Path::new("/sim"));
        let (log, _) = crate::log::test_log::open(&sim, TopicConfig::default(), None).unwrap();
        let append = || {
            let mut batch = BatchBuilder::new();
            batch.append(1_000, None, Some(b"v"), &[]).unwrap();
            log.append(&batch.build().unwrap()).unwrap();
        };
        let synced = || {
            log.synced_outside_config
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        append();
        log.roll().unwrap();
        append();
        assert!(log.sync_if_due().unwrap(), "the rolled segment is synced");
        assert!(!synced(), "a sync of rolled segments only");
        append();
        log.sync().unwrap();
        assert!(synced());
    }
}
