//! Serializers and a typed producer over the bytes-level one.

use std::sync::Arc;

use super::client::Producer;
use super::delivery::DeliveryHandle;
use super::record::ProducerRecord;
use crate::error::{Error, Result};

/// Turns a `T` into the bytes of a key or value (Kafka's `Serializer`).
pub trait Serializer<T: ?Sized>: Send + Sync {
    /// The bytes for `data`, sent to `topic`.
    fn serialize(&self, topic: &str, data: &T) -> Result<Vec<u8>>;
}

/// Bytes as they are (Kafka's `ByteArraySerializer`).
#[derive(Debug, Default, Clone, Copy)]
pub struct BytesSerializer;

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &[u8]) -> Result<Vec<u8>> {
        Ok(data.to_vec())
    }
}

impl Serializer<Vec<u8>> for BytesSerializer {
    fn serialize(&self, _topic: &str, data: &Vec<u8>) -> Result<Vec<u8>> {
        Ok(data.clone())
    }
}

/// UTF-8 text (Kafka's `StringSerializer`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StringSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &str) -> Result<Vec<u8>> {
        Ok(data.as_bytes().to_vec())
    }
}

impl Serializer<String> for StringSerializer {
    fn serialize(&self, _topic: &str, data: &String) -> Result<Vec<u8>> {
        Ok(data.as_bytes().to_vec())
    }
}

/// An `i64` as 8 big-endian bytes (Kafka's `LongSerializer`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LongSerializer;

impl Serializer<i64> for LongSerializer {
    fn serialize(&self, _topic: &str, data: &i64) -> Result<Vec<u8>> {
        Ok(data.to_be_bytes().to_vec())
    }
}

/// A record with typed key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedRecord<K, V> {
    /// Topic name.
    pub topic: String,
    /// Explicit partition, if any.
    pub partition: Option<i32>,
    /// The key, `None` for a null key.
    pub key: Option<K>,
    /// The value, `None` for a null value.
    pub value: Option<V>,
    /// Timestamp in epoch ms, `None` for the send time.
    pub timestamp: Option<i64>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl<K, V> TypedRecord<K, V> {
    /// A record for `topic` with the given key and value.
    pub fn new(topic: impl Into<String>, key: Option<K>, value: Option<V>) -> Self {
        TypedRecord {
            topic: topic.into(),
            partition: None,
            key,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }
}

/// A failed typed send, with the record handed back.
#[derive(Debug)]
pub struct TypedSendError<K, V> {
    /// Why (`Serialization` when a serializer failed, else what `send` reported).
    pub error: Error,
    /// The record.
    pub record: Box<TypedRecord<K, V>>,
}

/// A producer of typed records: serializes keys and values, then sends through a bytes-level
/// [`Producer`].
pub struct TypedProducer<K, V> {
    inner: Producer,
    key: Arc<dyn Serializer<K>>,
    value: Arc<dyn Serializer<V>>,
}

impl<K, V> TypedProducer<K, V> {
    /// Wraps `inner` with a key and a value serializer.
    pub fn new(
        inner: Producer,
        key: impl Serializer<K> + 'static,
        value: impl Serializer<V> + 'static,
    ) -> Self {
        TypedProducer {
            inner,
            key: Arc::new(key),
            value: Arc::new(value),
        }
    }

    /// The bytes-level producer.
    pub fn inner(&self) -> &Producer {
        &self.inner
    }

    /// Serializes and sends; a serializer error is `Error::Serialization` and nothing is sent.
    pub fn send(&self, record: TypedRecord<K, V>) -> Result<DeliveryHandle, TypedSendError<K, V>> {
        let serialized = self.serialize(&record);
        let bytes = match serialized {
            Ok(bytes) => bytes,
            Err(error) => {
                return Err(TypedSendError {
                    error,
                    record: Box::new(record),
                })
            }
        };
        self.inner.send(bytes).map_err(|e| TypedSendError {
            error: e.error,
            record: Box::new(record),
        })
    }

    fn serialize(&self, record: &TypedRecord<K, V>) -> Result<ProducerRecord> {
        let as_serialization = |e: Error| match e {
            Error::Serialization(m) => Error::Serialization(m),
            other => Error::Serialization(other.to_string()),
        };
        let key = record
            .key
            .as_ref()
            .map(|k| self.key.serialize(&record.topic, k))
            .transpose()
            .map_err(as_serialization)?;
        let value = record
            .value
            .as_ref()
            .map(|v| self.value.serialize(&record.topic, v))
            .transpose()
            .map_err(as_serialization)?;
        Ok(ProducerRecord {
            topic: record.topic.clone(),
            partition: record.partition,
            key,
            value,
            timestamp: record.timestamp,
            headers: record.headers.clone(),
        })
    }
}
