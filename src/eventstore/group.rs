//! Competing consumers: the members of a consumer group share a store's partitions (Kafka's
//! group protocol and assignors), each event goes to one member, and the group's committed
//! offsets are its checkpoint, as with KurrentDB's persistent subscriptions.

use std::time::Duration;

use super::event::{Position, RecordedEvent};
use super::name::Names;
use super::EventStore;
use crate::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
use crate::consumer::{CommitMode, Consumer, Offset};
use crate::error::Result;
use crate::group::TopicPartition;

/// A member of a consumer group reading a store's events (from
/// [`EventStore::subscribe_group`]).
#[derive(Debug)]
pub struct GroupSubscription {
    store: EventStore,
    consumer: Consumer,
}

impl EventStore {
    /// Joins consumer group `group` on this store: the group's members share the store's
    /// partitions, so each event is delivered to one of them, in order within its
    /// partition (and so within its stream). A new group starts from the first event; after
    /// that, from the group's committed offsets. Offsets are committed by
    /// [`GroupSubscription::commit`] only (at-least-once: what was polled and not committed
    /// is delivered again after a rebalance or restart). For other settings (a rebalance
    /// listener, static membership, ...), pass a `ConsumerConfig` to
    /// [`EventStore::subscribe_group_with`].
    pub fn subscribe_group(&self, group: &str) -> Result<GroupSubscription> {
        let config = ConsumerConfig::with_group(group)
            .enable_auto_commit(false)
            .auto_offset_reset(AutoOffsetReset::Earliest);
        self.subscribe_group_with(config)
    }

    /// [`EventStore::subscribe_group`] with a consumer configured by `config` (which names
    /// the group); `read_committed` is set, so that it delivers what the store's own reads
    /// see: no record of a transaction another producer aborted on the store's topic, and
    /// none of one still open.
    pub fn subscribe_group_with(&self, config: ConsumerConfig) -> Result<GroupSubscription> {
        let consumer = self
            .cluster
            .consumer(config.isolation_level(IsolationLevel::ReadCommitted))?;
        consumer.subscribe(&[self.topic()])?;
        Ok(GroupSubscription {
            store: self.clone(),
            consumer,
        })
    }
}

impl GroupSubscription {
    /// The next events of this member's partitions (waiting up to `timeout`), with their
    /// stream versions; rebalances run inside, as in Kafka's `poll`. Records without a UTF-8
    /// key (not events) are skipped, as are records of partitions added to the topic after
    /// the store first opened it (not the store's: see [`super::EventStoreConfig::partitions`]),
    /// with a warning.
    pub fn poll(&self, timeout: Duration) -> Result<Vec<RecordedEvent>> {
        let records = self.consumer.poll(timeout)?;
        // Per partition: the first offset polled, and the events.
        let mut by_partition: Vec<(i32, i64, Vec<RecordedEvent>)> = Vec::new();
        let (mut streams, mut names) = (Names::default(), Names::default());
        let mut not_the_stores = 0;
        for record in records.iter() {
            if record.partition() >= self.store.partitions() {
                not_the_stores += 1;
                continue;
            }
            if !by_partition.iter().any(|(p, ..)| *p == record.partition()) {
                by_partition.push((record.partition(), record.offset(), Vec::new()));
            }
            let Some(stream) = record.key().and_then(|k| std::str::from_utf8(k).ok()) else {
                continue;
            };
            let position = Position {
                partition: record.partition(),
                offset: record.offset(),
            };
            let data = record.value().unwrap_or_default();
            let event = RecordedEvent::from_parts(
                &streams.get(stream.as_bytes()),
                0,
                position,
                record.timestamp(),
                data,
                record.headers(),
                &mut names,
            );
            if let Some((.., events)) = by_partition
                .iter_mut()
                .find(|(p, ..)| *p == position.partition)
            {
                events.push(event);
            }
        }
        if not_the_stores > 0 {
            tracing::warn!(
                target: "kafkalite::eventstore",
                "{}: {not_the_stores} records skipped in partitions {} and up, added to the topic after the event store first opened it (they are not the store's events)",
                self.store.topic(),
                self.store.partitions()
            );
        }
        let versioned = by_partition
            .iter_mut()
            .try_for_each(|(partition, _, part)| self.store.set_versions(*partition, part));
        if let Err(error) = versioned {
            // Nothing polled may be lost: back to the first offset polled, so that the
            // next poll delivers these again and a commit does not pass them.
            // Every partition, whatever one seek answers (a closed consumer: no commit
            // passes them either); the versions' error is the one returned.
            for (partition, first, _) in &by_partition {
                let tp = TopicPartition::new(self.store.topic(), *partition);
                if let Err(seek) = self.consumer.seek(&tp, Offset::At(*first)) {
                    tracing::warn!(
                        target: "kafkalite::eventstore",
                        "{tp}: could not go back to offset {first} after a failed poll: {seek}"
                    );
                }
            }
            return Err(error);
        }
        Ok(by_partition
            .into_iter()
            .flat_map(|(.., part)| part)
            .collect())
    }

    /// Commits the group's offsets past every event polled so far, synchronously.
    pub fn commit(&self) -> Result<()> {
        self.consumer.commit(CommitMode::Sync)
    }

    /// The consumer underneath (assignment, committed offsets, lag, `close`).
    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }
}
