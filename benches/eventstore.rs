//! Event store benchmarks, each with its baseline in the same run.
//!
//! - `durable_appends_8_threads`: 8 threads, each appending one event at a time with an exact
//!   expected version to its own stream, the 8 streams on 8 partitions of a durable store
//!   (fsync per append, group commit); against 8 threads each writing the same bytes (one
//!   record batch of the same event) to a file of its own and calling `fdatasync` after each.
//! - `read_last_100`: reading the last 100 events of a random stream, backwards, from a store
//!   of `EVENTSTORE_BENCH_EVENTS` events (default 1,000,000) in a hundredth as many streams,
//!   appended one event at a time, interleaved. Its p50 and p99 (of 20,000 reads, after as
//!   many not counted) are printed before criterion's mean, with the same run's floor for
//!   them (`common::tail`): a fixed computation calibrated to the p50 of the reads not
//!   counted and run alternately with the counted ones, the longest such computation whose
//!   p99 meets the goal (50 µs), and how often and how long the machine took the CPU away.
//! - `open_and_first_read`: opening a store after a clean shutdown and reading the last 100
//!   events of one stream, for a store of `EVENTSTORE_OPEN_EVENTS` events (default
//!   1,000,000) against one of ten times as many, both built in the same run (one partition,
//!   100 events per stream, appended one event at a time, interleaved).
//!
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).
#![allow(missing_docs)] // criterion_group! generates an undocumented function.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::eventstore::{Direction, EventData, EventStore, EventStoreConfig, StreamPosition};
use kafkalite::{BatchBuilder, Cluster, ExpectedVersion, Header};

const THREADS: usize = 8;
const APPENDS_PER_THREAD: usize = 250;

fn event(n: usize) -> EventData {
    EventData::new("Deposited", format!("{{\"amount\":{n:>90}}}"))
}

/// A stream name for each partition of `store`.
fn one_stream_per_partition(store: &EventStore) -> Vec<String> {
    let mut streams = vec![String::new(); store.partitions() as usize];
    let mut n = 0;
    while streams.iter().any(String::is_empty) {
        let name = format!("account-{n}");
        let slot = &mut streams[store.partition_of(&name) as usize];
        if slot.is_empty() {
            *slot = name;
        }
        n += 1;
    }
    streams
}

/// The bytes the store writes for one event: a batch of one record, with its headers.
fn event_batch(stream: &str, n: usize) -> Vec<u8> {
    let event = event(n);
    let (id, version) = (event.id.to_string(), n.to_string());
    let headers = [
        ("event.type", event.event_type.as_bytes()),
        ("event.id", id.as_bytes()),
        ("event.version", version.as_bytes()),
        ("event.content-type", event.content_type.as_bytes()),
    ]
    .map(|(key, value)| Header {
        key: key.as_bytes(),
        value: Some(value),
    });
    let mut builder = BatchBuilder::new();
    builder
        .append(0, Some(stream.as_bytes()), Some(&event.data), &headers)
        .unwrap();
    builder.build().unwrap()
}

fn durable_appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_appends_8_threads");
    group
        .throughput(Throughput::Elements((THREADS * APPENDS_PER_THREAD) as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("baseline_write_fdatasync_per_batch", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = common::bench_dir();
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for t in 0..THREADS {
                        let path = dir.path().join(format!("baseline-{t}"));
                        scope.spawn(move || {
                            let mut file = std::fs::File::create(path).unwrap();
                            for n in 0..APPENDS_PER_THREAD {
                                file.write_all(&event_batch("account-0", n)).unwrap();
                                file.sync_data().unwrap();
                            }
                        });
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.bench_function("eventstore_append_exact", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = common::bench_dir();
                let cluster = Cluster::builder()
                    .background(false)
                    .open(dir.path())
                    .unwrap();
                let store = cluster
                    .event_store("bench", EventStoreConfig::new().partitions(THREADS as i32))
                    .unwrap();
                let streams = one_stream_per_partition(&store);
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for stream in &streams {
                        let store = store.clone();
                        scope.spawn(move || {
                            let mut expected = ExpectedVersion::NoStream;
                            for n in 0..APPENDS_PER_THREAD {
                                let done = store.append(stream, expected, [event(n)]).unwrap();
                                expected = ExpectedVersion::Exact(done.next_expected_version);
                            }
                        });
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

/// The number in environment variable `name`, or `default`.
fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A store (not durable) in `dir` holding `events` events in a hundredth as many streams,
/// appended one event at a time, interleaved; says how long that took (as `bench`).
fn history_store(dir: &std::path::Path, events: usize, bench: &str) -> (Cluster, EventStore) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    let store = cluster
        .event_store("history", EventStoreConfig::new().durable(false))
        .unwrap();
    let streams = (events / 100).max(1);
    let built = Instant::now();
    for n in 0..events {
        let stream = format!("stream-{}", n % streams);
        store
            .append(&stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let stats = store.index_stats(0).unwrap();
    eprintln!(
        "{bench}: {events} events in {streams} streams appended in {:?}; index: {} tables, {} events in memory",
        built.elapsed(),
        stats.tables.len(),
        stats.memory_events
    );
    (cluster, store)
}

fn read_last_100(c: &mut Criterion) {
    let events = env_count("EVENTSTORE_BENCH_EVENTS", 1_000_000);
    let streams = (events / 100).max(1);
    let dir = common::bench_dir();
    let (_cluster, store) = history_store(dir.path(), events, "read_last_100");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_stream = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        format!("stream-{}", seed % streams as u64)
    };
    let read = |stream: &str| {
        let got = store
            .read_stream(stream, StreamPosition::End, Direction::Backwards, 100)
            .unwrap()
            .into_events();
        assert_eq!(got.len(), 100.min(events / streams));
    };
    let timed = |stream: &str| {
        let start = Instant::now();
        read(stream);
        start.elapsed()
    };
    // Not counted: the first touch of each part of the log's mapping takes a page fault
    // (the page cache is warm, the mapping is not), once per process. Their p50 sizes the
    // baseline.
    let mut first: Vec<Duration> = (0..20_000).map(|_| timed(&next_stream())).collect();
    let work = common::tail::FixedWork::calibrated(common::tail::percentiles(&mut first).0);
    let (mut reads, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..20_000 {
        reads.push(timed(&next_stream()));
        baseline.push(work.time());
    }
    let goal = Duration::from_micros(50);
    common::tail::report("read_last_100", &mut reads, &mut baseline, goal);
    let mut group = c.benchmark_group("read_last_100");
    group.throughput(Throughput::Elements(100));
    group.bench_function("read_stream_backwards", |b| b.iter(|| read(&next_stream())));
    group.finish();
}

/// A closed store of `events` events, 100 per stream, in a directory of its own.
fn history(events: usize) -> tempfile::TempDir {
    let dir = common::bench_dir();
    let (cluster, _) = history_store(dir.path(), events, "open_and_first_read");
    cluster.close().unwrap();
    dir
}

fn open_and_first_read(c: &mut Criterion) {
    let events = env_count("EVENTSTORE_OPEN_EVENTS", 1_000_000);
    let mut group = c.benchmark_group("open_and_first_read");
    group.sample_size(10);
    for (name, events) in [("baseline", events), ("ten_times_the_events", events * 10)] {
        let dir = history(events);
        let stream = format!("stream-{}", (events / 100).max(1) / 2);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let cluster = Cluster::builder()
                        .background(false)
                        .open(dir.path())
                        .unwrap();
                    let store = cluster
                        .event_store("history", EventStoreConfig::new())
                        .unwrap();
                    let read = store
                        .read_stream(&stream, StreamPosition::End, Direction::Backwards, 100)
                        .unwrap()
                        .into_events();
                    total += start.elapsed();
                    assert_eq!(read.len(), 100);
                    cluster.close().unwrap();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = durable_appends, read_last_100, open_and_first_read
}
criterion_main!(benches);
