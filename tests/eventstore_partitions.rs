//! The event store's partitions are fixed when it first opens its topic (recorded in
//! `eventstore.metadata`): partitions added to the topic afterwards are not the store's, in
//! the process that added them and after a restart, since counting them would move streams.

use std::time::Duration;

use kafkalite::eventstore::{Direction, EventData, EventStoreConfig, StreamPosition};
use kafkalite::{Cluster, Error, ExpectedVersion, ProducerRecord};

fn event(n: u32) -> EventData {
    EventData::new(format!("Deposited{n}"), format!("{{\"amount\":{n}}}"))
}

/// A stream that murmur2 places in partition 1 of 2 (and so moves when a topic of one
/// partition grows to two).
fn moving_stream() -> String {
    (0..)
        .map(|n| format!("account-{n}"))
        .find(|s| kafkalite::partition_for_key(s.as_bytes(), 2) == 1)
        .unwrap()
}

#[test]
fn partitions_added_to_the_topic_are_not_the_stores_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stream = moving_stream();
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", EventStoreConfig::new()).unwrap();
        store
            .append(&stream, ExpectedVersion::NoStream, [event(0)])
            .unwrap();
        cluster.create_partitions("es", 2).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster.event_store("es", EventStoreConfig::new()).unwrap();
    assert_eq!(store.partitions(), 1);
    assert_eq!(store.stream_version(&stream).unwrap(), Some(0));
    let again = store.append(&stream, ExpectedVersion::NoStream, [event(1)]);
    assert!(
        matches!(again, Err(Error::WrongExpectedVersion { .. })),
        "{again:?}"
    );
    let next = store
        .append(&stream, ExpectedVersion::Exact(0), [event(1)])
        .unwrap();
    assert_eq!(next.next_expected_version, 1);
    let read = store
        .read_stream(&stream, StreamPosition::Start, Direction::Forwards, 10)
        .unwrap()
        .into_events();
    assert_eq!(read.iter().map(|e| e.version).collect::<Vec<_>>(), [0, 1]);
    assert!(read.iter().all(|e| e.position.partition == 0));
}

#[test]
fn a_store_made_on_a_topic_of_several_partitions_keeps_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventStoreConfig::new().partitions(3);
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster.event_store("es", config.clone()).unwrap();
        assert_eq!(store.partitions(), 3);
        cluster.create_partitions("es", 5).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(cluster.event_store("es", config).unwrap().partitions(), 3);
}

#[test]
fn a_damaged_partition_count_is_reported_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        cluster.event_store("es", EventStoreConfig::new()).unwrap();
    }
    let file = dir.path().join("es-0").join("eventstore.metadata");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "version: 0\npartitions: 1\n"
    );
    for damaged in [
        "version: 0\npartitions: 2\n",
        "version: 0\npartitions: x\n",
        "version: 1\npartitions: 1\n",
        "",
    ] {
        std::fs::write(&file, damaged).unwrap();
        let cluster = Cluster::open(dir.path()).unwrap();
        let opened = cluster.event_store("es", EventStoreConfig::new());
        assert!(
            matches!(&opened, Err(Error::Corruption { path, .. }) if *path == file),
            "{damaged:?}: {:?}",
            opened.map(|s| s.partitions())
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), damaged);
    }
}

#[test]
fn deleting_the_store_topic_removes_its_partition_count() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    cluster.event_store("es", EventStoreConfig::new()).unwrap();
    assert!(dir.path().join("es-0").join("eventstore.metadata").exists());
    cluster.delete_topic("es").unwrap();
    cluster
        .create_topic(kafkalite::NewTopic::new("es", 2))
        .unwrap();
    assert_eq!(
        cluster
            .event_store("es", EventStoreConfig::new())
            .unwrap()
            .partitions(),
        2
    );
}

/// A group member is assigned every partition of the topic, the added ones too: their
/// records (a plain producer hashes over the topic's count) are not the store's events, and
/// are skipped, while the store's own partitions go on delivering.
#[test]
fn group_members_skip_the_records_of_a_partition_added_to_the_topic() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("grown", EventStoreConfig::new())
        .unwrap();
    store
        .append("s", ExpectedVersion::NoStream, [event(0)])
        .unwrap();
    let member = store.subscribe_group("g").unwrap();
    let short = Duration::from_millis(20);
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered.extend(member.poll(short).unwrap());
        if !delivered.is_empty() {
            break;
        }
    }
    assert_eq!(delivered.len(), 1);
    // Else the rebalance the new partition brings delivers it again (at least once).
    member.commit().unwrap();
    cluster.create_partitions("grown", 2).unwrap();
    let producer = cluster.producer(kafkalite::ProducerConfig::new()).unwrap();
    producer
        .send(ProducerRecord::to("grown").partition(1).key("t").value("x"))
        .unwrap()
        .wait()
        .unwrap();
    store
        .append("s", ExpectedVersion::Exact(0), [event(1)])
        .unwrap();
    let added = kafkalite::TopicPartition::new("grown", 1);
    for _ in 0..500 {
        delivered.extend(member.poll(short).unwrap());
        let past_the_record = member.consumer().position(&added).is_ok_and(|p| p == 1);
        if delivered.len() == 2 && past_the_record {
            break;
        }
    }
    let versions: Vec<(i32, u64)> = delivered
        .iter()
        .map(|e| (e.position.partition, e.version))
        .collect();
    assert_eq!(versions, [(0, 0), (0, 1)]);
    assert_eq!(
        member.consumer().position(&added).unwrap(),
        1,
        "read past it"
    );
}
