//! What the data directory may hold besides the logs of live topics, and what open does with
//! it:
//!
//! - `<topic>-<partition>.<id>-delete`: a deletion a crash interrupted. Removed.
//! - Partition directories of a topic the metadata log says was deleted. Removed.
//! - Partition directories no topic owns ("strays"). A crash inside `create_topic` or
//!   `create_partitions`, before the metadata record was durable, leaves empty ones: removed.
//!   A repair (`RecoveryMode::TruncateCorrupt`) that cut records off the metadata log can
//!   leave ones that hold records: renamed aside to `<topic>-<partition>.<id>-stray`, as
//!   Kafka does with the logs its metadata does not know, so that recreating the topic
//!   cannot delete them. Nothing opens, reads or removes a stray again; it is the user's to
//!   inspect or delete.
//! - Anything else (other names, earlier strays, the metadata log): left alone.

use std::collections::BTreeMap;
use std::path::Path;

use super::{topic_name, Topic};
use crate::error::Result;
use crate::record::BATCH_HEADER_BYTES;
use crate::storage::{OpenMode, Storage};

const DELETE_SUFFIX: &str = "-delete";
const STRAY_SUFFIX: &str = "-stray";

/// The name a partition directory is renamed to when it is set aside: Kafka's
/// `<topic>-<partition>.<id><suffix>`, the topic cut to 180 characters so that the name stays
/// within file-name limits.
fn aside_name(topic: &str, partition: i32, id: &str, suffix: &str) -> String {
    let short: String = topic.chars().take(180).collect();
    format!("{short}-{partition}.{id}{suffix}")
}

/// The name a partition directory is renamed to before it is removed.
pub(super) fn delete_name(topic: &str, partition: i32, id: &str) -> String {
    aside_name(topic, partition, id, DELETE_SUFFIX)
}

/// Removes interrupted deletions and empty strays, and sets aside strays that hold records.
pub(super) fn tidy(
    storage: &dyn Storage,
    dir: &Path,
    topics: &BTreeMap<String, Topic>,
    deleted: &[String],
) -> Result<()> {
    let mut changed = false;
    for entry in storage.list(dir)?.into_iter().filter(|e| e.is_dir) {
        let path = dir.join(&entry.name);
        if entry.name.ends_with(DELETE_SUFFIX) {
            storage.remove_dir_all(&path)?;
            changed = true;
            continue;
        }
        let Some((topic, partition)) = partition_dir(&entry.name) else {
            continue;
        };
        let owned = topics
            .get(&topic)
            .is_some_and(|t| usize::try_from(partition).is_ok_and(|p| p < t.partitions.len()));
        if owned || topic == topic_name::METADATA_TOPIC {
            continue;
        }
        if (deleted.contains(&topic) && !topics.contains_key(&topic))
            || !holds_records(storage, &path)?
        {
            storage.remove_dir_all(&path)?;
        } else {
            let to = dir.join(aside_name(
                &topic,
                partition,
                &super::topics::new_topic_id(),
                STRAY_SUFFIX,
            ));
            storage.rename(&path, &to)?;
        }
        changed = true;
    }
    if changed {
        storage.sync_dir(dir)?;
    }
    Ok(())
}

/// `(topic, partition)` when `name` is a partition directory's: a legal topic name, `-`, and
/// a partition number written as Kafka writes it.
fn partition_dir(name: &str) -> Option<(String, i32)> {
    let (topic, digits) = name.rsplit_once('-')?;
    let partition: i32 = digits.parse().ok()?;
    let canonical = partition >= 0 && partition.to_string() == digits;
    (canonical && topic_name::validate(topic).is_ok()).then(|| (topic.to_string(), partition))
}

/// Whether any segment file in `dir` starts with something other than zeros (an empty or
/// preallocated segment starts with zeros; a batch never does, its length being positive).
/// Damage counts as records: only what certainly holds nothing is removed.
fn holds_records(storage: &dyn Storage, dir: &Path) -> Result<bool> {
    for entry in storage.list(dir)? {
        if entry.is_dir || !entry.name.ends_with(".log") {
            continue;
        }
        let file = storage.open(&dir.join(&entry.name), OpenMode::Existing)?;
        let len = usize::try_from(file.len()?).unwrap_or(usize::MAX);
        let mut head = vec![0u8; len.min(BATCH_HEADER_BYTES)];
        file.read_at(&mut head, 0)?;
        if head.iter().any(|&b| b != 0) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_directory_names() {
        assert_eq!(partition_dir("orders-0"), Some(("orders".into(), 0)));
        assert_eq!(partition_dir("my-topic-12"), Some(("my-topic".into(), 12)));
        assert_eq!(partition_dir("a.b_c-7"), Some(("a.b_c".into(), 7)));
        assert_eq!(partition_dir("orders--1"), Some(("orders-".into(), 1)));
        for other in [
            "orders",
            "orders-",
            "orders-01",
            "orders-+1",
            "orders-0.AbC-stray",
            "orders-0.AbC-delete",
            "a b-0",
            "-0",
        ] {
            assert_eq!(partition_dir(other), None, "{other}");
        }
        let long = "x".repeat(249);
        let name = aside_name(&long, 3, "AbC", STRAY_SUFFIX);
        assert_eq!(name, format!("{}-3.AbC-stray", "x".repeat(180)));
    }
}
