//! The record schemas of `__consumer_offsets`, as Kafka's `OffsetCommitKey`,
//! `OffsetCommitValue` and `GroupMetadataKey` define them (each version-prefixed, as Kafka's
//! `MessageUtil` writes them): the encoding kafkalite writes (key version 1, value version
//! 3) and a decoder of every non-flexible version, public for tools that print the topic.

use super::offsets::{group_id_too_long, METADATA_MAX_BYTES, STRING_MAX_BYTES};
use super::types::{OffsetAndMetadata, TopicPartition};
use crate::error::{Error, Result};

/// Offset-commit key, version 1: (group, topic, partition).
const KEY_VERSION: i16 = 1;
/// Offset-commit value, version 3: (offset, leader epoch, metadata, commit timestamp).
const VALUE_VERSION: i16 = 3;

/// The key of a `__consumer_offsets` record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetsTopicKey {
    /// A committed offset (`OffsetCommitKey`, versions 0 and 1).
    OffsetCommit {
        /// The key's version.
        version: i16,
        /// The group id.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A group's metadata (`GroupMetadataKey`, version 2; kafkalite writes none).
    GroupMetadata {
        /// The group id.
        group: String,
    },
    /// A record kind this decoder does not know (the new consumer protocol's, version 3
    /// and up).
    Unknown {
        /// The key's version.
        version: i16,
    },
}

/// The value of an offset-commit record (`OffsetCommitValue`, versions 0 to 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// The value's version.
    pub version: i16,
    /// The committed offset: the next record to read.
    pub offset: i64,
    /// The leader epoch (version 3; -1 when unknown, as kafkalite writes it).
    pub leader_epoch: Option<i32>,
    /// The metadata committed with the offset.
    pub metadata: String,
    /// When the offset was committed, in epoch milliseconds.
    pub commit_timestamp: i64,
    /// When it expires (version 1 only).
    pub expire_timestamp: Option<i64>,
}

/// Decodes the key of a `__consumer_offsets` record; `None` when it is malformed.
pub fn decode_offsets_key(key: &[u8]) -> Option<OffsetsTopicKey> {
    let mut r = Reader(key);
    let version = r.i16()?;
    Some(match version {
        0 | 1 => OffsetsTopicKey::OffsetCommit {
            version,
            group: r.string()?,
            topic: r.string()?,
            partition: r.i32()?,
        },
        2 => OffsetsTopicKey::GroupMetadata { group: r.string()? },
        version => OffsetsTopicKey::Unknown { version },
    })
}

/// Decodes the value of an offset-commit record; `None` when it is malformed or of a version
/// past 3 (version 4 is flexible, and not written by kafkalite).
pub fn decode_offset_commit_value(value: &[u8]) -> Option<OffsetCommitValue> {
    let mut r = Reader(value);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return None;
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { Some(r.i32()?) } else { None };
    let metadata = r.string()?;
    let commit_timestamp = r.i64()?;
    let expire_timestamp = if version == 1 { Some(r.i64()?) } else { None };
    Some(OffsetCommitValue {
        version,
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

/// Writes `s` after its length as an `i16`, or fails with `too_long()` when it does not fit.
fn put_string(out: &mut Vec<u8>, s: &str, too_long: impl FnOnce() -> Error) -> Result<()> {
    let len = i16::try_from(s.len()).map_err(|_| too_long())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The record key of `group`'s offset for `tp`; fails, before anything is written, when the
/// group id or the topic name is too long for Kafka's string fields.
pub(super) fn encode_key(group: &str, tp: &TopicPartition) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(12 + group.len() + tp.topic.len());
    out.extend_from_slice(&KEY_VERSION.to_be_bytes());
    put_string(&mut out, group, || group_id_too_long(group.len()))?;
    put_string(&mut out, &tp.topic, || {
        Error::InvalidTopic(format!(
            "a topic name of {} bytes is longer than the {STRING_MAX_BYTES} bytes a Kafka string \
             field holds (topic names have at most 249)",
            tp.topic.len()
        ))
    })?;
    out.extend_from_slice(&tp.partition.to_be_bytes());
    Ok(out)
}

pub(super) fn encode_value(offset: &OffsetAndMetadata, now_ms: i64) -> Result<Vec<u8>> {
    let metadata = offset.metadata.as_deref().unwrap_or("");
    let mut out = Vec::with_capacity(24 + metadata.len());
    out.extend_from_slice(&VALUE_VERSION.to_be_bytes());
    out.extend_from_slice(&offset.offset.to_be_bytes());
    out.extend_from_slice(&(-1i32).to_be_bytes()); // leader epoch: unknown
    put_string(&mut out, metadata, || Error::OffsetMetadataTooLarge {
        size: metadata.len(),
        max: METADATA_MAX_BYTES,
    })?;
    out.extend_from_slice(&now_ms.to_be_bytes());
    Ok(out)
}

/// Reads big-endian fields off the front of a record.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.i16()?).ok()?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
}

/// An offset-commit key, or `None` for other record kinds.
pub(super) fn decode_key(key: &[u8]) -> Option<(String, TopicPartition)> {
    match decode_offsets_key(key)? {
        OffsetsTopicKey::OffsetCommit {
            group,
            topic,
            partition,
            ..
        } => Some((group, TopicPartition::new(topic, partition))),
        _ => None,
    }
}

/// An offset-commit value and its commit timestamp.
pub(super) fn decode_value(value: &[u8]) -> Option<(OffsetAndMetadata, i64)> {
    let value = decode_offset_commit_value(value)?;
    Some((
        OffsetAndMetadata {
            offset: value.offset,
            metadata: (!value.metadata.is_empty()).then_some(value.metadata),
        },
        value.commit_timestamp,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field layouts of `OffsetCommitValue.json`: version 0 and 2 (offset, metadata,
    /// commitTimestamp), 1 (and expireTimestamp), 3 (leaderEpoch after the offset).
    #[test]
    fn values_of_every_non_flexible_version_decode() {
        let value = |version: i16, epoch: bool, expire: bool| {
            let mut v = version.to_be_bytes().to_vec();
            v.extend_from_slice(&7i64.to_be_bytes());
            if epoch {
                v.extend_from_slice(&4i32.to_be_bytes());
            }
            v.extend_from_slice(&[0, 1, b'm']);
            v.extend_from_slice(&100i64.to_be_bytes());
            if expire {
                v.extend_from_slice(&200i64.to_be_bytes());
            }
            v
        };
        for (version, epoch, expire) in [
            (0, false, false),
            (1, false, true),
            (2, false, false),
            (3, true, false),
        ] {
            let decoded = decode_offset_commit_value(&value(version, epoch, expire)).unwrap();
            assert_eq!(
                decoded,
                OffsetCommitValue {
                    version,
                    offset: 7,
                    leader_epoch: epoch.then_some(4),
                    metadata: "m".into(),
                    commit_timestamp: 100,
                    expire_timestamp: expire.then_some(200),
                }
            );
        }
        assert_eq!(decode_offset_commit_value(&value(4, true, false)), None);
        let key = [0, 2, 0, 1, b'g'];
        assert_eq!(
            decode_offsets_key(&key),
            Some(OffsetsTopicKey::GroupMetadata { group: "g".into() })
        );
        assert_eq!(
            decode_offsets_key(&[0, 3, 0]),
            Some(OffsetsTopicKey::Unknown { version: 3 })
        );
    }
}
