//! Property test: compaction keeps what `read_committed` readers see, with transactions.
//! Random plain and transactional writes (two producers, each transaction committed or
//! aborted by a marker, or left open), rolls and cleanings at advancing times; the model is
//! the list of records with each transaction's fate. After every step, a `read_committed`
//! read gives, for every key, the value of the key's last committed or plain record below
//! the last stable offset, whatever was cleaned (Kafka's rules: aborted records supersede
//! nothing); no record of an aborted transaction below a cleaning's end is left for any
//! reader; and a marker goes only once its transaction has no record left. The test prints
//! its seed, which `PROPTEST_RNG_SEED` replays.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafkalite::{BatchBuilder, Cluster, ConsumerConfig, IsolationLevel, Log, NewTopic};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
const DELETE_RETENTION_MS: i64 = 1_000;

#[derive(Debug, Clone)]
enum Op {
    Plain(u8, u8),
    /// A transactional record of producer 1 or 2 (a transaction opens with the first).
    Txn(usize, u8, u8),
    /// The producer's open transaction ends: committed or aborted.
    End(usize, bool),
    Roll,
    /// A cleaning this much later than the last step.
    Clean(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..5, any::<u8>()).prop_map(|(k, v)| Op::Plain(k, v)),
        4 => (0usize..2, 0u8..5, any::<u8>()).prop_map(|(p, k, v)| Op::Txn(p, k, v)),
        2 => (0usize..2, any::<bool>()).prop_map(|(p, c)| Op::End(p, c)),
        2 => Just(Op::Roll),
        2 => (0i64..1_500).prop_map(Op::Clean),
    ]
}

/// A record as the model knows it.
#[derive(Debug, Clone)]
struct Rec {
    offset: i64,
    key: u8,
    value: u8,
    /// The producer's transaction it belongs to, by index into `Model::txns`.
    txn: Option<usize>,
}

#[derive(Default)]
struct Model {
    records: Vec<Rec>,
    /// Each transaction's fate: `None` while open.
    txns: Vec<Option<bool>>,
    /// Each ended transaction's marker offset.
    markers: BTreeMap<usize, i64>,
    /// Per producer: its open transaction and next sequence.
    open: [Option<usize>; 2],
    sequences: [i32; 2],
    /// The highest end a cleaning reported.
    cleaned_to: i64,
}

impl Model {
    fn visible(&self, rec: &Rec) -> bool {
        rec.txn.is_none_or(|t| self.txns[t] == Some(true))
    }

    /// The latest visible value of each key below `lso`.
    fn latest(&self, lso: i64) -> BTreeMap<u8, u8> {
        let mut latest = BTreeMap::new();
        for rec in self
            .records
            .iter()
            .filter(|r| r.offset < lso && self.visible(r))
        {
            latest.insert(rec.key, rec.value);
        }
        latest
    }
}

fn append(log: &Log, builder: BatchBuilder, key: u8, value: u8, now: i64) -> i64 {
    let mut builder = builder;
    builder
        .append(now, Some(&[key]), Some(&[value]), &[])
        .unwrap();
    log.append(&builder.build().unwrap()).unwrap().first_offset
}

/// Every (key, value) a reader at `level` reads from the start.
fn read(cluster: &Cluster, level: IsolationLevel) -> Vec<(u8, u8)> {
    let config = ConsumerConfig::new().isolation_level(level);
    let tp = kafkalite::TopicPartition::new("t", 0);
    common::read_partition(cluster, config, tp, Duration::ZERO)
        .into_iter()
        .map(|(key, value)| (key.unwrap()[0], value.unwrap()[0]))
        .collect()
}

/// The offsets of the log's control batches, and of its data records.
fn log_contents(log: &Log) -> (BTreeSet<i64>, BTreeSet<i64>) {
    let (mut markers, mut offsets) = (BTreeSet::new(), BTreeSet::new());
    let mut at = log.log_start_offset();
    while at < log.log_end_offset() {
        let data = log.read(at, 1 << 20).unwrap();
        for batch in data.batches() {
            let batch = batch.unwrap();
            at = batch.next_offset();
            if batch.is_control() {
                markers.insert(batch.base_offset());
                continue;
            }
            for record in batch.records().unwrap().iter() {
                offsets.insert(record.unwrap().offset);
            }
        }
    }
    (markers, offsets)
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("cleanup.policy", "compact")
                .config("delete.retention.ms", DELETE_RETENTION_MS.to_string()),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let mut model = Model::default();
    let mut now = T0;
    let mut checkpoint = None;
    for op in ops {
        match *op {
            Op::Plain(key, value) => {
                let offset = append(&log, BatchBuilder::new(), key, value, now);
                model.records.push(Rec {
                    offset,
                    key,
                    value,
                    txn: None,
                });
            }
            Op::Txn(p, key, value) => {
                let producer = p as i64 + 1;
                let builder = BatchBuilder::new()
                    .producer(producer, 0, model.sequences[p])
                    .transactional(true);
                let offset = append(&log, builder, key, value, now);
                model.sequences[p] += 1;
                let txn = *model.open[p].get_or_insert_with(|| {
                    model.txns.push(None);
                    model.txns.len() - 1
                });
                model.records.push(Rec {
                    offset,
                    key,
                    value,
                    txn: Some(txn),
                });
            }
            Op::End(p, commit) => {
                if let Some(txn) = model.open[p].take() {
                    let marker = log
                        .write_transaction_marker(p as i64 + 1, 0, 0, commit)
                        .unwrap();
                    model.txns[txn] = Some(commit);
                    model.markers.insert(txn, marker.first_offset);
                }
            }
            Op::Roll => {
                log.roll().unwrap();
            }
            Op::Clean(later) => {
                now += later;
                if let Some(stats) = log.clean(checkpoint, now, 1 << 20).unwrap() {
                    checkpoint = Some(stats.end_offset);
                    model.cleaned_to = model.cleaned_to.max(stats.end_offset);
                }
            }
        }
        let lso = log.last_stable_offset();
        let mut seen = BTreeMap::new();
        for (key, value) in read(&cluster, IsolationLevel::ReadCommitted) {
            seen.insert(key, value);
        }
        prop_assert_eq!(&seen, &model.latest(lso), "after {:?}", op);
        // Below a cleaning's end nothing aborted is left, for any reader.
        let everything = read(&cluster, IsolationLevel::ReadUncommitted);
        let aborted_left = model.records.iter().filter(|r| {
            r.offset < model.cleaned_to
                && r.txn.is_some_and(|t| model.txns[t] == Some(false))
                && everything.contains(&(r.key, r.value))
                && !model
                    .records
                    .iter()
                    .any(|o| o.offset != r.offset && (o.key, o.value) == (r.key, r.value))
        });
        prop_assert_eq!(aborted_left.count(), 0, "after {:?}", op);
        // A marker is gone only once no record of its transaction is left.
        let (markers, offsets) = log_contents(&log);
        for (txn, marker) in &model.markers {
            if !markers.contains(marker) {
                let left: Vec<i64> = model
                    .records
                    .iter()
                    .filter(|r| r.txn == Some(*txn) && offsets.contains(&r.offset))
                    .map(|r| r.offset)
                    .collect();
                prop_assert!(
                    left.is_empty(),
                    "the marker at {} went, records {:?} stayed",
                    marker,
                    left
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(
        64,
        "tests/compaction_transactions_model.proptest-regressions"
    ))]

    #[test]
    fn compaction_keeps_what_read_committed_sees(ops in proptest::collection::vec(op(), 1..60)) {
        run(&ops)?;
    }
}
