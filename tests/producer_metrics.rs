//! The producer's call-time totals, as Kafka's `KafkaProducerMetrics` keeps them (KIP-485):
//! which calls count, and that a failed transactional call does not.

mod common;

use std::time::Duration;

use common::cluster_with;
use kafkalite::{
    Cluster, Error, MockClock, NewTopic, Producer, ProducerConfig, ProducerMetrics, ProducerRecord,
};

const WAIT: Duration = Duration::from_secs(30);

/// The seven totals, in the order Kafka's `KafkaProducerMetrics` declares them.
fn totals(m: &ProducerMetrics) -> [u64; 7] {
    [
        m.flush_time_ns_total,
        m.txn_init_time_ns_total,
        m.txn_begin_time_ns_total,
        m.txn_send_offsets_time_ns_total,
        m.txn_commit_time_ns_total,
        m.txn_abort_time_ns_total,
        m.metadata_wait_time_ns_total,
    ]
}

fn transactional(cluster: &Cluster) -> Producer {
    cluster
        .producer(ProducerConfig::new().transactional_id("metrics"))
        .unwrap()
}

#[test]
fn each_transactional_call_adds_to_its_own_total_only() {
    let cluster = cluster_with(NewTopic::new("t", 2));
    let producer = transactional(&cluster);
    assert_eq!(totals(&producer.metrics()), [0; 7]);

    producer.init_transactions(WAIT).unwrap();
    let [flush, init, begin, offsets, commit, abort, wait] = totals(&producer.metrics());
    assert!(init > 0);
    assert_eq!([flush, begin, offsets, commit, abort, wait], [0; 6]);

    // Twenty, so that even a clock coarser than a begin_transaction adds up to something.
    for round in 0..20 {
        producer.begin_transaction().unwrap();
        for value in ["a", "b", "c"] {
            let value = format!("{value}{round}");
            producer.send(ProducerRecord::to("t").value(value)).unwrap();
        }
        producer.commit_transaction(WAIT).unwrap();
    }
    let after_commit = totals(&producer.metrics());
    let [flush, init_now, begin, offsets, commit, abort, wait] = after_commit;
    assert_eq!(init_now, init, "init is counted once");
    assert!(begin > 0 && commit > 0);
    // The commit's flush is part of the commit, as in Kafka's producer.
    assert_eq!([flush, offsets, abort, wait], [0; 4]);

    producer.begin_transaction().unwrap();
    producer.send(ProducerRecord::to("t").value("d")).unwrap();
    producer.abort_transaction(WAIT).unwrap();
    let [flush, _, _, _, commit_now, abort, _] = totals(&producer.metrics());
    assert!(abort > 0);
    assert_eq!(commit_now, commit);
    assert_eq!(flush, 0, "the abort's flush is part of the abort");
}

#[test]
fn failed_transactional_calls_are_not_counted_and_flush_always_is() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = transactional(&cluster);
    // Before init_transactions: refused, and not counted.
    assert!(matches!(
        producer.begin_transaction(),
        Err(Error::InvalidTxnState(_))
    ));
    assert!(matches!(
        producer.commit_transaction(WAIT),
        Err(Error::InvalidTxnState(_))
    ));
    assert_eq!(totals(&producer.metrics()), [0; 7]);

    producer.init_transactions(WAIT).unwrap();
    producer.begin_transaction().unwrap();
    let begun = producer.metrics().txn_begin_time_ns_total;
    assert!(matches!(
        producer.begin_transaction(),
        Err(Error::InvalidTxnState(_))
    ));
    assert_eq!(producer.metrics().txn_begin_time_ns_total, begun);

    // A flush counts, inside a transaction too.
    producer.send(ProducerRecord::to("t").value("v")).unwrap();
    producer.flush(WAIT).unwrap();
    assert!(producer.metrics().flush_time_ns_total > 0);
}

#[test]
fn a_send_that_gives_up_on_a_missing_topic_counts_no_metadata_wait() {
    let cluster = Cluster::builder()
        .background(false)
        .auto_create_topics(false)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster
        .producer(&[("max.block.ms", "0"), ("linger.ms", "0")][..])
        .unwrap();
    let refused = producer
        .send(ProducerRecord::to("missing").value("v"))
        .unwrap_err();
    assert!(matches!(refused.error, Error::Timeout(_)), "{refused:?}");
    // Kafka records the wait only when the topic appeared.
    assert_eq!(producer.metrics().metadata_wait_time_ns_total, 0);
    producer
        .send(ProducerRecord::to("t").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(totals(&producer.metrics()), [0; 7]);
}

/// A send, and `partitions_for`, blocked on a missing topic until another thread creates it:
/// each wait is counted once the topic appeared.
#[test]
fn a_wait_for_a_topic_that_appears_is_counted() {
    let cluster = common::without_auto_creation(&MockClock::new(0));
    let producer = cluster
        .producer(&[("max.block.ms", "60000"), ("linger.ms", "0")][..])
        .unwrap();
    std::thread::scope(|s| {
        let sending = s.spawn(|| {
            let handle = producer.send(ProducerRecord::to("later").value("v"));
            handle.map_err(|e| e.error).and_then(|h| h.wait())
        });
        common::wait_until_a_poll_blocks(&cluster);
        cluster.create_topic(NewTopic::new("later", 1)).unwrap();
        sending.join().unwrap().unwrap();
    });
    let after_send = producer.metrics().metadata_wait_time_ns_total;
    assert!(after_send > 0);
    std::thread::scope(|s| {
        let listing = s.spawn(|| producer.partitions_for("listed"));
        common::wait_until_a_poll_blocks(&cluster);
        cluster.create_topic(NewTopic::new("listed", 2)).unwrap();
        assert_eq!(listing.join().unwrap().unwrap().len(), 2);
    });
    let [flush, init, begin, offsets, commit, abort, wait] = totals(&producer.metrics());
    assert!(wait > after_send);
    assert_eq!([flush, init, begin, offsets, commit, abort], [0; 6]);
}
