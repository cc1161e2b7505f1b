//! Kafka-style string properties and the typed configurations built from them.

mod consumer;
mod producer;
mod properties;
mod record_format;
mod spec;
mod suggest;
mod topic;

pub use consumer::{
    AssignorKind, AutoOffsetReset, ConsumerConfig, IntoConsumerConfig, IsolationLevel,
};
pub use producer::{Acks, IntoProducerConfig, PartitionerKind, ProducerConfig};
pub use properties::Properties;
pub use record_format::{Compression, TimestampType};
pub(crate) use suggest::nearest;
pub use topic::TopicConfig;
