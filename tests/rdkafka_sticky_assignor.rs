//! A group of facade consumers with `cooperative-sticky` is assigned as librdkafka's group
//! leader assigns it (`rdkafka_sticky_assignor.c`, then its cooperative adjustment), not as
//! Kafka's Java assignor would. When a second consumer joins a one-consumer group of five
//! partitions, librdkafka's general-only algorithm takes partitions from the loaded member
//! in sorted order while it holds two more than the other, so the first consumer keeps its
//! last three; Kafka's equal-subscription path keeps its first three. The expected
//! assignments are what librdkafka's own C assignor gives these two rounds (the first is
//! case 20261207011 of `tests/oracle/librdkafka-sticky/cases.jsonl`). And a client takes
//! only librdkafka's assignors, all of one protocol (`rd_kafka_assignors_init`).
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::facade::{assigned_partitions, cluster_on, config};
use kafkalite::rdkafka;
use kafkalite::{GroupState, MockClock};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseProducer;

/// A member of group "g" subscribed to "t".
fn member(servers: &str, name: &str) -> BaseConsumer {
    let consumer: BaseConsumer = config(servers)
        .set("group.id", "g")
        .set("client.id", name)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create()
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    consumer
}

#[test]
fn a_consumer_joining_a_one_consumer_group_gets_what_librdkafkas_leader_gives() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 5)]);
    let first = member(&servers, "first");
    assert!(first.poll(Duration::ZERO).is_none());
    assert_eq!(assigned_partitions(&first), [0, 1, 2, 3, 4]);
    let second = member(&servers, "second");
    // The cooperative protocol takes two rounds: the first withholds what moves, the
    // owner revokes it and rejoins, the second hands it over.
    for _ in 0..20 {
        let stable = cluster.describe_group("g").unwrap().state == GroupState::Stable;
        let (mine, theirs) = (
            assigned_partitions(&first).len(),
            assigned_partitions(&second).len(),
        );
        if stable && theirs > 0 && mine + theirs == 5 {
            break;
        }
        assert!(first.poll(Duration::ZERO).is_none() && second.poll(Duration::ZERO).is_none());
    }
    assert_eq!(assigned_partitions(&first), [2, 3, 4]);
    assert_eq!(assigned_partitions(&second), [0, 1]);
}

/// What making a consumer with `strategy` gives: `None` when it is made, else the error.
fn made_with(servers: &str, strategy: &str) -> Option<String> {
    let made: Result<BaseConsumer, KafkaError> = config(servers)
        .set("group.id", "g")
        .set("partition.assignment.strategy", strategy)
        .create();
    match made {
        Ok(_) => None,
        Err(KafkaError::ClientCreation(message)) => Some(message),
        Err(other) => panic!("{strategy}: {other}"),
    }
}

#[test]
fn a_client_takes_only_librdkafkas_assignors_of_one_protocol() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    for accepted in [
        "range,roundrobin",
        "cooperative-sticky",
        "roundrobin, range",
        ",range",
    ] {
        assert_eq!(made_with(&servers, accepted), None, "{accepted}");
    }
    // Kafka's Java consumer has an eager `sticky` and defaults to
    // `range,cooperative-sticky`; librdkafka has neither.
    assert_eq!(
        made_with(&servers, "sticky").as_deref(),
        Some("Unsupported partition.assignment.strategy: sticky")
    );
    assert_eq!(
        made_with(&servers, "range,cooperative-sticky").as_deref(),
        Some(
            "All partition.assignment.strategy (range,cooperative-sticky) assignors must have \
             the same protocol type, online migration between assignors with different \
             protocol types is not supported"
        )
    );
    // librdkafka trims the spaces before a name, never after.
    assert_eq!(
        made_with(&servers, "range ,roundrobin").as_deref(),
        Some("Unsupported partition.assignment.strategy: range ")
    );
    // Every client checks the list, a producer too.
    let producer: Result<BaseProducer, KafkaError> = config(&servers)
        .set("partition.assignment.strategy", "RangeAssignor")
        .create();
    assert!(matches!(
        producer,
        Err(KafkaError::ClientCreation(message))
            if message == "Unsupported partition.assignment.strategy: RangeAssignor"
    ));
}
