//! librdkafka's error codes as rust-rdkafka's `RDKafkaErrorCode`: the same variants, numbers
//! and descriptions (`rd_kafka_err2str`), so that code matching on them, or printing them,
//! behaves as against librdkafka. Generated from rdkafka-sys's `types.rs` and librdkafka's
//! `rd_kafka_err_descs` (src/rdkafka.c); keep it that way rather than editing by hand.

use std::fmt;

/// Native rdkafka error code: negative numbers are librdkafka's local errors, the others
/// Kafka's protocol error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RDKafkaErrorCode {
    #[doc(hidden)]
    Begin = -200,
    /// Received message is incorrect.
    BadMessage = -199,
    /// Bad/unknown compression.
    BadCompression = -198,
    /// Broker is going away.
    BrokerDestroy = -197,
    /// Generic failure.
    Fail = -196,
    /// Broker transport failure.
    BrokerTransportFailure = -195,
    /// Critical system resource.
    CriticalSystemResource = -194,
    /// Failed to resolve broker.
    Resolve = -193,
    /// Produced message timed out.
    MessageTimedOut = -192,
    /// Reached the end of the topic+partition queue on the broker. Not really an error.
    PartitionEOF = -191,
    /// Permanent: Partition does not exist in cluster.
    UnknownPartition = -190,
    /// File or filesystem error.
    FileSystem = -189,
    /// Permanent: Topic does not exist in cluster.
    UnknownTopic = -188,
    /// All broker connections are down.
    AllBrokersDown = -187,
    /// Invalid argument, or invalid configuration.
    InvalidArgument = -186,
    /// Operation timed out.
    OperationTimedOut = -185,
    /// Queue is full.
    QueueFull = -184,
    /// ISR count < required.acks.
    ISRInsufficient = -183,
    /// Broker node update.
    NodeUpdate = -182,
    /// SSL error.
    SSL = -181,
    /// Waiting for coordinator to become available.
    WaitingForCoordinator = -180,
    /// Unknown client group.
    UnknownGroup = -179,
    /// Operation in progress.
    InProgress = -178,
    /// Previous operation in progress, wait for it to finish.
    PreviousInProgress = -177,
    /// This operation would interfere with an existing subscription.
    ExistingSubscription = -176,
    /// Assigned partitions (rebalance_cb).
    AssignPartitions = -175,
    /// Revoked partitions (rebalance_cb).
    RevokePartitions = -174,
    /// Conflicting use.
    Conflict = -173,
    /// Wrong state.
    State = -172,
    /// Unknown protocol.
    UnknownProtocol = -171,
    /// Not implemented.
    NotImplemented = -170,
    /// Authentication failure.
    Authentication = -169,
    /// No stored offset.
    NoOffset = -168,
    /// Outdated.
    Outdated = -167,
    /// Timed out in queue.
    TimedOutQueue = -166,
    /// Feature not supported by broker.
    UnsupportedFeature = -165,
    /// Awaiting cache update.
    WaitCache = -164,
    /// Operation interrupted (e.g., due to yield).
    Interrupted = -163,
    /// Key serialization error.
    KeySerialization = -162,
    /// Value serialization error.
    ValueSerialization = -161,
    /// Key deserialization error.
    KeyDeserialization = -160,
    /// Value deserialization error.
    ValueDeserialization = -159,
    /// Partial response.
    Partial = -158,
    /// Modification attempted on read-only object.
    ReadOnly = -157,
    /// No such entry or item not found.
    NoEnt = -156,
    /// Read underflow.
    Underflow = -155,
    /// Invalid type.
    InvalidType = -154,
    /// Retry operation.
    Retry = -153,
    /// Purged in queue.
    PurgeQueue = -152,
    /// Purged in flight.
    PurgeInflight = -151,
    /// Fatal error: see rd_kafka_fatal_error().
    Fatal = -150,
    /// Inconsistent state.
    Inconsistent = -149,
    /// Gap-less ordering would not be guaranteed if proceeding.
    GaplessGuarantee = -148,
    /// Maximum poll interval exceeded.
    PollExceeded = -147,
    /// Unknown broker.
    UnknownBroker = -146,
    /// Functionality not configured.
    NotConfigured = -145,
    /// Instance has been fenced.
    Fenced = -144,
    /// Application generated error.
    Application = -143,
    /// Assignment lost.
    AssignmentLost = -142,
    /// No operation performed.
    Noop = -141,
    /// No offset to automatically reset to.
    AutoOffsetReset = -140,
    /// Partition log truncation detected
    LogTruncation = -139,
    /// A different record in the batch was invalid and this message failed persisting.
    InvalidDifferentRecord = -138,
    /// Broker is going away but client isn't terminating */
    DestroyBroker = -137,
    #[doc(hidden)]
    End = -100,
    /// Unknown broker error.
    Unknown = -1,
    /// Success.
    NoError = 0,
    /// Offset out of range.
    OffsetOutOfRange = 1,
    /// Invalid message.
    InvalidMessage = 2,
    /// Unknown topic or partition.
    UnknownTopicOrPartition = 3,
    /// Invalid message size.
    InvalidMessageSize = 4,
    /// Leader not available.
    LeaderNotAvailable = 5,
    /// Not leader for partition.
    NotLeaderForPartition = 6,
    /// Request timed out.
    RequestTimedOut = 7,
    /// Broker not available.
    BrokerNotAvailable = 8,
    /// Replica not available.
    ReplicaNotAvailable = 9,
    /// Message size too large.
    MessageSizeTooLarge = 10,
    /// Stale controller epoch code.
    StaleControllerEpoch = 11,
    /// Offset metadata string too large.
    OffsetMetadataTooLarge = 12,
    /// Broker disconnected before response received.
    NetworkException = 13,
    /// Coordinator load in progress.
    CoordinatorLoadInProgress = 14,
    /// Coordinator not available.
    CoordinatorNotAvailable = 15,
    /// Not coordinator.
    NotCoordinator = 16,
    /// Invalid topic.
    InvalidTopic = 17,
    /// Message batch larger than configured server segment size.
    MessageBatchTooLarge = 18,
    /// Not enough in-sync replicas.
    NotEnoughReplicas = 19,
    /// Message(s) written to insufficient number of in-sync replicas.
    NotEnoughReplicasAfterAppend = 20,
    /// Invalid required acks value.
    InvalidRequiredAcks = 21,
    /// Specified group generation id is not valid.
    IllegalGeneration = 22,
    /// Inconsistent group protocol.
    InconsistentGroupProtocol = 23,
    /// Invalid group.id.
    InvalidGroupId = 24,
    /// Unknown member.
    UnknownMemberId = 25,
    /// Invalid session timeout.
    InvalidSessionTimeout = 26,
    /// Group rebalance in progress.
    RebalanceInProgress = 27,
    /// Commit offset data size is not valid.
    InvalidCommitOffsetSize = 28,
    /// Topic authorization failed.
    TopicAuthorizationFailed = 29,
    /// Group authorization failed.
    GroupAuthorizationFailed = 30,
    /// Cluster authorization failed.
    ClusterAuthorizationFailed = 31,
    /// Invalid timestamp.
    InvalidTimestamp = 32,
    /// Unsupported SASL mechanism.
    UnsupportedSASLMechanism = 33,
    /// Illegal SASL state.
    IllegalSASLState = 34,
    /// Unsupported version.
    UnsupportedVersion = 35,
    /// Topic already exists.
    TopicAlreadyExists = 36,
    /// Invalid number of partitions.
    InvalidPartitions = 37,
    /// Invalid replication factor.
    InvalidReplicationFactor = 38,
    /// Invalid replica assignment.
    InvalidReplicaAssignment = 39,
    /// Invalid config.
    InvalidConfig = 40,
    /// Not controller for cluster.
    NotController = 41,
    /// Invalid request.
    InvalidRequest = 42,
    /// Message format on broker does not support request.
    UnsupportedForMessageFormat = 43,
    /// Policy violation.
    PolicyViolation = 44,
    /// Broker received an out of order sequence number.
    OutOfOrderSequenceNumber = 45,
    /// Broker received a duplicate sequence number.
    DuplicateSequenceNumber = 46,
    /// Producer attempted an operation with an old epoch.
    InvalidProducerEpoch = 47,
    /// Producer attempted a transactional operation in an invalid state.
    InvalidTransactionalState = 48,
    /// Producer attempted to use a producer id which is currently assigned to
    /// its transactional id.
    InvalidProducerIdMapping = 49,
    /// Transaction timeout is larger than the maxi value allowed by the
    /// broker's max.transaction.timeout.ms.
    InvalidTransactionTimeout = 50,
    /// Producer attempted to update a transaction while another concurrent
    /// operation on the same transaction was ongoing.
    ConcurrentTransactions = 51,
    /// Indicates that the transaction coordinator sending a WriteTxnMarker is
    /// no longer the current coordinator for a given producer.
    TransactionCoordinatorFenced = 52,
    /// Transactional Id authorization failed.
    TransactionalIdAuthorizationFailed = 53,
    /// Security features are disabled.
    SecurityDisabled = 54,
    /// Operation not attempted.
    OperationNotAttempted = 55,
    /// Disk error when trying to access log file on the disk.
    KafkaStorageError = 56,
    /// The user-specified log directory is not found in the broker config.
    LogDirNotFound = 57,
    /// SASL Authentication failed.
    SaslAuthenticationFailed = 58,
    /// Unknown Producer Id.
    UnknownProducerId = 59,
    /// Partition reassignment is in progress.
    ReassignmentInProgress = 60,
    /// Delegation Token feature is not enabled.
    DelegationTokenAuthDisabled = 61,
    /// Delegation Token is not found on server.
    DelegationTokenNotFound = 62,
    /// Specified Principal is not valid Owner/Renewer.
    DelegationTokenOwnerMismatch = 63,
    /// Delegation Token requests are not allowed on this connection.
    DelegationTokenRequestNotAllowed = 64,
    /// Delegation Token authorization failed.
    DelegationTokenAuthorizationFailed = 65,
    /// Delegation Token is expired.
    DelegationTokenExpired = 66,
    /// Supplied principalType is not supported.
    InvalidPrincipalType = 67,
    /// The group is not empty.
    NonEmptyGroup = 68,
    /// The group id does not exist.
    GroupIdNotFound = 69,
    /// The fetch session ID was not found.
    FetchSessionIdNotFound = 70,
    /// The fetch session epoch is invalid.
    InvalidFetchSessionEpoch = 71,
    /// No matching listener.
    ListenerNotFound = 72,
    /// Topic deletion is disabled.
    TopicDeletionDisabled = 73,
    /// Leader epoch is older than broker epoch.
    FencedLeaderEpoch = 74,
    /// Leader epoch is newer than broker epoch.
    UnknownLeaderEpoch = 75,
    /// Unsupported compression type.
    UnsupportedCompressionType = 76,
    /// Broker epoch has changed.
    StaleBrokerEpoch = 77,
    /// Leader high watermark is not caught up.
    OffsetNotAvailable = 78,
    /// Group member needs a valid member ID.
    MemberIdRequired = 79,
    /// Preferred leader was not available.
    PreferredLeaderNotAvailable = 80,
    /// Consumer group has reached maximum size.
    GroupMaxSizeReached = 81,
    /// Static consumer fenced by other consumer with same group.instance.id.
    FencedInstanceId = 82,
    /// Eligible partition leaders are not available.
    EligibleLeadersNotAvailable = 83,
    /// Leader election not needed for topic partition.
    ElectionNotNeeded = 84,
    /// No partition reassignment is in progress.
    NoReassignmentInProgress = 85,
    /// Deleting offsets of a topic while the consumer group is subscribed to
    /// it.
    GroupSubscribedToTopic = 86,
    /// Broker failed to validate record.
    InvalidRecord = 87,
    /// There are unstable offsets that need to be cleared.
    UnstableOffsetCommit = 88,
    /// Throttling quota has been exceeded.
    ThrottlingQuotaExceeded = 89,
    /// There is a newer producer with the same transactional ID which fences
    /// the current one.
    ProducerFenced = 90,
    /// Request illegally referred to resource that does not exist.
    ResourceNotFound = 91,
    /// Request illegally referred to the same resource twice.
    DuplicateResource = 92,
    /// Requested credential would not meet criteria for acceptability.
    UnacceptableCredential = 93,
    /// Either the sender or recipient of a voter-only request is not one of the
    /// expected voters.
    InconsistentVoterSet = 94,
    /// Invalid update version.
    InvalidUpdateVersion = 95,
    /// Unable to update finalized features due to server error.
    FeatureUpdateFailed = 96,
    /// Request principal deserialization failed during forwarding.
    PrincipalDeserializationFailure = 97,
    /// Unknown Topic Id
    UnknownTopicId = 100,
    /// The member epoch is fenced by the group coordinator
    FencedMemberEpoch = 110,
    /// The instance ID is still used by another member in the consumer group
    UnreleasedInstanceId = 111,
    /// The assignor or its version range is not supported by the consumer group
    UnsupportedAssignor = 112,
    /// The member epoch is stale
    StaleMemberEpoch = 113,
    /// Client sent a push telemetry request with an invalid or outdated
    /// subscription ID.
    UnknownSubscriptionId = 117,
    /// Client sent a push telemetry request larger than the maximum size
    /// the broker will accept.
    TelemetryTooLarge = 118,
    /// Client metadata is stale,
    /// client should rebootstrap to obtain new metadata.
    RebootstrapRequired = 129,
    #[doc(hidden)]
    EndAll = 130,
}

impl RDKafkaErrorCode {
    /// The code with librdkafka's number `code`, if there is one.
    pub fn from_code(code: i32) -> Option<RDKafkaErrorCode> {
        use RDKafkaErrorCode::*;
        Some(match code {
            -200 => Begin,
            -199 => BadMessage,
            -198 => BadCompression,
            -197 => BrokerDestroy,
            -196 => Fail,
            -195 => BrokerTransportFailure,
            -194 => CriticalSystemResource,
            -193 => Resolve,
            -192 => MessageTimedOut,
            -191 => PartitionEOF,
            -190 => UnknownPartition,
            -189 => FileSystem,
            -188 => UnknownTopic,
            -187 => AllBrokersDown,
            -186 => InvalidArgument,
            -185 => OperationTimedOut,
            -184 => QueueFull,
            -183 => ISRInsufficient,
            -182 => NodeUpdate,
            -181 => SSL,
            -180 => WaitingForCoordinator,
            -179 => UnknownGroup,
            -178 => InProgress,
            -177 => PreviousInProgress,
            -176 => ExistingSubscription,
            -175 => AssignPartitions,
            -174 => RevokePartitions,
            -173 => Conflict,
            -172 => State,
            -171 => UnknownProtocol,
            -170 => NotImplemented,
            -169 => Authentication,
            -168 => NoOffset,
            -167 => Outdated,
            -166 => TimedOutQueue,
            -165 => UnsupportedFeature,
            -164 => WaitCache,
            -163 => Interrupted,
            -162 => KeySerialization,
            -161 => ValueSerialization,
            -160 => KeyDeserialization,
            -159 => ValueDeserialization,
            -158 => Partial,
            -157 => ReadOnly,
            -156 => NoEnt,
            -155 => Underflow,
            -154 => InvalidType,
            -153 => Retry,
            -152 => PurgeQueue,
            -151 => PurgeInflight,
            -150 => Fatal,
            -149 => Inconsistent,
            -148 => GaplessGuarantee,
            -147 => PollExceeded,
            -146 => UnknownBroker,
            -145 => NotConfigured,
            -144 => Fenced,
            -143 => Application,
            -142 => AssignmentLost,
            -141 => Noop,
            -140 => AutoOffsetReset,
            -139 => LogTruncation,
            -138 => InvalidDifferentRecord,
            -137 => DestroyBroker,
            -100 => End,
            -1 => Unknown,
            0 => NoError,
            1 => OffsetOutOfRange,
            2 => InvalidMessage,
            3 => UnknownTopicOrPartition,
            4 => InvalidMessageSize,
            5 => LeaderNotAvailable,
            6 => NotLeaderForPartition,
            7 => RequestTimedOut,
            8 => BrokerNotAvailable,
            9 => ReplicaNotAvailable,
            10 => MessageSizeTooLarge,
            11 => StaleControllerEpoch,
            12 => OffsetMetadataTooLarge,
            13 => NetworkException,
            14 => CoordinatorLoadInProgress,
            15 => CoordinatorNotAvailable,
            16 => NotCoordinator,
            17 => InvalidTopic,
            18 => MessageBatchTooLarge,
            19 => NotEnoughReplicas,
            20 => NotEnoughReplicasAfterAppend,
            21 => InvalidRequiredAcks,
            22 => IllegalGeneration,
            23 => InconsistentGroupProtocol,
            24 => InvalidGroupId,
            25 => UnknownMemberId,
            26 => InvalidSessionTimeout,
            27 => RebalanceInProgress,
            28 => InvalidCommitOffsetSize,
            29 => TopicAuthorizationFailed,
            30 => GroupAuthorizationFailed,
            31 => ClusterAuthorizationFailed,
            32 => InvalidTimestamp,
            33 => UnsupportedSASLMechanism,
            34 => IllegalSASLState,
            35 => UnsupportedVersion,
            36 => TopicAlreadyExists,
            37 => InvalidPartitions,
            38 => InvalidReplicationFactor,
            39 => InvalidReplicaAssignment,
            40 => InvalidConfig,
            41 => NotController,
            42 => InvalidRequest,
            43 => UnsupportedForMessageFormat,
            44 => PolicyViolation,
            45 => OutOfOrderSequenceNumber,
            46 => DuplicateSequenceNumber,
            47 => InvalidProducerEpoch,
            48 => InvalidTransactionalState,
            49 => InvalidProducerIdMapping,
            50 => InvalidTransactionTimeout,
            51 => ConcurrentTransactions,
            52 => TransactionCoordinatorFenced,
            53 => TransactionalIdAuthorizationFailed,
            54 => SecurityDisabled,
            55 => OperationNotAttempted,
            56 => KafkaStorageError,
            57 => LogDirNotFound,
            58 => SaslAuthenticationFailed,
            59 => UnknownProducerId,
            60 => ReassignmentInProgress,
            61 => DelegationTokenAuthDisabled,
            62 => DelegationTokenNotFound,
            63 => DelegationTokenOwnerMismatch,
            64 => DelegationTokenRequestNotAllowed,
            65 => DelegationTokenAuthorizationFailed,
            66 => DelegationTokenExpired,
            67 => InvalidPrincipalType,
            68 => NonEmptyGroup,
            69 => GroupIdNotFound,
            70 => FetchSessionIdNotFound,
            71 => InvalidFetchSessionEpoch,
            72 => ListenerNotFound,
            73 => TopicDeletionDisabled,
            74 => FencedLeaderEpoch,
            75 => UnknownLeaderEpoch,
            76 => UnsupportedCompressionType,
            77 => StaleBrokerEpoch,
            78 => OffsetNotAvailable,
            79 => MemberIdRequired,
            80 => PreferredLeaderNotAvailable,
            81 => GroupMaxSizeReached,
            82 => FencedInstanceId,
            83 => EligibleLeadersNotAvailable,
            84 => ElectionNotNeeded,
            85 => NoReassignmentInProgress,
            86 => GroupSubscribedToTopic,
            87 => InvalidRecord,
            88 => UnstableOffsetCommit,
            89 => ThrottlingQuotaExceeded,
            90 => ProducerFenced,
            91 => ResourceNotFound,
            92 => DuplicateResource,
            93 => UnacceptableCredential,
            94 => InconsistentVoterSet,
            95 => InvalidUpdateVersion,
            96 => FeatureUpdateFailed,
            97 => PrincipalDeserializationFailure,
            100 => UnknownTopicId,
            110 => FencedMemberEpoch,
            111 => UnreleasedInstanceId,
            112 => UnsupportedAssignor,
            113 => StaleMemberEpoch,
            117 => UnknownSubscriptionId,
            118 => TelemetryTooLarge,
            129 => RebootstrapRequired,
            130 => EndAll,
            _ => return None,
        })
    }

    /// librdkafka's description of the code (`rd_kafka_err2str`).
    pub fn description(self) -> &'static str {
        use RDKafkaErrorCode::*;
        match self {
            Begin => "",
            BadMessage => "Local: Bad message format",
            BadCompression => "Local: Invalid compressed data",
            BrokerDestroy => "Local: Broker handle destroyed for termination",
            Fail => "Local: Communication failure with broker",
            BrokerTransportFailure => "Local: Broker transport failure",
            CriticalSystemResource => "Local: Critical system resource failure",
            Resolve => "Local: Host resolution failure",
            MessageTimedOut => "Local: Message timed out",
            PartitionEOF => "Broker: No more messages",
            UnknownPartition => "Local: Unknown partition",
            FileSystem => "Local: File or filesystem error",
            UnknownTopic => "Local: Unknown topic",
            AllBrokersDown => "Local: All broker connections are down",
            InvalidArgument => "Local: Invalid argument or configuration",
            OperationTimedOut => "Local: Timed out",
            QueueFull => "Local: Queue full",
            ISRInsufficient => "Local: ISR count insufficient",
            NodeUpdate => "Local: Broker node update",
            SSL => "Local: SSL error",
            WaitingForCoordinator => "Local: Waiting for coordinator",
            UnknownGroup => "Local: Unknown group",
            InProgress => "Local: Operation in progress",
            PreviousInProgress => "Local: Previous operation in progress",
            ExistingSubscription => "Local: Existing subscription",
            AssignPartitions => "Local: Assign partitions",
            RevokePartitions => "Local: Revoke partitions",
            Conflict => "Local: Conflicting use",
            State => "Local: Erroneous state",
            UnknownProtocol => "Local: Unknown protocol",
            NotImplemented => "Local: Not implemented",
            Authentication => "Local: Authentication failure",
            NoOffset => "Local: No offset stored",
            Outdated => "Local: Outdated",
            TimedOutQueue => "Local: Timed out in queue",
            UnsupportedFeature => "Local: Required feature not supported by broker",
            WaitCache => "Local: Awaiting cache update",
            Interrupted => "Local: Operation interrupted",
            KeySerialization => "Local: Key serialization error",
            ValueSerialization => "Local: Value serialization error",
            KeyDeserialization => "Local: Key deserialization error",
            ValueDeserialization => "Local: Value deserialization error",
            Partial => "Local: Partial response",
            ReadOnly => "Local: Read-only object",
            NoEnt => "Local: No such entry",
            Underflow => "Local: Read underflow",
            InvalidType => "Local: Invalid type",
            Retry => "Local: Retry operation",
            PurgeQueue => "Local: Purged in queue",
            PurgeInflight => "Local: Purged in flight",
            Fatal => "Local: Fatal error",
            Inconsistent => "Local: Inconsistent state",
            GaplessGuarantee => "Local: Gap-less ordering would not be guaranteed if proceeding",
            PollExceeded => "Local: Maximum application poll interval (max.poll.interval.ms) exceeded",
            UnknownBroker => "Local: Unknown broker",
            NotConfigured => "Local: Functionality not configured",
            Fenced => "Local: This instance has been fenced by a newer instance",
            Application => "Local: Application generated error",
            AssignmentLost => "Local: Group partition assignment lost",
            Noop => "Local: No operation performed",
            AutoOffsetReset => "Local: No offset to automatically reset to",
            LogTruncation => "Local: Partition log truncation detected",
            InvalidDifferentRecord => "Local: an invalid record in the same batch caused the failure of this message too",
            DestroyBroker => "Local: Broker handle destroyed without termination",
            End => "",
            Unknown => "Unknown broker error",
            NoError => "Success",
            OffsetOutOfRange => "Broker: Offset out of range",
            InvalidMessage => "Broker: Invalid message",
            UnknownTopicOrPartition => "Broker: Unknown topic or partition",
            InvalidMessageSize => "Broker: Invalid message size",
            LeaderNotAvailable => "Broker: Leader not available",
            NotLeaderForPartition => "Broker: Not leader for partition",
            RequestTimedOut => "Broker: Request timed out",
            BrokerNotAvailable => "Broker: Broker not available",
            ReplicaNotAvailable => "Broker: Replica not available",
            MessageSizeTooLarge => "Broker: Message size too large",
            StaleControllerEpoch => "Broker: StaleControllerEpochCode",
            OffsetMetadataTooLarge => "Broker: Offset metadata string too large",
            NetworkException => "Broker: Broker disconnected before response received",
            CoordinatorLoadInProgress => "Broker: Coordinator load in progress",
            CoordinatorNotAvailable => "Broker: Coordinator not available",
            NotCoordinator => "Broker: Not coordinator",
            InvalidTopic => "Broker: Invalid topic",
            MessageBatchTooLarge => "Broker: Message batch larger than configured server segment size",
            NotEnoughReplicas => "Broker: Not enough in-sync replicas",
            NotEnoughReplicasAfterAppend => "Broker: Message(s) written to insufficient number of in-sync replicas",
            InvalidRequiredAcks => "Broker: Invalid required acks value",
            IllegalGeneration => "Broker: Specified group generation id is not valid",
            InconsistentGroupProtocol => "Broker: Inconsistent group protocol",
            InvalidGroupId => "Broker: Invalid group.id",
            UnknownMemberId => "Broker: Unknown member",
            InvalidSessionTimeout => "Broker: Invalid session timeout",
            RebalanceInProgress => "Broker: Group rebalance in progress",
            InvalidCommitOffsetSize => "Broker: Commit offset data size is not valid",
            TopicAuthorizationFailed => "Broker: Topic authorization failed",
            GroupAuthorizationFailed => "Broker: Group authorization failed",
            ClusterAuthorizationFailed => "Broker: Cluster authorization failed",
            InvalidTimestamp => "Broker: Invalid timestamp",
            UnsupportedSASLMechanism => "Broker: Unsupported SASL mechanism",
            IllegalSASLState => "Broker: Request not valid in current SASL state",
            UnsupportedVersion => "Broker: API version not supported",
            TopicAlreadyExists => "Broker: Topic already exists",
            InvalidPartitions => "Broker: Invalid number of partitions",
            InvalidReplicationFactor => "Broker: Invalid replication factor",
            InvalidReplicaAssignment => "Broker: Invalid replica assignment",
            InvalidConfig => "Broker: Configuration is invalid",
            NotController => "Broker: Not controller for cluster",
            InvalidRequest => "Broker: Invalid request",
            UnsupportedForMessageFormat => "Broker: Message format on broker does not support request",
            PolicyViolation => "Broker: Policy violation",
            OutOfOrderSequenceNumber => "Broker: Broker received an out of order sequence number",
            DuplicateSequenceNumber => "Broker: Broker received a duplicate sequence number",
            InvalidProducerEpoch => "Broker: Producer attempted an operation with an old epoch",
            InvalidTransactionalState => "Broker: Producer attempted a transactional operation in an invalid state",
            InvalidProducerIdMapping => "Broker: Producer attempted to use a producer id which is not currently assigned to its transactional id",
            InvalidTransactionTimeout => "Broker: Transaction timeout is larger than the maximum value allowed by the broker's max.transaction.timeout.ms",
            ConcurrentTransactions => "Broker: Producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing",
            TransactionCoordinatorFenced => "Broker: Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer",
            TransactionalIdAuthorizationFailed => "Broker: Transactional Id authorization failed",
            SecurityDisabled => "Broker: Security features are disabled",
            OperationNotAttempted => "Broker: Operation not attempted",
            KafkaStorageError => "Broker: Disk error when trying to access log file on disk",
            LogDirNotFound => "Broker: The user-specified log directory is not found in the broker config",
            SaslAuthenticationFailed => "Broker: SASL Authentication failed",
            UnknownProducerId => "Broker: Unknown Producer Id",
            ReassignmentInProgress => "Broker: Partition reassignment is in progress",
            DelegationTokenAuthDisabled => "Broker: Delegation Token feature is not enabled",
            DelegationTokenNotFound => "Broker: Delegation Token is not found on server",
            DelegationTokenOwnerMismatch => "Broker: Specified Principal is not valid Owner/Renewer",
            DelegationTokenRequestNotAllowed => "Broker: Delegation Token requests are not allowed on this connection",
            DelegationTokenAuthorizationFailed => "Broker: Delegation Token authorization failed",
            DelegationTokenExpired => "Broker: Delegation Token is expired",
            InvalidPrincipalType => "Broker: Supplied principalType is not supported",
            NonEmptyGroup => "Broker: The group is not empty",
            GroupIdNotFound => "Broker: The group id does not exist",
            FetchSessionIdNotFound => "Broker: The fetch session ID was not found",
            InvalidFetchSessionEpoch => "Broker: The fetch session epoch is invalid",
            ListenerNotFound => "Broker: No matching listener",
            TopicDeletionDisabled => "Broker: Topic deletion is disabled",
            FencedLeaderEpoch => "Broker: Leader epoch is older than broker epoch",
            UnknownLeaderEpoch => "Broker: Leader epoch is newer than broker epoch",
            UnsupportedCompressionType => "Broker: Unsupported compression type",
            StaleBrokerEpoch => "Broker: Broker epoch has changed",
            OffsetNotAvailable => "Broker: Leader high watermark is not caught up",
            MemberIdRequired => "Broker: Group member needs a valid member ID",
            PreferredLeaderNotAvailable => "Broker: Preferred leader was not available",
            GroupMaxSizeReached => "Broker: Consumer group has reached maximum size",
            FencedInstanceId => "Broker: Static consumer fenced by other consumer with same group.instance.id",
            EligibleLeadersNotAvailable => "Broker: Eligible partition leaders are not available",
            ElectionNotNeeded => "Broker: Leader election not needed for topic partition",
            NoReassignmentInProgress => "Broker: No partition reassignment is in progress",
            GroupSubscribedToTopic => "Broker: Deleting offsets of a topic while the consumer group is subscribed to it",
            InvalidRecord => "Broker: Broker failed to validate record",
            UnstableOffsetCommit => "Broker: There are unstable offsets that need to be cleared",
            ThrottlingQuotaExceeded => "Broker: Throttling quota has been exceeded",
            ProducerFenced => "Broker: There is a newer producer with the same transactionalId which fences the current one",
            ResourceNotFound => "Broker: Request illegally referred to resource that does not exist",
            DuplicateResource => "Broker: Request illegally referred to the same resource twice",
            UnacceptableCredential => "Broker: Requested credential would not meet criteria for acceptability",
            InconsistentVoterSet => "Broker: Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters",
            InvalidUpdateVersion => "Broker: Invalid update version",
            FeatureUpdateFailed => "Broker: Unable to update finalized features due to server error",
            PrincipalDeserializationFailure => "Broker: Request principal deserialization failed during forwarding",
            UnknownTopicId => "Broker: Unknown topic id",
            FencedMemberEpoch => "Broker: The member epoch is fenced by the group coordinator",
            UnreleasedInstanceId => "Broker: The instance ID is still used by another member in the consumer group",
            UnsupportedAssignor => "Broker: The assignor or its version range is not supported by the consumer group",
            StaleMemberEpoch => "Broker: The member epoch is stale",
            UnknownSubscriptionId => "Broker: Client sent a push telemetry request with an invalid or outdated subscription ID",
            TelemetryTooLarge => "Broker: Client sent a push telemetry request larger than the maximum size the broker will accept",
            RebootstrapRequired => "Broker: Client metadata is stale, client should rebootstrap to obtain new metadata",
            // Past librdkafka's table: rd_kafka_err2str's "Err-%i?".
            EndAll => "Err-130?",
        }
    }
}

impl fmt::Display for RDKafkaErrorCode {
    /// As rdkafka's: the variant, then librdkafka's description.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.description())
    }
}

impl std::error::Error for RDKafkaErrorCode {}
