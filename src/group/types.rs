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

    /// Resume right after the record at `offset` (adds the 1 that is easy to forget).
    pub fn next_after(offset: i64) -> Self {
        OffsetAndMetadata::new(offset + 1)
    }

    /// With a metadata string.
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }
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
