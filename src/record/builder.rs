//! Builds v2 record batches in Kafka's exact byte layout.

use super::batch::*;
use super::compression::{self, Compression};
use super::record::Header;
use super::varint::{put_varint, put_varlong, varint_len, varlong_len};
use crate::error::{Error, Result};

/// Accumulates records and produces one batch. Records are encoded straight into the output
/// buffer behind a reserved header; [`BatchBuilder::build`] fills the header and CRC.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    compression: Compression,
    timestamp_type: TimestampType,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    count: i32,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    /// An empty builder: base offset 0, leader epoch −1, no producer, CreateTime, no compression.
    pub fn new() -> Self {
        Self::with_capacity(BATCH_HEADER_BYTES + 256)
    }

    /// As [`BatchBuilder::new`], reserving `bytes` of output buffer.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(bytes.max(BATCH_HEADER_BYTES));
        buf.resize(BATCH_HEADER_BYTES, 0);
        BatchBuilder {
            buf,
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            base_timestamp: None,
            max_timestamp: -1,
            count: 0,
        }
    }

    /// Sets the codec for the records section.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }
    /// Sets CreateTime or LogAppendTime.
    pub fn timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.timestamp_type = timestamp_type;
        self
    }
    /// Sets the base offset (the log overwrites it on append).
    pub fn base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }
    /// Sets the partition leader epoch (the log overwrites it on append).
    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }
    /// Sets producer id, epoch and the first record's sequence.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }
    /// Marks the batch as part of a transaction.
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }
    /// Marks the batch as a control batch.
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Number of records appended so far.
    pub fn records_count(&self) -> i32 {
        self.count
    }
    /// Whether no record was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Size of the batch if built now without compression.
    pub fn uncompressed_size(&self) -> usize {
        self.buf.len()
    }

    /// Bytes one record takes in the records section.
    pub fn record_size(
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        let body = Self::record_body_size(offset_delta, timestamp_delta, key, value, headers);
        varint_len(i32::try_from(body).unwrap_or(i32::MAX)) + body
    }

    fn record_body_size(
        offset_delta: i32,
        timestamp_delta: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> usize {
        let field = |bytes: Option<&[u8]>| match bytes {
            None => 1,
            // Saturating: an oversized field still makes an oversized total, which
            // `append` refuses.
            Some(b) => varint_len(i32::try_from(b.len()).unwrap_or(i32::MAX)) + b.len(),
        };
        let headers_size: usize = headers
            .iter()
            .map(|h| field(Some(h.key)) + field(h.value))
            .sum();
        1 + varlong_len(timestamp_delta)
            + varint_len(offset_delta)
            + field(key)
            + field(value)
            + varint_len(i32::try_from(headers.len()).unwrap_or(i32::MAX))
            + headers_size
    }

    /// Appends a record with the next offset delta. Fails when the batch would exceed Kafka's
    /// limits (2 GiB, `i32::MAX` records).
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) -> Result<()> {
        if self.count == i32::MAX {
            return Err(Error::CorruptRecord(
                "batch already holds i32::MAX records".into(),
            ));
        }
        let base_timestamp = *self.base_timestamp.get_or_insert(timestamp);
        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);
        put_record(
            &mut self.buf,
            self.count,
            timestamp_delta,
            key,
            value,
            headers,
        )?;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
        Ok(())
    }

    /// Finishes the batch: compresses the records section if asked, fills the header, computes
    /// the CRC.
    pub fn build(self) -> Result<Vec<u8>> {
        let mut out = match self.compression {
            Compression::None => self.buf,
            codec => {
                let compressed = compression::compress(codec, &self.buf[BATCH_HEADER_BYTES..])?;
                let mut out = Vec::with_capacity(BATCH_HEADER_BYTES + compressed.len());
                out.resize(BATCH_HEADER_BYTES, 0);
                out.extend_from_slice(&compressed);
                out
            }
        };
        let mut attributes = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            attributes |= 0x08;
        }
        if self.transactional {
            attributes |= 0x10;
        }
        if self.control {
            attributes |= 0x20;
        }
        // Compression can grow a records section that `append` kept under 2 GiB past it.
        let length = i32::try_from(out.len() - LOG_OVERHEAD_BYTES)
            .map_err(|_| Error::CorruptRecord("batch would exceed 2 GiB".into()))?;
        out[BASE_OFFSET_AT..][..8].copy_from_slice(&self.base_offset.to_be_bytes());
        out[LENGTH_AT..][..4].copy_from_slice(&length.to_be_bytes());
        out[LEADER_EPOCH_AT..][..4].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out[MAGIC_AT] = MAGIC_V2 as u8;
        out[ATTRIBUTES_AT..][..2].copy_from_slice(&attributes.to_be_bytes());
        let last_offset_delta = (self.count - 1).max(0);
        out[LAST_OFFSET_DELTA_AT..][..4].copy_from_slice(&last_offset_delta.to_be_bytes());
        let base_timestamp = self.base_timestamp.unwrap_or(-1);
        out[BASE_TIMESTAMP_AT..][..8].copy_from_slice(&base_timestamp.to_be_bytes());
        out[MAX_TIMESTAMP_AT..][..8].copy_from_slice(&self.max_timestamp.to_be_bytes());
        out[PRODUCER_ID_AT..][..8].copy_from_slice(&self.producer_id.to_be_bytes());
        out[PRODUCER_EPOCH_AT..][..2].copy_from_slice(&self.producer_epoch.to_be_bytes());
        out[BASE_SEQUENCE_AT..][..4].copy_from_slice(&self.base_sequence.to_be_bytes());
        out[RECORDS_COUNT_AT..][..4].copy_from_slice(&self.count.to_be_bytes());
        let crc = super::crc::crc32c(&out[ATTRIBUTES_AT..]);
        out[CRC_AT..][..4].copy_from_slice(&crc.to_be_bytes());
        Ok(out)
    }
}

/// Writes one record (length, attributes, deltas, key, value, headers) at the end of a
/// records section; fails when the section would pass 2 GiB.
// The record's body, and so its header count and each field's length, is checked to fit an
// i32 before anything is written.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn put_record(
    buf: &mut Vec<u8>,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header<'_>],
) -> Result<()> {
    let body = BatchBuilder::record_body_size(offset_delta, timestamp_delta, key, value, headers);
    if buf.len() + body + 5 > i32::MAX as usize {
        return Err(Error::CorruptRecord("batch would exceed 2 GiB".into()));
    }
    put_varint(buf, body as i32);
    buf.push(0);
    put_varlong(buf, timestamp_delta);
    put_varint(buf, offset_delta);
    put_field(buf, key);
    put_field(buf, value);
    put_varint(buf, headers.len() as i32);
    for header in headers {
        put_field(buf, Some(header.key));
        put_field(buf, header.value);
    }
    Ok(())
}

/// As [`put_record`], with the headers as a raw record carries them (their count, then each
/// header, still encoded): the cleaner copies a kept record's headers without decoding them.
// The body is checked to fit an i32 before anything is written.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn put_raw_record(
    buf: &mut Vec<u8>,
    offset_delta: i32,
    timestamp_delta: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    encoded_headers: &[u8],
) -> Result<()> {
    let field = |bytes: Option<&[u8]>| match bytes {
        None => 1,
        Some(b) => varint_len(i32::try_from(b.len()).unwrap_or(i32::MAX)) + b.len(),
    };
    let body = 1
        + varlong_len(timestamp_delta)
        + varint_len(offset_delta)
        + field(key)
        + field(value)
        + encoded_headers.len();
    if buf.len() + body + 5 > i32::MAX as usize {
        return Err(Error::CorruptRecord("batch would exceed 2 GiB".into()));
    }
    put_varint(buf, body as i32);
    buf.push(0);
    put_varlong(buf, timestamp_delta);
    put_varint(buf, offset_delta);
    put_field(buf, key);
    put_field(buf, value);
    buf.extend_from_slice(encoded_headers);
    Ok(())
}

// Only `put_record` calls this, after checking that the whole record fits an i32.
#[allow(clippy::cast_possible_truncation)]
fn put_field(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Rewrites the fields the log stamps on append (base offset, leader epoch) in a built batch.
/// Neither is covered by the CRC, so the CRC stays valid.
pub fn stamp_batch(batch: &mut [u8], base_offset: i64, partition_leader_epoch: i32) {
    batch[BASE_OFFSET_AT..][..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[LEADER_EPOCH_AT..][..4].copy_from_slice(&partition_leader_epoch.to_be_bytes());
}

/// Sets the producer id, epoch and base sequence of the whole batch `batch` and recomputes
/// its CRC (the producer re-sequences a split batch's parts as it appends them).
pub(crate) fn stamp_producer(batch: &mut [u8], producer_id: i64, epoch: i16, base_sequence: i32) {
    batch[PRODUCER_ID_AT..][..8].copy_from_slice(&producer_id.to_be_bytes());
    batch[PRODUCER_EPOCH_AT..][..2].copy_from_slice(&epoch.to_be_bytes());
    batch[BASE_SEQUENCE_AT..][..4].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..][..4].copy_from_slice(&crc.to_be_bytes());
}

/// Switches a batch to LogAppendTime stamped `time`: sets attribute bit 3 and `maxTimestamp`
/// in `header` (the batch's first 61 bytes, possibly a copy) and recomputes the CRC over the
/// header and `records` (the rest of the batch), as the log does on append.
pub fn stamp_log_append_time(header: &mut [u8], records: &[u8], time: i64) {
    header[ATTRIBUTES_AT + 1] |= TIMESTAMP_TYPE_BIT;
    header[MAX_TIMESTAMP_AT..][..8].copy_from_slice(&time.to_be_bytes());
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&header[ATTRIBUTES_AT..BATCH_HEADER_BYTES]),
        records,
    );
    header[CRC_AT..][..4].copy_from_slice(&crc.to_be_bytes());
}
