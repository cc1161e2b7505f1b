//! Indexes are derived data: one that is missing at first use is rebuilt from the log, and a
//! read goes on even when the rebuilt index cannot be written back (a full disk).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{batch, read_all};
use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage, Storage};
use kafkalite::{Log, LogOptions, MockClock, RecoveryMode, TopicConfig};

const DIR: &str = "/sim/t-0";

/// Opens the log; `clean` is the end offset and active segment size recorded at a clean
/// close (as the cluster's checkpoints do), so nothing is scanned at open.
fn open(sim: &SimStorage, clean: Option<(i64, u64)>) -> Log {
    let config = TopicConfig::from_overrides([("segment.bytes", "4096")]).unwrap();
    let options = LogOptions {
        name: "t-0".into(),
        recovery_point: clean.map(|(end, _)| end),
        log_start_offset: 0,
        clean_active_size: clean.map(|(_, size)| size),
        recovery_mode: RecoveryMode::TolerateCorruptTail,
        salvage_dir: None,
    };
    Log::open(
        Arc::new(sim.clone()),
        Path::new(DIR),
        Arc::new(config),
        Arc::new(MockClock::new(0)),
        options,
    )
    .unwrap()
    .0
}

#[test]
fn a_read_that_rebuilds_an_index_works_on_a_full_disk() {
    let sim = SimStorage::new(Path::new("/sim"));
    let log = open(&sim, None);
    for i in 0..20 {
        log.append(&batch(i * 2, 2, 300, 1000)).unwrap();
    }
    let records = read_all(&log);
    assert!(log.segments().len() >= 3);
    log.close().unwrap();
    let clean = (
        log.log_end_offset(),
        log.segments().last().unwrap().size_bytes,
    );
    drop(log);
    // The first segment's offset index is gone.
    let index = Path::new(DIR).join("00000000000000000000.index");
    sim.remove_file(&index).unwrap();

    let log = open(&sim, Some(clean));
    assert!(
        !sim.exists(&index),
        "a clean open rebuilds indexes only at first use"
    );
    // The disk is full: creating the index file again fails.
    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Create, 1, SimFailure::NoSpace)),
    });
    assert_eq!(read_all(&log), records);
    assert!(!sim.exists(&index), "the write back failed");
}
