//! Committed offsets, kept as records in the internal topic `__consumer_offsets` (one
//! partition here; Kafka has 50) with Kafka's own key and value schemas, so they survive a crash
//! like any data and Kafka's tools can read them. A map in memory answers lookups; it is rebuilt
//! by replaying the topic when the coordinator starts.
//!
//! Offsets sent in a transaction are written at once, as a transactional batch of the
//! producer, and held pending until the transaction's marker: COMMIT makes them committed,
//! ABORT drops them (Kafka's `pendingTransactionalOffsets`). While one is pending for a
//! partition, asking for that partition's committed offset is `UnstableOffsetCommit`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use super::offsets_schema::{decode_key, decode_value, encode_key, encode_value};
use super::types::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::cluster::{Cluster, NewTopic};
use crate::error::{Error, Result};
use crate::log::{increment_sequence, Entry, Log};
use crate::record::BatchBuilder;

/// The internal topic's name.
pub(crate) const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// Kafka's `offset.metadata.max.bytes`.
pub(crate) const METADATA_MAX_BYTES: usize = 4096;
/// The longest string Kafka's schemas can hold: its length is written as an `i16`
/// (`i16::MAX`). Group ids and topic names in the offsets topic's keys are such strings.
pub(crate) const STRING_MAX_BYTES: usize = 32_767;

/// `segment.bytes` of `__consumer_offsets`: 512 KiB where Kafka's `offsets.topic.segment.bytes`
/// is 100 MiB. The topic is replayed at a group's first access after an open, and only
/// segments other than the active one are compacted, so its segment size bounds both that
/// replay and the space superseded commits take.
const SEGMENT_BYTES: &str = "524288";

/// A committed offset, when it was committed (for `offsets.retention.minutes`), and where
/// its record is in `__consumer_offsets`: a transaction's offsets, settled at its marker,
/// replace only offsets whose records came before theirs (Kafka's
/// `replayEndTransactionMarker`), so a plain commit made while the transaction was open wins.
#[derive(Debug, Clone)]
struct Stored {
    offset: OffsetAndMetadata,
    at_ms: i64,
    record_offset: i64,
}

type GroupOffsets = BTreeMap<TopicPartition, Stored>;

/// Offsets of open transactions: producer id → group → offsets.
type PendingOffsets = HashMap<i64, HashMap<String, GroupOffsets>>;

/// The committed offsets of every group.
#[derive(Debug)]
pub(crate) struct OffsetStore {
    log: Arc<Log>,
    /// Group → its offsets. The lock also orders appends, so the log and the map agree.
    committed: Mutex<HashMap<String, GroupOffsets>>,
    /// Taken after `committed`, never before.
    pending: Mutex<PendingOffsets>,
}

impl OffsetStore {
    /// Opens the store, creating `__consumer_offsets` (compacted, as in Kafka) on first use and
    /// replaying it otherwise.
    pub(crate) fn open(cluster: &Cluster) -> Result<OffsetStore> {
        cluster.ensure_internal_topic(
            NewTopic::new(OFFSETS_TOPIC, 1)
                .config("cleanup.policy", "compact")
                .config("segment.bytes", SEGMENT_BYTES)
                .config("flush.messages", "1"),
        )?;
        let log = cluster.partition(OFFSETS_TOPIC, 0)?;
        let (committed, pending) = replay(&log)?;
        Ok(OffsetStore {
            log,
            committed: Mutex::new(committed),
            pending: Mutex::new(pending),
        })
    }

    /// Stores `offsets` for `group` (one batch: all or nothing), stamped `now_ms`.
    pub(crate) fn commit(&self, group: &str, offsets: &Offsets, now_ms: i64) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let batch = encode_commit(group, offsets, now_ms)?.build()?;
        let mut committed = self.committed.lock();
        let appended = self.log.append(&batch)?;
        store(
            &mut committed,
            group,
            offsets,
            now_ms,
            appended.first_offset,
        );
        Ok(())
    }

    /// Kafka's `TxnOffsetCommit`: writes `offsets` for `group` as a transactional batch of
    /// `producer_id` at `epoch`, pending until the transaction's marker.
    pub(crate) fn commit_transactional(
        &self,
        group: &str,
        offsets: &Offsets,
        producer_id: i64,
        epoch: i16,
        now_ms: i64,
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let builder = encode_commit(group, offsets, now_ms)?;
        let _committed = self.committed.lock();
        // The batch follows the producer's last one here, or starts a new epoch at 0.
        let sequence = match self.log.producer_state(producer_id) {
            Some(state) if state.epoch == epoch && state.last_sequence >= 0 => {
                increment_sequence(state.last_sequence, 1)
            }
            _ => 0,
        };
        let batch = builder
            .producer(producer_id, epoch, sequence)
            .transactional(true)
            .build()?;
        let appended = self.log.append(&batch)?;
        let mut pending = self.pending.lock();
        store(
            pending.entry(producer_id).or_default(),
            group,
            offsets,
            now_ms,
            appended.first_offset,
        );
        Ok(())
    }

    /// Writes the marker of `producer_id`'s transaction here and settles its pending
    /// offsets: committed on COMMIT (`commit`), dropped on ABORT.
    pub(crate) fn end_transaction(
        &self,
        producer_id: i64,
        epoch: i16,
        coordinator_epoch: i32,
        commit: bool,
    ) -> Result<()> {
        let mut committed = self.committed.lock();
        self.log
            .write_transaction_marker(producer_id, epoch, coordinator_epoch, commit)?;
        settle(
            &mut committed,
            &mut self.pending.lock(),
            producer_id,
            commit,
        );
        Ok(())
    }

    /// `group`'s committed offset for `tp`; `UnstableOffsetCommit` while an open
    /// transaction holds an offset for it (Kafka's `requireStable` fetch).
    pub(crate) fn committed_stable(
        &self,
        group: &str,
        tp: &TopicPartition,
    ) -> Result<Option<OffsetAndMetadata>> {
        let committed = self.committed.lock();
        let pending = self.pending.lock();
        if let Some(producer) = pending
            .iter()
            .find(|(_, groups)| groups.get(group).is_some_and(|o| o.contains_key(tp)))
            .map(|(producer, _)| *producer)
        {
            return Err(Error::UnstableOffsetCommit(format!(
                "group '{group}' has an offset for {tp} in the open transaction of producer \
                 {producer}: retry when it ends"
            )));
        }
        Ok(committed
            .get(group)
            .and_then(|offsets| offsets.get(tp))
            .map(|stored| stored.offset.clone()))
    }

    /// Every committed offset of `group`.
    pub(crate) fn group_offsets(&self, group: &str) -> Offsets {
        self.committed
            .lock()
            .get(group)
            .map_or_else(Offsets::new, |offsets| {
                offsets
                    .iter()
                    .map(|(tp, stored)| (tp.clone(), stored.offset.clone()))
                    .collect()
            })
    }

    /// Deletes (with tombstones) the offsets of `group` that `expired(partition, committed
    /// at)` picks; returns how many.
    pub(crate) fn expire(
        &self,
        group: &str,
        expired: impl Fn(&TopicPartition, i64) -> bool,
        now_ms: i64,
    ) -> Result<usize> {
        let mut committed = self.committed.lock();
        let Some(offsets) = committed.get_mut(group) else {
            return Ok(0);
        };
        let doomed: Vec<TopicPartition> = offsets
            .iter()
            .filter(|(tp, stored)| expired(tp, stored.at_ms))
            .map(|(tp, _)| tp.clone())
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        let mut builder = BatchBuilder::new();
        for tp in &doomed {
            builder.append(now_ms, Some(&encode_key(group, tp)?), None, &[])?;
        }
        self.log.append(&builder.build()?)?;
        for tp in &doomed {
            offsets.remove(tp);
        }
        if offsets.is_empty() {
            committed.remove(group);
        }
        Ok(doomed.len())
    }

    /// The groups with committed offsets.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.committed.lock().keys().cloned().collect();
        groups.sort();
        groups
    }

    /// Deletes every offset of `group` (tombstones, as Kafka writes).
    pub(crate) fn delete_group(&self, group: &str, now_ms: i64) -> Result<()> {
        let mut committed = self.committed.lock();
        let Some(offsets) = committed.get(group) else {
            return Ok(());
        };
        if !offsets.is_empty() {
            let mut builder = BatchBuilder::new();
            for tp in offsets.keys() {
                builder.append(now_ms, Some(&encode_key(group, tp)?), None, &[])?;
            }
            self.log.append(&builder.build()?)?;
        }
        committed.remove(group);
        // Offsets of open transactions go too: a later COMMIT must not bring them back.
        for groups in self.pending.lock().values_mut() {
            groups.remove(group);
        }
        Ok(())
    }
}

/// Splits `offsets` into those of partitions that exist and the refusal of the others:
/// Kafka's broker answers UNKNOWN_TOPIC_OR_PARTITION for each partition it does not have
/// and commits the rest (`KafkaApis.handleOffsetCommitRequest`). A topic name no Kafka
/// string can hold is left to the encoding, which refuses it as `InvalidTopic` (a client
/// cannot even send it).
/// Any other error looking a partition up (a closed cluster) is returned as it is. When
/// every partition exists (the usual commit), `offsets` is handed back as it is.
pub(crate) fn split_missing<'a>(
    cluster: &Cluster,
    offsets: &'a Offsets,
) -> Result<(Cow<'a, Offsets>, Option<Error>)> {
    let mut missing = Vec::new();
    for tp in offsets.keys() {
        if tp.topic.len() > STRING_MAX_BYTES {
            continue;
        }
        match cluster.partition(&tp.topic, tp.partition) {
            Ok(_) => {}
            Err(Error::UnknownTopicOrPartition(_)) => missing.push(tp),
            Err(error) => return Err(error),
        }
    }
    if missing.is_empty() {
        return Ok((Cow::Borrowed(offsets), None));
    }
    let existing = offsets
        .iter()
        .filter(|(tp, _)| !missing.contains(tp))
        .map(|(tp, offset)| (tp.clone(), offset.clone()))
        .collect();
    let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
    let refused = Error::UnknownTopicOrPartition(format!(
        "{} (offsets for partitions that do not exist are not committed)",
        names.join(", ")
    ));
    Ok((Cow::Owned(existing), Some(refused)))
}

/// Checks `offsets` and encodes them as one batch of offset-commit records.
fn encode_commit(group: &str, offsets: &Offsets, now_ms: i64) -> Result<BatchBuilder> {
    let mut builder = BatchBuilder::new();
    for (tp, offset) in offsets {
        let size = offset.metadata.as_deref().map_or(0, str::len);
        if size > METADATA_MAX_BYTES {
            return Err(Error::OffsetMetadataTooLarge {
                size,
                max: METADATA_MAX_BYTES,
            });
        }
        if offset.offset < 0 {
            return Err(Error::IllegalState(format!(
                "cannot commit negative offset {} for {tp}",
                offset.offset
            )));
        }
        builder.append(
            now_ms,
            Some(&encode_key(group, tp)?),
            Some(&encode_value(offset, now_ms)?),
            &[],
        )?;
    }
    Ok(builder)
}

/// Puts `offsets` of `group`, committed at `now_ms`, into `map`; their records are in
/// `__consumer_offsets` from `first_record` on, in `offsets`' order (`encode_commit`'s).
fn store(
    map: &mut HashMap<String, GroupOffsets>,
    group: &str,
    offsets: &Offsets,
    now_ms: i64,
    first_record: i64,
) {
    let stored = map.entry(group.to_string()).or_default();
    for ((tp, offset), record_offset) in offsets.iter().zip(first_record..) {
        stored.insert(
            tp.clone(),
            Stored {
                offset: offset.clone(),
                at_ms: now_ms,
                record_offset,
            },
        );
    }
}

/// Moves `producer_id`'s pending offsets into `committed` (`commit`) or drops them.
fn settle(
    committed: &mut HashMap<String, GroupOffsets>,
    pending: &mut PendingOffsets,
    producer_id: i64,
    commit: bool,
) {
    let Some(groups) = pending.remove(&producer_id) else {
        return;
    };
    if commit {
        for (group, offsets) in groups {
            let current = committed.entry(group).or_default();
            for (tp, stored) in offsets {
                // Kafka keeps the most recent commit when plain and transactional ones mix.
                if current
                    .get(&tp)
                    .is_none_or(|c| c.record_offset < stored.record_offset)
                {
                    current.insert(tp, stored);
                }
            }
        }
    }
}

/// Fails with [`Error::InvalidGroupId`] unless `group` fits a Kafka string field, as it must
/// to be stored in the offsets topic.
pub(crate) fn check_group_id(group: &str) -> Result<()> {
    if group.len() > STRING_MAX_BYTES {
        return Err(group_id_too_long(group.len()));
    }
    Ok(())
}

pub(super) fn group_id_too_long(len: usize) -> Error {
    Error::InvalidGroupId(format!(
        "the group id is {len} bytes long, more than the {STRING_MAX_BYTES} bytes a Kafka string \
         field holds; use a shorter group.id"
    ))
}

/// Rebuilds the maps from the log: later records win; a null value deletes; records of a
/// transactional batch wait for their producer's marker.
fn replay(log: &Log) -> Result<(HashMap<String, GroupOffsets>, PendingOffsets)> {
    let mut committed: HashMap<String, GroupOffsets> = HashMap::new();
    let mut pending = PendingOffsets::new();
    log.for_each_entry(|entry| {
        let (transactional_producer, record) = match entry {
            Entry::Marker {
                producer_id,
                commit,
            } => {
                settle(&mut committed, &mut pending, producer_id, commit);
                return Ok(());
            }
            Entry::Record {
                transactional_producer,
                record,
            } => (transactional_producer, record),
        };
        let Some((group, tp)) = record.key.and_then(decode_key) else {
            return Ok(());
        };
        let target = match transactional_producer {
            Some(producer) => pending.entry(producer).or_default(),
            None => &mut committed,
        };
        match record.value {
            None => {
                if let Some(offsets) = target.get_mut(&group) {
                    offsets.remove(&tp);
                    if offsets.is_empty() {
                        target.remove(&group);
                    }
                }
            }
            Some(value) => {
                let (offset, at_ms) = decode_value(value).ok_or_else(|| {
                    Error::CorruptRecord(format!(
                        "{OFFSETS_TOPIC}: undecodable offset commit for group '{group}' at offset {}",
                        record.offset
                    ))
                })?;
                let at_ms = if at_ms < 0 { record.timestamp } else { at_ms };
                let record_offset = record.offset;
                let stored = Stored {
                    offset,
                    at_ms,
                    record_offset,
                };
                target.entry(group).or_default().insert(tp, stored);
            }
        }
        Ok(())
    })?;
    Ok((committed, pending))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_use_kafkas_schemas() {
        let tp = TopicPartition::new("orders", 3);
        let key = encode_key("billing", &tp).unwrap();
        assert_eq!(
            key,
            [
                &[0u8, 1][..],
                &[0, 7],
                b"billing",
                &[0, 6],
                b"orders",
                &[0, 0, 0, 3]
            ]
            .concat()
        );
        assert_eq!(decode_key(&key), Some(("billing".to_string(), tp)));
        let value = encode_value(&OffsetAndMetadata::new(42).with_metadata("m"), 7).unwrap();
        assert_eq!(
            value,
            [
                &[0u8, 3][..],
                &42i64.to_be_bytes(),
                &(-1i32).to_be_bytes(),
                &[0, 1],
                b"m",
                &7i64.to_be_bytes()
            ]
            .concat()
        );
        assert_eq!(
            decode_value(&value),
            Some((OffsetAndMetadata::new(42).with_metadata("m"), 7))
        );
        assert_eq!(decode_value(&value[..5]), None);
    }

    #[test]
    fn commits_survive_a_reopen_and_deletes_stick() {
        let dir = tempfile::tempdir().unwrap();
        let tp = |p| TopicPartition::new("t", p);
        {
            let cluster = Cluster::builder()
                .background(false)
                .open(dir.path())
                .unwrap();
            let store = OffsetStore::open(&cluster).unwrap();
            let mut offsets = Offsets::new();
            offsets.insert(tp(0), OffsetAndMetadata::new(5));
            offsets.insert(tp(1), OffsetAndMetadata::new(9).with_metadata("x"));
            let longest = OffsetAndMetadata::new(4).with_metadata("m".repeat(METADATA_MAX_BYTES));
            offsets.insert(tp(2), longest);
            store.commit("g", &offsets, 1).unwrap();
            offsets.insert(tp(0), OffsetAndMetadata::new(6));
            store.commit("g", &offsets, 2).unwrap();
            store.commit("gone", &offsets, 3).unwrap();
            store.delete_group("gone", 4).unwrap();
        }
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        let store = OffsetStore::open(&cluster).unwrap();
        assert_eq!(
            store.committed_stable("g", &tp(0)).unwrap(),
            Some(OffsetAndMetadata::new(6))
        );
        assert_eq!(
            store.committed_stable("g", &tp(1)).unwrap(),
            Some(OffsetAndMetadata::new(9).with_metadata("x"))
        );
        assert_eq!(
            store
                .committed_stable("g", &tp(2))
                .unwrap()
                .and_then(|o| o.metadata)
                .map(|m| m.len()),
            Some(METADATA_MAX_BYTES)
        );
        assert_eq!(store.groups(), ["g"]);
        let too_long = OffsetAndMetadata::new(1).with_metadata("x".repeat(4097));
        let err = store
            .commit("g", &[(tp(0), too_long)].into_iter().collect(), 5)
            .unwrap_err();
        assert!(matches!(
            err,
            Error::OffsetMetadataTooLarge { size: 4097, .. }
        ));
    }

    #[test]
    fn keys_hold_group_ids_up_to_the_string_limit_and_refuse_longer() {
        let tp = TopicPartition::new("t", 0);
        let longest = "g".repeat(STRING_MAX_BYTES);
        let key = encode_key(&longest, &tp).unwrap();
        assert_eq!(key[2..4], [0x7f, 0xff]);
        assert_eq!(decode_key(&key), Some((longest, tp.clone())));
        let err = encode_key(&"g".repeat(STRING_MAX_BYTES + 1), &tp).unwrap_err();
        assert!(matches!(err, Error::InvalidGroupId(_)), "{err}");
        assert!(check_group_id(&"g".repeat(STRING_MAX_BYTES)).is_ok());
        let err = check_group_id(&"g".repeat(STRING_MAX_BYTES + 1)).unwrap_err();
        assert!(matches!(err, Error::InvalidGroupId(_)), "{err}");
        let long_topic = TopicPartition::new("t".repeat(STRING_MAX_BYTES + 1), 0);
        let err = encode_key("g", &long_topic).unwrap_err();
        assert!(matches!(err, Error::InvalidTopic(_)), "{err}");
    }
}
