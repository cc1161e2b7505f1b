//! A zero-copy view over one Kafka v2 record batch.

use std::borrow::Cow;

use super::compression::{self, Compression};
use super::record::{Record, RecordIter};
pub use crate::config::TimestampType;
use crate::error::{Error, Result};

/// Size of the batch header; also the smallest valid batch (one with no records).
pub const BATCH_HEADER_BYTES: usize = 61;
/// `baseOffset` + `batchLength`: the prefix every log entry format shares.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// The only record format kafkalite reads and writes.
pub const MAGIC_V2: i8 = 2;
/// Default cap on a decompressed records section (Kafka's own batches stay far below it).
pub const DECOMPRESSED_BYTES_MAX: usize = 64 * 1024 * 1024;

pub(crate) const BASE_OFFSET_AT: usize = 0;
pub(crate) const LENGTH_AT: usize = 8;
pub(crate) const LEADER_EPOCH_AT: usize = 12;
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;
pub(crate) const ATTRIBUTES_AT: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(crate) const BASE_TIMESTAMP_AT: usize = 27;
pub(crate) const MAX_TIMESTAMP_AT: usize = 35;
pub(crate) const PRODUCER_ID_AT: usize = 43;
pub(crate) const PRODUCER_EPOCH_AT: usize = 51;
pub(crate) const BASE_SEQUENCE_AT: usize = 53;
pub(crate) const RECORDS_COUNT_AT: usize = 57;

pub(crate) const TIMESTAMP_TYPE_BIT: u8 = 0x08;
const TRANSACTIONAL_BIT: u8 = 0x10;
const CONTROL_BIT: u8 = 0x20;
pub(crate) const DELETE_HORIZON_BIT: u8 = 0x40;

/// Why bytes at the front of a buffer are not a whole valid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The buffer ends before the batch does: `needed` bytes would be required. At the end of a
    /// log this is a torn tail.
    Incomplete {
        /// Bytes the batch would need in all.
        needed: usize,
    },
    /// The bytes cannot be a valid batch.
    Invalid(String),
}

impl BatchError {
    /// Converts into the public error for a batch handed in by a caller.
    pub fn into_error(self) -> Error {
        match self {
            BatchError::Incomplete { needed } => {
                Error::CorruptRecord(format!("batch is truncated: {needed} bytes needed"))
            }
            BatchError::Invalid(why) => Error::CorruptRecord(why),
        }
    }
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Incomplete { needed } => {
                write!(f, "truncated batch ({needed} bytes needed)")
            }
            BatchError::Invalid(why) => f.write_str(why),
        }
    }
}

/// A view over the bytes of exactly one v2 record batch. Construction checks the framing
/// (sizes, magic, record count); the CRC is checked by [`RecordBatch::verify_crc`].
#[derive(Clone, Copy)]
pub struct RecordBatch<'a> {
    bytes: &'a [u8],
}

impl std::fmt::Debug for RecordBatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset())
            .field("last_offset", &self.last_offset())
            .field("records_count", &self.records_count())
            .field("size", &self.size())
            .finish()
    }
}

impl<'a> RecordBatch<'a> {
    /// Reads the batch at the front of `buf`, which may hold more bytes after it.
    pub fn parse_prefix(buf: &'a [u8]) -> std::result::Result<RecordBatch<'a>, BatchError> {
        if buf.len() < LOG_OVERHEAD_BYTES {
            return Err(BatchError::Incomplete {
                needed: LOG_OVERHEAD_BYTES,
            });
        }
        let length =
            i32::from_be_bytes(buf[LENGTH_AT..LENGTH_AT + 4].try_into().unwrap_or_default());
        let size = (length as i64) + LOG_OVERHEAD_BYTES as i64;
        if size < BATCH_HEADER_BYTES as i64 {
            return Err(BatchError::Invalid(format!(
                "batch length {length} is smaller than the {BATCH_HEADER_BYTES}-byte header"
            )));
        }
        // At least the header's size (checked above) and at most i32::MAX + 12.
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if buf.len() <= MAGIC_AT {
            return Err(BatchError::Incomplete { needed: size });
        }
        let magic = buf[MAGIC_AT] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::Invalid(format!(
                "magic {magic} is not 2 (only record format v2 is supported)"
            )));
        }
        if buf.len() < size {
            return Err(BatchError::Incomplete { needed: size });
        }
        let batch = RecordBatch {
            bytes: &buf[..size],
        };
        if batch.records_count() < 0 {
            return Err(BatchError::Invalid(format!(
                "record count {} is negative",
                batch.records_count()
            )));
        }
        if batch.last_offset_delta() < 0 {
            return Err(BatchError::Invalid(format!(
                "last offset delta {} is negative",
                batch.last_offset_delta()
            )));
        }
        // `next_offset` (base + delta + 1) must be an offset.
        if batch.base_offset() > i64::MAX - 1 - i64::from(batch.last_offset_delta()) {
            return Err(BatchError::Invalid(format!(
                "base offset {} and last offset delta {} overflow the offset range",
                batch.base_offset(),
                batch.last_offset_delta()
            )));
        }
        Ok(batch)
    }

    /// Views `bytes` as one batch; extra bytes after the batch are an error.
    pub fn new(bytes: &'a [u8]) -> Result<RecordBatch<'a>> {
        let batch = Self::parse_prefix(bytes).map_err(BatchError::into_error)?;
        if batch.size() != bytes.len() {
            return Err(Error::CorruptRecord(format!(
                "{} bytes follow the batch",
                bytes.len() - batch.size()
            )));
        }
        Ok(batch)
    }

    fn i16_at(&self, at: usize) -> i16 {
        i16::from_be_bytes([self.bytes[at], self.bytes[at + 1]])
    }
    fn i32_at(&self, at: usize) -> i32 {
        i32::from_be_bytes(
            self.bytes[at..at + 4]
                .try_into()
                .expect("4-byte field inside the checked header"),
        )
    }
    fn i64_at(&self, at: usize) -> i64 {
        i64::from_be_bytes(
            self.bytes[at..at + 8]
                .try_into()
                .expect("8-byte field inside the checked header"),
        )
    }

    /// The whole batch, header included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Size of the batch in bytes (`12 + batchLength`).
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
    /// Offset of the first record.
    pub fn base_offset(&self) -> i64 {
        self.i64_at(BASE_OFFSET_AT)
    }
    /// The `batchLength` field.
    pub fn batch_length(&self) -> i32 {
        self.i32_at(LENGTH_AT)
    }
    /// The partition leader epoch stamped by the log.
    pub fn partition_leader_epoch(&self) -> i32 {
        self.i32_at(LEADER_EPOCH_AT)
    }
    /// The format version (always 2 for a parsed batch).
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC_AT] as i8
    }
    /// The stored CRC-32C.
    pub fn crc(&self) -> u32 {
        self.i32_at(CRC_AT).cast_unsigned()
    }
    /// CRC-32C of the bytes the stored CRC covers (attributes to the end).
    pub fn compute_crc(&self) -> u32 {
        super::crc::crc32c(&self.bytes[ATTRIBUTES_AT..])
    }
    /// Whether the stored CRC matches the contents.
    pub fn is_valid(&self) -> bool {
        self.crc() == self.compute_crc()
    }
    /// Checks the CRC, naming both values on a mismatch.
    pub fn verify_crc(&self) -> std::result::Result<(), BatchError> {
        let (stored, computed) = (self.crc(), self.compute_crc());
        if stored == computed {
            Ok(())
        } else {
            Err(BatchError::Invalid(format!(
                "CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
            )))
        }
    }
    /// The raw attributes field.
    pub fn attributes(&self) -> i16 {
        self.i16_at(ATTRIBUTES_AT)
    }
    fn attribute_byte(&self) -> u8 {
        self.bytes[ATTRIBUTES_AT + 1]
    }
    /// The compression codec, or an error for codec numbers 5-7.
    pub fn compression(&self) -> Result<Compression> {
        Compression::from_id(self.attribute_byte() & 0x07)
    }
    /// CreateTime or LogAppendTime.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attribute_byte() & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }
    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attribute_byte() & TRANSACTIONAL_BIT != 0
    }
    /// Whether the batch holds control records (transaction markers) only.
    pub fn is_control(&self) -> bool {
        self.attribute_byte() & CONTROL_BIT != 0
    }
    /// The delete horizon (in `baseTimestamp`) when attribute bit 6 is set.
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        (self.attribute_byte() & DELETE_HORIZON_BIT != 0).then(|| self.base_timestamp())
    }
    /// Last offset minus base offset.
    pub fn last_offset_delta(&self) -> i32 {
        self.i32_at(LAST_OFFSET_DELTA_AT)
    }
    /// Offset of the last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset() + self.last_offset_delta() as i64
    }
    /// Offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// Timestamp of the first record (or the delete horizon).
    pub fn base_timestamp(&self) -> i64 {
        self.i64_at(BASE_TIMESTAMP_AT)
    }
    /// Largest record timestamp, or the append time under LogAppendTime.
    pub fn max_timestamp(&self) -> i64 {
        self.i64_at(MAX_TIMESTAMP_AT)
    }
    /// Producer id, −1 for none.
    pub fn producer_id(&self) -> i64 {
        self.i64_at(PRODUCER_ID_AT)
    }
    /// Producer epoch, −1 for none.
    pub fn producer_epoch(&self) -> i16 {
        self.i16_at(PRODUCER_EPOCH_AT)
    }
    /// Sequence of the first record, −1 for none.
    pub fn base_sequence(&self) -> i32 {
        self.i32_at(BASE_SEQUENCE_AT)
    }
    /// Sequence of the last record (wrapping after `i32::MAX`), −1 for none.
    pub fn last_sequence(&self) -> i32 {
        match self.base_sequence() {
            -1 => -1,
            base => {
                // Wraps past i32::MAX to 0, as Kafka's DefaultRecordBatch.incrementSequence.
                let last = i64::from(base) + i64::from(self.last_offset_delta());
                let wrapped = if last > i64::from(i32::MAX) {
                    last - i64::from(i32::MAX) - 1
                } else {
                    last
                };
                // Only a negative base other than −1 (a damaged header) falls outside i32.
                i32::try_from(wrapped).unwrap_or(-1)
            }
        }
    }
    /// Number of records physically present.
    pub fn records_count(&self) -> i32 {
        self.i32_at(RECORDS_COUNT_AT)
    }
    /// Whether every offset from the base to the last holds a record (no gaps, which only
    /// compaction leaves): then the record at index `i` has offset `base_offset() + i`.
    pub fn is_dense(&self) -> bool {
        self.records_count() == self.last_offset_delta().wrapping_add(1)
    }
    /// The records section as stored (compressed or not).
    pub fn records_section(&self) -> &'a [u8] {
        &self.bytes[BATCH_HEADER_BYTES..]
    }

    /// The batch's records, decompressed once if needed (at most
    /// [`DECOMPRESSED_BYTES_MAX`] bytes).
    pub fn records(&self) -> Result<Records<'a>> {
        self.records_with_limit(DECOMPRESSED_BYTES_MAX)
    }

    /// As [`RecordBatch::records`] with an explicit cap on the decompressed size.
    pub fn records_with_limit(&self, decompressed_bytes_max: usize) -> Result<Records<'a>> {
        let section = match self.compression()? {
            Compression::None => Cow::Borrowed(self.records_section()),
            codec => Cow::Owned(compression::decompress(
                codec,
                self.records_section(),
                decompressed_bytes_max,
            )?),
        };
        Ok(Records {
            section,
            count: self.records_count(),
            base_offset: self.base_offset(),
            base_timestamp: self.base_timestamp(),
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then(|| self.max_timestamp()),
        })
    }
}

/// The records of one batch, borrowed from the segment or decompressed once.
#[derive(Debug)]
pub struct Records<'a> {
    section: Cow<'a, [u8]>,
    count: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
}

impl Records<'_> {
    /// Iterates the records; each item is an error if the record is malformed, and the iterator
    /// reports a count mismatch or trailing bytes as a final error.
    #[inline]
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter::new(
            &self.section,
            self.count,
            self.base_offset,
            self.base_timestamp,
            self.log_append_time,
        )
    }

    /// Decodes every record, failing on the first malformed one.
    pub fn collect_all(&self) -> Result<Vec<Record<'_>>> {
        self.iter().collect()
    }

    /// Number of records the batch header announces.
    pub fn count(&self) -> i32 {
        self.count
    }

    /// The records by the fast path ([`super::next_validated`]), for batches validated
    /// when appended: the header fields are not walked. A record that does not decode, or a
    /// count that does not match, is an error.
    pub(crate) fn raw(&self) -> impl Iterator<Item = Result<super::record::RawRecord<'_>>> {
        self.fast(super::record::next_validated)
    }

    /// Each record's offset delta and key, as [`Records::raw`] reads them without decoding
    /// the rest (the cleaner's map pass).
    pub(crate) fn keys(&self) -> impl Iterator<Item = Result<(i32, Option<&[u8]>)>> {
        self.fast(super::record::next_key)
    }

    fn fast<'a, T, F: FnMut(&mut &'a [u8]) -> Option<T>>(
        &'a self,
        read: F,
    ) -> impl Iterator<Item = Result<T>> + use<'a, T, F> {
        FastRecords {
            buf: &self.section,
            remaining: self.count,
            read,
        }
    }

    /// The batch's base timestamp, or the append time under LogAppendTime: a raw record's
    /// timestamp is this plus its delta (or this alone).
    pub(crate) fn timestamp_of(&self, timestamp_delta: i64) -> i64 {
        self.log_append_time
            .unwrap_or_else(|| self.base_timestamp.wrapping_add(timestamp_delta))
    }
}

/// See [`Records::raw`] and [`Records::keys`]: the records section read by `read`, one
/// record a call, checked against the header's count.
struct FastRecords<'a, F> {
    buf: &'a [u8],
    remaining: i32,
    read: F,
}

impl<'a, T, F: FnMut(&mut &'a [u8]) -> Option<T>> Iterator for FastRecords<'a, F> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining <= 0 {
            if self.buf.is_empty() {
                return None;
            }
            self.buf = &[];
            return Some(Err(Error::CorruptRecord(
                "bytes follow the last record the batch header counts".into(),
            )));
        }
        self.remaining -= 1;
        match (self.read)(&mut self.buf) {
            Some(found) => Some(Ok(found)),
            None => {
                self.remaining = 0;
                self.buf = &[];
                Some(Err(Error::CorruptRecord(
                    "a record does not decode, or the batch ends short of its count".into(),
                )))
            }
        }
    }
}

/// Iterates the batches laid back to back in `buf` (a segment, or a slice of one). Stops at the
/// end, or yields one error for a torn or invalid batch and then stops.
pub struct BatchIter<'a> {
    buf: &'a [u8],
    position: usize,
    done: bool,
}

impl<'a> BatchIter<'a> {
    /// Starts at byte 0 of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        BatchIter {
            buf,
            position: 0,
            done: false,
        }
    }

    /// Byte position of the next batch.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl<'a> Iterator for BatchIter<'a> {
    /// `(position, batch)` or `(position, why the bytes there are not a batch)`.
    type Item = std::result::Result<(usize, RecordBatch<'a>), (usize, BatchError)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.position >= self.buf.len() {
            return None;
        }
        let at = self.position;
        match RecordBatch::parse_prefix(&self.buf[at..]) {
            Ok(batch) => {
                self.position += batch.size();
                Some(Ok((at, batch)))
            }
            Err(e) => {
                self.done = true;
                Some(Err((at, e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_short_and_bad_headers() {
        assert_eq!(
            RecordBatch::parse_prefix(&[0; 5]).unwrap_err(),
            BatchError::Incomplete { needed: 12 }
        );
        let mut small = vec![0u8; 61];
        small[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(matches!(
            RecordBatch::parse_prefix(&small),
            Err(BatchError::Invalid(_))
        ));
        let mut wrong_magic = vec![0u8; 61];
        wrong_magic[8..12].copy_from_slice(&49i32.to_be_bytes());
        wrong_magic[16] = 1;
        assert!(matches!(
            RecordBatch::parse_prefix(&wrong_magic),
            Err(BatchError::Invalid(ref m)) if m.contains("magic 1")
        ));
        let mut negative = vec![0u8; 12];
        negative[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert!(matches!(
            RecordBatch::parse_prefix(&negative),
            Err(BatchError::Invalid(_))
        ));
    }

    /// Found by `fuzz/` (decode_batch): a base offset near `i64::MAX` overflowed
    /// `last_offset` (a panic in debug builds, a wrapped offset in release builds).
    #[test]
    fn rejects_offsets_that_overflow() {
        let mut builder = crate::BatchBuilder::new().base_offset(i64::MAX - 2);
        for _ in 0..3 {
            builder.append(0, None, Some(b"v"), &[]).unwrap();
        }
        let mut batch = builder.build().unwrap();
        assert!(matches!(
            RecordBatch::parse_prefix(&batch),
            Err(BatchError::Invalid(ref m)) if m.contains("overflow")
        ));
        batch[..8].copy_from_slice(&(i64::MAX - 3).to_be_bytes());
        let fits = RecordBatch::parse_prefix(&batch).unwrap();
        assert_eq!(fits.next_offset(), i64::MAX);
    }
}
