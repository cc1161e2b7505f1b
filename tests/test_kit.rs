//! The test kit (`Cluster::testing`): fault rules on every verb they name, each kind (fail
//! next, fail always, delay, hold), the producer's retries around them, group and producer
//! events on demand, the simulated crash, history, quiescence and the seed. Expected
//! behaviour is Kafka's: retriable codes are those whose exceptions extend Kafka's
//! `RetriableException` (clients/.../common/errors), retried by the producer's Sender up to
//! `retries` and `delivery.timeout.ms`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::temporary_on;
use kafkalite::storage::SimStorage;
use kafkalite::testing::{Op, OpInfo};
use kafkalite::{
    AutoOffsetReset, Cluster, CommitMode, ConsumerConfig, Error, ErrorCode, IsolationLevel,
    MockClock, NewTopic, OffsetAndMetadata, Offsets, ProducerRecord, RebalanceContext,
    RebalanceListener, TopicPartition,
};
use parking_lot::Mutex;

const PATIENCE: Duration = Duration::from_secs(30);

fn cluster_with(clock: &MockClock, topics: &[(&str, i32)]) -> Cluster {
    let cluster = temporary_on(clock);
    for (name, partitions) in topics {
        cluster
            .create_topic(NewTopic::new(*name, *partitions))
            .unwrap();
    }
    cluster
}

fn values(records: &[kafkalite::ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap_or_default()).unwrap())
        .collect()
}

fn code_of(error: &Error) -> Option<ErrorCode> {
    match error {
        Error::Kafka { code, .. } => Some(*code),
        _ => None,
    }
}

#[test]
fn retriable_produce_failures_are_retried_and_the_record_is_written_once() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 2)]);
    let faults = cluster.testing().faults();
    let guard = faults
        .on(Op::Produce)
        .topic("orders")
        .fail_next(3, ErrorCode::NotEnoughReplicas)
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let sent = producer.send(ProducerRecord::to("orders").partition(1).value("a"));
    let meta = sent.unwrap().wait().unwrap();
    assert_eq!((meta.partition, meta.offset), (1, 0));
    assert_eq!(
        guard.hits(),
        3,
        "three attempts failed before the fourth went through"
    );
    assert_eq!(values(&cluster.testing().records("orders").unwrap()), ["a"]);
}

#[test]
fn a_non_retriable_produce_failure_fails_the_delivery_and_writes_nothing() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1), ("other", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .topic("orders")
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let other = producer
        .send(ProducerRecord::to("other").value("x"))
        .unwrap();
    assert!(other.wait().is_ok(), "another topic is not matched");
    let failed = producer
        .send(ProducerRecord::to("orders").value("lost"))
        .unwrap();
    let error = failed.wait().unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::TopicAuthorizationFailed),
        "{error}"
    );
    assert_eq!(error.code(), Some(ErrorCode::TopicAuthorizationFailed));
    assert_eq!(guard.hits(), 1, "not retried");
    // One-shot: the next send goes through, at offset 0 (nothing was appended).
    let meta = producer
        .send(ProducerRecord::to("orders").value("kept"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(meta.offset, 0);
    assert_eq!(
        values(&cluster.testing().records("orders").unwrap()),
        ["kept"]
    );
}

#[test]
fn retries_stop_at_the_retries_setting_with_the_brokers_error() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .fail_next(5, ErrorCode::NotLeaderOrFollower)
        .unwrap();
    let producer = cluster
        .producer(
            &[
                ("linger.ms", "0"),
                ("retries", "2"),
                ("enable.idempotence", "false"),
            ][..],
        )
        .unwrap();
    let error = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap()
        .wait()
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::NotLeaderOrFollower),
        "{error}"
    );
    assert_eq!(guard.hits(), 3, "the first attempt and two retries");
}

#[test]
fn a_sticky_retriable_failure_expires_the_batch_at_the_delivery_timeout() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .fail_always(ErrorCode::NotEnoughReplicas)
        .unwrap();
    let producer = cluster
        .producer(&[("linger.ms", "0"), ("delivery.timeout.ms", "5000")][..])
        .unwrap();
    let mut handle = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap();
    assert!(guard.wait_hits(1, PATIENCE));
    clock.advance_ms(4_999);
    assert!(
        guard.wait_hits(2, PATIENCE),
        "a clock jump brings a new attempt"
    );
    assert!(
        handle.try_get().is_none(),
        "retrying until delivery.timeout.ms"
    );
    clock.advance_ms(1);
    let error = handle.wait_timeout(PATIENCE).expect("expired").unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error}");
    assert!(error.to_string().contains("NotEnoughReplicas"), "{error}");
    assert!(cluster.testing().records("orders").unwrap().is_empty());
}

#[test]
fn dropping_a_guard_mid_operation_lets_the_retried_batch_through() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .fail_always(ErrorCode::NetworkException)
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let handle = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap();
    assert!(guard.wait_hits(1, PATIENCE));
    drop(guard);
    let meta = handle.wait().unwrap();
    assert_eq!(meta.offset, 0);
    assert_eq!(values(&cluster.testing().records("orders").unwrap()), ["a"]);
}

#[test]
fn a_held_produce_waits_for_its_release_in_arrival_order() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let (guard, release) = cluster.testing().faults().on(Op::Produce).hold().unwrap();
    let producer = cluster
        .producer(
            &[
                ("linger.ms", "0"),
                ("retries", "0"),
                ("enable.idempotence", "false"),
            ][..],
        )
        .unwrap();
    let mut first = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap();
    assert!(release.wait_held(1, PATIENCE));
    assert!(first.try_get().is_none(), "parked");
    assert_eq!(release.held(), 1);
    release.error_next(ErrorCode::PolicyViolation).unwrap();
    let error = first.wait_timeout(PATIENCE).expect("released").unwrap_err();
    assert_eq!(code_of(&error), Some(ErrorCode::PolicyViolation), "{error}");
    // A decision given ahead applies to the next operation to arrive.
    release.complete_next().unwrap();
    let meta = producer
        .send(ProducerRecord::to("orders").value("b"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(meta.offset, 0);
    assert_eq!(guard.hits(), 2);
    // Parked operations go ahead when the guard drops.
    let third = producer
        .send(ProducerRecord::to("orders").value("c"))
        .unwrap();
    assert!(release.wait_held(1, PATIENCE));
    drop(guard);
    assert_eq!(third.wait().unwrap().offset, 1);
    assert!(release.complete_next().is_err(), "the rule is gone");
}

#[test]
fn a_delayed_produce_completes_when_the_cluster_clock_has_moved_that_far() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .delay(Duration::from_millis(1_000))
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let mut handle = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap();
    assert!(guard.wait_hits(1, PATIENCE));
    clock.advance_ms(999);
    assert!(
        handle.wait_timeout(Duration::from_millis(100)).is_none(),
        "999 ms is not enough"
    );
    clock.advance_ms(1);
    assert_eq!(
        handle
            .wait_timeout(PATIENCE)
            .expect("delivered")
            .unwrap()
            .offset,
        0
    );
}

#[test]
fn fetch_faults_fail_the_partition_or_are_retried_quietly() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 2)]);
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    for p in 0..2 {
        producer
            .send(ProducerRecord::to("t").partition(p).value(format!("v{p}")))
            .unwrap()
            .wait()
            .unwrap();
    }
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    let tp0 = TopicPartition::new("t", 0);
    let tp1 = TopicPartition::new("t", 1);
    consumer
        .assign(&[
            (tp0.clone(), kafkalite::Offset::Beginning),
            (tp1.clone(), kafkalite::Offset::Beginning),
        ])
        .unwrap();
    let faults = cluster.testing().faults();
    let denied = faults
        .on(Op::Fetch)
        .partition(&tp0)
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let retried = faults
        .on(Op::Fetch)
        .partition(&tp1)
        .fail_next(1, ErrorCode::NotLeaderOrFollower)
        .unwrap();
    let records = consumer.poll(Duration::ZERO).unwrap();
    assert!(records.is_empty());
    let errors = records.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, tp0);
    assert_eq!(
        code_of(&errors[0].1),
        Some(ErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!((denied.hits(), retried.hits()), (1, 1));
    let mut got = Vec::new();
    for _ in 0..4 {
        let records = consumer.poll(Duration::ZERO).unwrap();
        assert!(records.errors().is_empty());
        got.extend(records.iter().map(|r| r.to_owned()));
    }
    let mut got = values(&got);
    got.sort();
    assert_eq!(got, ["v0", "v1"]);
}

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl RebalanceListener for Events {
    fn on_partitions_revoked(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.0.lock().push(format!("revoked {}", p.len()));
    }
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.0.lock().push(format!("assigned {}", p.len()));
    }
    fn on_partitions_lost(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.0.lock().push(format!("lost {}", p.len()));
    }
}

fn group_config(group: &str) -> ConsumerConfig {
    ConsumerConfig::new()
        .group_id(group)
        .client_id("member")
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .enable_auto_commit(false)
}

#[test]
fn join_faults_surface_from_poll_or_are_retried_at_the_next_poll() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 2)]);
    let faults = cluster.testing().faults();
    let denied = faults
        .on(Op::JoinGroup)
        .group("g")
        .fail_next(1, ErrorCode::GroupAuthorizationFailed)
        .unwrap();
    let consumer = cluster.consumer(group_config("g")).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let error = consumer.poll(Duration::ZERO).unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::GroupAuthorizationFailed),
        "{error}"
    );
    assert_eq!(denied.hits(), 1);
    let busy = faults
        .on(Op::JoinGroup)
        .group("g")
        .fail_next(1, ErrorCode::CoordinatorNotAvailable)
        .unwrap();
    consumer.poll(Duration::ZERO).unwrap();
    assert!(
        consumer.assignment().is_empty(),
        "the join is retried at the next poll"
    );
    assert_eq!(busy.hits(), 1);
    consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(consumer.assignment().len(), 2);
}

#[test]
fn commit_faults_match_their_group_and_fail_the_commit_once_for_all_its_partitions() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 3)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Commit)
        .group("g")
        .fail_next(1, ErrorCode::GroupAuthorizationFailed)
        .unwrap();
    let mut offsets = Offsets::new();
    for p in 0..3 {
        offsets.insert(TopicPartition::new("t", p), OffsetAndMetadata::new(5));
    }
    let other = cluster.consumer(group_config("h")).unwrap();
    other.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    let consumer = cluster.consumer(group_config("g")).unwrap();
    let error = consumer
        .commit_offsets(&offsets, CommitMode::Sync)
        .unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::GroupAuthorizationFailed),
        "{error}"
    );
    let nothing = cluster.describe_group_offsets("g");
    assert!(
        matches!(nothing, Err(Error::GroupIdNotFound(_))),
        "nothing committed: {nothing:?}"
    );
    assert_eq!(guard.hits(), 1, "one OffsetCommit for three partitions");
    consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    let committed = cluster.describe_group_offsets("g").unwrap();
    assert_eq!(committed.len(), 3);
    assert_eq!(guard.hits(), 1);
    // A retriable code is retried by the commit itself, as Kafka's commitSync does.
    let busy = cluster
        .testing()
        .faults()
        .on(Op::Commit)
        .fail_next(2, ErrorCode::CoordinatorNotAvailable)
        .unwrap();
    consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    assert_eq!(busy.hits(), 2);
}

#[test]
fn create_topics_faults_may_name_the_topic_being_made() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::CreateTopics)
        .topic("new")
        .fail_next(1, ErrorCode::PolicyViolation)
        .unwrap();
    let error = cluster.create_topic(NewTopic::new("new", 1)).unwrap_err();
    assert_eq!(code_of(&error), Some(ErrorCode::PolicyViolation), "{error}");
    assert!(cluster.list_topics().unwrap().is_empty(), "nothing created");
    cluster.create_topic(NewTopic::new("new", 1)).unwrap();
    assert_eq!(cluster.list_topics().unwrap(), ["new"]);
    assert_eq!(guard.hits(), 1);
}

#[test]
fn transaction_faults_are_retried_when_retriable_and_fail_the_call_otherwise() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("out", 1)]);
    let faults = cluster.testing().faults();
    let loading = faults
        .on(Op::InitTransactions)
        .transactional_id("tx")
        .fail_next(2, ErrorCode::CoordinatorLoadInProgress)
        .unwrap();
    let denied = faults
        .on(Op::InitTransactions)
        .transactional_id("tx")
        .fail_next(1, ErrorCode::TransactionalIdAuthorizationFailed)
        .unwrap();
    let end = faults
        .on(Op::EndTxn)
        .transactional_id("tx")
        .fail_next(1, ErrorCode::TransactionalIdAuthorizationFailed)
        .unwrap();
    let concurrent = faults
        .on(Op::EndTxn)
        .transactional_id("tx")
        .fail_next(1, ErrorCode::ConcurrentTransactions)
        .unwrap();
    let producer = cluster
        .producer(&[("transactional.id", "tx"), ("linger.ms", "0")][..])
        .unwrap();
    // Two retriable answers are retried within the call; the third answer is not retriable.
    let error = producer.init_transactions(PATIENCE).unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::TransactionalIdAuthorizationFailed),
        "{error}"
    );
    assert_eq!((loading.hits(), denied.hits()), (2, 1));
    producer.init_transactions(PATIENCE).unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(ProducerRecord::to("out").value("a"))
        .unwrap()
        .wait()
        .unwrap();
    let error = producer.commit_transaction(PATIENCE).unwrap_err();
    assert_eq!(
        code_of(&error),
        Some(ErrorCode::TransactionalIdAuthorizationFailed),
        "{error}"
    );
    assert_eq!(read_committed(&cluster, "out"), Vec::<String>::new());
    // The retry meets ConcurrentTransactions once, retried within the call.
    producer.commit_transaction(PATIENCE).unwrap();
    assert_eq!(read_committed(&cluster, "out"), ["a"]);
    assert_eq!((end.hits(), concurrent.hits()), (1, 1));
}

#[test]
fn an_injected_producer_fenced_is_as_fatal_as_a_real_one() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("out", 1)]);
    let _fenced = cluster
        .testing()
        .faults()
        .on(Op::EndTxn)
        .fail_next(1, ErrorCode::ProducerFenced)
        .unwrap();
    let producer = sent_in_a_transaction(&cluster, "a");
    let error = producer.commit_transaction(PATIENCE).unwrap_err();
    assert!(matches!(error, Error::ProducerFenced(_)), "{error}");
    let again = producer.begin_transaction().unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::ProducerFenced), "{again}");
}

#[test]
fn a_failed_produce_makes_the_transaction_abortable_and_the_next_one_works() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("out", 1)]);
    let producer = sent_in_a_transaction(&cluster, "kept-out");
    let denied = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let failed = producer
        .send(ProducerRecord::to("out").value("refused"))
        .unwrap()
        .wait();
    assert!(failed.is_err());
    assert!(
        producer.commit_transaction(PATIENCE).is_err(),
        "abortable: no commit"
    );
    producer.abort_transaction(PATIENCE).unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(ProducerRecord::to("out").value("b"))
        .unwrap()
        .wait()
        .unwrap();
    producer.commit_transaction(PATIENCE).unwrap();
    assert_eq!(read_committed(&cluster, "out"), ["b"]);
    assert_eq!(denied.hits(), 1);
}

#[test]
fn closing_a_producer_gives_up_a_held_batch_at_its_timeout() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let (guard, release) = cluster.testing().faults().on(Op::Produce).hold().unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let handle = producer
        .send(ProducerRecord::to("orders").value("a"))
        .unwrap();
    assert!(release.wait_held(1, PATIENCE));
    let closed = producer.close(Duration::from_millis(10));
    assert!(matches!(closed, Err(Error::Timeout(_))), "{closed:?}");
    let error = handle.wait().unwrap_err();
    assert!(matches!(error, Error::Closed), "{error}");
    assert_eq!(release.held(), 0, "the parked batch left");
    drop(guard);
    assert!(cluster.testing().records("orders").unwrap().is_empty());
}

/// A transactional producer ("tx") with a transaction open that wrote `value` to "out".
fn sent_in_a_transaction(cluster: &Cluster, value: &str) -> kafkalite::Producer {
    let producer = cluster
        .producer(&[("transactional.id", "tx"), ("linger.ms", "0")][..])
        .unwrap();
    producer.init_transactions(PATIENCE).unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(ProducerRecord::to("out").value(value))
        .unwrap()
        .wait()
        .unwrap();
    producer
}

fn read_committed(cluster: &Cluster, topic: &str) -> Vec<String> {
    let consumer = cluster
        .consumer(ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted))
        .unwrap();
    consumer
        .assign(&[(TopicPartition::new(topic, 0), kafkalite::Offset::Beginning)])
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..4 {
        let records = consumer.poll(Duration::ZERO).unwrap();
        out.extend(records.iter().map(|r| r.to_owned()));
    }
    values(&out)
}

#[test]
fn rules_naming_what_does_not_exist_are_refused() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 2)]);
    let faults = cluster.testing().faults();
    let error = faults
        .on(Op::Produce)
        .topic("missing")
        .fail_always(ErrorCode::NotEnoughReplicas)
        .unwrap_err();
    assert!(
        matches!(error, Error::UnknownTopicOrPartition(_)),
        "{error}"
    );
    assert!(error.to_string().contains("missing"), "{error}");
    let error = faults
        .on(Op::Fetch)
        .partition(&TopicPartition::new("t", 2))
        .fail_always(ErrorCode::NotLeaderOrFollower)
        .unwrap_err();
    assert!(error.to_string().contains("2 partition(s)"), "{error}");
    let error = faults
        .on(Op::Produce)
        .fail_next(0, ErrorCode::NotEnoughReplicas)
        .unwrap_err();
    assert!(matches!(error, Error::IllegalState(_)), "{error}");
    let error = faults
        .on(Op::JoinGroup)
        .topic("t")
        .fail_always(ErrorCode::NotCoordinator)
        .unwrap_err();
    assert!(error.to_string().contains("could never match"), "{error}");
    let error = faults
        .on(Op::Produce)
        .group("g")
        .fail_always(ErrorCode::NotCoordinator)
        .unwrap_err();
    assert!(error.to_string().contains("group"), "{error}");
    assert!(cluster.testing().expire_member("nope", "m").is_err());
    assert!(cluster.testing().force_rebalance("nope").is_err());
    assert!(cluster.testing().fence_producer("nope").is_err());
    let error = cluster.testing().crash_and_reopen().unwrap_err();
    assert!(error.to_string().contains("SimStorage"), "{error}");
}

#[test]
fn a_matching_filter_sees_each_operation() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 3)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .matching(|op: &OpInfo<'_>| op.partition() == Some(2) && op.topic() == Some("t"))
        .fail_always(ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    for p in 0..3 {
        let sent = producer
            .send(ProducerRecord::to("t").partition(p).value("x"))
            .unwrap()
            .wait();
        assert_eq!(sent.is_err(), p == 2, "partition {p}");
    }
    assert_eq!(guard.hits(), 1);
}

#[test]
fn force_rebalance_and_expire_member_reach_the_listener() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 2)]);
    let events = Events::default();
    let consumer = cluster.consumer(group_config("g")).unwrap();
    consumer.subscribe_with(&["t"], events.clone()).unwrap();
    consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(events.take(), ["assigned 2"]);
    let generation = cluster.describe_group("g").unwrap().generation;
    cluster.testing().force_rebalance("g").unwrap();
    consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(events.take(), ["revoked 2", "assigned 2"]);
    assert_eq!(
        cluster.describe_group("g").unwrap().generation,
        generation + 1
    );
    cluster.testing().expire_member("g", "member").unwrap();
    assert!(cluster.describe_group("g").unwrap().members.is_empty());
    consumer.poll(Duration::ZERO).unwrap();
    assert_eq!(events.take(), ["lost 2", "assigned 2"]);
    let error = cluster.testing().expire_member("g", "someone").unwrap_err();
    assert_eq!(code_of(&error), Some(ErrorCode::UnknownMemberId), "{error}");
    // Two members with one client.id: the member id must say which.
    let twin = cluster.consumer(group_config("g")).unwrap();
    twin.subscribe(&["t"]).unwrap();
    twin.poll(Duration::ZERO).unwrap();
    let error = cluster.testing().expire_member("g", "member").unwrap_err();
    assert!(error.to_string().contains("member id"), "{error}");
    let id = cluster.describe_group("g").unwrap().members[0]
        .member_id
        .clone();
    cluster.testing().expire_member("g", &id).unwrap();
    assert_eq!(cluster.describe_group("g").unwrap().members.len(), 1);
}

#[test]
fn a_fenced_producer_cannot_commit_and_its_transaction_is_aborted() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("out", 1)]);
    let producer = sent_in_a_transaction(&cluster, "a");
    cluster.testing().fence_producer("tx").unwrap();
    let error = producer.commit_transaction(PATIENCE).unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::ProducerFenced), "{error}");
    assert_eq!(read_committed(&cluster, "out"), Vec::<String>::new());
    assert_eq!(
        values(&cluster.testing().records("out").unwrap()),
        ["a"],
        "aborted, still in the log"
    );
}

#[test]
fn crash_and_reopen_keeps_what_was_synced_only() {
    let sim = SimStorage::new(std::path::Path::new(common::SIM_DATA));
    let cluster = common::open_sim(&sim).unwrap();
    cluster
        .create_topic(NewTopic::new("synced", 1).config("flush.messages", "1"))
        .unwrap();
    cluster
        .create_topic(
            NewTopic::new("lazy", 1)
                .config("flush.messages", "9223372036854775807")
                .config("flush.ms", "9223372036854775807"),
        )
        .unwrap();
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    for topic in ["synced", "lazy"] {
        producer
            .send(ProducerRecord::to(topic).value("v"))
            .unwrap()
            .wait()
            .unwrap();
    }
    let reopened = cluster.testing().crash_and_reopen().unwrap();
    assert_eq!(
        values(&reopened.testing().records("synced").unwrap()),
        ["v"]
    );
    assert!(
        reopened.testing().records("lazy").unwrap().is_empty(),
        "never synced"
    );
    // The old handles are dead.
    if let Ok(handle) = producer.send(ProducerRecord::to("synced").value("w")) {
        assert!(handle.wait().is_err(), "written after the power cut");
    }
}

#[test]
fn history_lists_what_producers_appended_in_order() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("a", 1), ("b", 2)]);
    let first = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let second = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    let sends = [
        (&first, "a", 0, "1"),
        (&second, "b", 1, "2"),
        (&first, "b", 0, "3"),
        (&second, "a", 0, "4"),
    ];
    for (producer, topic, partition, value) in sends {
        producer
            .send(ProducerRecord::to(topic).partition(partition).value(value))
            .unwrap()
            .wait()
            .unwrap();
    }
    // Appended without a producer: not in the history.
    cluster
        .partition("a", 0)
        .unwrap()
        .append(&common::batch(0, 1, 4, 1_000))
        .unwrap();
    let history = cluster.testing().history().unwrap();
    assert_eq!(values(&history), ["1", "2", "3", "4"]);
    let places: Vec<(String, i32)> = history
        .iter()
        .map(|r| (r.topic.to_string(), r.partition))
        .collect();
    assert_eq!(
        places,
        [
            ("a".into(), 0),
            ("b".into(), 1),
            ("b".into(), 0),
            ("a".into(), 0)
        ]
    );
    assert_eq!(cluster.testing().records("a").unwrap().len(), 3);
}

#[test]
fn wait_idle_waits_for_lingering_batches_and_rebalances() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 1)]);
    let producer = cluster.producer(&[("linger.ms", "1000")][..]).unwrap();
    let handle = producer.send(ProducerRecord::to("t").value("a")).unwrap();
    let error = cluster
        .testing()
        .wait_idle(Duration::from_millis(20))
        .unwrap_err();
    assert!(error.to_string().contains("1 producer(s)"), "{error}");
    clock.advance_ms(1_000);
    cluster.testing().wait_idle(PATIENCE).unwrap();
    assert_eq!(handle.wait().unwrap().offset, 0);
    let consumer = cluster.consumer(group_config("g")).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    consumer.poll(Duration::ZERO).unwrap();
    cluster.testing().force_rebalance("g").unwrap();
    let error = cluster
        .testing()
        .wait_idle(Duration::from_millis(20))
        .unwrap_err();
    assert!(error.to_string().contains("group 'g'"), "{error}");
    consumer.poll(Duration::ZERO).unwrap();
    cluster.testing().wait_idle(PATIENCE).unwrap();
}

/// The partitions keyless records went to, from a fresh cluster seeded with `seed`.
fn keyless_partitions(seed: u64) -> Vec<i32> {
    let cluster = Cluster::builder()
        .clock(Arc::new(MockClock::new(1_000)))
        .background(false)
        .seed(seed)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 16)).unwrap();
    // batch.size 1: the sticky partitioner moves on after every record.
    let producer = cluster
        .producer(&[("linger.ms", "0"), ("batch.size", "1")][..])
        .unwrap();
    (0..24)
        .map(|i| {
            producer
                .send(ProducerRecord::to("t").value(format!("{i}")))
                .unwrap()
                .wait()
                .unwrap()
                .partition
        })
        .collect()
}

#[test]
fn a_seed_makes_keyless_partitioning_repeat() {
    let first = keyless_partitions(7);
    assert_eq!(first, keyless_partitions(7));
    assert_ne!(first, keyless_partitions(8), "another seed, other draws");
    let distinct: std::collections::BTreeSet<i32> = first.iter().copied().collect();
    assert!(distinct.len() > 1, "{first:?}");
}

#[test]
fn held_operations_are_decided_in_arrival_order_and_a_cancelled_one_gives_up_its_turn() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("orders", 1)]);
    let (guard, release) = cluster.testing().faults().on(Op::Produce).hold().unwrap();
    // Each producer has its own appender thread: three batches park at once.
    let config = [
        ("linger.ms", "0"),
        ("retries", "0"),
        ("enable.idempotence", "false"),
    ];
    let producers: Vec<_> = (0..3)
        .map(|_| cluster.producer(&config[..]).unwrap())
        .collect();
    let mut handles = Vec::new();
    for (i, producer) in producers.iter().enumerate() {
        let value = format!("v{i}");
        handles.push(
            producer
                .send(ProducerRecord::to("orders").value(value))
                .unwrap(),
        );
        assert!(release.wait_held(i as u64 + 1, PATIENCE));
    }
    // The middle one gives up (its close ran out of time): the others keep their turns.
    let closed = producers[1].close(Duration::from_millis(10));
    assert!(matches!(closed, Err(Error::Timeout(_))), "{closed:?}");
    assert_eq!(release.held(), 2);
    release.error_next(ErrorCode::PolicyViolation).unwrap();
    release.complete_next().unwrap();
    let mut results = handles
        .iter_mut()
        .map(|h| h.wait_timeout(PATIENCE).expect("decided"));
    let first = results.next().unwrap().unwrap_err();
    assert_eq!(code_of(&first), Some(ErrorCode::PolicyViolation), "{first}");
    assert!(matches!(results.next().unwrap(), Err(Error::Closed)));
    assert_eq!(results.next().unwrap().unwrap().offset, 0);
    assert_eq!(release.held(), 0);
    assert_eq!(guard.hits(), 3);
    assert_eq!(
        values(&cluster.testing().records("orders").unwrap()),
        ["v2"]
    );
}

#[test]
fn a_commit_is_held_once_for_all_its_partitions() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 3)]);
    let (guard, release) = cluster.testing().faults().on(Op::Commit).hold().unwrap();
    let consumer = cluster.consumer(group_config("g")).unwrap();
    let mut offsets = Offsets::new();
    for p in 0..3 {
        offsets.insert(TopicPartition::new("t", p), OffsetAndMetadata::new(1));
    }
    let (done_tx, done) = crossbeam::channel::bounded(1);
    std::thread::scope(|s| {
        s.spawn(|| {
            let result = consumer.commit_offsets(&offsets, CommitMode::Sync);
            done_tx.send(result).unwrap();
        });
        assert!(release.wait_held(1, PATIENCE));
        release.complete_next().unwrap();
        // One decision completes the whole commit; a check per partition would park again.
        let result = done.recv_timeout(PATIENCE).expect("the commit completed");
        assert!(result.is_ok(), "{result:?}");
    });
    assert_eq!(guard.hits(), 1);
    assert_eq!(cluster.describe_group_offsets("g").unwrap().len(), 3);
}

#[test]
fn dropping_a_delay_guard_lets_the_delayed_operation_go_ahead() {
    let clock = MockClock::new(1_000);
    let cluster = cluster_with(&clock, &[("t", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::CreateTopics)
        .delay(Duration::from_secs(3_600))
        .unwrap();
    // On a thread of its own, not a scoped one: were the creation to stay delayed, the test
    // fails at the timeout below instead of hanging in the scope's join.
    let (done, finished) = std::sync::mpsc::channel();
    let creating = cluster.clone();
    std::thread::spawn(move || {
        let _ = done.send(creating.create_topic(NewTopic::new("late", 1)));
    });
    assert!(guard.wait_hits(1, PATIENCE));
    drop(guard);
    finished
        .recv_timeout(PATIENCE)
        .expect("the delayed creation went ahead once its rule was dropped")
        .unwrap();
    assert!(cluster.list_topics().unwrap().contains(&"late".to_string()));
}
