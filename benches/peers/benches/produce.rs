//! One thread producing 1,000,000 records (16-byte key, 100-byte value) over 8 partitions,
//! page cache, measured side by side: kafkalite's `send` (default linger), commitlog's batched
//! append (one log per partition, 1,000 messages per `MessageBuf`), and kafko's `send_batch`
//! (1,000 records per call).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDS: usize = 1_000_000;
const PARTITIONS: usize = 8;
const CHUNK: usize = 1000;

fn keys() -> Vec<Vec<u8>> {
    (0..RECORDS).map(|i| format!("key-{i:012}").into_bytes()).collect()
}

fn produce(c: &mut Criterion) {
    let keys = keys();
    let value = vec![b'v'; 100];
    let mut group = c.benchmark_group("produce_1M_records_8_partitions");
    group.throughput(Throughput::Elements(RECORDS as u64)).sample_size(10).measurement_time(Duration::from_secs(30));

    group.bench_function("kafkalite_send", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let cluster = kafkalite::Cluster::builder().background(false).open(dir.path()).unwrap();
                cluster.create_topic(kafkalite::NewTopic::new("bench", PARTITIONS as i32)).unwrap();
                let producer = cluster.producer(kafkalite::ProducerConfig::new()).unwrap();
                let start = Instant::now();
                for key in &keys {
                    producer.send(kafkalite::ProducerRecord::to("bench").key(key.clone()).value(value.clone())).unwrap();
                }
                producer.flush(Duration::from_secs(600)).unwrap();
                total += start.elapsed();
            }
            total
        })
    });

    group.bench_function("commitlog_batched_append", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let mut logs: Vec<commitlog::CommitLog> = (0..PARTITIONS)
                    .map(|p| commitlog::CommitLog::new(commitlog::LogOptions::new(dir.path().join(p.to_string()))).unwrap())
                    .collect();
                let start = Instant::now();
                for (n, chunk) in keys.chunks(CHUNK).enumerate() {
                    let mut buf = commitlog::message::MessageBuf::default();
                    for key in chunk {
                        let mut payload = key.clone();
                        payload.extend_from_slice(&value);
                        buf.push(payload).unwrap();
                    }
                    logs[n % PARTITIONS].append(&mut buf).unwrap();
                }
                for log in &mut logs {
                    log.flush().unwrap();
                }
                total += start.elapsed();
            }
            total
        })
    });

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    group.bench_function("kafko_send_batch", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let broker = kafko::Kafko::open(dir.path()).await.unwrap();
                    broker.create_topic_with_partitions("bench", PARTITIONS as u32).await.unwrap();
                    let producer = broker.producer_for("bench").await.unwrap();
                    let value = bytes::Bytes::from(value.clone());
                    let start = Instant::now();
                    for chunk in keys.chunks(CHUNK) {
                        let items = chunk.iter().map(|k| (Some(bytes::Bytes::from(k.clone())), value.clone())).collect();
                        producer.send_batch(items).await.unwrap();
                    }
                    total += start.elapsed();
                    broker.shutdown().await.unwrap();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = produce
}
criterion_main!(benches);
