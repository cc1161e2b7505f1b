//! What `poll` returns: records that read straight from the mapped segments (no copy per
//! record; an lz4 batch is decompressed once and shared by its records).

use std::ops::Range;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::group::TopicPartition;
use crate::log::FetchData;
use crate::record::{Header, HeaderIter, RecordIter, TimestampType};

/// Where a batch's records section lives.
#[derive(Debug, Clone)]
pub(crate) enum Section {
    /// Inside the fetched slice of the mapped segment.
    Mapped(Range<usize>),
    /// Decompressed once, shared by the batch's records.
    Decompressed(Arc<[u8]>),
}

/// Where a field lies in its batch's records section (`len` −1: null).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: i32,
}

impl Span {
    fn of(field: Option<&[u8]>, base: usize) -> Span {
        match field {
            Some(bytes) => Span {
                start: (bytes.as_ptr() as usize - base) as u32,
                len: bytes.len() as i32,
            },
            None => Span { start: 0, len: -1 },
        }
    }

    fn get(self, section: &[u8]) -> Option<&[u8]> {
        (self.len >= 0).then(|| &section[self.start as usize..][..self.len as usize])
    }
}

/// One record, decoded once at fetch: where its fields lie in the section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Index of its batch in `PartitionRecords::batches`.
    batch: u32,
    offset: i64,
    timestamp: i64,
    key: Span,
    value: Span,
    headers: Span,
    header_count: i32,
}

/// One batch's records section (its entries point into it).
#[derive(Debug, Clone)]
pub(crate) struct BatchRecords {
    pub(crate) section: Section,
    pub(crate) timestamp_type: TimestampType,
}

/// One partition's records of a poll.
#[derive(Debug, Clone)]
pub(crate) struct PartitionRecords {
    pub(crate) tp: TopicPartition,
    /// Keeps the segment's mapping alive.
    pub(crate) data: FetchData,
    pub(crate) batches: Vec<BatchRecords>,
    pub(crate) entries: Vec<Entry>,
    /// Records returned.
    pub(crate) count: usize,
    /// The position after them.
    pub(crate) next_offset: i64,
    /// The offset up to which the batches read were CRC-checked.
    pub(crate) checked_through: i64,
}

impl PartitionRecords {
    fn iter(&self) -> impl Iterator<Item = RecordView<'_>> + '_ {
        // One flat walk over the entries (each knows its batch): cheaper than nesting an
        // iterator per batch.
        self.entries.iter().map(move |e| {
            let batch = &self.batches[e.batch as usize];
            let section: &[u8] = match &batch.section {
                Section::Mapped(range) => &self.data.bytes()[range.clone()],
                Section::Decompressed(bytes) => bytes,
            };
            RecordView {
                tp: &self.tp,
                offset: e.offset,
                timestamp: e.timestamp,
                timestamp_type: batch.timestamp_type,
                key: e.key.get(section),
                value: e.value.get(section),
                headers: HeaderIter::from_raw(
                    e.headers.get(section).unwrap_or_default(),
                    e.header_count,
                ),
            }
        })
    }
}

/// The records of one `poll`: owned, `Send + 'static` (move it to another thread, commit from
/// it later). Per partition, records are in offset order.
#[derive(Debug, Default, Clone)]
pub struct Records {
    pub(crate) parts: Vec<PartitionRecords>,
    pub(crate) eof: Vec<TopicPartition>,
    pub(crate) errors: Vec<(TopicPartition, Error)>,
}

impl Records {
    /// Adds a later fetch's records (same poll).
    pub(crate) fn absorb(&mut self, later: Records) {
        self.parts.extend(later.parts);
        self.eof.extend(later.eof);
        self.errors.extend(later.errors);
    }

    /// Bytes of the batches the records came from (what `fetch.min.bytes` counts).
    pub(crate) fn fetched_bytes(&self) -> usize {
        self.parts.iter().map(|p| p.data.bytes().len()).sum()
    }

    /// Every record, partition by partition.
    pub fn iter(&self) -> impl Iterator<Item = RecordView<'_>> + '_ {
        self.parts.iter().flat_map(PartitionRecords::iter)
    }

    /// The records of one partition.
    pub fn partition<'a>(
        &'a self,
        tp: &'a TopicPartition,
    ) -> impl Iterator<Item = RecordView<'a>> + 'a {
        self.parts
            .iter()
            .filter(move |p| &p.tp == tp)
            .flat_map(PartitionRecords::iter)
    }

    /// Each partition with records here and an iterator over them, in fetch order (a
    /// partition may appear twice when a poll gathered more than one fetch).
    pub fn by_partition(
        &self,
    ) -> impl Iterator<Item = (&TopicPartition, impl Iterator<Item = RecordView<'_>> + '_)> + '_
    {
        self.parts
            .iter()
            .filter(|p| p.count > 0)
            .map(|p| (&p.tp, p.iter()))
    }

    /// The partitions that have records here.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        let mut seen = std::collections::BTreeSet::new();
        self.parts
            .iter()
            .filter(|p| p.count > 0 && seen.insert(&p.tp))
            .map(|p| p.tp.clone())
            .collect()
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.count).sum()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per partition, the offset after its last record here: what to commit once they are
    /// processed.
    pub fn next_offsets(&self) -> crate::group::Offsets {
        self.parts
            .iter()
            .filter(|p| p.count > 0)
            .map(|p| {
                (
                    p.tp.clone(),
                    crate::group::OffsetAndMetadata::new(p.next_offset),
                )
            })
            .collect()
    }

    /// Partitions whose end this poll reached (with `enable.partition.eof`).
    pub fn eof(&self) -> &[TopicPartition] {
        &self.eof
    }

    /// Partitions that could not be read (e.g. corruption), each with its error; the other
    /// partitions' records are still here.
    pub fn errors(&self) -> &[(TopicPartition, Error)] {
        &self.errors
    }
}

/// A record inside [`Records`], borrowed from it (no reference counting per record).
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    tp: &'a TopicPartition,
    offset: i64,
    timestamp: i64,
    timestamp_type: TimestampType,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: HeaderIter<'a>,
}

impl<'a> RecordView<'a> {
    /// The topic.
    pub fn topic(&self) -> &'a str {
        &self.tp.topic
    }
    /// The partition.
    pub fn partition(&self) -> i32 {
        self.tp.partition
    }
    /// Topic and partition.
    pub fn topic_partition(&self) -> &'a TopicPartition {
        self.tp
    }
    /// The offset.
    pub fn offset(&self) -> i64 {
        self.offset
    }
    /// The timestamp (epoch ms).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
    /// Whether the timestamp is the producer's (`CreateTime`) or the log's.
    pub fn timestamp_type(&self) -> TimestampType {
        self.timestamp_type
    }
    /// The key; `None` for a null key.
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }
    /// The value; `None` for a null value (a tombstone).
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }
    /// The headers in order (keys may repeat, values may be null).
    pub fn headers(&self) -> impl Iterator<Item = Header<'a>> + 'a {
        self.headers
    }
    /// An owned copy.
    pub fn to_owned(&self) -> ConsumerRecord {
        ConsumerRecord {
            topic: Arc::clone(&self.tp.topic),
            partition: self.tp.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            timestamp_type: self.timestamp_type,
            key: self.key.map(<[u8]>::to_vec),
            value: self.value.map(<[u8]>::to_vec),
            headers: self
                .headers()
                .map(|h| {
                    (
                        String::from_utf8_lossy(h.key).into_owned(),
                        h.value.map(<[u8]>::to_vec),
                    )
                })
                .collect(),
        }
    }
}

/// An owned record (Kafka's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp (epoch ms).
    pub timestamp: i64,
    /// Which clock the timestamp is from.
    pub timestamp_type: TimestampType,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads one partition from `position`: at most `max_records` records and (softly)
/// `max_bytes` bytes. Every batch's CRC is checked and every record decoded once here, so
/// damage is reported now, not while iterating. Returns `None` when nothing is readable.
/// `checked_through`: the offset up to which this consumer already CRC-checked the batches
/// (a batch cut by `max.poll.records` is read again by the next poll, but checked once).
pub(crate) fn fetch(
    tp: &TopicPartition,
    log: &crate::log::Log,
    position: i64,
    max_records: usize,
    max_bytes: usize,
    checked_through: i64,
) -> Result<Option<PartitionRecords>> {
    let data = log.read(position, max_bytes)?;
    if data.is_empty() {
        return Ok(None);
    }
    let base = data.bytes().as_ptr() as usize;
    let mut batches = Vec::new();
    let mut entries = Vec::new();
    let mut count = 0;
    let mut next_offset = position;
    let mut checked = checked_through;
    for batch in data.batches_checked_after(checked_through) {
        let batch = batch?;
        checked = checked.max(batch.next_offset());
        if batch.last_offset() < next_offset {
            continue;
        }
        if batch.is_control() {
            next_offset = batch.next_offset();
            continue;
        }
        let section = match batch.compression()? {
            crate::record::Compression::None => {
                let start = batch.records_section().as_ptr() as usize - base;
                Section::Mapped(start..start + batch.records_section().len())
            }
            codec => Section::Decompressed(Arc::from(crate::record::decompress(
                codec,
                batch.records_section(),
                crate::record::DECOMPRESSED_BYTES_MAX,
            )?)),
        };
        let log_append_time =
            (batch.timestamp_type() == TimestampType::LogAppendTime).then(|| batch.max_timestamp());
        let bytes: &[u8] = match &section {
            Section::Mapped(range) => &data.bytes()[range.clone()],
            Section::Decompressed(bytes) => bytes,
        };
        let section_base = bytes.as_ptr() as usize;
        let first_entry = entries.len();
        let mut last = next_offset - 1;
        let records = RecordIter::new(
            bytes,
            batch.records_count(),
            batch.base_offset(),
            batch.base_timestamp(),
            log_append_time,
        );
        for record in records {
            let record = record?;
            if record.offset < next_offset {
                continue;
            }
            let (headers, header_count) = record.headers().raw();
            entries.push(Entry {
                batch: batches.len() as u32,
                offset: record.offset,
                timestamp: record.timestamp,
                key: Span::of(record.key, section_base),
                value: Span::of(record.value, section_base),
                headers: Span::of(Some(headers), section_base),
                header_count,
            });
            last = record.offset;
            count += 1;
            if count == max_records {
                break;
            }
        }
        let limited = count == max_records;
        if entries.len() > first_entry {
            batches.push(BatchRecords {
                section,
                timestamp_type: batch.timestamp_type(),
            });
        }
        next_offset = if limited {
            last + 1
        } else {
            batch.next_offset()
        };
        if limited {
            break;
        }
    }
    Ok(Some(PartitionRecords {
        tp: tp.clone(),
        data,
        batches,
        entries,
        count,
        next_offset,
        checked_through: checked,
    }))
}
