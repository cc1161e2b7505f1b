//! kafkalite: Apache Kafka's model as an embedded library.

mod clock;
pub mod cluster;
pub mod config;
mod error;
pub mod log;
pub mod record;
pub mod storage;

pub use clock::{Clock, MockClock, SystemClock};
pub use cluster::{Cluster, ClusterBuilder, NewTopic, OffsetSpec, TopicDescription};
pub use config::TopicConfig;
pub use error::{Error, ErrorCode, Result};
pub use log::{AppendInfo, FetchData, Log, RecoveryMode};
pub use record::{BatchBuilder, Compression, Header, Record, RecordBatch, TimestampType};
