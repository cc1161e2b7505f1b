//! The consumer's side of the group protocol: joining, check-ins from `poll`, rebalances
//! (eager and cooperative revocation, taking an assignment), member id and generation
//! bookkeeping, and leaving. Rebalance callbacks run here, on the polling thread.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::committer::Membership;
use super::offset::Offset;
use super::records::Records;
use super::state::{Mode, PartitionState, State};
use crate::cluster::{partition_number, Cluster};
use crate::error::{Error, Result};
use crate::group::assignor::RebalanceProtocol;
use crate::group::{
    CheckIn, Coordinator, Handout, JoinProtocol, JoinRequest, Missed, TopicPartition,
};

impl State {
    pub(crate) fn generation(&self) -> i32 {
        self.generation
    }

    /// Whether the consumer's assignors all support incremental rebalancing (then partitions
    /// stay put during rebalances); with Kafka's default list (range first) this is eager.
    fn cooperative(&self) -> bool {
        self.protocol == RebalanceProtocol::Cooperative
    }

    /// Joins the group; false when the coordinator answered with a retriable error, which
    /// Kafka's consumer retries at its next poll.
    fn join(&mut self) -> Result<bool> {
        let Mode::Subscribed(topics) = &self.mode else {
            return Ok(true);
        };
        let owned: Vec<TopicPartition> = if self.cooperative() {
            self.partitions.keys().cloned().collect()
        } else {
            Vec::new()
        };
        let protocols = self
            .assignors
            .iter()
            .map(|a| JoinProtocol {
                name: a.name().to_string(),
                user_data: a.subscription_user_data(topics),
            })
            .collect();
        self.joined_topics = topics.clone();
        let request = JoinRequest {
            member_id: self.member_id.clone(),
            client_id: self.config.client_id.clone(),
            instance_id: self.config.group_instance_id.clone(),
            topics: topics.clone(),
            protocols,
            owned,
            generation: self.generation,
            max_poll_interval_ms: self.config.max_poll_interval_ms,
        };
        let group = self.group_id()?.to_string();
        #[cfg(feature = "testing")]
        if !self.join_fault(&group)? {
            return Ok(false);
        }
        let cluster = self.cluster.clone();
        let id = self
            .coordinator()?
            .join(&group, request, &|t| partition_count(&cluster, t))?;
        self.member_id = Some(id);
        self.rejoining = true;
        self.publish_membership();
        Ok(true)
    }

    /// The test kit's JoinGroup rules: false when the consumer tries again at its next
    /// poll, as Kafka's does after a retriable error, `UNKNOWN_MEMBER_ID` or
    /// `REBALANCE_IN_PROGRESS`; any other error is the poll's.
    #[cfg(feature = "testing")]
    fn join_fault(&mut self, group: &str) -> Result<bool> {
        use crate::error::ErrorCode;
        let info = crate::testing::OpInfo::new(crate::testing::Op::JoinGroup).of_group(group);
        let Err(error) = self.cluster.fault_table().fail(&info) else {
            return Ok(true);
        };
        match error.code() {
            // The coordinator still knows the member (the answer was injected): it rejoins
            // under its id, rather than leaving a member behind that the rebalance awaits.
            Some(code)
                if code.is_retriable()
                    || matches!(
                        code,
                        ErrorCode::RebalanceInProgress | ErrorCode::UnknownMemberId
                    ) =>
            {
                Ok(false)
            }
            _ => Err(error),
        }
    }

    /// Brings membership up to date: joins, rejoins a rebalance (revoking first when eager),
    /// and takes a completed rebalance's assignment, calling the listener on the way.
    /// `held`: records the poll fetched but has not returned, given back before any change.
    pub(super) fn ensure_membership(&mut self, held: &mut Records) -> Result<()> {
        self.refresh_pattern()?;
        let group = self.group_id()?.to_string();
        let coordinator = Arc::clone(self.coordinator()?);
        let cluster = self.cluster.clone();
        let partitions_of = |t: &str| partition_count(&cluster, t);
        // Each pass either finishes or changes the membership; a few are always enough.
        for _ in 0..8 {
            let Some(member_id) = self.member_id.clone() else {
                if !self.join()? {
                    return Ok(());
                }
                continue;
            };
            let check_in = coordinator.check_in(&group, &member_id, &partitions_of);
            let steady = match &check_in {
                CheckIn::Waiting => true,
                CheckIn::Assigned(handout) => handout.generation == self.generation,
                _ => false,
            };
            if !steady {
                // The membership changes: records held but not returned go back first, so
                // that no commit and no listener counts them, and none is lost with its
                // partition or read twice when it comes back.
                self.unfetch(std::mem::take(held));
            }
            match check_in {
                CheckIn::Unknown => {
                    // Expelled (too long between polls): the partitions are already gone.
                    let lost: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
                    self.partitions.clear();
                    self.member_id = None;
                    self.generation = -1;
                    self.publish_membership();
                    if !lost.is_empty() {
                        self.call_listener(|l, ctx| l.on_partitions_lost(ctx, &lost));
                    }
                }
                CheckIn::Fenced => {
                    return Err(Error::FencedInstanceId(
                        self.config.group_instance_id.clone().unwrap_or(member_id),
                    ))
                }
                CheckIn::MustJoin { missed } => {
                    // Kafka's member learns the generation from the JoinGroup response, and
                    // its assignment from SyncGroup, before it hears of the next rebalance.
                    match missed {
                        Some(Missed::Assigned(handout)) if handout.generation > self.generation => {
                            self.take_assignment(handout)?
                        }
                        Some(Missed::Joined(generation)) if generation > self.generation => {
                            self.generation = generation
                        }
                        _ => {}
                    }
                    // Kafka's onJoinPrepare, either protocol: commit (with auto-commit)
                    // before rejoining, so that what moves is handed over committed.
                    self.auto_commit_before_rejoin();
                    if self.cooperative() {
                        self.revoke_unsubscribed();
                    } else {
                        self.revoke_all_before_rejoin();
                    }
                    if !self.join()? {
                        return Ok(());
                    }
                }
                CheckIn::Waiting => return Ok(()),
                CheckIn::Lead {
                    generation,
                    protocol,
                    metadata,
                    group,
                } => self.lead(generation, &protocol, &metadata, &group)?,
                CheckIn::Assigned(handout) => {
                    if handout.generation == self.generation {
                        return Ok(());
                    }
                    // Then checks in again: the listener's time may have expelled the member
                    // (its partitions are then lost before any fetch), and if not, the
                    // check-in counts it inside `poll` again.
                    self.take_assignment(handout)?;
                }
            }
        }
        Ok(())
    }

    /// Tells the coordinator that `poll` returned: `max.poll.interval.ms` counts from now.
    pub(super) fn poll_returned(&self) {
        if let Some((coordinator, group, member_id)) = self.member() {
            coordinator.poll_returned(group, member_id);
        }
    }

    /// Tells the coordinator that a listener callback starts: inside `poll`, its time counts
    /// toward `max.poll.interval.ms` (until the next check-in), as Kafka's poll timer runs
    /// from the start of `poll`; outside (a commit's `on_commit`), nothing changes.
    pub(super) fn listener_started(&self) {
        if let Some((coordinator, group, member_id)) = self.member() {
            coordinator.listener_started(group, member_id);
        }
    }

    fn member(&self) -> Option<(&Arc<Coordinator>, &str, &str)> {
        match (
            self.coordinator.as_ref(),
            self.group_id(),
            self.member_id.as_deref(),
        ) {
            (Some(coordinator), Ok(group), Some(member_id)) => {
                Some((coordinator, group, member_id))
            }
            _ => None,
        }
    }

    /// Before rejoining, with auto-commit: commits the positions of what is owned, once per
    /// rebalance (Kafka's `needsJoinPrepare`): a member that has rejoined already did, and
    /// cannot commit until the rebalance completes.
    fn auto_commit_before_rejoin(&mut self) {
        if self.config.enable_auto_commit && !self.rejoining {
            let offsets = self.positions_to_commit();
            let result = self.commit_offsets(&offsets);
            self.call_listener(|l, _| l.on_commit(&result, &offsets));
        }
    }

    /// Eager protocol: before rejoining, revoke everything; the listener hears of it even
    /// when nothing was owned.
    fn revoke_all_before_rejoin(&mut self) {
        let revoked: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
        self.partitions.clear();
    }

    /// Cooperative protocol: before rejoining, revoke only partitions of topics no longer
    /// subscribed.
    fn revoke_unsubscribed(&mut self) {
        let Mode::Subscribed(topics) = &self.mode else {
            return;
        };
        let revoked: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !topics.contains(&*tp.topic))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
            for tp in &revoked {
                self.partitions.remove(tp);
            }
        }
    }

    fn take_assignment(&mut self, handout: Handout) -> Result<()> {
        self.rejoining = false;
        let generation = handout.generation;
        if !self.config.librdkafka_member && !self.subscribes_to_all(&handout.assignment.partitions)
        {
            // Kafka's onJoinComplete: an assignment of a topic the subscription dropped
            // after this member joined is not taken; the member rejoins with the current
            // subscription. (librdkafka's takes it, then applies the new subscription.)
            self.generation = generation;
            self.publish_membership();
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
            return Ok(());
        }
        let new: BTreeSet<TopicPartition> = handout.assignment.partitions.iter().cloned().collect();
        let revoked: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !new.contains(*tp))
            .cloned()
            .collect();
        let added: Vec<TopicPartition> = new
            .iter()
            .filter(|tp| !self.partitions.contains_key(*tp))
            .cloned()
            .collect();
        self.generation = generation;
        self.publish_membership();
        // Kafka's onJoinComplete: the cooperative revocation first ("only change the
        // assignment (or update the assignor's state) AFTER we've triggered the revoke
        // callback"), then the assignor hears its share, then the listener the additions.
        if !revoked.is_empty() {
            // Cooperative: give up what moves, then rejoin so that it can be handed over.
            self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
            for tp in &revoked {
                self.partitions.remove(tp);
            }
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        let assignor = self.assignors.iter().find(|a| a.name() == handout.protocol);
        if let (Some(assignor), Some(metadata)) = (assignor, self.group_metadata()) {
            assignor.on_assignment(&handout.assignment, &metadata);
        }
        for tp in &added {
            let Ok(log) = self.log(tp) else {
                continue; // deleted meanwhile; the next rebalance drops it
            };
            self.partitions
                .insert(tp.clone(), PartitionState::new(log, Offset::Committed));
        }
        let interval = self.config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        self.next_auto_commit_ms = self.cluster.clock().now_ms().saturating_add(interval);
        let assigned: Vec<TopicPartition> = if self.cooperative() {
            added
        } else {
            new.into_iter().collect()
        };
        self.call_listener(|l, ctx| l.on_partitions_assigned(ctx, &assigned));
        self.split_changed();
        // Kafka's rejoinNeededOrPending: the subscription changed after this member joined
        // (a request to rebalance then found the group rebalancing already), so the
        // assignment was made for the old one; the group rebalances again.
        if matches!(&self.mode, Mode::Subscribed(topics) if *topics != self.joined_topics) {
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        Ok(())
    }

    /// Leaves the group (revoking everything when `revoke`); keeps the subscription.
    pub(super) fn leave_group(&mut self, revoke: bool) -> Result<()> {
        if let Some(member_id) = self.member_id.clone() {
            let dropped: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
            if revoke && !dropped.is_empty() {
                // As Kafka's onLeavePrepare: revoked (still a member here, so the callback
                // can commit), or lost when the member was expelled or has rejoined a
                // rebalance; nothing when nothing is owned. librdkafka's revokes whenever
                // the group still has the member (`rd_kafka_cgrp_unsubscribe`), also once
                // the rebalance moved to a new generation (the revocation's commit then
                // gets the coordinator's answer).
                let group = self.group_id()?.to_string();
                let revoked = if self.config.librdkafka_member {
                    self.coordinator()?.is_current(&group, &member_id, None)
                } else {
                    !self.rejoining
                        && self
                            .coordinator()?
                            .is_current(&group, &member_id, Some(self.generation))
                };
                if revoked {
                    self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &dropped));
                } else {
                    self.call_listener(|l, ctx| l.on_partitions_lost(ctx, &dropped));
                }
            }
            self.member_id = None;
            self.rejoining = false;
            let group = self.group_id()?.to_string();
            self.coordinator()?
                .leave(&group, &member_id, self.config.session_timeout_ms);
            self.generation = -1;
            self.publish_membership();
            self.split_changed();
        }
        Ok(())
    }

    fn publish_membership(&self) {
        *self.membership.lock() = Membership {
            member_id: self.member_id.clone(),
            generation: self.generation,
            rejoining: self.rejoining,
        };
    }
}

fn partition_count(cluster: &Cluster, topic: &str) -> Option<i32> {
    cluster
        .topic_partitions(topic)
        .ok()
        .map(|(_, logs)| partition_number(logs.len()))
}
