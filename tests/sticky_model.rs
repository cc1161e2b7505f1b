//! Property test: Kafka's sticky assignors (`sticky`, `cooperative-sticky`) through rounds of
//! a group whose members come, go and change subscriptions, each round's members reporting
//! what the last round gave them (eager: in the `StickyAssignor` user data; cooperative: as
//! owned partitions with their generation). Checked against what Kafka's own suite checks of
//! every assignment (`AbstractStickyAssignorTest.verifyValidityAndBalance`): each partition
//! goes to one member subscribed to its topic, and two members whose loads differ by more
//! than one share no topic. Eager rounds assign every partition; cooperative rounds never move
//! a partition straight from a member still present to another (KIP-429), and rejoining with
//! unchanged subscriptions reaches a complete assignment. `PROPTEST_CASES` sets the count
//! (256 under `CI=true`); the test prints its seed, which `PROPTEST_RNG_SEED` replays.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use kafkalite::assignor::{ClusterMetadata, GroupSubscription, StickyAssignor, Subscription};
use kafkalite::{AssignorKind, TopicPartition};
use proptest::prelude::*;

const TOPICS: [&str; 4] = ["a", "b", "c", "d"];

/// A round: the members present (by number) with their subscriptions (bit i: `TOPICS[i]`).
type Round = BTreeMap<u8, u8>;

fn round() -> impl Strategy<Value = Round> {
    proptest::collection::btree_map(0u8..6, 1u8..16, 1..6)
}

fn topics_of(mask: u8) -> BTreeSet<String> {
    (0..TOPICS.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| TOPICS[i].to_string())
        .collect()
}

type Assignment = BTreeMap<String, Vec<TopicPartition>>;

struct Group {
    kind: AssignorKind,
    metadata: ClusterMetadata,
    counts: BTreeMap<String, i32>,
    /// What each member holds after the last round, and the generation it holds it in.
    held: Assignment,
    generation: i32,
}

impl Group {
    fn run(&mut self, round: &Round) -> Result<Assignment, TestCaseError> {
        let subscriptions = round
            .iter()
            .map(|(&m, &mask)| {
                let id = format!("m{m}");
                let held = self.held.get(&id).cloned();
                let generation = held.as_ref().map(|_| self.generation);
                let subscription = match self.kind {
                    AssignorKind::Sticky => Subscription {
                        topics: topics_of(mask),
                        user_data: held.map(|h| StickyAssignor::user_data(&h, self.generation)),
                        owned_partitions: Vec::new(),
                        group_instance_id: None,
                        generation_id: None,
                    },
                    _ => Subscription {
                        topics: topics_of(mask),
                        user_data: None,
                        owned_partitions: held.unwrap_or_default(),
                        group_instance_id: None,
                        generation_id: generation,
                    },
                };
                (id, subscription)
            })
            .collect::<BTreeMap<_, _>>();
        let group = GroupSubscription {
            subscriptions: subscriptions.clone(),
        };
        let result = self
            .kind
            .assignor()
            .assign(&self.metadata, &group)
            .map_err(|e| TestCaseError::fail(format!("assign: {e}")))?;
        let assignment: Assignment = result
            .assignments
            .into_iter()
            .map(|(m, a)| (m, a.partitions))
            .collect();
        self.check_valid(&subscriptions, &assignment)?;
        if self.kind == AssignorKind::CooperativeSticky {
            self.check_no_direct_transfer(&subscriptions, &assignment)?;
        }
        self.held = assignment.clone();
        self.generation += 1;
        Ok(assignment)
    }

    /// Every member gets an entry; each partition goes to one member, subscribed to it.
    fn check_valid(
        &self,
        subscriptions: &BTreeMap<String, Subscription>,
        assignment: &Assignment,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            assignment.keys().collect::<Vec<_>>(),
            subscriptions.keys().collect::<Vec<_>>()
        );
        let mut seen = BTreeSet::new();
        for (member, partitions) in assignment {
            for tp in partitions {
                prop_assert!(
                    subscriptions[member].topics.contains(&*tp.topic),
                    "{member} got {tp} without subscribing: {assignment:?}"
                );
                prop_assert!(seen.insert(tp.clone()), "{tp} twice: {assignment:?}");
            }
        }
        Ok(())
    }

    /// KIP-429: a partition a member still present held goes to nobody else this round.
    fn check_no_direct_transfer(
        &self,
        subscriptions: &BTreeMap<String, Subscription>,
        assignment: &Assignment,
    ) -> Result<(), TestCaseError> {
        for (member, partitions) in assignment {
            for tp in partitions {
                let earlier = self
                    .held
                    .iter()
                    .find(|(m, held)| *m != member && held.contains(tp))
                    .map(|(m, _)| m);
                if let Some(earlier) = earlier {
                    prop_assert!(
                        !subscriptions.contains_key(earlier),
                        "{tp} went from {earlier} straight to {member}: {assignment:?}"
                    );
                }
            }
        }
        Ok(())
    }

    /// Every partition of a subscribed topic is assigned, and Kafka's balance holds.
    fn check_complete_and_balanced(
        &self,
        round: &Round,
        assignment: &Assignment,
    ) -> Result<(), TestCaseError> {
        let subscribed: BTreeSet<String> = round.values().flat_map(|&m| topics_of(m)).collect();
        let expected: usize = subscribed
            .iter()
            .map(|t| self.counts[t].unsigned_abs() as usize)
            .sum();
        let assigned: usize = assignment.values().map(Vec::len).sum();
        prop_assert_eq!(assigned, expected, "incomplete: {:?}", assignment);
        let topics = |partitions: &[TopicPartition]| -> BTreeSet<String> {
            partitions.iter().map(|tp| tp.topic.to_string()).collect()
        };
        for (m1, p1) in assignment {
            for (m2, p2) in assignment.range::<String, _>((
                std::ops::Bound::Excluded(m1.clone()),
                std::ops::Bound::Unbounded,
            )) {
                if p1.len().abs_diff(p2.len()) > 1 {
                    let shared: Vec<_> = topics(p1).intersection(&topics(p2)).cloned().collect();
                    prop_assert!(
                        shared.is_empty(),
                        "{m1} ({}) and {m2} ({}) share {shared:?}: {assignment:?}",
                        p1.len(),
                        p2.len()
                    );
                }
            }
        }
        Ok(())
    }
}

fn counts() -> impl Strategy<Value = BTreeMap<String, i32>> {
    proptest::collection::vec(1i32..7, TOPICS.len()).prop_map(|counts| {
        TOPICS
            .iter()
            .zip(counts)
            .map(|(t, n)| (t.to_string(), n))
            .collect()
    })
}

fn run_group(
    kind: AssignorKind,
    counts: BTreeMap<String, i32>,
    rounds: &[Round],
) -> Result<(), TestCaseError> {
    let mut group = Group {
        kind,
        metadata: ClusterMetadata::new(counts.clone()),
        counts,
        held: Assignment::new(),
        generation: 1,
    };
    for round in rounds {
        let assignment = group.run(round)?;
        if kind == AssignorKind::Sticky {
            group.check_complete_and_balanced(round, &assignment)?;
            continue;
        }
        // Cooperative: the members revoke and rejoin until nothing is withheld.
        let mut rejoins = 0;
        let mut assignment = assignment;
        loop {
            let next = group.run(round)?;
            if next == assignment {
                break;
            }
            rejoins += 1;
            prop_assert!(rejoins < 4, "no stable assignment after {rejoins} rejoins");
            assignment = next;
        }
        group.check_complete_and_balanced(round, &assignment)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/sticky_model.proptest-regressions"))]

    #[test]
    fn sticky_assignments_stay_valid_and_balanced(
        counts in counts(),
        rounds in proptest::collection::vec(round(), 1..6),
    ) {
        run_group(AssignorKind::Sticky, counts, &rounds)?;
    }

    #[test]
    fn cooperative_sticky_never_moves_a_partition_straight_to_a_new_owner(
        counts in counts(),
        rounds in proptest::collection::vec(round(), 1..6),
    ) {
        run_group(AssignorKind::CooperativeSticky, counts, &rounds)?;
    }
}
