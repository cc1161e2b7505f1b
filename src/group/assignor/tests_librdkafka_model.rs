//! Property test: librdkafka's `cooperative-sticky` (`run_librdkafka_sticky`) through
//! rounds of a group whose members come, go and change subscriptions, each round's members
//! owning what the last round gave them, in its generation, the leader's metadata holding the
//! topics some member subscribes to. Every round gives each member an
//! entry and no partition twice, and never moves a partition straight from a member still
//! listed to another (KIP-429; librdkafka's leader does not list a member subscribed to
//! nothing); repeating the last round's membership gives every partition
//! of a subscribed topic to someone within a few rounds. The ids are kafkalite's
//! (`rdkafka-n`), so the JoinGroup order is a broker's. `PROPTEST_RNG_SEED` replays a run
//! (each run prints its seed).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use super::tests::member;
use super::*;

const TOPICS: [&str; 4] = ["a", "b", "c", "d"];

/// A round: the members present (by number) with their subscriptions (bit i: `TOPICS[i]`,
/// none for a member subscribed to nothing).
type Round = BTreeMap<u8, u8>;

fn topics_of(mask: u8) -> Vec<&'static str> {
    (0..TOPICS.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| TOPICS[i])
        .collect()
}

struct Group {
    counts: BTreeMap<String, i32>,
    held: Partitions,
    generation: i32,
}

impl Group {
    fn run(&mut self, round: &Round) -> Result<Partitions, TestCaseError> {
        let members: Vec<MemberSubscription> = round
            .iter()
            .map(|(&m, &mask)| {
                let id = format!("rdkafka-{m}");
                let mut subscription = member(&id, &topics_of(mask));
                if let Some(held) = self.held.get(&id) {
                    subscription.owned = held.clone();
                    subscription.generation = self.generation;
                    subscription.subscription_generation = self.generation;
                }
                subscription
            })
            .collect();
        // The leader's metadata: the topics some member subscribes to.
        let counts: BTreeMap<String, i32> = self
            .counts
            .iter()
            .filter(|(t, _)| members.iter().any(|m| m.topics.contains(*t)))
            .map(|(t, &n)| (t.clone(), n))
            .collect();
        let assignment = run_librdkafka_sticky(&members, &counts);
        let ids: BTreeSet<&String> = members.iter().map(|m| &m.member_id).collect();
        prop_assert_eq!(assignment.keys().collect::<BTreeSet<_>>(), ids);
        let mut seen = BTreeSet::new();
        for (id, partitions) in &assignment {
            for tp in partitions {
                prop_assert!(seen.insert(tp.clone()), "{tp} twice: {assignment:?}");
                let earlier = self
                    .held
                    .iter()
                    .find(|(m, held)| *m != id && held.contains(tp))
                    .map(|(m, _)| m);
                // (A member subscribed to nothing is not listed: its partitions go at once.)
                let listed = |m: &String| {
                    members
                        .iter()
                        .any(|s| s.member_id == *m && !s.topics.is_empty())
                };
                if let Some(earlier) = earlier {
                    prop_assert!(
                        !listed(earlier),
                        "{tp} went from {earlier} straight to {id}: {assignment:?}"
                    );
                }
            }
        }
        self.held = assignment.clone();
        self.generation += 1;
        Ok(assignment)
    }
}

fn check_rounds(counts: Vec<i32>, rounds: Vec<Round>) -> Result<(), TestCaseError> {
    let counts: BTreeMap<String, i32> = TOPICS
        .iter()
        .zip(counts)
        .map(|(t, n)| (t.to_string(), n))
        .collect();
    let mut group = Group {
        counts,
        held: Partitions::new(),
        generation: 1,
    };
    for round in &rounds {
        group.run(round)?;
    }
    let last = rounds.last().expect("one round at least");
    let expected: BTreeSet<TopicPartition> = last
        .values()
        .flat_map(|&mask| topics_of(mask))
        .flat_map(|t| (0..group.counts[t]).map(move |p| TopicPartition::new(t, p)))
        .collect();
    for _ in 0..6 {
        let assignment = group.run(last)?;
        let assigned: BTreeSet<TopicPartition> = assignment.values().flatten().cloned().collect();
        if assigned == expected {
            return Ok(());
        }
    }
    Err(TestCaseError::fail(format!(
        "still incomplete after six rounds: {:?}",
        group.held
    )))
}

#[test]
fn librdkafkas_cooperative_sticky_through_rounds_of_a_changing_group() {
    let seed = std::env::var("PROPTEST_RNG_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        },
        |value| value.parse().expect("PROPTEST_RNG_SEED: a u64"),
    );
    println!("seed {seed}: rerun with PROPTEST_RNG_SEED={seed}");
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::with_cases(256)
    });
    let round = proptest::collection::btree_map(0u8..12, 0u8..16, 1..10);
    let strategy = (
        proptest::collection::vec(1i32..13, TOPICS.len()),
        proptest::collection::vec(round, 1..8),
    );
    runner
        .run(&strategy, |(counts, rounds)| check_rounds(counts, rounds))
        .unwrap_or_else(|failure| panic!("seed {seed}: {failure}"));
}
