//! What a send may wait for, within one `max.block.ms` (Kafka's `KafkaProducer.doSend`): its
//! topic (looked up in this thread's cache, created when the cluster auto-creates topics, or
//! awaited), then `buffer.memory`, which gets what the topic's wait left.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::{PartitionQueue, TopicState};
use super::client::Inner;
use super::metrics::Api;
use crate::cluster::NewTopic;
use crate::error::{Error, Result};
use crate::notify::far_future;
use crate::sync::Ordering;

crate::sync::thread_local_const! {
    /// (producer, metadata version, topic) of this thread's last send.
    pub(super) static LAST_TOPIC: std::cell::RefCell<Option<(u64, u64, Arc<TopicState>)>> =
        std::cell::RefCell::new(None);
}

/// Whether a send may block, and for how much longer: Kafka's `max.block.ms` is one budget
/// for the wait on the topic's metadata and then the wait for `buffer.memory`.
pub(super) struct Block {
    blocking: bool,
    left_ms: Cell<u64>,
}

impl Block {
    pub(super) fn new(blocking: bool, max_block_ms: u64) -> Block {
        Block {
            blocking,
            left_ms: Cell::new(max_block_ms),
        }
    }
}

impl Inner {
    /// Reserves `reserve` bytes of `buffer.memory` when none were free at once: fails
    /// without `blocking`, else waits up to `max.block.ms` (called without the partition's
    /// lock).
    pub(super) fn reserve_blocking(&self, reserve: usize, blocking: &Block) -> Result<()> {
        if !blocking.blocking {
            return Err(Error::QueueFull(format!(
                "buffer.memory ({} bytes) is in use",
                self.config.buffer_memory
            )));
        }
        if super::appender::on_appender_thread() {
            // Only the appender can free memory, and it is running this callback.
            return Err(Error::WouldDeadlock("a send waiting for buffer.memory"));
        }
        // Memory is short: make every open batch sendable so the appender frees some.
        self.accumulator.seal_all();
        // What the wait for the topic's metadata left of max.block.ms (Kafka's
        // `remainingWaitMs`, which its message names as the max blocking time).
        let left_ms = blocking.left_ms.get();
        let wait = Duration::from_millis(left_ms);
        let deadline = Instant::now().checked_add(wait).unwrap_or_else(far_future);
        if !self.accumulator.pool.reserve(reserve, deadline) {
            return Err(Error::Timeout(format!(
                "failed to allocate {reserve} bytes within the configured max blocking time {left_ms} ms"
            )));
        }
        Ok(())
    }

    /// Makes `name` this thread's cached topic (in `LAST_TOPIC`), refreshed when the
    /// cluster's metadata changed; a missing topic is created when the cluster allows it.
    /// Returns the topic itself only when the cache is in use further up this thread's stack
    /// (a send from inside a custom partitioner).
    pub(super) fn cache_topic(
        &self,
        name: &str,
        blocking: &Block,
    ) -> Result<Option<Arc<TopicState>>> {
        let version = self.cluster.metadata_version();
        let producer = self.id;
        let cached = LAST_TOPIC.with(|last| {
            last.borrow()
                .as_ref()
                .is_some_and(|(p, v, t)| *p == producer && *v == version && &*t.name == name)
        });
        if cached {
            return Ok(None);
        }
        let topic = self.lookup_topic(name, version, blocking)?;
        LAST_TOPIC.with(|last| match last.try_borrow_mut() {
            Ok(mut last) => {
                *last = Some((producer, version, topic));
                Ok(None)
            }
            Err(_) => Ok(Some(topic)),
        })
    }

    pub(super) fn lookup_topic(
        &self,
        name: &str,
        version: u64,
        blocking: &Block,
    ) -> Result<Arc<TopicState>> {
        let accumulator = &self.accumulator;
        if accumulator.topics_version.load(Ordering::Acquire) == version {
            if let Some(topic) = accumulator.topics.read().get(name) {
                return Ok(Arc::clone(topic));
            }
        }
        let (config, logs) = match self.cluster.topic_partitions(name) {
            Err(Error::UnknownTopicOrPartition(_))
                if self.cluster.auto_create_topics().is_none() =>
            {
                if !blocking.blocking || super::appender::on_appender_thread() {
                    // try_send never blocks; a callback on the appender thread must not
                    // hold up every other delivery.
                    return Err(Error::UnknownTopicOrPartition(format!(
                        "topic '{name}' does not exist"
                    )));
                }
                let start = Instant::now();
                let found = super::metadata_wait::topic_partitions(
                    &self.cluster,
                    name,
                    &blocking.left_ms,
                    &self.closed,
                )?;
                self.metrics.spent(Api::MetadataWait, start);
                found
            }
            Err(Error::UnknownTopicOrPartition(_)) => {
                let partitions = self.cluster.auto_create_topics().expect("checked");
                match self
                    .cluster
                    .auto_create_topic(NewTopic::new(name, partitions))
                {
                    Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
                    Err(e) => return Err(e),
                }
                self.cluster.topic_partitions(name)?
            }
            other => other?,
        };
        let mut topics = accumulator.topics.write();
        let old = topics
            .get(name)
            .map(|t| t.queues.clone())
            .unwrap_or_default();
        let queues = (0..logs.len())
            .map(|p| {
                old.get(p)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(PartitionQueue::default()))
            })
            .collect();
        let state = Arc::new(TopicState {
            name: Arc::from(name),
            config,
            logs,
            queues,
        });
        topics.insert(name.to_string(), Arc::clone(&state));
        accumulator.topics_version.store(version, Ordering::Release);
        Ok(state)
    }
}
