//! The event store: expected versions, exact idempotence, per-stream reads both ways, the
//! index following other writers and rebuilt after a reopen, conditional appends on a plain
//! partition, multi-stream appends (catch-up subscriptions are in
//! `eventstore_subscriptions.rs`, snapshots in `eventstore_snapshots.rs`, group
//! subscriptions in `eventstore_group.rs`).

use std::time::Duration;

use kafkalite::eventstore::{
    Direction, EventData, EventId, EventStoreConfig, ReadStreamResult, StreamAppend, StreamPosition,
};
use kafkalite::{BatchBuilder, Cluster, Error, ExpectedVersion, ProducerRecord};

fn event(n: u32) -> EventData {
    EventData::new(format!("Deposited{n}"), format!("{{\"amount\":{n}}}"))
}

fn versions_and_types(result: ReadStreamResult) -> Vec<(u64, String)> {
    result
        .into_events()
        .into_iter()
        .map(|e| (e.version, e.event_type.into()))
        .collect()
}

#[test]
fn appends_check_the_expected_version_and_a_conflict_writes_nothing() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("bank", EventStoreConfig::new())
        .unwrap();
    let opened = store
        .append("account-1", ExpectedVersion::NoStream, [event(0), event(1)])
        .unwrap();
    assert_eq!(opened.next_expected_version, 1);
    assert_eq!(opened.position.offset, 1, "two events at offsets 0 and 1");

    let end = cluster.partition("bank", 0).unwrap().log_end_offset();
    let stale = store.append("account-1", ExpectedVersion::Exact(0), [event(9)]);
    match stale {
        Err(Error::WrongExpectedVersion {
            stream,
            expected: ExpectedVersion::Exact(0),
            actual: Some(1),
        }) => assert_eq!(stream, "account-1"),
        other => panic!("expected WrongExpectedVersion, got {other:?}"),
    }
    for (expected, actual) in [
        (ExpectedVersion::NoStream, Some(1)),
        (ExpectedVersion::Exact(5), Some(1)),
    ] {
        let err = store.append("account-1", expected, [event(9)]).unwrap_err();
        assert!(
            matches!(err, Error::WrongExpectedVersion { actual: a, .. } if a == actual),
            "{err}"
        );
    }
    let missing = store
        .append("account-2", ExpectedVersion::StreamExists, [event(9)])
        .unwrap_err();
    assert!(
        matches!(missing, Error::WrongExpectedVersion { actual: None, .. }),
        "{missing}"
    );
    assert_eq!(
        cluster.partition("bank", 0).unwrap().log_end_offset(),
        end,
        "a rejected append leaves nothing behind"
    );

    let next = store
        .append("account-1", ExpectedVersion::Exact(1), [event(2)])
        .unwrap();
    assert_eq!(next.next_expected_version, 2);
    let any = store
        .append("account-1", ExpectedVersion::Any, [event(3)])
        .unwrap();
    assert_eq!(any.next_expected_version, 3);
    assert_eq!(store.stream_version("account-1").unwrap(), Some(3));
    assert_eq!(store.stream_version("account-2").unwrap(), None);
}

#[test]
fn streams_read_both_ways_and_a_missing_stream_is_a_state() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("orders", EventStoreConfig::new().partitions(3))
        .unwrap();
    // Interleave two streams so that a stream's events are not adjacent in the log.
    for n in 0..10 {
        for stream in ["order-a", "order-b"] {
            store
                .append(stream, ExpectedVersion::Any, [event(n)])
                .unwrap();
        }
    }
    let all = |from, direction, max| {
        versions_and_types(store.read_stream("order-a", from, direction, max).unwrap())
    };
    let want = |versions: &[u64]| -> Vec<(u64, String)> {
        versions
            .iter()
            .map(|&v| (v, format!("Deposited{v}")))
            .collect()
    };
    assert_eq!(
        all(StreamPosition::Start, Direction::Forwards, 100),
        want(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    );
    assert_eq!(
        all(StreamPosition::Version(7), Direction::Forwards, 100),
        want(&[7, 8, 9])
    );
    assert_eq!(
        all(StreamPosition::End, Direction::Backwards, 3),
        want(&[9, 8, 7])
    );
    assert_eq!(
        all(StreamPosition::Version(2), Direction::Backwards, 100),
        want(&[2, 1, 0])
    );
    assert_eq!(
        all(StreamPosition::End, Direction::Forwards, 100),
        want(&[])
    );
    assert_eq!(
        all(StreamPosition::Start, Direction::Forwards, 2),
        want(&[0, 1])
    );
    let events = store
        .read_stream("order-b", StreamPosition::Start, Direction::Forwards, 100)
        .unwrap()
        .into_events();
    assert!(events.iter().all(|e| e.stream == "order-b"));
    assert!(
        events
            .windows(2)
            .all(|w| w[0].position.offset < w[1].position.offset),
        "a stream's events are in log order"
    );
    assert_eq!(
        store
            .read_stream("nobody", StreamPosition::Start, Direction::Forwards, 10)
            .unwrap(),
        ReadStreamResult::StreamNotFound
    );
}

#[test]
fn a_retried_append_returns_the_original_result_however_late() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("ledger", EventStoreConfig::new())
        .unwrap();
    let first = vec![event(0), event(1)];
    let original = store
        .append("s", ExpectedVersion::NoStream, first.clone())
        .unwrap();
    let second = vec![event(2)];
    let appended = store
        .append("s", ExpectedVersion::Exact(1), second.clone())
        .unwrap();
    // Other events follow before the retries come.
    store
        .append("s", ExpectedVersion::Exact(2), [event(3)])
        .unwrap();
    let end = cluster.partition("ledger", 0).unwrap().log_end_offset();

    assert_eq!(
        store
            .append("s", ExpectedVersion::NoStream, first.clone())
            .unwrap(),
        original
    );
    assert_eq!(
        store
            .append("s", ExpectedVersion::Exact(1), second.clone())
            .unwrap(),
        appended
    );
    assert_eq!(
        cluster.partition("ledger", 0).unwrap().log_end_offset(),
        end,
        "retries write nothing"
    );
    // The same expected version with other event ids is a conflict, and so is a retry
    // whose ids match only in part.
    let err = store
        .append("s", ExpectedVersion::Exact(1), [event(2)])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongExpectedVersion {
                actual: Some(3),
                ..
            }
        ),
        "{err}"
    );
    let partial = vec![first[0].clone(), event(7)];
    let err = store
        .append("s", ExpectedVersion::NoStream, partial)
        .unwrap_err();
    assert!(matches!(err, Error::WrongExpectedVersion { .. }), "{err}");
    // With Any, a retry is recognized while its events are the stream's last ones.
    let last = vec![event(4)];
    let done = store
        .append("s", ExpectedVersion::Any, last.clone())
        .unwrap();
    assert_eq!(store.append("s", ExpectedVersion::Any, last).unwrap(), done);
    assert_eq!(store.stream_version("s").unwrap(), Some(4));
}

#[test]
fn bad_appends_get_typed_errors() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster.event_store("bad", EventStoreConfig::new()).unwrap();
    let none: Vec<EventData> = Vec::new();
    let err = store.append("s", ExpectedVersion::Any, none).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRecord(m) if m.contains("no events")),
        "{err}"
    );
    let err = store
        .append("", ExpectedVersion::Any, [event(0)])
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRecord(m) if m.contains("name")),
        "{err}"
    );
    let id = EventId::random();
    let twice = [event(0).id(id), event(1).id(id)];
    let err = store.append("s", ExpectedVersion::Any, twice).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRecord(m) if m.contains("twice")),
        "{err}"
    );
    assert!(
        store.read_all(1, None, 10).is_err(),
        "partition 1 does not exist"
    );
    let untyped = [event(0), EventData::new("", b"{}".to_vec())];
    let err = store
        .append("s", ExpectedVersion::Any, untyped)
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRecord(m) if m.contains("event 1") && m.contains("no type")),
        "{err}"
    );
    assert_eq!(store.stream_version("s").unwrap(), None, "nothing written");
}

#[test]
fn a_store_refuses_internal_topics_and_configs_that_undo_durability() {
    let cluster = Cluster::temporary().unwrap();
    // An append across partitions is a transaction: the cluster makes its
    // `__transaction_state`, which a store must not then take for its own.
    let store = cluster
        .event_store("es", EventStoreConfig::new().partitions(2).durable(false))
        .unwrap();
    let other = (0..)
        .map(|n| format!("s{n}"))
        .find(|s| store.partition_of(s) != store.partition_of("a"))
        .unwrap();
    store
        .append_to_streams([
            StreamAppend::new("a", ExpectedVersion::NoStream, [event(0)]),
            StreamAppend::new(other, ExpectedVersion::NoStream, [event(1)]),
        ])
        .unwrap();
    assert!(cluster.topic_partitions("__transaction_state").is_ok());
    // Refused by name, whether the cluster made the topic yet or not.
    for name in ["__consumer_offsets", "__transaction_state"] {
        let err = cluster
            .event_store(name, EventStoreConfig::new())
            .err()
            .unwrap_or_else(|| panic!("{name} taken as a store"));
        assert!(
            matches!(&err, Error::InvalidTopic(m) if m.contains("reserved")),
            "{name}: {err}"
        );
    }
    let lax = EventStoreConfig::new().topic_config("flush.messages", "1000");
    let err = cluster.event_store("lax", lax.clone()).err().unwrap();
    assert!(
        matches!(&err, Error::InvalidConfig { key, .. } if key == "flush.messages"),
        "{err}"
    );
    assert!(cluster.topic_partitions("lax").is_err(), "no topic made");
    // Not durable, or durable as asked: accepted.
    let syncs_every_append = |topic: &str| {
        let (config, _) = cluster.topic_partitions(topic).unwrap();
        config.sync_every_append()
    };
    cluster.event_store("lax", lax.durable(false)).unwrap();
    assert!(!syncs_every_append("lax"));
    let strict = EventStoreConfig::new().topic_config("flush.messages", "1");
    cluster.event_store("strict", strict).unwrap();
    assert!(syncs_every_append("strict"));
}

#[test]
fn event_ids_print_and_parse_as_uuids() {
    let id = EventId::from_u128(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
    assert_eq!(id.to_string(), "01234567-89ab-cdef-0011-223344556677");
    assert_eq!(
        "01234567-89ab-cdef-0011-223344556677"
            .parse::<EventId>()
            .unwrap(),
        id
    );
    assert_eq!(
        "0123456789abcdef0011223344556677"
            .parse::<EventId>()
            .unwrap(),
        id
    );
    for bad in [
        "",
        "0123",
        "01234567-89ab-cdef-0011-22334455667g",
        "0123456789-ab-cdef-0011-223344556677",
    ] {
        assert!(bad.parse::<EventId>().is_err(), "{bad}");
    }
    let random = EventId::random();
    let text = random.to_string();
    assert_eq!(&text[14..15], "4", "a version 4 UUID");
    assert!(
        matches!(&text[19..20], "8" | "9" | "a" | "b"),
        "RFC variant: {text}"
    );
    assert_ne!(random, EventId::random());
}

#[test]
fn events_are_kafka_records_with_headers_and_plain_records_are_events() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("mixed", EventStoreConfig::new())
        .unwrap();
    let id = EventId::random();
    store
        .append(
            "cart-1",
            ExpectedVersion::NoStream,
            [event(0).id(id).metadata(b"corr=7".to_vec())],
        )
        .unwrap();
    // A plain Kafka producer writes to the same stream: its record is the stream's next event.
    let producer = cluster.producer(kafkalite::ProducerConfig::new()).unwrap();
    producer
        .send(ProducerRecord::to("mixed").key("cart-1").value("plain"))
        .unwrap()
        .wait()
        .unwrap();
    let err = store
        .append("cart-1", ExpectedVersion::Exact(0), [event(2)])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongExpectedVersion {
                actual: Some(1),
                ..
            }
        ),
        "{err}"
    );
    store
        .append("cart-1", ExpectedVersion::Exact(1), [event(2)])
        .unwrap();

    let events = store
        .read_stream("cart-1", StreamPosition::Start, Direction::Forwards, 10)
        .unwrap()
        .into_events();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].id, Some(id));
    assert_eq!(events[0].metadata, b"corr=7");
    assert_eq!(events[0].content_type, "application/json");
    assert_eq!(
        (events[1].version, events[1].id, events[1].data.as_slice()),
        (1, None, &b"plain"[..])
    );
    assert_eq!(events[2].version, 2);

    // What a Kafka consumer sees: the key and the headers.
    let data = cluster
        .partition("mixed", 0)
        .unwrap()
        .read(0, 1 << 20)
        .unwrap();
    let batch = data.batches().next().unwrap().unwrap();
    let records = batch.records().unwrap();
    let record = records.iter().next().unwrap().unwrap();
    assert_eq!(record.key, Some(&b"cart-1"[..]));
    let headers: Vec<(String, Vec<u8>)> = record
        .headers()
        .map(|h| {
            (
                String::from_utf8(h.key.to_vec()).unwrap(),
                h.value.unwrap().to_vec(),
            )
        })
        .collect();
    let header = |k: &str| {
        headers
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("event.type"), Some(b"Deposited0".to_vec()));
    assert_eq!(header("event.id"), Some(id.to_string().into_bytes()));
    assert_eq!(header("event.version"), Some(b"0".to_vec()));
}

#[test]
fn the_index_is_rebuilt_from_the_log_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let written = {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster
            .event_store("es", EventStoreConfig::new().partitions(4))
            .unwrap();
        for n in 0..40u32 {
            let stream = format!("s{}", n % 7);
            store
                .append(&stream, ExpectedVersion::Any, [event(n)])
                .unwrap();
        }
        (0..7)
            .map(|s| {
                let stream = format!("s{s}");
                let events = store
                    .read_stream(&stream, StreamPosition::Start, Direction::Forwards, 100)
                    .unwrap()
                    .into_events();
                (stream, events)
            })
            .collect::<Vec<_>>()
    };
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", EventStoreConfig::new()).unwrap();
    assert_eq!(store.partitions(), 4, "the existing topic is used as it is");
    for (stream, events) in &written {
        let read = store
            .read_stream(stream, StreamPosition::Start, Direction::Forwards, 100)
            .unwrap()
            .into_events();
        assert_eq!(&read, events, "{stream}");
        let last = events.last().unwrap().version;
        store
            .append(stream, ExpectedVersion::Exact(last), [event(99)])
            .unwrap();
    }
    // Reading a partition in log order agrees with the streams.
    let mut by_log = 0;
    for p in 0..4 {
        for e in store.read_all(p, None, 1000).unwrap() {
            let events = &written.iter().find(|(s, _)| *s == e.stream).unwrap().1;
            if let Some(found) = events.iter().find(|x| x.position == e.position) {
                assert_eq!(found, &e);
                by_log += 1;
            }
        }
    }
    assert_eq!(by_log, 40);
}

#[test]
fn a_conditional_append_on_a_partition_writes_only_at_the_expected_end() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(kafkalite::NewTopic::new("plain", 1))
        .unwrap();
    let log = cluster.partition("plain", 0).unwrap();
    let batch = |value: &str| {
        let mut builder = BatchBuilder::new();
        builder
            .append(0, None, Some(value.as_bytes()), &[])
            .unwrap();
        builder.build().unwrap()
    };
    let first = log.append_if(&batch("a"), 0).unwrap();
    assert_eq!(first.first_offset, 0);
    let err = log.append_if(&batch("b"), 0).unwrap_err();
    match err {
        Error::UnexpectedLogEndOffset {
            expected, actual, ..
        } => assert_eq!((expected, actual), (0, 1)),
        other => panic!("expected UnexpectedLogEndOffset, got {other:?}"),
    }
    assert_eq!(log.log_end_offset(), 1, "nothing written");
    assert_eq!(log.append_if(&batch("b"), 1).unwrap().first_offset, 1);
}

#[test]
fn concurrent_writers_each_win_exactly_the_version_they_expected() {
    const THREADS: usize = 4;
    const APPENDS: usize = 25;
    let cluster = Cluster::temporary().unwrap();
    // Durable: appends sync outside the stream lock, sharing syncs.
    let store = cluster
        .event_store("race", EventStoreConfig::new().partitions(2))
        .unwrap();
    let streams = ["x", "y"];
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut won = Vec::new();
                for i in 0..APPENDS {
                    let stream = streams[(t + i) % 2];
                    let event = EventData::new(format!("t{t}-{i}"), Vec::new());
                    loop {
                        let seen = store.stream_version(stream).unwrap();
                        let expected =
                            seen.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                        match store.append(stream, expected, [event.clone()]) {
                            Ok(result) => {
                                assert_eq!(
                                    result.next_expected_version,
                                    seen.map_or(0, |v| v + 1),
                                    "an append lands right after the version it expected"
                                );
                                won.push((stream, result.next_expected_version, event.event_type));
                                break;
                            }
                            Err(Error::WrongExpectedVersion { .. }) => continue,
                            Err(other) => panic!("{other}"),
                        }
                    }
                }
                won
            })
        })
        .collect();
    let mut won: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    won.sort();
    for stream in streams {
        let mine: Vec<(u64, String)> = won
            .iter()
            .filter(|(s, ..)| *s == stream)
            .map(|(_, v, t)| (*v, t.clone()))
            .collect();
        assert_eq!(mine.len(), THREADS * APPENDS / 2);
        let read = versions_and_types(
            store
                .read_stream(
                    stream,
                    StreamPosition::Start,
                    Direction::Forwards,
                    usize::MAX,
                )
                .unwrap(),
        );
        assert_eq!(
            read, mine,
            "{stream}: every win, at its version, nothing else"
        );
    }
}

#[test]
fn reads_after_retention_start_at_the_first_event_left() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("kept", EventStoreConfig::new())
        .unwrap();
    for n in 0..6 {
        store.append("s", ExpectedVersion::Any, [event(n)]).unwrap();
    }
    // Offsets 0..3 (versions 0..3) go.
    cluster.delete_records("kept", 0, 4).unwrap();
    let read = |from, direction, max| {
        versions_and_types(store.read_stream("s", from, direction, max).unwrap())
            .into_iter()
            .map(|(v, _)| v)
            .collect::<Vec<u64>>()
    };
    assert_eq!(read(StreamPosition::Start, Direction::Forwards, 1), [4]);
    assert_eq!(
        read(StreamPosition::Version(1), Direction::Forwards, 10),
        [4, 5]
    );
    assert_eq!(read(StreamPosition::End, Direction::Backwards, 10), [5, 4]);
    assert_eq!(
        read(StreamPosition::Version(2), Direction::Backwards, 10),
        Vec::<u64>::new()
    );
    // Versions go on from where the stream was.
    let next = store
        .append("s", ExpectedVersion::Exact(5), [event(6)])
        .unwrap();
    assert_eq!(next.next_expected_version, 6);
}

#[test]
fn an_append_racing_a_plain_producer_on_its_stream_still_lands_at_its_version() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("contended", EventStoreConfig::new().durable(false))
        .unwrap();
    let plain = {
        let cluster = cluster.clone();
        std::thread::spawn(move || {
            let producer = cluster
                .producer(kafkalite::ProducerConfig::new().linger(Duration::ZERO))
                .unwrap();
            for n in 0..200 {
                let record = ProducerRecord::to("contended")
                    .key("s")
                    .value(format!("p{n}"));
                producer.send(record).unwrap().wait().unwrap();
            }
        })
    };
    let mut won = Vec::new();
    for n in 0..100 {
        let event = EventData::new(format!("e{n}"), Vec::new());
        loop {
            let seen = store.stream_version("s").unwrap();
            let expected = seen.map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            match store.append("s", expected, [event.clone()]) {
                Ok(result) => {
                    won.push((result.next_expected_version, event.event_type.clone()));
                    break;
                }
                Err(Error::WrongExpectedVersion { .. }) => continue,
                Err(other) => panic!("{other}"),
            }
        }
    }
    plain.join().unwrap();
    let events = store
        .read_stream("s", StreamPosition::Start, Direction::Forwards, usize::MAX)
        .unwrap()
        .into_events();
    assert_eq!(
        events.len(),
        300,
        "every append and every plain record, once"
    );
    assert!(events
        .iter()
        .enumerate()
        .all(|(i, e)| e.version == i as u64));
    for (version, event_type) in won {
        assert_eq!(
            events[usize::try_from(version).unwrap()].event_type,
            event_type,
            "version {version}"
        );
    }
}

#[test]
fn reads_find_events_that_compaction_moved() {
    // No background cleaner: the one cleaning below must find every superseded event. With
    // one, it may clean part of the log first (once, under the full suite's load, this
    // cleaning removed only 21).
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    let store = cluster
        .event_store(
            "snapshots",
            EventStoreConfig::new()
                .topic_config("cleanup.policy", "compact")
                .topic_config("segment.bytes", "4096"),
        )
        .unwrap();
    for n in 0..60 {
        let stream = format!("s{}", n % 3);
        store
            .append(&stream, ExpectedVersion::Any, [event(n)])
            .unwrap();
    }
    let log = cluster.partition("snapshots", 0).unwrap();
    log.roll().unwrap();
    let removed: u64 = cluster
        .compact(Some("snapshots"))
        .unwrap()
        .into_iter()
        .map(|r| r.outcome.unwrap().records_removed)
        .sum();
    assert!(
        removed > 50,
        "compaction kept the latest event per stream: {removed}"
    );
    // The index still knows where each event was; the batches moved, and most are gone.
    for s in 0..3u32 {
        let events = store
            .read_stream(
                &format!("s{s}"),
                StreamPosition::Start,
                Direction::Forwards,
                100,
            )
            .unwrap()
            .into_events();
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        assert_eq!(versions, [19], "s{s}: only the latest event is left");
        assert_eq!(events[0].event_type, format!("Deposited{}", 57 + s));
    }
}

#[test]
fn a_multi_stream_append_is_all_or_nothing_within_a_partition() {
    use kafkalite::eventstore::StreamAppend;
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("transfers", EventStoreConfig::new())
        .unwrap();
    store
        .append("from", ExpectedVersion::NoStream, [event(0)])
        .unwrap();
    let transfer = vec![
        StreamAppend::new("from", ExpectedVersion::Exact(0), [event(1)]),
        StreamAppend::new("to", ExpectedVersion::NoStream, [event(2), event(3)]),
    ];
    let results = store.append_to_streams(transfer.clone()).unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| (r.next_expected_version, r.position.offset))
            .collect::<Vec<_>>(),
        [(1, 1), (1, 3)],
        "one batch: from's event at offset 1, to's at 2 and 3"
    );
    let log = cluster.partition("transfers", 0).unwrap();
    let batches = log.read(1, 1 << 20).unwrap().batches().count();
    assert_eq!(batches, 1, "the two streams' events went in one batch");
    // A retry of the whole call returns the same results, writing nothing.
    let end = log.log_end_offset();
    assert_eq!(store.append_to_streams(transfer).unwrap(), results);
    assert_eq!(log.log_end_offset(), end);
    // One stale part fails the whole append.
    let err = store
        .append_to_streams([
            StreamAppend::new("from", ExpectedVersion::Exact(1), [event(4)]),
            StreamAppend::new("to", ExpectedVersion::Exact(0), [event(5)]),
        ])
        .unwrap_err();
    assert!(
        matches!(&err, Error::WrongExpectedVersion { stream, actual: Some(1), .. } if stream == "to"),
        "{err}"
    );
    assert_eq!(log.log_end_offset(), end, "nothing written");
    // Mixing a retried part with a new one is a conflict, not half a retry.
    let err = store
        .append_to_streams([
            StreamAppend::new(
                "from",
                ExpectedVersion::Exact(0),
                results_events(&store, "from", 1),
            ),
            StreamAppend::new("to", ExpectedVersion::Exact(1), [event(6)]),
        ])
        .unwrap_err();
    assert!(
        matches!(&err, Error::WrongExpectedVersion { stream, .. } if stream == "from"),
        "{err}"
    );

    let bad =
        |appends: Vec<StreamAppend>| store.append_to_streams(appends).unwrap_err().to_string();
    assert!(bad(Vec::new()).contains("at least one stream"));
    assert!(bad(vec![
        StreamAppend::new("x", ExpectedVersion::Any, [event(7)]),
        StreamAppend::new("x", ExpectedVersion::Any, [event(8)]),
    ])
    .contains("twice"));
    let id = EventId::random();
    assert!(bad(vec![
        StreamAppend::new("x", ExpectedVersion::Any, [event(7).id(id)]),
        StreamAppend::new("y", ExpectedVersion::Any, [event(8).id(id)]),
    ])
    .contains("event id"));
}

/// The stream's events from `version` on, as data to append again (same ids).
fn results_events(
    store: &kafkalite::eventstore::EventStore,
    stream: &str,
    version: u64,
) -> Vec<EventData> {
    store
        .read_stream(
            stream,
            StreamPosition::Version(version),
            Direction::Forwards,
            usize::MAX,
        )
        .unwrap()
        .into_events()
        .into_iter()
        .map(|e| EventData::new(e.event_type, e.data).id(e.id.unwrap()))
        .collect()
}
