//! Helpers for the tests of `kafkalite::rdkafka`.

use std::time::Duration;

use kafkalite::rdkafka::config::ClientConfig;
use kafkalite::rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use kafkalite::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use kafkalite::rdkafka::{Offset, TopicPartitionList};

/// A temporary cluster with these topics (name, partitions), and the `bootstrap.servers`
/// that reaches it.
pub fn cluster_with(topics: &[(&str, i32)]) -> (kafkalite::Cluster, String) {
    with_topics(kafkalite::Cluster::temporary().unwrap(), topics)
}

fn with_topics(
    cluster: kafkalite::Cluster,
    topics: &[(&str, i32)],
) -> (kafkalite::Cluster, String) {
    for (topic, partitions) in topics {
        cluster
            .create_topic(kafkalite::NewTopic::new(*topic, *partitions))
            .unwrap();
    }
    let servers = kafkalite::rdkafka::bootstrap_servers(&cluster);
    (cluster, servers)
}

/// A temporary cluster on `clock` (no background work: what happens, happens in the
/// clients' calls) with these topics (name, partitions), and the `bootstrap.servers` that
/// reaches it.
pub fn cluster_on(
    clock: &kafkalite::MockClock,
    topics: &[(&str, i32)],
) -> (kafkalite::Cluster, String) {
    let cluster = kafkalite::Cluster::builder()
        .clock(std::sync::Arc::new(clock.clone()))
        .background(false)
        .temporary()
        .unwrap();
    with_topics(cluster, topics)
}

/// A client configuration naming `servers`.
pub fn config(servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", servers);
    config
}

/// Polls `consumer` until it has handed out `count` messages (each waiting up to 10 s),
/// failing on an error.
pub fn take<C: ConsumerContext>(consumer: &BaseConsumer<C>, count: usize) {
    let mut taken = 0;
    while taken < count {
        if let Some(message) = consumer.poll(Duration::from_secs(10)) {
            message.unwrap();
            taken += 1;
        }
    }
}

/// Produces `count` messages to partition `partition` of topic "t", "p-i" for the i-th of
/// them (counting from 0 in each call), and waits for their delivery.
pub fn produce(servers: &str, partition: i32, count: usize) {
    let producer: BaseProducer = config(servers).create().unwrap();
    for i in 0..count {
        let payload = format!("{partition}-{i}");
        let record = BaseRecord::<(), str>::to("t")
            .partition(partition)
            .payload(&payload);
        producer.send(record).unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();
}

/// The partitions of `consumer`'s assignment, sorted.
pub fn assigned_partitions<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> Vec<i32> {
    let mut partitions: Vec<i32> = consumer
        .assignment()
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect();
    partitions.sort_unstable();
    partitions
}

/// A list of (topic, partition, offset).
pub fn list(partitions: &[(&str, i32, Offset)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for &(topic, partition, offset) in partitions {
        tpl.add_partition_offset(topic, partition, offset).unwrap();
    }
    tpl
}
