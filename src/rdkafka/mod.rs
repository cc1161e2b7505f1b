//! rust-rdkafka's API on the embedded engine (the `rdkafka-api` feature): code written for
//! the [rdkafka](https://docs.rs/rdkafka) crate runs against a kafkalite cluster with one
//! changed import, and behaves as against a broker, with librdkafka's defaults, partitioners,
//! error codes and callbacks. No librdkafka is involved.
//!
//! ```
//! # #[cfg(feature = "rdkafka-api")] {
//! #[cfg(test)]
//! use rdkafka; // in production
//! use kafkalite::rdkafka; // in tests: the same code, in process
//!
//! use rdkafka::config::ClientConfig;
//! use rdkafka::consumer::{BaseConsumer, Consumer};
//! use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
//! use rdkafka::Message;
//! use std::time::Duration;
//!
//! let mut config = ClientConfig::new();
//! config.set("bootstrap.servers", "memory:rdkafka-doc");
//! let producer: BaseProducer = config.create().unwrap();
//! producer.send(BaseRecord::to("greetings").key("k").payload("hello")).unwrap();
//! producer.flush(Duration::from_secs(5)).unwrap();
//!
//! let consumer: BaseConsumer = config
//!     .clone()
//!     .set("group.id", "readers")
//!     .set("auto.offset.reset", "earliest")
//!     .create()
//!     .unwrap();
//! consumer.subscribe(&["greetings"]).unwrap();
//! let message = loop {
//!     if let Some(message) = consumer.poll(Duration::from_secs(5)) {
//!         break message.unwrap();
//!     }
//! };
//! assert_eq!(message.payload_view::<str>(), Some(Ok("hello")));
//! # }
//! ```
//!
//! `bootstrap.servers` names the cluster: a kafkalite data directory, or `memory:NAME` for a
//! temporary cluster shared by the clients naming it (see [`bootstrap_servers`] to reach a
//! cluster the test opened itself, with a mock clock). The differences from librdkafka that
//! remain are listed in the README's "Testing code written for rdkafka".

pub mod admin;
pub mod client;
pub mod config;
mod config_table;
mod connect;
pub mod consumer;
pub mod error;
mod error_code;
pub mod groups;
pub mod message;
pub mod metadata;
#[cfg(feature = "testing")]
pub mod mocking;
mod partitioner;
pub mod producer;
mod resp_err;
pub mod statistics;
pub mod topic_partition_list;
pub mod util;

/// librdkafka's types that rdkafka re-exports from `rdkafka-sys`.
pub mod types {
    pub use super::error::{RDKafkaConfRes, RDKafkaErrorCode};
    #[cfg(feature = "testing")]
    pub use super::mocking::RDKafkaApiKey;
    pub use super::resp_err::RDKafkaRespErr;
}

pub use client::ClientContext;
pub use config::ClientConfig;
pub use connect::bootstrap_servers;
pub use message::{Message, Timestamp};
pub use statistics::Statistics;
pub use topic_partition_list::{Offset, TopicPartitionList};
pub use util::IntoOpaque;
