//! Closing a facade consumer through rust-rdkafka's `close_queue` and `closed`
//! (librdkafka's `rd_kafka_consumer_close_queue`/`rd_kafka_consumer_closed`): the member
//! revokes its partitions (the callbacks run) and leaves the group, `closed` turns true, a
//! second close is `_DESTROY`, a consumer without a group cannot close (`_UNKNOWN_GROUP`)
//! nor a rebalance callback its consumer (`_STATE`), and the drop that follows closes
//! nothing again.
#![cfg(not(loom))]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::facade::{cluster_on, config, produce};
use kafkalite::rdkafka;
use kafkalite::{GroupState, MockClock};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

/// Writes down the partitions of each revocation it hears of.
#[derive(Default)]
struct Revocations(Mutex<Vec<Vec<i32>>>);

impl ClientContext for Revocations {}

impl ConsumerContext for Revocations {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let partitions = tpl.elements().iter().map(|e| e.partition()).collect();
            self.0.lock().unwrap().push(partitions);
        }
    }
}

fn revocations(consumer: &BaseConsumer<Revocations>) -> Vec<Vec<i32>> {
    consumer.context().0.lock().unwrap().clone()
}

#[test]
fn close_queue_revokes_leaves_the_group_and_closes_once() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    produce(&servers, 0, 1);
    let consumer: BaseConsumer<Revocations> = config(&servers)
        .set("group.id", "g")
        .create_with_context(Revocations::default())
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    assert!(
        consumer.poll(Duration::ZERO).is_none(),
        "the assignment comes first"
    );
    assert_eq!(consumer.assignment().unwrap().count(), 2);
    assert!(!consumer.closed());

    consumer.close_queue().unwrap();
    assert_eq!(revocations(&consumer), [vec![0, 1]]);
    assert!(consumer.closed());
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::Empty
    );
    // rust-rdkafka's drop polls until `closed`: nothing is left to hand out.
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        consumer.close_queue(),
        Err(KafkaError::ConsumerQueueClose(
            RDKafkaErrorCode::BrokerDestroy
        ))
    );
    let context = consumer.context().clone();
    drop(consumer);
    assert_eq!(
        context.0.lock().unwrap().len(),
        1,
        "the drop revokes nothing again"
    );
}

#[test]
fn a_consumer_without_a_group_cannot_close_its_queue() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let consumer: BaseConsumer = config(&servers).create().unwrap();
    assert_eq!(
        consumer.close_queue(),
        Err(KafkaError::ConsumerQueueClose(
            RDKafkaErrorCode::UnknownGroup
        ))
    );
    assert!(!consumer.closed());
}

/// Tries to close its consumer from the callback, and writes down what that gave.
#[derive(Default)]
struct ClosesInCallback(Mutex<Vec<Result<(), KafkaError>>>);

impl ClientContext for ClosesInCallback {}

impl ConsumerContext for ClosesInCallback {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(_) = rebalance {
            self.0.lock().unwrap().push(consumer.close_queue());
        }
    }
}

#[test]
fn a_rebalance_callback_cannot_close_its_consumer() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let consumer: BaseConsumer<ClosesInCallback> = config(&servers)
        .set("group.id", "g")
        .create_with_context(ClosesInCallback::default())
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        *consumer.context().0.lock().unwrap(),
        [Err(KafkaError::ConsumerQueueClose(RDKafkaErrorCode::State))]
    );
    assert!(!consumer.closed());
    assert_eq!(consumer.assignment().unwrap().count(), 1);
}
