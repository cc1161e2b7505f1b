//! The consumer's assignors: resolving `partition.assignment.strategy` to assignor instances,
//! and leading a rebalance (Kafka's `ConsumerCoordinator.onLeaderElected`): running the
//! group's assignor over every member's subscription, checking what it returns, and handing it
//! to the coordinator.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::state::State;
use crate::config::{nearest, AssignorKind};
use crate::error::{Error, Result};
use crate::group::assignor::{
    ClusterMetadata, ConsumerPartitionAssignor, GroupAssignment, GroupSubscription,
    RebalanceProtocol,
};
use crate::group::TopicPartition;

const STRATEGY: &str = "partition.assignment.strategy";
const BUILT_IN: [AssignorKind; 4] = [
    AssignorKind::Range,
    AssignorKind::RoundRobin,
    AssignorKind::Sticky,
    AssignorKind::CooperativeSticky,
];

/// One assignor per name in `strategy`, in its order: an added one of that name, else the
/// built-in (librdkafka's, for a `kafkalite::rdkafka` consumer). Every added assignor must
/// be named there, and no two may share a name.
pub(super) fn resolve_assignors(
    strategy: &[String],
    added: Vec<Arc<dyn ConsumerPartitionAssignor>>,
    librdkafka: bool,
) -> Result<Vec<Arc<dyn ConsumerPartitionAssignor>>> {
    let invalid = |message: String, suggestion: Option<String>| Error::InvalidConfig {
        key: STRATEGY.into(),
        message,
        suggestion,
    };
    let mut by_name: BTreeMap<String, Arc<dyn ConsumerPartitionAssignor>> = BTreeMap::new();
    for assignor in added {
        let name = assignor.name().to_string();
        if !strategy.contains(&name) {
            return Err(invalid(
                format!(
                    "the added assignor '{name}' is not named in it ({}); list it where it ranks",
                    strategy.join(",")
                ),
                None,
            ));
        }
        if by_name.insert(name.clone(), assignor).is_some() {
            return Err(invalid(
                format!("two added assignors are named '{name}'; names must be unique"),
                None,
            ));
        }
    }
    strategy
        .iter()
        .map(|name| {
            if let Some(assignor) = by_name.get(name) {
                return Ok(Arc::clone(assignor));
            }
            match AssignorKind::parse(name) {
                Some(kind) if librdkafka => Ok(kind.librdkafka_assignor()),
                Some(kind) => Ok(kind.assignor()),
                None => {
                    let known = BUILT_IN.iter().map(|k| k.name());
                    Err(invalid(
                        format!("'{name}' is neither a built-in assignor (range, roundrobin, sticky, cooperative-sticky) nor one added with ConsumerBuilder::assignor"),
                        nearest(name, known),
                    ))
                }
            }
        })
        .collect()
}

/// The highest protocol every assignor supports (Kafka's consumer picks it once, at
/// construction): cooperative only when all of them are.
pub(super) fn highest_common_protocol(
    assignors: &[Arc<dyn ConsumerPartitionAssignor>],
) -> RebalanceProtocol {
    let all_cooperative = assignors.iter().all(|a| {
        a.supported_protocols()
            .contains(&RebalanceProtocol::Cooperative)
    });
    if all_cooperative && !assignors.is_empty() {
        RebalanceProtocol::Cooperative
    } else {
        RebalanceProtocol::Eager
    }
}

impl State {
    /// As the leader of `generation`: runs this consumer's assignor named `protocol` and
    /// hands the checked assignment to the coordinator. Fails with
    /// [`Error::AssignorFailed`], leaving the rebalance to wait for the next `poll`.
    pub(super) fn lead(
        &mut self,
        generation: i32,
        protocol: &str,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<()> {
        let failed = |reason: String| Error::AssignorFailed {
            assignor: protocol.to_string(),
            reason,
        };
        let assignor = self
            .assignors
            .iter()
            .find(|a| a.name() == protocol)
            .ok_or_else(|| failed("this consumer has no assignor of that name".into()))?;
        let assignment = match catch_unwind(AssertUnwindSafe(|| assignor.assign(metadata, group))) {
            Ok(Ok(assignment)) => assignment,
            Ok(Err(e)) => return Err(failed(e.to_string())),
            Err(panic) => return Err(failed(format!("it panicked: {}", panic_message(&panic)))),
        };
        check_assignment(metadata, group, &assignment).map_err(&failed)?;
        if self.protocol == RebalanceProtocol::Cooperative {
            check_cooperative(group, &assignment).map_err(&failed)?;
        }
        let group_id = self.group_id()?.to_string();
        let member_id = self.member_id.clone().unwrap_or_default();
        self.coordinator()?
            .sync(&group_id, &member_id, generation, assignment);
        Ok(())
    }
}

/// Every member the assignment names is in the group, and every partition exists.
fn check_assignment(
    metadata: &ClusterMetadata,
    group: &GroupSubscription,
    assignment: &GroupAssignment,
) -> std::result::Result<(), String> {
    for (member, share) in &assignment.assignments {
        if !group.subscriptions.contains_key(member) {
            return Err(format!(
                "it assigned partitions to '{member}', which is not a member of the group"
            ));
        }
        for tp in &share.partitions {
            let exists = metadata
                .partition_count(&tp.topic)
                .is_some_and(|count| (0..count).contains(&tp.partition));
            if !exists {
                return Err(format!("it assigned {tp} to '{member}', but no such partition exists in the metadata it was given"));
            }
        }
    }
    Ok(())
}

/// Kafka's `validateCooperativeAssignment`: no partition may go to a member while another
/// member that owned it loses it in the same round (it must be revoked first, then assigned
/// in the follow-up rebalance).
fn check_cooperative(
    group: &GroupSubscription,
    assignment: &GroupAssignment,
) -> std::result::Result<(), String> {
    let mut added: BTreeSet<&TopicPartition> = BTreeSet::new();
    let mut revoked: BTreeSet<&TopicPartition> = BTreeSet::new();
    for (member, subscription) in &group.subscriptions {
        let owned = &subscription.owned_partitions;
        let assigned: &[TopicPartition] = assignment
            .assignments
            .get(member)
            .map_or(&[], |a| &a.partitions);
        added.extend(assigned.iter().filter(|tp| !owned.contains(tp)));
        revoked.extend(owned.iter().filter(|tp| !assigned.contains(tp)));
    }
    match added.intersection(&revoked).next() {
        Some(tp) => Err(format!(
            "it hands {tp} straight to a new owner while its owner revokes it; the cooperative protocol needs it withheld for one rebalance"
        )),
        None => Ok(()),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".into())
}
