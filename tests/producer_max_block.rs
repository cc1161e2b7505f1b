//! `max.block.ms` is one budget per send, as in Kafka's `KafkaProducer.doSend`: the wait for
//! the topic to appear in the metadata takes its share, and the wait for `buffer.memory` gets
//! what is left (`remainingWaitMs`, the time `BufferPool.allocate`'s message names).

mod common;

use std::time::Duration;

use kafkalite::{Error, MockClock, NewTopic, ProducerConfig, ProducerRecord};

#[test]
fn the_wait_for_memory_gets_what_the_wait_for_the_topic_left() {
    let clock = MockClock::new(0);
    let cluster = common::without_auto_creation(&clock);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let config = ProducerConfig::new()
        .linger(Duration::ZERO)
        .batch_size(1000)
        .buffer_memory(1000)
        .max_block(Duration::from_millis(1_000));
    let producer = cluster.producer(config).unwrap();
    // All of buffer.memory held by a batch whose callback stalls the appender.
    let release = common::stall_appender(&producer, "t", 900);
    std::thread::scope(|s| {
        let sending = s.spawn(|| producer.send(ProducerRecord::to("later").value(vec![2; 900])));
        common::wait_until_a_poll_blocks(&cluster);
        clock.advance_ms(900);
        common::wait_until_a_poll_blocks(&cluster);
        cluster.create_topic(NewTopic::new("later", 1)).unwrap();
        let refused = sending.join().unwrap().unwrap_err();
        assert!(
            matches!(refused.error, Error::Timeout(_)),
            "{}",
            refused.error
        );
        assert!(
            refused
                .error
                .to_string()
                .ends_with("within the configured max blocking time 100 ms"),
            "900 of the 1,000 ms went to the metadata wait: {}",
            refused.error
        );
    });
    // A send to a topic already known gets the whole budget.
    let refused = producer
        .send(ProducerRecord::to("t").value(vec![3; 900]))
        .unwrap_err();
    assert!(
        refused
            .error
            .to_string()
            .ends_with("within the configured max blocking time 1000 ms"),
        "{}",
        refused.error
    );
    release.send(()).unwrap();
}
