//! What a producer sends and what it learns back.

use std::sync::Arc;

use crate::error::Error;
use crate::record::TimestampType;

/// A record to send. Owned, so a failed send can hand it back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// Topic name.
    pub topic: String,
    /// Explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Key bytes; `None` is a null key.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` is a null value (a tombstone on compacted topics).
    pub value: Option<Vec<u8>>,
    /// Timestamp in epoch ms; `None` takes the cluster clock's time at send.
    pub timestamp: Option<i64>,
    /// Headers in order; keys may repeat and values may be null.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl ProducerRecord {
    /// A record for `topic` with no key, value or headers yet.
    pub fn to(topic: impl Into<String>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            ..Default::default()
        }
    }
    /// Sets the key.
    pub fn key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the value.
    pub fn value(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.value = Some(value.into());
        self
    }
    /// Sends to this partition.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
    /// Sets the timestamp (epoch ms).
    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }
    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((key.into(), Some(value.into())));
        self
    }

    /// Bytes the record takes in a batch at most (Kafka's `61 + 21 + sizes` estimate).
    pub(crate) fn size_upper_bound(&self) -> usize {
        let field = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() + 5);
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + 5 + field(v) + 5)
            .sum();
        crate::record::BATCH_HEADER_BYTES + 21 + field(&self.key) + field(&self.value) + headers + 5
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordMetadata {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition (−1 with `acks=0`, as in Kafka).
    pub offset: i64,
    /// The record's timestamp (the log's time under LogAppendTime).
    pub timestamp: i64,
    /// Which clock `timestamp` comes from.
    pub timestamp_type: TimestampType,
    /// Key size in bytes, −1 for a null key.
    pub serialized_key_size: i64,
    /// Value size in bytes, −1 for a null value.
    pub serialized_value_size: i64,
}

/// One partition of a topic as a producer sees it (Kafka's `PartitionInfo`). kafkalite is one
/// node, id 0, which leads and holds every partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionInfo {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition number.
    pub partition: i32,
    /// The leader's node id (always 0).
    pub leader: i32,
    /// Node ids holding a replica (`[0]`).
    pub replicas: Vec<i32>,
    /// Node ids in sync (`[0]`).
    pub in_sync_replicas: Vec<i32>,
}

/// A send refused before anything was buffered; the record comes back.
#[derive(Debug)]
pub struct SendError {
    /// Why.
    pub error: Error,
    /// The record, to retry or drop (boxed to keep `Result`s small).
    pub record: Box<ProducerRecord>,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "send to topic '{}' failed: {}",
            self.record.topic, self.error
        )
    }
}

/// So that `producer.send(record)?` works in functions returning [`crate::Result`]; the
/// record is dropped (keep the [`SendError`] to retry it).
impl From<SendError> for Error {
    fn from(refused: SendError) -> Error {
        refused.error
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
