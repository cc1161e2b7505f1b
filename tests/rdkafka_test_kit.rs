//! The test kit under rdkafka code: a fault injected on the cluster reaches the facade as
//! librdkafka reports the broker's error (its code by protocol number; a message whose
//! retries outlast `message.timeout.ms` as `_MSG_TIMED_OUT`, as rdkafka_msg.c's timeout
//! scan fails it).
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use common::facade::{cluster_on, cluster_with, config};
use kafkalite::rdkafka;
use kafkalite::testing::Op;
use kafkalite::ErrorCode;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::Message;

#[test]
fn a_produce_fault_fails_the_future_with_the_brokers_code() {
    let (cluster, servers) = cluster_with(&[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .topic("orders")
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let producer: FutureProducer = config(&servers).create().unwrap();
    let record = FutureRecord::to("orders").key("k").payload("v");
    let (error, message) =
        pollster::block_on(producer.send(record, Duration::from_secs(5))).unwrap_err();
    assert_eq!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!(
        message.payload(),
        Some(&b"v"[..]),
        "the message is handed back"
    );
    // As librdkafka's rd_kafka_msg_new: no offset (OFFSET_INVALID), stamped when produced.
    assert_eq!(message.offset(), -1001);
    assert!(
        matches!(message.timestamp(), rdkafka::Timestamp::CreateTime(t) if t > 0),
        "{:?}",
        message.timestamp()
    );
    assert_eq!(guard.hits(), 1);
    let record = FutureRecord::to("orders").key("k").payload("again");
    let delivery = pollster::block_on(producer.send(record, Duration::from_secs(5))).unwrap();
    assert_eq!((delivery.partition, delivery.offset), (0, 0));
    producer
        .flush(Timeout::After(Duration::from_secs(5)))
        .unwrap();
}

#[test]
fn a_message_retried_past_its_timeout_fails_as_msg_timed_out() {
    let clock = kafkalite::MockClock::new(0);
    let (cluster, servers) = cluster_on(&clock, &[("orders", 1)]);
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Produce)
        .fail_always(ErrorCode::NotEnoughReplicas)
        .unwrap();
    let producer: FutureProducer = config(&servers)
        .set("message.timeout.ms", "5000")
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let future = producer
        .send_result(FutureRecord::<(), str>::to("orders").payload("v"))
        .unwrap();
    assert!(guard.wait_hits(1, Duration::from_secs(30)));
    clock.advance_ms(5_000);
    let (error, _) = pollster::block_on(future).unwrap().unwrap_err();
    assert_eq!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
    );
}

#[test]
fn a_fetch_fault_reaches_poll_as_a_consumption_error() {
    let (cluster, servers) = cluster_with(&[("t", 1)]);
    let producer = cluster.producer(&[("linger.ms", "0")][..]).unwrap();
    producer
        .send(kafkalite::ProducerRecord::to("t").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    let guard = cluster
        .testing()
        .faults()
        .on(Op::Fetch)
        .topic("t")
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)
        .unwrap();
    let consumer: BaseConsumer = config(&servers)
        .set("group.id", "g")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    let mut seen = Vec::new();
    for _ in 0..50 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                seen.push(Ok(message.payload().map(<[u8]>::to_vec)));
                break;
            }
            Some(Err(error)) => seen.push(Err(error)),
            None => {}
        }
    }
    assert_eq!(
        seen,
        [
            Err(KafkaError::MessageConsumption(
                RDKafkaErrorCode::TopicAuthorizationFailed
            )),
            Ok(Some(b"v".to_vec())),
        ]
    );
    assert_eq!(guard.hits(), 1);
}
