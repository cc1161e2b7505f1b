//! Opening a data directory, once it is checked and locked: read the checkpoints, open and
//! replay the metadata log, settle the cluster's identity (`meta.properties` against the
//! metadata log), open every partition of every live topic (each checked against its
//! `partition.metadata`), and sort what else the directory holds (`leftovers`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::metadata::MetadataRecord;
use super::ownership::{self, Found, PartitionOwner, METADATA_TOPIC_ID};
use super::rebuild;
use super::report::OpenReport;
use super::{
    leftovers, metadata_config, topic_name, ClusterBuilder, Topic, CLEAN_SHUTDOWN_FILE,
    LOG_START_FILE, RECOVERY_POINT_FILE,
};
use crate::clock::Clock;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::log::checkpoint::{self, CheckpointMap};
use crate::log::{Log, LogOptions, RecoveryMode};
use crate::notify::Notifier;
use crate::storage::Storage;

/// Everything an open loads before the cluster handle exists.
pub(super) struct Loaded {
    pub topics: BTreeMap<String, Topic>,
    pub deleted_ids: BTreeMap<String, String>,
    pub metadata: Arc<Log>,
    pub cluster_id: String,
    pub notifier: Arc<Notifier>,
    /// The end of the highest producer-id block the metadata log reserved.
    pub producer_ids_end: i64,
}

impl Loaded {
    /// Loads the locked directory `dir`, which [`ownership::check`] found as `found`.
    pub fn load(
        options: &ClusterBuilder,
        dir: &Path,
        found: Found,
        report: &mut OpenReport,
    ) -> Result<Loaded> {
        let storage = &*options.storage;
        let clean_sizes = read_clean_marker(storage, dir)?;
        // A damaged recovery-point file only costs time: every log is then recovered from
        // its start, as Kafka does. A damaged log-start file is an error, since guessing
        // would bring back deleted records.
        let recovery_points = match checkpoint::read(storage, &dir.join(RECOVERY_POINT_FILE)) {
            Err(Error::Corruption { .. }) => CheckpointMap::new(),
            read => read?,
        };
        let repairing = options.recovery_mode == RecoveryMode::TruncateCorrupt;
        let log_starts = match read_log_starts(storage, dir) {
            // Repairing: every log starts at its oldest segment, as Kafka does.
            Err(Error::Corruption { .. }) if repairing => CheckpointMap::new(),
            read => read?,
        };
        let notifier = Arc::new(Notifier::default());
        let opener = LogOpener {
            notifier: &notifier,
            storage: &options.storage,
            dir,
            clock: &options.clock,
            clean_sizes: &clean_sizes,
            recovery_points: &recovery_points,
            log_starts: &log_starts,
            mode: options.recovery_mode,
        };
        let metadata_topic = (topic_name::METADATA_TOPIC, METADATA_TOPIC_ID);
        let metadata = opener.open(metadata_topic, 0, Arc::new(metadata_config()), report)?;
        let (metadata_start, metadata_end) =
            (metadata.log_start_offset(), metadata.log_end_offset());
        let replayed = replay(&metadata)?;
        let cluster_id = settle_identity(options, dir, found, &metadata, &replayed, report)?;
        let mut topics = open_topics(&opener, replayed.topics, report)?;
        let metadata_cut =
            repairing && metadata_was_cut((metadata_start, metadata_end), &recovery_points, report);
        if metadata_cut {
            let now = options.clock.now_ms();
            for lost in rebuild::lost_topics(storage, dir, &topics, &replayed.deleted_ids)? {
                rebuild_topic(&opener, &metadata, &mut topics, lost, now, report)?;
            }
        }
        let known = leftovers::Known {
            topics: &topics,
            deleted_ids: &replayed.deleted_ids,
            metadata_cut,
        };
        leftovers::tidy(storage, dir, &known, report)?;
        if storage.exists(&dir.join(CLEAN_SHUTDOWN_FILE)) {
            storage.remove_file(&dir.join(CLEAN_SHUTDOWN_FILE))?;
            storage.sync_dir(dir)?;
        }
        Ok(Loaded {
            producer_ids_end: producer_ids_end(replayed.producer_ids_end, &topics),
            topics,
            deleted_ids: replayed.deleted_ids,
            metadata: Arc::new(metadata),
            cluster_id,
            notifier,
        })
    }
}

/// Where the next producer-id block starts: after the highest block the metadata log
/// reserved, and after every producer id a partition holds state for (a repair that cut the
/// metadata log may have lost a reservation whose ids were handed out).
fn producer_ids_end(reserved: i64, topics: &BTreeMap<String, Topic>) -> i64 {
    let seen = topics
        .values()
        .flat_map(|t| t.partitions.iter())
        .flat_map(|log| log.producer_states())
        .map(|p| p.producer_id.saturating_add(1))
        .max()
        .unwrap_or(0);
    reserved.max(seen)
}

/// Opens every partition of the topics the metadata log replayed.
fn open_topics(
    opener: &LogOpener<'_>,
    replayed: BTreeMap<String, (String, i32, BTreeMap<String, String>)>,
    report: &mut OpenReport,
) -> Result<BTreeMap<String, Topic>> {
    let mut topics = BTreeMap::new();
    for (name, (id, partitions, overrides)) in replayed {
        let config = Arc::new(TopicConfig::from_overrides(
            overrides.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?);
        let logs = (0..partitions)
            .map(|p| {
                opener
                    .open((&name, &id), p, Arc::clone(&config), report)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        let topic = Topic {
            id,
            config,
            partitions: logs,
        };
        topics.insert(name, topic);
    }
    Ok(topics)
}

/// Whether a repair cut records off the metadata log, the only way topic ids can be lost:
/// it ends below its recovery point, or anything was cut from it (zeros too: a cut batch may
/// start with them; segments moved aside too). `(start, end)` are its offsets after the open.
fn metadata_was_cut(
    (start, end): (i64, i64),
    recovery_points: &CheckpointMap,
    report: &OpenReport,
) -> bool {
    let metadata_name = format!("{}-0", topic_name::METADATA_TOPIC);
    let recovery_point = recovery_points.get(&(topic_name::METADATA_TOPIC.to_string(), 0));
    // The metadata log deletes nothing (no retention), so a log start above 0 means its files
    // were lost and it restarted at its recovery point.
    start > 0
        || recovery_point.is_some_and(|&rp| end < rp)
        || report
            .partitions
            .iter()
            .any(|(name, r)| *name == metadata_name && (!r.is_quiet() || r.preallocated_bytes > 0))
}

/// Records a topic (or its partitions past the recorded count) that a repair cut off the
/// metadata log, from its partition directories (see `rebuild`), and opens its logs.
fn rebuild_topic(
    opener: &LogOpener<'_>,
    metadata: &Log,
    topics: &mut BTreeMap<String, Topic>,
    lost: rebuild::LostTopic,
    now: i64,
    report: &mut OpenReport,
) -> Result<()> {
    let rebuild::LostTopic { name, id, count } = lost;
    let (first, config) = match topics.get(&name) {
        Some(topic) => (
            super::partition_number(topic.partitions.len()),
            Arc::clone(&topic.config),
        ),
        // An internal topic is rebuilt compacted, so that no retention deletes from it (its
        // owner sets its other overrides again on first use: `ensure_internal_topic`).
        None if topic_name::is_internal(&name) => (
            0,
            Arc::new(TopicConfig::from_overrides([(
                "cleanup.policy",
                "compact",
            )])?),
        ),
        None => (0, Arc::new(TopicConfig::default())),
    };
    let record = if first == 0 {
        MetadataRecord::CreateTopic {
            name: name.clone(),
            id: id.clone(),
            partitions: count,
            configs: config.overrides().clone(),
        }
    } else {
        MetadataRecord::AddPartitions {
            name: name.clone(),
            partitions: count,
        }
    };
    metadata.append(&record.to_batch(now)?)?;
    let mut logs = Vec::new();
    for partition in first..count {
        let log = opener.open((&name, &id), partition, Arc::clone(&config), report)?;
        logs.push(Arc::new(log));
    }
    report.rebuilt(format!(
        "{name}: partitions {first}..{count} (topic id {id}) were missing from the damaged \
         metadata log; rebuilt from their partition directories{}",
        if first == 0 {
            "; the topic's config overrides could not be recovered, so Kafka's defaults \
             apply (set them again with alter_topic_config)"
        } else {
            ""
        }
    ));
    topics
        .entry(name)
        .or_insert_with(|| Topic {
            id,
            config,
            partitions: Vec::new(),
        })
        .partitions
        .extend(logs);
    Ok(())
}

/// The cluster id, with `meta.properties` and the metadata log made to agree: a directory
/// without `meta.properties` (new, written by an earlier kafkalite, or the file lost) gets
/// one naming the log's id; a log without an id gets the file's. Two different ids are
/// Kafka's `InconsistentClusterId`, unless repairing: the log's id wins then.
fn settle_identity(
    options: &ClusterBuilder,
    dir: &Path,
    found: Found,
    metadata: &Log,
    replayed: &Replayed,
    report: &mut OpenReport,
) -> Result<String> {
    let storage = &*options.storage;
    let repairing = options.recovery_mode == RecoveryMode::TruncateCorrupt;
    let meta = match ownership::read_meta_properties(storage, dir) {
        Err(Error::Corruption { .. }) if repairing => None,
        read => read?,
    };
    let id = match (meta, &replayed.cluster_id) {
        (Some(meta), Some(logged)) if meta.cluster_id != *logged => {
            if !repairing {
                return Err(Error::InconsistentClusterId {
                    path: dir.join(ownership::META_PROPERTIES),
                    found: meta.cluster_id,
                    expected: logged.clone(),
                });
            }
            ownership::write_meta_properties(storage, dir, logged)?;
            report.claimed(format!(
                "rewrote {} with the metadata log's cluster.id {logged} (it named {})",
                ownership::META_PROPERTIES,
                meta.cluster_id
            ));
            logged.clone()
        }
        (Some(meta), _) => meta.cluster_id,
        (None, logged) => {
            let id = logged.clone().unwrap_or_else(ownership::new_uuid);
            ownership::write_meta_properties(storage, dir, &id)?;
            report.claimed(match found {
                Found::Nothing => format!("created a new data directory, cluster.id {id}"),
                _ if logged.is_some() => format!(
                    "wrote {} from the metadata log, cluster.id {id}",
                    ownership::META_PROPERTIES
                ),
                _ => format!(
                    "adopted a data directory written by an earlier kafkalite, cluster.id {id}"
                ),
            });
            id
        }
    };
    if replayed.cluster_id.is_none() {
        let record = MetadataRecord::ClusterId { id: id.clone() };
        metadata.append(&record.to_batch(options.clock.now_ms())?)?;
    }
    Ok(id)
}

pub(super) struct LogOpener<'a> {
    pub notifier: &'a Arc<Notifier>,
    pub storage: &'a Arc<dyn Storage>,
    pub dir: &'a Path,
    pub clock: &'a Arc<dyn Clock>,
    pub clean_sizes: &'a Option<CheckpointMap>,
    pub recovery_points: &'a CheckpointMap,
    pub log_starts: &'a CheckpointMap,
    pub mode: RecoveryMode,
}

impl LogOpener<'_> {
    /// Opens partition `partition` of topic `(name, id)`, after checking that its directory
    /// is the topic's (`partition.metadata`), and writes that file where it is missing.
    pub fn open(
        &self,
        (topic, topic_id): (&str, &str),
        partition: i32,
        config: Arc<TopicConfig>,
        report: &mut OpenReport,
    ) -> Result<Log> {
        let key = (topic.to_string(), partition);
        let options = LogOptions {
            name: format!("{topic}-{partition}"),
            recovery_point: self.recovery_points.get(&key).copied(),
            log_start_offset: self.log_starts.get(&key).copied().unwrap_or(0),
            clean_active_size: self
                .clean_sizes
                .as_ref()
                .and_then(|m| m.get(&key))
                // A negative size (a damaged marker) means no clean size: full recovery.
                .and_then(|&s| u64::try_from(s).ok()),
            recovery_mode: self.mode,
            salvage_dir: (self.mode == RecoveryMode::TruncateCorrupt)
                .then(|| self.dir.join(leftovers::salvage_name(topic, partition))),
        };
        let dir = self.dir.join(&options.name);
        let owner = if self.storage.exists(&dir) {
            ownership::read_partition_metadata(&**self.storage, &dir)?
        } else {
            PartitionOwner::Missing
        };
        let mismatch = match &owner {
            PartitionOwner::Topic(id) if id == topic_id => None,
            PartitionOwner::Topic(id) => Some(format!(
                "it names topic id {id}, but the metadata log gives {topic} the id {topic_id}"
            )),
            PartitionOwner::Unreadable(why) => Some(why.clone()),
            PartitionOwner::Missing => None,
        };
        if let Some(why) = mismatch {
            if self.mode != RecoveryMode::TruncateCorrupt {
                return Err(Error::corruption(
                    dir.join(ownership::PARTITION_METADATA),
                    0,
                    why,
                ));
            }
            // Repairing: records of another topic id are never served as this topic's. The
            // directory is set aside whole, and the partition starts again (empty, at its
            // recovery point); an unreadable file is only rewritten.
            // The metadata log's id is fixed: another one there is damage, only rewritten.
            let fixed = topic == topic_name::METADATA_TOPIC;
            if let (PartitionOwner::Topic(other), false) = (&owner, fixed) {
                let to = self
                    .dir
                    .join(leftovers::stray_name(topic, partition, other));
                self.storage.rename(&dir, &to)?;
                self.storage.sync_dir(self.dir)?;
                report.set_aside(dir.clone(), to);
            }
        }
        let name = options.name.clone();
        let (log, log_report) = Log::open_unlocked(
            Arc::clone(self.storage),
            &dir,
            config,
            Arc::clone(self.clock),
            options,
        )?;
        if owner != PartitionOwner::Topic(topic_id.to_string()) {
            ownership::write_partition_metadata(&**self.storage, &dir, topic_id)?;
        }
        report.partition(&name, log_report);
        log.set_notifier(Arc::clone(self.notifier));
        Ok(log)
    }
}

/// `log-start-offset-checkpoint`. It is written before `recovery-point-offset-checkpoint`,
/// so if only the latter exists, the former was lost: an error, since assuming that every
/// log starts at its oldest segment would bring back records that `delete_records` removed
/// (only [`RecoveryMode::TruncateCorrupt`] accepts that).
fn read_log_starts(storage: &dyn Storage, dir: &Path) -> Result<CheckpointMap> {
    let path = dir.join(LOG_START_FILE);
    if !storage.exists(&path) && storage.exists(&dir.join(RECOVERY_POINT_FILE)) {
        return Err(Error::corruption(
            &path,
            0,
            format!("the file is missing, but {RECOVERY_POINT_FILE} (written after it) exists"),
        ));
    }
    checkpoint::read(storage, &path)
}

/// The active segment sizes recorded by a clean shutdown, or `None` after a crash. An
/// unreadable marker only costs a full recovery, so it is treated as absent.
fn read_clean_marker(storage: &dyn Storage, dir: &Path) -> Result<Option<CheckpointMap>> {
    let path = dir.join(CLEAN_SHUTDOWN_FILE);
    if !storage.exists(&path) {
        return Ok(None);
    }
    Ok(checkpoint::read(storage, &path).ok())
}

/// What the metadata log says.
#[derive(Debug, Default)]
struct Replayed {
    /// The `ClusterId` record's id, if the log has one.
    cluster_id: Option<String>,
    /// Live topics: name → (id, partitions, config overrides).
    topics: BTreeMap<String, (String, i32, BTreeMap<String, String>)>,
    /// Ids of deleted topics, with their names.
    deleted_ids: BTreeMap<String, String>,
    /// The end of the highest producer-id block reserved.
    producer_ids_end: i64,
}

/// Replays the metadata log.
fn replay(metadata: &Log) -> Result<Replayed> {
    let mut replayed = Replayed::default();
    metadata.for_each_record(|record| {
        match MetadataRecord::decode(record.key, record.value)? {
            MetadataRecord::ClusterId { id } => {
                replayed.cluster_id.get_or_insert(id);
            }
            MetadataRecord::CreateTopic {
                name,
                id,
                partitions,
                configs,
            } => {
                replayed.deleted_ids.remove(&id);
                replayed.topics.insert(name, (id, partitions, configs));
            }
            MetadataRecord::DeleteTopic { name } => {
                if let Some((id, _, _)) = replayed.topics.remove(&name) {
                    replayed.deleted_ids.insert(id, name);
                }
            }
            MetadataRecord::AddPartitions { name, partitions } => {
                if let Some(t) = replayed.topics.get_mut(&name) {
                    t.1 = partitions;
                }
            }
            MetadataRecord::AlterConfigs { name, configs } => {
                if let Some(t) = replayed.topics.get_mut(&name) {
                    t.2 = configs;
                }
            }
            MetadataRecord::ProducerIds { end } => {
                replayed.producer_ids_end = replayed.producer_ids_end.max(end);
            }
        }
        Ok(())
    })?;
    Ok(replayed)
}
