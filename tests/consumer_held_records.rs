//! Records a poll fetched but has not returned yet (waiting for `fetch.min.bytes`, or put
//! aside with a partition's error): positions move only with what `poll` returns, as
//! Kafka's do, so a wakeup, an error or a rebalance in the middle of a poll loses none and
//! returns none twice.

mod common;

use std::time::Duration;

use common::{cluster_with, wait_until_a_poll_blocks};
use kafkalite::{
    AutoOffsetReset, Cluster, Consumer, ConsumerConfig, Error, NewTopic, Offset, Producer,
    ProducerConfig, ProducerRecord, Records, TopicPartition,
};

const WAIT: Duration = Duration::from_secs(30);
/// A blocked poll's timeout: a poll woken as it should be returns in well under half of it.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Sends `count` records to `partition`, one batch each, and waits for them.
fn produce(producer: &Producer, topic: &str, partition: i32, count: usize) {
    let records = (0..count).map(|i| {
        ProducerRecord::to(topic)
            .partition(partition)
            .value(format!("v{i}"))
    });
    for result in producer.send_all(records, WAIT) {
        result.unwrap();
    }
}

fn quick_producer(cluster: &Cluster) -> Producer {
    cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap()
}

fn offsets(records: &Records) -> Vec<(i32, i64)> {
    records
        .iter()
        .map(|r| (r.partition(), r.offset()))
        .collect()
}

/// A consumer config whose polls hold what they fetch, waiting for more bytes than `t-0`
/// has now, for up to a minute.
fn holding(config: ConsumerConfig, cluster: &Cluster) -> ConsumerConfig {
    let bytes = cluster.partition("t", 0).unwrap().size_bytes() + 1;
    config
        .set("fetch.min.bytes", &bytes.to_string())
        .unwrap()
        .set("fetch.max.wait.ms", "60000")
        .unwrap()
}

#[test]
fn a_woken_poll_gives_back_the_records_it_held() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&quick_producer(&cluster), "t", 0, 5);
    let consumer = cluster
        .consumer(holding(ConsumerConfig::new(), &cluster))
        .unwrap();
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    let waker = consumer.waker();
    let woken = std::thread::scope(|s| {
        let poller = s.spawn(|| consumer.poll(POLL_TIMEOUT));
        wait_until_a_poll_blocks(&cluster);
        waker.wakeup();
        poller.join().unwrap()
    });
    assert!(matches!(woken, Err(Error::Wakeup)), "{woken:?}");
    assert_eq!(consumer.position(&tp("t", 0)).unwrap(), 0);
    let polled = consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(offsets(&polled), (0..5).map(|o| (0, o)).collect::<Vec<_>>());
}

/// A cluster with topic "t" of two partitions, a producer, and a consumer made with
/// `config` assigned both partitions from the beginning.
fn both_partitions_from_the_start(config: ConsumerConfig) -> (Cluster, Producer, Consumer) {
    let cluster = cluster_with(NewTopic::new("t", 2));
    let producer = quick_producer(&cluster);
    let consumer = cluster.consumer(config).unwrap();
    consumer
        .assign(&[
            (tp("t", 0), Offset::Beginning),
            (tp("t", 1), Offset::Beginning),
        ])
        .unwrap();
    (cluster, producer, consumer)
}

/// Kafka's FetchCollector: a partition's error after others' records were fetched comes
/// at the next poll; the records in hand are returned, not dropped.
#[test]
fn an_out_of_range_partition_under_reset_none_loses_no_other_partitions_records() {
    let config = ConsumerConfig::new().auto_offset_reset(AutoOffsetReset::None);
    let (cluster, producer, consumer) = both_partitions_from_the_start(config);
    assert!(consumer.poll(Duration::ZERO).unwrap().is_empty());
    // t-1's position (0) falls below its log start; t-0 gets five records.
    produce(&producer, "t", 1, 3);
    cluster.delete_records("t", 1, 2).unwrap();
    produce(&producer, "t", 0, 5);
    let (mut returned, mut errors) = (Vec::new(), 0);
    // Each partition is fetched first in turn: some poll reads t-0 before t-1 fails.
    for _ in 0..4 {
        match consumer.poll(Duration::ZERO) {
            Ok(records) => returned.extend(offsets(&records)),
            Err(Error::OffsetOutOfRange { offset: 0, .. }) => errors += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(returned, (0..5).map(|o| (0, o)).collect::<Vec<_>>());
    assert!(
        errors >= 2,
        "every poll without records reports t-1: {errors}"
    );
    consumer.seek(&tp("t", 1), Offset::Beginning).unwrap();
    let polled = consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(offsets(&polled), [(1, 2)]);
}

/// A partition end found in the same pass as another partition's error is reported, not
/// dropped with the error (it would not come again before new records).
#[test]
fn a_partition_end_found_before_another_partitions_error_is_reported() {
    let config = ConsumerConfig::new()
        .auto_offset_reset(AutoOffsetReset::None)
        .set("enable.partition.eof", "true")
        .unwrap();
    let (cluster, producer, consumer) = both_partitions_from_the_start(config);
    // Both ends, then t-1's position (0) falls below its log start.
    let mut ends = consumer.poll(Duration::ZERO).unwrap().eof().to_vec();
    ends.extend(consumer.poll(Duration::ZERO).unwrap().eof().to_vec());
    assert_eq!(ends.len(), 2, "{ends:?}");
    produce(&producer, "t", 1, 3);
    cluster.delete_records("t", 1, 2).unwrap();
    // A seek makes t-0's end due again, with no record before it.
    consumer.seek(&tp("t", 0), Offset::End).unwrap();
    let (mut ends, mut errors) = (Vec::new(), 0);
    // Each partition is fetched first in turn: some poll reaches t-0's end before t-1 fails.
    for _ in 0..4 {
        match consumer.poll(Duration::ZERO) {
            Ok(records) => ends.extend(records.eof().to_vec()),
            Err(Error::OffsetOutOfRange { offset: 0, .. }) => errors += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(ends, [tp("t", 0)]);
    assert!(errors >= 2, "{errors}");
}

/// A rebalance while a poll holds records (eager: every partition is revoked, then comes
/// back from the committed offset, else from the start): returns what the poll returned and
/// what the group has committed for t-0.
fn rebalance_in_the_middle_of_a_poll(auto_commit: bool) -> (Vec<(i32, i64)>, Option<i64>) {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = quick_producer(&cluster);
    produce(&producer, "t", 0, 5);
    let config = ConsumerConfig::with_group("g")
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .enable_auto_commit(auto_commit)
        .set("auto.commit.interval.ms", "600000")
        .unwrap();
    let consumer = cluster.consumer(holding(config, &cluster)).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    std::thread::scope(|s| {
        let poller = s.spawn(|| consumer.poll(POLL_TIMEOUT).unwrap());
        wait_until_a_poll_blocks(&cluster);
        // The poll holds offsets 0..5, waiting for more bytes.
        cluster.testing().force_rebalance("g").unwrap();
        // The poll sees the rebalance before this record, which makes enough bytes.
        produce(&producer, "t", 0, 1);
        let polled = offsets(&poller.join().unwrap());
        let committed = cluster.describe_group_offsets("g").unwrap();
        assert_eq!(committed.len(), 1);
        (polled, committed[0].committed)
    })
}

#[test]
fn a_rebalance_in_the_middle_of_a_poll_returns_each_record_once() {
    let all: Vec<(i32, i64)> = (0..6).map(|o| (0, o)).collect();
    // The auto-commit before rejoining commits the position: 0, not past the held records.
    assert_eq!(
        rebalance_in_the_middle_of_a_poll(true),
        (all.clone(), Some(0))
    );
    // Without a commit, t-0 comes back from its start: the held records are not kept too.
    assert_eq!(rebalance_in_the_middle_of_a_poll(false), (all, None));
}
