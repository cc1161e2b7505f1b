//! A facade member's commits get the group coordinator's answers as a broker gives them
//! (Kafka's `ClassicGroup.validateOffsetCommit`) and librdkafka passes them on: a member
//! the group no longer has is `UNKNOWN_MEMBER_ID`; a member that took part in the round
//! that made the group's generation commits with it (librdkafka takes the generation from
//! its JoinGroup response, in the background, before the application polls), refused with
//! `REBALANCE_IN_PROGRESS` only while the group waits for its leader's assignment.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::facade::{cluster_on, config, list, produce, take};
use kafkalite::rdkafka;
use kafkalite::{GroupState, MockClock};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::Offset;

const WAIT: Duration = Duration::from_secs(10);

/// A member of group "g" subscribed to "t", committing only when told to.
fn member(servers: &str, name: &str, strategy: &str) -> BaseConsumer {
    let consumer: BaseConsumer = config(servers)
        .set("group.id", "g")
        .set("client.id", name)
        .set("partition.assignment.strategy", strategy)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    consumer
}

fn committed(consumer: &BaseConsumer, partition: i32) -> Offset {
    let committed = consumer
        .committed_offsets(list(&[("t", partition, Offset::Invalid)]), WAIT)
        .unwrap();
    committed.elements()[0].offset()
}

#[test]
fn a_member_the_group_expelled_is_refused_with_unknown_member_id() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    produce(&servers, 0, 3);
    let consumer = member(&servers, "c", "range");
    take(&consumer, 2);
    // librdkafka's default max.poll.interval.ms is 300 s.
    clock.advance_ms(300_001);
    assert_eq!(
        consumer.commit_consumer_state(CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(
            RDKafkaErrorCode::UnknownMemberId
        ))
    );
    assert_eq!(committed(&consumer, 0), Offset::Invalid);
}

#[test]
fn a_member_whose_rebalance_completed_before_its_poll_commits() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let (a, b) = (
        member(&servers, "a", "cooperative-sticky"),
        member(&servers, "b", "cooperative-sticky"),
    );
    let assigned = |c: &BaseConsumer| c.assignment().unwrap().count();
    for _ in 0..20 {
        if assigned(&a) == 1 && assigned(&b) == 1 {
            break;
        }
        assert!(a.poll(Duration::ZERO).is_none() && b.poll(Duration::ZERO).is_none());
    }
    let partition = b.assignment().unwrap().elements()[0].partition();
    produce(&servers, partition, 3);
    take(&b, 3);
    cluster.testing().force_rebalance("g").unwrap();
    assert!(
        b.poll(Duration::ZERO).is_none(),
        "b rejoins and waits for a"
    );
    assert!(
        a.poll(Duration::ZERO).is_none(),
        "a completes the round and assigns"
    );
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::Stable
    );
    // b has not polled since: a broker has given it the generation all the same.
    assert_eq!(b.commit_consumer_state(CommitMode::Sync), Ok(()));
    assert_eq!(committed(&b, partition), Offset::Offset(3));
}
