//! Producer latency and fsync benchmarks, each with its baseline in the same group:
//!
//! - `round_trip`: `linger.ms=0`, `acks=1`, one record at a time with `send(..).wait()`,
//!   against a crossbeam channel ping-pong between two threads.
//! - `fsync_one`: `acks=all` on a `flush.messages=1` topic, one record at a time, against a
//!   bare `write` + `fdatasync` of one record.
//! - `fsync_threads`: eight threads doing the same (group commit), reported as records.
//! - `fsync_in_flight`: one thread keeping 1,000 sends in flight, against a bare loop writing
//!   the same records and calling `fdatasync` every 1,000.
//!
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::{Acks, Cluster, NewTopic, Producer, ProducerConfig, ProducerRecord};

const RECORD: [u8; 100] = [b'v'; 100];

fn setup(dir: &std::path::Path, topic: NewTopic, config: ProducerConfig) -> (Cluster, Producer) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    cluster.create_topic(topic).unwrap();
    let producer = cluster.producer(config).unwrap();
    (cluster, producer)
}

fn send_one(producer: &Producer, i: u64) {
    let record = ProducerRecord::to("t")
        .key(i.to_be_bytes().to_vec())
        .value(RECORD.to_vec());
    producer.send(record).unwrap().wait().unwrap();
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group.throughput(Throughput::Elements(1));
    let (to_echo, echo_in) = crossbeam::channel::bounded::<u64>(1);
    let (echo_out, back) = crossbeam::channel::bounded::<u64>(1);
    let echo = std::thread::spawn(move || {
        for value in echo_in.iter() {
            echo_out.send(value).unwrap();
        }
    });
    group.bench_function("baseline_crossbeam_ping_pong", |b| {
        b.iter(|| {
            to_echo.send(1).unwrap();
            back.recv().unwrap()
        })
    });
    drop(to_echo);
    echo.join().unwrap();
    let dir = common::bench_dir();
    let (_cluster, producer) = setup(
        dir.path(),
        NewTopic::new("t", 1),
        ProducerConfig::new()
            .linger(Duration::ZERO)
            .acks(Acks::Leader),
    );
    let mut i = 0;
    group.bench_function("send_wait_acks_1_linger_0", |b| {
        b.iter(|| {
            i += 1;
            send_one(&producer, i)
        })
    });
    group.finish();
}

fn fsync(c: &mut Criterion) {
    let mut group = c.benchmark_group("fsync_one");
    group.throughput(Throughput::Elements(1)).sample_size(20);
    let dir = common::bench_dir();
    let mut file = std::fs::File::create(dir.path().join("baseline")).unwrap();
    group.bench_function("baseline_write_fdatasync", |b| {
        b.iter(|| {
            file.write_all(&RECORD).unwrap();
            file.sync_data().unwrap();
        })
    });
    let fsync_topic = || NewTopic::new("t", 1).config("flush.messages", "1");
    // A directory of its own: a cluster refuses one holding files it does not own.
    let cluster_dir = common::bench_dir();
    let (_cluster, producer) = setup(
        cluster_dir.path(),
        fsync_topic(),
        ProducerConfig::new().linger(Duration::ZERO),
    );
    let mut i = 0;
    group.bench_function("send_wait_acks_all", |b| {
        b.iter(|| {
            i += 1;
            send_one(&producer, i)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("fsync_threads");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    const PER_THREAD: u64 = 50;
    for threads in [1u64, 8] {
        group.throughput(Throughput::Elements(threads * PER_THREAD));
        let producer = producer.clone();
        group.bench_function(format!("{threads}_threads_send_wait"), |b| {
            b.iter(|| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let producer = producer.clone();
                        std::thread::spawn(move || {
                            for i in 0..PER_THREAD {
                                send_one(&producer, t * 1_000_000 + i);
                            }
                        })
                    })
                    .collect();
                workers.into_iter().for_each(|w| w.join().unwrap());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("fsync_in_flight");
    const RECORDS: u64 = 20_000;
    group
        .throughput(Throughput::Elements(RECORDS))
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("baseline_write_fdatasync_every_1000", |b| {
        b.iter(|| {
            for i in 0..RECORDS {
                file.write_all(&RECORD).unwrap();
                if i % 1000 == 999 {
                    file.sync_data().unwrap();
                }
            }
        })
    });
    let producer = Arc::new(producer);
    group.bench_function("send_1000_in_flight_acks_all", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let mut in_flight = std::collections::VecDeque::with_capacity(1000);
                for i in 0..RECORDS {
                    let record = ProducerRecord::to("t")
                        .key(i.to_be_bytes().to_vec())
                        .value(RECORD.to_vec());
                    in_flight.push_back(producer.send(record).unwrap());
                    if in_flight.len() == 1000 {
                        in_flight.pop_front().unwrap().wait().unwrap();
                    }
                }
                in_flight.into_iter().for_each(|h| {
                    h.wait().unwrap();
                });
            }
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = round_trip, fsync
}
criterion_main!(benches);
