//! A Jepsen-style check of the event store's per-stream linearizability on real threads.
//!
//! Client threads append to a few shared streams with expected versions (most of them
//! `Exact` at the version the thread last saw, so that they race and conflict), retry
//! appends that went through, read streams both ways and ask for stream versions; in one
//! mode a plain producer also writes records with the streams' keys. Catch-up subscribers
//! (to all events, made before the run and halfway through; to one stream, halfway) take
//! everything. Every operation and delivery is timed on the monotonic clock, and the
//! history goes to a checker.
//!
//! A stream is a sequence of events; every operation is, at one instant inside its
//! interval, a step from one length of that sequence to another (an append) or an
//! observation of one length (a read, a version, a conflict's `actual`). Since every
//! event carries a unique id, the final stream fixes the order of the appends, so the
//! check needs no search: walking the appends in version order and placing each operation
//! at the earliest instant it allows (never before its invocation, never before what
//! precedes it) finds a linearization if one exists; an operation whose earliest instant
//! falls after its completion is the anomaly. The checker also looks for what Jepsen's
//! checkers do on a log: lost and phantom writes, duplicates, writes at the wrong version
//! or position, observations of half an append, reads that disagree with the final stream,
//! rejected appends that left events behind, conflicts that were not, and retries that
//! answered differently. A subscriber must deliver every stream whole and in order, its
//! offsets rising in each partition, `CaughtUp` after every event appended before it was
//! made, and no event before the earliest instant its append can take effect (since the
//! placement above is the earliest for every operation at once, an event delivered before
//! it was delivered before any linearization lets a reader see it). The checker is tested
//! on histories with each anomaly planted.
//!
//! The seed is printed; `JEPSEN_ES_SEED` replays one and `JEPSEN_ES_OPS` (operations per
//! thread) makes a soak.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventId, EventStore, EventStoreConfig, ReadStreamResult,
    StreamPosition, StreamStart, SubscriptionFilter, SubscriptionMessage,
};
use kafkalite::{Cluster, Error, ExpectedVersion, ProducerRecord};

/// What one operation did to, or saw of, its stream (lengths count events).
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Events written as the stream's versions `first..first + ids.len()`, the last at log
    /// offset `offset`. `first` is `None` for a plain producer's record (only its offset
    /// is known); the final stream places it.
    Appended {
        expected: Option<ExpectedVersion>,
        first: Option<u64>,
        offset: i64,
        ids: Vec<u64>,
    },
    /// The stream seen holding `length` events, the last of them `tail` (ids, oldest first).
    Observed { length: u64, tail: Vec<u64> },
    /// An append refused: the stream was at `actual` (as the error said).
    Rejected {
        expected: ExpectedVersion,
        actual: Option<u64>,
        ids: Vec<u64>,
    },
    /// A retry of an append that went through: both answers, as (version, offset).
    Retried {
        original: (u64, i64),
        answer: (u64, i64),
    },
}

#[derive(Debug, Clone)]
struct Op {
    stream: usize,
    thread: usize,
    invoked: Instant,
    completed: Instant,
    outcome: Outcome,
}

/// One event a subscription delivered.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    stream: usize,
    version: u64,
    id: u64,
    partition: i32,
    offset: i64,
    /// When `next` returned it.
    at: Instant,
}

/// What one subscriber was given.
#[derive(Debug, Clone)]
struct Subscribed {
    /// The stream subscribed to, or `None` for all.
    stream: Option<usize>,
    /// When the subscription was made (from the start).
    started: Instant,
    /// How many events came before `CaughtUp` (`None`: it never came).
    caught_up: Option<usize>,
    deliveries: Vec<Delivery>,
}

#[derive(Debug, Default)]
struct History {
    ops: Vec<Op>,
    /// Per stream, the final events as (id, offset), version 0 first.
    streams: BTreeMap<usize, Vec<(u64, i64)>>,
    subscribers: Vec<Subscribed>,
}

#[derive(Debug, Clone, PartialEq)]
enum Anomaly {
    /// An acknowledged append whose events are not in the final stream.
    LostWrite { stream: usize, id: u64 },
    /// An event in the final stream that no acknowledged append wrote.
    Phantom { stream: usize, version: u64 },
    /// An event id twice in the final stream.
    Duplicate { stream: usize, id: u64 },
    /// An append's events found elsewhere than where its answer said.
    Misplaced {
        stream: usize,
        id: u64,
        told: (Option<u64>, i64),
        found: (u64, i64),
    },
    /// An append that succeeded at a version its expected version forbids.
    ExpectationBroken {
        stream: usize,
        expected: ExpectedVersion,
        first: u64,
    },
    /// A conflict whose actual version satisfies what was expected.
    FalseConflict {
        stream: usize,
        expected: ExpectedVersion,
        actual: Option<u64>,
    },
    /// A refused append whose events are in the stream.
    RejectedWritten { stream: usize, id: u64 },
    /// An observed length that no sequence of whole appends reaches.
    TornObservation { stream: usize, length: u64 },
    /// Events a read returned that the final stream holds differently.
    ReadDisagrees { stream: usize, length: u64 },
    /// A retry that answered other than the append it retried.
    RetryDiffers {
        stream: usize,
        original: (u64, i64),
        answer: (u64, i64),
    },
    /// No instant inside this operation's interval fits the order the stream fixes: it
    /// would have to take effect after it completed (`thread` ran it).
    NotLinearizable {
        stream: usize,
        thread: usize,
        length: u64,
    },
    /// A subscription's events of a stream differ from the final stream: skipped,
    /// repeated, reordered, or at another version or position.
    SubscriptionDisagrees { subscriber: usize, stream: usize },
    /// A subscription's offsets in a partition did not increase.
    SubscriptionOutOfOrder {
        subscriber: usize,
        partition: i32,
        offset: i64,
    },
    /// A subscription never said it had caught up.
    NoCaughtUp { subscriber: usize },
    /// An event appended before the subscription was made came after `CaughtUp`.
    MissedBeforeCaughtUp { subscriber: usize, id: u64 },
    /// An event delivered before its append can have taken effect: before any instant a
    /// linearization allows it (say, while a reader that began later did not see it yet).
    EarlyDelivery {
        subscriber: usize,
        stream: usize,
        version: u64,
    },
}

/// The stream length an expected version allows an append to start at.
fn allows(expected: ExpectedVersion, length: u64) -> bool {
    match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => length == 0,
        ExpectedVersion::StreamExists => length > 0,
        ExpectedVersion::Exact(v) => length == v + 1,
    }
}

/// A version or length as an index into a stream's events.
fn index(version: u64) -> usize {
    usize::try_from(version).expect("a test stream's length fits in memory")
}

fn length_of(version: Option<u64>) -> u64 {
    version.map_or(0, |v| v + 1)
}

fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let streams: HashSet<usize> = history
        .ops
        .iter()
        .map(|op| op.stream)
        .chain(history.streams.keys().copied())
        .collect();
    let mut placed = HashMap::new();
    for stream in streams {
        let events = history.streams.get(&stream).map_or(&[][..], Vec::as_slice);
        let ops: Vec<&Op> = history.ops.iter().filter(|o| o.stream == stream).collect();
        if let Some(appends) = check_stream(stream, events, &ops, &mut anomalies) {
            placed.insert(stream, appends);
        }
    }
    for (subscriber, subscribed) in history.subscribers.iter().enumerate() {
        check_subscriber(subscriber, subscribed, history, &placed, &mut anomalies);
    }
    anomalies
}

/// A subscriber's checks: it delivered each stream whole and in order, `CaughtUp` after
/// everything appended before it was made, and nothing before its append could have taken
/// effect (`placed`: per stream, each append's versions and its earliest instant).
fn check_subscriber(
    subscriber: usize,
    subscribed: &Subscribed,
    history: &History,
    placed: &HashMap<usize, Vec<Placed>>,
    out: &mut Vec<Anomaly>,
) {
    let deliveries = &subscribed.deliveries;
    for (&stream, events) in &history.streams {
        if subscribed.stream.is_some_and(|s| s != stream) {
            continue;
        }
        let delivered: Vec<(u64, u64, i64)> = deliveries
            .iter()
            .filter(|d| d.stream == stream)
            .map(|d| (d.version, d.id, d.offset))
            .collect();
        let expected = events
            .iter()
            .zip(0..)
            .map(|(&(id, offset), v)| (v, id, offset));
        if !delivered.iter().copied().eq(expected) {
            out.push(Anomaly::SubscriptionDisagrees { subscriber, stream });
        }
    }
    let mut last: HashMap<i32, i64> = HashMap::new();
    for d in deliveries {
        if last
            .insert(d.partition, d.offset)
            .is_some_and(|o| o >= d.offset)
        {
            out.push(Anomaly::SubscriptionOutOfOrder {
                subscriber,
                partition: d.partition,
                offset: d.offset,
            });
        }
        let append = placed
            .get(&d.stream)
            .and_then(|p| p.iter().find(|p| p.versions.contains(&d.version)));
        if append.is_some_and(|p| p.at > d.at) {
            out.push(Anomaly::EarlyDelivery {
                subscriber,
                stream: d.stream,
                version: d.version,
            });
        }
    }
    let Some(caught_up) = subscribed.caught_up else {
        out.push(Anomaly::NoCaughtUp { subscriber });
        return;
    };
    let before: HashSet<u64> = deliveries[..caught_up].iter().map(|d| d.id).collect();
    for op in &history.ops {
        let Outcome::Appended { ids, .. } = &op.outcome else {
            continue;
        };
        let theirs = subscribed.stream.is_none_or(|s| s == op.stream);
        if theirs && op.completed < subscribed.started {
            if let Some(&id) = ids.iter().find(|id| !before.contains(id)) {
                out.push(Anomaly::MissedBeforeCaughtUp { subscriber, id });
            }
        }
    }
}

/// An append as the linearization placed it: its versions, at the earliest instant.
#[derive(Debug, Clone)]
struct Placed {
    versions: std::ops::Range<u64>,
    at: Instant,
}

/// One stream's checks; see the file's documentation. Answers where its appends were
/// placed, if they could all be.
fn check_stream(
    stream: usize,
    events: &[(u64, i64)],
    ops: &[&Op],
    out: &mut Vec<Anomaly>,
) -> Option<Vec<Placed>> {
    let mut version_of: HashMap<u64, u64> = HashMap::new();
    for (version, &(id, _)) in events.iter().enumerate() {
        if version_of.insert(id, version as u64).is_some() {
            out.push(Anomaly::Duplicate { stream, id });
        }
    }
    // The appends, placed in the final stream; each version covered by exactly one.
    let mut appends: Vec<(u64, &Op)> = Vec::new();
    let mut covered = vec![false; events.len()];
    for &op in ops {
        match &op.outcome {
            Outcome::Appended {
                expected,
                first,
                offset,
                ids,
            } => {
                let Some(&at) = version_of.get(&ids[0]) else {
                    out.push(Anomaly::LostWrite { stream, id: ids[0] });
                    continue;
                };
                let at_index = index(at);
                let last = at_index + ids.len() - 1;
                let here = events.get(at_index..=last);
                if first.is_some_and(|f| f != at)
                    || here.map(|e| e.iter().map(|&(id, _)| id).collect::<Vec<_>>())
                        != Some(ids.clone())
                    || here.and_then(|e| e.last()).map(|&(_, o)| o) != Some(*offset)
                {
                    let found = events[at_index].1;
                    out.push(Anomaly::Misplaced {
                        stream,
                        id: ids[0],
                        told: (*first, *offset),
                        found: (at, found),
                    });
                    continue;
                }
                if let Some(expected) = expected.filter(|&e| !allows(e, at)) {
                    out.push(Anomaly::ExpectationBroken {
                        stream,
                        expected,
                        first: at,
                    });
                }
                covered[at_index..=last].iter_mut().for_each(|c| *c = true);
                appends.push((at, op));
            }
            Outcome::Rejected {
                expected,
                actual,
                ids,
            } => {
                if allows(*expected, length_of(*actual)) {
                    out.push(Anomaly::FalseConflict {
                        stream,
                        expected: *expected,
                        actual: *actual,
                    });
                }
                if let Some(&id) = ids.iter().find(|id| version_of.contains_key(id)) {
                    out.push(Anomaly::RejectedWritten { stream, id });
                }
            }
            Outcome::Retried { original, answer } if original != answer => {
                out.push(Anomaly::RetryDiffers {
                    stream,
                    original: *original,
                    answer: *answer,
                });
            }
            Outcome::Observed { .. } | Outcome::Retried { .. } => {}
        }
    }
    // An event no append covers is a phantom, unless an append claims it elsewhere.
    let claimed: HashSet<u64> = ops
        .iter()
        .filter_map(|op| match &op.outcome {
            Outcome::Appended { ids, .. } => Some(ids),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    for (version, _) in covered.iter().enumerate().filter(|(_, c)| !**c) {
        if !claimed.contains(&events[version].0) {
            out.push(Anomaly::Phantom {
                stream,
                version: version as u64,
            });
        }
    }
    if out.iter().any(|a| a_stream(a) == Some(stream)) {
        return None; // the order below needs whole, placed appends
    }
    appends.sort_by_key(|&(first, _)| first);
    linearize(stream, events, ops, &appends, out)
}

fn a_stream(anomaly: &Anomaly) -> Option<usize> {
    match *anomaly {
        Anomaly::LostWrite { stream, .. }
        | Anomaly::Phantom { stream, .. }
        | Anomaly::Duplicate { stream, .. }
        | Anomaly::Misplaced { stream, .. }
        | Anomaly::ExpectationBroken { stream, .. }
        | Anomaly::FalseConflict { stream, .. }
        | Anomaly::RejectedWritten { stream, .. }
        | Anomaly::TornObservation { stream, .. }
        | Anomaly::ReadDisagrees { stream, .. }
        | Anomaly::RetryDiffers { stream, .. }
        | Anomaly::NotLinearizable { stream, .. } => Some(stream),
        Anomaly::SubscriptionDisagrees { .. }
        | Anomaly::SubscriptionOutOfOrder { .. }
        | Anomaly::NoCaughtUp { .. }
        | Anomaly::MissedBeforeCaughtUp { .. }
        | Anomaly::EarlyDelivery { .. } => None,
    }
}

/// Places every operation at the earliest instant its interval and the stream's order
/// allow: the observations of length L after the append that made it L and before the
/// next one. Reports the first operation that cannot be placed; else answers where the
/// appends went (the earliest instants of every operation at once: any other
/// linearization places each one later).
fn linearize(
    stream: usize,
    events: &[(u64, i64)],
    ops: &[&Op],
    appends: &[(u64, &Op)],
    out: &mut Vec<Anomaly>,
) -> Option<Vec<Placed>> {
    // The lengths between appends, and who saw each.
    let lengths: Vec<u64> = appends
        .iter()
        .map(|&(first, _)| first)
        .chain([events.len() as u64])
        .collect();
    let mut observers: BTreeMap<u64, Vec<&Op>> = BTreeMap::new();
    for &op in ops {
        let (length, tail) = match &op.outcome {
            Outcome::Observed { length, tail } => (*length, &tail[..]),
            Outcome::Rejected { actual, .. } => (length_of(*actual), &[][..]),
            _ => continue,
        };
        if lengths.binary_search(&length).is_err() {
            out.push(Anomaly::TornObservation { stream, length });
            return None;
        }
        let from = index(length) - tail.len();
        if !events[from..index(length)]
            .iter()
            .map(|&(id, _)| id)
            .eq(tail.iter().copied())
        {
            out.push(Anomaly::ReadDisagrees { stream, length });
            return None;
        }
        observers.entry(length).or_default().push(op);
    }
    let mut earliest: Option<Instant> = None;
    let mut place = |op: &Op, after: Option<Instant>, length: u64| {
        let at = after.map_or(op.invoked, |t| t.max(op.invoked));
        if at > op.completed {
            out.push(Anomaly::NotLinearizable {
                stream,
                thread: op.thread,
                length,
            });
            return None;
        }
        Some(at)
    };
    let mut placed = Vec::with_capacity(appends.len());
    for (i, &length) in lengths.iter().enumerate() {
        let mut next = earliest;
        for &op in observers.get(&length).into_iter().flatten() {
            let at = place(op, earliest, length)?;
            next = Some(next.map_or(at, |t| t.max(at)));
        }
        let Some(&(first, append)) = appends.get(i) else {
            break;
        };
        let at = place(append, next, length)?;
        placed.push(Placed {
            versions: first..lengths[i + 1],
            at,
        });
        earliest = Some(at);
    }
    Some(placed)
}

// ---------------------------------------------------------------------------------------
// The run.

/// A small deterministic generator (SplitMix64), seeded per thread from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const STREAMS: usize = 3;
const CLIENTS: usize = 4;

fn ops_per_thread() -> u64 {
    std::env::var("JEPSEN_ES_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn seed() -> u64 {
    let seed = std::env::var("JEPSEN_ES_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            u64::try_from(nanos % u128::from(u64::MAX)).unwrap()
        });
    eprintln!("jepsen_eventstore: seed {seed} (replay with JEPSEN_ES_SEED={seed})");
    seed
}

fn stream_name(stream: usize) -> String {
    format!("account-{stream}")
}

/// A unique id: the thread in the high bits, its counter below.
fn unique(thread: usize, counter: &mut u64) -> u64 {
    *counter += 1;
    (thread as u64) << 40 | *counter
}

fn event(id: u64) -> EventData {
    EventData::new("Touched", id.to_be_bytes().to_vec()).id(EventId::from_u128(id.into()))
}

/// What a retry repeats: the stream, the expectation, the event ids, and the original
/// answer (last version, last offset).
type Retry = (usize, ExpectedVersion, Vec<u64>, (u64, i64));

/// One client thread: `ops` random operations over the shared streams; halfway through, it
/// tells `halfway` (the subscribers made mid-run).
fn client(
    store: &EventStore,
    (thread, seed, ops): (usize, u64, u64),
    start: &Barrier,
    mut halfway: Vec<Sender<()>>,
) -> Vec<Op> {
    let mut rng = Rng(seed ^ (thread as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut counter = 0;
    // The version this thread last saw of each stream, as an aggregate would hold it.
    let mut known: Vec<Option<u64>> = vec![None; STREAMS];
    let mut last_append: Option<Retry> = None;
    let mut history = Vec::new();
    start.wait();
    for done in 0..ops {
        if done == ops / 2 {
            halfway.drain(..).for_each(|go| go.send(()).unwrap());
        }
        let stream = index(rng.below(STREAMS as u64));
        let name = stream_name(stream);
        let roll = rng.below(100);
        let invoked = Instant::now();
        let outcome = if roll < 55 {
            let expected = match rng.below(10) {
                0 => ExpectedVersion::Any,
                1 => ExpectedVersion::StreamExists,
                2 => ExpectedVersion::NoStream,
                _ => known[stream].map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact),
            };
            let count = 1 + index(rng.below(3));
            let ids: Vec<u64> = (0..count).map(|_| unique(thread, &mut counter)).collect();
            match store.append(&name, expected, ids.iter().map(|&id| event(id))) {
                Ok(result) => {
                    let last = result.next_expected_version;
                    known[stream] = Some(last);
                    let offset = result.position.offset;
                    // A retry is exact against an exact expectation; with `Any` or
                    // `StreamExists` it appends again once others have (as documented).
                    if matches!(
                        expected,
                        ExpectedVersion::Exact(_) | ExpectedVersion::NoStream
                    ) {
                        last_append = Some((stream, expected, ids.clone(), (last, offset)));
                    }
                    Outcome::Appended {
                        expected: Some(expected),
                        first: Some(last + 1 - count as u64),
                        offset,
                        ids,
                    }
                }
                Err(Error::WrongExpectedVersion { actual, .. }) => {
                    known[stream] = actual;
                    Outcome::Rejected {
                        expected,
                        actual,
                        ids,
                    }
                }
                Err(error) => panic!("append to {name}: {error}"),
            }
        } else if roll < 62 && last_append.is_some() {
            let (stream, expected, ids, original) = last_append.clone().unwrap();
            let name = stream_name(stream);
            let result = store
                .append(&name, expected, ids.iter().map(|&id| event(id)))
                .unwrap_or_else(|e| panic!("retry on {name}: {e}"));
            let answer = (result.next_expected_version, result.position.offset);
            history.push(Op {
                stream,
                thread,
                invoked,
                completed: Instant::now(),
                outcome: Outcome::Retried { original, answer },
            });
            continue;
        } else if roll < 90 {
            let (from, direction, max) = if rng.below(4) == 0 {
                (StreamPosition::Start, Direction::Forwards, usize::MAX)
            } else {
                (StreamPosition::End, Direction::Backwards, 3)
            };
            let read = store.read_stream(&name, from, direction, max).unwrap();
            let mut events = read.into_events();
            if direction == Direction::Backwards {
                events.reverse();
            }
            let length = length_of(events.last().map(|e| e.version));
            let tail = events.iter().map(|e| id_of(&e.data)).collect();
            known[stream] = length.checked_sub(1);
            Outcome::Observed { length, tail }
        } else {
            let version = store.stream_version(&name).unwrap();
            known[stream] = version;
            Outcome::Observed {
                length: length_of(version),
                tail: Vec::new(),
            }
        };
        history.push(Op {
            stream,
            thread,
            invoked,
            completed: Instant::now(),
            outcome,
        });
    }
    history
}

/// Subscribes (once `go` says so) to all events or to `stream`, from the start, and takes
/// what comes until it has as many events as `goal` gives (the final count), or until 30 s
/// pass with none (the checker then says what is missing).
fn subscriber(
    store: &EventStore,
    stream: Option<usize>,
    go: &Receiver<()>,
    goal: &Receiver<usize>,
) -> Subscribed {
    go.recv().unwrap();
    let started = Instant::now();
    let mut subscription = match stream {
        None => store.subscribe_to_all(AllStart::Start, SubscriptionFilter::default()),
        Some(s) => store.subscribe_to_stream(&stream_name(s), StreamStart::Start),
    }
    .unwrap();
    let mut subscribed = Subscribed {
        stream,
        started,
        caught_up: None,
        deliveries: Vec::new(),
    };
    let (mut target, mut progress) = (None, Instant::now());
    loop {
        target = target.or_else(|| goal.try_recv().ok());
        let have = subscribed.deliveries.len();
        if target.is_some_and(|t| have >= t || progress.elapsed() > Duration::from_secs(30)) {
            return subscribed;
        }
        match subscription.next(Duration::from_millis(20)).unwrap() {
            Some(SubscriptionMessage::Event(e)) => {
                let delivered = Delivery {
                    stream: e.stream["account-".len()..].parse().unwrap(),
                    version: e.version,
                    id: id_of(&e.data),
                    partition: e.position.partition,
                    offset: e.position.offset,
                    at: Instant::now(),
                };
                subscribed.deliveries.push(delivered);
                progress = delivered.at;
            }
            Some(SubscriptionMessage::CaughtUp) => subscribed.caught_up = Some(have),
            Some(SubscriptionMessage::Checkpoint(_)) | None => {}
        }
    }
}

fn id_of(data: &[u8]) -> u64 {
    u64::from_be_bytes(data.try_into().expect("an event's data is its 8-byte id"))
}

/// A plain producer writing records with the streams' keys, each awaited: events with no
/// event id, which the store's writers must see as any other.
fn plain_writer(cluster: &Cluster, topic: &str, thread: usize, seed: u64, ops: u64) -> Vec<Op> {
    let producer = cluster.producer(&[("acks", "all")][..]).unwrap();
    let mut rng = Rng(seed ^ 0x5DEE_CE66);
    let mut counter = 0;
    let mut history = Vec::new();
    for _ in 0..ops {
        let stream = index(rng.below(STREAMS as u64));
        let id = unique(thread, &mut counter);
        let record = ProducerRecord::to(topic)
            .key(stream_name(stream).into_bytes())
            .value(id.to_be_bytes().to_vec());
        let invoked = Instant::now();
        let sent = producer.send(record).unwrap().wait().unwrap();
        history.push(Op {
            stream,
            thread,
            invoked,
            completed: Instant::now(),
            outcome: Outcome::Appended {
                expected: None,
                first: None,
                offset: sent.offset,
                ids: vec![id],
            },
        });
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    history
}

fn run(name: &str, config: EventStoreConfig, plain: bool) {
    let seed = seed();
    let ops = ops_per_thread();
    let cluster = Cluster::temporary().unwrap();
    let store = Arc::new(cluster.event_store("jepsen", config).unwrap());
    let start = Arc::new(Barrier::new(CLIENTS));
    // Subscribers to all events and to stream 0: one made before the clients start, the
    // others halfway through (with history to catch up on).
    let mut halfway = Vec::new();
    let mut goals = Vec::new();
    let subscribers: Vec<_> = [(None, false), (None, true), (Some(0), true)]
        .into_iter()
        .map(|(stream, late)| {
            let (go, wait) = mpsc::channel();
            let (goal, target) = mpsc::channel();
            if late {
                halfway.push(go);
            } else {
                go.send(()).unwrap();
            }
            goals.push((stream, goal));
            let store = Arc::clone(&store);
            std::thread::spawn(move || subscriber(&store, stream, &wait, &target))
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|thread| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            let halfway = if thread == 0 {
                std::mem::take(&mut halfway)
            } else {
                Vec::new()
            };
            std::thread::spawn(move || client(&store, (thread, seed, ops), &start, halfway))
        })
        .collect();
    let plain = plain.then(|| {
        let (cluster, topic) = (cluster.clone(), store.topic().to_string());
        std::thread::spawn(move || plain_writer(&cluster, &topic, CLIENTS, seed, ops / 4))
    });
    let mut history = History::default();
    for client in clients.into_iter().chain(plain) {
        history.ops.extend(client.join().unwrap());
    }
    for stream in 0..STREAMS {
        let read = store
            .read_stream(
                &stream_name(stream),
                StreamPosition::Start,
                Direction::Forwards,
                usize::MAX,
            )
            .unwrap();
        let events = match read {
            ReadStreamResult::StreamNotFound => Vec::new(),
            ReadStreamResult::Events(events) => events,
        };
        for (version, e) in events.iter().enumerate() {
            assert_eq!(
                e.version, version as u64,
                "{name}: the final read's versions"
            );
        }
        let events = events
            .iter()
            .map(|e| (id_of(&e.data), e.position.offset))
            .collect();
        history.streams.insert(stream, events);
    }
    for (stream, goal) in goals {
        let events = history
            .streams
            .iter()
            .filter(|(s, _)| stream.is_none_or(|t| t == **s));
        goal.send(events.map(|(_, e)| e.len()).sum()).unwrap();
    }
    history.subscribers = subscribers.into_iter().map(|s| s.join().unwrap()).collect();
    let count = |f: fn(&Outcome) -> bool| history.ops.iter().filter(|o| f(&o.outcome)).count();
    let appended = count(|o| matches!(o, Outcome::Appended { .. }));
    let rejected = count(|o| matches!(o, Outcome::Rejected { .. }));
    let events: usize = history.streams.values().map(Vec::len).sum();
    let anomalies = check(&history);
    let delivered: Vec<_> = history
        .subscribers
        .iter()
        .map(|s| (s.deliveries.len(), s.caught_up))
        .collect();
    eprintln!(
        "{name}: {} operations ({appended} appends, {rejected} conflicts), {events} events, \
         subscribers' (events, caught up after) {delivered:?}, {} anomalies",
        history.ops.len(),
        anomalies.len()
    );
    // A run with no races, or none won, would check little.
    assert!(
        rejected > 0 && appended > 0,
        "{name}: {appended} appends, {rejected} conflicts"
    );
    assert!(
        anomalies.is_empty(),
        "{name} (seed {seed}): {:?}",
        &anomalies[..anomalies.len().min(10)]
    );
}

#[test]
fn durable_streams_are_linearizable() {
    run("durable, one partition", EventStoreConfig::new(), false);
}

#[test]
fn streams_stay_linearizable_beside_a_plain_producer_over_index_tables_and_rolls() {
    let config = EventStoreConfig::new()
        .durable(false)
        .partitions(2)
        .index_table_events(64)
        .topic_config("segment.bytes", "16384");
    run("page cache, two partitions, a plain producer", config, true);
}

// ---------------------------------------------------------------------------------------
// The checker, on planted anomalies.

/// A clean history of stream 0 (times in milliseconds from a base): thread 0 creates it
/// with one event, thread 2 reads it, conflicts with `NoStream`, thread 1 appends two
/// more, thread 0 retries its append.
fn clean() -> (History, Instant) {
    let base = Instant::now();
    let op = |thread, from: u64, to: u64, outcome| Op {
        stream: 0,
        thread,
        invoked: base + Duration::from_millis(from),
        completed: base + Duration::from_millis(to),
        outcome,
    };
    let ops = vec![
        op(
            0,
            0,
            10,
            Outcome::Appended {
                expected: Some(ExpectedVersion::NoStream),
                first: Some(0),
                offset: 0,
                ids: vec![1],
            },
        ),
        op(
            2,
            12,
            18,
            Outcome::Observed {
                length: 1,
                tail: vec![1],
            },
        ),
        op(
            2,
            5,
            25,
            Outcome::Rejected {
                expected: ExpectedVersion::NoStream,
                actual: Some(0),
                ids: vec![9],
            },
        ),
        op(
            1,
            20,
            30,
            Outcome::Appended {
                expected: Some(ExpectedVersion::Exact(0)),
                first: Some(1),
                offset: 2,
                ids: vec![2, 3],
            },
        ),
        op(
            0,
            40,
            50,
            Outcome::Retried {
                original: (0, 0),
                answer: (0, 0),
            },
        ),
    ];
    let streams = BTreeMap::from([(0, vec![(1, 0), (2, 1), (3, 2)])]);
    // A subscriber to all, made after the creation completed.
    let delivery = |version, id, at| Delivery {
        stream: 0,
        version,
        id,
        partition: 0,
        offset: i64::try_from(version).unwrap(),
        at: base + Duration::from_millis(at),
    };
    let subscriber = Subscribed {
        stream: None,
        started: base + Duration::from_millis(15),
        caught_up: Some(1),
        deliveries: vec![delivery(0, 1, 15), delivery(1, 2, 31), delivery(2, 3, 31)],
    };
    let history = History {
        ops,
        streams,
        subscribers: vec![subscriber],
    };
    (history, base)
}

/// Checks `history` after `plant` changed it, expecting `anomaly` among what is found.
fn finds(plant: impl FnOnce(&mut History, Instant), anomaly: Anomaly) {
    let (mut history, base) = clean();
    plant(&mut history, base);
    let found = check(&history);
    assert!(found.contains(&anomaly), "{anomaly:?} not in {found:?}");
}

fn outcome(history: &mut History, i: usize) -> &mut Outcome {
    &mut history.ops[i].outcome
}

fn final_stream(history: &mut History) -> &mut Vec<(u64, i64)> {
    history.streams.get_mut(&0).unwrap()
}

#[test]
fn the_checker_finds_each_planted_anomaly() {
    assert_eq!(check(&clean().0), vec![]);
    finds(
        |h, _| final_stream(h).truncate(1),
        Anomaly::LostWrite { stream: 0, id: 2 },
    );
    finds(
        |h, _| final_stream(h).push((7, 3)),
        Anomaly::Phantom {
            stream: 0,
            version: 3,
        },
    );
    finds(
        |h, _| final_stream(h).push((1, 3)),
        Anomaly::Duplicate { stream: 0, id: 1 },
    );
    finds(
        |h, _| {
            if let Outcome::Appended { offset, .. } = outcome(h, 3) {
                *offset = 5;
            }
        },
        Anomaly::Misplaced {
            stream: 0,
            id: 2,
            told: (Some(1), 5),
            found: (1, 1),
        },
    );
    finds(
        |h, _| {
            if let Outcome::Appended { expected, .. } = outcome(h, 3) {
                *expected = Some(ExpectedVersion::Exact(1));
            }
        },
        Anomaly::ExpectationBroken {
            stream: 0,
            expected: ExpectedVersion::Exact(1),
            first: 1,
        },
    );
    finds(
        |h, _| {
            if let Outcome::Rejected { actual, .. } = outcome(h, 2) {
                *actual = None;
            }
        },
        Anomaly::FalseConflict {
            stream: 0,
            expected: ExpectedVersion::NoStream,
            actual: None,
        },
    );
    finds(
        |h, _| final_stream(h).push((9, 3)),
        Anomaly::RejectedWritten { stream: 0, id: 9 },
    );
    finds(
        |h, _| {
            *outcome(h, 1) = Outcome::Observed {
                length: 2,
                tail: vec![],
            }
        },
        Anomaly::TornObservation {
            stream: 0,
            length: 2,
        },
    );
    finds(
        |h, _| {
            *outcome(h, 1) = Outcome::Observed {
                length: 1,
                tail: vec![2],
            }
        },
        Anomaly::ReadDisagrees {
            stream: 0,
            length: 1,
        },
    );
    finds(
        |h, _| {
            *outcome(h, 4) = Outcome::Retried {
                original: (0, 0),
                answer: (2, 2),
            }
        },
        Anomaly::RetryDiffers {
            stream: 0,
            original: (0, 0),
            answer: (2, 2),
        },
    );
    // A stale read: it began after thread 1's append completed, yet saw the stream before it.
    finds(
        |h, base| {
            h.ops[1].invoked = base + Duration::from_millis(32);
            h.ops[1].completed = base + Duration::from_millis(35);
        },
        Anomaly::NotLinearizable {
            stream: 0,
            thread: 1,
            length: 1,
        },
    );
    // The subscriber skipped an event; delivered two out of order; never caught up; caught
    // up before the event appended before it was made; delivered an event before its
    // append could have taken effect.
    finds(
        |h, _| {
            h.subscribers[0].deliveries.remove(1);
        },
        Anomaly::SubscriptionDisagrees {
            subscriber: 0,
            stream: 0,
        },
    );
    finds(
        |h, _| h.subscribers[0].deliveries.swap(1, 2),
        Anomaly::SubscriptionOutOfOrder {
            subscriber: 0,
            partition: 0,
            offset: 1,
        },
    );
    finds(
        |h, _| h.subscribers[0].caught_up = None,
        Anomaly::NoCaughtUp { subscriber: 0 },
    );
    finds(
        |h, _| h.subscribers[0].caught_up = Some(0),
        Anomaly::MissedBeforeCaughtUp {
            subscriber: 0,
            id: 1,
        },
    );
    finds(
        |h, base| h.subscribers[0].deliveries[1].at = base + Duration::from_millis(19),
        Anomaly::EarlyDelivery {
            subscriber: 0,
            stream: 0,
            version: 1,
        },
    );
    // Appends out of real-time order: the creation began after the second append completed.
    finds(
        |h, base| {
            h.ops.drain(1..3); // the observations, which would fail first
            h.ops[0].invoked = base + Duration::from_millis(31);
            h.ops[0].completed = base + Duration::from_millis(40);
        },
        Anomaly::NotLinearizable {
            stream: 0,
            thread: 1,
            length: 1,
        },
    );
}
