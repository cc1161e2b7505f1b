//! Async receiving (`Consumer::recv`, `Consumer::stream`) on two executors, tokio's and
//! pollster's (which parks its thread until the waker is called, so a receive that is
//! never woken never completes): a pending receive wakes on the append it waits for, on a
//! mock clock's jump (the end of a group's initial rebalance delay), and on the background
//! thread's heartbeat wake-ups on a real clock; a group member on a real clock without the
//! background thread is refused with a reason.

#![cfg(not(loom))]

mod common;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use kafkalite::{
    Cluster, Consumer, ConsumerConfig, Error, MockClock, NewTopic, Offset, ProducerConfig,
    ProducerRecord, TopicPartition,
};

/// Far enough that reaching it can only mean a wake-up was lost.
const LOST: Duration = Duration::from_secs(60);

fn produce(cluster: &Cluster, topic: &str, values: &[&str]) {
    let producer = cluster
        .producer(ProducerConfig::new().set("linger.ms", "0").unwrap())
        .unwrap();
    for value in values {
        producer
            .send(
                ProducerRecord::to(topic)
                    .key("k")
                    .value(value.as_bytes().to_vec()),
            )
            .unwrap()
            .wait()
            .unwrap();
    }
}

fn value(record: &kafkalite::ConsumerRecord) -> String {
    String::from_utf8(record.value.clone().unwrap()).unwrap()
}

/// Runs `receive` on a thread of its own; [`answer`] waits for what it returns.
fn receiving<T: Send + 'static>(
    receive: impl FnOnce() -> T + Send + 'static,
) -> std::sync::mpsc::Receiver<T> {
    let (sender, answers) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(receive());
    });
    answers
}

/// The answer of a [`receiving`] thread, failing if none comes within [`LOST`] (a lost
/// wake-up) rather than hanging the test.
fn answer<T>(answers: std::sync::mpsc::Receiver<T>) -> T {
    answers
        .recv_timeout(LOST)
        .expect("the receive was never woken")
}

#[test]
fn a_pending_recv_wakes_on_the_append_it_waits_for_under_pollster_and_tokio() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let consumer = Arc::new(cluster.consumer(ConsumerConfig::new()).unwrap());
    consumer
        .assign(&[(TopicPartition::new("t", 0), Offset::Beginning)])
        .unwrap();
    // pollster: the receive is pending (counted as blocked) until the append wakes it.
    let first = {
        let consumer = Arc::clone(&consumer);
        receiving(move || pollster::block_on(consumer.recv()).map(|r| value(&r)))
    };
    common::wait_until_a_poll_blocks(&cluster);
    produce(&cluster, "t", &["first"]);
    assert_eq!(answer(first).unwrap(), "first");
    // tokio, on its multi-threaded runtime.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiving_on_tokio = {
        let consumer = Arc::clone(&consumer);
        runtime.spawn(async move { consumer.recv().await.map(|r| value(&r)) })
    };
    common::wait_until_a_poll_blocks(&cluster);
    produce(&cluster, "t", &["second"]);
    let second = receiving(move || runtime.block_on(receiving_on_tokio).unwrap());
    assert_eq!(answer(second).unwrap(), "second");
    // One record per receive: the position moved past exactly what was handed out.
    assert_eq!(consumer.position(&TopicPartition::new("t", 0)).unwrap(), 2);
}

/// The stream hands out every record once, in order, then waits for more.
#[test]
fn a_stream_yields_each_record_once_in_order() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    produce(&cluster, "t", &["a", "b", "c"]);
    let consumer = Arc::new(cluster.consumer(ConsumerConfig::new()).unwrap());
    consumer
        .assign(&[(TopicPartition::new("t", 0), Offset::Beginning)])
        .unwrap();
    let taking = {
        let consumer = Arc::clone(&consumer);
        receiving(move || {
            let mut stream = consumer.stream();
            let mut next = || pollster::block_on(poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)));
            (0..4)
                .map(|_| value(&next().unwrap().unwrap()))
                .collect::<Vec<_>>()
        })
    };
    common::wait_until_a_poll_blocks(&cluster);
    produce(&cluster, "t", &["d"]);
    assert_eq!(answer(taking), ["a", "b", "c", "d"]);
}

/// A group member's receive on a mock clock: the group's initial rebalance delay ends when
/// the clock jumps, which wakes the receive (no timer).
#[test]
fn a_members_recv_wakes_when_the_mock_clock_ends_the_rebalance_delay() {
    let clock = Arc::new(MockClock::new(1_000_000));
    let cluster = Cluster::builder()
        .clock(clock.clone())
        .background(false)
        .group_initial_rebalance_delay_ms(3_000)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    produce(&cluster, "t", &["waiting"]);
    let config = ConsumerConfig::new()
        .group_id("g")
        .set("auto.offset.reset", "earliest")
        .unwrap();
    let consumer = Arc::new(cluster.consumer(config).unwrap());
    consumer.subscribe(&["t"]).unwrap();
    let waiting = {
        let consumer = Arc::clone(&consumer);
        receiving(move || pollster::block_on(consumer.recv()).map(|r| value(&r)))
    };
    common::wait_until_a_poll_blocks(&cluster);
    assert!(consumer.assignment().is_empty(), "the delay has not ended");
    clock.advance_ms(3_000);
    assert_eq!(answer(waiting).unwrap(), "waiting");
}

/// On a real clock, the background thread wakes a member's pending receive every
/// `heartbeat.interval.ms`, so the rebalance delay ends without any append.
#[test]
fn a_members_recv_on_a_real_clock_is_woken_by_the_background_thread() {
    let cluster = Cluster::builder()
        .group_initial_rebalance_delay_ms(100)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    produce(&cluster, "t", &["later"]);
    let config = ConsumerConfig::new()
        .group_id("g")
        .set("auto.offset.reset", "earliest")
        .unwrap()
        .set("heartbeat.interval.ms", "20")
        .unwrap();
    let consumer: Consumer = cluster.consumer(config).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let later = receiving(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { consumer.recv().await.map(|r| value(&r)) })
    });
    assert_eq!(answer(later).unwrap(), "later");
}

/// Without the background thread, nothing would wake a member on a real clock for its
/// heartbeats: the receive says so instead of hanging.
#[test]
fn a_members_recv_without_the_background_thread_on_a_real_clock_is_refused() {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let consumer = cluster
        .consumer(ConsumerConfig::new().group_id("g"))
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    match pollster::block_on(consumer.recv()) {
        Err(Error::IllegalState(why)) => assert!(why.contains("background"), "{why}"),
        other => panic!("{other:?}"),
    }
    // poll, which sleeps on its own timer, works there.
    assert!(consumer.poll(Duration::ZERO).unwrap().is_empty());
}

/// While a receive is pending, its member counts as inside `poll` and is never expired;
/// once the receive is dropped, its `max.poll.interval.ms` runs, as after `poll` returns.
#[test]
fn a_pending_recv_keeps_its_member_and_a_dropped_one_lets_it_expire() {
    let clock = Arc::new(MockClock::new(1_000_000));
    let cluster = Cluster::builder()
        .clock(clock.clone())
        .background(false)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    produce(&cluster, "t", &["one"]);
    let config = ConsumerConfig::new()
        .group_id("g")
        .set("auto.offset.reset", "earliest")
        .unwrap();
    let consumer = cluster.consumer(config).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    assert_eq!(value(&pollster::block_on(consumer.recv()).unwrap()), "one");
    // Polled once (nothing to read) and left pending; its waker does nothing, so the
    // clock's jump does not poll it again: only its pending state keeps the member.
    let members = || cluster.describe_group("g").unwrap().members.len();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let ten_minutes = 600_000;
    {
        let mut pending = std::pin::pin!(consumer.recv());
        assert!(pending.as_mut().poll(&mut cx).is_pending());
        clock.advance_ms(ten_minutes);
        assert_eq!(members(), 1, "a member inside a pending receive is alive");
    }
    // Dropped: the member is out of poll from now, and expires after max.poll.interval.ms.
    clock.advance_ms(ten_minutes);
    assert_eq!(members(), 0, "a member whose receive was dropped expires");
}
