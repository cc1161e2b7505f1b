//! Property test: the event store against a model where each stream is a vector of event ids.
//! Random appends with random expected versions, to one stream or atomically to two, retries
//! of earlier appends (by the same ids and expected versions), plain Kafka records on a
//! stream's key, and reopens. A multi-stream append fails on its first conflicting part, is a
//! conflict when it mixes a retried part with a new one, and otherwise is all retried or all
//! written. The model applies
//! the documented rules directly: an append whose events (by id, in order) already follow the
//! expected position (after `Exact(n)`: version n + 1; after `NoStream`: version 0; with
//! `Any`/`StreamExists`: the stream's last events) answers with the original result and writes
//! nothing; otherwise `Any` always appends, `NoStream` needs no events, `StreamExists` some,
//! `Exact(n)` the last at version n, and anything else is `WrongExpectedVersion` with the
//! stream's version and nothing written. Every read of every stream, both ways, must then
//! match the model. The stream index writes a table file every few events (or holds all in
//! memory), and some reopens damage a table first: reads must not change. `PROPTEST_CASES`
//! sets the count; the test prints its seed, which
//! `PROPTEST_RNG_SEED` replays.

#![allow(clippy::cast_possible_truncation)]

mod common;

use std::collections::BTreeMap;

use kafkalite::eventstore::{
    AppendResult, Direction, EventData, EventId, EventStore, EventStoreConfig, Position,
    StreamAppend, StreamPosition,
};
use kafkalite::{Cluster, Error, ExpectedVersion, ProducerConfig, ProducerRecord};
use proptest::prelude::*;

/// How long a transactional producer's calls may take.
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

const STREAMS: usize = 3;

#[derive(Debug, Clone, Copy)]
enum Expect {
    Any,
    NoStream,
    StreamExists,
    /// The stream's version plus this (−1: one behind, 0: right, ...), or 0 for a new stream.
    Relative(i64),
}

#[derive(Debug, Clone)]
enum Op {
    Append(usize, Expect, usize),
    /// One append to two streams (the store has one partition).
    Multi([(usize, Expect, usize); 2]),
    /// Sends again the `k`-th append back (0: the last), same ids, same expected version.
    Retry(usize),
    /// A plain producer's record on the stream's key.
    Plain(usize),
    /// A transactional producer's record on the stream's key, then its transaction
    /// committed (`true`: the record is an event) or aborted (no event).
    Txn(usize, bool),
    Reopen,
    /// A reopen with a byte of the stream index's `k`-th table file (by name, if there are
    /// any) changed, or the file cut short, while the cluster is closed.
    ReopenDamaged(usize, bool),
    /// Deletes the records below `q` quarters of the log end (as retention would).
    DeleteRecords(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let expect = prop_oneof![
        Just(Expect::Any),
        Just(Expect::NoStream),
        Just(Expect::StreamExists),
        (-2i64..=1).prop_map(Expect::Relative),
        Just(Expect::Relative(0)),
        Just(Expect::Relative(0)),
    ];
    prop_oneof![
        8 => (0..STREAMS, expect.clone(), 1usize..4).prop_map(|(s, e, n)| Op::Append(s, e, n)),
        2 => (0..STREAMS, 1..STREAMS, expect.clone(), expect, 1usize..3, 1usize..3).prop_map(
            |(a, d, ea, eb, na, nb)| Op::Multi([(a, ea, na), ((a + d) % STREAMS, eb, nb)])
        ),
        3 => (0usize..6).prop_map(Op::Retry),
        1 => (0..STREAMS).prop_map(Op::Plain),
        1 => (0..STREAMS, any::<bool>()).prop_map(|(s, commit)| Op::Txn(s, commit)),
        1 => Just(Op::Reopen),
        1 => (0usize..4, any::<bool>()).prop_map(|(k, cut)| Op::ReopenDamaged(k, cut)),
        1 => (1i64..=4).prop_map(Op::DeleteRecords),
    ]
}

/// Each stream: the id of each event (`None` for a plain record) and its offset; records
/// below `log_start` were deleted (their streams keep their versions).
#[derive(Default)]
struct Model {
    streams: BTreeMap<String, Vec<(Option<EventId>, i64)>>,
    next_offset: i64,
    log_start: i64,
}

/// What the rules say of one stream's part of an append.
enum Judgement {
    /// A retry of events already there: the original result.
    Retry(AppendResult),
    Append,
    /// A conflict, with the stream's version.
    Wrong(Option<u64>),
}

impl Model {
    /// `n` new events for stream `s`, expecting `expect` of its current version.
    fn part(&self, s: usize, expect: Expect, n: usize) -> StreamAppend {
        let stream = format!("stream-{s}");
        let current = self
            .streams
            .get(&stream)
            .and_then(|e| (e.len() as u64).checked_sub(1));
        let expected = match expect {
            Expect::Any => ExpectedVersion::Any,
            Expect::NoStream => ExpectedVersion::NoStream,
            Expect::StreamExists => ExpectedVersion::StreamExists,
            Expect::Relative(d) => {
                ExpectedVersion::Exact(current.map_or(0, |c| c.saturating_add_signed(d)))
            }
        };
        let events = (0..n).map(|i| EventData::new("E", vec![i as u8]));
        StreamAppend::new(stream, expected, events)
    }

    fn judge(&self, stream: &str, expected: ExpectedVersion, ids: &[EventId]) -> Judgement {
        let empty = Vec::new();
        let events = self.streams.get(stream).unwrap_or(&empty);
        let actual = (events.len() as u64).checked_sub(1);
        let retried_from = match (expected, actual) {
            (ExpectedVersion::Any | ExpectedVersion::StreamExists, Some(v)) => {
                (v + 1).checked_sub(ids.len() as u64)
            }
            (ExpectedVersion::NoStream, Some(_)) => Some(0),
            (ExpectedVersion::Exact(n), Some(v)) if v > n => Some(n + 1),
            _ => None,
        };
        if let Some(from) = retried_from {
            let from = from as usize;
            let there = events.get(from..from + ids.len());
            // A retry is recognized by reading the events, so not once they are deleted.
            let same = |t: &[(Option<EventId>, i64)]| {
                t.iter()
                    .zip(ids)
                    .all(|((id, offset), want)| *id == Some(*want) && *offset >= self.log_start)
            };
            if there.is_some_and(same) {
                let last = from + ids.len() - 1;
                return Judgement::Retry(AppendResult {
                    next_expected_version: last as u64,
                    position: Position {
                        partition: 0,
                        offset: events[last].1,
                    },
                });
            }
        }
        let ok = match (expected, actual) {
            (ExpectedVersion::Any, _) => true,
            (ExpectedVersion::NoStream, None) => true,
            (ExpectedVersion::StreamExists, Some(_)) => true,
            (ExpectedVersion::Exact(n), Some(v)) => n == v,
            _ => false,
        };
        if ok {
            Judgement::Append
        } else {
            Judgement::Wrong(actual)
        }
    }

    /// A (multi-stream) append: every part judged first; the first conflict fails it all; a
    /// retried part next to a new one is a conflict on the retried part; all retried gives
    /// the original results; else every part is appended, in order, as one batch.
    fn append(
        &mut self,
        parts: &[(String, ExpectedVersion, Vec<EventId>)],
    ) -> Result<Vec<AppendResult>, (String, Option<u64>)> {
        let judged: Vec<Judgement> = parts
            .iter()
            .map(|(stream, expected, ids)| self.judge(stream, *expected, ids))
            .collect();
        let version = |stream: &str| {
            self.streams
                .get(stream)
                .and_then(|e| (e.len() as u64).checked_sub(1))
        };
        for ((stream, ..), judgement) in parts.iter().zip(&judged) {
            if let Judgement::Wrong(actual) = judgement {
                return Err((stream.clone(), *actual));
            }
        }
        let retried = judged.iter().position(|j| matches!(j, Judgement::Retry(_)));
        let new = judged.iter().any(|j| matches!(j, Judgement::Append));
        match (retried, new) {
            (Some(at), true) => return Err((parts[at].0.clone(), version(&parts[at].0))),
            (Some(_), false) => {
                return Ok(judged
                    .into_iter()
                    .filter_map(|j| match j {
                        Judgement::Retry(result) => Some(result),
                        _ => None,
                    })
                    .collect())
            }
            _ => {}
        }
        let mut results = Vec::new();
        for (stream, _, ids) in parts {
            let events = self.streams.entry(stream.clone()).or_default();
            for id in ids {
                events.push((Some(*id), self.next_offset));
                self.next_offset += 1;
            }
            results.push(AppendResult {
                next_expected_version: events.len() as u64 - 1,
                position: Position {
                    partition: 0,
                    offset: self.next_offset - 1,
                },
            });
        }
        Ok(results)
    }
}

/// The store, its stream index writing a table every `table_events` synced events.
fn open(dir: &std::path::Path, table_events: usize) -> (Cluster, EventStore) {
    let cluster = Cluster::builder().background(false).open(dir).unwrap();
    let config = EventStoreConfig::new().index_table_events(table_events);
    let store = cluster.event_store("model", config).unwrap();
    (cluster, store)
}

/// Changes a byte of the `k`-th stream index table in the partition directory (one chosen
/// by `k` too), or cuts the file short.
fn damage_table(dir: &std::path::Path, k: usize, cut: bool, log_start: i64) {
    let partition = dir.join("model-0");
    let mut tables: Vec<_> = std::fs::read_dir(&partition)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "streams"))
        .collect();
    tables.sort();
    let Some(table) = tables.get(k % tables.len().max(1)) else {
        return;
    };
    let mut bytes = std::fs::read(table).unwrap();
    if bytes.len() < 32 {
        // Cut short by an earlier damage, and not used since.
        return;
    }
    let from = i64::from_be_bytes(bytes[16..24].try_into().unwrap());
    if from < log_start {
        // It covers deleted records: it may be all that is left of the versions of streams
        // whose every event was deleted, which no rebuild from the log can give back.
        return;
    }
    let at = (k * 7919 + 13) % bytes.len();
    if cut {
        bytes.truncate(at);
    } else {
        bytes[at] ^= 0x20;
    }
    std::fs::write(table, bytes).unwrap();
}

fn check_reads(store: &EventStore, model: &Model) {
    // In log order, each event has the version its stream gives it.
    let mut want: Vec<(i64, String, u64)> = model
        .streams
        .iter()
        .flat_map(|(stream, events)| {
            (0u64..)
                .zip(events)
                .map(move |(v, &(_, offset))| (offset, stream.clone(), v))
        })
        .filter(|&(offset, ..)| offset >= model.log_start)
        .collect();
    want.sort();
    let got: Vec<(i64, String, u64)> = store
        .read_all(0, None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| (e.position.offset, e.stream.into(), e.version))
        .collect();
    assert_eq!(got, want, "read_all");
    for (stream, events) in &model.streams {
        // Deleted events keep their versions: the stream goes on from its last one.
        let version = store.stream_version(stream).unwrap();
        assert_eq!(version, Some(events.len() as u64 - 1), "{stream} version");
        let want: Vec<(u64, Option<EventId>, i64)> = events
            .iter()
            .enumerate()
            .map(|(v, (id, offset))| (v as u64, *id, *offset))
            .filter(|&(_, _, offset)| offset >= model.log_start)
            .collect();
        let got = |direction| {
            let from = match direction {
                Direction::Forwards => StreamPosition::Start,
                Direction::Backwards => StreamPosition::End,
            };
            store
                .read_stream(stream, from, direction, usize::MAX)
                .unwrap()
                .into_events()
                .into_iter()
                .map(|e| (e.version, e.id, e.position.offset))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(Direction::Forwards), want, "{stream} forwards");
        let mut backwards = want.clone();
        backwards.reverse();
        assert_eq!(got(Direction::Backwards), backwards, "{stream} backwards");
        // Every start and a few page sizes, both ways.
        let n = events.len() as u64;
        let first = want.first().map_or(n, |w| w.0);
        for from in 0..=n + 1 {
            for max in [1, 2, usize::MAX] {
                let read = |direction| {
                    store
                        .read_stream(stream, StreamPosition::Version(from), direction, max)
                        .unwrap()
                        .into_events()
                        .into_iter()
                        .map(|e| e.version)
                        .collect::<Vec<_>>()
                };
                let forwards: Vec<u64> = (from.max(first)..n).take(max).collect();
                let backwards: Vec<u64> = (first..n.min(from + 1)).rev().take(max).collect();
                assert_eq!(
                    read(Direction::Forwards),
                    forwards,
                    "{stream} from {from} max {max}"
                );
                assert_eq!(
                    read(Direction::Backwards),
                    backwards,
                    "{stream} back from {from} max {max}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/eventstore_model.proptest-regressions"))]

    #[test]
    fn the_event_store_matches_streams_as_vectors(
        ops in proptest::collection::vec(op(), 1..60),
        table_events in prop_oneof![1usize..8, Just(1 << 20)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut cluster, mut store) = open(dir.path(), table_events);
        let mut model = Model::default();
        let mut sent: Vec<Vec<StreamAppend>> = Vec::new();
        for op in ops {
            match op {
                Op::Append(s, expect, n) => {
                    let part = model.part(s, expect, n);
                    sent.push(vec![part]);
                    run(&store, &mut model, sent.last().unwrap().clone());
                }
                Op::Multi(parts) => {
                    let parts = parts.into_iter().map(|(s, e, n)| model.part(s, e, n)).collect();
                    sent.push(parts);
                    run(&store, &mut model, sent.last().unwrap().clone());
                }
                Op::Retry(k) => {
                    if let Some(parts) = sent.iter().rev().nth(k).cloned() {
                        run(&store, &mut model, parts);
                    }
                }
                Op::Plain(s) => {
                    let stream = format!("stream-{s}");
                    let producer = cluster.producer(ProducerConfig::new()).unwrap();
                    let meta = producer
                        .send(ProducerRecord::to("model").key(stream.clone()).value("plain"))
                        .unwrap()
                        .wait()
                        .unwrap();
                    prop_assert_eq!(meta.offset, model.next_offset);
                    model.streams.entry(stream).or_default().push((None, model.next_offset));
                    model.next_offset += 1;
                }
                Op::Txn(s, commit) => {
                    let stream = format!("stream-{s}");
                    let config = ProducerConfig::new().transactional_id("model-txn");
                    let producer = cluster.producer(config).unwrap();
                    producer.init_transactions(WAIT).unwrap();
                    producer.begin_transaction().unwrap();
                    let record = ProducerRecord::to("model").key(stream.clone()).value("txn");
                    let sent = producer.send(record).unwrap();
                    producer.flush(WAIT).unwrap();
                    prop_assert_eq!(sent.wait().unwrap().offset, model.next_offset);
                    if commit {
                        producer.commit_transaction(WAIT).unwrap();
                        model.streams.entry(stream).or_default().push((None, model.next_offset));
                    } else {
                        producer.abort_transaction(WAIT).unwrap();
                    }
                    model.next_offset += 2; // the record and its marker
                }
                Op::Reopen => {
                    drop(store);
                    cluster.close().unwrap();
                    (cluster, store) = open(dir.path(), table_events);
                }
                Op::DeleteRecords(quarters) => {
                    let to = model.log_start.max(model.next_offset * quarters / 4);
                    // The store looks first: records deleted before it ever saw them (plain
                    // ones, written while it was not in use) leave it no versions.
                    store.index_stats(0).unwrap();
                    cluster.delete_records("model", 0, to).unwrap();
                    model.log_start = to;
                }
                Op::ReopenDamaged(k, cut) => {
                    drop(store);
                    cluster.close().unwrap();
                    damage_table(dir.path(), k, cut, model.log_start);
                    (cluster, store) = open(dir.path(), table_events);
                    // Finds the damage (reading every table whole) while the log still
                    // holds what the table was made from (else the versions of streams
                    // whose events were all deleted since would go with it).
                    check_reads(&store, &model);
                }
            }
        }
        check_reads(&store, &model);
    }
}

fn run(store: &EventStore, model: &mut Model, parts: Vec<StreamAppend>) {
    let judged: Vec<(String, ExpectedVersion, Vec<EventId>)> = parts
        .iter()
        .map(|p| {
            (
                p.stream.clone(),
                p.expected,
                p.events.iter().map(|e| e.id).collect(),
            )
        })
        .collect();
    let want = model.append(&judged);
    let what: Vec<(&str, ExpectedVersion)> = parts
        .iter()
        .map(|p| (p.stream.as_str(), p.expected))
        .collect();
    let got = store.append_to_streams(parts.clone());
    match (want, got) {
        (Ok(want), Ok(got)) => assert_eq!(got, want, "{what:?}"),
        (Err(wrong), Err(Error::WrongExpectedVersion { stream, actual, .. })) => {
            assert_eq!((stream, actual), wrong, "{what:?}")
        }
        (want, got) => panic!("{what:?}: model {want:?}, store {got:?}"),
    }
}
