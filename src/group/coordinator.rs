//! The in-process group coordinator: every group of a cluster (their membership in
//! `rebalance.rs`), the calls consumers make (join, check-in, sync, leave, commit), and
//! offset expiry. Liveness is judged from check-ins, which consumers make in every `poll`,
//! on the cluster's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::assignor::GroupAssignment;
use super::offsets::OffsetStore;
use super::protocol::{CheckIn, GroupDescription, GroupState, JoinRequest, MemberDescription};
use super::rebalance::Group;
use super::types::{ConsumerGroupMetadata, Offsets};
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::notify::Notifier;

/// Every group of one cluster, and their committed offsets.
#[derive(Debug)]
pub(crate) struct Coordinator {
    pub(crate) offsets: OffsetStore,
    groups: Mutex<BTreeMap<String, Group>>,
    notifier: Arc<Notifier>,
    clock: Arc<dyn Clock>,
    /// `offsets.retention.minutes` and its check interval, in ms.
    retention: (i64, i64),
    /// When offsets were last checked for expiry.
    last_expiry_check_ms: Mutex<i64>,
    /// `group.initial.rebalance.delay.ms`.
    initial_delay_ms: i64,
    /// The test kit's fault rules (commits).
    #[cfg(feature = "testing")]
    faults: Arc<crate::testing::FaultTable>,
}

impl Coordinator {
    /// The cluster's coordinator, started on first use.
    pub(crate) fn of(cluster: &Cluster) -> Result<Arc<Coordinator>> {
        cluster.service(|| {
            Ok(Coordinator {
                offsets: OffsetStore::open(cluster)?,
                groups: Mutex::new(BTreeMap::new()),
                notifier: Arc::clone(cluster.notifier()),
                clock: Arc::clone(cluster.clock()),
                retention: cluster.offsets_retention(),
                last_expiry_check_ms: Mutex::new(cluster.clock().now_ms()),
                initial_delay_ms: cluster.group_initial_rebalance_delay_ms(),
                #[cfg(feature = "testing")]
                faults: Arc::clone(cluster.fault_table()),
            })
        })
    }

    fn changed(&self) {
        self.notifier.notify();
    }

    /// Kafka's offset expiry, every `offsets.retention.check.interval.ms`: an empty group's
    /// offsets go `offsets.retention.minutes` after its last member left; a live group's
    /// offsets of topics none of its members subscribes to, and the offsets of a group that
    /// never had members here (manual assignment, or before a restart), go that long after
    /// their last commit. Errors are left for the next check (a commit's own error path
    /// reports storage trouble).
    fn expire_offsets_if_due(&self) {
        let now = self.clock.now_ms();
        let (retention, interval) = self.retention;
        {
            let mut last = self.last_expiry_check_ms.lock();
            if now.saturating_sub(*last) < interval {
                return;
            }
            *last = now;
        }
        let old = |at: i64| now.saturating_sub(at) >= retention;
        let mut groups = self.groups.lock();
        for group_id in self.offsets.groups() {
            let _ = match groups.get(&group_id) {
                Some(group) if !group.members.is_empty() => {
                    let subscribed: BTreeSet<&String> = group
                        .members
                        .values()
                        .flat_map(|m| m.topics.iter())
                        .collect();
                    self.offsets.expire(
                        &group_id,
                        |tp, at| !subscribed.contains(&tp.topic.to_string()) && old(at),
                        now,
                    )
                }
                Some(group) => match group.empty_since_ms {
                    Some(since) if old(since) => self.offsets.expire(&group_id, |_, _| true, now),
                    Some(_) => Ok(0),
                    None => self.offsets.expire(&group_id, |_, at| old(at), now),
                },
                None => self.offsets.expire(&group_id, |_, at| old(at), now),
            };
        }
        let offsets = self.offsets.groups();
        groups.retain(|id, g| !g.members.is_empty() || offsets.contains(id));
    }

    /// Joins (or rejoins) `group_id`; returns the member id. A new member, or a changed
    /// subscription, starts a rebalance; a static member rejoining with an unchanged
    /// subscription takes its old place without one (KIP-345).
    pub(crate) fn join(
        &self,
        group_id: &str,
        request: JoinRequest,
        partitions_of: &dyn Fn(&str) -> Option<i32>,
    ) -> Result<String> {
        self.expire_offsets_if_due();
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let group = groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(self.initial_delay_ms));
        group.expire(now);
        group.check_protocol(group_id, &request)?;
        let expiry = request.max_poll_interval_ms.min(i64::MAX as u64) as i64;
        let (id, rebalance) = group.member_for(&request, now, expiry);
        group.empty_since_ms = None;
        group.update_member(&id, request, rebalance, now, expiry, partitions_of);
        drop(groups);
        self.changed();
        Ok(id)
    }

    /// A member's check-in (from `poll`): records that it is alive, drops silent members,
    /// starts a rebalance when a subscribed topic's partition count changed, completes a
    /// rebalance everyone has rejoined, and tells the member where it stands.
    pub(crate) fn check_in(
        &self,
        group_id: &str,
        member_id: &str,
        partitions_of: &dyn Fn(&str) -> Option<i32>,
    ) -> CheckIn {
        self.expire_offsets_if_due();
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return CheckIn::Unknown;
        };
        if group.fenced.contains(member_id) {
            return CheckIn::Fenced;
        }
        let before = (group.state, group.generation);
        // Before this check-in counts: a member whose own poll comes after
        // max.poll.interval.ms has left the group (Kafka's poll timer), whoever calls first.
        group.expire(now);
        if let Some(member) = group.members.get_mut(member_id) {
            member.last_seen_ms = now;
            member.in_poll = true;
        }
        if group.state != GroupState::PreparingRebalance
            && !group.members.is_empty()
            && group.counts(partitions_of) != group.partition_counts
        {
            group.start_rebalance();
        }
        group.try_complete(partitions_of, now);
        let answer = group.answer(member_id);
        let changed = before != (group.state, group.generation);
        drop(groups);
        if changed {
            self.changed();
        }
        answer
    }

    /// The leader's assignment for `generation` (Kafka's SyncGroup): every member may take
    /// its share. Ignored when the group moved on meanwhile (the leader's next check-in tells
    /// it to rejoin). Members the assignment leaves out get no partitions.
    pub(crate) fn sync(
        &self,
        group_id: &str,
        leader: &str,
        generation: i32,
        mut assignment: GroupAssignment,
    ) {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            return;
        };
        if group.state != GroupState::CompletingRebalance
            || group.generation != generation
            || group.leader.as_deref() != Some(leader)
        {
            return;
        }
        for (id, member) in group.members.iter_mut() {
            member.assignment = assignment.assignments.remove(id).unwrap_or_default();
        }
        group.state = GroupState::Stable;
        group.synced_generation = generation;
        drop(groups);
        self.changed();
    }

    /// A member's `poll` returned: its `max.poll.interval.ms` starts counting now.
    pub(crate) fn poll_returned(&self, group_id: &str, member_id: &str) {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let member = groups
            .get_mut(group_id)
            .and_then(|g| g.members.get_mut(member_id));
        if let Some(member) = member {
            member.in_poll = false;
            member.last_seen_ms = now;
        }
    }

    /// A member's listener callback starts: if it is inside `poll`, it counts as out of it
    /// (its `max.poll.interval.ms` starting now) until its next check-in; a callback outside
    /// `poll` changes nothing.
    pub(crate) fn listener_started(&self, group_id: &str, member_id: &str) {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let member = groups
            .get_mut(group_id)
            .and_then(|g| g.members.get_mut(member_id));
        if let Some(member) = member.filter(|m| m.in_poll) {
            member.in_poll = false;
            member.last_seen_ms = now;
        }
    }

    /// Whether `member_id` is in the group, at `generation` when one is given (no
    /// rebalance completed past it). A rebalance in progress does not end it: Kafka's client
    /// stays stable (and the group takes its commits) until it rejoins.
    pub(crate) fn is_current(
        &self,
        group_id: &str,
        member_id: &str,
        generation: Option<i32>,
    ) -> bool {
        let groups = self.groups.lock();
        groups.get(group_id).is_some_and(|g| {
            g.members.contains_key(member_id) && generation.is_none_or(|at| g.generation == at)
        })
    }

    /// Starts a rebalance (a cooperative member revoked partitions, or a subscription changed).
    pub(crate) fn request_rebalance(&self, group_id: &str) {
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            if group.state != GroupState::PreparingRebalance && !group.members.is_empty() {
                group.start_rebalance();
                drop(groups);
                self.changed();
            }
        }
    }

    /// Starts a rebalance of `group_id` on demand (the test kit's `force_rebalance`).
    #[cfg(feature = "testing")]
    pub(crate) fn force_rebalance(&self, group_id: &str) -> Result<()> {
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .filter(|g| !g.members.is_empty())
            .ok_or_else(|| {
                Error::GroupIdNotFound(format!("group '{group_id}' has no members to rebalance"))
            })?;
        if group.state != GroupState::PreparingRebalance {
            group.start_rebalance();
        }
        drop(groups);
        self.changed();
        Ok(())
    }

    /// Expels a member as if its session had expired (the test kit's `expire_member`):
    /// `member` is its id, or the client id of exactly one member.
    #[cfg(feature = "testing")]
    pub(crate) fn expire_member(&self, group_id: &str, member: &str) -> Result<()> {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        let group = groups
            .get_mut(group_id)
            .ok_or_else(|| Error::GroupIdNotFound(format!("group '{group_id}' does not exist")))?;
        let id = if group.members.contains_key(member) {
            member.to_string()
        } else {
            let by_client: Vec<&String> = group
                .members
                .iter()
                .filter(|(_, m)| m.client_id == member)
                .map(|(id, _)| id)
                .collect();
            match by_client.as_slice() {
                [id] => (*id).clone(),
                [] => {
                    return Err(Error::Kafka {
                        code: crate::error::ErrorCode::UnknownMemberId,
                        detail: format!(
                            "group '{group_id}' has no member with id or client.id '{member}'"
                        ),
                    })
                }
                _ => {
                    return Err(Error::IllegalState(format!(
                        "{} members of group '{group_id}' have client.id '{member}': name \
                         one by its member id",
                        by_client.len()
                    )))
                }
            }
        };
        group.remove(&id, now);
        drop(groups);
        self.changed();
        Ok(())
    }

    /// A member leaves (close, unsubscribe); the others rebalance. A static member sends no
    /// LeaveGroup (as in Kafka): it keeps its place for `session_timeout_ms`, so a restart
    /// within that time takes it back without a rebalance.
    pub(crate) fn leave(&self, group_id: &str, member_id: &str, session_timeout_ms: u64) {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            match group.members.get_mut(member_id) {
                Some(m) if m.instance_id.is_some() => {
                    m.last_seen_ms = now;
                    m.expiry_ms = session_timeout_ms.min(i64::MAX as u64) as i64;
                }
                Some(_) => group.remove(member_id, now),
                None => {}
            }
        }
        drop(groups);
        self.changed();
    }

    /// Commits `offsets` for `group_id` on behalf of `member` (id and generation), or of a
    /// consumer without membership (`None`), which the group accepts only while it has no
    /// members (`Group::validate_offset_commit`: a refusal carries the broker's code).
    pub(crate) fn commit(
        &self,
        group_id: &str,
        member: Option<(&str, i32)>,
        offsets: &Offsets,
    ) -> Result<()> {
        #[cfg(feature = "testing")]
        {
            // One OffsetCommit for all the partitions, retried as Kafka's commitSync
            // retries a retriable error.
            use crate::testing::{Op, OpInfo, Retry};
            let infos: Vec<OpInfo<'_>> = offsets
                .keys()
                .map(|tp| {
                    OpInfo::new(Op::Commit)
                        .of_group(group_id)
                        .on_partition(&tp.topic, tp.partition)
                })
                .collect();
            if !infos.is_empty() {
                self.faults.call(&infos, &Retry::API_CALL)?;
            }
        }
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            // A member out of poll past max.poll.interval.ms has left (Kafka's consumer leaves
            // when its poll timer expires), also when no other member is there to notice.
            if group.expire(self.clock.now_ms()) {
                self.changed();
            }
            group.validate_offset_commit(group_id, member)?;
        }
        // Holding the groups lock orders commits with membership changes.
        self.offsets.commit(group_id, offsets, self.clock.now_ms())
    }

    /// Kafka's `TxnOffsetCommit`: `offsets` for the group of `member`, pending in the
    /// transaction of `producer_id` at `epoch` until its marker. The member must be in the
    /// group at its generation (Kafka's transactional `validateOffsetCommit`), unless it
    /// names no member and no generation (a producer of offsets without a consumer).
    pub(crate) fn commit_transactional(
        &self,
        member: &ConsumerGroupMetadata,
        offsets: &Offsets,
        producer_id: i64,
        epoch: i16,
    ) -> Result<()> {
        let group_id = member.group_id.as_str();
        let mut groups = self.groups.lock();
        let anonymous = member.member_id.is_empty() && member.generation_id < 0;
        if let (Some(group), false) = (groups.get_mut(group_id), anonymous) {
            if group.expire(self.clock.now_ms()) {
                self.changed();
            }
            let id = member.member_id.as_str();
            if group.fenced.contains(id) {
                return Err(Error::FencedInstanceId(id.to_string()));
            }
            if !group.members.contains_key(id) {
                return Err(Error::CommitFailed(format!(
                    "transaction offset commit failed due to consumer group metadata mismatch: \
                     member '{id}' is not in group '{group_id}' (unknown member id)"
                )));
            }
            if member.generation_id != group.generation {
                return Err(Error::CommitFailed(format!(
                    "transaction offset commit failed due to consumer group metadata mismatch: \
                     member '{id}' is at generation {}, group '{group_id}' at {} (illegal \
                     generation)",
                    member.generation_id, group.generation
                )));
            }
        } else if !anonymous && groups.get(group_id).is_none() {
            return Err(Error::CommitFailed(format!(
                "transaction offset commit failed due to consumer group metadata mismatch: \
                 group '{group_id}' has no member '{}' (unknown member id)",
                member.member_id
            )));
        }
        self.offsets.commit_transactional(
            group_id,
            offsets,
            producer_id,
            epoch,
            self.clock.now_ms(),
        )
    }

    /// The group's state and members.
    pub(crate) fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        self.expire_offsets_if_due();
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            if group.expire(self.clock.now_ms()) {
                self.changed();
            }
        }
        match groups.get(group_id) {
            Some(group) => Some(GroupDescription {
                group_id: group_id.to_string(),
                state: group.state,
                protocol: group.protocol.clone(),
                generation: group.generation,
                members: group
                    .members
                    .iter()
                    .map(|(id, m)| MemberDescription {
                        member_id: id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        host: "/127.0.0.1".into(),
                        assignment: m.assignment.partitions.clone(),
                    })
                    .collect(),
            }),
            None if self.offsets.groups().iter().any(|g| g == group_id) => Some(GroupDescription {
                group_id: group_id.to_string(),
                state: GroupState::Empty,
                protocol: None,
                generation: 0,
                members: Vec::new(),
            }),
            None => None,
        }
    }

    /// Every group with members or committed offsets, sorted.
    pub(crate) fn list(&self) -> Vec<String> {
        self.expire_offsets_if_due();
        let mut all: BTreeSet<String> = self.groups.lock().keys().cloned().collect();
        all.extend(self.offsets.groups());
        all.into_iter().collect()
    }

    /// Fails unless the group has no members (resets and deletes need that).
    pub(crate) fn check_empty(&self, group_id: &str) -> Result<()> {
        let now = self.clock.now_ms();
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            group.expire(now);
            if !group.members.is_empty() {
                return Err(Error::GroupNotEmpty {
                    group: group_id.to_string(),
                    state: group.state.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Deletes an empty group and its offsets.
    pub(crate) fn delete(&self, group_id: &str) -> Result<()> {
        if !self.list().iter().any(|g| g == group_id) {
            return Err(Error::GroupIdNotFound(group_id.to_string()));
        }
        self.check_empty(group_id)?;
        self.groups.lock().remove(group_id);
        self.offsets.delete_group(group_id, self.clock.now_ms())
    }
}
