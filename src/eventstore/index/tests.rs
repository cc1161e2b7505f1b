//! Unit tests of the partition index: following, doubts, retired runs.

use super::*;
use crate::record::BatchBuilder;

/// A log of `n` records, each of its own stream, one per batch.
fn log_of(cluster: &crate::Cluster, n: usize) -> std::sync::Arc<Log> {
    cluster.create_topic(crate::NewTopic::new("t", 1)).unwrap();
    let (_, logs) = cluster.topic_partitions("t").unwrap();
    for s in 0..n {
        let mut batch = BatchBuilder::new();
        let key = format!("s{s}");
        batch
            .append(0, Some(key.as_bytes()), Some(b"x"), &[])
            .unwrap();
        logs[0].append(&batch.build().unwrap()).unwrap();
    }
    std::sync::Arc::clone(&logs[0])
}

/// Appends `count` records of stream `a`, one per batch.
fn append_to_a(log: &Log, count: usize) {
    for _ in 0..count {
        let mut batch = BatchBuilder::new();
        batch.append(0, Some(b"a"), Some(b"x"), &[]).unwrap();
        log.append(&batch.build().unwrap()).unwrap();
    }
}

/// The tables' coverage, oldest first.
fn coverage(index: &PartitionIndex) -> Vec<(i64, i64)> {
    index
        .tables
        .iter()
        .map(|t| (t.coverage.from, t.coverage.to))
        .collect()
}

/// Stream `a` at offsets 0..16, versions 0..15: offsets 0..12 followed first (one table of
/// 12 events: written whole when `table_events` is 12, merged from tables of 4 when it is
/// 4), then 12..16, written to a second table too small to merge with the first when
/// `table_events` is 4, or left in the tail when it is 12.
/// Then retention removes offsets below 14, table `doubted` is found wrong, and the index
/// follows again: the versions below the start, which the log no longer holds, must
/// survive (from the tables and the tail), or offset 14 would be numbered 12.
fn doubt_after_retention(table_events: usize, doubted: usize) -> PartitionIndex {
    let cluster = crate::Cluster::temporary().unwrap();
    let log = log_of(&cluster, 0);
    let mut index = PartitionIndex::new(table_events);
    append_to_a(&log, 12);
    assert_eq!(index.followed(&log, |i| i.version("a")).unwrap(), Some(11));
    append_to_a(&log, 4);
    assert_eq!(index.followed(&log, |i| i.version("a")).unwrap(), Some(15));
    let wrong = Error::corruption(&index.tables[doubted].path, 0, "doubted");
    assert!(index.checked(doubted, Err::<(), _>(wrong)).is_err());
    log.delete_records(14).unwrap();
    assert_eq!(index.followed(&log, |i| i.version("a")).unwrap(), Some(15));
    let versions = index.followed(&log, |i| {
        let mut cache = super::super::index_file::ChunkCache::new();
        Ok([14, 15].map(|offset| i.version_at("a", offset, &mut cache).unwrap()))
    });
    assert_eq!(versions.unwrap(), [Some(14), Some(15)]);
    assert!(index.dropped.iter().any(|why| why.contains("kept")));
    // The tables below the start were retired into one (retention's usual work).
    assert_eq!(coverage(&index), [(0, 14)]);
    index
}

#[test]
fn a_doubted_table_keeps_its_versions_below_the_log_start() {
    doubt_after_retention(4, 1);
}

/// The doubted table is the older one: both are dropped, and both give their versions.
#[test]
fn a_doubted_table_and_those_after_it_keep_their_versions_below_the_log_start() {
    doubt_after_retention(4, 0);
}

/// The tail is dropped with a doubted table: its versions below the start are kept too.
#[test]
fn the_tail_dropped_with_a_doubted_table_keeps_its_versions_below_the_log_start() {
    doubt_after_retention(12, 0);
}

/// A table with events followed by a retired one (a retirement's write failed, so
/// retention could not merge them): the stream's retired version is its last, not the
/// last event of the older table, though retention removed both.
#[test]
fn a_retired_run_hides_the_events_of_older_tables() {
    use super::super::index_file::{self, Coverage, Table, TableStream};
    use crate::storage::{SimStorage, Storage};
    let sim = SimStorage::new(std::path::Path::new("/sim"));
    sim.create_dir_all(std::path::Path::new("/sim")).unwrap();
    let table = |from: i64, to: i64, first_version: u64, entries: Vec<(i64, u32)>| {
        let coverage = Coverage {
            from,
            to,
            last_batch_crc: 0,
            last_batch_position: 0,
        };
        let name = "a".to_string();
        let stream = TableStream {
            name,
            first_version,
            entries,
        };
        let bytes = index_file::encode(coverage, vec![stream]).unwrap();
        let path = index_file::path(std::path::Path::new("/sim"), from);
        sim.replace_file(&path, &bytes, true).unwrap();
        Table::open(&sim, &path).unwrap()
    };
    let mut index = PartitionIndex::new(4);
    index.tables = vec![table(0, 2, 0, vec![(0, 0), (1, 0)]), table(2, 4, 4, vec![])];
    index.next_offset = 4;
    index.tail_from = 4;
    index.loaded = true;
    let runs = index.runs("a").unwrap();
    assert_eq!(runs.len(), 2);
    let visible = index.visible("a", &runs, 4, 4).unwrap();
    assert_eq!(visible, Visible::Versions { first: 4, last: 3 });
    assert_eq!(index.version("a").unwrap(), Some(3));
}

#[test]
fn a_table_found_wrong_every_time_ends_in_its_error() {
    let cluster = crate::Cluster::temporary().unwrap();
    let log = log_of(&cluster, 6);
    // A table of each event: every round writes a fresh one, which is found wrong again.
    let mut index = PartitionIndex::new(1);
    let mut calls = 0;
    let result: Result<()> = index.followed(&log, |index| {
        calls += 1;
        let newest = index.tables.len().checked_sub(1).expect("a table");
        let wrong = Error::corruption(&index.tables[newest].path, 0, "wrong every time");
        index.checked(newest, Err(wrong))
    });
    assert!(
        matches!(result, Err(Error::Corruption { .. })),
        "{result:?}"
    );
    assert!(
        calls >= 2 && calls <= index.tables.len() + 3,
        "{calls} calls"
    );
    // Answers that do not fail are given as ever.
    assert_eq!(index.followed(&log, |i| i.version("s5")).unwrap(), Some(0));
}
