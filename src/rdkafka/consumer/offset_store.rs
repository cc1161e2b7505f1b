//! A facade consumer's offsets as librdkafka keeps them: the offset store
//! (`rd_kafka_offset_store`, `rd_kafka_offsets_store`: a partition must be assigned), commits
//! of the stored offsets only where ahead of the committed ones (else `_NO_OFFSET`), the
//! committed offsets, and offsets by timestamp.

use super::base_consumer::{tp, BaseConsumer, Local, Shared};
use super::{CommitMode, ConsumerContext};
use crate::cluster::OffsetSpec;
use crate::error::Error;
use crate::group::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::rdkafka::error::{code_of, KafkaError, KafkaResult, RDKafkaErrorCode};
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use crate::rdkafka::util::Timeout;

/// What a manual commit's caller sees: librdkafka's `rd_kafka_commit` with `async=1`
/// answers only `_UNKNOWN_GROUP` at the call; any other failure comes later, where
/// rust-rdkafka hears nothing of it (librdkafka logs it, `COMMITFAIL`), so here it is a
/// warning.
pub(super) fn settle(mode: CommitMode, result: KafkaResult<()>) -> KafkaResult<()> {
    match result {
        Err(error)
            if mode == CommitMode::Async
                && error.rdkafka_error_code() != Some(RDKafkaErrorCode::UnknownGroup) =>
        {
            tracing::warn!(
                target: "kafkalite::rdkafka",
                "offset commit (manual, async) failed: {error}"
            );
            Ok(())
        }
        result => result,
    }
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Stores `offset` (the next to consume) for `partition`, as `rd_kafka_offset_store0`:
    /// `_UNKNOWN_PARTITION` for a partition the cluster does not have, `_STATE` for one not
    /// assigned; a logical (negative) offset is stored without that check and clears what
    /// a commit of stored offsets would take.
    pub(super) fn store_one(
        &self,
        partition: TopicPartition,
        offset: i64,
    ) -> Result<(), RDKafkaErrorCode> {
        let exists = || {
            self.cluster()
                .partition(&partition.topic, partition.partition)
                .is_ok()
        };
        let mut local = self.shared().local.lock();
        let assigned = local.assignment.contains(&partition);
        if !assigned && !exists() {
            return Err(RDKafkaErrorCode::UnknownPartition);
        }
        if offset < 0 {
            local.stored.insert(partition.clone(), offset);
            drop(local);
            if assigned && !self.in_rebalance_callback() {
                // Nor may the kafkalite consumer's auto-commit take the earlier one.
                let _ = self.shared().inner.clear_stored(&partition);
            }
            return Ok(());
        }
        if !assigned {
            return Err(RDKafkaErrorCode::State);
        }
        local.stored.insert(partition.clone(), offset);
        if self.in_rebalance_callback() {
            local.pending_stores.push((partition, offset));
            return Ok(());
        }
        drop(local);
        let mut offsets = Offsets::new();
        offsets.insert(partition, OffsetAndMetadata::new(offset));
        self.shared()
            .inner
            .store_offsets(&offsets)
            .map_err(|error| code_of(&error))
    }

    /// `rd_kafka_offsets_store`: refused under `enable.auto.offset.store`; each element
    /// stored on its own (its error set in the list), failing only if none was.
    pub(super) fn store_list(&self, tpl: &TopicPartitionList) -> KafkaResult<()> {
        if self.shared().settings.auto_offset_store {
            return Err(KafkaError::StoreOffset(RDKafkaErrorCode::InvalidArgument));
        }
        let (mut stored, mut last_error) = (0, None);
        for (topic, partition, offset, _) in tpl.raw_entries() {
            match self.store_one(tp(topic, partition), offset) {
                Ok(()) => stored += 1,
                Err(code) => {
                    tpl.set_error(topic, partition, code);
                    last_error = Some(code);
                }
            }
        }
        match last_error {
            Some(code) if stored == 0 => Err(KafkaError::StoreOffset(code)),
            _ => Ok(()),
        }
    }

    /// Commits the list's offsets (those that are offsets: librdkafka skips logical ones).
    pub(super) fn commit_list(&self, tpl: &TopicPartitionList) -> KafkaResult<()> {
        self.check_group_to_commit()?;
        let mut offsets = Offsets::new();
        for (topic, partition, offset, metadata) in tpl.raw_entries() {
            if offset >= 0 {
                offsets.insert(
                    tp(topic, partition),
                    OffsetAndMetadata::new(offset).with_metadata(metadata),
                );
            }
        }
        if offsets.is_empty() {
            return Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset));
        }
        self.commit_offsets(&offsets)
    }

    /// `rd_kafka_commit(NULL)`: the stored offsets ahead of the committed ones.
    pub(super) fn commit_stored(&self) -> KafkaResult<()> {
        self.check_group_to_commit()?;
        let offsets = self.shared().stored_ahead(&self.assignment_now());
        if offsets.is_empty() {
            return Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset));
        }
        self.commit_offsets(&offsets)
    }

    /// At close, under `enable.auto.commit`: a manual assignment's stored offsets,
    /// committed and reported as librdkafka's close does through its final removal. (A
    /// subscription's close revokes, and the revocation commits them after the callback.)
    pub(super) fn commit_at_close(&self) {
        let shared = self.shared();
        // (The facade's own subscription too: a pattern may match no topic at the moment.)
        let subscribed =
            !shared.inner.subscription().is_empty() || !shared.local.lock().subscription.is_empty();
        if !subscribed {
            shared.commit_removed(&self.assignment_now());
        }
    }

    /// librdkafka's `rd_kafka_commit` needs a group before anything else.
    pub(super) fn check_group_to_commit(&self) -> KafkaResult<()> {
        if self.shared().has_group() {
            Ok(())
        } else {
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::UnknownGroup))
        }
    }

    /// librdkafka's `rd_kafka_assignment` (behind rust-rdkafka's `assignment`, `position`
    /// and `offsets_for_timestamp`) needs a group too.
    pub(super) fn check_group_to_read(&self) -> KafkaResult<()> {
        if self.shared().has_group() {
            Ok(())
        } else {
            Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownGroup))
        }
    }

    /// Commits `offsets` at once, in either mode (in process, a commit is as quick as its
    /// append); a success becomes the known committed offsets. What an `Async` caller sees
    /// of a failure is [`settle`]'s.
    pub(super) fn commit_offsets(&self, offsets: &Offsets) -> KafkaResult<()> {
        let committer = self.shared().committer.lock().clone();
        let committed = match (self.in_rebalance_callback(), committer) {
            // Inside a rebalance the consumer is busy: the committer commits with the
            // membership of the moment.
            (true, Some(committer)) => committer.commit_offsets(offsets),
            (true, None) => return Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::State)),
            (false, _) => self
                .shared()
                .inner
                .commit_offsets(offsets, crate::consumer::CommitMode::Sync),
        };
        committed.map_err(|error| KafkaError::ConsumerCommit(code_of(&error)))?;
        self.shared().local.lock().note_committed(offsets);
        Ok(())
    }

    /// The group's committed offsets of the list's partitions (`Invalid` where none).
    pub(super) fn committed_list(
        &self,
        tpl: &TopicPartitionList,
        timeout: Timeout,
    ) -> KafkaResult<TopicPartitionList> {
        // librdkafka retries an offset pending in a transaction until the call's timeout,
        // then answers `_TIMED_OUT`.
        let fetch_error = |error: Error| match error {
            Error::UnstableOffsetCommit(_) => {
                KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut)
            }
            error => KafkaError::MetadataFetch(code_of(&error)),
        };
        if !self.shared().has_group() {
            return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownGroup));
        }
        let partitions: Vec<TopicPartition> = tpl
            .elements()
            .iter()
            .map(|elem| tp(elem.topic(), elem.partition()))
            .collect();
        let committed: Vec<(TopicPartition, Option<OffsetAndMetadata>)> =
            if self.in_rebalance_callback() {
                let committer = self
                    .shared()
                    .committer
                    .lock()
                    .clone()
                    .ok_or(KafkaError::MetadataFetch(RDKafkaErrorCode::State))?;
                partitions
                    .iter()
                    .map(|tp| Ok((tp.clone(), committer.committed(tp)?)))
                    .collect::<crate::error::Result<_>>()
                    .map_err(fetch_error)?
            } else {
                self.shared()
                    .inner
                    .committed_within(&partitions, timeout.duration())
                    .map_err(fetch_error)?
                    .into_iter()
                    .collect()
            };
        let mut answer = TopicPartitionList::with_capacity(committed.len());
        for (partition, offset) in committed {
            let mut elem = answer.add_partition(&partition.topic, partition.partition);
            if let Some(offset) = offset {
                let _ = elem.set_offset(Offset::Offset(offset.offset));
                elem.set_metadata(offset.metadata.as_deref().unwrap_or_default());
            }
        }
        Ok(answer)
    }

    /// Each element's offset read as a timestamp (`-1` latest, `-2` earliest): the first
    /// offset at or after it, `End` when there is none, or the partition's error.
    pub(super) fn offsets_at(&self, timestamps: &TopicPartitionList) -> TopicPartitionList {
        let cluster = self.cluster();
        let mut answer = TopicPartitionList::with_capacity(timestamps.count());
        for (topic, partition, timestamp, _) in timestamps.raw_entries() {
            let spec = match timestamp {
                -1 => OffsetSpec::Latest,
                -2 => OffsetSpec::Earliest,
                at => OffsetSpec::ForTimestamp(at),
            };
            // As librdkafka asks, with the consumer's isolation.level: under read_committed
            // the latest offset is the last stable one, and a timestamp's offset at or past
            // it is none (Kafka's fetchOffsetForTimestamp, bounded by lastFetchableOffset).
            let stable = || {
                cluster
                    .partition(topic, partition)
                    .map(|log| log.last_stable_offset())
            };
            let found = match spec {
                OffsetSpec::Latest if self.shared().read_committed() => stable().map(Some),
                OffsetSpec::ForTimestamp(_) if self.shared().read_committed() => cluster
                    .list_offset(topic, partition, spec)
                    .and_then(|found| {
                        let stable = stable()?;
                        Ok(found.filter(|&at| at < stable))
                    }),
                spec => cluster.list_offset(topic, partition, spec),
            };
            let mut elem = answer.add_partition(topic, partition);
            match found {
                Ok(found) => {
                    let _ = elem.set_offset(found.map_or(Offset::End, Offset::Offset));
                }
                Err(error) => {
                    drop(elem);
                    answer.set_error(topic, partition, code_of(&error));
                }
            }
        }
        answer
    }
}

/// The stored offsets a commit takes: all of them for librdkafka's removal commit, those
/// ahead of the committed ones for a commit of the offset store or the auto-commit timer.
impl Shared {
    /// The stored offsets of `partitions` that a commit of the offset store takes: as
    /// librdkafka's, those ahead of the committed ones (unknown: OFFSET_INVALID), and only
    /// absolute offsets.
    pub(super) fn stored_ahead(&self, partitions: &[TopicPartition]) -> Offsets {
        let local = self.local.lock();
        partitions
            .iter()
            .filter_map(|tp| {
                let stored = *local.stored.get(tp)?;
                let committed = local.committed.get(tp).copied().unwrap_or(-1001);
                (stored >= 0 && stored > committed)
                    .then(|| (tp.clone(), OffsetAndMetadata::new(stored)))
            })
            .collect()
    }

    /// The stored offsets of `partitions` that librdkafka's removal commit takes: every
    /// absolute one, ahead of the committed offset or not.
    pub(super) fn stored_of(&self, partitions: &[TopicPartition]) -> Offsets {
        let local = self.local.lock();
        partitions
            .iter()
            .filter_map(|tp| {
                let stored = *local.stored.get(tp)?;
                (stored >= 0).then(|| (tp.clone(), OffsetAndMetadata::new(stored)))
            })
            .collect()
    }
}

impl Local {
    /// A commit of `offsets` succeeded: they are the committed offsets this consumer knows.
    /// (After a failure librdkafka records none, also where the broker committed some:
    /// `rd_kafka_cgrp_update_committed_offsets` gives every partition the error.)
    pub(super) fn note_committed(&mut self, offsets: &Offsets) {
        for (tp, offset) in offsets {
            self.committed.insert(tp.clone(), offset.offset);
        }
    }
}
