//! Compacting the metadata log (`__cluster_metadata-0`), so that an open replays the live
//! topics, not every change ever made to them. KRaft bounds its metadata log with snapshots;
//! kafkalite rewrites the log's closed segments to the records a replay still needs
//! ([`Log::retain_only`], the cleaner's files and crash-safe swap): the first cluster id;
//! each live topic's latest creation and, after it, its latest partition count and latest
//! config change; and a deleted topic's creation and deletion only while a directory holding
//! its id is still on disk (an unfinished deletion, which the next open recognises by the
//! id and finishes, see `leftovers`). Offsets are kept (removed ones become gaps), so the
//! log start stays 0.
//!
//! The cleaner passes run it when the log has doubled since its last compaction and holds at
//! least [`MIN_BYTES`]; [`Cluster::compact`] runs it whatever the size. It holds the admin
//! lock, so the topics do not change meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use super::metadata::MetadataRecord;
use super::{leftovers, ownership, Cluster};
use crate::error::Result;
use crate::log::{CleanStats, Log};

/// The smallest metadata log worth compacting.
pub(super) const MIN_BYTES: u64 = 1 << 20;

impl Cluster {
    /// Compacts the metadata log if it has doubled since its last compaction (or the open)
    /// and holds at least [`MIN_BYTES`].
    pub(super) fn compact_metadata_when_due(&self) -> Result<Option<CleanStats>> {
        let size = self.inner.metadata.size_bytes();
        let last = self.inner.metadata_compacted_bytes.load(Ordering::Acquire);
        if size < MIN_BYTES.max(last.saturating_mul(2)) {
            return Ok(None);
        }
        self.compact_metadata()
    }

    /// Compacts the metadata log now: rolls it, so that every record is in a closed segment,
    /// and rewrites those to the records a replay needs.
    pub(super) fn compact_metadata(&self) -> Result<Option<CleanStats>> {
        let _admin = self.inner.admin.lock();
        self.check_open()?;
        let metadata = &self.inner.metadata;
        metadata.roll()?;
        let on_disk = self.topic_ids_on_disk();
        let (keep, records) = needed_records(metadata, on_disk.as_ref())?;
        let unchanged = keep.len() == records && metadata.segments().len() <= 2;
        // Every append to it is synced: records past the high watermark would be a new case,
        // and the rewrite (which keeps only what the replay read) must not drop them.
        if unchanged || metadata.high_watermark() != metadata.log_end_offset() {
            self.inner
                .metadata_compacted_bytes
                .store(metadata.size_bytes(), Ordering::Release);
            return Ok(None);
        }
        let stats = metadata.retain_only(&keep, self.inner.clock.now_ms())?;
        self.inner
            .metadata_compacted_bytes
            .store(metadata.size_bytes(), Ordering::Release);
        if let Some(stats) = &stats {
            tracing::info!(target: "kafkalite::cleaner", "{}: compacted to the live topics ({} of {} records kept, {} bytes to {})", metadata.name(), stats.records_kept, stats.records_kept + stats.records_removed, stats.bytes_before, stats.bytes_after);
        }
        Ok(stats)
    }

    /// The topic ids in `partition.metadata` of the directories that are not live
    /// partitions' (deletions not finished, directories set aside), or `None` if one could
    /// not be read: then every deleted topic's records are kept.
    fn topic_ids_on_disk(&self) -> Option<BTreeSet<String>> {
        let storage = &*self.inner.storage;
        let topics = self.inner.topics.read();
        let mut ids = BTreeSet::new();
        for entry in storage.list(&self.inner.dir).ok()? {
            if !entry.is_dir || leftovers::is_live(&entry.name, &topics) {
                continue;
            }
            let path = self.inner.dir.join(&entry.name);
            if let Some(id) = ownership::partition_topic_id(storage, &path).ok()? {
                ids.insert(id);
            }
        }
        Some(ids)
    }
}

/// A live topic's records that a replay needs.
struct LiveTopic {
    id: String,
    created: i64,
    partitions: Option<i64>,
    configs: Option<i64>,
}

/// The offsets of the records whose replay gives the same cluster id, live topics and
/// deleted ids (those in `ids_on_disk`, or all when it is `None`) as replaying all of `log`,
/// and how many records it holds.
fn needed_records(
    log: &Log,
    ids_on_disk: Option<&BTreeSet<String>>,
) -> Result<(BTreeSet<i64>, usize)> {
    let mut records = 0;
    let mut cluster_id = None;
    let mut producer_ids = None;
    let mut live: BTreeMap<String, LiveTopic> = BTreeMap::new();
    let mut deleted: Vec<(String, i64, i64)> = Vec::new();
    log.for_each_record(|record| {
        records += 1;
        let offset = record.offset;
        match MetadataRecord::decode(record.key, record.value)? {
            MetadataRecord::ClusterId { .. } => {
                cluster_id.get_or_insert(offset);
            }
            MetadataRecord::CreateTopic { name, id, .. } => {
                let topic = LiveTopic {
                    id,
                    created: offset,
                    partitions: None,
                    configs: None,
                };
                live.insert(name, topic);
            }
            MetadataRecord::DeleteTopic { name } => {
                if let Some(topic) = live.remove(&name) {
                    deleted.push((topic.id, topic.created, offset));
                }
            }
            MetadataRecord::AddPartitions { name, .. } => {
                if let Some(topic) = live.get_mut(&name) {
                    topic.partitions = Some(offset);
                }
            }
            MetadataRecord::AlterConfigs { name, .. } => {
                if let Some(topic) = live.get_mut(&name) {
                    topic.configs = Some(offset);
                }
            }
            // The latest reservation: ids below it were handed out.
            MetadataRecord::ProducerIds { .. } => producer_ids = Some(offset),
        }
        Ok(())
    })?;
    let mut keep: BTreeSet<i64> = cluster_id.into_iter().chain(producer_ids).collect();
    for topic in live.values() {
        keep.insert(topic.created);
        keep.extend(topic.partitions);
        keep.extend(topic.configs);
    }
    for (id, created, deleted) in deleted {
        if ids_on_disk.is_none_or(|ids| ids.contains(&id)) {
            keep.extend([created, deleted]);
        }
    }
    Ok((keep, records))
}
