//! A facade consumer's assignment as librdkafka changes it (`rdkafka_assignment.c`):
//! `incremental_assign` adds partitions and leaves the others as they are, refusing one
//! already assigned (`_CONFLICT`) or listed twice (`_INVALID_ARG`); `incremental_unassign`
//! refuses one not assigned; and under `enable.auto.commit` the stored offsets of the
//! partitions a change removes are committed (`rd_kafka_assignment_serve_removals`).
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::facade::{assigned_partitions, cluster_with, config, produce, take};
use kafkalite::rdkafka;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(10);

fn list(partitions: &[(i32, Offset)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for &(partition, offset) in partitions {
        tpl.add_partition_offset("t", partition, offset).unwrap();
    }
    tpl
}

/// The messages (partition, offset) up to the end of partition `last` (with
/// `enable.partition.eof`).
fn read_until_end_of(consumer: &BaseConsumer, last: i32) -> Vec<(i32, i64)> {
    let mut read = Vec::new();
    loop {
        match consumer.poll(WAIT).expect("an event") {
            Ok(m) => read.push((m.partition(), m.offset())),
            Err(KafkaError::PartitionEOF(p)) if p == last => return read,
            Err(KafkaError::PartitionEOF(_)) => {}
            Err(other) => panic!("{other}"),
        }
    }
}

#[test]
fn incremental_assign_leaves_the_assigned_partitions_as_they_are() {
    let (_cluster, servers) = cluster_with(&[("t", 3)]);
    produce(&servers, 0, 3);
    produce(&servers, 2, 2);
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "g")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    consumer.assign(&list(&[(0, Offset::Beginning)])).unwrap();
    consumer
        .incremental_assign(&list(&[(1, Offset::Beginning)]))
        .unwrap();
    let mut read = read_until_end_of(&consumer, 0);
    read.sort_unstable();
    assert_eq!(read, [(0, 0), (0, 1), (0, 2)]);
    // A paused partition stays paused when another is added.
    consumer.pause(&list(&[(0, Offset::Invalid)])).unwrap();
    produce(&servers, 0, 1);
    consumer
        .incremental_assign(&list(&[(2, Offset::Beginning)]))
        .unwrap();
    assert_eq!(read_until_end_of(&consumer, 2), [(2, 0), (2, 1)]);
    consumer.resume(&list(&[(0, Offset::Invalid)])).unwrap();
    assert_eq!(read_until_end_of(&consumer, 0), [(0, 3)]);
    // Removing one leaves the others reading on.
    consumer
        .incremental_unassign(&list(&[(1, Offset::Invalid)]))
        .unwrap();
    produce(&servers, 2, 1);
    assert_eq!(read_until_end_of(&consumer, 2), [(2, 2)]);
    assert_eq!(assigned_partitions(&consumer), [0, 2]);
}

#[test]
fn incremental_changes_refuse_what_librdkafka_refuses() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    let consumer: BaseConsumer = config(&servers).set("group.id", "g").create().unwrap();
    consumer.assign(&list(&[(0, Offset::Beginning)])).unwrap();
    let refused = |result: Result<(), KafkaError>| match result {
        Err(KafkaError::Subscription(name)) => name,
        other => panic!("{other:?}"),
    };
    let again = consumer.incremental_assign(&list(&[(0, Offset::Beginning)]));
    assert_eq!(refused(again), "_CONFLICT");
    let twice = consumer.incremental_assign(&list(&[(1, Offset::End), (1, Offset::End)]));
    assert_eq!(refused(twice), "_INVALID_ARG");
    let unknown = consumer.incremental_unassign(&list(&[(1, Offset::Invalid)]));
    assert_eq!(refused(unknown), "_INVALID_ARG");
    // Nothing changed.
    assert_eq!(consumer.assignment().unwrap().count(), 1);
    // librdkafka's rd_kafka_assign0: "Requires a consumer with group.id configured".
    let groupless: BaseConsumer = config(&servers).create().unwrap();
    let assigned = groupless.assign(&list(&[(0, Offset::Beginning)]));
    assert_eq!(refused(assigned), "Local: Unknown group");
    let added = groupless.incremental_assign(&list(&[(0, Offset::Beginning)]));
    assert_eq!(refused(added), "_UNKNOWN_GROUP");
    match groupless.subscribe(&["t"]) {
        Err(KafkaError::Subscription(message)) => assert_eq!(message, "Local: Unknown group"),
        other => panic!("{other:?}"),
    }
    use rdkafka::error::RDKafkaErrorCode::UnknownGroup;
    match groupless.commit_consumer_state(rdkafka::consumer::CommitMode::Sync) {
        Err(KafkaError::ConsumerCommit(code)) => assert_eq!(code, UnknownGroup),
        other => panic!("{other:?}"),
    }
    // rust-rdkafka's assignment, position and offsets_for_timestamp go through
    // rd_kafka_assignment, which needs a group too.
    for answer in [
        groupless.assignment(),
        groupless.position(),
        groupless.offsets_for_timestamp(0, Duration::ZERO),
    ] {
        match answer {
            Err(KafkaError::MetadataFetch(code)) => assert_eq!(code, UnknownGroup),
            other => panic!("{other:?}"),
        }
    }
}

fn committed(consumer: &BaseConsumer, partition: i32) -> Offset {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("t", partition);
    let committed = consumer.committed_offsets(tpl, WAIT).unwrap();
    committed.find_partition("t", partition).unwrap().offset()
}

/// The interval is long: only a removal commits.
fn auto_committing(servers: &str) -> BaseConsumer {
    config(servers)
        .set("group.id", "g")
        .set("auto.commit.interval.ms", "600000")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap()
}

#[test]
fn removed_partitions_get_their_stored_offsets_committed() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    produce(&servers, 0, 5);
    produce(&servers, 1, 5);
    let consumer = auto_committing(&servers);
    consumer.assign(&list(&[(0, Offset::Beginning)])).unwrap();
    take(&consumer, 2);
    consumer.unassign().unwrap();
    assert_eq!(committed(&consumer, 0), Offset::Offset(2));
    consumer.assign(&list(&[(0, Offset::Stored)])).unwrap();
    consumer
        .incremental_assign(&list(&[(1, Offset::Beginning)]))
        .unwrap();
    take(&consumer, 3);
    let before = (committed(&consumer, 0), committed(&consumer, 1));
    consumer
        .incremental_unassign(&list(&[(0, Offset::Invalid), (1, Offset::Invalid)]))
        .unwrap();
    let after = (committed(&consumer, 0), committed(&consumer, 1));
    assert_eq!(before, (Offset::Offset(2), Offset::Invalid));
    // Three messages read from where t/0 was committed and t/1's start, in either order.
    let read = match after {
        (Offset::Offset(a), Offset::Offset(b)) => (a - 2) + b,
        (Offset::Offset(a), Offset::Invalid) => a - 2,
        other => panic!("{other:?}"),
    };
    assert_eq!(read, 3, "{after:?}");
}

/// librdkafka's assign clears the whole assignment first: a partition assigned again has
/// its stored offset committed too.
#[test]
fn assigning_a_partition_again_commits_its_stored_offset() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, 0, 5);
    let consumer = auto_committing(&servers);
    consumer.assign(&list(&[(0, Offset::Beginning)])).unwrap();
    take(&consumer, 3);
    consumer.assign(&list(&[(0, Offset::Offset(4))])).unwrap();
    assert_eq!(committed(&consumer, 0), Offset::Offset(3));
}

#[test]
fn unsubscribing_commits_the_stored_offsets() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, 0, 5);
    let consumer = auto_committing(&servers);
    consumer.subscribe(&["t"]).unwrap();
    take(&consumer, 2);
    consumer.unsubscribe();
    // The next poll serves the unsubscribe (librdkafka's revocation).
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(committed(&consumer, 0), Offset::Offset(2));
}
