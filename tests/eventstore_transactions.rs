//! The event store on a topic that transactional producers also write to: the stream index
//! and every read see what a `read_committed` consumer sees. Records of an aborted
//! transaction are no events (no version, never read, never delivered); a committed
//! transaction's records are events at their place in the log; an open transaction holds
//! the index at its first offset, so appends wait for it to commit or abort (the versions
//! after it depend on that) while reads answer what is decided.

mod common;

use std::time::Duration;

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventStore, EventStoreConfig, StreamAppend, StreamPosition,
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
        .read_stream(name, StreamPosition::Start, Direction::Forwards, usize::MAX)
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

// ---------------------------------------------------------------------------------------
// Appends across partitions: one transaction of the store's own producer.

/// A four-partition store and two stream names in different partitions.
fn spread(cluster: &Cluster) -> (EventStore, String, String) {
    let store = cluster
        .event_store("spread", EventStoreConfig::new().partitions(4))
        .unwrap();
    let mut names = (0..).map(|n| format!("account-{n}"));
    let a = names.next().unwrap();
    let b = names
        .find(|n| store.partition_of(n) != store.partition_of(&a))
        .unwrap();
    (store, a, b)
}

fn log_ends(cluster: &Cluster) -> Vec<i64> {
    (0..4)
        .map(|p| cluster.partition("spread", p).unwrap().log_end_offset())
        .collect()
}

/// Every record of the topic a `read_committed` consumer reads: (key, value).
fn committed_records(cluster: &Cluster) -> Vec<(String, String)> {
    let consumer = cluster
        .consumer(
            kafkalite::ConsumerConfig::new()
                .isolation_level(kafkalite::IsolationLevel::ReadCommitted),
        )
        .unwrap();
    let partitions: Vec<_> = (0..4)
        .map(|p| {
            (
                kafkalite::TopicPartition::new("spread", p),
                kafkalite::Offset::Beginning,
            )
        })
        .collect();
    consumer.assign(&partitions).unwrap();
    let mut found = Vec::new();
    loop {
        let records = consumer.poll(Duration::from_millis(50)).unwrap();
        if records.is_empty() {
            break;
        }
        for r in records.iter() {
            let text = |b: Option<&[u8]>| String::from_utf8(b.unwrap().to_vec()).unwrap();
            found.push((text(r.key()), text(r.value())));
        }
    }
    found.sort();
    found
}

#[test]
fn an_append_across_partitions_is_one_committed_transaction() {
    let cluster = Cluster::temporary().unwrap();
    let (store, a, b) = spread(&cluster);
    store
        .append(&a, ExpectedVersion::NoStream, [event("opened a")])
        .unwrap();
    let transfer = vec![
        StreamAppend::new(&a, ExpectedVersion::Exact(0), [event("sent 5")]),
        StreamAppend::new(
            &b,
            ExpectedVersion::NoStream,
            [event("opened b"), event("got 5")],
        ),
    ];
    let results = store.append_to_streams(transfer.clone()).unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| (r.position.partition, r.next_expected_version))
            .collect::<Vec<_>>(),
        [(store.partition_of(&a), 1), (store.partition_of(&b), 1)]
    );
    assert_eq!(stream(&store, &a), owned(&[(0, "opened a"), (1, "sent 5")]));
    assert_eq!(stream(&store, &b), owned(&[(0, "opened b"), (1, "got 5")]));
    // Kafka's artifacts: a committed transaction of the store's producer, which a
    // read_committed consumer reads whole.
    let described = cluster
        .describe_transaction(&store.transactional_id())
        .unwrap()
        .unwrap();
    assert_eq!(described.state, kafkalite::TransactionState::CompleteCommit);
    let key = |s: &str, d: &str| (s.to_string(), d.to_string());
    assert_eq!(
        committed_records(&cluster),
        [
            key(&a, "opened a"),
            key(&a, "sent 5"),
            key(&b, "got 5"),
            key(&b, "opened b")
        ]
    );
    // A retry returns the original results and writes nothing.
    let ends = log_ends(&cluster);
    assert_eq!(store.append_to_streams(transfer).unwrap(), results);
    assert_eq!(log_ends(&cluster), ends);
    // A conflict in one part writes nothing anywhere.
    let conflicting = vec![
        StreamAppend::new(&a, ExpectedVersion::Exact(1), [event("sent 1")]),
        StreamAppend::new(&b, ExpectedVersion::Exact(0), [event("got 1")]),
    ];
    match store.append_to_streams(conflicting) {
        Err(kafkalite::Error::WrongExpectedVersion { stream, actual, .. }) => {
            assert_eq!((stream, actual), (b.clone(), Some(1)))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(log_ends(&cluster), ends);
    // A producer that takes the store's transactional id fences the store's; the store's
    // next append across partitions starts a new epoch and goes through.
    let intruder = transactional(&cluster, &store.transactional_id());
    let before = described.producer_epoch;
    store
        .append_to_streams([
            StreamAppend::new(&a, ExpectedVersion::Exact(1), [event("sent 1")]),
            StreamAppend::new(&b, ExpectedVersion::Exact(1), [event("got 1")]),
        ])
        .unwrap();
    let after = cluster
        .describe_transaction(&store.transactional_id())
        .unwrap()
        .unwrap();
    assert!(after.producer_epoch > before + 1, "{before} -> {after:?}");
    drop(intruder);
}

#[test]
fn transfers_across_partitions_racing_a_plain_producer_conserve_the_total() {
    let cluster = Cluster::temporary().unwrap();
    let (store, ..) = spread(&cluster);
    const ACCOUNTS: usize = 6;
    const TRANSFERS: usize = 150;
    let name = |i: usize| format!("account-{i}");
    for i in 0..ACCOUNTS {
        store
            .append(&name(i), ExpectedVersion::NoStream, [event("100")])
            .unwrap();
    }
    // The last event of an account holds its balance.
    let balance = |store: &EventStore, account: &str| {
        let last = store
            .read_stream(account, StreamPosition::End, Direction::Backwards, 1)
            .unwrap()
            .into_events()
            .remove(0);
        (
            last.version,
            String::from_utf8(last.data)
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        )
    };
    let transferring: Vec<_> = (0..3)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut done = 0;
                let mut conflicts = 0;
                while done < TRANSFERS {
                    let (from, to) = (
                        name((t + done) % ACCOUNTS),
                        name((t + 2 * done + 1) % ACCOUNTS),
                    );
                    if from == to {
                        done += 1;
                        continue;
                    }
                    let (vf, bf) = balance(&store, &from);
                    let (vt, bt) = balance(&store, &to);
                    let moved = store.append_to_streams([
                        StreamAppend::new(
                            &from,
                            ExpectedVersion::Exact(vf),
                            [event(&(bf - 1).to_string())],
                        ),
                        StreamAppend::new(
                            &to,
                            ExpectedVersion::Exact(vt),
                            [event(&(bt + 1).to_string())],
                        ),
                    ]);
                    match moved {
                        Ok(_) => done += 1,
                        Err(kafkalite::Error::WrongExpectedVersion { .. }) => conflicts += 1,
                        Err(error) => panic!("{error}"),
                    }
                }
                conflicts
            })
        })
        .collect();
    // A plain producer writes other keys to the same partitions meanwhile, so that a
    // transfer's conditional batches find a log moved and abort.
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    let mut n = 0;
    while !transferring.iter().all(|t| t.is_finished()) {
        let record = ProducerRecord::to("spread")
            .partition(n % 4)
            .key(format!("noise-{n}").into_bytes())
            .value(b"0".to_vec());
        producer.send(record).unwrap().wait().unwrap();
        n += 1;
    }
    let conflicts: usize = transferring.into_iter().map(|t| t.join().unwrap()).sum();
    let total: i64 = (0..ACCOUNTS).map(|i| balance(&store, &name(i)).1).sum();
    let aborted: usize = (0..4)
        .map(|p| {
            let log = cluster.partition("spread", p).unwrap();
            log.aborted_transactions(0, i64::MAX).len()
        })
        .sum();
    eprintln!("{conflicts} conflicts, {aborted} transaction markers of aborts");
    assert_eq!(total, 100 * ACCOUNTS as i64);
    // Every account's events, as read_committed consumers read them, are what the store
    // reads: no aborted batch among them.
    let committed = committed_records(&cluster);
    for i in 0..ACCOUNTS {
        let read: Vec<String> = stream(&store, &name(i))
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        let mut consumed: Vec<String> = committed
            .iter()
            .filter(|(k, _)| *k == name(i))
            .map(|(_, v)| v.clone())
            .collect();
        let mut sorted = read.clone();
        sorted.sort();
        consumed.sort();
        assert_eq!(sorted, consumed, "{}", name(i));
        assert_eq!(read.len(), 1 + committed_transfers(&read));
    }
}

/// Transfers an account took part in: every event after its opening.
fn committed_transfers(events: &[String]) -> usize {
    events.len() - 1
}

// ---------------------------------------------------------------------------------------
// The cluster's `transaction.max.timeout.ms`.

/// The store's producer asks for a timeout the cluster allows: with a small
/// `transaction.max.timeout.ms`, appends across partitions still go through.
#[test]
fn appends_across_partitions_work_under_a_small_transaction_max_timeout() {
    let cluster = Cluster::builder()
        .transaction_max_timeout_ms(5_000)
        .temporary()
        .unwrap();
    let (store, a, b) = spread(&cluster);
    let results = store
        .append_to_streams([
            StreamAppend::new(&a, ExpectedVersion::NoStream, [event("debit")]),
            StreamAppend::new(&b, ExpectedVersion::NoStream, [event("credit")]),
        ])
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(store.stream_version(&b).unwrap(), Some(0));
}

/// An append held by another producer's open transaction gives up once it has waited
/// `transaction.max.timeout.ms` on the cluster's clock (no transaction may last longer;
/// here nothing runs the coordinator's timeouts, so the transaction stays open).
#[test]
fn an_append_held_past_the_transaction_max_timeout_on_the_cluster_clock_times_out() {
    let clock = std::sync::Arc::new(kafkalite::MockClock::new(1_000_000));
    let cluster = Cluster::builder()
        .clock(clock.clone())
        .background(false)
        .transaction_max_timeout_ms(10_000)
        .temporary()
        .unwrap();
    let store = open_store(&cluster);
    store
        .append("order-1", ExpectedVersion::NoStream, [event("placed")])
        .unwrap();
    let producer = cluster
        .producer(
            ProducerConfig::new()
                .transactional_id("slow")
                .set("transaction.timeout.ms", "10000")
                .unwrap(),
        )
        .unwrap();
    producer.init_transactions(T).unwrap();
    producer.begin_transaction().unwrap();
    send(&producer, "order-1", "pending");
    let appending = std::thread::spawn({
        let store = store.clone();
        move || store.append("order-1", ExpectedVersion::Exact(0), [event("paid")])
    });
    common::wait_until_a_poll_blocks(&cluster);
    // Not yet: the clock has not moved.
    assert!(!appending.is_finished());
    clock.advance_ms(10_000);
    match appending.join().unwrap() {
        Err(kafkalite::Error::Timeout(message)) => {
            assert!(message.contains("transaction.max.timeout.ms"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(stream(&store, "order-1"), owned(&[(0, "placed")]));
}
