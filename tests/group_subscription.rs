//! A subscription changed while the member is in a rebalance: Kafka's consumer joined with
//! the old one (`ConsumerCoordinator.joinedSubscription`), so once that rebalance completes
//! it rejoins (`rejoinNeededOrPending`: "subscription has changed ... at the beginning of
//! the rebalance"), and the next rebalance assigns by the new subscription. An assignment
//! of a topic the subscription dropped meanwhile is not taken at all (`onJoinComplete`:
//! "received assignment does not match the current subscription").

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{owned, temporary_on};
use kafkalite::{
    AssignorKind, Cluster, Consumer, ConsumerConfig, GroupState, MockClock, NewTopic,
    RebalanceContext, RebalanceListener, TopicPartition,
};

fn member(cluster: &Cluster, name: &str, topics: &[&str]) -> Consumer {
    let config = ConsumerConfig::with_group("g")
        .assignment_strategy(&[AssignorKind::Range])
        .client_id(name);
    let consumer = cluster.consumer(config).unwrap();
    consumer.subscribe(topics).unwrap();
    consumer
}

/// Polls every member until the group is stable with `partitions` assigned.
fn settle(cluster: &Cluster, members: &[&Consumer], partitions: usize) {
    for _ in 0..20 {
        for member in members {
            member.poll(Duration::ZERO).unwrap();
        }
        let description = cluster.describe_group("g").unwrap();
        let assigned: usize = members.iter().map(|m| owned(m).len()).sum();
        if description.state == GroupState::Stable && assigned == partitions {
            return;
        }
    }
    panic!(
        "the group did not settle: {:?}",
        cluster.describe_group("g")
    );
}

/// Starts a rebalance that `a` joins at once (with its current subscription) while the
/// group waits for the other member.
fn rejoin_first(cluster: &Cluster, a: &Consumer) {
    a.enforce_rebalance().unwrap();
    a.poll(Duration::ZERO).unwrap();
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::PreparingRebalance,
        "a has joined; the group waits for b"
    );
}

#[test]
fn a_subscription_changed_after_joining_a_rebalance_rejoins_once_it_completes() {
    let clock = MockClock::new(1_000_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    cluster.create_topic(NewTopic::new("u", 2)).unwrap();
    let a = member(&cluster, "a", &["t"]);
    let b = member(&cluster, "b", &["t"]);
    settle(&cluster, &[&a, &b], 2);
    rejoin_first(&cluster, &a);
    a.subscribe(&["t", "u"]).unwrap();
    settle(&cluster, &[&a, &b], 4);
    let mut a_owns = owned(&a);
    a_owns.sort();
    assert_eq!(
        a_owns,
        ["t-0", "u-0", "u-1"],
        "u goes to a, its only subscriber"
    );
    assert_eq!(owned(&b), ["t-1"]);
}

/// Writes down every partition it is assigned.
#[derive(Clone, Default)]
struct Assigned(Arc<Mutex<Vec<String>>>);

impl RebalanceListener for Assigned {
    fn on_partitions_revoked(&mut self, _: &mut RebalanceContext<'_>, _: &[TopicPartition]) {}
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        let mut assigned = self.0.lock().unwrap();
        assigned.extend(p.iter().map(|tp| tp.to_string()));
    }
}

#[test]
fn an_assignment_of_a_topic_dropped_after_joining_is_not_taken() {
    let clock = MockClock::new(1_000_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    cluster.create_topic(NewTopic::new("u", 2)).unwrap();
    let config = ConsumerConfig::with_group("g")
        .assignment_strategy(&[AssignorKind::Range])
        .client_id("a");
    let a = cluster.consumer(config).unwrap();
    let assigned = Assigned::default();
    a.subscribe_with(&["t", "u"], assigned.clone()).unwrap();
    let b = member(&cluster, "b", &["t"]);
    settle(&cluster, &[&a, &b], 4);
    rejoin_first(&cluster, &a);
    assigned.0.lock().unwrap().clear();
    a.subscribe(&["t"]).unwrap();
    settle(&cluster, &[&a, &b], 2);
    let heard = assigned.0.lock().unwrap().clone();
    assert!(heard.iter().all(|tp| tp.starts_with("t-")), "{heard:?}");
    assert_eq!(owned(&a), ["t-0"]);
}
