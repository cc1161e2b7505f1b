//! Kafka-style string properties and the typed configurations built from them.

mod producer;
mod properties;
mod record_format;
mod suggest;
mod topic;

pub use producer::{Acks, IntoProducerConfig, PartitionerKind, ProducerConfig};
pub use properties::Properties;
pub use record_format::{Compression, TimestampType};
pub use topic::TopicConfig;
