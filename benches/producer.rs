//! Producer benchmark, with its baseline in the same group: one thread sending records of a
//! 16-byte key and a 100-byte value over 8 partitions (default linger, page cache), against
//! plain sequential `write()` of the same bytes in 1 MiB buffers to a file on the same disk;
//! with idempotence (the default) and without, and in transactions of 1,000 records. Then
//! `produce_fsync`: 500,000 keyed records with `acks=all` to a `flush.messages=1` topic of 1
//! and of 8 partitions, against `write` + `fdatasync` of the same bytes in 16 KiB batches.
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

mod common;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::{Cluster, NewTopic, ProducerConfig, ProducerRecord};

const RECORDS: usize = 1_000_000;
const RECORD_BYTES: usize = 16 + 100;

fn produce(c: &mut Criterion) {
    let mut group = c.benchmark_group("produce_8_partitions");
    group
        .throughput(Throughput::Bytes((RECORDS * RECORD_BYTES) as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("baseline_write_1MiB", |b| {
        b.iter_custom(|iters| common::write_baseline(iters, RECORDS * RECORD_BYTES))
    });
    let keys: Vec<Vec<u8>> = (0..RECORDS)
        .map(|i| format!("key-{i:012}").into_bytes())
        .collect();
    let value = vec![b'v'; 100];
    // Idempotence is on by default (Kafka's too); the second run measures what it costs.
    for (name, config, transaction) in [
        ("producer_send", ProducerConfig::new(), None),
        (
            "producer_send_not_idempotent",
            ProducerConfig::new().idempotence(false),
            None,
        ),
        (
            "producer_send_transactions_of_1000",
            ProducerConfig::new().transactional_id("bench"),
            Some(1000),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| send_all(iters, &config, transaction, &keys, &value))
        });
    }
    group.finish();
}

/// Sends every key once per iteration to a new cluster (in transactions of `transaction`
/// records, if given); the time to the last delivery (the last commit).
fn send_all(
    iters: u64,
    config: &ProducerConfig,
    transaction: Option<usize>,
    keys: &[Vec<u8>],
    value: &[u8],
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = common::bench_dir();
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        cluster.create_topic(NewTopic::new("bench", 8)).unwrap();
        let producer = cluster.producer(config.clone()).unwrap();
        let wait = Duration::from_secs(600);
        let start = Instant::now();
        if transaction.is_some() {
            producer.init_transactions(wait).unwrap();
        }
        for chunk in keys.chunks(transaction.unwrap_or(keys.len())) {
            if transaction.is_some() {
                producer.begin_transaction().unwrap();
            }
            for key in chunk {
                producer
                    .send(
                        ProducerRecord::to("bench")
                            .key(key.clone())
                            .value(value.to_vec()),
                    )
                    .unwrap();
            }
            if transaction.is_some() {
                producer.commit_transaction(wait).unwrap();
            }
        }
        producer.flush(wait).unwrap();
        total += start.elapsed();
    }
    total
}

const FSYNC_RECORDS: usize = 500_000;

fn produce_fsync(c: &mut Criterion) {
    let mut group = c.benchmark_group("produce_fsync");
    group
        .throughput(Throughput::Elements(FSYNC_RECORDS as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("baseline_write_fdatasync_16KiB", |b| {
        b.iter_custom(|iters| {
            let batch = vec![7u8; 16 * 1024];
            let batches = (FSYNC_RECORDS * RECORD_BYTES).div_ceil(batch.len());
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = common::bench_dir();
                let mut file = std::fs::File::create(dir.path().join("baseline")).unwrap();
                let start = Instant::now();
                for _ in 0..batches {
                    std::io::Write::write_all(&mut file, &batch).unwrap();
                    file.sync_data().unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });
    let keys: Vec<Vec<u8>> = (0..FSYNC_RECORDS)
        .map(|i| format!("key-{i:012}").into_bytes())
        .collect();
    let value = vec![b'v'; 100];
    for partitions in [1, 8] {
        group.bench_function(format!("producer_acks_all_{partitions}_partitions"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = common::bench_dir();
                    let cluster = Cluster::builder()
                        .background(false)
                        .open(dir.path())
                        .unwrap();
                    cluster
                        .create_topic(
                            NewTopic::new("bench", partitions).config("flush.messages", "1"),
                        )
                        .unwrap();
                    let producer = cluster.producer(ProducerConfig::new()).unwrap();
                    let start = Instant::now();
                    for key in &keys {
                        let record = ProducerRecord::to("bench")
                            .key(key.clone())
                            .value(value.clone());
                        producer.send(record).unwrap();
                    }
                    producer.flush(Duration::from_secs(600)).unwrap();
                    total += start.elapsed();
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
    targets = produce, produce_fsync
}
criterion_main!(benches);
