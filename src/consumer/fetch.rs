//! One partition's fetch for a poll: the batches from the position, CRC-checked once,
//! aborted transactions and control batches skipped under `read_committed`, and which
//! records of each batch the poll returns (decoded later, while iterating).

use std::sync::{Arc, OnceLock};

use super::records::{BatchRecords, PartitionRecords, Section};
use crate::error::{Error, Result};
use crate::group::TopicPartition;
use crate::log::AbortedFilter;
use crate::record::{RecordBatch, RecordIter, TimestampType};

/// Reads one partition from `position`: at most `max_records` records and (softly)
/// `max_bytes` bytes. Every batch's CRC is checked here, so damage is reported now; the
/// records are decoded while iterating (appends validated them). Returns `None` when nothing
/// is readable. `checked_through`: the offset up to which this consumer already CRC-checked
/// the batches (a batch cut by `max.poll.records` is read again by the next poll, but checked
/// once).
pub(crate) fn fetch(
    tp: &TopicPartition,
    log: &crate::log::Log,
    position: i64,
    max_records: usize,
    max_bytes: usize,
    checked_through: i64,
    read_committed: bool,
) -> Result<Option<PartitionRecords>> {
    let data = log.read_records(position, max_bytes, max_records, read_committed)?;
    if data.is_empty() {
        return Ok(None);
    }
    let mut aborted = read_committed.then(|| AbortedFilter::new(log, position));
    let base = data.bytes().as_ptr() as usize;
    let mut batches = Vec::new();
    let mut count = 0;
    let mut next_offset = position;
    let mut checked = checked_through;
    for batch in data.batches_checked_after(checked_through) {
        if count == max_records {
            break;
        }
        let batch = batch?;
        checked = checked.max(batch.next_offset());
        if batch.last_offset() < next_offset {
            continue;
        }
        if aborted.as_mut().is_some_and(|filter| filter.skips(&batch)) {
            next_offset = batch.next_offset();
            continue;
        }
        if batch.is_control() {
            next_offset = batch.next_offset();
            continue;
        }
        // A record that does not decode under a matching CRC is damage on disk.
        let section = section_of(&batch, base).map_err(|e| data.undecodable(&batch, e))?;
        let log_append_time =
            (batch.timestamp_type() == TimestampType::LogAppendTime).then(|| batch.max_timestamp());
        let bytes: &[u8] = match &section {
            Section::Mapped(range) => &data.bytes()[range.clone()],
            Section::Decompressed(bytes) => bytes,
        };
        let room = max_records - count;
        let (skip, take, after) =
            records_to_take(&batch, bytes, log_append_time, next_offset, room)
                .map_err(|e| data.undecodable(&batch, e))?;
        next_offset = after;
        if take > 0 {
            // `skip` < `available` and `take` ≤ `available`, a batch's records count (an i32).
            #[allow(clippy::cast_possible_truncation)]
            batches.push(BatchRecords {
                at: batch.as_bytes().as_ptr() as usize - base,
                section,
                timestamp_type: batch.timestamp_type(),
                base_offset: batch.base_offset(),
                base_timestamp: batch.base_timestamp(),
                log_append_time,
                last_offset_delta: batch.last_offset_delta(),
                skip: skip as u32,
                take: take as u32,
            });
        }
        count += take;
    }
    Ok(Some(PartitionRecords {
        tp: tp.clone(),
        data,
        batches,
        count,
        from: position,
        next_offset,
        checked_through: checked,
        damage: OnceLock::new(),
    }))
}

/// Where a batch's records section is: in the fetched bytes (as a range from `base`, where
/// they start in memory), or decompressed.
fn section_of(batch: &RecordBatch<'_>, base: usize) -> Result<Section> {
    Ok(match batch.compression()? {
        crate::record::Compression::None => {
            let start = batch.records_section().as_ptr() as usize - base;
            Section::Mapped(start..start + batch.records_section().len())
        }
        codec => Section::Decompressed(Arc::from(crate::record::decompress(
            codec,
            batch.records_section(),
            crate::record::DECOMPRESSED_BYTES_MAX,
        )?)),
    })
}

/// Which of a batch's records a fetch returns, reading from `next_offset` with room for
/// `room` more: how many at its front it skips (below `next_offset`), how many it takes, and
/// the position after them. `bytes` is the batch's records section.
fn records_to_take(
    batch: &RecordBatch<'_>,
    bytes: &[u8],
    log_append_time: Option<i64>,
    next_offset: i64,
    room: usize,
) -> Result<(usize, usize, i64)> {
    let offsets = || {
        RecordIter::new(
            bytes,
            batch.records_count(),
            batch.base_offset(),
            batch.base_timestamp(),
            log_append_time,
        )
        .map(|r| r.map(|r| r.offset))
    };
    // Without gaps (no compaction), a record's offset follows from its index; otherwise
    // the batch the position falls in, or the one `max.poll.records` cuts, is walked.
    let dense = batch.is_dense();
    let skip = if batch.base_offset() >= next_offset {
        0
    } else if dense {
        usize::try_from(next_offset - batch.base_offset()).unwrap_or(usize::MAX)
    } else {
        let mut below = 0;
        for offset in offsets() {
            if offset? >= next_offset {
                break;
            }
            below += 1;
        }
        below
    };
    let available = usize::try_from(batch.records_count())
        .unwrap_or(0)
        .saturating_sub(skip);
    let take = available.min(room);
    let after = if take == available {
        batch.next_offset()
    } else if dense {
        batch.base_offset() + (skip + take) as i64
    } else {
        let last = offsets().nth(skip + take - 1).ok_or_else(|| {
            Error::CorruptRecord("a batch holds fewer records than its header says".into())
        })??;
        last + 1
    };
    Ok((skip, take, after))
}
