//! Consume-transform-produce, exactly once: a consumer group member reads numbers from
//! `input`, and a transactional producer writes each one doubled to `output` together with
//! the group's offsets, in one transaction per poll. Kill it at any moment and run it again:
//! `output` ends up with every input doubled exactly once (as `read_committed` readers see
//! it), and the group's offsets at the end of `input`. `tests/exactly_once_kill_loop.rs`
//! kills it hundreds of times to prove it.
//!
//! ```text
//! cargo run --example exactly_once -- ./eos-data 10000
//! ```

use std::time::Duration;

use kafkalite::{
    AutoOffsetReset, Cluster, Consumer, ConsumerConfig, Error, IsolationLevel, NewTopic,
    OffsetAndMetadata, Offsets, Producer, ProducerConfig, ProducerRecord, Result, TopicPartition,
    TransactionState,
};

const WAIT: Duration = Duration::from_secs(30);

/// Seeds `input` with `inputs` numbers once (itself in a transaction, so a kill mid-way
/// leaves none of it), then doubles what the group has not yet processed. Returns when the
/// group's committed offsets reach the end of `input`; `progress` hears each commit.
pub fn run(cluster: &Cluster, inputs: u64, mut progress: impl FnMut(u64)) -> Result<()> {
    for topic in ["input", "output"] {
        match cluster.create_topic(NewTopic::new(topic, 2)) {
            Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
            Err(error) => return Err(error),
        }
    }
    seed(cluster, inputs)?;
    let consumer = cluster.consumer(
        ConsumerConfig::with_group("doublers")
            .enable_auto_commit(false)
            .auto_offset_reset(AutoOffsetReset::Earliest)
            .isolation_level(IsolationLevel::ReadCommitted),
    )?;
    consumer.subscribe(&["input"])?;
    // One transactional id per input partition set: a restarted instance fences its
    // predecessor (if it still lived) and aborts its unfinished transaction.
    let producer = cluster.producer(ProducerConfig::new().transactional_id("doubler"))?;
    producer.init_transactions(WAIT)?;
    let inputs_end: Vec<(TopicPartition, i64)> = (0..2)
        .map(|p| {
            let tp = TopicPartition::new("input", p);
            let end = cluster.partition("input", p)?.last_stable_offset();
            Ok((tp, end))
        })
        .collect::<Result<_>>()?;
    let tps: Vec<TopicPartition> = inputs_end.iter().map(|(tp, _)| tp.clone()).collect();
    loop {
        let records = consumer.poll(Duration::from_millis(100))?;
        if records.is_empty() {
            let committed = consumer.committed(&tps)?;
            let done = inputs_end
                .iter()
                .all(|(tp, end)| committed[tp].as_ref().map_or(0, |o| o.offset) >= *end);
            if done {
                return Ok(());
            }
            // Read to the end, but the last transaction's COMMIT marker (an offset too) is
            // past the offsets committed: commit the positions, which are past it.
            let at_end = inputs_end
                .iter()
                .all(|(tp, end)| consumer.position(tp).is_ok_and(|p| p >= *end));
            if at_end {
                producer.begin_transaction()?;
                send_positions(&producer, &consumer, &tps)?;
                producer.commit_transaction(WAIT)?;
            }
            continue;
        }
        producer.begin_transaction()?;
        for record in records.iter() {
            let n: u64 = std::str::from_utf8(record.value().unwrap_or_default())
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::IllegalState("input holds a non-number".into()))?;
            producer.send(ProducerRecord::to("output").value((2 * n).to_string()))?;
        }
        send_positions(&producer, &consumer, &consumer.assignment())?;
        producer.commit_transaction(WAIT)?;
        progress(records.len() as u64);
    }
}

/// Sends the consumer's positions in `tps` to the open transaction, as Kafka's
/// `ExactlyOnceMessageProcessor` does: past the records read, and past any transaction
/// marker after them.
fn send_positions(producer: &Producer, consumer: &Consumer, tps: &[TopicPartition]) -> Result<()> {
    let offsets: Offsets = tps
        .iter()
        .map(|tp| Ok((tp.clone(), OffsetAndMetadata::new(consumer.position(tp)?))))
        .collect::<Result<_>>()?;
    let group = consumer
        .group_metadata()
        .ok_or_else(|| Error::IllegalState("not a group member".into()))?;
    producer.send_offsets_to_transaction(&offsets, &group, WAIT)
}

/// Writes `0..inputs` to `input` in one transaction, unless an earlier run committed it.
fn seed(cluster: &Cluster, inputs: u64) -> Result<()> {
    let seeded = cluster
        .describe_transaction("seeder")?
        .is_some_and(|d| d.state == TransactionState::CompleteCommit);
    if seeded {
        return Ok(());
    }
    let producer = cluster.producer(ProducerConfig::new().transactional_id("seeder"))?;
    producer.init_transactions(WAIT)?;
    producer.begin_transaction()?;
    for n in 0..inputs {
        producer.send(
            ProducerRecord::to("input")
                .key(n.to_string())
                .value(n.to_string()),
        )?;
    }
    producer.commit_transaction(WAIT)
}

#[allow(dead_code)] // The kill-loop test includes this file and calls `run` only.
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "./eos-data".into());
    let inputs: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let cluster = Cluster::open(&dir)?;
    let mut done = 0;
    run(&cluster, inputs, |n| done += n)?;
    println!("processed {done} records in this run; output holds every input doubled once");
    cluster.close()
}
