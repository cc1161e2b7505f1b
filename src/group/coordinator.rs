//! The in-process group coordinator (Kafka's classic protocol): members join, a rebalance
//! completes once every known member has rejoined, the generation goes up, and the chosen
//! assignor hands out partitions. Liveness is judged from check-ins, which consumers make in
//! every `poll`, on the cluster's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use parking_lot::Mutex;

use super::assignor::{assign, MemberSubscription};
use super::initial_delay::InitialDelay;
use super::offsets::OffsetStore;
use super::types::{Offsets, TopicPartition};
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::config::AssignorKind;
use crate::error::{Error, Result};
use crate::notify::Notifier;

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members (possibly committed offsets).
    Empty,
    /// Waiting for members to rejoin.
    PreparingRebalance,
    /// Every member has rejoined and the assignment is computed; waiting for the leader to
    /// take it (Kafka: the leader's SyncGroup). The other members wait until then.
    CompletingRebalance,
    /// Every member can take its assignment.
    Stable,
    /// Deleted. Never reported: describing a deleted or unknown group answers
    /// `GroupIdNotFound`, as Kafka's admin client does.
    Dead,
}

impl GroupState {
    /// Kafka's name for the state, as the tools print it.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a member sends when it joins.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    /// Its id from an earlier join, if any.
    pub(crate) member_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) topics: BTreeSet<String>,
    pub(crate) assignors: Vec<AssignorKind>,
    /// What it owns now (cooperative members keep partitions across rebalances).
    pub(crate) owned: Vec<TopicPartition>,
    /// The generation it owns them in.
    pub(crate) generation: i32,
    /// Its last assignment and that assignment's generation: what Kafka's eager
    /// `StickyAssignor` carries in its subscription user data.
    pub(crate) last_assignment: (Vec<TopicPartition>, i32),
    pub(crate) max_poll_interval_ms: u64,
}

/// What a member learns when it checks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckIn {
    /// Not (or no longer) a member: its partitions are lost; it must join again.
    Unknown,
    /// Another consumer took its `group.instance.id`.
    Fenced,
    /// A rebalance is under way and the member has not rejoined it yet. `missed`: the last
    /// completed generation, if the member was in it, with its assignment there once the
    /// leader took the assignment (as Kafka's JoinGroup and SyncGroup responses reach a
    /// member before it can hear of the next rebalance).
    MustJoin {
        missed: Option<(i32, Option<Vec<TopicPartition>>)>,
    },
    /// Rejoined; the others have not yet.
    Waiting,
    /// The current generation's assignment.
    Assigned {
        generation: i32,
        partitions: Vec<TopicPartition>,
    },
}

#[derive(Debug)]
struct Member {
    client_id: String,
    instance_id: Option<String>,
    topics: BTreeSet<String>,
    assignors: Vec<AssignorKind>,
    owned: Vec<TopicPartition>,
    owned_generation: i32,
    last_assignment: (Vec<TopicPartition>, i32),
    /// The generation of the last rebalance the member took part in.
    joined_generation: i32,
    /// Rejoined during the current rebalance.
    joined: bool,
    assignment: Vec<TopicPartition>,
    last_seen_ms: i64,
    /// Inside `poll`: alive whatever the clock says. Kafka's `max.poll.interval.ms` counts
    /// the time between polls; while one blocks, the heartbeat thread keeps the member.
    in_poll: bool,
    /// Dropped when silent this long (`max.poll.interval.ms`, or `session.timeout.ms` for a
    /// static member that closed without leaving).
    expiry_ms: i64,
}

#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol: Option<AssignorKind>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Static members' instance id → member id.
    instances: BTreeMap<String, String>,
    fenced: BTreeSet<String>,
    /// Partition counts the current assignment was computed with.
    partition_counts: BTreeMap<String, i32>,
    next_member: u64,
    /// When the last member left (for `offsets.retention.minutes`).
    empty_since_ms: Option<i64>,
    /// The last generation whose assignment the leader took (its SyncGroup).
    synced_generation: i32,
    /// `group.initial.rebalance.delay.ms`, and the wait of a rebalance that started empty.
    initial_delay_ms: i64,
    initial_delay: Option<InitialDelay>,
}

impl Group {
    fn new(initial_delay_ms: i64) -> Self {
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

    fn start_rebalance(&mut self) {
        self.state = GroupState::PreparingRebalance;
        for member in self.members.values_mut() {
            member.joined = false;
        }
    }

    fn remove(&mut self, member_id: &str, now_ms: i64) {
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
    fn expire(&mut self, now_ms: i64) -> bool {
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
    fn select_protocol(&self) -> Option<AssignorKind> {
        let mut candidates: Vec<AssignorKind> = self.members.values().next()?.assignors.clone();
        candidates.retain(|a| self.members.values().all(|m| m.assignors.contains(a)));
        let votes = |a: &AssignorKind| {
            self.members
                .values()
                .filter(|m| m.assignors.iter().find(|x| candidates.contains(x)) == Some(a))
                .count()
        };
        let leader_order = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .map(|m| m.assignors.clone())
            .unwrap_or_default();
        let rank = |a: &AssignorKind| {
            leader_order
                .iter()
                .position(|x| x == a)
                .unwrap_or(usize::MAX)
        };
        candidates
            .iter()
            .copied()
            .max_by(|a, b| votes(a).cmp(&votes(b)).then(rank(b).cmp(&rank(a))))
    }

    fn counts(&self, partitions_of: &dyn Fn(&str) -> Option<i32>) -> BTreeMap<String, i32> {
        self.members
            .values()
            .flat_map(|m| m.topics.iter())
            .filter_map(|t| partitions_of(t).map(|c| (t.clone(), c)))
            .collect()
    }

    /// Completes the rebalance if every member has rejoined.
    fn try_complete(&mut self, partitions_of: &dyn Fn(&str) -> Option<i32>, now_ms: i64) -> bool {
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
        let counts = self.counts(partitions_of);
        let subscriptions: Vec<MemberSubscription> = self
            .members
            .iter()
            .map(|(id, m)| {
                // Eager `sticky` claims the last assignment (its user data); the others
                // what the member still owns.
                let (owned, generation) = match protocol {
                    AssignorKind::Sticky => m.last_assignment.clone(),
                    _ => (m.owned.clone(), m.owned_generation),
                };
                MemberSubscription {
                    member_id: id.clone(),
                    instance_id: m.instance_id.clone(),
                    topics: m.topics.clone(),
                    owned,
                    generation,
                }
            })
            .collect();
        let mut assignment = assign(protocol, &subscriptions, &counts);
        self.generation += 1;
        for (id, member) in self.members.iter_mut() {
            member.assignment = assignment.remove(id).unwrap_or_default();
            member.joined_generation = self.generation;
        }
        self.protocol = Some(protocol);
        self.partition_counts = counts;
        self.state = GroupState::CompletingRebalance;
        true
    }

    /// Kafka's INCONSISTENT_GROUP_PROTOCOL: a newcomer must share an assignor with what
    /// every current member supports.
    fn check_protocol(&self, group_id: &str, request: &JoinRequest) -> Result<()> {
        let rejoining = request
            .member_id
            .as_ref()
            .is_some_and(|id| self.members.contains_key(id));
        let common: Vec<AssignorKind> = match self.members.values().next() {
            Some(first) => first
                .assignors
                .iter()
                .copied()
                .filter(|a| self.members.values().all(|m| m.assignors.contains(a)))
                .collect(),
            None => request.assignors.clone(),
        };
        if !rejoining
            && !self.members.is_empty()
            && !common.iter().any(|a| request.assignors.contains(a))
        {
            return Err(Error::InconsistentGroupProtocol(format!(
                "group '{group_id}' uses {}; this consumer offers {}",
                names(&common),
                names(&request.assignors)
            )));
        }
        Ok(())
    }

    /// The joining member's id, and whether its join needs a rebalance: its current id, a
    /// static member's old place (without a rebalance when its topics are unchanged), or a
    /// new member's id.
    fn member_for(&mut self, request: &JoinRequest, now: i64, expiry: i64) -> (String, bool) {
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
                assignors: Vec::new(),
                owned: Vec::new(),
                owned_generation: -1,
                last_assignment: (Vec::new(), -1),
                joined_generation: -1,
                joined: false,
                assignment: Vec::new(),
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
    fn update_member(
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
        member.assignors = request.assignors;
        member.owned = request.owned;
        member.owned_generation = request.generation;
        member.last_assignment = request.last_assignment;
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
}

/// A member as [`crate::Cluster::describe_group`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// `group.instance.id`, for static members.
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// The host: always `/127.0.0.1` in one process.
    pub host: String,
    /// The partitions of the current generation.
    pub assignment: Vec<TopicPartition>,
}

/// A group as the tools show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: GroupState,
    /// The assignor in use (`range`, ...), once a rebalance completed.
    pub protocol: Option<String>,
    /// The generation.
    pub generation: i32,
    /// Its members.
    pub members: Vec<MemberDescription>,
}

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
        if let Some(member) = group.members.get_mut(member_id) {
            member.last_seen_ms = now;
            member.in_poll = true;
        }
        let before = (group.state, group.generation);
        group.expire(now);
        if group.state != GroupState::PreparingRebalance
            && !group.members.is_empty()
            && group.counts(partitions_of) != group.partition_counts
        {
            group.start_rebalance();
        }
        group.try_complete(partitions_of, now);
        let leader = group.leader.as_deref() == Some(member_id);
        if group.state == GroupState::CompletingRebalance && leader {
            // The leader takes the assignment (its SyncGroup): everyone may now.
            group.state = GroupState::Stable;
            group.synced_generation = group.generation;
        }
        let answer = match group.members.get(member_id) {
            None => CheckIn::Unknown,
            Some(m) if group.state == GroupState::PreparingRebalance && !m.joined => {
                let missed = (m.joined_generation == group.generation).then(|| {
                    let synced = group.synced_generation == group.generation;
                    (group.generation, synced.then(|| m.assignment.clone()))
                });
                CheckIn::MustJoin { missed }
            }
            Some(_) if group.state != GroupState::Stable => CheckIn::Waiting,
            Some(m) => CheckIn::Assigned {
                generation: group.generation,
                partitions: m.assignment.clone(),
            },
        };
        let changed = before != (group.state, group.generation);
        drop(groups);
        if changed {
            self.changed();
        }
        answer
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

    /// Whether `member_id` is in the group at `generation` (no rebalance has moved past it).
    pub(crate) fn is_current(&self, group_id: &str, member_id: &str, generation: i32) -> bool {
        let groups = self.groups.lock();
        groups.get(group_id).is_some_and(|g| {
            g.members.contains_key(member_id)
                && g.generation == generation
                && g.state != GroupState::PreparingRebalance
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
    /// members.
    pub(crate) fn commit(
        &self,
        group_id: &str,
        member: Option<(&str, i32)>,
        offsets: &Offsets,
    ) -> Result<()> {
        let mut groups = self.groups.lock();
        if let Some(group) = groups.get_mut(group_id) {
            // A member out of poll past max.poll.interval.ms has left (Kafka's consumer leaves
            // when its poll timer expires), also when no other member is there to notice.
            if group.expire(self.clock.now_ms()) {
                self.changed();
            }
            match member {
                Some((id, _)) if group.fenced.contains(id) => {
                    return Err(Error::FencedInstanceId(id.to_string()))
                }
                Some((id, generation)) if !group.members.contains_key(id) => {
                    return Err(Error::CommitFailed(format!(
                        "member '{id}' (generation {generation}) is no longer in group '{group_id}', which is at generation {}",
                        group.generation
                    )));
                }
                Some((id, generation)) if generation != group.generation => {
                    // Still a member, but it has not taken the new generation's assignment
                    // yet (Kafka's RebalanceInProgressException): poll, then commit again.
                    return Err(Error::RebalanceInProgress(format!(
                        "member '{id}' of group '{group_id}' committed for generation {generation}, but a rebalance moved the group to generation {}; call poll and commit again",
                        group.generation
                    )));
                }
                Some(_) => {}
                None if !group.members.is_empty() => {
                    return Err(Error::CommitFailed(format!(
                        "group '{group_id}' has active members; a consumer that is not one of them cannot commit"
                    )))
                }
                None => {}
            }
        }
        // Holding the groups lock orders commits with membership changes.
        self.offsets.commit(group_id, offsets, self.clock.now_ms())
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
                protocol: group.protocol.map(|p| p.name().to_string()),
                generation: group.generation,
                members: group
                    .members
                    .iter()
                    .map(|(id, m)| MemberDescription {
                        member_id: id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        host: "/127.0.0.1".into(),
                        assignment: m.assignment.clone(),
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

fn names(assignors: &[AssignorKind]) -> String {
    assignors
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}
