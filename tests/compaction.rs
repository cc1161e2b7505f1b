//! Log compaction through the cluster: `__consumer_offsets` stays bounded and replays to the
//! same committed offsets, tombstones live out `delete.retention.ms` from their first
//! cleaning and no longer, the background pass follows `min.cleanable.dirty.ratio` and
//! `log.cleaner.backoff.ms` on the cluster's clock, a partition that cannot be cleaned is
//! reported without stopping the others, and what the cleaner left is read back the same
//! after a reopen.

mod common;

use std::sync::Arc;

use kafkalite::{
    BatchBuilder, Clock, Cluster, CommitMode, ConsumerConfig, Error, MockClock, NewTopic, Offset,
    OffsetAndMetadata, Offsets, TopicPartition,
};

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Appends `(key, value)` records to `topic-0`, one batch each (value `None`: a tombstone).
fn put(cluster: &Cluster, topic: &str, records: &[(&str, Option<&str>)], timestamp: i64) {
    let log = cluster.partition(topic, 0).unwrap();
    for (key, value) in records {
        let mut batch = BatchBuilder::new();
        batch
            .append(
                timestamp,
                Some(key.as_bytes()),
                value.map(str::as_bytes),
                &[],
            )
            .unwrap();
        log.append(&batch.build().unwrap()).unwrap();
    }
}

/// Every record of `topic-0`: (offset, key, value).
fn records(cluster: &Cluster, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    common::records_of(&cluster.partition(topic, 0).unwrap())
        .into_iter()
        .map(|(offset, key, value)| (offset, text(key.unwrap_or_default()), value.map(text)))
        .collect()
}

fn compacted(name: &str) -> NewTopic {
    NewTopic::new(name, 1)
        .config("cleanup.policy", "compact")
        .config("delete.retention.ms", "1000")
}

#[test]
fn consumer_offsets_stay_bounded_and_replay_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let commits = 400;
    let mut last = Offsets::new();
    {
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        cluster.create_topic(NewTopic::new("t", 8)).unwrap();
        let consumer = cluster
            .consumer(ConsumerConfig::with_group("g").enable_auto_commit(false))
            .unwrap();
        let partitions: Vec<_> = (0..8).map(|p| (tp("t", p), Offset::Beginning)).collect();
        consumer.assign(&partitions).unwrap();
        let offsets_log = cluster.partition("__consumer_offsets", 0).unwrap();
        for i in 0..commits {
            for p in 0..8 {
                last.insert(tp("t", p), OffsetAndMetadata::new(i * 8 + i64::from(p)));
            }
            consumer.commit_offsets(&last, CommitMode::Sync).unwrap();
            if i % 50 == 49 {
                offsets_log.roll().unwrap();
            }
        }
        let before = offsets_log.size_bytes();
        let reports = cluster.compact(Some("__consumer_offsets")).unwrap();
        assert!(!reports.is_empty(), "something was cleaned");
        for report in &reports {
            let stats = report.outcome.as_ref().unwrap();
            assert_eq!(report.partition, "__consumer_offsets-0");
            assert!(stats.records_removed > 0, "{stats:?}");
        }
        let after = offsets_log.size_bytes();
        // What is left: one record per partition in the cleaned part (and the empty batches
        // that stand for removed ones, 61 bytes a run), plus the active segment.
        assert!(after * 10 < before, "{before} bytes became {after}");
        let status = cluster.cleaner_status().unwrap();
        let offsets = status
            .iter()
            .find(|s| s.partition == "__consumer_offsets-0")
            .unwrap();
        assert_eq!(offsets.first_dirty_offset, offsets.first_uncleanable_offset);
        assert_eq!(offsets.uncleanable, None);
        cluster.close().unwrap();
    }
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    let consumer = cluster.consumer(ConsumerConfig::with_group("g")).unwrap();
    for (partition, offset) in &last {
        let committed = consumer.committed(std::slice::from_ref(partition)).unwrap();
        assert_eq!(
            committed.get(partition),
            Some(&Some(offset.clone())),
            "{partition}"
        );
    }
}

#[test]
fn a_tombstone_outlives_its_first_cleaning_by_delete_retention_ms() {
    let clock = MockClock::new(1_000_000);
    let cluster = common::temporary_on(&clock);
    cluster.create_topic(compacted("c")).unwrap();
    let now = clock.now_ms();
    put(
        &cluster,
        "c",
        &[("a", Some("1")), ("b", Some("2")), ("a", None)],
        now,
    );
    cluster.partition("c", 0).unwrap().roll().unwrap();
    cluster.compact(Some("c")).unwrap();
    // The tombstone is the latest of `a`: kept, and its batch now carries a horizon.
    assert_eq!(
        records(&cluster, "c"),
        [(1, "b".into(), Some("2".into())), (2, "a".into(), None)]
    );
    put(&cluster, "c", &[("b", Some("3"))], now);
    cluster.partition("c", 0).unwrap().roll().unwrap();
    clock.advance_ms(999);
    cluster.compact(Some("c")).unwrap();
    assert_eq!(
        records(&cluster, "c"),
        [(2, "a".into(), None), (3, "b".into(), Some("3".into()))],
        "one millisecond before the horizon the tombstone stays"
    );
    put(&cluster, "c", &[("c", Some("4"))], now);
    cluster.partition("c", 0).unwrap().roll().unwrap();
    clock.advance_ms(1);
    cluster.compact(Some("c")).unwrap();
    assert_eq!(
        records(&cluster, "c"),
        [
            (3, "b".into(), Some("3".into())),
            (4, "c".into(), Some("4".into()))
        ]
    );
    let log = cluster.partition("c", 0).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 5));
}

#[test]
fn the_background_pass_follows_the_dirty_ratio_and_the_backoff() {
    let clock = MockClock::new(1_000_000);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .log_cleaner_backoff_ms(15_000)
        .temporary()
        .unwrap();
    cluster.create_topic(compacted("c")).unwrap();
    let now = clock.now_ms();
    let log = cluster.partition("c", 0).unwrap();
    put(&cluster, "c", &[("a", Some("1")), ("a", Some("2"))], now);
    log.roll().unwrap();
    cluster.run_maintenance().unwrap();
    assert_eq!(
        records(&cluster, "c").len(),
        1,
        "all dirty (ratio 1): cleaned"
    );
    // Kafka's ratio: dirty bytes over clean and dirty. One dirty segment of `d` bytes
    // against the clean one of `c`, then two: a threshold between the two ratios.
    put(&cluster, "c", &[("a", Some("3"))], now);
    log.roll().unwrap();
    let sizes: Vec<f64> = log.segments().iter().map(|s| s.size_bytes as f64).collect();
    let (c, d) = (sizes[0], sizes[1]);
    let (one, two) = (d / (c + d), 2.0 * d / (c + 2.0 * d));
    let threshold = (one + two) / 2.0;
    cluster
        .alter_topic_config(
            "c",
            &[("min.cleanable.dirty.ratio", &threshold.to_string())],
            &[],
        )
        .unwrap();
    clock.advance_ms(15_000);
    cluster.run_maintenance().unwrap();
    let status = cluster.cleaner_status().unwrap();
    assert!(!status[0].eligible, "{status:?}");
    assert!((status[0].dirty_ratio - one).abs() < 1e-9, "{status:?}");
    assert_eq!(
        records(&cluster, "c").len(),
        2,
        "below the ratio: not cleaned"
    );
    put(&cluster, "c", &[("a", Some("4"))], now);
    log.roll().unwrap();
    assert_eq!(
        log.segments()[2].size_bytes as f64,
        d,
        "records of the same size"
    );
    assert!(cluster.cleaner_status().unwrap()[0].eligible);
    // Eligible, but the cleaner backs off 15 s after a pass.
    clock.advance_ms(14_999);
    cluster.run_maintenance().unwrap();
    assert_eq!(records(&cluster, "c").len(), 3, "backing off");
    clock.advance_ms(1);
    cluster.run_maintenance().unwrap();
    assert_eq!(records(&cluster, "c"), [(3, "a".into(), Some("4".into()))]);
}

#[test]
fn a_partition_that_cannot_be_cleaned_is_reported_and_the_others_go_on() {
    let cluster = Cluster::builder()
        .background(false)
        .log_cleaner_dedupe_buffer_size(10)
        .temporary()
        .unwrap();
    cluster.create_topic(compacted("c")).unwrap();
    put(&cluster, "c", &[("a", Some("1")), ("a", Some("2"))], 0);
    cluster.partition("c", 0).unwrap().roll().unwrap();
    let reports = cluster.compact(Some("c")).unwrap();
    assert_eq!(reports.len(), 1);
    match &reports[0].outcome {
        Err(Error::InvalidConfig { key, .. }) => assert_eq!(key, "log.cleaner.dedupe.buffer.size"),
        other => panic!("{other:?}"),
    }
    let status = cluster.cleaner_status().unwrap();
    assert!(status[0]
        .uncleanable
        .as_deref()
        .unwrap()
        .contains("dedupe.buffer.size"));
    assert!(
        cluster.compact(Some("c")).unwrap().is_empty(),
        "skipped from then on"
    );
    assert_eq!(records(&cluster, "c").len(), 2, "nothing lost");
    // A topic created again under the name starts with a clean slate.
    cluster.delete_topic("c").unwrap();
    cluster.create_topic(compacted("c")).unwrap();
    assert_eq!(cluster.cleaner_status().unwrap()[0].uncleanable, None);
}

#[test]
fn a_cleaned_topic_reads_the_same_after_a_reopen_and_cleans_on_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let cluster = Cluster::builder()
            .background(false)
            .open(dir.path())
            .unwrap();
        cluster.create_topic(compacted("c")).unwrap();
        put(
            &cluster,
            "c",
            &[("a", Some("1")), ("b", Some("2")), ("a", Some("3"))],
            5,
        );
        cluster.partition("c", 0).unwrap().roll().unwrap();
        let reports = cluster.compact(None).unwrap();
        assert_eq!(reports[0].outcome.as_ref().unwrap().end_offset, 3);
        let expected = records(&cluster, "c");
        assert_eq!(
            expected,
            [
                (1, "b".into(), Some("2".into())),
                (2, "a".into(), Some("3".into()))
            ]
        );
        cluster.close().unwrap();
        expected
    };
    let checkpoint = std::fs::read_to_string(dir.path().join("cleaner-offset-checkpoint")).unwrap();
    assert!(checkpoint.starts_with("0\n1\nc 0 3\n"), "{checkpoint}");
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    assert_eq!(records(&cluster, "c"), expected);
    assert_eq!(cluster.cleaner_status().unwrap()[0].first_dirty_offset, 3);
    put(&cluster, "c", &[("b", Some("4"))], 5);
    cluster.partition("c", 0).unwrap().roll().unwrap();
    let reports = cluster.compact(Some("c")).unwrap();
    assert_eq!(reports[0].outcome.as_ref().unwrap().first_dirty_offset, 3);
    assert_eq!(
        records(&cluster, "c"),
        [
            (2, "a".into(), Some("3".into())),
            (3, "b".into(), Some("4".into()))
        ]
    );
}

#[test]
fn a_consumer_over_a_compacted_log_skips_the_removed_offsets() {
    let clock = MockClock::new(1_000_000);
    let cluster = common::temporary_on(&clock);
    cluster.create_topic(compacted("c")).unwrap();
    // Offsets 0-3 superseded by 4-6 (timestamps 10, 20, ... 70), then cleaned.
    let log = cluster.partition("c", 0).unwrap();
    for (n, key) in ["a", "b", "a", "b", "a", "b", "c"].iter().enumerate() {
        put(
            &cluster,
            "c",
            &[(key, Some(&n.to_string()))],
            10 * (n as i64 + 1),
        );
    }
    log.roll().unwrap();
    cluster.compact(None).unwrap();
    assert_eq!(
        records(&cluster, "c")
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [4, 5, 6]
    );
    let consumer = cluster
        .consumer(ConsumerConfig::new().max_poll_records(1))
        .unwrap();
    let c0 = tp("c", 0);
    for (start, first) in [
        (Offset::Beginning, 4),
        (Offset::At(2), 4),
        (Offset::At(5), 5),
    ] {
        consumer.assign(&[(c0.clone(), start)]).unwrap();
        let polled = consumer.poll(std::time::Duration::ZERO).unwrap();
        let offsets: Vec<i64> = polled.iter().map(|r| r.offset()).collect();
        assert_eq!(offsets, [first], "from {start:?}");
        assert_eq!(consumer.position(&c0).unwrap(), first + 1);
    }
    // Time lookups land on the first remaining record at or after the time.
    let found = consumer.offsets_for_times(&[(c0.clone(), 15)]).unwrap();
    let found = found[&c0].unwrap();
    assert_eq!((found.offset, found.timestamp), (4, 50));
    // A reader holding the bytes from before a cleaning keeps them whole.
    put(&cluster, "c", &[("a", Some("7"))], 80);
    log.roll().unwrap();
    let held = log.read(4, 1 << 20).unwrap();
    cluster.compact(None).unwrap();
    let kept: Vec<i64> = held
        .batches()
        .flat_map(|b| {
            let b = b.unwrap();
            let records = b.records().unwrap();
            records
                .iter()
                .map(|r| r.unwrap().offset)
                .collect::<Vec<_>>()
        })
        .collect();
    // The held slice is the cleaned segment that the second cleaning replaced.
    assert_eq!(kept, [4, 5, 6]);
    assert_eq!(
        records(&cluster, "c")
            .iter()
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [5, 6, 7]
    );
}

#[test]
fn a_topic_created_again_under_a_cleaned_name_starts_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    for round in 0..2 {
        cluster.create_topic(compacted("c")).unwrap();
        put(&cluster, "c", &[("a", Some("1")), ("a", Some("2"))], 5);
        cluster.partition("c", 0).unwrap().roll().unwrap();
        let reports = cluster.compact(None).unwrap();
        let stats = reports[0].outcome.as_ref().unwrap();
        assert_eq!(
            (stats.first_dirty_offset, stats.records_removed),
            (0, 1),
            "round {round}"
        );
        cluster.delete_topic("c").unwrap();
    }
    let checkpoint = std::fs::read_to_string(dir.path().join("cleaner-offset-checkpoint")).unwrap();
    assert!(checkpoint.starts_with("0\n0\n"), "{checkpoint}");
}

/// A cluster-level cleaning (groups of segments swapped one by one, the cleaner checkpoint
/// written) cut by a power loss at each of its storage operations, resolved every way: the
/// next open reads no record the log did not hold and every record the cleaning keeps, and
/// cleaning again from there ends where an uncut cleaning ends.
#[test]
fn a_cleaning_cut_anywhere_reads_as_before_or_after() {
    use kafkalite::storage::{FaultPlan, PowerLoss};
    let prepared = prepared_for_cleaning();
    let fresh = || prepared.after_power_loss(PowerLoss::KeepAll, 0);
    let before = records(&common::open_sim(&fresh()).unwrap(), "c");
    let whole = fresh();
    whole.set_plan(FaultPlan::default());
    let after = {
        let cluster = common::open_sim(&whole).unwrap();
        // Counted from the cleaning alone.
        whole.set_plan(FaultPlan::default());
        let reports = cluster.compact(None).unwrap();
        assert!(reports[0].outcome.as_ref().unwrap().segments_written >= 2);
        let metadata = reports.last().unwrap();
        assert_eq!(metadata.partition, "__cluster_metadata-0");
        assert_eq!(metadata.outcome.as_ref().unwrap().records_removed, 2);
        records(&cluster, "c")
    };
    let total = whole.operations();
    assert!(after.len() < before.len());
    let mut outcomes = (0, 0);
    for cut in 1..=total {
        let disk = fresh();
        {
            let cluster = common::open_sim(&disk).unwrap();
            disk.set_plan(FaultPlan {
                power_cut_at: Some(cut),
                fail: None,
            });
            let _ = cluster.compact(None);
        }
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            let seed = cut * 8 + i as u64;
            let case = format!("cut at {cut} of {total}, {how:?}, seed {seed}");
            let recovered = disk.after_power_loss(how, seed);
            let cluster = common::open_sim(&recovered).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(cluster.list_topics().unwrap(), ["c"], "{case}");
            let read = records(&cluster, "c");
            // Groups are swapped one at a time, as Kafka's are: a cut between two leaves the
            // first cleaned and the next not, which is a compaction too. So: what is read
            // lies between before and after (every record it has was there before, every
            // record after has is there), and each swap is whole (`log/cleaner/tests.rs`).
            assert!(
                after.iter().all(|r| read.contains(r)) && read.iter().all(|r| before.contains(r)),
                "{case}: not between before and after: {read:?}"
            );
            if read == before {
                outcomes.0 += 1;
            } else if read == after {
                outcomes.1 += 1;
            }
            cluster.compact(None).unwrap();
            assert_eq!(records(&cluster, "c"), after, "{case}: cleaned again");
        }
    }
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
}

#[test]
fn the_cleaner_threads_compact_on_their_own_when_the_clock_moves() {
    let clock = MockClock::new(1_000_000);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .log_cleaner_threads(2)
        .temporary()
        .unwrap();
    let topics = ["t1", "t2", "t3"];
    for topic in topics {
        cluster.create_topic(compacted(topic)).unwrap();
        put(
            &cluster,
            topic,
            &[("a", Some("1")), ("b", Some("2")), ("a", Some("3"))],
            clock.now_ms(),
        );
        cluster.partition(topic, 0).unwrap().roll().unwrap();
    }
    // On a mock clock the threads run when it moves; nothing here cleans.
    clock.advance_ms(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while topics.iter().any(|t| records(&cluster, t).len() != 2) {
        assert!(
            std::time::Instant::now() < deadline,
            "the cleaner threads cleaned nothing within a minute: {:?}",
            cluster.cleaner_status()
        );
        std::thread::yield_now();
    }
    for topic in topics {
        assert_eq!(
            records(&cluster, topic),
            [
                (1, "b".into(), Some("2".into())),
                (2, "a".into(), Some("3".into()))
            ]
        );
    }
    assert_eq!(cluster.background_errors().count, 0);
    // A topic deleted, and the cluster closed, whatever the threads are doing.
    cluster.delete_topic("t1").unwrap();
    cluster.close().unwrap();
}

/// A disk holding topic "c" (compacted, 300-byte segments) with 12 records over three keys
/// in rolled segments, and a deleted topic's records in the metadata log.
fn prepared_for_cleaning() -> kafkalite::storage::SimStorage {
    let prepared = kafkalite::storage::SimStorage::new(std::path::Path::new(common::SIM_ROOT));
    let cluster = common::open_sim(&prepared).unwrap();
    cluster
        .create_topic(compacted("c").config("segment.bytes", "300"))
        .unwrap();
    // Records the metadata log's compaction removes, so that it is cut too.
    cluster.create_topic(NewTopic::new("x", 1)).unwrap();
    cluster.delete_topic("x").unwrap();
    let log = cluster.partition("c", 0).unwrap();
    for n in 0..12 {
        let value = n.to_string();
        put(&cluster, "c", &[(["a", "b", "c"][n % 3], Some(&value))], 5);
        if n % 4 == 3 {
            log.roll().unwrap();
        }
    }
    cluster.close().unwrap();
    prepared
}

/// A storage failure at any operation of a cleaning (each write, allocation, sync, creation,
/// rename and removal, failing as a disk does) loses nothing: the running log reads as
/// before or after (unless the failure failed it), keeps no `.cleaned` file, and after a
/// restart reads as before or after and cleans to the same end.
#[test]
fn a_failure_anywhere_in_a_cleaning_loses_nothing() {
    use kafkalite::storage::{FaultPlan, PowerLoss, SimFailure, SimOp, Storage};
    let prepared = prepared_for_cleaning();
    let fresh = || prepared.after_power_loss(PowerLoss::KeepAll, 0);
    let before = records(&common::open_sim(&fresh()).unwrap(), "c");
    let dry = fresh();
    let after = {
        let cluster = common::open_sim(&dry).unwrap();
        dry.set_plan(FaultPlan::default());
        cluster.compact(Some("c")).unwrap();
        records(&cluster, "c")
    };
    let between = |read: &[(i64, String, Option<String>)]| {
        after.iter().all(|r| read.contains(r)) && read.iter().all(|r| before.contains(r))
    };
    let kinds = [
        (SimOp::Write, SimFailure::NoSpace),
        (SimOp::Allocate, SimFailure::NoSpace),
        (SimOp::SetLen, SimFailure::Eio),
        (SimOp::Sync, SimFailure::Eio),
        (SimOp::SyncDir, SimFailure::Eio),
        (SimOp::Create, SimFailure::NoSpace),
        (SimOp::Rename, SimFailure::Eio),
        (SimOp::Remove, SimFailure::Eio),
    ];
    let dir = std::path::Path::new(common::SIM_DATA).join("c-0");
    let mut cases = 0;
    for (kind, failure) in kinds {
        for n in 1..=dry.operations_of(kind) {
            let case = format!("{kind:?} #{n} fails with {failure:?}");
            let disk = fresh();
            {
                let cluster = common::open_sim(&disk).unwrap();
                disk.set_plan(FaultPlan {
                    power_cut_at: None,
                    fail: Some((kind, n, failure)),
                });
                let _ = cluster.compact(Some("c"));
                disk.set_plan(FaultPlan::default());
                let log = cluster.partition("c", 0).unwrap();
                if !log.is_failed() {
                    let read = records(&cluster, "c");
                    assert!(
                        between(&read),
                        "{case}: not between before and after: {read:?}"
                    );
                    if kind != SimOp::Remove {
                        let left: Vec<String> = disk
                            .list(&dir)
                            .unwrap()
                            .into_iter()
                            .map(|e| e.name)
                            .filter(|n| n.ends_with(".cleaned"))
                            .collect();
                        assert!(left.is_empty(), "{case}: left {left:?}");
                    }
                }
                let _ = cluster.close();
            }
            let cluster = common::open_sim(&disk).unwrap_or_else(|e| panic!("{case}: {e}"));
            let read = records(&cluster, "c");
            assert!(between(&read), "{case}: reopened, not between: {read:?}");
            cluster.compact(Some("c")).unwrap();
            assert_eq!(records(&cluster, "c"), after, "{case}: cleaned again");
            cases += 1;
        }
    }
    assert!(cases > 20, "{cases} cases");
}
