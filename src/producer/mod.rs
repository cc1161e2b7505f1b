//! The producer: Kafka's partitioners and record accumulator, batching records into partition
//! logs through one appender thread (and, for part of a transaction's last batches, the
//! committing thread).

mod accumulator;
mod appender;
mod blocking;
mod builder;
mod client;
mod delivery;
mod group_commit;
mod idempotence;
mod interceptor;
mod memory;
mod metadata_wait;
mod metrics;
mod partitioner;
mod record;
mod serializer;
mod shared_flush;
mod split;
mod transactions;

#[cfg(feature = "testing")]
pub(crate) use accumulator::Accumulator;
pub use builder::ProducerBuilder;
pub use client::Producer;
pub use delivery::DeliveryHandle;
#[cfg(feature = "rdkafka-api")]
pub(crate) use idempotence::Identity;
pub use interceptor::ProducerInterceptor;
pub use metrics::ProducerMetrics;
pub use partitioner::{
    murmur2, partition_for_key, to_positive, Partitioner, RoundRobinPartitioner,
};
pub use record::{PartitionInfo, ProducerRecord, RecordMetadata, SendError};
pub use serializer::{
    BytesSerializer, LongSerializer, Serializer, StringSerializer, TypedProducer, TypedRecord,
    TypedSendError,
};
#[cfg(feature = "rdkafka-api")]
pub(crate) use transactions::State as TransactionState;
