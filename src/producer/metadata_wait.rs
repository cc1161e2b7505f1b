//! A send to a topic missing from the metadata waits for it, as Kafka's producer does in
//! `KafkaProducer.waitOnMetadata`: up to `max.block.ms` on the cluster clock, then
//! `Timeout("Topic T not present in metadata after N ms.")`. A topic created meanwhile (by
//! another thread or handle) is used.

use crate::sync::{AtomicBool, Ordering};
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::log::Log;

use crate::notify::far_future;

/// The topic's configuration and partition logs, waiting up to `left_ms` of the cluster's
/// clock for the topic to exist, and taking the time waited out of `left_ms` (the rest of
/// `max.block.ms` is what a wait for `buffer.memory` may then take). On a clock that does not
/// move by itself (a `MockClock`), only its jumps bring the deadline closer.
pub(super) fn topic_partitions(
    cluster: &Cluster,
    topic: &str,
    left_ms: &Cell<u64>,
    closed: &AtomicBool,
) -> Result<(Arc<TopicConfig>, Vec<Arc<Log>>)> {
    let clock = cluster.clock();
    let max_block_ms = left_ms.get();
    let start = clock.now_ms();
    let found = wait(cluster, topic, max_block_ms, closed);
    let waited = u64::try_from(clock.now_ms().saturating_sub(start)).unwrap_or(0);
    left_ms.set(max_block_ms.saturating_sub(waited));
    found
}

fn wait(
    cluster: &Cluster,
    topic: &str,
    max_block_ms: u64,
    closed: &AtomicBool,
) -> Result<(Arc<TopicConfig>, Vec<Arc<Log>>)> {
    let clock = cluster.clock();
    let budget = i64::try_from(max_block_ms).unwrap_or(i64::MAX);
    let deadline = clock.now_ms().saturating_add(budget);
    loop {
        // Read before the check, so that a topic created in between wakes the wait.
        let seen = cluster.notifier().sequence();
        // The producer's close (which notifies) ends the wait, as Kafka's close wakes it.
        if closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        match cluster.topic_partitions(topic) {
            Err(Error::UnknownTopicOrPartition(_)) => {}
            found => return found,
        }
        let now = clock.now_ms();
        if now >= deadline {
            return Err(Error::Timeout(format!(
                "Topic {topic} not present in metadata after {max_block_ms} ms."
            )));
        }
        let mut left = Duration::from_millis(u64::try_from(deadline - now).unwrap_or(0));
        if !cluster.clock_wakes() {
            // A clock that moves by itself, maybe not at real time's pace: read it again soon.
            left = left.min(RECHECK);
        }
        let until = Instant::now().checked_add(left).unwrap_or_else(far_future);
        cluster.notifier().wait_until(seen, until);
    }
}

/// How often a wait on a clock that does not wake its waiters re-reads it.
const RECHECK: Duration = Duration::from_millis(50);
