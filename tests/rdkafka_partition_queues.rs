//! rust-rdkafka's partition queues (`split_partition_queue`): a split partition's messages
//! come from its own queue, in order, and never from the consumer's `poll`; the others stay
//! with `poll` (rust-rdkafka's `test_consume_partition_order`); a queue may move to another
//! thread; the split holds for a subscription's assignment too (librdkafka keeps an
//! application's forwarding, `RD_KAFKA_Q_F_FWD_APP`, across fetch restarts); what a queue
//! hands out is stored for commit as `poll`'s is.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::facade::{cluster_with, config, list, produce};
use kafkalite::rdkafka;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::Offset;

const WAIT: Duration = Duration::from_secs(10);

/// Topic "t" with three partitions of four messages each, "p-i" in partition p.
fn cluster() -> (kafkalite::Cluster, String) {
    let (cluster, servers) = cluster_with(&[("t", 3)]);
    for partition in 0..3 {
        produce(&servers, partition, 4);
    }
    (cluster, servers)
}

fn assigned_all(servers: &str, extra: &[(&str, &str)]) -> Arc<BaseConsumer> {
    let mut config = config(servers);
    config.set("group.id", "g");
    for (key, value) in extra {
        config.set(*key, *value);
    }
    let consumer: BaseConsumer = config.create().unwrap();
    let beginning = |p| ("t", p, Offset::Beginning);
    consumer
        .assign(&list(&[beginning(0), beginning(1), beginning(2)]))
        .unwrap();
    Arc::new(consumer)
}

fn payload(message: &rdkafka::message::BorrowedMessage<'_>) -> String {
    message.payload_view::<str>().unwrap().unwrap().to_string()
}

#[test]
fn each_split_partition_is_read_through_its_own_queue_in_order() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    let queues: Vec<_> = (0..3)
        .map(|p| consumer.split_partition_queue("t", p).unwrap())
        .collect();
    for i in 0..4 {
        assert!(consumer.poll(Duration::ZERO).is_none(), "poll has nothing");
        for (p, queue) in (0..).zip(&queues) {
            let message = queue.poll(WAIT).unwrap().unwrap();
            assert_eq!(message.partition(), p);
            assert_eq!(payload(&message), format!("{p}-{i}"));
        }
    }
    assert!(
        queues[0].poll(Duration::ZERO).is_none(),
        "the partition is read"
    );
}

#[test]
fn partitions_not_split_stay_with_the_consumers_poll() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    let queue = consumer.split_partition_queue("t", 1).unwrap();
    let mut polled = Vec::new();
    while polled.len() < 8 {
        let message = consumer.poll(WAIT).unwrap().unwrap();
        polled.push(payload(&message));
    }
    polled.sort();
    assert_eq!(
        polled,
        ["0-0", "0-1", "0-2", "0-3", "2-0", "2-1", "2-2", "2-3"]
    );
    assert!(consumer.poll(Duration::ZERO).is_none());
    let split: Vec<String> = (0..4)
        .map(|_| payload(&queue.poll(WAIT).unwrap().unwrap()))
        .collect();
    assert_eq!(split, ["1-0", "1-1", "1-2", "1-3"]);
}

#[test]
fn a_queue_moved_to_another_thread_reads_while_the_consumer_polls() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    let queue = consumer.split_partition_queue("t", 0).unwrap();
    let worker = std::thread::spawn(move || {
        (0..4)
            .map(|_| payload(&queue.poll(rdkafka::util::Timeout::Never).unwrap().unwrap()))
            .collect::<Vec<_>>()
    });
    let mut polled = 0;
    while polled < 8 {
        if let Some(message) = consumer.poll(Duration::from_millis(50)) {
            assert_ne!(message.unwrap().partition(), 0);
            polled += 1;
        }
    }
    assert_eq!(worker.join().unwrap(), ["0-0", "0-1", "0-2", "0-3"]);
}

#[test]
fn a_split_made_before_a_subscriptions_assignment_holds_and_ends_with_eof() {
    let (_cluster, servers) = cluster();
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "g")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let consumer = Arc::new(consumer);
    let queue = consumer.split_partition_queue("t", 2).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let mut polled = Vec::new();
    let mut ends = 0;
    while ends < 2 {
        match consumer.poll(WAIT) {
            Some(Ok(message)) => polled.push(message.partition()),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                assert_ne!(p, 2);
                ends += 1;
            }
            Some(Err(other)) => panic!("{other}"),
            None => {}
        }
    }
    assert_eq!(polled.len(), 8);
    assert!(!polled.contains(&2), "{polled:?}");
    let split: Vec<String> = (0..4)
        .map(|_| payload(&queue.poll(WAIT).unwrap().unwrap()))
        .collect();
    assert_eq!(split, ["2-0", "2-1", "2-2", "2-3"]);
    assert!(matches!(
        queue.poll(WAIT),
        Some(Err(KafkaError::PartitionEOF(2)))
    ));
}

#[test]
fn what_a_queue_hands_out_is_stored_and_committed() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[("enable.auto.commit", "false")]);
    let queue = consumer.split_partition_queue("t", 1).unwrap();
    for _ in 0..3 {
        queue.poll(WAIT).unwrap().unwrap();
    }
    let position = consumer.position().unwrap();
    let of_1 = position
        .elements()
        .into_iter()
        .find(|e| e.partition() == 1)
        .unwrap()
        .offset();
    assert_eq!(of_1, Offset::Offset(3));
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    let committed = consumer
        .committed_offsets(list(&[("t", 1, Offset::Invalid)]), WAIT)
        .unwrap();
    assert_eq!(committed.elements()[0].offset(), Offset::Offset(3));
}

#[test]
fn names_no_topic_can_have_split_nothing() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    assert!(consumer.split_partition_queue("t", -1).is_none());
    assert!(consumer.split_partition_queue("no/such", 0).is_none());
    // Nothing was split: poll still reads every partition.
    let mut polled = 0;
    while polled < 12 {
        consumer.poll(WAIT).unwrap().unwrap();
        polled += 1;
    }
}

#[test]
fn a_stream_consumers_split_partition_is_received_from_its_queue() {
    let (_cluster, servers) = cluster();
    let consumer: StreamConsumer = config(&servers).set("group.id", "g").create().unwrap();
    let consumer = Arc::new(consumer);
    let beginning = |p| ("t", p, Offset::Beginning);
    consumer
        .assign(&list(&[beginning(0), beginning(1), beginning(2)]))
        .unwrap();
    let queue = consumer.split_partition_queue("t", 0).unwrap();
    let mut others = Vec::new();
    while others.len() < 8 {
        others.push(pollster::block_on(consumer.recv()).unwrap().partition());
    }
    assert!(!others.contains(&0), "{others:?}");
    let received: Vec<String> = (0..4)
        .map(|_| payload(&pollster::block_on(queue.recv()).unwrap()))
        .collect();
    assert_eq!(received, ["0-0", "0-1", "0-2", "0-3"]);
}

/// Counts its calls and reports each on a channel.
fn counting() -> (
    impl Fn() + Send + Sync + 'static,
    std::sync::mpsc::Receiver<()>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let (sender, calls) = std::sync::mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let callback = move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = sender.lock().unwrap().send(());
    };
    (callback, calls, count)
}

/// After rust-rdkafka's `test_produce_consume_message_queue_nonempty_callback`: a call
/// when something arrives in the empty queue, none while it still holds messages, none for
/// what it held when the callback was set, and a replaced callback is not called again.
/// (Each count is read after waiting for a later call: the watcher handles notifications
/// in order, so a wrong call would have come before it.)
#[test]
fn a_nonempty_callback_is_called_when_something_arrives_in_the_empty_queue() {
    let (_cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    let mut queue = consumer.split_partition_queue("t", 1).unwrap();
    // The queue holds four messages: no call for them, nor for more while it holds some.
    let (callback, calls, count) = counting();
    queue.set_nonempty_callback(callback);
    produce(&servers, 1, 1);
    for _ in 0..5 {
        queue.poll(WAIT).unwrap().unwrap();
    }
    assert!(queue.poll(Duration::ZERO).is_none());
    produce(&servers, 1, 2);
    calls.recv_timeout(WAIT).unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    // One read leaves one: more arriving calls nothing.
    queue.poll(WAIT).unwrap().unwrap();
    produce(&servers, 1, 2);
    for _ in 0..3 {
        queue.poll(WAIT).unwrap().unwrap();
    }
    produce(&servers, 1, 1);
    calls.recv_timeout(WAIT).unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Another partition's messages are not this queue's.
    queue.poll(WAIT).unwrap().unwrap();
    assert!(queue.poll(Duration::ZERO).is_none());
    produce(&servers, 0, 1);
    produce(&servers, 1, 1);
    calls.recv_timeout(WAIT).unwrap();
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
    // A new callback replaces it.
    let (replacement, replacement_calls, replacement_count) = counting();
    queue.set_nonempty_callback(replacement);
    queue.poll(WAIT).unwrap().unwrap();
    assert!(queue.poll(Duration::ZERO).is_none());
    produce(&servers, 1, 1);
    replacement_calls.recv_timeout(WAIT).unwrap();
    assert_eq!(
        replacement_count.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A resume (as a seek, a pause, an assignment) makes no append: the consumer wakes its
/// split partitions' readers itself.
#[test]
fn a_resume_wakes_a_queue_waiting_on_its_paused_partition() {
    let (cluster, servers) = cluster();
    let consumer = assigned_all(&servers, &[]);
    let queue = consumer.split_partition_queue("t", 1).unwrap();
    let partition_1 = list(&[("t", 1, Offset::Invalid)]);
    consumer.pause(&partition_1).unwrap();
    let (sender, received) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let message = queue.poll(rdkafka::util::Timeout::Never);
        sender.send(message.map(|m| payload(&m.unwrap()))).unwrap();
    });
    common::wait_until_a_poll_blocks(&cluster);
    consumer.resume(&partition_1).unwrap();
    assert_eq!(received.recv_timeout(WAIT).unwrap().as_deref(), Some("1-0"));
    worker.join().unwrap();
}

/// Reads its partition queue inside its own rebalance callback, where the consumer is busy
/// in its poll.
#[derive(Default)]
struct ReadsInCallback {
    queue: std::sync::Mutex<Option<rdkafka::consumer::base_consumer::PartitionQueue<Self>>>,
    outcome: std::sync::Mutex<Option<String>>,
}

impl rdkafka::ClientContext for ReadsInCallback {}

impl rdkafka::consumer::ConsumerContext for ReadsInCallback {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, _: &rdkafka::consumer::Rebalance<'_>) {
        if let Some(queue) = self.queue.lock().unwrap().as_ref() {
            let read = queue.poll(Duration::ZERO).map(|m| m.map(|m| m.offset()));
            *self.outcome.lock().unwrap() = Some(format!("{read:?}"));
        }
    }
}

#[test]
fn a_queue_read_inside_its_consumers_rebalance_callback_is_refused_not_stuck() {
    let (_cluster, servers) = cluster();
    let consumer: BaseConsumer<ReadsInCallback> = config(&servers)
        .set("group.id", "g")
        .set("auto.offset.reset", "earliest")
        .create_with_context(ReadsInCallback::default())
        .unwrap();
    let consumer = Arc::new(consumer);
    let queue = consumer.split_partition_queue("t", 0).unwrap();
    *consumer.context().queue.lock().unwrap() = Some(queue);
    consumer.subscribe(&["t"]).unwrap();
    while consumer.context().outcome.lock().unwrap().is_none() {
        assert!(consumer.poll(Duration::ZERO).is_none_or(|m| m.is_ok()));
    }
    let outcome = consumer.context().outcome.lock().unwrap().clone().unwrap();
    assert_eq!(
        outcome,
        format!(
            "{:?}",
            Some(Err::<i64, _>(KafkaError::MessageConsumption(
                rdkafka::error::RDKafkaErrorCode::State
            )))
        )
    );
    // The queue (kept by the context) reads once outside the callback.
    let queue = consumer.context().queue.lock().unwrap().take().unwrap();
    assert_eq!(queue.poll(WAIT).unwrap().unwrap().offset(), 0);
}
