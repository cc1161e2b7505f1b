//! Property tests of the rdkafka facade's stateful parts against simple models of
//! librdkafka's rules: a `TopicPartitionList` (elements in insertion order, duplicates
//! allowed, a new element's offset `Invalid`, setting an offset finds the first match or
//! fails with `_UNKNOWN_PARTITION`), and a consumer's offset store and commits
//! (`rd_kafka_offset_store0`: `_STATE` for a partition not assigned; `rd_kafka_offsets_store`
//! element by element; `rd_kafka_commit(NULL)`: the stored offsets ahead of the committed
//! ones, else `_NO_OFFSET`). `PROPTEST_CASES` sets the count; the test prints its seed,
//! which `PROPTEST_RNG_SEED` replays.
#![cfg(not(loom))]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::facade::{cluster_with, config};
use kafkalite::rdkafka;
use proptest::prelude::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Debug, Clone)]
enum ListOp {
    Add(u8, i32),
    AddWithOffset(u8, i32, i64),
    Set(u8, i32, i64),
    SetAll(i64),
}

fn list_op() -> impl Strategy<Value = ListOp> {
    let topic = 0u8..3;
    let partition = -1i32..3;
    let offset = prop_oneof![-2i64..=-1, 0i64..100, Just(-1000), Just(-1001), Just(-2005)];
    prop_oneof![
        (topic.clone(), partition.clone()).prop_map(|(t, p)| ListOp::Add(t, p)),
        (topic.clone(), partition.clone(), offset.clone())
            .prop_map(|(t, p, o)| ListOp::AddWithOffset(t, p, o)),
        (topic, partition, offset.clone()).prop_map(|(t, p, o)| ListOp::Set(t, p, o)),
        offset.prop_map(ListOp::SetAll),
    ]
}

fn name(topic: u8) -> String {
    format!("t{topic}")
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/rdkafka_model.proptest-regressions"))]

    #[test]
    fn a_topic_partition_list_behaves_as_librdkafkas(ops in proptest::collection::vec(list_op(), 0..40)) {
        let mut list = TopicPartitionList::new();
        // The model: (topic, partition, raw offset) in insertion order.
        let mut model: Vec<(String, i32, i64)> = Vec::new();
        for op in &ops {
            match op {
                ListOp::Add(t, p) => {
                    list.add_partition(&name(*t), *p);
                    model.push((name(*t), *p, -1001));
                }
                ListOp::AddWithOffset(t, p, o) => {
                    let result = list.add_partition_offset(&name(*t), *p, Offset::from_raw(*o));
                    model.push((name(*t), *p, -1001));
                    let first = model.iter_mut().find(|(mt, mp, _)| *mt == name(*t) && mp == p);
                    prop_assert!(result.is_ok());
                    first.expect("just added").2 = *o;
                }
                ListOp::Set(t, p, o) => {
                    let result = list.set_partition_offset(&name(*t), *p, Offset::from_raw(*o));
                    match model.iter_mut().find(|(mt, mp, _)| *mt == name(*t) && mp == p) {
                        Some(entry) => {
                            prop_assert!(result.is_ok());
                            entry.2 = *o;
                        }
                        None => prop_assert_eq!(
                            result,
                            Err(KafkaError::SetPartitionOffset(RDKafkaErrorCode::UnknownPartition))
                        ),
                    }
                }
                ListOp::SetAll(o) => {
                    list.set_all_offsets(Offset::from_raw(*o)).unwrap();
                    for entry in &mut model {
                        entry.2 = *o;
                    }
                }
            }
            let seen: Vec<(String, i32, i64)> = list
                .elements()
                .iter()
                .map(|e| (e.topic().to_string(), e.partition(), e.offset().to_raw().unwrap()))
                .collect();
            prop_assert_eq!(&seen, &model);
            prop_assert_eq!(list.count(), model.len());
        }
    }
}

#[derive(Debug, Clone)]
enum StoreOp {
    /// `store_offset(t, partition, offset)`: stores offset + 1.
    Store(i32, i64),
    /// `store_offsets` with these (partition, offset) elements, stored as they are.
    StoreList(Vec<(i32, i64)>),
    CommitState,
    /// `commit` of one explicit offset.
    Commit(i32, i64),
}

fn store_op() -> impl Strategy<Value = StoreOp> {
    // Partitions 0 and 1 are assigned, 2 exists unassigned, 5 does not exist.
    let partition = prop_oneof![4 => 0i32..2, 1 => Just(2), 1 => Just(5)];
    prop_oneof![
        (partition.clone(), 0i64..20).prop_map(|(p, o)| StoreOp::Store(p, o)),
        proptest::collection::vec((partition.clone(), 0i64..20), 1..4).prop_map(StoreOp::StoreList),
        Just(StoreOp::CommitState),
        (0i32..2, 0i64..20).prop_map(|(p, o)| StoreOp::Commit(p, o)),
    ]
}

/// librdkafka's answer for storing `offset` on partition `p` (`rd_kafka_offset_store0`: a
/// logical offset skips the assignment check).
fn store_error(p: i32, offset: i64) -> Option<RDKafkaErrorCode> {
    match p {
        0 | 1 => None,
        2 if offset < 0 => None,
        2 => Some(RDKafkaErrorCode::State),
        _ => Some(RDKafkaErrorCode::UnknownPartition),
    }
}

proptest! {
    #![proptest_config(common::proptest_config(32, "tests/rdkafka_model.proptest-regressions"))]

    #[test]
    fn the_offset_store_and_commits_follow_librdkafkas_rules(ops in proptest::collection::vec(store_op(), 1..25)) {
        let (_cluster, servers) = cluster_with(&[("t", 3)]);
        let consumer: BaseConsumer = config(&servers)
            .set("group.id", "model")
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset("t", 0, Offset::Beginning).unwrap();
        assignment.add_partition_offset("t", 1, Offset::Beginning).unwrap();
        consumer.assign(&assignment).unwrap();
        let mut stored: BTreeMap<i32, i64> = BTreeMap::new();
        let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
        for op in &ops {
            match op {
                StoreOp::Store(p, o) => {
                    let result = consumer.store_offset("t", *p, *o);
                    match store_error(*p, o + 1) {
                        None => {
                            prop_assert!(result.is_ok());
                            stored.insert(*p, o + 1);
                        }
                        Some(code) => prop_assert_eq!(result, Err(KafkaError::StoreOffset(code))),
                    }
                }
                StoreOp::StoreList(entries) => {
                    let mut list = TopicPartitionList::new();
                    for (p, o) in entries {
                        list.add_partition_offset("t", *p, Offset::Offset(*o)).unwrap();
                    }
                    let result = consumer.store_offsets(&list);
                    let mut last_error = None;
                    let mut any = false;
                    // What the list holds (a repeated partition's later elements keep the
                    // Invalid offset: the first test checks that), element by element.
                    for element in list.elements() {
                        let (p, o) = (element.partition(), element.offset().to_raw().unwrap());
                        match store_error(p, o) {
                            None => {
                                any = true;
                                stored.insert(p, o);
                            }
                            Some(code) => last_error = Some(code),
                        }
                    }
                    let _ = entries;
                    match last_error {
                        Some(code) if !any => prop_assert_eq!(result, Err(KafkaError::StoreOffset(code))),
                        _ => prop_assert!(result.is_ok(), "{:?}", result),
                    }
                }
                StoreOp::CommitState => {
                    // Assigned partitions whose stored offset is absolute and ahead of the
                    // committed one (none known: OFFSET_INVALID, -1001).
                    let ahead: Vec<(i32, i64)> = stored
                        .iter()
                        .filter(|(p, o)| **p < 2 && **o >= 0 && **o > committed.get(p).copied().unwrap_or(-1001))
                        .map(|(p, o)| (*p, *o))
                        .collect();
                    let result = consumer.commit_consumer_state(CommitMode::Sync);
                    if ahead.is_empty() {
                        prop_assert_eq!(result, Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)));
                    } else {
                        prop_assert!(result.is_ok(), "{:?}", result);
                        committed.extend(ahead);
                    }
                }
                StoreOp::Commit(p, o) => {
                    let mut list = TopicPartitionList::new();
                    list.add_partition_offset("t", *p, Offset::Offset(*o)).unwrap();
                    prop_assert!(consumer.commit(&list, CommitMode::Sync).is_ok());
                    committed.insert(*p, *o);
                }
            }
        }
        let mut query = TopicPartitionList::new();
        query.add_partition("t", 0);
        query.add_partition("t", 1);
        let answer = consumer.committed_offsets(query, Duration::from_secs(5)).unwrap();
        for p in 0..2 {
            let expected = committed.get(&p).map_or(Offset::Invalid, |o| Offset::Offset(*o));
            prop_assert_eq!(answer.find_partition("t", p).unwrap().offset(), expected, "partition {}", p);
        }
    }
}
