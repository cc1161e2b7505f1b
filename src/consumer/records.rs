//! What `poll` returns: records that read straight from the mapped segments (no copy per
//! record; an lz4 batch is decompressed once and shared by its records).

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};
use crate::group::{Message, TopicPartition};
use crate::log::FetchData;
use crate::record::{Header, HeaderIter, TimestampType};

/// Where a batch's records section lives.
#[derive(Debug, Clone)]
pub(crate) enum Section {
    /// Inside the fetched slice of the mapped segment.
    Mapped(Range<usize>),
    /// Decompressed once, shared by the batch's records.
    Decompressed(Arc<[u8]>),
}

/// One batch's share of a poll: its records section and which of its records are returned.
/// Records are decoded while iterating, not at fetch: appends validate every record (as
/// Kafka's `LogValidator` does), so the fetch only needs the batch headers and CRCs.
#[derive(Debug, Clone)]
pub(crate) struct BatchRecords {
    pub(super) section: Section,
    /// Where the batch starts in the fetched bytes (to name the place of damage).
    pub(super) at: usize,
    pub(super) timestamp_type: TimestampType,
    pub(super) base_offset: i64,
    pub(super) base_timestamp: i64,
    /// The batch's append time, which every record carries under `LogAppendTime`.
    pub(super) log_append_time: Option<i64>,
    pub(super) last_offset_delta: i32,
    /// Records at the front of the section that are not returned (below the position).
    pub(super) skip: u32,
    /// Records returned after them.
    pub(super) take: u32,
}

/// One partition's records of a poll.
#[derive(Debug, Clone)]
pub(crate) struct PartitionRecords {
    pub(crate) tp: TopicPartition,
    /// Keeps the segment's mapping alive.
    pub(crate) data: FetchData,
    pub(crate) batches: Vec<BatchRecords>,
    /// Records returned.
    pub(crate) count: usize,
    /// The position the fetch read from (where a poll that does not return them puts the
    /// partition back).
    pub(crate) from: i64,
    /// The position after them.
    pub(crate) next_offset: i64,
    /// The offset up to which the batches read were CRC-checked.
    pub(crate) checked_through: i64,
    /// A record that did not decode while iterating (see [`Records::errors`]).
    pub(super) damage: OnceLock<Error>,
}

impl PartitionRecords {
    fn section<'a>(&'a self, batch: &'a BatchRecords) -> &'a [u8] {
        match &batch.section {
            Section::Mapped(range) => &self.data.bytes()[range.clone()],
            Section::Decompressed(bytes) => bytes,
        }
    }

    #[cold]
    fn damaged(&self, batch: &BatchRecords) {
        let error = match &self.data.slice {
            Some(slice) => Error::corruption(
                slice.path(),
                (slice.range().start + batch.at) as u64,
                "a record of this batch does not decode although the batch's CRC matches \
                 (was the file changed outside kafkalite?); the records after it in this \
                 poll were not returned",
            ),
            None => Error::CorruptRecord("a record does not decode".into()),
        };
        let _ = self.damage.set(error);
    }
}

/// Iterates records of a run of partitions, decoding them as it goes (one flat loop:
/// cheaper than chaining an iterator per partition or batch).
struct RecordsIter<'a> {
    parts: &'a [PartitionRecords],
    /// The partition being read and the index of its next batch.
    part: usize,
    next_batch: usize,
    /// The current partition and batch.
    current: Option<(&'a TopicPartition, &'a BatchRecords)>,
    /// The rest of the current batch's section.
    buf: &'a [u8],
    /// Records still to return from the current batch.
    left: u32,
    /// The offset delta of the record before (deltas strictly increase within a batch).
    last_delta: i32,
}

impl<'a> RecordsIter<'a> {
    fn new(parts: &'a [PartitionRecords]) -> Self {
        RecordsIter {
            parts,
            part: 0,
            next_batch: 0,
            current: None,
            buf: &[],
            left: 0,
            last_delta: 0,
        }
    }

    /// Moves to the next batch with records (in this partition or the next), past its
    /// skipped records; `None` at the end.
    fn start_batch(&mut self) -> Option<()> {
        let part = loop {
            let part = self.parts.get(self.part)?;
            if self.next_batch < part.batches.len() {
                break part;
            }
            self.part += 1;
            self.next_batch = 0;
        };
        let batch = &part.batches[self.next_batch];
        self.next_batch += 1;
        self.current = Some((&part.tp, batch));
        self.buf = part.section(batch);
        self.left = batch.take;
        // The record at index i has a delta of at least i.
        self.last_delta = batch.skip as i32 - 1;
        for _ in 0..batch.skip {
            if crate::record::skip_validated(&mut self.buf).is_none() {
                self.stop_partition(batch);
                break;
            }
        }
        Some(())
    }

    /// Records damage in the current partition and ends its iteration.
    #[cold]
    fn stop_partition(&mut self, batch: &BatchRecords) {
        self.parts[self.part].damaged(batch);
        self.part += 1;
        self.next_batch = 0;
        self.left = 0;
    }
}

impl<'a> Iterator for RecordsIter<'a> {
    type Item = RecordView<'a>;

    #[inline]
    fn next(&mut self) -> Option<RecordView<'a>> {
        loop {
            while self.left == 0 {
                self.start_batch()?;
            }
            let (tp, batch) = self.current?;
            match crate::record::next_validated(&mut self.buf) {
                Some(record)
                    if record.offset_delta > self.last_delta
                        && record.offset_delta <= batch.last_offset_delta =>
                {
                    self.last_delta = record.offset_delta;
                    self.left -= 1;
                    return Some(RecordView {
                        tp,
                        offset: batch.base_offset + record.offset_delta as i64,
                        timestamp: batch
                            .log_append_time
                            .unwrap_or(batch.base_timestamp.wrapping_add(record.timestamp_delta)),
                        timestamp_type: batch.timestamp_type,
                        key: record.key,
                        value: record.value,
                        headers: record.headers,
                    });
                }
                _ => self.stop_partition(batch),
            }
        }
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
        RecordsIter::new(&self.parts)
    }

    /// The records of one partition.
    pub fn partition<'a>(
        &'a self,
        tp: &'a TopicPartition,
    ) -> impl Iterator<Item = RecordView<'a>> + 'a {
        self.parts
            .iter()
            .filter(move |p| &p.tp == tp)
            .flat_map(|p| RecordsIter::new(std::slice::from_ref(p)))
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
            .map(|p| (&p.tp, RecordsIter::new(std::slice::from_ref(p))))
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

    /// These records replaced by `records` (Kafka's `new ConsumerRecords(...)`, as a
    /// [`crate::ConsumerInterceptor`]'s `on_consume` returns it), keeping the partitions at
    /// their end and the errors. Records of a partition are grouped as given; `next_offsets`
    /// then names the offset after each partition's last record here.
    pub fn replaced(self, records: Vec<ConsumerRecord>) -> Result<Records> {
        let mut parts = Vec::new();
        let mut rest = records.as_slice();
        while let Some(first) = rest.first() {
            // A run: one partition and timestamp type, offsets strictly increasing within
            // an i32 delta of the first.
            let run = rest
                .windows(2)
                .take_while(|w| {
                    let (a, b) = (&w[0], &w[1]);
                    (&a.topic, a.partition, a.timestamp_type)
                        == (&b.topic, b.partition, b.timestamp_type)
                        && b.offset > a.offset
                        && b.offset
                            .checked_sub(first.offset)
                            .is_some_and(|delta| i32::try_from(delta).is_ok())
                })
                .count()
                + 1;
            parts.push(owned_part(&rest[..run])?);
            rest = &rest[run..];
        }
        Ok(Records {
            parts,
            eof: self.eof,
            errors: self.errors,
        })
    }

    /// Partitions whose end this poll reached (with `enable.partition.eof`).
    pub fn eof(&self) -> &[TopicPartition] {
        &self.eof
    }

    /// Partitions that could not be read (e.g. corruption), each with its error; the other
    /// partitions' records are still here. Records are decoded while iterating; a record that
    /// does not decode then (possible only when a file was changed outside kafkalite with a
    /// matching CRC: appends validate every record) ends its partition's iteration and is
    /// listed here too, once iterated.
    pub fn errors(&self) -> Vec<(TopicPartition, Error)> {
        let damaged = self
            .parts
            .iter()
            .filter_map(|p| p.damage.get().map(|e| (p.tp.clone(), e.clone())));
        self.errors.iter().cloned().chain(damaged).collect()
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
    /// The header count and headers, decoded when asked for.
    headers: &'a [u8],
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
        HeaderIter::counted(self.headers)
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

impl Message for RecordView<'_> {
    fn topic(&self) -> &str {
        &self.tp.topic
    }
    fn partition(&self) -> i32 {
        self.tp.partition
    }
    fn offset(&self) -> i64 {
        self.offset
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn topic_partition(&self) -> TopicPartition {
        self.tp.clone()
    }
}

impl Message for ConsumerRecord {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn partition(&self) -> i32 {
        self.partition
    }
    fn offset(&self) -> i64 {
        self.offset
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn topic_partition(&self) -> TopicPartition {
        TopicPartition {
            topic: Arc::clone(&self.topic),
            partition: self.partition,
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

/// One partition's share of replaced records (see [`Records::replaced`]): `run` is one
/// partition's records in increasing offset order, one timestamp type, encoded as a records
/// section held in memory.
fn owned_part(run: &[ConsumerRecord]) -> Result<PartitionRecords> {
    let first = &run[0];
    let last = &run[run.len() - 1];
    let mut section = Vec::new();
    let mut last_offset_delta = 0;
    for record in run {
        let headers: Vec<Header<'_>> = record
            .headers
            .iter()
            .map(|(key, value)| Header {
                key: key.as_bytes(),
                value: value.as_deref(),
            })
            .collect();
        // Runs keep every delta within an i32 (see `Records::replaced`).
        last_offset_delta = record
            .offset
            .checked_sub(first.offset)
            .and_then(|delta| i32::try_from(delta).ok())
            .unwrap_or(i32::MAX);
        crate::record::put_record(
            &mut section,
            last_offset_delta,
            record.timestamp.wrapping_sub(first.timestamp),
            record.key.as_deref(),
            record.value.as_deref(),
            &headers,
        )?;
    }
    let tp = TopicPartition {
        topic: Arc::clone(&first.topic),
        partition: first.partition,
    };
    let batch = BatchRecords {
        section: Section::Decompressed(Arc::from(section)),
        at: 0,
        timestamp_type: first.timestamp_type,
        base_offset: first.offset,
        base_timestamp: first.timestamp,
        log_append_time: None,
        last_offset_delta,
        skip: 0,
        take: u32::try_from(run.len()).unwrap_or(u32::MAX),
    };
    Ok(PartitionRecords {
        tp,
        data: FetchData {
            slice: None,
            high_watermark: -1,
            log_start_offset: -1,
        },
        batches: vec![batch],
        count: run.len(),
        from: first.offset,
        next_offset: last.offset.saturating_add(1),
        checked_through: last.offset.saturating_add(1),
        damage: OnceLock::new(),
    })
}
