//! What consumers and the coordinator say to each other (Kafka's JoinGroup, SyncGroup and
//! heartbeat exchanges, in process), and what describing a group reports.

use std::collections::BTreeSet;

use super::assignor::{Assignment, ClusterMetadata, GroupSubscription};
use super::types::TopicPartition;

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members (possibly committed offsets).
    Empty,
    /// Waiting for members to rejoin.
    PreparingRebalance,
    /// Every member has rejoined and the generation is set; waiting for the leader's
    /// assignment (Kafka: the leader's SyncGroup). The other members wait until then.
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
    /// Its assignors' names, in preference order, each with its subscription user data.
    pub(crate) protocols: Vec<JoinProtocol>,
    /// What it owns now (cooperative members keep partitions across rebalances).
    pub(crate) owned: Vec<TopicPartition>,
    /// The generation it owns them in.
    pub(crate) generation: i32,
    pub(crate) max_poll_interval_ms: u64,
}

/// One assignor a joining member offers (Kafka's JoinGroup protocol entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinProtocol {
    pub(crate) name: String,
    pub(crate) user_data: Option<Vec<u8>>,
}

/// A member's share of a completed rebalance (Kafka's SyncGroup response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handout {
    pub(crate) generation: i32,
    /// The assignor the group used.
    pub(crate) protocol: String,
    pub(crate) assignment: Assignment,
}

/// What a member learns when it checks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckIn {
    /// Not (or no longer) a member: its partitions are lost; it must join again.
    Unknown,
    /// Another consumer took its `group.instance.id`.
    Fenced,
    /// A rebalance is under way and the member has not rejoined it yet. `missed`: the last
    /// generation, if the member was in it (as Kafka's JoinGroup and SyncGroup responses
    /// reach a member before it can hear of the next rebalance).
    MustJoin { missed: Option<Missed> },
    /// Rejoined; the others (or the leader's assignment) have not come yet.
    Waiting,
    /// The member leads the new generation: it runs the group's assignor over these
    /// subscriptions and hands the result to `Coordinator::sync`.
    Lead {
        generation: i32,
        protocol: String,
        metadata: ClusterMetadata,
        group: GroupSubscription,
    },
    /// The current generation's assignment.
    Assigned(Handout),
}

/// A generation a member was in but did not take before the next rebalance began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missed {
    /// The generation, whose leader never handed out an assignment.
    Joined(i32),
    /// The generation with the member's assignment there.
    Assigned(Handout),
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
