//! Property test: a consumer's positions, polls, seeks, pauses and commits against a simple
//! model, across two partitions, with appends and DeleteRecords in between and consumers
//! replaced (resuming from the commit). Runs 256 cases under `CI=true`
//! (`PROPTEST_CASES` sets the count); prints its seed, which `PROPTEST_RNG_SEED` replays.

// Test arithmetic on small, known offsets, positions and partition numbers (issue 13 leaves
// these casts to a later pass; src/ is checked).
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::time::Duration;

use kafkalite::{
    AutoOffsetReset, Cluster, CommitMode, Consumer, ConsumerConfig, NewTopic, Offset,
    ProducerConfig, ProducerRecord, TopicPartition,
};
use proptest::prelude::*;

const PARTITIONS: usize = 2;
const MAX_POLL: usize = 5;

#[derive(Debug, Clone)]
enum Op {
    Produce { partition: usize, count: usize },
    Poll,
    Seek { partition: usize, offset: i64 },
    SeekToBeginning,
    SeekToEnd { partition: usize },
    Pause { partition: usize },
    Resume { partition: usize },
    Commit,
    DeleteRecords { partition: usize, up_to: i64 },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PARTITIONS;
    prop_oneof![
        4 => (p.clone(), 1usize..8).prop_map(|(partition, count)| Op::Produce { partition, count }),
        6 => Just(Op::Poll),
        2 => (p.clone(), -2i64..30).prop_map(|(partition, offset)| Op::Seek { partition, offset }),
        1 => Just(Op::SeekToBeginning),
        1 => p.clone().prop_map(|partition| Op::SeekToEnd { partition }),
        1 => p.clone().prop_map(|partition| Op::Pause { partition }),
        1 => p.clone().prop_map(|partition| Op::Resume { partition }),
        2 => Just(Op::Commit),
        1 => (p, 0i64..20).prop_map(|(partition, up_to)| Op::DeleteRecords { partition, up_to }),
        1 => Just(Op::Restart),
    ]
}

/// A position the consumer resolves only when it next needs it (as Kafka does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lazy {
    Committed,
    Beginning,
    End,
}

/// What the consumer should know, per partition.
#[derive(Debug, Clone)]
struct Model {
    start: [i64; PARTITIONS],
    end: [i64; PARTITIONS],
    position: [i64; PARTITIONS],
    pending: [Option<Lazy>; PARTITIONS],
    committed: [Option<i64>; PARTITIONS],
    paused: [bool; PARTITIONS],
    /// Rotation of the first partition polled, as the consumer does.
    rotate: usize,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            start: [0; PARTITIONS],
            end: [0; PARTITIONS],
            position: [0; PARTITIONS],
            pending: [Some(Lazy::Committed); PARTITIONS],
            committed: [None; PARTITIONS],
            paused: [false; PARTITIONS],
            rotate: 0,
        }
    }
}

impl Model {
    /// The position once a pending seek or the committed offset is resolved.
    fn resolve(&mut self, p: usize) -> i64 {
        if let Some(lazy) = self.pending[p].take() {
            self.position[p] = match lazy {
                Lazy::Beginning => self.start[p],
                Lazy::End => self.end[p],
                Lazy::Committed => self.valid(p, self.committed[p].unwrap_or(-1)),
            };
        }
        self.position[p]
    }

    /// auto.offset.reset=earliest for a position outside the log.
    fn valid(&self, p: usize, offset: i64) -> i64 {
        if (self.start[p]..=self.end[p]).contains(&offset) {
            offset
        } else {
            self.start[p]
        }
    }
}

fn tp(p: usize) -> TopicPartition {
    TopicPartition::new("m", p as i32)
}

fn consumer(cluster: &Cluster) -> Consumer {
    let consumer = cluster
        .consumer(
            ConsumerConfig::with_group("model")
                .auto_offset_reset(AutoOffsetReset::Earliest)
                .enable_auto_commit(false)
                .max_poll_records(MAX_POLL),
        )
        .unwrap();
    let assignment: Vec<(TopicPartition, Offset)> = (0..PARTITIONS)
        .map(|p| (tp(p), Offset::Committed))
        .collect();
    consumer.assign(&assignment).unwrap();
    consumer
}

proptest! {
    #![proptest_config(common::proptest_config(48, "tests/consumer_model.proptest-regressions"))]

    #[test]
    fn positions_polls_and_commits_follow_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let cluster = Cluster::builder().background(false).temporary().unwrap();
        cluster.create_topic(NewTopic::new("m", PARTITIONS as i32)).unwrap();
        let producer = cluster.producer(ProducerConfig::new().linger(Duration::ZERO)).unwrap();
        let mut consumer = consumer(&cluster);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Produce { partition, count } => {
                    let records = (0..count).map(|i| {
                        let offset = model.end[partition] + i as i64;
                        ProducerRecord::to("m").partition(partition as i32).value(offset.to_string())
                    });
                    for r in producer.send_all(records, Duration::from_secs(30)) {
                        r.unwrap();
                    }
                    model.end[partition] += count as i64;
                }
                Op::Poll => {
                    let records = consumer.poll(Duration::ZERO).unwrap();
                    // Expected: partitions in rotated order, each from its (validated)
                    // position, MAX_POLL in all.
                    let mut expected = Vec::new();
                    let first = model.rotate % PARTITIONS;
                    model.rotate += 1;
                    for p in 0..PARTITIONS {
                        model.resolve(p);
                    }
                    for p in (first..PARTITIONS).chain(0..first) {
                        // A full poll stops fetching; a sought offset is checked when its
                        // partition is fetched.
                        if expected.len() == MAX_POLL {
                            break;
                        }
                        if model.paused[p] {
                            continue;
                        }
                        model.position[p] = model.valid(p, model.position[p]);
                        let room = MAX_POLL - expected.len();
                        let take = ((model.end[p] - model.position[p]).max(0) as usize).min(room);
                        for i in 0..take as i64 {
                            expected.push((p as i32, model.position[p] + i));
                        }
                        model.position[p] += take as i64;
                    }
                    let got: Vec<(i32, i64)> = records.iter().map(|r| (r.partition(), r.offset())).collect();
                    prop_assert_eq!(&got, &expected);
                    for r in records.iter() {
                        let expected = r.offset().to_string();
                        prop_assert_eq!(r.value().unwrap(), expected.as_bytes());
                    }
                }
                Op::Seek { partition, offset } => {
                    let result = consumer.seek(&tp(partition), Offset::At(offset));
                    if offset < 0 {
                        prop_assert!(result.is_err());
                    } else {
                        result.unwrap();
                        model.position[partition] = offset;
                        model.pending[partition] = None;
                    }
                }
                Op::SeekToBeginning => {
                    consumer.seek_to_beginning(&[]).unwrap();
                    model.pending = [Some(Lazy::Beginning); PARTITIONS];
                }
                Op::SeekToEnd { partition } => {
                    consumer.seek_to_end(&[tp(partition)]).unwrap();
                    model.pending[partition] = Some(Lazy::End);
                }
                Op::Pause { partition } => {
                    consumer.pause(&[tp(partition)]).unwrap();
                    model.paused[partition] = true;
                }
                Op::Resume { partition } => {
                    consumer.resume(&[tp(partition)]).unwrap();
                    model.paused[partition] = false;
                }
                Op::Commit => {
                    // Commits the positions the consumer knows (not those still pending).
                    consumer.commit(CommitMode::Sync).unwrap();
                    for p in 0..PARTITIONS {
                        if model.pending[p].is_none() {
                            model.committed[p] = Some(model.position[p]);
                        }
                    }
                }
                Op::DeleteRecords { partition, up_to } => {
                    let up_to = up_to.min(model.end[partition]);
                    cluster.delete_records("m", partition as i32, up_to).unwrap();
                    model.start[partition] = model.start[partition].max(up_to);
                }
                Op::Restart => {
                    drop(consumer);
                    consumer = self::consumer(&cluster);
                    model.pending = [Some(Lazy::Committed); PARTITIONS];
                    model.paused = [false; PARTITIONS];
                    model.rotate = 0;
                }
            }
            for p in 0..PARTITIONS {
                let committed = consumer.committed(&[tp(p)]).unwrap()[&tp(p)].as_ref().map(|c| c.offset);
                prop_assert_eq!(committed, model.committed[p]);
            }
        }
        for p in 0..PARTITIONS {
            // As Kafka: a sought offset stands until a fetch checks it.
            let position = consumer.position(&tp(p)).unwrap();
            prop_assert_eq!(position, model.resolve(p));
        }
    }
}
