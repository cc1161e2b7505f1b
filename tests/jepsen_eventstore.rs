//! A Jepsen-style check of the event store's per-stream linearizability on real threads.
//!
//! Client threads append to a few shared streams with expected versions (most of them
//! `Exact` at the version the thread last saw, so that they race and conflict), retry
//! appends that went through, read streams both ways and ask for stream versions; in one
//! mode a plain producer also writes records with the streams' keys. Catch-up subscribers
//! (to all events, made before the run and halfway through; to one stream, halfway) take
//! everything. Every operation and delivery is timed on the monotonic clock, and the
//! history goes to the checker (`jepsen_eventstore/checker.rs`).
//!
//! The seed is printed; `JEPSEN_ES_SEED` replays one and `JEPSEN_ES_OPS` (operations per
//! thread) makes a soak.

#[path = "jepsen_eventstore/checker.rs"]
mod checker;
#[path = "jepsen_eventstore/planted.rs"]
mod planted;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventId, EventStore, EventStoreConfig, ReadStreamResult,
    StreamPosition, StreamStart, SubscriptionFilter, SubscriptionMessage,
};
use kafkalite::{Cluster, Error, ExpectedVersion, ProducerRecord};

use checker::{check, index, length_of, Delivery, History, Op, Outcome, Subscribed};

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
