//! loom models of the partition log's concurrency, run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom` (see `.ci/loom`). Under that
//! cfg the log's atomics and locks are loom's (`src/sync.rs`), so loom runs each model under
//! every interleaving of them (up to `LOOM_MAX_PREEMPTIONS`). Storage is `SimStorage`, whose
//! own locks are never held across a loom operation.
//!
//! - the published end offset: a reader never sees an offset it cannot read;
//! - the sticky failed flag: after a failed sync, no concurrent or later sync reports
//!   success for data it did not make durable;
//! - segment swap on retention: a reader racing retention reads from the log start it sees,
//!   or is told its offset is out of range, never finds a hole.
#![cfg(loom)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage};
use kafkalite::{BatchBuilder, Error, Log, LogOptions, MockClock, RecoveryMode, TopicConfig};

fn batch(first: usize, count: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    for i in first..first + count {
        builder
            .append(0, None, Some(format!("v{i}").as_bytes()), &[])
            .unwrap();
    }
    builder.build().unwrap()
}

fn open(sim: &SimStorage, overrides: &[(&str, &str)]) -> Arc<Log> {
    let config = TopicConfig::from_overrides(overrides.iter().copied()).unwrap();
    let options = LogOptions {
        name: "t-0".into(),
        recovery_point: None,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: RecoveryMode::TolerateCorruptTail,
    };
    let (log, _) = Log::open(
        Arc::new(sim.clone()),
        Path::new("/sim/t-0"),
        Arc::new(config),
        Arc::new(MockClock::new(0)),
        options,
    )
    .unwrap();
    Arc::new(log)
}

/// Every record value from `from` to the high watermark read when the call starts.
fn read_from(log: &Log, from: i64) -> kafkalite::Result<Vec<Vec<u8>>> {
    let end = log.high_watermark();
    let mut values = Vec::new();
    let mut offset = from;
    while offset < end {
        let data = log.read(offset, 1 << 16)?;
        assert!(!data.is_empty(), "no data at {offset}, below {end}");
        for batch in data.batches() {
            let batch = batch?;
            batch.verify_crc().unwrap();
            for record in batch.records()?.iter() {
                let record = record?;
                if record.offset >= offset && record.offset < end {
                    values.push(record.value.unwrap().to_vec());
                }
            }
            offset = batch.next_offset();
        }
    }
    Ok(values)
}

/// Runs `model` under loom and reports how many interleavings it explored.
fn explore(name: &str, model: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    loom::model(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        model();
    });
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("{name}: {runs} interleavings");
    assert!(runs > 1, "{name}: loom explored nothing");
}

fn values(range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|i| format!("v{i}").into_bytes()).collect()
}

#[test]
fn a_reader_never_sees_an_offset_it_cannot_read() {
    explore("published end offset", || {
        let sim = SimStorage::new(Path::new("/sim"));
        // Small segments: the second append rolls.
        let log = open(&sim, &[("segment.bytes", "120")]);
        let writer = {
            let log = Arc::clone(&log);
            loom::thread::spawn(move || {
                log.append(&batch(0, 2)).unwrap();
                log.append(&batch(2, 1)).unwrap();
            })
        };
        let seen = read_from(&log, 0).unwrap();
        assert_eq!(seen, values(0..seen.len()), "a prefix of what was appended");
        writer.join().unwrap();
        assert_eq!(read_from(&log, 0).unwrap(), values(0..3));
    });
}

#[test]
fn a_failed_sync_is_never_reported_as_success() {
    explore("sticky failed flag", || {
        let sim = SimStorage::new(Path::new("/sim"));
        let log = open(&sim, &[("flush.messages", "1")]);
        // The first data sync after the open fails.
        let syncs = sim.operations_of(SimOp::Sync);
        sim.set_plan(FaultPlan {
            power_cut_at: None,
            fail: Some((SimOp::Sync, syncs + 1, SimFailure::Eio)),
        });
        let appender = {
            let log = Arc::clone(&log);
            loom::thread::spawn(move || log.append(&batch(0, 1)).is_ok())
        };
        let target = log.log_end_offset();
        let synced = log.sync_to(target);
        let appended = appender.join().unwrap();
        assert!(
            !appended,
            "the only data sync failed, so the append cannot succeed"
        );
        assert!(
            synced.is_err() || target == 0,
            "a sync of data that never became durable"
        );
        if let Err(e) = synced {
            assert!(matches!(e, Error::Failed { .. } | Error::Io { .. }), "{e}");
        }
        assert_eq!(log.durable_offset(), 0);
        assert!(log.is_failed());
        assert!(matches!(log.sync(), Err(Error::Failed { .. })), "sticky");
    });
}

#[test]
fn a_reader_racing_retention_finds_no_hole() {
    explore("segment swap on retention", || {
        let sim = SimStorage::new(Path::new("/sim"));
        // One record per segment; retention by size keeps only the active segment.
        let log = open(&sim, &[("segment.bytes", "120"), ("retention.bytes", "1")]);
        for i in 0..3 {
            log.append(&batch(i, 1)).unwrap();
        }
        let retention = {
            let log = Arc::clone(&log);
            loom::thread::spawn(move || {
                assert_eq!(log.apply_retention().unwrap(), 2);
            })
        };
        let from = log.log_start_offset();
        match read_from(&log, from) {
            Ok(seen) => assert_eq!(seen, values(from as usize..3)),
            Err(Error::OffsetOutOfRange { .. }) => {}
            Err(e) => panic!("reading from the log start {from}: {e}"),
        }
        retention.join().unwrap();
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(read_from(&log, 2).unwrap(), values(2..3));
    });
}
