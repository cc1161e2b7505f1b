//! Rewriting a batch with some of its records removed, as Kafka's `MemoryRecords.filterTo`
//! does for the log cleaner: the batch keeps its base offset, last offset delta (so the
//! producer's last sequence survives), partition leader epoch, producer id, epoch and base
//! sequence, its transactional and control flags, codec and timestamp type; each kept record
//! keeps its offset delta and timestamp, so offsets leave gaps where records went.

use super::batch::*;
use super::builder::put_raw_record;
use super::compression::{self, Compression};
use super::record::RawRecord;
use crate::error::{Error, Result};

/// What [`filter_batch`] made of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filtered {
    /// Every record kept and no delete horizon to set: the original bytes stand.
    Unchanged,
    /// Some records kept: the rebuilt batch.
    Rebuilt(Vec<u8>),
    /// No record kept.
    Emptied,
}

/// What one [`filter_batch`] call saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FilterCounts {
    /// Records kept.
    pub kept: u64,
    /// Records removed.
    pub removed: u64,
}

/// Keeps the records of `batch` for which `keep(offset, key, has_value)` says so. Records are
/// read by the fast path (the batch was validated when appended and its CRC checked since),
/// and kept ones copied with their headers as they are. `delete_horizon` is the horizon to
/// stamp (attribute bit 6, in `baseTimestamp`, Kafka's KIP-534) when the batch has none yet
/// and a kept record is a tombstone (a null value); a batch that already has one keeps it.
/// A stamp forces a rebuild even when every record stays.
pub(crate) fn filter_batch(
    batch: &RecordBatch<'_>,
    decompressed_bytes_max: usize,
    delete_horizon: i64,
    mut keep: impl FnMut(i64, Option<&[u8]>, bool) -> bool,
) -> Result<(Filtered, FilterCounts)> {
    let records = batch.records_with_limit(decompressed_bytes_max)?;
    let mut kept = Vec::new();
    let mut counts = FilterCounts::default();
    for record in records.raw() {
        let record = record?;
        let offset = batch
            .base_offset()
            .wrapping_add(i64::from(record.offset_delta));
        if keep(offset, record.key, record.value.is_some()) {
            kept.push(record);
        } else {
            counts.removed += 1;
        }
    }
    counts.kept = kept.len() as u64;
    if kept.is_empty() {
        return Ok((Filtered::Emptied, counts));
    }
    let stamp = batch.delete_horizon_ms().is_none() && kept.iter().any(|r| r.value.is_none());
    if counts.removed == 0 && !stamp {
        return Ok((Filtered::Unchanged, counts));
    }
    let horizon = if stamp {
        Some(delete_horizon)
    } else {
        batch.delete_horizon_ms()
    };
    let rebuilt = rebuild(batch, &records, &kept, horizon)?;
    Ok((Filtered::Rebuilt(rebuilt), counts))
}

/// `batch` with every record kept and `delete_horizon` stamped (Kafka's
/// `containsMarkerForEmptyTxn`: a transaction marker whose transaction has no data left).
pub(crate) fn stamp_delete_horizon(
    batch: &RecordBatch<'_>,
    decompressed_bytes_max: usize,
    delete_horizon: i64,
) -> Result<Vec<u8>> {
    let records = batch.records_with_limit(decompressed_bytes_max)?;
    let kept = records.raw().collect::<Result<Vec<_>>>()?;
    if kept.is_empty() {
        return Ok(batch.as_bytes().to_vec());
    }
    rebuild(batch, &records, &kept, Some(delete_horizon))
}

/// A batch of `batch`'s header with `kept` as its records.
fn rebuild(
    batch: &RecordBatch<'_>,
    records: &Records<'_>,
    kept: &[RawRecord<'_>],
    horizon: Option<i64>,
) -> Result<Vec<u8>> {
    let timestamp = |r: &RawRecord<'_>| records.timestamp_of(r.timestamp_delta);
    let base_timestamp = horizon.unwrap_or_else(|| timestamp(&kept[0]));
    let mut section = Vec::new();
    for record in kept {
        put_raw_record(
            &mut section,
            record.offset_delta,
            timestamp(record).wrapping_sub(base_timestamp),
            record.key,
            record.value,
            record.headers,
        )?;
    }
    let section = match batch.compression()? {
        Compression::None => section,
        codec => compression::compress(codec, &section)?,
    };
    let max_timestamp = match batch.timestamp_type() {
        TimestampType::LogAppendTime => batch.max_timestamp(),
        TimestampType::CreateTime => kept.iter().map(timestamp).max().unwrap_or(-1),
    };
    let count = i32::try_from(kept.len()).expect("a batch holds at most i32::MAX records");
    let mut attributes = batch.attributes();
    if horizon.is_some() {
        attributes |= i16::from(DELETE_HORIZON_BIT);
    }
    let mut out = Vec::with_capacity(BATCH_HEADER_BYTES + section.len());
    out.extend_from_slice(&batch.as_bytes()[..BATCH_HEADER_BYTES]);
    out.extend_from_slice(&section);
    finish(&mut out, attributes, base_timestamp, max_timestamp, count)?;
    Ok(out)
}

/// A batch with `batch`'s header and no records, as Kafka keeps one to preserve a producer's
/// last sequence (`DefaultRecordBatch.writeEmptyHeader`): no codec, no delete horizon, base
/// and max timestamp both the original max timestamp.
pub(crate) fn empty_batch(batch: &RecordBatch<'_>) -> Vec<u8> {
    let mut out = batch.as_bytes()[..BATCH_HEADER_BYTES].to_vec();
    let attributes = batch.attributes() & !0x07 & !i16::from(DELETE_HORIZON_BIT);
    let max_timestamp = batch.max_timestamp();
    finish(&mut out, attributes, max_timestamp, max_timestamp, 0)
        .expect("an empty batch is 61 bytes");
    out
}

/// A batch with no records standing for offsets `base_offset..=last_offset`, whose batches
/// the cleaner removed whole: kafkalite keeps a log's batches contiguous (see `log::scan`),
/// so a run of removed batches leaves this 61-byte batch where Kafka leaves a gap. No
/// producer; `max_timestamp` (base and max, as Kafka's empty batches carry theirs) is the
/// largest of the removed batches, so the segment's time bounds do not change.
pub(crate) fn gap_batch(
    base_offset: i64,
    last_offset: i64,
    partition_leader_epoch: i32,
    max_timestamp: i64,
) -> Vec<u8> {
    let mut out = vec![0; BATCH_HEADER_BYTES];
    let last_offset_delta = i32::try_from(last_offset - base_offset)
        .expect("a segment's offsets are within i32::MAX of its base");
    out[BASE_OFFSET_AT..][..8].copy_from_slice(&base_offset.to_be_bytes());
    out[LEADER_EPOCH_AT..][..4].copy_from_slice(&partition_leader_epoch.to_be_bytes());
    out[MAGIC_AT] = MAGIC_V2 as u8;
    out[LAST_OFFSET_DELTA_AT..][..4].copy_from_slice(&last_offset_delta.to_be_bytes());
    out[PRODUCER_ID_AT..][..8].copy_from_slice(&(-1_i64).to_be_bytes());
    out[PRODUCER_EPOCH_AT..][..2].copy_from_slice(&(-1_i16).to_be_bytes());
    out[BASE_SEQUENCE_AT..][..4].copy_from_slice(&(-1_i32).to_be_bytes());
    finish(&mut out, 0, max_timestamp, max_timestamp, 0).expect("an empty batch is 61 bytes");
    out
}

/// Fills a copied header for new contents: length, attributes, timestamps, count, CRC.
fn finish(
    out: &mut [u8],
    attributes: i16,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
) -> Result<()> {
    let length = i32::try_from(out.len() - LOG_OVERHEAD_BYTES)
        .map_err(|_| Error::CorruptRecord("batch would exceed 2 GiB".into()))?;
    out[LENGTH_AT..][..4].copy_from_slice(&length.to_be_bytes());
    out[ATTRIBUTES_AT..][..2].copy_from_slice(&attributes.to_be_bytes());
    out[BASE_TIMESTAMP_AT..][..8].copy_from_slice(&base_timestamp.to_be_bytes());
    out[MAX_TIMESTAMP_AT..][..8].copy_from_slice(&max_timestamp.to_be_bytes());
    out[RECORDS_COUNT_AT..][..4].copy_from_slice(&count.to_be_bytes());
    let crc = super::crc::crc32c(&out[ATTRIBUTES_AT..]);
    out[CRC_AT..][..4].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{BatchBuilder, Header};

    fn batch(compression: Compression) -> Vec<u8> {
        let mut builder = BatchBuilder::new()
            .compression(compression)
            .base_offset(100)
            .producer(7, 3, 40)
            .partition_leader_epoch(5);
        builder.append(1_000, Some(b"a"), Some(b"1"), &[]).unwrap();
        let header = [Header {
            key: b"h",
            value: Some(b"v"),
        }];
        builder.append(1_005, Some(b"b"), None, &header).unwrap();
        builder.append(1_002, Some(b"a"), Some(b"2"), &[]).unwrap();
        builder.build().unwrap()
    }

    type Kept = (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>, usize);

    fn kept(bytes: &[u8]) -> Vec<Kept> {
        let batch = RecordBatch::new(bytes).unwrap();
        assert!(batch.is_valid());
        let records = batch.records().unwrap();
        records
            .iter()
            .map(|r| {
                let r = r.unwrap();
                let key = r.key.map(<[u8]>::to_vec);
                (
                    r.offset,
                    r.timestamp,
                    key,
                    r.value.map(<[u8]>::to_vec),
                    r.headers().len(),
                )
            })
            .collect()
    }

    #[test]
    fn a_filtered_batch_keeps_offsets_header_fields_and_stamps_the_horizon() {
        for codec in [Compression::None, Compression::Lz4] {
            let original = batch(codec);
            let view = RecordBatch::new(&original).unwrap();
            let (filtered, counts) =
                filter_batch(&view, usize::MAX, 9_000, |offset, _, _| offset != 100).unwrap();
            assert_eq!(
                counts,
                FilterCounts {
                    kept: 2,
                    removed: 1
                }
            );
            let Filtered::Rebuilt(bytes) = filtered else {
                panic!("expected a rebuilt batch, got {filtered:?}");
            };
            let rebuilt = RecordBatch::new(&bytes).unwrap();
            assert_eq!(rebuilt.base_offset(), 100);
            assert_eq!(rebuilt.last_offset(), 102);
            assert_eq!(rebuilt.records_count(), 2);
            assert!(!rebuilt.is_dense());
            assert_eq!(rebuilt.partition_leader_epoch(), 5);
            assert_eq!((rebuilt.producer_id(), rebuilt.producer_epoch()), (7, 3));
            assert_eq!(rebuilt.base_sequence(), 40);
            assert_eq!(rebuilt.last_sequence(), 42);
            assert_eq!(rebuilt.compression().unwrap(), codec);
            // A tombstone stayed: the horizon is stamped.
            assert_eq!(rebuilt.delete_horizon_ms(), Some(9_000));
            assert_eq!(rebuilt.max_timestamp(), 1_005);
            assert_eq!(
                kept(&bytes),
                [
                    (101, 1_005, Some(b"b".to_vec()), None, 1),
                    (102, 1_002, Some(b"a".to_vec()), Some(b"2".to_vec()), 0)
                ]
            );
        }
    }

    #[test]
    fn a_batch_keeps_its_bytes_unless_something_changes() {
        let original = batch(Compression::None);
        let view = RecordBatch::new(&original).unwrap();
        // A tombstone without a horizon forces a rebuild even when everything stays.
        let (filtered, _) = filter_batch(&view, usize::MAX, 9_000, |_, _, _| true).unwrap();
        let Filtered::Rebuilt(stamped) = filtered else {
            panic!("expected the horizon to be stamped, got {filtered:?}");
        };
        let stamped_view = RecordBatch::new(&stamped).unwrap();
        assert_eq!(stamped_view.delete_horizon_ms(), Some(9_000));
        assert_eq!(kept(&stamped), kept(&original));
        // Once stamped, a later pass keeps the batch as it is, and its horizon.
        let (again, _) = filter_batch(&stamped_view, usize::MAX, 20_000, |_, _, _| true).unwrap();
        assert_eq!(again, Filtered::Unchanged);
        let (fewer, _) = filter_batch(&stamped_view, usize::MAX, 20_000, |_, _, has_value| {
            has_value
        })
        .unwrap();
        let Filtered::Rebuilt(fewer) = fewer else {
            panic!("expected a rebuilt batch");
        };
        assert_eq!(
            RecordBatch::new(&fewer).unwrap().delete_horizon_ms(),
            Some(9_000)
        );
        let (none, counts) = filter_batch(&view, usize::MAX, 9_000, |_, _, _| false).unwrap();
        assert_eq!((none, counts.removed), (Filtered::Emptied, 3));
    }

    #[test]
    fn an_empty_batch_keeps_the_producer_state() {
        let original = batch(Compression::Lz4);
        let view = RecordBatch::new(&original).unwrap();
        let bytes = empty_batch(&view);
        let empty = RecordBatch::new(&bytes).unwrap();
        assert!(empty.is_valid());
        assert_eq!(bytes.len(), BATCH_HEADER_BYTES);
        assert_eq!((empty.base_offset(), empty.last_offset()), (100, 102));
        assert_eq!(empty.last_sequence(), 42);
        assert_eq!(empty.records_count(), 0);
        assert_eq!(empty.compression().unwrap(), Compression::None);
        assert_eq!(
            (empty.base_timestamp(), empty.max_timestamp()),
            (1_005, 1_005)
        );
        assert!(empty.records().unwrap().iter().next().is_none());
    }

    #[test]
    fn a_gap_batch_covers_its_offsets_with_nothing() {
        let bytes = gap_batch(1_000, 1_041, 4, 77);
        let gap = RecordBatch::new(&bytes).unwrap();
        assert!(gap.is_valid());
        assert_eq!((gap.base_offset(), gap.next_offset()), (1_000, 1_042));
        assert_eq!((gap.producer_id(), gap.records_count()), (-1, 0));
        assert_eq!((gap.max_timestamp(), gap.partition_leader_epoch()), (77, 4));
        assert!(!gap.is_control() && !gap.is_transactional());
    }
}
