//! A manual assignment's changes (`assign`, `unassign`, `incremental_assign`,
//! `incremental_unassign`), as librdkafka's `rd_kafka_assignment_*`: an incremental change
//! leaves the other partitions as they are (position, pause, stored offset), and under
//! `enable.auto.commit` the stored offsets of the partitions a change removes are committed
//! first (librdkafka's `rd_kafka_assignment_serve_removals`).

use std::collections::HashSet;
use std::time::Duration;

use super::base_consumer::{BaseConsumer, InRebalance};
use super::ConsumerContext;
use crate::consumer::Offset as Position;
use crate::group::TopicPartition;
use crate::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

/// A change of a manual assignment.
pub(super) enum Change {
    /// `assign`: exactly these, each from its position (the others' state is dropped).
    Replace(Vec<(TopicPartition, Position)>),
    /// `incremental_assign`: these too.
    Add(Vec<(TopicPartition, Position)>),
    /// `incremental_unassign`: not these.
    Remove(Vec<TopicPartition>),
}

/// The checks of an incremental change against the `current` assignment (librdkafka's
/// `rd_kafka_assignment_add` and `_subtract`): a partition listed twice is `_INVALID_ARG`,
/// one added that is already assigned `_CONFLICT`, one removed that is not `_INVALID_ARG`.
fn check_change(change: &Change, current: &[TopicPartition]) -> KafkaResult<()> {
    match change {
        Change::Replace(_) => Ok(()),
        Change::Add(added) => {
            let mut seen = HashSet::new();
            for (tp, _) in added {
                if !seen.insert(tp) {
                    return Err(refused("_INVALID_ARG"));
                }
                if current.contains(tp) {
                    return Err(refused("_CONFLICT"));
                }
            }
            Ok(())
        }
        Change::Remove(removed) if removed.iter().all(|tp| current.contains(tp)) => Ok(()),
        Change::Remove(_) => Err(refused("_INVALID_ARG")),
    }
}

/// librdkafka's error for a refused incremental change, by its name (rust-rdkafka's
/// `KafkaError::Subscription(error.name())`).
fn refused(name: &str) -> KafkaError {
    KafkaError::Subscription(name.to_string())
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Applies `change` to the manual assignment (not a group member's: its assignment is
    /// the group's).
    pub(super) fn change_assignment(&self, change: Change) -> KafkaResult<()> {
        if self.callback.is_some() {
            return Err(KafkaError::Subscription(
                "Local: Erroneous state (the facade changes a group member's assignment \
                 itself; pre_rebalance/post_rebalance only observe it)"
                    .into(),
            ));
        }
        // librdkafka's rd_kafka_assign0: "Requires a consumer with group.id configured".
        if !self.shared.has_group() {
            return Err(match change {
                Change::Replace(_) => refused(RDKafkaErrorCode::UnknownGroup.description()),
                Change::Add(_) | Change::Remove(_) => refused("_UNKNOWN_GROUP"),
            });
        }
        // An unsubscribe made before this call takes effect before it.
        self.leave_if_unsubscribed(InRebalance::Leave);
        let _membership = self.shared.membership.lock();
        let current = self.assignment_now();
        check_change(&change, &current)?;
        // `assign` clears the whole assignment first (librdkafka's rd_kafka_cgrp_assign),
        // so the partitions it assigns again are removed too.
        let removed: Vec<TopicPartition> = match &change {
            Change::Replace(_) => current,
            Change::Add(_) => Vec::new(),
            Change::Remove(partitions) => partitions.clone(),
        };
        self.shared.commit_removed(&removed);
        let inner = &self.shared.inner;
        let changed = match &change {
            Change::Replace(partitions) => inner.assign(partitions),
            Change::Add(partitions) => inner.incremental_assign(partitions),
            Change::Remove(partitions) => inner.incremental_unassign(partitions),
        };
        changed.map_err(|error| KafkaError::Subscription(error.to_string()))?;
        let started: &[(TopicPartition, Position)] = match &change {
            Change::Replace(partitions) | Change::Add(partitions) => partitions,
            Change::Remove(_) => &[],
        };
        // As librdkafka fetches them for partitions starting at the committed offset: the
        // committed offsets, against which stored ones are compared at commit.
        let from_committed: Vec<TopicPartition> = started
            .iter()
            .filter(|(_, at)| *at == Position::Committed)
            .map(|(tp, _)| tp.clone())
            .collect();
        let committed =
            if from_committed.is_empty() || self.shared.settings.config.group_id.is_none() {
                Default::default()
            } else {
                // Not waited for (librdkafka's assign fetches them in the background).
                inner
                    .committed_within(&from_committed, Duration::ZERO)
                    .unwrap_or_default()
            };
        // Read before `local` is taken: the kafkalite consumer's listener (a revocation)
        // takes `local` while holding the consumer, so the opposite order could deadlock.
        let assigned = inner.assignment();
        let mut local = self.shared.local.lock();
        local.assignment = assigned.clone();
        local.positions.retain(|tp, _| assigned.contains(tp));
        local.stored.retain(|tp, _| assigned.contains(tp));
        local.committed.retain(|tp, _| assigned.contains(tp));
        for (tp, _) in started {
            // A partition assigned again starts over, as in librdkafka.
            local.positions.remove(tp);
            local.stored.remove(tp);
            local.committed.remove(tp);
        }
        for (tp, offset) in committed {
            if let Some(offset) = offset {
                local.committed.insert(tp, offset.offset);
            }
        }
        drop(local);
        inner.nudge();
        Ok(())
    }
}
