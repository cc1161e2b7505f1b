//! Kafka's v2 record batch, byte for byte: builder, zero-copy views, varints, CRC-32C and LZ4
//! frames. Pure bytes; nothing here touches a file.

mod batch;
mod builder;
mod compression;
mod control;
mod crc;
mod filter;
#[allow(clippy::module_inception)]
mod record;
pub mod varint;

pub use batch::{
    BatchError, BatchIter, RecordBatch, Records, TimestampType, BATCH_HEADER_BYTES,
    DECOMPRESSED_BYTES_MAX, LOG_OVERHEAD_BYTES, MAGIC_V2,
};
pub(crate) use builder::put_record;
pub(crate) use builder::stamp_producer;
pub use builder::{stamp_batch, stamp_log_append_time, BatchBuilder};
pub use compression::{compress, decompress, Compression};
pub use control::{end_transaction_marker_value, parse_end_transaction_marker, ControlRecordType};
pub use crc::crc32c;
pub(crate) use filter::{empty_batch, filter_batch, gap_batch, stamp_delete_horizon, Filtered};
pub(crate) use record::{next_validated, skip_validated};
pub use record::{Header, HeaderIter, Record, RecordIter};

#[cfg(test)]
mod tests;
