//! Batches given to an append: checked as Kafka's `LogValidator` checks them, then their
//! headers stamped with offsets (and the append time), the slices to write, and the index
//! entries of what was written.

use super::producer_state::BatchFacts;
use super::segment::Segment;
use crate::config::TopicConfig;
use crate::error::{Error, Result, SizeLimit};
use crate::record::{stamp_batch, stamp_log_append_time, BatchIter, BATCH_HEADER_BYTES};

/// One batch of an append: where it is in the caller's bytes, how many offsets it takes,
/// and its max timestamp.
pub(super) struct Incoming {
    pub(super) start: usize,
    pub(super) size: usize,
    pub(super) offsets: i64,
    pub(super) max_timestamp: i64,
    /// The producer fields, offsets relative to the batch's place in the append (see
    /// `producers::placed`).
    pub(super) producer: Option<BatchFacts>,
}

/// Checks that every record of a batch from outside (not built in this process) decodes and
/// that their offset deltas run 0, 1, 2 ... (as Kafka's `LogValidator` does before an append):
/// readers then decode records without validating them again. A repairing open
/// ([`RecoveryMode::TruncateCorrupt`](super::RecoveryMode)) checks stored batches the same way
/// with `dense` false: the cleaner leaves gaps, so deltas need only rise, up to the batch's
/// last offset delta.
pub(super) fn validate_records(
    batch: &crate::record::RecordBatch<'_>,
    start: usize,
    dense: bool,
) -> Result<()> {
    let records = batch.records()?;
    let mut previous = -1;
    for (index, record) in records.iter().enumerate() {
        let record = record.map_err(|e| match e {
            Error::CorruptRecord(why) => {
                Error::CorruptRecord(format!("batch at byte {start}: {why}"))
            }
            other => other,
        })?;
        let delta = record.offset_delta;
        if dense && usize::try_from(delta).ok() != Some(index) {
            return Err(Error::CorruptRecord(format!(
                "batch at byte {start}: record {index} has offset delta {delta} (expected {index})"
            )));
        }
        if delta <= previous || delta > batch.last_offset_delta() {
            return Err(Error::CorruptRecord(format!(
                "batch at byte {start}: record {index} has offset delta {delta} after {previous}, in a batch whose last offset delta is {}",
                batch.last_offset_delta()
            )));
        }
        previous = delta;
    }
    Ok(())
}

/// Kafka's `LogValidator.validateKey`: a compacted topic keeps records by key, so every
/// record of a batch for one needs a key.
pub(super) fn check_keys(batch: &crate::record::RecordBatch<'_>, name: &str) -> Result<()> {
    for record in batch.records()?.keys() {
        if record?.1.is_none() {
            return Err(Error::InvalidRecord(format!(
                "compacted topic cannot accept message without key in topic partition {name}"
            )));
        }
    }
    Ok(())
}

/// Kafka's `LogValidator` checks of a client's batch: no control batch (markers come from
/// the coordinator: [`super::Log::write_transaction_marker`]), and a sequence wherever
/// there is a producer id.
fn check_client_batch(batch: &crate::record::RecordBatch<'_>, name: &str) -> Result<()> {
    if batch.is_control() {
        return Err(Error::InvalidRecord(format!(
            "Clients are not allowed to write control records in topic partition {name}"
        )));
    }
    if batch.producer_id() >= 0 && batch.base_sequence() < 0 {
        return Err(Error::InvalidRecord(format!(
            "Invalid sequence number {} in record batch with producerId {} in topic partition {name}",
            batch.base_sequence(),
            batch.producer_id()
        )));
    }
    Ok(())
}

/// Checks batches before an append to log `name`; `verify_crc` is false only for batches
/// built in-process.
pub(super) fn validate(
    batches: &[u8],
    config: &TopicConfig,
    verify_crc: bool,
    name: &str,
) -> Result<Vec<Incoming>> {
    let mut incoming = Vec::new();
    for item in BatchIter::new(batches) {
        let (start, batch) = item.map_err(|(_, e)| e.into_error())?;
        if batch.size() as u64 > config.max_message_bytes {
            return Err(Error::RecordTooLarge {
                size: batch.size(),
                max: usize::try_from(config.max_message_bytes).unwrap_or(usize::MAX),
                limit: SizeLimit::MaxMessageBytes,
            });
        }
        batch.compression()?;
        if batch.records_count() == 0 || !batch.is_dense() {
            return Err(Error::CorruptRecord(format!(
                "batch at byte {start} holds {} records but its last offset delta is {}",
                batch.records_count(),
                batch.last_offset_delta()
            )));
        }
        if verify_crc {
            batch.verify_crc().map_err(|e| e.into_error())?;
            validate_records(&batch, start, true)?;
            check_client_batch(&batch, name)?;
        }
        if config.cleanup_compact && !batch.is_control() {
            check_keys(&batch, name)?;
        }
        incoming.push(Incoming {
            start,
            size: batch.size(),
            offsets: batch.last_offset_delta() as i64 + 1,
            max_timestamp: batch.max_timestamp(),
            producer: BatchFacts::of(&batch, 0),
        });
    }
    if incoming.is_empty() {
        return Err(Error::CorruptRecord(
            "nothing to append: no batch given".into(),
        ));
    }
    let total: u64 = incoming.iter().map(|b| b.size as u64).sum();
    if total > config.segment_bytes {
        return Err(Error::RecordBatchTooLarge {
            size: usize::try_from(total).unwrap_or(usize::MAX),
            max: usize::try_from(config.segment_bytes).unwrap_or(usize::MAX),
        });
    }
    Ok(incoming)
}

/// The headers of `incoming` batches stamped for the log (base offsets from `first_offset`,
/// and the append time under LogAppendTime), and the offset after them.
pub(super) fn stamped_headers(
    batches: &[u8],
    incoming: &[Incoming],
    first_offset: i64,
    log_append_time: Option<i64>,
) -> (Vec<[u8; BATCH_HEADER_BYTES]>, i64) {
    let mut headers: Vec<[u8; BATCH_HEADER_BYTES]> = Vec::with_capacity(incoming.len());
    let mut next = first_offset;
    for batch in incoming {
        let mut header = [0u8; BATCH_HEADER_BYTES];
        header.copy_from_slice(&batches[batch.start..batch.start + BATCH_HEADER_BYTES]);
        stamp_batch(&mut header, next, 0);
        if let Some(time) = log_append_time {
            stamp_log_append_time(
                &mut header,
                &batches[batch.start + BATCH_HEADER_BYTES..batch.start + batch.size],
                time,
            );
        }
        headers.push(header);
        next += batch.offsets;
    }
    (headers, next)
}

/// What an append writes, in order: each batch's stamped header, then the rest of the batch.
pub(super) fn write_slices<'a>(
    batches: &'a [u8],
    incoming: &[Incoming],
    headers: &'a [[u8; BATCH_HEADER_BYTES]],
) -> Vec<&'a [u8]> {
    let mut bufs: Vec<&[u8]> = Vec::with_capacity(incoming.len() * 2);
    for (batch, header) in incoming.iter().zip(headers) {
        bufs.push(header);
        bufs.push(&batches[batch.start + BATCH_HEADER_BYTES..batch.start + batch.size]);
    }
    bufs
}

/// Adds the batches just written at `position` of the active segment to its index.
pub(super) fn index_appended(
    active: &Segment,
    incoming: &[Incoming],
    position: u64,
    first_offset: i64,
    log_append_time: Option<i64>,
    config: &TopicConfig,
) -> Result<()> {
    let mut index = active.index_mut(config.index_interval_bytes)?;
    let mut at = position;
    let mut offset = first_offset;
    for batch in incoming {
        let max_ts = log_append_time.unwrap_or(batch.max_timestamp);
        let last = offset + batch.offsets - 1;
        index.on_append(
            active.base_offset(),
            last,
            max_ts,
            at,
            batch.size as u64,
            config.index_interval_bytes,
        );
        at += batch.size as u64;
        offset = last + 1;
    }
    Ok(())
}
