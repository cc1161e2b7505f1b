//! librdkafka's `cooperative-sticky` assignor (`rdkafka_sticky_assignor.c`,
//! `rd_kafka_sticky_assignor_assign_cb`), step for step, for groups led by a
//! `kafkalite::rdkafka` consumer. It is a port of Kafka's older, general-only sticky
//! algorithm: no equal-subscription (quota) path, its own ways of settling claims, and the
//! orders of librdkafka's containers: an `rd_map` iterates its newest key first, lists keep
//! insertion order, sorts are total orders.
//!
//! Members come in the order of the JoinGroup response (the caller's), topics in metadata
//! order (by name here). Where librdkafka would crash (a null dereference or a failed
//! assertion on an inconsistent movement record), this one goes on with the step left out;
//! where it loops for ever, it stops when a pass ends in a state an earlier pass ended in.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::general::score;
use super::{MemberSubscription, Partitions};
use crate::group::TopicPartition;

mod movements;
mod rd_map;

use movements::{Movements, MovementsPrint};
use rd_map::RdMap;

/// Removes the first `tp` from `list` (`rd_kafka_topic_partition_list_del`).
fn delete(list: &mut Vec<TopicPartition>, tp: &TopicPartition) {
    if let Some(i) = list.iter().position(|p| p == tp) {
        list.remove(i);
    }
}

/// Runs librdkafka's sticky assignor over `members` (in JoinGroup order), given each
/// existing topic's partition count.
pub(super) fn assign(
    members: &[&MemberSubscription],
    counts: &BTreeMap<String, i32>,
) -> Partitions {
    let mut builder = Builder::new(members, counts);
    let sorted = builder.sorted_partitions();
    let (unassigned, revocation_required) = builder.keep_valid(&sorted);
    builder.by_load = builder.current.iter().map(|(&c, _)| c).collect();
    builder.sort_by_load();
    builder.balance(sorted, unassigned, revocation_required);
    members
        .iter()
        .map(|m| {
            let mut mine = builder
                .current
                .get(m.member_id.as_str())
                .cloned()
                .unwrap_or_default();
            mine.sort();
            (m.member_id.clone(), mine)
        })
        .collect()
}

/// librdkafka's `rd_kafka_cooperative_protocol_adjust_assignment`, which its group leader
/// applies to the assignor's result: a partition assigned to a member other than its owner
/// is withheld for this round; one nobody owned goes as assigned; one owned but assigned to
/// nobody goes back to its owner (here only when it is in `counts`, the leader's metadata:
/// the topics some member subscribes to). Where several members claim one partition, its
/// owner is the last of them in JoinGroup order.
pub(super) fn adjust_cooperative(
    members: &[&MemberSubscription],
    assignment: &Partitions,
    counts: &BTreeMap<String, i32>,
) -> Partitions {
    let mut assigned: HashMap<&TopicPartition, &str> = HashMap::new();
    let mut owned: HashMap<&TopicPartition, &str> = HashMap::new();
    for m in members {
        let id = m.member_id.as_str();
        assigned.extend(assignment.get(id).into_iter().flatten().map(|tp| (tp, id)));
        owned.extend(m.owned.iter().map(|tp| (tp, id)));
    }
    let mut adjusted: Partitions = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut give = |member: &str, tp: &TopicPartition| {
        if let Some(list) = adjusted.get_mut(member) {
            list.push(tp.clone());
        }
    };
    for (&tp, &to) in &assigned {
        match owned.get(tp) {
            Some(&owner) if owner != to => {} // withheld: its owner revokes it first
            _ => give(to, tp),
        }
    }
    for (&tp, &owner) in &owned {
        let exists = counts
            .get(&*tp.topic)
            .is_some_and(|&n| (0..n).contains(&tp.partition));
        if !assigned.contains_key(tp) && exists {
            give(owner, tp);
        }
    }
    for list in adjusted.values_mut() {
        list.sort();
    }
    adjusted
}

struct Builder<'a> {
    /// Each member's subscribed topics (`subscriptions`).
    subscriptions: HashMap<&'a str, &'a BTreeSet<String>>,
    /// Each member taking part in the balancing, with its partitions (`currentAssignment`).
    current: RdMap<&'a str, Vec<TopicPartition>>,
    /// The claimant of the next highest generation, per partition (`prevAssignment`).
    previous: HashMap<TopicPartition, &'a str>,
    /// Who holds each partition (`currentPartitionConsumer`): at first the last claimant in
    /// member order, whatever the generations say.
    owner: HashMap<TopicPartition, &'a str>,
    /// Each member's partitions of its topics, topics in metadata order
    /// (`consumer2AllPotentialPartitions`), and the same as a set.
    potential: HashMap<&'a str, (Vec<TopicPartition>, HashSet<TopicPartition>)>,
    /// Each partition's subscribers in member order (`partition2AllPotentialConsumers`).
    subscribers: RdMap<TopicPartition, Vec<&'a str>>,
    /// Members in balancing by (partition count, id) (`sortedCurrentSubscriptions`).
    by_load: Vec<&'a str>,
    /// What `isBalanced` last said, until the assignment changes.
    balanced: Option<bool>,
    movements: Movements<'a>,
}

impl<'a> Builder<'a> {
    /// `prepopulateCurrentAssignments` and `populatePotentialMaps`.
    fn new(members: &[&'a MemberSubscription], counts: &BTreeMap<String, i32>) -> Self {
        let mut builder = Builder {
            subscriptions: HashMap::new(),
            current: RdMap::new(),
            previous: HashMap::new(),
            owner: HashMap::new(),
            potential: HashMap::new(),
            subscribers: RdMap::new(),
            by_load: Vec::new(),
            balanced: None,
            movements: Movements::default(),
        };
        let mut claims: RdMap<TopicPartition, Vec<(&str, i32)>> = RdMap::new();
        for m in members {
            let id = m.member_id.as_str();
            builder.subscriptions.insert(id, &m.topics);
            builder.current.set(id, Vec::new());
            builder.potential.insert(id, Default::default());
            for tp in &m.owned {
                claims
                    .get_or_insert_with(tp.clone(), Vec::new)
                    .push((id, m.generation));
                builder.owner.insert(tp.clone(), id);
            }
        }
        for (tp, claimants) in claims.iter() {
            let mut claimants = claimants.clone();
            claimants.sort_by_key(|&(_, generation)| generation);
            // Two claims in one generation, at any rank: nobody keeps it.
            if claimants.windows(2).any(|w| w[0].1 == w[1].1) {
                builder.owner.remove(tp);
                continue;
            }
            let (holder, _) = claimants[claimants.len() - 1];
            builder
                .current
                .get_mut(holder)
                .expect("a member")
                .push(tp.clone());
            if claimants.len() >= 2 {
                builder
                    .previous
                    .insert(tp.clone(), claimants[claimants.len() - 2].0);
            }
        }
        for (topic, &count) in counts {
            let name: Arc<str> = Arc::from(topic.as_str());
            for m in members.iter().filter(|m| m.topics.contains(topic)) {
                let id = m.member_id.as_str();
                for p in 0..count {
                    let tp = TopicPartition::new(Arc::clone(&name), p);
                    let (list, set) = builder.potential.get_mut(id).expect("a member");
                    list.push(tp.clone());
                    set.insert(tp.clone());
                    builder
                        .subscribers
                        .get_or_insert_with(tp, Vec::new)
                        .push(id);
                }
            }
        }
        builder
    }

    fn load(&self, member: &str) -> Option<usize> {
        self.current.get(member).map(Vec::len)
    }

    fn can_take(&self, member: &str, tp: &TopicPartition) -> bool {
        self.potential
            .get(member)
            .is_some_and(|(_, set)| set.contains(tp))
    }

    /// `sort_by_map_elem_val_toppar_list_cnt`.
    fn sort_by_load(&mut self) {
        let current = &self.current;
        self.by_load
            .sort_by_key(|&c| (current.get(c).map_or(0, Vec::len), c));
    }

    /// `areSubscriptionsIdentical`: every partition has the same subscribers, in the same
    /// order, and every member the same partitions.
    fn subscriptions_identical(&self) -> bool {
        let mut lists = self.subscribers.iter().map(|(_, c)| c);
        let first = lists.next();
        let mut potentials = self.potential.values().map(|(list, _)| list);
        let first_potential = potentials.next();
        lists.all(|c| Some(c) == first) && potentials.all(|p| Some(p) == first_potential)
    }

    /// `sortPartitions` (never a fresh assignment: librdkafka's `currentAssignment` always
    /// holds every member).
    fn sorted_partitions(&mut self) -> Vec<TopicPartition> {
        if !self.subscriptions_identical() {
            let subscribers = &self.subscribers;
            let mut sorted: Vec<TopicPartition> =
                subscribers.iter().map(|(tp, _)| tp.clone()).collect();
            sorted.sort_by_key(|tp| (subscribers.get(tp).map_or(0, Vec::len), tp.clone()));
            return sorted;
        }
        let mut remaining: HashMap<&str, Vec<TopicPartition>> = HashMap::new();
        let mut consumers: Vec<&str> = Vec::new();
        for (&c, list) in self.current.iter_mut() {
            list.sort(); // in place, as librdkafka sorts the member's own list
            let kept: Vec<TopicPartition> = list
                .iter()
                .filter(|tp| self.subscribers.contains_key(*tp))
                .cloned()
                .collect();
            if !kept.is_empty() {
                remaining.insert(c, kept);
                consumers.push(c);
            }
        }
        let by_count = |consumers: &mut Vec<&str>,
                        remaining: &HashMap<&str, Vec<TopicPartition>>| {
            consumers.sort_by_key(|&c| (remaining[c].len(), c));
        };
        by_count(&mut consumers, &remaining);
        let mut sorted = Vec::new();
        while let Some(&c) = consumers.last() {
            let mine = remaining.get_mut(c).expect("listed");
            let pick = mine
                .iter()
                .position(|tp| self.previous.contains_key(tp))
                .or((!mine.is_empty()).then_some(0));
            match pick {
                Some(i) => sorted.push(mine.remove(i)),
                None => {
                    consumers.pop();
                    continue;
                }
            }
            by_count(&mut consumers, &remaining);
        }
        let was_empty = sorted.is_empty();
        let mut listed: HashSet<TopicPartition> = sorted.iter().cloned().collect();
        for (tp, _) in self.subscribers.iter() {
            if listed.insert(tp.clone()) {
                sorted.push(tp.clone());
            }
        }
        if was_empty {
            sorted.sort();
        }
        sorted
    }

    /// The valid previous assignment stays (`assign_cb`'s first loop): a member drops
    /// partitions that no longer exist (forgetting who held them) and those of topics it no
    /// longer subscribes to (a revocation, its holder remembered); what it keeps is not
    /// unassigned.
    fn keep_valid(&mut self, sorted: &[TopicPartition]) -> (Vec<TopicPartition>, bool) {
        let mut kept: HashSet<TopicPartition> = HashSet::new();
        let mut revocation_required = false;
        let Builder {
            current,
            subscriptions,
            subscribers,
            owner,
            ..
        } = self;
        for (&c, list) in current.iter_mut() {
            let subscribed = subscriptions[c];
            list.retain(|tp| {
                if !subscribers.contains_key(tp) {
                    owner.remove(tp);
                    false
                } else if !subscribed.contains(&*tp.topic) {
                    revocation_required = true;
                    false
                } else {
                    kept.insert(tp.clone());
                    true
                }
            });
        }
        let mut unassigned = sorted.to_vec();
        unassigned.retain(|tp| !kept.contains(tp));
        (unassigned, revocation_required)
    }

    /// `maybeAssignPartition`: to the least-loaded member that can take it.
    fn maybe_assign(&mut self, tp: &TopicPartition) {
        if let Some(&c) = self.by_load.iter().find(|&&c| self.can_take(c, tp)) {
            self.current
                .get_mut(c)
                .expect("in balancing")
                .push(tp.clone());
            self.owner.insert(tp.clone(), c);
            self.sort_by_load();
            self.balanced = None;
        }
    }

    /// `consumerCanParticipateInReassignment`.
    fn member_can_move(&self, member: &str) -> bool {
        let mine = self.current.get(member).map_or(&[][..], Vec::as_slice);
        let most = self.potential.get(member).map_or(0, |(list, _)| list.len());
        mine.len() < most
            || mine
                .iter()
                .any(|tp| self.subscribers.get(tp).is_some_and(|s| s.len() >= 2))
    }

    fn balance(
        &mut self,
        mut sorted: Vec<TopicPartition>,
        mut unassigned: Vec<TopicPartition>,
        revocation_required: bool,
    ) {
        let initializing = self.by_load.last().is_none_or(|&c| self.load(c) == Some(0));
        for tp in &unassigned {
            if self.subscribers.get(tp).is_some_and(|s| !s.is_empty()) {
                self.maybe_assign(tp);
            }
        }
        // Only partitions with two or more subscribers, and members that can gain or lose
        // one, take part in what follows.
        let alone: HashSet<&TopicPartition> = self
            .subscribers
            .iter()
            .filter(|(_, subscribers)| subscribers.len() < 2)
            .map(|(tp, _)| tp)
            .collect();
        sorted.retain(|tp| !alone.contains(tp));
        unassigned.retain(|tp| !alone.contains(tp));
        let mut fixed = Vec::new();
        let mut by_load = std::mem::take(&mut self.by_load);
        by_load.retain(|&c| {
            let moves = self.member_can_move(c);
            if !moves {
                fixed.push((c, self.current.remove(c).unwrap_or_default()));
            }
            moves
        });
        self.by_load = by_load;
        self.balanced = None;
        let before = self.current.clone();
        let owner_before = self.owner.clone();
        if !revocation_required && !unassigned.is_empty() {
            self.perform_reassignments(&unassigned);
        }
        let performed = self.perform_reassignments(&sorted);
        if !initializing
            && performed
            && score(self.current.iter().map(|(_, l)| l.len()))
                >= score(before.iter().map(|(_, l)| l.len()))
        {
            self.current = before;
            self.owner = owner_before;
            self.balanced = None;
        }
        for (c, list) in fixed {
            self.current.set(c, list);
        }
    }

    /// `isBalanced`, computed once per state of the assignment (librdkafka computes it
    /// before every partition of a pass, mostly on a state no move has changed).
    fn is_balanced(&mut self) -> bool {
        if let Some(balanced) = self.balanced {
            return balanced;
        }
        let balanced = self.balanced_now();
        self.balanced = Some(balanced);
        balanced
    }

    /// `isBalanced`: the loads differ by at most one, or no member could take a partition
    /// from a member holding more.
    fn balanced_now(&self) -> bool {
        let (Some(&least), Some(&most)) = (self.by_load.first(), self.by_load.last()) else {
            return true;
        };
        let (least, most) = (self.load(least).unwrap_or(0), self.load(most).unwrap_or(0));
        if least + 1 >= most {
            return true;
        }
        // A partition held twice counts for the holder the map visits last.
        let mut holder: HashMap<&TopicPartition, &str> = HashMap::new();
        let mut holds: HashSet<(&str, &TopicPartition)> = HashSet::new();
        for (&c, list) in self.current.iter() {
            for tp in list {
                holder.insert(tp, c);
                holds.insert((c, tp));
            }
        }
        for &c in &self.by_load {
            let mine = self.load(c).unwrap_or(0);
            let Some((potential, _)) = self.potential.get(c) else {
                continue;
            };
            if mine == potential.len() {
                continue;
            }
            for tp in potential {
                if holds.contains(&(c, tp)) {
                    continue;
                }
                let other = holder.get(tp).and_then(|o| self.load(o));
                if other.is_some_and(|other| mine < other) {
                    return false;
                }
            }
        }
        true
    }

    /// `performReassignments`: passes over `partitions` while the assignment is unbalanced,
    /// moving a partition back to its previous owner when that one has two fewer, else to
    /// the least-loaded member that can take it when some subscriber has two fewer.
    fn perform_reassignments(&mut self, partitions: &[TopicPartition]) -> bool {
        let mut performed = false;
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
                let Some(load) = self.load(holder) else {
                    continue;
                };
                let previous = self.previous.get(tp).copied();
                if let Some(previous) = previous {
                    if self.load(previous).is_some_and(|l| load > l + 1) {
                        self.reassign_to(tp, previous);
                        performed = true;
                        modified = true;
                        continue;
                    }
                }
                let lighter = self.subscribers.get(tp).is_some_and(|s| {
                    s.iter()
                        .any(|&o| o != holder && self.load(o).is_some_and(|l| load > l + 1))
                });
                if lighter {
                    if let Some(&to) = self.by_load.iter().find(|&&c| self.can_take(c, tp)) {
                        self.reassign_to(tp, to);
                        performed = true;
                        modified = true;
                    }
                }
            }
            // librdkafka repeats a pass that moved something; a pass ending where an
            // earlier one did would repeat for ever.
            if !modified || !seen.insert(self.fingerprint()) {
                return performed;
            }
        }
    }

    fn fingerprint(&self) -> Fingerprint<'a> {
        let holdings = self
            .current
            .iter()
            .map(|(&c, list)| (c, list.clone()))
            .collect();
        let mut owners: Vec<(TopicPartition, &str)> =
            self.owner.iter().map(|(tp, &c)| (tp.clone(), c)).collect();
        owners.sort();
        (holdings, owners, self.movements.fingerprint())
    }

    /// `reassignPartitionToConsumer`: moves `tp`, or the partition that undoes an earlier
    /// move between the two members, to `to`. In librdkafka the partition that undoes a
    /// move is a pointer to the first entry of that move's list, which the move itself
    /// deletes: when more entries follow, the next one is what moves (and the first stays
    /// where it is, its move record left behind).
    fn reassign_to(&mut self, tp: &TopicPartition, to: &'a str) {
        let Some(&from) = self.owner.get(tp) else {
            return;
        };
        let (moved, alias) = self.movements.actual_partition_to_move(tp, from, to);
        let Some(&from) = self.owner.get(&moved) else {
            return;
        };
        let moved = self.movements.move_partition(&moved, alias, from, to);
        if let Some(list) = self.current.get_mut(to) {
            list.push(moved.clone());
        }
        if let Some(list) = self.current.get_mut(from) {
            delete(list, &moved);
        }
        self.owner.insert(moved, to);
        self.sort_by_load();
        self.balanced = None;
    }
}

/// What [`Builder::fingerprint`] gives: the holdings in map order, the owners, the movements.
type Fingerprint<'a> = (
    Vec<(&'a str, Vec<TopicPartition>)>,
    Vec<(TopicPartition, &'a str)>,
    MovementsPrint<'a>,
);
