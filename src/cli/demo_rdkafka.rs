//! The demo's rdkafka step: code written for the rdkafka crate, run on the demo's cluster
//! through `kafkalite::rdkafka` with only the import changed.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use kafkalite::rdkafka;
use kafkalite::Cluster;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::CliResult;

const TOPIC: &str = "demo-rdkafka";

/// Keeps the latest statistics librdkafka's timer emitted.
#[derive(Default)]
struct LatestStatistics(Mutex<Option<Statistics>>);

impl ClientContext for LatestStatistics {
    fn stats(&self, statistics: Statistics) {
        if let Ok(mut latest) = self.0.lock() {
            *latest = Some(statistics);
        }
    }
}

impl ConsumerContext for LatestStatistics {}

/// An application that keeps its offsets outside Kafka: its rebalance callback starts each
/// partition the group gives where its own store says (here: at the partition's last
/// message), and writes down what it assigned.
#[derive(Default)]
struct OwnOffsets(Mutex<Vec<i32>>);

impl ClientContext for OwnOffsets {}

impl ConsumerContext for OwnOffsets {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let changed = if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if let Ok(mut assigned) = self.0.lock() {
                assigned.extend(tpl.elements().iter().map(|e| e.partition()));
            }
            tpl.set_all_offsets(Offset::OffsetTail(1))
                .and_then(|()| consumer.assign(tpl))
        } else {
            consumer.unassign()
        };
        if let Err(error) = changed {
            eprintln!("the demo's rebalance callback: {error}");
        }
    }
}

/// Sends three keyed messages with a `BaseProducer` (librdkafka's partitioner places them),
/// reads them back with a `BaseConsumer`, and shows its statistics.
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
    let consumer: BaseConsumer<LatestStatistics> = config
        .set("group.id", "demo-rdkafka")
        .set("enable.partition.eof", "true")
        .set("statistics.interval.ms", "1")
        .create_with_context(LatestStatistics::default())?;
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
    show_statistics(&consumer, out)?;
    own_offsets(&mut config, out)?;
    #[cfg(feature = "testing")]
    mock_cluster(out)?;
    Ok(())
}

/// What each delivery report said, in order: the offset, or the error's code.
#[cfg(feature = "testing")]
#[derive(Default)]
struct Deliveries(Mutex<Vec<String>>);

#[cfg(feature = "testing")]
impl ClientContext for Deliveries {}

#[cfg(feature = "testing")]
impl rdkafka::producer::ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::producer::DeliveryResult<'_>, _: ()) {
        let said = match result {
            Ok(message) => format!("delivered at offset {}", message.offset()),
            Err((rdkafka::error::KafkaError::MessageProduction(code), _)) => {
                format!("failed with {code:?}")
            }
            Err((error, _)) => format!("failed: {error}"),
        };
        if let Ok(mut said_so_far) = self.0.lock() {
            said_so_far.push(said);
        }
    }
}

/// Code written for rdkafka's mock cluster: errors pushed for the next produce requests.
#[cfg(feature = "testing")]
fn mock_cluster(out: &mut dyn Write) -> CliResult {
    use rdkafka::mocking::MockCluster;
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let mock = MockCluster::new(3)?;
    mock.create_topic("demo-mock", 1, 3)?;
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        ],
    );
    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("linger.ms", "0")
        .create_with_context(Deliveries::default())?;
    for payload in ["first", "second"] {
        let record = BaseRecord::<(), str>::to("demo-mock").payload(payload);
        producer.send(record).map_err(|(error, _)| error)?;
        producer.flush(Duration::from_secs(30))?;
    }
    let said = producer
        .context()
        .0
        .lock()
        .map(|said| said.clone())
        .unwrap_or_default();
    writeln!(
        out,
        "-- rdkafka mock cluster (rdkafka::mocking): Produce errors pushed (NOT_LEADER_FOR_PARTITION, then TOPIC_AUTHORIZATION_FAILED), the producer retrying the first: first message {}, second message {}",
        said.first().map_or("not reported", String::as_str),
        said.get(1).map_or("not reported", String::as_str)
    )?;
    Ok(())
}

/// Reads the topic as a group member whose rebalance callback starts each partition at an
/// offset of the application's own ([`OwnOffsets`]).
fn own_offsets(config: &mut ClientConfig, out: &mut dyn Write) -> CliResult {
    let consumer: BaseConsumer<OwnOffsets> = config
        .set("group.id", "demo-rdkafka-own-offsets")
        .set("statistics.interval.ms", "0")
        .create_with_context(OwnOffsets::default())?;
    consumer.subscribe(&[TOPIC])?;
    let (mut read, mut ends) = (0, 0);
    // `poll` returns `None` once after serving the rebalance.
    for _ in 0..100 {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(_)) => read += 1,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => ends += 1,
            Some(Err(error)) => return Err(error.into()),
            None => {}
        }
        if ends == 3 {
            break;
        }
    }
    let mut assigned = consumer
        .context()
        .0
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    assigned.sort_unstable();
    writeln!(
        out,
        "-- rdkafka rebalance callback (ConsumerContext::rebalance): the group gave partitions {assigned:?}, assigned from the application's own offsets (each partition's last message): {read} messages read"
    )?;
    Ok(())
}

/// Shows the consumer's latest statistics.
fn show_statistics(consumer: &BaseConsumer<LatestStatistics>, out: &mut dyn Write) -> CliResult {
    // One more poll once the 1 ms interval has passed: the statistics after the reads.
    std::thread::sleep(Duration::from_millis(2));
    let _ = consumer.poll(Duration::ZERO);
    let latest = consumer.context().0.lock().map(|latest| latest.clone());
    if let Ok(Some(statistics)) = latest {
        let mut lags: Vec<String> = statistics
            .topics
            .get(TOPIC)
            .map(|topic| {
                topic
                    .partitions
                    .values()
                    .filter(|p| p.partition >= 0)
                    .map(|p| format!("{}: {}", p.partition, p.consumer_lag_stored))
                    .collect()
            })
            .unwrap_or_default();
        lags.sort();
        writeln!(
            out,
            "-- rdkafka statistics (statistics.interval.ms, ClientContext::stats): {} messages received; lag by partition {}",
            statistics.rxmsgs,
            lags.join(", ")
        )?;
    }
    Ok(())
}
