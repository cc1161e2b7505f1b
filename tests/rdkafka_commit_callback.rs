//! rust-rdkafka's `ConsumerContext::commit_callback` hears what librdkafka posts as
//! `RD_KAFKA_EVENT_OFFSET_COMMIT` events (base_consumer.rs enables them; rdkafka_cgrp.c's
//! `rd_kafka_cgrp_assigned_offsets_commit` gives the auto-commit path a reply queue): the
//! commits of `enable.auto.commit`, under a manual assignment as under a subscription, at
//! the next poll and at close. Manual commits, sync or async, post none: `rd_kafka_commit`
//! names no reply queue and rust-rdkafka sets no `offset_commit_cb` (rust-rdkafka #856).
#![cfg(not(loom))]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::facade::{config, list, produce, take};
use kafkalite::rdkafka;
use kafkalite::MockClock;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(10);

/// Writes down each `commit_callback` as "result: t-p@offset ...", a partition's own error
/// after a `!`.
#[derive(Default)]
struct Recording(Mutex<Vec<String>>);

impl ClientContext for Recording {}

impl ConsumerContext for Recording {
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let offsets: Vec<String> = offsets
            .elements()
            .iter()
            .map(|e| {
                let error = match e.error() {
                    Ok(()) => String::new(),
                    Err(error) => format!("!{:?}", error.rdkafka_error_code()),
                };
                format!("{}-{}@{:?}{error}", e.topic(), e.partition(), e.offset())
            })
            .collect();
        // A failed assertion elsewhere must not turn the drop's report into a second panic.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{result:?}: {}", offsets.join(" ")));
    }
}

fn reports(context: &Recording) -> Vec<String> {
    context.0.lock().unwrap().clone()
}

/// A cluster on a mock clock with topic "t" of two partitions, five messages in each.
fn cluster_on(clock: &MockClock) -> (kafkalite::Cluster, String) {
    let (cluster, servers) = common::facade::cluster_on(clock, &[("t", 2)]);
    for partition in 0..2 {
        produce(&servers, partition, 5);
    }
    (cluster, servers)
}

/// A consumer (base or stream) of group "g" assigned both partitions of "t" from the
/// beginning, committing automatically every second of the mock clock.
fn assigned<T>(servers: &str) -> T
where
    T: FromClientConfigAndContext<Recording> + Consumer<Recording>,
{
    assigned_every(servers, "1000")
}

/// As [`assigned`], with `auto.commit.interval.ms` set to `interval`.
fn assigned_every<T>(servers: &str, interval: &str) -> T
where
    T: FromClientConfigAndContext<Recording> + Consumer<Recording>,
{
    let consumer: T = config(servers)
        .set("group.id", "g")
        .set("auto.commit.interval.ms", interval)
        .create_with_context(Recording::default())
        .unwrap();
    consumer
        .assign(&list(&[
            ("t", 0, Offset::Beginning),
            ("t", 1, Offset::Beginning),
        ]))
        .unwrap();
    consumer
}

/// A consumer of group "g" subscribed to "t" from the earliest offsets, committing
/// automatically every second of the mock clock.
fn subscribed(servers: &str) -> BaseConsumer<Recording> {
    let consumer: BaseConsumer<Recording> = config(servers)
        .set("group.id", "g")
        .set("auto.commit.interval.ms", "1000")
        .set("auto.offset.reset", "earliest")
        .create_with_context(Recording::default())
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    consumer
}

#[test]
fn the_interval_auto_commit_of_a_manual_assignment_is_reported_at_the_next_poll() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    take(&consumer, 10);
    assert_eq!(
        reports(consumer.context()),
        Vec::<String>::new(),
        "the interval has not passed"
    );
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        reports(consumer.context()),
        ["Ok(()): t-0@Offset(5) t-1@Offset(5)"]
    );
}

/// librdkafka's timer commits only stored offsets ahead of the committed ones: nothing new
/// is no commit and no report; one partition moved lists the other as `Invalid`. A removal
/// commits the removed partition's stored offset even when it is already committed.
#[test]
fn the_timer_commits_only_what_moved_and_a_removal_commits_regardless() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    take(&consumer, 10);
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        reports(consumer.context()).len(),
        1,
        "{:?}",
        reports(consumer.context())
    );
    produce(&servers, 0, 2);
    take(&consumer, 2);
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        reports(consumer.context())[1..],
        ["Ok(()): t-0@Offset(7) t-1@Invalid"]
    );
    consumer
        .incremental_unassign(&list(&[("t", 1, Offset::Invalid)]))
        .unwrap();
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(reports(consumer.context())[2..], ["Ok(()): t-1@Offset(5)"]);
}

/// Under a subscription (where the context also hears rebalances) as under an assignment.
#[test]
fn manual_commits_are_never_reported_and_an_async_failure_is_not_the_calls() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer = subscribed(&servers);
    take(&consumer, 10);
    consumer
        .commit(&list(&[("t", 0, Offset::Offset(3))]), CommitMode::Async)
        .unwrap();
    consumer
        .commit(&list(&[("t", 1, Offset::Offset(4))]), CommitMode::Sync)
        .unwrap();
    // A partition that does not exist: the synchronous commit fails with it, the
    // asynchronous one only in the log.
    let missing = list(&[("gone", 0, Offset::Offset(1))]);
    assert!(matches!(
        consumer.commit(&missing, CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(_))
    ));
    consumer.commit(&missing, CommitMode::Async).unwrap();
    // Nothing to commit: `_NO_OFFSET` at the call only when synchronous (librdkafka's
    // rd_kafka_commit answers only `_UNKNOWN_GROUP` at an asynchronous call).
    assert_eq!(
        consumer.commit(&TopicPartitionList::new(), CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))
    );
    consumer
        .commit(&TopicPartitionList::new(), CommitMode::Async)
        .unwrap();
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(reports(consumer.context()), Vec::<String>::new());
    let committed = consumer
        .committed_offsets(
            list(&[("t", 0, Offset::Invalid), ("t", 1, Offset::Invalid)]),
            WAIT,
        )
        .unwrap();
    let offsets: Vec<Offset> = committed.elements().iter().map(|e| e.offset()).collect();
    assert_eq!(offsets, [Offset::Offset(3), Offset::Offset(4)]);
}

/// librdkafka commits the stored offsets of partitions leaving the assignment through the
/// auto-commit path, and its close commits those still assigned: both are reported, the
/// first at the next poll (not inside the call), the second while the consumer drops.
#[test]
fn commits_of_removed_partitions_and_at_close_are_reported() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    take(&consumer, 10);
    consumer
        .incremental_unassign(&list(&[("t", 1, Offset::Invalid)]))
        .unwrap();
    assert_eq!(
        reports(consumer.context()),
        Vec::<String>::new(),
        "served by a poll"
    );
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(reports(consumer.context()), ["Ok(()): t-1@Offset(5)"]);
    let context = Arc::clone(consumer.context());
    drop(consumer);
    assert_eq!(
        reports(&context),
        ["Ok(()): t-1@Offset(5)", "Ok(()): t-0@Offset(5)"]
    );
}

/// The callback gets librdkafka's error when an automatic commit fails.
#[test]
fn a_failed_automatic_commit_is_reported_with_its_error() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    take(&consumer, 10);
    let _fault = cluster
        .testing()
        .faults()
        .on(kafkalite::testing::Op::Commit)
        .fail_always(kafkalite::ErrorCode::GroupAuthorizationFailed)
        .unwrap();
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    // A broker answers the error for each partition; librdkafka sets it on each element.
    let refused = "!Some(GroupAuthorizationFailed)";
    assert_eq!(
        reports(consumer.context()),
        [format!(
            "{:?}: t-0@Offset(5){refused} t-1@Offset(5){refused}",
            Err::<(), _>(KafkaError::ConsumerCommit(
                RDKafkaErrorCode::GroupAuthorizationFailed
            ))
        )]
    );
}

/// A commit refused for some partitions only (a deleted topic: a broker's per-partition
/// `UNKNOWN_TOPIC_OR_PARTITION`) fails as a whole for the client: librdkafka's
/// `rd_kafka_handle_OffsetCommit` returns the last failed partition's error and
/// `rd_kafka_cgrp_update_committed_offsets` sets it on every partition sent, recording none
/// as committed, so the next tick sends them all again, though the broker kept the others.
#[test]
fn a_partly_refused_automatic_commit_fails_every_partition() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock);
    cluster
        .create_topic(kafkalite::NewTopic::new("u", 1))
        .unwrap();
    let producer: BaseProducer = config(&servers).create().unwrap();
    producer
        .send(BaseRecord::<(), str>::to("u").payload("v"))
        .unwrap();
    producer.flush(WAIT).unwrap();
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    consumer
        .incremental_assign(&list(&[("u", 0, Offset::Beginning)]))
        .unwrap();
    take(&consumer, 11);
    cluster.delete_topic("u").unwrap();
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    let error = Err::<(), _>(KafkaError::ConsumerCommit(
        RDKafkaErrorCode::UnknownTopicOrPartition,
    ));
    let unknown = "!Some(UnknownTopicOrPartition)";
    let report =
        format!("{error:?}: t-0@Offset(5){unknown} t-1@Offset(5){unknown} u-0@Offset(1){unknown}");
    assert_eq!(reports(consumer.context()), std::slice::from_ref(&report));
    let committed = consumer
        .committed_offsets(
            list(&[("t", 0, Offset::Invalid), ("t", 1, Offset::Invalid)]),
            WAIT,
        )
        .unwrap();
    for element in committed.elements() {
        assert_eq!(element.offset(), Offset::Offset(5));
    }
    clock.advance_ms(1_000);
    let _ = consumer.poll(Duration::ZERO);
    assert_eq!(
        reports(consumer.context())[1..],
        [report],
        "nothing was recorded as committed"
    );
}

/// A `StreamConsumer`'s receive serves the report of an auto-commit made while it waited,
/// also when no message comes (rust-rdkafka's stream is woken by the event and serves it).
#[test]
fn a_waiting_receive_serves_an_auto_commit_report() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: StreamConsumer<Recording> = assigned(&servers);
    for _ in 0..10 {
        pollster::block_on(consumer.recv()).unwrap();
    }
    clock.advance_ms(1_000);
    let mut cx = Context::from_waker(Waker::noop());
    let mut receive = std::pin::pin!(consumer.recv());
    assert!(matches!(receive.as_mut().poll(&mut cx), Poll::Pending));
    assert_eq!(
        reports(consumer.context()),
        ["Ok(()): t-0@Offset(5) t-1@Offset(5)"]
    );
}

/// librdkafka starts the timer when the consumer is made (rdkafka_cgrp.c), not at its first
/// poll; an interval of 0 is no timer at all, while removals still commit.
#[test]
fn the_timer_starts_with_the_consumer_and_zero_is_none() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = assigned(&servers);
    let never: BaseConsumer<Recording> = assigned_every(&servers, "0");
    clock.advance_ms(900);
    take(&consumer, 10);
    take(&never, 10);
    clock.advance_ms(100);
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(
        reports(consumer.context()),
        ["Ok(()): t-0@Offset(5) t-1@Offset(5)"]
    );
    clock.advance_ms(10_000);
    assert!(never.poll(Duration::ZERO).is_none());
    assert_eq!(reports(never.context()), Vec::<String>::new());
    never.unassign().unwrap();
    assert!(never.poll(Duration::ZERO).is_none());
    assert_eq!(
        reports(never.context()),
        ["Ok(()): t-0@Offset(5) t-1@Offset(5)"]
    );
}

/// A removal lists every removed partition, those with nothing stored as `Invalid`
/// (librdkafka reports its whole `removed` list); and a poll that serves a report returns
/// `None` even with a message waiting, as rdkafka's does after an offset-commit event.
#[test]
fn a_removal_lists_every_removed_partition_and_a_report_ends_the_poll() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer: BaseConsumer<Recording> = config(&servers)
        .set("group.id", "g")
        .create_with_context(Recording::default())
        .unwrap();
    consumer
        .assign(&list(&[("t", 0, Offset::Beginning), ("t", 1, Offset::End)]))
        .unwrap();
    take(&consumer, 5);
    consumer
        .assign(&list(&[
            ("t", 0, Offset::Stored),
            ("t", 1, Offset::Beginning),
        ]))
        .unwrap();
    assert!(consumer.poll(WAIT).is_none(), "the report ends the poll");
    assert_eq!(
        reports(consumer.context()),
        ["Ok(()): t-0@Offset(5) t-1@Invalid"]
    );
    assert!(matches!(consumer.poll(WAIT), Some(Ok(_))));
}

/// A subscription's close revokes, and the revocation commits and reports the stored
/// offsets.
#[test]
fn a_subscriptions_close_commits_through_its_revocation() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock);
    let consumer = subscribed(&servers);
    take(&consumer, 10);
    let context = Arc::clone(consumer.context());
    drop(consumer);
    assert_eq!(reports(&context), ["Ok(()): t-0@Offset(5) t-1@Offset(5)"]);
}

/// Writes down each revocation (its partitions, whether the assignment was lost, and the
/// outcome of a commit of the offset store made in the callback), the join state of the
/// last statistics, and the commit reports as [`Recording`] does.
#[derive(Default)]
struct Revocations {
    commits: Recording,
    revoked: Mutex<Vec<Revoked>>,
    join_state: Mutex<String>,
}

impl ClientContext for Revocations {
    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        if let Some(group) = statistics.cgrp {
            *self.join_state.lock().unwrap() = group.join_state;
        }
    }
}

impl ConsumerContext for Revocations {
    fn pre_rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        rebalance: &rdkafka::consumer::Rebalance<'_>,
    ) {
        if let rdkafka::consumer::Rebalance::Revoke(tpl) = rebalance {
            let partitions = tpl.elements().iter().map(|e| e.partition()).collect();
            let committed = consumer.commit_consumer_state(CommitMode::Sync);
            self.revoked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((partitions, consumer.assignment_lost(), committed));
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        self.commits.commit_callback(result, offsets);
    }
}

/// One revocation: its partitions, whether the assignment was lost, the callback's commit.
type Revoked = (Vec<i32>, bool, KafkaResult<()>);

/// Members "a" then "b" of group "g" (cooperative), one partition of "t" each, and the
/// partition of "b", which has taken three new messages from it (its stored offset 8); "b"
/// emits statistics every second of the mock clock.
fn two_members(
    clock: &MockClock,
) -> (
    kafkalite::Cluster,
    BaseConsumer<Revocations>,
    BaseConsumer<Revocations>,
    i32,
) {
    let (cluster, servers) = cluster_on(clock);
    let member = |name: &str| -> BaseConsumer<Revocations> {
        let consumer: BaseConsumer<Revocations> = config(&servers)
            .set("group.id", "g")
            .set("client.id", name)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("statistics.interval.ms", "1000")
            // (Nothing to read while the group settles: the messages come after.)
            .set("auto.offset.reset", "latest")
            .create_with_context(Revocations::default())
            .unwrap();
        consumer.subscribe(&["t"]).unwrap();
        consumer
    };
    let (a, b) = (member("a"), member("b"));
    let assigned = |c: &BaseConsumer<Revocations>| c.assignment().unwrap().count();
    for _ in 0..20 {
        if assigned(&a) == 1 && assigned(&b) == 1 {
            break;
        }
        assert!(a.poll(Duration::ZERO).is_none() && b.poll(Duration::ZERO).is_none());
    }
    assert_eq!((assigned(&a), assigned(&b)), (1, 1), "the group settled");
    let partition = b.assignment().unwrap().elements()[0].partition();
    produce(&servers, partition, 3);
    take(&b, 3);
    b.context().revoked.lock().unwrap().clear();
    (cluster, a, b, partition)
}

/// Closes `b` and returns its revocations and commit reports.
fn close(b: BaseConsumer<Revocations>) -> (Vec<Revoked>, Vec<String>) {
    let context = Arc::clone(b.context());
    drop(b);
    let revoked = std::mem::take(&mut *context.revoked.lock().unwrap());
    (revoked, reports(&context.commits))
}

/// librdkafka's close while the group rebalances: a member that has rejoined the rebalance
/// (cooperative, so it still owns its partition) revokes it, not loses it
/// (`rd_kafka_cgrp_unsubscribe` revokes unless the assignment was lost), and its commits
/// go to the coordinator (librdkafka's `rd_kafka_cgrp_offsets_commit` has no join-state
/// gate), which takes them while the group waits for members to rejoin (Kafka's
/// `validateOffsetCommit`: the generation has not moved). Kafka's Java client would refuse
/// the commit and lose the partition.
#[test]
fn a_member_closing_after_it_rejoined_a_rebalance_revokes_and_commits() {
    let clock = MockClock::new(0);
    let (cluster, a, b, partition) = two_members(&clock);
    cluster.testing().force_rebalance("g").unwrap();
    assert!(
        b.poll(Duration::ZERO).is_none(),
        "b rejoins and waits for a"
    );
    clock.advance_ms(1_000);
    assert!(b.poll(Duration::ZERO).is_none());
    assert_eq!(*b.context().join_state.lock().unwrap(), "wait-join");
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        kafkalite::GroupState::PreparingRebalance
    );
    let (revoked, reports) = close(b);
    assert_eq!(revoked, [(vec![partition], false, Ok(()))]);
    assert_eq!(reports, [format!("Ok(()): t-{partition}@Offset(8)")]);
    let committed = a
        .committed_offsets(list(&[("t", partition, Offset::Invalid)]), WAIT)
        .unwrap();
    assert_eq!(committed.elements()[0].offset(), Offset::Offset(8));
}

/// Once every member has rejoined, the generation moves on and the group waits for its
/// leader's assignment (CompletingRebalance): a member closing then still revokes (the
/// group has it), and its commits are refused as a broker refuses them,
/// `REBALANCE_IN_PROGRESS`.
#[test]
fn a_member_closing_while_the_rebalance_completes_revokes_and_is_refused() {
    let clock = MockClock::new(0);
    let (cluster, a, b, partition) = two_members(&clock);
    cluster.testing().force_rebalance("g").unwrap();
    assert!(
        a.poll(Duration::ZERO).is_none(),
        "a, the leader, rejoins first"
    );
    assert!(
        b.poll(Duration::ZERO).is_none(),
        "b's join completes the round"
    );
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        kafkalite::GroupState::CompletingRebalance
    );
    let (revoked, reports) = close(b);
    let refused = KafkaError::ConsumerCommit(RDKafkaErrorCode::RebalanceInProgress);
    assert_eq!(revoked, [(vec![partition], false, Err(refused.clone()))]);
    assert_eq!(
        reports,
        [format!(
            "{:?}: t-{partition}@Offset(8)!Some(RebalanceInProgress)",
            Err::<(), _>(refused)
        )]
    );
}
