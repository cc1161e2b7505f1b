//! Subscription changes while a facade member is in a rebalance, as librdkafka makes them.
//! An `unsubscribe` waits for the rebalance to complete (`rd_kafka_cgrp_subscribe`
//! postpones it under `RD_KAFKA_CGRP_REBALANCING`; `rd_kafka_trigger_waiting_subscribe_maybe`
//! applies it once the assignment is done): the application hears of the rebalance's
//! assignment first, then of its revocation. A subscribe made meanwhile replaces the
//! postponed unsubscribe (`rd_kafka_cgrp_subscribe` clears it), and the member stays. A
//! subscribe to other topics is applied once the rebalance completes: the assignment by
//! the old subscription comes first, then the member rejoins for the new one.
#![cfg(not(loom))]

mod common;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use common::facade::{cluster_on, config};
use kafkalite::rdkafka;
use kafkalite::MockClock;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::ClientContext;

/// Writes down the rebalances it hears of: "assign [partitions]" once an assignment is
/// taken, "revoke [partitions]" before a revocation.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl ClientContext for Log {}

impl ConsumerContext for Log {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            self.write("revoke", tpl);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            self.write("assign", tpl);
        }
    }
}

impl Log {
    fn write(&self, what: &str, tpl: &rdkafka::TopicPartitionList) {
        let partitions: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        self.0
            .lock()
            .unwrap()
            .push(format!("{what} {partitions:?}"));
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A member of group "g" (eager: librdkafka's default range assignor), subscribed to "t".
fn member<T>(servers: &str, name: &str) -> T
where
    T: rdkafka::config::FromClientConfigAndContext<Log> + Consumer<Log>,
{
    let consumer: T = config(servers)
        .set("group.id", "g")
        .set("client.id", name)
        .create_with_context(Log::default())
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    consumer
}

fn assigned<C: ConsumerContext>(consumer: &impl Consumer<C>) -> usize {
    consumer.assignment().unwrap().count()
}

/// Polls `a` and `b` (neither hands out anything: nothing was produced) until `settled`.
fn poll_until(a: &BaseConsumer<Log>, b: &BaseConsumer<Log>, mut settled: impl FnMut() -> bool) {
    for _ in 0..20 {
        if settled() {
            return;
        }
        assert!(a.poll(Duration::ZERO).is_none() && b.poll(Duration::ZERO).is_none());
    }
    assert!(settled(), "the group settled");
}

/// The member ids of group "g" by client id.
fn members(cluster: &kafkalite::Cluster) -> Vec<(String, String)> {
    let mut members: Vec<(String, String)> = cluster
        .describe_group("g")
        .unwrap()
        .members
        .into_iter()
        .map(|m| (m.client_id, m.member_id))
        .collect();
    members.sort();
    members
}

/// Members "a" and "b" of "g" with one partition of "t" each; `b` has rejoined a forced
/// rebalance (revoking its partition, eagerly) and waits for "a". Returns the partition "b"
/// owned.
fn b_rejoined(
    clock: &MockClock,
) -> (
    kafkalite::Cluster,
    BaseConsumer<Log>,
    BaseConsumer<Log>,
    i32,
) {
    let (cluster, servers) = cluster_on(clock, &[("t", 2)]);
    let (a, b): (BaseConsumer<Log>, BaseConsumer<Log>) =
        (member(&servers, "a"), member(&servers, "b"));
    poll_until(&a, &b, || assigned(&a) == 1 && assigned(&b) == 1);
    let owned = b.assignment().unwrap().elements()[0].partition();
    a.context().take();
    b.context().take();
    cluster.testing().force_rebalance("g").unwrap();
    assert!(b.poll(Duration::ZERO).is_none());
    assert_eq!(b.context().take(), [format!("revoke [{owned}]")]);
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        kafkalite::GroupState::PreparingRebalance,
        "the group waits for a"
    );
    (cluster, a, b, owned)
}

#[test]
fn an_unsubscribe_during_a_rebalance_waits_for_its_assignment_then_revokes_it() {
    let clock = MockClock::new(0);
    let (cluster, a, b, _) = b_rejoined(&clock);
    let before = members(&cluster);
    b.unsubscribe();
    assert_eq!(
        b.subscription().unwrap().count(),
        0,
        "the subscription is gone"
    );
    assert!(b.poll(Duration::ZERO).is_none());
    assert!(b.context().take().is_empty(), "no revocation yet");
    assert_eq!(members(&cluster), before, "b is still a member");
    // a rejoins and the rebalance completes with both: b takes its share, then leaves.
    let mut log = Vec::new();
    poll_until(&a, &b, || {
        log.extend(b.context().take());
        log.len() >= 2
    });
    let [assign, revoke] = <[String; 2]>::try_from(log).unwrap();
    assert!(
        assign.starts_with("assign [") && assign != "assign []",
        "{assign}"
    );
    assert_eq!(revoke, assign.replace("assign", "revoke"));
    assert_eq!(assigned(&b), 0);
    // The group rebalances again without b, and a takes both partitions.
    poll_until(&a, &b, || assigned(&a) == 2);
    assert_eq!(members(&cluster).len(), 1);
    assert!(b.context().take().is_empty());
}

#[test]
fn a_subscribe_replaces_an_unsubscribe_waiting_for_a_rebalance() {
    let clock = MockClock::new(0);
    let (cluster, a, b, _) = b_rejoined(&clock);
    let before = members(&cluster);
    b.unsubscribe();
    b.subscribe(&["t"]).unwrap();
    let subscription = b.subscription().unwrap();
    assert_eq!(subscription.elements()[0].topic(), "t");
    poll_until(&a, &b, || assigned(&a) == 1 && assigned(&b) == 1);
    for _ in 0..3 {
        assert!(a.poll(Duration::ZERO).is_none() && b.poll(Duration::ZERO).is_none());
    }
    let log = b.context().take();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].starts_with("assign ["), "{log:?}");
    assert_eq!(members(&cluster), before, "b stayed, with its member id");
}

/// A subscribe that fails (here an invalid pattern) replaces nothing: the unsubscribe
/// still waits, and is carried out once the rebalance completes.
#[test]
fn a_failed_subscribe_leaves_the_waiting_unsubscribe_in_place() {
    let clock = MockClock::new(0);
    let (cluster, a, b, _) = b_rejoined(&clock);
    b.unsubscribe();
    assert!(b.subscribe(&["^("]).is_err());
    let mut log = Vec::new();
    poll_until(&a, &b, || {
        log.extend(b.context().take());
        log.len() >= 2
    });
    let [assign, revoke] = <[String; 2]>::try_from(log).unwrap();
    assert_eq!(revoke, assign.replace("assign", "revoke"));
    poll_until(&a, &b, || assigned(&a) == 2);
    assert_eq!(members(&cluster).len(), 1);
}

/// An unsubscribe made outside a rebalance is carried out at the next poll, as before.
#[test]
fn an_unsubscribe_outside_a_rebalance_revokes_at_the_next_poll() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let (a, b): (BaseConsumer<Log>, BaseConsumer<Log>) =
        (member(&servers, "a"), member(&servers, "b"));
    poll_until(&a, &b, || assigned(&a) == 1 && assigned(&b) == 1);
    let owned = b.assignment().unwrap().elements()[0].partition();
    b.context().take();
    b.unsubscribe();
    assert!(b.poll(Duration::ZERO).is_none());
    assert_eq!(b.context().take(), [format!("revoke [{owned}]")]);
}

/// Counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A stream consumer's pending receive carries out the waiting unsubscribe as soon as the
/// rebalance completes, with no message to wake it.
#[test]
fn a_pending_receive_carries_out_the_unsubscribe_once_the_rebalance_completes() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let a: BaseConsumer<Log> = member(&servers, "a");
    let b: StreamConsumer<Log> = member(&servers, "b");
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut receive = std::pin::pin!(b.recv());
    for _ in 0..20 {
        if assigned(&a) == 1 && assigned(&b) == 1 {
            break;
        }
        assert!(a.poll(Duration::ZERO).is_none());
        assert!(receive.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!((assigned(&a), assigned(&b)), (1, 1), "the group settled");
    b.context().take();
    cluster.testing().force_rebalance("g").unwrap();
    assert!(receive.as_mut().poll(&mut cx).is_pending(), "b rejoins");
    assert_eq!(b.context().take().len(), 1, "b revoked eagerly");
    b.unsubscribe();
    assert!(receive.as_mut().poll(&mut cx).is_pending());
    assert!(b.context().take().is_empty(), "no revocation yet");
    // a's rejoin completes the round; b's next receive takes its assignment and, woken
    // at once, revokes it.
    assert!(a.poll(Duration::ZERO).is_none());
    let before = counter.0.load(SeqCst);
    assert!(receive.as_mut().poll(&mut cx).is_pending());
    let log = b.context().take();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].starts_with("assign ["), "{log:?}");
    assert!(counter.0.load(SeqCst) > before, "the receive was woken");
    assert!(receive.as_mut().poll(&mut cx).is_pending());
    assert_eq!(b.context().take(), [log[0].replace("assign", "revoke")]);
}

#[test]
fn a_subscribe_to_other_topics_during_a_rebalance_rejoins_once_it_completes() {
    let clock = MockClock::new(0);
    let (cluster, a, b, _) = b_rejoined(&clock);
    cluster
        .create_topic(kafkalite::NewTopic::new("u", 2))
        .unwrap();
    b.subscribe(&["t", "u"]).unwrap();
    let mut log = Vec::new();
    poll_until(&a, &b, || {
        log.extend(b.context().take());
        log.len() >= 3
    });
    let [assign, revoke, reassign] = <[String; 3]>::try_from(log).unwrap();
    // First the rebalance b joined with "t" alone, then b rejoins (eagerly revoking).
    assert!(assign.starts_with("assign ["), "{assign}");
    assert_eq!(revoke, assign.replace("assign", "revoke"));
    assert!(reassign.starts_with("assign ["), "{reassign}");
    poll_until(&a, &b, || assigned(&a) + assigned(&b) == 4);
    let owners = cluster.describe_group("g").unwrap().members;
    let b_owns: Vec<String> = owners
        .iter()
        .find(|m| m.client_id == "b")
        .unwrap()
        .assignment
        .iter()
        .filter(|tp| &*tp.topic == "u")
        .map(|tp| tp.to_string())
        .collect();
    assert_eq!(b_owns, ["u-0", "u-1"], "u goes to b, its only subscriber");
}
