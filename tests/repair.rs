//! What a repair (`RecoveryMode::TruncateCorrupt`) does with what it cuts, and the file
//! protocol that keeps it sound: the damaged segment is copied whole and the later ones are
//! moved to the salvage directory (or deleted when there is none), a file a closed handle still
//! maps is replaced rather than shrunk, and a log opened on its own inside a cluster's data
//! directory takes that directory's lock.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{batch, read_all};
use kafkalite::storage::{RealStorage, Storage};
use kafkalite::{Error, Log, LogOptions, MockClock, RecoveryMode, RecoveryReport, TopicConfig};

fn options(mode: RecoveryMode, salvage_dir: Option<PathBuf>) -> LogOptions {
    LogOptions {
        name: "t-0".into(),
        recovery_point: None,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: mode,
        salvage_dir,
    }
}

fn open(
    dir: &Path,
    segment_bytes: &str,
    options: LogOptions,
) -> kafkalite::Result<(Log, RecoveryReport)> {
    let config = TopicConfig::from_overrides([("segment.bytes", segment_bytes)]).unwrap();
    Log::open(
        Arc::new(RealStorage),
        dir,
        Arc::new(config),
        Arc::new(MockClock::new(0)),
        options,
    )
}

/// Writes 40 batches of 4 records (about 2 KiB each) and closes the log.
fn fill(dir: &Path, segment_bytes: &str) -> Log {
    let (log, _) = open(dir, segment_bytes, options(RecoveryMode::default(), None)).unwrap();
    for i in 0..40 {
        log.append(&batch(i * 4, 4, 500, 1000)).unwrap();
    }
    log
}

fn segment_logs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

/// Flips one byte of `file` in place, as bit rot would (through the page cache, so that every
/// mapping of the file sees it too).
fn flip(file: &Path, position: u64) {
    let handle = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(file)
        .unwrap();
    let mut byte = [0u8];
    handle.read_exact_at(&mut byte, position).unwrap();
    handle.write_all_at(&[byte[0] ^ 0x01], position).unwrap();
}

/// A closed log releases its lock while its readers still map its files. A repair that then
/// cuts a batch they hold must not shrink the file under them (a read past a mapped file's end
/// is SIGBUS): it replaces the file, and the old pages stay readable.
#[test]
fn a_repair_never_shrinks_a_file_a_closed_handle_still_maps() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = fill(&dir, "1048576");
    let held = log.read(0, 1 << 20).unwrap();
    let before = held.bytes().to_vec();
    assert!(before.len() > 64 * 1024, "the reader holds many pages");
    log.close().unwrap();
    drop(log);

    // Damage in the first batch's records: the repair cuts the log to nothing.
    flip(&segment_logs(&dir)[0], 100);
    let (repaired, report) = open(
        &dir,
        "1048576",
        options(RecoveryMode::TruncateCorrupt, None),
    )
    .unwrap();
    let cut = report.cut.clone().expect("the repair cut the log");
    assert_eq!((cut.position, cut.first_offset), (0, 0), "{report}");
    assert_eq!(repaired.log_end_offset(), 0);
    assert_eq!(std::fs::metadata(&cut.file).unwrap().len(), 0);

    // The closed handle's reader still reads every byte it held (with the flipped one).
    let now = held.bytes();
    assert_eq!(now.len(), before.len());
    let differing: Vec<usize> = (0..now.len()).filter(|&i| now[i] != before[i]).collect();
    assert_eq!(differing, [100]);
}

/// The damaged segment is copied whole, as it was, and every later one is moved, byte for byte;
/// the log keeps what precedes the damage.
#[test]
fn a_repair_moves_the_damaged_segment_whole_and_the_later_ones_aside() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    let log = fill(&dir, "8192");
    let records = read_all(&log);
    log.close().unwrap();
    drop(log);
    let logs = segment_logs(&dir);
    assert!(logs.len() >= 5, "{logs:?}");
    let damaged = &logs[1];
    let damaged_len = std::fs::metadata(damaged).unwrap().len();
    flip(damaged, damaged_len / 2);
    let originals: Vec<Vec<u8>> = logs.iter().map(|p| std::fs::read(p).unwrap()).collect();

    let salvage = root.path().join("t-0.x-salvaged");
    let (log, report) = open(
        &dir,
        "8192",
        options(RecoveryMode::TruncateCorrupt, Some(salvage.clone())),
    )
    .unwrap();
    let cut = report.cut.clone().expect("the repair cut the log");
    assert_eq!(&cut.file, damaged);
    assert!(cut.position > 0 && cut.position < damaged_len, "{report}");
    assert_eq!(report.salvaged_to.as_deref(), Some(salvage.as_path()));
    let copy = cut
        .copied_to
        .clone()
        .expect("the damaged segment was copied");
    assert_eq!(copy, salvage.join(damaged.file_name().unwrap()));
    assert_eq!(std::fs::read(&copy).unwrap(), originals[1], "copied whole");
    assert_eq!(report.salvaged_segments, logs.len() - 2);
    let later_bytes: usize = originals[2..].iter().map(Vec::len).sum();
    assert_eq!(report.salvaged_bytes, later_bytes as u64);
    assert_eq!(report.deleted_segments, 0);
    for (path, original) in logs[2..].iter().zip(&originals[2..]) {
        assert!(!path.exists(), "{} left in the partition", path.display());
        let moved = salvage.join(path.file_name().unwrap());
        assert_eq!(
            &std::fs::read(moved).unwrap(),
            original,
            "moved byte for byte"
        );
    }

    // The log holds exactly the records before the damaged batch, and grows again.
    let kept = read_all(&log);
    assert_eq!(log.log_end_offset(), cut.first_offset);
    assert!(cut.first_offset > 0);
    let first_dropped = usize::try_from(cut.first_offset).unwrap();
    assert_eq!(kept, records[..first_dropped]);
    assert_eq!(
        log.append(&batch(0, 1, 10, 1)).unwrap().first_offset,
        cut.first_offset
    );
}

/// Without a salvage directory, what the repair cuts is deleted (and counted), and nothing is
/// created beside the log.
#[test]
fn without_a_salvage_directory_a_repair_deletes_and_counts() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    drop(fill(&dir, "8192"));
    let logs = segment_logs(&dir);
    let later_bytes: u64 = logs[2..]
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    flip(&logs[1], 200);
    let (_log, report) = open(&dir, "8192", options(RecoveryMode::TruncateCorrupt, None)).unwrap();
    let cut = report.cut.clone().expect("the repair cut the log");
    assert_eq!(cut.copied_to, None);
    assert_eq!(report.salvaged_to, None);
    assert_eq!(
        (report.deleted_segments, report.deleted_bytes),
        (logs.len() - 2, later_bytes)
    );
    let beside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["t-0"]);
}

/// A data directory of a version before `meta.properties` holds only its `LOCK`: a log opened
/// on one of its partitions takes that lock too, so it cannot run beside a cluster there.
#[test]
fn a_log_in_a_data_directory_of_an_earlier_version_takes_its_lock() {
    let root = tempfile::tempdir().unwrap();
    let storage = RealStorage;
    // A LOCK alone is not a cluster's: it may be any program's lock file.
    let foreign_lock = storage.lock(&root.path().join("LOCK")).unwrap();
    let dir = root.path().join("t-0");
    let (log, _) = open(&dir, "8192", options(RecoveryMode::default(), None)).unwrap();
    drop(log);
    drop(foreign_lock);
    // With the checkpoint an earlier kafkalite wrote beside it, it is.
    std::fs::write(
        root.path().join("recovery-point-offset-checkpoint"),
        "0\n0\n",
    )
    .unwrap();
    let cluster_lock = storage.lock(&root.path().join("LOCK")).unwrap();
    let error = open(&dir, "8192", options(RecoveryMode::default(), None)).unwrap_err();
    assert!(matches!(error, Error::Locked { .. }), "{error}");
    drop(cluster_lock);
    let (log, _) = open(&dir, "8192", options(RecoveryMode::default(), None)).unwrap();
    assert!(
        storage.lock(&root.path().join("LOCK")).is_err(),
        "the log holds the data directory's lock"
    );
    drop(log);

    // Anywhere else, a log touches nothing beside its own directory.
    let plain = tempfile::tempdir().unwrap();
    drop(
        open(
            &plain.path().join("t-0"),
            "8192",
            options(RecoveryMode::default(), None),
        )
        .unwrap(),
    );
    let beside: Vec<_> = std::fs::read_dir(plain.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["t-0"]);
}

/// A repair interrupted between writing a segment's replacement and renaming it leaves
/// `<segment>.log.tmp`; the next open removes it. Other `.tmp` files are not kafkalite's.
#[test]
fn an_interrupted_replacement_is_removed_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("t-0");
    drop(fill(&dir, "8192"));
    let leftover = dir.join("00000000000000000000.log.tmp");
    std::fs::write(&leftover, b"half a replacement").unwrap();
    let foreign = dir.join("notes.tmp");
    std::fs::write(&foreign, b"mine").unwrap();
    let (log, report) = open(&dir, "8192", options(RecoveryMode::default(), None)).unwrap();
    assert_eq!(report.orphan_files_removed, 1, "{report}");
    assert!(!leftover.exists());
    assert_eq!(std::fs::read(&foreign).unwrap(), b"mine");
    assert_eq!(read_all(&log).len(), 160);
}
