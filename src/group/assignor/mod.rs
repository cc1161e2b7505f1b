//! Partition assignors: the public [`ConsumerPartitionAssignor`] trait (Kafka's) and Kafka's
//! four assignors on it, whose algorithms this module reproduces exactly: `range`,
//! `roundrobin`, and the sticky algorithm behind `sticky` and `cooperative-sticky` (Kafka's
//! `AbstractStickyAssignor`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use super::types::TopicPartition;
use crate::cluster::partition_number;
use crate::config::AssignorKind;

mod api;
mod builtin;
mod general;
mod java_set;
mod librdkafka_sticky;
pub use api::{
    AssignError, Assignment, ClusterMetadata, ConsumerPartitionAssignor, GroupAssignment,
    GroupSubscription, RebalanceProtocol, Subscription,
};
pub use builtin::{CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, StickyAssignor};

/// What a member brings to a rebalance.
#[derive(Debug, Clone)]
pub(crate) struct MemberSubscription {
    pub(crate) member_id: String,
    pub(crate) instance_id: Option<String>,
    /// Subscribed topics.
    pub(crate) topics: BTreeSet<String>,
    /// Partitions the member owned when it joined, and the generation it owned them in
    /// (Kafka's `MemberData`: from the user data for eager `sticky`).
    pub(crate) owned: Vec<TopicPartition>,
    pub(crate) generation: i32,
    /// The generation its subscription carries (Kafka's `Subscription.generationId()`, −1
    /// when absent), which another member's claim on the same partition is weighed against.
    pub(crate) subscription_generation: i32,
}

/// Member id to assigned partitions (every member appears, possibly with none).
type Partitions = BTreeMap<String, Vec<TopicPartition>>;

/// Runs `kind` over `members`, given each existing topic's partition count; topics that do
/// not exist are skipped.
fn run(
    kind: AssignorKind,
    members: &[MemberSubscription],
    partitions: &BTreeMap<String, i32>,
) -> Partitions {
    // Kafka's leader walks its `HashMap` of subscriptions and sorts stably: members that
    // sort as equal (one instance id twice) stay in that map's order.
    let by_id: Vec<&MemberSubscription> = members.iter().collect();
    let mut members = java_set::hash_map_order(&by_id, |m| &m.member_id);
    members.sort_by(|a, b| member_order(a, b));
    let (mut assignment, transferring) = match kind {
        AssignorKind::Range => (range(&members, partitions), None),
        AssignorKind::RoundRobin => (round_robin(&members, partitions), None),
        AssignorKind::Sticky | AssignorKind::CooperativeSticky => sticky(&members, partitions),
    };
    if kind.is_cooperative() {
        let transferring =
            transferring.unwrap_or_else(|| computed_transfers(&members, &assignment));
        withhold(&mut assignment, &transferring);
    }
    for partitions in assignment.values_mut() {
        partitions.sort();
    }
    assignment
}

/// librdkafka's `cooperative-sticky` as its group leader runs it: the members in the order a
/// Kafka 4 broker's JoinGroup response lists them, the assignor, then the leader's
/// cooperative adjustment. A member subscribed to no topic is left out after that ordering,
/// claims and all, as librdkafka's leader drops a subscription it cannot parse (an empty
/// one among them), and gets nothing.
fn run_librdkafka_sticky(
    members: &[MemberSubscription],
    partitions: &BTreeMap<String, i32>,
) -> Partitions {
    let listed: Vec<&MemberSubscription> = join_group_order(members)
        .into_iter()
        .filter(|m| !m.topics.is_empty())
        .collect();
    let assignment = librdkafka_sticky::assign(&listed, partitions);
    let mut adjusted = librdkafka_sticky::adjust_cooperative(&listed, &assignment, partitions);
    for m in members {
        adjusted.entry(m.member_id.clone()).or_default();
    }
    adjusted
}

/// The order a Kafka 4 broker's JoinGroup response lists `members` in: its `HashMap` of
/// member ids, each bucket in the order of joins. (The broker's table never shrinks, and
/// grows when nine members share a bucket; here it is sized for the members listed.)
fn join_group_order(members: &[MemberSubscription]) -> Vec<&MemberSubscription> {
    let mut joined: Vec<&MemberSubscription> = members.iter().collect();
    joined.sort_by_key(|m| (join_sequence(&m.member_id), m.member_id.as_str()));
    java_set::hash_map_order(&joined, |m| &m.member_id)
}

/// Where a member came in the order of joins: a Kafka broker keeps its members in a Java
/// `HashMap` (`ClassicGroup.members`), in which members of one bucket iterate in the order
/// they were put there, at their first join (or when a static member was replaced). A
/// kafkalite member id ends in the coordinator's counter at exactly those points
/// (`client.id-n`, `instance-n`); an id without one comes first.
fn join_sequence(member_id: &str) -> u64 {
    member_id
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0)
}

/// Kafka's `MemberInfo` order: static members first by instance id, then the others by member
/// id, as Java compares strings.
fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> std::cmp::Ordering {
    match (&a.instance_id, &b.instance_id) {
        (Some(x), Some(y)) => java_cmp(x, y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => java_cmp(&a.member_id, &b.member_id),
    }
}

/// Java's `String.compareTo`: by UTF-16 code units (a character beyond U+FFFF sorts before
/// one from U+E000 to U+FFFF, where UTF-8's byte order puts it after).
fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn empty(members: &[&MemberSubscription]) -> Partitions {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect()
}

/// Per topic: consecutive ranges, the first `P % N` members taking one extra.
fn range(members: &[&MemberSubscription], partitions: &BTreeMap<String, i32>) -> Partitions {
    let mut assignment = empty(members);
    for (topic, &count) in partitions {
        let subscribed: Vec<&&MemberSubscription> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let name: Arc<str> = Arc::from(topic.as_str());
        let count = usize::try_from(count).unwrap_or(0);
        let (per, extra) = (count / subscribed.len(), count % subscribed.len());
        for (i, member) in subscribed.iter().enumerate() {
            let start = per * i + i.min(extra);
            let length = per + usize::from(i < extra);
            let mine = assignment.get_mut(&member.member_id).expect("every member");
            mine.extend(
                (start..start + length)
                    .map(|p| TopicPartition::new(Arc::clone(&name), partition_number(p))),
            );
        }
    }
    assignment
}

/// Every partition in (topic, partition) order, dealt to the members in turn, skipping members
/// not subscribed to the partition's topic.
fn round_robin(members: &[&MemberSubscription], partitions: &BTreeMap<String, i32>) -> Partitions {
    let mut assignment = empty(members);
    if members.is_empty() {
        return assignment;
    }
    let mut next = 0;
    // Kafka's `TreeSet` of topics, in Java's string order.
    let mut topics: Vec<(&String, &i32)> = partitions.iter().collect();
    topics.sort_by(|a, b| java_cmp(a.0, b.0));
    for (topic, &count) in topics {
        if !members.iter().any(|m| m.topics.contains(topic)) {
            continue;
        }
        let name: Arc<str> = Arc::from(topic.as_str());
        for p in 0..count {
            while !members[next % members.len()].topics.contains(topic) {
                next += 1;
            }
            let member = &members[next % members.len()].member_id;
            assignment
                .get_mut(member)
                .expect("every member")
                .push(TopicPartition::new(Arc::clone(&name), p));
            next += 1;
        }
    }
    assignment
}

/// What the members' claims leave each member (Kafka's `consumerToOwnedPartitions`).
struct Owned {
    /// The partitions each member may keep.
    by_member: HashMap<String, Vec<TopicPartition>>,
    /// Partitions two members claimed in one generation (neither keeps them).
    double_claimed: BTreeSet<TopicPartition>,
    /// A member won a claim on a topic it no longer subscribes to (so it must give up a
    /// partition, Kafka's `revocationRequired`).
    revocation_required: bool,
}

/// The partitions each member may keep from its previous assignment, as Kafka's
/// `AbstractStickyAssignor.allSubscriptionsEqual` decides per partition: a claim stands unless
/// a member of a higher generation claims the same partition (then it moves there); two
/// claims in the same generation cancel out (neither keeps it). Claims outside `partitions`
/// (the topics some member subscribes to) are ignored; then each member drops its claims on
/// topics it no longer subscribes to. Members are visited in sorted order (Kafka: its `HashMap`'s).
fn valid_owned(members: &[&MemberSubscription], partitions: &BTreeMap<String, i32>) -> Owned {
    let mut owned: HashMap<String, Vec<TopicPartition>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    // Each partition's claimant so far, with the generation of its subscription: as Kafka,
    // a claim is weighed against the other claimant's `Subscription.generationId()`.
    let mut claimant: HashMap<TopicPartition, (&str, i32)> = HashMap::new();
    let mut double_claimed = BTreeSet::new();
    for member in members {
        let (id, generation) = (member.member_id.as_str(), member.generation);
        for tp in &member.owned {
            // (Kafka checks the topic only; a claim on a partition that does not exist
            // would end in the assignment.)
            let exists = partitions
                .get(&*tp.topic)
                .is_some_and(|&count| (0..count).contains(&tp.partition));
            if !exists {
                continue;
            }
            let take = match claimant.get(tp).copied() {
                None => true,
                Some((other, other_generation)) if other_generation <= generation => {
                    owned
                        .get_mut(other)
                        .expect("every member")
                        .retain(|p| p != tp);
                    // Same generation: neither keeps it (but a later equal claim still
                    // meets this one); higher: it moves here.
                    if other_generation == generation {
                        double_claimed.insert(tp.clone());
                    }
                    other_generation < generation
                }
                Some(_) => continue,
            };
            claimant.insert(tp.clone(), (id, member.subscription_generation));
            if take {
                owned.get_mut(id).expect("every member").push(tp.clone());
            }
        }
    }
    let mut revocation_required = false;
    for member in members {
        let list = owned.get_mut(&member.member_id).expect("every member");
        let before = list.len();
        list.retain(|tp| member.topics.contains(&*tp.topic));
        revocation_required |= list.len() < before;
        // Kafka keeps a member's partitions in (partition, topic) order when trimming.
        list.sort_by(|a, b| (a.partition, &a.topic).cmp(&(b.partition, &b.topic)));
    }
    Owned {
        by_member: owned,
        double_claimed,
        revocation_required,
    }
}

/// Kafka's sticky algorithm: balance first, then keep previous owners, members walked in
/// Kafka's `HashMap` order of their ids where it matters (members of one bucket: in id
/// order, where Kafka's follows its JoinGroup response).
/// Also returns, when every member subscribes to the same topics, the partitions that change
/// owner (Kafka's `partitionsTransferringOwnership`): a valid owner's partition given to
/// another member, and every partition claimed twice in one generation. Otherwise `None`:
/// the cooperative assignor computes them from the claims ([`computed_transfers`]).
fn sticky(
    members: &[&MemberSubscription],
    partitions: &BTreeMap<String, i32>,
) -> (Partitions, Option<BTreeSet<TopicPartition>>) {
    if members.is_empty() {
        return (Partitions::new(), None);
    }
    // Kafka's `partitionsPerTopic`: the topics some member subscribes to.
    let subscribed: BTreeMap<String, i32> = partitions
        .iter()
        .filter(|(topic, _)| members.iter().any(|m| m.topics.contains(*topic)))
        .map(|(topic, &count)| (topic.clone(), count))
        .collect();
    let owned = valid_owned(members, &subscribed);
    let same_subscriptions = members.windows(2).all(|w| w[0].topics == w[1].topics);
    if !same_subscriptions {
        return (general::assign(members, &subscribed, owned), None);
    }
    let all: Vec<TopicPartition> = subscribed
        .iter()
        .flat_map(|(topic, &count)| {
            let name: Arc<str> = Arc::from(topic.as_str());
            (0..count).map(move |p| TopicPartition::new(Arc::clone(&name), p))
        })
        .collect();
    let valid_owner: HashMap<TopicPartition, String> = owned
        .by_member
        .iter()
        .flat_map(|(m, tps)| tps.iter().map(move |tp| (tp.clone(), m.clone())))
        .collect();
    let assignment = constrained(members, &all, owned.by_member);
    let mut transferring = owned.double_claimed;
    for (member, tps) in &assignment {
        transferring.extend(
            tps.iter()
                .filter(|tp| valid_owner.get(*tp).is_some_and(|o| o != member))
                .cloned(),
        );
    }
    (assignment, Some(transferring))
}

/// Every member subscribes to the same topics (Kafka's `constrainedAssign`).
fn constrained(
    members: &[&MemberSubscription],
    all: &[TopicPartition],
    mut owned: HashMap<String, Vec<TopicPartition>>,
) -> Partitions {
    let n = members.len();
    let min_quota = all.len() / n;
    let max_quota = all.len().div_ceil(n);
    let expected_over_min = all.len() % n;
    let mut over_min = 0;
    let mut assignment = empty(members);
    let mut assigned: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut under_min: Vec<String> = Vec::new();
    let mut at_min: VecDeque<String> = VecDeque::new();
    // Kafka walks its members' claims in its `HashMap`'s order of member ids: who keeps
    // more than the minimum quota depends on it.
    for member in java_set::hash_map_order(members, |m| &m.member_id) {
        let mine = owned.remove(&member.member_id).unwrap_or_default();
        let keep = if mine.len() < min_quota {
            under_min.push(member.member_id.clone());
            mine.len()
        } else if mine.len() >= max_quota && over_min < expected_over_min {
            over_min += 1;
            if over_min == expected_over_min {
                at_min.clear();
            }
            max_quota
        } else {
            if over_min < expected_over_min {
                at_min.push_back(member.member_id.clone());
            }
            min_quota
        };
        assigned.extend(mine[..keep].iter().cloned());
        assignment
            .get_mut(&member.member_id)
            .expect("every member")
            .extend(mine.into_iter().take(keep));
    }
    // Kafka sorts both lists by member id before filling.
    under_min.sort();
    at_min.make_contiguous().sort();
    let mut cursor = 0;
    for tp in all.iter().filter(|tp| !assigned.contains(*tp)) {
        let member = if !under_min.is_empty() {
            if cursor >= under_min.len() {
                cursor = 0;
            }
            under_min[cursor].clone()
        } else {
            let Some(member) = at_min.pop_front() else {
                break; // unreachable: the quotas add up to every partition
            };
            over_min += 1;
            if over_min == expected_over_min {
                at_min.clear();
            }
            assignment
                .get_mut(&member)
                .expect("every member")
                .push(tp.clone());
            continue;
        };
        let mine = assignment.get_mut(&member).expect("every member");
        mine.push(tp.clone());
        if mine.len() == min_quota {
            under_min.remove(cursor);
            at_min.push_back(member);
        } else {
            cursor += 1;
        }
    }
    assignment
}

/// Kafka's `CooperativeStickyAssignor.computePartitionsTransferringOwnership`, for members
/// with different subscriptions: partitions newly assigned to one member that another member
/// claimed and lost.
fn computed_transfers(
    members: &[&MemberSubscription],
    assignment: &Partitions,
) -> BTreeSet<TopicPartition> {
    let mut added = BTreeSet::new();
    let mut revoked = BTreeSet::new();
    for member in members {
        let assigned = &assignment[&member.member_id];
        added.extend(
            assigned
                .iter()
                .filter(|tp| !member.owned.contains(tp))
                .cloned(),
        );
        revoked.extend(
            member
                .owned
                .iter()
                .filter(|tp| !assigned.contains(tp))
                .cloned(),
        );
    }
    added.intersection(&revoked).cloned().collect()
}

/// Cooperative rebalancing (KIP-429): a partition changing owner is withheld from its new
/// owner in this round; the old owner revokes it and rejoins, and the next round hands it
/// over.
fn withhold(assignment: &mut Partitions, transferring: &BTreeSet<TopicPartition>) {
    for partitions in assignment.values_mut() {
        partitions.retain(|tp| !transferring.contains(tp));
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_general;
#[cfg(test)]
mod tests_librdkafka_model;
#[cfg(test)]
mod tests_oracle;
#[cfg(test)]
mod tests_oracle_librdkafka;
#[cfg(test)]
mod tests_oracle_range;
