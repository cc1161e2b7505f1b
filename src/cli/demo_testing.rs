//! The demo's test-kit step: fault rules a test would set on a cluster of its own (on a mock
//! clock), and what the clients see through them.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use kafkalite::testing::Op;
use kafkalite::{Cluster, ConsumerConfig, ErrorCode, MockClock, NewTopic, ProducerRecord};

use super::CliResult;

/// A retriable produce failure the producer rides out, a delay on the mock clock, a
/// non-retriable one it reports, and a forced rebalance.
pub fn run(out: &mut dyn Write) -> CliResult {
    writeln!(
        out,
        "-- test kit: faults a test injects (a temporary cluster on a mock clock)"
    )?;
    let clock = MockClock::new(0);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .temporary()?;
    cluster.create_topic(NewTopic::new("orders", 2))?;
    let producer = cluster.producer(&[("linger.ms", "0")][..])?;
    let faults = cluster.testing().faults();

    let flaky = faults
        .on(Op::Produce)
        .topic("orders")
        .fail_next(3, ErrorCode::NotEnoughReplicas)?;
    let meta = producer
        .send(ProducerRecord::to("orders").key("o-1").value("created"))?
        .wait()?;
    writeln!(
        out,
        "   3 × NotEnoughReplicas (retriable): retried by the producer, stored once at \
         orders[{}]@{} after {} failed attempts",
        meta.partition,
        meta.offset,
        flaky.hits()
    )?;
    drop(flaky);

    let slow = faults.on(Op::Produce).delay(Duration::from_secs(2))?;
    let mut pending = producer.send(ProducerRecord::to("orders").key("o-2").value("paid"))?;
    slow.wait_hits(1, Duration::from_secs(30));
    let before = pending.try_get().is_some();
    clock.advance_ms(2_000);
    let meta = pending.wait()?;
    writeln!(
        out,
        "   a 2 s delay on the mock clock: delivered before the clock moved: {before}; \
         after: orders[{}]@{}",
        meta.partition, meta.offset
    )?;
    drop(slow);

    let _denied = faults
        .on(Op::Produce)
        .fail_next(1, ErrorCode::TopicAuthorizationFailed)?;
    let failed = producer
        .send(ProducerRecord::to("orders").value("refused"))?
        .wait();
    if let Err(error) = failed {
        writeln!(out, "   a non-retriable code fails the delivery: {error}")?;
    }

    let consumer = cluster.consumer(ConsumerConfig::new().group_id("demo-kit"))?;
    consumer.subscribe(&["orders"])?;
    consumer.poll(Duration::ZERO)?;
    let generation = cluster.describe_group("demo-kit")?.generation;
    cluster.testing().force_rebalance("demo-kit")?;
    consumer.poll(Duration::ZERO)?;
    writeln!(
        out,
        "   force_rebalance: group demo-kit went from generation {generation} to {}, \
         and the history holds {} records",
        cluster.describe_group("demo-kit")?.generation,
        cluster.testing().history()?.len()
    )?;
    consumer.close()?;
    producer.close(Duration::from_secs(30))?;
    cluster.close()?;
    Ok(())
}
