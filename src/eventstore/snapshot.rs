//! Snapshots: per stream, the latest state an application derived from its events up to a
//! version, in a compacted companion topic (`<store>-snapshots`, the stream id as key), so
//! that loading a long stream reads the snapshot and only the events after it.

use std::sync::Arc;

use parking_lot::Mutex;

use super::index::{PartitionIndex, Visible};
use super::read::{records_at, Bound};
use super::EventStore;
use crate::cluster::NewTopic;
use crate::error::{Error, Result};
use crate::log::Log;
use crate::record::{BatchBuilder, Header};

/// Header holding the stream version a snapshot was taken at, in decimal.
pub const SNAPSHOT_VERSION_HEADER: &str = "snapshot.version";

/// A stream's state at a version, as the application stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The version of the stream's last event the snapshot covers.
    pub version: u64,
    /// The application's bytes.
    pub data: Vec<u8>,
}

/// The companion topic's logs and their key indexes.
#[derive(Debug)]
pub(super) struct Snapshots {
    pub(super) logs: Vec<Arc<Log>>,
    pub(super) indexes: Vec<Mutex<PartitionIndex>>,
}

impl EventStore {
    /// The name of the compacted topic holding this store's snapshots.
    pub fn snapshot_topic(&self) -> String {
        format!("{}-snapshots", self.shared.topic)
    }

    /// Stores `data` as `stream`'s snapshot at `version` (which the stream must have
    /// reached), replacing the one before: compaction keeps the latest per stream. Durable
    /// like the store's appends.
    pub fn write_snapshot(
        &self,
        stream: &str,
        version: u64,
        data: impl Into<Vec<u8>>,
    ) -> Result<()> {
        match self.stream_version(stream)? {
            Some(last) if version <= last => {}
            actual => {
                return Err(Error::InvalidRecord(format!(
                    "a snapshot of stream '{stream}' at version {version}, but the stream {}: snapshot a version it has",
                    actual.map_or("has no events".to_string(), |v| format!("is at version {v}"))
                )))
            }
        }
        let snapshots = self.snapshots()?;
        let log = &snapshots.logs[self.snapshot_slot(stream, &snapshots)];
        let version = version.to_string();
        let header = Header {
            key: SNAPSHOT_VERSION_HEADER.as_bytes(),
            value: Some(version.as_bytes()),
        };
        let mut builder = BatchBuilder::new();
        builder.append(
            self.now_ms(),
            Some(stream.as_bytes()),
            Some(&data.into()),
            &[header],
        )?;
        log.append(&builder.build()?)?;
        Ok(())
    }

    /// The latest snapshot of `stream`, if one was written. Load the stream with it, then
    /// [`EventStore::read_stream`] from the version after it.
    pub fn read_snapshot(&self, stream: &str) -> Result<Option<Snapshot>> {
        let snapshots = self.snapshots()?;
        let slot = self.snapshot_slot(stream, &snapshots);
        let log = &snapshots.logs[slot];
        let location = super::indexed(&snapshots.indexes[slot], log, |index| {
            let runs = index.runs(stream)?;
            // The newest snapshot readers may see (one not yet synced may be indexed).
            let visible = index.visible(stream, &runs, log.last_stable_offset(), 0)?;
            let Visible::Versions { last, .. } = visible else {
                return Ok(None);
            };
            let found = index.locations(stream, &runs, last..last + 1)?;
            Ok(found.and_then(|l| l.first().copied()))
        })?;
        let mut found = None;
        if let Some(location) = location {
            records_at(log, &[location], Bound::HighWatermark, |record| {
                let version = record
                    .headers()
                    .find(|h| h.key == SNAPSHOT_VERSION_HEADER.as_bytes())
                    .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok());
                found = version.map(|version| Snapshot {
                    version,
                    data: record.value.unwrap_or_default().to_vec(),
                });
                Ok(())
            })?;
        }
        Ok(found)
    }

    /// The companion topic, made (compacted, as many partitions as the store, as durable)
    /// on first use, and again after it was deleted.
    fn snapshots(&self) -> Result<Arc<Snapshots>> {
        // One whose topic was deleted has closed logs: it is made again.
        let open = |s: &&Arc<Snapshots>| s.logs.iter().all(|l| !l.is_closed());
        if let Some(snapshots) = self.shared.snapshots.lock().as_ref().filter(open) {
            return Ok(Arc::clone(snapshots));
        }
        let name = self.snapshot_topic();
        if self.cluster.topic_partitions(&name).is_err() {
            let durable = self.shared.logs[0].config().sync_every_append();
            let mut topic =
                NewTopic::new(name.clone(), self.partitions()).config("cleanup.policy", "compact");
            if durable {
                topic = topic.config("flush.messages", "1");
            }
            match self.cluster.create_topic(topic) {
                Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
                Err(Error::InvalidTopic(why)) => {
                    return Err(Error::InvalidTopic(format!(
                        "event store '{}' keeps its snapshots in topic '{name}', which cannot \
                         be made ({why}): give the store another name",
                        self.shared.topic
                    )))
                }
                Err(error) => return Err(error),
            }
        }
        let (config, logs) = self.cluster.topic_partitions(&name)?;
        if !config.cleanup_compact {
            // Not one this store made: snapshots in it would pile up, and may not be ours.
            return Err(Error::InvalidConfig {
                key: "cleanup.policy".into(),
                message: format!(
                    "topic '{name}' exists without cleanup.policy=compact, so it cannot hold \
                     the snapshots of event store '{}': delete or rename it, or make it compacted",
                    self.shared.topic
                ),
                suggestion: None,
            });
        }
        let made = Arc::new(Snapshots {
            indexes: logs
                .iter()
                .map(|_| Mutex::new(PartitionIndex::new(self.shared.index_table_events)))
                .collect(),
            logs,
        });
        // Made without the lock (making a topic takes the cluster's); a handle that made
        // one meanwhile wins, so that every handle shares one index per partition.
        let mut slot = self.shared.snapshots.lock();
        if let Some(snapshots) = slot.as_ref().filter(open) {
            return Ok(Arc::clone(snapshots));
        }
        *slot = Some(Arc::clone(&made));
        Ok(made)
    }

    fn snapshot_slot(&self, stream: &str, snapshots: &Snapshots) -> usize {
        let partitions = i32::try_from(snapshots.logs.len()).unwrap_or(i32::MAX);
        super::slot(crate::producer::partition_for_key(
            stream.as_bytes(),
            partitions,
        ))
    }
}
