//! Assignment changes (`assign`, `unassign`, `incremental_assign`, `incremental_unassign`),
//! as librdkafka's `rd_kafka_assignment_*`: an incremental change leaves the other
//! partitions as they are (position, pause, stored offset), and under `enable.auto.commit`
//! the stored offsets of the partitions a change removes are committed first (librdkafka's
//! `rd_kafka_assignment_serve_removals`).
//!
//! A consumer without a subscription assigns what it likes. A group member's calls, in its
//! rebalance callback or after it, decide which of the partitions the group gave it are
//! fetched, and from where (librdkafka waits for them before fetching). Only the group's
//! partitions can be assigned: the rest of a member's are withheld (`Local::withheld`),
//! held in the kafkalite consumer (neither positioned nor fetched, `Consumer::hold`), until
//! an assign call takes them or the group takes them back.

use std::time::Duration;

use super::base_consumer::{BaseConsumer, InRebalance, Local};
use super::{Consumer, ConsumerContext, RebalanceProtocol};
use crate::consumer::Offset as Position;
use crate::group::{Offsets, TopicPartition};
use crate::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

/// An assignment change.
pub(super) enum Change {
    /// `assign`: exactly these, each from its position (the others' state is dropped; a
    /// group member's others are withheld).
    Replace(Vec<(TopicPartition, Position)>),
    /// `incremental_assign`: these too.
    Add(Vec<(TopicPartition, Position)>),
    /// `incremental_unassign`: not these.
    Remove(Vec<TopicPartition>),
}

/// The checks of a change against the `current` assignment, in librdkafka's order (the
/// list sorted, then element by element): `rd_kafka_assignment_add`'s, a partition listed
/// twice `_INVALID_ARG` and, for an incremental add, one already assigned `_CONFLICT`;
/// `rd_kafka_assignment_subtract`'s, a removal from an empty assignment or of a partition
/// not assigned `_INVALID_ARG` (and one listed twice, where librdkafka's `RD_BUG` aborts).
fn check_change(change: &Change, current: &[TopicPartition]) -> KafkaResult<()> {
    let mut listed: Vec<&TopicPartition> = match change {
        Change::Replace(listed) | Change::Add(listed) => listed.iter().map(|(tp, _)| tp).collect(),
        Change::Remove(listed) => listed.iter().collect(),
    };
    listed.sort_unstable();
    let twice = |i: usize| i > 0 && listed[i - 1] == listed[i];
    match change {
        Change::Replace(_) if (0..listed.len()).any(twice) => Err(KafkaError::Subscription(
            RDKafkaErrorCode::InvalidArgument.description().into(),
        )),
        Change::Replace(_) => Ok(()),
        Change::Add(_) => {
            for (i, tp) in listed.iter().enumerate() {
                if twice(i) {
                    return Err(refused("_INVALID_ARG"));
                }
                if current.contains(tp) {
                    return Err(refused("_CONFLICT"));
                }
            }
            Ok(())
        }
        Change::Remove(_) if current.is_empty() && !listed.is_empty() => {
            Err(refused("_INVALID_ARG"))
        }
        Change::Remove(_) => {
            match (0..listed.len()).all(|i| current.contains(listed[i]) && !twice(i)) {
                true => Ok(()),
                false => Err(refused("_INVALID_ARG")),
            }
        }
    }
}

/// librdkafka's `rd_kafka_cgrp_handle_assign_op`: a member of a cooperative group changes
/// its assignment incrementally, one of an eager group with `assign`/`unassign` (`_STATE`).
fn check_protocol(change: &Change, protocol: RebalanceProtocol) -> KafkaResult<()> {
    match (protocol, change) {
        (RebalanceProtocol::Cooperative, Change::Replace(_)) => Err(KafkaError::Subscription(
            RDKafkaErrorCode::State.description().into(),
        )),
        (RebalanceProtocol::Eager, Change::Add(_) | Change::Remove(_)) => Err(refused("_STATE")),
        _ => Ok(()),
    }
}

/// What a member's change does to its share of the group's partitions.
struct Delta {
    /// Assigned now, each from its position.
    added: Vec<(TopicPartition, Position)>,
    /// Unassigned now (a partition assigned again is in both).
    removed: Vec<TopicPartition>,
}

impl Delta {
    /// What a member's change adds and removes. A partition added must be one the group
    /// gave the member (`_INVALID_ARG`: librdkafka would fetch any partition, the facade
    /// fetches only the group's).
    fn of(change: Change, local: &Local) -> KafkaResult<Delta> {
        let replace = matches!(change, Change::Replace(_));
        let (added, removed) = match change {
            Change::Replace(listed) => (listed, local.assignment.clone()),
            Change::Add(added) => (added, Vec::new()),
            Change::Remove(removed) => (Vec::new(), removed),
        };
        let foreign = (added.iter())
            .find(|(tp, _)| !local.withheld.contains(tp) && !local.assignment.contains(tp));
        if let Some((tp, _)) = foreign {
            let name = match replace {
                true => RDKafkaErrorCode::InvalidArgument.description(),
                false => "_INVALID_ARG",
            };
            return Err(KafkaError::Subscription(format!(
                "{name} ({} [{}] is not among the partitions the group gave this member: \
                 kafkalite's facade fetches only those)",
                tp.topic, tp.partition
            )));
        }
        Ok(Delta { added, removed })
    }

    /// The holds that withhold the removed partitions (`true`) and release the added ones
    /// (`false`); a partition assigned again is neither.
    fn holds(&self) -> Vec<(TopicPartition, bool)> {
        let held = (self.removed.iter())
            .filter(|tp| !self.added.iter().any(|(added, _)| added == *tp))
            .map(|tp| (tp.clone(), true));
        let released = (self.added.iter())
            .filter(|(tp, _)| !self.removed.contains(tp))
            .map(|(tp, _)| (tp.clone(), false));
        held.chain(released).collect()
    }

    /// The seeks of the added partitions: each starts where the list says, at the committed
    /// offset when it gives none, also one withheld after it was read from (librdkafka's
    /// `rd_kafka_assignment_add` starts every partition it adds over).
    fn starts(&self) -> Vec<(TopicPartition, Position)> {
        self.added.clone()
    }

    /// The added partitions that start at the committed offset.
    fn starting_at_committed(&self) -> Vec<TopicPartition> {
        (self.added.iter())
            .filter(|(_, at)| *at == Position::Committed)
            .map(|(tp, _)| tp.clone())
            .collect()
    }
}

/// librdkafka's error for a refused incremental change, by its name (rust-rdkafka's
/// `KafkaError::Subscription(error.name())`).
fn refused(name: &str) -> KafkaError {
    KafkaError::Subscription(name.to_string())
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Applies `change` to the assignment: a manual one's, or a group member's share of
    /// what the group gave it.
    pub(super) fn change_assignment(&self, change: Change) -> KafkaResult<()> {
        if self.callback.is_some() {
            return self.change_member_assignment(change);
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
        if !self.shared.inner.subscription().is_empty() {
            return self.change_member_assignment(change);
        }
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

    /// A group member's change, inside its rebalance callback or not: the partitions it
    /// adds leave the withheld ones and start where the list says; those it removes are
    /// withheld. Inside a callback the kafkalite consumer is busy, so the holds, seeks and
    /// committed offsets wait for the callback to return (`rebalance.rs`); outside one they
    /// are made on the kafkalite consumer first.
    fn change_member_assignment(&self, change: Change) -> KafkaResult<()> {
        check_protocol(&change, self.rebalance_protocol())?;
        let shared = &self.shared;
        let delta = {
            let local = shared.local.lock();
            check_change(&change, &local.assignment)?;
            Delta::of(change, &local)?
        };
        let commit =
            (self.callback.as_ref()).is_none_or(|callback| callback.lock().removals_commit);
        shared.remove_assigned(&delta.removed, commit, |offsets| {
            self.commit_removal(offsets)
        });
        let Some(callback) = &self.callback else {
            return self.apply_member_change(delta);
        };
        let holds = delta.holds();
        shared.local.lock().note_member_change(&holds, &delta.added);
        let mut callback = callback.lock();
        callback.lost = false;
        callback.holds.extend(holds);
        callback
            .from_committed
            .extend(delta.starting_at_committed());
        callback.seeks.extend(delta.starts());
        Ok(())
    }

    /// A member's change outside a rebalance callback, made on the kafkalite consumer
    /// first: its holds and seeks (a partition a revocation took meanwhile is left out),
    /// then the facade's state and the committed offsets of the partitions starting there.
    fn apply_member_change(&self, mut delta: Delta) -> KafkaResult<()> {
        let inner = &self.shared.inner;
        let mut holds = delta.holds();
        for (tp, held) in &holds {
            let partitions = std::slice::from_ref(tp);
            let held = inner.hold(partitions, *held);
            (held.or_else(|error| gone(inner, tp, error)))?;
        }
        for (tp, at) in delta.starts() {
            (inner.seek(&tp, at).or_else(|error| gone(inner, &tp, error)))?;
        }
        let current = inner.assignment();
        holds.retain(|(tp, _)| current.contains(tp));
        delta.added.retain(|(tp, _)| current.contains(tp));
        let committed = inner.committed_within(&delta.starting_at_committed(), Duration::ZERO);
        let mut local = self.shared.local.lock();
        local.note_member_change(&holds, &delta.added);
        for (tp, offset) in committed.unwrap_or_default() {
            if let Some(offset) = offset {
                local.committed.insert(tp, offset.offset);
            }
        }
        drop(local);
        inner.nudge();
        Ok(())
    }

    /// The removal commit of a member's change: inside a rebalance callback through the
    /// committer (the kafkalite consumer is busy in its poll), else through the consumer.
    fn commit_removal(&self, offsets: &Offsets) -> crate::Result<()> {
        if self.callback.is_none() {
            return (self.shared.inner).commit_offsets(offsets, crate::consumer::CommitMode::Sync);
        }
        match self.shared.committer.lock().clone() {
            Some(committer) => committer.commit_offsets(offsets),
            None => Err(crate::error::Error::IllegalState(
                "the member has no committer to commit removed partitions with".into(),
            )),
        }
    }
}

/// A failed hold or seek of `tp` is nothing when a revocation has taken it meanwhile.
fn gone(
    inner: &crate::Consumer,
    tp: &TopicPartition,
    error: crate::error::Error,
) -> KafkaResult<()> {
    match inner.assignment().contains(tp) {
        true => Err(KafkaError::Subscription(error.to_string())),
        false => Ok(()),
    }
}

impl Local {
    /// A member's change in the facade's state: `holds` withhold or release partitions,
    /// `added` join the assignment (starting over).
    pub(super) fn note_member_change(
        &mut self,
        holds: &[(TopicPartition, bool)],
        added: &[(TopicPartition, Position)],
    ) {
        for (tp, held) in holds {
            self.withheld.retain(|withheld| withheld != tp);
            if *held {
                self.withheld.push(tp.clone());
            }
        }
        for (tp, _) in added {
            self.positions.remove(tp);
            self.stored.remove(tp);
            self.committed.remove(tp);
            self.assignment.push(tp.clone());
        }
    }
}
