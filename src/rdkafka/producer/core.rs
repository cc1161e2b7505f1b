//! What every facade producer does the same way: open the cluster and the kafkalite
//! producer from a `ClientConfig`, pick partitions as librdkafka does, enforce
//! `queue.buffering.max.messages`, translate errors, and run the transactional calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::super::config::{ClientConfig, ProducerSettings};
use super::super::connect::connect_client;
use super::super::consumer::ConsumerGroupMetadata;
use super::super::error::RDKafkaErrorCode;
use super::super::error::{code_of, transaction_error, KafkaError, KafkaResult, RDKafkaError};
use super::super::message::{OwnedHeaders, OwnedMessage, Timestamp};
use super::super::partitioner::{Algorithm, LibrdkafkaPartitioner};
use super::super::topic_partition_list::{TopicPartitionList, OFFSET_INVALID};
use super::super::util::Timeout;
use super::statistics::ProducerStatistics;
use crate::cluster::{Cluster, NewTopic};
use crate::error::Error;
use crate::group::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::producer::{Producer, ProducerRecord};

/// The engine under every facade producer.
pub(crate) struct Core {
    pub(crate) cluster: Cluster,
    /// `test.mock.num.brokers`: the cluster is the producer's own mock cluster.
    pub(crate) mock_brokers: Option<i32>,
    pub(crate) producer: Producer,
    partitioner: LibrdkafkaPartitioner,
    pub(super) max_messages: i64,
    /// Messages sent whose delivery report has not been served.
    pub(crate) queued: Arc<AtomicI64>,
    /// Their payload bytes.
    pub(crate) queued_bytes: AtomicU64,
    /// Partition counts by topic, with the metadata version they were read at.
    counts: Mutex<HashMap<String, (u64, i32)>>,
    transactional: bool,
    /// With `statistics.interval.ms`: the statistics' timer and counters.
    pub(super) statistics: Option<ProducerStatistics>,
}

/// A message as the facade takes it: the bytes copied out of the application's record.
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Option<Vec<u8>>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: Option<OwnedHeaders>,
}

impl Outgoing {
    /// The message as a delivery report shows it before it has an offset: as librdkafka's
    /// `rd_kafka_msg_new`, offset `OFFSET_INVALID` (-1001) and a create time, `now_ms` when
    /// the application gave none (or 0).
    pub(crate) fn to_message(&self, partition: i32, now_ms: i64) -> OwnedMessage {
        let created = self.timestamp.filter(|&t| t != 0).unwrap_or(now_ms);
        OwnedMessage::new(
            self.payload.clone(),
            self.key.clone(),
            self.topic.clone(),
            Timestamp::CreateTime(created),
            partition,
            OFFSET_INVALID,
            self.headers.clone(),
        )
    }

    fn into_record(self, partition: i32) -> ProducerRecord {
        let mut record = ProducerRecord::to(self.topic).partition(partition);
        if let Some(key) = self.key {
            record = record.key(key);
        }
        if let Some(payload) = self.payload {
            record = record.value(payload);
        }
        // librdkafka: a timestamp of 0 means "now".
        if let Some(timestamp) = self.timestamp.filter(|&t| t != 0) {
            record = record.timestamp(timestamp);
        }
        for (key, value) in self
            .headers
            .map(OwnedHeaders::into_entries)
            .unwrap_or_default()
        {
            record.headers.push((key, value));
        }
        record
    }
}

/// A context's own partitioner: topic, key, partition count to partition.
pub(crate) type CustomPartitioner<'a> = dyn Fn(&str, Option<&[u8]>, i32) -> i32 + 'a;

static SEEDS: AtomicU64 = AtomicU64::new(0x6b61_666b_616c_6974);

impl Core {
    pub(crate) fn new(config: &ClientConfig) -> KafkaResult<Core> {
        let ProducerSettings {
            config: producer_config,
            partitioner,
            sticky_linger_ms,
            max_messages,
        } = config.producer_settings()?;
        let algorithm = Algorithm::named(&partitioner).ok_or_else(|| {
            KafkaError::ClientCreation(format!(
                "partitioner \"{partitioner}\" is none of librdkafka's: random, consistent, \
                 consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random"
            ))
        })?;
        let transactional = config.get("transactional.id").is_some();
        let (cluster, mock_brokers) = connect_client(config)?;
        let producer = cluster
            .producer(producer_config)
            .map_err(|error| KafkaError::ClientCreation(error.to_string()))?;
        let seed = cluster
            .next_producer_seed()
            .unwrap_or_else(|| SEEDS.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed));
        let statistics = ProducerStatistics::of(config, &cluster);
        Ok(Core {
            mock_brokers,
            partitioner: LibrdkafkaPartitioner::new(
                algorithm,
                sticky_linger_ms,
                Arc::clone(cluster.clock()),
                seed,
            ),
            cluster,
            producer,
            max_messages,
            queued: Arc::new(AtomicI64::new(0)),
            queued_bytes: AtomicU64::new(0),
            counts: Mutex::new(HashMap::new()),
            transactional,
            statistics,
        })
    }

    /// The topic's partition count; a missing topic is created when the cluster
    /// auto-creates topics (a producer's metadata request does), else `_UNKNOWN_TOPIC`.
    fn partition_count(&self, topic: &str) -> Result<i32, RDKafkaErrorCode> {
        let version = self.cluster.metadata_version();
        if let Some(&(seen, count)) = self.counts.lock().get(topic) {
            if seen == version {
                return Ok(count);
            }
        }
        let count = match self.cluster.topic_partitions(topic) {
            Ok((_, logs)) => logs.len(),
            Err(Error::UnknownTopicOrPartition(_)) => {
                let partitions = self
                    .cluster
                    .auto_create_topics()
                    .ok_or(RDKafkaErrorCode::UnknownTopic)?;
                match self
                    .cluster
                    .auto_create_topic(NewTopic::new(topic, partitions))
                {
                    Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
                    Err(error) => return Err(code_of(&error)),
                }
                let (_, logs) = self
                    .cluster
                    .topic_partitions(topic)
                    .map_err(|error| code_of(&error))?;
                logs.len()
            }
            Err(error) => return Err(code_of(&error)),
        };
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        self.counts
            .lock()
            .insert(topic.to_string(), (self.cluster.metadata_version(), count));
        Ok(count)
    }

    /// The topics this producer has looked up (librdkafka's topic handles), with their
    /// partition counts, by name.
    pub(super) fn looked_up_topics(&self) -> Vec<(String, i32)> {
        let mut topics: Vec<(String, i32)> = self
            .counts
            .lock()
            .iter()
            .map(|(topic, &(_, count))| (topic.clone(), count))
            .collect();
        topics.sort_unstable();
        topics
    }

    /// Where `message` goes: its own partition (checked), the custom partitioner's choice,
    /// or librdkafka's partitioner's.
    pub(crate) fn place(
        &self,
        message: &Outgoing,
        custom: Option<&CustomPartitioner<'_>>,
    ) -> Result<i32, RDKafkaErrorCode> {
        if self.queued.load(Ordering::Acquire) >= self.max_messages {
            return Err(RDKafkaErrorCode::QueueFull);
        }
        let count = self.partition_count(&message.topic)?;
        let partition = match message.partition {
            Some(partition) if partition != super::PARTITION_UA => partition,
            _ => match custom {
                // librdkafka: keyless messages go to the sticky partition, not to the
                // application's partitioner.
                Some(_) if self.partitioner.is_sticky(message.key.as_deref(), true) => {
                    self.partitioner.sticky(&message.topic, count)
                }
                Some(custom) => custom(&message.topic, message.key.as_deref(), count),
                None => self
                    .partitioner
                    .partition(&message.topic, message.key.as_deref(), count),
            },
        };
        if partition < 0 || partition >= count {
            return Err(RDKafkaErrorCode::UnknownPartition);
        }
        Ok(partition)
    }

    /// Hands `message` to kafkalite; `callback` runs when it is delivered or failed.
    pub(crate) fn send(
        &self,
        message: Outgoing,
        partition: i32,
        callback: impl FnOnce(crate::error::Result<crate::producer::RecordMetadata>) + Send + 'static,
    ) -> Result<(), RDKafkaErrorCode> {
        let payload_bytes = message.payload.as_ref().map_or(0, Vec::len) as u64;
        let tally = self.statistics.as_ref().map(|statistics| {
            let key_bytes = message.key.as_ref().map_or(0, Vec::len) as u64;
            statistics.tally(&message.topic, partition, key_bytes + payload_bytes)
        });
        let callback = move |result: crate::error::Result<crate::producer::RecordMetadata>| {
            if let Some(tally) = tally {
                tally.settle(result.is_ok());
            }
            callback(result);
        };
        self.producer
            .send_with_callback(message.into_record(partition), callback)
            .map_err(|refused| match refused.error {
                // Never blocking (max.block.ms is 0): a full buffer is librdkafka's full queue.
                Error::Timeout(_) | Error::QueueFull(_) => RDKafkaErrorCode::QueueFull,
                Error::RecordTooLarge { .. } => RDKafkaErrorCode::MessageSizeTooLarge,
                // librdkafka's rd_kafka_check_produce: a transactional state that forbids
                // producing (outside a transaction, before init_transactions) is `_STATE`;
                // after a fatal error (fenced), `_FATAL`.
                Error::InvalidTxnState(_) => RDKafkaErrorCode::State,
                Error::ProducerFenced(_) | Error::InvalidProducerEpoch(_) => {
                    RDKafkaErrorCode::Fatal
                }
                error => code_of(&error),
            })?;
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.queued_bytes.fetch_add(payload_bytes, Ordering::AcqRel);
        Ok(())
    }

    /// Waits for every message handed to kafkalite to be delivered or failed.
    pub(crate) fn flush_engine(&self, timeout: Timeout) -> KafkaResult<()> {
        self.producer
            .flush(timeout.duration())
            .map_err(|error| KafkaError::Flush(code_of(&error)))
    }

    fn transactional(&self) -> KafkaResult<()> {
        if self.transactional {
            Ok(())
        } else {
            Err(KafkaError::Transaction(RDKafkaError::new(
                RDKafkaErrorCode::NotConfigured,
                "The Transactional API requires transactional.id to be configured",
            )))
        }
    }

    pub(crate) fn init_transactions(&self, timeout: Timeout) -> KafkaResult<()> {
        self.transactional()?;
        self.producer
            .init_transactions(timeout.duration())
            .map_err(|error| txn_error(&error))
    }

    pub(crate) fn begin_transaction(&self) -> KafkaResult<()> {
        self.transactional()?;
        self.producer
            .begin_transaction()
            .map_err(|error| txn_error(&error))
    }

    pub(crate) fn send_offsets_to_transaction(
        &self,
        offsets: &TopicPartitionList,
        cgm: &ConsumerGroupMetadata,
        timeout: Timeout,
    ) -> KafkaResult<()> {
        self.transactional()?;
        let mut commit = Offsets::new();
        for (topic, partition, offset, metadata) in offsets.raw_entries() {
            if offset < 0 {
                // librdkafka skips elements without a valid offset.
                continue;
            }
            commit.insert(
                TopicPartition::new(topic, partition),
                OffsetAndMetadata::new(offset).with_metadata(metadata),
            );
        }
        if commit.is_empty() {
            return Ok(());
        }
        self.producer
            .send_offsets_to_transaction(&commit, cgm.inner(), timeout.duration())
            .map_err(|error| txn_error(&error))
    }

    pub(crate) fn commit_transaction(&self, timeout: Timeout) -> KafkaResult<()> {
        self.transactional()?;
        self.producer
            .commit_transaction(timeout.duration())
            .map_err(|error| txn_error(&error))
    }

    pub(crate) fn abort_transaction(&self, timeout: Timeout) -> KafkaResult<()> {
        self.transactional()?;
        self.producer
            .abort_transaction(timeout.duration())
            .map_err(|error| txn_error(&error))
    }
}

/// A transactional call's error: the client's own state refusals are librdkafka's
/// `_STATE`, the rest keep their Kafka code.
fn txn_error(error: &Error) -> KafkaError {
    match error {
        Error::InvalidTxnState(message) if !message.contains("coordinator") => {
            KafkaError::Transaction(RDKafkaError::new(RDKafkaErrorCode::State, message.clone()))
        }
        _ => transaction_error(error),
    }
}
