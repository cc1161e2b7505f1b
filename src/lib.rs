#![doc = include_str!("../README.md")]

mod clock;
mod cluster;
mod config;
mod consumer;
mod error;
pub mod eventstore;
mod group;
mod log;
mod notify;
mod producer;
mod random;
#[cfg(feature = "rdkafka-api")]
pub mod rdkafka;
pub mod record;
pub mod storage;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod txn;

pub use clock::{Clock, JumpWaker, MockClock, SystemClock};
pub use cluster::{
    is_internal_topic, BackgroundErrors, CleanReport, Cluster, ClusterBuilder, LogCleanerStatus,
    NewTopic, OffsetSpec, OpenReport, PartitionDescription, TopicDescription, PARTITIONS_MAX,
};
pub use config::{
    Acks, AssignorKind, AutoOffsetReset, ConsumerConfig, IntoConsumerConfig, IntoProducerConfig,
    IsolationLevel, PartitionerKind, ProducerConfig, Properties, TopicConfig,
};
pub use consumer::{
    BytesDeserializer, CommitMode, Committer, Consumer, ConsumerBuilder, ConsumerInterceptor,
    ConsumerRecord, ConsumerWaker, DecodeError, Deserializer, LongDeserializer, Offset,
    RebalanceContext, RebalanceListener, RecordStream, RecordView, Records, Recv,
    StringDeserializer, TypedConsumer, TypedConsumerRecord,
};
pub use error::{Error, ErrorCode, ExpectedVersion, Result, SharedIoError, SizeLimit};
pub use group::assignor;
pub use group::assignor::{ConsumerPartitionAssignor, RebalanceProtocol};
pub use group::{
    ConsumerGroupMetadata, GroupDescription, GroupPartitionOffsets, GroupState, MemberDescription,
    Message, OffsetAndMetadata, OffsetAndTimestamp, OffsetReset, Offsets, TopicPartition,
};
pub use log::{
    file_stem, read_producer_snapshot, read_transaction_index, segment_base_offset,
    AbortedTransaction, AppendInfo, CleanStats, Cleanable, Cut, FetchData, Log, LogOptions,
    ProducerSnapshotEntry, ProducerStateInfo, RecoveryMode, RecoveryReport, SegmentInfo,
};
pub use producer::{
    murmur2, partition_for_key, to_positive, BytesSerializer, DeliveryHandle, LongSerializer,
    PartitionInfo, Partitioner, Producer, ProducerBuilder, ProducerInterceptor, ProducerMetrics,
    ProducerRecord, RecordMetadata, RoundRobinPartitioner, SendError, Serializer, StringSerializer,
    TypedProducer, TypedRecord, TypedSendError,
};
pub use txn::{TransactionDescription, TransactionListing, TransactionState};

/// The records of Kafka's internal topics, `__consumer_offsets` and `__transaction_state`,
/// decoded by their Kafka schemas: what `kafkalite dump-log --offsets-decoder` and
/// `consume --formatter OffsetsMessageFormatter` print, for tools of your own.
pub mod internal_topics {
    pub use crate::group::{
        decode_offset_commit_value, decode_offsets_key, OffsetCommitValue, OffsetsTopicKey,
    };
    pub use crate::txn::{
        decode_transaction_log_key, decode_transaction_log_value, TransactionLogValue,
    };
}

/// What the client layers recover when a cluster opens (the cluster layer calls this without
/// knowing them): the transactions a crash left open. Returns what was done, and the first
/// failure.
fn start_services(cluster: &Cluster) -> (Vec<String>, Option<Error>) {
    txn::recover_at_open(cluster)
}

/// The client layers' share of a maintenance pass: transaction timeouts.
fn maintain_services(cluster: &Cluster) -> Result<()> {
    txn::maintain(cluster)
}

pub use record::{BatchBuilder, Compression, Header, Record, RecordBatch, TimestampType};
