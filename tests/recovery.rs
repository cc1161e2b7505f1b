//! Recovery and corruption: torn tails are truncated to a prefix, damage to synced data is a
//! `Corruption` error naming the file and position (never a panic, never a wrong byte), index
//! damage is repaired silently, and bad files in a partition directory are reported.

// Test arithmetic on small, known offsets, positions and partition numbers (issue 13 leaves
// these casts to a later pass; src/ is checked).
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::batch;
use kafkalite::storage::RealStorage;
use kafkalite::{Cluster, Error, Log, LogOptions, MockClock, NewTopic, RecoveryMode, TopicConfig};

type Records = Vec<(i64, Vec<u8>, Vec<u8>)>;

fn config() -> Arc<TopicConfig> {
    Arc::new(
        TopicConfig::from_overrides([("segment.bytes", "1200"), ("index.interval.bytes", "100")])
            .unwrap(),
    )
}

fn options(
    recovery_point: Option<i64>,
    clean_active_size: Option<u64>,
    mode: RecoveryMode,
) -> LogOptions {
    LogOptions {
        name: "t-0".into(),
        recovery_point,
        log_start_offset: 0,
        clean_active_size,
        recovery_mode: mode,
        salvage_dir: None,
    }
}

fn open(dir: &Path, options: LogOptions) -> kafkalite::Result<Log> {
    Log::open(
        Arc::new(RealStorage),
        dir,
        config(),
        Arc::new(MockClock::new(0)),
        options,
    )
    .map(|(log, _)| log)
}

/// Every record, or the first error met while reading.
fn try_read_all(log: &Log) -> kafkalite::Result<Records> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let data = log.read(offset, 4096)?;
        assert!(
            !data.is_empty(),
            "empty read at {offset} below the high watermark"
        );
        for batch in data.batches() {
            let batch = batch?;
            let records = batch.records()?;
            for record in records.iter() {
                let record = record?;
                out.push((
                    record.offset,
                    record.key.unwrap_or_default().to_vec(),
                    record.value.unwrap_or_default().to_vec(),
                ));
            }
            offset = batch.next_offset();
        }
    }
    Ok(out)
}

/// A log of several segments (up to 1,200 bytes each), closed cleanly; returns its records.
fn pristine(dir: &Path) -> Records {
    let log = open(dir, options(None, None, RecoveryMode::default())).unwrap();
    for i in 0..18 {
        log.append(&batch(i * 2, 2, 120, 1000 + i as i64)).unwrap();
    }
    assert!(log.segments().len() >= 3);
    let records = try_read_all(&log).unwrap();
    log.close().unwrap();
    records
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn segment_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

fn is_prefix(short: &Records, long: &Records) -> bool {
    short.len() <= long.len() && short[..] == long[..short.len()]
}

/// Runs `check` on a fresh copy of `source` with `damage` applied to `file` (a name in it).
fn with_damage(
    source: &Path,
    scratch: &Path,
    file: &str,
    damage: impl FnOnce(&mut Vec<u8>),
    check: impl FnOnce(&Path),
) {
    let _ = std::fs::remove_dir_all(scratch);
    copy_dir(source, scratch);
    let path = scratch.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, bytes).unwrap();
    check(scratch);
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn damage_to_synced_data_is_reported_never_returned() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let active = segment_files(&source, ".log").pop().unwrap();
    let len = std::fs::metadata(&active).unwrap().len() as usize;
    let scratch = root.path().join("scratch");
    let mut errors = 0;
    for position in 0..len {
        for flip in [1u8 << (position % 8), 0xff] {
            // Unclean open with the recovery point at the end: everything was synced.
            with_damage(
                &source,
                &scratch,
                &name(&active),
                |b| b[position] ^= flip,
                |dir| match open(
                    dir,
                    options(Some(36), None, RecoveryMode::TolerateCorruptTail),
                ) {
                    Err(Error::Corruption {
                        path, position: at, ..
                    }) => {
                        assert_eq!(path, dir.join(name(&active)));
                        assert!(
                            at as usize <= position,
                            "reported at {at}, damage at {position}"
                        );
                        errors += 1;
                    }
                    Err(other) => panic!("byte {position}: unexpected error {other}"),
                    Ok(log) => assert_eq!(
                        try_read_all(&log).unwrap(),
                        original,
                        "byte {position} flip {flip:#x}"
                    ),
                },
            );
        }
    }
    assert!(
        errors > len,
        "most damage is detected ({errors} of {})",
        2 * len
    );
    for cut in 0..len {
        with_damage(
            &source,
            &scratch,
            &name(&active),
            |b| b.truncate(cut),
            |dir| {
                let err = open(
                    dir,
                    options(Some(36), None, RecoveryMode::TolerateCorruptTail),
                )
                .unwrap_err();
                assert!(
                    matches!(err, Error::Corruption { .. }),
                    "cut at {cut}: {err}"
                );
            },
        );
    }
}

#[test]
fn torn_tails_after_the_recovery_point_become_a_prefix() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let active = segment_files(&source, ".log").pop().unwrap();
    let len = std::fs::metadata(&active).unwrap().len() as usize;
    let scratch = root.path().join("scratch");
    for position in 0..len {
        for damage in 0..2 {
            with_damage(
                &source,
                &scratch,
                &name(&active),
                |b| {
                    if damage == 0 {
                        b[position] ^= 0x10
                    } else {
                        b.truncate(position)
                    }
                },
                |dir| {
                    let log = open(
                        dir,
                        options(Some(24), None, RecoveryMode::TolerateCorruptTail),
                    )
                    .unwrap();
                    let records = try_read_all(&log).unwrap();
                    assert!(
                        is_prefix(&records, &original),
                        "byte {position}: not a prefix"
                    );
                    assert!(records.len() >= 24, "synced records kept");
                    let next = log.log_end_offset();
                    let info = log.append(&batch(next as usize, 1, 5, 9)).unwrap();
                    assert_eq!(info.first_offset, next, "appends continue after the cut");
                    drop(log);
                    let again = Log::open(
                        Arc::new(RealStorage),
                        dir,
                        config(),
                        Arc::new(MockClock::new(0)),
                        options(Some(24), None, RecoveryMode::TolerateCorruptTail),
                    )
                    .unwrap();
                    assert_eq!(
                        again.1.truncated_bytes, 0,
                        "a second recovery truncates nothing"
                    );
                    assert_eq!(again.0.log_end_offset(), next + 1);
                },
            );
        }
    }
}

/// After a crash without syncs, a sealed segment can be torn or empty while its successors
/// exist: it becomes the active segment again (the later ones are dropped) and takes
/// appends up to `segment.bytes`, beyond its old, trimmed length.
#[test]
fn a_torn_sealed_segment_becomes_the_active_one() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let first = segment_files(&source, ".log").remove(0);
    let len = std::fs::metadata(&first).unwrap().len() as usize;
    let scratch = root.path().join("scratch");
    for cut in [0, len / 2, len - 1] {
        with_damage(
            &source,
            &scratch,
            &name(&first),
            |b| b.truncate(cut),
            |dir| {
                let log = open(dir, options(None, None, RecoveryMode::TolerateCorruptTail))
                    .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
                assert_eq!(
                    log.segments().len(),
                    1,
                    "cut at {cut}: later segments dropped"
                );
                let records = try_read_all(&log).unwrap();
                assert!(is_prefix(&records, &original), "cut at {cut}");
                let next = log.log_end_offset() as usize;
                for i in 0..12 {
                    let info = log
                        .append(&batch(next + i, 1, 200, 9))
                        .unwrap_or_else(|e| panic!("cut at {cut}: append {i} after recovery: {e}"));
                    assert_eq!(info.first_offset as usize, next + i);
                    if i == 0 && cut <= len / 2 {
                        assert_eq!(log.segments().len(), 1, "cut at {cut}: the append fits");
                    }
                }
                assert_eq!(try_read_all(&log).unwrap().len(), next + 12);
            },
        );
    }
}

#[test]
fn truncate_corrupt_mode_keeps_the_valid_prefix() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let logs = segment_files(&source, ".log");
    let middle = name(&logs[1]);
    let scratch = root.path().join("scratch");
    // The recovery point is 0, so recovery scans every segment; damage in the middle one cuts
    // there and drops the last.
    with_damage(
        &source,
        &scratch,
        &middle,
        |b| b[300] ^= 0x40,
        |dir| {
            let strict = open(
                dir,
                options(Some(36), None, RecoveryMode::TolerateCorruptTail),
            );
            assert!(
                strict.is_ok(),
                "segment 1 is below the recovery point's segment: not scanned"
            );
            drop(strict);
            let log = open(dir, options(Some(0), None, RecoveryMode::TruncateCorrupt)).unwrap();
            let records = try_read_all(&log).unwrap();
            assert!(is_prefix(&records, &original) && records.len() < original.len());
            assert_eq!(log.segments().len(), 2);
        },
    );
}

/// Every `Corruption` a read reports is repaired by reopening with `TruncateCorrupt`, as the
/// error advises: even after a clean close, that open scans the trusted segments too.
#[test]
fn truncate_corrupt_repairs_what_a_read_reported() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let logs = segment_files(&source, ".log");
    let active_size = std::fs::metadata(logs.last().unwrap()).unwrap().len();
    let first = name(&logs[0]);
    let len = std::fs::metadata(&logs[0]).unwrap().len() as usize;
    let scratch = root.path().join("scratch");
    let mut repaired = 0;
    for position in (0..len).step_by(5) {
        with_damage(
            &source,
            &scratch,
            &first,
            |b| b[position] ^= 0x10,
            |dir| {
                let clean = options(Some(36), Some(active_size), RecoveryMode::default());
                let log = open(dir, clean.clone()).unwrap();
                let reported = try_read_all(&log).is_err();
                drop(log);
                let repair = LogOptions {
                    recovery_mode: RecoveryMode::TruncateCorrupt,
                    ..clean
                };
                let log = open(dir, repair).unwrap();
                let records = try_read_all(&log)
                    .unwrap_or_else(|e| panic!("byte {position}: read after the repair: {e}"));
                assert!(is_prefix(&records, &original), "byte {position}");
                if reported {
                    repaired += 1;
                    assert!(
                        records.len() < original.len(),
                        "byte {position}: nothing cut"
                    );
                    assert_eq!(log.segments().len(), 1, "later segments deleted");
                }
                // The repaired log takes appends at its new end.
                let end = log.log_end_offset();
                assert_eq!(end, records.len() as i64);
                assert_eq!(log.append(&batch(0, 1, 10, 1)).unwrap().first_offset, end);
            },
        );
    }
    assert!(repaired > len / 10, "{repaired} damaged reads");
}

/// A record that does not decode, under a CRC that matches (a file written outside
/// kafkalite): the repairing open validates records too and cuts before its batch.
#[test]
fn truncate_corrupt_cuts_at_a_record_forged_under_a_matching_crc() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let mut forged = batch(2, 3, 10, 2);
    let spans = common::record_spans(&forged);
    forged[spans[1].start + 4] = 0x7e; // record 1's key length runs past its end
    forged[..8].copy_from_slice(&2i64.to_be_bytes()); // base offsets are not under the CRC
    common::reseal(&mut forged);
    let mut last = batch(5, 1, 10, 3);
    last[..8].copy_from_slice(&5i64.to_be_bytes());
    let segment = [batch(0, 2, 10, 1), forged, last].concat();
    std::fs::write(dir.join("00000000000000000000.log"), &segment).unwrap();

    // Framing, CRCs and offsets are fine: a normal recovery keeps all three batches, and a
    // read of the forged one fails.
    let log = open(dir, options(None, None, RecoveryMode::default())).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    assert!(try_read_all(&log).is_err());
    drop(log);

    let log = open(dir, options(None, None, RecoveryMode::TruncateCorrupt)).unwrap();
    assert_eq!(log.log_end_offset(), 2, "cut before the forged batch");
    assert_eq!(try_read_all(&log).unwrap().len(), 2);
}

/// A batch in a codec this build cannot read (Kafka's snappy) is not damage: a repairing
/// open keeps it, and reading it is `UnsupportedCompressionType` (found by fuzzing).
#[test]
fn truncate_corrupt_keeps_a_batch_in_a_codec_it_cannot_read() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let mut snappy = batch(2, 3, 10, 2);
    snappy[..8].copy_from_slice(&2i64.to_be_bytes());
    snappy[22] = (snappy[22] & !0x07) | 2; // attributes: compression type 2, snappy
    common::reseal(&mut snappy);
    let mut last = batch(5, 1, 10, 3);
    last[..8].copy_from_slice(&5i64.to_be_bytes());
    let segment = [batch(0, 2, 10, 1), snappy, last].concat();
    std::fs::write(dir.join("00000000000000000000.log"), &segment).unwrap();

    let log = open(dir, options(None, None, RecoveryMode::TruncateCorrupt)).unwrap();
    assert_eq!(log.log_end_offset(), 6, "nothing cut");
    let err = try_read_all(&log).unwrap_err();
    assert!(matches!(err, Error::UnsupportedCompressionType(_)), "{err}");
}

/// A partition whose segment files are all gone, though its recovery point says it held
/// data: an error, or with `TruncateCorrupt` an empty log that restarts at the recovery
/// point, so that no offset a reader saw is given to another record.
#[test]
fn a_partition_without_files_restarts_at_its_recovery_point_when_repaired() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let err = open(dir, options(Some(10), None, RecoveryMode::default())).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    let log = open(dir, options(Some(10), None, RecoveryMode::TruncateCorrupt)).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 10));
    assert_eq!(log.append(&batch(0, 1, 10, 1)).unwrap().first_offset, 10);
    drop(log);
    let reopened = LogOptions {
        log_start_offset: 10, // as the cluster's checkpoint records it
        ..options(Some(11), None, RecoveryMode::default())
    };
    let log = open(dir, reopened).unwrap();
    assert_eq!(try_read_all(&log).unwrap().len(), 1);
}

#[test]
fn damage_below_the_recovery_point_is_found_when_read() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let first = segment_files(&source, ".log").remove(0);
    let len = std::fs::metadata(&first).unwrap().len() as usize;
    let active_size = std::fs::metadata(segment_files(&source, ".log").pop().unwrap())
        .unwrap()
        .len();
    let scratch = root.path().join("scratch");
    for position in 0..len {
        with_damage(
            &source,
            &scratch,
            &name(&first),
            |b| b[position] ^= 1 << (position % 8),
            |dir| {
                // A clean open trusts the files and reads none of them...
                let log = open(
                    dir,
                    options(Some(36), Some(active_size), RecoveryMode::default()),
                )
                .unwrap();
                // ...and the damage surfaces as an error on read, never as wrong data.
                match try_read_all(&log) {
                    Ok(records) => assert_eq!(records, original, "byte {position}"),
                    Err(Error::Corruption { path, .. }) => assert_eq!(name(&path), name(&first)),
                    Err(other) => panic!("byte {position}: {other}"),
                }
            },
        );
    }
}

#[test]
fn damaged_indexes_are_rebuilt_with_identical_reads() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let active_size = std::fs::metadata(segment_files(&source, ".log").pop().unwrap())
        .unwrap()
        .len();
    let scratch = root.path().join("scratch");
    let lookups = |log: &Log| -> Vec<Option<(i64, i64)>> {
        (995..1025)
            .map(|ts| log.offset_for_timestamp(ts).unwrap())
            .collect()
    };
    let expected_lookups = lookups(
        &open(
            &source,
            options(Some(36), Some(active_size), RecoveryMode::default()),
        )
        .unwrap(),
    );
    std::fs::remove_dir_all(&scratch).ok();
    for suffix in [".index", ".timeindex"] {
        let index = segment_files(&source, suffix).remove(0);
        let len = std::fs::metadata(&index).unwrap().len() as usize;
        assert!(len > 0);
        for position in 0..len {
            for damage in 0..2 {
                with_damage(
                    &source,
                    &scratch,
                    &name(&index),
                    |b| {
                        if damage == 0 {
                            b[position] ^= 0x80
                        } else {
                            b.truncate(position)
                        }
                    },
                    |dir| {
                        let log = open(
                            dir,
                            options(Some(36), Some(active_size), RecoveryMode::default()),
                        )
                        .unwrap();
                        assert_eq!(
                            try_read_all(&log).unwrap(),
                            original,
                            "{suffix} byte {position}"
                        );
                        assert_eq!(lookups(&log), expected_lookups, "{suffix} byte {position}");
                    },
                );
            }
        }
    }
}

#[test]
fn an_index_pointing_past_the_log_is_rebuilt() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    let original = pristine(&source);
    let active_size = std::fs::metadata(segment_files(&source, ".log").pop().unwrap())
        .unwrap()
        .len();
    let index = segment_files(&source, ".index").remove(0);
    let mut entry = Vec::new();
    entry.extend_from_slice(&5u32.to_be_bytes());
    entry.extend_from_slice(&900_000u32.to_be_bytes());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&index)
        .unwrap();
    let mut bytes = std::fs::read(&index).unwrap();
    bytes.extend_from_slice(&entry);
    std::fs::write(&index, &bytes).unwrap();
    let log = open(
        &source,
        options(Some(36), Some(active_size), RecoveryMode::default()),
    )
    .unwrap();
    assert_eq!(try_read_all(&log).unwrap(), original);
    assert!(
        std::fs::metadata(&index).unwrap().len() < bytes.len() as u64,
        "rewritten"
    );
}

#[test]
fn garbage_after_a_clean_close_is_noticed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let cluster = Cluster::open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    cluster
        .partition("t", 0)
        .unwrap()
        .append(&batch(0, 4, 10, 1))
        .unwrap();
    cluster.close().unwrap();
    let log_path = dir.join("t-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&log_path).unwrap();
    bytes.extend_from_slice(b"garbage that is not a batch");
    std::fs::write(&log_path, &bytes).unwrap();
    let cluster = Cluster::open(dir).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.log_end_offset(), 4);
    log.append(&batch(4, 1, 10, 1)).unwrap();
    assert_eq!(
        try_read_all(&log).unwrap().len(),
        5,
        "new appends follow the valid data"
    );
}

#[test]
fn a_crash_leaves_a_recoverable_directory() {
    // A snapshot of the directory while the cluster is open is what a process crash leaves:
    // the page cache, no clean-shutdown marker, preallocated space after the data.
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let cluster = Cluster::open(&live).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 2).config("segment.bytes", "3000"))
        .unwrap();
    for i in 0..40 {
        cluster
            .partition("t", (i % 2) as i32)
            .unwrap()
            .append(&batch(i, 3, 50, 1))
            .unwrap();
    }
    let crashed = root.path().join("crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    for entry in std::fs::read_dir(&live).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &crashed.join(entry.file_name()));
        } else if entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), crashed.join(entry.file_name())).unwrap();
        }
    }
    let active = segment_files(&crashed.join("t-0"), ".log").pop().unwrap();
    assert!(
        std::fs::metadata(&active).unwrap().len() > 2000,
        "preallocated tail present"
    );
    let recovered = Cluster::open(&crashed).unwrap();
    for p in 0..2 {
        let log = recovered.partition("t", p).unwrap();
        assert_eq!(log.log_end_offset(), 60);
        assert_eq!(try_read_all(&log).unwrap().len(), 60);
    }
}

#[test]
fn bad_files_in_a_partition_directory() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    pristine(&source);
    let scratch = root.path().join("scratch");

    copy_dir(&source, &scratch);
    std::fs::write(scratch.join("notes.txt"), b"ignored").unwrap();
    std::fs::write(scratch.join("abc.log"), b"").unwrap();
    let err = open(&scratch, options(Some(36), None, RecoveryMode::default())).unwrap_err();
    assert!(
        matches!(err, Error::Corruption { ref path, .. } if path.ends_with("abc.log")),
        "{err}"
    );
    std::fs::remove_file(scratch.join("abc.log")).unwrap();

    std::fs::write(scratch.join("00000000000000099999.index"), b"orphan").unwrap();
    open(&scratch, options(Some(36), None, RecoveryMode::default())).unwrap();
    assert!(
        !scratch.join("00000000000000099999.index").exists(),
        "orphan index removed"
    );
    assert!(scratch.join("notes.txt").exists());

    let first = segment_files(&scratch, ".log").remove(0);
    std::fs::write(&first, b"").unwrap();
    let err = open(&scratch, options(Some(36), None, RecoveryMode::default())).unwrap_err();
    assert!(
        matches!(err, Error::Corruption { ref path, .. } if *path == first),
        "{err}"
    );
}

#[test]
fn an_empty_active_segment_opens() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let log = open(dir, options(None, None, RecoveryMode::default())).unwrap();
    log.append(&batch(0, 2, 10, 1)).unwrap();
    log.roll().unwrap();
    drop(log);
    let active = segment_files(dir, ".log").pop().unwrap();
    assert_eq!(std::fs::metadata(&active).unwrap().len(), 0);
    let log = open(dir, options(None, None, RecoveryMode::default())).unwrap();
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(try_read_all(&log).unwrap().len(), 2);
}

/// A clean open trusts the checkpoints: it reads no sealed segment, and of the active one
/// only the tail from its last index entry, to check that it ends where the checkpoint says.
#[test]
fn a_clean_open_reads_only_the_active_segment_tail() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let dir = data.as_path();
    let cluster = Cluster::open(dir).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 3).config("segment.bytes", "2000"))
        .unwrap();
    for i in 0..30 {
        cluster
            .partition("t", i % 3)
            .unwrap()
            .append(&batch(i as usize, 4, 40, 1))
            .unwrap();
    }
    cluster.close().unwrap();
    let clean = root.path().join("clean");
    copy_tree(dir, &clean);
    // Scribble over every sealed segment byte, keeping the lengths: only a scan could notice.
    let mut scribbled = 0;
    for p in 0..3 {
        let mut logs = segment_files(&dir.join(format!("t-{p}")), ".log");
        logs.pop();
        for file in logs {
            let len = std::fs::metadata(&file).unwrap().len() as usize;
            std::fs::write(&file, vec![0xab; len]).unwrap();
            scribbled += 1;
        }
    }
    assert!(scribbled >= 3);
    let cluster = Cluster::open(dir).unwrap();
    assert!(
        !dir.join(".kafka_cleanshutdown").exists(),
        "a crash from now on is unclean"
    );
    for p in cluster.describe_topic("t").unwrap().partitions {
        assert_eq!(p.log_end_offset, 40, "offsets come from the checkpoint");
    }
    let err = try_read_all(&cluster.partition("t", 0).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    drop(cluster);
    // Dropping the last handle closes cleanly too; without the marker, recovery scans the
    // segments holding unsynced data, finds them intact, and the damage surfaces on read.
    std::fs::remove_file(dir.join(".kafka_cleanshutdown")).unwrap();
    let cluster = Cluster::open(dir).unwrap();
    let err = try_read_all(&cluster.partition("t", 0).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
    drop(cluster);

    // The active segment's tail scribbled: the shutdown record no longer matches the data,
    // so the open recovers and reports the damage, below the recovery point.
    let active = segment_files(&clean.join("t-0"), ".log").pop().unwrap();
    let len = std::fs::metadata(&active).unwrap().len() as usize;
    std::fs::write(&active, vec![0xab; len]).unwrap();
    let err = Cluster::open(&clean).unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn timestamp_lookups_never_answer_from_a_damaged_base_offset() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("source");
    pristine(&source);
    let active_size = std::fs::metadata(segment_files(&source, ".log").pop().unwrap())
        .unwrap()
        .len();
    let lookups = |log: &Log| -> Vec<kafkalite::Result<Option<(i64, i64)>>> {
        (995..1025).map(|ts| log.offset_for_timestamp(ts)).collect()
    };
    let expected: Vec<Option<(i64, i64)>> = lookups(
        &open(
            &source,
            options(Some(36), Some(active_size), RecoveryMode::default()),
        )
        .unwrap(),
    )
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let first = segment_files(&source, ".log").remove(0);
    let bytes = std::fs::read(&first).unwrap();
    let batch_starts: Vec<usize> = kafkalite::record::BatchIter::new(&bytes)
        .map(|item| item.unwrap().0)
        .collect();
    let scratch = root.path().join("scratch");
    let mut refused = 0;
    for start in batch_starts {
        // baseOffset (bytes 0-7 of a batch) is outside the CRC.
        for byte in start..start + 8 {
            with_damage(
                &source,
                &scratch,
                &name(&first),
                |b| b[byte] ^= 0x04,
                |dir| {
                    let log = open(
                        dir,
                        options(Some(36), Some(active_size), RecoveryMode::default()),
                    )
                    .unwrap();
                    for (got, want) in lookups(&log).into_iter().zip(&expected) {
                        match got {
                            Ok(found) => assert_eq!(&found, want, "byte {byte}"),
                            Err(Error::Corruption { .. }) => refused += 1,
                            Err(other) => panic!("byte {byte}: {other}"),
                        }
                    }
                },
            );
        }
    }
    assert!(refused > 0, "damaged base offsets are reported");
}

/// A batch (timestamp 5) whose record `index` does not decode (its key length runs past its
/// end) under a matching CRC: what only a change behind kafkalite's back leaves on disk.
fn forged(first: usize, count: usize, index: usize) -> Vec<u8> {
    let mut forged = batch(first, count, 10, 5);
    forged[..8].copy_from_slice(&(first as i64).to_be_bytes());
    let spans = common::record_spans(&forged);
    forged[spans[index].start + 4] = 0x7e;
    common::reseal(&mut forged);
    forged
}

/// A cluster with topic `t` whose only segment holds `batches`, opened again.
fn cluster_holding(dir: &Path, batches: &[Vec<u8>]) -> (Cluster, PathBuf) {
    let cluster = Cluster::open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    cluster.close().unwrap();
    drop(cluster);
    let segment = dir.join("t-0/00000000000000000000.log");
    std::fs::write(&segment, batches.concat()).unwrap();
    let _ = std::fs::remove_file(dir.join(".kafka_cleanshutdown"));
    (Cluster::open(dir).unwrap(), segment)
}

/// Whether `error` is a `Corruption` at `position` of `path` (the batch holding the record).
fn is_corruption_at(error: &Error, path: &Path, position: u64) -> bool {
    matches!(error, Error::Corruption { path: p, position: at, .. } if p == path && *at == position)
}

/// Every read path that decodes records reports one that does not decode as damage on disk
/// (`Corruption`, with the file and the batch's position), not as a bad batch from the
/// caller (`CorruptRecord`).
#[test]
fn a_record_that_does_not_decode_on_disk_is_corruption_on_every_read_path() {
    use kafkalite::{Compression, ConsumerConfig, Offset, OffsetSpec, TopicPartition};
    let first = batch(0, 2, 10, 1);
    let at = first.len() as u64;

    // offsets_for_times decodes the records of the batch the timestamp falls in.
    let dir = tempfile::tempdir().unwrap();
    let (cluster, segment) = cluster_holding(dir.path(), &[first.clone(), forged(2, 3, 0)]);
    let tp = TopicPartition::new("t", 0);
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp.clone(), Offset::At(0))]).unwrap();
    let err = consumer.offsets_for_times(&[(tp.clone(), 2)]).unwrap_err();
    assert!(is_corruption_at(&err, &segment, at), "{err}");
    let err = cluster
        .list_offset("t", 0, OffsetSpec::ForTimestamp(2))
        .unwrap_err();
    assert!(is_corruption_at(&err, &segment, at), "{err}");
    drop((consumer, cluster));

    // A poll decompresses an lz4 batch; here its frame is garbage under a matching CRC.
    let dir = tempfile::tempdir().unwrap();
    let mut lz4 = kafkalite::BatchBuilder::new().compression(Compression::Lz4);
    lz4.append(1, Some(b"k2"), Some(b"v2"), &[]).unwrap();
    let mut lz4 = lz4.build().unwrap();
    let section = kafkalite::record::BATCH_HEADER_BYTES;
    lz4[section..section + 4].copy_from_slice(&[0; 4]); // the lz4 frame's magic number
    common::reseal(&mut lz4);
    let mut lz4_at_2 = lz4;
    lz4_at_2[..8].copy_from_slice(&2i64.to_be_bytes());
    let (cluster, segment) = cluster_holding(dir.path(), &[first.clone(), lz4_at_2]);
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp.clone(), Offset::At(2))]).unwrap();
    let polled = consumer.poll(std::time::Duration::ZERO).unwrap();
    assert_eq!(polled.iter().count(), 0);
    let errors = polled.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        is_corruption_at(&errors[0].1, &segment, at),
        "{}",
        errors[0].1
    );
    drop((consumer, cluster));

    // Opening replays the metadata log, decoding every record.
    let dir = tempfile::tempdir().unwrap();
    let (cluster, _) = cluster_holding(dir.path(), &[first]);
    cluster.close().unwrap();
    drop(cluster);
    let metadata = dir
        .path()
        .join("__cluster_metadata-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&metadata).unwrap();
    let (last_at, last) = kafkalite::record::BatchIter::new(&bytes)
        .map_while(Result::ok)
        .last()
        .unwrap();
    let last_end = last_at + last.size();
    let spans = common::record_spans(&bytes[last_at..last_end]);
    bytes[last_at + spans[0].start] = 0x01; // the record's length: -1
    common::reseal(&mut bytes[last_at..last_end]);
    std::fs::write(&metadata, bytes).unwrap();
    let err = Cluster::open(dir.path()).unwrap_err();
    assert!(is_corruption_at(&err, &metadata, last_at as u64), "{err}");
}

#[test]
fn recovery_seals_the_time_index_of_sealed_segments() {
    // The first segment's largest timestamp arrives after its last index entry, so only the
    // final entry written when the segment is sealed (Kafka's `timeIndex.maybeAppend` at roll,
    // close and the end of `LogSegment.recover`) records it. Recovery rebuilt the index
    // without that entry and wrote it out: once loaded from the files, the segment's largest
    // timestamp read as the older one and lookups skipped the whole segment.
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), options(None, None, RecoveryMode::default())).unwrap();
    log.append(&batch(0, 1, 200, 1000)).unwrap();
    log.append(&batch(1, 1, 1, 1000)).unwrap();
    log.append(&batch(2, 1, 1, 2000)).unwrap();
    log.roll().unwrap();
    log.append(&batch(3, 1, 1, 3000)).unwrap();
    assert_eq!(log.offset_for_timestamp(1500).unwrap(), Some((2, 2000)));
    // A crash: no close.
    let durable = log.durable_offset();
    drop(log);
    let log = open(
        dir.path(),
        options(Some(durable), None, RecoveryMode::default()),
    )
    .unwrap();
    assert_eq!(log.offset_for_timestamp(1500).unwrap(), Some((2, 2000)));
    log.close().unwrap();
    let size = log.active_segment_size();
    let end = log.log_end_offset();
    drop(log);
    let log = open(
        dir.path(),
        options(Some(end), Some(size), RecoveryMode::default()),
    )
    .unwrap();
    assert_eq!(log.offset_for_timestamp(1500).unwrap(), Some((2, 2000)));
    assert_eq!(log.offset_for_timestamp(1000).unwrap(), Some((0, 1000)));
    assert_eq!(log.offset_for_timestamp(2500).unwrap(), Some((3, 3000)));
}
