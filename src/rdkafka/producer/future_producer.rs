//! rust-rdkafka's `FutureProducer`: `send` returns a future of the delivery, resolved from
//! a `ThreadedProducer`'s polling thread, under any executor.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use parking_lot::Mutex;

use super::{
    BaseRecord, DeliveryResult, NoCustomPartitioner, Partitioner, Producer, ProducerContext,
    PurgeConfig, ThreadedProducer,
};
use crate::rdkafka::client::{Client, ClientContext, DefaultClientContext};
use crate::rdkafka::config::{
    ClientConfig, FromClientConfig, FromClientConfigAndContext, RDKafkaLogLevel,
};
use crate::rdkafka::consumer::ConsumerGroupMetadata;
use crate::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use crate::rdkafka::message::{Message, OwnedHeaders, OwnedMessage, Timestamp, ToBytes};
use crate::rdkafka::statistics::Statistics;
use crate::rdkafka::topic_partition_list::TopicPartitionList;
use crate::rdkafka::util::{AsyncRuntime, DefaultRuntime, IntoOpaque, Timeout};

/// A record for the future producer.
#[derive(Debug)]
pub struct FutureRecord<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized> {
    /// Required destination topic.
    pub topic: &'a str,
    /// Optional destination partition.
    pub partition: Option<i32>,
    /// Optional payload.
    pub payload: Option<&'a P>,
    /// Optional key.
    pub key: Option<&'a K>,
    /// Optional timestamp.
    pub timestamp: Option<i64>,
    /// Optional message headers.
    pub headers: Option<OwnedHeaders>,
}

impl<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized> FutureRecord<'a, K, P> {
    /// Creates a new record with the specified topic name.
    pub fn to(topic: &'a str) -> FutureRecord<'a, K, P> {
        FutureRecord {
            topic,
            partition: None,
            payload: None,
            key: None,
            timestamp: None,
            headers: None,
        }
    }

    fn from_base_record<D: IntoOpaque>(record: BaseRecord<'a, K, P, D>) -> FutureRecord<'a, K, P> {
        FutureRecord {
            topic: record.topic,
            partition: record.partition,
            key: record.key,
            payload: record.payload,
            timestamp: record.timestamp,
            headers: record.headers,
        }
    }

    /// Sets the destination partition of the record.
    pub fn partition(mut self, partition: i32) -> FutureRecord<'a, K, P> {
        self.partition = Some(partition);
        self
    }

    /// Sets the destination payload of the record.
    pub fn payload(mut self, payload: &'a P) -> FutureRecord<'a, K, P> {
        self.payload = Some(payload);
        self
    }

    /// Sets the destination key of the record.
    pub fn key(mut self, key: &'a K) -> FutureRecord<'a, K, P> {
        self.key = Some(key);
        self
    }

    /// Sets the destination timestamp of the record.
    pub fn timestamp(mut self, timestamp: i64) -> FutureRecord<'a, K, P> {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the headers of the record.
    pub fn headers(mut self, headers: OwnedHeaders) -> FutureRecord<'a, K, P> {
        self.headers = Some(headers);
        self
    }

    fn into_base_record<D: IntoOpaque>(self, delivery_opaque: D) -> BaseRecord<'a, K, P, D> {
        BaseRecord {
            topic: self.topic,
            partition: self.partition,
            key: self.key,
            payload: self.payload,
            timestamp: self.timestamp,
            headers: self.headers,
            delivery_opaque,
        }
    }
}

/// Where a message landed.
#[derive(Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The partition the message was delivered to.
    pub partition: i32,
    /// The offset within the partition.
    pub offset: i64,
    /// The timestamp of the delivered message.
    pub timestamp: Timestamp,
}

/// The result of a delivery: where it landed, or the error and the message.
pub type OwnedDeliveryResult = Result<Delivery, (KafkaError, OwnedMessage)>;

/// The future producer was dropped before the delivery was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canceled;

impl std::fmt::Display for Canceled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("oneshot canceled")
    }
}

impl std::error::Error for Canceled {}

/// One delivery's outcome, from the polling thread to the future.
#[derive(Debug, Default)]
struct Slot {
    value: Option<OwnedDeliveryResult>,
    waker: Option<Waker>,
    closed: bool,
}

/// The sending half: resolves the future (dropped unsent, it cancels it).
#[derive(Debug)]
pub struct DeliverySender(Arc<Mutex<Slot>>);

impl DeliverySender {
    fn send(self, value: OwnedDeliveryResult) {
        let mut slot = self.0.lock();
        slot.value = Some(value);
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

impl Drop for DeliverySender {
    fn drop(&mut self) {
        let mut slot = self.0.lock();
        slot.closed = true;
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
    }
}

/// A future of one message's delivery.
#[derive(Debug)]
pub struct DeliveryFuture {
    slot: Arc<Mutex<Slot>>,
}

impl Future for DeliveryFuture {
    type Output = Result<OwnedDeliveryResult, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock();
        if let Some(value) = slot.value.take() {
            return Poll::Ready(Ok(value));
        }
        if slot.closed {
            return Poll::Ready(Err(Canceled));
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn channel() -> (DeliverySender, DeliveryFuture) {
    let slot = Arc::new(Mutex::new(Slot::default()));
    (DeliverySender(Arc::clone(&slot)), DeliveryFuture { slot })
}

/// The producer context of a [`FutureProducer`]: wraps the application's client context and
/// resolves the futures.
#[derive(Clone, Debug)]
pub struct FutureProducerContext<C: ClientContext + 'static> {
    wrapped_context: C,
}

impl<C: ClientContext + 'static> ClientContext for FutureProducerContext<C> {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = C::ENABLE_REFRESH_OAUTH_TOKEN;

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.wrapped_context.log(level, fac, log_message);
    }

    fn stats(&self, statistics: Statistics) {
        self.wrapped_context.stats(statistics);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        self.wrapped_context.stats_raw(statistics)
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.wrapped_context.error(error, reason);
    }
}

impl<C, Part> ProducerContext<Part> for FutureProducerContext<C>
where
    C: ClientContext + 'static,
    Part: Partitioner,
{
    type DeliveryOpaque = Box<DeliverySender>;

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, tx: Box<DeliverySender>) {
        let owned = match delivery_result {
            Ok(message) => Ok(Delivery {
                partition: message.partition(),
                offset: message.offset(),
                timestamp: message.timestamp(),
            }),
            Err((error, message)) => Err((error.clone(), message.detach())),
        };
        tx.send(owned);
    }
}

/// A producer whose `send` returns a future of the delivery. Cheap to clone (clones share
/// one producer).
#[must_use = "Producer polling thread will stop immediately if unused"]
pub struct FutureProducer<C = DefaultClientContext, R = DefaultRuntime, Part = NoCustomPartitioner>
where
    Part: Partitioner,
    C: ClientContext + 'static,
{
    producer: Arc<ThreadedProducer<FutureProducerContext<C>, Part>>,
    _runtime: PhantomData<R>,
}

impl<C, R> Clone for FutureProducer<C, R>
where
    C: ClientContext + 'static,
{
    fn clone(&self) -> FutureProducer<C, R> {
        FutureProducer {
            producer: Arc::clone(&self.producer),
            _runtime: PhantomData,
        }
    }
}

impl<R: AsyncRuntime> FromClientConfig for FutureProducer<DefaultClientContext, R> {
    fn from_config(config: &ClientConfig) -> KafkaResult<FutureProducer<DefaultClientContext, R>> {
        FutureProducer::from_config_and_context(config, DefaultClientContext)
    }
}

impl<C, R> FromClientConfigAndContext<C> for FutureProducer<C, R>
where
    C: ClientContext + 'static,
    R: AsyncRuntime,
{
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let context = FutureProducerContext {
            wrapped_context: context,
        };
        Ok(FutureProducer {
            producer: Arc::new(ThreadedProducer::from_config_and_context(config, context)?),
            _runtime: PhantomData,
        })
    }
}

impl<C, R> FutureProducer<C, R>
where
    C: ClientContext + 'static,
    R: AsyncRuntime,
{
    /// Sends a message and resolves with its delivery. While the queue is full the send is
    /// retried every 100 ms until `queue_timeout`; other refusals resolve at once.
    pub async fn send<K, P, T>(
        &self,
        record: FutureRecord<'_, K, P>,
        queue_timeout: T,
    ) -> OwnedDeliveryResult
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
        T: Into<Timeout>,
    {
        let start = Instant::now();
        let queue_timeout = queue_timeout.into();
        let can_retry = || match queue_timeout {
            Timeout::Never => true,
            Timeout::After(limit) => start.elapsed() < limit,
        };
        let topic = record.topic.to_owned();
        let (tx, rx) = channel();
        let mut record = record.into_base_record(Box::new(tx));
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    // The producer is borrowed, so its report is always served; were it
                    // not, the future says so as rdkafka's oneshot would.
                    return match rx.await {
                        Ok(result) => result,
                        Err(Canceled) => Err((
                            KafkaError::Canceled,
                            OwnedMessage::new(
                                None,
                                None,
                                topic,
                                Timestamp::NotAvailable,
                                -1,
                                -1,
                                None,
                            ),
                        )),
                    };
                }
                Err((error, returned))
                    if error == KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
                        && can_retry() =>
                {
                    record = returned;
                    R::delay_for(std::time::Duration::from_millis(100)).await;
                }
                Err((error, returned)) => {
                    let message = OwnedMessage::new(
                        returned.payload.map(|p| p.to_bytes().to_vec()),
                        returned.key.map(|k| k.to_bytes().to_vec()),
                        returned.topic.to_owned(),
                        returned
                            .timestamp
                            .map_or(Timestamp::NotAvailable, Timestamp::CreateTime),
                        returned.partition.unwrap_or(-1),
                        0,
                        returned.headers,
                    );
                    return Err((error, message));
                }
            }
        }
    }

    /// Like [`FutureProducer::send`], but a refusal (a full queue included) comes back at
    /// once, with the record.
    #[allow(clippy::result_large_err)]
    pub fn send_result<'a, K, P>(
        &self,
        record: FutureRecord<'a, K, P>,
    ) -> Result<DeliveryFuture, (KafkaError, FutureRecord<'a, K, P>)>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let (tx, rx) = channel();
        self.producer
            .send(record.into_base_record(Box::new(tx)))
            .map(|()| rx)
            .map_err(|(error, record)| (error, FutureRecord::from_base_record(record)))
    }

    /// Polls the internal producer (not needed: its thread does).
    pub fn poll<T: Into<Timeout>>(&self, timeout: T) {
        self.producer.poll(timeout);
    }
}

impl<C, R, Part> Producer<FutureProducerContext<C>, Part> for FutureProducer<C, R, Part>
where
    C: ClientContext + 'static,
    Part: Partitioner,
{
    fn client(&self) -> &Client<FutureProducerContext<C>> {
        self.producer.client()
    }

    fn in_flight_count(&self) -> i32 {
        self.producer.in_flight_count()
    }

    fn flush<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.producer.flush(timeout)
    }

    fn purge(&self, flags: PurgeConfig) {
        self.producer.purge(flags)
    }

    fn init_transactions<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.producer.init_transactions(timeout)
    }

    fn begin_transaction(&self) -> KafkaResult<()> {
        self.producer.begin_transaction()
    }

    fn send_offsets_to_transaction<T: Into<Timeout>>(
        &self,
        offsets: &TopicPartitionList,
        cgm: &ConsumerGroupMetadata,
        timeout: T,
    ) -> KafkaResult<()> {
        self.producer
            .send_offsets_to_transaction(offsets, cgm, timeout)
    }

    fn commit_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.producer.commit_transaction(timeout)
    }

    fn abort_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.producer.abort_transaction(timeout)
    }
}
