//! librdkafka's `rd_kafka_resp_err_t`, as rdkafka re-exports it from `rdkafka-sys`
//! (`rdkafka::types::RDKafkaRespErr`): the code a raw rebalance callback
//! ([`ConsumerContext::rebalance`](super::consumer::ConsumerContext::rebalance)) receives.
//! The same variants and numbers as rdkafka-sys's bindings, from which it is generated
//! (`rd_kafka_resp_err_t` in `rdkafka-sys/src/bindings.rs`, paired with
//! [`RDKafkaErrorCode`] by number); keep it that way rather than editing by hand.

use super::error::RDKafkaErrorCode;

/// librdkafka's error codes by their C names: negative numbers are librdkafka's local
/// errors, the others Kafka's protocol error codes.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Copy, Clone, Hash, PartialEq, Eq)]
pub enum RDKafkaRespErr {
    #[doc(hidden)]
    RD_KAFKA_RESP_ERR__BEGIN = -200,
    /// Received message is incorrect.
    RD_KAFKA_RESP_ERR__BAD_MSG = -199,
    /// Bad/unknown compression.
    RD_KAFKA_RESP_ERR__BAD_COMPRESSION = -198,
    /// Broker is going away.
    RD_KAFKA_RESP_ERR__DESTROY = -197,
    /// Generic failure.
    RD_KAFKA_RESP_ERR__FAIL = -196,
    /// Broker transport failure.
    RD_KAFKA_RESP_ERR__TRANSPORT = -195,
    /// Critical system resource.
    RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE = -194,
    /// Failed to resolve broker.
    RD_KAFKA_RESP_ERR__RESOLVE = -193,
    /// Produced message timed out.
    RD_KAFKA_RESP_ERR__MSG_TIMED_OUT = -192,
    /// Reached the end of the topic+partition queue on the broker. Not really an error.
    RD_KAFKA_RESP_ERR__PARTITION_EOF = -191,
    /// Permanent: Partition does not exist in cluster.
    RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION = -190,
    /// File or filesystem error.
    RD_KAFKA_RESP_ERR__FS = -189,
    /// Permanent: Topic does not exist in cluster.
    RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC = -188,
    /// All broker connections are down.
    RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN = -187,
    /// Invalid argument, or invalid configuration.
    RD_KAFKA_RESP_ERR__INVALID_ARG = -186,
    /// Operation timed out.
    RD_KAFKA_RESP_ERR__TIMED_OUT = -185,
    /// Queue is full.
    RD_KAFKA_RESP_ERR__QUEUE_FULL = -184,
    /// ISR count < required.acks.
    RD_KAFKA_RESP_ERR__ISR_INSUFF = -183,
    /// Broker node update.
    RD_KAFKA_RESP_ERR__NODE_UPDATE = -182,
    /// SSL error.
    RD_KAFKA_RESP_ERR__SSL = -181,
    /// Waiting for coordinator to become available.
    RD_KAFKA_RESP_ERR__WAIT_COORD = -180,
    /// Unknown client group.
    RD_KAFKA_RESP_ERR__UNKNOWN_GROUP = -179,
    /// Operation in progress.
    RD_KAFKA_RESP_ERR__IN_PROGRESS = -178,
    /// Previous operation in progress, wait for it to finish.
    RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS = -177,
    /// This operation would interfere with an existing subscription.
    RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION = -176,
    /// Assigned partitions (rebalance_cb).
    RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS = -175,
    /// Revoked partitions (rebalance_cb).
    RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS = -174,
    /// Conflicting use.
    RD_KAFKA_RESP_ERR__CONFLICT = -173,
    /// Wrong state.
    RD_KAFKA_RESP_ERR__STATE = -172,
    /// Unknown protocol.
    RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL = -171,
    /// Not implemented.
    RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED = -170,
    /// Authentication failure.
    RD_KAFKA_RESP_ERR__AUTHENTICATION = -169,
    /// No stored offset.
    RD_KAFKA_RESP_ERR__NO_OFFSET = -168,
    /// Outdated.
    RD_KAFKA_RESP_ERR__OUTDATED = -167,
    /// Timed out in queue.
    RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE = -166,
    /// Feature not supported by broker.
    RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE = -165,
    /// Awaiting cache update.
    RD_KAFKA_RESP_ERR__WAIT_CACHE = -164,
    /// Operation interrupted (e.g., due to yield).
    RD_KAFKA_RESP_ERR__INTR = -163,
    /// Key serialization error.
    RD_KAFKA_RESP_ERR__KEY_SERIALIZATION = -162,
    /// Value serialization error.
    RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION = -161,
    /// Key deserialization error.
    RD_KAFKA_RESP_ERR__KEY_DESERIALIZATION = -160,
    /// Value deserialization error.
    RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION = -159,
    /// Partial response.
    RD_KAFKA_RESP_ERR__PARTIAL = -158,
    /// Modification attempted on read-only object.
    RD_KAFKA_RESP_ERR__READ_ONLY = -157,
    /// No such entry or item not found.
    RD_KAFKA_RESP_ERR__NOENT = -156,
    /// Read underflow.
    RD_KAFKA_RESP_ERR__UNDERFLOW = -155,
    /// Invalid type.
    RD_KAFKA_RESP_ERR__INVALID_TYPE = -154,
    /// Retry operation.
    RD_KAFKA_RESP_ERR__RETRY = -153,
    /// Purged in queue.
    RD_KAFKA_RESP_ERR__PURGE_QUEUE = -152,
    /// Purged in flight.
    RD_KAFKA_RESP_ERR__PURGE_INFLIGHT = -151,
    /// Fatal error: see rd_kafka_fatal_error().
    RD_KAFKA_RESP_ERR__FATAL = -150,
    /// Inconsistent state.
    RD_KAFKA_RESP_ERR__INCONSISTENT = -149,
    /// Gap-less ordering would not be guaranteed if proceeding.
    RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE = -148,
    /// Maximum poll interval exceeded.
    RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED = -147,
    /// Unknown broker.
    RD_KAFKA_RESP_ERR__UNKNOWN_BROKER = -146,
    /// Functionality not configured.
    RD_KAFKA_RESP_ERR__NOT_CONFIGURED = -145,
    /// Instance has been fenced.
    RD_KAFKA_RESP_ERR__FENCED = -144,
    /// Application generated error.
    RD_KAFKA_RESP_ERR__APPLICATION = -143,
    /// Assignment lost.
    RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST = -142,
    /// No operation performed.
    RD_KAFKA_RESP_ERR__NOOP = -141,
    /// No offset to automatically reset to.
    RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET = -140,
    /// Partition log truncation detected
    RD_KAFKA_RESP_ERR__LOG_TRUNCATION = -139,
    /// A different record in the batch was invalid and this message failed persisting.
    RD_KAFKA_RESP_ERR__INVALID_DIFFERENT_RECORD = -138,
    /// Broker is going away but client isn't terminating */
    RD_KAFKA_RESP_ERR__DESTROY_BROKER = -137,
    #[doc(hidden)]
    RD_KAFKA_RESP_ERR__END = -100,
    /// Unknown broker error.
    RD_KAFKA_RESP_ERR_UNKNOWN = -1,
    /// Success.
    RD_KAFKA_RESP_ERR_NO_ERROR = 0,
    /// Offset out of range.
    RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE = 1,
    /// Invalid message.
    RD_KAFKA_RESP_ERR_INVALID_MSG = 2,
    /// Unknown topic or partition.
    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART = 3,
    /// Invalid message size.
    RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE = 4,
    /// Leader not available.
    RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE = 5,
    /// Not leader for partition.
    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION = 6,
    /// Request timed out.
    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT = 7,
    /// Broker not available.
    RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE = 8,
    /// Replica not available.
    RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE = 9,
    /// Message size too large.
    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE = 10,
    /// Stale controller epoch code.
    RD_KAFKA_RESP_ERR_STALE_CTRL_EPOCH = 11,
    /// Offset metadata string too large.
    RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE = 12,
    /// Broker disconnected before response received.
    RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION = 13,
    /// Coordinator load in progress.
    RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
    /// Coordinator not available.
    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE = 15,
    /// Not coordinator.
    RD_KAFKA_RESP_ERR_NOT_COORDINATOR = 16,
    /// Invalid topic.
    RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION = 17,
    /// Message batch larger than configured server segment size.
    RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE = 18,
    /// Not enough in-sync replicas.
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS = 19,
    /// Message(s) written to insufficient number of in-sync replicas.
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
    /// Invalid required acks value.
    RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS = 21,
    /// Specified group generation id is not valid.
    RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION = 22,
    /// Inconsistent group protocol.
    RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL = 23,
    /// Invalid group.id.
    RD_KAFKA_RESP_ERR_INVALID_GROUP_ID = 24,
    /// Unknown member.
    RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID = 25,
    /// Invalid session timeout.
    RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT = 26,
    /// Group rebalance in progress.
    RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS = 27,
    /// Commit offset data size is not valid.
    RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE = 28,
    /// Topic authorization failed.
    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED = 29,
    /// Group authorization failed.
    RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED = 30,
    /// Cluster authorization failed.
    RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED = 31,
    /// Invalid timestamp.
    RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP = 32,
    /// Unsupported SASL mechanism.
    RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM = 33,
    /// Illegal SASL state.
    RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE = 34,
    /// Unsupported version.
    RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION = 35,
    /// Topic already exists.
    RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS = 36,
    /// Invalid number of partitions.
    RD_KAFKA_RESP_ERR_INVALID_PARTITIONS = 37,
    /// Invalid replication factor.
    RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR = 38,
    /// Invalid replica assignment.
    RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT = 39,
    /// Invalid config.
    RD_KAFKA_RESP_ERR_INVALID_CONFIG = 40,
    /// Not controller for cluster.
    RD_KAFKA_RESP_ERR_NOT_CONTROLLER = 41,
    /// Invalid request.
    RD_KAFKA_RESP_ERR_INVALID_REQUEST = 42,
    /// Message format on broker does not support request.
    RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43,
    /// Policy violation.
    RD_KAFKA_RESP_ERR_POLICY_VIOLATION = 44,
    /// Broker received an out of order sequence number.
    RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    /// Broker received a duplicate sequence number.
    RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER = 46,
    /// Producer attempted an operation with an old epoch.
    RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH = 47,
    /// Producer attempted a transactional operation in an invalid state.
    RD_KAFKA_RESP_ERR_INVALID_TXN_STATE = 48,
    /// Producer attempted to use a producer id which is currently assigned to
    /// its transactional id.
    RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING = 49,
    /// Transaction timeout is larger than the maxi value allowed by the
    /// broker's max.transaction.timeout.ms.
    RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT = 50,
    /// Producer attempted to update a transaction while another concurrent
    /// operation on the same transaction was ongoing.
    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS = 51,
    /// Indicates that the transaction coordinator sending a WriteTxnMarker is
    /// no longer the current coordinator for a given producer.
    RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED = 52,
    /// Transactional Id authorization failed.
    RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    /// Security features are disabled.
    RD_KAFKA_RESP_ERR_SECURITY_DISABLED = 54,
    /// Operation not attempted.
    RD_KAFKA_RESP_ERR_OPERATION_NOT_ATTEMPTED = 55,
    /// Disk error when trying to access log file on the disk.
    RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR = 56,
    /// The user-specified log directory is not found in the broker config.
    RD_KAFKA_RESP_ERR_LOG_DIR_NOT_FOUND = 57,
    /// SASL Authentication failed.
    RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED = 58,
    /// Unknown Producer Id.
    RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID = 59,
    /// Partition reassignment is in progress.
    RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS = 60,
    /// Delegation Token feature is not enabled.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED = 61,
    /// Delegation Token is not found on server.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND = 62,
    /// Specified Principal is not valid Owner/Renewer.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH = 63,
    /// Delegation Token requests are not allowed on this connection.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED = 64,
    /// Delegation Token authorization failed.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED = 65,
    /// Delegation Token is expired.
    RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_EXPIRED = 66,
    /// Supplied principalType is not supported.
    RD_KAFKA_RESP_ERR_INVALID_PRINCIPAL_TYPE = 67,
    /// The group is not empty.
    RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP = 68,
    /// The group id does not exist.
    RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND = 69,
    /// The fetch session ID was not found.
    RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND = 70,
    /// The fetch session epoch is invalid.
    RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH = 71,
    /// No matching listener.
    RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND = 72,
    /// Topic deletion is disabled.
    RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED = 73,
    /// Leader epoch is older than broker epoch.
    RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH = 74,
    /// Leader epoch is newer than broker epoch.
    RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH = 75,
    /// Unsupported compression type.
    RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
    /// Broker epoch has changed.
    RD_KAFKA_RESP_ERR_STALE_BROKER_EPOCH = 77,
    /// Leader high watermark is not caught up.
    RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE = 78,
    /// Group member needs a valid member ID.
    RD_KAFKA_RESP_ERR_MEMBER_ID_REQUIRED = 79,
    /// Preferred leader was not available.
    RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE = 80,
    /// Consumer group has reached maximum size.
    RD_KAFKA_RESP_ERR_GROUP_MAX_SIZE_REACHED = 81,
    /// Static consumer fenced by other consumer with same group.instance.id.
    RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID = 82,
    /// Eligible partition leaders are not available.
    RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE = 83,
    /// Leader election not needed for topic partition.
    RD_KAFKA_RESP_ERR_ELECTION_NOT_NEEDED = 84,
    /// No partition reassignment is in progress.
    RD_KAFKA_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS = 85,
    /// Deleting offsets of a topic while the consumer group is subscribed to
    /// it.
    RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC = 86,
    /// Broker failed to validate record.
    RD_KAFKA_RESP_ERR_INVALID_RECORD = 87,
    /// There are unstable offsets that need to be cleared.
    RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT = 88,
    /// Throttling quota has been exceeded.
    RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED = 89,
    /// There is a newer producer with the same transactional ID which fences
    /// the current one.
    RD_KAFKA_RESP_ERR_PRODUCER_FENCED = 90,
    /// Request illegally referred to resource that does not exist.
    RD_KAFKA_RESP_ERR_RESOURCE_NOT_FOUND = 91,
    /// Request illegally referred to the same resource twice.
    RD_KAFKA_RESP_ERR_DUPLICATE_RESOURCE = 92,
    /// Requested credential would not meet criteria for acceptability.
    RD_KAFKA_RESP_ERR_UNACCEPTABLE_CREDENTIAL = 93,
    /// Either the sender or recipient of a voter-only request is not one of the
    /// expected voters.
    RD_KAFKA_RESP_ERR_INCONSISTENT_VOTER_SET = 94,
    /// Invalid update version.
    RD_KAFKA_RESP_ERR_INVALID_UPDATE_VERSION = 95,
    /// Unable to update finalized features due to server error.
    RD_KAFKA_RESP_ERR_FEATURE_UPDATE_FAILED = 96,
    /// Request principal deserialization failed during forwarding.
    RD_KAFKA_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE = 97,
    /// Unknown Topic Id
    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_ID = 100,
    /// The member epoch is fenced by the group coordinator
    RD_KAFKA_RESP_ERR_FENCED_MEMBER_EPOCH = 110,
    /// The instance ID is still used by another member in the consumer group
    RD_KAFKA_RESP_ERR_UNRELEASED_INSTANCE_ID = 111,
    /// The assignor or its version range is not supported by the consumer group
    RD_KAFKA_RESP_ERR_UNSUPPORTED_ASSIGNOR = 112,
    /// The member epoch is stale
    RD_KAFKA_RESP_ERR_STALE_MEMBER_EPOCH = 113,
    /// Client sent a push telemetry request with an invalid or outdated
    /// subscription ID.
    RD_KAFKA_RESP_ERR_UNKNOWN_SUBSCRIPTION_ID = 117,
    /// Client sent a push telemetry request larger than the maximum size
    /// the broker will accept.
    RD_KAFKA_RESP_ERR_TELEMETRY_TOO_LARGE = 118,
    /// Client metadata is stale,
    /// client should rebootstrap to obtain new metadata.
    RD_KAFKA_RESP_ERR_REBOOTSTRAP_REQUIRED = 129,
    #[doc(hidden)]
    RD_KAFKA_RESP_ERR_END_ALL = 130,
}

impl RDKafkaRespErr {
    /// The code with librdkafka's number `code`, if there is one (rdkafka-sys's
    /// `TryFrom<i32>`).
    pub fn from_code(code: i32) -> Option<RDKafkaRespErr> {
        use RDKafkaRespErr::*;
        Some(match code {
            -200 => RD_KAFKA_RESP_ERR__BEGIN,
            -199 => RD_KAFKA_RESP_ERR__BAD_MSG,
            -198 => RD_KAFKA_RESP_ERR__BAD_COMPRESSION,
            -197 => RD_KAFKA_RESP_ERR__DESTROY,
            -196 => RD_KAFKA_RESP_ERR__FAIL,
            -195 => RD_KAFKA_RESP_ERR__TRANSPORT,
            -194 => RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE,
            -193 => RD_KAFKA_RESP_ERR__RESOLVE,
            -192 => RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            -191 => RD_KAFKA_RESP_ERR__PARTITION_EOF,
            -190 => RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
            -189 => RD_KAFKA_RESP_ERR__FS,
            -188 => RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            -187 => RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
            -186 => RD_KAFKA_RESP_ERR__INVALID_ARG,
            -185 => RD_KAFKA_RESP_ERR__TIMED_OUT,
            -184 => RD_KAFKA_RESP_ERR__QUEUE_FULL,
            -183 => RD_KAFKA_RESP_ERR__ISR_INSUFF,
            -182 => RD_KAFKA_RESP_ERR__NODE_UPDATE,
            -181 => RD_KAFKA_RESP_ERR__SSL,
            -180 => RD_KAFKA_RESP_ERR__WAIT_COORD,
            -179 => RD_KAFKA_RESP_ERR__UNKNOWN_GROUP,
            -178 => RD_KAFKA_RESP_ERR__IN_PROGRESS,
            -177 => RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS,
            -176 => RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION,
            -175 => RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS,
            -174 => RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS,
            -173 => RD_KAFKA_RESP_ERR__CONFLICT,
            -172 => RD_KAFKA_RESP_ERR__STATE,
            -171 => RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL,
            -170 => RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED,
            -169 => RD_KAFKA_RESP_ERR__AUTHENTICATION,
            -168 => RD_KAFKA_RESP_ERR__NO_OFFSET,
            -167 => RD_KAFKA_RESP_ERR__OUTDATED,
            -166 => RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
            -165 => RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE,
            -164 => RD_KAFKA_RESP_ERR__WAIT_CACHE,
            -163 => RD_KAFKA_RESP_ERR__INTR,
            -162 => RD_KAFKA_RESP_ERR__KEY_SERIALIZATION,
            -161 => RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION,
            -160 => RD_KAFKA_RESP_ERR__KEY_DESERIALIZATION,
            -159 => RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION,
            -158 => RD_KAFKA_RESP_ERR__PARTIAL,
            -157 => RD_KAFKA_RESP_ERR__READ_ONLY,
            -156 => RD_KAFKA_RESP_ERR__NOENT,
            -155 => RD_KAFKA_RESP_ERR__UNDERFLOW,
            -154 => RD_KAFKA_RESP_ERR__INVALID_TYPE,
            -153 => RD_KAFKA_RESP_ERR__RETRY,
            -152 => RD_KAFKA_RESP_ERR__PURGE_QUEUE,
            -151 => RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
            -150 => RD_KAFKA_RESP_ERR__FATAL,
            -149 => RD_KAFKA_RESP_ERR__INCONSISTENT,
            -148 => RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE,
            -147 => RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED,
            -146 => RD_KAFKA_RESP_ERR__UNKNOWN_BROKER,
            -145 => RD_KAFKA_RESP_ERR__NOT_CONFIGURED,
            -144 => RD_KAFKA_RESP_ERR__FENCED,
            -143 => RD_KAFKA_RESP_ERR__APPLICATION,
            -142 => RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST,
            -141 => RD_KAFKA_RESP_ERR__NOOP,
            -140 => RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET,
            -139 => RD_KAFKA_RESP_ERR__LOG_TRUNCATION,
            -138 => RD_KAFKA_RESP_ERR__INVALID_DIFFERENT_RECORD,
            -137 => RD_KAFKA_RESP_ERR__DESTROY_BROKER,
            -100 => RD_KAFKA_RESP_ERR__END,
            -1 => RD_KAFKA_RESP_ERR_UNKNOWN,
            0 => RD_KAFKA_RESP_ERR_NO_ERROR,
            1 => RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE,
            2 => RD_KAFKA_RESP_ERR_INVALID_MSG,
            3 => RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            4 => RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
            5 => RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            6 => RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            7 => RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            8 => RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
            9 => RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
            10 => RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
            11 => RD_KAFKA_RESP_ERR_STALE_CTRL_EPOCH,
            12 => RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE,
            13 => RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
            14 => RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            15 => RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            16 => RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            17 => RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
            18 => RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
            19 => RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            20 => RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            21 => RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS,
            22 => RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION,
            23 => RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL,
            24 => RD_KAFKA_RESP_ERR_INVALID_GROUP_ID,
            25 => RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
            26 => RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT,
            27 => RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
            28 => RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
            29 => RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            30 => RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            31 => RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
            32 => RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP,
            33 => RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM,
            34 => RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE,
            35 => RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION,
            36 => RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
            37 => RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
            38 => RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR,
            39 => RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT,
            40 => RD_KAFKA_RESP_ERR_INVALID_CONFIG,
            41 => RD_KAFKA_RESP_ERR_NOT_CONTROLLER,
            42 => RD_KAFKA_RESP_ERR_INVALID_REQUEST,
            43 => RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
            44 => RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
            45 => RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            46 => RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER,
            47 => RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
            48 => RD_KAFKA_RESP_ERR_INVALID_TXN_STATE,
            49 => RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING,
            50 => RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT,
            51 => RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
            52 => RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED,
            53 => RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            54 => RD_KAFKA_RESP_ERR_SECURITY_DISABLED,
            55 => RD_KAFKA_RESP_ERR_OPERATION_NOT_ATTEMPTED,
            56 => RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
            57 => RD_KAFKA_RESP_ERR_LOG_DIR_NOT_FOUND,
            58 => RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            59 => RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID,
            60 => RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS,
            61 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED,
            62 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND,
            63 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH,
            64 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED,
            65 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED,
            66 => RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_EXPIRED,
            67 => RD_KAFKA_RESP_ERR_INVALID_PRINCIPAL_TYPE,
            68 => RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP,
            69 => RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND,
            70 => RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND,
            71 => RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH,
            72 => RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND,
            73 => RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED,
            74 => RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH,
            75 => RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH,
            76 => RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE,
            77 => RD_KAFKA_RESP_ERR_STALE_BROKER_EPOCH,
            78 => RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
            79 => RD_KAFKA_RESP_ERR_MEMBER_ID_REQUIRED,
            80 => RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE,
            81 => RD_KAFKA_RESP_ERR_GROUP_MAX_SIZE_REACHED,
            82 => RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
            83 => RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE,
            84 => RD_KAFKA_RESP_ERR_ELECTION_NOT_NEEDED,
            85 => RD_KAFKA_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS,
            86 => RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC,
            87 => RD_KAFKA_RESP_ERR_INVALID_RECORD,
            88 => RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT,
            89 => RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
            90 => RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
            91 => RD_KAFKA_RESP_ERR_RESOURCE_NOT_FOUND,
            92 => RD_KAFKA_RESP_ERR_DUPLICATE_RESOURCE,
            93 => RD_KAFKA_RESP_ERR_UNACCEPTABLE_CREDENTIAL,
            94 => RD_KAFKA_RESP_ERR_INCONSISTENT_VOTER_SET,
            95 => RD_KAFKA_RESP_ERR_INVALID_UPDATE_VERSION,
            96 => RD_KAFKA_RESP_ERR_FEATURE_UPDATE_FAILED,
            97 => RD_KAFKA_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE,
            100 => RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_ID,
            110 => RD_KAFKA_RESP_ERR_FENCED_MEMBER_EPOCH,
            111 => RD_KAFKA_RESP_ERR_UNRELEASED_INSTANCE_ID,
            112 => RD_KAFKA_RESP_ERR_UNSUPPORTED_ASSIGNOR,
            113 => RD_KAFKA_RESP_ERR_STALE_MEMBER_EPOCH,
            117 => RD_KAFKA_RESP_ERR_UNKNOWN_SUBSCRIPTION_ID,
            118 => RD_KAFKA_RESP_ERR_TELEMETRY_TOO_LARGE,
            129 => RD_KAFKA_RESP_ERR_REBOOTSTRAP_REQUIRED,
            130 => RD_KAFKA_RESP_ERR_END_ALL,
            _ => return None,
        })
    }
}

impl TryFrom<i32> for RDKafkaRespErr {
    type Error = i32;

    /// The code with librdkafka's number `code`, or the number back when there is none.
    fn try_from(code: i32) -> Result<RDKafkaRespErr, i32> {
        RDKafkaRespErr::from_code(code).ok_or(code)
    }
}

impl From<RDKafkaRespErr> for RDKafkaErrorCode {
    fn from(err: RDKafkaRespErr) -> RDKafkaErrorCode {
        use RDKafkaRespErr::*;
        match err {
            RD_KAFKA_RESP_ERR__BEGIN => RDKafkaErrorCode::Begin,
            RD_KAFKA_RESP_ERR__BAD_MSG => RDKafkaErrorCode::BadMessage,
            RD_KAFKA_RESP_ERR__BAD_COMPRESSION => RDKafkaErrorCode::BadCompression,
            RD_KAFKA_RESP_ERR__DESTROY => RDKafkaErrorCode::BrokerDestroy,
            RD_KAFKA_RESP_ERR__FAIL => RDKafkaErrorCode::Fail,
            RD_KAFKA_RESP_ERR__TRANSPORT => RDKafkaErrorCode::BrokerTransportFailure,
            RD_KAFKA_RESP_ERR__CRIT_SYS_RESOURCE => RDKafkaErrorCode::CriticalSystemResource,
            RD_KAFKA_RESP_ERR__RESOLVE => RDKafkaErrorCode::Resolve,
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT => RDKafkaErrorCode::MessageTimedOut,
            RD_KAFKA_RESP_ERR__PARTITION_EOF => RDKafkaErrorCode::PartitionEOF,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION => RDKafkaErrorCode::UnknownPartition,
            RD_KAFKA_RESP_ERR__FS => RDKafkaErrorCode::FileSystem,
            RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC => RDKafkaErrorCode::UnknownTopic,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN => RDKafkaErrorCode::AllBrokersDown,
            RD_KAFKA_RESP_ERR__INVALID_ARG => RDKafkaErrorCode::InvalidArgument,
            RD_KAFKA_RESP_ERR__TIMED_OUT => RDKafkaErrorCode::OperationTimedOut,
            RD_KAFKA_RESP_ERR__QUEUE_FULL => RDKafkaErrorCode::QueueFull,
            RD_KAFKA_RESP_ERR__ISR_INSUFF => RDKafkaErrorCode::ISRInsufficient,
            RD_KAFKA_RESP_ERR__NODE_UPDATE => RDKafkaErrorCode::NodeUpdate,
            RD_KAFKA_RESP_ERR__SSL => RDKafkaErrorCode::SSL,
            RD_KAFKA_RESP_ERR__WAIT_COORD => RDKafkaErrorCode::WaitingForCoordinator,
            RD_KAFKA_RESP_ERR__UNKNOWN_GROUP => RDKafkaErrorCode::UnknownGroup,
            RD_KAFKA_RESP_ERR__IN_PROGRESS => RDKafkaErrorCode::InProgress,
            RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS => RDKafkaErrorCode::PreviousInProgress,
            RD_KAFKA_RESP_ERR__EXISTING_SUBSCRIPTION => RDKafkaErrorCode::ExistingSubscription,
            RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => RDKafkaErrorCode::AssignPartitions,
            RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => RDKafkaErrorCode::RevokePartitions,
            RD_KAFKA_RESP_ERR__CONFLICT => RDKafkaErrorCode::Conflict,
            RD_KAFKA_RESP_ERR__STATE => RDKafkaErrorCode::State,
            RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL => RDKafkaErrorCode::UnknownProtocol,
            RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED => RDKafkaErrorCode::NotImplemented,
            RD_KAFKA_RESP_ERR__AUTHENTICATION => RDKafkaErrorCode::Authentication,
            RD_KAFKA_RESP_ERR__NO_OFFSET => RDKafkaErrorCode::NoOffset,
            RD_KAFKA_RESP_ERR__OUTDATED => RDKafkaErrorCode::Outdated,
            RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE => RDKafkaErrorCode::TimedOutQueue,
            RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE => RDKafkaErrorCode::UnsupportedFeature,
            RD_KAFKA_RESP_ERR__WAIT_CACHE => RDKafkaErrorCode::WaitCache,
            RD_KAFKA_RESP_ERR__INTR => RDKafkaErrorCode::Interrupted,
            RD_KAFKA_RESP_ERR__KEY_SERIALIZATION => RDKafkaErrorCode::KeySerialization,
            RD_KAFKA_RESP_ERR__VALUE_SERIALIZATION => RDKafkaErrorCode::ValueSerialization,
            RD_KAFKA_RESP_ERR__KEY_DESERIALIZATION => RDKafkaErrorCode::KeyDeserialization,
            RD_KAFKA_RESP_ERR__VALUE_DESERIALIZATION => RDKafkaErrorCode::ValueDeserialization,
            RD_KAFKA_RESP_ERR__PARTIAL => RDKafkaErrorCode::Partial,
            RD_KAFKA_RESP_ERR__READ_ONLY => RDKafkaErrorCode::ReadOnly,
            RD_KAFKA_RESP_ERR__NOENT => RDKafkaErrorCode::NoEnt,
            RD_KAFKA_RESP_ERR__UNDERFLOW => RDKafkaErrorCode::Underflow,
            RD_KAFKA_RESP_ERR__INVALID_TYPE => RDKafkaErrorCode::InvalidType,
            RD_KAFKA_RESP_ERR__RETRY => RDKafkaErrorCode::Retry,
            RD_KAFKA_RESP_ERR__PURGE_QUEUE => RDKafkaErrorCode::PurgeQueue,
            RD_KAFKA_RESP_ERR__PURGE_INFLIGHT => RDKafkaErrorCode::PurgeInflight,
            RD_KAFKA_RESP_ERR__FATAL => RDKafkaErrorCode::Fatal,
            RD_KAFKA_RESP_ERR__INCONSISTENT => RDKafkaErrorCode::Inconsistent,
            RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE => RDKafkaErrorCode::GaplessGuarantee,
            RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED => RDKafkaErrorCode::PollExceeded,
            RD_KAFKA_RESP_ERR__UNKNOWN_BROKER => RDKafkaErrorCode::UnknownBroker,
            RD_KAFKA_RESP_ERR__NOT_CONFIGURED => RDKafkaErrorCode::NotConfigured,
            RD_KAFKA_RESP_ERR__FENCED => RDKafkaErrorCode::Fenced,
            RD_KAFKA_RESP_ERR__APPLICATION => RDKafkaErrorCode::Application,
            RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST => RDKafkaErrorCode::AssignmentLost,
            RD_KAFKA_RESP_ERR__NOOP => RDKafkaErrorCode::Noop,
            RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET => RDKafkaErrorCode::AutoOffsetReset,
            RD_KAFKA_RESP_ERR__LOG_TRUNCATION => RDKafkaErrorCode::LogTruncation,
            RD_KAFKA_RESP_ERR__INVALID_DIFFERENT_RECORD => RDKafkaErrorCode::InvalidDifferentRecord,
            RD_KAFKA_RESP_ERR__DESTROY_BROKER => RDKafkaErrorCode::DestroyBroker,
            RD_KAFKA_RESP_ERR__END => RDKafkaErrorCode::End,
            RD_KAFKA_RESP_ERR_UNKNOWN => RDKafkaErrorCode::Unknown,
            RD_KAFKA_RESP_ERR_NO_ERROR => RDKafkaErrorCode::NoError,
            RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE => RDKafkaErrorCode::OffsetOutOfRange,
            RD_KAFKA_RESP_ERR_INVALID_MSG => RDKafkaErrorCode::InvalidMessage,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART => RDKafkaErrorCode::UnknownTopicOrPartition,
            RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE => RDKafkaErrorCode::InvalidMessageSize,
            RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE => RDKafkaErrorCode::LeaderNotAvailable,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION => RDKafkaErrorCode::NotLeaderForPartition,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT => RDKafkaErrorCode::RequestTimedOut,
            RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE => RDKafkaErrorCode::BrokerNotAvailable,
            RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE => RDKafkaErrorCode::ReplicaNotAvailable,
            RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE => RDKafkaErrorCode::MessageSizeTooLarge,
            RD_KAFKA_RESP_ERR_STALE_CTRL_EPOCH => RDKafkaErrorCode::StaleControllerEpoch,
            RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE => RDKafkaErrorCode::OffsetMetadataTooLarge,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION => RDKafkaErrorCode::NetworkException,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS => {
                RDKafkaErrorCode::CoordinatorLoadInProgress
            }
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE => {
                RDKafkaErrorCode::CoordinatorNotAvailable
            }
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR => RDKafkaErrorCode::NotCoordinator,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION => RDKafkaErrorCode::InvalidTopic,
            RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE => RDKafkaErrorCode::MessageBatchTooLarge,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS => RDKafkaErrorCode::NotEnoughReplicas,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND => {
                RDKafkaErrorCode::NotEnoughReplicasAfterAppend
            }
            RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS => RDKafkaErrorCode::InvalidRequiredAcks,
            RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION => RDKafkaErrorCode::IllegalGeneration,
            RD_KAFKA_RESP_ERR_INCONSISTENT_GROUP_PROTOCOL => {
                RDKafkaErrorCode::InconsistentGroupProtocol
            }
            RD_KAFKA_RESP_ERR_INVALID_GROUP_ID => RDKafkaErrorCode::InvalidGroupId,
            RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID => RDKafkaErrorCode::UnknownMemberId,
            RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT => RDKafkaErrorCode::InvalidSessionTimeout,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS => RDKafkaErrorCode::RebalanceInProgress,
            RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE => {
                RDKafkaErrorCode::InvalidCommitOffsetSize
            }
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED => {
                RDKafkaErrorCode::TopicAuthorizationFailed
            }
            RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED => {
                RDKafkaErrorCode::GroupAuthorizationFailed
            }
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED => {
                RDKafkaErrorCode::ClusterAuthorizationFailed
            }
            RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP => RDKafkaErrorCode::InvalidTimestamp,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM => {
                RDKafkaErrorCode::UnsupportedSASLMechanism
            }
            RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE => RDKafkaErrorCode::IllegalSASLState,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION => RDKafkaErrorCode::UnsupportedVersion,
            RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS => RDKafkaErrorCode::TopicAlreadyExists,
            RD_KAFKA_RESP_ERR_INVALID_PARTITIONS => RDKafkaErrorCode::InvalidPartitions,
            RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR => {
                RDKafkaErrorCode::InvalidReplicationFactor
            }
            RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT => {
                RDKafkaErrorCode::InvalidReplicaAssignment
            }
            RD_KAFKA_RESP_ERR_INVALID_CONFIG => RDKafkaErrorCode::InvalidConfig,
            RD_KAFKA_RESP_ERR_NOT_CONTROLLER => RDKafkaErrorCode::NotController,
            RD_KAFKA_RESP_ERR_INVALID_REQUEST => RDKafkaErrorCode::InvalidRequest,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT => {
                RDKafkaErrorCode::UnsupportedForMessageFormat
            }
            RD_KAFKA_RESP_ERR_POLICY_VIOLATION => RDKafkaErrorCode::PolicyViolation,
            RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER => {
                RDKafkaErrorCode::OutOfOrderSequenceNumber
            }
            RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER => {
                RDKafkaErrorCode::DuplicateSequenceNumber
            }
            RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH => RDKafkaErrorCode::InvalidProducerEpoch,
            RD_KAFKA_RESP_ERR_INVALID_TXN_STATE => RDKafkaErrorCode::InvalidTransactionalState,
            RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING => {
                RDKafkaErrorCode::InvalidProducerIdMapping
            }
            RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT => {
                RDKafkaErrorCode::InvalidTransactionTimeout
            }
            RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS => RDKafkaErrorCode::ConcurrentTransactions,
            RD_KAFKA_RESP_ERR_TRANSACTION_COORDINATOR_FENCED => {
                RDKafkaErrorCode::TransactionCoordinatorFenced
            }
            RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED => {
                RDKafkaErrorCode::TransactionalIdAuthorizationFailed
            }
            RD_KAFKA_RESP_ERR_SECURITY_DISABLED => RDKafkaErrorCode::SecurityDisabled,
            RD_KAFKA_RESP_ERR_OPERATION_NOT_ATTEMPTED => RDKafkaErrorCode::OperationNotAttempted,
            RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR => RDKafkaErrorCode::KafkaStorageError,
            RD_KAFKA_RESP_ERR_LOG_DIR_NOT_FOUND => RDKafkaErrorCode::LogDirNotFound,
            RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED => {
                RDKafkaErrorCode::SaslAuthenticationFailed
            }
            RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID => RDKafkaErrorCode::UnknownProducerId,
            RD_KAFKA_RESP_ERR_REASSIGNMENT_IN_PROGRESS => RDKafkaErrorCode::ReassignmentInProgress,
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTH_DISABLED => {
                RDKafkaErrorCode::DelegationTokenAuthDisabled
            }
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_NOT_FOUND => {
                RDKafkaErrorCode::DelegationTokenNotFound
            }
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_OWNER_MISMATCH => {
                RDKafkaErrorCode::DelegationTokenOwnerMismatch
            }
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_REQUEST_NOT_ALLOWED => {
                RDKafkaErrorCode::DelegationTokenRequestNotAllowed
            }
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED => {
                RDKafkaErrorCode::DelegationTokenAuthorizationFailed
            }
            RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_EXPIRED => RDKafkaErrorCode::DelegationTokenExpired,
            RD_KAFKA_RESP_ERR_INVALID_PRINCIPAL_TYPE => RDKafkaErrorCode::InvalidPrincipalType,
            RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP => RDKafkaErrorCode::NonEmptyGroup,
            RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND => RDKafkaErrorCode::GroupIdNotFound,
            RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND => {
                RDKafkaErrorCode::FetchSessionIdNotFound
            }
            RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH => {
                RDKafkaErrorCode::InvalidFetchSessionEpoch
            }
            RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND => RDKafkaErrorCode::ListenerNotFound,
            RD_KAFKA_RESP_ERR_TOPIC_DELETION_DISABLED => RDKafkaErrorCode::TopicDeletionDisabled,
            RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH => RDKafkaErrorCode::FencedLeaderEpoch,
            RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH => RDKafkaErrorCode::UnknownLeaderEpoch,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE => {
                RDKafkaErrorCode::UnsupportedCompressionType
            }
            RD_KAFKA_RESP_ERR_STALE_BROKER_EPOCH => RDKafkaErrorCode::StaleBrokerEpoch,
            RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE => RDKafkaErrorCode::OffsetNotAvailable,
            RD_KAFKA_RESP_ERR_MEMBER_ID_REQUIRED => RDKafkaErrorCode::MemberIdRequired,
            RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE => {
                RDKafkaErrorCode::PreferredLeaderNotAvailable
            }
            RD_KAFKA_RESP_ERR_GROUP_MAX_SIZE_REACHED => RDKafkaErrorCode::GroupMaxSizeReached,
            RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID => RDKafkaErrorCode::FencedInstanceId,
            RD_KAFKA_RESP_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE => {
                RDKafkaErrorCode::EligibleLeadersNotAvailable
            }
            RD_KAFKA_RESP_ERR_ELECTION_NOT_NEEDED => RDKafkaErrorCode::ElectionNotNeeded,
            RD_KAFKA_RESP_ERR_NO_REASSIGNMENT_IN_PROGRESS => {
                RDKafkaErrorCode::NoReassignmentInProgress
            }
            RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC => RDKafkaErrorCode::GroupSubscribedToTopic,
            RD_KAFKA_RESP_ERR_INVALID_RECORD => RDKafkaErrorCode::InvalidRecord,
            RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT => RDKafkaErrorCode::UnstableOffsetCommit,
            RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED => {
                RDKafkaErrorCode::ThrottlingQuotaExceeded
            }
            RD_KAFKA_RESP_ERR_PRODUCER_FENCED => RDKafkaErrorCode::ProducerFenced,
            RD_KAFKA_RESP_ERR_RESOURCE_NOT_FOUND => RDKafkaErrorCode::ResourceNotFound,
            RD_KAFKA_RESP_ERR_DUPLICATE_RESOURCE => RDKafkaErrorCode::DuplicateResource,
            RD_KAFKA_RESP_ERR_UNACCEPTABLE_CREDENTIAL => RDKafkaErrorCode::UnacceptableCredential,
            RD_KAFKA_RESP_ERR_INCONSISTENT_VOTER_SET => RDKafkaErrorCode::InconsistentVoterSet,
            RD_KAFKA_RESP_ERR_INVALID_UPDATE_VERSION => RDKafkaErrorCode::InvalidUpdateVersion,
            RD_KAFKA_RESP_ERR_FEATURE_UPDATE_FAILED => RDKafkaErrorCode::FeatureUpdateFailed,
            RD_KAFKA_RESP_ERR_PRINCIPAL_DESERIALIZATION_FAILURE => {
                RDKafkaErrorCode::PrincipalDeserializationFailure
            }
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_ID => RDKafkaErrorCode::UnknownTopicId,
            RD_KAFKA_RESP_ERR_FENCED_MEMBER_EPOCH => RDKafkaErrorCode::FencedMemberEpoch,
            RD_KAFKA_RESP_ERR_UNRELEASED_INSTANCE_ID => RDKafkaErrorCode::UnreleasedInstanceId,
            RD_KAFKA_RESP_ERR_UNSUPPORTED_ASSIGNOR => RDKafkaErrorCode::UnsupportedAssignor,
            RD_KAFKA_RESP_ERR_STALE_MEMBER_EPOCH => RDKafkaErrorCode::StaleMemberEpoch,
            RD_KAFKA_RESP_ERR_UNKNOWN_SUBSCRIPTION_ID => RDKafkaErrorCode::UnknownSubscriptionId,
            RD_KAFKA_RESP_ERR_TELEMETRY_TOO_LARGE => RDKafkaErrorCode::TelemetryTooLarge,
            RD_KAFKA_RESP_ERR_REBOOTSTRAP_REQUIRED => RDKafkaErrorCode::RebootstrapRequired,
            RD_KAFKA_RESP_ERR_END_ALL => RDKafkaErrorCode::EndAll,
        }
    }
}
