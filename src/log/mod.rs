//! One partition's log: segments (`.log` + `.index` + `.timeindex`), append, read, roll,
//! recovery, retention, checkpoints.

mod aborted_filter;
pub(crate) mod checkpoint;
mod cleaner;
mod conditional;
mod fetch;
mod hinted;
mod incoming;
mod index;
mod index_checksums;
mod partition;
mod producer_snapshot;
mod producer_state;
mod producers;
mod read;
mod recovery;
mod recovery_report;
mod replay;
mod retention;
mod scan;
mod segment;
#[cfg(test)]
mod test_log;
mod transactions;
mod validate;

pub(crate) use aborted_filter::AbortedFilter;
pub(crate) use cleaner::MARKERS as CLEANER_FILE_MARKERS;
pub use cleaner::{CleanStats, Cleanable};
pub use fetch::FetchData;
pub(crate) use index_checksums::IndexChecksums;
pub(crate) use index_checksums::FILE_NAME as INDEX_CHECKSUMS_FILE;
pub use partition::{AppendInfo, Log, SegmentInfo};
pub(crate) use producer_snapshot::SNAPSHOT_SUFFIX;
pub use producer_snapshot::{read_producer_snapshot, ProducerSnapshotEntry};
pub(crate) use producer_state::increment_sequence;
pub use producers::ProducerStateInfo;
pub(crate) use producers::DEFAULT_PRODUCER_ID_EXPIRATION_MS;
pub(crate) use recovery::LOCK_FILE as LOG_LOCK_FILE;
pub use recovery::{Cut, LogOptions, RecoveryMode, RecoveryReport};
pub(crate) use replay::Entry;
pub(crate) use segment::SEGMENT_SUFFIXES;
pub use segment::{file_stem, segment_base_offset};
pub use transactions::{read_transaction_index, AbortedTransaction};

/// The suffix of the event store's stream index tables, which it keeps in the partition
/// directories of its topic (`<first offset>.streams`): the log leaves them alone, and the
/// cluster counts them as its own files.
pub const STREAM_INDEX_SUFFIX: &str = ".streams";

/// The file in which the event store keeps, in its topic's partition 0, how many of the
/// topic's partitions it places streams over: the log leaves it alone, and the cluster
/// counts it as its own file.
pub const EVENT_STORE_FILE: &str = "eventstore.metadata";
