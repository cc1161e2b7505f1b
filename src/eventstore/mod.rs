//! The event store: streams of events on a topic, with optimistic concurrency (append only
//! if the stream is at the expected version), exact idempotence by event id, reads of one
//! stream both ways without scanning the log, and catch-up subscriptions.
//!
//! A stream is a key: its events are records of the store's topic with the stream id as key
//! (so one stream lives in one partition, by Kafka's murmur2 partitioner) and the event type,
//! id, version, content type and metadata in headers. Every Kafka consumer and tool reads
//! them as plain records, and records plain producers write with a key count as events of
//! that stream.

mod across;
mod append;
mod event;
mod group;
mod index;
mod index_file;
mod index_tables;
mod name;
mod read;
mod snapshot;
mod store_file;
mod subscription;
#[cfg(feature = "serde")]
mod typed;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use append::{AppendResult, StreamAppend};
pub use event::{
    EventData, EventId, Position, RecordedEvent, CONTENT_TYPE_HEADER, ID_HEADER, METADATA_HEADER,
    TYPE_HEADER, VERSION_HEADER,
};
pub use group::GroupSubscription;
pub use name::Name;
pub use read::{Direction, ReadStreamResult, StreamPosition};
pub use snapshot::{Snapshot, SNAPSHOT_VERSION_HEADER};
pub use subscription::{
    AllStart, Checkpoint, StreamStart, Subscription, SubscriptionFilter, SubscriptionMessage,
};

use crate::cluster::{Cluster, NewTopic};
use crate::error::{Error, Result};
use crate::log::Log;
use index::PartitionIndex;

/// How an event store's topic is made, when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStoreConfig {
    partitions: i32,
    durable: bool,
    topic_configs: Vec<(String, String)>,
    index_table_events: usize,
}

/// How many events a partition's stream index holds in memory, by default, before
/// it writes them to a table file.
pub const DEFAULT_INDEX_TABLE_EVENTS: usize = 1 << 18;

impl Default for EventStoreConfig {
    /// One partition (one order over every event), durable.
    fn default() -> Self {
        EventStoreConfig {
            partitions: 1,
            durable: true,
            topic_configs: Vec::new(),
            index_table_events: DEFAULT_INDEX_TABLE_EVENTS,
        }
    }
}

impl EventStoreConfig {
    /// The default: one partition, durable.
    pub fn new() -> Self {
        EventStoreConfig::default()
    }

    /// The number of partitions of a topic the store makes: more spreads appends over more
    /// files (streams are hashed onto them); one keeps a single order over every event. The
    /// store keeps the count its topic has when it first opens it: partitions added to the
    /// topic afterwards are not the store's (they would move streams).
    pub fn partitions(mut self, partitions: i32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Whether an append returns only once its events are synced to disk (the default; the
    /// topic gets `flush.messages=1`, and concurrent appends share one sync). Off, appends
    /// land in the page cache as Kafka's do, and survive a crash of the process but not of
    /// the machine.
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// How many events each partition's stream index holds in memory before it
    /// writes them to a table file in the partition's directory (default
    /// [`DEFAULT_INDEX_TABLE_EVENTS`], about 12 bytes of memory per event plus each
    /// stream's name). Tables are checked when used, dropped and rebuilt from the log on
    /// any doubt, and merged as they pile up, so that neither the memory nor the time to
    /// open a store grows with its history. Applies to the store's first handle in a
    /// cluster; 0 counts as 1 (a table every event).
    pub fn index_table_events(mut self, events: usize) -> Self {
        self.index_table_events = events.max(1);
        self
    }

    /// Any other topic configuration (`retention.ms`, `segment.bytes`, ...).
    pub fn topic_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.topic_configs.push((key.into(), value.into()));
        self
    }

    /// Refuses a topic configuration that undoes `durable(true)`: `flush.messages` other
    /// than 1 would let an append return before its events are synced.
    fn check(&self) -> Result<()> {
        let flush = self
            .topic_configs
            .iter()
            .rev()
            .find(|(k, _)| k == "flush.messages");
        match flush {
            Some((key, value)) if self.durable && value.trim().parse::<i64>() != Ok(1) => {
                Err(Error::InvalidConfig {
                    key: key.clone(),
                    message: format!(
                        "{key}={value} contradicts a durable event store, whose appends return \
                         only once synced (flush.messages=1): leave it out, or make the store \
                         durable(false)"
                    ),
                    suggestion: None,
                })
            }
            _ => Ok(()),
        }
    }
}

/// An event store on one topic of a cluster. Cheap to clone; every handle on the same topic in
/// one cluster shares one stream index per partition.
#[derive(Clone)]
pub struct EventStore {
    cluster: Cluster,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("topic", &self.shared.topic)
            .field("partitions", &self.shared.logs.len())
            .finish()
    }
}

/// What every handle on one store shares.
#[derive(Debug)]
struct Shared {
    topic: String,
    logs: Vec<Arc<Log>>,
    /// Per partition; held across an append's check and write.
    indexes: Vec<Mutex<PartitionIndex>>,
    /// The snapshot topic, on first use.
    snapshots: Mutex<Option<Arc<snapshot::Snapshots>>>,
    /// The stream indexes' [`EventStoreConfig::index_table_events`].
    index_table_events: usize,
    /// The store's transactional producer, once an append spans partitions; held across
    /// such an append.
    producer: Mutex<Option<across::StoreProducer>>,
}

/// The stores of one cluster, by topic.
#[derive(Debug, Default)]
struct Stores {
    by_topic: Mutex<HashMap<String, Arc<Shared>>>,
    /// Set once the close hook is registered.
    hooked: std::sync::OnceLock<()>,
}

impl Stores {
    /// Writes each index's tail to a table (see [`index_tables`]).
    fn write_tails(&self) {
        for shared in self.by_topic.lock().values() {
            let snapshots = shared.snapshots.lock().clone();
            let indexes = shared
                .indexes
                .iter()
                .zip(&shared.logs)
                .chain(snapshots.iter().flat_map(|s| s.indexes.iter().zip(&s.logs)));
            for (index, log) in indexes {
                if !log.is_closed() {
                    index.lock().write_tail(log);
                }
            }
        }
    }
}

impl Cluster {
    /// The event store on topic `name`, made with `config` if the topic does not exist.
    /// An existing topic is used as it is (its partitions and durability included), except
    /// partitions added to it after the store first opened it (see
    /// [`EventStoreConfig::partitions`]). A damaged record of the store's partition count is
    /// `Error::Corruption`.
    pub fn event_store(&self, name: &str, config: EventStoreConfig) -> Result<EventStore> {
        if crate::cluster::is_internal_topic(name) {
            // Its records are the cluster's own (group offsets, transaction states).
            return Err(Error::InvalidTopic(format!(
                "'{name}' is reserved for internal use: give the event store another name"
            )));
        }
        config.check()?;
        let stores = self.service(|| Ok(Stores::default()))?;
        if stores.hooked.set(()).is_ok() {
            // At a clean close, each index's tail goes to a table: the next open then reads
            // no records to rebuild it.
            let closing = Arc::clone(&stores);
            self.before_close(move || closing.write_tails());
        }
        let mut stores = stores.by_topic.lock();
        if let Some(shared) = stores
            .get(name)
            .filter(|s| s.logs.iter().all(|l| !l.is_closed()))
        {
            return Ok(EventStore {
                cluster: self.clone(),
                shared: Arc::clone(shared),
            });
        }
        if self.topic_partitions(name).is_err() {
            let mut topic = NewTopic::new(name, config.partitions);
            if config.durable {
                topic = topic.config("flush.messages", "1");
            }
            for (key, value) in &config.topic_configs {
                topic = topic.config(key.clone(), value.clone());
            }
            match self.create_topic(topic) {
                Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
                Err(error) => return Err(error),
            }
        }
        let (_, mut logs) = self.topic_partitions(name)?;
        let count = store_file::store_partitions(&logs[0], logs.len())?;
        logs.truncate(count);
        let shared = Arc::new(Shared {
            topic: name.to_string(),
            indexes: logs
                .iter()
                .map(|_| Mutex::new(PartitionIndex::new(config.index_table_events)))
                .collect(),
            logs,
            snapshots: Mutex::new(None),
            index_table_events: config.index_table_events,
            producer: Mutex::new(None),
        });
        stores.insert(name.to_string(), Arc::clone(&shared));
        Ok(EventStore {
            cluster: self.clone(),
            shared,
        })
    }
}

impl EventStore {
    /// The topic holding the events.
    pub fn topic(&self) -> &str {
        &self.shared.topic
    }

    /// The number of partitions the store places streams over: its topic's when the store
    /// first opened it (partitions added to the topic since are not the store's).
    pub fn partitions(&self) -> i32 {
        i32::try_from(self.shared.logs.len()).unwrap_or(i32::MAX)
    }

    /// The partition that holds `stream` (Kafka's murmur2 of the key over the store's
    /// partitions, as any Kafka producer would pick while the topic has no more).
    pub fn partition_of(&self, stream: &str) -> i32 {
        crate::producer::partition_for_key(stream.as_bytes(), self.partitions())
    }

    /// The version of the stream's last event, `None` if it has none: what an aggregate
    /// about to append would expect. A stream whose events retention removed keeps its
    /// version (see the README's event-sourcing section for the limits).
    ///
    /// In a durable store, a version whose event another thread is still syncing is
    /// answered once the sync is done, so that a read that follows returns that event.
    pub fn stream_version(&self, stream: &str) -> Result<Option<u64>> {
        let partition = self.partition_of(stream);
        let log = self.log(partition);
        let (version, seen) = indexed(self.index(partition), log, |index| {
            Ok((index.version(stream)?, index.next_offset))
        })?;
        self.visible_through(partition, seen)?;
        Ok(version)
    }

    /// What the stream index of `partition` holds, after following the log.
    pub fn index_stats(&self, partition: i32) -> Result<IndexStats> {
        let log = self.checked_log(partition)?;
        indexed(self.index(partition), log, |index| Ok(index.stats()))
    }

    fn log(&self, partition: i32) -> &Arc<Log> {
        &self.shared.logs[slot(partition)]
    }

    fn checked_log(&self, partition: i32) -> Result<&Arc<Log>> {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.shared.logs.get(p))
            .ok_or_else(|| {
                Error::UnknownTopicOrPartition(format!(
                    "{}-{partition}: the event store has partitions 0 to {} (partitions added to its topic afterwards are not the store's: they would move streams)",
                    self.shared.topic,
                    self.shared.logs.len() - 1
                ))
            })
    }

    fn index(&self, partition: i32) -> &Mutex<PartitionIndex> {
        &self.shared.indexes[slot(partition)]
    }

    fn now_ms(&self) -> i64 {
        self.cluster.clock().now_ms()
    }
}

/// What one partition's stream index holds, and what it found wrong
/// ([`EventStore::index_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexStats {
    /// Every record below this offset is indexed.
    pub indexed_to: i64,
    /// The table files in use, oldest first: the offsets each covers, `[from, to)`.
    pub tables: Vec<(i64, i64)>,
    /// Events in the tables.
    pub table_events: u64,
    /// Events held in memory (not in a table yet).
    pub memory_events: usize,
    /// Table files removed as wrong or unfinished since the store was opened, each with
    /// why; their offsets were indexed again from the log.
    pub dropped: Vec<String>,
}

/// How often [`EventStore::visible_through`] looks again without a notification.
const VISIBLE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

impl EventStore {
    /// Waits until readers of `partition` see every record below `end`. An answer drawn
    /// from the index (a version, a conflict's actual version, a recognized retry) may
    /// count an event another writer has appended but not yet synced, which a durable
    /// store's readers do not see yet, or a transaction whose COMMIT marker is still being
    /// written (the log publishes the transaction's end before it moves the log end); it is
    /// given only once readers see it, so that no answer runs ahead of `read_stream` (the
    /// store stays linearizable). Called outside the index lock, so the wait shares the
    /// writers' sync.
    fn visible_through(&self, partition: i32, end: i64) -> Result<()> {
        let log = self.log(partition);
        let notifier = self.cluster.notifier();
        loop {
            let notified = notifier.sequence();
            if log.last_stable_offset() >= end {
                return Ok(());
            }
            let (durable, log_end) = (log.durable_offset(), log.log_end_offset());
            if durable < end.min(log_end) {
                log.sync_to(end.min(log_end))?;
            } else if durable < log_end {
                // A marker past `end` decides what lies below it.
                log.sync()?;
            } else {
                // A marker still being written: its append notifies.
                notifier.wait_until(notified, std::time::Instant::now() + VISIBLE_POLL);
            }
        }
    }
}

/// Runs `f` on `index` once it has followed `log` (see [`PartitionIndex::followed`]).
fn indexed<T>(
    index: &Mutex<PartitionIndex>,
    log: &Log,
    f: impl FnMut(&PartitionIndex) -> Result<T>,
) -> Result<T> {
    index.lock().followed(log, f)
}

/// The slot of a partition number the store handed out (in `0..partitions`).
fn slot(partition: i32) -> usize {
    partition.unsigned_abs() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::BatchBuilder;

    fn one_record() -> Vec<u8> {
        let mut batch = BatchBuilder::new();
        batch.append(0, Some(b"k"), Some(b"v"), &[]).unwrap();
        batch.build().unwrap()
    }

    /// The wait answers only once readers see below `end`, however the log gets there: here
    /// by an append made while it waits (as a transaction's COMMIT marker is, after the
    /// transaction's end was published).
    #[test]
    fn visible_through_waits_for_readers_to_see_below_the_end() {
        let cluster = Cluster::temporary().unwrap();
        let store = cluster
            .event_store("visible", EventStoreConfig::new())
            .unwrap();
        let log = Arc::clone(store.log(0));
        log.append(&one_record()).unwrap();
        let end = log.log_end_offset() + 1;
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| {
                store.visible_through(0, end).unwrap();
                log.last_stable_offset()
            });
            while cluster.notifier().parked() == 0 && !waiter.is_finished() {
                std::thread::yield_now();
            }
            log.append(&one_record()).unwrap();
            assert!(waiter.join().unwrap() >= end);
        });
    }
}
