//! The producer: Kafka's partitioners and record accumulator, batching records into partition
//! logs through one appender thread.

mod accumulator;
mod appender;
mod client;
mod delivery;
mod memory;
mod metrics;
mod partitioner;
mod record;

pub use client::Producer;
pub use delivery::DeliveryHandle;
pub use metrics::ProducerMetrics;
pub use partitioner::{
    murmur2, partition_for_key, to_positive, Partitioner, RoundRobinPartitioner,
};
pub use record::{ProducerRecord, RecordMetadata, SendError};
