//! Kafka-style string properties and the typed configurations built from them.

mod producer;
mod properties;
mod suggest;
mod topic;

pub use producer::{Acks, IntoProducerConfig, PartitionerKind, ProducerConfig};
pub use properties::Properties;
pub use topic::TopicConfig;
