//! Simulated power loss under the event store (`SimStorage`): scenarios of appends with
//! expected versions (and a conflict, a retry, a roll, a plain producer's record, stream
//! index tables written and merged every few events, appends across two partitions in
//! transactions, also on a topic that syncs every second append) on a durable store, cut
//! at every storage operation and each cut resolved the eight ways of `PowerLoss`. An append across partitions is there whole or not at all.
//! After the reopen, for every stream: its events are versions 0, 1, 2, ... with no hole,
//! every acknowledged append is there at the version it was given, the events after them are
//! a prefix of what was attempted (never a rejected or unattempted one), reading by position
//! (`read_all`) agrees with reading by stream, a second open reads the same, and the store
//! takes an append at the stream's recovered version. One more scenario deletes every record
//! of two streams once indexed: after any cut each keeps its acknowledged version. A failure
//! prints the scenario, cut point, resolution and seed, which replay it exactly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use kafkalite::eventstore::{
    Direction, EventData, EventId, EventStore, EventStoreConfig, ReadStreamResult, RecordedEvent,
    StreamAppend, StreamPosition,
};
use kafkalite::storage::{FaultPlan, PowerLoss, SimFailure, SimOp, SimStorage};
use kafkalite::{Cluster, ExpectedVersion, ProducerConfig, ProducerRecord};

use common::{open_sim as open, SIM_ROOT as ROOT};

const STORE: &str = "es";

/// Per stream, each attempted append's event ids, and how many appends were acknowledged.
#[derive(Debug, Default)]
struct History {
    streams: BTreeMap<String, Stream>,
    /// The store does not sync its appends: none is acknowledged as durable.
    unsynced: bool,
    /// Appends to several streams at once: each part as (stream, index in its appends).
    /// After any cut, every part of one is there, or none.
    atomic: Vec<Vec<(String, usize)>>,
}

#[derive(Debug, Default)]
struct Stream {
    /// Every append that may have been written (a rejected one is not noted), in order.
    appends: Vec<Vec<Option<EventId>>>,
    /// How many of `appends` were acknowledged (durable: the store syncs every append).
    acked: usize,
}

impl History {
    fn append(
        &mut self,
        store: &EventStore,
        stream: &str,
        expected: ExpectedVersion,
        count: usize,
    ) -> kafkalite::Result<()> {
        let events: Vec<EventData> = (0..count)
            .map(|i| EventData::new(format!("E{i}"), vec![b'x'; 40 + i]))
            .collect();
        let ids = events.iter().map(|e| Some(e.id)).collect();
        let entry = self.streams.entry(stream.to_string()).or_default();
        entry.appends.push(ids);
        match store.append(stream, expected, events) {
            Ok(_) => {
                if !self.unsynced {
                    entry.acked = entry.appends.len();
                }
                Ok(())
            }
            Err(kafkalite::Error::WrongExpectedVersion { .. }) => {
                // Rejected before anything was written: never in the log.
                entry.appends.pop();
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// One `append_to_streams` of `count` events to each (stream, expected version).
    fn append_to_streams(
        &mut self,
        store: &EventStore,
        parts: &[(&str, ExpectedVersion, usize)],
    ) -> kafkalite::Result<()> {
        let mut appends = Vec::new();
        let mut group = Vec::new();
        for &(stream, expected, count) in parts {
            let events: Vec<EventData> = (0..count)
                .map(|i| EventData::new(format!("E{i}"), vec![b'y'; 30 + i]))
                .collect();
            let entry = self.streams.entry(stream.to_string()).or_default();
            entry
                .appends
                .push(events.iter().map(|e| Some(e.id)).collect());
            group.push((stream.to_string(), entry.appends.len() - 1));
            appends.push(StreamAppend::new(stream, expected, events));
        }
        match store.append_to_streams(appends) {
            Ok(_) => {
                for (stream, _) in &group {
                    let entry = self.streams.get_mut(stream).expect("noted above");
                    if !self.unsynced {
                        entry.acked = entry.appends.len();
                    }
                }
                self.atomic.push(group);
                Ok(())
            }
            Err(kafkalite::Error::WrongExpectedVersion { .. }) => {
                for (stream, _) in &group {
                    self.streams
                        .get_mut(stream)
                        .expect("noted above")
                        .appends
                        .pop();
                }
                Ok(())
            }
            Err(error) => {
                self.atomic.push(group);
                Err(error)
            }
        }
    }

    /// A record a plain producer writes with the stream's key (no event id).
    fn plain(&mut self, cluster: &Cluster, stream: &str) -> kafkalite::Result<()> {
        let entry = self.streams.entry(stream.to_string()).or_default();
        entry.appends.push(vec![None]);
        let producer = cluster.producer(ProducerConfig::new())?;
        producer
            .send(ProducerRecord::to(STORE).key(stream).value("plain"))
            .map_err(|e| e.error)?
            .wait()?;
        entry.acked = entry.appends.len();
        Ok(())
    }
}

type Scenario = fn(&Cluster, &mut History) -> kafkalite::Result<()>;

fn store(cluster: &Cluster, config: EventStoreConfig) -> kafkalite::Result<EventStore> {
    cluster.event_store(STORE, config)
}

fn streams_with_versions(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new().partitions(2))?;
    h.append(&store, "a", ExpectedVersion::NoStream, 2)?;
    h.append(&store, "b", ExpectedVersion::NoStream, 1)?;
    h.append(&store, "a", ExpectedVersion::Exact(1), 1)?;
    // A conflict: nothing written.
    h.append(&store, "a", ExpectedVersion::Exact(0), 1)?;
    h.append(&store, "b", ExpectedVersion::Exact(0), 3)?;
    h.append(&store, "c", ExpectedVersion::Any, 1)?;
    h.append(&store, "a", ExpectedVersion::StreamExists, 1)?;
    Ok(())
}

fn rolls_and_plain_records(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    let store = store(
        cluster,
        EventStoreConfig::new().topic_config("segment.bytes", "1024"),
    )?;
    for i in 0..4 {
        h.append(&store, "a", ExpectedVersion::Any, 1 + i % 2)?;
        if i == 1 {
            h.plain(cluster, "a")?;
        }
        h.append(&store, "b", ExpectedVersion::Any, 2)?;
    }
    Ok(())
}

/// Appends with the stream index writing (and merging) a table every two events, so that
/// cuts land while tables are written, merged and removed.
fn index_tables(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new().index_table_events(2))?;
    for i in 0..5 {
        h.append(&store, "a", ExpectedVersion::Any, 1)?;
        h.append(&store, "b", ExpectedVersion::Any, 1 + i % 2)?;
        // Reads use the tables (and an append's check does).
        store.read_stream("a", StreamPosition::End, Direction::Backwards, 2)?;
    }
    Ok(())
}

/// The same on a store that does not sync its appends: tables then index records a power
/// cut may take back, and must be dropped when it does.
fn unsynced_index_tables(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    h.unsynced = true;
    let store = store(
        cluster,
        EventStoreConfig::new().durable(false).index_table_events(2),
    )?;
    for i in 0..5 {
        h.append(&store, "a", ExpectedVersion::Any, 1)?;
        h.append(&store, "b", ExpectedVersion::Any, 1 + i % 2)?;
        store.read_stream("a", StreamPosition::End, Direction::Backwards, 2)?;
        if i == 2 {
            cluster.topic_partitions(STORE)?.1[0].sync()?;
        }
    }
    Ok(())
}

/// Appends to streams in two partitions at once (transactions of the store's producer),
/// between single appends, and one that conflicts.
fn across_partitions(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    across_first(cluster, h)?;
    across_more(cluster, h)
}

/// Appends across partitions on a store whose topic syncs every second append
/// (`flush.messages=2`): one partition's batch is synced by its count, the other's is not,
/// and the coordinator's decision is synced (the topic syncs at some point). Neither is
/// acknowledged as durable, but an append across partitions stays whole.
fn across_every_few(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    h.unsynced = true;
    let config = EventStoreConfig::new()
        .partitions(2)
        .durable(false)
        .topic_config("flush.messages", "2");
    let store = store(cluster, config)?;
    let (a, b) = across_streams(&store);
    h.append(&store, b, ExpectedVersion::NoStream, 1)?;
    h.append_to_streams(
        &store,
        &[
            (a, ExpectedVersion::NoStream, 1),
            (b, ExpectedVersion::Exact(0), 1),
        ],
    )?;
    h.append_to_streams(
        &store,
        &[
            (a, ExpectedVersion::Exact(0), 2),
            (b, ExpectedVersion::Exact(1), 1),
        ],
    )
}

/// The store's two streams in different partitions.
fn across_streams(store: &EventStore) -> (&'static str, &'static str) {
    let a = "a";
    let b = ["b", "c", "d", "e", "f", "g"]
        .into_iter()
        .find(|b| store.partition_of(b) != store.partition_of(a))
        .expect("a stream in the other partition");
    (a, b)
}

/// The store (its topic made), a first append and a first one across partitions (the
/// coordinator's topic made, the store's producer initialised).
fn across_first(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new().partitions(2))?;
    let (a, b) = across_streams(&store);
    h.append(&store, a, ExpectedVersion::NoStream, 1)?;
    h.append_to_streams(
        &store,
        &[
            (a, ExpectedVersion::Exact(0), 2),
            (b, ExpectedVersion::NoStream, 1),
        ],
    )
}

/// More appends, across partitions and not, and one across that conflicts.
fn across_more(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new())?;
    let (a, b) = across_streams(&store);
    h.append(&store, b, ExpectedVersion::Exact(0), 1)?;
    h.append_to_streams(
        &store,
        &[
            (a, ExpectedVersion::Exact(2), 1),
            (b, ExpectedVersion::Exact(1), 2),
        ],
    )?;
    // A conflict on one part: nothing written anywhere.
    h.append_to_streams(
        &store,
        &[
            (a, ExpectedVersion::Exact(3), 1),
            (b, ExpectedVersion::Exact(0), 1),
        ],
    )?;
    Ok(())
}

/// Checks the reopened store against what was attempted and acknowledged.
fn check(cluster: &Cluster, history: &History) -> Result<Vec<RecordedEvent>, String> {
    let store = store(cluster, EventStoreConfig::new()).map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    let mut kept_appends = BTreeMap::new();
    for (name, stream) in &history.streams {
        let events = store
            .read_stream(name, StreamPosition::Start, Direction::Forwards, usize::MAX)
            .map_err(|e| format!("{name}: {e}"))?
            .into_events();
        for (i, event) in events.iter().enumerate() {
            if event.version != i as u64 {
                return Err(format!("{name}: event {i} has version {}", event.version));
            }
        }
        let got: Vec<Option<EventId>> = events.iter().map(|e| e.id).collect();
        // The log holds whole appends: some prefix of the attempted ones.
        let mut prefix = Vec::new();
        let mut kept = None;
        for k in 0..=stream.appends.len() {
            if prefix == got {
                kept = Some(k);
                break;
            }
            if let Some(append) = stream.appends.get(k) {
                prefix.extend(append.iter().copied());
            }
        }
        let Some(kept) = kept else {
            return Err(format!(
                "{name}: {got:?} is no prefix of the attempted appends {:?}",
                stream.appends
            ));
        };
        if kept < stream.acked {
            return Err(format!(
                "{name}: {kept} appends survived, {} were acknowledged",
                stream.acked
            ));
        }
        kept_appends.insert(name.clone(), kept);
        all.extend(events);
    }
    for group in &history.atomic {
        let there: Vec<bool> = group.iter().map(|(s, i)| kept_appends[s] > *i).collect();
        if there.iter().any(|&t| t != there[0]) {
            return Err(format!(
                "a multi-stream append is torn: {group:?} present {there:?}"
            ));
        }
    }
    // By position: every event of every partition, the same as by stream.
    let mut by_log = Vec::new();
    for p in 0..store.partitions() {
        by_log.extend(
            store
                .read_all(p, None, usize::MAX)
                .map_err(|e| e.to_string())?,
        );
    }
    all.sort_by_key(|e| e.position);
    by_log.sort_by_key(|e| e.position);
    if all != by_log {
        return Err(format!("by stream {all:?}\n!= by position {by_log:?}"));
    }
    Ok(all)
}

fn run_once(name: &str, scenario: Scenario, cut: u64, how: PowerLoss, seed: u64) {
    let case = format!("{name}: cut at operation {cut}, {how:?}, seed {seed}");
    let sim = cut_at(cut);
    let mut history = History::default();
    if let Ok(cluster) = open(&sim) {
        let _ = scenario(&cluster, &mut history);
    }
    let after = sim.after_power_loss(how, seed);
    let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
    let first = check(&cluster, &history).unwrap_or_else(|why| panic!("{case}: {why}"));
    cluster.close().unwrap();
    drop(cluster);
    let again = open(&after).unwrap_or_else(|e| panic!("{case}: second open failed: {e}"));
    let second = check(&again, &history).unwrap_or_else(|why| panic!("{case}: again: {why}"));
    assert_eq!(first, second, "{case}: a second open changed the store");
    // The recovered store takes appends at each stream's version.
    let store = store(&again, EventStoreConfig::new()).unwrap();
    for name in history.streams.keys() {
        let version = store.stream_version(name).unwrap();
        let expected = version.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
        let done = store
            .append(name, expected, [EventData::new("After", "x")])
            .unwrap_or_else(|e| panic!("{case}: {name} refuses an append: {e}"));
        assert_eq!(
            done.next_expected_version,
            version.map_or(0, |v| v + 1),
            "{case}"
        );
    }
}

fn sweep(name: &str, scenario: Scenario) {
    each_cut(
        |cluster| scenario(cluster, &mut History::default()).unwrap(),
        |cut, how, seed| run_once(name, scenario, cut, how, seed),
    );
}

/// Runs `uncut` once without a cut to count its storage operations, then calls `case` with
/// every cut point, each way to resolve it, and the seed for that resolution.
fn each_cut(uncut: impl FnOnce(&Cluster), mut case: impl FnMut(u64, PowerLoss, u64)) {
    let sim = SimStorage::new(Path::new(ROOT));
    sim.set_plan(FaultPlan::default());
    let cluster = open(&sim).unwrap();
    uncut(&cluster);
    drop(cluster);
    let total = sim.operations();
    for cut in 1..=total + 1 {
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            case(cut, how, cut * 8 + i as u64);
        }
    }
}

/// A fresh simulated disk whose power goes just before operation `cut`.
fn cut_at(cut: u64) -> SimStorage {
    let sim = SimStorage::new(Path::new(ROOT));
    sim.set_plan(FaultPlan {
        power_cut_at: Some(cut),
        fail: None,
    });
    sim
}

#[test]
fn appends_across_partitions_are_whole_after_a_cut_anywhere() {
    sweep("across_partitions", across_partitions);
}

#[test]
fn appends_across_partitions_of_a_topic_syncing_every_few_are_whole_after_a_cut_anywhere() {
    sweep("across_every_few", across_every_few);
}

/// An I/O failure at every operation of appends across partitions (each kind of
/// operation, each way it can fail; after the topics are made), then a restart: every
/// append acknowledged is there, and each append across partitions is whole or absent (one
/// that failed part way was aborted, at once or by the open).
#[test]
fn io_faults_leave_appends_across_partitions_whole() {
    let kinds: [(SimOp, &[SimFailure]); 6] = [
        (SimOp::Write, &[SimFailure::Eio, SimFailure::NoSpace]),
        (SimOp::Allocate, &[SimFailure::NoSpace]),
        (SimOp::Sync, &[SimFailure::Eio]),
        (SimOp::SyncDir, &[SimFailure::Eio]),
        (SimOp::Create, &[SimFailure::Eio]),
        (SimOp::Rename, &[SimFailure::Eio]),
    ];
    // Each case: the topics made without faults, then the appends under the fault plan.
    let prepared = |plan: FaultPlan| {
        let sim = SimStorage::new(Path::new(ROOT));
        sim.set_plan(FaultPlan::default());
        let mut history = History::default();
        let cluster = open(&sim).unwrap();
        across_first(&cluster, &mut history).unwrap();
        sim.set_plan(plan);
        let _ = across_more(&cluster, &mut history);
        drop(cluster);
        (sim, history)
    };
    let (dry, _) = prepared(FaultPlan::default());
    let mut cases = 0;
    for (kind, failures) in kinds {
        for n in 1..=dry.operations_of(kind) {
            for &failure in failures {
                let case = format!("{kind:?} #{n} fails with {failure:?}");
                let (sim, history) = prepared(FaultPlan {
                    power_cut_at: None,
                    fail: Some((kind, n, failure)),
                });
                sim.set_plan(FaultPlan::default());
                let restarted =
                    open(&sim).unwrap_or_else(|e| panic!("{case}: the restart failed: {e}"));
                check(&restarted, &history).unwrap_or_else(|why| panic!("{case}: {why}"));
                cases += 1;
            }
        }
    }
    eprintln!("{cases} fault cases");
    assert!(cases > 20, "{cases} fault cases");
}

/// An I/O failure at each write, and at each sync, of an append across partitions in turn.
/// Where it leaves the store's transaction open (a COMMIT marker that could not be
/// written), the next appends to its streams end it (a new epoch of the store's producer:
/// the decision finished, or the transaction aborted) instead of waiting for its timeout;
/// each answers without blocking and goes through, except on a partition a failed sync put
/// in the failed state (it refuses writes until reopened): that one must not hold the
/// other's appends (its markers are written whatever another partition's do).
#[test]
fn a_failed_append_across_partitions_never_holds_the_next_appends() {
    let events = |data: &str| [EventData::new("E", data.to_string())];
    let across = |store: &EventStore, (a, b): (&str, &str), expected| {
        store.append_to_streams([
            StreamAppend::new(a, expected, events("a")),
            StreamAppend::new(b, expected, events("b")),
        ])
    };
    // The store, its producer initialised by a first append across partitions.
    let prepared = |plan: FaultPlan| {
        let sim = SimStorage::new(Path::new(ROOT));
        sim.set_plan(FaultPlan::default());
        let cluster = open(&sim).unwrap();
        let store = store(&cluster, EventStoreConfig::new().partitions(2)).unwrap();
        let streams = across_streams(&store);
        across(&store, streams, ExpectedVersion::NoStream).unwrap();
        sim.set_plan(plan);
        let failed = across(&store, streams, ExpectedVersion::Any).is_err();
        sim.set_plan(FaultPlan::default());
        (sim, cluster, store, streams, failed)
    };
    let (dry, ..) = prepared(FaultPlan::default());
    let (mut failures, mut failed_partitions) = (0, 0);
    let ops = [SimOp::Write, SimOp::Sync];
    let cases = ops
        .into_iter()
        .flat_map(|op| (1..=dry.operations_of(op)).map(move |n| (op, n)));
    for (op, n) in cases {
        let case = format!("{op:?} #{n} of the append fails");
        let (_sim, cluster, store, (a, b), failed) = prepared(FaultPlan {
            power_cut_at: None,
            fail: Some((op, n, SimFailure::Eio)),
        });
        failures += usize::from(failed);
        // On a thread of its own, so that an append that waits fails the test (its
        // thread is left waiting) rather than hanging it.
        let appending = std::thread::spawn({
            let (case, cluster) = (case.clone(), cluster.clone());
            move || {
                let mut failed = 0;
                for stream in [a, b] {
                    let partition = store.partition_of(stream);
                    let log = cluster.partition(STORE, partition).unwrap();
                    let done = store.append(stream, ExpectedVersion::Any, events("next"));
                    // A coordinator whose log failed cannot end the store's transaction
                    // until the cluster reopens: its partitions' appends fail meanwhile.
                    let coordinator_failed = cluster
                        .topic_partitions("__transaction_state")
                        .is_ok_and(|(_, logs)| logs.iter().any(|l| l.is_failed()));
                    if log.is_failed() {
                        failed += 1;
                    } else if !coordinator_failed {
                        done.unwrap_or_else(|e| panic!("{case}: {stream}: {e}"));
                    }
                }
                assert!(failed < 2, "{case}: both partitions failed");
                failed
            }
        });
        while !appending.is_finished() {
            assert_eq!(
                cluster.blocked_polls(),
                0,
                "{case}: an append waits for the store's own transaction"
            );
            std::thread::yield_now();
        }
        failed_partitions += appending.join().unwrap();
    }
    assert!(failures > 0, "no failure failed the append");
    assert!(failed_partitions > 0, "no sync failure failed a partition");
}

#[test]
fn appends_with_expected_versions_survive_a_cut_anywhere() {
    sweep("streams_with_versions", streams_with_versions);
}

#[test]
fn rolls_and_plain_records_survive_a_cut_anywhere() {
    sweep("rolls_and_plain_records", rolls_and_plain_records);
}

#[test]
fn stream_index_tables_survive_a_cut_anywhere() {
    sweep("index_tables", index_tables);
}

#[test]
fn stream_index_tables_over_unsynced_records_survive_a_cut_anywhere() {
    sweep("unsynced_index_tables", unsynced_index_tables);
}

/// What the retention scenario had acknowledged when the power went.
#[derive(Debug, Default, Clone, Copy)]
struct RetentionSteps {
    /// Stream "a" was appended (versions 0 and 1), and "b" (version 0).
    appended: bool,
    /// `delete_records` removed every record of both, and returned.
    deleted: bool,
    /// "b" was appended again (version 1), after the deletion.
    appended_after: bool,
}

/// Appends, a deletion of every record the index has put in (synced) tables, then another
/// append: the steps done, up to the cut.
fn retention(cluster: &Cluster, done: &mut RetentionSteps) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new().index_table_events(1))?;
    store.append("a", ExpectedVersion::NoStream, [EventData::new("E", "0")])?;
    store.append("a", ExpectedVersion::Exact(0), [EventData::new("E", "1")])?;
    store.append("b", ExpectedVersion::NoStream, [EventData::new("E", "0")])?;
    done.appended = true;
    store.index_stats(0)?;
    cluster.delete_records(STORE, 0, 3)?;
    done.deleted = true;
    // Retires the emptied tables.
    store.index_stats(0)?;
    store.append("b", ExpectedVersion::Exact(0), [EventData::new("E", "1")])?;
    done.appended_after = true;
    Ok(())
}

/// After the reopen: each stream at its acknowledged version (whether its events are still
/// there or deleted), a deleted stream's events gone, and creating a stream again refused.
fn check_retention(cluster: &Cluster, done: RetentionSteps) -> Result<(), String> {
    let store = store(cluster, EventStoreConfig::new()).map_err(|e| e.to_string())?;
    let version = |stream: &str| store.stream_version(stream).map_err(|e| e.to_string());
    let (a, b) = (version("a")?, version("b")?);
    if done.appended && (a != Some(1) || b.is_none()) {
        return Err(format!(
            "versions a {a:?}, b {b:?} after both were acknowledged"
        ));
    }
    if done.appended_after && b != Some(1) {
        return Err(format!("b is at {b:?} after its second append"));
    }
    if done.deleted {
        let read = store
            .read_stream("a", StreamPosition::Start, Direction::Forwards, 10)
            .map_err(|e| e.to_string())?;
        if read != ReadStreamResult::Events(Vec::new()) {
            return Err(format!("a deleted stream reads {read:?}"));
        }
    }
    if a.is_some() {
        let again = store.append("a", ExpectedVersion::NoStream, [EventData::new("E", "x")]);
        if !matches!(again, Err(kafkalite::Error::WrongExpectedVersion { .. })) {
            return Err(format!("stream a at {a:?} made again: {again:?}"));
        }
    }
    Ok(())
}

#[test]
fn versions_retention_emptied_survive_a_cut_anywhere() {
    each_cut(
        |cluster| retention(cluster, &mut RetentionSteps::default()).unwrap(),
        |cut, how, seed| {
            let case = format!("retention: cut at operation {cut}, {how:?}, seed {seed}");
            let sim = cut_at(cut);
            let mut done = RetentionSteps::default();
            if let Ok(cluster) = open(&sim) {
                let _ = retention(&cluster, &mut done);
            }
            let after = sim.after_power_loss(how, seed);
            let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
            check_retention(&cluster, done).unwrap_or_else(|why| panic!("{case}: {why}"));
        },
    );
}

/// A durable store whose index holds every event in memory (no table yet): "gone"'s three
/// events and another stream's, a deletion of "gone"'s records, a store call (which follows
/// the log, writing the tail to a table), then another append. Whether that table was
/// written, up to the cut (a table write that fails is only a warning: the index keeps the
/// events in memory).
fn tail_retention(cluster: &Cluster, written: &mut bool) -> kafkalite::Result<()> {
    let store = store(cluster, EventStoreConfig::new())?;
    for n in 0..3 {
        store.append(
            "gone",
            ExpectedVersion::Any,
            [EventData::new("E", n.to_string())],
        )?;
    }
    store.append(
        "other",
        ExpectedVersion::NoStream,
        [EventData::new("E", "0")],
    )?;
    cluster.delete_records(STORE, 0, 3)?;
    *written = !store.index_stats(0)?.tables.is_empty();
    store.append(
        "other",
        ExpectedVersion::Exact(0),
        [EventData::new("E", "1")],
    )?;
    Ok(())
}

#[test]
fn versions_only_the_index_tail_held_survive_retention_and_a_cut_anywhere() {
    each_cut(
        |cluster| {
            let mut written = false;
            tail_retention(cluster, &mut written).unwrap();
            assert!(written, "the tail went to a table after the deletion");
        },
        |cut, how, seed| {
            let case = format!("tail retention: cut at operation {cut}, {how:?}, seed {seed}");
            let sim = cut_at(cut);
            let mut written = false;
            if let Ok(cluster) = open(&sim) {
                let _ = tail_retention(&cluster, &mut written);
            }
            let after = sim.after_power_loss(how, seed);
            let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
            let store = store(&cluster, EventStoreConfig::new()).unwrap();
            let gone = store.stream_version("gone").unwrap();
            if written {
                assert_eq!(gone, Some(2), "{case}: a deleted stream's version");
                let other = store.stream_version("other").unwrap();
                assert!(matches!(other, Some(0 | 1)), "{case}: other at {other:?}");
            }
            if gone.is_some() {
                let again = store.append(
                    "gone",
                    ExpectedVersion::NoStream,
                    [EventData::new("E", "x")],
                );
                assert!(
                    matches!(again, Err(kafkalite::Error::WrongExpectedVersion { .. })),
                    "{case}: stream gone at {gone:?} made again: {again:?}"
                );
            }
        },
    );
}

/// A store that does not sync its appends, with a table every event: "a"'s event synced,
/// then deleted (its table retired), then appends to "b" that are not synced, whose tables
/// merges join to the retired one. Whether `a` was synced, up to the cut.
fn unsynced_retention(cluster: &Cluster, a_synced: &mut bool) -> kafkalite::Result<()> {
    let config = EventStoreConfig::new().durable(false).index_table_events(1);
    let store = store(cluster, config)?;
    store.append("a", ExpectedVersion::NoStream, [EventData::new("E", "0")])?;
    cluster.topic_partitions(STORE)?.1[0].sync()?;
    *a_synced = true;
    store.index_stats(0)?;
    cluster.delete_records(STORE, 0, 1)?;
    // Retires the emptied table; then each append's table is merged into it, "a"'s too
    // (a retired stream that goes on).
    store.index_stats(0)?;
    for (n, stream) in ["b", "a", "b"].into_iter().enumerate() {
        store.append(
            stream,
            ExpectedVersion::Any,
            [EventData::new("E", n.to_string())],
        )?;
        store.index_stats(0)?;
    }
    Ok(())
}

#[test]
fn versions_retention_emptied_survive_a_cut_of_unsynced_appends_merged_with_them() {
    each_cut(
        |cluster| unsynced_retention(cluster, &mut false).unwrap(),
        |cut, how, seed| {
            let case = format!("unsynced retention: cut at operation {cut}, {how:?}, seed {seed}");
            let sim = cut_at(cut);
            let mut a_synced = false;
            if let Ok(cluster) = open(&sim) {
                let _ = unsynced_retention(&cluster, &mut a_synced);
            }
            let after = sim.after_power_loss(how, seed);
            let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
            let store = store(&cluster, EventStoreConfig::new().durable(false)).unwrap();
            let a = store.stream_version("a").unwrap();
            if a_synced {
                // Its second event was not synced: it may be gone, its version not.
                assert!(matches!(a, Some(0 | 1)), "{case}: a at {a:?}");
            }
            if a.is_some() {
                let again =
                    store.append("a", ExpectedVersion::NoStream, [EventData::new("E", "x")]);
                assert!(
                    matches!(again, Err(kafkalite::Error::WrongExpectedVersion { .. })),
                    "{case}: stream a at {a:?} made again: {again:?}"
                );
            }
            // "b" holds a prefix of its appends, versions from 0.
            let b = store
                .read_stream("b", StreamPosition::Start, Direction::Forwards, 10)
                .unwrap()
                .into_events();
            let versions: Vec<u64> = b.iter().map(|e| e.version).collect();
            assert_eq!(versions, (0..b.len() as u64).collect::<Vec<_>>(), "{case}");
        },
    );
}
