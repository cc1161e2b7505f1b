//! Deserializers and a typed consumer over the bytes-level one. A record that fails to
//! decode is an item-level error carrying the raw record, so it can never become a poison
//! pill that blocks `poll`.

use std::sync::Arc;
use std::time::Duration;

use super::client::Consumer;
use super::records::ConsumerRecord;
use crate::error::{Error, Result};
use crate::group::{Message, TopicPartition};
use crate::record::TimestampType;

/// Turns the bytes of a key or value into a `T` (Kafka's `Deserializer`).
pub trait Deserializer<T>: Send + Sync {
    /// The `T` in `data`, read from `topic`.
    fn deserialize(&self, topic: &str, data: &[u8]) -> Result<T>;
}

/// Bytes as they are (Kafka's `ByteArrayDeserializer`).
#[derive(Debug, Default, Clone, Copy)]
pub struct BytesDeserializer;

impl Deserializer<Vec<u8>> for BytesDeserializer {
    fn deserialize(&self, _topic: &str, data: &[u8]) -> Result<Vec<u8>> {
        Ok(data.to_vec())
    }
}

/// UTF-8 text (Kafka's `StringDeserializer`); invalid UTF-8 is an error, not a lossy guess.
#[derive(Debug, Default, Clone, Copy)]
pub struct StringDeserializer;

impl Deserializer<String> for StringDeserializer {
    fn deserialize(&self, topic: &str, data: &[u8]) -> Result<String> {
        String::from_utf8(data.to_vec()).map_err(|e| {
            Error::Serialization(format!("a record of topic '{topic}' is not UTF-8: {e}"))
        })
    }
}

/// 8 big-endian bytes as an `i64` (Kafka's `LongDeserializer`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LongDeserializer;

impl Deserializer<i64> for LongDeserializer {
    fn deserialize(&self, topic: &str, data: &[u8]) -> Result<i64> {
        let bytes: [u8; 8] = data.try_into().map_err(|_| {
            Error::Serialization(format!(
                "a record of topic '{topic}' has {} bytes where a long needs 8",
                data.len()
            ))
        })?;
        Ok(i64::from_be_bytes(bytes))
    }
}

/// A record with typed key and value, as a [`TypedConsumer`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypedConsumerRecord<K, V> {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp (epoch ms).
    pub timestamp: i64,
    /// Which clock the timestamp is from.
    pub timestamp_type: TimestampType,
    /// Key, `None` for a null key.
    pub key: Option<K>,
    /// Value, `None` for a null value.
    pub value: Option<V>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl<K, V> Message for TypedConsumerRecord<K, V> {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn partition(&self) -> i32 {
        self.partition
    }
    fn offset(&self) -> i64 {
        self.offset
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn topic_partition(&self) -> TopicPartition {
        TopicPartition {
            topic: Arc::clone(&self.topic),
            partition: self.partition,
        }
    }
}

/// A record that did not decode: why, and the raw record (to skip, log or dead-letter).
#[derive(Debug, Clone)]
pub struct DecodeError {
    /// `Error::Serialization` with the deserializer's reason.
    pub error: Error,
    /// The record as stored (boxed to keep results small).
    pub record: Box<ConsumerRecord>,
}

/// A consumer of typed records: polls the bytes-level [`Consumer`] and deserializes keys and
/// values record by record. Commits, seeks and the rest go through [`TypedConsumer::inner`].
pub struct TypedConsumer<K, V> {
    inner: Consumer,
    key: Arc<dyn Deserializer<K>>,
    value: Arc<dyn Deserializer<V>>,
}

impl<K, V> TypedConsumer<K, V> {
    /// Wraps `inner` with a key and a value deserializer.
    pub fn new(
        inner: Consumer,
        key: impl Deserializer<K> + 'static,
        value: impl Deserializer<V> + 'static,
    ) -> Self {
        TypedConsumer {
            inner,
            key: Arc::new(key),
            value: Arc::new(value),
        }
    }

    /// The bytes-level consumer.
    pub fn inner(&self) -> &Consumer {
        &self.inner
    }

    /// Polls and decodes: one item per record, an `Err` with the raw record for one that did
    /// not decode (the others are unaffected, and the position moves past it either way).
    #[allow(clippy::type_complexity)] // the shape api.md gives; aliases would hide it
    pub fn poll(
        &self,
        timeout: Duration,
    ) -> Result<Vec<std::result::Result<TypedConsumerRecord<K, V>, DecodeError>>> {
        let records = self.inner.poll(timeout)?;
        Ok(records
            .iter()
            .map(|view| {
                let decoded = (|| {
                    let key = view
                        .key()
                        .map(|k| self.key.deserialize(view.topic(), k))
                        .transpose()?;
                    let value = view
                        .value()
                        .map(|v| self.value.deserialize(view.topic(), v))
                        .transpose()?;
                    Ok((key, value))
                })();
                let owned = view.to_owned();
                match decoded {
                    Ok((key, value)) => Ok(TypedConsumerRecord {
                        topic: owned.topic,
                        partition: owned.partition,
                        offset: owned.offset,
                        timestamp: owned.timestamp,
                        timestamp_type: owned.timestamp_type,
                        key,
                        value,
                        headers: owned.headers,
                    }),
                    Err(error) => Err(DecodeError {
                        error,
                        record: Box::new(owned),
                    }),
                }
            })
            .collect())
    }
}
