//! Consumer groups: eager and cooperative rebalancing through `poll`, the listener contract,
//! expulsion after `max.poll.interval.ms` on the mock clock, static membership, stale commits,
//! and group administration.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{owned, temporary_on};
use kafkalite::{
    AssignorKind, Cluster, CommitMode, Consumer, ConsumerConfig, Error, GroupState, MockClock,
    NewTopic, OffsetAndMetadata, OffsetReset, Offsets, ProducerConfig, ProducerRecord,
    RebalanceContext, RebalanceListener, TopicPartition,
};

const NO_WAIT: Duration = Duration::ZERO;
/// A blocked poll's timeout: a poll woken as it should be returns in well under half of it.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// One callback: (member name, event, partitions).
type Event = (String, &'static str, Vec<String>);

/// Records every callback.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<Event>>>);

struct Recorder {
    name: String,
    journal: Journal,
}

impl Recorder {
    fn note(&self, event: &'static str, partitions: &[TopicPartition]) {
        let names = partitions.iter().map(|tp| tp.to_string()).collect();
        self.journal
            .0
            .lock()
            .unwrap()
            .push((self.name.clone(), event, names));
    }
}

impl RebalanceListener for Recorder {
    fn on_partitions_revoked(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.note("revoked", p);
    }
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.note("assigned", p);
    }
    fn on_partitions_lost(&mut self, _: &mut RebalanceContext<'_>, p: &[TopicPartition]) {
        self.note("lost", p);
    }
}

impl Journal {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn member(
    cluster: &Cluster,
    config: ConsumerConfig,
    name: &str,
    topics: &[&str],
    journal: &Journal,
) -> Consumer {
    let consumer = cluster.consumer(config.client_id(name)).unwrap();
    consumer
        .subscribe_with(
            topics,
            Recorder {
                name: name.to_string(),
                journal: journal.clone(),
            },
        )
        .unwrap();
    consumer
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn setup(partitions: i32) -> (MockClock, Cluster) {
    let clock = MockClock::new(1_000_000);
    let cluster = temporary_on(&clock);
    cluster
        .create_topic(NewTopic::new("t", partitions))
        .unwrap();
    (clock, cluster)
}

fn eager() -> ConsumerConfig {
    ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::Range])
}

#[test]
fn eager_rebalance_revokes_everything_then_assigns_ranges() {
    let (_clock, cluster) = setup(4);
    let journal = Journal::default();
    let c1 = member(&cluster, eager(), "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1), ["t-0", "t-1", "t-2", "t-3"]);
    assert_eq!(c1.generation(), 1);
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    c2.poll(NO_WAIT).unwrap();
    assert!(owned(&c2).is_empty(), "c1 has not rejoined yet");
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1), ["t-0", "t-1"]);
    assert_eq!(owned(&c2), ["t-2", "t-3"]);
    assert_eq!(c1.generation(), 2);
    let description = cluster.describe_group("g").unwrap();
    assert_eq!(description.state, GroupState::Stable);
    assert_eq!(description.protocol.as_deref(), Some("range"));
    assert_eq!(description.members.len(), 2);
    assert_eq!(
        journal.take(),
        [
            (
                "c1".into(),
                "assigned",
                strings(&["t-0", "t-1", "t-2", "t-3"])
            ),
            (
                "c1".into(),
                "revoked",
                strings(&["t-0", "t-1", "t-2", "t-3"])
            ),
            ("c1".into(), "assigned", strings(&["t-0", "t-1"])),
            ("c2".into(), "assigned", strings(&["t-2", "t-3"])),
        ]
    );
    // c1 leaves: c2 takes everything after revoking its own.
    c1.close().unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c2), ["t-0", "t-1", "t-2", "t-3"]);
    assert_eq!(
        journal.take(),
        [
            ("c1".into(), "revoked", strings(&["t-0", "t-1"])),
            ("c2".into(), "revoked", strings(&["t-2", "t-3"])),
            (
                "c2".into(),
                "assigned",
                strings(&["t-0", "t-1", "t-2", "t-3"])
            ),
        ]
    );
}

#[test]
fn members_wait_in_completing_rebalance_until_the_leader_takes_the_assignment() {
    let (_clock, cluster) = setup(3);
    let journal = Journal::default();
    let state = || cluster.describe_group("g").unwrap().state;
    let c1 = member(&cluster, eager(), "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap(); // the leader: the first member
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    c2.poll(NO_WAIT).unwrap();
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!((state(), c2.generation()), (GroupState::Stable, 2));
    let c3 = member(&cluster, eager(), "c3", &["t"], &journal);
    c3.poll(NO_WAIT).unwrap();
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(
        state(),
        GroupState::PreparingRebalance,
        "c2 has not rejoined"
    );
    c2.poll(NO_WAIT).unwrap(); // the last to rejoin, not the leader
    assert_eq!(state(), GroupState::CompletingRebalance);
    assert!(owned(&c2).is_empty(), "c2 waits for the leader");
    c3.poll(NO_WAIT).unwrap();
    assert!(owned(&c3).is_empty(), "c3 too");
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(state(), GroupState::Stable);
    assert_eq!(owned(&c1), ["t-0"]);
    c2.poll(NO_WAIT).unwrap();
    c3.poll(NO_WAIT).unwrap();
    assert_eq!(
        (owned(&c2), owned(&c3)),
        (strings(&["t-1"]), strings(&["t-2"]))
    );
    assert_eq!(c3.generation(), 3);
}

#[test]
fn a_member_that_stops_polling_is_expelled_and_its_commits_fail() {
    let (clock, cluster) = setup(4);
    let journal = Journal::default();
    let config = eager()
        .max_poll_interval(Duration::from_millis(1_000))
        .enable_auto_commit(false);
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    let c2 = member(&cluster, config, "c2", &["t"], &journal);
    for _ in 0..2 {
        c1.poll(NO_WAIT).unwrap();
        c2.poll(NO_WAIT).unwrap();
    }
    assert_eq!((owned(&c1).len(), owned(&c2).len()), (2, 2));
    journal.take();
    clock.advance_ms(1_500);
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c2).len(), 4, "c2 took over after c1 went silent");
    let err = c1.commit(CommitMode::Sync).unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
    assert_eq!(err.code(), Some(kafkalite::ErrorCode::IllegalGeneration));
    c1.poll(NO_WAIT).unwrap();
    let events = journal.take();
    assert_eq!(events[0].0, "c2");
    assert!(
        events.contains(&("c1".into(), "lost", strings(&["t-0", "t-1"]))),
        "{events:?}"
    );
    // c1 rejoined: the group rebalances again once c2 polls.
    c2.poll(NO_WAIT).unwrap();
    c1.poll(NO_WAIT).unwrap();
    assert_eq!((owned(&c1).len(), owned(&c2).len()), (2, 2));
}

#[test]
fn cooperative_rebalancing_moves_only_what_must_move() {
    let (_clock, cluster) = setup(6);
    let journal = Journal::default();
    let config =
        ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::CooperativeSticky]);
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1).len(), 6);
    let c2 = member(&cluster, config, "c2", &["t"], &journal);
    // Round 1: c1 keeps half and revokes the rest; c2 gets nothing yet. Round 2 hands it over.
    for _ in 0..3 {
        c2.poll(NO_WAIT).unwrap();
        c1.poll(NO_WAIT).unwrap();
    }
    assert_eq!(owned(&c1), ["t-0", "t-1", "t-2"]);
    assert_eq!(owned(&c2), ["t-3", "t-4", "t-5"]);
    let events = journal.take();
    let revoked: Vec<&Vec<String>> = events
        .iter()
        .filter(|(m, e, _)| m == "c1" && *e == "revoked")
        .map(|(_, _, p)| p)
        .collect();
    assert_eq!(
        revoked,
        [&strings(&["t-3", "t-4", "t-5"])],
        "only what moved: {events:?}"
    );
    let position = |name: &str, event: &str| {
        events
            .iter()
            .position(|(m, e, p)| m == name && *e == event && !p.is_empty())
            .unwrap()
    };
    assert!(position("c1", "revoked") < position("c2", "assigned"));
}

/// Kafka's onJoinPrepare commits (with auto-commit) before rejoining under either
/// protocol: a partition a cooperative member gives up is handed over committed, and its
/// new owner reads on from there.
#[test]
fn cooperative_members_with_auto_commit_hand_over_what_they_read() {
    let (_clock, cluster) = setup(2);
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let records = (0..10).map(|i: i32| {
        ProducerRecord::to("t")
            .partition(i % 2)
            .value(i.to_string())
    });
    for r in producer.send_all(records, Duration::from_secs(30)) {
        r.unwrap();
    }
    let journal = Journal::default();
    // The mock clock stands still: no commit falls due by the interval.
    let config = ConsumerConfig::with_group("g")
        .assignment_strategy(&[AssignorKind::CooperativeSticky])
        .auto_offset_reset(kafkalite::AutoOffsetReset::Earliest);
    let mut seen: Vec<i32> = Vec::new();
    let drain = |c: &Consumer, seen: &mut Vec<i32>| {
        let records = c.poll(NO_WAIT).unwrap();
        let value = |v: &[u8]| std::str::from_utf8(v).unwrap().parse::<i32>().unwrap();
        seen.extend(records.iter().map(|r| value(r.value().unwrap())));
    };
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    drain(&c1, &mut seen);
    assert_eq!(seen.len(), 10);
    let c2 = member(&cluster, config, "c2", &["t"], &journal);
    for _ in 0..3 {
        drain(&c2, &mut seen);
        drain(&c1, &mut seen);
    }
    assert_eq!((owned(&c1).len(), owned(&c2).len()), (1, 1));
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>(), "each record once");
}

/// The built-in cooperative-sticky assignor, telling the journal when it hears its share.
struct HearingAssignor {
    name: String,
    journal: Journal,
    inner: kafkalite::assignor::CooperativeStickyAssignor,
}

impl kafkalite::assignor::ConsumerPartitionAssignor for HearingAssignor {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn supported_protocols(&self) -> Vec<kafkalite::assignor::RebalanceProtocol> {
        self.inner.supported_protocols()
    }
    fn subscription_user_data(&self, topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        self.inner.subscription_user_data(topics)
    }
    fn assign(
        &self,
        metadata: &kafkalite::assignor::ClusterMetadata,
        group: &kafkalite::assignor::GroupSubscription,
    ) -> Result<kafkalite::assignor::GroupAssignment, kafkalite::assignor::AssignError> {
        self.inner.assign(metadata, group)
    }
    fn on_assignment(
        &self,
        assignment: &kafkalite::assignor::Assignment,
        metadata: &kafkalite::ConsumerGroupMetadata,
    ) {
        let names = assignment.partitions.iter().map(|tp| tp.to_string());
        let event = (self.name.clone(), "heard", names.collect());
        self.journal.0.lock().unwrap().push(event);
        self.inner.on_assignment(assignment, metadata);
    }
}

/// Kafka's onJoinComplete: a cooperative member revokes what moves before its assignor
/// hears the new share, and hears it before the listener hears what was added.
#[test]
fn a_cooperative_revocation_comes_before_the_assignor_hears_its_share() {
    let (_clock, cluster) = setup(4);
    let journal = Journal::default();
    let config =
        ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::CooperativeSticky]);
    let member = |name: &str| {
        let assignor = HearingAssignor {
            name: name.to_string(),
            journal: journal.clone(),
            inner: Default::default(),
        };
        let consumer = cluster
            .consumer_builder(config.clone().client_id(name))
            .assignor(Arc::new(assignor))
            .build()
            .unwrap();
        let recorder = Recorder {
            name: name.to_string(),
            journal: journal.clone(),
        };
        consumer.subscribe_with(&["t"], recorder).unwrap();
        consumer
    };
    let c1 = member("c1");
    c1.poll(NO_WAIT).unwrap();
    let c2 = member("c2");
    settle(&cluster, &[&c1, &c2], 4);
    let c1_events: Vec<(&str, usize)> = journal
        .take()
        .iter()
        .filter(|(who, _, _)| who == "c1")
        .map(|(_, what, partitions)| (*what, partitions.len()))
        .collect();
    let revoked = c1_events.iter().position(|e| *e == ("revoked", 2));
    let heard = c1_events.iter().position(|e| *e == ("heard", 2));
    assert!(revoked.is_some() && revoked < heard, "{c1_events:?}");
}

#[test]
fn a_static_member_returns_without_a_rebalance_and_duplicates_are_fenced() {
    let (_clock, cluster) = setup(4);
    let journal = Journal::default();
    let config = eager().group_instance_id("box-1");
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    for _ in 0..2 {
        c1.poll(NO_WAIT).unwrap();
        c2.poll(NO_WAIT).unwrap();
    }
    let before = (owned(&c1), cluster.describe_group("g").unwrap().generation);
    c1.close().unwrap(); // a static member sends no LeaveGroup
    let back = member(&cluster, config.clone(), "c1-again", &["t"], &journal);
    back.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(
        (
            owned(&back),
            cluster.describe_group("g").unwrap().generation
        ),
        before,
        "same partitions, same generation"
    );
    assert_eq!(owned(&c2), ["t-2", "t-3"]);
    let duplicate = member(&cluster, config, "c1-twin", &["t"], &journal);
    duplicate.poll(NO_WAIT).unwrap();
    let err = back.poll(NO_WAIT).unwrap_err();
    assert!(matches!(err, Error::FencedInstanceId(_)), "{err}");
}

#[test]
fn members_that_commit_before_leaving_hand_over_without_duplicates() {
    let (_clock, cluster) = setup(2);
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let send = |from: usize, to: usize| {
        let records = (from..to).map(|i| {
            ProducerRecord::to("t")
                .partition(i32::try_from(i % 2).unwrap())
                .value(i.to_string())
        });
        for r in producer.send_all(records, Duration::from_secs(30)) {
            r.unwrap();
        }
    };
    send(0, 10);
    let journal = Journal::default();
    let config = eager()
        .auto_offset_reset(kafkalite::AutoOffsetReset::Earliest)
        .enable_auto_commit(false);
    let mut seen = Vec::new();
    let drain = |c: &Consumer, seen: &mut Vec<usize>| {
        let records = c.poll(NO_WAIT).unwrap();
        seen.extend(records.iter().map(|r| {
            std::str::from_utf8(r.value().unwrap())
                .unwrap()
                .parse::<usize>()
                .unwrap()
        }));
        c.commit_records(&records, CommitMode::Sync).unwrap();
    };
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    drain(&c1, &mut seen);
    send(10, 20);
    let c2 = member(&cluster, config, "c2", &["t"], &journal);
    for _ in 0..3 {
        drain(&c2, &mut seen);
        drain(&c1, &mut seen);
    }
    c1.close().unwrap();
    send(20, 30);
    for _ in 0..3 {
        drain(&c2, &mut seen);
    }
    seen.sort();
    assert_eq!(seen, (0..30).collect::<Vec<_>>(), "each record once");
    let lags = cluster.describe_group_offsets("g").unwrap();
    assert!(lags.iter().all(|l| l.lag == Some(0)), "{lags:?}");
}

#[test]
fn admin_lists_describes_resets_and_deletes_groups() {
    let (clock, cluster) = setup(2);
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let records = (0..6).map(|i| {
        ProducerRecord::to("t")
            .partition(i % 2)
            .timestamp(1_000 * i as i64)
            .value("x")
    });
    for r in producer.send_all(records, Duration::from_secs(30)) {
        r.unwrap();
    }
    let journal = Journal::default();
    let consumer = member(
        &cluster,
        eager().enable_auto_commit(false),
        "c1",
        &["t"],
        &journal,
    );
    consumer.poll(NO_WAIT).unwrap();
    let mut offsets = Offsets::new();
    offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(1));
    consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    assert_eq!(cluster.list_groups().unwrap(), ["g"]);
    let lags = cluster.describe_group_offsets("g").unwrap();
    assert_eq!(lags[0].committed, Some(1));
    assert_eq!((lags[0].log_end_offset, lags[0].lag), (3, Some(2)));
    assert!(lags[0]
        .owner
        .as_ref()
        .is_some_and(|(_, _, client)| client == "c1"));
    let err = cluster
        .reset_group_offsets("g", &[], OffsetReset::Earliest, true)
        .unwrap_err();
    assert!(matches!(err, Error::GroupNotEmpty { .. }), "{err}");
    assert!(matches!(
        cluster.delete_group("g"),
        Err(Error::GroupNotEmpty { .. })
    ));
    let err = cluster.alter_group_offsets("g", &offsets).unwrap_err();
    assert!(matches!(err, Error::GroupNotEmpty { .. }), "{err}");
    let metadata = consumer.group_metadata().unwrap();
    assert_eq!(
        (metadata.group_id.as_str(), metadata.generation_id),
        ("g", 1)
    );
    assert_eq!(Some(metadata.member_id), consumer.member_id());
    drop(consumer);
    clock.advance_ms(1);
    let p0 = TopicPartition::new("t", 0);
    let dry = cluster
        .reset_group_offsets("g", std::slice::from_ref(&p0), OffsetReset::Latest, false)
        .unwrap();
    assert_eq!(dry[&p0], 3);
    assert_eq!(
        cluster.describe_group_offsets("g").unwrap()[0].committed,
        Some(1),
        "dry run"
    );
    let mut altered = Offsets::new();
    altered.insert(
        p0.clone(),
        OffsetAndMetadata::new(2).with_metadata("by hand"),
    );
    cluster.alter_group_offsets("g", &altered).unwrap();
    assert_eq!(
        cluster.describe_group_offsets("g").unwrap()[0].committed,
        Some(2)
    );
    altered.insert(TopicPartition::new("t", 9), OffsetAndMetadata::new(0));
    assert!(matches!(
        cluster.alter_group_offsets("g", &altered),
        Err(Error::UnknownTopicOrPartition(_))
    ));
    for (reset, expected) in [
        (OffsetReset::ShiftBy(10), 3),
        (OffsetReset::ShiftBy(-2), 1),
        (OffsetReset::Offset(-5), 0),
        (OffsetReset::Datetime(2_000), 1),
    ] {
        let done = cluster
            .reset_group_offsets("g", std::slice::from_ref(&p0), reset, true)
            .unwrap();
        assert_eq!(done[&p0], expected, "{reset:?}");
    }
    cluster.delete_group("g").unwrap();
    assert!(cluster.list_groups().unwrap().is_empty());
    assert!(matches!(
        cluster.delete_group("g"),
        Err(Error::GroupIdNotFound(_))
    ));
}

#[test]
fn every_partition_has_one_owner_per_group_at_any_moment() {
    let (_clock, cluster) = setup(10);
    let journal = Journal::default();
    let members: Vec<Consumer> = (0..3)
        .map(|i| member(&cluster, eager(), &format!("c{i}"), &["t"], &journal))
        .collect();
    for _ in 0..4 {
        for m in &members {
            m.poll(NO_WAIT).unwrap();
            let all: Vec<String> = members.iter().flat_map(owned).collect();
            let unique: BTreeSet<&String> = all.iter().collect();
            assert_eq!(unique.len(), all.len(), "a partition with two owners");
        }
    }
    let total: usize = members.iter().map(|m| owned(m).len()).sum();
    assert_eq!(total, 10);
}

#[cfg(feature = "regex")]
#[test]
fn a_pattern_subscription_follows_topics_created_later() {
    let (_clock, cluster) = setup(1);
    cluster.create_topic(NewTopic::new("orders-eu", 2)).unwrap();
    cluster.create_topic(NewTopic::new("payments", 1)).unwrap();
    let consumer = cluster.consumer(eager()).unwrap();
    consumer.subscribe_pattern("orders-.*").unwrap();
    consumer.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&consumer), ["orders-eu-0", "orders-eu-1"]);
    cluster.create_topic(NewTopic::new("orders-us", 1)).unwrap();
    cluster
        .create_topic(NewTopic::new("xorders-us", 1))
        .unwrap();
    consumer.poll(NO_WAIT).unwrap();
    assert_eq!(
        owned(&consumer),
        ["orders-eu-0", "orders-eu-1", "orders-us-0"],
        "the whole name must match"
    );
    cluster.delete_topic("orders-eu").unwrap();
    consumer.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&consumer), ["orders-us-0"]);
    assert_eq!(consumer.subscription(), ["orders-us"]);
    // Internal topics never match while exclude.internal.topics is on (the default).
    let everything = cluster.consumer(ConsumerConfig::with_group("all")).unwrap();
    everything.subscribe_pattern(".*").unwrap();
    everything.poll(NO_WAIT).unwrap();
    assert!(everything
        .subscription()
        .iter()
        .all(|t| !t.starts_with("__")));
    // Invalid alone, even where anchoring it would make a pattern of it.
    for bad in ["orders-(", "a)|(b"] {
        let err = everything.subscribe_pattern(bad).unwrap_err();
        assert!(
            matches!(err, Error::InvalidRegularExpression(_)),
            "{bad}: {err}"
        );
    }
}

/// Counts asynchronous commit outcomes.
struct CommitLog(Arc<Mutex<Vec<Result<(), String>>>>);

impl RebalanceListener for CommitLog {
    fn on_commit(&mut self, result: &kafkalite::Result<()>, _: &Offsets) {
        self.0
            .lock()
            .unwrap()
            .push(result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
    }
}

#[test]
fn auto_commit_covers_only_earlier_polls_and_async_commits_report_to_the_listener() {
    let (clock, cluster) = setup(1);
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let send = |n: usize| {
        for r in producer.send_all(
            (0..n).map(|_| ProducerRecord::to("t").value("x")),
            Duration::from_secs(30),
        ) {
            r.unwrap();
        }
    };
    send(10);
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let consumer = cluster
        .consumer(
            eager()
                .auto_offset_reset(kafkalite::AutoOffsetReset::Earliest)
                .auto_commit_interval(Duration::from_millis(1_000))
                .max_poll_records(4),
        )
        .unwrap();
    consumer
        .subscribe_with(&["t"], CommitLog(Arc::clone(&outcomes)))
        .unwrap();
    let p0 = TopicPartition::new("t", 0);
    let committed = |c: &Consumer| c.committed(std::slice::from_ref(&p0)).unwrap()[&p0].clone();
    assert_eq!(consumer.poll(NO_WAIT).unwrap().len(), 4);
    assert_eq!(committed(&consumer), None, "the interval has not passed");
    clock.advance_ms(1_000);
    // This poll commits what the earlier poll returned (4), not the batch it returns now.
    assert_eq!(consumer.poll(NO_WAIT).unwrap().len(), 4);
    assert_eq!(committed(&consumer), Some(OffsetAndMetadata::new(4)));
    assert_eq!(outcomes.lock().unwrap().as_slice(), [Ok(())]);
    // An asynchronous commit never fails the call; the outcome goes to on_commit.
    consumer.commit(CommitMode::Async).unwrap();
    assert_eq!(committed(&consumer), Some(OffsetAndMetadata::new(8)));
    assert_eq!(outcomes.lock().unwrap().len(), 2);
    // As Kafka's coordinator (ClassicGroup.validateOffsetCommit), which checks the member
    // and generation only: a member may commit for a partition it does not own.
    cluster.create_topic(NewTopic::new("other", 1)).unwrap();
    let other = TopicPartition::new("other", 0);
    let mut foreign = Offsets::new();
    foreign.insert(other.clone(), OffsetAndMetadata::new(1));
    consumer.commit_offsets(&foreign, CommitMode::Sync).unwrap();
    let committed_other = consumer.committed(std::slice::from_ref(&other)).unwrap();
    assert_eq!(committed_other[&other], Some(OffsetAndMetadata::new(1)));
    // Close commits everything returned so far.
    assert_eq!(consumer.poll(NO_WAIT).unwrap().len(), 2);
    consumer.close().unwrap();
    let reader = cluster.consumer(eager()).unwrap();
    assert_eq!(committed(&reader), Some(OffsetAndMetadata::new(10)));
}

/// The only member of group "g" over "t" (two partitions), with a max.poll.interval.ms of
/// one second, no auto-commit, and its first poll done (generation 1, both partitions).
fn lone_member() -> (MockClock, Cluster, Journal, Consumer) {
    let (clock, cluster) = setup(2);
    let journal = Journal::default();
    let config = eager()
        .max_poll_interval(Duration::from_millis(1_000))
        .enable_auto_commit(false);
    let alone = member(&cluster, config, "alone", &["t"], &journal);
    alone.poll(NO_WAIT).unwrap();
    assert_eq!((owned(&alone).len(), alone.generation()), (2, 1));
    (clock, cluster, journal, alone)
}

#[test]
fn a_lone_member_past_max_poll_interval_has_left_and_cannot_commit() {
    // Kafka's consumer leaves its group when max.poll.interval.ms passes between two polls,
    // whether or not another member is there to notice, so a late commit fails.
    let (clock, cluster, journal, alone) = lone_member();
    clock.advance_ms(1_000);
    alone.commit(CommitMode::Sync).unwrap();
    clock.advance_ms(1);
    let err = alone.commit(CommitMode::Sync).unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
    let group = cluster.describe_group("g").unwrap();
    assert_eq!(
        (group.state, group.members.len()),
        (GroupState::Empty, 0),
        "{group:?}"
    );
    // The next poll finds the partitions lost and joins again, at a new generation.
    journal.take();
    alone.poll(NO_WAIT).unwrap();
    let events = journal.take();
    assert_eq!(
        events.first(),
        Some(&("alone".into(), "lost", strings(&["t-0", "t-1"]))),
        "{events:?}"
    );
    assert_eq!((owned(&alone).len(), alone.generation()), (2, 2));
    alone.commit(CommitMode::Sync).unwrap();
}

/// The late member's own next poll finds it expelled, with nothing else called between:
/// its partitions are lost and it joins again.
#[test]
fn a_lone_member_whose_next_poll_is_late_finds_its_partitions_lost() {
    let (clock, _cluster, journal, alone) = lone_member();
    journal.take();
    clock.advance_ms(1_001);
    alone.poll(NO_WAIT).unwrap();
    let events = journal.take();
    assert_eq!(
        events.first(),
        Some(&("alone".into(), "lost", strings(&["t-0", "t-1"]))),
        "{events:?}"
    );
    assert_eq!((owned(&alone).len(), alone.generation()), (2, 2));
}

#[test]
fn describing_a_group_shows_a_member_past_max_poll_interval_gone() {
    let (clock, cluster) = setup(1);
    let journal = Journal::default();
    let config = eager().max_poll_interval(Duration::from_millis(500));
    let quiet = member(&cluster, config, "quiet", &["t"], &journal);
    quiet.poll(NO_WAIT).unwrap();
    assert_eq!(cluster.describe_group("g").unwrap().members.len(), 1);
    clock.advance_ms(501);
    assert!(cluster.describe_group("g").unwrap().members.is_empty());
}

#[test]
fn a_member_inside_poll_is_alive_whatever_the_clock_says() {
    // max.poll.interval.ms counts between polls: while one blocks, the member stays, even
    // before the woken poll has checked in at the new time (nothing here waits for it).
    let (clock, cluster) = setup(1);
    let config = eager()
        .max_poll_interval(Duration::from_millis(300))
        .enable_auto_commit(false);
    let journal = Journal::default();
    let sleeper = member(&cluster, config, "sleeper", &["t"], &journal);
    sleeper.poll(NO_WAIT).unwrap();
    let committer = sleeper.committer().unwrap();
    let mut offsets = Offsets::new();
    offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(0));
    let waker = sleeper.waker();
    std::thread::scope(|s| {
        let sleeping = s.spawn(|| sleeper.poll(POLL_TIMEOUT));
        common::wait_until_a_poll_blocks(&cluster);
        clock.advance_ms(60_000);
        committer.commit_offsets(&offsets).unwrap();
        assert_eq!(cluster.describe_group("g").unwrap().members.len(), 1);
        waker.wakeup();
        assert!(matches!(sleeping.join().unwrap(), Err(Error::Wakeup)));
    });
    // Out of poll, the interval counts from the poll's return.
    clock.advance_ms(300);
    committer.commit_offsets(&offsets).unwrap();
    clock.advance_ms(1);
    let err = committer.commit_offsets(&offsets).unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
}

#[test]
fn a_member_blocked_in_a_long_poll_stays_in_the_group() {
    // The member sleeps in poll for far longer than max.poll.interval.ms of the mock clock:
    // each jump wakes it to check in, and it is blocked again (so it has checked in at the
    // new time) before the other member's poll looks for members gone silent.
    let (clock, cluster) = setup(2);
    let config = eager().max_poll_interval(Duration::from_millis(300));
    let journal = Journal::default();
    let sleeper = member(&cluster, config.clone(), "sleeper", &["t"], &journal);
    let other = member(&cluster, config, "other", &["t"], &journal);
    for _ in 0..2 {
        sleeper.poll(NO_WAIT).unwrap();
        other.poll(NO_WAIT).unwrap();
    }
    assert_eq!((owned(&sleeper).len(), owned(&other).len()), (1, 1));
    let waker = sleeper.waker();
    std::thread::scope(|s| {
        let sleeping = s.spawn(|| sleeper.poll(POLL_TIMEOUT));
        common::wait_until_a_poll_blocks(&cluster);
        // Three times the sleeper's max.poll.interval.ms, in steps shorter than it.
        for _ in 0..9 {
            clock.advance_ms(100);
            common::wait_until_a_poll_blocks(&cluster);
            other.poll(NO_WAIT).unwrap();
        }
        waker.wakeup();
        assert!(matches!(sleeping.join().unwrap(), Err(Error::Wakeup)));
    });
    assert_eq!(owned(&other).len(), 1, "the sleeper was not expelled");
    assert!(
        !journal.take().iter().any(|(_, e, _)| *e == "lost"),
        "nothing was lost"
    );
}

#[test]
fn members_must_share_an_assignor_and_the_vote_picks_one() {
    let (_clock, cluster) = setup(2);
    let journal = Journal::default();
    let ranged = member(&cluster, eager(), "ranged", &["t"], &journal);
    ranged.poll(NO_WAIT).unwrap();
    let stranger = member(
        &cluster,
        ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::RoundRobin]),
        "stranger",
        &["t"],
        &journal,
    );
    let err = stranger.poll(NO_WAIT).unwrap_err();
    assert!(matches!(err, Error::InconsistentGroupProtocol(_)), "{err}");
    assert_eq!(
        err.code(),
        Some(kafkalite::ErrorCode::InconsistentGroupProtocol)
    );
    // Preferring roundrobin but also offering range: range is the only common choice.
    let flexible = member(
        &cluster,
        ConsumerConfig::with_group("g")
            .assignment_strategy(&[AssignorKind::RoundRobin, AssignorKind::Range]),
        "flexible",
        &["t"],
        &journal,
    );
    for _ in 0..2 {
        flexible.poll(NO_WAIT).unwrap();
        ranged.poll(NO_WAIT).unwrap();
    }
    let description = cluster.describe_group("g").unwrap();
    assert_eq!(description.protocol.as_deref(), Some("range"));
    assert_eq!(description.members.len(), 2);
}

#[test]
fn committed_offsets_expire_after_offsets_retention() {
    let clock = MockClock::new(1_000_000);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .offsets_retention_ms(10_000)
        .offsets_retention_check_interval_ms(1_000)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let p0 = TopicPartition::new("t", 0);
    let mut offsets = Offsets::new();
    offsets.insert(p0.clone(), OffsetAndMetadata::new(0));
    // "live": a member keeps polling; "left": its member closes; "manual": no members ever.
    let journal = Journal::default();
    let live = member(
        &cluster,
        eager().group_id("live").enable_auto_commit(false),
        "a",
        &["t"],
        &journal,
    );
    live.poll(NO_WAIT).unwrap();
    live.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    let left = member(
        &cluster,
        eager().group_id("left").enable_auto_commit(false),
        "b",
        &["t"],
        &journal,
    );
    left.poll(NO_WAIT).unwrap();
    left.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    let manual = cluster
        .consumer(ConsumerConfig::with_group("manual").enable_auto_commit(false))
        .unwrap();
    manual
        .assign(&[(p0.clone(), kafkalite::Offset::Beginning)])
        .unwrap();
    manual.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    clock.advance_ms(5_000);
    left.close().unwrap();
    clock.advance_ms(6_000); // manual: 11 s after its commit; left: 6 s after it emptied
    live.poll(NO_WAIT).unwrap();
    assert_eq!(cluster.list_groups().unwrap(), ["left", "live"]);
    clock.advance_ms(5_000); // left: 11 s after it emptied
    live.poll(NO_WAIT).unwrap();
    assert_eq!(
        cluster.list_groups().unwrap(),
        ["live"],
        "a live group keeps its offsets"
    );
    assert_eq!(
        cluster.describe_group_offsets("live").unwrap()[0].committed,
        Some(0)
    );
    // Expired offsets are gone for good, also after a restart (tombstones).
    let fresh = cluster
        .consumer(ConsumerConfig::with_group("left"))
        .unwrap();
    assert_eq!(
        fresh.committed(std::slice::from_ref(&p0)).unwrap()[&p0],
        None
    );
}

#[test]
fn a_committer_commits_while_the_consumer_is_blocked_in_poll() {
    let (clock, cluster) = setup(1);
    let journal = Journal::default();
    let config = eager()
        .enable_auto_commit(false)
        .max_poll_interval(Duration::from_millis(1_000));
    let consumer = member(&cluster, config.clone(), "c", &["t"], &journal);
    consumer.poll(NO_WAIT).unwrap();
    let committer = consumer.committer().unwrap();
    let p0 = TopicPartition::new("t", 0);
    let mut offsets = Offsets::new();
    offsets.insert(p0.clone(), OffsetAndMetadata::new(0));
    let waker = consumer.waker();
    std::thread::scope(|s| {
        let polling = s.spawn(|| {
            let started = std::time::Instant::now();
            let result = consumer.poll(POLL_TIMEOUT);
            assert!(started.elapsed() < POLL_TIMEOUT / 2, "woken, not timed out");
            result
        });
        // Lands while the poll holds the consumer, blocked.
        common::wait_until_a_poll_blocks(&cluster);
        committer.commit_offsets(&offsets).unwrap();
        // The commit may have woken the poll: wake it once it is blocked again.
        common::wait_until_a_poll_blocks(&cluster);
        waker.wakeup();
        assert!(matches!(polling.join().unwrap(), Err(Error::Wakeup)));
    });
    assert_eq!(
        cluster.describe_group_offsets("g").unwrap()[0].committed,
        Some(0)
    );
    // Once the member is expelled, its committer's commits are refused like its own.
    let other = member(&cluster, config, "other", &["t"], &journal);
    clock.advance_ms(2_000);
    other.poll(NO_WAIT).unwrap();
    let err = committer.commit_offsets(&offsets).unwrap_err();
    assert!(matches!(err, Error::CommitFailed(_)), "{err}");
}

/// The end offset of `__consumer_offsets`: how many commit records were ever written.
fn commit_records(cluster: &Cluster) -> i64 {
    cluster
        .partition("__consumer_offsets", 0)
        .unwrap()
        .log_end_offset()
}

#[test]
fn group_ids_and_topics_longer_than_a_kafka_string_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap()
    };
    let longest = "a".repeat(32_767);
    let tp = TopicPartition::new("t", 0);
    let offsets = |next: i64| -> Offsets { [(tp.clone(), OffsetAndMetadata::new(next))].into() };
    {
        let cluster = open();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        // 32768 does not fit an i16 length; 65537 would wrap to 1 and be read back as the
        // group "a" with a garbled topic.
        for len in [32_768, 65_537] {
            let group = "a".repeat(len);
            let err = cluster
                .consumer(ConsumerConfig::with_group(group.as_str()))
                .unwrap_err();
            assert!(matches!(err, Error::InvalidGroupId(_)), "{err}");
            assert_eq!(err.code(), Some(kafkalite::ErrorCode::InvalidGroupId));
            assert!(err.to_string().contains("32767"), "{err}");
            let err = cluster
                .alter_group_offsets(&group, &offsets(1))
                .unwrap_err();
            assert!(matches!(err, Error::InvalidGroupId(_)), "{err}");
        }
        assert_eq!(
            commit_records(&cluster),
            0,
            "a refused commit wrote a record"
        );

        let consumer = cluster
            .consumer(ConsumerConfig::with_group(longest.as_str()))
            .unwrap();
        let long_topic = TopicPartition::new("t".repeat(32_768), 0);
        let err = consumer
            .commit_offsets(
                &[(long_topic, OffsetAndMetadata::new(1))].into(),
                CommitMode::Sync,
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidTopic(_)), "{err}");
        assert_eq!(
            commit_records(&cluster),
            0,
            "a refused commit wrote a record"
        );

        consumer
            .commit_offsets(&offsets(7), CommitMode::Sync)
            .unwrap();
        cluster.alter_group_offsets("a", &offsets(3)).unwrap();
        drop(consumer);
        cluster.close().unwrap();
    }
    let cluster = open();
    assert_eq!(
        cluster.list_groups().unwrap(),
        ["a".to_string(), longest.clone()]
    );
    let committed = |group: &str| {
        let consumer = cluster.consumer(ConsumerConfig::with_group(group)).unwrap();
        consumer.committed(std::slice::from_ref(&tp)).unwrap()[&tp].clone()
    };
    assert_eq!(committed(&longest), Some(OffsetAndMetadata::new(7)));
    assert_eq!(committed("a"), Some(OffsetAndMetadata::new(3)));
}

#[test]
fn enforce_rebalance_makes_every_member_rejoin() {
    let (_clock, cluster) = setup(4);
    let journal = Journal::default();
    let c1 = member(&cluster, eager(), "c1", &["t"], &journal);
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    for _ in 0..2 {
        c1.poll(NO_WAIT).unwrap();
        c2.poll(NO_WAIT).unwrap();
    }
    let generation = c1.generation();
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::Stable
    );
    journal.take();
    c1.enforce_rebalance().unwrap();
    for _ in 0..2 {
        c1.poll(NO_WAIT).unwrap();
        c2.poll(NO_WAIT).unwrap();
    }
    assert_eq!(
        (c1.generation(), c2.generation()),
        (generation + 1, generation + 1)
    );
    let events: Vec<(String, &str)> = journal
        .take()
        .into_iter()
        .map(|(who, what, _)| (who, what))
        .collect();
    // Eager: both revoke everything before rejoining, then both are assigned again.
    for who in ["c1", "c2"] {
        let revoked = events.iter().position(|e| *e == (who.into(), "revoked"));
        let assigned = events.iter().position(|e| *e == (who.into(), "assigned"));
        assert!(revoked < assigned && revoked.is_some(), "{who}: {events:?}");
    }
    assert_eq!((owned(&c1).len(), owned(&c2).len()), (2, 2));

    // As Kafka: a consumer that assigns its partitions has nothing to rejoin (a no-op), and
    // one without a group.id has no group (IllegalState).
    let manual = cluster.consumer(ConsumerConfig::with_group("g2")).unwrap();
    manual.enforce_rebalance().unwrap();
    let groupless = cluster.consumer(ConsumerConfig::new()).unwrap();
    let err = groupless.enforce_rebalance().unwrap_err();
    assert!(matches!(err, Error::IllegalState(_)), "{err}");
}

/// Kafka's onLeavePrepare: a member leaving while a rebalance it has not noticed is under
/// way is still stable, so its partitions are revoked (its callback may commit); one that
/// has rejoined the rebalance loses them.
#[test]
fn leaving_during_a_rebalance_revokes_unless_the_member_rejoined_it() {
    let (_clock, cluster) = setup(4);
    let journal = Journal::default();
    let cooperative =
        ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::CooperativeSticky]);
    let c1 = member(&cluster, cooperative.clone(), "c1", &["t"], &journal);
    let c2 = member(&cluster, cooperative.clone(), "c2", &["t"], &journal);
    let c3 = member(&cluster, cooperative, "c3", &["t"], &journal);
    settle(&cluster, &[&c1, &c2, &c3], 4);
    journal.take();
    let c1_owned = owned(&c1);
    let c2_owned = owned(&c2);
    c3.enforce_rebalance().unwrap();
    // c2 rejoins (cooperative: it keeps its partitions meanwhile); c1 has not noticed.
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    c1.close().unwrap();
    c2.close().unwrap();
    let events = journal.take();
    assert_eq!(
        events,
        [
            ("c1".into(), "revoked", c1_owned),
            ("c2".into(), "lost", c2_owned)
        ]
    );
}

/// Kafka's sendOffsetCommitRequest: a member that has rejoined a rebalance not yet
/// complete has no stable generation, and its commit is RebalanceInProgress, also one from
/// its `Committer` on another thread; once the rebalance completes both commit again.
#[test]
fn a_member_that_rejoined_a_rebalance_commits_after_it_completes() {
    let (_clock, cluster) = setup(2);
    let journal = Journal::default();
    let config = eager().enable_auto_commit(false);
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    let c2 = member(&cluster, config, "c2", &["t"], &journal);
    settle(&cluster, &[&c1, &c2], 2);
    let committer = c1.committer().unwrap();
    c2.enforce_rebalance().unwrap();
    c1.poll(NO_WAIT).unwrap(); // rejoins; waits for c2
    let mut offsets = Offsets::new();
    offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(0));
    let err = c1.commit_offsets(&offsets, CommitMode::Sync).unwrap_err();
    assert!(matches!(err, Error::RebalanceInProgress(_)), "{err}");
    let err = std::thread::scope(|s| s.spawn(|| committer.commit_offsets(&offsets)).join())
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::RebalanceInProgress(_)), "{err}");
    settle(&cluster, &[&c1, &c2], 2);
    c1.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(1));
    committer.commit_offsets(&offsets).unwrap();
    let tp = TopicPartition::new("t", 0);
    let committed = c1.committed(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(committed[&tp], Some(OffsetAndMetadata::new(1)));
}

/// Kafka's needsJoinPrepare: the auto-commit before rejoining runs once per rebalance, not
/// again when the rebalance starts over (a member left) after this member had rejoined.
#[test]
fn the_auto_commit_before_rejoining_runs_once_per_rebalance() {
    let (_clock, cluster) = setup(2);
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let c1 = cluster.consumer(eager().client_id("c1")).unwrap();
    c1.subscribe_with(&["t"], CommitLog(Arc::clone(&outcomes)))
        .unwrap();
    let journal = Journal::default();
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    let c3 = member(&cluster, eager(), "c3", &["t"], &journal);
    settle(&cluster, &[&c1, &c2, &c3], 2);
    outcomes.lock().unwrap().clear();
    c3.enforce_rebalance().unwrap();
    c1.poll(NO_WAIT).unwrap(); // commits, then rejoins
    c2.close().unwrap(); // the rebalance starts over without c2
    c1.poll(NO_WAIT).unwrap();
    settle(&cluster, &[&c1, &c3], 2);
    let outcomes = outcomes.lock().unwrap().clone();
    assert_eq!(outcomes, [Ok(())], "one commit before rejoining");
}

/// Kafka's broker answers per partition: the offsets of partitions that exist are
/// committed, the others refused (UNKNOWN_TOPIC_OR_PARTITION).
#[test]
fn a_commit_naming_a_partition_that_does_not_exist_commits_the_others() {
    let (_clock, cluster) = setup(1);
    let journal = Journal::default();
    let config = eager().enable_auto_commit(false);
    let c1 = member(&cluster, config, "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap();
    let tp0 = TopicPartition::new("t", 0);
    let mut offsets = Offsets::new();
    offsets.insert(tp0.clone(), OffsetAndMetadata::new(3));
    offsets.insert(TopicPartition::new("t", 5), OffsetAndMetadata::new(1));
    let err = c1.commit_offsets(&offsets, CommitMode::Sync).unwrap_err();
    assert!(matches!(err, Error::UnknownTopicOrPartition(_)), "{err}");
    let committed = c1.committed(std::slice::from_ref(&tp0)).unwrap();
    assert_eq!(committed[&tp0], Some(OffsetAndMetadata::new(3)));
}

/// As Kafka's close, which logs a failed auto-commit: the partitions of a topic deleted
/// before the member noticed do not fail it.
#[test]
fn closing_after_a_subscribed_topic_was_deleted_succeeds() {
    let (_clock, cluster) = setup(1);
    cluster.create_topic(NewTopic::new("d", 1)).unwrap();
    let journal = Journal::default();
    let c1 = member(&cluster, eager(), "c1", &["t", "d"], &journal);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1), ["d-0", "t-0"]);
    cluster.delete_topic("d").unwrap();
    c1.close().unwrap();
    let reader = cluster.consumer(eager()).unwrap();
    let tp = TopicPartition::new("t", 0);
    let committed = reader.committed(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(
        committed[&tp],
        Some(OffsetAndMetadata::new(0)),
        "t-0 committed"
    );
}

#[test]
fn subscribing_to_no_topics_unsubscribes() {
    let (_clock, cluster) = setup(2);
    let journal = Journal::default();
    let c1 = member(&cluster, eager(), "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&c1).len(), 2);
    journal.take();
    c1.subscribe(&[]).unwrap();
    assert!(c1.assignment().is_empty() && c1.subscription().is_empty());
    assert_eq!(
        journal.take(),
        [("c1".into(), "revoked", strings(&["t-0", "t-1"]))]
    );
    let group = cluster.describe_group("g").unwrap();
    assert!(group.members.is_empty(), "{group:?}");
    // As after unsubscribe, polling needs a new subscription or assignment.
    assert!(matches!(c1.poll(NO_WAIT), Err(Error::IllegalState(_))));
}

/// Polls every member, in order, until the group is stable with every partition owned once
/// and every member at the group's generation.
fn settle(cluster: &Cluster, members: &[&Consumer], partitions: usize) {
    for _ in 0..10 {
        for m in members {
            m.poll(NO_WAIT).unwrap();
        }
        let group = cluster.describe_group("g").unwrap();
        let owned: usize = members.iter().map(|m| m.assignment().len()).sum();
        let current = members.iter().all(|m| m.generation() == group.generation);
        if group.state == GroupState::Stable && owned == partitions && current {
            return;
        }
    }
    panic!(
        "the group did not settle: {:?}",
        cluster.describe_group("g")
    );
}

/// Who owns each partition.
fn owners(members: &[(&str, &Consumer)]) -> std::collections::BTreeMap<String, String> {
    members
        .iter()
        .flat_map(|(name, m)| owned(m).into_iter().map(move |tp| (tp, name.to_string())))
        .collect()
}

#[test]
fn eager_sticky_keeps_every_partition_whose_owner_stays() {
    // Kafka's StickyAssignor carries each member's last assignment and its generation in the
    // subscription's user data, so an eager rebalance stays sticky: when one of 8 members
    // leaves, only its partitions move.
    let (_clock, cluster) = setup(24);
    let journal = Journal::default();
    let config = ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::Sticky]);
    let names: Vec<String> = (1..=8).map(|i| format!("m{i}")).collect();
    let consumers: Vec<Consumer> = names
        .iter()
        .map(|n| member(&cluster, config.clone(), n, &["t"], &journal))
        .collect();
    let all: Vec<&Consumer> = consumers.iter().collect();
    settle(&cluster, &all, 24);
    let named: Vec<(&str, &Consumer)> = names.iter().map(String::as_str).zip(all.clone()).collect();
    let before = owners(&named);
    let leaving: Vec<String> = owned(&consumers[3]);
    assert_eq!(leaving.len(), 3);
    consumers[3].close().unwrap();
    let stay: Vec<&Consumer> = all
        .iter()
        .copied()
        .filter(|c| !std::ptr::eq(*c, &consumers[3]))
        .collect();
    settle(&cluster, &stay, 24);
    let named: Vec<(&str, &Consumer)> = named.into_iter().filter(|(n, _)| *n != "m4").collect();
    let after = owners(&named);
    let moved: Vec<&String> = before
        .iter()
        .filter(|(tp, owner)| after.get(*tp) != Some(*owner))
        .map(|(tp, _)| tp)
        .collect();
    let mut moved: Vec<String> = moved.into_iter().cloned().collect();
    moved.sort();
    let mut leaving = leaving;
    leaving.sort();
    assert_eq!(moved, leaving, "only the leaver's partitions moved");
    assert!(stay.iter().all(|c| (3..=4).contains(&c.assignment().len())));
}

#[test]
fn cooperative_members_adopt_the_generation_the_leader_revoked_in() {
    // c1 (the leader) and c2 own three partitions each; c3 joins. In the first round c1 and
    // c2 each give one up; c1 takes its assignment and revokes at once, which starts the
    // follow-up round before c2 has polled. As in Kafka, c2 has that round's generation and
    // assignment (JoinGroup and SyncGroup reached it first), so it rejoins owning two
    // partitions at the new generation, and nothing moves but the two handed to c3.
    let (_clock, cluster) = setup(6);
    let journal = Journal::default();
    let config =
        ConsumerConfig::with_group("g").assignment_strategy(&[AssignorKind::CooperativeSticky]);
    let c1 = member(&cluster, config.clone(), "c1", &["t"], &journal);
    let c2 = member(&cluster, config.clone(), "c2", &["t"], &journal);
    settle(&cluster, &[&c1, &c2], 6);
    let before = owners(&[("c1", &c1), ("c2", &c2)]);
    let c3 = member(&cluster, config, "c3", &["t"], &journal);
    journal.take();
    c3.poll(NO_WAIT).unwrap(); // joins: a rebalance starts
    c1.poll(NO_WAIT).unwrap(); // rejoins
    c2.poll(NO_WAIT).unwrap(); // rejoins: the round completes
    let first_round = cluster.describe_group("g").unwrap().generation;
    c1.poll(NO_WAIT).unwrap(); // takes its assignment, revokes one, starts the next round
    assert_eq!(
        cluster.describe_group("g").unwrap().state,
        GroupState::PreparingRebalance
    );
    c2.poll(NO_WAIT).unwrap();
    assert_eq!(
        (c2.generation(), owned(&c2).len()),
        (first_round, 2),
        "c2 took the first round's assignment before rejoining"
    );
    settle(&cluster, &[&c1, &c2, &c3], 6);
    let after = owners(&[("c1", &c1), ("c2", &c2), ("c3", &c3)]);
    let moved: Vec<&String> = before
        .iter()
        .filter(|(tp, owner)| after.get(*tp) != Some(*owner))
        .map(|(tp, _)| tp)
        .collect();
    assert_eq!(
        moved.len(),
        2,
        "only what c3 needed moved: {before:?} -> {after:?}"
    );
    assert!(moved.iter().all(|tp| after[*tp] == "c3"));
    let revoked: usize = journal
        .take()
        .iter()
        .filter(|(_, e, _)| *e == "revoked")
        .map(|(_, _, p)| p.len())
        .sum();
    assert_eq!(
        revoked, 2,
        "each moved partition was revoked once, nothing else"
    );
}

/// As [`setup`], with `group.initial.rebalance.delay.ms` at 3 s.
fn setup_with_initial_delay(partitions: i32) -> (MockClock, Cluster) {
    let clock = MockClock::new(1_000_000);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .group_initial_rebalance_delay_ms(3_000)
        .temporary()
        .unwrap();
    cluster
        .create_topic(NewTopic::new("t", partitions))
        .unwrap();
    (clock, cluster)
}

#[test]
fn members_joining_within_the_initial_delay_join_one_rebalance() {
    // Kafka's group.initial.rebalance.delay.ms: the first rebalance of an empty group waits,
    // and waits again while new members keep arriving.
    let (clock, cluster) = setup_with_initial_delay(4);
    let journal = Journal::default();
    let c1 = member(&cluster, eager(), "c1", &["t"], &journal);
    c1.poll(NO_WAIT).unwrap();
    assert_eq!(
        (owned(&c1).len(), cluster.describe_group("g").unwrap().state),
        (0, GroupState::PreparingRebalance),
        "the first rebalance waits"
    );
    clock.advance_ms(1_000);
    let c2 = member(&cluster, eager(), "c2", &["t"], &journal);
    c2.poll(NO_WAIT).unwrap();
    // The first wait ends at +3 s; c2 arrived during it, so another 3 s follow.
    clock.advance_ms(2_000);
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert!(owned(&c1).is_empty() && owned(&c2).is_empty());
    clock.advance_ms(2_999);
    c1.poll(NO_WAIT).unwrap();
    assert!(owned(&c1).is_empty(), "1 ms of the second wait is left");
    clock.advance_ms(1);
    c1.poll(NO_WAIT).unwrap();
    c2.poll(NO_WAIT).unwrap();
    assert_eq!((owned(&c1).len(), owned(&c2).len()), (2, 2));
    assert_eq!((c1.generation(), c2.generation()), (1, 1), "one rebalance");

    // Only an empty group waits: a later newcomer rebalances at once.
    let c3 = member(&cluster, eager(), "c3", &["t"], &journal);
    c3.poll(NO_WAIT).unwrap();
    settle(&cluster, &[&c1, &c2, &c3], 4);
    assert_eq!(c3.generation(), 2);
    assert_eq!(owned(&c3).len(), 1);
}

#[test]
fn without_new_members_the_initial_delay_ends_once() {
    let (clock, cluster) = setup_with_initial_delay(2);
    let journal = Journal::default();
    let alone = member(&cluster, eager(), "alone", &["t"], &journal);
    alone.poll(NO_WAIT).unwrap();
    clock.advance_ms(2_999);
    alone.poll(NO_WAIT).unwrap();
    assert!(owned(&alone).is_empty());
    clock.advance_ms(1);
    alone.poll(NO_WAIT).unwrap();
    assert_eq!(owned(&alone).len(), 2);
}

/// Panics when given partitions.
struct Panicking;

impl RebalanceListener for Panicking {
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, _: &[TopicPartition]) {
        panic!("the listener fails");
    }
}

#[test]
fn a_member_whose_listener_panicked_still_expires() {
    // The panic leaves poll; max.poll.interval.ms then counts as after any poll.
    let (clock, cluster) = setup(1);
    let config = eager().max_poll_interval(Duration::from_millis(1_000));
    let consumer = cluster.consumer(config).unwrap();
    consumer.subscribe_with(&["t"], Panicking).unwrap();
    let poll = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| consumer.poll(NO_WAIT)));
    assert!(poll.is_err(), "the listener's panic reaches the caller");
    assert_eq!(cluster.describe_group("g").unwrap().members.len(), 1);
    clock.advance_ms(1_001);
    assert!(cluster.describe_group("g").unwrap().members.is_empty());
}
