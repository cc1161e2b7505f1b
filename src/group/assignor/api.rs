//! The partition assignor interface (Kafka's `ConsumerPartitionAssignor`): what the group's
//! leader runs to hand out partitions, what each member contributes to it, and what each
//! member hears back.

use std::collections::{BTreeMap, BTreeSet};

use crate::group::{ConsumerGroupMetadata, TopicPartition};

/// A rebalance protocol (KIP-429). A consumer uses the highest protocol every one of its
/// assignors supports; `Eager` revokes everything before each rebalance, `Cooperative` only
/// what changes owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RebalanceProtocol {
    /// Revoke every partition before rejoining.
    Eager,
    /// Keep partitions across rebalances; revoke only those the assignment moves.
    Cooperative,
}

/// An error an assignor returns from [`ConsumerPartitionAssignor::assign`].
pub type AssignError = Box<dyn std::error::Error + Send + Sync>;

/// A partition assignor, as Kafka's `ConsumerPartitionAssignor`.
///
/// Every consumer has its own instances of the assignors its `partition.assignment.strategy`
/// names (the built-ins, or those added with [`crate::ConsumerBuilder::assignor`]). The group
/// picks one protocol name every member offers; the leader member's assignor of that name
/// computes the assignment, in the leader's `poll`; every member's assignor of that name then
/// hears its own share through [`on_assignment`](Self::on_assignment).
///
/// An error from `assign`, a panic in it, or an assignment that names an unknown member or a
/// partition that does not exist, fails the leader's `poll` with
/// [`Error::AssignorFailed`](crate::Error::AssignorFailed); the rebalance waits, and the
/// leader's next `poll` runs the assignor again (Kafka's leader does the same). Under the
/// cooperative protocol an assignment that hands a partition straight from one owner to
/// another (instead of withholding it for a round) fails the same way, as Kafka's
/// `ConsumerCoordinator` checks.
pub trait ConsumerPartitionAssignor: Send + Sync {
    /// The protocol name members vote with, as listed in `partition.assignment.strategy`.
    fn name(&self) -> &str;

    /// The rebalance protocols this assignor works with (default: eager only).
    fn supported_protocols(&self) -> Vec<RebalanceProtocol> {
        vec![RebalanceProtocol::Eager]
    }

    /// The user data this member sends with its subscription for `topics` (default: none).
    fn subscription_user_data(&self, topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        let _ = topics;
        None
    }

    /// The assignment for every member of `group`, given the partitions of every topic that
    /// exists among the subscribed ones. Members left out get no partitions.
    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError>;

    /// This member's share of a completed rebalance (default: nothing to do).
    fn on_assignment(&self, assignment: &Assignment, metadata: &ConsumerGroupMetadata) {
        let _ = (assignment, metadata);
    }
}

/// The topics an assignment may use: each existing subscribed topic's partition count
/// (Kafka's `Cluster` as the assignor sees it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    partitions: BTreeMap<String, i32>,
}

impl ClusterMetadata {
    /// Metadata with these (topic, partition count) pairs.
    pub fn new<T: Into<String>>(topics: impl IntoIterator<Item = (T, i32)>) -> Self {
        ClusterMetadata {
            partitions: topics.into_iter().map(|(t, n)| (t.into(), n)).collect(),
        }
    }

    /// The number of partitions of `topic`, if it exists.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.partitions.get(topic).copied()
    }

    /// Every topic with its partition count, by name.
    pub fn topics(&self) -> impl Iterator<Item = (&str, i32)> + '_ {
        self.partitions.iter().map(|(t, &n)| (t.as_str(), n))
    }

    pub(crate) fn counts(&self) -> &BTreeMap<String, i32> {
        &self.partitions
    }
}

/// What one member brings to a rebalance (Kafka's `Subscription`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    /// The topics it subscribes to.
    pub topics: BTreeSet<String>,
    /// What its assignor's [`subscription_user_data`] returned.
    ///
    /// [`subscription_user_data`]: ConsumerPartitionAssignor::subscription_user_data
    pub user_data: Option<Vec<u8>>,
    /// The partitions it owns while rejoining (always none under the eager protocol, which
    /// revokes them first).
    pub owned_partitions: Vec<TopicPartition>,
    /// `group.instance.id`, for static members.
    pub group_instance_id: Option<String>,
    /// The generation it owns them in (`None` before its first rebalance).
    pub generation_id: Option<i32>,
}

/// Every member's subscription, by member id (Kafka's `GroupSubscription`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSubscription {
    /// Member id → subscription.
    pub subscriptions: BTreeMap<String, Subscription>,
}

/// One member's share of a rebalance (Kafka's `Assignment`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Its partitions.
    pub partitions: Vec<TopicPartition>,
    /// Data from the leader's assignor to this member's.
    pub user_data: Option<Vec<u8>>,
}

/// Every member's share (Kafka's `GroupAssignment`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAssignment {
    /// Member id → assignment.
    pub assignments: BTreeMap<String, Assignment>,
}
