//! A power cut anywhere in a repair loses no segment a repair keeps: whatever the cut leaves,
//! the next open either refuses it (`Corruption`, never a log with a hole in its offsets)
//! or a repair finishes the job, with every later segment and a copy of the damaged one in
//! the salvage directory, byte for byte.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::read_all;
use kafkalite::storage::{FaultPlan, PowerLoss, SimStorage, Storage};
use kafkalite::{
    BatchBuilder, Error, Log, LogOptions, MockClock, RecoveryMode, RecoveryReport, TopicConfig,
};

const ROOT: &str = "/sim";
const DIR: &str = "/sim/t-0";
const SALVAGE: &str = "/sim/t-0.salvaged";

fn open(
    sim: &SimStorage,
    mode: RecoveryMode,
    recovery_point: Option<i64>,
) -> kafkalite::Result<(Log, RecoveryReport)> {
    let config = TopicConfig::from_overrides([("segment.bytes", "4096")]).unwrap();
    let options = LogOptions {
        name: "t-0".into(),
        recovery_point,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: mode,
        salvage_dir: (mode == RecoveryMode::TruncateCorrupt).then(|| PathBuf::from(SALVAGE)),
    };
    Log::open(
        Arc::new(sim.clone()),
        Path::new(DIR),
        Arc::new(config),
        Arc::new(MockClock::new(0)),
        options,
    )
}

/// A batch of `count` records without headers, so that every record (and the batch) ends
/// with a zero byte, the header count.
fn batch(first: usize, count: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    for i in first..first + count {
        let value = format!("v{i}-").into_bytes().repeat(40);
        builder
            .append(1000, Some(format!("k{i}").as_bytes()), Some(&value), &[])
            .unwrap();
    }
    builder.build().unwrap()
}

/// The log before the damage: its records, end offset and segment files (name, bytes).
struct Original {
    records: Vec<(i64, Vec<u8>, Vec<u8>)>,
    /// The damaged segment's bytes.
    damaged: Vec<u8>,
    /// How many records of the first segment and a half (the batch before the damaged one).
    before_damage: usize,
    end: i64,
    segments: Vec<(String, Vec<u8>)>,
}

/// A synced log of at least five segments whose second one has a flipped byte in its second batch.
fn damaged() -> (SimStorage, Original) {
    let sim = SimStorage::new(Path::new(ROOT));
    let (log, _) = open(&sim, RecoveryMode::default(), None).unwrap();
    for i in 0..30 {
        log.append(&batch(i * 4, 4)).unwrap();
    }
    log.sync().unwrap();
    let records = read_all(&log);
    let end = log.log_end_offset();
    log.close().unwrap();
    drop(log);
    let mut names: Vec<String> = sim
        .list(Path::new(DIR))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n.ends_with(".log"))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    let segments: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| (n.clone(), sim.read_file(&Path::new(DIR).join(n)).unwrap()))
        .collect();
    let first_segment = first_segment_records(&segments[0].1);
    let (name, bytes) = &segments[1];
    let mut bytes = bytes.clone();
    // A v2 batch: base offset (8 bytes), then its length after that field (4).
    let second_batch = 12 + u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    bytes[second_batch + 100] ^= 0x01;
    sim.replace_file(&Path::new(DIR).join(name), &bytes, true)
        .unwrap();
    assert_eq!(bytes.last(), Some(&0), "the segment ends in a zero byte");
    let original = Original {
        records,
        damaged: bytes,
        before_damage: first_segment + 4,
        end,
        segments,
    };
    (sim.after_power_loss(PowerLoss::KeepAll, 0), original)
}

/// Reads from the start: each read returns the offset asked for, until one reports
/// `Corruption`. A log with a hole in its offsets fails this.
fn reads_reach_the_damage(log: &Log) -> Result<(), String> {
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let data = match log.read(offset, 64 * 1024) {
            Err(Error::Corruption { .. }) => return Ok(()),
            Err(other) => return Err(format!("read at {offset}: {other}")),
            Ok(data) => data,
        };
        let mut batches = data.batches().peekable();
        if batches.peek().is_none() {
            return Err(format!("nothing at {offset}, below the end"));
        }
        for batch in batches {
            let Ok(batch) = batch else {
                return Ok(());
            };
            if batch.base_offset() > offset {
                return Err(format!(
                    "offsets {offset}..{} are missing",
                    batch.base_offset()
                ));
            }
            offset = batch.last_offset() + 1;
        }
    }
    Err(format!(
        "read to the end ({offset}) without finding the damage"
    ))
}

/// How many records a segment file holds (each batch of `damaged` holds 4).
fn first_segment_records(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut batches = 0;
    while at + 12 <= bytes.len() {
        at += 12 + u32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        batches += 1;
    }
    batches * 4
}

/// Checks what a cut at `cut` during a repair left, resolved `how`.
fn check_cut(base: &SimStorage, original: &Original, cut: u64, how: PowerLoss, seed: u64) {
    let case = format!("cut at operation {cut}, {how:?}, seed {seed}");
    let sim = base.after_power_loss(PowerLoss::KeepAll, 0);
    sim.set_plan(FaultPlan {
        power_cut_at: Some(cut),
        fail: None,
    });
    drop(open(
        &sim,
        RecoveryMode::TruncateCorrupt,
        Some(original.end),
    ));
    let after = sim.after_power_loss(how, seed);

    // An open that is not a repair trusts synced segments unread (as Kafka does), so it may
    // open the log; then its reads reach the damage and report it, and never skip offsets.
    match open(&after, RecoveryMode::default(), Some(original.end)) {
        Err(Error::Corruption { .. }) => {}
        Err(other) => panic!("{case}: {other}"),
        Ok((log, report)) => {
            if let Err(why) = reads_reach_the_damage(&log) {
                panic!("{case}: {why} ({report})");
            }
        }
    }

    // A repair finishes: the records before the damage, nothing after it lost.
    let (log, report) = open(&after, RecoveryMode::TruncateCorrupt, Some(original.end))
        .unwrap_or_else(|e| panic!("{case}: the repair failed: {e}"));
    assert_eq!(
        read_all(&log),
        original.records[..original.before_damage],
        "{case}: {report}"
    );
    for (name, bytes) in &original.segments[2..] {
        let moved = after.read_file(&Path::new(SALVAGE).join(name)).ok();
        assert!(
            moved.as_ref() == Some(bytes),
            "{case}: {name} is not in the salvage directory as it was ({:?} bytes there)",
            moved.map(|m| m.len())
        );
        assert!(!after.exists(&Path::new(DIR).join(name)), "{case}: {name}");
    }
    let (name, _) = &original.segments[1];
    let copy = after.read_file(&Path::new(SALVAGE).join(name)).ok();
    assert!(
        copy.as_ref() == Some(&original.damaged),
        "{case}: the damaged segment's copy is not it, whole ({:?} bytes of {})",
        copy.map(|c| c.len()),
        original.damaged.len()
    );
}

#[test]
fn a_power_cut_anywhere_in_a_repair_loses_no_segment() {
    let (base, original) = damaged();
    let total = {
        let sim = base.after_power_loss(PowerLoss::KeepAll, 0);
        sim.set_plan(FaultPlan::default());
        drop(open(&sim, RecoveryMode::TruncateCorrupt, Some(original.end)).unwrap());
        sim.operations()
    };
    for cut in 1..=total + 1 {
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            check_cut(&base, &original, cut, how, cut * 16 + i as u64);
        }
    }
}
