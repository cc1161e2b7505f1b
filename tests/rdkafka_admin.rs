//! `kafkalite::rdkafka::admin::AdminClient` as rust-rdkafka's over a one-broker cluster:
//! per-item results with Kafka's error codes (`Errors.java`: TOPIC_ALREADY_EXISTS 36,
//! INVALID_PARTITIONS 37, INVALID_REPLICATION_FACTOR 38, UNKNOWN_TOPIC_OR_PARTITION 3,
//! NON_EMPTY_GROUP 68), `validate_only` changing nothing, and librdkafka's non-incremental
//! `alter_configs`.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::facade::{cluster_with, config};
use kafkalite::rdkafka;
use pollster::block_on;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

#[test]
fn topics_are_created_and_deleted_with_a_result_each() {
    let (cluster, servers) = cluster_with(&[("existing", 1)]);
    let admin: AdminClient = config(&servers).create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
    let fresh =
        NewTopic::new("fresh", 3, TopicReplication::Fixed(1)).set("cleanup.policy", "compact");
    let again = NewTopic::new("existing", 1, TopicReplication::Fixed(1));
    let replicated = NewTopic::new("replicated", 1, TopicReplication::Fixed(3));
    let results = block_on(admin.create_topics([&fresh, &again, &replicated], &options)).unwrap();
    assert_eq!(
        results,
        vec![
            Ok("fresh".to_string()),
            Err(("existing".to_string(), RDKafkaErrorCode::TopicAlreadyExists)),
            Err((
                "replicated".to_string(),
                RDKafkaErrorCode::InvalidReplicationFactor
            )),
        ]
    );
    let described = cluster.describe_topic("fresh").unwrap();
    assert_eq!(described.partitions.len(), 3);
    assert_eq!(described.configs["cleanup.policy"], "compact");

    let dry = NewTopic::new("dry", 2, TopicReplication::Fixed(1));
    let results =
        block_on(admin.create_topics([&dry], &AdminOptions::new().validate_only(true))).unwrap();
    assert_eq!(results, vec![Ok("dry".to_string())]);
    assert!(
        cluster.describe_topic("dry").is_err(),
        "validate_only creates nothing"
    );

    // -1 for either: the broker's defaults (KIP-464): num.partitions (1), one replica.
    let defaults = NewTopic::new("defaults", -1, TopicReplication::Fixed(-1));
    let results = block_on(admin.create_topics([&defaults], &options)).unwrap();
    assert_eq!(results, vec![Ok("defaults".to_string())]);
    assert_eq!(
        cluster.describe_topic("defaults").unwrap().partitions.len(),
        1
    );

    let results = block_on(admin.delete_topics(&["fresh", "never"], &options)).unwrap();
    assert_eq!(
        results,
        vec![
            Ok("fresh".to_string()),
            Err((
                "never".to_string(),
                RDKafkaErrorCode::UnknownTopicOrPartition
            )),
        ]
    );
}

#[test]
fn partitions_grow_and_records_are_deleted_below_an_offset() {
    let (cluster, servers) = cluster_with(&[("t", 1)]);
    let admin: AdminClient = config(&servers).create().unwrap();
    let options = AdminOptions::new();
    let grow = NewPartitions::new("t", 3);
    let shrink = NewPartitions::new("t", 2);
    let results = block_on(admin.create_partitions([&grow], &options)).unwrap();
    assert_eq!(results, vec![Ok("t".to_string())]);
    let results = block_on(admin.create_partitions([&shrink], &options)).unwrap();
    assert_eq!(
        results,
        vec![Err(("t".to_string(), RDKafkaErrorCode::InvalidPartitions))]
    );
    assert_eq!(cluster.describe_topic("t").unwrap().partitions.len(), 3);

    let producer = cluster.producer(kafkalite::ProducerConfig::new()).unwrap();
    for i in 0..5u8 {
        producer
            .send(
                kafkalite::ProducerRecord::to("t")
                    .partition(0)
                    .value(vec![i]),
            )
            .unwrap()
            .wait()
            .unwrap();
    }
    let mut below = TopicPartitionList::new();
    below
        .add_partition_offset("t", 0, Offset::Offset(3))
        .unwrap();
    below
        .add_partition_offset("t", 9, Offset::Offset(1))
        .unwrap();
    let answer = block_on(admin.delete_records(&below, &options)).unwrap();
    assert_eq!(
        answer.find_partition("t", 0).unwrap().offset(),
        Offset::Offset(3)
    );
    assert!(answer.find_partition("t", 0).unwrap().error().is_ok());
    assert!(answer.find_partition("t", 9).unwrap().error().is_err());
    let consumer: BaseConsumer = config(&servers).create().unwrap();
    assert_eq!(
        consumer
            .fetch_watermarks("t", 0, Duration::from_secs(1))
            .unwrap(),
        (3, 5)
    );
}

#[test]
fn configs_are_described_with_their_source_and_replaced_as_a_whole() {
    let (cluster, servers) = cluster_with(&[]);
    cluster
        .create_topic(kafkalite::NewTopic::new("t", 1).config("retention.ms", "60000"))
        .unwrap();
    let admin: AdminClient = config(&servers).create().unwrap();
    let options = AdminOptions::new();
    let described =
        block_on(admin.describe_configs([&ResourceSpecifier::Topic("t")], &options)).unwrap();
    let resource = described[0].as_ref().unwrap();
    let retention = resource.get("retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    let policy = resource.get("cleanup.policy").unwrap();
    assert_eq!(
        (policy.value.as_deref(), policy.source),
        (Some("delete"), ConfigSource::Default)
    );

    // Non-incremental: retention.ms, not given, returns to its default.
    let alter = AlterConfig::new(ResourceSpecifier::Topic("t")).set("cleanup.policy", "compact");
    let results = block_on(admin.alter_configs([&alter], &options)).unwrap();
    assert!(results[0].is_ok());
    let overrides = cluster.describe_topic("t").unwrap().configs;
    assert_eq!(
        overrides.into_iter().collect::<Vec<_>>(),
        [("cleanup.policy".to_string(), "compact".to_string())]
    );

    let missing =
        block_on(admin.describe_configs([&ResourceSpecifier::Topic("none")], &options)).unwrap();
    assert_eq!(
        missing[0].as_ref().unwrap_err(),
        &RDKafkaErrorCode::UnknownTopicOrPartition
    );
}

#[test]
fn a_group_with_members_is_not_deleted() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    let member: BaseConsumer = config(&servers).set("group.id", "busy").create().unwrap();
    member.subscribe(&["t"]).unwrap();
    for _ in 0..600 {
        if member.assignment().unwrap().count() > 0 {
            break;
        }
        let _ = member.poll(Duration::from_millis(100));
    }
    assert_eq!(
        member.assignment().unwrap().count(),
        1,
        "joined within a minute"
    );
    let groups = member
        .fetch_group_list(None, Duration::from_secs(1))
        .unwrap();
    let busy = &groups.groups()[0];
    assert_eq!(
        (busy.name(), busy.state(), busy.protocol()),
        ("busy", "Stable", "range")
    );
    assert_eq!(busy.protocol_type(), "consumer");
    // Kafka's ConsumerProtocolAssignment v0: version 0, one topic "t" with partition 0,
    // null user data.
    let assignment: &[u8] = &[
        0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 255, 255, 255, 255,
    ];
    assert_eq!(busy.members()[0].assignment(), Some(assignment));
    let unknown = member
        .fetch_group_list(Some("nobody"), Duration::from_secs(1))
        .unwrap();
    assert_eq!(unknown.groups()[0].state(), "Dead");

    let admin: AdminClient = config(&servers).create().unwrap();
    let results = block_on(admin.delete_groups(&["busy"], &AdminOptions::new())).unwrap();
    assert_eq!(
        results,
        vec![Err(("busy".to_string(), RDKafkaErrorCode::NonEmptyGroup))]
    );
    drop(member);
    let results = block_on(admin.delete_groups(&["busy"], &AdminOptions::new())).unwrap();
    assert_eq!(results, vec![Ok("busy".to_string())]);
}
