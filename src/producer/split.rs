//! A batch the log refuses as too large is split, as Kafka's producer does (KIP-126:
//! `RecordAccumulator.splitAndReenqueue` on `MESSAGE_TOO_LARGE` or `RECORD_BATCH_TOO_LARGE`
//! for a batch of more than one record): here in halves, appended in order, each split again
//! while it is refused, so that only a single record that can never fit fails.

use crate::error::{Error, Result};
use crate::log::increment_sequence;
use crate::record::{BatchBuilder, Header, Record, RecordBatch};

/// Whether the log refused a batch for its size (`max.message.bytes` or `segment.bytes`).
pub(super) fn is_too_large(error: &Error) -> bool {
    matches!(
        error,
        Error::RecordTooLarge { .. } | Error::RecordBatchTooLarge { .. }
    )
}

/// Part of a split batch, built.
pub(super) struct Part {
    pub(super) bytes: Vec<u8>,
    pub(super) records: i32,
    pub(super) uncompressed: usize,
}

/// The two halves of the built batch `bytes` (at least two records): the first holds the
/// first half of its records. Same compression, timestamp type and producer; the second
/// half's sequences follow the first's (the appender re-stamps a part whose sequences went
/// stale meanwhile).
pub(super) fn halves(bytes: &[u8]) -> Result<(Part, Part)> {
    let batch = RecordBatch::new(bytes)?;
    let section = batch.records()?;
    let records = section.collect_all()?;
    let half = records.len() / 2;
    let build = |part: &[Record<'_>], skipped: usize| -> Result<Part> {
        let sequence = match batch.base_sequence() {
            -1 => -1,
            base => increment_sequence(base, i32::try_from(skipped).unwrap_or(i32::MAX)),
        };
        let mut builder = BatchBuilder::new()
            .compression(batch.compression()?)
            .timestamp_type(batch.timestamp_type())
            .producer(batch.producer_id(), batch.producer_epoch(), sequence);
        for record in part {
            let headers: Vec<Header<'_>> = record.headers().collect();
            builder.append(record.timestamp, record.key, record.value, &headers)?;
        }
        let records = builder.records_count();
        let uncompressed = builder.uncompressed_size();
        Ok(Part {
            bytes: builder.build()?,
            records,
            uncompressed,
        })
    };
    Ok((build(&records[..half], 0)?, build(&records[half..], half)?))
}
