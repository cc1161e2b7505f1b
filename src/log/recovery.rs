//! Opening a partition log: load segments, trust what is below the recovery point, validate
//! every batch after it, truncate a torn tail, rebuild indexes, report corruption.
//!
//! Two rules make "below the recovery point" mean "durable" even after failed syncs:
//! - The segment holding the last record below the recovery point is validated too, not only
//!   the one holding the recovery point itself. When the recovery point is exactly a rolled
//!   segment's end, that segment's records were synced but its trim (cutting preallocated
//!   space) may not have been: a power cut can bring the zeros back.
//! - Bytes after the recovery point are written again before they are synced. A sync that
//!   failed may have dropped its pages while the page cache still shows them (Linux marks
//!   them clean), and a later sync would then write nothing (PostgreSQL's "fsyncgate").
//!
//! [`RecoveryMode::TruncateCorrupt`] trusts nothing: it validates every segment from the
//! oldest, records included, and cuts at the first damage, so that reopening in that mode
//! repairs any damage a read or an open reported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::index::SegmentIndex;
use super::partition::{Log, Writer};
use super::producers::Producers;
pub use super::recovery_report::{Cut, RecoveryReport};
use super::segment::{
    remove_segment_files, segment_base_offset, Segment, LOG_SUFFIX, SEGMENT_SUFFIXES,
};
use super::validate::{all_zeros, check_not_empty, ends_at, scan_segment};
use super::IndexChecksums;
use crate::clock::Clock;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::storage::{AppendFile, Storage};
use crate::sync::{AtomicBool, AtomicI64, Mutex, RwLock};

/// What to do with damage found before the recovery point (data that had been synced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// Truncate only a torn tail after the recovery point; anything else is a
    /// [`Error::Corruption`] naming the file and position. The default.
    #[default]
    TolerateCorruptTail,
    /// Repair: loses data, for when a damaged cluster must be opened anyway; the way out of
    /// every [`Error::Corruption`]. Every segment of every log is validated from the oldest,
    /// whatever the recovery point or a clean shutdown says (framing, CRC, offsets, and that
    /// every record decodes), so the open reads every byte. At the first invalid batch the
    /// log is cut there, as Kafka does with damage it finds; with a
    /// [`LogOptions::salvage_dir`], every later segment is moved there and the damaged one
    /// copied there whole (durably, before it is replaced by its valid part): nothing is
    /// deleted.
    /// A damaged or missing `log-start-offset-checkpoint` starts every log at its oldest
    /// segment, as Kafka does (records `delete_records` removed may come back), and a
    /// partition whose segment files are all gone opens empty at its recovery point (offsets
    /// below it are never reused).
    TruncateCorrupt,
}

/// What the cluster knows about a partition when opening it.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// `topic-partition`, for messages.
    pub name: String,
    /// Offset below which everything was synced, from `recovery-point-offset-checkpoint`.
    pub recovery_point: Option<i64>,
    /// From `log-start-offset-checkpoint`.
    pub log_start_offset: i64,
    /// After a clean shutdown: the active segment's length recorded at close. When the file
    /// still has exactly that length, nothing is scanned; otherwise the log is recovered.
    pub clean_active_size: Option<u64>,
    /// How to treat damage before the recovery point.
    pub recovery_mode: RecoveryMode,
    /// Where a repair ([`RecoveryMode::TruncateCorrupt`]) keeps what it cuts out of the log:
    /// a copy of the damaged segment as it was, and every segment after it (they may hold
    /// intact records). Created only when something goes there; use a new directory for
    /// each repair (files of the same name in it are replaced). `None`: what is cut is
    /// deleted (and reported). A cluster passes a new `<partition>.<id>-salvaged` in its
    /// data directory.
    pub salvage_dir: Option<PathBuf>,
}

/// The lock file a log opened on its own holds in its directory (a cluster's is in the data
/// directory, the partition directory's parent).
pub(crate) const LOCK_FILE: &str = "LOCK";

impl Log {
    /// Opens (or creates) the log in `dir`, on its own (outside a [`crate::Cluster`]),
    /// recovering it if it was not closed cleanly. The log holds `dir/LOCK` for its life, and
    /// when `dir` is a partition of a cluster's data directory (its parent holds
    /// `meta.properties`, or the `LOCK` and checkpoints of an earlier version), that
    /// directory's lock too: a
    /// second handle on the same files fails with [`Error::Locked`] instead of changing them
    /// under the first one's readers.
    pub fn open(
        storage: Arc<dyn Storage>,
        dir: &Path,
        config: Arc<TopicConfig>,
        clock: Arc<dyn Clock>,
        options: LogOptions,
    ) -> Result<(Log, RecoveryReport)> {
        let mut locks = Vec::new();
        if let Some(parent) = dir.parent() {
            // A cluster's data directory, of this version (`meta.properties`) or an earlier
            // one (its `LOCK` beside the recovery-point checkpoint every cluster writes at
            // open; a `LOCK` alone may be another program's): its lock covers this
            // partition too.
            if storage.exists(&parent.join("meta.properties"))
                || (storage.exists(&parent.join(LOCK_FILE))
                    && storage.exists(&parent.join("recovery-point-offset-checkpoint")))
            {
                locks.push(storage.lock(&parent.join(LOCK_FILE))?);
            }
        }
        storage.create_dir_all_durable(dir)?;
        locks.push(storage.lock(&dir.join(LOCK_FILE))?);
        let opened = Log::open_unlocked(storage, dir, config, clock, options)?;
        *opened.0.locks.lock() = locks;
        Ok(opened)
    }

    /// [`Log::open`] without taking locks: for the cluster, which holds its data directory's.
    pub(crate) fn open_unlocked(
        storage: Arc<dyn Storage>,
        dir: &Path,
        config: Arc<TopicConfig>,
        clock: Arc<dyn Clock>,
        options: LogOptions,
    ) -> Result<(Log, RecoveryReport)> {
        storage.create_dir_all_durable(dir)?;
        let now = clock.now_ms();
        let checksums = Arc::new(IndexChecksums::new(Arc::clone(&storage), dir));
        let mut report = RecoveryReport::default();
        super::cleaner::finish_interrupted(&*storage, dir, &mut report)?;
        let bases = list_segments(&*storage, dir, &mut report)?;
        let loader = Loader {
            storage: &storage,
            checksums: &checksums,
            dir,
            config: &config,
            options: &options,
            now,
        };
        let (segments, end) = if bases.is_empty() {
            loader.start_empty()?
        } else {
            loader.load(&bases, &mut report)?
        };
        loader.check_log_start(&segments)?;
        let active = Arc::clone(segments.last().expect("a log has at least one segment"));
        let log_start = options
            .log_start_offset
            .max(segments[0].base_offset())
            .min(end);
        let log = Log {
            name: options.name,
            dir: dir.to_path_buf(),
            storage,
            checksums,
            clock,
            sync_every_append: AtomicBool::new(config.sync_every_append()),
            synced_outside_config: AtomicBool::new(false),
            config: RwLock::new(config),
            segments: RwLock::new(Arc::new(segments)),
            writer: Mutex::new(Writer {
                active,
                next_offset: end,
                active_first_timestamp: None,
                unsynced_messages: 0,
                last_sync_ms: now,
                rolled_unsynced: Vec::new(),
                producers: Producers::default(),
            }),
            end_offset: AtomicI64::new(end),
            log_start: AtomicI64::new(log_start),
            durable: AtomicI64::new(end),
            sync_lock: Mutex::new(()),
            failure: Mutex::new(None),
            closed: AtomicBool::new(false),
            notifier: std::sync::OnceLock::new(),
            locks: Mutex::new(Vec::new()),
            cleaning: Mutex::new(()),
            cleaning_aborted: AtomicBool::new(false),
            aborted: RwLock::new(Vec::new()),
            first_unstable: AtomicI64::new(i64::MAX),
            unreplicated: Mutex::new(Vec::new()),
            unreplicated_first: AtomicI64::new(i64::MAX),
        };
        let producers = super::producers::load(&log, report.clean_shutdown, &mut report)?;
        log.writer.lock().producers = producers;
        Ok((log, report))
    }
}

type Loaded = (Vec<Arc<Segment>>, i64);

/// What loading one partition's existing segments needs.
struct Loader<'a> {
    storage: &'a Arc<dyn Storage>,
    checksums: &'a Arc<IndexChecksums>,
    dir: &'a Path,
    config: &'a TopicConfig,
    options: &'a LogOptions,
    now: i64,
}

impl Loader<'_> {
    /// A partition without segment files: a new one, or (repairing) one whose files are gone.
    fn start_empty(&self) -> Result<Loaded> {
        let options = self.options;
        let lost = options
            .recovery_point
            .filter(|&rp| rp > options.log_start_offset);
        if let Some(rp) = lost {
            if options.recovery_mode == RecoveryMode::TolerateCorruptTail {
                return Err(Error::corruption(self.dir, 0, format!(
                    "the partition has no segment files, yet its recovery point says offsets below {rp} were synced"
                )));
            }
        }
        // Repairing a partition whose files are gone: it restarts at the recovery point, so
        // no offset a reader may have seen is given to another record.
        let base = lost.unwrap_or(options.log_start_offset);
        let first = Segment::create(
            self.storage,
            self.checksums,
            self.dir,
            base,
            usize::try_from(self.config.segment_bytes).unwrap_or(usize::MAX),
            self.now,
        )?;
        self.storage.sync_dir(self.dir)?;
        Ok((vec![Arc::new(first)], base))
    }

    /// Retention persists a raised start before it removes files (see `log::retention`), so
    /// nothing but damage leaves the start below the oldest segment.
    fn check_log_start(&self, segments: &[Arc<Segment>]) -> Result<()> {
        let start = self.options.log_start_offset;
        let oldest = segments[0].base_offset();
        if start < oldest && self.options.recovery_mode == RecoveryMode::TolerateCorruptTail {
            return Err(Error::corruption(segments[0].log_path(), 0, format!(
                "the log start offset is {start}, but the oldest segment starts at {oldest}: segment files holding offsets {start}..{oldest} are missing"
            )));
        }
        Ok(())
    }

    fn load(&self, bases: &[i64], report: &mut RecoveryReport) -> Result<Loaded> {
        let last = bases.len() - 1;
        let files = self.open_files(bases)?;
        let clean = self.options.clean_active_size == Some(files[last].len() as u64);
        let repair = self.options.recovery_mode == RecoveryMode::TruncateCorrupt;
        let trusted_end = self
            .options
            .recovery_point
            .filter(|&rp| clean && !repair && rp >= bases[last]);
        let Some(end) = trusted_end else {
            return self.recover(bases, files, report);
        };
        check_not_empty(&files[..last], bases)?;
        let segments: Vec<Arc<Segment>> = files
            .into_iter()
            .zip(bases)
            .map(|(file, &base)| Arc::new(self.segment(base, file, None)))
            .collect();
        // The end offset comes from the checkpoint; the active segment's last batches (from
        // its last index entry) must end there too, or the shutdown record is wrong and the
        // log is recovered instead. Bounded work: one index interval and a batch.
        if ends_at(&segments[last], end, self.config.index_interval_bytes) {
            report.clean_shutdown = true;
            return Ok((segments, end));
        }
        drop(segments);
        self.recover(bases, self.open_files(bases)?, report)
    }

    /// Every segment's `.log`; only the last (active) one has room to grow.
    fn open_files(&self, bases: &[i64]) -> Result<Vec<AppendFile>> {
        let last = bases.len() - 1;
        let mut files = Vec::with_capacity(bases.len());
        for (i, &base) in bases.iter().enumerate() {
            let capacity = if i == last {
                usize::try_from(self.config.segment_bytes).unwrap_or(usize::MAX)
            } else {
                0
            };
            files.push(Segment::open_file(self.storage, self.dir, base, capacity)?);
        }
        Ok(files)
    }

    fn segment(&self, base: i64, file: AppendFile, index: Option<SegmentIndex>) -> Segment {
        Segment::from_file(
            self.storage,
            self.checksums,
            self.dir,
            base,
            file,
            index,
            self.now,
        )
    }

    /// Validates every batch from the segment holding the recovery point on (see the module
    /// doc), cuts the log at the first invalid one, and sets aside the segments after it.
    fn recover(
        &self,
        bases: &[i64],
        mut files: Vec<AppendFile>,
        report: &mut RecoveryReport,
    ) -> Result<Loaded> {
        let strict = !self.repairing();
        let recovery_point = self
            .options
            .recovery_point
            .unwrap_or(self.options.log_start_offset);
        // The segment holding offset `recovery_point - 1` (see the module doc); a repair
        // trusts no segment.
        let first_unsafe = if strict {
            bases
                .partition_point(|&b| b < recovery_point)
                .saturating_sub(1)
        } else {
            0
        };
        check_not_empty(&files[..first_unsafe], bases)?;
        let mut walk = self.walk(bases, &files, first_unsafe, recovery_point, report)?;
        if walk.end < recovery_point && strict {
            let file = &files[walk.keep - 1];
            return Err(Error::corruption(file.path(), file.len() as u64, format!(
                "the log ends at offset {}, below the recovery point {recovery_point}: synced data is missing",
                walk.end
            )));
        }
        // Later segments first: a crash in between leaves the damaged segment whole and
        // last, so the next open finds the damage again and no gap follows a shortened one.
        let invalid = walk.invalid.take();
        self.set_aside(&bases[walk.keep..], files.split_off(walk.keep), report)?;
        if let Some((i, position, why)) = invalid {
            self.cut(&mut files[i], bases[i], position, why, walk.end, report)?;
        }
        let last = walk.keep - 1;
        self.make_active(&mut files[last], bases[last])?;
        self.seal(bases, files, walk, first_unsafe, report)
    }

    fn repairing(&self) -> bool {
        self.options.recovery_mode == RecoveryMode::TruncateCorrupt
    }

    /// Walks the segments from `first` on until the first invalid batch, or a segment that
    /// does not start where the one before ended.
    fn walk(
        &self,
        bases: &[i64],
        files: &[AppendFile],
        first: usize,
        recovery_point: i64,
        report: &mut RecoveryReport,
    ) -> Result<Walk> {
        let strict = !self.repairing();
        let mut walk = Walk {
            keep: bases.len(),
            end: bases[first],
            indexes: (0..bases.len()).map(|_| None).collect(),
            unsynced_from: vec![None; bases.len()],
            invalid: None,
        };
        for i in first..bases.len() {
            if i > first && bases[i] != walk.end {
                // The previous segment lost its tail (it was never synced), so this one
                // follows data that never became durable: drop it and every later one.
                walk.keep = i;
                break;
            }
            let scan = scan_segment(
                &files[i],
                bases[i],
                walk.end,
                recovery_point,
                self.config,
                !strict,
            );
            report.batches_checked += scan.batches;
            walk.end = scan.next_offset;
            walk.indexes[i] = Some(scan.index);
            walk.unsynced_from[i] = scan.unsynced_from;
            if let Some((position, why)) = scan.invalid {
                if walk.end < recovery_point && strict {
                    return Err(Error::corruption(files[i].path(), position as u64, format!(
                        "{why}; offset {} is below the recovery point {recovery_point}, so this data had been synced",
                        walk.end
                    )));
                }
                walk.invalid = Some((i, position, why));
                walk.keep = i + 1;
                break;
            }
        }
        Ok(walk)
    }

    /// Cuts `file` (segment `base`) at `position`, the first invalid batch, where offset
    /// `end` begins.
    ///
    /// Preallocated zeros and a torn tail are cut in place: no handle ever published those
    /// bytes (an `AppendFile` publishes a batch only once it is wholly written). A repair's
    /// checks can reject a batch an earlier handle published, whose readers may still map
    /// it, so a repair never shrinks the file: it copies it whole to the salvage directory,
    /// writes the bytes it keeps to a new file and renames that over the old one, whose
    /// mapped pages stay valid (see the safety model in `storage`).
    fn cut(
        &self,
        file: &mut AppendFile,
        base: i64,
        position: usize,
        reason: String,
        end: i64,
        report: &mut RecoveryReport,
    ) -> Result<()> {
        let bytes = (file.len() - position) as u64;
        if all_zeros(&file.bytes()[position..]) {
            report.preallocated_bytes += bytes;
            return file.truncate(position as u64);
        }
        report.truncated_bytes += bytes;
        let path = file.path().to_path_buf();
        let mut copied_to = None;
        if !self.repairing() {
            file.truncate(position as u64)?;
        } else {
            if let Some(to) = self.salvage_dir(report)? {
                let copy = to.join(path.file_name().unwrap_or_default());
                // Whole, preallocated zeros included: where the last batch ends cannot be
                // told from damaged bytes, and a record may end in zero bytes.
                self.storage.replace_file(&copy, file.bytes(), true)?;
                copied_to = Some(copy);
            }
            self.storage
                .replace_file(&path, &file.bytes()[..position], true)?;
            *file = Segment::open_file(self.storage, self.dir, base, self.active_capacity())?;
        }
        report.cut = Some(Cut {
            file: path,
            position: position as u64,
            first_offset: end,
            reason,
            copied_to,
        });
        Ok(())
    }

    /// Segments after the cut follow data that never became durable: they are deleted,
    /// newest first. A repair moves them to the salvage directory instead: after damage,
    /// they may hold intact records.
    fn set_aside(
        &self,
        bases: &[i64],
        files: Vec<AppendFile>,
        report: &mut RecoveryReport,
    ) -> Result<()> {
        if bases.is_empty() {
            return Ok(());
        }
        let salvage = if self.repairing() {
            self.salvage_dir(report)?
        } else {
            None
        };
        for (file, &base) in files.into_iter().zip(bases).rev() {
            let bytes = file.len() as u64;
            drop(file);
            match &salvage {
                Some(to) => {
                    move_segment_files(&**self.storage, self.dir, to, base)?;
                    report.salvaged_segments += 1;
                    report.salvaged_bytes += bytes;
                }
                None => {
                    remove_segment_files(&**self.storage, self.dir, base)?;
                    report.deleted_segments += 1;
                    report.deleted_bytes += bytes;
                }
            }
        }
        if let Some(to) = &salvage {
            self.storage.sync_dir(to)?;
        }
        self.storage.sync_dir(self.dir)
    }

    /// The salvage directory, created (durably) on first use and named in the report.
    fn salvage_dir(&self, report: &mut RecoveryReport) -> Result<Option<PathBuf>> {
        let Some(to) = &self.options.salvage_dir else {
            return Ok(None);
        };
        if report.salvaged_to.is_none() {
            self.storage.create_dir_all_durable(to)?;
            report.salvaged_to = Some(to.clone());
        }
        Ok(Some(to.clone()))
    }

    fn active_capacity(&self) -> usize {
        usize::try_from(self.config.segment_bytes).unwrap_or(usize::MAX)
    }

    /// Reopens `file` with room to grow if it was opened as a sealed segment: the last
    /// segment kept is the active one now.
    fn make_active(&self, file: &mut AppendFile, base: i64) -> Result<()> {
        if file.capacity() < self.active_capacity().max(file.len()) {
            *file = Segment::open_file(self.storage, self.dir, base, self.active_capacity())?;
        }
        Ok(())
    }

    /// Makes the recovered segments durable, seals the indexes of all but the last and
    /// writes the rebuilt ones.
    fn seal(
        &self,
        bases: &[i64],
        files: Vec<AppendFile>,
        mut walk: Walk,
        first_unsafe: usize,
        report: &mut RecoveryReport,
    ) -> Result<Loaded> {
        let last = files.len() - 1;
        let mut segments = Vec::with_capacity(files.len());
        for (i, file) in files.into_iter().enumerate() {
            if i >= first_unsafe {
                // Recovered bytes may exist only in the page cache: make them durable now so
                // that the whole log is below the new recovery point, writing them again
                // first in case a failed sync left them clean but not on disk.
                if let Some(from) = walk.unsynced_from[i] {
                    file.rewrite_from(from)?;
                }
                file.sync()?;
            }
            let mut index = walk.indexes[i].take();
            if i < last {
                // A sealed segment's time index ends with the entry for its largest timestamp,
                // as Kafka's `LogSegment.recover` appends it: without it, a batch holding the
                // largest timestamp after the last index entry is missing from the file, and
                // once reloaded the segment's largest timestamp reads too small, so timestamp
                // lookups (and time retention) pass the segment over.
                if let Some(index) = index.as_mut() {
                    index.seal(bases[i]);
                }
            }
            let segment = self.segment(bases[i], file, index);
            if i >= first_unsafe && i < last {
                // Indexes are derived: one that cannot be written now (a full disk) is
                // rebuilt when first used, its checksum no longer matching.
                match segment
                    .write_index_files()
                    .and_then(|()| segment.sync_index_files())
                {
                    Ok(()) => report.indexes_rebuilt += 1,
                    Err(error) => tracing::warn!(
                        target: "kafkalite::recovery",
                        "{}: could not write rebuilt index files: {error}",
                        self.options.name
                    ),
                }
            }
            segments.push(Arc::new(segment));
        }
        Ok((segments, walk.end))
    }
}

/// What walking a log's segments found.
struct Walk {
    /// Segments `[0, keep)` stay in the log.
    keep: usize,
    /// The offset after the last valid batch: the log's end.
    end: i64,
    /// Each walked segment's rebuilt index.
    indexes: Vec<Option<SegmentIndex>>,
    /// Where each walked segment's bytes past the recovery point begin.
    unsynced_from: Vec<Option<usize>>,
    /// The segment holding the first invalid batch, its position, and what is wrong.
    invalid: Option<(usize, usize, String)>,
}

/// Moves segment `base_offset`'s files that exist from `dir` to `to` (the caller syncs both).
fn move_segment_files(
    storage: &dyn Storage,
    dir: &Path,
    to: &Path,
    base_offset: i64,
) -> Result<()> {
    for suffix in SEGMENT_SUFFIXES {
        let name = format!("{}{suffix}", super::segment::file_stem(base_offset));
        if storage.exists(&dir.join(&name)) {
            storage.rename(&dir.join(&name), &to.join(&name))?;
        }
    }
    Ok(())
}

/// Base offsets of the segments in `dir`, sorted. Removes index files without a `.log` (a
/// deletion that was interrupted) and a segment file's `.tmp` (a replacement that was), and
/// rejects segment files with malformed names.
fn list_segments(
    storage: &dyn Storage,
    dir: &Path,
    report: &mut RecoveryReport,
) -> Result<Vec<i64>> {
    let entries = storage.list(dir)?;
    let mut bases = Vec::new();
    let mut orphans: Vec<PathBuf> = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
        if let Some(replaced) = entry.name.strip_suffix(".tmp") {
            // A repair's replacement of a segment file that a crash interrupted before the
            // rename: the file it was to replace is still whole.
            if split_name(replaced).is_some_and(|(stem, _)| segment_base_offset(stem).is_some()) {
                orphans.push(dir.join(&entry.name));
            }
            continue;
        }
        let Some((stem, suffix)) = split_name(&entry.name) else {
            continue;
        };
        let base = segment_base_offset(stem).ok_or_else(|| {
            Error::corruption(
                dir.join(&entry.name),
                0,
                "segment file name is not a 20-digit base offset",
            )
        })?;
        if suffix == LOG_SUFFIX {
            bases.push(base);
        } else if !entries
            .iter()
            .any(|e| e.name == format!("{stem}{LOG_SUFFIX}"))
        {
            orphans.push(dir.join(&entry.name));
        }
    }
    for orphan in &orphans {
        storage.remove_file(orphan)?;
        report.orphan_files_removed += 1;
    }
    bases.sort_unstable();
    Ok(bases)
}

fn split_name(name: &str) -> Option<(&str, &str)> {
    SEGMENT_SUFFIXES
        .into_iter()
        .find_map(|suffix| name.strip_suffix(suffix).map(|stem| (stem, suffix)))
}
