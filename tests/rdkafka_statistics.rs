//! rust-rdkafka's statistics: with `statistics.interval.ms` set, librdkafka queues a JSON
//! snapshot every interval (rdkafka.c, `rd_kafka_stats_emit_all`), the application's poll
//! serves it to `ClientContext::stats_raw`, whose default decodes it for `stats`. The
//! expected figures follow librdkafka's definitions: `msg_cnt`/`msg_size` count messages
//! (payload bytes) until their delivery report is served, `msg_size_max` is
//! `queue.buffering.max.kbytes` in bytes, per-partition `txmsgs` are the delivered messages,
//! a consumer's lags are the end (the last stable offset under `read_committed`, else the
//! high watermark) less the committed (`consumer_lag`) or stored (`consumer_lag_stored`)
//! offset, -1 when unknown, and an unknown offset is -1001.
#![cfg(not(loom))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::facade::{cluster_on, config, list, take};
use kafkalite::rdkafka;
use kafkalite::MockClock;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, FutureProducer, FutureRecord, Producer,
    ProducerContext,
};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Message, Offset};

const WAIT: Duration = Duration::from_secs(10);

/// Keeps each `stats` call, and the partition of each message delivered.
#[derive(Default)]
struct Collected {
    stats: Mutex<Vec<Statistics>>,
    arrived: Condvar,
    delivered: Mutex<Vec<i32>>,
}

impl Collected {
    fn count(&self) -> usize {
        self.stats.lock().unwrap().len()
    }

    fn last(&self) -> Statistics {
        self.stats
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("statistics were emitted")
    }

    /// Waits (on the notification, up to `WAIT`) until `count` snapshots have arrived.
    fn wait_for(&self, count: usize) {
        let stats = self.stats.lock().unwrap();
        let (stats, _) = self
            .arrived
            .wait_timeout_while(stats, WAIT, |stats| stats.len() < count)
            .unwrap();
        assert_eq!(stats.len(), count, "statistics did not arrive");
    }
}

impl ClientContext for Collected {
    fn stats(&self, statistics: Statistics) {
        self.stats.lock().unwrap().push(statistics);
        self.arrived.notify_all();
    }
}

impl ConsumerContext for Collected {}

impl ProducerContext for Collected {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(message) = result {
            self.delivered.lock().unwrap().push(message.partition());
        }
    }
}

fn every_second(servers: &str) -> ClientConfig {
    let mut config = config(servers);
    config.set("statistics.interval.ms", "1000");
    config
}

/// A consumer of group "g" whose statistics come every second.
fn member<C, T>(servers: &str) -> T
where
    C: ConsumerContext + Default,
    T: FromClientConfigAndContext<C>,
{
    every_second(servers)
        .set("group.id", "g")
        .create_with_context(C::default())
        .unwrap()
}

fn producer(config: &ClientConfig) -> BaseProducer<Collected> {
    config.create_with_context(Collected::default()).unwrap()
}

fn send(producer: &BaseProducer<Collected>, key: &str, payload: &str) {
    producer
        .send(BaseRecord::<str, str>::to("t").key(key).payload(payload))
        .unwrap();
}

#[test]
fn no_statistics_are_emitted_without_an_interval() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let by_default = producer(&config(&servers));
    let zero = producer(config(&servers).set("statistics.interval.ms", "0"));
    let consumer: BaseConsumer<Collected> = config(&servers)
        .set("group.id", "g")
        .create_with_context(Collected::default())
        .unwrap();
    consumer
        .assign(&list(&[("t", 0, Offset::Beginning)]))
        .unwrap();
    for _ in 0..3 {
        clock.advance_ms(3_600_000);
        by_default.poll(Duration::ZERO);
        zero.poll(Duration::ZERO);
        assert!(consumer.poll(Duration::ZERO).is_none());
    }
    assert_eq!(by_default.context().count(), 0);
    assert_eq!(zero.context().count(), 0);
    assert_eq!(consumer.context().count(), 0);
}

#[test]
fn an_interval_out_of_librdkafkas_range_is_refused() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    for value in ["-1", "86400001", "often"] {
        let made = config(&servers)
            .set("statistics.interval.ms", value)
            .create::<BaseProducer>();
        match made {
            Err(rdkafka::error::KafkaError::ClientConfig(_, _, key, _)) => {
                assert_eq!(key, "statistics.interval.ms")
            }
            Err(other) => panic!("{value}: {other}"),
            Ok(_) => panic!("{value} was accepted"),
        }
    }
}

#[test]
fn statistics_follow_the_interval_on_the_clients_clock() {
    let clock = MockClock::new(1_700_000_000_000);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let producer = producer(every_second(&servers).set("client.id", "app"));
    let stats = producer.context();
    producer.poll(Duration::ZERO);
    clock.advance_ms(999);
    producer.poll(Duration::ZERO);
    assert_eq!(stats.count(), 0, "not due before the interval");
    clock.advance_ms(1);
    producer.poll(Duration::ZERO);
    producer.poll(Duration::ZERO);
    assert_eq!(stats.count(), 1, "one snapshot per interval");
    let first = stats.last();
    assert_eq!(first.client_type, "producer");
    assert_eq!(first.client_id, "app");
    assert!(
        first.name.starts_with("app#producer-"),
        "librdkafka's handle name: {}",
        first.name
    );
    assert_eq!(
        first.age, 1_000_000,
        "microseconds since the client was made"
    );
    assert_eq!(first.ts, 1_700_000_001_000_000);
    assert_eq!(first.time, 1_700_000_001);
    // Late polls get one snapshot; the timer keeps its schedule (due at 2 s, 3 s, 4 s).
    clock.advance_ms(2_500);
    producer.poll(Duration::ZERO);
    assert_eq!(stats.count(), 2);
    assert_eq!(stats.last().age, 3_500_000);
    clock.advance_ms(500);
    producer.poll(Duration::ZERO);
    assert_eq!(stats.count(), 3, "due again at 4 s, on the schedule");
    // Flushing serves the statistics too, as librdkafka's flush polls.
    clock.advance_ms(1_000);
    producer.flush(WAIT).unwrap();
    assert_eq!(stats.count(), 4);
}

#[test]
fn producer_statistics_count_messages_per_partition() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 3)]);
    let producer = producer(&every_second(&servers));
    let mut bytes = 0;
    for i in 0..30 {
        let (key, payload) = (format!("key-{i}"), format!("payload {}", "x".repeat(i)));
        bytes += key.len() + payload.len();
        send(&producer, &key, &payload);
    }
    producer.flush(WAIT).unwrap();
    clock.advance_ms(1_000);
    producer.poll(Duration::ZERO);
    let stats = producer.context().last();
    assert_eq!(
        (stats.msg_cnt, stats.msg_size),
        (0, 0),
        "every report was served"
    );
    assert_eq!(stats.msg_max, 100_000, "queue.buffering.max.messages");
    assert_eq!(
        stats.msg_size_max,
        1_048_576 * 1024,
        "queue.buffering.max.kbytes"
    );
    assert_eq!(stats.txmsgs, 30);
    assert_eq!(stats.txmsg_bytes, bytes as i64);
    assert!(stats.eos.is_none() && stats.cgrp.is_none());
    let topic = &stats.topics["t"];
    let ids: BTreeSet<i32> = topic.partitions.keys().copied().collect();
    assert_eq!(
        ids,
        BTreeSet::from([-1, 0, 1, 2]),
        "with the unassigned partition"
    );
    let mut delivered = BTreeMap::new();
    for partition in producer.context().delivered.lock().unwrap().iter() {
        *delivered.entry(*partition).or_insert(0u64) += 1;
    }
    for partition in 0..3 {
        let stats = &topic.partitions[&partition];
        let expected = delivered.get(&partition).copied().unwrap_or(0);
        assert_eq!(stats.txmsgs, expected, "partition {partition}");
        assert_eq!(stats.msgs, expected, "partition {partition}");
        assert_eq!(stats.msgq_cnt, 0);
        assert_eq!((stats.leader, stats.broker), (0, 0));
    }
    let unassigned = &topic.partitions[&-1];
    assert_eq!((unassigned.txmsgs, unassigned.leader), (0, -1));
    let broker = stats.brokers.values().next().expect("one broker");
    assert_eq!((stats.brokers.len(), broker.state.as_str()), (1, "UP"));
    let mut led: Vec<&str> = broker.toppars.keys().map(String::as_str).collect();
    led.sort_unstable();
    assert_eq!(led, ["t-0", "t-1", "t-2"]);
}

#[test]
fn messages_count_in_the_queue_until_their_report_is_served() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let producer = producer(&every_second(&servers));
    send(&producer, "a", "12345");
    send(&producer, "b", "123");
    clock.advance_ms(1_000);
    // The snapshot is taken before the poll serves the reports.
    producer.poll(Duration::ZERO);
    let stats = producer.context().last();
    assert_eq!((stats.msg_cnt, stats.msg_size), (2, 8));
    assert_eq!(stats.topics["t"].partitions[&0].msgs, 2);
    producer.flush(WAIT).unwrap();
    clock.advance_ms(1_000);
    producer.poll(Duration::ZERO);
    let stats = producer.context().last();
    assert_eq!((stats.msg_cnt, stats.msg_size), (0, 0));
    assert_eq!(stats.txmsgs, 2);
}

/// A context that keeps the JSON itself (and never calls `stats`).
#[derive(Default)]
struct Raw(Mutex<Vec<Vec<u8>>>);

impl ClientContext for Raw {
    fn stats_raw(&self, statistics: &[u8]) {
        self.0.lock().unwrap().push(statistics.to_vec());
    }
}

impl ConsumerContext for Raw {}

#[test]
fn stats_raw_gets_librdkafkas_json() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let consumer: BaseConsumer<Raw> = member(&servers);
    consumer
        .assign(&list(&[("t", 1, Offset::Beginning)]))
        .unwrap();
    let producer: BaseProducer<Raw> = every_second(&servers)
        .create_with_context(Raw::default())
        .unwrap();
    producer
        .send(BaseRecord::<(), str>::to("t").partition(0).payload("v"))
        .unwrap();
    producer.flush(WAIT).unwrap();
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    producer.poll(Duration::ZERO);
    let json = |raw: &Raw| -> serde_json::Value {
        let raw = raw.0.lock().unwrap();
        assert_eq!(raw.len(), 1);
        serde_json::from_slice(&raw[0]).unwrap()
    };
    let consumer = json(consumer.context());
    assert_eq!(consumer["type"], "consumer");
    assert_eq!(consumer["client_id"], "rdkafka");
    // Partitions keyed by their id as a string.
    assert_eq!(
        consumer["topics"]["t"]["partitions"]["1"]["fetch_state"],
        "active"
    );
    assert_eq!(
        consumer["topics"]["t"]["partitions"]["0"]["fetch_state"],
        "none"
    );
    assert_eq!(consumer["cgrp"]["state"], "up");
    assert!(consumer.get("eos").is_none());
    // Fields librdkafka writes that rdkafka's struct leaves out.
    let partition = &consumer["topics"]["t"]["partitions"]["1"];
    assert_eq!(partition["commited_offset"], partition["committed_offset"]);
    assert_eq!(partition["leader_epoch"], -1);
    let producer = json(producer.context());
    assert_eq!(producer["type"], "producer");
    assert_eq!(producer["topics"]["t"]["partitions"]["0"]["txmsgs"], 1);
    // Neither a group nor idempotence: librdkafka leaves both out.
    assert!(producer.get("cgrp").is_none() && producer.get("eos").is_none());
}

impl ProducerContext for Raw {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// Five messages in each of the two partitions of "t", then two more in partition 1 in a
/// transaction left open (its high watermark 7, its last stable offset 5).
fn with_an_open_transaction(servers: &str) -> BaseProducer {
    let plain: BaseProducer = config(servers).create().unwrap();
    for partition in 0..2 {
        for _ in 0..5 {
            plain
                .send(
                    BaseRecord::<(), str>::to("t")
                        .partition(partition)
                        .payload("v"),
                )
                .unwrap();
        }
    }
    plain.flush(WAIT).unwrap();
    let transactional: BaseProducer = config(servers)
        .set("transactional.id", "open")
        .create()
        .unwrap();
    transactional.init_transactions(WAIT).unwrap();
    transactional.begin_transaction().unwrap();
    for _ in 0..2 {
        transactional
            .send(BaseRecord::<(), str>::to("t").partition(1).payload("v"))
            .unwrap();
    }
    transactional.flush(WAIT).unwrap();
    transactional
}

/// A consumer of group "g" assigned both partitions of "t" from the beginning, with this
/// `isolation.level`, that has taken `count` messages, had partition 0's offset 2
/// committed, and paused.
fn reading(servers: &str, isolation: &str, count: usize) -> BaseConsumer<Collected> {
    let consumer: BaseConsumer<Collected> = every_second(servers)
        .set("group.id", "g")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create_with_context(Collected::default())
        .unwrap();
    let both = list(&[("t", 0, Offset::Beginning), ("t", 1, Offset::Beginning)]);
    consumer.assign(&both).unwrap();
    take(&consumer, count);
    consumer
        .commit(&list(&[("t", 0, Offset::Offset(2))]), CommitMode::Sync)
        .unwrap();
    consumer.pause(&both).unwrap();
    consumer
}

#[test]
fn consumer_statistics_show_offsets_and_librdkafkas_lags() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let _open = with_an_open_transaction(&servers);
    for (isolation, end_of_1) in [("read_committed", 5), ("read_uncommitted", 7)] {
        let consumer = reading(&servers, isolation, 3);
        let positions = consumer.position().unwrap();
        clock.advance_ms(1_000);
        assert!(consumer.poll(Duration::ZERO).is_none());
        let stats = consumer.context().last();
        assert_eq!(stats.client_type, "consumer");
        assert_eq!(stats.rxmsgs, 3, "{isolation}");
        let partitions = &stats.topics["t"].partitions;
        for (partition, end) in [(0, 5), (1, end_of_1)] {
            let p = &partitions[&partition];
            let position = match positions.find_partition("t", partition).unwrap().offset() {
                Offset::Offset(next) => next,
                _ => -1001,
            };
            let taken = u64::try_from(position).unwrap_or(0);
            assert_eq!((p.desired, p.fetch_state.as_str()), (true, "active"));
            assert_eq!(p.app_offset, position, "{isolation} {partition}");
            assert_eq!(p.stored_offset, position, "auto-stored at hand-out");
            assert_eq!((p.rxmsgs, p.msgs), (taken, taken));
            assert_eq!(p.lo_offset, 0);
            assert_eq!(p.hi_offset, if partition == 0 { 5 } else { 7 });
            assert_eq!(p.ls_offset, 5);
            let expected_lag = if position < 0 { -1 } else { end - position };
            assert_eq!(
                p.consumer_lag_stored, expected_lag,
                "{isolation} {partition}"
            );
        }
        assert_eq!(partitions[&0].committed_offset, 2);
        assert_eq!(partitions[&0].consumer_lag, 3);
        assert_eq!(partitions[&1].committed_offset, -1001);
        assert_eq!(partitions[&1].consumer_lag, -1, "nothing committed");
        let group = stats.cgrp.expect("a group.id");
        assert_eq!(
            (group.state.as_str(), group.join_state.as_str()),
            ("up", "init")
        );
        assert_eq!((group.assignment_size, group.rebalance_cnt), (0, 0));
    }
}

#[test]
fn the_group_statistics_count_rebalances() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 2)]);
    let consumer: BaseConsumer<Collected> = member(&servers);
    consumer.subscribe(&["t"]).unwrap();
    while consumer.assignment().unwrap().count() < 2 {
        assert!(consumer.poll(WAIT).is_none(), "the topic is empty");
    }
    clock.advance_ms(1_250);
    assert!(consumer.poll(Duration::ZERO).is_none());
    let group = consumer.context().last().cgrp.expect("a group.id");
    assert_eq!(group.join_state, "steady");
    assert_eq!(group.assignment_size, 2);
    assert_eq!(group.rebalance_cnt, 1, "one assignment");
    assert_eq!(group.rebalance_reason, "partitions assigned");
    assert_eq!(group.rebalance_age, 1_250);
    let producer = producer(&config(&servers));
    send(&producer, "k", "v");
    producer.flush(WAIT).unwrap();
    while consumer.poll(WAIT).is_none() {}
    consumer.unsubscribe();
    assert!(consumer.poll(Duration::ZERO).is_none());
    clock.advance_ms(1_000);
    assert!(consumer.poll(Duration::ZERO).is_none());
    let stats = consumer.context().last();
    let group = stats.cgrp.expect("a group.id");
    assert_eq!(
        (group.join_state.as_str(), group.assignment_size),
        ("init", 0)
    );
    assert_eq!(group.rebalance_cnt, 2, "and one revocation");
    assert_eq!(group.rebalance_reason, "partitions revoked");
    // The topic read from stays listed (librdkafka keeps its handle), so the totals do
    // not go down; none of its partitions is wanted now.
    assert_eq!(stats.rxmsgs, 1);
    let partitions = stats.topics["t"].partitions.values();
    assert!(partitions
        .clone()
        .all(|p| !p.desired && p.fetch_state == "none"));
    assert_eq!(partitions.map(|p| p.rxmsgs).sum::<u64>(), 1);
}

#[test]
fn an_idempotent_producer_shows_its_id_and_a_transactional_one_its_state() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let idempotent = producer(every_second(&servers).set("enable.idempotence", "true"));
    clock.advance_ms(1_000);
    idempotent.poll(Duration::ZERO);
    let eos = idempotent.context().last().eos.expect("idempotent");
    assert_eq!(
        (eos.idemp_state.as_str(), eos.txn_state.as_str()),
        ("Assigned", "Init")
    );
    assert!(eos.producer_id >= 0);
    assert_eq!((eos.producer_epoch, eos.epoch_cnt), (0, 1));

    let transactional = producer(every_second(&servers).set("transactional.id", "tx"));
    let eos_now = |expected: usize| {
        clock.advance_ms(1_000);
        transactional.poll(Duration::ZERO);
        assert_eq!(transactional.context().count(), expected);
        transactional.context().last().eos.expect("transactional")
    };
    let eos = eos_now(1);
    assert_eq!(
        (eos.idemp_state.as_str(), eos.txn_state.as_str()),
        ("Init", "Init")
    );
    assert_eq!((eos.producer_id, eos.epoch_cnt), (-1, 0));
    transactional.init_transactions(WAIT).unwrap();
    let eos = eos_now(2);
    assert_eq!(
        (eos.idemp_state.as_str(), eos.txn_state.as_str()),
        ("Assigned", "Ready")
    );
    assert_eq!(eos.epoch_cnt, 1);
    assert!(!eos.txn_may_enq);
    transactional.begin_transaction().unwrap();
    let eos = eos_now(3);
    assert_eq!(eos.txn_state, "InTransaction");
    assert!(eos.txn_may_enq);
}

/// A context handing its statistics to a [`Collected`] the test keeps (a future producer's
/// own context wraps the application's).
struct Forward(Arc<Collected>);

impl ClientContext for Forward {
    fn stats(&self, statistics: Statistics) {
        self.0.stats(statistics);
    }
}

#[test]
fn a_future_producers_polling_thread_emits_to_the_wrapped_context() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let collected = Arc::new(Collected::default());
    let producer: FutureProducer<Forward> = every_second(&servers)
        // (Nothing lingers on a clock that moves only when told.)
        .set("linger.ms", "0")
        .create_with_context(Forward(Arc::clone(&collected)))
        .unwrap();
    let delivered = pollster::block_on(producer.send(
        FutureRecord::<str, str>::to("t").key("k").payload("v"),
        WAIT,
    ));
    assert!(delivered.is_ok());
    clock.advance_ms(1_000);
    collected.wait_for(1);
    assert_eq!(collected.last().txmsgs, 1);
}

#[test]
fn a_stream_consumers_receive_emits_them() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let producer = producer(&config(&servers));
    send(&producer, "k", "v");
    producer.flush(WAIT).unwrap();
    let consumer: StreamConsumer<Collected> = member(&servers);
    consumer
        .assign(&list(&[("t", 0, Offset::Beginning)]))
        .unwrap();
    clock.advance_ms(1_000);
    let message = pollster::block_on(consumer.recv()).unwrap();
    assert_eq!(message.offset(), 0);
    assert_eq!(
        consumer.context().count(),
        1,
        "emitted as the receive began"
    );
    clock.advance_ms(1_000);
    send(&producer, "k", "v");
    producer.flush(WAIT).unwrap();
    pollster::block_on(consumer.recv()).unwrap();
    let stats = consumer.context().last();
    assert_eq!(
        stats.topics["t"].partitions[&0].rxmsgs, 1,
        "taken before the second"
    );
}

/// A commit refused for one partition (its topic deleted) records nothing as committed,
/// though the broker kept the others' offsets (librdkafka's
/// `rd_kafka_cgrp_update_committed_offsets` gives every partition the error).
#[test]
fn a_partly_refused_commit_shows_nothing_committed() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 1), ("u", 1)]);
    let plain: BaseProducer = config(&servers).create().unwrap();
    for topic in ["t", "u"] {
        plain
            .send(BaseRecord::<(), str>::to(topic).payload("v"))
            .unwrap();
    }
    plain.flush(WAIT).unwrap();
    let consumer: BaseConsumer<Collected> = member(&servers);
    consumer
        .assign(&list(&[
            ("t", 0, Offset::Beginning),
            ("u", 0, Offset::Beginning),
        ]))
        .unwrap();
    take(&consumer, 2);
    cluster.delete_topic("u").unwrap();
    let both = list(&[("t", 0, Offset::Offset(1)), ("u", 0, Offset::Offset(1))]);
    match consumer.commit(&both, CommitMode::Sync) {
        Err(error) => assert_eq!(
            error.rdkafka_error_code(),
            Some(rdkafka::error::RDKafkaErrorCode::UnknownTopicOrPartition)
        ),
        Ok(()) => panic!("the deleted topic's offset was committed"),
    }
    clock.advance_ms(1_000);
    let _ = consumer.poll(Duration::ZERO);
    let t0 = &consumer.context().last().topics["t"].partitions[&0];
    assert_eq!((t0.committed_offset, t0.consumer_lag), (-1001, -1));
    assert_eq!((t0.stored_offset, t0.consumer_lag_stored), (1, 0));
}

/// A message refused at `send` is never counted; one whose delivery failed counts as
/// enqueued (`msgs`), not delivered (`txmsgs`).
#[test]
fn refused_and_failed_messages_do_not_count_as_delivered() {
    let clock = MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let producer = producer(every_second(&servers).set("message.max.bytes", "1000"));
    let too_large = "x".repeat(2_000);
    let refused = producer.send(BaseRecord::<str, str>::to("t").key("k").payload(&too_large));
    assert!(refused.is_err(), "larger than message.max.bytes");
    let _fault = cluster
        .testing()
        .faults()
        .on(kafkalite::testing::Op::Produce)
        .topic("t")
        .fail_next(1, kafkalite::ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    send(&producer, "a", "failed");
    producer.flush(WAIT).unwrap();
    send(&producer, "b", "delivered");
    producer.flush(WAIT).unwrap();
    assert_eq!(producer.context().delivered.lock().unwrap().len(), 1);
    clock.advance_ms(1_000);
    producer.poll(Duration::ZERO);
    let stats = producer.context().last();
    let partition = &stats.topics["t"].partitions[&0];
    assert_eq!((partition.msgs, partition.txmsgs), (2, 1));
    assert_eq!((partition.msgq_cnt, partition.msgq_bytes), (0, 0));
    assert_eq!(partition.txbytes, ("b".len() + "delivered".len()) as u64);
    assert_eq!(stats.txmsgs, 1);
}
