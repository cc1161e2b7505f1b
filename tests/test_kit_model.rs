//! A property test of the test kit's fault rules against a simple model: rules in the order
//! they were installed, the first one whose filters match and which is not spent answers
//! (a `fail_next` is spent after its n failures, a `fail_in_turn` after its turns, each of
//! which fails or lets through), a dropped guard's rule is gone, and each
//! guard counts exactly the operations its rule answered. Driven through offset commits of
//! consumers outside any group membership, which reach the rules once per commit and change
//! nothing else. `PROPTEST_CASES` sets the count; the test prints its seed, which
//! `PROPTEST_RNG_SEED` replays.
#![cfg(not(loom))]

mod common;

use kafkalite::testing::{FaultGuard, Op};
use kafkalite::{
    Cluster, CommitMode, ConsumerConfig, Error, ErrorCode, MockClock, NewTopic, OffsetAndMetadata,
    Offsets, TopicPartition,
};
use proptest::prelude::*;

/// Distinct codes, so that an error tells which rule answered; none is retriable (a
/// commit retries those).
const CODES: [ErrorCode; 6] = [
    ErrorCode::GroupAuthorizationFailed,
    ErrorCode::TopicAuthorizationFailed,
    ErrorCode::BrokerNotAvailable,
    ErrorCode::PolicyViolation,
    ErrorCode::UnknownServerError,
    ErrorCode::ClusterAuthorizationFailed,
];

/// What a rule does.
#[derive(Debug, Clone)]
enum Kind {
    Always,
    Next(usize),
    /// Its turns: `true` fails, `false` lets through.
    InTurn(Vec<bool>),
}

#[derive(Debug, Clone)]
enum Step {
    /// A rule: group filter (None: any group), and what it does.
    Install(Option<u8>, Kind),
    /// Drop the guard of the i-th live rule (modulo their count).
    Drop(usize),
    /// Commit for group i.
    Commit(u8),
}

fn step() -> impl Strategy<Value = Step> {
    let group = prop_oneof![Just(None), (0u8..3).prop_map(Some)];
    let kind = prop_oneof![
        Just(Kind::Always),
        (1usize..4).prop_map(Kind::Next),
        proptest::collection::vec(any::<bool>(), 1..4).prop_map(Kind::InTurn),
    ];
    prop_oneof![
        1 => (group, kind).prop_map(|(g, kind)| Step::Install(g, kind)),
        1 => (0usize..8).prop_map(Step::Drop),
        3 => (0u8..3).prop_map(Step::Commit),
    ]
}

/// A rule as the model keeps it.
struct Modelled {
    group: Option<u8>,
    /// The answers left, `true` failing (`fail_next` as that many failures); `None` fails
    /// always.
    left: Option<std::collections::VecDeque<bool>>,
    code: ErrorCode,
    hits: u64,
    guard: FaultGuard,
}

fn cluster() -> Cluster {
    let cluster = common::temporary_on(&MockClock::new(1_000));
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    cluster
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/test_kit_model.proptest-regressions"))]

    #[test]
    fn the_first_live_matching_rule_answers(steps in proptest::collection::vec(step(), 1..40)) {
        let cluster = cluster();
        let faults = cluster.testing().faults();
        let consumers: Vec<_> = (0..3)
            .map(|g| cluster.consumer(ConsumerConfig::new().group_id(format!("g{g}"))).unwrap())
            .collect();
        let mut offsets = Offsets::new();
        offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(1));
        let mut rules: Vec<Modelled> = Vec::new();
        let mut installed = 0usize;
        for step in steps {
            match step {
                Step::Install(group, kind) => {
                    let code = CODES[installed % CODES.len()];
                    installed += 1;
                    let mut rule = faults.on(Op::Commit);
                    if let Some(g) = group {
                        rule = rule.group(&format!("g{g}"));
                    }
                    let (guard, left) = match kind {
                        Kind::Next(n) => (rule.fail_next(n, code).unwrap(), Some(vec![true; n])),
                        Kind::Always => (rule.fail_always(code).unwrap(), None),
                        Kind::InTurn(turns) => {
                            let answers = turns.iter().map(|&fails| fails.then_some(code));
                            (rule.fail_in_turn(answers).unwrap(), Some(turns))
                        }
                    };
                    let left = left.map(Into::into);
                    rules.push(Modelled { group, left, code, hits: 0, guard });
                }
                Step::Drop(i) => {
                    if !rules.is_empty() {
                        let gone = rules.remove(i % rules.len());
                        prop_assert_eq!(gone.guard.hits(), gone.hits);
                    }
                }
                Step::Commit(g) => {
                    let answering = rules.iter_mut().find(|r| {
                        r.left.as_ref().is_none_or(|left| !left.is_empty())
                            && r.group.is_none_or(|want| want == g)
                    });
                    let expected = answering.and_then(|r| {
                        r.hits += 1;
                        let fails = r.left.as_mut().is_none_or(|left| left.pop_front() == Some(true));
                        fails.then_some(r.code)
                    });
                    let result = consumers[usize::from(g)].commit_offsets(&offsets, CommitMode::Sync);
                    let got = match &result {
                        Ok(()) => None,
                        Err(Error::Kafka { code, .. }) => Some(*code),
                        Err(other) => panic!("unexpected error {other}"),
                    };
                    prop_assert_eq!(got, expected);
                }
            }
            for rule in &rules {
                prop_assert_eq!(rule.guard.hits(), rule.hits);
            }
        }
        drop(rules);
        for consumer in &consumers {
            prop_assert!(consumer.commit_offsets(&offsets, CommitMode::Sync).is_ok(), "every rule gone");
        }
    }
}
