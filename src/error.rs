//! The one public error type, with Kafka's names and protocol error codes.

use std::path::PathBuf;

/// `Result` with kafkalite's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, told apart by who must act: the environment (`Io`), the disk
/// (`Corruption`), the caller (Kafka's names such as `InvalidTopic`), the version of
/// kafkalite (`UnsupportedFormat`), or the handle's state (`Closed`, `Locked`, `Failed`).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system call failed.
    #[error("{op} {path}: {source}", path = path.display())]
    Io {
        /// What was being done, e.g. "open" or "fdatasync".
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The error the operating system reported (shared, so that `Error` is `Clone`).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    /// Bytes on disk are damaged in data that was known to be durable.
    #[error(
        "corruption in {path} at byte {position}: {detail}; restore the file from a backup or \
         reopen with RecoveryMode::TruncateCorrupt to repair it, dropping the damaged data and \
         everything after it",
        path = path.display()
    )]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte position in the file where the damage starts.
        position: u64,
        /// What is wrong (which field, what was expected).
        detail: String,
    },
    /// A record batch given to the library by the caller (or read from a file by `dump-log`)
    /// is malformed. A record in the log that does not decode is [`Error::Corruption`].
    #[error("corrupt record batch: {0}")]
    CorruptRecord(String),
    /// A well-formed record the topic cannot accept, as Kafka's `InvalidRecordException`:
    /// a record without a key for a compacted topic (the cleaner keeps records by key).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// A batch from an idempotent producer whose epoch is older than the one the partition
    /// last saw from that producer id (Kafka's `InvalidProducerEpochException`): a newer
    /// instance or epoch has written since. The producer bumps its epoch or is replaced.
    #[error("invalid producer epoch: {0}")]
    InvalidProducerEpoch(String),
    /// A batch from an idempotent producer whose base sequence does not follow the last one
    /// the partition holds from it (Kafka's `OutOfOrderSequenceException`): a batch in
    /// between is missing. kafkalite's producer then bumps its epoch and starts its
    /// sequences again at 0, as Kafka's does.
    #[error("out of order sequence number: {0}")]
    OutOfOrderSequence(String),
    /// A write that does not fit the producer's transaction state (Kafka's
    /// `InvalidTxnStateException`): a non-transactional batch from a producer with an open
    /// transaction in the partition, or a transaction call in the wrong state.
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// A transaction marker from a coordinator older than the last one that wrote to the
    /// partition (Kafka's `TransactionCoordinatorFencedException`).
    #[error("transaction coordinator fenced: {0}")]
    TransactionCoordinatorFenced(String),
    /// A newer producer with the same `transactional.id` has called `init_transactions`, or
    /// the coordinator aborted this producer's transaction on its timeout (Kafka's
    /// `ProducerFencedException`, fatal): close this producer; a new one takes over.
    #[error("producer fenced: {0}")]
    ProducerFenced(String),
    /// A `transaction.timeout.ms` above the cluster's `transaction.max.timeout.ms` (Kafka's
    /// `InvalidTxnTimeoutException`): lower the producer's or raise the cluster's.
    #[error("invalid transaction timeout: {0}")]
    InvalidTransactionTimeout(String),
    /// A committed offset asked for while a transaction holding an offset for that partition
    /// is still open (Kafka's `UnstableOffsetCommitException`, retriable): retry once the
    /// transaction ends. `Consumer::committed` waits for it (up to `default.api.timeout.ms`)
    /// and `poll` retries it; `Consumer::position` returns it.
    #[error("unstable offset commit: {0}")]
    UnstableOffsetCommit(String),
    /// The transaction was aborted before this record could be written (Kafka's
    /// `TransactionAbortedException`): the record is not in the log; send it in a new one.
    #[error("transaction aborted: {0}")]
    TransactionAborted(String),
    /// One append held a batch already written (a duplicate by producer id, epoch and
    /// sequences) together with batches not yet written: append them separately.
    #[error("duplicate sequence number: {0}")]
    DuplicateSequenceNumber(String),
    /// The batch uses a compression codec this build cannot read or write.
    #[error("unsupported compression type {0}: kafkalite reads and writes none and lz4")]
    UnsupportedCompressionType(String),
    /// The topic or partition does not exist.
    #[error("unknown topic or partition: {0}")]
    UnknownTopicOrPartition(String),
    /// The topic name breaks Kafka's naming rules or collides with an existing topic.
    #[error("invalid topic: {0}")]
    InvalidTopic(String),
    /// A topic of that name exists already.
    #[error("topic '{0}' already exists")]
    TopicAlreadyExists(String),
    /// A partition count that is not positive, too large, or not an increase.
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// A replication factor other than 1 (one process holds the only replica).
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    /// A configuration key is unknown or its value is invalid.
    #[error("invalid config '{key}': {message}{}", suggestion.as_ref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    InvalidConfig {
        /// The key at fault.
        key: String,
        /// What is wrong with it.
        message: String,
        /// The nearest valid key, when the key was unknown.
        suggestion: Option<String>,
    },
    /// A record or batch larger than a size limit: the producer's `max.request.size` or
    /// `buffer.memory`, or the topic's `max.message.bytes`. `limit` names the one exceeded.
    #[error(
        "{size} bytes is larger than {limit} ({max}); raise {key} in the {owner}'s config \
         or send smaller records",
        key = limit.key(),
        owner = limit.owner()
    )]
    RecordTooLarge {
        /// Size of the rejected record (producer) or batch (log append) in bytes.
        size: usize,
        /// The limit in force, in bytes.
        max: usize,
        /// Which configured limit `max` is.
        limit: SizeLimit,
    },
    /// An append larger than the topic's `segment.bytes`.
    #[error("append of {size} bytes is larger than segment.bytes ({max})")]
    RecordBatchTooLarge {
        /// Size of the rejected append in bytes.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// A conditional append ([`crate::Log::append_if`]) found the log ending elsewhere than
    /// expected: someone appended since the caller looked. Nothing was written.
    #[error("{partition} ends at offset {actual}, not {expected}: records were appended since; read them, decide again and retry with end offset {actual}")]
    UnexpectedLogEndOffset {
        /// `topic-partition`.
        partition: String,
        /// The end offset the append required.
        expected: i64,
        /// The log's end offset.
        actual: i64,
    },
    /// An event-store append found its stream at another version than the one expected.
    /// Nothing was written: load the stream again, decide again, and retry.
    #[error("wrong expected version for stream '{stream}': expected {expected}, but the stream {}", match actual { Some(v) => format!("is at version {v}"), None => "does not exist".to_string() })]
    WrongExpectedVersion {
        /// The stream appended to.
        stream: String,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The stream's version (that of its last event), `None` if it has no events.
        actual: Option<u64>,
    },
    /// A read from an offset outside `[log start, log end]`.
    #[error("offset {offset} is out of range [{log_start}, {log_end}] for {partition}")]
    OffsetOutOfRange {
        /// `topic-partition` that was read.
        partition: String,
        /// The requested offset.
        offset: i64,
        /// First readable offset.
        log_start: i64,
        /// Offset the next record will get.
        log_end: i64,
    },
    /// The path is not kafkalite's to use: a file where a directory belongs, or a directory
    /// holding what kafkalite did not write. Nothing was created or changed in it.
    #[error(
        "{path} is not a kafkalite data directory: {reason}; kafkalite only opens a new or \
         empty directory, or one it wrote (with meta.properties), and never changes what it \
         did not create: choose another directory, or move the foreign entries out",
        path = path.display()
    )]
    NotOwned {
        /// The path refused.
        path: PathBuf,
        /// What was found there.
        reason: String,
    },
    /// An error a broker returned by its protocol code, with no condition of kafkalite's
    /// own behind it: what the test kit's fault rules inject (`Cluster::testing`, feature
    /// `testing`), reported as Kafka's client reports the broker's answer; also the group
    /// coordinator's `UNKNOWN_MEMBER_ID` for an offset commit made outside a consumer
    /// (`Cluster::alter_group_offsets` racing a member that joins).
    #[error("{code:?} (Kafka error code {number}): {detail}", number = code.as_i16())]
    Kafka {
        /// The protocol error.
        code: ErrorCode,
        /// Which operation failed, and why.
        detail: String,
    },
    /// `meta.properties` names another cluster than the data directory's metadata log
    /// (Kafka's `InconsistentClusterIdException`).
    #[error(
        "the cluster.id {found} in {path} does not match the cluster id {expected} stored in \
         the metadata log: the file was copied from another data directory or damaged; restore \
         it, or reopen with RecoveryMode::TruncateCorrupt (`kafkalite repair`) to rewrite it \
         from the metadata log",
        path = path.display()
    )]
    InconsistentClusterId {
        /// The `meta.properties` file.
        path: PathBuf,
        /// The id it names.
        found: String,
        /// The id in the metadata log.
        expected: String,
    },
    /// Another handle, in this process or another, holds the directory's lock (still held
    /// after a quarter second of retries).
    #[error("data directory {path} is locked by another kafkalite handle; close it first", path = path.display())]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// A blocking call ran out of time (Kafka's TimeoutException), e.g. `send` waiting longer
    /// than `max.block.ms` for buffer memory.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A non-blocking call found no room (`try_send` with `buffer.memory` in use).
    #[error("queue full: {0}")]
    QueueFull(String),
    /// A blocking call was made from a delivery callback or interceptor, on the appender thread
    /// that would have to finish it: it would never return.
    #[error("would deadlock: {0} called from a delivery callback; do it from another thread")]
    WouldDeadlock(&'static str),
    /// A key or value could not be serialized (Kafka's SerializationException).
    #[error("serialization failed: {0}")]
    Serialization(String),
    /// The handle, log or cluster was closed.
    #[error("closed: the cluster or log was closed; open it again")]
    Closed,
    /// A file kafkalite keeps was written by a newer kafkalite, in a format this one cannot
    /// read. It is left as it is (it may hold what the log no longer does, such as the
    /// versions of streams whose events retention removed).
    #[error(
        "{path} is in format version {found}, written by a newer kafkalite; this one reads \
         version {supported}: open the data directory with that kafkalite",
        path = path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format version the file says it is in.
        found: u32,
        /// The newest format version this kafkalite reads.
        supported: u32,
    },
    /// A commit from a member that is no longer part of its group's current generation (it
    /// was expelled after `max.poll.interval.ms`, or a rebalance completed without it), or
    /// from a consumer without group membership while the group has active members.
    #[error("commit failed: {0}; the group rebalanced and its partitions may belong to another member now; poll again to rejoin")]
    CommitFailed(String),
    /// The group is rebalancing; retry after the next `poll`.
    #[error("rebalance in progress: {0}")]
    RebalanceInProgress(String),
    /// A consumer offers no assignor that the group's members all support.
    #[error("inconsistent group protocol: {0}; give every member of a group a common partition.assignment.strategy")]
    InconsistentGroupProtocol(String),
    /// The group leader's partition assignor failed: it returned an error or panicked, or
    /// its assignment names a member not in the group or a partition that does not exist, or
    /// (cooperative protocol) moves a partition straight from one owner to another. The
    /// rebalance waits; the leader's next `poll` runs the assignor again.
    #[error("partition assignor '{assignor}' failed: {reason}")]
    AssignorFailed {
        /// The assignor's name.
        assignor: String,
        /// What went wrong.
        reason: String,
    },
    /// Another consumer with the same `group.instance.id` joined, fencing this one.
    #[error("fenced: another consumer joined with group.instance.id '{0}'; give each static member its own id")]
    FencedInstanceId(String),
    /// A commit's metadata string is longer than `offset.metadata.max.bytes` (4096).
    #[error("offset metadata of {size} bytes is larger than offset.metadata.max.bytes ({max})")]
    OffsetMetadataTooLarge {
        /// Length of the metadata in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A group that has active members cannot be deleted or reset.
    #[error("group '{group}' is not empty (state {state}); stop its consumers first")]
    GroupNotEmpty {
        /// The group.
        group: String,
        /// Its state.
        state: String,
    },
    /// No such consumer group.
    #[error("consumer group '{0}' does not exist")]
    GroupIdNotFound(String),
    /// A group id that cannot be stored: longer than the 32767 bytes of Kafka's string fields
    /// (an `i16` length prefix in the `__consumer_offsets` key).
    #[error("invalid group id: {0}")]
    InvalidGroupId(String),
    /// A subscription pattern that is not a valid regular expression.
    #[error("invalid regular expression: {0}")]
    InvalidRegularExpression(String),
    /// A call that the consumer's current state does not allow (Kafka's
    /// IllegalStateException), e.g. `seek` on an unassigned partition.
    #[error("illegal state: {0}")]
    IllegalState(String),
    /// A blocking consumer call was interrupted by its waker (Kafka's WakeupException).
    #[error("woken up: a blocking call was interrupted by ConsumerWaker::wakeup")]
    Wakeup,
    /// An earlier sync failed; the partition refuses writes until it is reopened.
    #[error(
        "{partition} is failed after an I/O error during sync ({op} {path}: {source}); data \
         since the last successful sync may be lost; reopen the cluster",
        path = path.display()
    )]
    Failed {
        /// `topic-partition` that failed.
        partition: String,
        /// The operation that failed, e.g. "fdatasync".
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The error the operating system reported for the first failed sync; `source()` is
        /// this `io::Error` itself.
        #[source]
        source: SharedIoError,
    },
}

/// An `io::Error` shared by the clones of an [`Error`] (so that `Error` is `Clone`). It
/// dereferences to the `io::Error`, and is deliberately not an `Error` itself: an error
/// holding it reports the `io::Error` as its `source()`, which `downcast_ref::<io::Error>()`
/// finds (it would find only the wrapper otherwise).
#[derive(Debug, Clone)]
pub struct SharedIoError(std::sync::Arc<std::io::Error>);

impl SharedIoError {
    pub(crate) fn new(error: std::io::Error) -> Self {
        SharedIoError(std::sync::Arc::new(error))
    }
}

impl From<std::sync::Arc<std::io::Error>> for SharedIoError {
    fn from(error: std::sync::Arc<std::io::Error>) -> Self {
        SharedIoError(error)
    }
}

impl std::ops::Deref for SharedIoError {
    type Target = std::io::Error;
    fn deref(&self) -> &std::io::Error {
        &self.0
    }
}

impl std::fmt::Display for SharedIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The state an event-store append expects its stream to be in (optimistic concurrency, as
/// KurrentDB's `StreamState`/revision and Eventuous's `ExpectedStreamVersion`). A stream's
/// version is that of its last event; the first event is version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No check: append whatever the stream holds.
    Any,
    /// The stream must have no events (creating it).
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must be this version.
    Exact(u64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::StreamExists => f.write_str("an existing stream"),
            ExpectedVersion::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// The configured size limit that an [`Error::RecordTooLarge`] exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SizeLimit {
    /// The producer's `max.request.size`: the largest record a producer sends.
    MaxRequestSize,
    /// The producer's `buffer.memory`: a record must fit in the producer's buffer.
    BufferMemory,
    /// The topic's `max.message.bytes`: the largest batch the topic's log accepts.
    MaxMessageBytes,
}

impl SizeLimit {
    /// The configuration key to raise, as Kafka spells it.
    pub fn key(self) -> &'static str {
        match self {
            SizeLimit::MaxRequestSize => "max.request.size",
            SizeLimit::BufferMemory => "buffer.memory",
            SizeLimit::MaxMessageBytes => "max.message.bytes",
        }
    }

    /// Whose configuration holds the key: `"producer"` or `"topic"`.
    pub fn owner(self) -> &'static str {
        match self {
            SizeLimit::MaxRequestSize | SizeLimit::BufferMemory => "producer",
            SizeLimit::MaxMessageBytes => "topic",
        }
    }
}

impl std::fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {}'s {}", self.owner(), self.key())
    }
}

/// Kafka's protocol error codes for the conditions kafkalite reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 1: OFFSET_OUT_OF_RANGE.
    OffsetOutOfRange,
    /// 45: OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrderSequenceNumber,
    /// 46: DUPLICATE_SEQUENCE_NUMBER.
    DuplicateSequenceNumber,
    /// 47: INVALID_PRODUCER_EPOCH.
    InvalidProducerEpoch,
    /// 48: INVALID_TXN_STATE.
    InvalidTxnState,
    /// 52: TRANSACTION_COORDINATOR_FENCED.
    TransactionCoordinatorFenced,
    /// 50: INVALID_TRANSACTION_TIMEOUT.
    InvalidTransactionTimeout,
    /// 88: UNSTABLE_OFFSET_COMMIT.
    UnstableOffsetCommit,
    /// 90: PRODUCER_FENCED.
    ProducerFenced,
    /// 2: CORRUPT_MESSAGE.
    CorruptMessage,
    /// 3: UNKNOWN_TOPIC_OR_PARTITION.
    UnknownTopicOrPartition,
    /// 10: MESSAGE_TOO_LARGE.
    MessageTooLarge,
    /// 17: INVALID_TOPIC_EXCEPTION.
    InvalidTopic,
    /// 18: RECORD_LIST_TOO_LARGE.
    RecordListTooLarge,
    /// 36: TOPIC_ALREADY_EXISTS.
    TopicAlreadyExists,
    /// 37: INVALID_PARTITIONS.
    InvalidPartitions,
    /// 38: INVALID_REPLICATION_FACTOR.
    InvalidReplicationFactor,
    /// 40: INVALID_CONFIG.
    InvalidConfig,
    /// 56: KAFKA_STORAGE_ERROR.
    KafkaStorageError,
    /// 76: UNSUPPORTED_COMPRESSION_TYPE.
    UnsupportedCompressionType,
    /// 87: INVALID_RECORD.
    InvalidRecord,
    /// 7: REQUEST_TIMED_OUT (Kafka's TimeoutException, BufferExhaustedException).
    RequestTimedOut,
    /// 12: OFFSET_METADATA_TOO_LARGE.
    OffsetMetadataTooLarge,
    /// 22: ILLEGAL_GENERATION (Kafka's CommitFailedException).
    IllegalGeneration,
    /// 23: INCONSISTENT_GROUP_PROTOCOL.
    InconsistentGroupProtocol,
    /// 27: REBALANCE_IN_PROGRESS.
    RebalanceInProgress,
    /// 68: NON_EMPTY_GROUP.
    NonEmptyGroup,
    /// 69: GROUP_ID_NOT_FOUND.
    GroupIdNotFound,
    /// 24: INVALID_GROUP_ID.
    InvalidGroupId,
    /// 82: FENCED_INSTANCE_ID.
    FencedInstanceId,
    /// 104: INCONSISTENT_CLUSTER_ID.
    InconsistentClusterId,
    /// -1: UNKNOWN_SERVER_ERROR.
    UnknownServerError,
    /// 5: LEADER_NOT_AVAILABLE (retriable).
    LeaderNotAvailable,
    /// 6: NOT_LEADER_OR_FOLLOWER (retriable).
    NotLeaderOrFollower,
    /// 8: BROKER_NOT_AVAILABLE.
    BrokerNotAvailable,
    /// 13: NETWORK_EXCEPTION (retriable).
    NetworkException,
    /// 14: COORDINATOR_LOAD_IN_PROGRESS (retriable).
    CoordinatorLoadInProgress,
    /// 15: COORDINATOR_NOT_AVAILABLE (retriable).
    CoordinatorNotAvailable,
    /// 16: NOT_COORDINATOR (retriable).
    NotCoordinator,
    /// 19: NOT_ENOUGH_REPLICAS (retriable).
    NotEnoughReplicas,
    /// 20: NOT_ENOUGH_REPLICAS_AFTER_APPEND (retriable).
    NotEnoughReplicasAfterAppend,
    /// 25: UNKNOWN_MEMBER_ID.
    UnknownMemberId,
    /// 29: TOPIC_AUTHORIZATION_FAILED.
    TopicAuthorizationFailed,
    /// 30: GROUP_AUTHORIZATION_FAILED.
    GroupAuthorizationFailed,
    /// 31: CLUSTER_AUTHORIZATION_FAILED.
    ClusterAuthorizationFailed,
    /// 44: POLICY_VIOLATION.
    PolicyViolation,
    /// 51: CONCURRENT_TRANSACTIONS (retriable).
    ConcurrentTransactions,
    /// 53: TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
    TransactionalIdAuthorizationFailed,
    /// 89: THROTTLING_QUOTA_EXCEEDED (retriable).
    ThrottlingQuotaExceeded,
}

impl ErrorCode {
    /// The number Kafka's protocol uses for this error.
    pub fn as_i16(self) -> i16 {
        match self {
            ErrorCode::OffsetOutOfRange => 1,
            ErrorCode::CorruptMessage => 2,
            ErrorCode::UnknownTopicOrPartition => 3,
            ErrorCode::MessageTooLarge => 10,
            ErrorCode::InvalidTopic => 17,
            ErrorCode::RecordListTooLarge => 18,
            ErrorCode::TopicAlreadyExists => 36,
            ErrorCode::InvalidPartitions => 37,
            ErrorCode::InvalidReplicationFactor => 38,
            ErrorCode::InvalidConfig => 40,
            ErrorCode::KafkaStorageError => 56,
            ErrorCode::UnsupportedCompressionType => 76,
            ErrorCode::InvalidRecord => 87,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::DuplicateSequenceNumber => 46,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::InvalidTxnState => 48,
            ErrorCode::TransactionCoordinatorFenced => 52,
            ErrorCode::InvalidTransactionTimeout => 50,
            ErrorCode::UnstableOffsetCommit => 88,
            ErrorCode::ProducerFenced => 90,
            ErrorCode::RequestTimedOut => 7,
            ErrorCode::OffsetMetadataTooLarge => 12,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::InconsistentGroupProtocol => 23,
            ErrorCode::RebalanceInProgress => 27,
            ErrorCode::NonEmptyGroup => 68,
            ErrorCode::GroupIdNotFound => 69,
            ErrorCode::InvalidGroupId => 24,
            ErrorCode::FencedInstanceId => 82,
            ErrorCode::InconsistentClusterId => 104,
            ErrorCode::UnknownServerError => -1,
            ErrorCode::LeaderNotAvailable => 5,
            ErrorCode::NotLeaderOrFollower => 6,
            ErrorCode::BrokerNotAvailable => 8,
            ErrorCode::NetworkException => 13,
            ErrorCode::CoordinatorLoadInProgress => 14,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::NotEnoughReplicas => 19,
            ErrorCode::NotEnoughReplicasAfterAppend => 20,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::TopicAuthorizationFailed => 29,
            ErrorCode::GroupAuthorizationFailed => 30,
            ErrorCode::ClusterAuthorizationFailed => 31,
            ErrorCode::PolicyViolation => 44,
            ErrorCode::ConcurrentTransactions => 51,
            ErrorCode::TransactionalIdAuthorizationFailed => 53,
            ErrorCode::ThrottlingQuotaExceeded => 89,
        }
    }

    /// The error with Kafka's protocol number `code`, if kafkalite has it.
    pub fn from_i16(code: i16) -> Option<ErrorCode> {
        Some(match code {
            -1 => ErrorCode::UnknownServerError,
            1 => ErrorCode::OffsetOutOfRange,
            2 => ErrorCode::CorruptMessage,
            3 => ErrorCode::UnknownTopicOrPartition,
            5 => ErrorCode::LeaderNotAvailable,
            6 => ErrorCode::NotLeaderOrFollower,
            7 => ErrorCode::RequestTimedOut,
            8 => ErrorCode::BrokerNotAvailable,
            10 => ErrorCode::MessageTooLarge,
            12 => ErrorCode::OffsetMetadataTooLarge,
            13 => ErrorCode::NetworkException,
            14 => ErrorCode::CoordinatorLoadInProgress,
            15 => ErrorCode::CoordinatorNotAvailable,
            16 => ErrorCode::NotCoordinator,
            17 => ErrorCode::InvalidTopic,
            18 => ErrorCode::RecordListTooLarge,
            19 => ErrorCode::NotEnoughReplicas,
            20 => ErrorCode::NotEnoughReplicasAfterAppend,
            22 => ErrorCode::IllegalGeneration,
            23 => ErrorCode::InconsistentGroupProtocol,
            24 => ErrorCode::InvalidGroupId,
            25 => ErrorCode::UnknownMemberId,
            27 => ErrorCode::RebalanceInProgress,
            29 => ErrorCode::TopicAuthorizationFailed,
            30 => ErrorCode::GroupAuthorizationFailed,
            31 => ErrorCode::ClusterAuthorizationFailed,
            36 => ErrorCode::TopicAlreadyExists,
            37 => ErrorCode::InvalidPartitions,
            38 => ErrorCode::InvalidReplicationFactor,
            40 => ErrorCode::InvalidConfig,
            44 => ErrorCode::PolicyViolation,
            45 => ErrorCode::OutOfOrderSequenceNumber,
            46 => ErrorCode::DuplicateSequenceNumber,
            47 => ErrorCode::InvalidProducerEpoch,
            48 => ErrorCode::InvalidTxnState,
            50 => ErrorCode::InvalidTransactionTimeout,
            51 => ErrorCode::ConcurrentTransactions,
            52 => ErrorCode::TransactionCoordinatorFenced,
            53 => ErrorCode::TransactionalIdAuthorizationFailed,
            56 => ErrorCode::KafkaStorageError,
            68 => ErrorCode::NonEmptyGroup,
            69 => ErrorCode::GroupIdNotFound,
            76 => ErrorCode::UnsupportedCompressionType,
            82 => ErrorCode::FencedInstanceId,
            87 => ErrorCode::InvalidRecord,
            88 => ErrorCode::UnstableOffsetCommit,
            89 => ErrorCode::ThrottlingQuotaExceeded,
            90 => ErrorCode::ProducerFenced,
            104 => ErrorCode::InconsistentClusterId,
            _ => return None,
        })
    }

    /// Whether Kafka's client retries this error by itself: its exception is a
    /// `RetriableException` (`InvalidMetadataException`, `TimeoutException`,
    /// `CorruptRecordException`, `NotEnoughReplicasException`, ...).
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::LeaderNotAvailable
                | ErrorCode::NotLeaderOrFollower
                | ErrorCode::RequestTimedOut
                | ErrorCode::NetworkException
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::NotEnoughReplicasAfterAppend
                | ErrorCode::KafkaStorageError
                | ErrorCode::ConcurrentTransactions
                | ErrorCode::UnstableOffsetCommit
                | ErrorCode::ThrottlingQuotaExceeded
        )
    }
}

impl Error {
    /// Kafka's protocol error code for this error, if Kafka has one.
    pub fn code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::Corruption { .. } | Error::CorruptRecord(_) => ErrorCode::CorruptMessage,
            Error::UnsupportedCompressionType(_) => ErrorCode::UnsupportedCompressionType,
            Error::InvalidRecord(_) => ErrorCode::InvalidRecord,
            Error::OutOfOrderSequence(_) => ErrorCode::OutOfOrderSequenceNumber,
            Error::DuplicateSequenceNumber(_) => ErrorCode::DuplicateSequenceNumber,
            Error::InvalidProducerEpoch(_) => ErrorCode::InvalidProducerEpoch,
            Error::InvalidTxnState(_) => ErrorCode::InvalidTxnState,
            Error::TransactionCoordinatorFenced(_) => ErrorCode::TransactionCoordinatorFenced,
            Error::ProducerFenced(_) => ErrorCode::ProducerFenced,
            Error::InvalidTransactionTimeout(_) => ErrorCode::InvalidTransactionTimeout,
            Error::UnstableOffsetCommit(_) => ErrorCode::UnstableOffsetCommit,
            Error::TransactionAborted(_) => return None,
            Error::UnknownTopicOrPartition(_) => ErrorCode::UnknownTopicOrPartition,
            Error::InvalidTopic(_) => ErrorCode::InvalidTopic,
            Error::TopicAlreadyExists(_) => ErrorCode::TopicAlreadyExists,
            Error::InvalidPartitions(_) => ErrorCode::InvalidPartitions,
            Error::InvalidReplicationFactor(_) => ErrorCode::InvalidReplicationFactor,
            Error::InvalidConfig { .. } => ErrorCode::InvalidConfig,
            Error::RecordTooLarge { .. } => ErrorCode::MessageTooLarge,
            Error::RecordBatchTooLarge { .. } => ErrorCode::RecordListTooLarge,
            Error::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            Error::UnexpectedLogEndOffset { .. } | Error::WrongExpectedVersion { .. } => {
                return None
            }
            Error::Io { .. } | Error::Failed { .. } => ErrorCode::KafkaStorageError,
            Error::Timeout(_) | Error::QueueFull(_) => ErrorCode::RequestTimedOut,
            Error::CommitFailed(_) => ErrorCode::IllegalGeneration,
            Error::RebalanceInProgress(_) => ErrorCode::RebalanceInProgress,
            Error::InconsistentGroupProtocol(_) => ErrorCode::InconsistentGroupProtocol,
            Error::FencedInstanceId(_) => ErrorCode::FencedInstanceId,
            Error::OffsetMetadataTooLarge { .. } => ErrorCode::OffsetMetadataTooLarge,
            Error::GroupNotEmpty { .. } => ErrorCode::NonEmptyGroup,
            Error::GroupIdNotFound(_) => ErrorCode::GroupIdNotFound,
            Error::InvalidGroupId(_) => ErrorCode::InvalidGroupId,
            Error::IllegalState(_) | Error::Wakeup | Error::InvalidRegularExpression(_) => {
                return None
            }
            Error::Serialization(_) | Error::WouldDeadlock(_) => return None,
            Error::AssignorFailed { .. } => return None,
            Error::InconsistentClusterId { .. } => ErrorCode::InconsistentClusterId,
            Error::Kafka { code, .. } => *code,
            Error::Locked { .. } | Error::Closed | Error::NotOwned { .. } => return None,
            Error::UnsupportedFormat { .. } => return None,
        })
    }

    /// Builds an [`Error::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source: std::sync::Arc::new(source),
        }
    }

    /// Builds an [`Error::Corruption`].
    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        position: u64,
        detail: impl Into<String>,
    ) -> Error {
        Error::Corruption {
            path: path.into(),
            position,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reports_the_io_error_itself_as_its_source() {
        let error = Error::Failed {
            partition: "t-0".into(),
            op: "fdatasync",
            path: "t-0/0.log".into(),
            source: SharedIoError::new(std::io::Error::from_raw_os_error(libc::EIO)),
        };
        let source = std::error::Error::source(&error.clone()).map(|s| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|e| e.raw_os_error())
        });
        assert_eq!(source, Some(Some(libc::EIO)), "{error}");
    }

    #[test]
    fn from_i16_inverts_as_i16() {
        let mut known = 0;
        for number in i16::MIN..=i16::MAX {
            if let Some(code) = ErrorCode::from_i16(number) {
                assert_eq!(code.as_i16(), number, "{code:?}");
                known += 1;
            }
        }
        // One number per code: as many as `as_i16` has arms (Kafka's numbers, from its
        // Errors.java: 1 OFFSET_OUT_OF_RANGE, 6 NOT_LEADER_OR_FOLLOWER, 90 PRODUCER_FENCED).
        assert_eq!(known, 49);
        assert_eq!(ErrorCode::from_i16(1), Some(ErrorCode::OffsetOutOfRange));
        assert_eq!(ErrorCode::from_i16(6), Some(ErrorCode::NotLeaderOrFollower));
        assert_eq!(ErrorCode::from_i16(90), Some(ErrorCode::ProducerFenced));
        assert_eq!(ErrorCode::from_i16(0), None);
    }
}
