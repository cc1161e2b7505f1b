//! One partition's log: segments (`.log` + `.index` + `.timeindex`), append, read, roll,
//! recovery, retention, checkpoints.

pub mod checkpoint;
mod fetch;
mod index;
mod partition;
mod recovery;
mod retention;
mod segment;

pub use fetch::FetchData;
pub use index::{OffsetEntry, SegmentIndex, TimeEntry};
pub use partition::{AppendInfo, Log, SegmentInfo};
pub use recovery::{LogOptions, RecoveryMode, RecoveryReport};
pub use segment::{file_stem, parse_stem};
