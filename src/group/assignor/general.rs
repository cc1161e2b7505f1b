//! The sticky algorithm when members subscribe to different topics: Kafka's
//! `AbstractStickyAssignor.GeneralAssignmentBuilder`, step for step. Valid previous ownership
//! stays; free partitions go, scarcest topics first, to the least-loaded member subscribed to
//! them; then partitions move from members with two or more than another eligible member,
//! back to an older-generation owner where one is underloaded, the whole move kept only if it
//! improves balance. Where Kafka iterates a `HashMap` of members (ties between equal claims
//! of older generations), members here are visited in sorted order; where it picks "any"
//! partition of a set, the pick is Java's ([`JavaHashSet`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::java_set::JavaHashSet;
use super::{MemberSubscription, Owned, Partitions};
use crate::group::TopicPartition;

/// Assigns `counts`' partitions (topics some member subscribes to that have partitions) to
/// `members`, keeping the valid previous ownership in `owned`.
pub(super) fn assign(
    members: &[&MemberSubscription],
    counts: &BTreeMap<String, i32>,
    owned: Owned,
) -> Partitions {
    let mut builder = Builder::new(members, counts, owned);
    let unassigned = builder.unassigned();
    builder.balance(unassigned);
    members
        .iter()
        .map(|m| {
            let id = m.member_id.as_str();
            (
                m.member_id.clone(),
                builder.current.remove(id).unwrap_or_default(),
            )
        })
        .collect()
}

struct Builder<'a> {
    /// Each topic's name and partition count (Kafka's `partitionsPerTopic`).
    topics: BTreeMap<&'a str, (Arc<str>, i32)>,
    /// The members subscribed to each topic (`topic2AllPotentialConsumers`).
    topic_members: HashMap<&'a str, Vec<&'a str>>,
    /// Each member's subscribed topics that exist (`consumer2AllPotentialTopics`).
    member_topics: HashMap<&'a str, Vec<&'a str>>,
    /// Each member taking part in the balancing, with its partitions (`currentAssignment`).
    current: HashMap<&'a str, Vec<TopicPartition>>,
    /// Who holds each partition (`currentPartitionConsumer`).
    owner: HashMap<TopicPartition, &'a str>,
    /// Members by (partition count, member id) (`sortedCurrentSubscriptions`).
    by_load: BTreeSet<(usize, &'a str)>,
    /// Every partition, the topics with the fewest subscribers first (`sortedAllPartitions`).
    sorted_all: Vec<TopicPartition>,
    /// A member keeps a partition of a topic it no longer subscribes to.
    revocation_required: bool,
    /// The most recent owner of each partition among the members of older generations,
    /// with its generation (`prevAssignment`).
    previous: HashMap<TopicPartition, (&'a str, i32)>,
    movements: Movements<'a>,
}

impl<'a> Builder<'a> {
    fn new(
        members: &[&'a MemberSubscription],
        counts: &'a BTreeMap<String, i32>,
        owned: Owned,
    ) -> Self {
        let Owned {
            by_member: mut owned,
            revocation_required,
            ..
        } = owned;
        let topics: BTreeMap<&str, (Arc<str>, i32)> = counts
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(t, &n)| (t.as_str(), (Arc::from(t.as_str()), n)))
            .collect();
        let mut topic_members: HashMap<&str, Vec<&str>> =
            topics.keys().map(|&t| (t, Vec::new())).collect();
        let mut member_topics = HashMap::new();
        let mut current = HashMap::new();
        let mut owner = HashMap::new();
        for member in members {
            let id = member.member_id.as_str();
            let mut subscribed = Vec::new();
            for topic in &member.topics {
                if let Some(list) = topic_members.get_mut(topic.as_str()) {
                    list.push(id);
                    subscribed.push(topic.as_str());
                }
            }
            member_topics.insert(id, subscribed);
            let mine = owned.remove(id).unwrap_or_default();
            for tp in &mine {
                owner.insert(tp.clone(), id);
            }
            current.insert(id, mine);
        }
        // Kafka's TopicComparator: fewest potential members first, then by name.
        let mut order: Vec<&str> = topics.keys().copied().collect();
        order.sort_by_key(|t| (topic_members[t].len(), *t));
        let sorted_all = order
            .iter()
            .flat_map(|t| {
                let (name, count) = &topics[t];
                (0..*count).map(|p| TopicPartition::new(Arc::clone(name), p))
            })
            .collect();
        let by_load = current.iter().map(|(&m, v)| (v.len(), m)).collect();
        let mut builder = Builder {
            topics,
            topic_members,
            member_topics,
            current,
            owner,
            by_load,
            sorted_all,
            revocation_required,
            previous: HashMap::new(),
            movements: Movements::default(),
        };
        builder.prepopulate_previous(members);
        builder
    }

    /// Kafka's `prepopulateCurrentAssignments`: what members of generations older than the
    /// newest claimed, each partition kept for the newest of those claims.
    fn prepopulate_previous(&mut self, members: &[&'a MemberSubscription]) {
        // Kafka's maxGeneration starts at DEFAULT_GENERATION (−1).
        let newest = members
            .iter()
            .map(|m| m.generation)
            .max()
            .unwrap_or(-1)
            .max(-1);
        for member in members.iter().filter(|m| m.generation < newest) {
            for tp in &member.owned {
                let replace = self
                    .previous
                    .get(tp)
                    .is_none_or(|&(_, generation)| member.generation > generation);
                if replace {
                    self.previous
                        .insert(tp.clone(), (member.member_id.as_str(), member.generation));
                }
            }
        }
    }

    /// The partitions nobody keeps, in `sorted_all`'s order.
    fn unassigned(&self) -> Vec<TopicPartition> {
        self.sorted_all
            .iter()
            .filter(|tp| !self.owner.contains_key(*tp))
            .cloned()
            .collect()
    }

    fn subscribes(&self, member: &str, topic: &str) -> bool {
        self.member_topics
            .get(member)
            .is_some_and(|t| t.contains(&topic))
    }

    fn load(&self, member: &str) -> usize {
        self.current.get(member).map_or(0, Vec::len)
    }

    /// The most partitions `member` could hold: every partition of its topics.
    fn max_load(&self, member: &str) -> usize {
        self.member_topics[member]
            .iter()
            .map(|t| usize::try_from(self.topics[t].1).unwrap_or(0))
            .sum()
    }

    /// Kafka's `isBalanced`: loads differ by at most one, or no member could take a
    /// partition from one holding two or more than it.
    fn is_balanced(&self) -> bool {
        let (Some(&(min, _)), Some(&(max, _))) = (self.by_load.first(), self.by_load.last()) else {
            return true;
        };
        if min + 1 >= max {
            return true;
        }
        for &(load, member) in &self.by_load {
            if load == self.max_load(member) {
                continue;
            }
            for topic in &self.member_topics[member] {
                let (name, count) = &self.topics[topic];
                for p in 0..*count {
                    let tp = TopicPartition::new(Arc::clone(name), p);
                    match self.owner.get(&tp) {
                        Some(&other) if other != member && load + 1 < self.load(other) => {
                            return false
                        }
                        _ => {}
                    }
                }
            }
        }
        true
    }

    /// The least-loaded member subscribed to `topic` (ties: member id), with its load.
    fn least_loaded_subscriber(&self, topic: &str) -> Option<(usize, &'a str)> {
        self.by_load
            .iter()
            .find(|(_, m)| self.subscribes(m, topic))
            .copied()
    }

    /// Gives `tp` to the least-loaded member subscribed to its topic.
    fn assign_to_least_loaded(&mut self, tp: &TopicPartition) {
        let Some((load, member)) = self.least_loaded_subscriber(&tp.topic) else {
            return;
        };
        self.by_load.remove(&(load, member));
        self.current
            .get_mut(member)
            .expect("member")
            .push(tp.clone());
        self.owner.insert(tp.clone(), member);
        self.by_load.insert((load + 1, member));
    }

    fn topic_can_move(&self, topic: &str) -> bool {
        self.topic_members.get(topic).is_some_and(|m| m.len() >= 2)
    }

    fn member_can_move(&self, member: &str) -> bool {
        let mine = &self.current[member];
        mine.len() < self.max_load(member) || mine.iter().any(|tp| self.topic_can_move(&tp.topic))
    }

    /// Kafka's `balance`.
    fn balance(&mut self, mut unassigned: Vec<TopicPartition>) {
        let initializing = self.by_load.last().is_none_or(|&(load, _)| load == 0);
        for tp in &unassigned {
            self.assign_to_least_loaded(tp);
        }
        // Only topics with two or more subscribers, and members that could change, take part.
        let fixed_topics: BTreeSet<&str> = self
            .topics
            .keys()
            .copied()
            .filter(|t| !self.topic_can_move(t))
            .collect();
        self.sorted_all
            .retain(|tp| !fixed_topics.contains(&*tp.topic));
        unassigned.retain(|tp| !fixed_topics.contains(&*tp.topic));
        let fixed_members: Vec<&str> = self
            .member_topics
            .keys()
            .copied()
            .filter(|m| !self.member_can_move(m))
            .collect();
        let mut fixed = Vec::new();
        for member in fixed_members {
            let partitions = self.current.remove(member).expect("member");
            self.by_load.remove(&(partitions.len(), member));
            fixed.push((member, partitions));
        }
        let before = (self.current.clone(), self.owner.clone());
        if !self.revocation_required {
            // First try moving only the newly assigned partitions (its outcome is not
            // weighed: Kafka discards it).
            self.perform_reassignments(&unassigned);
        }
        let all = std::mem::take(&mut self.sorted_all);
        let reassigned = self.perform_reassignments(&all);
        if !initializing
            && reassigned
            && score(self.current.values().map(Vec::len)) >= score(before.0.values().map(Vec::len))
        {
            (self.current, self.owner) = before;
        }
        self.current.extend(fixed);
    }

    /// Kafka's `performReassignments`: passes over `partitions` while unbalanced, moving each
    /// to its older-generation owner if that one holds two fewer, else to the least-loaded
    /// subscriber if some subscriber holds two fewer, until a pass moves nothing.
    fn perform_reassignments(&mut self, partitions: &[TopicPartition]) -> bool {
        let mut reassigned = false;
        let mut seen = HashSet::new();
        loop {
            let mut modified = false;
            for tp in partitions {
                if self.is_balanced() {
                    break;
                }
                let Some(&holder) = self.owner.get(tp) else {
                    continue;
                };
                let load = self.load(holder);
                if let Some(&(previous, _)) = self.previous.get(tp) {
                    // Kafka does not check that the older owner still takes part and still
                    // subscribes (it throws, or hands over a topic the member dropped).
                    let eligible =
                        self.current.contains_key(previous) && self.subscribes(previous, &tp.topic);
                    if eligible && load > self.load(previous) + 1 {
                        self.reassign(tp, previous);
                        (reassigned, modified) = (true, true);
                        continue;
                    }
                }
                let underloaded = self.topic_members[&*tp.topic]
                    .iter()
                    .any(|other| self.current.contains_key(other) && load > self.load(other) + 1);
                if !underloaded {
                    continue;
                }
                // To the least-loaded subscriber (there is one: a subscriber is underloaded).
                if let Some((_, to)) = self.least_loaded_subscriber(&tp.topic) {
                    self.reassign(tp, to);
                    (reassigned, modified) = (true, true);
                }
            }
            if !modified {
                return reassigned;
            }
            // A pass that ends where an earlier one did has found a cycle: from there Kafka's
            // loop never ends (a substitution keeps undoing a move). It stops here instead.
            if !seen.insert(self.fingerprint()) {
                return reassigned;
            }
        }
    }

    /// Everything the next pass depends on: who holds what, and the movements (with the
    /// order in which their sets give partitions back).
    fn fingerprint(&self) -> Fingerprint<'a> {
        let mut owners: Vec<(TopicPartition, &'a str)> =
            self.owner.iter().map(|(tp, &m)| (tp.clone(), m)).collect();
        owners.sort();
        (owners, self.movements.fingerprint())
    }

    /// Kafka's `reassignPartition`: moves `tp` to `to`, or, if a partition of its topic moved
    /// the other way between the same two members, moves that one back instead.
    fn reassign(&mut self, tp: &TopicPartition, to: &'a str) {
        let from = self.owner[tp];
        let moving = self.movements.actual_partition_to_move(tp, from, to);
        let from = self.owner[&moving];
        for member in [from, to] {
            self.by_load.remove(&(self.load(member), member));
        }
        self.movements.record(&moving, from, to);
        self.current
            .get_mut(from)
            .expect("member")
            .retain(|p| *p != moving);
        self.current
            .get_mut(to)
            .expect("member")
            .push(moving.clone());
        self.owner.insert(moving, to);
        for member in [to, from] {
            self.by_load.insert((self.load(member), member));
        }
    }
}

/// What [`Builder::fingerprint`] gives.
type Fingerprint<'a> = (Vec<(TopicPartition, &'a str)>, MovementsPrint<'a>);

/// The movements as they will act: each moved partition's (from, to), and each set of
/// (topic, from, to) with its table size and its partitions in the order Java gives them.
type MovementsPrint<'a> = (
    Vec<(TopicPartition, &'a str, &'a str)>,
    Vec<(Arc<str>, &'a str, &'a str, usize, Vec<TopicPartition>)>,
);

/// Kafka's `getBalanceScore` (and librdkafka's): the sum of the load differences of every
/// pair of members, given each member's partition count.
pub(super) fn score(loads: impl IntoIterator<Item = usize>) -> usize {
    let loads: Vec<usize> = loads.into_iter().collect();
    loads
        .iter()
        .enumerate()
        .flat_map(|(i, a)| loads[i + 1..].iter().map(move |b| a.abs_diff(*b)))
        .sum()
}

/// Kafka's `PartitionMovements`: where each moved partition came from and went, and per
/// topic which partitions moved between each (from, to) pair, so that a later move the
/// other way takes one of those back instead of moving a second partition.
#[derive(Default)]
struct Movements<'a> {
    of: HashMap<TopicPartition, (&'a str, &'a str)>,
    by_topic: HashMap<Arc<str>, HashMap<(&'a str, &'a str), JavaHashSet>>,
}

impl<'a> Movements<'a> {
    fn actual_partition_to_move(
        &self,
        tp: &TopicPartition,
        from: &'a str,
        to: &'a str,
    ) -> TopicPartition {
        let Some(pairs) = self.by_topic.get(&tp.topic) else {
            return tp.clone();
        };
        // A partition that moved before counts as moving from where it started.
        let from = self.of.get(tp).map_or(from, |&(source, _)| source);
        pairs
            .get(&(to, from))
            .and_then(JavaHashSet::first)
            .unwrap_or(tp)
            .clone()
    }

    fn fingerprint(&self) -> MovementsPrint<'a> {
        let mut of: Vec<_> = self
            .of
            .iter()
            .map(|(tp, &(from, to))| (tp.clone(), from, to))
            .collect();
        of.sort();
        let mut sets: Vec<_> = self
            .by_topic
            .iter()
            .flat_map(|(topic, pairs)| {
                pairs.iter().map(move |(&(from, to), set)| {
                    let (capacity, order) = set.in_order();
                    (Arc::clone(topic), from, to, capacity, order)
                })
            })
            .collect();
        sets.sort();
        (of, sets)
    }

    fn record(&mut self, tp: &TopicPartition, from: &'a str, to: &'a str) {
        match self.remove(tp) {
            // It moved before: one move from where it started, unless it went back there.
            Some((source, _)) if source != to => self.add(tp, source, to),
            Some(_) => {}
            None => self.add(tp, from, to),
        }
    }

    fn remove(&mut self, tp: &TopicPartition) -> Option<(&'a str, &'a str)> {
        let pair = self.of.remove(tp)?;
        let pairs = self
            .by_topic
            .get_mut(&tp.topic)
            .expect("recorded per topic");
        let set = pairs.get_mut(&pair).expect("recorded per pair");
        set.remove(tp);
        if set.is_empty() {
            pairs.remove(&pair);
        }
        if pairs.is_empty() {
            self.by_topic.remove(&tp.topic);
        }
        Some(pair)
    }

    fn add(&mut self, tp: &TopicPartition, from: &'a str, to: &'a str) {
        self.of.insert(tp.clone(), (from, to));
        self.by_topic
            .entry(Arc::clone(&tp.topic))
            .or_default()
            .entry((from, to))
            .or_default()
            .insert(tp.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    /// Kafka's `PartitionMovements`: a move the other way between two members takes back a
    /// partition that already moved between them (the first in Java's `HashSet` order: t-1
    /// hashes to bucket 4, t-0 to 5), so each pair moves partitions one way only.
    #[test]
    fn a_move_back_returns_a_partition_that_already_moved() {
        let mut movements = Movements::default();
        assert_eq!(
            movements.actual_partition_to_move(&tp(5), "c2", "c1"),
            tp(5)
        );
        movements.record(&tp(0), "c1", "c2");
        movements.record(&tp(1), "c1", "c2");
        assert_eq!(
            movements.actual_partition_to_move(&tp(5), "c2", "c1"),
            tp(1)
        );
        // Other pairs and other topics are not affected.
        assert_eq!(
            movements.actual_partition_to_move(&tp(5), "c2", "c3"),
            tp(5)
        );
        let other = TopicPartition::new("u", 5);
        assert_eq!(
            movements.actual_partition_to_move(&other, "c2", "c1"),
            other
        );
    }

    /// A partition moving twice counts as one move from where it started; moving back there
    /// erases it.
    #[test]
    fn moves_chain_from_the_first_owner() {
        let mut movements = Movements::default();
        movements.record(&tp(0), "c1", "c2");
        movements.record(&tp(0), "c2", "c3");
        assert_eq!(movements.of[&tp(0)], ("c1", "c3"));
        // Another partition moving c3 → c1 takes t-0 back instead (it moved c1 → c3).
        assert_eq!(
            movements.actual_partition_to_move(&tp(9), "c3", "c1"),
            tp(0)
        );
        movements.record(&tp(0), "c3", "c1");
        assert!(movements.of.is_empty());
        assert!(movements.by_topic.is_empty());
    }

    #[test]
    fn score_sums_pairwise_differences() {
        let loads = HashMap::from([
            ("a", vec![tp(0), tp(1), tp(2)]),
            ("b", vec![tp(3)]),
            ("c", Vec::new()),
        ]);
        // |3−1| + |3−0| + |1−0|
        assert_eq!(score(loads.values().map(Vec::len)), 6);
    }
}
