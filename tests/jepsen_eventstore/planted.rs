//! The checker of `tests/jepsen_eventstore.rs` on histories with each anomaly planted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafkalite::ExpectedVersion;

use crate::checker::{check, Anomaly, Delivery, History, Op, Outcome, Subscribed};

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
