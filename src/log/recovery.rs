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
use super::partition::{validate_records, Log, Writer};
use super::segment::{
    remove_segment_files, segment_base_offset, Segment, LOG_SUFFIX, SEGMENT_SUFFIXES,
};
use super::IndexChecksums;
use crate::clock::Clock;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::record::{BatchError, BatchIter};
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
    /// log is truncated and later segments are deleted, as Kafka does with damage it finds.
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
}

/// What recovery did, for reporting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of damaged or torn data cut from the end of the log.
    pub truncated_bytes: u64,
    /// Preallocated (all-zero) space trimmed after the last batch.
    pub preallocated_bytes: u64,
    /// Segments deleted because they followed a torn or corrupt point.
    pub deleted_segments: usize,
    /// The bytes those segments held.
    pub deleted_bytes: u64,
    /// Segments after a damaged one that a repair moved aside (never deleted: they may hold
    /// intact records), to [`RecoveryReport::salvaged_to`].
    pub salvaged_segments: usize,
    /// The bytes those segments held.
    pub salvaged_bytes: u64,
    /// The `<partition>.<id>-salvaged` directory they were moved to.
    pub salvaged_to: Option<PathBuf>,
    /// Where damaged or torn data (not preallocated zeros) was cut, and why.
    pub cut: Option<Cut>,
    /// Batches validated.
    pub batches_checked: u64,
    /// Sealed segments whose indexes recovery rebuilt from their batches.
    pub indexes_rebuilt: usize,
    /// Index files removed because their segment's `.log` was gone (an interrupted deletion).
    pub orphan_files_removed: usize,
}

/// Where recovery cut a log: the first batch it could not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The segment file.
    pub file: PathBuf,
    /// The byte position of the first batch dropped.
    pub position: u64,
    /// The first offset dropped: the log ends here now.
    pub first_offset: i64,
    /// What was wrong with the batch there.
    pub reason: String,
}

impl RecoveryReport {
    /// Whether recovery lost nothing: no bytes of data cut and no segment deleted (trimming
    /// preallocated space, checking batches and rebuilding indexes are routine).
    pub fn is_quiet(&self) -> bool {
        self.truncated_bytes == 0 && self.deleted_segments == 0 && self.salvaged_segments == 0
    }
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} batches checked", self.batches_checked)?;
        if self.truncated_bytes > 0 {
            write!(
                f,
                ", {} bytes of damaged or torn data cut",
                self.truncated_bytes
            )?;
        }
        if let Some(cut) = &self.cut {
            write!(
                f,
                ", offsets from {} on dropped at byte {} of {} ({})",
                cut.first_offset,
                cut.position,
                cut.file.display(),
                cut.reason
            )?;
        }
        if self.deleted_segments > 0 {
            write!(
                f,
                ", {} later segments deleted ({} bytes)",
                self.deleted_segments, self.deleted_bytes
            )?;
        }
        if let Some(to) = &self.salvaged_to {
            write!(
                f,
                ", {} later segments ({} bytes) moved to {} (never deleted; inspect them)",
                self.salvaged_segments,
                self.salvaged_bytes,
                to.display()
            )?;
        }
        if self.preallocated_bytes > 0 {
            write!(
                f,
                ", {} preallocated bytes trimmed",
                self.preallocated_bytes
            )?;
        }
        if self.indexes_rebuilt > 0 {
            write!(f, ", {} segment indexes rebuilt", self.indexes_rebuilt)?;
        }
        if self.orphan_files_removed > 0 {
            write!(
                f,
                ", {} orphan index files removed",
                self.orphan_files_removed
            )?;
        }
        Ok(())
    }
}

/// The suffix of the directory a repair moves segments after a damaged one to.
pub(crate) const SALVAGED_SUFFIX: &str = "-salvaged";

/// The lock file a log opened on its own holds in its directory (a cluster's is in the data
/// directory, the partition directory's parent).
pub(crate) const LOCK_FILE: &str = "LOCK";

impl Log {
    /// Opens (or creates) the log in `dir`, on its own (outside a [`crate::Cluster`]),
    /// recovering it if it was not closed cleanly. The log holds `dir/LOCK` for its life, and
    /// when `dir` is a partition of a cluster's data directory (its parent holds
    /// `meta.properties`), that directory's lock too: a second handle on the same files fails
    /// with [`Error::Locked`] instead of trimming them under the first one's readers.
    pub fn open(
        storage: Arc<dyn Storage>,
        dir: &Path,
        config: Arc<TopicConfig>,
        clock: Arc<dyn Clock>,
        options: LogOptions,
    ) -> Result<(Log, RecoveryReport)> {
        let mut locks = Vec::new();
        if let Some(parent) = dir.parent() {
            if storage.exists(&parent.join("meta.properties")) {
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
        let bases = list_segments(&*storage, dir, &mut report)?;
        let segments = if bases.is_empty() {
            let lost = options
                .recovery_point
                .filter(|&rp| rp > options.log_start_offset);
            if let Some(rp) = lost {
                if options.recovery_mode == RecoveryMode::TolerateCorruptTail {
                    return Err(Error::corruption(dir, 0, format!(
                        "the partition has no segment files, yet its recovery point says offsets below {rp} were synced"
                    )));
                }
            }
            // Repairing a partition whose files are gone: it restarts at the recovery point,
            // so no offset a reader may have seen is given to another record.
            let base = lost.unwrap_or(options.log_start_offset);
            let first = Segment::create(
                &storage,
                &checksums,
                dir,
                base,
                usize::try_from(config.segment_bytes).unwrap_or(usize::MAX),
                now,
            )?;
            storage.sync_dir(dir)?;
            (vec![Arc::new(first)], base)
        } else {
            let loader = Loader {
                storage: &storage,
                checksums: &checksums,
                dir,
                config: &config,
                options: &options,
                now,
            };
            loader.load(&bases, &mut report)?
        };
        let (segments, end) = segments;
        let oldest = segments[0].base_offset();
        if options.log_start_offset < oldest
            && options.recovery_mode == RecoveryMode::TolerateCorruptTail
        {
            // Retention persists a raised start before it removes files (see
            // `log::retention`), so nothing but damage leaves the start below the oldest segment.
            return Err(Error::corruption(segments[0].log_path(), 0, format!(
                "the log start offset is {}, but the oldest segment starts at {oldest}: segment files holding offsets {}..{oldest} are missing",
                options.log_start_offset, options.log_start_offset
            )));
        }
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
            config: RwLock::new(config),
            segments: RwLock::new(Arc::new(segments)),
            writer: Mutex::new(Writer {
                active,
                next_offset: end,
                active_first_timestamp: None,
                unsynced_messages: 0,
                last_sync_ms: now,
                rolled_unsynced: Vec::new(),
            }),
            end_offset: AtomicI64::new(end),
            log_start: AtomicI64::new(log_start),
            durable: AtomicI64::new(end),
            sync_lock: Mutex::new(()),
            failure: Mutex::new(None),
            closed: AtomicBool::new(false),
            notifier: std::sync::OnceLock::new(),
            locks: Mutex::new(Vec::new()),
        };
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
    /// Where a repair moves the segments after a damaged one: `<partition>.<id>-salvaged`
    /// beside the partition directory, when that is a cluster's data directory (it holds
    /// `meta.properties`); elsewhere nothing is created, and they are deleted as before.
    fn salvage_dir(&self) -> Option<PathBuf> {
        let parent = self.dir.parent()?;
        let name = self.dir.file_name()?.to_str()?;
        self.storage
            .exists(&parent.join("meta.properties"))
            .then(|| parent.join(format!("{name}.{}{SALVAGED_SUFFIX}", crate::random::uuid())))
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

    /// Validates every batch from the segment holding the recovery point on; see the module doc.
    fn recover(
        &self,
        bases: &[i64],
        mut files: Vec<AppendFile>,
        report: &mut RecoveryReport,
    ) -> Result<Loaded> {
        let options = self.options;
        let strict = options.recovery_mode == RecoveryMode::TolerateCorruptTail;
        let recovery_point = options.recovery_point.unwrap_or(options.log_start_offset);
        // The segment holding offset `recovery_point - 1` (see the module doc); a repair
        // trusts no segment.
        let first_unsafe = if strict {
            bases
                .partition_point(|&b| b < recovery_point)
                .saturating_sub(1)
        } else {
            0
        };
        let mut indexes: Vec<Option<SegmentIndex>> = (0..bases.len()).map(|_| None).collect();
        let mut unsynced_from: Vec<Option<usize>> = vec![None; bases.len()];
        check_not_empty(&files[..first_unsafe], bases)?;
        let mut keep = bases.len();
        let mut end = bases[first_unsafe];
        for i in first_unsafe..bases.len() {
            if i > first_unsafe && bases[i] != end {
                // The previous segment lost its tail (it was never synced), so this one
                // follows data that never became durable: drop it and every later one.
                keep = i;
                break;
            }
            let scan = scan_segment(
                &files[i],
                bases[i],
                end,
                recovery_point,
                self.config,
                !strict,
            );
            report.batches_checked += scan.batches;
            end = scan.next_offset;
            indexes[i] = Some(scan.index);
            unsynced_from[i] = scan.unsynced_from;
            if let Some((position, why)) = scan.invalid {
                if end < recovery_point && strict {
                    return Err(Error::corruption(files[i].path(), position as u64, format!(
                        "{why}; offset {end} is below the recovery point {recovery_point}, so this data had been synced"
                    )));
                }
                let cut = (files[i].len() - position) as u64;
                if all_zeros(&files[i].bytes()[position..]) {
                    report.preallocated_bytes += cut;
                } else {
                    report.truncated_bytes += cut;
                    report.cut = Some(Cut {
                        file: files[i].path().to_path_buf(),
                        position: position as u64,
                        first_offset: end,
                        reason: why,
                    });
                }
                files[i].truncate(position as u64)?;
                keep = i + 1;
                break;
            }
        }
        if end < recovery_point && strict {
            let file = &files[keep - 1];
            return Err(Error::corruption(file.path(), file.len() as u64, format!(
                "the log ends at offset {end}, below the recovery point {recovery_point}: synced data is missing"
            )));
        }
        // Segments after a truncation point follow data that never became durable: drop them.
        // A repair moves them aside instead: after damage, they may hold intact records.
        let salvage = (!strict && keep < bases.len())
            .then(|| self.salvage_dir())
            .flatten();
        if let Some(to) = &salvage {
            self.storage.create_dir_all_durable(to)?;
            report.salvaged_to = Some(to.clone());
        }
        for (file, &base) in files.drain(keep..).zip(&bases[keep..]).rev() {
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
        if keep < bases.len() {
            self.storage.sync_dir(self.dir)?;
            // The last segment kept was sealed, and opened without room to grow: it is the
            // active segment now.
            let capacity = usize::try_from(self.config.segment_bytes).unwrap_or(usize::MAX);
            files[keep - 1] =
                Segment::open_file(self.storage, self.dir, bases[keep - 1], capacity)?;
        }
        let last = keep - 1;
        let mut segments = Vec::with_capacity(keep);
        for (i, file) in files.into_iter().enumerate() {
            if i >= first_unsafe {
                // Recovered bytes may exist only in the page cache: make them durable now so
                // that the whole log is below the new recovery point, writing them again
                // first in case a failed sync left them clean but not on disk.
                if let Some(from) = unsynced_from[i] {
                    file.rewrite_from(from)?;
                }
                file.sync()?;
            }
            let mut index = indexes[i].take();
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
                        options.name
                    ),
                }
            }
            segments.push(Arc::new(segment));
        }
        Ok((segments, end))
    }
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

/// Whether `segment`'s batches, walked from its last index entry, end at offset `end`.
fn ends_at(segment: &Segment, end: i64, interval_bytes: u64) -> bool {
    let Ok(entry) = segment
        .index(interval_bytes)
        .map(|index| index.lookup(u32::MAX))
    else {
        return false;
    };
    let Ok(scan) = segment.scan_from(entry) else {
        return false;
    };
    let mut next = segment.base_offset();
    for item in scan {
        match item {
            Ok((_, batch)) => next = batch.next_offset(),
            Err(_) => return false,
        }
    }
    next == end
}

/// Trusted sealed segments hold data: an empty one was damaged.
fn check_not_empty(sealed: &[AppendFile], bases: &[i64]) -> Result<()> {
    match sealed.iter().position(AppendFile::is_empty) {
        Some(i) => Err(Error::corruption(
            sealed[i].path(),
            0,
            format!("sealed segment {} is empty", bases[i]),
        )),
        None => Ok(()),
    }
}

struct Scan {
    index: SegmentIndex,
    next_offset: i64,
    batches: u64,
    invalid: Option<(usize, String)>,
    /// Position of the first valid batch holding offsets at or after the recovery point.
    unsynced_from: Option<usize>,
}

/// Validates every batch of one segment: framing, CRC, offsets contiguous from `expected`,
/// and with `check_records` (a repair) that every record decodes.
fn scan_segment(
    file: &AppendFile,
    base: i64,
    expected: i64,
    recovery_point: i64,
    config: &TopicConfig,
    check_records: bool,
) -> Scan {
    // Batches follow each other without gaps (see `log::scan`): no cleaner exists yet.
    let bytes = file.bytes();
    let mut scan = Scan {
        index: SegmentIndex::new(),
        next_offset: expected.max(base),
        batches: 0,
        invalid: None,
        unsynced_from: None,
    };
    for item in BatchIter::new(bytes) {
        let (position, batch) = match item {
            Ok(found) => found,
            Err((position, error)) => {
                scan.invalid = Some((position, describe(&error, bytes, position)));
                break;
            }
        };
        let problem = if let Err(e) = batch.verify_crc() {
            Some(e.to_string())
        } else if batch.base_offset() != scan.next_offset {
            Some(format!(
                "batch base offset {} where {} was expected",
                batch.base_offset(),
                scan.next_offset
            ))
        } else if batch.last_offset() - base > i32::MAX as i64 {
            Some(format!(
                "offset {} does not fit segment {base}",
                batch.last_offset()
            ))
        } else if check_records {
            match validate_records(&batch, position) {
                // Not damage: a codec this build cannot read (Kafka's snappy or zstd) is kept.
                Err(Error::UnsupportedCompressionType(_)) | Ok(()) => None,
                Err(e) => Some(e.to_string()),
            }
        } else {
            None
        };
        if let Some(why) = problem {
            scan.invalid = Some((position, why));
            break;
        }
        scan.index.on_append(
            base,
            batch.last_offset(),
            batch.max_timestamp(),
            position as u64,
            batch.size() as u64,
            config.index_interval_bytes,
        );
        if scan.unsynced_from.is_none() && batch.next_offset() > recovery_point {
            scan.unsynced_from = Some(position);
        }
        scan.next_offset = batch.next_offset();
        scan.batches += 1;
    }
    scan
}

/// Whether `bytes` are all zero (preallocated space): compared a page at a time with a
/// zeroed page, which `memcmp` does at memory speed even in unoptimized builds.
fn all_zeros(bytes: &[u8]) -> bool {
    const ZEROS: [u8; 4096] = [0; 4096];
    bytes
        .chunks(ZEROS.len())
        .all(|chunk| chunk == &ZEROS[..chunk.len()])
}

fn describe(error: &BatchError, bytes: &[u8], position: usize) -> String {
    if all_zeros(&bytes[position..]) {
        "preallocated space after the last batch".to_string()
    } else {
        error.to_string()
    }
}

/// Base offsets of the segments in `dir`, sorted. Removes index files without a `.log` (a
/// deletion that was interrupted) and rejects segment files with malformed names.
fn list_segments(
    storage: &dyn Storage,
    dir: &Path,
    report: &mut RecoveryReport,
) -> Result<Vec<i64>> {
    let entries = storage.list(dir)?;
    let mut bases = Vec::new();
    let mut orphans: Vec<PathBuf> = Vec::new();
    for entry in entries.iter().filter(|e| !e.is_dir) {
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
