//! The event store's stream index on disk: tables written as events pile up, merged, loaded
//! after a reopen instead of reading the log, checked against the log, dropped and rebuilt
//! when damaged or when the log under them changed, removed by retention and with the topic.

#![allow(clippy::cast_possible_truncation)]

use std::path::{Path, PathBuf};

use kafkalite::eventstore::{
    Direction, EventData, EventId, EventStore, EventStoreConfig, ReadStreamResult, RecordedEvent,
    StreamPosition,
};
use kafkalite::{Cluster, ExpectedVersion, ProducerConfig, ProducerRecord, RecoveryMode};

fn event(n: u32) -> EventData {
    EventData::new(format!("E{n}"), vec![b'x'; 10 + (n % 7) as usize])
}

/// Every stream's events read forwards, and checked against reading backwards.
fn read_streams(store: &EventStore, streams: &[String]) -> Vec<Vec<RecordedEvent>> {
    streams
        .iter()
        .map(|stream| {
            let read = |from, direction| {
                store
                    .read_stream(stream, from, direction, usize::MAX)
                    .unwrap()
                    .into_events()
            };
            let forwards = read(StreamPosition::Start, Direction::Forwards);
            let mut backwards = read(StreamPosition::End, Direction::Backwards);
            backwards.reverse();
            assert_eq!(forwards, backwards, "{stream}");
            forwards
        })
        .collect()
}

/// The stream index files in a partition directory, sorted.
fn table_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "streams"))
        .collect();
    files.sort();
    files
}

#[test]
fn tables_hold_the_history_and_a_reopen_reads_them_not_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let streams: Vec<String> = (0..10).map(|s| format!("s{s}")).collect();
    let config = EventStoreConfig::new().index_table_events(8);
    let written = {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        for n in 0..205u32 {
            let stream = &streams[(n * 7 % 10) as usize];
            store
                .append(stream, ExpectedVersion::Any, [event(n)])
                .unwrap();
        }
        let stats = store.index_stats(0).unwrap();
        assert_eq!(stats.indexed_to, 205);
        assert_eq!(stats.table_events + stats.memory_events as u64, 205);
        assert_eq!(stats.memory_events, 5, "{stats:?}");
        // Chained, and merged: far fewer tables than the 25 written.
        assert_eq!(stats.tables.first().map(|t| t.0), Some(0), "{stats:?}");
        assert!(
            stats.tables.windows(2).all(|w| w[0].1 == w[1].0),
            "{stats:?}"
        );
        assert!(stats.tables.len() <= 6, "{stats:?}");
        assert_eq!(
            table_files(&dir.path().join("es-0")).len(),
            stats.tables.len()
        );
        read_streams(&store, &streams)
    };
    assert_eq!(written.iter().map(Vec::len).sum::<usize>(), 205);
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    let stats = store.index_stats(0).unwrap();
    // The close wrote the last five events to a table: nothing is read from the log.
    assert_eq!(stats.tables.last().map(|t| t.1), Some(205), "{stats:?}");
    assert_eq!((stats.table_events, stats.memory_events), (205, 0));
    assert!(stats.dropped.is_empty(), "{stats:?}");
    assert_eq!(read_streams(&store, &streams), written);
    // Reading in log order gives each event the version reading its stream gave.
    let mut by_log = store.read_all(0, None, 1000).unwrap();
    by_log.sort_by(|a, b| (&a.stream, a.version).cmp(&(&b.stream, b.version)));
    let mut by_stream: Vec<RecordedEvent> = written.into_iter().flatten().collect();
    by_stream.sort_by(|a, b| (&a.stream, a.version).cmp(&(&b.stream, b.version)));
    assert_eq!(by_log, by_stream);
    // Appends check against versions that live in the tables.
    let conflict = store.append("s3", ExpectedVersion::Exact(18), [event(0)]);
    assert!(conflict.is_err(), "{conflict:?}");
    let done = store
        .append("s3", ExpectedVersion::Exact(19), [event(0)])
        .unwrap();
    assert_eq!(done.next_expected_version, 20);
    // A retry of an append whose events went to a table returns the original result.
    let first = store.read_stream("s0", StreamPosition::Start, Direction::Forwards, 1);
    let first = first.unwrap().into_events().remove(0);
    let retry = EventData::new(first.event_type.clone(), first.data.clone()).id(first.id.unwrap());
    let again = store
        .append("s0", ExpectedVersion::NoStream, [retry])
        .unwrap();
    assert_eq!(again.position, first.position);
}

/// Flips a bit of byte `at` of `file`.
fn damage(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 1;
    std::fs::write(file, bytes).unwrap();
}

/// Where a table's stream entries begin: after the last block of stream records (read
/// from the header and block directory as the format lays them out).
fn entries_at(table: &Path) -> usize {
    let bytes = std::fs::read(table).unwrap();
    let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
    let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let blocks = u32_at(12) as usize;
    let last = 64 + (blocks - 1) * 24;
    (u64_at(last + 8) + u64::from(u32_at(last + 16))) as usize
}

/// Flips a byte of the batch holding `offset` in segment file `log`.
fn damage_batch(log: &Path, offset: i64) {
    let mut bytes = std::fs::read(log).unwrap();
    let mut at = 0;
    loop {
        let base = i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
        let len = u32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        if base == offset {
            bytes[at + 40] ^= 0xff;
            break;
        }
        at += 12 + len;
    }
    std::fs::write(log, bytes).unwrap();
}

#[test]
fn a_table_over_records_the_log_no_longer_holds_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(4);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        for n in 0..20u32 {
            store.append("a", ExpectedVersion::Any, [event(n)]).unwrap();
        }
        assert!(store.index_stats(0).unwrap().tables.last().unwrap().1 > 12);
    }
    // A repair cuts the log at offset 10, and plain records of two streams follow.
    damage_batch(&dir.path().join("es-0/00000000000000000000.log"), 10);
    let cluster = Cluster::builder()
        .recovery_mode(RecoveryMode::TruncateCorrupt)
        .open(dir.path())
        .unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    for n in 0..16 {
        let key = if n % 2 == 0 { "b" } else { "a" };
        producer
            .send(ProducerRecord::to("es").key(key).value("plain"))
            .unwrap()
            .wait()
            .unwrap();
    }
    let store = cluster.event_store("es", config).unwrap();
    let a = read_streams(&store, &["a".to_string()]).remove(0);
    let got: Vec<(u64, i64, bool)> = a
        .iter()
        .map(|e| (e.version, e.position.offset, e.id.is_some()))
        .collect();
    let want: Vec<(u64, i64, bool)> = (0..10)
        .map(|o: u64| (o, o as i64, true))
        .chain((0..8u64).map(|i| (10 + i, 11 + 2 * i as i64, false)))
        .collect();
    assert_eq!(got, want);
    let stats = store.index_stats(0).unwrap();
    assert!(
        stats
            .dropped
            .iter()
            .any(|why| why.contains("is not the one it was written from")),
        "{stats:?}"
    );
}

#[test]
fn a_damaged_table_is_found_when_read_and_its_offsets_indexed_again() {
    let dir = tempfile::tempdir().unwrap();
    let streams: Vec<String> = (0..4).map(|s| format!("s{s}")).collect();
    let config = EventStoreConfig::new().index_table_events(6);
    let written = {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        for n in 0..40u32 {
            let stream = &streams[(n % 4) as usize];
            store
                .append(stream, ExpectedVersion::Any, [event(n)])
                .unwrap();
        }
        read_streams(&store, &streams)
    };
    // A byte of the entries of the oldest table (the first stream's first offset), found
    // when a read of that stream uses them.
    let oldest = table_files(&dir.path().join("es-0")).remove(0);
    damage(&oldest, entries_at(&oldest));
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config.clone()).unwrap();
    assert!(
        store.index_stats(0).unwrap().dropped.is_empty(),
        "opening checks the header only"
    );
    assert_eq!(read_streams(&store, &streams), written);
    let stats = store.index_stats(0).unwrap();
    assert!(
        stats
            .dropped
            .iter()
            .any(|why| why.contains("entries CRC mismatch")),
        "{stats:?}"
    );
    // Reading in log order finds the version of each event through the table's chunks by
    // offset: damage their directory (the file's last bytes).
    let by_log = store.read_all(0, None, 100).unwrap();
    drop(store);
    cluster.close().unwrap();
    let oldest = table_files(&dir.path().join("es-0")).remove(0);
    damage(
        &oldest,
        std::fs::metadata(&oldest).unwrap().len() as usize - 1,
    );
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    assert_eq!(store.read_all(0, None, 100).unwrap(), by_log);
    let stats = store.index_stats(0).unwrap();
    assert!(
        stats
            .dropped
            .iter()
            .any(|why| why.contains("chunk directory CRC mismatch")),
        "{stats:?}"
    );
    // Its offsets went to new tables.
    assert_eq!(stats.table_events + stats.memory_events as u64, 40);
}

#[test]
fn retention_removes_old_tables_and_deleting_the_topic_removes_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster
        .event_store("es", EventStoreConfig::new().index_table_events(4))
        .unwrap();
    for n in 0..40u32 {
        let stream = if n % 2 == 0 { "even" } else { "odd" };
        store
            .append(stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let partition = dir.path().join("es-0");
    let before = store.index_stats(0).unwrap();
    assert_eq!(before.tables.first().unwrap().0, 0);
    cluster.delete_records("es", 0, 30).unwrap();
    let after = store.index_stats(0).unwrap();
    assert!(after.tables.iter().all(|t| t.1 > 30), "{after:?}");
    assert_eq!(table_files(&partition).len(), after.tables.len());
    let even = store
        .read_stream("even", StreamPosition::Start, Direction::Forwards, 100)
        .unwrap()
        .into_events();
    let versions: Vec<u64> = even.iter().map(|e| e.version).collect();
    assert_eq!(versions, (15..20).collect::<Vec<u64>>());
    // Other files in the directory are not the store's.
    std::fs::write(partition.join("notes.txt"), "mine").unwrap();
    cluster.delete_topic("es").unwrap();
    let left: Vec<String> = walk(dir.path())
        .iter()
        .filter(|p| p.to_string_lossy().contains("es-0"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["notes.txt"],
        "only the foreign file is left of the partition"
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// What an append of the stream's `n`-th event expects.
fn expected_before(n: usize) -> ExpectedVersion {
    match n {
        0 => ExpectedVersion::NoStream,
        n => ExpectedVersion::Exact(n as u64 - 1),
    }
}

/// Appends the stream's events `versions`, one per append, each at the version before.
fn append_events(store: &EventStore, stream: &str, versions: std::ops::Range<usize>) {
    for n in versions {
        store
            .append(stream, expected_before(n), [event(n as u32)])
            .unwrap();
    }
}

#[test]
fn event_ids_written_to_tables_come_back_unchanged() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("ids", EventStoreConfig::new().index_table_events(1))
        .unwrap();
    let ids: Vec<EventId> = (0..5).map(|_| EventId::random()).collect();
    for (n, id) in ids.iter().enumerate() {
        store
            .append("s", expected_before(n), [event(0).id(*id)])
            .unwrap();
    }
    let read: Vec<Option<EventId>> = store
        .read_stream("s", StreamPosition::End, Direction::Backwards, 3)
        .unwrap()
        .into_events()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(read, [Some(ids[4]), Some(ids[3]), Some(ids[2])]);
}

/// The version each stream says it is at, and whether reading `gone` finds the stream
/// (every way of reading it agreeing, with no event).
fn versions_after_retention(store: &EventStore) -> (Option<u64>, Option<u64>, bool) {
    let reads = [
        (StreamPosition::Start, Direction::Forwards),
        (StreamPosition::End, Direction::Forwards),
        (StreamPosition::Start, Direction::Backwards),
        (StreamPosition::End, Direction::Backwards),
        (StreamPosition::Version(0), Direction::Backwards),
        (StreamPosition::Version(u64::MAX), Direction::Forwards),
    ];
    let found: Vec<bool> = reads
        .into_iter()
        .map(|(from, direction)| {
            let read = store.read_stream("gone", from, direction, 10);
            match read.unwrap_or_else(|e| panic!("{from:?} {direction:?}: {e}")) {
                ReadStreamResult::StreamNotFound => false,
                ReadStreamResult::Events(events) => {
                    assert!(events.is_empty(), "{from:?} {direction:?}: {events:?}");
                    true
                }
            }
        })
        .collect();
    assert!(found.iter().all(|&f| f == found[0]), "{found:?}");
    let found = found[0];
    (
        store.stream_version("gone").unwrap(),
        store.stream_version("other").unwrap(),
        found,
    )
}

#[test]
fn a_stream_whose_events_retention_removed_from_the_tail_reads_empty_every_way() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().durable(false);
    let store = cluster.event_store("es", config).unwrap();
    append_events(&store, "gone", 0..3);
    append_events(&store, "other", 0..4);
    assert!(store.index_stats(0).unwrap().tables.is_empty());
    // Only the index's in-memory tail had "gone"'s entries: the next call writes it to a
    // table at once (a crash would take the versions with the tail).
    cluster.delete_records("es", 0, 3).unwrap();
    assert_eq!(versions_after_retention(&store), (Some(2), Some(3), true));
    assert_eq!(store.index_stats(0).unwrap().tables, [(0, 7)]);
}

#[test]
fn a_store_that_never_writes_tables_closes_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(usize::MAX);
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config.clone()).unwrap();
    append_events(&store, "s", 0..3);
    cluster.close().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    let read = store
        .read_stream("s", StreamPosition::End, Direction::Backwards, 10)
        .unwrap()
        .into_events();
    let versions: Vec<u64> = read.iter().map(|e| e.version).collect();
    assert_eq!(versions, [2, 1, 0]);
    append_events(&store, "s", 3..4);
    assert_eq!(store.stream_version("s").unwrap(), Some(3));
}

#[test]
fn a_stream_whose_events_retention_removed_keeps_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(2);
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config.clone()).unwrap();
    append_events(&store, "gone", 0..3);
    append_events(&store, "other", 0..10);
    // Every record goes: the tables then hold all the index knows of either stream.
    cluster.delete_records("es", 0, 13).unwrap();
    assert_eq!(versions_after_retention(&store), (Some(2), Some(9), true));
    let stats = store.index_stats(0).unwrap();
    assert_eq!(stats.tables.len(), 1, "one retired table: {stats:?}");
    assert_eq!(stats.table_events, 0, "{stats:?}");
    assert_eq!(table_files(&dir.path().join("es-0")).len(), 1);
    // Creating the stream again is a conflict, as before retention.
    match store.append("gone", ExpectedVersion::NoStream, [event(0)]) {
        Err(kafkalite::Error::WrongExpectedVersion { actual, .. }) => {
            assert_eq!(actual, Some(2));
        }
        other => panic!("{other:?}"),
    }
    drop(store);
    cluster.close().unwrap();

    // Reopened, and with retention run while no store was open.
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config.clone()).unwrap();
    assert_eq!(versions_after_retention(&store), (Some(2), Some(9), true));
    append_events(&store, "other", 10..16);
    drop(store);
    cluster.close().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    cluster.delete_records("es", 0, 19).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    assert_eq!(versions_after_retention(&store), (Some(2), Some(15), true));
    let next = store
        .append("gone", ExpectedVersion::Exact(2), [event(3)])
        .unwrap();
    assert_eq!(next.next_expected_version, 3);
    let read = store
        .read_stream("gone", StreamPosition::Start, Direction::Forwards, 10)
        .unwrap()
        .into_events();
    assert_eq!(read.iter().map(|e| e.version).collect::<Vec<_>>(), [3]);
    // A stream never written is still not found.
    let never = store.read_stream("never", StreamPosition::Start, Direction::Forwards, 1);
    assert_eq!(never.unwrap(), ReadStreamResult::StreamNotFound);
}

#[test]
fn a_handle_on_a_deleted_topic_leaves_the_new_topic_alone() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let config = EventStoreConfig::new().index_table_events(2);
    let old = cluster.event_store("es", config.clone()).unwrap();
    old.append("s", ExpectedVersion::Any, [event(0)]).unwrap();
    cluster.delete_topic("es").unwrap();
    let new = cluster.event_store("es", config).unwrap();
    for n in 0..5 {
        new.append("s", expected_before(n), [event(n as u32)])
            .unwrap();
    }
    let partition = dir.path().join("es-0");
    let tables = table_files(&partition);
    assert!(!tables.is_empty());
    // The old handle's index is of a log that is gone: it refuses, and touches nothing.
    let refused = old.append("s", ExpectedVersion::Any, [event(9)]);
    assert!(
        matches!(refused, Err(kafkalite::Error::Closed)),
        "{refused:?}"
    );
    assert!(old.index_stats(0).is_err());
    assert!(old.read_all(0, None, 10).is_err());
    assert_eq!(table_files(&partition), tables);
    assert_eq!(new.stream_version("s").unwrap(), Some(4));
}

#[test]
fn a_table_found_damaged_by_a_merge_is_indexed_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(4);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        append_events(&store, "a", 0..4);
        assert_eq!(store.index_stats(0).unwrap().tables, [(0, 4)]);
    }
    // The entries of stream "a": only a read of "a", or a merge, reads them.
    let table = table_files(&dir.path().join("es-0")).remove(0);
    damage(&table, entries_at(&table));
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    append_events(&store, "b", 0..4);
    // The next table makes two of a size: merging them reads the damaged one whole.
    store.index_stats(0).unwrap();
    let stats = store.index_stats(0).unwrap();
    assert!(
        stats
            .dropped
            .iter()
            .any(|why| why.contains("entries CRC mismatch")),
        "{stats:?}"
    );
    assert_eq!(stats.tables, [(0, 8)], "{stats:?}");
    let read = read_streams(&store, &["a".to_string(), "b".to_string()]);
    let versions: Vec<Vec<u64>> = read
        .iter()
        .map(|events| events.iter().map(|e| e.version).collect())
        .collect();
    assert_eq!(versions, [vec![0, 1, 2, 3], vec![0, 1, 2, 3]]);
}

/// Tables of format version 0 (kafkalite before the store read committed: they counted
/// aborted transactions' records as events) are dropped, and their offsets indexed again
/// from the log, which skips the aborted records.
#[test]
fn a_table_of_the_format_that_counted_aborted_records_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(4);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        let producer = cluster
            .producer(ProducerConfig::new().transactional_id("aborting"))
            .unwrap();
        let t = std::time::Duration::from_secs(30);
        producer.init_transactions(t).unwrap();
        producer.begin_transaction().unwrap();
        producer
            .send(ProducerRecord::to("es").key("a").value("aborted"))
            .unwrap();
        producer.flush(t).unwrap();
        producer.abort_transaction(t).unwrap();
        for n in 0..10u32 {
            store.append("a", ExpectedVersion::Any, [event(n)]).unwrap();
        }
        assert!(!store.index_stats(0).unwrap().tables.is_empty());
    }
    let tables = table_files(&dir.path().join("es-0"));
    assert!(!tables.is_empty());
    for table in &tables {
        let mut bytes = std::fs::read(table).unwrap();
        assert_eq!(&bytes[..8], b"KLSTREAM");
        bytes[8..12].copy_from_slice(&0u32.to_be_bytes());
        std::fs::write(table, bytes).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    let a = read_streams(&store, &["a".to_string()]).remove(0);
    let versions: Vec<u64> = a.iter().map(|e| e.version).collect();
    assert_eq!(versions, (0..10).collect::<Vec<u64>>());
    assert!(
        a.iter().all(|e| e.id.is_some()),
        "no aborted record is an event"
    );
    let stats = store.index_stats(0).unwrap();
    assert_eq!(stats.dropped.len(), tables.len(), "{stats:?}");
    assert!(
        stats
            .dropped
            .iter()
            .all(|why| why.contains("format version 0")),
        "{stats:?}"
    );
}

/// A closed store "es" whose stream "a" holds 10 events in index tables of 4: its
/// directory, config and table files.
fn closed_store_with_tables() -> (tempfile::TempDir, EventStoreConfig, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(4);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        for n in 0..10u32 {
            store.append("a", ExpectedVersion::Any, [event(n)]).unwrap();
        }
    }
    let tables = table_files(&dir.path().join("es-0"));
    (dir, config, tables)
}

/// A table of a format newer than this kafkalite reads (a downgrade) is left as it is, and
/// the partition's calls say why they cannot go on: it may be the only record of the
/// versions of streams whose events retention removed, which the newer kafkalite still reads.
#[test]
fn a_table_of_a_newer_format_is_kept_and_refused() {
    let (dir, config, tables) = closed_store_with_tables();
    assert!(!tables.is_empty());
    let newest = tables.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    bytes[8..12].copy_from_slice(&7u32.to_be_bytes());
    // A newer format keeps the header's CRC where version 1 has it (over bytes 0..56 and
    // the block directory, 24 bytes a block), so a damaged version field is not taken for
    // a newer format.
    let blocks = u32::from_be_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&bytes[..56]), &bytes[64..64 + 24 * blocks]);
    bytes[56..60].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(newest, &bytes).unwrap();
    let before: Vec<Vec<u8>> = tables.iter().map(|t| std::fs::read(t).unwrap()).collect();

    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    let read = store.read_stream("a", StreamPosition::Start, Direction::Forwards, 100);
    let Err(kafkalite::Error::UnsupportedFormat {
        path,
        found,
        supported,
    }) = read
    else {
        panic!("expected UnsupportedFormat, got {read:?}");
    };
    assert_eq!((path.as_path(), found), (newest.as_path(), 7));
    assert!(supported < found);
    let append = store.append("a", ExpectedVersion::Exact(9), [event(10)]);
    assert!(
        matches!(append, Err(kafkalite::Error::UnsupportedFormat { .. })),
        "{append:?}"
    );
    drop(store);
    drop(cluster);
    let after: Vec<Vec<u8>> = tables.iter().map(|t| std::fs::read(t).unwrap()).collect();
    assert!(before == after, "the tables are left byte for byte");
    assert_eq!(table_files(&dir.path().join("es-0")), tables);
}

/// A version field that damage changed (the header's CRC then fails) is a damaged table,
/// dropped and indexed again, not a newer format that would refuse the partition forever.
#[test]
fn a_damaged_version_field_is_damage_not_a_newer_format() {
    let (dir, config, tables) = closed_store_with_tables();
    let newest = tables.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    bytes[11] ^= 0x04;
    std::fs::write(newest, &bytes).unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", config).unwrap();
    let a = read_streams(&store, &["a".to_string()]).remove(0);
    let versions: Vec<u64> = a.iter().map(|e| e.version).collect();
    assert_eq!(versions, (0..10).collect::<Vec<u64>>());
    let stats = store.index_stats(0).unwrap();
    assert!(
        stats.dropped.iter().any(|why| why.contains("CRC mismatch")),
        "{stats:?}"
    );
}

/// A crash can lose the log start `delete_records` raised after the index retired the
/// tables below it (`log-start-offset-checkpoint` is written after the log start moves):
/// the retired table then counts records the log still holds from its restored start.
#[test]
fn a_retired_table_past_a_restored_log_start_completes_the_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().index_table_events(2);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        append_events(&store, "a", 0..4);
        append_events(&store, "b", 0..4);
        let tables = store.index_stats(0).unwrap().tables;
        assert_eq!(tables, [(0, 6), (6, 8)]);
        cluster.delete_records("es", 0, 6).unwrap();
        // The first table is retired: it keeps only a's and b's versions.
        let stats = store.index_stats(0).unwrap();
        assert_eq!((stats.tables, stats.table_events), (tables, 2));
        // Tables written after it are not merged into it: where it ends stays known.
        append_events(&store, "b", 4..8);
        let tables = store.index_stats(0).unwrap().tables;
        assert_eq!(tables.first(), Some(&(0, 6)), "{tables:?}");
        drop(store);
        cluster.close().unwrap();
    }
    // The checkpoint as it was before the deletion (as Kafka writes it: no checksum line).
    let path = dir.path().join("log-start-offset-checkpoint");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.lines().any(|line| line == "es 0 6"), "{text}");
    let restored: String = text
        .lines()
        .filter(|line| !line.starts_with("crc32c:"))
        .map(|line| {
            if line == "es 0 6" {
                "es 0 0\n".to_string()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&path, restored).unwrap();
    let reopen = || {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        let all: Vec<(i64, String, u64)> = store
            .read_all(0, None, 100)
            .unwrap()
            .into_iter()
            .map(|e| (e.position.offset, e.stream.to_string(), e.version))
            .collect();
        let a = store.read_stream("a", StreamPosition::Start, Direction::Forwards, 100);
        let start = cluster.partition("es", 0).unwrap().log_start_offset();
        drop(store);
        cluster.close().unwrap();
        (all, a.unwrap(), start)
    };
    // The deletion is completed at the first read, and stays so after a clean close.
    for _ in 0..2 {
        let (all, a, start) = reopen();
        let b: Vec<(i64, String, u64)> = (2..8).map(|v| (v as i64 + 4, "b".into(), v)).collect();
        assert_eq!(all, b);
        assert_eq!((a, start), (ReadStreamResult::Events(vec![]), 6));
    }
}
