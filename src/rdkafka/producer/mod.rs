//! rust-rdkafka's producers (`rdkafka::producer`): [`BaseProducer`] (delivery reports
//! served by `poll`), [`ThreadedProducer`] (a thread polls), [`FutureProducer`] (a future
//! per message), the [`Producer`] trait with the transactional calls, and the contexts.

pub mod base_producer;
mod core;
pub mod future_producer;
mod statistics;

use std::sync::Arc;

pub use self::base_producer::{BaseProducer, BaseRecord, DeliveryResult, ThreadedProducer};
pub use self::future_producer::{
    Delivery, DeliveryFuture, FutureProducer, FutureProducerContext, FutureRecord,
    OwnedDeliveryResult,
};
use super::client::{Client, ClientContext};
use super::consumer::ConsumerGroupMetadata;
use super::error::KafkaResult;
use super::topic_partition_list::TopicPartitionList;
use super::util::{IntoOpaque, Timeout};

/// Producer-specific context: how delivery reports reach the application.
pub trait ProducerContext<Part: Partitioner = NoCustomPartitioner>: ClientContext {
    /// A `DeliveryOpaque` is a user-defined structure that will be passed to the producer
    /// when producing a message, and returned to the `delivery` method once the message has
    /// been delivered, or failed to.
    type DeliveryOpaque: IntoOpaque;

    /// This method will be called once the message has been delivered (or failed to).
    fn delivery(&self, delivery_result: &DeliveryResult<'_>, delivery_opaque: Self::DeliveryOpaque);

    /// This method is called when creating the producer in order to optionally register a
    /// custom partitioner.
    fn get_custom_partitioner(&self) -> Option<&Part> {
        None
    }
}

/// Unassigned partition (librdkafka's `RD_KAFKA_PARTITION_UA`).
pub const PARTITION_UA: i32 = -1;

/// Trait allowing to customize the partitioning of messages.
pub trait Partitioner {
    /// Return partition to use for `topic_name`.
    fn partition(
        &self,
        topic_name: &str,
        key: Option<&[u8]>,
        partition_cnt: i32,
        is_partition_available: impl Fn(i32) -> bool,
    ) -> i32;
}

/// Placeholder used when no custom partitioner is needed.
#[derive(Clone, Debug, Default)]
pub struct NoCustomPartitioner {}

impl Partitioner for NoCustomPartitioner {
    /// Never called: a context without a custom partitioner returns `None`.
    fn partition(
        &self,
        _topic_name: &str,
        _key: Option<&[u8]>,
        _partition_cnt: i32,
        _is_partition_available: impl Fn(i32) -> bool,
    ) -> i32 {
        PARTITION_UA
    }
}

/// An inert producer context that can be used when customizations are not required.
#[derive(Clone, Debug, Default)]
pub struct DefaultProducerContext;

impl ClientContext for DefaultProducerContext {}

impl ProducerContext<NoCustomPartitioner> for DefaultProducerContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// Common trait for all producers.
pub trait Producer<C = DefaultProducerContext, Part = NoCustomPartitioner>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    /// Returns the [`Client`] underlying this producer.
    fn client(&self) -> &Client<C>;

    /// Returns a reference to the [`ProducerContext`] used to create this producer.
    fn context(&self) -> &Arc<C> {
        self.client().context()
    }

    /// Returns the number of messages that are either waiting to be sent or are sent but are
    /// waiting to be acknowledged (or whose delivery report was not served yet).
    fn in_flight_count(&self) -> i32;

    /// Flushes any pending messages, serving their delivery reports. Returns
    /// `KafkaError::Flush(OperationTimedOut)` if some are still pending at the timeout.
    fn flush<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()>;

    /// Purge messages currently handled by the producer instance (see the module's
    /// documentation of known differences: kafkalite appends as it goes, so only what
    /// waits in a batch can be purged, and it is delivered instead).
    fn purge(&self, flags: PurgeConfig);

    /// Enable sending transactions with this producer.
    fn init_transactions<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()>;

    /// Begins a new transaction.
    fn begin_transaction(&self) -> KafkaResult<()>;

    /// Associates an offset commit operation with this transaction.
    fn send_offsets_to_transaction<T: Into<Timeout>>(
        &self,
        offsets: &TopicPartitionList,
        cgm: &ConsumerGroupMetadata,
        timeout: T,
    ) -> KafkaResult<()>;

    /// Commits the current transaction.
    fn commit_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()>;

    /// Aborts the current transaction.
    fn abort_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()>;
}

/// How to purge messages (librdkafka's purge flags).
#[derive(Default, Clone, Copy, Debug)]
pub struct PurgeConfig {
    pub(crate) queue: bool,
    pub(crate) inflight: bool,
    /// Kept for the flag's sake: purging never waits here.
    #[allow(dead_code)]
    non_blocking: bool,
}

impl PurgeConfig {
    /// Purge messages in the internal queues.
    pub fn queue(self) -> Self {
        Self {
            queue: true,
            ..self
        }
    }

    /// Purge messages in flight.
    pub fn inflight(self) -> Self {
        Self {
            inflight: true,
            ..self
        }
    }

    /// Don't wait for background thread queue purging to finish.
    pub fn non_blocking(self) -> Self {
        Self {
            non_blocking: true,
            ..self
        }
    }

    /// Unsets the flag set by [`queue`](PurgeConfig::queue).
    pub fn no_queue(self) -> Self {
        Self {
            queue: false,
            ..self
        }
    }

    /// Unsets the flag set by [`inflight`](PurgeConfig::inflight).
    pub fn no_inflight(self) -> Self {
        Self {
            inflight: false,
            ..self
        }
    }

    /// Unsets the flag set by [`non_blocking`](PurgeConfig::non_blocking).
    pub fn blocking(self) -> Self {
        Self {
            non_blocking: false,
            ..self
        }
    }
}
