//! Durable check-and-append of one event at a time, 8 threads each on a stream of its own,
//! side by side: kafkalite's event store (8 partitions, `flush.messages=1`, `Exact` expected
//! version), redb (a write transaction that reads the stream's version, checks it, inserts
//! the event and the new version; `Durability::Immediate`, its default) and fjall (a
//! transactional keyspace doing the same, then `persist(SyncAll)`).
//!
//! Two bare loops in the same run bound what any design gets from this disk: 8 threads each
//! writing the same bytes to a zero-filled file of its own and calling `fdatasync` after each
//! (kafkalite's design: a partition is a file, preallocated), and 8 threads writing them to
//! one shared, zero-filled journal file, where whoever finds its write not yet synced syncs
//! every write done so far (group commit, writes outside the lock: fjall's design at its
//! best, a recycled journal needing no metadata change per sync).
#![allow(missing_docs)]

use std::fs::File;
use std::os::unix::fs::FileExt;
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

/// One event's bytes as the bare loops write them (the size of the event store's batch).
const RECORD: usize = 200;

fn ceiling_files_per_thread() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    // Zero-filled first, before the clock starts (as the other runs set up before it), as a
    // preallocated segment: a sync then carries no change of the file's size or extents.
    let files: Vec<File> = (0..THREADS)
        .map(|t| {
            let file = File::create(dir.path().join(format!("file-{t}"))).unwrap();
            file.write_all_at(&vec![0; APPENDS * RECORD], 0).unwrap();
            file.sync_all().unwrap();
            file
        })
        .collect();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for file in &files {
            scope.spawn(move || {
                for n in 0..APPENDS {
                    file.write_all_at(&[7; RECORD], (n * RECORD) as u64).unwrap();
                    file.sync_data().unwrap();
                }
            });
        }
    });
    start.elapsed()
}

/// The shared journal's group commit. A write, once done, joins the open generation; closing
/// a generation and syncing the file covers every write that joined it (they were all done
/// before the close), so writes of generation `g` are durable once `synced > g`.
struct Journal {
    file: File,
    state: std::sync::Mutex<JournalState>,
    sync_done: std::sync::Condvar,
}

struct JournalState {
    end: u64,
    generation: u64,
    synced: u64,
    syncing: bool,
}

impl Journal {
    fn append(&self, bytes: &[u8]) {
        let mut state = self.state.lock().unwrap();
        let at = state.end;
        state.end += bytes.len() as u64;
        drop(state);
        self.file.write_all_at(bytes, at).unwrap();
        let mut state = self.state.lock().unwrap();
        let generation = state.generation;
        while state.synced <= generation {
            if state.syncing {
                state = self.sync_done.wait(state).unwrap();
                continue;
            }
            state.syncing = true;
            let closing = state.generation;
            state.generation += 1;
            drop(state);
            self.file.sync_data().unwrap();
            state = self.state.lock().unwrap();
            state.synced = closing + 1;
            state.syncing = false;
            self.sync_done.notify_all();
        }
    }
}

fn ceiling_shared_journal() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let file = File::create(dir.path().join("journal")).unwrap();
    file.write_all_at(&vec![0; THREADS * APPENDS * RECORD], 0).unwrap();
    file.sync_all().unwrap();
    let journal = Journal {
        file,
        state: std::sync::Mutex::new(JournalState {
            end: 0,
            generation: 0,
            synced: 0,
            syncing: false,
        }),
        sync_done: std::sync::Condvar::new(),
    };
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let journal = &journal;
            scope.spawn(move || (0..APPENDS).for_each(|_| journal.append(&[7; RECORD])));
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
    group.bench_function("ceiling_8_files_fdatasync_each", run(ceiling_files_per_thread));
    group.bench_function("ceiling_shared_journal_group_commit", run(ceiling_shared_journal));
    group.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
