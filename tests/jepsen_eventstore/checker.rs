//! The checker of `tests/jepsen_eventstore.rs`.
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use kafkalite::ExpectedVersion;

/// What one operation did to, or saw of, its stream (lengths count events).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
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
pub(crate) struct Op {
    pub(crate) stream: usize,
    pub(crate) thread: usize,
    pub(crate) invoked: Instant,
    pub(crate) completed: Instant,
    pub(crate) outcome: Outcome,
}

/// One event a subscription delivered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) stream: usize,
    pub(crate) version: u64,
    pub(crate) id: u64,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    /// When `next` returned it.
    pub(crate) at: Instant,
}

/// What one subscriber was given.
#[derive(Debug, Clone)]
pub(crate) struct Subscribed {
    /// The stream subscribed to, or `None` for all.
    pub(crate) stream: Option<usize>,
    /// When the subscription was made (from the start).
    pub(crate) started: Instant,
    /// How many events came before `CaughtUp` (`None`: it never came).
    pub(crate) caught_up: Option<usize>,
    pub(crate) deliveries: Vec<Delivery>,
}

#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) ops: Vec<Op>,
    /// Per stream, the final events as (id, offset), version 0 first.
    pub(crate) streams: BTreeMap<usize, Vec<(u64, i64)>>,
    pub(crate) subscribers: Vec<Subscribed>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Anomaly {
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
pub(crate) fn allows(expected: ExpectedVersion, length: u64) -> bool {
    match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => length == 0,
        ExpectedVersion::StreamExists => length > 0,
        ExpectedVersion::Exact(v) => length == v + 1,
    }
}

/// A version or length as an index into a stream's events.
pub(crate) fn index(version: u64) -> usize {
    usize::try_from(version).expect("a test stream's length fits in memory")
}

pub(crate) fn length_of(version: Option<u64>) -> u64 {
    version.map_or(0, |v| v + 1)
}

pub(crate) fn check(history: &History) -> Vec<Anomaly> {
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
pub(crate) fn check_subscriber(
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
pub(crate) struct Placed {
    pub(crate) versions: std::ops::Range<u64>,
    pub(crate) at: Instant,
}

/// One stream's checks; see the file's documentation. Answers where its appends were
/// placed, if they could all be.
pub(crate) fn check_stream(
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

pub(crate) fn a_stream(anomaly: &Anomaly) -> Option<usize> {
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
pub(crate) fn linearize(
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
        let Some(from) = index(length).checked_sub(tail.len()) else {
            out.push(Anomaly::ReadDisagrees { stream, length });
            return None;
        };
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
