//! Reading a partition: whole batches from one segment, zero-copy, up to the high watermark
//! (or, for `read_committed`, the last stable offset), and offsets by timestamp.

use std::ops::ControlFlow;
use std::sync::Arc;

use super::fetch::FetchData;
use super::partition::Log;
use super::segment::Segment;
use crate::error::{Error, Result};
use crate::record::RecordBatch;

impl Log {
    /// Reads whole batches starting with the one that holds `offset`, up to `max_bytes` (but
    /// always at least one batch), never past the high watermark, from one segment. Zero-copy.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<FetchData> {
        self.read_records(offset, max_bytes, usize::MAX, false)
    }

    /// As [`Log::read`], for a `read_committed` reader: never past the last stable offset.
    /// Records of aborted transactions are still in the batches read; skip those of the
    /// producers [`Log::aborted_transactions`] names, as Kafka's consumer does.
    pub fn read_committed(&self, offset: i64, max_bytes: usize) -> Result<FetchData> {
        self.read_records(offset, max_bytes, usize::MAX, true)
    }

    /// As [`Log::read`], also ending after the batch that brings the records at or after
    /// `offset` to `max_records` (counted from batch headers), so a consumer's poll does
    /// not walk a whole `max.partition.fetch.bytes` of headers for a few batches.
    pub(crate) fn read_records(
        &self,
        offset: i64,
        max_bytes: usize,
        max_records: usize,
        committed: bool,
    ) -> Result<FetchData> {
        let high_watermark = self.high_watermark();
        // `read_committed` reads stop at the last stable offset.
        let bound = if committed {
            self.last_stable_offset().min(high_watermark)
        } else {
            high_watermark
        };
        self.read_below(offset, max_bytes, max_records, bound, high_watermark)
    }

    /// As [`Log::read`], but up to the log end offset, past the high watermark: for a writer
    /// that must see appends not yet synced (the event store's checks, under its own lock).
    /// Never hand what it reads to a reader: a power loss may take it back.
    pub(crate) fn read_unsynced(&self, offset: i64, max_bytes: usize) -> Result<FetchData> {
        let end = self.log_end_offset();
        self.read_below(offset, max_bytes, usize::MAX, end, self.high_watermark())
    }

    pub(super) fn read_below(
        &self,
        offset: i64,
        max_bytes: usize,
        max_records: usize,
        bound: i64,
        high_watermark: i64,
    ) -> Result<FetchData> {
        // Held for the read (no reference counting on this path, which every poll takes):
        // a roll or retention swap waits for it.
        let segments = self.segments.read();
        // Read after the segment list: retention raises the log start before it swaps the
        // list, so a list without the segment holding `offset` comes with a start above it.
        let log_start = self.log_start_offset();
        let log_end = self.log_end_offset();
        if offset < log_start || offset > log_end {
            return Err(Error::OffsetOutOfRange {
                partition: self.name.clone(),
                offset,
                log_start,
                log_end,
            });
        }
        let mut data = FetchData {
            slice: None,
            high_watermark,
            log_start_offset: log_start,
        };
        if offset >= bound {
            return Ok(data);
        }
        let interval = self.config.read().index_interval_bytes;
        let holding = segments
            .partition_point(|s| s.base_offset() <= offset)
            .saturating_sub(1);
        let segment = &segments[holding];
        let mut scan = segment.scan(offset, interval)?;
        // The first batch ending at or after `offset` holds it (the scan checks the offsets
        // on the way, since the CRC does not cover them).
        let found = scan
            .by_ref()
            .find(|item| {
                item.as_ref()
                    .map_or(true, |(_, b)| b.last_offset() >= offset)
            })
            .transpose()?;
        let Some((start, batch)) = found else {
            return Err(Error::corruption(
                segment.log_path(),
                segment.size(),
                format!(
                "offset {offset} is below the high watermark {bound} but the segment ends before it"
            ),
            ));
        };
        let mut end = start;
        if batch.base_offset() < bound {
            end = start + batch.size();
            // Records of the first batch at or after `offset` (all of them with gaps).
            let mut records = if batch.is_dense() {
                usize::try_from(batch.last_offset() - offset.max(batch.base_offset()) + 1)
                    .unwrap_or(0)
            } else {
                usize::try_from(batch.records_count()).unwrap_or(0)
            };
            for item in scan {
                if records >= max_records {
                    break;
                }
                let (at, batch) = item?;
                if batch.base_offset() >= bound || at + batch.size() - start > max_bytes {
                    break;
                }
                end = at + batch.size();
                records += usize::try_from(batch.records_count()).unwrap_or(0);
            }
        }
        data.slice = segment.slice(start, end);
        Ok(data)
    }

    /// The first offset whose record timestamp is ≥ `timestamp`, with that timestamp (Kafka's
    /// ListOffsets by time), or `None` if every record is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let interval = self.config().index_interval_bytes;
        for segment in self.segment_list().iter() {
            if segment.index(interval)?.max_timestamp < timestamp {
                continue;
            }
            let found = self.first_record_at_time(
                segment,
                timestamp,
                |batch| batch.max_timestamp() >= timestamp && !batch.is_control(),
                |record_timestamp| record_timestamp >= timestamp,
            )?;
            if let ControlFlow::Break(found) = found {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The offset and timestamp of the record with the largest timestamp (Kafka's
    /// ListOffsets for `MAX_TIMESTAMP`, `UnifiedLog.fetchOffsetByTimestamp`): in the first
    /// segment whose largest timestamp is the log's, the first batch reaching it, and in it
    /// the first record holding it. `None` for a log without records below the high
    /// watermark (Kafka's `Partition` drops an answer at or past it).
    pub fn offset_of_max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        let interval = self.config().index_interval_bytes;
        let segments = self.segment_list();
        let mut latest: Option<(&Arc<Segment>, i64)> = None;
        for segment in segments.iter() {
            let max = segment.index(interval)?.max_timestamp;
            if latest.is_none_or(|(_, best)| max > best) {
                latest = Some((segment, max));
            }
        }
        let Some((segment, max)) = latest else {
            return Ok(None);
        };
        let found = self.first_record_at_time(
            segment,
            max,
            |batch| batch.max_timestamp() == max,
            |record_timestamp| record_timestamp == max,
        )?;
        Ok(match found {
            ControlFlow::Break(found) => found,
            ControlFlow::Continue(()) => None,
        })
    }

    /// Scans `segment` from the offset index's entry at or before the time index's last
    /// entry older than `timestamp` (as Kafka looks a time up) for the first record, at or
    /// past the log start, of a batch `batch_ok` takes, whose timestamp `record_ok` takes;
    /// CRC-checked before decoding. `Break(None)` at the high watermark, `Continue` at the
    /// segment's end.
    fn first_record_at_time(
        &self,
        segment: &Segment,
        timestamp: i64,
        batch_ok: impl Fn(&RecordBatch<'_>) -> bool,
        record_ok: impl Fn(i64) -> bool,
    ) -> Result<ControlFlow<Option<(i64, i64)>>> {
        let high_watermark = self.high_watermark();
        let log_start = self.log_start_offset();
        let start = {
            let index = segment.index(self.config().index_interval_bytes)?;
            let relative = index
                .lookup_time(timestamp)
                .map_or(0, |e| e.relative_offset);
            index.lookup(relative)
        };
        for item in segment.scan_from(start)? {
            let (at, batch) = item?;
            if batch.base_offset() >= high_watermark {
                return Ok(ControlFlow::Break(None));
            }
            if batch.last_offset() < log_start || !batch_ok(&batch) {
                continue;
            }
            batch
                .verify_crc()
                .map_err(|e| Error::corruption(segment.log_path(), at as u64, e.to_string()))?;
            let undecodable = |e| match e {
                Error::CorruptRecord(why) => Error::corruption(
                    segment.log_path(),
                    at as u64,
                    super::fetch::undecodable_detail(&why),
                ),
                other => other,
            };
            for record in batch.records().map_err(undecodable)?.iter() {
                let record = record.map_err(undecodable)?;
                if record_ok(record.timestamp) && record.offset >= log_start {
                    return Ok(ControlFlow::Break(Some((record.offset, record.timestamp))));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::TopicConfig;
    use crate::log::Log;
    use crate::record::BatchBuilder;
    use crate::storage::SimStorage;

    fn open_log(segment_bytes: &str) -> Log {
        let sim = SimStorage::new(Path::new("/sim"));
        let config = TopicConfig::from_overrides([("segment.bytes", segment_bytes)]).unwrap();
        crate::log::test_log::open(&sim, config, None).unwrap().0
    }

    /// Kafka's `MAX_TIMESTAMP`: in the first segment whose largest timestamp is the log's,
    /// the first batch reaching it, and in that batch the first record holding it.
    #[test]
    fn the_max_timestamp_offset_is_the_first_record_holding_it() {
        for segment_bytes in ["1073741824", "400"] {
            let log = open_log(segment_bytes);
            assert_eq!(log.offset_of_max_timestamp().unwrap(), None, "an empty log");
            // Batches (record timestamps): [10, 50, 20], [30], [50, 50], [40].
            for timestamps in [&[10, 50, 20][..], &[30], &[50, 50], &[40]] {
                let mut batch = BatchBuilder::new();
                for &ts in timestamps {
                    batch.append(ts, Some(b"k"), Some(&[7; 60]), &[]).unwrap();
                }
                log.append(&batch.build().unwrap()).unwrap();
            }
            assert_eq!(
                log.offset_of_max_timestamp().unwrap(),
                Some((1, 50)),
                "segment.bytes {segment_bytes}: {} segments",
                log.segments().len()
            );
        }
    }
}
