//! One partition's log: segments (`.log` + `.index` + `.timeindex`), append, read, roll,
//! recovery, retention, checkpoints.

pub(crate) mod checkpoint;
mod fetch;
mod index;
mod index_checksums;
mod partition;
mod recovery;
mod replay;
mod retention;
mod scan;
mod segment;

pub use fetch::FetchData;
pub(crate) use index_checksums::IndexChecksums;
pub use partition::{AppendInfo, Log, SegmentInfo};
pub use recovery::{LogOptions, RecoveryMode, RecoveryReport};
pub use segment::{file_stem, segment_base_offset};
