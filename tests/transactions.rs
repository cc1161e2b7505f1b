//! Transactional producers end to end, against Kafka's contract (`KafkaProducer`'s
//! transaction javadoc, `TransactionManager`, `TransactionCoordinator`): committed records
//! appear to `read_committed` consumers all at once, aborted ones never; a second producer
//! with the same `transactional.id` fences the first and aborts its open transaction;
//! `transaction.timeout.ms` aborts on the cluster clock; offsets sent in a transaction
//! commit with it and only with it; calls in the wrong state are `InvalidTxnState`; a crash
//! leaves no transaction open.

mod common;

use std::time::Duration;

use kafkalite::storage::{PowerLoss, SimStorage};
use kafkalite::{
    Cluster, ConsumerConfig, Error, ErrorCode, IsolationLevel, MockClock, NewTopic,
    OffsetAndMetadata, Offsets, ProducerConfig, ProducerRecord, TopicPartition, TransactionState,
};

const T: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

fn transactional(id: &str) -> ProducerConfig {
    ProducerConfig::new().transactional_id(id)
}

fn committed_reader() -> ConsumerConfig {
    ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted)
}

/// Every value of `topic` partition 0 that `config`'s consumer reads.
fn values(cluster: &Cluster, config: ConsumerConfig, topic: &str) -> Vec<String> {
    common::values_from_start(cluster, config, topic, POLL)
}

fn send(producer: &kafkalite::Producer, topic: &str, value: &str) {
    producer
        .send(ProducerRecord::to(topic).value(value.as_bytes().to_vec()))
        .unwrap();
}

#[test]
fn committed_records_appear_together_and_aborted_ones_never() {
    let cluster = common::cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();

    producer.begin_transaction().unwrap();
    send(&producer, "t", "a");
    send(&producer, "t", "b");
    producer.flush(T).unwrap();
    // Written, but not yet committed: below the last stable offset there is nothing.
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), 2);
    assert_eq!(log.last_stable_offset(), 0);
    assert!(values(&cluster, committed_reader(), "t").is_empty());
    producer.commit_transaction(T).unwrap();
    assert_eq!(values(&cluster, committed_reader(), "t"), ["a", "b"]);

    producer.begin_transaction().unwrap();
    send(&producer, "t", "c");
    producer.flush(T).unwrap();
    // Not yet written when the abort comes: it never will be.
    let unsent = producer
        .send(ProducerRecord::to("t").value(b"never".to_vec()))
        .unwrap();
    producer.abort_transaction(T).unwrap();
    let err = unsent.wait().unwrap_err();
    assert!(matches!(err, Error::TransactionAborted(_)), "{err}");
    producer.begin_transaction().unwrap();
    send(&producer, "t", "d");
    producer.commit_transaction(T).unwrap();

    assert_eq!(values(&cluster, committed_reader(), "t"), ["a", "b", "d"]);
    // read_uncommitted, Kafka's default, reads the aborted record too (never the markers).
    assert_eq!(
        values(&cluster, ConsumerConfig::new(), "t"),
        ["a", "b", "c", "d"]
    );
    // Three markers: offsets 2 (commit), 4 (abort), 6 (commit).
    assert_eq!(log.high_watermark(), 7);
    assert_eq!(log.last_stable_offset(), 7);
    let aborted = log.aborted_transactions(0, 7);
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (aborted[0].first_offset, aborted[0].last_offset),
        (3, 4),
        "{aborted:?}"
    );
    let described = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(described.state, TransactionState::CompleteCommit);
    assert!(described.topic_partitions.is_empty());
}

#[test]
fn a_transaction_spans_partitions_and_topics_atomically() {
    let cluster = common::cluster_with(NewTopic::new("a", 3));
    cluster.create_topic(NewTopic::new("b", 1)).unwrap();
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    for partition in 0..3 {
        producer
            .send(
                ProducerRecord::to("a")
                    .partition(partition)
                    .value(b"x".to_vec()),
            )
            .unwrap();
    }
    send(&producer, "b", "y");
    producer.flush(T).unwrap();
    let described = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(described.state, TransactionState::Ongoing);
    assert_eq!(
        described.topic_partitions,
        [
            TopicPartition::new("a", 0),
            TopicPartition::new("a", 1),
            TopicPartition::new("a", 2),
            TopicPartition::new("b", 0)
        ]
    );
    producer.commit_transaction(T).unwrap();
    for (topic, partition) in [("a", 0), ("a", 1), ("a", 2), ("b", 0)] {
        let log = cluster.partition(topic, partition).unwrap();
        assert_eq!(
            (log.high_watermark(), log.last_stable_offset()),
            (2, 2),
            "{topic}-{partition}: one record and its COMMIT marker"
        );
    }
}

#[test]
fn a_new_producer_with_the_same_id_fences_the_old_and_aborts_its_transaction() {
    let cluster = common::cluster_with(NewTopic::new("t", 1));
    let old = cluster.producer(transactional("tx")).unwrap();
    old.init_transactions(T).unwrap();
    let first = cluster.describe_transaction("tx").unwrap().unwrap();
    old.begin_transaction().unwrap();
    send(&old, "t", "zombie");
    old.flush(T).unwrap();

    let new = cluster.producer(transactional("tx")).unwrap();
    new.init_transactions(T).unwrap();
    let second = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(second.producer_id, first.producer_id);
    // One bump to fence and abort, one for the new producer (Kafka's two InitProducerId
    // rounds).
    assert_eq!(second.producer_epoch, first.producer_epoch + 2);
    assert_eq!(second.state, TransactionState::Empty);

    // The old producer's transaction was aborted; it is fenced for good.
    let err = old.commit_transaction(T).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ProducerFenced), "{err}");
    let err = old.begin_transaction().unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ProducerFenced), "{err}");

    new.begin_transaction().unwrap();
    send(&new, "t", "live");
    new.commit_transaction(T).unwrap();
    assert_eq!(values(&cluster, committed_reader(), "t"), ["live"]);
}

#[test]
fn calls_out_of_order_are_invalid_txn_state() {
    let cluster = common::cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(transactional("tx")).unwrap();
    let state = |result: kafkalite::Result<()>| {
        let err = result.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidTxnState), "{err}");
        err.to_string()
    };
    let before_init = state(producer.begin_transaction());
    assert!(before_init.contains("init_transactions"), "{before_init}");
    let err = producer
        .send(ProducerRecord::to("t").value(b"v".to_vec()))
        .unwrap_err();
    assert_eq!(err.error.code(), Some(ErrorCode::InvalidTxnState));
    producer.init_transactions(T).unwrap();
    state(producer.init_transactions(T));
    state(producer.commit_transaction(T));
    state(producer.abort_transaction(T));
    let err = producer
        .send(ProducerRecord::to("t").value(b"v".to_vec()))
        .unwrap_err();
    assert_eq!(
        err.error.code(),
        Some(ErrorCode::InvalidTxnState),
        "a send outside a transaction: {}",
        err.error
    );
    producer.begin_transaction().unwrap();
    state(producer.begin_transaction());
    // An empty transaction commits without the coordinator.
    producer.commit_transaction(T).unwrap();

    let plain = cluster.producer(ProducerConfig::new()).unwrap();
    state(plain.init_transactions(T));
    state(plain.begin_transaction());
}

#[test]
fn a_timeout_above_the_clusters_maximum_is_refused() {
    let cluster = Cluster::builder()
        .background(false)
        .transaction_max_timeout_ms(10_000)
        .temporary()
        .unwrap();
    let producer = cluster
        .producer(
            transactional("tx")
                .set("transaction.timeout.ms", "10001")
                .unwrap(),
        )
        .unwrap();
    let err = producer.init_transactions(T).unwrap_err();
    assert_eq!(
        err.code(),
        Some(ErrorCode::InvalidTransactionTimeout),
        "{err}"
    );
    let at_max = cluster
        .producer(
            transactional("tx")
                .set("transaction.timeout.ms", "10000")
                .unwrap(),
        )
        .unwrap();
    at_max.init_transactions(T).unwrap();
}

#[test]
fn a_transaction_open_past_its_timeout_is_aborted_on_the_cluster_clock() {
    let clock = MockClock::new(1_700_000_000_000);
    let cluster = common::temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster
        .producer(
            transactional("tx")
                .set("transaction.timeout.ms", "5000")
                .unwrap(),
        )
        .unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    send(&producer, "t", "slow");
    producer.flush(T).unwrap();
    clock.advance_ms(5000);
    cluster.run_maintenance().unwrap();
    let state = cluster.describe_transaction("tx").unwrap().unwrap().state;
    assert_eq!(state, TransactionState::Ongoing, "exactly at the timeout");
    clock.advance_ms(1);
    cluster.run_maintenance().unwrap();
    let state = cluster.describe_transaction("tx").unwrap().unwrap().state;
    assert_eq!(state, TransactionState::CompleteAbort);
    assert_eq!(cluster.partition("t", 0).unwrap().last_stable_offset(), 2);
    let err = producer.commit_transaction(T).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::ProducerFenced), "{err}");
    assert!(values(&cluster, committed_reader(), "t").is_empty());
}

/// A consumer of `input` in group `g`, assigned its one partition; its offsets go through
/// transactions only (no auto-commit, as exactly-once applications configure it).
fn group_member(cluster: &Cluster) -> kafkalite::Consumer {
    let config = ConsumerConfig::new()
        .group_id("g")
        .set("enable.auto.commit", "false")
        .unwrap();
    let consumer = cluster.consumer(config).unwrap();
    consumer.subscribe(&["input"]).unwrap();
    let records = consumer.poll(POLL).unwrap();
    assert_eq!(records.len(), 0);
    assert_eq!(consumer.assignment().len(), 1, "joined the group");
    consumer
}

fn offsets(offset: i64) -> Offsets {
    [(
        TopicPartition::new("input", 0),
        OffsetAndMetadata::new(offset),
    )]
    .into_iter()
    .collect()
}

#[test]
fn offsets_sent_in_a_transaction_commit_with_it_and_only_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    cluster.create_topic(NewTopic::new("input", 1)).unwrap();
    cluster.create_topic(NewTopic::new("output", 1)).unwrap();
    let consumer = group_member(&cluster);
    let group = consumer.group_metadata().unwrap();
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    let tp = TopicPartition::new("input", 0);

    producer.begin_transaction().unwrap();
    send(&producer, "output", "o1");
    producer
        .send_offsets_to_transaction(&offsets(5), &group, T)
        .unwrap();
    // Pending: a stable fetch of the committed offset waits, then gives up.
    let impatient = cluster
        .consumer(
            ConsumerConfig::new()
                .group_id("g")
                .set("default.api.timeout.ms", "20")
                .unwrap(),
        )
        .unwrap();
    let err = impatient.committed(std::slice::from_ref(&tp)).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::UnstableOffsetCommit), "{err}");
    producer.abort_transaction(T).unwrap();
    assert_eq!(
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp],
        None
    );

    producer.begin_transaction().unwrap();
    send(&producer, "output", "o2");
    producer
        .send_offsets_to_transaction(&offsets(7), &group, T)
        .unwrap();
    producer.commit_transaction(T).unwrap();
    assert_eq!(
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp],
        Some(OffsetAndMetadata::new(7))
    );
    assert_eq!(values(&cluster, committed_reader(), "output"), ["o2"]);

    // The offsets topic replays to the same answer: the aborted offsets stay dropped.
    drop((consumer, impatient, producer));
    cluster.close().unwrap();
    let reopened = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    let consumer = reopened
        .consumer(ConsumerConfig::new().group_id("g"))
        .unwrap();
    assert_eq!(
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp],
        Some(OffsetAndMetadata::new(7))
    );
}

/// Kafka's `replayEndTransactionMarker`: when plain and transactional commits mix, the
/// most recent record wins, so a plain commit made while the transaction was open stays,
/// and one made before it does not; the same after replaying `__consumer_offsets`.
#[test]
fn a_plain_commit_made_during_a_transaction_outlives_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap()
    };
    let tp = TopicPartition::new("input", 0);
    let committed = |consumer: &kafkalite::Consumer| {
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp]
            .as_ref()
            .map(|c| c.offset)
    };
    let mut cluster = open();
    cluster.create_topic(NewTopic::new("input", 1)).unwrap();
    // (sent in the transaction, committed plainly, whether before it): what stays.
    for (sent, plain, before, stays) in [(10, 20, false, 20), (40, 30, true, 40)] {
        let consumer = group_member(&cluster);
        let group = consumer.group_metadata().unwrap();
        let producer = cluster.producer(transactional("tx")).unwrap();
        producer.init_transactions(T).unwrap();
        let commit_plainly = || {
            consumer
                .commit_offsets(&offsets(plain), kafkalite::CommitMode::Sync)
                .unwrap();
        };
        if before {
            commit_plainly();
        }
        producer.begin_transaction().unwrap();
        producer
            .send_offsets_to_transaction(&offsets(sent), &group, T)
            .unwrap();
        if !before {
            commit_plainly();
        }
        producer.commit_transaction(T).unwrap();
        assert_eq!(committed(&consumer), Some(stays));
        drop((consumer, producer));
        cluster.close().unwrap();
        cluster = open();
        let reader = cluster
            .consumer(ConsumerConfig::new().group_id("g"))
            .unwrap();
        assert_eq!(committed(&reader), Some(stays), "after a reopen");
    }
}

#[test]
fn offsets_from_a_stale_generation_fail_the_transaction_which_then_aborts() {
    let cluster = common::cluster_with(NewTopic::new("input", 1));
    let consumer = group_member(&cluster);
    let mut stale = consumer.group_metadata().unwrap();
    stale.generation_id -= 1;
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    let err = producer
        .send_offsets_to_transaction(&offsets(3), &stale, T)
        .unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
    // The transaction must abort: committing it fails with the reason.
    let err = producer.commit_transaction(T).unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
    producer.abort_transaction(T).unwrap();
    // The abort reached the coordinator (the offsets partition had joined the transaction):
    // nothing is left open there for the timeout to fence later.
    let state = cluster.describe_transaction("tx").unwrap().unwrap().state;
    assert_eq!(state, TransactionState::CompleteAbort);
    // The producer goes on.
    producer.begin_transaction().unwrap();
    let current = consumer.group_metadata().unwrap();
    producer
        .send_offsets_to_transaction(&offsets(3), &current, T)
        .unwrap();
    producer.commit_transaction(T).unwrap();
    let tp = TopicPartition::new("input", 0);
    assert_eq!(
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp],
        Some(OffsetAndMetadata::new(3))
    );
}

/// Kafka's `sendOffsetsToTransaction` with no offsets does nothing: no state check, no
/// group check, and the offsets topic does not join the transaction.
#[test]
fn empty_offsets_are_no_call_at_all() {
    let cluster = common::cluster_with(NewTopic::new("input", 1));
    cluster.create_topic(NewTopic::new("output", 1)).unwrap();
    let consumer = group_member(&cluster);
    let mut stale = consumer.group_metadata().unwrap();
    stale.generation_id -= 1;
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    // Outside a transaction, and with a stale generation: both fine with nothing to send,
    // both refused with something to send.
    producer
        .send_offsets_to_transaction(&Offsets::new(), &stale, T)
        .unwrap();
    let err = producer
        .send_offsets_to_transaction(&offsets(1), &stale, T)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTxnState(_)), "{err}");

    producer.begin_transaction().unwrap();
    send(&producer, "output", "o1");
    producer
        .send_offsets_to_transaction(&Offsets::new(), &stale, T)
        .unwrap();
    // Written, so that its partition has joined: the only one.
    producer.flush(T).unwrap();
    let open = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(open.topic_partitions, [TopicPartition::new("output", 0)]);
    producer.commit_transaction(T).unwrap();
    let tp = TopicPartition::new("input", 0);
    assert_eq!(
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp],
        None
    );
    assert_eq!(values(&cluster, committed_reader(), "output"), ["o1"]);
}

#[test]
fn a_failed_batch_fails_the_commit_and_the_abort_takes_a_new_epoch() {
    let cluster = common::cluster_with(NewTopic::new("t", 1).config("cleanup.policy", "compact"));
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    let epoch = cluster
        .describe_transaction("tx")
        .unwrap()
        .unwrap()
        .producer_epoch;
    producer.begin_transaction().unwrap();
    let keyed = ProducerRecord::to("t")
        .key(b"k".to_vec())
        .value(b"1".to_vec());
    producer.send(keyed.clone()).unwrap();
    producer.flush(T).unwrap();
    // A compacted topic refuses a record without a key: the batch fails at the log.
    let refused = producer
        .send(ProducerRecord::to("t").value(b"no key".to_vec()))
        .unwrap();
    producer.flush(T).unwrap();
    assert!(refused.wait().is_err());
    let err = producer.commit_transaction(T).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRecord), "{err}");
    producer.abort_transaction(T).unwrap();
    let after = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(after.producer_epoch, epoch + 1);

    producer.begin_transaction().unwrap();
    producer.send(keyed.value(b"2".to_vec())).unwrap();
    producer.commit_transaction(T).unwrap();
    assert_eq!(values(&cluster, committed_reader(), "t"), ["2"]);
}

#[test]
fn a_transaction_open_at_a_crash_is_aborted_when_the_cluster_opens() {
    let sim = SimStorage::new(std::path::Path::new(common::SIM_ROOT));
    let cluster = common::open_sim(&sim).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    send(&producer, "t", "in flight");
    producer.flush(T).unwrap();
    cluster.partition("t", 0).unwrap().sync().unwrap();
    // A crash (a process kill: what was written survives, nothing is closed).
    let after = sim.after_power_loss(PowerLoss::KeepAll, 0);
    drop(producer);

    let cluster = common::open_sim(&after).unwrap();
    let report = &cluster.recovery_report().transactions;
    assert_eq!(report.len(), 1, "{report:?}");
    assert!(report[0].contains("'tx'"), "{report:?}");
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), 2, "the record and the ABORT marker");
    assert_eq!(log.last_stable_offset(), 2);
    assert!(values(&cluster, committed_reader(), "t").is_empty());
    let state = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(state.state, TransactionState::CompleteAbort);
    // The coordinator's state survived: a new producer continues the epochs.
    let producer = cluster.producer(transactional("tx")).unwrap();
    producer.init_transactions(T).unwrap();
    let next = cluster.describe_transaction("tx").unwrap().unwrap();
    assert_eq!(next.producer_id, state.producer_id);
    assert_eq!(next.producer_epoch, state.producer_epoch + 1);
    let listed = cluster.list_transactions().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].transactional_id, "tx");
}

#[test]
fn a_transactions_batch_goes_to_an_idle_appender_before_the_commit() {
    let cluster = common::cluster_with(NewTopic::new("t", 1));
    // Without the commit or linger.ms to seal it, a batch holding a quarter of batch.size
    // is written at once while the appender is idle, but only in a transaction.
    let config = |c: ProducerConfig| c.batch_size(1024).linger(Duration::from_secs(3600));
    let value = "v".repeat(300);
    let plain = cluster.producer(config(ProducerConfig::new())).unwrap();
    let mut lingering = plain
        .send(ProducerRecord::to("t").value(value.clone()))
        .unwrap();
    let producer = cluster.producer(config(transactional("early"))).unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    let mut early = producer
        .send(ProducerRecord::to("t").value(value.clone()))
        .unwrap();
    let written = early.wait_timeout(T).expect("written before the commit");
    assert_eq!(written.unwrap().offset, 0);
    assert!(lingering.try_get().is_none(), "a plain batch lingers");
    assert!(values(&cluster, committed_reader(), "t").is_empty());
    producer.commit_transaction(T).unwrap();
    plain.flush(T).unwrap();
    assert_eq!(
        values(&cluster, committed_reader(), "t"),
        [value.clone(), value]
    );
}
