//! rust-rdkafka's raw rebalance callback, `ConsumerContext::rebalance(consumer, err, tpl)`:
//! as librdkafka's `rebalance_cb`, the application's assign calls in it decide what is
//! fetched (librdkafka's join state waits in `WAIT_ASSIGN_CALL` for them), the offsets of
//! the list it assigns are the start positions (`rd_kafka_assignment_add`), an eager member
//! may only `assign`/`unassign` and a cooperative one only change incrementally
//! (`rd_kafka_cgrp_handle_assign_op`'s `_STATE`), and an unassign call clears
//! `assignment_lost()` (`rd_kafka_cgrp_assignment_clear_lost`).
#![cfg(not(loom))]

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use common::facade::{assigned_partitions, cluster_on, cluster_with, config, list, produce};
use kafkalite::rdkafka;
use kafkalite::MockClock;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(10);

/// What an application keeping its offsets outside Kafka does: on assignment, it sets the
/// start offset of each partition it has one for and assigns only those; it writes down
/// what each of its assign calls returned.
#[derive(Default)]
struct ExternalOffsets {
    /// The next offset of each partition, as the application's own store has it.
    next: HashMap<i32, i64>,
    /// Assign the other way than the group's protocol asks.
    wrong_method: bool,
    /// Assign the partitions of `next` from their committed offsets instead.
    from_committed: bool,
    /// Leave revocations alone (call no unassign).
    ignore_revocations: bool,
    /// Also list this partition when assigning.
    foreign: Option<(&'static str, i32)>,
    results: Mutex<Vec<Result<(), KafkaError>>>,
    /// The partitions of each revocation.
    revoked: Mutex<Vec<Vec<i32>>>,
    /// The group assignment's size in the last statistics.
    assignment_size: Mutex<Option<i32>>,
}

impl ClientContext for ExternalOffsets {
    fn stats(&self, statistics: rdkafka::Statistics) {
        if let Some(group) = statistics.cgrp {
            *self.assignment_size.lock().unwrap() = Some(group.assignment_size);
        }
    }
}

impl ConsumerContext for ExternalOffsets {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative =
            consumer.rebalance_protocol() == rdkafka::consumer::RebalanceProtocol::Cooperative;
        let result = if err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            self.assign(consumer, tpl, cooperative)
        } else {
            let partitions = tpl.elements().iter().map(|e| e.partition()).collect();
            (self.revoked.lock())
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(partitions);
            match (self.ignore_revocations, cooperative) {
                (true, _) => Ok(()),
                (false, true) => consumer.incremental_unassign(tpl),
                (false, false) => consumer.unassign(),
            }
        };
        (self.results.lock())
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(result);
    }
}

impl ExternalOffsets {
    /// Assigns the partitions of `tpl` it has offsets for (and the foreign one).
    fn assign(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &TopicPartitionList,
        cooperative: bool,
    ) -> Result<(), KafkaError> {
        let mut mine = TopicPartitionList::new();
        for element in tpl.elements() {
            if let Some(&next) = self.next.get(&element.partition()) {
                let offset = match self.from_committed {
                    true => Offset::Invalid,
                    false => Offset::Offset(next),
                };
                mine.add_partition_offset("t", element.partition(), offset)
                    .unwrap();
            }
        }
        if let Some((topic, partition)) = self.foreign {
            mine.add_partition(topic, partition);
        }
        if cooperative != self.wrong_method {
            consumer.incremental_assign(&mine)
        } else {
            consumer.assign(&mine)
        }
    }
}

/// A member of group "g" subscribed to "t" with `context`, under `strategy`, polled until
/// its first rebalance ran, and what it handed out meanwhile (as [`drain`]).
fn member(
    servers: &str,
    strategy: &str,
    context: ExternalOffsets,
) -> (BaseConsumer<ExternalOffsets>, Vec<(i32, i64)>) {
    member_with(servers, strategy, context, &[])
}

/// [`member`], with these settings too.
fn member_with(
    servers: &str,
    strategy: &str,
    context: ExternalOffsets,
    settings: &[(&str, &str)],
) -> (BaseConsumer<ExternalOffsets>, Vec<(i32, i64)>) {
    let mut config = config(servers);
    config
        .set("group.id", "g")
        .set("partition.assignment.strategy", strategy)
        .set("auto.offset.reset", "earliest");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let consumer: BaseConsumer<ExternalOffsets> = config.create_with_context(context).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let mut taken = Vec::new();
    for _ in 0..100 {
        if !consumer.context().results.lock().unwrap().is_empty() {
            break;
        }
        // (The poll that serves the assignment may hand out its first message.)
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.unwrap();
            taken.push((message.partition(), message.offset()));
        }
    }
    (consumer, taken)
}

/// Polls until three polls in a row bring nothing (a poll that serves a commit report
/// returns `None` at once), and returns what came as (partition, offset).
fn drain<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> Vec<(i32, i64)> {
    let mut taken = Vec::new();
    let mut idle = 0;
    while idle < 3 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                let message = message.unwrap();
                taken.push((message.partition(), message.offset()));
                idle = 0;
            }
            None => idle += 1,
        }
    }
    taken
}

fn offsets(partition: i32, range: std::ops::Range<i64>) -> Vec<(i32, i64)> {
    range.map(|offset| (partition, offset)).collect()
}

#[test]
fn partitions_start_at_the_offsets_the_callback_assigns() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    produce(&servers, 0, 10);
    produce(&servers, 1, 10);
    let context = ExternalOffsets {
        next: HashMap::from([(0, 3), (1, 7)]),
        ..ExternalOffsets::default()
    };
    let (consumer, mut taken) = member(&servers, "range", context);
    assert_eq!(*consumer.context().results.lock().unwrap(), [Ok(())]);
    taken.extend(drain(&consumer));
    taken.sort_unstable();
    assert_eq!(taken, [offsets(0, 3..10), offsets(1, 7..10)].concat());
}

/// librdkafka fetches only what the application assigned; the rest waits for an assign
/// call, in the callback or after it (`rd_kafka_cgrp_incremental_assign` completes the
/// `WAIT_ASSIGN_CALL` state from anywhere).
#[test]
fn a_partition_the_callback_leaves_out_waits_for_an_assign_call() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    produce(&servers, 0, 4);
    produce(&servers, 1, 6);
    let context = ExternalOffsets {
        next: HashMap::from([(0, 1)]),
        ..ExternalOffsets::default()
    };
    let (consumer, mut taken) = member(&servers, "cooperative-sticky", context);
    assert_eq!(assigned_partitions(&consumer), [0]);
    taken.extend(drain(&consumer));
    assert_eq!(taken, offsets(0, 1..4));
    // Resuming it does not fetch it: it is not assigned.
    consumer
        .resume(&list(&[("t", 1, Offset::Invalid)]))
        .unwrap();
    assert_eq!(drain(&consumer), Vec::new());
    consumer
        .incremental_assign(&list(&[("t", 1, Offset::Offset(2))]))
        .unwrap();
    assert_eq!(assigned_partitions(&consumer), [0, 1]);
    assert_eq!(drain(&consumer), offsets(1, 2..6));
    // And an unassigned partition is fetched no more.
    consumer
        .incremental_unassign(&list(&[("t", 0, Offset::Invalid)]))
        .unwrap();
    produce(&servers, 0, 2);
    produce(&servers, 1, 1);
    assert_eq!(drain(&consumer), offsets(1, 6..7));
    assert_eq!(assigned_partitions(&consumer), [1]);
}

#[test]
fn the_assign_method_must_match_the_groups_protocol() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, 0, 3);
    let wrong = |strategy: &str| {
        let context = ExternalOffsets {
            next: HashMap::from([(0, 0)]),
            wrong_method: true,
            ..ExternalOffsets::default()
        };
        let (consumer, mut taken) = member(&servers, strategy, context);
        let results = std::mem::take(&mut *consumer.context().results.lock().unwrap());
        taken.extend(drain(&consumer));
        assert_eq!(taken, Vec::new(), "nothing assigned, nothing fetched");
        (results, assigned_partitions(&consumer))
    };
    let state = |text: &str| Err(KafkaError::Subscription(text.to_string()));
    // An eager member's incremental_assign returns the error's name, a cooperative one's
    // assign the code's description (rust-rdkafka maps the two calls so).
    assert_eq!(wrong("range"), (vec![state("_STATE")], vec![]));
    assert_eq!(
        wrong("cooperative-sticky"),
        (vec![state(RDKafkaErrorCode::State.description())], vec![])
    );
}

#[test]
fn only_the_partitions_the_group_gave_can_be_assigned() {
    let (_cluster, servers) = cluster_with(&[("t", 1), ("u", 1)]);
    let context = ExternalOffsets {
        next: HashMap::from([(0, 0)]),
        foreign: Some(("u", 0)),
        ..ExternalOffsets::default()
    };
    produce(&servers, 0, 3);
    let (consumer, mut taken) = member(&servers, "range", context);
    taken.extend(drain(&consumer));
    assert_eq!(taken, Vec::new(), "nothing assigned, nothing fetched");
    let results = std::mem::take(&mut *consumer.context().results.lock().unwrap());
    let [Err(KafkaError::Subscription(text))] = &results[..] else {
        panic!("{results:?}");
    };
    assert!(
        text.starts_with("Local: Invalid argument or configuration (u [0] is not"),
        "{text}"
    );
    // Refused as a whole: nothing is assigned.
    assert_eq!(assigned_partitions(&consumer), Vec::<i32>::new());
}

/// librdkafka would not rejoin before the unassign call; the facade's group has taken the
/// partitions, so a callback that leaves them assigned sees them removed when it returns,
/// their stored offsets committed as an unassign commits them.
#[test]
fn revoked_partitions_the_callback_leaves_assigned_are_removed_and_committed() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, 0, 5);
    let context = ExternalOffsets {
        next: HashMap::from([(0, 0)]),
        ignore_revocations: true,
        ..ExternalOffsets::default()
    };
    // (No interval commits: the commit seen is the removal's.)
    let settings = [("auto.commit.interval.ms", "0")];
    let (consumer, mut taken) = member_with(&servers, "range", context, &settings);
    taken.extend(drain(&consumer));
    assert_eq!(taken, offsets(0, 0..5));
    consumer.unsubscribe();
    assert_eq!(drain(&consumer), Vec::new());
    assert_eq!(
        consumer.context().results.lock().unwrap().len(),
        2,
        "assign, revoke"
    );
    assert_eq!(assigned_partitions(&consumer), Vec::<i32>::new());
    let committed = consumer
        .committed_offsets(list(&[("t", 0, Offset::Invalid)]), WAIT)
        .unwrap();
    assert_eq!(committed.elements()[0].offset(), Offset::Offset(5));
}

/// A withheld partition is not even positioned: under `auto.offset.reset=error`, with
/// nothing committed, it raises no error until it is assigned; a revocation lists it, as
/// librdkafka revokes the group's assignment, and the statistics count it.
#[test]
fn a_withheld_partition_is_neither_positioned_nor_fetched_and_is_revoked() {
    let (_cluster, servers) = cluster_with(&[("t", 2)]);
    produce(&servers, 0, 3);
    produce(&servers, 1, 3);
    // Partition 0 from its committed offset, 1.
    let committer: BaseConsumer = config(&servers).set("group.id", "g").create().unwrap();
    let committed = list(&[("t", 0, Offset::Offset(1))]);
    committer.commit(&committed, CommitMode::Sync).unwrap();
    let context = ExternalOffsets {
        next: HashMap::from([(0, 1)]),
        from_committed: true,
        ..ExternalOffsets::default()
    };
    let settings = [
        ("auto.offset.reset", "error"),
        ("statistics.interval.ms", "1"),
    ];
    let (consumer, mut taken) = member_with(&servers, "range", context, &settings);
    taken.extend(drain(&consumer));
    assert_eq!(taken, offsets(0, 1..3));
    assert_eq!(assigned_partitions(&consumer), [0]);
    // librdkafka's `cgrp.assignment_size` counts the group's assignment.
    assert_eq!(*consumer.context().assignment_size.lock().unwrap(), Some(2));
    consumer.unsubscribe();
    assert_eq!(drain(&consumer), Vec::new());
    let revoked = consumer.context().revoked.lock().unwrap().clone();
    assert_eq!(revoked, [vec![0, 1]]);
}

/// What an application that leaves revocations to the default does, writing down
/// `assignment_lost()` before and after the unassign call.
#[derive(Default)]
struct LostWatcher(Mutex<Vec<(bool, bool)>>);

impl ClientContext for LostWatcher {}

impl ConsumerContext for LostWatcher {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            self.seen().push((consumer.assignment_lost(), false));
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Rebalance::Revoke(_), Some(last)) = (rebalance, self.seen().last_mut()) {
            last.1 = consumer.assignment_lost();
        }
    }
}

impl LostWatcher {
    /// The revocations seen (also after a failed assertion poisoned the lock: the
    /// consumer's drop revokes again).
    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<(bool, bool)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[test]
fn the_unassign_call_clears_assignment_lost() {
    let clock = MockClock::new(0);
    let (_cluster, servers) = cluster_on(&clock, &[("t", 1)]);
    let consumer: BaseConsumer<LostWatcher> = config(&servers)
        .set("group.id", "g")
        .create_with_context(LostWatcher::default())
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    for _ in 0..20 {
        if assigned_partitions(&consumer) == [0] {
            break;
        }
        assert!(consumer.poll(Duration::ZERO).is_none());
    }
    assert_eq!(assigned_partitions(&consumer), [0]);
    // Past librdkafka's default max.poll.interval.ms (300 s): the group expels the member,
    // whose next poll finds its partitions lost.
    clock.advance_ms(300_001);
    for _ in 0..20 {
        if !consumer.context().seen().is_empty() {
            break;
        }
        let _ = consumer.poll(Duration::ZERO);
    }
    assert_eq!(consumer.context().seen().first(), Some(&(true, false)));
}

#[test]
fn every_response_error_converts_to_the_error_code_of_its_number() {
    let mut known = 0;
    for number in -200..=200 {
        let Some(err) = RDKafkaRespErr::from_code(number) else {
            assert!(RDKafkaErrorCode::from_code(number).is_none(), "{number}");
            continue;
        };
        known += 1;
        assert_eq!(err as i32, number);
        assert_eq!(RDKafkaRespErr::try_from(number), Ok(err));
        assert_eq!(RDKafkaErrorCode::from(err) as i32, number, "{err:?}");
    }
    // librdkafka's rd_kafka_resp_err_t: _BEGIN (-200) to _END_ALL (130), with gaps.
    assert_eq!(RDKafkaRespErr::RD_KAFKA_RESP_ERR__BEGIN as i32, -200);
    assert_eq!(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS as i32,
        -175
    );
    assert_eq!(
        RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS as i32,
        -174
    );
    assert_eq!(RDKafkaRespErr::RD_KAFKA_RESP_ERR_END_ALL as i32, 130);
    assert!(known > 150, "{known}");
}

/// A `StreamConsumer` runs the same callback inside `recv`.
#[test]
fn a_stream_consumer_starts_where_its_callback_assigns() {
    let (_cluster, servers) = cluster_with(&[("t", 1)]);
    produce(&servers, 0, 5);
    let context = ExternalOffsets {
        next: HashMap::from([(0, 3)]),
        ..ExternalOffsets::default()
    };
    let consumer: StreamConsumer<ExternalOffsets> = config(&servers)
        .set("group.id", "g")
        .set("auto.offset.reset", "earliest")
        .create_with_context(context)
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let taken = pollster::block_on(async {
        let mut taken = Vec::new();
        while taken.len() < 2 {
            let message = consumer.recv().await.unwrap();
            taken.push((message.partition(), message.offset()));
        }
        taken
    });
    assert_eq!(taken, offsets(0, 3..5));
    assert_eq!(*consumer.context().results.lock().unwrap(), [Ok(())]);
}
