//! rust-rdkafka's errors (`rdkafka::error`): [`KafkaError`], keyed by the operation that
//! failed, carrying librdkafka's [`RDKafkaErrorCode`]; [`RDKafkaError`] for transactions.
//! Messages print as rdkafka's do.

use std::fmt;
use std::sync::Arc;

pub use super::error_code::RDKafkaErrorCode;
use crate::error::Error;

/// The result of a facade call.
pub type KafkaResult<T> = Result<T, KafkaError>;

/// Whether a value is an error (rdkafka's trait for its native results).
pub trait IsError {
    /// Whether `self` is an error.
    fn is_error(&self) -> bool;
}

impl IsError for RDKafkaError {
    fn is_error(&self) -> bool {
        self.0.is_some()
    }
}

impl IsError for RDKafkaConfRes {
    fn is_error(&self) -> bool {
        *self != RDKafkaConfRes::RD_KAFKA_CONF_OK
    }
}

/// librdkafka's result of setting a configuration property (`rd_kafka_conf_res_t`).
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RDKafkaConfRes {
    /// Unknown configuration name.
    RD_KAFKA_CONF_UNKNOWN = -2,
    /// Invalid configuration value or property or value not supported in this build.
    RD_KAFKA_CONF_INVALID = -1,
    /// Configuration okay.
    RD_KAFKA_CONF_OK = 0,
}

#[derive(Debug)]
struct ErrorDetail {
    code: RDKafkaErrorCode,
    message: String,
    fatal: bool,
    retriable: bool,
    txn_requires_abort: bool,
}

/// A librdkafka error object (`rd_kafka_error_t`): a code, a message and how it may be
/// handled, as the transactional calls return them. Cheap to clone.
#[derive(Clone)]
pub struct RDKafkaError(Option<Arc<ErrorDetail>>);

impl RDKafkaError {
    /// An error with `code` and `message`, classified as librdkafka's transactional API
    /// classifies it.
    pub(crate) fn new(code: RDKafkaErrorCode, message: impl Into<String>) -> RDKafkaError {
        use RDKafkaErrorCode::*;
        let fatal = matches!(
            code,
            ProducerFenced
                | InvalidProducerEpoch
                | TransactionalIdAuthorizationFailed
                | UnsupportedVersion
                | Fenced
        );
        let retriable = matches!(
            code,
            OperationTimedOut
                | TimedOutQueue
                | CoordinatorLoadInProgress
                | CoordinatorNotAvailable
                | NotCoordinator
                | ConcurrentTransactions
                | RequestTimedOut
        );
        let txn_requires_abort =
            !fatal && !retriable && !matches!(code, State | InvalidTransactionalState | NoError);
        RDKafkaError(Some(Arc::new(ErrorDetail {
            code,
            message: message.into(),
            fatal,
            retriable,
            txn_requires_abort,
        })))
    }

    /// The error code (`NoError` for no error).
    pub fn code(&self) -> RDKafkaErrorCode {
        self.0
            .as_ref()
            .map_or(RDKafkaErrorCode::NoError, |detail| detail.code)
    }

    /// The code's name, as librdkafka's `rd_kafka_error_name` (`"_STATE"`, `"PRODUCER_FENCED"`).
    pub fn name(&self) -> String {
        let code = self.code();
        let name = format!("{code:?}");
        let mut upper = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                upper.push('_');
            }
            upper.push(c.to_ascii_uppercase());
        }
        if (code as i32) < 0 {
            format!("_{upper}")
        } else {
            upper
        }
    }

    /// The human-readable message.
    pub fn string(&self) -> String {
        self.0
            .as_ref()
            .map_or_else(|| "Success".to_string(), |detail| detail.message.clone())
    }

    /// Whether the producer can no longer be used (fenced, or a fatal idempotence error).
    pub fn is_fatal(&self) -> bool {
        self.0.as_ref().is_some_and(|detail| detail.fatal)
    }

    /// Whether the call may be retried as it was.
    pub fn is_retriable(&self) -> bool {
        self.0.as_ref().is_some_and(|detail| detail.retriable)
    }

    /// Whether the transaction must be aborted (`abort_transaction`) before going on.
    pub fn txn_requires_abort(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|detail| detail.txn_requires_abort)
    }
}

impl PartialEq for RDKafkaError {
    fn eq(&self, other: &RDKafkaError) -> bool {
        self.code() == other.code()
    }
}

impl Eq for RDKafkaError {}

impl fmt::Debug for RDKafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RDKafkaError({self})")
    }
}

impl fmt::Display for RDKafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.string())
    }
}

impl std::error::Error for RDKafkaError {}

/// Represents all possible Kafka errors, as rust-rdkafka's `KafkaError`: the variant names
/// the operation, the code says what went wrong.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KafkaError {
    /// Creation of admin operation failed.
    AdminOpCreation(String),
    /// The admin operation itself failed.
    AdminOp(RDKafkaErrorCode),
    /// The client was dropped before the operation completed.
    Canceled,
    /// Invalid client configuration: result, description, key, value.
    ClientConfig(RDKafkaConfRes, String, String, String),
    /// Client creation failed.
    ClientCreation(String),
    /// Consumer commit failed.
    ConsumerCommit(RDKafkaErrorCode),
    /// Consumer queue close failed.
    ConsumerQueueClose(RDKafkaErrorCode),
    /// Flushing failed.
    Flush(RDKafkaErrorCode),
    /// Global error.
    Global(RDKafkaErrorCode),
    /// Group list fetch failed.
    GroupListFetch(RDKafkaErrorCode),
    /// Message consumption failed.
    MessageConsumption(RDKafkaErrorCode),
    /// Message consumption failed with a fatal error.
    MessageConsumptionFatal(RDKafkaErrorCode),
    /// Message production error.
    MessageProduction(RDKafkaErrorCode),
    /// Metadata fetch error.
    MetadataFetch(RDKafkaErrorCode),
    /// No message was received.
    NoMessageReceived,
    /// Unexpected null byte in a string (never raised here: no C strings are made).
    Nul(std::ffi::NulError),
    /// Offset fetch failed.
    OffsetFetch(RDKafkaErrorCode),
    /// End of partition reached.
    PartitionEOF(i32),
    /// Pause/Resume failed.
    PauseResume(String),
    /// Rebalance failed.
    Rebalance(RDKafkaErrorCode),
    /// Seeking a partition failed.
    Seek(String),
    /// Setting partition offset failed.
    SetPartitionOffset(RDKafkaErrorCode),
    /// Offset store failed.
    StoreOffset(RDKafkaErrorCode),
    /// Subscription creation failed.
    Subscription(String),
    /// Transaction error.
    Transaction(RDKafkaError),
    /// Mock cluster error.
    MockCluster(RDKafkaErrorCode),
}

impl KafkaError {
    /// The librdkafka error code carried, if any.
    pub fn rdkafka_error_code(&self) -> Option<RDKafkaErrorCode> {
        use KafkaError::*;
        match self {
            AdminOp(code)
            | ConsumerCommit(code)
            | ConsumerQueueClose(code)
            | Flush(code)
            | Global(code)
            | GroupListFetch(code)
            | MessageConsumption(code)
            | MessageConsumptionFatal(code)
            | MessageProduction(code)
            | MetadataFetch(code)
            | OffsetFetch(code)
            | Rebalance(code)
            | SetPartitionOffset(code)
            | StoreOffset(code)
            | MockCluster(code) => Some(*code),
            Transaction(error) => Some(error.code()),
            _ => None,
        }
    }

    /// The error's text without the "KafkaError (...)" frame Debug adds.
    fn text(&self) -> String {
        use KafkaError::*;
        match self {
            AdminOp(err) => format!("Admin operation error: {err}"),
            AdminOpCreation(err) => format!("Admin operation creation error: {err}"),
            Canceled => "Client dropped".to_string(),
            ClientConfig(_, desc, key, value) => {
                format!("Client config error: {desc} {key} {value}")
            }
            ClientCreation(err) => format!("Client creation error: {err}"),
            ConsumerCommit(err) => format!("Consumer commit error: {err}"),
            ConsumerQueueClose(err) => format!("Consumer queue close error: {err}"),
            Flush(err) => format!("Flush error: {err}"),
            Global(err) => format!("Global error: {err}"),
            GroupListFetch(err) => format!("Group list fetch error: {err}"),
            MessageConsumption(err) => format!("Message consumption error: {err}"),
            MessageConsumptionFatal(err) => format!("Message consumption error: {err}"),
            MessageProduction(err) => format!("Message production error: {err}"),
            MetadataFetch(err) => format!("Metadata fetch error: {err}"),
            NoMessageReceived => "No message received within the given poll interval".into(),
            Nul(_) => "FFI null error".to_string(),
            OffsetFetch(err) => format!("Offset fetch error: {err}"),
            PartitionEOF(partition) => format!("Partition EOF: {partition}"),
            PauseResume(err) => format!("Pause/resume error: {err}"),
            Rebalance(err) => format!("Rebalance error: {err}"),
            Seek(err) => format!("Seek error: {err}"),
            SetPartitionOffset(err) => format!("Set partition offset error: {err}"),
            StoreOffset(err) => format!("Store offset error: {err}"),
            Subscription(err) => format!("Subscription error: {err}"),
            Transaction(err) => format!("Transaction error: {err}"),
            MockCluster(err) => format!("Mock cluster error: {err}"),
        }
    }
}

impl fmt::Debug for KafkaError {
    /// As rdkafka's: `KafkaError (Message production error: ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KafkaError::NoMessageReceived => f.write_str(&self.text()),
            KafkaError::MessageConsumptionFatal(_) => {
                write!(f, "(Fatal) KafkaError ({})", self.text())
            }
            _ => write!(f, "KafkaError ({})", self.text()),
        }
    }
}

impl fmt::Display for KafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KafkaError::Canceled => f.write_str("KafkaError (Client dropped)"),
            KafkaError::MetadataFetch(err) => write!(f, "Meta data fetch error: {err}"),
            KafkaError::Nul(_) => f.write_str("FFI nul error"),
            KafkaError::MessageConsumptionFatal(_) => write!(f, "(Fatal) {}", self.text()),
            _ => f.write_str(&self.text()),
        }
    }
}

impl std::error::Error for KafkaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        use KafkaError::*;
        match self {
            AdminOp(_) | AdminOpCreation(_) | Canceled | ClientConfig(..) | ClientCreation(_) => {
                None
            }
            NoMessageReceived | Nul(_) | PartitionEOF(_) | PauseResume(_) | Seek(_) => None,
            Subscription(_) => None,
            Transaction(err) => Some(err),
            ConsumerCommit(err)
            | ConsumerQueueClose(err)
            | Flush(err)
            | Global(err)
            | GroupListFetch(err)
            | MessageConsumption(err)
            | MessageConsumptionFatal(err)
            | MessageProduction(err)
            | MetadataFetch(err)
            | OffsetFetch(err)
            | Rebalance(err)
            | SetPartitionOffset(err)
            | StoreOffset(err)
            | MockCluster(err) => Some(err),
        }
    }
}

impl From<std::ffi::NulError> for KafkaError {
    fn from(err: std::ffi::NulError) -> KafkaError {
        KafkaError::Nul(err)
    }
}

/// The librdkafka code for a kafkalite error: Kafka's protocol code where the error has one,
/// librdkafka's local code for local conditions.
pub(crate) fn code_of(error: &Error) -> RDKafkaErrorCode {
    use RDKafkaErrorCode as Code;
    match error {
        Error::Timeout(_) => Code::OperationTimedOut,
        Error::QueueFull(_) => Code::QueueFull,
        Error::Closed => Code::BrokerDestroy,
        Error::IllegalState(_) | Error::WouldDeadlock(_) => Code::State,
        Error::InvalidRegularExpression(_) | Error::Serialization(_) => Code::InvalidArgument,
        Error::TransactionAborted(_) => Code::PurgeQueue,
        Error::Locked { .. } => Code::Conflict,
        Error::Io { .. } | Error::Failed { .. } => Code::FileSystem,
        _ => error
            .code()
            .and_then(|code| Code::from_code(i32::from(code.as_i16())))
            .unwrap_or(Code::Fail),
    }
}

/// A transactional call's error, as librdkafka's transactional API returns it: its codes
/// normalized as `rd_kafka_txn_normalize_err` does (either fencing error is `_FENCED`, a
/// timeout in the queue `_TIMED_OUT`).
pub(crate) fn transaction_error(error: &Error) -> KafkaError {
    use RDKafkaErrorCode as Code;
    let code = match code_of(error) {
        Code::ProducerFenced | Code::InvalidProducerEpoch => Code::Fenced,
        Code::TimedOutQueue => Code::OperationTimedOut,
        code => code,
    };
    KafkaError::Transaction(RDKafkaError::new(code, error.to_string()))
}
