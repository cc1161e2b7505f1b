//! Custom partition assignors through the public API: chosen by name in
//! `partition.assignment.strategy`, run on the group leader with every member's subscription
//! and user data, their shares heard through `on_assignment`; the group's vote; the errors of
//! a strategy that names what does not exist; an assignor that fails, panics or returns an
//! invalid assignment (the leader's `poll` fails, the rebalance waits); Kafka's check of
//! cooperative assignments.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{owned, temporary_on};
use kafkalite::assignor::{
    AssignError, Assignment, ClusterMetadata, GroupAssignment, GroupSubscription,
};
use kafkalite::{
    Cluster, Consumer, ConsumerConfig, ConsumerGroupMetadata, ConsumerPartitionAssignor, Error,
    GroupState, MockClock, NewTopic, RebalanceProtocol, TopicPartition,
};

const NO_WAIT: Duration = Duration::ZERO;

/// What the scripted assignor's `assign` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Every partition to the member with the greatest id, which is told so in user data.
    AllToLast,
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
    /// Assigns a partition to a member that is not in the group.
    Stranger,
    /// Assigns a partition that does not exist.
    Phantom,
}

/// One `on_assignment`: (assignor's tag, partitions, user data, generation).
type Heard = (String, Vec<String>, Option<Vec<u8>>, i32);

/// What the assignors of one test saw, shared among them.
#[derive(Default)]
struct Seen {
    /// (tag of the assignor that ran, the group subscription it was given).
    ran: Vec<(String, GroupSubscription)>,
    heard: Vec<Heard>,
}

struct Scripted {
    name: &'static str,
    tag: String,
    protocols: Vec<RebalanceProtocol>,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
}

impl ConsumerPartitionAssignor for Scripted {
    fn name(&self) -> &str {
        self.name
    }

    fn supported_protocols(&self) -> Vec<RebalanceProtocol> {
        self.protocols.clone()
    }

    fn subscription_user_data(&self, topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        Some(format!("{}:{}", self.tag, topics.len()).into_bytes())
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        self.seen
            .lock()
            .unwrap()
            .ran
            .push((self.tag.clone(), group.clone()));
        let last = group
            .subscriptions
            .keys()
            .last()
            .cloned()
            .unwrap_or_default();
        let everything: Vec<TopicPartition> = metadata
            .topics()
            .flat_map(|(topic, count)| (0..count).map(move |p| TopicPartition::new(topic, p)))
            .collect();
        let mut result = GroupAssignment::default();
        for member in group.subscriptions.keys() {
            let share = if *member == last {
                Assignment {
                    partitions: everything.clone(),
                    user_data: Some(b"all yours".to_vec()),
                }
            } else {
                Assignment {
                    partitions: Vec::new(),
                    user_data: Some(b"none".to_vec()),
                }
            };
            result.assignments.insert(member.clone(), share);
        }
        let script = *self.script.lock().unwrap();
        match script {
            Script::AllToLast => {}
            Script::Fail => return Err("no luck today".into()),
            Script::Panic => panic!("the assignor fell over"),
            Script::Stranger => {
                result
                    .assignments
                    .insert("stranger".into(), Assignment::default());
            }
            Script::Phantom => {
                let share = result.assignments.get_mut(&last).unwrap();
                share.partitions.push(TopicPartition::new("t", 99));
            }
        }
        Ok(result)
    }

    fn on_assignment(&self, assignment: &Assignment, metadata: &ConsumerGroupMetadata) {
        let partitions = assignment
            .partitions
            .iter()
            .map(|tp| tp.to_string())
            .collect();
        self.seen.lock().unwrap().heard.push((
            self.tag.clone(),
            partitions,
            assignment.user_data.clone(),
            metadata.generation_id,
        ));
    }
}

struct Fixture {
    cluster: Cluster,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
}

impl Fixture {
    fn new() -> Self {
        let clock = MockClock::new(1_000_000);
        let cluster = temporary_on(&clock);
        cluster.create_topic(NewTopic::new("t", 3)).unwrap();
        Fixture {
            cluster,
            script: Arc::new(Mutex::new(Script::AllToLast)),
            seen: Arc::default(),
        }
    }

    fn assignor(&self, tag: &str, protocols: &[RebalanceProtocol]) -> Arc<Scripted> {
        Arc::new(Scripted {
            name: "scripted",
            tag: tag.into(),
            protocols: protocols.to_vec(),
            script: Arc::clone(&self.script),
            seen: Arc::clone(&self.seen),
        })
    }

    /// A member `tag` of group `g` on topic `t`, offering `strategy`, with its own scripted
    /// assignor (eager unless `protocols` say otherwise).
    fn member(&self, tag: &str, strategy: &str, protocols: &[RebalanceProtocol]) -> Consumer {
        let config = ConsumerConfig::with_group("g")
            .client_id(tag)
            .set("partition.assignment.strategy", strategy)
            .unwrap();
        let consumer = self
            .cluster
            .consumer_builder(config)
            .assignor(self.assignor(tag, protocols))
            .build()
            .unwrap();
        consumer.subscribe(&["t"]).unwrap();
        consumer
    }

    fn set(&self, script: Script) {
        *self.script.lock().unwrap() = script;
    }
}

const EAGER: &[RebalanceProtocol] = &[RebalanceProtocol::Eager];

#[test]
fn a_custom_assignor_named_in_the_strategy_runs_on_the_leader() {
    let f = Fixture::new();
    let c1 = f.member("c1", "scripted", EAGER);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1), ["t-0", "t-1", "t-2"]);
    let c2 = f.member("c2", "scripted", EAGER);
    c2.poll(NO_WAIT).unwrap();
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    // Member ids are the client id and a counter: c2's is the greatest.
    assert_eq!(owned(&c1), Vec::<String>::new());
    assert_eq!(owned(&c2), ["t-0", "t-1", "t-2"]);
    let description = f.cluster.describe_group("g").unwrap();
    assert_eq!(description.protocol.as_deref(), Some("scripted"));
    assert_eq!(description.state, GroupState::Stable);

    let seen = f.seen.lock().unwrap();
    // Only the leader (the first member) ran the assignor, once per generation; the second
    // time it saw both members, each with its own user data and its topics.
    let tags: Vec<&str> = seen.ran.iter().map(|(tag, _)| tag.as_str()).collect();
    assert_eq!(tags, ["c1", "c1"]);
    let group = &seen.ran[1].1;
    let data: Vec<(&str, Vec<u8>)> = group
        .subscriptions
        .iter()
        .map(|(id, s)| (id.as_str(), s.user_data.clone().unwrap()))
        .collect();
    let ids: Vec<&str> = data.iter().map(|(id, _)| *id).collect();
    assert!(
        ids[0].starts_with("c1-") && ids[1].starts_with("c2-"),
        "{ids:?}"
    );
    assert_eq!(data[0].1, b"c1:1");
    assert_eq!(data[1].1, b"c2:1");
    assert!(group
        .subscriptions
        .values()
        .all(|s| s.topics == BTreeSet::from(["t".to_string()])));
    // Each member's own assignor heard its share, with the leader's user data.
    let all = vec!["t-0".to_string(), "t-1".into(), "t-2".into()];
    assert_eq!(
        seen.heard,
        [
            ("c1".into(), all.clone(), Some(b"all yours".to_vec()), 1),
            ("c1".into(), Vec::new(), Some(b"none".to_vec()), 2),
            ("c2".into(), all, Some(b"all yours".to_vec()), 2),
        ]
    );
}

#[test]
fn the_group_uses_a_protocol_every_member_offers() {
    let f = Fixture::new();
    let c1 = f.member("c1", "scripted,range", EAGER);
    let c2 = f
        .cluster
        .consumer(
            ConsumerConfig::with_group("g")
                .set("partition.assignment.strategy", "range")
                .unwrap(),
        )
        .unwrap();
    c2.subscribe(&["t"]).unwrap();
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(
        f.cluster.describe_group("g").unwrap().protocol.as_deref(),
        Some("range")
    );
    assert_eq!(owned(&c1), ["t-0", "t-1"]);
    assert_eq!(owned(&c2), ["t-2"]);
    // Alone, c1 used its first choice; with c2 there, range ran, and the scripted assignor
    // heard only of the first generation.
    let seen = f.seen.lock().unwrap();
    assert_eq!(seen.ran.len(), 1);
    assert_eq!(seen.heard.len(), 1);
}

#[test]
fn a_strategy_must_name_assignors_that_exist() {
    let f = Fixture::new();
    let strategy = |s: &str| {
        ConsumerConfig::with_group("g")
            .set("partition.assignment.strategy", s)
            .unwrap()
    };
    let err = f.cluster.consumer(strategy("rnage")).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig { key, suggestion, .. }
            if key == "partition.assignment.strategy" && suggestion.as_deref() == Some("range")),
        "{err}"
    );
    let err = f.cluster.consumer(strategy("range,scripted")).unwrap_err();
    assert!(
        err.to_string().contains("'scripted' is neither a built-in"),
        "{err}"
    );
    // An added assignor must be named, and names must be unique.
    let err = f
        .cluster
        .consumer_builder(strategy("range"))
        .assignor(f.assignor("c1", EAGER))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("'scripted' is not named"), "{err}");
    let err = f
        .cluster
        .consumer_builder(strategy("scripted"))
        .assignor(f.assignor("c1", EAGER))
        .assignor(f.assignor("c2", EAGER))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("two added assignors"), "{err}");
}

#[test]
fn a_failing_assignor_fails_the_leaders_poll_until_it_succeeds() {
    let f = Fixture::new();
    let c1 = f.member("c1", "scripted", EAGER);
    let c2 = f.member("c2", "scripted", EAGER);
    // c1 leads alone and fails; c2's join starts a rebalance that c1's next poll completes.
    f.set(Script::Fail);
    assert!(c1.poll(NO_WAIT).is_err());
    c2.poll(NO_WAIT).unwrap();
    for (script, says) in [
        (Script::Fail, "no luck today"),
        (Script::Panic, "it panicked: the assignor fell over"),
        (Script::Stranger, "'stranger', which is not a member"),
        (Script::Phantom, "it assigned t-99"),
    ] {
        f.set(script);
        let err = c1.poll(NO_WAIT).unwrap_err();
        assert!(
            matches!(&err, Error::AssignorFailed { assignor, reason }
                if assignor == "scripted" && reason.contains(says)),
            "{script:?}: {err}"
        );
        // The follower waits; nobody owns anything, and the group waits for the leader.
        c2.poll(NO_WAIT).unwrap();
        assert!(owned(&c2).is_empty());
        let description = f.cluster.describe_group("g").unwrap();
        assert_eq!(
            description.state,
            GroupState::CompletingRebalance,
            "{script:?}"
        );
    }
    f.set(Script::AllToLast);
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c2), ["t-0", "t-1", "t-2"]);
    assert_eq!(
        f.cluster.describe_group("g").unwrap().state,
        GroupState::Stable
    );
}

/// Kafka's `ConsumerCoordinator.validateCooperativeAssignment`: under the cooperative protocol
/// a partition must not move straight from its owner to another member. The same assignor,
/// eager, hands it over (eager members own nothing when they rejoin).
#[test]
fn a_cooperative_assignor_may_not_move_a_partition_straight_to_a_new_owner() {
    for (protocols, violates) in [
        (&[RebalanceProtocol::Cooperative][..], true),
        (EAGER, false),
    ] {
        let f = Fixture::new();
        let c1 = f.member("c1", "scripted", protocols);
        c1.poll(NO_WAIT).unwrap();
        assert_eq!(owned(&c1), ["t-0", "t-1", "t-2"]);
        let c2 = f.member("c2", "scripted", protocols);
        c2.poll(NO_WAIT).unwrap();
        let result = c1.poll(NO_WAIT);
        if violates {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::AssignorFailed { reason, .. }
                    if reason.contains("straight to a new owner")),
                "{err}"
            );
            assert_eq!(owned(&c1), ["t-0", "t-1", "t-2"], "nothing was revoked");
        } else {
            result.unwrap();
            c2.poll(NO_WAIT).unwrap();
            assert_eq!(owned(&c2), ["t-0", "t-1", "t-2"]);
        }
    }
}
