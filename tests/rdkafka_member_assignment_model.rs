//! Property test of a group member's assignment calls (the raw rebalance callback's first
//! assignment, then `incremental_assign`/`incremental_unassign` after it) against a model
//! of librdkafka's rules: `rd_kafka_assignment_add` sorts the list, then refuses a partition
//! listed twice (`_INVALID_ARG`) or already assigned (`_CONFLICT`), element by element, and
//! starts each partition it adds at the list's offset, or at the committed one (none here:
//! `auto.offset.reset=earliest`, so 0); `rd_kafka_assignment_subtract` refuses a removal
//! from an empty assignment or of a partition not assigned (`_INVALID_ARG`); only the
//! assigned partitions are fetched. The facade's one addition: a partition the group did not
//! give ("u") is refused with `_INVALID_ARG` and its name. One member of a cooperative group
//! has all three partitions of "t". `PROPTEST_CASES` sets the count (16 by default, 256 under
//! `CI=true`); the test prints its seed, which `PROPTEST_RNG_SEED` replays.
#![cfg(not(loom))]

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use common::facade::{cluster_with, config, produce};
use kafkalite::rdkafka;
use proptest::prelude::*;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

/// Partitions as the cases name them: 0–2 are "t"'s, 3 is "u" 0 (not subscribed).
fn named(index: u8) -> (&'static str, i32) {
    match index {
        3 => ("u", 0),
        partition => ("t", i32::from(partition)),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Produce(u8, u8),
    /// Partitions with a start offset (a fraction of the partition's end, in 0..=255) or none.
    Assign(Vec<(u8, Option<u8>)>),
    Unassign(Vec<u8>),
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    let listed = (0u8..4, proptest::option::of(any::<u8>()));
    prop_oneof![
        (0u8..3, 1u8..4).prop_map(|(p, n)| Op::Produce(p, n)),
        proptest::collection::vec(listed, 0..4).prop_map(Op::Assign),
        proptest::collection::vec(0u8..4, 0..4).prop_map(Op::Unassign),
        Just(Op::Drain),
    ]
}

/// The callback's first assignment: the partitions of "t" it takes, with a start fraction.
fn first_assignment() -> impl Strategy<Value = Vec<(u8, Option<u8>)>> {
    proptest::collection::btree_map(0u8..3, proptest::option::of(any::<u8>()), 0..4)
        .prop_map(|chosen| chosen.into_iter().collect())
}

/// The offset a fraction names in a partition of `end` messages.
fn offset_at(fraction: u8, end: i64) -> i64 {
    i64::from(fraction) * end / 255
}

/// The model: each partition's end, and the assigned ones with their next offset.
#[derive(Debug, Default)]
struct Model {
    end: [i64; 3],
    assigned: BTreeMap<i32, i64>,
}

impl Model {
    /// librdkafka's outcome of `incremental_assign` (the start offsets as the list gives
    /// them), as the error name a facade call returns.
    fn assign(&mut self, listed: &[(u8, Option<u8>)]) -> Result<(), &'static str> {
        let mut sorted: Vec<(&str, i32)> = listed.iter().map(|&(p, _)| named(p)).collect();
        sorted.sort_unstable();
        for (i, tp) in sorted.iter().enumerate() {
            if i > 0 && sorted[i - 1] == *tp {
                return Err("_INVALID_ARG");
            }
            if tp.0 == "t" && self.assigned.contains_key(&tp.1) {
                return Err("_CONFLICT");
            }
        }
        if sorted.iter().any(|tp| tp.0 == "u") {
            return Err("_INVALID_ARG (u [0] is not");
        }
        for &(p, fraction) in listed {
            let end = self.end[usize::from(p)];
            let start = fraction.map_or(0, |fraction| offset_at(fraction, end));
            self.assigned.insert(i32::from(p), start);
        }
        Ok(())
    }

    fn unassign(&mut self, listed: &[u8]) -> Result<(), &'static str> {
        if self.assigned.is_empty() && !listed.is_empty() {
            return Err("_INVALID_ARG");
        }
        let mut sorted: Vec<(&str, i32)> = listed.iter().map(|&p| named(p)).collect();
        sorted.sort_unstable();
        for (i, tp) in sorted.iter().enumerate() {
            let twice = i > 0 && sorted[i - 1] == *tp;
            if twice || tp.0 != "t" || !self.assigned.contains_key(&tp.1) {
                return Err("_INVALID_ARG");
            }
        }
        for tp in sorted {
            self.assigned.remove(&tp.1);
        }
        Ok(())
    }

    /// What a drain hands out, (partition, offset) in order; the positions move to the end.
    fn drain(&mut self) -> Vec<(i32, i64)> {
        let mut expected = Vec::new();
        for (&partition, next) in &mut self.assigned {
            let end = self.end[usize::try_from(partition).unwrap()];
            expected.extend((*next..end).map(|offset| (partition, offset)));
            *next = end;
        }
        expected
    }
}

/// The list of a case's partitions with their offsets, against the model's ends.
fn list_of(listed: &[(u8, Option<u8>)], end: &[i64; 3]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for &(p, fraction) in listed {
        let (topic, partition) = named(p);
        let offset = match (fraction, end.get(usize::from(p))) {
            (Some(fraction), Some(&end)) => Offset::Offset(offset_at(fraction, end)),
            (Some(_), None) => Offset::Beginning,
            (None, _) => Offset::Invalid,
        };
        tpl.add_partition_offset(topic, partition, offset).unwrap();
    }
    tpl
}

/// The first assignment's callback: assigns the chosen partitions, starting each where the
/// case says.
struct FirstAssignment {
    list: TopicPartitionList,
    results: Mutex<Vec<Result<(), KafkaError>>>,
}

impl ClientContext for FirstAssignment {}

impl ConsumerContext for FirstAssignment {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                consumer.incremental_assign(&self.list)
            }
            _ => consumer.incremental_unassign(tpl),
        };
        (self.results.lock())
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(result);
    }
}

/// Takes `count` messages (each within 10 s), then checks that nothing more comes within
/// 50 ms (a late one fails the next drain).
fn take<C: ConsumerContext>(consumer: &BaseConsumer<C>, count: usize) -> Vec<(i32, i64)> {
    let mut taken = Vec::new();
    while taken.len() < count {
        let message = consumer.poll(Duration::from_secs(10)).expect("a message");
        let message = message.unwrap();
        taken.push((message.partition(), message.offset()));
    }
    if let Some(extra) = consumer.poll(Duration::from_millis(50)) {
        let extra = extra.unwrap();
        taken.push((extra.partition(), extra.offset()));
    }
    taken.sort_unstable();
    taken
}

fn run_case(initial: [u8; 3], first: &[(u8, Option<u8>)], ops: &[Op]) -> Result<(), TestCaseError> {
    let (_cluster, servers) = cluster_with(&[("t", 3), ("u", 1)]);
    let mut model = Model::default();
    for (p, &n) in initial.iter().enumerate() {
        produce(&servers, i32::try_from(p).unwrap(), usize::from(n));
        model.end[p] = i64::from(n);
    }
    let context = FirstAssignment {
        list: list_of(first, &model.end),
        results: Mutex::new(Vec::new()),
    };
    let consumer: BaseConsumer<FirstAssignment> = config(&servers)
        .set("group.id", "g")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create_with_context(context)
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let mut early = Vec::new();
    for _ in 0..100 {
        if !consumer.context().results.lock().unwrap().is_empty() {
            break;
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.unwrap();
            early.push((message.partition(), message.offset()));
        }
    }
    let results = std::mem::take(&mut *consumer.context().results.lock().unwrap());
    prop_assert_eq!(results, [Ok(())]);
    model.assign(first).unwrap();
    let mut expected = model.drain();
    let mut taken = take(&consumer, expected.len() - early.len());
    taken.extend(early);
    taken.sort_unstable();
    expected.sort_unstable();
    prop_assert_eq!(taken, expected, "the first assignment's messages");
    for op in ops {
        let outcome = match op {
            Op::Produce(p, n) => {
                produce(&servers, i32::from(*p), usize::from(*n));
                model.end[usize::from(*p)] += i64::from(*n);
                continue;
            }
            Op::Drain => {
                let mut expected = model.drain();
                expected.sort_unstable();
                prop_assert_eq!(take(&consumer, expected.len()), expected, "{:?}", op);
                continue;
            }
            Op::Assign(listed) => {
                let tpl = list_of(listed, &model.end);
                (consumer.incremental_assign(&tpl), model.assign(listed))
            }
            Op::Unassign(listed) => {
                let pairs: Vec<(u8, Option<u8>)> = listed.iter().map(|&p| (p, None)).collect();
                let tpl = list_of(&pairs, &model.end);
                (consumer.incremental_unassign(&tpl), model.unassign(listed))
            }
        };
        match outcome {
            (Ok(()), Ok(())) => {}
            (Err(KafkaError::Subscription(text)), Err(name)) if text.starts_with(name) => {}
            (got, want) => prop_assert!(false, "{:?}: got {:?}, want {:?}", op, got, want),
        }
        let mut assigned: Vec<i32> = (consumer.assignment().unwrap().elements().iter())
            .map(|e| e.partition())
            .collect();
        assigned.sort_unstable();
        let want: Vec<i32> = model.assigned.keys().copied().collect();
        prop_assert_eq!(assigned, want, "assignment after {:?}", op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(
        16,
        "tests/rdkafka_member_assignment_model.proptest-regressions"
    ))]

    #[test]
    fn member_assignment_calls_follow_librdkafkas_rules(
        initial in [0u8..6, 0u8..6, 0u8..6],
        first in first_assignment(),
        ops in proptest::collection::vec(op(), 1..12),
    ) {
        run_case(initial, &first, &ops)?;
    }
}
