//! The cleaned segment being written: batches kept, runs of removed batches as one gap
//! batch, the index built on the way, the file written a chunk at a time.

use crate::error::Result;
use crate::log::index::SegmentIndex;
use crate::record::{gap_batch, RecordBatch};
use crate::storage::StorageFile;

/// Bytes of cleaned output gathered before a write to the `.cleaned` file.
const WRITE_CHUNK_BYTES: usize = 1 << 20;

/// A segment being written to its `.cleaned` file a chunk at a time, with its index, and
/// the run of removed batches not yet written (as one [`gap_batch`]).
pub(super) struct Output<'f> {
    base: i64,
    interval: u64,
    file: &'f dyn StorageFile,
    /// Bytes written to the file so far.
    written: u64,
    /// Bytes not yet written, fewer than [`WRITE_CHUNK_BYTES`] between pushes.
    pending: Vec<u8>,
    index: SegmentIndex,
    /// First and last offset, leader epoch and max timestamp of the removed run.
    gap: Option<(i64, i64, i32, i64)>,
}

impl<'f> Output<'f> {
    pub(super) fn new(base: i64, interval: u64, file: &'f dyn StorageFile) -> Output<'f> {
        Output {
            base,
            interval,
            file,
            written: 0,
            pending: Vec::new(),
            index: SegmentIndex::new(),
            gap: None,
        }
    }

    pub(super) fn gap(&mut self, removed: &RecordBatch<'_>) {
        let (first, _, _, max_timestamp) = self.gap.unwrap_or((removed.base_offset(), 0, 0, -1));
        self.gap = Some((
            first,
            removed.last_offset(),
            removed.partition_leader_epoch(),
            max_timestamp.max(removed.max_timestamp()),
        ));
    }

    pub(super) fn batch(&mut self, original: &RecordBatch<'_>, bytes: &[u8]) -> Result<()> {
        self.flush_gap()?;
        let max_timestamp = RecordBatch::parse_prefix(bytes)
            .map_or(original.max_timestamp(), |b| b.max_timestamp());
        self.push(original.last_offset(), max_timestamp, bytes)
    }

    fn flush_gap(&mut self) -> Result<()> {
        match self.gap.take() {
            Some((first, last, epoch, max_timestamp)) => self.push(
                last,
                max_timestamp,
                &gap_batch(first, last, epoch, max_timestamp),
            ),
            None => Ok(()),
        }
    }

    fn push(&mut self, last_offset: i64, max_timestamp: i64, bytes: &[u8]) -> Result<()> {
        let position = self.written + self.pending.len() as u64;
        self.index.on_append(
            self.base,
            last_offset,
            max_timestamp,
            position,
            bytes.len() as u64,
            self.interval,
        );
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= WRITE_CHUNK_BYTES {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.file.write_at(&[&self.pending], self.written)?;
            self.written += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes what is left; returns the segment's size and index.
    pub(super) fn finish(mut self) -> Result<(u64, SegmentIndex)> {
        self.flush_gap()?;
        self.write_pending()?;
        self.index.seal(self.base);
        Ok((self.written, self.index))
    }
}
