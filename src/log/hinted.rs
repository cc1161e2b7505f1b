//! Reading batches where the caller knows they start (the event store's index keeps each
//! event's batch position in its segment file): no offset index search and, for many
//! batches in a row, one look at the segment list.

use std::sync::Arc;

use super::fetch::{undecodable_detail, FetchData};
use super::partition::Log;
use super::segment::Segment;
use crate::error::{Error, Result};
use crate::record::RecordBatch;

/// How many bytes of each batch [`HintedReader::warm`] touches.
const WARM_BYTES: usize = 320;

impl Log {
    /// The batch holding `offset`, found at `position` of its segment's file if a hint from
    /// an earlier append or read is still right (its offsets are checked, and its CRC when
    /// the caller walks [`FetchData::batches`]), else through the offset index as
    /// [`Log::read`] does. Up to the high watermark, or the log end if `unsynced`.
    pub(crate) fn read_hinted(
        &self,
        offset: i64,
        position: usize,
        unsynced: bool,
    ) -> Result<FetchData> {
        let reader = self.hinted_reader(unsynced);
        if let Some(found) = reader.batch(offset, position) {
            return Ok(FetchData {
                slice: found.segment.slice(position, position + found.batch.size()),
                high_watermark: reader.high_watermark,
                log_start_offset: reader.log_start,
            });
        }
        reader.read_through_index(self, offset)
    }

    /// A reader of batches at hinted positions, up to the high watermark (the log end if
    /// `unsynced`) as they are now.
    pub(crate) fn hinted_reader(&self, unsynced: bool) -> HintedReader {
        let high_watermark = self.high_watermark();
        let bound = if unsynced {
            self.log_end_offset()
        } else {
            high_watermark
        };
        let segments = Arc::clone(&self.segments.read());
        // Read after the segment list: retention raises the log start before it swaps the
        // list, so a list without the segment holding an offset comes with a start above it.
        let log_start = self.log_start_offset();
        HintedReader {
            segments,
            bound,
            high_watermark,
            log_start,
        }
    }
}

/// Batches at hinted positions, read as the log was when the reader was made: its bound,
/// log start and segments (a segment retention removes meanwhile stays readable through the
/// reader, as through a [`FetchData`]). Taking no lock, it may be held across other reads.
#[derive(Debug)]
pub(crate) struct HintedReader {
    segments: Arc<Vec<Arc<Segment>>>,
    /// No batch from this offset on is read.
    bound: i64,
    high_watermark: i64,
    log_start: i64,
}

/// A batch a [`HintedReader`] found, its CRC not checked yet.
#[derive(Debug)]
pub(crate) struct HintedBatch<'r> {
    pub(crate) batch: RecordBatch<'r>,
    segment: &'r Segment,
    position: usize,
}

impl HintedReader {
    /// The log start when the reader was made: offsets below it are not read.
    pub(crate) fn log_start(&self) -> i64 {
        self.log_start
    }

    /// The batch holding `offset`, if it starts at `position` of its segment's file (the
    /// hint is still right: its offsets are checked), and `offset` is below the reader's
    /// bound and at or above its log start.
    pub(crate) fn batch(&self, offset: i64, position: usize) -> Option<HintedBatch<'_>> {
        if offset >= self.bound || offset < self.log_start {
            return None;
        }
        let segment = self.segment_of(offset)?;
        let batch = segment
            .log()
            .bytes()
            .get(position..)
            .and_then(|rest| RecordBatch::parse_prefix(rest).ok())
            .filter(|b| b.base_offset() <= offset && offset <= b.last_offset())?;
        Some(HintedBatch {
            batch,
            segment,
            position,
        })
    }

    /// The batch of `log` (the reader's) holding `offset`, found through the offset index,
    /// up to the reader's bound: for a hint found wrong.
    pub(crate) fn read_through_index(&self, log: &Log, offset: i64) -> Result<FetchData> {
        log.read_below(offset, 1, usize::MAX, self.bound, self.high_watermark)
    }

    /// Touches the first bytes of the batch at each `(offset, position)` hint, in one pass:
    /// the cache and TLB misses of a reader about to visit batches spread over the log then
    /// overlap instead of stalling it one after another.
    pub(crate) fn warm(&self, hints: impl Iterator<Item = (i64, usize)>) {
        let mut sum = 0u8;
        for (offset, position) in hints {
            if let Some(segment) = self.segment_of(offset) {
                let bytes = segment.log().bytes();
                // A small batch's few cache lines (its header, and the records its CRC
                // covers).
                for line in (position..position.saturating_add(WARM_BYTES)).step_by(64) {
                    sum = sum.wrapping_add(bytes.get(line).copied().unwrap_or(0));
                }
            }
        }
        std::hint::black_box(sum);
    }

    /// The segment that would hold `offset`.
    fn segment_of(&self, offset: i64) -> Option<&Segment> {
        let holding = self.segments.partition_point(|s| s.base_offset() <= offset);
        holding.checked_sub(1).map(|i| &*self.segments[i])
    }
}

impl HintedBatch<'_> {
    /// Checks the batch's CRC: a mismatch is a `Corruption` naming its file and position.
    pub(crate) fn check_crc(&self) -> Result<()> {
        self.batch
            .verify_crc()
            .map_err(|e| self.corruption(e.to_string()))
    }

    /// An error met decoding the batch's records, as [`FetchData::undecodable`] makes it: a
    /// record that does not decode under a matching CRC is damage on disk.
    pub(crate) fn undecodable(&self, error: Error) -> Error {
        match error {
            Error::CorruptRecord(why) => self.corruption(undecodable_detail(&why)),
            other => other,
        }
    }

    fn corruption(&self, detail: String) -> Error {
        Error::corruption(self.segment.log().path(), self.position as u64, detail)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::TopicConfig;
    use crate::log::Log;
    use crate::record::BatchBuilder;
    use crate::storage::SimStorage;

    /// A log of three batches of two records (offsets 0-1, 2-3, 4-5), synced, and where
    /// each batch starts.
    fn three_batches() -> (Log, Vec<usize>) {
        let sim = SimStorage::new(Path::new("/sim"));
        let config = TopicConfig::from_overrides([("segment.bytes", "1073741824")]).unwrap();
        let log = crate::log::test_log::open(&sim, config, None).unwrap().0;
        let positions = (0..3)
            .map(|i| {
                let mut batch = BatchBuilder::new();
                for j in 0..2u8 {
                    batch.append(i, Some(b"k"), Some(&[j; 50]), &[]).unwrap();
                }
                let info = log.append(&batch.build().unwrap()).unwrap();
                usize::try_from(info.position.unwrap()).unwrap()
            })
            .collect();
        (log, positions)
    }

    #[test]
    fn a_wrong_position_hint_still_reads_the_batch_holding_the_offset() {
        let (log, positions) = three_batches();
        let base = |data: crate::log::FetchData| {
            let batch = data.batches().next().unwrap().unwrap();
            batch.base_offset()
        };
        for (offset, want) in [(0, 0), (3, 2), (5, 4)] {
            let right = positions[usize::try_from(want / 2).unwrap()];
            assert_eq!(base(log.read_hinted(offset, right, false).unwrap()), want);
            // Another batch's start, the middle of a batch, past the end: all fall back.
            for wrong in [positions[0], positions[1], right + 7, 1 << 30] {
                assert_eq!(
                    base(log.read_hinted(offset, wrong, false).unwrap()),
                    want,
                    "{offset} at {wrong}"
                );
            }
        }
        assert!(log.read_hinted(6, positions[2], false).unwrap().is_empty());
    }

    #[test]
    fn a_reader_finds_only_batches_its_hints_still_point_at_below_its_bound() {
        let (log, positions) = three_batches();
        let reader = log.hinted_reader(false);
        for (offset, want) in [(0, 0), (1, 0), (3, 2), (5, 4)] {
            let right = positions[usize::try_from(want / 2).unwrap()];
            let found = reader.batch(offset, right).expect("a right hint");
            assert_eq!(found.batch.base_offset(), want);
            found.check_crc().unwrap();
            // A wrong hint finds nothing (the caller falls back to the offset index).
            for wrong in [positions[0], positions[1], right + 7, 1 << 30] {
                if wrong != right {
                    assert!(reader.batch(offset, wrong).is_none(), "{offset} at {wrong}");
                }
            }
        }
        assert!(reader.batch(6, positions[2]).is_none(), "past the log end");
        // A batch appended after the reader was made lies past its bound.
        let mut batch = BatchBuilder::new();
        batch.append(3, Some(b"k"), Some(b"v"), &[]).unwrap();
        let info = log.append(&batch.build().unwrap()).unwrap();
        let at = usize::try_from(info.position.unwrap()).unwrap();
        assert!(reader.batch(6, at).is_none());
        assert_eq!(
            log.hinted_reader(false)
                .batch(6, at)
                .unwrap()
                .batch
                .base_offset(),
            6
        );
        // Nor below the log start.
        log.delete_records(2).unwrap();
        let reader = log.hinted_reader(false);
        assert_eq!(reader.log_start(), 2);
        assert!(reader.batch(1, positions[0]).is_none());
        assert!(reader.batch(2, positions[1]).is_some());
    }
}
