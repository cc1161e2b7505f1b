//! The event store on a topic that transactional producers also write to: the stream index
//! and every read see what a `read_committed` consumer sees. Records of an aborted
//! transaction are no events (no version, never read, never delivered); a committed
//! transaction's records are events at their place in the log; an open transaction holds
//! the index at its first offset, so appends wait for it to commit or abort (the versions
//! after it depend on that) while reads answer what is decided.

mod common;

use std::time::Duration;

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventStore, EventStoreConfig, StreamPosition,
    SubscriptionFilter, SubscriptionMessage,
};
use kafkalite::{Cluster, ExpectedVersion, Producer, ProducerConfig, ProducerRecord};

const T: Duration = Duration::from_secs(30);

fn open_store(cluster: &Cluster) -> EventStore {
    cluster
        .event_store("orders", EventStoreConfig::new())
        .unwrap()
}

fn transactional(cluster: &Cluster, id: &str) -> Producer {
    let producer = cluster
        .producer(ProducerConfig::new().transactional_id(id))
        .unwrap();
    producer.init_transactions(T).unwrap();
    producer
}

/// Sends a record of `stream` (its key) holding `data`, and waits until it is in the log.
fn send(producer: &Producer, stream: &str, data: &str) {
    producer
        .send(
            ProducerRecord::to("orders")
                .key(stream.as_bytes().to_vec())
                .value(data.as_bytes().to_vec()),
        )
        .unwrap();
    producer.flush(T).unwrap();
}

/// The store with "placed" in stream `order-1`, and a transactional producer.
fn placed(cluster: &Cluster) -> (EventStore, Producer) {
    let store = open_store(cluster);
    store
        .append("order-1", ExpectedVersion::NoStream, [event("placed")])
        .unwrap();
    (store, transactional(cluster, "enricher"))
}

fn event(data: &str) -> EventData {
    EventData::new("Noted", data.as_bytes().to_vec())
}

/// The data of the stream's events, in order, with their versions.
fn stream(store: &EventStore, name: &str) -> Vec<(u64, String)> {
    store
        .read_stream(name, StreamPosition::Start, Direction::Forwards, 100)
        .unwrap()
        .into_events()
        .into_iter()
        .map(|e| (e.version, String::from_utf8(e.data).unwrap()))
        .collect()
}

fn owned(events: &[(u64, &str)]) -> Vec<(u64, String)> {
    events.iter().map(|&(v, d)| (v, d.to_string())).collect()
}

#[test]
fn an_aborted_transaction_leaves_no_events_and_a_committed_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::open(dir.path()).unwrap();
    let (store, producer) = placed(&cluster);
    producer.begin_transaction().unwrap();
    send(&producer, "order-1", "aborted");
    producer.abort_transaction(T).unwrap();
    // The aborted record is not version 1: the stream is still at 0.
    assert_eq!(store.stream_version("order-1").unwrap(), Some(0));
    let paid = store
        .append("order-1", ExpectedVersion::Exact(0), [event("paid")])
        .unwrap();
    assert_eq!(paid.next_expected_version, 1);
    producer.begin_transaction().unwrap();
    send(&producer, "order-1", "committed");
    producer.commit_transaction(T).unwrap();
    assert_eq!(store.stream_version("order-1").unwrap(), Some(2));
    let expected = owned(&[(0, "placed"), (1, "paid"), (2, "committed")]);
    assert_eq!(stream(&store, "order-1"), expected);
    // Reads in log order and subscriptions skip it too, with the same versions.
    let all: Vec<(u64, String)> = store
        .read_all(0, None, 100)
        .unwrap()
        .into_iter()
        .map(|e| (e.version, String::from_utf8(e.data).unwrap()))
        .collect();
    assert_eq!(all, expected);
    let mut subscription = store
        .subscribe_to_all(AllStart::Start, SubscriptionFilter::default())
        .unwrap();
    let mut delivered = Vec::new();
    while let Some(SubscriptionMessage::Event(e)) = subscription.next(T).unwrap() {
        delivered.push((e.version, String::from_utf8(e.data).unwrap()));
    }
    assert_eq!(delivered, expected);
    // A store reopened without its index tables indexes the log again the same way.
    drop((store, subscription, producer));
    cluster.close().unwrap();
    for file in std::fs::read_dir(dir.path().join("orders-0")).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "streams") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(stream(&open_store(&cluster), "order-1"), expected);
}

/// A store whose stream `order-1` holds "placed", a transaction open that wrote `pending`
/// to it, and an append of "paid" expecting version 0, on its own thread, blocked.
struct Held {
    /// Kept open for the rest.
    _cluster: Cluster,
    store: EventStore,
    producer: Producer,
    appending: std::thread::JoinHandle<kafkalite::Result<kafkalite::eventstore::AppendResult>>,
}

fn held(pending: &str) -> Held {
    let cluster = Cluster::temporary().unwrap();
    let (store, producer) = placed(&cluster);
    producer.begin_transaction().unwrap();
    send(&producer, "order-1", pending);
    // Reads answer what is decided; the open transaction's record is not read.
    assert_eq!(store.stream_version("order-1").unwrap(), Some(0));
    assert_eq!(stream(&store, "order-1"), owned(&[(0, "placed")]));
    assert_eq!(store.read_all(0, None, 100).unwrap().len(), 1);
    // An append waits: whether it is version 1 or 2 depends on the transaction.
    let appending = std::thread::spawn({
        let store = store.clone();
        move || store.append("order-1", ExpectedVersion::Exact(0), [event("paid")])
    });
    common::wait_until_a_poll_blocks(&cluster);
    assert!(!appending.is_finished());
    Held {
        _cluster: cluster,
        store,
        producer,
        appending,
    }
}

#[test]
fn an_open_transaction_holds_appends_until_it_aborts_and_reads_answer_what_is_decided() {
    let held = held("pending");
    held.producer.abort_transaction(T).unwrap();
    let paid = held.appending.join().unwrap().unwrap();
    assert_eq!(paid.next_expected_version, 1);
    assert_eq!(
        stream(&held.store, "order-1"),
        owned(&[(0, "placed"), (1, "paid")])
    );
}

#[test]
fn an_append_held_by_a_transaction_that_commits_sees_its_events() {
    let held = held("enriched");
    held.producer.commit_transaction(T).unwrap();
    // The committed record became version 1 first, so the append expecting 0 conflicts.
    match held.appending.join().unwrap() {
        Err(kafkalite::Error::WrongExpectedVersion { actual, .. }) => {
            assert_eq!(actual, Some(1))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        stream(&held.store, "order-1"),
        owned(&[(0, "placed"), (1, "enriched")])
    );
}
