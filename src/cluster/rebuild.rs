//! A repair that cut records off the metadata log must not lose topics: their partition
//! directories still carry the topic id in `partition.metadata` and the topic name and
//! partition in their names, so the registry is rebuilt from them. What they cannot tell
//! (config overrides) is reported as lost; the topic gets Kafka's defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::leftovers::partition_dir_name;
use super::ownership;
use super::{topic_name, Topic};
use crate::error::Result;
use crate::storage::Storage;

/// A topic (or the partitions of one) the metadata log no longer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LostTopic {
    pub name: String,
    pub id: String,
    /// Partitions found: always `0..count` (a topic with gaps is not rebuilt).
    pub count: i32,
}

/// The topics whose partition directories (holding only kafkalite's files, with a readable
/// `partition.metadata`) name an id the metadata log does not know, and the live topics
/// with more partition directories of their own id than the log records.
pub(super) fn lost_topics(
    storage: &dyn Storage,
    dir: &Path,
    topics: &BTreeMap<String, Topic>,
    deleted_ids: &BTreeMap<String, String>,
) -> Result<Vec<LostTopic>> {
    let mut found: BTreeMap<(String, String), BTreeSet<i32>> = BTreeMap::new();
    for entry in storage.list(dir)?.into_iter().filter(|e| e.is_dir) {
        let Some((name, partition)) = partition_dir_name(&entry.name) else {
            continue;
        };
        if name == topic_name::METADATA_TOPIC {
            continue;
        }
        let path = dir.join(&entry.name);
        let Some(id) = ownership::partition_topic_id(storage, &path)? else {
            continue;
        };
        let live = topics.get(&name);
        let known = match live {
            Some(topic) => topic.id != id || partition_of(topic, partition),
            None => deleted_ids.contains_key(&id),
        };
        if !known && ownership::only_partition_files(storage, &path)? {
            found.entry((name, id)).or_default().insert(partition);
        }
    }
    let mut lost = Vec::new();
    for ((name, id), partitions) in found {
        let first = topics
            .get(&name)
            .map_or(0, |t| super::partition_number(t.partitions.len()));
        let count = first + super::partition_number(partitions.len());
        // Partitions `first..count`, each once: anything else is not one topic's to rebuild.
        if partitions.iter().copied().eq(first..count) {
            lost.push(LostTopic { name, id, count });
        }
    }
    Ok(lost)
}

fn partition_of(topic: &Topic, partition: i32) -> bool {
    usize::try_from(partition).is_ok_and(|p| p < topic.partitions.len())
}
