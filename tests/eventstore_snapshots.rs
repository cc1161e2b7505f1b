//! The event store's snapshots: the latest per stream in a compacted companion topic
//! (`<store>-snapshots`), read back after compaction and a reopen, started over when that
//! topic is deleted, and a user topic of that name refused.

use kafkalite::eventstore::{Direction, EventData, EventStoreConfig, StreamPosition};
use kafkalite::{Cluster, Error, ExpectedVersion};

fn event(n: u32) -> EventData {
    EventData::new(format!("Deposited{n}"), format!("{{\"amount\":{n}}}"))
}

#[test]
fn the_latest_snapshot_of_a_stream_is_read_back_after_compaction_and_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cluster = Cluster::open(dir.path()).unwrap();
        let store = cluster
            .event_store("accounts", EventStoreConfig::new().partitions(2))
            .unwrap();
        assert_eq!(store.read_snapshot("a").unwrap(), None);
        for n in 0..5 {
            store.append("a", ExpectedVersion::Any, [event(n)]).unwrap();
            store.append("b", ExpectedVersion::Any, [event(n)]).unwrap();
        }
        let err = store.write_snapshot("a", 5, "too far").unwrap_err();
        assert!(err.to_string().contains("is at version 4"), "{err}");
        let err = store.write_snapshot("nobody", 0, "x").unwrap_err();
        assert!(err.to_string().contains("has no events"), "{err}");
        store.write_snapshot("a", 2, "balance=3").unwrap();
        store.write_snapshot("b", 1, "balance=1").unwrap();
        store.write_snapshot("a", 4, "balance=10").unwrap();
        assert_eq!(
            store.read_snapshot("a").unwrap(),
            Some(kafkalite::eventstore::Snapshot {
                version: 4,
                data: b"balance=10".to_vec()
            })
        );
        let topic = store.snapshot_topic();
        assert_eq!(topic, "accounts-snapshots");
        let config = cluster.topic_config(&topic).unwrap();
        assert_eq!(
            config.overrides().get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
        for p in 0..2 {
            cluster.partition(&topic, p).unwrap().roll().unwrap();
        }
        cluster.compact(Some(&topic)).unwrap();
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    let store = cluster
        .event_store("accounts", EventStoreConfig::new())
        .unwrap();
    let snapshot = store.read_snapshot("a").unwrap().unwrap();
    assert_eq!(
        (snapshot.version, snapshot.data.as_slice()),
        (4, &b"balance=10"[..])
    );
    let b = store.read_snapshot("b").unwrap().unwrap();
    assert_eq!(b.version, 1);
    // Loading: the snapshot, then the events after it.
    let rest = store
        .read_stream(
            "b",
            StreamPosition::Version(b.version + 1),
            Direction::Forwards,
            100,
        )
        .unwrap()
        .into_events();
    assert_eq!(
        rest.iter().map(|e| e.version).collect::<Vec<_>>(),
        [2, 3, 4]
    );
}

#[test]
fn snapshots_start_over_in_a_new_topic_after_theirs_was_deleted() {
    let cluster = Cluster::temporary().unwrap();
    let config = EventStoreConfig::new().durable(false);
    let store = cluster.event_store("acc", config.clone()).unwrap();
    store
        .append("a", ExpectedVersion::Any, [event(0), event(1)])
        .unwrap();
    store.write_snapshot("a", 0, "first").unwrap();
    cluster.delete_topic(&store.snapshot_topic()).unwrap();
    // Every handle, old or new, makes the topic again on its next use.
    let again = cluster.event_store("acc", config).unwrap();
    assert_eq!(
        store.read_snapshot("a").unwrap(),
        None,
        "the old snapshots are gone"
    );
    again.write_snapshot("a", 1, "second").unwrap();
    for handle in [&store, &again] {
        let snapshot = handle.read_snapshot("a").unwrap().unwrap();
        assert_eq!((snapshot.version, snapshot.data), (1, b"second".to_vec()));
    }
    // A store whose snapshot topic's name is too long says which topic and what to do.
    let long = "s".repeat(240);
    let store = cluster
        .event_store(&long, EventStoreConfig::new().durable(false))
        .unwrap();
    store.append("a", ExpectedVersion::Any, [event(0)]).unwrap();
    let err = store.write_snapshot("a", 0, "x").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidTopic(m) if m.contains("-snapshots") && m.contains("another name")),
        "{err}"
    );
}

#[test]
fn a_user_topic_named_like_the_snapshot_topic_is_refused_not_written() {
    let cluster = Cluster::temporary().unwrap();
    cluster
        .create_topic(kafkalite::NewTopic::new("orders-snapshots", 1))
        .unwrap();
    let store = cluster
        .event_store("orders", EventStoreConfig::new())
        .unwrap();
    store
        .append("o", ExpectedVersion::NoStream, [event(0)])
        .unwrap();
    let err = store.write_snapshot("o", 0, "state").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidConfig { key, .. } if key == "cleanup.policy"),
        "{err}"
    );
    let log = cluster.partition("orders-snapshots", 0).unwrap();
    assert_eq!(
        log.log_end_offset(),
        0,
        "nothing written into the user's topic"
    );
}
