//! Recovery's checks of a segment's bytes: walking every batch (framing, CRC, contiguous
//! offsets, and in a repair that every record decodes), rebuilding the index on the way, and
//! telling a torn or damaged tail from preallocated zeros.

use super::incoming::validate_records;
use super::index::SegmentIndex;
use super::segment::Segment;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::record::{BatchError, BatchIter};
use crate::storage::AppendFile;

/// Whether `segment`'s batches, walked from its last index entry, end at offset `end`.
/// The entry is read from the end of the `.index` file, without loading the index (whose
/// size grows with the segment; it is loaded, and checked, at first use): the walk checks
/// that the batch there ends at the entry's offset and that every batch after follows on,
/// so a wrong entry only sends the log to a full recovery.
pub(super) fn ends_at(segment: &Segment, end: i64, interval_bytes: u64) -> bool {
    let entry = match segment.last_index_entry_hint() {
        Some(entry) => entry,
        None => match segment.index(interval_bytes) {
            Ok(index) => index.lookup(u32::MAX),
            Err(_) => return false,
        },
    };
    let Ok(scan) = segment.scan_from(entry) else {
        return false;
    };
    let mut next = segment.base_offset();
    for item in scan {
        match item {
            Ok((_, batch)) => next = batch.next_offset(),
            Err(_) => return false,
        }
    }
    next == end
}

/// Trusted sealed segments hold data: an empty one was damaged.
pub(super) fn check_not_empty(sealed: &[AppendFile], bases: &[i64]) -> Result<()> {
    match sealed.iter().position(AppendFile::is_empty) {
        Some(i) => Err(Error::corruption(
            sealed[i].path(),
            0,
            format!("sealed segment {} is empty", bases[i]),
        )),
        None => Ok(()),
    }
}

/// What one segment's walk found.
pub(super) struct Scan {
    /// The index rebuilt from the valid batches.
    pub index: SegmentIndex,
    /// The offset after the last valid batch.
    pub next_offset: i64,
    /// Valid batches walked.
    pub batches: u64,
    /// The position of the first invalid batch, and what is wrong with it.
    pub invalid: Option<(usize, String)>,
    /// Position of the first valid batch holding offsets at or after the recovery point.
    pub unsynced_from: Option<usize>,
}

/// Validates every batch of one segment: framing, CRC, offsets contiguous from `expected`,
/// and with `check_records` (a repair) that every record decodes.
pub(super) fn scan_segment(
    file: &AppendFile,
    base: i64,
    expected: i64,
    recovery_point: i64,
    config: &TopicConfig,
    check_records: bool,
) -> Scan {
    // Batches follow each other without gaps (see `log::scan`), compacted logs' too.
    let bytes = file.bytes();
    let mut scan = Scan {
        index: SegmentIndex::new(),
        next_offset: expected.max(base),
        batches: 0,
        invalid: None,
        unsynced_from: None,
    };
    for item in BatchIter::new(bytes) {
        let (position, batch) = match item {
            Ok(found) => found,
            Err((position, error)) => {
                scan.invalid = Some((position, describe(&error, bytes, position)));
                break;
            }
        };
        let problem = if let Err(e) = batch.verify_crc() {
            Some(e.to_string())
        } else if batch.base_offset() != scan.next_offset {
            Some(format!(
                "batch base offset {} where {} was expected",
                batch.base_offset(),
                scan.next_offset
            ))
        } else if batch.last_offset() - base > i32::MAX as i64 {
            Some(format!(
                "offset {} does not fit segment {base}",
                batch.last_offset()
            ))
        } else if check_records {
            match validate_records(&batch, position, false) {
                // Not damage: a codec this build cannot read (Kafka's snappy or zstd) is kept.
                Err(Error::UnsupportedCompressionType(_)) | Ok(()) => None,
                Err(e) => Some(e.to_string()),
            }
        } else {
            None
        };
        if let Some(why) = problem {
            scan.invalid = Some((position, why));
            break;
        }
        scan.index.on_append(
            base,
            batch.last_offset(),
            batch.max_timestamp(),
            position as u64,
            batch.size() as u64,
            config.index_interval_bytes,
        );
        if scan.unsynced_from.is_none() && batch.next_offset() > recovery_point {
            scan.unsynced_from = Some(position);
        }
        scan.next_offset = batch.next_offset();
        scan.batches += 1;
    }
    scan
}

/// Whether `bytes` are all zero (preallocated space): compared a page at a time with a
/// zeroed page, which `memcmp` does at memory speed even in unoptimized builds.
pub(super) fn all_zeros(bytes: &[u8]) -> bool {
    const ZEROS: [u8; 4096] = [0; 4096];
    bytes
        .chunks(ZEROS.len())
        .all(|chunk| chunk == &ZEROS[..chunk.len()])
}

fn describe(error: &BatchError, bytes: &[u8], position: usize) -> String {
    if all_zeros(&bytes[position..]) {
        "preallocated space after the last batch".to_string()
    } else {
        error.to_string()
    }
}
