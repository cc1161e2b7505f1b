#![doc = include_str!("../README.md")]

mod clock;
mod cluster;
mod config;
mod error;
mod log;
pub mod record;
pub mod storage;

pub use clock::{Clock, MockClock, SystemClock};
pub use cluster::{
    Cluster, ClusterBuilder, NewTopic, OffsetSpec, PartitionDescription, TopicDescription,
    PARTITIONS_MAX,
};
pub use config::TopicConfig;
pub use error::{Error, ErrorCode, Result};
pub use log::{
    file_stem, segment_base_offset, AppendInfo, FetchData, Log, LogOptions, RecoveryMode,
    RecoveryReport, SegmentInfo,
};
pub use record::{BatchBuilder, Compression, Header, Record, RecordBatch, TimestampType};
