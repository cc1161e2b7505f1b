//! loom models of the partition log's and the producer's concurrency, run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom` (see `.ci/loom`). Under that
//! cfg their atomics, locks, condition variables, channel and threads are loom's
//! (`src/sync.rs`), so loom runs each model under every interleaving of them (up to
//! `LOOM_MAX_PREEMPTIONS`, or the bound a model sets). Storage is `SimStorage`, whose own
//! locks are never held across a loom operation. Timed waits never time out under loom, so a
//! wake-up that only a timeout would deliver shows up as a deadlock.
//!
//! The log:
//! - the published end offset: a reader never sees an offset it cannot read;
//! - the sticky failed flag: after a failed sync, no concurrent or later sync reports
//!   success for data it did not make durable;
//! - segment swap on retention: a reader racing retention reads from the log start it sees,
//!   or is told its offset is out of range, never finds a hole.
//!
//! The producer (accumulator, appender thread, delivery handles, `buffer.memory`):
//! - a send racing `close`: its handle resolves, delivered or `Closed`, and a record that
//!   failed with `Closed` is not in the log;
//! - the linger wake-up: a batch opened while the appender goes idle is appended without a
//!   flush (the appender is never left asleep with a sealable batch);
//! - `flush` from two threads: each returns only once its own records are delivered, and
//!   one thread's records keep their order;
//! - memory pressure: a send that finds `buffer.memory` spent seals the open batches, and the
//!   appender frees the memory it waits for;
//! - a transaction's commit appending part of its batches itself: each partition's batches
//!   land in send order, whether the earlier ones were still queued or not, and each gets
//!   its marker once, whichever thread wrote it; and a flush on another thread meanwhile
//!   still returns only once its own records are delivered.
#![cfg(loom)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage};
use kafkalite::{
    BatchBuilder, Cluster, DeliveryHandle, Error, Log, LogOptions, MockClock, NewTopic, Producer,
    ProducerRecord, RecoveryMode, TopicConfig,
};

fn batch(first: usize, count: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    for i in first..first + count {
        builder
            .append(0, None, Some(format!("v{i}").as_bytes()), &[])
            .unwrap();
    }
    builder.build().unwrap()
}

/// The time on the logs' clock.
const NOW: i64 = 100_000;

fn open(sim: &SimStorage, overrides: &[(&str, &str)]) -> Arc<Log> {
    let config = TopicConfig::from_overrides(overrides.iter().copied()).unwrap();
    let options = LogOptions {
        name: "t-0".into(),
        recovery_point: None,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: RecoveryMode::TolerateCorruptTail,
        salvage_dir: None,
    };
    let (log, _) = Log::open(
        Arc::new(sim.clone()),
        Path::new("/sim/t-0"),
        Arc::new(config),
        Arc::new(MockClock::new(NOW)),
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
    explore_with(name, loom::model::Builder::new(), model);
}

/// As [`explore`], with at most `preemptions` preemptions per interleaving (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise): the producer models run through a whole cluster,
/// and unbounded they would not finish.
fn explore_bounded(name: &str, preemptions: usize, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(preemptions));
    explore_with(name, builder, model);
}

fn explore_with(
    name: &str,
    builder: loom::model::Builder,
    model: impl Fn() + Sync + Send + 'static,
) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&runs);
    builder.check(move || {
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

/// One record, `v<i>`, stamped `timestamp`.
fn stamped(i: usize, timestamp: i64) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    builder
        .append(timestamp, None, Some(format!("v{i}").as_bytes()), &[])
        .unwrap();
    builder.build().unwrap()
}

#[test]
fn retention_never_deletes_records_appended_after_it_judged_the_active_segment() {
    explore_bounded("retention of the active segment racing appends", 3, || {
        let sim = SimStorage::new(Path::new("/sim"));
        // Two records per segment; only v0 (stamped long before NOW) is past retention.ms.
        let log = open(&sim, &[("segment.bytes", "160"), ("retention.ms", "1000")]);
        log.append(&stamped(0, 1)).unwrap();
        let retention = {
            let log = Arc::clone(&log);
            loom::thread::spawn(move || log.apply_retention().unwrap())
        };
        // v1 joins v0's segment, v2 rolls a new one: retention may have judged the segment
        // with v0 alone, but must not delete v1 with it.
        log.append(&stamped(1, NOW)).unwrap();
        log.append(&stamped(2, NOW)).unwrap();
        let deleted = retention.join().unwrap();
        let from = log.log_start_offset();
        let seen = read_from(&log, from).unwrap();
        assert!(
            seen.ends_with(&values(1..3)),
            "deleted {deleted}, start {from}, read {seen:?}"
        );
    });
}

/// How long closes and flushes may take: timed waits never time out under loom anyway.
const FOREVER: Duration = Duration::from_secs(3600);

/// A cluster in memory with topic "t" (two partitions) and a producer on it.
fn producer_on_sim(overrides: &[(&str, &str)]) -> (Cluster, Producer) {
    let sim = SimStorage::new(Path::new("/sim"));
    let cluster = Cluster::builder()
        .storage(Arc::new(sim))
        .clock(Arc::new(MockClock::new(0)))
        .background(false)
        .open("/sim/data")
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    let producer = cluster.producer(overrides).unwrap();
    (cluster, producer)
}

fn record(partition: i32, value: &str) -> ProducerRecord {
    ProducerRecord::to("t").partition(partition).value(value)
}

/// Flushes, then where each handle's record landed: a flush returns only once every record
/// sent before it is delivered.
fn flush_then_offsets(producer: &Producer, handles: Vec<DeliveryHandle>) -> Vec<i64> {
    producer.flush(FOREVER).unwrap();
    handles
        .into_iter()
        .map(|mut handle| {
            let delivered = handle.try_get().expect("delivered when flush returns");
            delivered.unwrap().offset
        })
        .collect()
}

fn stored(cluster: &Cluster, partition: i32) -> Vec<Vec<u8>> {
    read_from(&cluster.partition("t", partition).unwrap(), 0).unwrap()
}

#[test]
fn a_send_racing_close_resolves_and_a_closed_record_is_not_stored() {
    explore_bounded("send racing close", 3, || {
        let (cluster, producer) = producer_on_sim(&[("linger.ms", "0")]);
        let sender = {
            let producer = producer.clone();
            loom::thread::spawn(move || match producer.send(record(0, "a")) {
                Ok(handle) => handle.wait().map(|delivered| delivered.offset),
                Err(refused) => Err(refused.error),
            })
        };
        producer.close(FOREVER).unwrap();
        match sender.join().unwrap() {
            Ok(offset) => {
                assert_eq!(offset, 0);
                assert_eq!(stored(&cluster, 0), vec![b"a".to_vec()]);
            }
            Err(Error::Closed) => assert!(stored(&cluster, 0).is_empty(), "failed but stored"),
            Err(e) => panic!("a send racing close: {e}"),
        }
    });
}

#[test]
fn a_batch_opened_while_the_appender_goes_idle_is_appended() {
    explore_bounded("linger wake-up", 3, || {
        let (cluster, producer) = producer_on_sim(&[("linger.ms", "0")]);
        // No flush: only the appender's own linger check can seal the batch.
        let delivered = producer.send(record(0, "a")).unwrap().wait().unwrap();
        assert_eq!(delivered.offset, 0);
        producer.close(FOREVER).unwrap();
        assert_eq!(stored(&cluster, 0), vec![b"a".to_vec()]);
    });
}

#[test]
fn flush_waits_for_its_own_records_from_two_threads() {
    explore_bounded("flush from two threads", 2, || {
        // A long linger: only the flushes seal.
        let (cluster, producer) = producer_on_sim(&[("linger.ms", "60000")]);
        let other = {
            let producer = producer.clone();
            loom::thread::spawn(move || {
                let b = producer.send(record(0, "b")).unwrap();
                flush_then_offsets(&producer, vec![b])[0]
            })
        };
        let a1 = producer.send(record(0, "a1")).unwrap();
        let a2 = producer.send(record(0, "a2")).unwrap();
        let [a1, a2] = flush_then_offsets(&producer, vec![a1, a2])[..] else {
            unreachable!("two handles")
        };
        let b = other.join().unwrap();
        assert!(a1 < a2, "one thread's records keep their order");
        let mut offsets = vec![a1, a2, b];
        offsets.sort_unstable();
        assert_eq!(offsets, vec![0, 1, 2]);
        let stored = stored(&cluster, 0);
        assert_eq!(stored[a1 as usize], b"a1");
        assert_eq!(stored[b as usize], b"b");
        producer.close(FOREVER).unwrap();
    });
}

#[test]
fn a_send_short_of_memory_is_freed_by_the_appender() {
    explore_bounded("memory pressure", 2, || {
        // Room for one batch, and a linger that never ends: a send that finds the memory
        // spent must seal the open batch holding it, or nothing ever frees it.
        let (cluster, producer) = producer_on_sim(&[
            ("linger.ms", "60000"),
            ("batch.size", "1024"),
            ("buffer.memory", "1024"),
        ]);
        let other = {
            let producer = producer.clone();
            loom::thread::spawn(move || {
                let c = producer.send(record(1, "c")).unwrap();
                flush_then_offsets(&producer, vec![c])[0]
            })
        };
        let a = producer.send(record(0, "a")).unwrap();
        // Waits for the memory "a"'s open batch holds (or "c"'s).
        let b = producer.send(record(1, "b")).unwrap();
        let [a, b] = flush_then_offsets(&producer, vec![a, b])[..] else {
            unreachable!("two handles")
        };
        let c = other.join().unwrap();
        assert_eq!(a, 0);
        assert_eq!(stored(&cluster, 0), vec![b"a".to_vec()]);
        let mut ones = stored(&cluster, 1);
        assert_eq!(ones[b as usize], b"b");
        assert_eq!(ones[c as usize], b"c");
        ones.sort();
        assert_eq!(ones, vec![b"b".to_vec(), b"c".to_vec()]);
        producer.close(FOREVER).unwrap();
    });
}

#[test]
fn a_commit_appends_its_share_of_batches_after_those_already_queued() {
    explore_bounded("commit's shared flush", 2, || {
        // Batches of a quarter of batch.size go to an idle appender before the commit; the
        // commit appends a partition's last batch itself only when none of its earlier
        // ones is still queued or being appended.
        let (cluster, producer) = producer_on_sim(&[
            ("transactional.id", "tx"),
            ("linger.ms", "60000"),
            ("batch.size", "1024"),
        ]);
        producer.init_transactions(FOREVER).unwrap();
        producer.begin_transaction().unwrap();
        let value = |c: &str| c.repeat(300);
        let handles: Vec<DeliveryHandle> = [(0, "a"), (1, "x"), (0, "b"), (0, "c")]
            .into_iter()
            .map(|(p, v)| producer.send(record(p, &value(v))).unwrap())
            .collect();
        producer.commit_transaction(FOREVER).unwrap();
        let offsets: Vec<i64> = handles
            .into_iter()
            .map(|mut handle| handle.try_get().expect("delivered").unwrap().offset)
            .collect();
        assert_eq!(offsets, vec![0, 0, 1, 2]);
        let stored = |p| -> Vec<Vec<u8>> {
            stored(&cluster, p)
                .into_iter()
                .filter(|v| v.len() == 300) // not the commit markers
                .collect()
        };
        assert_eq!(
            stored(0),
            [value("a"), value("b"), value("c")].map(String::into_bytes)
        );
        assert_eq!(stored(1), [value("x").into_bytes()]);
        // One commit marker each, after the records: partition 1's is written by the
        // appender (every other partition's marker is), or by the commit if the appender
        // had not started it when the commit had written its own.
        let marker_bytes = kafkalite::record::end_transaction_marker_value(0).len();
        for p in [0, 1] {
            let all = crate::stored(&cluster, p);
            let markers = all.iter().filter(|v| v.len() == marker_bytes).count();
            assert_eq!(markers, 1, "partition {p}: {all:?}");
            assert_eq!(all.last().map(Vec::len), Some(marker_bytes));
        }
        producer.close(FOREVER).unwrap();
    });
}

#[test]
fn a_flush_racing_a_commit_returns_only_once_its_records_are_delivered() {
    explore_bounded("flush racing a commit", 2, || {
        // A record sent after the flush sealed the open batches makes a batch the commit may
        // append itself: that one must not stand in for the flushed batch still queued.
        let (_cluster, producer) =
            producer_on_sim(&[("transactional.id", "tx"), ("linger.ms", "60000")]);
        producer.init_transactions(FOREVER).unwrap();
        producer.begin_transaction().unwrap();
        let mut flushed = producer.send(record(0, "a")).unwrap();
        let flusher = {
            let producer = producer.clone();
            loom::thread::spawn(move || {
                producer.flush(FOREVER).unwrap();
                let delivered = flushed.try_get().expect("delivered when flush returns");
                delivered.unwrap();
            })
        };
        let mut committed = producer.send(record(1, "b")).unwrap();
        producer.commit_transaction(FOREVER).unwrap();
        committed
            .try_get()
            .expect("delivered when commit returns")
            .unwrap();
        flusher.join().unwrap();
        producer.close(FOREVER).unwrap();
    });
}
