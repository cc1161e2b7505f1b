//! Log-layer benchmarks, each group with its baseline measured in the same run:
//!
//! - `append`: pre-built batches (1,000 records of 16-byte keys and 100-byte values) appended to
//!   one partition in page-cache mode, against plain sequential `write()` of 1 MiB buffers to a
//!   file on the same disk.
//! - `read`: reading that log back, CRC-checked once per batch, touching every key and value,
//!   against streaming `memcpy` of the same number of bytes.
//! - `open`: opening a cleanly closed directory of 1,000 partitions, with 10× more data in the
//!   second case.
//!
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kafkalite::storage::RealStorage;
use kafkalite::{
    BatchBuilder, Cluster, Log, LogOptions, NewTopic, RecoveryMode, SystemClock, TopicConfig,
};

const RECORDS_PER_BATCH: usize = 1000;
const BYTES_PER_ITERATION: usize = 256 << 20;

fn workload_batch(first: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::with_capacity(140 * RECORDS_PER_BATCH);
    let value = [b'v'; 100];
    for i in first..first + RECORDS_PER_BATCH {
        let key = format!("key-{i:012}");
        builder
            .append(
                1_700_000_000_000 + i as i64,
                Some(key.as_bytes()),
                Some(&value),
                &[],
            )
            .unwrap();
    }
    builder.build().unwrap()
}

fn open_log(dir: &std::path::Path) -> Log {
    let options = LogOptions {
        name: "bench-0".into(),
        recovery_point: None,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: RecoveryMode::default(),
        salvage_dir: None,
    };
    let config = Arc::new(TopicConfig::default());
    Log::open(
        Arc::new(RealStorage),
        dir,
        config,
        Arc::new(SystemClock),
        options,
    )
    .unwrap()
    .0
}

fn append(c: &mut Criterion) {
    let batch = workload_batch(0);
    let batches = BYTES_PER_ITERATION / batch.len();
    let bytes = (batches * batch.len()) as u64;
    let mut group = c.benchmark_group("append");
    group
        .throughput(Throughput::Bytes(bytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    group.bench_function("baseline_write_1MiB", |b| {
        b.iter_custom(|iters| common::write_baseline(iters, usize::try_from(bytes).unwrap()))
    });
    group.bench_function("log_append_1000_record_batches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = common::bench_dir();
                let log = open_log(dir.path());
                let start = Instant::now();
                for _ in 0..batches {
                    black_box(log.append(&batch).unwrap());
                }
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

fn read(c: &mut Criterion) {
    let dir = common::bench_dir();
    let log = open_log(dir.path());
    let batch = workload_batch(0);
    let batches = BYTES_PER_ITERATION / batch.len();
    for _ in 0..batches {
        log.append(&batch).unwrap();
    }
    let bytes = log.size_bytes();
    let mut group = c.benchmark_group("read");
    group
        .throughput(Throughput::Bytes(bytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));

    let source = vec![3u8; usize::try_from(bytes).unwrap()];
    let mut target = vec![0u8; usize::try_from(bytes).unwrap()];
    group.bench_function("baseline_memcpy", |b| {
        b.iter(|| {
            target.copy_from_slice(black_box(&source));
            black_box(&target);
        })
    });
    group.bench_function("log_read_every_record", |b| {
        b.iter(|| {
            let mut offset = 0;
            let mut touched = 0usize;
            while offset < log.high_watermark() {
                let data = log.read(offset, 1 << 20).unwrap();
                for batch in data.batches() {
                    let batch = batch.unwrap();
                    let records = batch.records().unwrap();
                    for record in records.iter() {
                        let record = record.unwrap();
                        let key = record.key.unwrap_or_default();
                        let value = record.value.unwrap_or_default();
                        touched += key.len()
                            + value.len()
                            + key[0] as usize
                            + value[value.len() - 1] as usize;
                    }
                    offset = batch.next_offset();
                }
            }
            black_box(touched)
        })
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_1000_partitions");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let batch = workload_batch(0);
    for batches_per_partition in [1usize, 10] {
        let dir = common::bench_dir();
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        for t in 0..10 {
            cluster
                .create_topic(NewTopic::new(format!("topic-{t}"), 100))
                .unwrap();
            for p in 0..100 {
                let log = cluster.partition(&format!("topic-{t}"), p).unwrap();
                for _ in 0..batches_per_partition {
                    log.append(&batch).unwrap();
                }
            }
        }
        cluster.close().unwrap();
        drop(cluster);
        let mib = (batches_per_partition * batch.len() * 1000) >> 20;
        group.bench_with_input(
            BenchmarkId::new("clean_open", format!("{mib}MiB")),
            &dir,
            |b, dir| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let cluster = Cluster::builder()
                            .background(false)
                            .open(dir.path())
                            .unwrap();
                        total += start.elapsed();
                        cluster.close().unwrap();
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = append, read, open
}
criterion_main!(benches);
