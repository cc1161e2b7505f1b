//! What tests read from the kit: a topic's records, the producers' history, and whether the
//! cluster has gone quiet.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::cluster::Cluster;
use crate::config::{ConsumerConfig, IsolationLevel};
use crate::consumer::{ConsumerRecord, Offset};
use crate::error::{Error, Result};
use crate::group::{GroupState, TopicPartition};
use crate::producer::Accumulator;

/// Longest wait between looks at producers, whose deliveries notify no one.
const IDLE_RECHECK: Duration = Duration::from_millis(5);

/// Every record of `tps`, read uncommitted from each log's start to its high watermark now
/// (the fault rules do not see this read).
fn read(cluster: &Cluster, tps: &[TopicPartition]) -> Result<Vec<ConsumerRecord>> {
    super::table::bypassing(|| read_unfaulted(cluster, tps))
}

fn read_unfaulted(cluster: &Cluster, tps: &[TopicPartition]) -> Result<Vec<ConsumerRecord>> {
    let mut ends = Vec::with_capacity(tps.len());
    for tp in tps {
        ends.push((
            tp.clone(),
            cluster.partition(&tp.topic, tp.partition)?.high_watermark(),
        ));
    }
    let consumer = cluster.consumer(
        ConsumerConfig::new()
            .isolation_level(IsolationLevel::ReadUncommitted)
            .max_poll_records(10_000),
    )?;
    let assigned: Vec<(TopicPartition, Offset)> = tps
        .iter()
        .map(|tp| (tp.clone(), Offset::Beginning))
        .collect();
    consumer.assign(&assigned)?;
    let mut out = Vec::new();
    loop {
        let mut done = true;
        for (tp, end) in &ends {
            done &= consumer.position(tp)? >= *end;
        }
        if done {
            break;
        }
        let records = consumer.poll(Duration::ZERO)?;
        if let Some((_, error)) = records.errors().into_iter().next() {
            return Err(error);
        }
        out.extend(records.iter().map(|r| r.to_owned()));
    }
    consumer.close()?;
    out.retain(|r| {
        ends.iter().any(|(tp, end)| {
            *tp.topic == *r.topic && tp.partition == r.partition && r.offset < *end
        })
    });
    Ok(out)
}

pub(super) fn records(cluster: &Cluster, topic: &str) -> Result<Vec<ConsumerRecord>> {
    let partitions = cluster.describe_topic(topic)?.partitions.len();
    let tps: Vec<TopicPartition> = (0..partitions)
        .map(|p| TopicPartition::new(topic, i32::try_from(p).unwrap_or(i32::MAX)))
        .collect();
    let mut records = read(cluster, &tps)?;
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

pub(super) fn history(
    cluster: &Cluster,
    appended: &[(String, i32, i64, i64)],
) -> Result<Vec<ConsumerRecord>> {
    let tps: BTreeSet<TopicPartition> = appended
        .iter()
        .map(|(t, p, ..)| TopicPartition::new(t.as_str(), *p))
        .collect();
    // Partitions of topics deleted since have nothing left to show.
    let tps: Vec<TopicPartition> = tps
        .into_iter()
        .filter(|tp| cluster.partition(&tp.topic, tp.partition).is_ok())
        .collect();
    let mut by_offset: BTreeMap<(TopicPartition, i64), ConsumerRecord> = read(cluster, &tps)?
        .into_iter()
        .map(|r| ((TopicPartition::new(&*r.topic, r.partition), r.offset), r))
        .collect();
    let mut out = Vec::new();
    for (topic, partition, first, last) in appended {
        let tp = TopicPartition::new(topic.as_str(), *partition);
        for offset in *first..=*last {
            if let Some(record) = by_offset.remove(&(tp.clone(), offset)) {
                out.push(record);
            }
        }
    }
    Ok(out)
}

/// What is still busy: producers with records not yet delivered, groups rebalancing.
fn busy(cluster: &Cluster, producers: &Mutex<Vec<Weak<Accumulator>>>) -> Result<Vec<String>> {
    let mut busy = Vec::new();
    let producers: Vec<Arc<Accumulator>> =
        producers.lock().iter().filter_map(Weak::upgrade).collect();
    let working = producers.iter().filter(|a| !a.is_idle()).count();
    if working > 0 {
        busy.push(format!(
            "{working} producer(s) with records not yet delivered"
        ));
    }
    for group in cluster.list_groups()? {
        let state = cluster.describe_group(&group)?.state;
        if !matches!(
            state,
            GroupState::Stable | GroupState::Empty | GroupState::Dead
        ) {
            busy.push(format!("group '{group}' is {state:?}"));
        }
    }
    Ok(busy)
}

pub(super) fn wait_idle(
    cluster: &Cluster,
    producers: &Mutex<Vec<Weak<Accumulator>>>,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = cluster.notifier().sequence();
        let busy = busy(cluster, producers)?;
        if busy.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout(format!(
                "the cluster was not idle after {timeout:?}: {}; a group completes its \
                 rebalance only while its members poll, and a lingering batch waits for \
                 linger.ms on the cluster clock",
                busy.join(", ")
            )));
        }
        cluster
            .notifier()
            .wait_until(seen, deadline.min(now + IDLE_RECHECK));
    }
}
