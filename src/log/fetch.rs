//! What a read returns: zero-copy batches straight from the mapped segment.

use crate::error::{Error, Result};
use crate::record::RecordBatch;
use crate::storage::FileSlice;

/// Batches read from one segment, as a slice of the mapped file. Cheap to clone; keeps the
/// segment's mapping alive even if retention deletes the file meanwhile.
#[derive(Debug, Clone)]
pub struct FetchData {
    /// Whole batches, back to back (empty when nothing is readable at the offset).
    pub(crate) slice: Option<FileSlice>,
    /// High watermark when the read was made.
    pub high_watermark: i64,
    /// Log start offset when the read was made.
    pub log_start_offset: i64,
}

impl FetchData {
    /// The raw bytes of the batches (what a Kafka fetch response carries).
    pub fn bytes(&self) -> &[u8] {
        self.slice.as_deref().unwrap_or(&[])
    }

    /// Whether no batch was read.
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// Turns an error met decoding the records of `batch` (one of this read's batches) into
    /// what it is: a record that does not decode under a matching CRC is damage on disk, a
    /// `Corruption` naming the file and the batch's position. Other errors pass unchanged.
    pub(crate) fn undecodable(&self, batch: &RecordBatch<'_>, error: Error) -> Error {
        let (Error::CorruptRecord(why), Some(slice)) = (&error, &self.slice) else {
            return error;
        };
        let Some(at) = (batch.as_bytes().as_ptr() as usize).checked_sub(slice.as_ptr() as usize)
        else {
            return error;
        };
        Error::corruption(
            slice.path(),
            (slice.range().start + at) as u64,
            undecodable_detail(why),
        )
    }

    /// Where `batch` (one of this read's batches) starts in its segment's file.
    pub(crate) fn position_of(&self, batch: &RecordBatch<'_>) -> Option<usize> {
        let slice = self.slice.as_ref()?;
        let at = (batch.as_bytes().as_ptr() as usize).checked_sub(slice.as_ptr() as usize)?;
        Some(slice.range().start + at)
    }

    /// The batches, each CRC-checked once; damage is a `Corruption` error naming the file and
    /// position.
    pub fn batches(&self) -> impl Iterator<Item = Result<RecordBatch<'_>>> + '_ {
        self.batches_checked_after(i64::MIN)
    }

    /// As [`FetchData::batches`], but batches that end at or before `checked_through` (an
    /// offset) were CRC-checked by an earlier read of this reader and are not checked again.
    pub(crate) fn batches_checked_after(
        &self,
        checked_through: i64,
    ) -> impl Iterator<Item = Result<RecordBatch<'_>>> + '_ {
        self.slice.iter().flat_map(move |slice| {
            let corrupt = move |at: usize, why: String| {
                Error::corruption(slice.path(), (slice.range().start + at) as u64, why)
            };
            crate::record::BatchIter::new(slice).map(move |item| {
                let (at, batch) = item.map_err(|(at, e)| corrupt(at, e.to_string()))?;
                if batch.next_offset() > checked_through {
                    batch.verify_crc().map_err(|e| corrupt(at, e.to_string()))?;
                }
                Ok(batch)
            })
        })
    }
}

/// The detail of a `Corruption` for a record that does not decode although its batch's CRC
/// matches: appends validate every record, so only a change outside kafkalite leaves one.
pub(crate) fn undecodable_detail(why: &str) -> String {
    format!(
        "a record of this batch does not decode although the batch's CRC matches (was the \
         file changed outside kafkalite?): {why}"
    )
}
