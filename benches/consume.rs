//! Consumer benchmark, with its baseline in the same group: one consumer replaying 8
//! partitions of records with a 16-byte key and a 100-byte value (in batches of the
//! producer's default 16 KiB), touching every key and value, against streaming `memcpy` of
//! the same number of bytes; with Kafka's default `check.crcs=true` and without. Then the
//! same volume written as transactions of 1,000 records, a tenth aborted, replayed at
//! `read_uncommitted` and `read_committed`. Files go to `KAFKALITE_BENCH_DIR` (default: the
//! system temporary directory).
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::{
    BatchBuilder, Cluster, ConsumerConfig, IsolationLevel, NewTopic, Offset, TopicPartition,
};

const PARTITIONS: i32 = 8;
const RECORDS: usize = 1_000_000;
const BATCH_BYTES: usize = 16 * 1024;

/// Fills the topic as the producer would: 16 KiB batches, keys spread over the partitions.
fn fill(cluster: &Cluster) -> usize {
    cluster
        .create_topic(NewTopic::new("bench", PARTITIONS))
        .unwrap();
    let value = [b'v'; 100];
    let per_partition = RECORDS / PARTITIONS as usize;
    let mut bytes = 0;
    for p in 0..PARTITIONS {
        let log = cluster.partition("bench", p).unwrap();
        let mut builder = BatchBuilder::with_capacity(BATCH_BYTES);
        for i in 0..per_partition {
            let key = format!("key-{p}-{i:010}");
            builder
                .append(1_700_000_000_000, Some(key.as_bytes()), Some(&value), &[])
                .unwrap();
            if builder.uncompressed_size() >= BATCH_BYTES || i + 1 == per_partition {
                let batch =
                    std::mem::replace(&mut builder, BatchBuilder::with_capacity(BATCH_BYTES))
                        .build()
                        .unwrap();
                bytes += batch.len();
                log.append(&batch).unwrap();
            }
        }
    }
    bytes
}

/// Assigns `assignment` from the start and polls until at least `expected` records came,
/// touching every key and value; returns the records and a sum of what was touched.
fn replay(
    consumer: &kafkalite::Consumer,
    assignment: &[(TopicPartition, Offset)],
    expected: usize,
) -> (usize, usize) {
    consumer.assign(assignment).unwrap();
    let (mut records, mut touched) = (0usize, 0usize);
    while records < expected {
        let polled = consumer.poll(Duration::ZERO).unwrap();
        for record in polled.iter() {
            let key = record.key().unwrap_or_default();
            let value = record.value().unwrap_or_default();
            touched += key.len() + value.len() + key[0] as usize + value[99] as usize;
            records += 1;
        }
    }
    (records, touched)
}

fn consume(c: &mut Criterion) {
    let dir = common::bench_dir();
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    let bytes = fill(&cluster);
    let mut group = c.benchmark_group("consume_8_partitions");
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    let source = vec![7u8; bytes];
    let mut target = vec![0u8; bytes];
    group.bench_function("baseline_memcpy", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&source));
            black_box(&target);
        })
    });
    let assignment: Vec<(TopicPartition, Offset)> = (0..PARTITIONS)
        .map(|p| (TopicPartition::new("bench", p), Offset::Beginning))
        .collect();
    for (name, check_crcs) in [
        ("consumer_poll_every_record", true),
        ("consumer_poll_every_record_check_crcs_false", false),
    ] {
        group.bench_function(name, |b| {
            let consumer = cluster
                .consumer(ConsumerConfig::new().check_crcs(check_crcs))
                .unwrap();
            b.iter(|| black_box(replay(&consumer, &assignment, RECORDS).1))
        });
    }
    group.finish();
}

/// Fills topic `txn` with transactions of 1,000 records (in 16 KiB batches), one producer
/// per partition, every tenth aborted; returns the bytes and the records each isolation
/// level reads (uncommitted, committed).
fn fill_transactional(cluster: &Cluster) -> (usize, usize, usize) {
    cluster
        .create_topic(NewTopic::new("txn", PARTITIONS))
        .unwrap();
    let value = [b'v'; 100];
    let per_partition = RECORDS / PARTITIONS as usize;
    let (mut bytes, mut committed) = (0, 0);
    for p in 0..PARTITIONS {
        let log = cluster.partition("txn", p).unwrap();
        let producer = i64::from(p) + 1;
        let mut sequence = 0i32;
        for (t, start) in (0..per_partition).step_by(1_000).enumerate() {
            let end = (start + 1_000).min(per_partition);
            let mut builder = BatchBuilder::with_capacity(BATCH_BYTES);
            for i in start..end {
                let key = format!("key-{p}-{i:010}");
                builder
                    .append(1_700_000_000_000, Some(key.as_bytes()), Some(&value), &[])
                    .unwrap();
                if builder.uncompressed_size() >= BATCH_BYTES || i + 1 == end {
                    let count = builder.records_count();
                    let batch =
                        std::mem::replace(&mut builder, BatchBuilder::with_capacity(BATCH_BYTES))
                            .producer(producer, 0, sequence)
                            .transactional(true)
                            .build()
                            .unwrap();
                    sequence += count;
                    bytes += batch.len();
                    log.append(&batch).unwrap();
                }
            }
            let commit = t % 10 != 9;
            log.write_transaction_marker(producer, 0, 0, commit)
                .unwrap();
            if commit {
                committed += end - start;
            }
        }
    }
    (bytes, RECORDS, committed)
}

/// Replays transactional data at both isolation levels: `read_committed` skips the aborted
/// tenth (and reads the same bytes).
fn consume_transactional(c: &mut Criterion) {
    let dir = common::bench_dir();
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    let (bytes, uncommitted, committed) = fill_transactional(&cluster);
    let mut group = c.benchmark_group("consume_transactions_8_partitions");
    group
        .throughput(Throughput::Bytes(bytes as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    let assignment: Vec<(TopicPartition, Offset)> = (0..PARTITIONS)
        .map(|p| (TopicPartition::new("txn", p), Offset::Beginning))
        .collect();
    for (name, level, expected) in [
        (
            "read_uncommitted",
            IsolationLevel::ReadUncommitted,
            uncommitted,
        ),
        ("read_committed", IsolationLevel::ReadCommitted, committed),
    ] {
        group.bench_function(name, |b| {
            let consumer = cluster
                .consumer(ConsumerConfig::new().isolation_level(level))
                .unwrap();
            b.iter(|| {
                let (records, touched) = replay(&consumer, &assignment, expected);
                assert_eq!(records, expected);
                black_box(touched)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = consume, consume_transactional
}
criterion_main!(benches);
