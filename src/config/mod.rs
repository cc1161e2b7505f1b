//! Kafka-style string properties and the typed configurations built from them.

mod suggest;
mod topic;

pub use topic::TopicConfig;
