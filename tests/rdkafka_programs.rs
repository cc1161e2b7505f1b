//! Programs written the way rust-rdkafka's shipped examples use its API (`simple_producer`,
//! `simple_consumer`, `at_least_once`, `asynchronous_processing`, `metadata`, `roundtrip`,
//! `runtime_smol`), run against `kafkalite::rdkafka` with only the import changed, each
//! checked for its documented result. Expected partitions come from librdkafka's
//! `consistent_random` partitioner (CRC-32 of the key), computed here independently.
#![cfg(not(loom))]

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use common::facade::{cluster_with, config};
use futures_core::Stream;
use kafkalite::rdkafka;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::stream_consumer::StreamConsumer;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::util::{get_rdkafka_version, AsyncRuntime, Timeout};

/// CRC-32 (IEEE), bit by bit: librdkafka's `rd_crc32`, which its default partitioner takes
/// modulo the partition count.
fn crc32_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn librdkafka_partition(key: &str, partitions: u32) -> i32 {
    (crc32_bitwise(key.as_bytes()) % partitions) as i32
}

// simple_producer: a FutureProducer sends keyed messages with headers and awaits each
// delivery; every delivery reports the partition librdkafka's partitioner picks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_producer_delivers_each_message_where_librdkafka_would() {
    let (_cluster, servers) = cluster_with(&[("simple", 3)]);
    let producer: FutureProducer = config(&servers)
        .set("message.timeout.ms", "5000")
        .create()
        .expect("Producer creation error");
    let mut deliveries = Vec::new();
    for i in 0..5 {
        let key = format!("Key {i}");
        let delivery = producer
            .send(
                FutureRecord::to("simple")
                    .payload(&format!("Message {i}"))
                    .key(&key)
                    .headers(OwnedHeaders::new().insert(Header {
                        key: "header_key",
                        value: Some("header_value"),
                    })),
                Duration::from_secs(0),
            )
            .await;
        deliveries.push((key, delivery));
    }
    let mut next_offset = BTreeMap::new();
    for (key, delivery) in deliveries {
        let delivery = delivery.expect("delivered");
        assert_eq!(delivery.partition, librdkafka_partition(&key, 3), "{key}");
        let expected = next_offset.entry(delivery.partition).or_insert(0);
        assert_eq!(delivery.offset, *expected, "{key}");
        *expected += 1;
    }
    let (_, version) = get_rdkafka_version();
    assert!(!version.is_empty());
}

/// simple_consumer's context: logs (here: records) every rebalance and commit.
#[derive(Default)]
struct CustomContext {
    events: Mutex<Vec<String>>,
}

impl ClientContext for CustomContext {}

impl ConsumerContext for CustomContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance) {
        self.events
            .lock()
            .unwrap()
            .push(format!("pre {}", describe(rebalance)));
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance) {
        let assigned = consumer.assignment().unwrap().count();
        self.events.lock().unwrap().push(format!(
            "post {} ({assigned} assigned)",
            describe(rebalance)
        ));
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        self.events
            .lock()
            .unwrap()
            .push(format!("commit {:?} {}", result, offsets.count()));
    }
}

fn describe(rebalance: &Rebalance) -> String {
    match rebalance {
        Rebalance::Assign(tpl) => format!("assign {}", tpl.count()),
        Rebalance::Revoke(tpl) => format!("revoke {}", tpl.count()),
        Rebalance::Error(error) => format!("error {error}"),
    }
}

// simple_consumer: a StreamConsumer with a logging context subscribes, receives every
// message with its headers, and commits each one asynchronously.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_consumer_receives_everything_and_hears_of_its_rebalance() {
    let (cluster, servers) = cluster_with(&[("events", 2)]);
    let producer: FutureProducer = config(&servers).create().unwrap();
    for i in 0..6 {
        producer
            .send(
                FutureRecord::to("events")
                    .key(&format!("k{i}"))
                    .payload(&format!("v{i}"))
                    .headers(OwnedHeaders::new().insert(Header {
                        key: "n",
                        value: Some(&i.to_string()),
                    })),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
    }
    let consumer: StreamConsumer<CustomContext> = config(&servers)
        .set("group.id", "printers")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "6000")
        .set("enable.auto.commit", "true")
        .set("auto.offset.reset", "earliest")
        .set_log_level(RDKafkaLogLevel::Debug)
        .create_with_context(CustomContext::default())
        .expect("Consumer creation failed");
    consumer.subscribe(&["events"]).unwrap();
    let mut seen = BTreeMap::new();
    while seen.len() < 6 {
        let m = consumer.recv().await.expect("a message");
        let payload = m.payload_view::<str>().unwrap().unwrap().to_string();
        let headers = m.headers().expect("headers");
        let header = headers.get(0);
        assert_eq!(header.key, "n");
        assert_eq!(
            format!("v{}", std::str::from_utf8(header.value.unwrap()).unwrap()),
            payload
        );
        seen.insert(payload, (m.partition(), m.offset()));
        consumer.commit_message(&m, CommitMode::Async).unwrap();
    }
    let events = consumer.context().events.lock().unwrap().clone();
    assert_eq!(
        events[..2],
        [
            "pre assign 2".to_string(),
            "post assign 2 (2 assigned)".to_string()
        ],
        "{events:?}"
    );
    // Both partitions' last messages are committed (each commit is the offset + 1).
    let committed = consumer.committed(Duration::from_secs(5)).unwrap();
    assert_eq!(committed.count(), 2, "both partitions are assigned");
    for elem in committed.elements() {
        let (_, last) = seen
            .values()
            .filter(|(p, _)| *p == elem.partition())
            .max()
            .copied()
            .unwrap();
        assert_eq!(elem.offset(), rdkafka::Offset::Offset(last + 1));
    }
    drop(consumer);
    drop(cluster);
}

// at_least_once: read with `enable.auto.offset.store=false`, copy each message to the output
// topics, store its offset only once every copy is delivered; the group's committed offsets
// then cover exactly what was copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_commits_only_what_was_copied() {
    let (cluster, servers) = cluster_with(&[("input", 1), ("out-a", 1), ("out-b", 1)]);
    let producer: FutureProducer = config(&servers)
        .set("queue.buffering.max.ms", "0")
        .create()
        .unwrap();
    for i in 0..4 {
        producer
            .send(
                FutureRecord::to("input").key("k").payload(&format!("m{i}")),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
    }
    let consumer: StreamConsumer = config(&servers)
        .set("group.id", "copier")
        .set("enable.partition.eof", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "5000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["input"]).unwrap();
    for _ in 0..3 {
        let m = consumer.recv().await.unwrap();
        for output in ["out-a", "out-b"] {
            let mut record = FutureRecord::to(output);
            if let Some(p) = m.payload() {
                record = record.payload(p);
            }
            if let Some(k) = m.key() {
                record = record.key(k);
            }
            producer.send(record, Duration::from_secs(1)).await.unwrap();
        }
        consumer.store_offset_from_message(&m).unwrap();
    }
    // Closing commits the stored offsets (auto-commit): 3 copied, so 3.
    drop(consumer);
    let check: BaseConsumer = config(&servers).set("group.id", "copier").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("input", 0);
    let committed = check
        .committed_offsets(tpl, Duration::from_secs(5))
        .unwrap();
    assert_eq!(
        committed.find_partition("input", 0).unwrap().offset(),
        rdkafka::Offset::Offset(3)
    );
    for output in ["out-a", "out-b"] {
        assert_eq!(
            check
                .fetch_watermarks(output, 0, Duration::from_secs(1))
                .unwrap(),
            (0, 3)
        );
    }
    drop(cluster);
}

// asynchronous_processing: a stream of messages, each processed on its own task (the
// message detached from the consumer), the result produced to an output topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asynchronous_processing_handles_messages_on_tasks() {
    let (cluster, servers) = cluster_with(&[("words", 2), ("lengths", 2)]);
    let producer: FutureProducer = config(&servers).create().unwrap();
    let words = ["alpha", "be", "gamma", "delta", "epsilon"];
    for word in words {
        producer
            .send(
                FutureRecord::to("words").key(word).payload(word),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
    }
    let consumer: StreamConsumer = config(&servers)
        .set("group.id", "processors")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["words"]).unwrap();
    let mut stream = std::pin::pin!(consumer.stream());
    let mut tasks = Vec::new();
    for _ in 0..words.len() {
        let borrowed = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx))
            .await
            .expect("the stream does not end")
            .expect("a message");
        let owned = borrowed.detach();
        let producer = producer.clone();
        tasks.push(tokio::spawn(async move {
            let word = owned.payload_view::<str>().unwrap().unwrap().to_string();
            let length = word.len().to_string();
            producer
                .send(
                    FutureRecord::to("lengths").key(&word).payload(&length),
                    Duration::from_secs(1),
                )
                .await
                .map(|delivery| (word, delivery.partition))
        }));
    }
    let mut produced = Vec::new();
    for task in tasks {
        produced.push(task.await.unwrap().unwrap());
    }
    produced.sort();
    let mut expected: Vec<(String, i32)> = words
        .iter()
        .map(|w| (w.to_string(), librdkafka_partition(w, 2)))
        .collect();
    expected.sort();
    assert_eq!(produced, expected);
    drop(cluster);
}

// metadata: fetch_metadata lists every topic with its partitions (one broker leads them
// all), and fetch_watermarks gives each partition's low and high offsets.
#[test]
fn metadata_lists_topics_partitions_and_watermarks() {
    let (cluster, servers) = cluster_with(&[("meta-a", 2), ("meta-b", 1)]);
    let consumer: BaseConsumer = config(&servers).create().unwrap();
    for (topic, partition, count) in [("meta-a", 0, 2), ("meta-a", 1, 0), ("meta-b", 0, 1)] {
        for i in 0..count {
            cluster
                .producer(kafkalite::ProducerConfig::new())
                .unwrap()
                .send(
                    kafkalite::ProducerRecord::to(topic)
                        .partition(partition)
                        .value(vec![i]),
                )
                .unwrap()
                .wait()
                .unwrap();
        }
    }
    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(1))
        .expect("Failed to fetch metadata");
    assert_eq!(metadata.brokers().len(), 1);
    assert_eq!(metadata.orig_broker_id(), metadata.brokers()[0].id());
    let mut described = BTreeMap::new();
    for topic in metadata.topics() {
        assert_eq!(topic.error(), None);
        for partition in topic.partitions() {
            assert_eq!(partition.leader(), 0);
            assert_eq!(partition.replicas(), [0]);
            assert_eq!(partition.isr(), [0]);
            let (low, high) = consumer
                .fetch_watermarks(topic.name(), partition.id(), Duration::from_secs(1))
                .unwrap();
            described.insert((topic.name().to_string(), partition.id()), (low, high));
        }
    }
    assert_eq!(described[&("meta-a".to_string(), 0)], (0, 2));
    assert_eq!(described[&("meta-a".to_string(), 1)], (0, 0));
    assert_eq!(described[&("meta-b".to_string(), 0)], (0, 1));
    let one = consumer
        .fetch_metadata(Some("missing"), Duration::from_secs(1))
        .unwrap();
    assert_eq!(
        one.topics()[0].error(),
        Some(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition),
        "a consumer's metadata request does not create topics"
    );
}

// roundtrip: a producer stamps each message with its send time, a consumer reads them back
// in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_reads_back_what_it_sent_in_order() {
    let (cluster, servers) = cluster_with(&[("roundtrip", 1)]);
    let producer: FutureProducer = config(&servers).create().unwrap();
    let consumer: StreamConsumer = config(&servers)
        .set("group.id", "roundtrip")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["roundtrip"]).unwrap();
    let sent_at = rdkafka::util::current_time_millis();
    let receiver = async {
        let mut got = Vec::new();
        while got.len() < 10 {
            let m = consumer.recv().await.unwrap();
            got.push((m.offset(), m.timestamp().to_millis().unwrap()));
        }
        got
    };
    let sender = async {
        for i in 0..10i64 {
            producer
                .send(
                    FutureRecord::to("roundtrip")
                        .key("")
                        .payload(&i.to_string())
                        .timestamp(sent_at + i),
                    Timeout::Never,
                )
                .await
                .unwrap();
        }
    };
    let (got, ()) = tokio::join!(receiver, sender);
    assert_eq!(got, (0..10).map(|i| (i, sent_at + i)).collect::<Vec<_>>());
    drop(cluster);
}

/// runtime_smol's point: an application's own executor plugs in through `AsyncRuntime`.
/// Here a runtime whose delays are threads, driven by pollster (no tokio).
struct ThreadRuntime;

impl AsyncRuntime for ThreadRuntime {
    type Delay = rdkafka::util::Delay;

    fn spawn<T>(task: T)
    where
        T: std::future::Future<Output = ()> + Send + 'static,
    {
        std::thread::spawn(move || pollster::block_on(task));
    }

    fn delay_for(duration: Duration) -> Self::Delay {
        rdkafka::util::NaiveRuntime::delay_for(duration)
    }
}

#[test]
fn runtime_of_ones_own_drives_producer_and_consumer() {
    let (cluster, servers) = cluster_with(&[("smol", 1)]);
    let producer: FutureProducer<rdkafka::client::DefaultClientContext, ThreadRuntime> =
        config(&servers).create().unwrap();
    let consumer: StreamConsumer<rdkafka::consumer::DefaultConsumerContext, ThreadRuntime> =
        config(&servers)
            .set("group.id", "smol")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
    consumer.subscribe(&["smol"]).unwrap();
    pollster::block_on(async {
        let delivery = producer
            .send(
                FutureRecord::to("smol").key("k").payload("over smol"),
                Duration::from_secs(1),
            )
            .await
            .unwrap();
        assert_eq!((delivery.partition, delivery.offset), (0, 0));
        let message = consumer.recv().await.unwrap();
        assert_eq!(message.payload_view::<str>(), Some(Ok("over smol")));
    });
    drop(cluster);
}

// A data directory in bootstrap.servers: the facade opens it and holds it (locked to
// others) while a client is alive, and closes it with the last client.
#[test]
fn a_data_directory_is_held_while_a_client_is_alive() {
    let dir = tempfile::tempdir().unwrap();
    let servers = dir.path().display().to_string();
    let producer: rdkafka::producer::BaseProducer = config(&servers).create().unwrap();
    assert!(matches!(
        kafkalite::Cluster::open(dir.path()),
        Err(kafkalite::Error::Locked { .. })
    ));
    drop(producer);
    kafkalite::Cluster::open(dir.path()).expect("the last client closed the cluster");
}
