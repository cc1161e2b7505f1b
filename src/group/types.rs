//! The vocabulary groups and consumers share: partitions and committed offsets.

use std::collections::BTreeMap;
use std::sync::Arc;

/// One partition of one topic. Orders by topic name, then partition (Kafka's sort order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`'s `partition`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A committed position: always "the next offset to consume" (last processed + 1), with an
/// optional metadata string (at most 4096 bytes, Kafka's `offset.metadata.max.bytes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OffsetAndMetadata {
    /// The next offset to consume.
    pub offset: i64,
    /// Free text stored with the commit.
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    /// Resume at `next` (the offset of the next record to read).
    pub fn new(next: i64) -> Self {
        OffsetAndMetadata {
            offset: next,
            metadata: None,
        }
    }

    /// Resume right after `record` (adds the 1 that is easy to forget).
    pub fn next_after(record: &impl Message) -> Self {
        OffsetAndMetadata::new(record.offset() + 1)
    }

    /// With a metadata string.
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }
}

/// A consumed record's place, whichever type carries it ([`crate::RecordView`],
/// [`crate::ConsumerRecord`], [`crate::TypedConsumerRecord`]): what
/// [`OffsetAndMetadata::next_after`], [`crate::Consumer::commit_record`] and
/// [`crate::Consumer::store_offset`] take (rust-rdkafka's `Message`).
pub trait Message {
    /// The topic.
    fn topic(&self) -> &str;
    /// The partition.
    fn partition(&self) -> i32;
    /// The offset.
    fn offset(&self) -> i64;
    /// The timestamp (epoch ms).
    fn timestamp(&self) -> i64;
    /// Topic and partition.
    fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic(), self.partition())
    }
}

/// A consumer's group membership, as Kafka's `ConsumerGroupMetadata` carries it (what a
/// transactional producer's `sendOffsetsToTransaction` takes in Kafka).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The generation the member is in (−1 before it joined).
    pub generation_id: i32,
    /// The member id (empty before it joined).
    pub member_id: String,
    /// `group.instance.id`, for static members.
    pub group_instance_id: Option<String>,
}

/// Offsets per partition, as commits take and `committed` answers.
pub type Offsets = BTreeMap<TopicPartition, OffsetAndMetadata>;

/// The answer to an offsets-for-times query: the first offset whose timestamp is at least the
/// one asked for, and that record's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    /// The offset.
    pub offset: i64,
    /// Its record's timestamp (epoch ms).
    pub timestamp: i64,
}
