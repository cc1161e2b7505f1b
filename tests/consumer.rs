//! The consumer: manual assignment, positions and seeks, auto.offset.reset, pause, blocking
//! poll woken by appends and by the waker, commits that survive a restart, and bad input.

mod common;

use std::time::{Duration, Instant};

use common::{cluster_with, temporary_on};
use kafkalite::{
    AutoOffsetReset, Cluster, CommitMode, ConsumerConfig, Error, MockClock, NewTopic, Offset,
    OffsetAndMetadata, Producer, ProducerConfig, ProducerRecord, Records, TopicPartition,
};

const WAIT: Duration = Duration::from_secs(30);
const NO_WAIT: Duration = Duration::ZERO;
/// A blocked poll's timeout: a poll woken as it should be returns in well under half of it.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Sends `count` records `prefix-i` to `partition` and waits for them.
fn produce(producer: &Producer, topic: &str, partition: i32, prefix: &str, count: usize) {
    let records = (0..count).map(|i| {
        ProducerRecord::to(topic)
            .partition(partition)
            .key(format!("k{i}"))
            .value(format!("{prefix}-{i}"))
    });
    for result in producer.send_all(records, WAIT) {
        result.unwrap();
    }
}

fn values(records: &Records) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value().unwrap().to_vec()).unwrap())
        .collect()
}

fn quick_producer(cluster: &Cluster) -> Producer {
    cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap()
}

#[test]
fn assigned_partitions_read_in_order_within_max_poll_records() {
    let cluster = cluster_with(NewTopic::new("t", 2));
    let producer = quick_producer(&cluster);
    produce(&producer, "t", 0, "a", 7);
    produce(&producer, "t", 1, "b", 3);
    let consumer = cluster
        .consumer(ConsumerConfig::new().max_poll_records(4))
        .unwrap();
    consumer
        .assign(&[(tp("t", 0), Offset::Beginning), (tp("t", 1), Offset::At(1))])
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let records = consumer.poll(NO_WAIT).unwrap();
        if records.is_empty() {
            break;
        }
        assert!(records.len() <= 4, "max.poll.records");
        seen.extend(values(&records));
    }
    let a: Vec<&String> = seen.iter().filter(|v| v.starts_with('a')).collect();
    let b: Vec<&String> = seen.iter().filter(|v| v.starts_with('b')).collect();
    assert_eq!(
        a,
        (0..7)
            .map(|i| format!("a-{i}"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        b,
        ["b-1", "b-2"].map(String::from).iter().collect::<Vec<_>>()
    );
    assert_eq!(consumer.position(&tp("t", 0)).unwrap(), 7);
    assert_eq!(consumer.position(&tp("t", 1)).unwrap(), 3);
    assert_eq!(consumer.lag(&tp("t", 0)), Some(0));
}

#[test]
fn records_carry_keys_headers_timestamps_and_offsets() {
    let clock = MockClock::new(5_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = quick_producer(&cluster);
    let sent = producer.send_all(
        [ProducerRecord::to("t")
            .key("key")
            .value("value")
            .header("h", "1")
            .timestamp(1234)],
        WAIT,
    );
    assert_eq!(sent[0].as_ref().unwrap().offset, 0);
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    let records = consumer.poll(NO_WAIT).unwrap();
    let record = records.iter().next().unwrap();
    assert_eq!(
        (
            record.topic(),
            record.partition(),
            record.offset(),
            record.timestamp()
        ),
        ("t", 0, 0, 1234)
    );
    assert_eq!(record.key(), Some(&b"key"[..]));
    let headers: Vec<_> = record.headers().map(|h| (h.key, h.value)).collect();
    assert_eq!(headers, [(&b"h"[..], Some(&b"1"[..]))]);
    let owned = record.to_owned();
    assert_eq!(owned.value.as_deref(), Some(&b"value"[..]));
    assert_eq!(
        records.next_offsets()[&tp("t", 0)],
        OffsetAndMetadata::new(1)
    );
}

#[test]
fn a_blocked_poll_returns_when_records_arrive() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::End)]).unwrap();
    assert_eq!(consumer.position(&tp("t", 0)).unwrap(), 0);
    let polled = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let started = Instant::now();
            let polled = consumer.poll(POLL_TIMEOUT).unwrap();
            assert!(started.elapsed() < POLL_TIMEOUT / 2, "woken, not timed out");
            polled
        });
        // Blocked before the record exists: only the append's notification can end the poll
        // before its two minutes.
        common::wait_until_a_poll_blocks(&cluster);
        produce(&quick_producer(&cluster), "t", 0, "late", 1);
        poller.join().unwrap()
    });
    assert_eq!(values(&polled), ["late-0"], "woken by the append");
}

#[test]
fn the_waker_interrupts_a_blocked_poll() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::End)]).unwrap();
    let waker = consumer.waker();
    let result = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let started = Instant::now();
            let result = consumer.poll(POLL_TIMEOUT);
            assert!(started.elapsed() < POLL_TIMEOUT / 2, "woken, not timed out");
            result
        });
        // Blocked first: a wake-up before the poll would interrupt it at its start instead.
        common::wait_until_a_poll_blocks(&cluster);
        waker.wakeup();
        poller.join().unwrap()
    });
    assert!(matches!(result, Err(Error::Wakeup)), "{result:?}");
    // The wake-up was consumed: the next poll runs normally.
    assert!(consumer.poll(NO_WAIT).unwrap().is_empty());
}

#[test]
fn auto_offset_reset_applies_without_a_commit_and_out_of_range() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&quick_producer(&cluster), "t", 0, "x", 5);
    let start = |reset| {
        let consumer = cluster
            .consumer(
                ConsumerConfig::with_group("g")
                    .auto_offset_reset(reset)
                    .enable_auto_commit(false),
            )
            .unwrap();
        consumer.assign(&[(tp("t", 0), Offset::Committed)]).unwrap();
        consumer
    };
    assert_eq!(
        start(AutoOffsetReset::Earliest)
            .position(&tp("t", 0))
            .unwrap(),
        0
    );
    assert_eq!(
        start(AutoOffsetReset::Latest)
            .position(&tp("t", 0))
            .unwrap(),
        5
    );
    let none = start(AutoOffsetReset::None);
    assert!(matches!(
        none.poll(NO_WAIT),
        Err(Error::OffsetOutOfRange { .. })
    ));
    // A seek outside the log falls back to the policy too.
    let earliest = start(AutoOffsetReset::Earliest);
    earliest.seek(&tp("t", 0), Offset::At(99)).unwrap();
    assert_eq!(
        earliest.position(&tp("t", 0)).unwrap(),
        99,
        "as Kafka: until the next fetch"
    );
    assert_eq!(earliest.poll(NO_WAIT).unwrap().len(), 5);
    assert_eq!(earliest.position(&tp("t", 0)).unwrap(), 5);
    let none = start(AutoOffsetReset::None);
    none.seek(&tp("t", 0), Offset::At(99)).unwrap();
    assert!(matches!(
        none.poll(NO_WAIT),
        Err(Error::OffsetOutOfRange { .. })
    ));
    // Below the log start after DeleteRecords: the policy again.
    cluster.delete_records("t", 0, 3).unwrap();
    let latest = start(AutoOffsetReset::Latest);
    latest.seek(&tp("t", 0), Offset::At(1)).unwrap();
    assert!(latest.poll(NO_WAIT).unwrap().is_empty());
    assert_eq!(latest.position(&tp("t", 0)).unwrap(), 5);
}

#[test]
fn seeks_pause_and_offset_queries() {
    let clock = MockClock::new(1_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    let producer = quick_producer(&cluster);
    produce(&producer, "t", 0, "early", 3);
    clock.advance_ms(1_000);
    produce(&producer, "t", 0, "late", 2);
    let consumer = cluster
        .consumer(ConsumerConfig::new().enable_partition_eof(true))
        .unwrap();
    let p0 = tp("t", 0);
    consumer
        .assign(&[
            (p0.clone(), Offset::FromEnd(2)),
            (tp("t", 1), Offset::Beginning),
        ])
        .unwrap();
    let records = consumer.poll(NO_WAIT).unwrap();
    assert_eq!(values(&records), ["late-0", "late-1"]);
    assert!(records.eof().contains(&p0) && records.eof().contains(&tp("t", 1)));
    consumer.seek_to_beginning(&[]).unwrap();
    consumer.pause(std::slice::from_ref(&p0)).unwrap();
    assert_eq!(consumer.paused(), std::slice::from_ref(&p0));
    assert!(consumer.poll(NO_WAIT).unwrap().is_empty(), "paused");
    consumer.resume(std::slice::from_ref(&p0)).unwrap();
    assert_eq!(values(&consumer.poll(NO_WAIT).unwrap()).len(), 5);
    consumer.seek_to_end(std::slice::from_ref(&p0)).unwrap();
    assert_eq!(consumer.position(&p0).unwrap(), 5);
    let times = consumer
        .offsets_for_times(&[(p0.clone(), 1_500), (tp("t", 1), 0)])
        .unwrap();
    assert_eq!(
        times[&p0].map(|t| (t.offset, t.timestamp)),
        Some((3, 2_000))
    );
    assert_eq!(times[&tp("t", 1)], None);
    assert_eq!(
        consumer
            .beginning_offsets(std::slice::from_ref(&p0))
            .unwrap()[&p0],
        0
    );
    assert_eq!(
        consumer.end_offsets(std::slice::from_ref(&p0)).unwrap()[&p0],
        5
    );
}

#[test]
fn commits_survive_a_restart_and_resume_the_next_consumer() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        produce(&quick_producer(&cluster), "t", 0, "r", 10);
        let consumer = cluster
            .consumer(
                ConsumerConfig::with_group("g")
                    .enable_auto_commit(false)
                    .max_poll_records(4),
            )
            .unwrap();
        consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
        let records = consumer.poll(NO_WAIT).unwrap();
        assert_eq!(records.len(), 4);
        consumer.commit_records(&records, CommitMode::Sync).unwrap();
        let mut offsets = kafkalite::Offsets::new();
        offsets.insert(tp("t", 0), OffsetAndMetadata::new(6).with_metadata("note"));
        consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    }
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    let consumer = cluster
        .consumer(ConsumerConfig::with_group("g").auto_offset_reset(AutoOffsetReset::None))
        .unwrap();
    let committed = consumer.committed(&[tp("t", 0)]).unwrap();
    assert_eq!(
        committed[&tp("t", 0)],
        Some(OffsetAndMetadata::new(6).with_metadata("note"))
    );
    consumer.assign(&[(tp("t", 0), Offset::Committed)]).unwrap();
    assert_eq!(
        values(&consumer.poll(NO_WAIT).unwrap()),
        ["r-6", "r-7", "r-8", "r-9"]
    );
}

#[test]
fn lz4_batches_are_read_once_decompressed() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster
        .producer(
            ProducerConfig::new()
                .linger(Duration::ZERO)
                .compression(kafkalite::Compression::Lz4),
        )
        .unwrap();
    produce(&producer, "t", 0, "z", 50);
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::At(10))]).unwrap();
    let got = values(&consumer.poll(NO_WAIT).unwrap());
    assert_eq!(got.first().map(String::as_str), Some("z-10"));
    assert_eq!(got.len(), 40);
}

#[test]
fn misuse_gets_typed_errors() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    assert!(
        matches!(consumer.poll(NO_WAIT), Err(Error::IllegalState(_))),
        "poll before assign"
    );
    let err = consumer
        .assign(&[(tp("missing", 0), Offset::Beginning)])
        .unwrap_err();
    assert!(matches!(err, Error::UnknownTopicOrPartition(_)), "{err}");
    // Kafka's consumer throws InvalidGroupIdException (maybeThrowInvalidGroupIdException).
    let err = consumer.subscribe(&["t"]).unwrap_err();
    assert!(
        matches!(err, Error::InvalidGroupId(_)),
        "subscribe without group.id: {err}"
    );
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    let err = consumer.seek(&tp("t", 1), Offset::Beginning).unwrap_err();
    assert!(
        matches!(err, Error::IllegalState(_)),
        "seek unassigned: {err}"
    );
    for mode in [CommitMode::Sync, CommitMode::Async] {
        let err = consumer.commit(mode).unwrap_err();
        assert!(
            matches!(err, Error::InvalidGroupId(_)),
            "commit without group.id: {err}"
        );
    }
    let grouped = cluster.consumer(ConsumerConfig::with_group("g")).unwrap();
    grouped.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    assert!(
        matches!(grouped.subscribe(&["t"]), Err(Error::IllegalState(_))),
        "mixing"
    );
    grouped.close().unwrap();
    assert!(
        matches!(grouped.poll(NO_WAIT), Err(Error::Closed)),
        "poll after close"
    );
}

#[test]
fn fetch_min_bytes_gathers_more_before_returning() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = quick_producer(&cluster);
    produce(&producer, "t", 0, "first", 1);
    let one_batch = cluster.partition("t", 0).unwrap().size_bytes();
    let consumer = cluster
        .consumer(
            ConsumerConfig::new()
                .set("fetch.min.bytes", &(one_batch + 1).to_string())
                .unwrap()
                .set("fetch.max.wait.ms", "60000")
                .unwrap(),
        )
        .unwrap();
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    let (started_tx, started) = crossbeam::channel::bounded::<()>(1);
    let polled = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            started_tx.send(()).unwrap();
            consumer.poll(Duration::from_secs(120)).unwrap()
        });
        started.recv().unwrap();
        produce(&producer, "t", 0, "second", 1);
        poller.join().unwrap()
    });
    // One batch is less than fetch.min.bytes: the poll waited for the second.
    assert_eq!(values(&polled), ["first-0", "second-0"]);
}

/// Six records `r-0`..`r-5` in t-0, and a consumer of group "g" assigned to them that
/// commits only what it stores (`enable.auto.offset.store=false`, no auto-commit).
fn six_records_and_a_storing_consumer() -> (Cluster, kafkalite::Consumer) {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&quick_producer(&cluster), "t", 0, "r", 6);
    let consumer = cluster
        .consumer(
            ConsumerConfig::with_group("g")
                .enable_auto_offset_store(false)
                .enable_auto_commit(false),
        )
        .unwrap();
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    (cluster, consumer)
}

#[test]
fn stored_offsets_are_what_commits_cover_without_auto_store() {
    let (cluster, consumer) = six_records_and_a_storing_consumer();
    assert_eq!(consumer.poll(NO_WAIT).unwrap().len(), 6);
    let mut processed = kafkalite::Offsets::new();
    processed.insert(tp("t", 0), OffsetAndMetadata::new(2));
    consumer.store_offsets(&processed).unwrap();
    consumer.commit(CommitMode::Sync).unwrap();
    let committed = consumer.committed(&[tp("t", 0)]).unwrap();
    assert_eq!(committed[&tp("t", 0)], Some(OffsetAndMetadata::new(2)));
    let auto = cluster.consumer(ConsumerConfig::with_group("h")).unwrap();
    auto.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    assert!(matches!(
        auto.store_offsets(&processed),
        Err(Error::IllegalState(_))
    ));
}

#[test]
fn every_record_type_commits_and_stores_as_a_message() {
    let (cluster, consumer) = six_records_and_a_storing_consumer();
    let polled = consumer.poll(NO_WAIT).unwrap();
    let committed = || consumer.committed(&[tp("t", 0)]).unwrap()[&tp("t", 0)].clone();
    let view = polled.iter().nth(1).unwrap();
    assert_eq!(
        OffsetAndMetadata::next_after(&view),
        OffsetAndMetadata::new(2)
    );
    consumer.commit_record(&view, CommitMode::Sync).unwrap();
    assert_eq!(committed(), Some(OffsetAndMetadata::new(2)));
    let owned = polled.iter().nth(3).unwrap().to_owned();
    consumer.commit_record(&owned, CommitMode::Sync).unwrap();
    assert_eq!(committed(), Some(OffsetAndMetadata::new(4)));
    consumer
        .store_offset(&polled.iter().nth(4).unwrap())
        .unwrap();
    consumer.commit(CommitMode::Sync).unwrap();
    assert_eq!(committed(), Some(OffsetAndMetadata::new(5)));

    let metadata = consumer.group_metadata().unwrap();
    assert_eq!(
        (metadata.generation_id, metadata.member_id.as_str()),
        (-1, ""),
        "assigned, not a member"
    );
    let alone = cluster.consumer(ConsumerConfig::new()).unwrap();
    assert_eq!(alone.group_metadata(), None, "no group.id");

    let typed = kafkalite::TypedConsumer::new(
        cluster
            .consumer(ConsumerConfig::with_group("typed"))
            .unwrap(),
        kafkalite::StringDeserializer,
        kafkalite::StringDeserializer,
    );
    typed
        .inner()
        .assign(&[(tp("t", 0), Offset::Beginning)])
        .unwrap();
    let last = typed.poll(NO_WAIT).unwrap().pop().unwrap().unwrap();
    assert_eq!(last.value.as_deref(), Some("r-5"));
    typed
        .inner()
        .commit_record(&last, CommitMode::Sync)
        .unwrap();
    assert_eq!(
        typed.inner().committed(&[tp("t", 0)]).unwrap()[&tp("t", 0)],
        Some(OffsetAndMetadata::new(6))
    );
}

#[test]
fn a_typed_consumer_decodes_per_record_and_hands_back_what_does_not_decode() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = quick_producer(&cluster);
    let records = [
        ProducerRecord::to("t")
            .key(7i64.to_be_bytes().to_vec())
            .value("fine"),
        ProducerRecord::to("t")
            .key(8i64.to_be_bytes().to_vec())
            .value(vec![0xff, 0xfe]),
        ProducerRecord::to("t")
            .key(vec![1, 2, 3])
            .value("short key"),
        ProducerRecord::to("t").value("no key"),
    ];
    for r in producer.send_all(records, WAIT) {
        r.unwrap();
    }
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::Beginning)]).unwrap();
    let typed = kafkalite::TypedConsumer::new(
        consumer,
        kafkalite::LongDeserializer,
        kafkalite::StringDeserializer,
    );
    let items = typed.poll(NO_WAIT).unwrap();
    assert_eq!(items.len(), 4);
    let first = items[0].as_ref().unwrap();
    assert_eq!((first.key, first.value.as_deref()), (Some(7), Some("fine")));
    for bad in [&items[1], &items[2]] {
        let err = bad.as_ref().unwrap_err();
        assert!(
            matches!(err.error, Error::Serialization(_)),
            "{}",
            err.error
        );
    }
    assert_eq!(
        items[1].as_ref().unwrap_err().record.offset,
        1,
        "the raw record comes back"
    );
    let last = items[3].as_ref().unwrap();
    assert_eq!((last.key, last.value.as_deref()), (None, Some("no key")));
    assert_eq!(
        typed.inner().position(&tp("t", 0)).unwrap(),
        4,
        "poison pills are passed"
    );
}

/// Writes `batches` as partition 0's only segment, with no clean-shutdown marker (so the open
/// recovers it), and opens the cluster again.
fn rewrite_segment(dir: &std::path::Path, topic: &str, batches: &[Vec<u8>]) -> Cluster {
    std::fs::write(
        dir.join(format!("{topic}-0/00000000000000000000.log")),
        batches.concat(),
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join(".kafka_cleanshutdown"));
    Cluster::open(dir).unwrap()
}

#[test]
fn a_compacted_batch_with_gaps_is_read_by_its_records_offsets() {
    let root = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(root.path()).unwrap();
    cluster
        .create_topic(NewTopic::new("c", 1).config("cleanup.policy", "compact"))
        .unwrap();
    cluster.close().unwrap();
    // What the cleaner leaves: offsets 0, 1, 2 whole; then a batch of offsets 3..=7 that
    // kept only 3, 5 and 7.
    let first = common::batch(0, 3, 10, 1);
    let mut kept = common::batch(3, 5, 10, 1);
    kept[..8].copy_from_slice(&3i64.to_be_bytes());
    let spans = common::record_spans(&kept);
    let mut cut = kept[..spans[0].end].to_vec();
    for i in [2, 4] {
        cut.extend_from_slice(&kept[spans[i].clone()]);
    }
    cut[57..61].copy_from_slice(&3i32.to_be_bytes());
    common::reseal(&mut cut);
    let cluster = rewrite_segment(root.path(), "c", &[first, cut]);
    assert_eq!(cluster.partition("c", 0).unwrap().log_end_offset(), 8);

    let consumer = cluster
        .consumer(ConsumerConfig::new().max_poll_records(4))
        .unwrap();
    let offsets = |records: &Records| records.iter().map(|r| r.offset()).collect::<Vec<_>>();
    consumer.assign(&[(tp("c", 0), Offset::At(0))]).unwrap();
    let polled = consumer.poll(NO_WAIT).unwrap();
    assert_eq!(offsets(&polled), [0, 1, 2, 3]);
    assert_eq!(polled.iter().nth(3).unwrap().key(), Some(&b"k3"[..]));
    assert_eq!(
        consumer.position(&tp("c", 0)).unwrap(),
        4,
        "cut after offset 3"
    );
    let polled = consumer.poll(NO_WAIT).unwrap();
    assert_eq!(offsets(&polled), [5, 7]);
    assert_eq!(polled.iter().next().unwrap().key(), Some(&b"k5"[..]));
    assert_eq!(consumer.position(&tp("c", 0)).unwrap(), 8);

    // A position inside the batch, on a removed offset, reads from the next one kept.
    consumer.seek(&tp("c", 0), Offset::At(6)).unwrap();
    assert_eq!(offsets(&consumer.poll(NO_WAIT).unwrap()), [7]);
    let one = cluster
        .consumer(ConsumerConfig::new().max_poll_records(1))
        .unwrap();
    one.assign(&[(tp("c", 0), Offset::At(4))]).unwrap();
    assert_eq!(offsets(&one.poll(NO_WAIT).unwrap()), [5]);
    assert_eq!(one.position(&tp("c", 0)).unwrap(), 6);
}

#[test]
fn a_record_forged_under_a_matching_crc_is_reported_not_returned() {
    let root = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(root.path()).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    cluster.close().unwrap();
    // Appends refuse such a batch; only a file changed behind kafkalite's back holds one.
    let mut forged = common::batch(0, 4, 10, 1);
    let spans = common::record_spans(&forged);
    forged[spans[2].start + 4] = 0x7e; // record 2's key length runs past its end
    common::reseal(&mut forged);
    let cluster = rewrite_segment(root.path(), "t", &[forged]);

    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer.assign(&[(tp("t", 0), Offset::At(0))]).unwrap();
    let polled = consumer.poll(NO_WAIT).unwrap();
    assert!(polled.errors().is_empty(), "found while iterating");
    let keys: Vec<_> = polled.iter().map(|r| r.key().unwrap().to_vec()).collect();
    assert_eq!(
        keys,
        [b"k0".to_vec(), b"k1".to_vec()],
        "the records before it"
    );
    let errors = polled.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, tp("t", 0));
    assert!(
        matches!(&errors[0].1, Error::Corruption { position: 0, .. }),
        "{}",
        errors[0].1
    );
}
