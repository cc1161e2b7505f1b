//! Walking a segment's batches from an offset-index entry, checking on the way that every
//! batch holds the offsets its place says it holds. Kafka's CRC does not cover `baseOffset`,
//! so a damaged base offset would otherwise read back as records at the wrong offsets.

use super::index::OffsetEntry;
use super::segment::Segment;
use crate::error::{Error, Result};
use crate::record::RecordBatch;

/// What the next batch must hold.
#[derive(Debug, Clone, Copy)]
enum Expected {
    /// The segment's first batch starts at its base offset.
    Base(i64),
    /// An index entry's batch ends at the entry's offset.
    Last(i64),
    /// Every later batch starts where the previous one ended.
    Next(i64),
}

/// Batches of one segment, back to back from an index entry: `(position, batch)`, or one
/// `Corruption` error (bad framing, or offsets out of place) naming the file and position,
/// after which the scan ends. Framing is checked here; callers check CRCs where they use
/// records. Batches follow each other without gaps on every topic, compacted ones too: the
/// cleaner writes an empty batch over each run of removed batches (`log::cleaner`), so this
/// check of base offsets, which no CRC covers, holds everywhere.
pub struct SegmentScan<'a> {
    segment: &'a Segment,
    bytes: &'a [u8],
    position: usize,
    expected: Expected,
    done: bool,
}

impl<'a> SegmentScan<'a> {
    pub(super) fn new(segment: &'a Segment, entry: OffsetEntry) -> Result<Self> {
        let bytes = segment.log().bytes();
        let position = entry.position as usize;
        if position > bytes.len() {
            return Err(Error::corruption(
                segment.log_path(),
                bytes.len() as u64,
                format!("an index entry points at byte {position}, past the log"),
            ));
        }
        let expected = if position == 0 {
            Expected::Base(segment.base_offset())
        } else {
            Expected::Last(segment.base_offset() + entry.relative_offset as i64)
        };
        Ok(SegmentScan {
            segment,
            bytes,
            position,
            expected,
            done: false,
        })
    }

    fn check(&self, batch: &RecordBatch<'_>) -> std::result::Result<(), String> {
        let (held, wanted) = match self.expected {
            Expected::Base(base) | Expected::Next(base) => (batch.base_offset(), base),
            Expected::Last(last) => (batch.last_offset(), last),
        };
        if held == wanted {
            return Ok(());
        }
        let place = match self.expected {
            Expected::Last(_) => "ending at",
            _ => "starting at",
        };
        Err(format!(
            "batch holds offsets {}..={} where a batch {place} offset {wanted} was expected",
            batch.base_offset(),
            batch.last_offset()
        ))
    }
}

impl<'a> Iterator for SegmentScan<'a> {
    type Item = Result<(usize, RecordBatch<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.position >= self.bytes.len() {
            return None;
        }
        let at = self.position;
        let checked = RecordBatch::parse_prefix(&self.bytes[at..])
            .map_err(|e| e.to_string())
            .and_then(|batch| self.check(&batch).map(|()| batch));
        match checked {
            Ok(batch) => {
                self.position += batch.size();
                self.expected = Expected::Next(batch.next_offset());
                Some(Ok((at, batch)))
            }
            Err(why) => {
                self.done = true;
                Some(Err(Error::corruption(
                    self.segment.log_path(),
                    at as u64,
                    why,
                )))
            }
        }
    }
}
