//! The swap protocol under power cuts: a replacement cut at any storage operation, resolved
//! every way a power loss can, recovers at open to the old log or the new one, never a mix,
//! and leaves none of the protocol's files behind.

use std::collections::HashMap;
use std::path::Path;

use super::swap::replace_segments;
use crate::config::TopicConfig;
use crate::log::{Log, RecoveryReport};
use crate::record::{empty_batch, filter_batch, BatchBuilder, BatchIter, Filtered};
use crate::storage::{FaultPlan, OpenMode, PowerLoss, SimStorage, Storage};

const ROOT: &str = "/sim";
use crate::log::test_log::DIR;

type Contents = Vec<(i64, Vec<u8>, Vec<u8>)>;

fn open(sim: &SimStorage) -> crate::Result<(Log, RecoveryReport)> {
    open_at(sim, Some(24))
}

/// Opens the log, `recovery_point` as its checkpoint would say.
fn open_at(sim: &SimStorage, recovery_point: Option<i64>) -> crate::Result<(Log, RecoveryReport)> {
    let config = TopicConfig::from_overrides([("cleanup.policy", "compact")]).unwrap();
    crate::log::test_log::open(sim, config, recovery_point)
}

fn read_all(log: &Log) -> Contents {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let data = log.read(offset, 1 << 20).unwrap();
        for batch in data.batches() {
            let batch = batch.unwrap();
            for record in batch.records().unwrap().iter() {
                let record = record.unwrap();
                let key = record.key.unwrap_or_default().to_vec();
                out.push((
                    record.offset,
                    key,
                    record.value.unwrap_or_default().to_vec(),
                ));
            }
            offset = batch.next_offset();
        }
    }
    out
}

/// Segments 0, 8 and 16 of 4 two-record batches each over keys `k0`..`k2`, and an empty
/// active segment at 24; then two cleaned segments, as Kafka's cleaner would write them
/// (the latest record of each key kept, emptied batches kept as empty batches), written and
/// synced: `0.log.cleaned` for segments 0 and 8, `16.log.cleaned` for segment 16. Returns
/// the disk and the records before and after.
fn prepared() -> (SimStorage, Contents, Contents) {
    let sim = SimStorage::new(Path::new(ROOT));
    let log = filled(&sim);
    let before = read_all(&log);
    log.close().unwrap();
    let mut latest = HashMap::new();
    for (offset, key, _) in &before {
        latest.insert(key.clone(), *offset);
    }
    for (new, old) in [(0, &[0, 8][..]), (16, &[16][..])] {
        let mut cleaned = Vec::new();
        for &base in old {
            let path = super::super::segment::segment_path(Path::new(DIR), base, ".log");
            let bytes = sim.read_file(&path).unwrap();
            for item in BatchIter::new(&bytes) {
                let (_, batch) = item.unwrap();
                let (filtered, _) = filter_batch(&batch, usize::MAX, 0, |offset, key, _| {
                    latest[&key.unwrap().to_vec()] == offset
                })
                .unwrap();
                match filtered {
                    Filtered::Unchanged => cleaned.extend_from_slice(batch.as_bytes()),
                    Filtered::Rebuilt(rebuilt) => cleaned.extend_from_slice(&rebuilt),
                    Filtered::Emptied => cleaned.extend_from_slice(&empty_batch(&batch)),
                }
            }
        }
        let name = format!(
            "{DIR}/{}.log.cleaned",
            super::super::segment::file_stem(new)
        );
        let file = sim.open(Path::new(&name), OpenMode::Create).unwrap();
        file.write_at(&[&cleaned], 0).unwrap();
        file.sync_data().unwrap();
    }
    sim.sync_dir(Path::new(DIR)).unwrap();
    let after: Contents = before
        .iter()
        .filter(|(offset, key, _)| latest[key] == *offset)
        .cloned()
        .collect();
    assert_eq!(after.len(), 3, "the cleaning keeps one record of each key");
    (sim, before, after)
}

/// A log of segments 0, 8 and 16, each of 4 two-record batches over keys `k0`..`k2`, and
/// an empty active segment at 24.
fn filled(sim: &SimStorage) -> Log {
    let (log, _) = open_at(sim, None).unwrap();
    for i in 0..12_i64 {
        let mut builder = BatchBuilder::new();
        for j in 0..2 {
            let n = i * 2 + j;
            let key = format!("k{}", n % 3);
            let value = format!("v{n}");
            builder
                .append(n, Some(key.as_bytes()), Some(value.as_bytes()), &[])
                .unwrap();
        }
        log.append(&builder.build().unwrap()).unwrap();
        if i % 4 == 3 {
            log.roll().unwrap();
        }
    }
    log
}

fn leftovers(sim: &SimStorage) -> Vec<String> {
    sim.list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .filter(|name| {
            [".cleaned", ".swap", ".deleted"]
                .iter()
                .any(|m| name.ends_with(m))
        })
        .collect()
}

#[test]
fn a_replacement_cut_anywhere_recovers_to_the_old_log_or_the_new() {
    let (prepared, before, after) = prepared();
    let run = |plan: FaultPlan| {
        let sim = prepared.after_power_loss(PowerLoss::KeepAll, 0);
        sim.set_plan(plan);
        let done = replace_segments(&sim, Path::new(DIR), &[0, 16], &[0, 8, 16]);
        (sim, done)
    };
    let (whole, done) = run(FaultPlan::default());
    done.unwrap();
    let total = whole.operations();
    let (log, _) = open(&whole).unwrap();
    assert_eq!(
        read_all(&log),
        after,
        "a finished replacement reads as the new log"
    );
    assert_eq!(log.segments().len(), 3, "segments 0 and 8 became one");
    assert_eq!(leftovers(&whole), Vec::<String>::new());
    let (mut completed, mut rolled_back) = (0, 0);
    for cut in 1..=total {
        let (cut_short, _) = run(FaultPlan {
            power_cut_at: Some(cut),
            fail: None,
        });
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            let seed = cut * 8 + i as u64;
            let case = format!("cut at operation {cut} of {total}, {how:?}, seed {seed}");
            let disk = cut_short.after_power_loss(how, seed);
            let (log, report) = open(&disk).unwrap_or_else(|e| panic!("{case}: {e}"));
            let contents = read_all(&log);
            let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
            let old = contents == before && bases == [0, 8, 16, 24];
            let new = contents == after && bases == [0, 16, 24];
            assert!(
                old || new,
                "{case}: a mix: segments {bases:?}, {contents:?}"
            );
            assert!(
                contents == before || contents == after,
                "{case}: a mix: {contents:?}"
            );
            assert_eq!(leftovers(&disk), Vec::<String>::new(), "{case}");
            completed += report.swap_files_completed;
            rolled_back += report.cleaning_files_rolled_back;
            log.close().unwrap();
            // Recovered once, it opens the same again.
            let (again, _) = open(&disk).unwrap();
            assert_eq!(read_all(&again), contents, "{case}: reopened");
        }
    }
    assert!(completed > 0 && rolled_back > 0, "both ways out were taken");
}

#[test]
fn an_aborted_cleaning_stops_and_leaves_the_log_as_it_was() {
    let sim = SimStorage::new(Path::new(ROOT));
    let log = filled(&sim);
    let before = read_all(&log);
    log.abort_cleaning();
    assert!(matches!(
        log.clean(None, 1_000, 1 << 20),
        Err(crate::Error::Closed)
    ));
    log.stop_cleaning();
    assert_eq!(read_all(&log), before);
    assert_eq!(log.segments().len(), 4);
    assert_eq!(leftovers(&sim), Vec::<String>::new());
    // Not aborted, the same log cleans.
    let other = SimStorage::new(Path::new(ROOT));
    let log = filled(&other);
    let stats = log.clean(None, 1_000, 1 << 20).unwrap().unwrap();
    assert_eq!(stats.records_kept, 3);
}

/// Every file in the log directory with its bytes.
fn files(sim: &SimStorage) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = sim
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = sim.read_file(&Path::new(DIR).join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_reader_holding_replaced_segments_leaves_the_new_files_alone() {
    let sim = SimStorage::new(Path::new(ROOT));
    let log = filled(&sim);
    let before = read_all(&log);
    log.close().unwrap();
    // Reopened cleanly, the segments load their indexes at first use.
    let (log, _) = open(&sim).unwrap();
    let held = log.segment_list();
    log.clean(None, 1_000, 1 << 20).unwrap().unwrap();
    let cleaned = files(&sim);
    for segment in held.iter() {
        drop(segment.index(4096).unwrap());
        segment.write_index_files().unwrap();
        segment.sync_index_files().unwrap();
        let batches = segment.scan_all().unwrap().count();
        assert_eq!(
            batches,
            if segment.size() == 0 { 0 } else { 4 },
            "its own bytes"
        );
    }
    assert_eq!(files(&sim), cleaned, "the replaced segments wrote nothing");
    let kept: Contents = before.into_iter().filter(|r| r.0 >= 21).collect();
    assert_eq!(read_all(&log), kept, "the latest record of each key");
}

#[test]
fn replaced_segments_rolled_but_not_synced_leave_no_files_behind() {
    let sim = SimStorage::new(Path::new(ROOT));
    // Segments 0, 8 and 16 rolled, none synced yet.
    let log = filled(&sim);
    log.clean(None, 1_000, 1 << 20).unwrap().unwrap();
    log.sync().unwrap();
    let mut names: Vec<String> = files(&sim).into_iter().map(|(name, _)| name).collect();
    // Producer snapshots are named by offsets, not segments (Kafka's cleaner leaves them).
    names.retain(|name| {
        !name.ends_with(".checkpoint") && !name.ends_with(".snapshot") && name.starts_with('0')
    });
    let stems: Vec<&str> = names.iter().map(|n| &n[..20]).collect();
    for (name, stem) in names.iter().zip(&stems) {
        assert!(
            names.contains(&format!("{stem}.log")),
            "{name} has no segment: {names:?}"
        );
    }
}
