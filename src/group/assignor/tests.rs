//! Expectations ported from Kafka's assignor test suites (`RangeAssignorTest`,
//! `RoundRobinAssignorTest`, `AbstractStickyAssignorTest`) and the worked example of
//! kafka-semantics.md §6.7. Kafka's tests name members consumer1..3; where a result depends on
//! the order Kafka's `HashMap` visits them (consumer3, consumer2, consumer1 for those names),
//! the members here are named so that sorted order is that order.

use super::*;

pub(super) fn member(id: &str, topics: &[&str]) -> MemberSubscription {
    MemberSubscription {
        member_id: id.to_string(),
        instance_id: None,
        topics: topics.iter().map(|t| t.to_string()).collect(),
        owned: Vec::new(),
        generation: -1,
        subscription_generation: -1,
    }
}

pub(super) fn owning(
    mut m: MemberSubscription,
    generation: i32,
    owned: &[&str],
) -> MemberSubscription {
    m.generation = generation;
    m.subscription_generation = generation;
    m.owned = owned.iter().map(|s| tp(s)).collect();
    m
}

/// "orders-4" → TopicPartition("orders", 4).
pub(super) fn tp(s: &str) -> TopicPartition {
    let (topic, partition) = s.rsplit_once('-').expect("topic-partition");
    TopicPartition::new(topic, partition.parse().expect("partition number"))
}

pub(super) fn topics(counts: &[(&str, i32)]) -> BTreeMap<String, i32> {
    counts.iter().map(|(t, c)| (t.to_string(), *c)).collect()
}

/// Runs the built-in `kind` through the [`ConsumerPartitionAssignor`] trait, as the group
/// leader does: each member's ownership goes where Kafka's members send it (eager `sticky`:
/// its subscription user data; the others: owned partitions and generation).
pub(super) fn assign(
    kind: AssignorKind,
    members: &[MemberSubscription],
    counts: &BTreeMap<String, i32>,
) -> Partitions {
    let subscriptions = members
        .iter()
        .map(|m| {
            let generation = (m.generation >= 0).then_some(m.generation);
            let subscription = match kind {
                AssignorKind::Sticky => Subscription {
                    topics: m.topics.clone(),
                    user_data: generation.map(|g| StickyAssignor::user_data(&m.owned, g)),
                    owned_partitions: Vec::new(),
                    group_instance_id: m.instance_id.clone(),
                    // Kafka's coordinator sends the generation under every protocol.
                    generation_id: (m.subscription_generation >= 0)
                        .then_some(m.subscription_generation),
                },
                _ => Subscription {
                    topics: m.topics.clone(),
                    user_data: None,
                    owned_partitions: m.owned.clone(),
                    group_instance_id: m.instance_id.clone(),
                    generation_id: (m.subscription_generation >= 0)
                        .then_some(m.subscription_generation),
                },
            };
            (m.member_id.clone(), subscription)
        })
        .collect();
    let group = GroupSubscription { subscriptions };
    let metadata = ClusterMetadata::new(counts.iter().map(|(t, n)| (t.clone(), *n)));
    let assignor = kind.assignor();
    assert_eq!(assignor.name(), kind.name());
    let result = assignor
        .assign(&metadata, &group)
        .expect("built-ins do not fail");
    let partitions: Partitions = result
        .assignments
        .into_iter()
        .map(|(member, a)| {
            assert_eq!(a.user_data, None);
            (member, a.partitions)
        })
        .collect();
    // The engine called directly gives the same (the trait adds nothing on the way).
    assert_eq!(partitions, run(kind, members, counts));
    partitions
}

pub(super) fn names(assignment: &Partitions, member: &str) -> Vec<String> {
    assignment[member].iter().map(|tp| tp.to_string()).collect()
}

pub(super) fn check(assignment: &Partitions, expected: &[(&str, &[&str])]) {
    for (member, partitions) in expected {
        assert_eq!(names(assignment, member), *partitions, "member {member}");
    }
    assert_eq!(assignment.len(), expected.len(), "{assignment:?}");
}

#[test]
fn range_only_assigns_subscribed_topics_and_nothing_without_topics() {
    let a = assign(
        AssignorKind::Range,
        &[member("c", &[])],
        &topics(&[("t", 3)]),
    );
    check(&a, &[("c", &[])]);
    let a = assign(
        AssignorKind::Range,
        &[member("c", &["t"])],
        &topics(&[("t", 3), ("other", 3)]),
    );
    check(&a, &[("c", &["t-0", "t-1", "t-2"])]);
    // A subscribed topic that does not exist is skipped.
    let a = assign(
        AssignorKind::Range,
        &[member("c", &["t", "missing"])],
        &topics(&[("t", 1)]),
    );
    check(&a, &[("c", &["t-0"])]);
}

#[test]
fn range_two_consumers_one_topic() {
    let m = [member("c1", &["t"]), member("c2", &["t"])];
    check(
        &assign(AssignorKind::Range, &m, &topics(&[("t", 1)])),
        &[("c1", &["t-0"]), ("c2", &[])],
    );
    check(
        &assign(AssignorKind::Range, &m, &topics(&[("t", 2)])),
        &[("c1", &["t-0"]), ("c2", &["t-1"])],
    );
}

#[test]
fn range_multiple_consumers_mixed_topics() {
    let m = [
        member("c1", &["t1"]),
        member("c2", &["t1", "t2"]),
        member("c3", &["t1"]),
    ];
    check(
        &assign(AssignorKind::Range, &m, &topics(&[("t1", 3), ("t2", 2)])),
        &[
            ("c1", &["t1-0"]),
            ("c2", &["t1-1", "t2-0", "t2-1"]),
            ("c3", &["t1-2"]),
        ],
    );
}

#[test]
fn range_two_consumers_two_topics_six_partitions() {
    let m = [member("c1", &["t1", "t2"]), member("c2", &["t1", "t2"])];
    check(
        &assign(AssignorKind::Range, &m, &topics(&[("t1", 3), ("t2", 3)])),
        &[
            ("c1", &["t1-0", "t1-1", "t2-0", "t2-1"]),
            ("c2", &["t1-2", "t2-2"]),
        ],
    );
}

#[test]
fn round_robin_mixed_topics_and_six_partitions() {
    let m = [
        member("c1", &["t1"]),
        member("c2", &["t1", "t2"]),
        member("c3", &["t1"]),
    ];
    check(
        &assign(
            AssignorKind::RoundRobin,
            &m,
            &topics(&[("t1", 3), ("t2", 2)]),
        ),
        &[
            ("c1", &["t1-0"]),
            ("c2", &["t1-1", "t2-0", "t2-1"]),
            ("c3", &["t1-2"]),
        ],
    );
    let m = [member("c1", &["t1", "t2"]), member("c2", &["t1", "t2"])];
    check(
        &assign(
            AssignorKind::RoundRobin,
            &m,
            &topics(&[("t1", 3), ("t2", 3)]),
        ),
        &[
            ("c1", &["t1-0", "t1-2", "t2-1"]),
            ("c2", &["t1-1", "t2-0", "t2-2"]),
        ],
    );
}

#[test]
fn static_members_sort_first_by_instance_id() {
    let mut a = member("a-dynamic", &["t"]);
    a.instance_id = None;
    let mut z = member("z-member", &["t"]);
    z.instance_id = Some("instance-1".into());
    let mut y = member("y-member", &["t"]);
    y.instance_id = Some("instance-2".into());
    let assignment = assign(AssignorKind::Range, &[a, z, y], &topics(&[("t", 3)]));
    check(
        &assignment,
        &[
            ("z-member", &["t-0"]),
            ("y-member", &["t-1"]),
            ("a-dynamic", &["t-2"]),
        ],
    );
}

const BOTH: &[&str] = &["audit", "orders"];

fn example_topics() -> BTreeMap<String, i32> {
    topics(&[("audit", 2), ("orders", 7)])
}

#[test]
fn worked_example_fresh_group() {
    let m = [member("c1", BOTH), member("c2", BOTH), member("c3", BOTH)];
    check(
        &assign(AssignorKind::Range, &m, &example_topics()),
        &[
            ("c1", &["audit-0", "orders-0", "orders-1", "orders-2"]),
            ("c2", &["audit-1", "orders-3", "orders-4"]),
            ("c3", &["orders-5", "orders-6"]),
        ],
    );
    let round_robin = [
        ("c1", &["audit-0", "orders-1", "orders-4"][..]),
        ("c2", &["audit-1", "orders-2", "orders-5"][..]),
        ("c3", &["orders-0", "orders-3", "orders-6"][..]),
    ];
    check(
        &assign(AssignorKind::RoundRobin, &m, &example_topics()),
        &round_robin,
    );
    check(
        &assign(AssignorKind::Sticky, &m, &example_topics()),
        &round_robin,
    );
}

#[test]
fn worked_example_a_member_leaves() {
    let c1 = owning(member("c1", BOTH), 1, &["audit-0", "orders-1", "orders-4"]);
    let c3 = owning(member("c3", BOTH), 1, &["orders-0", "orders-3", "orders-6"]);
    let m = [c1, c3];
    check(
        &assign(AssignorKind::RoundRobin, &m, &example_topics()),
        &[
            (
                "c1",
                &["audit-0", "orders-0", "orders-2", "orders-4", "orders-6"],
            ),
            ("c3", &["audit-1", "orders-1", "orders-3", "orders-5"]),
        ],
    );
    check(
        &assign(AssignorKind::Sticky, &m, &example_topics()),
        &[
            (
                "c1",
                &["audit-0", "audit-1", "orders-1", "orders-4", "orders-5"],
            ),
            ("c3", &["orders-0", "orders-2", "orders-3", "orders-6"]),
        ],
    );
}

#[test]
fn worked_example_cooperative_rejoin_takes_two_rounds() {
    let c1 = owning(
        member("c1", BOTH),
        2,
        &["audit-0", "audit-1", "orders-1", "orders-4", "orders-5"],
    );
    let c2 = member("c2", BOTH);
    let c3 = owning(
        member("c3", BOTH),
        2,
        &["orders-0", "orders-2", "orders-3", "orders-6"],
    );
    let round1 = assign(
        AssignorKind::CooperativeSticky,
        &[c1.clone(), c2.clone(), c3.clone()],
        &example_topics(),
    );
    check(
        &round1,
        &[
            ("c1", &["audit-0", "audit-1", "orders-1"]),
            ("c2", &[]),
            ("c3", &["orders-0", "orders-2", "orders-3"]),
        ],
    );
    // The revoking members rejoin owning what they kept.
    let owned = |m: &MemberSubscription, assignment: &Partitions| {
        let mut m = m.clone();
        m.owned = assignment[&m.member_id].clone();
        m.generation = 3;
        m.subscription_generation = 3;
        m
    };
    let round2 = assign(
        AssignorKind::CooperativeSticky,
        &[
            owned(&c1, &round1),
            owned(&c2, &round1),
            owned(&c3, &round1),
        ],
        &example_topics(),
    );
    check(
        &round2,
        &[
            ("c1", &["audit-0", "audit-1", "orders-1"]),
            ("c2", &["orders-4", "orders-5", "orders-6"]),
            ("c3", &["orders-0", "orders-2", "orders-3"]),
        ],
    );
}

#[test]
fn sticky_resolves_claims_per_partition_by_generation() {
    // c2's claims are from an older generation, but nobody newer claims t-2 or t-3: they
    // stand. c1 and c3 both claim t-0 in generation 5: neither keeps it.
    let c1 = owning(member("c1", &["t"]), 5, &["t-0", "t-1"]);
    let c2 = owning(member("c2", &["t"]), 4, &["t-2", "t-3"]);
    let c3 = owning(member("c3", &["t"]), 5, &["t-0"]);
    for kind in [AssignorKind::Sticky, AssignorKind::CooperativeSticky] {
        let a = assign(
            kind,
            &[c1.clone(), c2.clone(), c3.clone()],
            &topics(&[("t", 4)]),
        );
        let c3_gets = if kind.is_cooperative() {
            &[][..] // t-0 was claimed by c1 too: withheld this round
        } else {
            &["t-0"][..]
        };
        check(
            &a,
            &[("c1", &["t-1"]), ("c2", &["t-2", "t-3"]), ("c3", c3_gets)],
        );
    }
}

/// Kafka's `testEnsurePartitionsAssignedToHighestGeneration`.
#[test]
fn sticky_ensures_partitions_go_to_the_highest_generation() {
    let all = ["topic", "topic2", "topic3"];
    let c1 = owning(
        member("consumer1", &all),
        10,
        &["topic-0", "topic2-0", "topic3-0"],
    );
    let c2 = owning(
        member("consumer2", &all),
        9,
        &["topic-1", "topic2-1", "topic3-1"],
    );
    let c3 = owning(
        member("consumer3", &all),
        8,
        &["topic2-1", "topic3-0", "topic3-2"],
    );
    let counts = topics(&[("topic", 3), ("topic2", 3), ("topic3", 3)]);
    for kind in [AssignorKind::Sticky, AssignorKind::CooperativeSticky] {
        let a = assign(kind, &[c1.clone(), c2.clone(), c3.clone()], &counts);
        check(
            &a,
            &[
                ("consumer1", &["topic-0", "topic2-0", "topic3-0"]),
                ("consumer2", &["topic-1", "topic2-1", "topic3-1"]),
                ("consumer3", &["topic-2", "topic2-2", "topic3-2"]),
            ],
        );
    }
}

/// Kafka's `testNoReassignmentOnCurrentMembers`: claims of older generations that nobody
/// newer contests stay where they are; the new member gets only what is free.
#[test]
fn sticky_keeps_uncontested_claims_of_older_generations() {
    let all = ["topic", "topic1", "topic2", "topic3"];
    let c1 = member("consumer1", &all);
    let c2 = owning(
        member("consumer2", &all),
        9,
        &["topic-0", "topic2-0", "topic1-0"],
    );
    let c3 = owning(
        member("consumer3", &all),
        8,
        &["topic3-2", "topic2-2", "topic1-1"],
    );
    let c4 = owning(
        member("consumer4", &all),
        7,
        &["topic3-1", "topic-1", "topic-2"],
    );
    let counts = topics(&[("topic", 3), ("topic1", 3), ("topic2", 3), ("topic3", 3)]);
    for kind in [AssignorKind::Sticky, AssignorKind::CooperativeSticky] {
        let a = assign(
            kind,
            &[c1.clone(), c2.clone(), c3.clone(), c4.clone()],
            &counts,
        );
        check(
            &a,
            &[
                ("consumer1", &["topic1-2", "topic2-1", "topic3-0"]),
                ("consumer2", &["topic-0", "topic1-0", "topic2-0"]),
                ("consumer3", &["topic1-1", "topic2-2", "topic3-2"]),
                ("consumer4", &["topic-1", "topic-2", "topic3-1"]),
            ],
        );
    }
}

/// Kafka's `testOwnedPartitionsAreInvalidatedForConsumerWithMultipleGeneration`.
#[test]
fn sticky_gives_a_double_claim_across_generations_to_the_newer() {
    let both = ["topic", "topic2"];
    let c1 = owning(
        member("consumer1", &both),
        10,
        &["topic-0", "topic2-1", "topic-1"],
    );
    let c2 = owning(
        member("consumer2", &both),
        8,
        &["topic-0", "topic2-1", "topic2-2"],
    );
    let counts = topics(&[("topic", 3), ("topic2", 3)]);
    for kind in [AssignorKind::Sticky, AssignorKind::CooperativeSticky] {
        let a = assign(kind, &[c1.clone(), c2.clone()], &counts);
        check(
            &a,
            &[
                ("consumer1", &["topic-0", "topic-1", "topic2-1"]),
                ("consumer2", &["topic-2", "topic2-0", "topic2-2"]),
            ],
        );
    }
}

/// Kafka's test of partitions claimed by several consumers of one generation: neither keeps
/// them, and (cooperative) they count as transferring.
#[test]
fn sticky_invalidates_a_double_claim_in_one_generation() {
    let c1 = owning(member("consumer1", &["topic"]), 1, &["topic-0", "topic-1"]);
    let c2 = owning(member("consumer2", &["topic"]), 1, &["topic-0", "topic-2"]);
    let c3 = owning(member("consumer3", &["topic"]), 1, &[]);
    let a = assign(
        AssignorKind::Sticky,
        &[c1, c2, c3],
        &topics(&[("topic", 3)]),
    );
    check(
        &a,
        &[
            ("consumer1", &["topic-1"]),
            ("consumer2", &["topic-2"]),
            ("consumer3", &["topic-0"]),
        ],
    );
}

#[test]
fn sticky_with_different_subscriptions_is_balanced_and_valid() {
    let m = [
        member("c1", &["t1"]),
        member("c2", &["t1", "t2"]),
        member("c3", &["t1", "t2", "t3"]),
    ];
    let a = assign(
        AssignorKind::Sticky,
        &m,
        &topics(&[("t1", 1), ("t2", 2), ("t3", 3)]),
    );
    let total: usize = a.values().map(Vec::len).sum();
    assert_eq!(total, 6);
    for (member, partitions) in &a {
        let sub = &m.iter().find(|s| &s.member_id == member).unwrap().topics;
        assert!(partitions.iter().all(|tp| sub.contains(&*tp.topic)));
    }
    assert_eq!(a["c1"].len(), 1);
    assert_eq!(a["c2"].len(), 2);
    assert_eq!(a["c3"].len(), 3);
}

#[test]
fn sticky_mixed_subscriptions_places_scarce_partitions_first() {
    // AbstractStickyAssignorTest.testMultipleConsumersMixedTopicSubscriptions
    let m = [
        member("consumer1", &["t1"]),
        member("consumer2", &["t1", "t2"]),
        member("consumer3", &["t1"]),
    ];
    check(
        &assign(AssignorKind::Sticky, &m, &topics(&[("t1", 3), ("t2", 2)])),
        &[
            ("consumer1", &["t1-0", "t1-2"]),
            ("consumer2", &["t2-0", "t2-1"]),
            ("consumer3", &["t1-1"]),
        ],
    );
}

#[test]
fn sticky_two_consumers_two_topics_six_partitions() {
    // AbstractStickyAssignorTest.testTwoConsumersTwoTopicsSixPartitions
    let m = [member("c1", &["t1", "t2"]), member("c2", &["t1", "t2"])];
    check(
        &assign(AssignorKind::Sticky, &m, &topics(&[("t1", 3), ("t2", 3)])),
        &[
            ("c1", &["t1-0", "t1-2", "t2-1"]),
            ("c2", &["t1-1", "t2-0", "t2-2"]),
        ],
    );
}

#[test]
fn sticky_min_quota_owners_and_max_quota_expected() {
    // AbstractStickyAssignorTest.testConsumerOwningMinQuotaExpectedMaxQuota
    let both = &["t1", "t2"];
    let m = [
        owning(member("c1", both), 1, &["t1-0", "t2-1"]),
        owning(member("c2", both), 1, &["t1-1", "t2-2"]),
    ];
    check(
        &assign(AssignorKind::Sticky, &m, &topics(&[("t1", 2), ("t2", 3)])),
        &[("c1", &["t1-0", "t2-0", "t2-1"]), ("c2", &["t1-1", "t2-2"])],
    );
}

#[test]
fn sticky_more_max_quota_owners_than_expected() {
    // AbstractStickyAssignorTest.testMaxQuotaConsumerMoreThanNumExpectedMaxCapacityMembers:
    // Kafka's HashMap visits consumer3, consumer2, consumer1 (buckets 10, 11, 12 of 16), so
    // consumer2 keeps the one place over the minimum quota.
    let both = &["t1", "t2"];
    let m = [
        owning(member("consumer1", both), 1, &["t1-0", "t2-0"]),
        owning(member("consumer2", both), 1, &["t1-1", "t2-1"]),
        owning(member("consumer3", both), 1, &[]),
    ];
    check(
        &assign(AssignorKind::Sticky, &m, &topics(&[("t1", 2), ("t2", 2)])),
        &[
            ("consumer1", &["t1-0"]),
            ("consumer2", &["t1-1", "t2-1"]),
            ("consumer3", &["t2-0"]),
        ],
    );
}

#[test]
fn sticky_all_consumers_under_min_quota() {
    // AbstractStickyAssignorTest.testAllConsumersAreUnderMinQuota
    let both = &["t1", "t2"];
    let m = [
        owning(member("consumer1", both), 1, &["t1-0"]),
        owning(member("consumer2", both), 1, &["t1-1"]),
        owning(member("consumer3", both), 1, &[]),
    ];
    check(
        &assign(AssignorKind::Sticky, &m, &topics(&[("t1", 2), ("t2", 3)])),
        &[
            ("consumer1", &["t1-0", "t2-1"]),
            ("consumer2", &["t1-1", "t2-2"]),
            ("consumer3", &["t2-0"]),
        ],
    );
}

#[test]
fn sticky_add_and_remove_a_consumer() {
    // AbstractStickyAssignorTest.testAddRemoveConsumerOneTopic
    let counts = topics(&[("t", 3)]);
    let first = assign(
        AssignorKind::Sticky,
        &[member("consumer1", &["t"])],
        &counts,
    );
    check(&first, &[("consumer1", &["t-0", "t-1", "t-2"])]);
    let c1 = owning(member("consumer1", &["t"]), 1, &["t-0", "t-1", "t-2"]);
    let c2 = owning(member("consumer2", &["t"]), 1, &[]);
    let second = assign(AssignorKind::Sticky, &[c1, c2], &counts);
    check(
        &second,
        &[("consumer1", &["t-0", "t-1"]), ("consumer2", &["t-2"])],
    );
    let alone = owning(member("consumer2", &["t"]), 2, &["t-2"]);
    check(
        &assign(AssignorKind::Sticky, &[alone], &counts),
        &[("consumer2", &["t-0", "t-1", "t-2"])],
    );
}
