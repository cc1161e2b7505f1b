//! The demo's rdkafka step: code written for the rdkafka crate, run on the demo's cluster
//! through `kafkalite::rdkafka` with only the import changed.

use std::io::Write;
use std::time::Duration;

use kafkalite::rdkafka;
use kafkalite::Cluster;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::CliResult;

const TOPIC: &str = "demo-rdkafka";

/// Sends three keyed messages with a `BaseProducer` (librdkafka's partitioner places them)
/// and reads them back with a `BaseConsumer`.
pub fn run(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    if cluster.list_topics()?.iter().any(|t| t == TOPIC) {
        cluster.delete_topic(TOPIC)?;
    }
    cluster.create_topic(kafkalite::NewTopic::new(TOPIC, 3))?;
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", rdkafka::bootstrap_servers(cluster));
    let producer: BaseProducer = config.create()?;
    for key in ["alice", "grace", "mallory"] {
        producer
            .send(BaseRecord::to(TOPIC).key(key).payload("hello"))
            .map_err(|(error, _)| error)?;
    }
    producer.flush(Duration::from_secs(30))?;
    // librdkafka assigns partitions only to a consumer with a group.id.
    let consumer: BaseConsumer = config
        .set("group.id", "demo-rdkafka")
        .set("enable.partition.eof", "true")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_range(TOPIC, 0, 2);
    tpl.set_all_offsets(Offset::Beginning)?;
    consumer.assign(&tpl)?;
    let (mut placed, mut ends) = (Vec::new(), 0);
    while ends < 3 {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(message)) => placed.push(format!(
                "{} -> partition {}",
                message.key_view::<str>().and_then(Result::ok).unwrap_or(""),
                message.partition()
            )),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => ends += 1,
            Some(Err(error)) => return Err(error.into()),
            None => return Err("the rdkafka consumer timed out".into()),
        }
    }
    placed.sort();
    writeln!(
        out,
        "-- rdkafka: the same code as against a broker (BaseProducer, BaseConsumer), placed by librdkafka's partitioner: {}",
        placed.join(", ")
    )?;
    Ok(())
}
