//! Compaction benchmarks, each with its baseline in the same group:
//!
//! - `clean`: one cleaning of a compacted topic of `KEYS` keys (`KAFKALITE_BENCH_KEYS`,
//!   default 100,000; the figure is 1,000,000) updated `UPDATES` times each (16-byte
//!   key, 100-byte value, 16 KiB batches, 64 MiB segments), against a plain sequential read
//!   of the same bytes (every segment copied out of its mapping).
//! - `offsets_reopen`: reopening a cluster whose group committed 8 partitions `N` times,
//!   cleaned, plus the first access to the group's offsets, for N = 1,000 and 100,000.
//! - `metadata_reopen`: reopening a cluster whose one topic had its config changed `N`
//!   times, the metadata log compacted, for N = 100 and 10,000, and 10,000 uncompacted.
//!
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).
#![allow(missing_docs)] // criterion_group! generates an undocumented function.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::{
    BatchBuilder, Cluster, CommitMode, ConsumerConfig, NewTopic, Offset, OffsetAndMetadata,
    Offsets, TopicPartition,
};

const UPDATES: usize = 10;
const BATCH_BYTES: usize = 16 * 1024;

fn keys() -> usize {
    std::env::var("KAFKALITE_BENCH_KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// A new cluster in `dir` holding topic `c` (compacted) with every key updated `UPDATES`
/// times, rolled so all of it is cleanable; returns its size in bytes.
fn fill(dir: &std::path::Path, keys: usize) -> (Cluster, u64) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    cluster
        .create_topic(
            NewTopic::new("c", 1)
                .config("cleanup.policy", "compact")
                .config("segment.bytes", (64 << 20).to_string()),
        )
        .unwrap();
    let log = cluster.partition("c", 0).unwrap();
    let value = [b'v'; 100];
    let mut builder = BatchBuilder::with_capacity(BATCH_BYTES);
    for update in 0..UPDATES {
        for key in 0..keys {
            let key = format!("key-{key:012}");
            builder
                .append(update as i64, Some(key.as_bytes()), Some(&value), &[])
                .unwrap();
            if builder.uncompressed_size() >= BATCH_BYTES {
                let full =
                    std::mem::replace(&mut builder, BatchBuilder::with_capacity(BATCH_BYTES));
                log.append(&full.build().unwrap()).unwrap();
            }
        }
    }
    if !builder.is_empty() {
        log.append(&builder.build().unwrap()).unwrap();
    }
    log.roll().unwrap();
    let bytes = log.size_bytes();
    (cluster, bytes)
}

/// Copies every byte of `c-0` out of its mapping, in the log's order.
fn read_everything(cluster: &Cluster) -> usize {
    let log = cluster.partition("c", 0).unwrap();
    let mut copied = 0;
    let mut buffer = Vec::with_capacity(64 << 20);
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let data = log.read(offset, 64 << 20).unwrap();
        buffer.clear();
        buffer.extend_from_slice(data.bytes());
        copied += black_box(&buffer).len();
        offset = data.batches().last().unwrap().unwrap().next_offset();
    }
    copied
}

fn clean(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group(format!("clean_{keys}_keys_x{UPDATES}"));
    let probe = common::bench_dir();
    let (_, bytes) = fill(probe.path(), keys);
    drop(probe);
    group
        .throughput(Throughput::Bytes(bytes))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("baseline_sequential_read", |b| {
        let dir = common::bench_dir();
        let (cluster, _) = fill(dir.path(), keys);
        b.iter(|| black_box(read_everything(&cluster)))
    });
    group.bench_function("clean", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = common::bench_dir();
                let (cluster, _) = fill(dir.path(), keys);
                let log = cluster.partition("c", 0).unwrap();
                let start = Instant::now();
                let stats = log.clean(None, 0, 128 << 20).unwrap().unwrap();
                total += start.elapsed();
                assert_eq!(stats.records_kept, keys as u64);
            }
            total
        })
    });
    group.finish();
}

/// A cluster in `dir` whose group `g` committed 8 partitions `commits` times, cleaned.
fn committed(dir: &std::path::Path, commits: i64) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 8)).unwrap();
    let consumer = cluster
        .consumer(ConsumerConfig::with_group("g").enable_auto_commit(false))
        .unwrap();
    let partitions: Vec<_> = (0..8)
        .map(|p| (TopicPartition::new("t", p), Offset::Beginning))
        .collect();
    consumer.assign(&partitions).unwrap();
    let mut offsets = Offsets::new();
    for i in 0..commits {
        for p in 0..8 {
            offsets.insert(TopicPartition::new("t", p), OffsetAndMetadata::new(i));
        }
        consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    }
    drop(consumer);
    cluster.compact(None).unwrap();
    cluster.close().unwrap();
}

fn offsets_reopen(c: &mut Criterion) {
    let mut group = c.benchmark_group("offsets_reopen_and_first_group_access");
    group.sample_size(20);
    for commits in [1_000, 100_000] {
        // Made on first use, so that a filter that skips this benchmark skips its setup.
        let dir = std::cell::OnceCell::new();
        group.bench_function(format!("{commits}_commits"), |b| {
            let dir = dir.get_or_init(|| {
                let dir = common::bench_dir();
                committed(dir.path(), commits);
                let size: u64 = std::fs::read_dir(dir.path().join("__consumer_offsets-0"))
                    .unwrap()
                    .map(|e| e.unwrap().metadata().unwrap().len())
                    .sum();
                eprintln!(
                    "{commits} commits: __consumer_offsets-0 holds {size} bytes after cleaning"
                );
                dir
            });
            let t0 = TopicPartition::new("t", 0);
            b.iter(|| {
                let cluster = Cluster::builder()
                    .background(false)
                    .open(dir.path())
                    .unwrap();
                let consumer = cluster.consumer(ConsumerConfig::with_group("g")).unwrap();
                let found = consumer.committed(std::slice::from_ref(&t0)).unwrap();
                assert_eq!(found[&t0].as_ref().unwrap().offset, commits - 1);
                drop(consumer);
                cluster.close().unwrap();
            })
        });
    }
    group.finish();
}

/// A cluster in `dir` whose topic `t` had its config changed `changes` times, and whose
/// metadata log was then compacted if `compact`.
fn altered(dir: &std::path::Path, changes: usize, compact: bool) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 8)).unwrap();
    for i in 0..changes {
        let ms = (60_000 + i).to_string();
        cluster
            .alter_topic_config("t", &[("retention.ms", ms.as_str())], &[])
            .unwrap();
    }
    if compact {
        cluster.compact(None).unwrap();
    }
    let after = dir_bytes(&dir.join("__cluster_metadata-0"));
    eprintln!("{changes} config changes, compacted {compact}: the metadata log holds {after} bytes on disk");
    cluster.close().unwrap();
}

/// Bytes on disk (preallocated active segments are sparse).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().blocks() * 512)
        .sum()
}

fn metadata_reopen(c: &mut Criterion) {
    let mut group = c.benchmark_group("metadata_reopen");
    group.sample_size(20);
    for (changes, compact) in [(100, true), (10_000, true), (10_000, false)] {
        let dir = std::cell::OnceCell::new();
        let name = if compact { "" } else { "_uncompacted" };
        group.bench_function(format!("{changes}_config_changes{name}"), |b| {
            let dir = dir.get_or_init(|| {
                let dir = common::bench_dir();
                altered(dir.path(), changes, compact);
                dir
            });
            b.iter(|| {
                let cluster = Cluster::builder()
                    .background(false)
                    .open(dir.path())
                    .unwrap();
                black_box(cluster.describe_topic("t").unwrap());
                cluster.close().unwrap();
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = clean, offsets_reopen, metadata_reopen
}
criterion_main!(benches);
