//! Catch-up subscriptions: historical events, then `CaughtUp`, then live ones; filters and
//! their checkpoints; subscriptions to one stream.

use std::time::Duration;

use kafkalite::eventstore::{
    AllStart, Checkpoint, EventData, EventStoreConfig, StreamStart, SubscriptionFilter,
    SubscriptionMessage,
};
use kafkalite::{Cluster, Error, ExpectedVersion};

fn event(n: u32) -> EventData {
    EventData::new(format!("Deposited{n}"), format!("{{\"amount\":{n}}}"))
}

#[test]
fn a_subscription_catches_up_then_goes_live_and_resumes_after_its_checkpoint() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("subs", EventStoreConfig::new().partitions(2))
        .unwrap();
    for n in 0..6 {
        store
            .append(&format!("s{}", n % 3), ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let mut sub = store
        .subscribe_to_all(AllStart::Start, SubscriptionFilter::default())
        .unwrap();
    let mut seen = Vec::new();
    loop {
        match sub.next(Duration::ZERO).unwrap() {
            Some(SubscriptionMessage::Event(e)) => seen.push(e.event_type),
            Some(SubscriptionMessage::CaughtUp) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        (0..6).map(|n| format!("Deposited{n}")).collect::<Vec<_>>()
    );
    assert_eq!(
        sub.next(Duration::ZERO).unwrap(),
        None,
        "nothing new, CaughtUp once"
    );

    // Live: an append from another thread wakes the waiting subscriber.
    let checkpoint = sub.checkpoint();
    let writer = store.clone();
    let handle = std::thread::spawn(move || {
        writer
            .append("s0", ExpectedVersion::Any, [event(6)])
            .unwrap()
    });
    let live = sub.next(Duration::from_secs(60)).unwrap();
    let appended = handle.join().unwrap();
    match live {
        Some(SubscriptionMessage::Event(e)) => {
            assert_eq!(
                (e.event_type.as_str(), e.position),
                ("Deposited6", appended.position)
            );
            assert_eq!(e.version, 2, "s0's third event");
        }
        other => panic!("expected the live event, got {other:?}"),
    }
    // Resuming after the checkpoint taken before it delivers exactly that event.
    let mut resumed = store
        .subscribe_to_all(AllStart::After(checkpoint), SubscriptionFilter::default())
        .unwrap();
    let first = resumed.next(Duration::ZERO).unwrap();
    assert!(
        matches!(&first, Some(SubscriptionMessage::Event(e)) if e.event_type == "Deposited6"),
        "{first:?}"
    );
    assert_eq!(
        resumed.next(Duration::ZERO).unwrap(),
        Some(SubscriptionMessage::CaughtUp)
    );
    let mut from_end = store
        .subscribe_to_all(AllStart::End, SubscriptionFilter::default())
        .unwrap();
    assert_eq!(
        from_end.next(Duration::ZERO).unwrap(),
        Some(SubscriptionMessage::CaughtUp)
    );
}

#[test]
fn a_filtered_subscription_checkpoints_while_it_skips_but_never_past_an_undelivered_event() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("filtered", EventStoreConfig::new())
        .unwrap();
    // 10 skipped, one match, 10 skipped.
    for n in 0..21 {
        let stream = if n == 10 { "user-1" } else { "other" };
        store
            .append(stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let filter = SubscriptionFilter::default()
        .stream_prefix("user-")
        .checkpoint_interval(4);
    let mut sub = store.subscribe_to_all(AllStart::Start, filter).unwrap();
    let mut messages = Vec::new();
    loop {
        let message = sub.next(Duration::ZERO).unwrap().unwrap();
        let done = message == SubscriptionMessage::CaughtUp;
        messages.push(message);
        if done {
            break;
        }
    }
    let offsets: Vec<String> = messages
        .iter()
        .map(|m| match m {
            SubscriptionMessage::Checkpoint(c) => format!("checkpoint {}", c.offsets()[0]),
            SubscriptionMessage::Event(e) => format!("event {}", e.position.offset),
            SubscriptionMessage::CaughtUp => "caught up".to_string(),
        })
        .collect();
    // Skipped records 0..=9: checkpoints after 4 and 8 skips; the event at 10; records
    // 11..=20 skipped: checkpoints after 4 and 8 of them (offsets 15 and 19).
    assert_eq!(
        offsets,
        [
            "checkpoint 4",
            "checkpoint 8",
            "event 10",
            "checkpoint 15",
            "checkpoint 19",
            "caught up"
        ]
    );
    assert_eq!(
        sub.checkpoint().offsets(),
        [21],
        "the skipped tail counts as seen"
    );
}

#[test]
fn a_stream_subscription_delivers_only_that_stream_after_the_version_given() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("one", EventStoreConfig::new().partitions(2))
        .unwrap();
    for n in 0..8 {
        let stream = if n % 2 == 0 { "a" } else { "b" };
        store
            .append(stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let mut sub = store
        .subscribe_to_stream("a", StreamStart::After(1))
        .unwrap();
    let mut versions = Vec::new();
    while let Some(SubscriptionMessage::Event(e)) = sub.next(Duration::ZERO).unwrap() {
        assert_eq!(e.stream, "a");
        versions.push(e.version);
    }
    assert_eq!(versions, [2, 3]);
    let mut from_start = store.subscribe_to_stream("a", StreamStart::Start).unwrap();
    let mut count = 0;
    while let Some(SubscriptionMessage::Event(_)) = from_start.next(Duration::ZERO).unwrap() {
        count += 1;
    }
    assert_eq!(count, 4);
    let mut from_end = store.subscribe_to_stream("a", StreamStart::End).unwrap();
    assert_eq!(
        from_end.next(Duration::ZERO).unwrap(),
        Some(SubscriptionMessage::CaughtUp)
    );
    store
        .append("a", ExpectedVersion::Exact(3), [event(8)])
        .unwrap();
    let next = from_end.next(Duration::ZERO).unwrap();
    assert!(matches!(next, Some(SubscriptionMessage::Event(e)) if e.version == 4));
}

/// A message as text: `checkpoint <offset>`, `event <offset>`, `caught up`.
fn text(message: SubscriptionMessage) -> String {
    match message {
        SubscriptionMessage::Checkpoint(c) => format!("checkpoint {}", c.offsets()[0]),
        SubscriptionMessage::Event(e) => format!("event {}", e.position.offset),
        SubscriptionMessage::CaughtUp => "caught up".to_string(),
    }
}

/// The messages `sub` gives without waiting (a timeout of zero: one refill per call, so a
/// live subscription with a record or two to read).
fn drain(sub: &mut kafkalite::eventstore::Subscription) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(message) = sub.next(Duration::ZERO).unwrap() {
        out.push(text(message));
    }
    out
}

#[test]
fn a_live_filtered_subscription_counts_skips_across_refills() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().partitions(1).durable(false);
    let store = cluster.event_store("live", config).unwrap();
    let filter = SubscriptionFilter::default()
        .stream_prefix("user-")
        .checkpoint_interval(4);
    let mut sub = store.subscribe_to_all(AllStart::Start, filter).unwrap();
    assert_eq!(drain(&mut sub), ["caught up"]);
    // Live, each record is read by a refill of its own: offsets 0..=9 skipped, 10 matches,
    // 11..=15 skipped.
    let mut messages = Vec::new();
    for n in 0..16 {
        let stream = if n == 10 { "user-1" } else { "other" };
        store
            .append(stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
        messages.extend(drain(&mut sub));
    }
    assert_eq!(
        messages,
        ["checkpoint 4", "checkpoint 8", "event 10", "checkpoint 15"]
    );
}

#[test]
fn a_checkpoint_interval_longer_than_a_refill_is_kept() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().partitions(1).durable(false);
    let store = cluster.event_store("long", config).unwrap();
    for batch in 0..5 {
        let events = (0..500).map(|n| event(batch * 500 + n));
        store.append("other", ExpectedVersion::Any, events).unwrap();
    }
    let filter = SubscriptionFilter::default()
        .stream_prefix("user-")
        .checkpoint_interval(2000);
    let mut sub = store.subscribe_to_all(AllStart::Start, filter).unwrap();
    // Refills of up to 1,024 records, each finding nothing to deliver until the 2,000th
    // skipped record (the timeout only bounds waiting for new records: none is needed).
    let mut messages = Vec::new();
    while messages.last().map(String::as_str) != Some("caught up") {
        let message = sub.next(Duration::from_secs(60)).unwrap();
        messages.push(text(message.expect("the catch-up ends within the timeout")));
    }
    assert_eq!(messages, ["checkpoint 2000", "caught up"]);
    assert_eq!(sub.checkpoint().offsets(), [2500]);
}

#[test]
fn a_stream_subscription_after_the_last_possible_version_delivers_nothing() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().partitions(1).durable(false);
    let store = cluster.event_store("max", config).unwrap();
    store
        .append("a", ExpectedVersion::Any, [event(0), event(1)])
        .unwrap();
    let mut sub = store
        .subscribe_to_stream("a", StreamStart::After(u64::MAX))
        .unwrap();
    assert_eq!(drain(&mut sub), ["caught up"]);
    store.append("a", ExpectedVersion::Any, [event(2)]).unwrap();
    assert_eq!(drain(&mut sub), Vec::<String>::new());
    // After the version before the last, the last is delivered.
    let mut sub = store
        .subscribe_to_stream("a", StreamStart::After(1))
        .unwrap();
    assert_eq!(drain(&mut sub), ["event 2", "caught up"]);
}

#[test]
fn a_checkpoint_past_the_end_is_refused_not_a_silent_skip() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().partitions(2).durable(false);
    let store = cluster.event_store("far", config).unwrap();
    for n in 0..4 {
        store
            .append(&format!("s{n}"), ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let ends: Vec<i64> = (0..2)
        .map(|p| cluster.partition("far", p).unwrap().log_end_offset())
        .collect();
    // At the ends: nothing to deliver, caught up.
    let at_end = Checkpoint::from_offsets(ends.clone());
    let mut sub = store
        .subscribe_to_all(AllStart::After(at_end), SubscriptionFilter::default())
        .unwrap();
    assert_eq!(drain(&mut sub), ["caught up"]);
    for bad in [vec![ends[0] + 1, 0], vec![0, 1000], vec![-1, 0]] {
        let result = store.subscribe_to_all(
            AllStart::After(Checkpoint::from_offsets(bad.clone())),
            SubscriptionFilter::default(),
        );
        assert!(
            matches!(result, Err(Error::OffsetOutOfRange { .. })),
            "{bad:?}: {result:?}"
        );
    }
}
