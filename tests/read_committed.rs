//! `isolation.level=read_committed` end to end, on transactional batches and markers
//! written to a cluster's partition (Kafka's `WriteTxnMarkers` through
//! `Log::write_transaction_marker`): a `read_committed` consumer reads only below the last
//! stable offset, never a record of an aborted transaction nor a control record, and its
//! end offsets and lag use the last stable offset; `read_uncommitted` (the default) reads
//! everything but control records, as Kafka's consumer. A damaged `.txnindex` is rebuilt
//! from the log; the cleaner stops at the last stable offset and at the first aborted
//! transaction.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kafkalite::{
    BatchBuilder, Cluster, ConsumerConfig, IsolationLevel, Log, NewTopic, Offset, TopicPartition,
};

const POLL: Duration = Duration::from_millis(200);

/// Now, as the markers' timestamps are: records far older would roll a segment per marker
/// (`segment.ms`).
fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// A transactional batch of records whose keys are their values.
fn txn_batch(log: &Log, producer: i64, sequence: i32, values: &[&str]) {
    let records: Vec<(&str, &str)> = values.iter().map(|v| (*v, *v)).collect();
    txn_kv(log, producer, sequence, &records);
}

/// A transactional batch of `(key, value)` records.
fn txn_kv(log: &Log, producer: i64, sequence: i32, records: &[(&str, &str)]) {
    let mut builder = BatchBuilder::new()
        .producer(producer, 0, sequence)
        .transactional(true);
    for (key, value) in records {
        builder
            .append(now(), Some(key.as_bytes()), Some(value.as_bytes()), &[])
            .unwrap();
    }
    log.append(&builder.build().unwrap()).unwrap();
}

/// A record outside any transaction, its value as its key.
fn plain(log: &Log, value: &str) {
    plain_kv(log, value, value);
}

fn plain_kv(log: &Log, key: &str, value: &str) {
    let mut builder = BatchBuilder::new();
    builder
        .append(now(), Some(key.as_bytes()), Some(value.as_bytes()), &[])
        .unwrap();
    log.append(&builder.build().unwrap()).unwrap();
}

/// Every value a consumer at `level` reads from the start.
fn read(cluster: &Cluster, level: IsolationLevel) -> Vec<String> {
    let config = ConsumerConfig::new().isolation_level(level);
    common::values_from_start(cluster, config, "t", POLL)
}

/// Offsets 0-1 a1 a2 (producer 1, aborted at 7), 2 p1, 3 b1 (producer 2, committed at 5),
/// 4 a3, 5 COMMIT(2), 6 c1 (producer 3, still open), 7 ABORT(1), 8 p2.
fn scenario(log: &Log) {
    txn_batch(log, 1, 0, &["a1", "a2"]);
    plain(log, "p1");
    txn_batch(log, 2, 0, &["b1"]);
    txn_batch(log, 1, 2, &["a3"]);
    log.write_transaction_marker(2, 0, 0, true).unwrap();
    txn_batch(log, 3, 0, &["c1"]);
    log.write_transaction_marker(1, 0, 0, false).unwrap();
    plain(log, "p2");
}

#[test]
fn read_committed_skips_aborted_records_and_stops_at_the_last_stable_offset() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    scenario(&log);
    assert_eq!((log.high_watermark(), log.last_stable_offset()), (9, 6));
    let aborted = log.aborted_transactions(0, 9);
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (
            aborted[0].producer_id,
            aborted[0].first_offset,
            aborted[0].last_offset
        ),
        (1, 0, 7)
    );
    // The LSO at the abort: producer 3's transaction, open from 6.
    assert_eq!(aborted[0].last_stable_offset, 6);

    assert_eq!(
        read(&cluster, IsolationLevel::ReadUncommitted),
        ["a1", "a2", "p1", "b1", "a3", "c1", "p2"]
    );
    assert_eq!(read(&cluster, IsolationLevel::ReadCommitted), ["p1", "b1"]);

    let consumer = cluster
        .consumer(ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted))
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign(&[(tp.clone(), Offset::Beginning)]).unwrap();
    assert_eq!(
        consumer.end_offsets(std::slice::from_ref(&tp)).unwrap()[&tp],
        6
    );
    while !consumer.poll(POLL).unwrap().is_empty() {}
    assert_eq!(
        consumer.position(&tp).unwrap(),
        6,
        "the position stops at the LSO"
    );
    assert_eq!(consumer.lag(&tp), Some(0));

    // Producer 3 commits: the LSO reaches the end, and c1 and p2 become readable.
    log.write_transaction_marker(3, 0, 0, true).unwrap();
    assert_eq!(log.last_stable_offset(), 10);
    let values: Vec<String> = consumer
        .poll(POLL)
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.value().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(values, ["c1", "p2"]);
    assert_eq!(
        read(&cluster, IsolationLevel::ReadCommitted),
        ["p1", "b1", "c1", "p2"]
    );
}

#[test]
fn aborted_transactions_survive_restarts_and_a_damaged_txnindex_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let cluster = Cluster::open(dir.path()).unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        scenario(&log);
        log.roll().unwrap();
        log.write_transaction_marker(3, 0, 0, false).unwrap();
        log.aborted_transactions(0, i64::MAX)
    };
    assert_eq!(expected.len(), 2);
    let index = dir.path().join("t-0/00000000000000000000.txnindex");
    assert_eq!(
        std::fs::read(&index).unwrap().len(),
        34,
        "the rolled segment's one entry"
    );
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        assert_eq!(log.aborted_transactions(0, i64::MAX), expected);
        assert_eq!(
            read(&cluster, IsolationLevel::ReadCommitted),
            ["p1", "b1", "p2"]
        );
    }
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[1] = 9; // version 9
    std::fs::write(&index, &bytes).unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let report = cluster.recovery_report();
    let rebuilt: usize = report
        .partitions
        .iter()
        .map(|(_, r)| r.damaged_txn_indexes)
        .sum();
    assert_eq!(rebuilt, 1, "{report:?}");
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.aborted_transactions(0, i64::MAX), expected);
    assert_eq!(
        read(&cluster, IsolationLevel::ReadCommitted),
        ["p1", "b1", "p2"]
    );
    assert_eq!(std::fs::read(&index).unwrap()[1], 0, "written again");
}

#[test]
fn the_cleaner_stops_at_the_last_stable_offset_and_removes_aborted_records() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("cleanup.policy", "compact")
                .config("min.cleanable.dirty.ratio", "0.01"),
        )
        .unwrap();
    let log: Arc<Log> = cluster.partition("t", 0).unwrap();
    plain_kv(&log, "k", "v0");
    plain_kv(&log, "k", "v1");
    txn_kv(&log, 1, 0, &[("k", "aborted")]); // open at 2: the LSO is 2
    log.roll().unwrap();
    assert_eq!(log.last_stable_offset(), 2);
    assert_eq!(log.cleanable(None, 0).unwrap().first_uncleanable_offset, 2);
    log.write_transaction_marker(1, 0, 0, false).unwrap();
    plain_kv(&log, "j", "w");
    log.roll().unwrap();
    // Decided: the whole closed log is cleanable (Kafka's rules for aborted transactions).
    let cleanable = log.cleanable(None, 0).unwrap();
    assert_eq!(cleanable.first_uncleanable_offset, 5, "{cleanable:?}");
    cluster.compact(Some("t")).unwrap();
    // An aborted record is no key's latest value: a cleaner that took it for one would
    // drop "v1", and read_committed readers would lose "k" altogether. It is gone for
    // every reader.
    assert_eq!(read(&cluster, IsolationLevel::ReadCommitted), ["v1", "w"]);
    assert_eq!(read(&cluster, IsolationLevel::ReadUncommitted), ["v1", "w"]);
}

/// Kafka's marker rules (`CleanedTransactionMetadata`, KIP-534): a marker stays while its
/// transaction has batches in the log; the first cleaning that finds the transaction empty
/// stamps the marker's delete horizon (`delete.retention.ms` later), and a cleaning past it
/// removes the marker, and the aborted transaction with it.
#[test]
fn markers_of_emptied_transactions_go_after_their_delete_horizon() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("cleanup.policy", "compact")
                .config("delete.retention.ms", "1000"),
        )
        .unwrap();
    let log: Arc<Log> = cluster.partition("t", 0).unwrap();
    txn_kv(&log, 1, 0, &[("k", "aborted")]);
    log.write_transaction_marker(1, 0, 0, false).unwrap(); // offset 1
                                                           // The producer's last batch is a later one: the aborted batch may go whole.
    let mut later = BatchBuilder::new().producer(1, 0, 1);
    later.append(now(), Some(b"k"), Some(b"kept"), &[]).unwrap();
    log.append(&later.build().unwrap()).unwrap();
    log.roll().unwrap();
    let marker = |log: &Log| {
        let data = log.read(0, 1 << 20).unwrap();
        let found = data
            .batches()
            .map(|b| b.unwrap())
            .find(|b| b.is_control())
            .map(|b| b.delete_horizon_ms());
        found
    };
    let t0 = now();
    let first = log.clean(None, t0, 1 << 20).unwrap().unwrap();
    assert_eq!(
        marker(&log),
        Some(None),
        "its transaction's batch was still read: kept as is"
    );
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 1);

    plain_kv(&log, "j", "1");
    log.roll().unwrap();
    let second = log
        .clean(Some(first.end_offset), t0, 1 << 20)
        .unwrap()
        .unwrap();
    assert_eq!(
        marker(&log),
        Some(Some(t0 + 1000)),
        "an empty transaction: stamped"
    );

    plain_kv(&log, "j", "2");
    log.roll().unwrap();
    let third = log
        .clean(Some(second.end_offset), t0 + 999, 1 << 20)
        .unwrap()
        .unwrap();
    assert!(marker(&log).is_some(), "before the horizon it stays");

    plain_kv(&log, "j", "3");
    log.roll().unwrap();
    log.clean(Some(third.end_offset), t0 + 1000, 1 << 20)
        .unwrap()
        .unwrap();
    assert_eq!(marker(&log), None, "past the horizon it goes");
    assert!(log.aborted_transactions(0, i64::MAX).is_empty());
    assert_eq!(read(&cluster, IsolationLevel::ReadCommitted), ["kept", "3"]);
}

/// Under `flush.messages=1` a decision is final only once its marker is synced (Kafka keeps
/// a completed transaction among its `unreplicatedTxns` until the high watermark passes the
/// marker): a marker whose sync failed leaves the LSO where the transaction starts.
#[test]
fn a_marker_not_yet_durable_does_not_move_the_last_stable_offset() {
    use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage};
    let sim = SimStorage::new(std::path::Path::new("/sim"));
    let cluster = Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .background(false)
        .open("/sim/data")
        .unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    txn_batch(&log, 7, 0, &["t1"]);
    plain(&log, "p1");
    assert_eq!(log.last_stable_offset(), 0);
    // Counted from the new plan: its first sync fails.
    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Sync, 1, SimFailure::Eio)),
    });
    assert!(log.write_transaction_marker(7, 0, 0, true).is_err());
    assert_eq!(log.log_end_offset(), 3, "the marker is written");
    assert_eq!(log.high_watermark(), 2, "but not durable");
    assert_eq!(log.last_stable_offset(), 0, "so t1 is not yet committed");
    assert!(read(&cluster, IsolationLevel::ReadCommitted).is_empty());
}

/// `delete_records` may pass an open transaction's start (as retention may): the LSO never
/// falls below the log start (Kafka's `maybeIncrementFirstUnstableOffset`), so a
/// `read_committed` consumer asked for the end lands inside the log.
#[test]
fn the_last_stable_offset_never_falls_below_the_log_start() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    txn_batch(&log, 7, 0, &["open"]);
    plain(&log, "p1");
    plain(&log, "p2");
    assert_eq!(log.last_stable_offset(), 0);
    log.delete_records(2).unwrap();
    assert_eq!(log.last_stable_offset(), 2);
    let consumer = cluster
        .consumer(ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted))
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign(&[(tp.clone(), Offset::End)]).unwrap();
    assert!(consumer.poll(POLL).unwrap().errors().is_empty());
    assert_eq!(consumer.position(&tp).unwrap(), 2);
}

/// Every value a `read_committed` consumer with `max.poll.records=1` reads from the start.
fn read_one_at_a_time(cluster: &Cluster) -> Vec<String> {
    let config = ConsumerConfig::new()
        .isolation_level(IsolationLevel::ReadCommitted)
        .max_poll_records(1);
    common::values_from_start(cluster, config, "t", POLL)
}

/// Polls cut by `max.poll.records` inside an aborted transaction still skip all of it:
/// each fetch asks the partition again for the aborted transactions from its position.
#[test]
fn polls_of_one_record_skip_an_aborted_transaction_they_start_inside() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    txn_batch(&log, 1, 0, &["a1", "a2"]);
    plain(&log, "p1");
    txn_batch(&log, 1, 2, &["a3"]);
    plain(&log, "p2");
    log.write_transaction_marker(1, 0, 0, false).unwrap();
    plain(&log, "p3");
    assert_eq!(read_one_at_a_time(&cluster), ["p1", "p2", "p3"]);
}

/// A `read_committed` consumer asked for the end stops at an open transaction's start and
/// reads its records once it commits.
#[test]
fn the_end_for_read_committed_is_the_start_of_an_open_transaction() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    plain(&log, "p1");
    txn_batch(&log, 2, 0, &["t1", "t2"]);
    plain(&log, "p2");
    let consumer = cluster
        .consumer(ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted))
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer.assign(&[(tp.clone(), Offset::End)]).unwrap();
    assert!(consumer.poll(POLL).unwrap().is_empty());
    assert_eq!(consumer.position(&tp).unwrap(), 1);
    log.write_transaction_marker(2, 0, 0, true).unwrap();
    let values: Vec<String> = consumer
        .poll(POLL)
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.value().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(values, ["t1", "t2", "p2"]);
}

/// A fetch that moves past an aborted transaction without yielding a record is progress:
/// the same `poll` reads on at once, rather than waiting out its timeout for an append
/// that is not coming. One record per poll, so each aborted batch is its own fetch.
#[test]
fn a_poll_reads_past_aborted_data_without_waiting_for_more() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    txn_batch(&log, 7, 0, &["kept"]);
    log.write_transaction_marker(7, 0, 0, true).unwrap();
    txn_batch(&log, 7, 1, &["dropped"]);
    log.write_transaction_marker(7, 0, 0, false).unwrap();
    plain(&log, "after");
    let consumer = cluster
        .consumer(
            ConsumerConfig::new()
                .isolation_level(IsolationLevel::ReadCommitted)
                .max_poll_records(1),
        )
        .unwrap();
    consumer
        .assign(&[(TopicPartition::new("t", 0), Offset::Beginning)])
        .unwrap();
    let mut values = Vec::new();
    while values.len() < 2 {
        // Far longer than a test takes: a poll that waited instead of reading on would
        // return empty only after it.
        let records = consumer.poll(Duration::from_secs(600)).unwrap();
        assert!(
            !records.is_empty(),
            "a poll came back empty: it waited instead of reading"
        );
        values.extend(records.iter().filter_map(|r| r.value()).map(<[u8]>::to_vec));
    }
    assert_eq!(values, [b"kept".to_vec(), b"after".to_vec()]);
}
