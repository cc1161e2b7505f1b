//! rust-rdkafka's messages (`rdkafka::message`): the [`Message`] trait, borrowed and owned
//! messages, headers, timestamps, and the byte conversions.
//!
//! A [`BorrowedMessage`] here owns its bytes (the lifetime ties it to its consumer, as in
//! rdkafka, so code written for rdkafka compiles unchanged); `detach` copies it once.

use std::marker::PhantomData;
use std::time::SystemTime;

use super::error::KafkaError;
use super::util::millis_to_epoch;
use crate::consumer::ConsumerRecord;
use crate::record::TimestampType;

/// Timestamp of a Kafka message.
#[derive(Debug, PartialOrd, Ord, PartialEq, Eq, Clone, Copy)]
pub enum Timestamp {
    /// Timestamp not available.
    NotAvailable,
    /// Message creation time.
    CreateTime(i64),
    /// Log append time.
    LogAppendTime(i64),
}

impl Timestamp {
    /// Converts the timestamp to milliseconds since the epoch.
    pub fn to_millis(self) -> Option<i64> {
        match self {
            Timestamp::NotAvailable | Timestamp::CreateTime(-1) | Timestamp::LogAppendTime(-1) => {
                None
            }
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
        }
    }

    /// Creates a new `Timestamp::CreateTime` representing the current time.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    pub(crate) fn of(timestamp: i64, kind: TimestampType) -> Timestamp {
        match kind {
            TimestampType::LogAppendTime => Timestamp::LogAppendTime(timestamp),
            _ if timestamp < 0 => Timestamp::NotAvailable,
            _ => Timestamp::CreateTime(timestamp),
        }
    }
}

impl From<i64> for Timestamp {
    fn from(system_time: i64) -> Timestamp {
        Timestamp::CreateTime(system_time)
    }
}

impl From<SystemTime> for Timestamp {
    fn from(system_time: SystemTime) -> Timestamp {
        Timestamp::CreateTime(millis_to_epoch(system_time))
    }
}

/// A Kafka message header.
#[derive(Debug, Clone, Eq, PartialEq, Ord, PartialOrd)]
pub struct Header<'a, V> {
    /// The header's key.
    pub key: &'a str,
    /// The header's value, `None` for null.
    pub value: Option<V>,
}

impl<'a> Header<'a, &'a [u8]> {
    fn parse<V>(&self) -> Result<Header<'a, &'a V>, V::Error>
    where
        V: FromBytes + ?Sized,
    {
        Ok(Header {
            key: self.key,
            value: self.value.map(V::from_bytes).transpose()?,
        })
    }
}

/// A generic representation of Kafka message headers.
pub trait Headers {
    /// Returns the number of contained headers.
    fn count(&self) -> usize;

    /// Gets the specified header, where the first header corresponds to index 0.
    ///
    /// # Panics
    ///
    /// As rdkafka's: if the index is out of bounds.
    fn get(&self, idx: usize) -> Header<'_, &[u8]> {
        self.try_get(idx).unwrap_or_else(|| {
            panic!(
                "headers index out of bounds: the count is {} but the index is {}",
                self.count(),
                idx,
            )
        })
    }

    /// Like [`Headers::get`], but the value is converted to the specified type.
    ///
    /// # Panics
    ///
    /// As rdkafka's: if the index is out of bounds.
    fn get_as<V>(&self, idx: usize) -> Result<Header<'_, &V>, V::Error>
    where
        V: FromBytes + ?Sized,
    {
        self.try_get_as(idx).unwrap_or_else(|| {
            panic!(
                "headers index out of bounds: the count is {} but the index is {}",
                self.count(),
                idx,
            )
        })
    }

    /// Like [`Headers::get`], but returns `None` if the index is out of bounds.
    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>>;

    /// Like [`Headers::try_get`], but the value is converted to the specified type.
    fn try_get_as<V>(&self, idx: usize) -> Option<Result<Header<'_, &V>, V::Error>>
    where
        V: FromBytes + ?Sized,
    {
        self.try_get(idx).map(|header| header.parse())
    }

    /// Iterates over all headers in order.
    fn iter(&self) -> HeadersIter<'_, Self>
    where
        Self: Sized,
    {
        HeadersIter {
            headers: self,
            index: 0,
        }
    }
}

/// An iterator over [`Headers`].
pub struct HeadersIter<'a, H> {
    headers: &'a H,
    index: usize,
}

impl<'a, H: Headers> Iterator for HeadersIter<'a, H> {
    type Item = Header<'a, &'a [u8]>;

    fn next(&mut self) -> Option<Header<'a, &'a [u8]>> {
        let item = self.headers.try_get(self.index)?;
        self.index += 1;
        Some(item)
    }
}

/// The headers of a message a consumer handed out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BorrowedHeaders {
    entries: Vec<(String, Option<Vec<u8>>)>,
}

impl BorrowedHeaders {
    /// Clones the content of `BorrowedHeaders` and returns an [`OwnedHeaders`].
    pub fn detach(&self) -> OwnedHeaders {
        OwnedHeaders {
            inner: self.clone(),
        }
    }
}

impl Headers for BorrowedHeaders {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>> {
        let (key, value) = self.entries.get(idx)?;
        Some(Header {
            key,
            value: value.as_deref(),
        })
    }
}

/// A collection of Kafka message headers that owns its backing data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedHeaders {
    inner: BorrowedHeaders,
}

impl OwnedHeaders {
    /// Creates a new `OwnedHeaders` struct with initial capacity 5.
    pub fn new() -> OwnedHeaders {
        OwnedHeaders::new_with_capacity(5)
    }

    /// Creates a new `OwnedHeaders` struct with the desired initial capacity.
    pub fn new_with_capacity(initial_capacity: usize) -> OwnedHeaders {
        OwnedHeaders {
            inner: BorrowedHeaders {
                entries: Vec::with_capacity(initial_capacity),
            },
        }
    }

    /// Inserts a new header.
    pub fn insert<V>(mut self, header: Header<'_, &V>) -> OwnedHeaders
    where
        V: ToBytes + ?Sized,
    {
        let value = header.value.map(|value| value.to_bytes().to_vec());
        self.inner.entries.push((header.key.to_string(), value));
        self
    }

    /// Generates a read-only [`BorrowedHeaders`] reference.
    pub fn as_borrowed(&self) -> &BorrowedHeaders {
        &self.inner
    }

    pub(crate) fn into_entries(self) -> Vec<(String, Option<Vec<u8>>)> {
        self.inner.entries
    }
}

impl Headers for OwnedHeaders {
    fn count(&self) -> usize {
        self.inner.count()
    }

    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>> {
        self.inner.try_get(idx)
    }
}

/// A generic representation of a Kafka message.
pub trait Message {
    /// The type of headers that this message contains.
    type Headers: Headers;

    /// Returns the key of the message, or `None` if there is no key.
    fn key(&self) -> Option<&[u8]>;

    /// Returns the payload of the message, or `None` if there is no payload.
    fn payload(&self) -> Option<&[u8]>;

    /// Returns the source topic of the message.
    fn topic(&self) -> &str;

    /// Returns the partition number where the message is stored.
    fn partition(&self) -> i32;

    /// Returns the offset of the message within the partition.
    fn offset(&self) -> i64;

    /// Returns the message timestamp.
    fn timestamp(&self) -> Timestamp;

    /// Converts the raw bytes of the payload to a reference of the specified type.
    fn payload_view<P: ?Sized + FromBytes>(&self) -> Option<Result<&P, P::Error>> {
        self.payload().map(P::from_bytes)
    }

    /// Converts the raw bytes of the key to a reference of the specified type.
    fn key_view<K: ?Sized + FromBytes>(&self) -> Option<Result<&K, K::Error>> {
        self.key().map(K::from_bytes)
    }

    /// Returns the headers of the message, or `None` if there are no headers.
    fn headers(&self) -> Option<&Self::Headers>;
}

/// A message handed out by a consumer (or to a delivery callback). It lives no longer than
/// what handed it out, as rdkafka's.
pub struct BorrowedMessage<'a> {
    message: OwnedMessage,
    borrowed_headers: Option<BorrowedHeaders>,
    _owner: PhantomData<&'a ()>,
}

impl std::fmt::Debug for BorrowedMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Message {{ topic: {}, partition: {}, offset: {}, timestamp: {:?} }}",
            self.message.topic, self.message.partition, self.message.offset, self.message.timestamp
        )
    }
}

impl BorrowedMessage<'_> {
    /// A consumed record as a message.
    pub(crate) fn from_record(record: ConsumerRecord) -> Self {
        let timestamp = Timestamp::of(record.timestamp, record.timestamp_type);
        let headers = (!record.headers.is_empty()).then_some(BorrowedHeaders {
            entries: record.headers,
        });
        BorrowedMessage {
            message: OwnedMessage::new(
                record.value,
                record.key,
                record.topic.to_string(),
                timestamp,
                record.partition,
                record.offset,
                None,
            ),
            borrowed_headers: headers,
            _owner: PhantomData,
        }
    }

    /// A produced message (for a delivery report).
    pub(crate) fn from_owned(mut message: OwnedMessage) -> Self {
        let borrowed_headers = message.detach_headers().map(|headers| headers.inner);
        BorrowedMessage {
            message,
            borrowed_headers,
            _owner: PhantomData,
        }
    }

    /// Returns the length of the key field of the message.
    pub fn key_len(&self) -> usize {
        self.message.key.as_ref().map_or(0, Vec::len)
    }

    /// Returns the length of the payload field of the message.
    pub fn payload_len(&self) -> usize {
        self.message.payload.as_ref().map_or(0, Vec::len)
    }

    /// Clones the content of the `BorrowedMessage` and returns an [`OwnedMessage`] that can
    /// outlive the consumer.
    pub fn detach(&self) -> OwnedMessage {
        let mut owned = self.message.clone();
        owned.headers = self.borrowed_headers.as_ref().map(BorrowedHeaders::detach);
        owned
    }
}

impl Message for BorrowedMessage<'_> {
    type Headers = BorrowedHeaders;

    fn key(&self) -> Option<&[u8]> {
        self.message.key()
    }

    fn payload(&self) -> Option<&[u8]> {
        self.message.payload()
    }

    fn topic(&self) -> &str {
        self.message.topic()
    }

    fn partition(&self) -> i32 {
        self.message.partition
    }

    fn offset(&self) -> i64 {
        self.message.offset
    }

    fn timestamp(&self) -> Timestamp {
        self.message.timestamp
    }

    fn headers(&self) -> Option<&BorrowedHeaders> {
        self.borrowed_headers.as_ref()
    }
}

/// A Kafka message that owns its backing data.
#[derive(Debug, Clone)]
pub struct OwnedMessage {
    payload: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    topic: String,
    timestamp: Timestamp,
    partition: i32,
    offset: i64,
    headers: Option<OwnedHeaders>,
}

impl OwnedMessage {
    /// Creates a new message with the specified content.
    pub fn new(
        payload: Option<Vec<u8>>,
        key: Option<Vec<u8>>,
        topic: String,
        timestamp: Timestamp,
        partition: i32,
        offset: i64,
        headers: Option<OwnedHeaders>,
    ) -> OwnedMessage {
        OwnedMessage {
            payload,
            key,
            topic,
            timestamp,
            partition,
            offset,
            headers,
        }
    }

    /// Detaches the headers from the message.
    pub fn detach_headers(&mut self) -> Option<OwnedHeaders> {
        self.headers.take()
    }

    /// Replaces the headers on the message.
    pub fn replace_headers(mut self, headers: Option<OwnedHeaders>) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the payload for the message.
    pub fn set_payload(mut self, payload: Option<Vec<u8>>) -> Self {
        self.payload = payload;
        self
    }

    /// Sets the key for the message.
    pub fn set_key(mut self, key: Option<Vec<u8>>) -> Self {
        self.key = key;
        self
    }

    /// Sets the topic for the message.
    pub fn set_topic(mut self, topic: String) -> Self {
        self.topic = topic;
        self
    }

    /// Sets the timestamp for the message.
    pub fn set_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Sets the partition for the message.
    pub fn set_partition(mut self, partition: i32) -> Self {
        self.partition = partition;
        self
    }

    /// Sets the offset for the message.
    pub fn set_offset(mut self, offset: i64) -> Self {
        self.offset = offset;
        self
    }
}

impl Message for OwnedMessage {
    type Headers = OwnedHeaders;

    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref()
    }

    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn offset(&self) -> i64 {
        self.offset
    }

    fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    fn headers(&self) -> Option<&OwnedHeaders> {
        self.headers.as_ref()
    }
}

/// The result of a message production: the message with its offset, or the error and the
/// message that failed.
pub type DeliveryResult<'a> = Result<BorrowedMessage<'a>, (KafkaError, BorrowedMessage<'a>)>;

/// Given a reference to a byte array, returns a different view of the same data. No
/// allocation is performed.
pub trait FromBytes {
    /// The error type that will be returned if the conversion fails.
    type Error;
    /// Tries to convert the provided byte slice into a different type.
    fn from_bytes(_: &[u8]) -> Result<&Self, Self::Error>;
}

impl FromBytes for [u8] {
    type Error = ();
    fn from_bytes(bytes: &[u8]) -> Result<&Self, Self::Error> {
        Ok(bytes)
    }
}

impl FromBytes for str {
    type Error = std::str::Utf8Error;
    fn from_bytes(bytes: &[u8]) -> Result<&Self, Self::Error> {
        std::str::from_utf8(bytes)
    }
}

/// Given some data, returns the byte representation of that data. No copy of the data is
/// performed.
pub trait ToBytes {
    /// Converts the provided data to bytes.
    fn to_bytes(&self) -> &[u8];
}

impl ToBytes for [u8] {
    fn to_bytes(&self) -> &[u8] {
        self
    }
}

impl ToBytes for str {
    fn to_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl ToBytes for Vec<u8> {
    fn to_bytes(&self) -> &[u8] {
        self.as_slice()
    }
}

impl ToBytes for String {
    fn to_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<T: ToBytes> ToBytes for &T {
    fn to_bytes(&self) -> &[u8] {
        (*self).to_bytes()
    }
}

impl ToBytes for () {
    fn to_bytes(&self) -> &[u8] {
        &[]
    }
}

impl<const N: usize> ToBytes for [u8; N] {
    fn to_bytes(&self) -> &[u8] {
        self
    }
}
