//! rust-rdkafka's `TopicPartitionList` and `Offset` (`rdkafka::topic_partition_list`), with
//! librdkafka's semantics: elements keep the order they were added in, duplicates are
//! allowed, a new element's offset is `Invalid`, and offsets are stored in librdkafka's raw
//! form (`-2` beginning, `-1` end, `-1000` stored, `-1001` invalid, `-2000 - n` tail).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

use parking_lot::Mutex;

use super::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

/// librdkafka's `RD_KAFKA_PARTITION_UA`: a topic without a partition.
pub const PARTITION_UNASSIGNED: i32 = -1;

const OFFSET_BEGINNING: i64 = -2;
const OFFSET_END: i64 = -1;
const OFFSET_STORED: i64 = -1000;
pub(crate) const OFFSET_INVALID: i64 = -1001;
const OFFSET_TAIL_BASE: i64 = -2000;

/// A Kafka offset.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Offset {
    /// Start consuming from the beginning of the partition.
    Beginning,
    /// Start consuming from the end of the partition.
    End,
    /// Start consuming from the stored offset.
    Stored,
    /// Offset not assigned or invalid.
    Invalid,
    /// A specific offset to consume from (negative offsets are rejected).
    Offset(i64),
    /// An offset relative to the end of the partition (negative values are rejected).
    OffsetTail(i64),
}

impl Offset {
    /// Converts librdkafka's integer representation of an offset to an `Offset`.
    pub fn from_raw(raw_offset: i64) -> Offset {
        match raw_offset {
            OFFSET_BEGINNING => Offset::Beginning,
            OFFSET_END => Offset::End,
            OFFSET_STORED => Offset::Stored,
            OFFSET_INVALID => Offset::Invalid,
            n if n <= OFFSET_TAIL_BASE => Offset::OffsetTail(OFFSET_TAIL_BASE - n),
            n => Offset::Offset(n),
        }
    }

    /// Converts the `Offset` to librdkafka's integer representation; `None` if it has none.
    pub fn to_raw(self) -> Option<i64> {
        match self {
            Offset::Beginning => Some(OFFSET_BEGINNING),
            Offset::End => Some(OFFSET_END),
            Offset::Stored => Some(OFFSET_STORED),
            Offset::Invalid => Some(OFFSET_INVALID),
            Offset::Offset(n) if n >= 0 => Some(n),
            Offset::OffsetTail(n) if n > 0 => OFFSET_TAIL_BASE.checked_sub(n),
            Offset::Offset(_) | Offset::OffsetTail(_) => None,
        }
    }
}

/// One entry of a list. The offset and error may change through a shared list (as
/// librdkafka's elements do); the metadata through a lock.
#[derive(Debug)]
struct Entry {
    topic: String,
    partition: i32,
    offset: AtomicI64,
    error: AtomicI32,
    metadata: Mutex<String>,
}

impl Entry {
    fn new(topic: &str, partition: i32) -> Entry {
        Entry {
            topic: topic.to_string(),
            partition,
            offset: AtomicI64::new(OFFSET_INVALID),
            error: AtomicI32::new(0),
            metadata: Mutex::new(String::new()),
        }
    }
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: AtomicI64::new(self.offset.load(Ordering::Relaxed)),
            error: AtomicI32::new(self.error.load(Ordering::Relaxed)),
            metadata: Mutex::new(self.metadata.lock().clone()),
        }
    }
}

/// One element of the topic partition list.
pub struct TopicPartitionListElem<'a> {
    entry: &'a Entry,
    /// What `metadata()` lends out: the entry's metadata when this element was made, or
    /// as this element last set it.
    metadata: String,
}

impl<'a> TopicPartitionListElem<'a> {
    fn of(entry: &'a Entry) -> Self {
        TopicPartitionListElem {
            entry,
            metadata: entry.metadata.lock().clone(),
        }
    }

    /// Returns the topic name.
    pub fn topic(&self) -> &str {
        &self.entry.topic
    }

    /// Returns the optional error associated to the specific entry in the TPL.
    pub fn error(&self) -> KafkaResult<()> {
        match self.entry.error.load(Ordering::Acquire) {
            0 => Ok(()),
            code => Err(KafkaError::OffsetFetch(
                RDKafkaErrorCode::from_code(code).unwrap_or(RDKafkaErrorCode::Fail),
            )),
        }
    }

    /// Returns the partition number.
    pub fn partition(&self) -> i32 {
        self.entry.partition
    }

    /// Returns the offset.
    pub fn offset(&self) -> Offset {
        Offset::from_raw(self.entry.offset.load(Ordering::Acquire))
    }

    /// Sets the offset.
    pub fn set_offset(&mut self, offset: Offset) -> KafkaResult<()> {
        let raw = offset.to_raw().ok_or(KafkaError::SetPartitionOffset(
            RDKafkaErrorCode::InvalidArgument,
        ))?;
        self.entry.offset.store(raw, Ordering::Release);
        Ok(())
    }

    /// Returns the optional metadata associated with the entry.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// Sets the optional metadata associated with the entry.
    pub fn set_metadata<M: AsRef<str>>(&mut self, metadata: M) {
        self.metadata = metadata.as_ref().to_string();
        *self.entry.metadata.lock() = self.metadata.clone();
    }
}

impl PartialEq for TopicPartitionListElem<'_> {
    fn eq(&self, other: &TopicPartitionListElem<'_>) -> bool {
        self.topic() == other.topic()
            && self.partition() == other.partition()
            && self.offset() == other.offset()
            && self.metadata() == other.metadata()
    }
}

impl fmt::Debug for TopicPartitionListElem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicPartitionListElem")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("offset", &self.offset())
            .field("metadata", &self.metadata())
            .field("error", &self.error())
            .finish()
    }
}

/// A list of topic partitions, with an offset, metadata and error per element.
#[derive(Clone, Default)]
pub struct TopicPartitionList {
    entries: Vec<Entry>,
}

impl TopicPartitionList {
    /// Creates a new empty list with a default capacity.
    pub fn new() -> TopicPartitionList {
        TopicPartitionList::with_capacity(5)
    }

    /// Creates a new empty list with the specified capacity.
    pub fn with_capacity(capacity: usize) -> TopicPartitionList {
        TopicPartitionList {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Given a topic map, generates a new `TopicPartitionList`.
    pub fn from_topic_map(
        topic_map: &HashMap<(String, i32), Offset>,
    ) -> KafkaResult<TopicPartitionList> {
        let mut tpl = TopicPartitionList::with_capacity(topic_map.len());
        for ((topic_name, partition), offset) in topic_map {
            tpl.add_partition_offset(topic_name, *partition, *offset)?;
        }
        Ok(tpl)
    }

    /// Returns the number of elements in the list.
    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Returns the capacity of the list.
    pub fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Adds a topic with unassigned partitions to the list.
    pub fn add_topic_unassigned<'a>(&'a mut self, topic: &str) -> TopicPartitionListElem<'a> {
        self.add_partition(topic, PARTITION_UNASSIGNED)
    }

    /// Adds a topic and partition to the list.
    pub fn add_partition<'a>(
        &'a mut self,
        topic: &str,
        partition: i32,
    ) -> TopicPartitionListElem<'a> {
        self.entries.push(Entry::new(topic, partition));
        let entry = self.entries.last().expect("just pushed");
        TopicPartitionListElem::of(entry)
    }

    /// Adds a topic and partition range to the list (both ends included).
    pub fn add_partition_range(&mut self, topic: &str, start_partition: i32, stop_partition: i32) {
        for partition in start_partition..=stop_partition {
            self.entries.push(Entry::new(topic, partition));
        }
    }

    /// Sets the offset of an existing topic partition (librdkafka's
    /// `_UNKNOWN_PARTITION` if it is not in the list).
    pub fn set_partition_offset(
        &mut self,
        topic: &str,
        partition: i32,
        offset: Offset,
    ) -> KafkaResult<()> {
        let raw = offset.to_raw().ok_or(KafkaError::SetPartitionOffset(
            RDKafkaErrorCode::InvalidArgument,
        ))?;
        let entry = self
            .find(topic, partition)
            .ok_or(KafkaError::SetPartitionOffset(
                RDKafkaErrorCode::UnknownPartition,
            ))?;
        entry.offset.store(raw, Ordering::Release);
        Ok(())
    }

    /// Adds a topic and partition to the list, with the specified offset.
    pub fn add_partition_offset(
        &mut self,
        topic: &str,
        partition: i32,
        offset: Offset,
    ) -> KafkaResult<()> {
        self.add_partition(topic, partition);
        self.set_partition_offset(topic, partition, offset)
    }

    fn find(&self, topic: &str, partition: i32) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.topic == topic && entry.partition == partition)
    }

    /// Given a topic name and a partition number, returns the corresponding list element.
    pub fn find_partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Option<TopicPartitionListElem<'_>> {
        self.find(topic, partition).map(TopicPartitionListElem::of)
    }

    /// Sets all partitions in the list to the specified offset.
    pub fn set_all_offsets(&mut self, offset: Offset) -> Result<(), KafkaError> {
        for mut elem in self.elements() {
            elem.set_offset(offset)?;
        }
        Ok(())
    }

    /// Returns all the elements of the list.
    pub fn elements(&self) -> Vec<TopicPartitionListElem<'_>> {
        self.entries
            .iter()
            .map(TopicPartitionListElem::of)
            .collect()
    }

    /// Returns all the elements of the list that belong to the specified topic.
    pub fn elements_for_topic<'a>(&'a self, topic: &str) -> Vec<TopicPartitionListElem<'a>> {
        self.entries
            .iter()
            .filter(|entry| entry.topic == topic)
            .map(TopicPartitionListElem::of)
            .collect()
    }

    /// Returns a hashmap-based representation of the list.
    pub fn to_topic_map(&self) -> HashMap<(String, i32), Offset> {
        self.elements()
            .iter()
            .map(|elem| ((elem.topic().to_owned(), elem.partition()), elem.offset()))
            .collect()
    }

    /// Records `code` as the error of the element for `topic`/`partition` (the facade's
    /// per-partition results).
    pub(crate) fn set_error(&self, topic: &str, partition: i32, code: RDKafkaErrorCode) {
        if let Some(entry) = self.find(topic, partition) {
            entry.error.store(code as i32, Ordering::Release);
        }
    }

    /// `(topic, partition, raw offset, metadata)` of every element.
    pub(crate) fn raw_entries(&self) -> impl Iterator<Item = (&str, i32, i64, String)> + '_ {
        self.entries.iter().map(|entry| {
            (
                entry.topic.as_str(),
                entry.partition,
                entry.offset.load(Ordering::Acquire),
                entry.metadata.lock().clone(),
            )
        })
    }
}

impl PartialEq for TopicPartitionList {
    fn eq(&self, other: &TopicPartitionList) -> bool {
        self.count() == other.count()
            && self.elements().iter().all(|elem| {
                other
                    .find_partition(elem.topic(), elem.partition())
                    .is_some_and(|other_elem| *elem == other_elem)
            })
    }
}

impl FromIterator<(String, i32, Offset)> for TopicPartitionList {
    /// # Panics
    ///
    /// As rdkafka's: on an offset librdkafka cannot represent.
    fn from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = (String, i32, Offset)>,
    {
        let iter = iter.into_iter();
        let mut tpl = TopicPartitionList::with_capacity(iter.size_hint().0);
        for (topic, partition, offset) in iter {
            let mut elem = tpl.add_partition(&topic, partition);
            elem.set_offset(offset).unwrap_or_else(|err| {
                panic!(
                    "failed to set offset via collect() for {topic}:{partition} \
                     (offset: {offset:?}): {err:?}"
                )
            });
        }
        tpl
    }
}

impl FromIterator<((String, i32), Offset)> for TopicPartitionList {
    fn from_iter<I>(iter: I) -> Self
    where
        I: IntoIterator<Item = ((String, i32), Offset)>,
    {
        iter.into_iter()
            .map(|((topic, partition), offset)| (topic, partition, offset))
            .collect()
    }
}

impl fmt::Debug for TopicPartitionList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.elements()).finish()
    }
}
