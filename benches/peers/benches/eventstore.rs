//! Durable check-and-append of one event at a time, 8 threads each on a stream of its own,
//! side by side: kafkalite's event store (8 partitions, `flush.messages=1`, `Exact` expected
//! version), redb (a write transaction that reads the stream's version, checks it, inserts
//! the event and the new version; `Durability::Immediate`, its default) and fjall (a
//! transactional keyspace doing the same, then `persist(SyncAll)`).
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafkalite::eventstore::{EventData, EventStoreConfig};
use kafkalite::ExpectedVersion;
use redb::ReadableTable;

const THREADS: usize = 8;
const APPENDS: usize = 100;

fn payload(n: usize) -> Vec<u8> {
    format!("{{\"amount\":{n:>90}}}").into_bytes()
}

fn kafkalite_appends() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let cluster = kafkalite::Cluster::builder().background(false).open(dir.path()).unwrap();
    let store = cluster.event_store("bench", EventStoreConfig::new().partitions(THREADS as i32)).unwrap();
    let mut streams = vec![String::new(); THREADS];
    let mut n = 0;
    while streams.iter().any(String::is_empty) {
        let name = format!("account-{n}");
        let slot = &mut streams[store.partition_of(&name) as usize];
        if slot.is_empty() {
            *slot = name;
        }
        n += 1;
    }
    let start = Instant::now();
    std::thread::scope(|scope| {
        for stream in &streams {
            let store = store.clone();
            scope.spawn(move || {
                let mut expected = ExpectedVersion::NoStream;
                for n in 0..APPENDS {
                    let event = EventData::new("Deposited", payload(n));
                    let done = store.append(stream, expected, [event]).unwrap();
                    expected = ExpectedVersion::Exact(done.next_expected_version);
                }
            });
        }
    });
    start.elapsed()
}

const EVENTS: redb::TableDefinition<(&str, u64), &[u8]> = redb::TableDefinition::new("events");
const VERSIONS: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("versions");

fn redb_appends() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let db = redb::Database::create(dir.path().join("events.redb")).unwrap();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let db = &db;
            scope.spawn(move || {
                let stream = format!("account-{t}");
                let mut expected: Option<u64> = None;
                for n in 0..APPENDS {
                    let tx = db.begin_write().unwrap();
                    {
                        let mut versions = tx.open_table(VERSIONS).unwrap();
                        let current = versions.get(stream.as_str()).unwrap().map(|v| v.value());
                        assert_eq!(current, expected, "the expected version");
                        let next = current.map_or(0, |v| v + 1);
                        versions.insert(stream.as_str(), next).unwrap();
                        let mut events = tx.open_table(EVENTS).unwrap();
                        events.insert((stream.as_str(), next), payload(n).as_slice()).unwrap();
                        expected = Some(next);
                    }
                    tx.commit().unwrap();
                }
            });
        }
    });
    start.elapsed()
}

fn fjall_appends() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let keyspace = fjall::Config::new(dir.path()).open_transactional().unwrap();
    let events = keyspace.open_partition("events", fjall::PartitionCreateOptions::default()).unwrap();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (keyspace, events) = (&keyspace, &events);
            scope.spawn(move || {
                let version_key = format!("v/account-{t}");
                let mut expected: Option<u64> = None;
                for n in 0..APPENDS {
                    let mut tx = keyspace.write_tx();
                    let current = tx
                        .get(events, &version_key)
                        .unwrap()
                        .map(|v| u64::from_be_bytes(v.as_ref().try_into().unwrap()));
                    assert_eq!(current, expected, "the expected version");
                    let next = current.map_or(0, |v| v + 1);
                    tx.insert(events, &version_key, next.to_be_bytes());
                    tx.insert(events, format!("e/account-{t}/{next:020}"), payload(n));
                    tx.commit().unwrap();
                    keyspace.persist(fjall::PersistMode::SyncAll).unwrap();
                    expected = Some(next);
                }
            });
        }
    });
    start.elapsed()
}

fn appends(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_check_and_append_8_threads");
    group.throughput(Throughput::Elements((THREADS * APPENDS) as u64)).sample_size(10).measurement_time(Duration::from_secs(20));
    let run = |f: fn() -> Duration| move |b: &mut criterion::Bencher| b.iter_custom(|iters| (0..iters).map(|_| f()).sum());
    group.bench_function("kafkalite_eventstore", run(kafkalite_appends));
    group.bench_function("redb", run(redb_appends));
    group.bench_function("fjall", run(fjall_appends));
    group.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
