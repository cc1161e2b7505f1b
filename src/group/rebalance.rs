//! One group's membership and rebalance state machine (Kafka's classic protocol): members
//! join, a rebalance completes once every known member has rejoined, the generation goes up,
//! and the leader's check-in asks it for the assignment.

use std::collections::{BTreeMap, BTreeSet};

use super::assignor::{Assignment, ClusterMetadata, GroupSubscription, Subscription};
use super::initial_delay::InitialDelay;
use super::protocol::{CheckIn, GroupState, Handout, JoinProtocol, JoinRequest, Missed};
use super::types::TopicPartition;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug)]
pub(super) struct Member {
    pub(super) client_id: String,
    pub(super) instance_id: Option<String>,
    pub(super) topics: BTreeSet<String>,
    pub(super) protocols: Vec<JoinProtocol>,
    pub(super) owned: Vec<TopicPartition>,
    pub(super) owned_generation: i32,
    /// The generation of the last rebalance the member took part in.
    pub(super) joined_generation: i32,
    /// Rejoined during the current rebalance.
    pub(super) joined: bool,
    pub(super) assignment: Assignment,
    pub(super) last_seen_ms: i64,
    /// Inside `poll`: alive whatever the clock says. Kafka's `max.poll.interval.ms` counts
    /// the time between polls; while one blocks, the heartbeat thread keeps the member.
    pub(super) in_poll: bool,
    /// Dropped when silent this long (`max.poll.interval.ms`, or `session.timeout.ms` for a
    /// static member that closed without leaving).
    pub(super) expiry_ms: i64,
}

#[derive(Debug)]
pub(super) struct Group {
    pub(super) state: GroupState,
    pub(super) generation: i32,
    pub(super) protocol: Option<String>,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// Static members' instance id → member id.
    pub(super) instances: BTreeMap<String, String>,
    pub(super) fenced: BTreeSet<String>,
    /// Partition counts the current assignment was computed with.
    pub(super) partition_counts: BTreeMap<String, i32>,
    pub(super) next_member: u64,
    /// When the last member left (for `offsets.retention.minutes`).
    pub(super) empty_since_ms: Option<i64>,
    /// The last generation whose assignment the leader took (its SyncGroup).
    pub(super) synced_generation: i32,
    /// `group.initial.rebalance.delay.ms`, and the wait of a rebalance that started empty.
    pub(super) initial_delay_ms: i64,
    pub(super) initial_delay: Option<InitialDelay>,
}

impl Member {
    /// The names of the assignors it offers, in its preference order.
    fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.protocols.iter().map(|p| p.name.as_str())
    }
}

impl Group {
    pub(super) fn new(initial_delay_ms: i64) -> Self {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            instances: BTreeMap::new(),
            fenced: BTreeSet::new(),
            partition_counts: BTreeMap::new(),
            next_member: 0,
            empty_since_ms: None,
            synced_generation: -1,
            initial_delay_ms,
            initial_delay: None,
        }
    }

    pub(super) fn start_rebalance(&mut self) {
        self.state = GroupState::PreparingRebalance;
        for member in self.members.values_mut() {
            member.joined = false;
        }
    }

    pub(super) fn remove(&mut self, member_id: &str, now_ms: i64) {
        if let Some(member) = self.members.remove(member_id) {
            if let Some(instance) = member.instance_id {
                self.instances.remove(&instance);
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            self.initial_delay = None;
            self.empty_since_ms = Some(now_ms);
        } else {
            self.start_rebalance();
        }
    }

    /// Drops members silent past their expiry (out of `poll` longer than
    /// `max.poll.interval.ms`); returns whether any was.
    pub(super) fn expire(&mut self, now_ms: i64) -> bool {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| !m.in_poll && now_ms.saturating_sub(m.last_seen_ms) > m.expiry_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove(id, now_ms);
        }
        !expired.is_empty()
    }

    /// The protocol every member supports that most members prefer (ties: the leader's order).
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.common_protocols();
        let votes = |a: &str| {
            self.members
                .values()
                .filter(|m| m.names().find(|x| candidates.contains(x)) == Some(a))
                .count()
        };
        let leader = self.leader.as_ref().and_then(|l| self.members.get(l));
        let rank = |a: &str| {
            leader
                .and_then(|m| m.names().position(|x| x == a))
                .unwrap_or(usize::MAX)
        };
        candidates
            .iter()
            .max_by(|a, b| votes(a).cmp(&votes(b)).then(rank(b).cmp(&rank(a))))
            .map(|a| a.to_string())
    }

    /// The protocols every member offers, in the first member's order.
    fn common_protocols(&self) -> Vec<&str> {
        match self.members.values().next() {
            Some(first) => first
                .names()
                .filter(|a| self.members.values().all(|m| m.names().any(|x| x == *a)))
                .collect(),
            None => Vec::new(),
        }
    }

    pub(super) fn counts(
        &self,
        partitions_of: &dyn Fn(&str) -> Option<i32>,
    ) -> BTreeMap<String, i32> {
        self.members
            .values()
            .flat_map(|m| m.topics.iter())
            .filter_map(|t| partitions_of(t).map(|c| (t.clone(), c)))
            .collect()
    }

    /// Completes the rebalance if every member has rejoined.
    pub(super) fn try_complete(
        &mut self,
        partitions_of: &dyn Fn(&str) -> Option<i32>,
        now_ms: i64,
    ) -> bool {
        if self.state != GroupState::PreparingRebalance
            || self.members.is_empty()
            || !self.members.values().all(|m| m.joined)
        {
            return false;
        }
        if let Some(delay) = &mut self.initial_delay {
            if delay.holds(now_ms) {
                return false;
            }
            self.initial_delay = None;
        }
        let Some(protocol) = self.select_protocol() else {
            return false;
        };
        self.generation += 1;
        for member in self.members.values_mut() {
            member.assignment = Assignment::default();
            member.joined_generation = self.generation;
        }
        self.protocol = Some(protocol);
        self.partition_counts = self.counts(partitions_of);
        self.state = GroupState::CompletingRebalance;
        true
    }

    /// Where `member_id` stands, as its check-in answers.
    pub(super) fn answer(&self, member_id: &str) -> CheckIn {
        let Some(m) = self.members.get(member_id) else {
            return CheckIn::Unknown;
        };
        let handout = || Handout {
            generation: self.generation,
            protocol: self.protocol.clone().unwrap_or_default(),
            assignment: m.assignment.clone(),
        };
        match self.state {
            GroupState::PreparingRebalance if !m.joined => {
                let missed = (m.joined_generation == self.generation).then(|| {
                    if self.synced_generation == self.generation {
                        Missed::Assigned(handout())
                    } else {
                        Missed::Joined(self.generation)
                    }
                });
                CheckIn::MustJoin { missed }
            }
            GroupState::CompletingRebalance if self.leader.as_deref() == Some(member_id) => {
                let protocol = self.protocol.clone().unwrap_or_default();
                CheckIn::Lead {
                    generation: self.generation,
                    metadata: ClusterMetadata::new(
                        self.partition_counts.iter().map(|(t, n)| (t.clone(), *n)),
                    ),
                    group: self.subscriptions(&protocol),
                    protocol,
                }
            }
            GroupState::Stable => CheckIn::Assigned(handout()),
            _ => CheckIn::Waiting,
        }
    }

    /// What the leader's assignor sees: every member's subscription, with its user data for
    /// `protocol`.
    fn subscriptions(&self, protocol: &str) -> GroupSubscription {
        let subscriptions = self
            .members
            .iter()
            .map(|(id, m)| {
                let user_data = m
                    .protocols
                    .iter()
                    .find(|p| p.name == protocol)
                    .and_then(|p| p.user_data.clone());
                let subscription = Subscription {
                    topics: m.topics.clone(),
                    user_data,
                    owned_partitions: m.owned.clone(),
                    group_instance_id: m.instance_id.clone(),
                    generation_id: (m.owned_generation >= 0).then_some(m.owned_generation),
                };
                (id.clone(), subscription)
            })
            .collect();
        GroupSubscription { subscriptions }
    }

    /// Kafka's INCONSISTENT_GROUP_PROTOCOL: a newcomer must share an assignor with what
    /// every current member supports.
    pub(super) fn check_protocol(&self, group_id: &str, request: &JoinRequest) -> Result<()> {
        let rejoining = request
            .member_id
            .as_ref()
            .is_some_and(|id| self.members.contains_key(id));
        let common = if self.members.is_empty() {
            request.protocols.iter().map(|p| p.name.as_str()).collect()
        } else {
            self.common_protocols()
        };
        if !rejoining
            && !self.members.is_empty()
            && !common
                .iter()
                .any(|a| request.protocols.iter().any(|p| p.name == *a))
        {
            let offered: Vec<&str> = request.protocols.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::InconsistentGroupProtocol(format!(
                "group '{group_id}' uses {}; this consumer offers {}",
                common.join(", "),
                offered.join(", ")
            )));
        }
        Ok(())
    }

    /// The joining member's id, and whether its join needs a rebalance: its current id, a
    /// static member's old place (without a rebalance when its topics are unchanged), or a
    /// new member's id.
    pub(super) fn member_for(
        &mut self,
        request: &JoinRequest,
        now: i64,
        expiry: i64,
    ) -> (String, bool) {
        let member_id = request
            .member_id
            .clone()
            .filter(|id| self.members.contains_key(id));
        if let Some(id) = member_id {
            return (id, true);
        }
        if let Some(instance) = &request.instance_id {
            if let Some(old_id) = self.instances.get(instance).cloned() {
                return self.replace_static(instance, old_id, &request.topics);
            }
        }
        // Kafka counts newcomers only before the group's first rebalance (generation 0).
        if let Some(delay) = self.initial_delay.as_mut().filter(|_| self.generation == 0) {
            delay.member_added();
        }
        (self.add_member(request, now, expiry), true)
    }

    /// A static member returns (or a second one takes its place): the old id is fenced, the
    /// new id inherits its assignment. Returns the new id and whether the topics changed.
    fn replace_static(
        &mut self,
        instance: &str,
        old_id: String,
        topics: &BTreeSet<String>,
    ) -> (String, bool) {
        let old = self
            .members
            .remove(&old_id)
            .expect("instances index members");
        self.fenced.insert(old_id.clone());
        let id = format!("{instance}-{}", self.next_member);
        self.next_member += 1;
        let rebalance = old.topics != *topics;
        self.members.insert(id.clone(), old);
        self.instances.insert(instance.to_string(), id.clone());
        if self.leader.as_deref() == Some(old_id.as_str()) {
            self.leader = Some(id.clone());
        }
        (id, rebalance)
    }

    /// A new member, with no subscription yet; returns its id.
    fn add_member(&mut self, request: &JoinRequest, now: i64, expiry: i64) -> String {
        let prefix = request
            .instance_id
            .clone()
            .unwrap_or_else(|| request.client_id.clone());
        let prefix = if prefix.is_empty() {
            "consumer".into()
        } else {
            prefix
        };
        let id = format!("{prefix}-{}", self.next_member);
        self.next_member += 1;
        if let Some(instance) = &request.instance_id {
            self.instances.insert(instance.clone(), id.clone());
        }
        self.members.insert(
            id.clone(),
            Member {
                client_id: request.client_id.clone(),
                instance_id: request.instance_id.clone(),
                topics: BTreeSet::new(),
                protocols: Vec::new(),
                owned: Vec::new(),
                owned_generation: -1,
                joined_generation: -1,
                joined: false,
                assignment: Assignment::default(),
                last_seen_ms: now,
                in_poll: false,
                expiry_ms: expiry,
            },
        );
        id
    }

    /// Takes a join's subscription. Unless it is unchanged and needs no rebalance (then the
    /// join only counts as a sign of life), the member joins a rebalance, started if none is
    /// in progress, and the rebalance completes if it was the last one awaited.
    pub(super) fn update_member(
        &mut self,
        id: &str,
        request: JoinRequest,
        rebalance: bool,
        now: i64,
        expiry: i64,
        partitions_of: &dyn Fn(&str) -> Option<i32>,
    ) {
        let member = self
            .members
            .get_mut(id)
            .expect("member_for returns a member");
        if member.topics == request.topics && !rebalance {
            member.last_seen_ms = now;
            member.expiry_ms = expiry;
            return;
        }
        member.topics = request.topics;
        member.protocols = request.protocols;
        member.owned = request.owned;
        member.owned_generation = request.generation;
        member.last_seen_ms = now;
        member.expiry_ms = expiry;
        if self.leader.is_none() {
            self.leader = Some(id.to_string());
        }
        if self.state != GroupState::PreparingRebalance {
            if self.state == GroupState::Empty {
                let timeout = self
                    .members
                    .values()
                    .map(|m| m.expiry_ms)
                    .max()
                    .unwrap_or(0);
                self.initial_delay = InitialDelay::start(self.initial_delay_ms, now, timeout);
            }
            self.start_rebalance();
        }
        self.members.get_mut(id).expect("member").joined = true;
        self.try_complete(partitions_of, now);
    }

    /// Kafka's `validateOffsetCommit` (classic group) for a commit on behalf of `member` (id
    /// and generation), or of a consumer without membership (`None`): refusals carry the
    /// broker's codes (`UNKNOWN_MEMBER_ID`, `ILLEGAL_GENERATION`, `REBALANCE_IN_PROGRESS`),
    /// which Kafka's Java client turns into `CommitFailed` and librdkafka passes on. A
    /// member's generation is the one it took with its last assignment; a member that took
    /// part in the round that made the group's generation has, in Kafka, learnt it from
    /// its JoinGroup response and commits with it.
    pub(super) fn validate_offset_commit(
        &self,
        group_id: &str,
        member: Option<(&str, i32)>,
    ) -> Result<()> {
        let refused = |code, detail: String| Err(Error::Kafka { code, detail });
        let Some((id, generation)) = member else {
            if self.members.is_empty() {
                return Ok(());
            }
            return refused(
                ErrorCode::UnknownMemberId,
                format!(
                    "group '{group_id}' has active members; a consumer that is not one of \
                     them cannot commit"
                ),
            );
        };
        if self.fenced.contains(id) {
            return Err(Error::FencedInstanceId(id.to_string()));
        }
        let Some(found) = self.members.get(id) else {
            return refused(
                ErrorCode::UnknownMemberId,
                format!(
                    "member '{id}' (generation {generation}) is no longer in group \
                     '{group_id}', which is at generation {}",
                    self.generation
                ),
            );
        };
        if generation != self.generation && found.joined_generation != self.generation {
            return refused(
                ErrorCode::IllegalGeneration,
                format!(
                    "member '{id}' of group '{group_id}' committed for generation \
                     {generation}, but the group is at generation {}",
                    self.generation
                ),
            );
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(Error::RebalanceInProgress(format!(
                "group '{group_id}' is waiting for its leader's assignment of generation {}; \
                 poll, then commit again",
                self.generation
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(joined_generation: i32) -> Member {
        Member {
            client_id: "c".into(),
            instance_id: None,
            topics: BTreeSet::new(),
            protocols: Vec::new(),
            owned: Vec::new(),
            owned_generation: -1,
            joined_generation,
            joined: true,
            assignment: Assignment::default(),
            last_seen_ms: 0,
            in_poll: false,
            expiry_ms: i64::MAX,
        }
    }

    fn code(group: &Group, member: Option<(&str, i32)>) -> Option<ErrorCode> {
        group
            .validate_offset_commit("g", member)
            .err()
            .map(|e| e.code().expect("a protocol error"))
    }

    /// Kafka's `ClassicGroup.validateOffsetCommit`, case by case.
    #[test]
    fn offset_commits_are_validated_as_a_classic_group_does() {
        let mut group = Group::new(0);
        assert_eq!(code(&group, None), None, "an empty group takes any commit");
        group.generation = 3;
        group.state = GroupState::Stable;
        group.members.insert("m".into(), member(3));
        assert_eq!(code(&group, None), Some(ErrorCode::UnknownMemberId));
        assert_eq!(
            code(&group, Some(("x", 3))),
            Some(ErrorCode::UnknownMemberId)
        );
        assert_eq!(code(&group, Some(("m", 3))), None);
        // It took part in round 3 but has not taken its assignment yet: Kafka's member has
        // generation 3 from its JoinGroup response.
        assert_eq!(code(&group, Some(("m", 2))), None);
        group.members.insert("old".into(), member(2));
        assert_eq!(
            code(&group, Some(("old", 2))),
            Some(ErrorCode::IllegalGeneration)
        );
        group.state = GroupState::CompletingRebalance;
        assert_eq!(
            code(&group, Some(("m", 3))),
            Some(ErrorCode::RebalanceInProgress)
        );
        group.fenced.insert("f".into());
        assert_eq!(
            code(&group, Some(("f", 3))),
            Some(ErrorCode::FencedInstanceId)
        );
    }
}
