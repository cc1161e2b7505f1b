//! `kafkalite::rdkafka` behaving as rust-rdkafka over librdkafka does: configuration checked
//! with librdkafka's messages (from its `rdkafka_conf.c`), calls in states librdkafka rejects,
//! delivery reports, end-of-partition events, rebalance callbacks that commit, and a
//! transactional consume-transform-produce loop.
#![cfg(not(loom))]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::facade::{cluster_with, config, take};
use kafkalite::rdkafka;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaConfRes;
use rdkafka::{Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(10);

fn produce(servers: &str, topic: &str, partition: i32, payloads: &[&str]) {
    let producer: BaseProducer = config(servers).create().unwrap();
    for payload in payloads {
        producer
            .send(
                BaseRecord::<(), str>::to(topic)
                    .partition(partition)
                    .payload(*payload),
            )
            .unwrap();
    }
    producer.flush(WAIT).unwrap();
}

fn config_error(result: Result<BaseProducer, KafkaError>) -> (RDKafkaConfRes, String) {
    match result {
        Err(KafkaError::ClientConfig(res, message, _, _)) => (res, message),
        Err(other) => panic!("not a configuration error: {other}"),
        Ok(_) => panic!("the configuration was accepted"),
    }
}

#[test]
fn configuration_is_checked_with_librdkafkas_messages() {
    let (_cluster, servers) = cluster_with(&[]);
    let (res, message) = config_error(config(&servers).set("no.such.property", "1").create());
    assert_eq!(res, RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN);
    assert_eq!(
        message,
        "No such configuration property: \"no.such.property\""
    );

    let (res, message) = config_error(config(&servers).set("enable.idempotence", "maybe").create());
    assert_eq!(res, RDKafkaConfRes::RD_KAFKA_CONF_INVALID);
    assert_eq!(
        message,
        "Expected bool value for \"enable.idempotence\": true or false"
    );

    let (_, message) = config_error(config(&servers).set("linger.ms", "-3").create());
    assert_eq!(
        message,
        "Configuration property \"linger.ms\" value -3 is outside allowed range 0..900000\n"
    );
    let (_, message) = config_error(config(&servers).set("batch.num.messages", "0").create());
    assert_eq!(
        message,
        "Configuration property \"batch.num.messages\" value 0 is outside allowed range 1..1000000\n"
    );

    let (_, message) = config_error(config(&servers).set("compression.codec", "brotli").create());
    assert_eq!(
        message,
        "Invalid value \"brotli\" for configuration property \"compression.codec\""
    );

    // Keys that only matter on a network are accepted (and ignored).
    let _: BaseProducer = config(&servers)
        .set("security.protocol", "SASL_SSL")
        .set("sasl.mechanisms", "PLAIN")
        .set("socket.keepalive.enable", "true")
        .set("acks", "all")
        .create()
        .expect("network settings are accepted");

    // librdkafka reads enumerations and flag lists in any case.
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "g")
        .set("auto.offset.reset", "Earliest")
        .set("isolation.level", "READ_UNCOMMITTED")
        .create()
        .expect("enumerations in any case");
    drop(consumer);
    let _: BaseProducer = config(&servers)
        .set("compression.codec", "LZ4")
        .create()
        .expect("enumerations in any case");
}

#[test]
fn bootstrap_servers_must_name_a_cluster() {
    let missing = ClientConfig::new().create::<BaseProducer>();
    assert!(matches!(missing, Err(KafkaError::ClientCreation(_))));

    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("not-there");
    let created = config(gone.to_str().unwrap()).create::<BaseProducer>();
    match created {
        Err(KafkaError::ClientCreation(message)) => {
            assert!(message.contains("not a directory"), "{message}")
        }
        _ => panic!("a missing directory is refused"),
    }
    assert!(!gone.exists(), "nothing was created");

    // A directory a cluster of this test holds: reached through bootstrap_servers only.
    let held = kafkalite::Cluster::open(dir.path()).unwrap();
    let locked = config(dir.path().to_str().unwrap()).create::<BaseProducer>();
    match locked {
        Err(KafkaError::ClientCreation(message)) => {
            assert!(message.contains("bootstrap_servers"), "{message}")
        }
        _ => panic!("a locked directory is refused"),
    }
    let _: BaseProducer = config(&rdkafka::bootstrap_servers(&held)).create().unwrap();
}

#[test]
fn consumer_calls_in_states_librdkafka_rejects() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    let consumer: BaseConsumer = config(&servers).set("group.id", "g").create().unwrap();
    assert_eq!(
        consumer.commit_consumer_state(CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)),
        "nothing assigned, nothing to commit"
    );
    assert!(matches!(
        consumer.seek("t", 0, Offset::Beginning, WAIT),
        Err(KafkaError::Seek(_))
    ));
    // rd_kafka_offsets_store refuses a list under enable.auto.offset.store (on by default);
    // rd_kafka_offset_store does not check it.
    let mut list = TopicPartitionList::new();
    list.add_partition_offset("t", 0, Offset::Offset(5))
        .unwrap();
    assert_eq!(
        consumer.store_offsets(&list),
        Err(KafkaError::StoreOffset(RDKafkaErrorCode::InvalidArgument))
    );
    let manual: BaseConsumer = config(&servers)
        .set("group.id", "g")
        .set("enable.auto.offset.store", "false")
        .create()
        .unwrap();
    let mut only_0 = TopicPartitionList::new();
    only_0
        .add_partition_offset("t", 0, Offset::Beginning)
        .unwrap();
    manual.assign(&only_0).unwrap();
    // rd_kafka_offset_store0: a partition not assigned is _STATE.
    assert_eq!(
        manual.store_offset("t", 1, 5),
        Err(KafkaError::StoreOffset(RDKafkaErrorCode::State))
    );
    // rd_kafka_offsets_store: each element on its own, an error only if none was stored.
    let mut mixed = TopicPartitionList::new();
    mixed
        .add_partition_offset("t", 0, Offset::Offset(4))
        .unwrap();
    mixed
        .add_partition_offset("t", 1, Offset::Offset(4))
        .unwrap();
    manual.store_offsets(&mixed).unwrap();
    assert!(mixed.find_partition("t", 0).unwrap().error().is_ok());
    assert!(mixed.find_partition("t", 1).unwrap().error().is_err());
    assert!(consumer.poll(Duration::ZERO).is_none());
}

#[test]
fn transactional_calls_need_a_transactional_id_and_init() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    let plain: BaseProducer = config(&servers).create().unwrap();
    match plain.begin_transaction() {
        Err(KafkaError::Transaction(error)) => {
            assert_eq!(error.code(), RDKafkaErrorCode::NotConfigured)
        }
        other => panic!("{other:?}"),
    }
    let transactional: BaseProducer = config(&servers)
        .set("transactional.id", "tx")
        .create()
        .unwrap();
    match transactional.begin_transaction() {
        Err(KafkaError::Transaction(error)) => {
            assert_eq!(error.code(), RDKafkaErrorCode::State);
            assert!(!error.is_fatal());
        }
        other => panic!("{other:?}"),
    }
    // librdkafka's rd_kafka_check_produce: no producing outside a transaction.
    let send = |producer: &BaseProducer| {
        let record = BaseRecord::<(), str>::to("t").partition(0).payload("x");
        match producer.send(record) {
            Err((KafkaError::MessageProduction(code), _)) => code,
            other => panic!("{:?}", other.map_err(|(e, _)| e)),
        }
    };
    assert_eq!(send(&transactional), RDKafkaErrorCode::State);
    transactional.init_transactions(WAIT).unwrap();
    assert_eq!(send(&transactional), RDKafkaErrorCode::State);
    transactional.begin_transaction().unwrap();
    let record = BaseRecord::<(), str>::to("t").partition(0).payload("in");
    transactional.send(record).map_err(|(e, _)| e).unwrap();
    transactional.flush(WAIT).unwrap();
    // A newer instance fences it: librdkafka normalizes either fencing error to _FENCED,
    // fatal, and refuses to produce with _FATAL.
    let newer: BaseProducer = config(&servers)
        .set("transactional.id", "tx")
        .create()
        .unwrap();
    newer.init_transactions(WAIT).unwrap();
    match transactional.commit_transaction(WAIT) {
        Err(KafkaError::Transaction(error)) => {
            assert_eq!(error.code(), RDKafkaErrorCode::Fenced);
            assert!(error.is_fatal());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(send(&transactional), RDKafkaErrorCode::Fatal);
}

/// A delivery report as served: the opaque, then where the message landed or the error.
type Served = (usize, Result<(i32, i64), RDKafkaErrorCode>);

/// Records the delivery reports it is served.
#[derive(Default)]
struct Reports {
    served: Mutex<Vec<Served>>,
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let outcome = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((error, _)) => Err(error.rdkafka_error_code().unwrap()),
        };
        self.served.lock().unwrap().push((opaque, outcome));
    }
}

#[test]
fn delivery_reports_are_served_by_poll_with_their_opaque() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    let producer: BaseProducer<Reports> = config(&servers)
        .set("queue.buffering.max.messages", "3")
        .create_with_context(Reports::default())
        .unwrap();
    for i in 0..3 {
        producer
            .send(
                BaseRecord::<(), str, usize>::with_opaque_to("t", i)
                    .partition(1)
                    .payload("x"),
            )
            .unwrap();
    }
    // librdkafka counts a message until its report is served: the queue is full.
    let (error, refused) = producer
        .send(BaseRecord::<(), str, usize>::with_opaque_to("t", 3).payload("x"))
        .unwrap_err();
    assert_eq!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
    );
    assert_eq!(refused.delivery_opaque, 3, "the record comes back");
    assert!(
        producer.context().served.lock().unwrap().is_empty(),
        "nothing served before poll"
    );
    producer.flush(WAIT).unwrap();
    assert_eq!(producer.in_flight_count(), 0);
    let served = producer.context().served.lock().unwrap().clone();
    assert_eq!(
        served,
        vec![(0, Ok((1, 0))), (1, Ok((1, 1))), (2, Ok((1, 2)))]
    );

    let (error, _) = producer
        .send(
            BaseRecord::<(), str, usize>::with_opaque_to("t", 9)
                .partition(7)
                .payload("x"),
        )
        .unwrap_err();
    assert_eq!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::UnknownPartition)
    );
}

#[test]
fn partition_eof_and_offset_tail_as_librdkafka() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, "t", 0, &["a", "b", "c"]);
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "tail")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("t", 0, Offset::OffsetTail(2))
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut seen = Vec::new();
    loop {
        match consumer.poll(WAIT).expect("an event within the wait") {
            Ok(message) => seen.push(message.payload_view::<str>().unwrap().unwrap().to_string()),
            Err(KafkaError::PartitionEOF(partition)) => {
                assert_eq!(partition, 0);
                break;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(seen, ["b", "c"], "OffsetTail(2): the last two");
    let position = consumer.position().unwrap();
    assert_eq!(
        position.find_partition("t", 0).unwrap().offset(),
        Offset::Offset(3)
    );
}

/// Commits what it stored when its partitions are revoked, as rdkafka users do in
/// `pre_rebalance`.
#[derive(Default)]
struct CommitOnRevoke {
    log: Mutex<Vec<String>>,
}

impl ClientContext for CommitOnRevoke {}

impl ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let committed = consumer.commit_consumer_state(CommitMode::Sync);
            self.log
                .lock()
                .unwrap()
                .push(format!("revoke {} -> {committed:?}", tpl.count()));
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance) {
        if let Rebalance::Assign(tpl) = rebalance {
            let assigned = consumer.assignment().unwrap().count();
            self.log
                .lock()
                .unwrap()
                .push(format!("assign {} (now {assigned})", tpl.count()));
        }
    }
}

#[test]
fn a_revoke_callback_commits_and_the_next_owner_resumes_there() {
    let (_cluster, servers) = cluster_with(&[("jobs", 1)]);
    produce(&servers, "jobs", 0, &["j0", "j1", "j2", "j3", "j4"]);
    let group = |auto_commit: &str| {
        let mut c = config(&servers);
        c.set("group.id", "workers")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", auto_commit);
        c
    };
    let first: BaseConsumer<CommitOnRevoke> = group("false")
        .create_with_context(CommitOnRevoke::default())
        .unwrap();
    first.subscribe(&["jobs"]).unwrap();
    let mut taken = Vec::new();
    while taken.len() < 2 {
        if let Some(message) = first.poll(WAIT) {
            taken.push(
                message
                    .unwrap()
                    .payload_view::<str>()
                    .unwrap()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    // Leaving the group revokes the partition at the next poll, where librdkafka serves the
    // rebalance: the callback commits the two handed out.
    first.unsubscribe();
    assert_eq!(*first.context().log.lock().unwrap(), ["assign 1 (now 1)"]);
    assert!(
        first.poll(Duration::ZERO).is_none(),
        "a rebalance was served"
    );
    let log = first.context().log.lock().unwrap().clone();
    assert_eq!(log, ["assign 1 (now 1)", "revoke 1 -> Ok(())"]);
    assert_eq!(
        first.commit_consumer_state(CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)),
        "nothing assigned any more"
    );
    drop(first);

    let second: BaseConsumer = group("false").create().unwrap();
    second.subscribe(&["jobs"]).unwrap();
    let next = loop {
        if let Some(message) = second.poll(WAIT) {
            break message
                .unwrap()
                .payload_view::<str>()
                .unwrap()
                .unwrap()
                .to_string();
        }
    };
    assert_eq!(taken, ["j0", "j1"]);
    assert_eq!(
        next, "j2",
        "the second member resumes after what the first committed"
    );
}

#[test]
fn consume_transform_produce_in_transactions() {
    let (_cluster, servers) = cluster_with(&[("in", 1), ("out", 1)]);
    produce(&servers, "in", 0, &["a", "b", "c", "d"]);
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "upper")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["in"]).unwrap();
    let producer: BaseProducer = config(&servers)
        .set("transactional.id", "upper-1")
        .create()
        .unwrap();
    producer.init_transactions(WAIT).unwrap();
    let mut done = 0;
    while done < 4 {
        producer.begin_transaction().unwrap();
        let mut batch = 0;
        while batch < 2 {
            let Some(message) = consumer.poll(WAIT) else {
                continue;
            };
            let message = message.unwrap();
            let upper = message
                .payload_view::<str>()
                .unwrap()
                .unwrap()
                .to_uppercase();
            producer
                .send(BaseRecord::<(), str>::to("out").payload(&upper))
                .map_err(|(error, _)| error)
                .unwrap();
            batch += 1;
        }
        let position = consumer.position().unwrap();
        producer
            .send_offsets_to_transaction(&position, &consumer.group_metadata().unwrap(), WAIT)
            .unwrap();
        producer.commit_transaction(WAIT).unwrap();
        done += batch;
    }
    // A transaction that aborts leaves nothing a read_committed consumer sees.
    producer.begin_transaction().unwrap();
    producer
        .send(BaseRecord::<(), str>::to("out").payload("JUNK"))
        .map_err(|(error, _)| error)
        .unwrap();
    // Written before the abort (librdkafka's abort purges what is still queued instead).
    producer.flush(WAIT).unwrap();
    producer.abort_transaction(WAIT).unwrap();

    let read = |isolation: &str| {
        let reader: BaseConsumer = config(&servers)
            .set("group.id", "readers")
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "true")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("out", 0, Offset::Beginning)
            .unwrap();
        reader.assign(&tpl).unwrap();
        let mut values = Vec::new();
        loop {
            match reader
                .poll(WAIT)
                .unwrap_or_else(|| panic!("an event ({isolation}, {values:?})"))
            {
                Ok(m) => values.push(m.payload_view::<str>().unwrap().unwrap().to_string()),
                Err(KafkaError::PartitionEOF(_)) => return values,
                Err(other) => panic!("{other}"),
            }
        }
    };
    assert_eq!(read("read_committed"), ["A", "B", "C", "D"]);
    assert_eq!(read("read_uncommitted"), ["A", "B", "C", "D", "JUNK"]);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("in", 0);
    let committed = consumer.committed_offsets(tpl, WAIT).unwrap();
    assert_eq!(
        committed.find_partition("in", 0).unwrap().offset(),
        Offset::Offset(4)
    );
}

/// librdkafka retries an offset pending in an open transaction until the call's timeout,
/// then answers `_TIMED_OUT` (not the consumer's `default.api.timeout.ms`).
#[test]
fn a_committed_offset_pending_in_a_transaction_waits_for_the_calls_timeout() {
    use kafkalite::{OffsetAndMetadata, Offsets, TopicPartition};
    let (cluster, servers) = cluster_with(&[("t", 1)]);
    let member = cluster
        .consumer(kafkalite::ConsumerConfig::with_group("g"))
        .unwrap();
    member.subscribe(&["t"]).unwrap();
    member.poll(Duration::ZERO).unwrap();
    let group = member.group_metadata().unwrap();
    let producer = cluster
        .producer(kafkalite::ProducerConfig::new().transactional_id("tx"))
        .unwrap();
    producer.init_transactions(WAIT).unwrap();
    producer.begin_transaction().unwrap();
    let offsets: Offsets = [(TopicPartition::new("t", 0), OffsetAndMetadata::new(1))]
        .into_iter()
        .collect();
    producer
        .send_offsets_to_transaction(&offsets, &group, WAIT)
        .unwrap();
    let consumer: BaseConsumer = config(&servers).set("group.id", "g").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("t", 0);
    match consumer.committed_offsets(tpl, Duration::from_millis(20)) {
        Err(KafkaError::MetadataFetch(code)) => {
            assert_eq!(code, RDKafkaErrorCode::OperationTimedOut);
        }
        other => panic!("{other:?}"),
    }
}

/// librdkafka's rd_kafka_toppar_seek: a seek resets the application position (#3567) until
/// a message is handed out, and OFFSET_STORED is no place to seek to.
#[test]
fn a_seek_leaves_the_position_unknown_until_a_message_is_read() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, "t", 0, &["a", "b", "c", "d", "e"]);
    let consumer: BaseConsumer = config(&servers).set("group.id", "g").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("t", 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let position = |consumer: &BaseConsumer| {
        let positions = consumer.position().unwrap();
        positions.find_partition("t", 0).unwrap().offset()
    };
    let next = |consumer: &BaseConsumer| consumer.poll(WAIT).unwrap().unwrap().offset();
    assert_eq!(next(&consumer), 0);
    assert_eq!(position(&consumer), Offset::Offset(1));
    consumer.seek("t", 0, Offset::Offset(3), WAIT).unwrap();
    assert_eq!(position(&consumer), Offset::Invalid);
    assert_eq!(next(&consumer), 3);
    assert_eq!(position(&consumer), Offset::Offset(4));
    match consumer.seek("t", 0, Offset::Stored, WAIT) {
        Err(KafkaError::Seek(message)) => {
            assert_eq!(message, "Local: Invalid argument or configuration");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(next(&consumer), 4, "the refused seek changed nothing");
}

/// librdkafka asks for watermarks and the latest offset with the client's
/// `isolation.level` (`read_committed` by default): the high end is the last stable offset
/// while a transaction is open.
#[test]
fn watermarks_end_at_the_last_stable_offset_under_read_committed() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    let producer: BaseProducer = config(&servers)
        .set("transactional.id", "tx")
        .create()
        .unwrap();
    producer.init_transactions(WAIT).unwrap();
    producer.begin_transaction().unwrap();
    producer
        .send(BaseRecord::<(), str>::to("t").partition(0).payload("open"))
        .unwrap();
    producer.flush(WAIT).unwrap();
    let consumer = |isolation: Option<&str>| -> BaseConsumer {
        let mut config = config(&servers);
        if let Some(isolation) = isolation {
            config.set("isolation.level", isolation);
        }
        config.create().unwrap()
    };
    let at = |consumer: &BaseConsumer, timestamp: Offset| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("t", 0, timestamp).unwrap();
        let found = consumer.offsets_for_times(tpl, WAIT).unwrap();
        found.find_partition("t", 0).unwrap().offset()
    };
    // `End` asks for the latest offset; a timestamp of 0, for the first record.
    let latest = |consumer: &BaseConsumer| at(consumer, Offset::End);
    let first = |consumer: &BaseConsumer| at(consumer, Offset::Offset(0));
    let committed = consumer(None);
    let uncommitted = consumer(Some("read_uncommitted"));
    assert_eq!(committed.fetch_watermarks("t", 0, WAIT).unwrap(), (0, 0));
    assert_eq!(latest(&committed), Offset::Offset(0));
    assert_eq!(uncommitted.fetch_watermarks("t", 0, WAIT).unwrap(), (0, 1));
    assert_eq!(latest(&uncommitted), Offset::Offset(1));
    // The open transaction's record is past what a read_committed consumer may read.
    assert_eq!(first(&committed), Offset::End);
    assert_eq!(first(&uncommitted), Offset::Offset(0));
    assert_eq!(
        producer.client().fetch_watermarks("t", 0, WAIT).unwrap(),
        (0, 0)
    );
    producer.commit_transaction(WAIT).unwrap();
    // The record and the COMMIT marker.
    assert_eq!(committed.fetch_watermarks("t", 0, WAIT).unwrap(), (0, 2));
}

/// Pauses every partition it is assigned, from `post_rebalance` (a common use; librdkafka
/// allows any consumer call there).
struct PauseOnAssign;

impl ClientContext for PauseOnAssign {}

impl ConsumerContext for PauseOnAssign {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance) {
        if let Rebalance::Assign(tpl) = rebalance {
            consumer.pause(tpl).unwrap();
        }
    }
}

/// Runs `body` on a thread and fails (instead of hanging) if it has not finished in a
/// minute: a deadlock shows as a failure.
fn within_a_minute(body: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => worker.join().unwrap(),
        Err(_) if worker.is_finished() => worker.join().unwrap(), // it panicked: re-raise
        Err(_) => panic!("still running after a minute: deadlocked"),
    }
}

#[test]
fn a_partition_paused_in_a_rebalance_callback_stays_paused_until_resumed() {
    let (cluster, servers) = cluster_with(&[("p", 1)]);
    produce(&servers, "p", 0, &["x"]);
    within_a_minute(move || {
        let consumer: BaseConsumer<PauseOnAssign> = config(&servers)
            .set("group.id", "pausers")
            .set("auto.offset.reset", "earliest")
            .create_with_context(PauseOnAssign)
            .unwrap();
        consumer.subscribe(&["p"]).unwrap();
        let mut polls = 0;
        while consumer.assignment().unwrap().count() == 0 {
            assert!(
                consumer.poll(Duration::from_millis(100)).is_none(),
                "paused at once"
            );
            polls += 1;
            assert!(polls < 600, "never assigned");
        }
        assert!(
            consumer.poll(Duration::from_millis(200)).is_none(),
            "still paused"
        );
        consumer.resume(&consumer.assignment().unwrap()).unwrap();
        let message = consumer.poll(WAIT).expect("resumed").unwrap();
        assert_eq!(message.payload_view::<str>(), Some(Ok("x")));
        drop(cluster);
    });
}

/// A stream consumer assigned `topic`'s `partitions` from the beginning, reporting ends.
fn reading_to_the_end(
    servers: &str,
    topic: &str,
    partitions: i32,
) -> rdkafka::consumer::StreamConsumer {
    let consumer: rdkafka::consumer::StreamConsumer = config(servers)
        .set("group.id", "readers")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for partition in 0..partitions {
        tpl.add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    consumer
}

#[test]
fn a_stream_consumer_reports_the_end_of_a_partition() {
    let (_cluster, servers) = cluster_with(&[("s", 1)]);
    produce(&servers, "s", 0, &["only"]);
    within_a_minute(move || {
        let consumer = reading_to_the_end(&servers, "s", 1);
        pollster::block_on(async {
            let first = consumer.recv().await.unwrap();
            assert_eq!(first.payload_view::<str>(), Some(Ok("only")));
            match consumer.recv().await {
                Err(KafkaError::PartitionEOF(0)) => {}
                other => panic!("expected the end of partition 0: {other:?}"),
            }
        });
    });
}

#[test]
fn stored_offsets_are_committed_only_when_ahead_of_the_committed_ones() {
    let (_cluster, servers) = cluster_with(&[("c", 1)]);
    produce(&servers, "c", 0, &["a", "b"]);
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "committers")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["c"]).unwrap();
    take(&consumer, 2);
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    // librdkafka (rd_kafka_cgrp_assigned_offsets_commit): stored 2, committed 2: nothing.
    assert_eq!(
        consumer.commit_consumer_state(CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))
    );
}

/// Counts the reports `delivery` started and finished. The last one, once started, waits
/// (up to a second) for the test to say its flush returned: a flush that returned before
/// that callback finished is then seen, whatever the threads' timing.
#[derive(Default)]
struct SlowCounter {
    started: std::sync::Mutex<usize>,
    started_changed: std::sync::Condvar,
    finished: std::sync::atomic::AtomicUsize,
    flushed: std::sync::Mutex<bool>,
    flushed_changed: std::sync::Condvar,
}

const REPORTS: usize = 200;

impl ClientContext for SlowCounter {}

impl ProducerContext for SlowCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {
        let last = {
            let mut started = self.started.lock().unwrap();
            *started += 1;
            self.started_changed.notify_all();
            *started == REPORTS
        };
        if last {
            let flushed = self.flushed.lock().unwrap();
            let _ = self
                .flushed_changed
                .wait_timeout_while(flushed, Duration::from_secs(1), |done| !*done)
                .unwrap();
        }
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn flush_returns_after_the_last_delivery_callback_has() {
    let (_cluster, servers) = cluster_with(&[("f", 1)]);
    let producer: rdkafka::producer::ThreadedProducer<SlowCounter> = config(&servers)
        .create_with_context(SlowCounter::default())
        .unwrap();
    for _ in 0..REPORTS {
        producer
            .send(BaseRecord::<(), str>::to("f").payload("x"))
            .map_err(|(error, _)| error)
            .unwrap();
    }
    // The polling thread has taken every report and is inside the last callback.
    let context = producer.context();
    let started = context.started.lock().unwrap();
    let (started, wait) = context
        .started_changed
        .wait_timeout_while(started, WAIT, |started| *started < REPORTS)
        .unwrap();
    assert!(!wait.timed_out(), "every report reached the polling thread");
    drop(started);
    producer.flush(WAIT).unwrap();
    let finished = context.finished.load(std::sync::atomic::Ordering::SeqCst);
    *context.flushed.lock().unwrap() = true;
    context.flushed_changed.notify_all();
    assert_eq!(finished, 200);
}

#[test]
fn keyless_messages_follow_librdkafkas_partitioner_rules() {
    let (cluster, servers) = cluster_with(&[("k-consistent", 5), ("k-fnv1a", 5)]);
    // `consistent` and `fnv1a` are random_partitioners in librdkafka (rdkafka_topic.c): a
    // null key is hashed as empty, every time: CRC-32 0, so partition 0; FNV-1a 0x7ee3623b
    // (rdfnv1a.c's table), so 0x7ee3623b % 5.
    for (partitioner, expected) in [("consistent", 0), ("fnv1a", 0x7ee3_623b_u32 % 5)] {
        let topic = format!("k-{partitioner}");
        let producer: BaseProducer = config(&servers)
            .set("partitioner", partitioner)
            .create()
            .unwrap();
        for _ in 0..6 {
            producer
                .send(BaseRecord::<(), str>::to(&topic).payload("x"))
                .map_err(|(error, _)| error)
                .unwrap();
        }
        producer.flush(WAIT).unwrap();
        let expected = i32::try_from(expected).unwrap();
        for partition in 0..5 {
            let count = cluster
                .partition(&topic, partition)
                .unwrap()
                .high_watermark();
            let want = if partition == expected { 6 } else { 0 };
            assert_eq!(count, want, "{partitioner}: partition {partition}");
        }
    }
}

#[test]
fn an_unsubscribe_takes_effect_before_a_later_assign() {
    let (_cluster, servers) = cluster_with(&[("u", 2)]);
    produce(&servers, "u", 1, &["one"]);
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "switchers")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["u"]).unwrap();
    for _ in 0..600 {
        if consumer.assignment().unwrap().count() > 0 {
            break;
        }
        let _ = consumer.poll(Duration::from_millis(100));
    }
    // librdkafka handles these in the order they were made: leave, then read partition 1.
    consumer.unsubscribe();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("u", 1, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    // A poll may first serve the commit the unsubscribe made (and return `None`, as
    // rdkafka's does after an event).
    let message = (0..2)
        .find_map(|_| consumer.poll(WAIT))
        .expect("a message")
        .unwrap();
    assert_eq!(
        (message.partition(), message.payload_view::<str>()),
        (1, Some(Ok("one")))
    );
    // A manual assignment is no subscription: unsubscribe leaves it in place.
    consumer.unsubscribe();
    assert!(consumer.poll(Duration::ZERO).is_none());
    assert_eq!(consumer.assignment().unwrap().count(), 1);
}

#[test]
fn a_stream_consumer_reports_every_partitions_end() {
    let (_cluster, servers) = cluster_with(&[("e", 2)]);
    within_a_minute(move || {
        let consumer = reading_to_the_end(&servers, "e", 2);
        let mut ends = Vec::new();
        pollster::block_on(async {
            for _ in 0..2 {
                match consumer.recv().await {
                    Err(KafkaError::PartitionEOF(partition)) => ends.push(partition),
                    other => panic!("expected an end: {other:?}"),
                }
            }
        });
        ends.sort_unstable();
        assert_eq!(ends, [0, 1]);
    });
}

/// Counts its wake-ups.
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn an_unsubscribe_wakes_a_pending_receive_which_serves_the_revocation() {
    use std::future::Future;
    use std::sync::atomic::Ordering::SeqCst;
    let (_cluster, servers) = cluster_with(&[("w", 1)]);
    let consumer: rdkafka::consumer::StreamConsumer<CommitOnRevoke> = config(&servers)
        .set("group.id", "waiters")
        .create_with_context(CommitOnRevoke::default())
        .unwrap();
    consumer.subscribe(&["w"]).unwrap();
    let counter = std::sync::Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
    let waker = std::task::Waker::from(std::sync::Arc::clone(&counter));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut receive = std::pin::pin!(consumer.recv());
    // Nothing to receive: it joins the group (the assignment callback runs) and waits.
    for _ in 0..600 {
        assert!(receive.as_mut().poll(&mut cx).is_pending());
        if !consumer.context().log.lock().unwrap().is_empty() {
            break;
        }
        std::thread::yield_now();
    }
    assert_eq!(
        *consumer.context().log.lock().unwrap(),
        ["assign 1 (now 1)"]
    );
    let before = counter.0.load(SeqCst);
    consumer.unsubscribe();
    assert!(
        counter.0.load(SeqCst) > before,
        "the pending receive was woken"
    );
    assert!(
        receive.as_mut().poll(&mut cx).is_pending(),
        "nothing to receive after leaving"
    );
    let log = consumer.context().log.lock().unwrap().clone();
    assert_eq!(log, ["assign 1 (now 1)", "revoke 1 -> Err(KafkaError (Consumer commit error: NoOffset (Local: No offset stored)))"]);
}
