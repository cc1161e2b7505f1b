//! Topic administration: create, delete, list, describe, add partitions, alter configs,
//! delete records, list offsets.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::metadata::MetadataRecord;
use super::{leftovers, ownership, topic_name, Cluster, Topic};
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::log::{Log, LogOptions};

/// Most partitions one topic may have (directory names must stay under 255 bytes).
pub const PARTITIONS_MAX: i32 = 10_000;

/// The number of the partition at `index` in a topic's partition list (or a topic's count,
/// from the list's length). A topic has at most [`PARTITIONS_MAX`] partitions.
pub(crate) fn partition_number(index: usize) -> i32 {
    i32::try_from(index).expect("a topic has at most PARTITIONS_MAX partitions, an i32")
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Number of partitions (≥ 1).
    pub partitions: i32,
    /// Must be 1: one process holds the only replica.
    pub replication_factor: i16,
    /// Config overrides by Kafka key.
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// A topic with `partitions` partitions, replication factor 1 and Kafka's default configs.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: Vec::new(),
        }
    }
    /// Sets the replication factor (anything but 1 is rejected on create).
    pub fn replication_factor(mut self, replication_factor: i16) -> Self {
        self.replication_factor = replication_factor;
        self
    }
    /// Adds a config override, e.g. `("retention.ms", "3600000")`.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// What `describe_topic` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Kafka-style topic id (base64, 22 characters).
    pub id: String,
    /// Config overrides (keys the user set).
    pub configs: BTreeMap<String, String>,
    /// One entry per partition.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition's offsets and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Partition number.
    pub partition: i32,
    /// First readable offset.
    pub log_start_offset: i64,
    /// Offset of the next record.
    pub log_end_offset: i64,
    /// What readers may see.
    pub high_watermark: i64,
    /// Everything below is synced.
    pub durable_offset: i64,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// Number of segments.
    pub segments: usize,
}

/// Which offset `list_offset` finds (Kafka's ListOffsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (`--time -2`).
    Earliest,
    /// The high watermark (`--time -1`).
    Latest,
    /// The first offset whose timestamp is ≥ the given epoch milliseconds.
    ForTimestamp(i64),
    /// The record with the largest timestamp (`--time -3`, Kafka's `MAX_TIMESTAMP`).
    MaxTimestamp,
}

/// `InvalidTopic` for the name of one of Kafka's internal topics: only the cluster makes
/// those.
fn refuse_internal(name: &str) -> Result<()> {
    if topic_name::is_internal(name) {
        return Err(Error::InvalidTopic(format!(
            "'{name}' is reserved for internal use"
        )));
    }
    Ok(())
}

impl Cluster {
    /// Creates a topic. Errors: `InvalidTopic` (name rules, internal names, `.`/`_`
    /// collisions), `InvalidPartitions`, `InvalidReplicationFactor`, `InvalidConfig`,
    /// `TopicAlreadyExists`.
    pub fn create_topic(&self, topic: NewTopic) -> Result<()> {
        refuse_internal(&topic.name)?;
        #[cfg(feature = "testing")]
        self.fault_table().call(
            &[crate::testing::OpInfo::new(crate::testing::Op::CreateTopics).on_topic(&topic.name)],
            &crate::testing::Retry::API_CALL,
        )?;
        self.create_topic_unchecked(topic)
    }

    /// A topic made because a client named it (`auto.create.topics.enable`): as
    /// [`Cluster::create_topic`], but a broker's doing, not a `CreateTopics` call.
    pub(crate) fn auto_create_topic(&self, topic: NewTopic) -> Result<()> {
        refuse_internal(&topic.name)?;
        self.create_topic_unchecked(topic)
    }

    /// Creates one of Kafka's internal topics (`__consumer_offsets`), unless it exists.
    /// An existing one whose overrides differ (rebuilt by a repair, which could not recover
    /// them) gets the requested ones.
    pub(crate) fn ensure_internal_topic(&self, topic: NewTopic) -> Result<()> {
        debug_assert!(topic_name::is_internal(&topic.name));
        let (name, wanted) = (topic.name.clone(), topic.configs.clone());
        match self.create_topic_unchecked(topic) {
            Ok(()) => Ok(()),
            Err(Error::TopicAlreadyExists(_)) => {
                let config = self.topic_config(&name)?;
                let same = wanted.len() == config.overrides().len()
                    && wanted
                        .iter()
                        .all(|(k, v)| config.overrides().get(k) == Some(v));
                if same {
                    return Ok(());
                }
                let set: Vec<(&str, &str)> = wanted
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let unset: Vec<&str> = config
                    .overrides()
                    .keys()
                    .filter(|k| !wanted.iter().any(|(w, _)| w == *k))
                    .map(String::as_str)
                    .collect();
                self.alter_topic_config_unchecked(&name, &set, &unset)
            }
            Err(e) => Err(e),
        }
    }

    fn create_topic_unchecked(&self, topic: NewTopic) -> Result<()> {
        topic_name::validate(&topic.name)?;
        check_partition_count(topic.partitions)?;
        if topic.replication_factor != 1 {
            return Err(Error::InvalidReplicationFactor(format!(
                "replication factor must be 1 in an embedded cluster, got {}",
                topic.replication_factor
            )));
        }
        let config = Arc::new(TopicConfig::from_overrides(
            topic.configs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?);
        let _admin = self.inner.admin.lock();
        self.check_open()?;
        {
            let topics = self.inner.topics.read();
            if topics.contains_key(&topic.name) {
                return Err(Error::TopicAlreadyExists(topic.name));
            }
            let key = topic_name::collision_key(&topic.name);
            if let Some(other) = topics.keys().find(|t| topic_name::collision_key(t) == key) {
                return Err(Error::InvalidTopic(format!(
                    "topic '{}' collides with existing topic: {other}",
                    topic.name
                )));
            }
        }
        // The metadata record first, naming the topic id, then the directories: every
        // partition directory kafkalite creates belongs to a topic id the metadata log
        // knows, so that open never mistakes its own directories for foreign ones, nor
        // foreign ones for its own.
        self.clear_for_create(&topic.name, 0..topic.partitions)?;
        // A cleaner checkpoint of an earlier topic of this name must not say this one is
        // clean: forgotten before the topic exists, so that no crash can leave it in force.
        self.forget_cleaner_checkpoints(&topic.name)?;
        let id = ownership::new_uuid();
        self.append_metadata(&MetadataRecord::CreateTopic {
            name: topic.name.clone(),
            id: id.clone(),
            partitions: topic.partitions,
            configs: config.overrides().clone(),
        })?;
        let logs = match self.create_logs((&topic.name, &id), 0..topic.partitions, &config) {
            Ok(logs) => logs,
            Err(e) => {
                self.undo_create(&topic.name, &id, 0..topic.partitions);
                return Err(e);
            }
        };
        self.inner.topics.write().insert(
            topic.name,
            Topic {
                id,
                config,
                partitions: logs,
            },
        );
        self.bump_metadata_version();
        self.write_checkpoints()
    }

    /// Takes back a creation whose directories could not all be made: the topic is
    /// recorded deleted and what was made is removed (or, failing that, removed by the next
    /// open, the id being a deleted topic's).
    fn undo_create(&self, name: &str, id: &str, partitions: std::ops::Range<i32>) {
        let deleted = MetadataRecord::DeleteTopic {
            name: name.to_string(),
        };
        if self.append_metadata(&deleted).is_ok() {
            self.inner
                .deleted_ids
                .lock()
                .insert(id.to_string(), name.to_string());
        }
        for partition in partitions {
            let dir = self.inner.dir.join(format!("{name}-{partition}"));
            if ownership::partition_topic_id(&*self.inner.storage, &dir)
                .ok()
                .flatten()
                == Some(id.to_string())
            {
                let _ = ownership::remove_owned_dir(&*self.inner.storage, &dir);
            }
        }
    }

    fn create_logs(
        &self,
        (topic, id): (&str, &str),
        partitions: std::ops::Range<i32>,
        config: &Arc<TopicConfig>,
    ) -> Result<Vec<Arc<Log>>> {
        let storage = &self.inner.storage;
        let mut logs = Vec::new();
        for partition in partitions {
            let name = format!("{topic}-{partition}");
            let dir = self.inner.dir.join(&name);
            let options = LogOptions {
                name,
                recovery_point: None,
                log_start_offset: 0,
                clean_active_size: None,
                recovery_mode: self.inner.recovery_mode,
                salvage_dir: None,
            };
            self.make_partition_dir((topic, id), partition, &dir)?;
            let (log, _) = Log::open_unlocked(
                Arc::clone(storage),
                &dir,
                Arc::clone(config),
                Arc::clone(&self.inner.clock),
                options,
            )?;
            log.set_notifier(Arc::clone(&self.inner.notifier));
            logs.push(Arc::new(log));
        }
        storage.sync_dir(&self.inner.dir)?;
        Ok(logs)
    }

    /// Makes a partition's directory `dir` whole or not at all: made as
    /// `<topic>-<n>.<id>-creating`, `partition.metadata` written in it, then renamed into
    /// place (the caller syncs the data directory). A failure or a crash part way never
    /// leaves `dir` without the file that makes it the cluster's (which would refuse the
    /// topic's creation for good); what it leaves is removed now, or by the next open (its
    /// name carries a topic id the metadata log knows).
    fn make_partition_dir(
        &self,
        (topic, id): (&str, &str),
        partition: i32,
        dir: &Path,
    ) -> Result<()> {
        let storage = &*self.inner.storage;
        let making = self
            .inner
            .dir
            .join(leftovers::creating_name(topic, partition, id));
        let made = storage
            .create_dir_all(&making)
            .and_then(|()| ownership::write_partition_metadata(storage, &making, id))
            .and_then(|()| storage.rename(&making, dir));
        if made.is_err() && storage.exists(&making) {
            let _ = ownership::remove_owned_dir(storage, &making);
        }
        made
    }

    /// Makes room for new partitions' directories, before anything is recorded: a directory
    /// in the way is removed when it is a deleted topic's (a deletion that could not finish);
    /// anything else there fails the creation, untouched.
    fn clear_for_create(&self, topic: &str, partitions: std::ops::Range<i32>) -> Result<()> {
        let storage = &*self.inner.storage;
        for partition in partitions {
            let dir = self.inner.dir.join(format!("{topic}-{partition}"));
            if !storage.exists(&dir) {
                continue;
            }
            let id = ownership::partition_topic_id(storage, &dir)?;
            let deleted = id.as_ref().is_some_and(|id| {
                self.inner
                    .deleted_ids
                    .lock()
                    .get(id)
                    .is_some_and(|n| n == topic)
            });
            // Or this topic's own, holding nothing: left by a `create_partitions` that failed.
            let own = id.is_some()
                && id == self.topic_id(topic)
                && !leftovers::holds_records(storage, &dir)?;
            if (deleted || own)
                && ownership::remove_owned_dir(storage, &dir)?
                    .foreign
                    .is_empty()
            {
                continue;
            }
            return Err(Error::NotOwned {
                path: dir,
                reason: "a directory of that name exists and is not a deleted topic's, so the \
                         topic's partition cannot be created there"
                    .into(),
            });
        }
        Ok(())
    }

    fn topic_id(&self, topic: &str) -> Option<String> {
        self.inner.topics.read().get(topic).map(|t| t.id.clone())
    }

    /// Deletes a topic and its data. Readers holding fetched data keep it until they drop it.
    /// Internal topics (`__consumer_offsets`, the metadata log) cannot be deleted.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        check_not_internal(name, "deleted")?;
        let _admin = self.inner.admin.lock();
        self.check_open()?;
        if !self.inner.topics.read().contains_key(name) {
            return Err(Error::UnknownTopicOrPartition(format!(
                "topic '{name}' does not exist"
            )));
        }
        self.append_metadata(&MetadataRecord::DeleteTopic {
            name: name.to_string(),
        })?;
        let topic = self
            .inner
            .topics
            .write()
            .remove(name)
            .expect("checked under the admin lock");
        self.inner
            .deleted_ids
            .lock()
            .insert(topic.id.clone(), name.to_string());
        self.bump_metadata_version();
        let storage = &*self.inner.storage;
        for (partition, log) in topic.partitions.iter().enumerate() {
            // A cleaning must not write into the directory while it goes.
            log.stop_cleaning();
            // Closing stops writers; what close writes (indexes) is about to be removed, so
            // its failure (a full disk) does not stop the deletion that frees the space.
            if let Err(error) = log.close() {
                tracing::debug!(target: "kafkalite::cluster", "closing {}: {error}", log.name());
            }
            let doomed = self.inner.dir.join(leftovers::delete_name(
                name,
                partition_number(partition),
                &topic.id,
            ));
            storage.rename(log.dir(), &doomed)?;
            let removal = ownership::remove_owned_dir(storage, &doomed)?;
            if !removal.foreign.is_empty() {
                tracing::warn!(
                    target: "kafkalite::cluster",
                    path = %doomed.display(),
                    "deleted topic {name}'s files; left the directory, which holds files \
                     kafkalite did not write: {}",
                    removal.foreign.join(", ")
                );
            }
        }
        storage.sync_dir(&self.inner.dir)?;
        self.forget_cleaner_checkpoints(name)?;
        self.write_checkpoints()
    }

    /// The names of all topics, sorted, internal ones (`__consumer_offsets`, ...) included.
    pub fn list_topics(&self) -> Result<Vec<String>> {
        self.check_open()?;
        Ok(self.inner.topics.read().keys().cloned().collect())
    }

    /// A topic's id, configs and per-partition offsets.
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        self.check_open()?;
        let topics = self.inner.topics.read();
        let topic = topics.get(name).ok_or_else(|| {
            Error::UnknownTopicOrPartition(format!("topic '{name}' does not exist"))
        })?;
        let partitions = topic
            .partitions
            .iter()
            .enumerate()
            .map(|(p, log)| PartitionDescription {
                partition: partition_number(p),
                log_start_offset: log.log_start_offset(),
                log_end_offset: log.log_end_offset(),
                high_watermark: log.high_watermark(),
                durable_offset: log.durable_offset(),
                size_bytes: log.size_bytes(),
                segments: log.segments().len(),
            })
            .collect();
        Ok(TopicDescription {
            name: name.to_string(),
            id: topic.id.clone(),
            configs: topic.config.overrides().clone(),
            partitions,
        })
    }

    /// A topic's configuration.
    pub fn topic_config(&self, name: &str) -> Result<Arc<TopicConfig>> {
        self.check_open()?;
        self.inner
            .topics
            .read()
            .get(name)
            .map(|t| Arc::clone(&t.config))
            .ok_or_else(|| Error::UnknownTopicOrPartition(format!("topic '{name}' does not exist")))
    }

    /// Grows a topic to `total` partitions (Kafka's CreatePartitions). Fewer or equal is
    /// `InvalidPartitions`.
    pub fn create_partitions(&self, name: &str, total: i32) -> Result<()> {
        let _admin = self.inner.admin.lock();
        self.check_open()?;
        let (current, config, id) = {
            let topics = self.inner.topics.read();
            let topic = topics.get(name).ok_or_else(|| {
                Error::UnknownTopicOrPartition(format!("topic '{name}' does not exist"))
            })?;
            (
                partition_number(topic.partitions.len()),
                Arc::clone(&topic.config),
                topic.id.clone(),
            )
        };
        if total == current {
            return Err(Error::InvalidPartitions(format!(
                "Topic already has {current} partition(s)."
            )));
        }
        if total < current {
            return Err(Error::InvalidPartitions(format!(
                "Topic currently has {current} partition(s), {total} would not be an increase."
            )));
        }
        check_partition_count(total)?;
        self.clear_for_create(name, current..total)?;
        self.append_metadata(&MetadataRecord::AddPartitions {
            name: name.to_string(),
            partitions: total,
        })?;
        let logs = self.create_logs((name, &id), current..total, &config)?;
        if let Some(topic) = self.inner.topics.write().get_mut(name) {
            topic.partitions.extend(logs);
        }
        self.bump_metadata_version();
        self.write_checkpoints()
    }

    /// Sets and removes config overrides (Kafka's incremental alter); validated as a whole
    /// before anything changes.
    pub fn alter_topic_config(
        &self,
        name: &str,
        set: &[(&str, &str)],
        delete: &[&str],
    ) -> Result<()> {
        check_not_internal(name, "altered")?;
        self.alter_topic_config_unchecked(name, set, delete)
    }

    fn alter_topic_config_unchecked(
        &self,
        name: &str,
        set: &[(&str, &str)],
        delete: &[&str],
    ) -> Result<()> {
        let _admin = self.inner.admin.lock();
        self.check_open()?;
        let mut config = (*self.topic_config(name)?).clone();
        for (key, value) in set {
            config.set(key, value)?;
        }
        for key in delete {
            config.unset(key)?;
        }
        self.append_metadata(&MetadataRecord::AlterConfigs {
            name: name.to_string(),
            configs: config.overrides().clone(),
        })?;
        let config = Arc::new(config);
        if let Some(topic) = self.inner.topics.write().get_mut(name) {
            topic.config = Arc::clone(&config);
            for log in &topic.partitions {
                log.set_config(Arc::clone(&config));
            }
        }
        self.bump_metadata_version();
        Ok(())
    }

    /// Advances a partition's log start offset (Kafka's DeleteRecords; −1 means the high
    /// watermark), persists it, and deletes the whole segments now below it. Returns the new
    /// log start offset. The new start is durable before any reader sees it, so what a reader
    /// learnt of the deletion (an event store's index retiring a table) a crash cannot take
    /// back.
    pub fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Result<i64> {
        let log = self.partition(topic, partition)?;
        let start = log.delete_records_start(offset)?;
        self.inner.write_checkpoints_raising(Some((&log, start)))?;
        self.retain(&[log])?;
        Ok(start)
    }

    /// Kafka's ListOffsets for one partition: `None` when no record is at or after the
    /// timestamp.
    pub fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        spec: OffsetSpec,
    ) -> Result<Option<i64>> {
        let log = self.partition(topic, partition)?;
        Ok(match spec {
            OffsetSpec::Earliest => Some(log.log_start_offset()),
            OffsetSpec::Latest => Some(log.high_watermark()),
            OffsetSpec::ForTimestamp(ts) => log.offset_for_timestamp(ts)?.map(|(offset, _)| offset),
            OffsetSpec::MaxTimestamp => log.offset_of_max_timestamp()?.map(|(offset, _)| offset),
        })
    }
}

/// Kafka refuses to delete or reconfigure its internal topics through the admin API:
/// `__consumer_offsets` holds every group's committed offsets.
fn check_not_internal(name: &str, verb: &str) -> Result<()> {
    if topic_name::is_internal(name) {
        return Err(Error::InvalidTopic(format!(
            "'{name}' is an internal topic and cannot be {verb}: it holds the cluster's own \
             state (committed offsets, metadata)"
        )));
    }
    Ok(())
}

fn check_partition_count(partitions: i32) -> Result<()> {
    if partitions < 1 {
        return Err(Error::InvalidPartitions(format!(
            "number of partitions must be at least 1, got {partitions}"
        )));
    }
    if partitions > PARTITIONS_MAX {
        return Err(Error::InvalidPartitions(format!(
            "number of partitions {partitions} exceeds the limit of {PARTITIONS_MAX} per topic"
        )));
    }
    Ok(())
}
