//! The cluster's public API: topics and their rules, configs, appends and reads, offsets,
//! locking, restarts, retention and time-based rolls under a mock clock, durability modes.

mod common;

use std::sync::Arc;

use common::{batch, read_all, temporary_on};
use kafkalite::record::BatchIter;
use kafkalite::{Clock, Cluster, Error, MockClock, NewTopic, OffsetSpec, SizeLimit};

fn mock_cluster(dir: &std::path::Path, clock: &MockClock) -> Cluster {
    Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .retention_check_interval_ms(1000)
        .open(dir)
        .unwrap()
}

#[test]
fn topics_survive_a_restart_with_their_data_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    cluster
        .create_topic(NewTopic::new("orders", 3).config("retention.ms", "3600000"))
        .unwrap();
    cluster.create_topic(NewTopic::new("audit", 1)).unwrap();
    for p in 0..3 {
        cluster
            .partition("orders", p)
            .unwrap()
            .append(&batch(0, 10, 50, 1))
            .unwrap();
    }
    cluster.close().unwrap();

    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(cluster.list_topics().unwrap(), vec!["audit", "orders"]);
    let description = cluster.describe_topic("orders").unwrap();
    assert_eq!(description.partitions.len(), 3);
    assert_eq!(
        description.configs.get("retention.ms").map(String::as_str),
        Some("3600000")
    );
    for p in description.partitions {
        assert_eq!((p.log_start_offset, p.log_end_offset), (0, 10));
    }
    let records = read_all(&cluster.partition("orders", 2).unwrap());
    assert_eq!(records.len(), 10);
    assert_eq!(records[9].1, b"k9");
}

#[test]
fn invalid_topics_and_partition_counts_are_rejected() {
    let cluster = Cluster::temporary().unwrap();
    for name in [
        "",
        ".",
        "..",
        "has space",
        "slash/y",
        &"x".repeat(250),
        "__consumer_offsets",
    ] {
        let err = cluster.create_topic(NewTopic::new(name, 1)).unwrap_err();
        assert!(matches!(err, Error::InvalidTopic(_)), "{name:?}: {err}");
    }
    for count in [0, -3, 10_001] {
        let err = cluster.create_topic(NewTopic::new("t", count)).unwrap_err();
        assert!(matches!(err, Error::InvalidPartitions(_)), "{count}: {err}");
    }
    let err = cluster
        .create_topic(NewTopic::new("t", 1).replication_factor(3))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidReplicationFactor(_)));
    cluster.create_topic(NewTopic::new("a.b", 1)).unwrap();
    let err = cluster.create_topic(NewTopic::new("a_b", 1)).unwrap_err();
    assert!(
        matches!(err, Error::InvalidTopic(ref m) if m.contains("collides")),
        "{err}"
    );
    let err = cluster.create_topic(NewTopic::new("a.b", 1)).unwrap_err();
    assert!(matches!(err, Error::TopicAlreadyExists(ref t) if t == "a.b"));
    assert!(cluster.list_topics().unwrap() == vec!["a.b"]);
}

#[test]
fn bad_configs_name_the_key_and_change_nothing() {
    let cluster = Cluster::temporary().unwrap();
    let err = cluster
        .create_topic(NewTopic::new("t", 1).config("retention.mss", "1"))
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { ref key, ref suggestion, .. }
        if key == "retention.mss" && suggestion.as_deref() == Some("retention.ms"))
    );
    let err = cluster
        .create_topic(NewTopic::new("t", 1).config("segment.bytes", "lots"))
        .unwrap_err();
    assert!(err.to_string().contains("segment.bytes"), "{err}");
    assert!(cluster.list_topics().unwrap().is_empty());

    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let err = cluster
        .alter_topic_config("t", &[("retention.ms", "5"), ("flush.ms", "x")], &[])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { ref key, .. } if key == "flush.ms"));
    assert!(
        cluster.describe_topic("t").unwrap().configs.is_empty(),
        "nothing applied"
    );
    cluster
        .alter_topic_config("t", &[("retention.ms", "5")], &[])
        .unwrap();
    assert_eq!(cluster.topic_config("t").unwrap().retention_ms, 5);
    cluster
        .alter_topic_config("t", &[], &["retention.ms"])
        .unwrap();
    assert_eq!(cluster.topic_config("t").unwrap().retention_ms, 604_800_000);
}

#[test]
fn oversized_batches_are_rejected_before_writing() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("max.message.bytes", "1000")
                .config("segment.bytes", "5000"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let err = log.append(&batch(0, 1, 2000, 1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::RecordTooLarge {
                max: 1000,
                limit: SizeLimit::MaxMessageBytes,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("raise max.message.bytes in the topic's config"),
        "{err}"
    );
    let mut many = Vec::new();
    for i in 0..8 {
        many.extend(batch(i * 10, 10, 60, 1));
    }
    let err = log.append(&many).unwrap_err();
    assert!(
        matches!(err, Error::RecordBatchTooLarge { max: 5000, .. }),
        "{err}"
    );
    assert_eq!(log.log_end_offset(), 0);
    let mut corrupt = batch(0, 2, 10, 1);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert!(matches!(log.append(&corrupt), Err(Error::CorruptRecord(_))));
    assert!(matches!(log.append(&[]), Err(Error::CorruptRecord(_))));
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn appends_validate_every_record_as_kafka_does() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let good = batch(0, 3, 10, 1);
    let spans = common::record_spans(&good);

    // A record whose key length runs past its end, under a matching CRC.
    let mut bad_field = good.clone();
    bad_field[spans[1].start + 4] = 0x7e; // key length 63
    common::reseal(&mut bad_field);
    let err = log.append(&bad_field).unwrap_err();
    assert!(matches!(err, Error::CorruptRecord(_)), "{err}");

    // Offset deltas 0, 0, 2: the count and last delta agree, the records do not.
    let mut bad_delta = good.clone();
    assert_eq!(
        bad_delta[spans[1].start + 3],
        2,
        "record 1's offset delta (zig-zag 1)"
    );
    bad_delta[spans[1].start + 3] = 0;
    common::reseal(&mut bad_delta);
    let err = log.append(&bad_delta).unwrap_err();
    assert!(err.to_string().contains("offset delta 0"), "{err}");

    assert_eq!(log.log_end_offset(), 0, "nothing of a refused append lands");
    log.append(&good).unwrap();
    assert_eq!(read_all(&log).len(), 3);
}

#[test]
fn a_second_open_is_locked_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let first = Cluster::open(dir.path()).unwrap();
    let err = Cluster::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    let clone = first.clone();
    first.close().unwrap();
    assert!(matches!(clone.list_topics(), Err(Error::Closed)));
    let again = Cluster::open(dir.path()).unwrap();
    drop(again);
    drop(clone);
    Cluster::open(dir.path()).unwrap();
}

#[test]
fn a_second_open_from_another_process_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _cluster = Cluster::open(dir.path()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kafkalite"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "topics",
            "--list",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("locked"));
}

#[test]
fn temporary_clusters_remove_their_directory() {
    let cluster = Cluster::temporary().unwrap();
    let dir = cluster.dir().to_path_buf();
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    assert!(dir.join("t-1").is_dir());
    drop(cluster);
    assert!(!dir.exists());
}

#[test]
fn partitions_only_grow() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    let err = cluster.create_partitions("t", 2).unwrap_err();
    assert!(matches!(err, Error::InvalidPartitions(ref m) if m.contains("already has 2")));
    let err = cluster.create_partitions("t", 1).unwrap_err();
    assert!(matches!(err, Error::InvalidPartitions(ref m) if m.contains("not be an increase")));
    cluster.create_partitions("t", 5).unwrap();
    cluster
        .partition("t", 4)
        .unwrap()
        .append(&batch(0, 1, 1, 1))
        .unwrap();
    assert!(matches!(
        cluster.partition("t", 5),
        Err(Error::UnknownTopicOrPartition(_))
    ));
    assert!(matches!(
        cluster.partition("t", -1),
        Err(Error::UnknownTopicOrPartition(_))
    ));
    assert!(matches!(
        cluster.create_partitions("nope", 3),
        Err(Error::UnknownTopicOrPartition(_))
    ));
}

#[test]
fn deleted_topics_are_gone_after_restart_and_can_be_recreated_empty() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    cluster
        .partition("t", 0)
        .unwrap()
        .append(&batch(0, 5, 10, 1))
        .unwrap();
    cluster.delete_topic("t").unwrap();
    assert!(matches!(
        cluster.delete_topic("t"),
        Err(Error::UnknownTopicOrPartition(_))
    ));
    assert!(!dir.path().join("t-0").exists());
    cluster.close().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    assert!(cluster.list_topics().unwrap().is_empty());
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    assert_eq!(cluster.partition("t", 0).unwrap().log_end_offset(), 0);
}

#[test]
fn reads_respect_bounds_and_byte_limits() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..10 {
        log.append(&batch(i * 10, 10, 100, 1)).unwrap();
    }
    let one = log.read(35, 1).unwrap();
    let batches: Vec<_> = one.batches().map(Result::unwrap).collect();
    assert_eq!(
        batches.len(),
        1,
        "at least one whole batch even when over the limit"
    );
    assert_eq!(
        (batches[0].base_offset(), batches[0].last_offset()),
        (30, 39)
    );
    let all = log.read(0, 1 << 20).unwrap();
    assert_eq!(all.batches().count(), 10);
    assert!(log.read(100, 100).unwrap().is_empty());
    assert!(matches!(
        log.read(101, 100),
        Err(Error::OffsetOutOfRange { log_end: 100, .. })
    ));
    assert!(matches!(
        log.read(-1, 100),
        Err(Error::OffsetOutOfRange { .. })
    ));
}

#[test]
fn list_offsets_by_time() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("index.interval.bytes", "100"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..20 {
        log.append(&batch(i * 5, 5, 30, 1000 + i as i64 * 10))
            .unwrap();
    }
    assert_eq!(
        cluster.list_offset("t", 0, OffsetSpec::Earliest).unwrap(),
        Some(0)
    );
    assert_eq!(
        cluster.list_offset("t", 0, OffsetSpec::Latest).unwrap(),
        Some(100)
    );
    let cases = [
        (0, Some(0)),
        (1055, Some(30)),
        (1060, Some(30)),
        (1190, Some(95)),
        (1191, None),
    ];
    for (timestamp, expected) in cases {
        let found = cluster
            .list_offset("t", 0, OffsetSpec::ForTimestamp(timestamp))
            .unwrap();
        assert_eq!(found, expected, "timestamp {timestamp}");
    }
}

#[test]
fn retention_by_time_deletes_old_segments_under_a_mock_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = MockClock::new(1_000_000);
    let cluster = mock_cluster(dir.path(), &clock);
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("segment.bytes", "2000")
                .config("retention.ms", "10000"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..10 {
        log.append(&batch(i * 5, 5, 100, clock.now_ms() + i as i64 * 1000))
            .unwrap();
    }
    let segments = log.segments().len();
    assert!(segments >= 4, "{segments} segments");
    let held = log.read(0, 100).unwrap();
    // The first segment's newest record is at +2s: 10.5 s later it is past retention.ms, the
    // second (newest at +5s) is not.
    clock.advance_ms(12_500);
    cluster.run_maintenance().unwrap();
    let remaining = log.segments();
    assert!(
        remaining.len() < segments && remaining.len() > 1,
        "{remaining:?}"
    );
    assert_eq!(log.log_start_offset(), remaining[0].base_offset);
    assert!(matches!(
        log.read(0, 100),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        held.batches().next().unwrap().unwrap().base_offset(),
        0,
        "a reader keeps its bytes"
    );
    // Every record expired: as Kafka (`UnifiedLog.deleteSegments`), the active segment goes
    // too, after an empty one is rolled at the end offset.
    clock.advance_ms(1_000_000);
    cluster.run_maintenance().unwrap();
    let remaining = log.segments();
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    assert_eq!((remaining[0].base_offset, remaining[0].size_bytes), (50, 0));
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (50, 50));
    assert!(matches!(
        log.read(49, 100),
        Err(Error::OffsetOutOfRange { .. })
    ));
    // An empty last segment is never deleted: nothing changes on the next pass.
    clock.advance_ms(1_000_000);
    cluster.run_maintenance().unwrap();
    assert_eq!(log.segments(), remaining);
    // Writes go on at the end offset, and the start survives a restart.
    let appended = log.append(&batch(0, 5, 100, clock.now_ms())).unwrap();
    assert_eq!(appended.first_offset, 50);
    cluster.close().unwrap();
    let cluster = mock_cluster(dir.path(), &clock);
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (50, 55));
}

#[test]
fn retention_by_bytes_keeps_the_newest_segments() {
    let clock = MockClock::new(0);
    let cluster = temporary_on(&clock);
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("segment.bytes", "1000")
                .config("retention.bytes", "2500")
                .config("retention.ms", "-1"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..30 {
        log.append(&batch(i, 1, 200, 0)).unwrap();
    }
    // Kafka's rule: delete the oldest segment while what stays still holds retention.bytes.
    let before = log.segments();
    let mut size = log.size_bytes();
    let mut doomed = 0;
    while doomed < before.len() - 1 && size - before[doomed].size_bytes >= 2500 {
        size -= before[doomed].size_bytes;
        doomed += 1;
    }
    assert!(doomed > 0 && doomed < before.len() - 1, "{before:?}");
    assert_eq!(cluster.apply_retention().unwrap(), doomed);
    assert_eq!(
        log.segments(),
        before[doomed..],
        "exactly the oldest segments beyond retention.bytes go"
    );
    assert!(log.size_bytes() >= 2500, "no more than needed went");
    assert!(
        log.size_bytes() - log.segments()[0].size_bytes < 2500,
        "no fewer than needed went"
    );
    let records = read_all(&log);
    assert_eq!(records.last().unwrap().0, 29);
    assert_eq!(records[0].0, log.log_start_offset());
}

#[test]
fn delete_records_advances_the_start_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("segment.bytes", "1000"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let now = cluster.clock().now_ms();
    for i in 0..20 {
        log.append(&batch(i, 1, 100, now)).unwrap();
    }
    assert_eq!(cluster.delete_records("t", 0, 12).unwrap(), 12);
    assert!(matches!(
        cluster.delete_records("t", 0, 21),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert!(log.segments()[0].base_offset <= 12);
    assert_eq!(read_all(&log)[0].0, 12);
    drop(log);
    drop(cluster);
    let cluster = Cluster::open(dir.path()).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.log_start_offset(), 12);
    assert_eq!(read_all(&log).len(), 8);
}

#[test]
fn segment_ms_rolls_by_record_time() {
    let clock = MockClock::new(0);
    let cluster = temporary_on(&clock);
    cluster
        .create_topic(NewTopic::new("t", 1).config("segment.ms", "1000"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    log.append(&batch(0, 1, 10, 5_000)).unwrap();
    log.append(&batch(1, 1, 10, 5_900)).unwrap();
    assert_eq!(log.segments().len(), 1);
    log.append(&batch(2, 1, 10, 6_001)).unwrap();
    assert_eq!(
        log.segments()
            .iter()
            .map(|s| s.base_offset)
            .collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn log_append_time_stamps_the_clock() {
    let clock = MockClock::new(777_000);
    let cluster = temporary_on(&clock);
    cluster
        .create_topic(NewTopic::new("t", 1).config("message.timestamp.type", "LogAppendTime"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let info = log.append(&batch(0, 3, 10, 5)).unwrap();
    assert_eq!(info.log_append_time, Some(777_000));
    let data = log.read(0, 1000).unwrap();
    let batch = data.batches().next().unwrap().unwrap();
    assert!(batch.is_valid(), "CRC recomputed");
    assert_eq!(batch.max_timestamp(), 777_000);
    let records = batch.records().unwrap();
    assert!(records.iter().all(|r| r.unwrap().timestamp == 777_000));
}

#[test]
fn durability_modes_move_the_durable_offset() {
    let clock = MockClock::new(0);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("cache", 1)).unwrap();
    cluster
        .create_topic(NewTopic::new("every", 1).config("flush.messages", "1"))
        .unwrap();
    cluster
        .create_topic(NewTopic::new("count", 1).config("flush.messages", "10"))
        .unwrap();
    cluster
        .create_topic(NewTopic::new("timed", 1).config("flush.ms", "500"))
        .unwrap();
    let log = |t| cluster.partition(t, 0).unwrap();

    log("cache").append(&batch(0, 5, 10, 1)).unwrap();
    assert_eq!(log("cache").durable_offset(), 0, "page cache: not synced");
    assert_eq!(log("cache").high_watermark(), 5);

    log("every").append(&batch(0, 5, 10, 1)).unwrap();
    assert_eq!(log("every").durable_offset(), 5, "synced before returning");
    assert_eq!(log("every").high_watermark(), 5);

    log("count").append(&batch(0, 6, 10, 1)).unwrap();
    assert_eq!(log("count").durable_offset(), 0);
    log("count").append(&batch(6, 6, 10, 1)).unwrap();
    assert_eq!(log("count").durable_offset(), 12, "flush.messages reached");

    log("timed").append(&batch(0, 3, 10, 1)).unwrap();
    cluster.run_maintenance().unwrap();
    assert_eq!(log("timed").durable_offset(), 0);
    clock.advance_ms(500);
    cluster.run_maintenance().unwrap();
    assert_eq!(log("timed").durable_offset(), 3, "flush.ms passed");
}

#[test]
fn the_background_thread_runs_when_a_mock_clock_jumps() {
    // On a mock clock the thread has no real-time timer: only the jump can start the sync.
    let clock = MockClock::new(0);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .temporary()
        .unwrap();
    cluster
        .create_topic(NewTopic::new("timed", 1).config("flush.ms", "500"))
        .unwrap();
    let log = cluster.partition("timed", 0).unwrap();
    log.append(&batch(0, 3, 10, 1)).unwrap();
    assert_eq!(log.durable_offset(), 0);
    clock.advance_ms(500);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while log.durable_offset() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the jump did not wake the background thread"
        );
        std::thread::yield_now();
    }
}

#[test]
fn group_commit_covers_concurrent_appenders() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let info = log.append(&batch(t * 100 + i, 1, 10, 1)).unwrap();
                    assert!(
                        log.durable_offset() > info.last_offset,
                        "acknowledged only once durable"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(log.durable_offset(), 100);
    assert_eq!(read_all(&log).len(), 100);
}

#[test]
fn readers_run_while_a_writer_appends() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("segment.bytes", "20000"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for i in 0..300 {
                log.append(&batch(i * 3, 3, 60, 1)).unwrap();
            }
        })
    };
    let mut seen = 0;
    while seen < 900 {
        if seen < log.high_watermark() {
            let data = log.read(seen, 4096).unwrap();
            for batch in data.batches() {
                let batch = batch.unwrap();
                assert_eq!(batch.base_offset(), seen, "contiguous, in order");
                let records = batch.records().unwrap();
                for record in records.iter() {
                    let record = record.unwrap();
                    assert_eq!(
                        record.key.unwrap(),
                        format!("k{}", record.offset).as_bytes()
                    );
                }
                seen = batch.next_offset();
            }
        } else {
            std::thread::yield_now();
        }
    }
    writer.join().unwrap();
}

#[test]
fn closed_clusters_refuse_work() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    cluster.close().unwrap();
    assert!(matches!(log.append(&batch(0, 1, 1, 1)), Err(Error::Closed)));
    assert!(matches!(
        cluster.create_topic(NewTopic::new("u", 1)),
        Err(Error::Closed)
    ));
    assert!(matches!(cluster.partition("t", 0), Err(Error::Closed)));
}

#[test]
fn a_full_index_rolls_the_segment() {
    let cluster = Cluster::temporary().unwrap();
    // 24 bytes hold 3 offset entries (2 time entries); every batch after the first gets one.
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("segment.index.bytes", "24")
                .config("index.interval.bytes", "0"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..12 {
        log.append(&batch(i, 1, 10, 1000 + i as i64)).unwrap();
    }
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    assert_eq!(
        bases,
        vec![0, 3, 6, 9],
        "rolled when the time index held 2 entries"
    );
    assert_eq!(read_all(&log).len(), 12);
    let found = cluster
        .list_offset("t", 0, OffsetSpec::ForTimestamp(1007))
        .unwrap();
    assert_eq!(found, Some(7));
}

#[test]
fn readers_racing_retention_see_data_or_out_of_range_never_corruption() {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("segment.bytes", "2000")
                .config("retention.bytes", "4000")
                .config("retention.ms", "-1"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    log.append(&batch(0, 2, 50, 1)).unwrap();
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for i in 1..1500 {
                log.append(&batch(i * 2, 2, 50, 1)).unwrap();
                if i % 5 == 0 {
                    log.apply_retention().unwrap();
                }
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let offset = log.log_start_offset();
        match log.read(offset, 500) {
            Ok(data) => {
                for batch in data.batches() {
                    let batch = batch.unwrap();
                    assert!(batch.last_offset() >= offset);
                }
                reads += 1;
            }
            Err(Error::OffsetOutOfRange { .. }) => {}
            Err(other) => panic!("reading at the log start {offset}: {other}"),
        }
    }
    writer.join().unwrap();
    assert!(log.log_start_offset() > 0, "retention ran");
}

#[test]
fn concurrent_retention_passes_never_delete_too_much() {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("t", 1)
                .config("segment.bytes", "1000")
                .config("retention.bytes", "3000")
                .config("retention.ms", "-1"),
        )
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let mut next = 0;
    while log.size_bytes() < 3000 {
        log.append(&batch(next, 1, 100, 1)).unwrap();
        next += 1;
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cleaners: Vec<_> = (0..2)
        .map(|_| {
            let (log, done) = (Arc::clone(&log), Arc::clone(&done));
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    log.apply_retention().unwrap();
                    assert!(
                        log.size_bytes() >= 3000,
                        "retention deleted more than allowed"
                    );
                }
            })
        })
        .collect();
    for i in next..next + 2000 {
        log.append(&batch(i, 1, 100, 1)).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for cleaner in cleaners {
        cleaner.join().unwrap();
    }
    let records = read_all(&log);
    assert_eq!(records.first().unwrap().0, log.log_start_offset());
    assert_eq!(records.last().unwrap().0, (next + 1999) as i64);
}

/// Directory names in `dir` that start with `prefix`, sorted.
fn entries_starting(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// A repair that cuts a topic's creation off the metadata log rebuilds the topic from its
/// partition directories (`partition.metadata` holds its id; the names, its partitions),
/// with its records, and reports that its config overrides were lost. Directories without
/// `partition.metadata` (not kafkalite's, even when named like partitions and holding
/// segment-like files) stay byte for byte, are reported, and block a topic that would need
/// their name.
#[test]
fn a_repair_rebuilds_topics_the_metadata_log_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = Cluster::open(d).unwrap();
    cluster.create_topic(NewTopic::new("a", 1)).unwrap();
    cluster
        .create_topic(NewTopic::new("b", 2).config("retention.ms", "86400000"))
        .unwrap();
    let b_id = cluster.describe_topic("b").unwrap().id;
    for topic in ["a", "b"] {
        let log = cluster.partition(topic, 0).unwrap();
        log.append(&batch(0, 5, 10, 1)).unwrap();
    }
    cluster.close().unwrap();
    drop(cluster);

    // Damage the metadata log's last batch (b's creation) under its CRC.
    let metadata = d.join("__cluster_metadata-0/00000000000000000000.log");
    let mut bytes = std::fs::read(&metadata).unwrap();
    let (at, last) = BatchIter::new(&bytes).map_while(Result::ok).last().unwrap();
    let end = at + last.size();
    bytes[end - 3] ^= 0x01;
    std::fs::write(&metadata, bytes).unwrap();
    // Not kafkalite's: no partition.metadata.
    for (partition, len) in [(0, 0), (1, 4096)] {
        std::fs::create_dir(d.join(format!("c-{partition}"))).unwrap();
        let segment = d.join(format!("c-{partition}/00000000000000000000.log"));
        std::fs::write(segment, vec![0u8; len]).unwrap();
    }
    std::fs::create_dir(d.join("notes-1.txt")).unwrap();
    std::fs::create_dir(d.join("notes-01")).unwrap();

    assert!(matches!(Cluster::open(d), Err(Error::Corruption { .. })));
    let cluster = Cluster::builder()
        .recovery_mode(kafkalite::RecoveryMode::TruncateCorrupt)
        .open(d)
        .unwrap();
    assert_eq!(cluster.list_topics().unwrap(), ["a", "b"]);
    let b = cluster.describe_topic("b").unwrap();
    assert_eq!((b.id.as_str(), b.partitions.len()), (b_id.as_str(), 2));
    assert!(
        b.configs.is_empty(),
        "the overrides were in the lost record"
    );
    assert_eq!(read_all(&cluster.partition("a", 0).unwrap()).len(), 5);
    assert_eq!(read_all(&cluster.partition("b", 0).unwrap()).len(), 5);
    let report = cluster.recovery_report().clone();
    assert_eq!(report.rebuilt.len(), 1, "{report}");
    assert!(report.rebuilt[0].contains("config overrides could not be recovered"));
    assert!(report.set_aside.is_empty(), "{report}");
    assert_eq!(
        entries_starting(d, "c-"),
        ["c-0", "c-1"],
        "directories without partition.metadata are not kafkalite's"
    );
    for (partition, len) in [(0, 0), (1, 4096)] {
        let segment = d.join(format!("c-{partition}/00000000000000000000.log"));
        assert_eq!(std::fs::read(segment).unwrap(), vec![0u8; len]);
        let path = d.join(format!("c-{partition}"));
        assert!(
            report.left_alone.iter().any(|(p, _)| *p == path),
            "{report}"
        );
    }
    assert!(matches!(
        cluster.create_topic(NewTopic::new("c", 2)),
        Err(Error::NotOwned { .. })
    ));
    assert!(d.join("c-0/00000000000000000000.log").is_file());
    assert!(d.join("notes-1.txt").is_dir() && d.join("notes-01").is_dir());
    cluster.close().unwrap();
    drop(cluster);

    let cluster = Cluster::open(d).unwrap();
    assert_eq!(cluster.list_topics().unwrap(), ["a", "b"]);
    assert_eq!(cluster.describe_topic("b").unwrap().id, b_id);
    assert_eq!(read_all(&cluster.partition("b", 0).unwrap()).len(), 5);
    assert!(cluster.recovery_report().rebuilt.is_empty());
}

/// Background work has no caller to fail to: a failed interval sync on the background thread
/// is logged, counted and kept for `Cluster::background_errors`, and leaves the partition
/// failed; a later open shows nothing of it.
#[test]
fn background_failures_are_counted_and_visible() {
    use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage};
    let sim = SimStorage::default();
    let clock = Arc::new(MockClock::new(0));
    let cluster = Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .clock(clock.clone())
        .open(common::SIM_DATA)
        .unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("flush.ms", "1000"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    log.append(&batch(0, 3, 10, 1)).unwrap();
    assert_eq!(cluster.background_errors().count, 0);
    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Sync, 1, SimFailure::Eio)),
    });
    // The jump wakes the background thread, whose interval sync is then due and fails.
    clock.advance_ms(2000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cluster.background_errors().count == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no background error seen"
        );
        std::thread::yield_now();
    }
    let errors = cluster.background_errors();
    assert!(
        matches!(
            &errors.last,
            Some(Error::Failed { .. }) | Some(Error::Io { .. })
        ),
        "{errors:?}"
    );
    assert!(log.is_failed());
    assert!(matches!(
        log.append(&batch(3, 1, 10, 1)),
        Err(Error::Failed { .. })
    ));
}
