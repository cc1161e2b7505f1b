//! The idempotent producer and the producer state of partitions, end to end: producer ids
//! from the cluster (never reused, across restarts and metadata compaction), batches
//! stamped with id, epoch and sequence, Kafka's configuration rules, the epoch bump after a
//! failed batch, duplicates answered with the original offsets across a restart, snapshots
//! (a damaged one skipped for the next older), and expiry on the cluster clock.

mod common;

use std::sync::Arc;

use kafkalite::{
    BatchBuilder, Cluster, Error, ErrorCode, Log, MockClock, NewTopic, ProducerConfig,
    ProducerRecord, TopicConfig,
};

/// `(producer id, epoch, base sequence, records)` of every batch in `log`.
fn producer_fields(log: &Log) -> Vec<(i64, i16, i32, i32)> {
    let data = log.read(log.log_start_offset(), 1 << 30).unwrap();
    data.batches()
        .map(|b| {
            let b = b.unwrap();
            (
                b.producer_id(),
                b.producer_epoch(),
                b.base_sequence(),
                b.records_count(),
            )
        })
        .collect()
}

fn send_all(cluster: &Cluster, config: ProducerConfig, topic: &str, values: &[&[u8]]) {
    let producer = cluster.producer(config).unwrap();
    for value in values {
        producer
            .send(ProducerRecord::to(topic).value(value.to_vec()))
            .unwrap()
            .wait()
            .unwrap();
    }
    producer.close(std::time::Duration::from_secs(30)).unwrap();
}

#[test]
fn the_default_producer_stamps_its_id_epoch_and_sequences() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    send_all(&cluster, ProducerConfig::new(), "t", &[b"a", b"b", b"c"]);
    send_all(&cluster, ProducerConfig::new(), "t", &[b"d"]);
    let fields = producer_fields(&cluster.partition("t", 0).unwrap());
    assert_eq!(fields.len(), 4, "one batch per awaited send: {fields:?}");
    let (first, second) = (fields[0].0, fields[3].0);
    assert!(first >= 0 && second >= 0 && first != second, "{fields:?}");
    let sequences: Vec<(i64, i16, i32)> = fields.iter().map(|f| (f.0, f.1, f.2)).collect();
    assert_eq!(
        sequences,
        [(first, 0, 0), (first, 0, 1), (first, 0, 2), (second, 0, 0)]
    );
    let states = cluster.partition("t", 0).unwrap().producer_states();
    let last: Vec<(i64, i32)> = states
        .iter()
        .map(|s| (s.producer_id, s.last_sequence))
        .collect();
    assert_eq!(last, [(first, 2), (second, 0)]);
}

#[test]
fn kafkas_configuration_rules_decide_idempotence() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    // Not set explicitly: acks=1 turns it off, as Kafka's producer does.
    let implicit = ProducerConfig::new().set("acks", "1").unwrap();
    assert!(!implicit.idempotence_enabled().unwrap());
    send_all(&cluster, implicit, "t", &[b"a"]);
    assert_eq!(
        producer_fields(&cluster.partition("t", 0).unwrap())[0].0,
        -1
    );
    // Set explicitly, each conflict is Kafka's error.
    for (key, value, message) in [
        ("acks", "1", "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence."),
        ("retries", "0", "Must set retries to non-zero when using the idempotent producer."),
        ("max.in.flight.requests.per.connection", "6", "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer."),
    ] {
        let config = ProducerConfig::new()
            .set("enable.idempotence", "true")
            .unwrap()
            .set(key, value)
            .unwrap();
        match cluster.producer(config) {
            Err(Error::InvalidConfig { key: named, message: said, .. }) => {
                assert_eq!((named.as_str(), said.as_str()), (key, message));
            }
            other => panic!("{key}={value}: {other:?}"),
        }
    }
    let transactional = ProducerConfig::new()
        .idempotence(false)
        .set("transactional.id", "tx")
        .unwrap();
    match cluster.producer(transactional) {
        Err(Error::InvalidConfig { key, .. }) => assert_eq!(key, "transactional.id"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn producer_ids_are_never_reused_across_restarts_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        for _ in 0..1_500 {
            seen.push(cluster.allocate_producer_id().unwrap());
        }
    }
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        seen.push(cluster.allocate_producer_id().unwrap());
        // Compacting the metadata log keeps the reservation.
        cluster.create_topic(NewTopic::new("gone", 1)).unwrap();
        cluster.delete_topic("gone").unwrap();
        cluster.compact(None).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    seen.push(cluster.allocate_producer_id().unwrap());
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an id was handed out twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ids only grow");
}

#[test]
fn a_failed_batch_moves_the_producer_to_its_next_epoch() {
    let cluster = Cluster::temporary().unwrap();
    // The log refuses a keyless record on a compacted topic: the batch fails at append.
    cluster
        .create_topic(NewTopic::new("t", 1).config("cleanup.policy", "compact"))
        .unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    let send = |key: Option<&[u8]>| {
        let record = ProducerRecord::to("t").value(b"v".to_vec());
        let record = match key {
            Some(key) => record.key(key.to_vec()),
            None => record,
        };
        producer.send(record).unwrap().wait()
    };
    send(Some(b"a")).unwrap();
    send(Some(b"b")).unwrap();
    let refused = send(None).unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InvalidRecord), "{refused}");
    send(Some(b"c")).unwrap();
    producer.close(std::time::Duration::from_secs(30)).unwrap();
    let fields = producer_fields(&cluster.partition("t", 0).unwrap());
    let id = fields[0].0;
    assert_eq!(fields, [(id, 0, 0, 1), (id, 0, 1, 1), (id, 1, 0, 1)]);
}

fn open_log(dir: &std::path::Path, clean: Option<(i64, u64)>) -> (Log, kafkalite::RecoveryReport) {
    let config = Arc::new(TopicConfig::from_overrides([("segment.bytes", "100000")]).unwrap());
    common::open_log(
        dir,
        &config,
        MockClock::new(1_000),
        clean.map(|c| c.0),
        clean.map(|c| c.1),
    )
}

fn producer_batch(producer_id: i64, sequence: i32, records: i32) -> Vec<u8> {
    let mut builder = BatchBuilder::new().producer(producer_id, 0, sequence);
    for i in 0..records {
        builder
            .append(1_000, Some(format!("k{i}").as_bytes()), Some(b"v"), &[])
            .unwrap();
    }
    builder.build().unwrap()
}

#[test]
fn a_retried_batch_is_written_once_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open_log(dir.path(), None);
    let first = producer_batch(7, 0, 3);
    let second = producer_batch(7, 3, 2);
    assert_eq!(log.append(&first).unwrap().first_offset, 0);
    assert_eq!(log.append(&second).unwrap().first_offset, 3);
    let again = log.append(&first).unwrap();
    assert_eq!(
        (again.first_offset, again.last_offset, again.batches),
        (0, 2, 0)
    );
    log.close().unwrap();
    let size = log.active_segment_size();
    drop(log);
    let (log, report) = open_log(dir.path(), Some((5, size)));
    assert!(report.clean_shutdown);
    assert_eq!(report.producer_snapshot, Some(5));
    assert_eq!(report.producer_batches_replayed, 0);
    // The snapshot keeps each producer's last batch, as Kafka's does.
    let again = log.append(&second).unwrap();
    assert_eq!(
        (again.first_offset, again.last_offset, again.batches),
        (3, 4, 0)
    );
    assert_eq!(log.log_end_offset(), 5);
    // The first batch is older than the window a snapshot keeps: Kafka calls it out of
    // order, never writes it again.
    assert!(matches!(
        log.append(&first),
        Err(Error::OutOfOrderSequence(_))
    ));
    assert_eq!(
        log.append(&producer_batch(7, 5, 1)).unwrap().first_offset,
        5
    );
}

#[test]
fn a_damaged_snapshot_is_removed_and_the_next_older_one_used() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open_log(dir.path(), None);
    log.append(&producer_batch(7, 0, 2)).unwrap();
    log.roll().unwrap(); // snapshot at 2
    log.append(&producer_batch(7, 2, 2)).unwrap();
    log.roll().unwrap(); // snapshot at 4
    log.append(&producer_batch(7, 4, 2)).unwrap();
    drop(log); // a crash: no snapshot at the end
    let newest = dir.path().join("00000000000000000004.snapshot");
    let older = dir.path().join("00000000000000000002.snapshot");
    assert!(older.exists());
    for damage in [Damage::Flip, Damage::Truncate, Damage::Empty] {
        let bytes = std::fs::read(&newest).unwrap_or_else(|_| std::fs::read(&older).unwrap());
        std::fs::write(&newest, damage.apply(bytes)).unwrap();
        let (log, report) = open_log(dir.path(), None);
        assert_eq!(report.damaged_snapshots, 1, "{damage:?}");
        assert_eq!(report.producer_snapshot, Some(2), "{damage:?}");
        assert_eq!(report.producer_batches_replayed, 2, "{damage:?}");
        assert!(!newest.exists(), "{damage:?}: the damaged snapshot stays");
        // The state replayed from the older snapshot still knows the last batches.
        let again = log.append(&producer_batch(7, 2, 2)).unwrap();
        assert_eq!((again.first_offset, again.batches), (2, 0), "{damage:?}");
        assert!(matches!(
            log.append(&producer_batch(7, 9, 1)),
            Err(Error::OutOfOrderSequence(_))
        ));
        drop(log);
    }
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Flip,
    Truncate,
    Empty,
}

impl Damage {
    fn apply(self, mut bytes: Vec<u8>) -> Vec<u8> {
        match self {
            Damage::Flip => {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                bytes
            }
            Damage::Truncate => {
                bytes.truncate(bytes.len() - 3);
                bytes
            }
            Damage::Empty => Vec::new(),
        }
    }
}

#[test]
fn producers_expire_after_producer_id_expiration_ms_on_the_cluster_clock() {
    let clock = MockClock::new(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .producer_id_expiration_ms(60_000)
        .producer_id_expiration_check_interval_ms(0)
        .open(dir.path())
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    let batch = {
        let mut builder = BatchBuilder::new().producer(7, 0, 0);
        builder.append(1_000_000, None, Some(b"v"), &[]).unwrap();
        builder.build().unwrap()
    };
    log.append(&batch).unwrap();
    clock.advance_ms(59_999);
    cluster.run_maintenance().unwrap();
    assert_eq!(log.producer_states().len(), 1, "not yet");
    assert_eq!(log.append(&batch).unwrap().batches, 0, "still a duplicate");
    clock.advance_ms(1);
    cluster.run_maintenance().unwrap();
    assert!(log.producer_states().is_empty(), "expired");
    // Forgotten: as in Kafka, the same batch is now a new one.
    assert_eq!(log.append(&batch).unwrap().first_offset, 1);
}

#[test]
fn a_clean_close_whose_snapshot_is_lost_replays_the_log() {
    for damage in [Damage::Empty, Damage::Flip] {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = open_log(dir.path(), None);
        log.append(&producer_batch(7, 0, 2)).unwrap();
        log.append(&producer_batch(7, 2, 2)).unwrap();
        log.close().unwrap();
        let size = log.active_segment_size();
        drop(log);
        let snapshot = dir.path().join("00000000000000000004.snapshot");
        let bytes = std::fs::read(&snapshot).unwrap();
        std::fs::write(&snapshot, damage.apply(bytes)).unwrap();
        let (log, report) = open_log(dir.path(), Some((4, size)));
        assert_eq!(report.damaged_snapshots, 1, "{damage:?}");
        assert_eq!(
            report.producer_batches_replayed, 2,
            "{damage:?}: a full replay"
        );
        let again = log.append(&producer_batch(7, 2, 2)).unwrap();
        assert_eq!((again.first_offset, again.batches), (2, 0), "{damage:?}");
    }
}

#[test]
fn a_client_may_not_write_markers_nor_producer_batches_without_a_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = open_log(dir.path(), None);
    let mut marker = BatchBuilder::new()
        .producer(7, 0, -1)
        .transactional(true)
        .control(true);
    marker
        .append(1, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), &[])
        .unwrap();
    let refused = log.append(&marker.build().unwrap()).unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidRecord(m) if m.contains("control records")),
        "{refused}"
    );
    let refused = log.append(&producer_batch(7, -1, 1)).unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidRecord(m) if m.contains("Invalid sequence number -1")),
        "{refused}"
    );
    assert_eq!(log.log_end_offset(), 0);
    // The coordinator's way in.
    log.append(&producer_batch(7, 0, 1)).unwrap();
    assert_eq!(
        log.write_transaction_marker(7, 0, 0, true)
            .unwrap()
            .first_offset,
        1
    );
}

#[test]
fn ids_a_partition_knows_are_never_handed_out_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        // A producer id the metadata log never reserved (another cluster's, or one whose
        // reservation a repair cut away).
        let log = cluster.partition("t", 0).unwrap();
        log.append(&producer_batch(5_123, 0, 1)).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    assert!(cluster.allocate_producer_id().unwrap() > 5_123);
}

fn snapshot_offsets(dir: &std::path::Path) -> Vec<i64> {
    let mut offsets: Vec<i64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".snapshot")?.parse().ok()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Snapshots stay bounded by the segments, as Kafka's: those a clean close left inside a
/// segment go at the next open (`removeStraySnapshots`, the newest kept), and those of
/// segments a cleaning merged go with them.
#[test]
fn snapshots_stay_as_many_as_the_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut sequence = 0;
    for _ in 0..3 {
        let (log, _) = open_log(dir.path(), None);
        log.append(&producer_batch(7, sequence, 2)).unwrap();
        sequence += 2;
        log.close().unwrap();
    }
    // Closes at 2 and 4 left snapshots inside the active segment; the open after the last
    // keeps the newest (6) only.
    let (log, _) = open_log(dir.path(), None);
    assert_eq!(snapshot_offsets(dir.path()), [6]);
    drop(log);

    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(
            NewTopic::new("c", 1)
                .config("cleanup.policy", "compact")
                .config("min.cleanable.dirty.ratio", "0.01"),
        )
        .unwrap();
    let log = cluster.partition("c", 0).unwrap();
    for sequence in 0..4 {
        log.append(&producer_batch(9, sequence, 1)).unwrap();
        log.roll().unwrap();
    }
    assert_eq!(snapshot_offsets(log.dir()), [1, 2, 3, 4]);
    cluster.compact(Some("c")).unwrap();
    let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset).collect();
    assert_eq!(bases, [0, 4], "the four sealed segments cleaned into one");
    assert_eq!(
        snapshot_offsets(log.dir()),
        [4],
        "the merged segments' snapshots went"
    );
}
