//! What the data directory may hold besides the logs of live topics, and what open does with
//! it. Only partition directories whose `partition.metadata` names a topic id this cluster
//! knows or knew (from the metadata log) are ever changed (see `ownership`):
//!
//! - `<topic>-<partition>.<id>-delete`: a deletion a crash interrupted. Its files are removed.
//! - `<topic>-<partition>.<id>-creating`: a partition directory whose making a crash or a
//!   failure interrupted (see `Cluster::create_logs`), named for a topic id the metadata log
//!   knows. Its files are removed.
//! - Partition directories of a topic the metadata log says was deleted: removed.
//! - Partition directories of a live topic beyond its partition count: removed when empty;
//!   set aside to `<topic>-<partition>.<id>-stray` when they hold records, as Kafka does with
//!   logs its metadata does not know.
//! - In a repair ([`crate::RecoveryMode::TruncateCorrupt`]) that cut records off the metadata
//!   log, a partition directory whose topic id the log no longer knows, holding only
//!   kafkalite's files, is set aside the same way, so that recreating the topic cannot touch its records. Nothing opens,
//!   reads or removes a stray again; it is the user's to inspect or delete.
//! - Anything else (other names, unknown ids, files kafkalite did not write): left alone,
//!   byte for byte, and reported.
//!
//! Removing means removing the files kafkalite writes there, then the directory if that
//! emptied it: a foreign file inside keeps the directory, and is reported.

use std::collections::BTreeMap;
use std::path::Path;

use super::ownership;
use super::report::OpenReport;
use super::{topic_name, Topic};
use crate::error::Result;
use crate::record::BATCH_HEADER_BYTES;
use crate::storage::{OpenMode, Storage};

const DELETE_SUFFIX: &str = "-delete";
/// The suffix of a partition directory being made, before it is renamed into place.
const CREATING_SUFFIX: &str = "-creating";
/// The suffix of the directory a repair moves a partition's damaged and later segments to.
const SALVAGED_SUFFIX: &str = "-salvaged";
/// The suffix of a partition directory set aside (see the module doc).
pub const STRAY_SUFFIX: &str = "-stray";

/// The name a partition directory is renamed to when it is set aside: Kafka's
/// `<topic>-<partition>.<id><suffix>`, the topic cut to 180 characters so that the name stays
/// within file-name limits.
fn aside_name(topic: &str, partition: i32, id: &str, suffix: &str) -> String {
    let short: String = topic.chars().take(180).collect();
    format!("{short}-{partition}.{id}{suffix}")
}

/// The name a partition directory is renamed to when it is set aside as a stray.
pub(super) fn stray_name(topic: &str, partition: i32, id: &str) -> String {
    aside_name(topic, partition, id, STRAY_SUFFIX)
}

/// The name a partition directory is renamed to before it is removed.
pub(super) fn delete_name(topic: &str, partition: i32, id: &str) -> String {
    aside_name(topic, partition, id, DELETE_SUFFIX)
}

/// The name a partition directory is made under, before `partition.metadata` is in it and
/// it is renamed into place.
pub(super) fn creating_name(topic: &str, partition: i32, id: &str) -> String {
    aside_name(topic, partition, id, CREATING_SUFFIX)
}

/// The directory a repair moves a partition's damaged and later segments to (see
/// [`crate::LogOptions::salvage_dir`]); a fresh id each open, so no salvage mixes with another.
pub(super) fn salvage_name(topic: &str, partition: i32) -> String {
    aside_name(topic, partition, &crate::random::uuid(), SALVAGED_SUFFIX)
}

/// Which kind of set-aside directory a name is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aside {
    Delete,
    /// A partition directory being made (see [`creating_name`]).
    Creating,
    Stray,
    /// Segments a repair moved aside (see [`salvage_name`]).
    Salvaged,
}

/// Whether `name` is a partition directory set aside (`<topic>-<n>.<id>-delete`, `-stray`,
/// `-salvaged` or `-creating`).
pub(super) fn aside_dir(name: &str) -> Option<Aside> {
    let (kind, rest) = if let Some(rest) = name.strip_suffix(DELETE_SUFFIX) {
        (Aside::Delete, rest)
    } else if let Some(rest) = name.strip_suffix(CREATING_SUFFIX) {
        (Aside::Creating, rest)
    } else if let Some(rest) = name.strip_suffix(SALVAGED_SUFFIX) {
        (Aside::Salvaged, rest)
    } else {
        (Aside::Stray, name.strip_suffix(STRAY_SUFFIX)?)
    };
    let (partition_dir, id) = rest.rsplit_once('.')?;
    (!id.is_empty() && partition_dir_name(partition_dir).is_some()).then_some(kind)
}

/// What open knows when it sorts the directory.
pub(super) struct Known<'a> {
    pub topics: &'a BTreeMap<String, Topic>,
    /// Ids of the topics the metadata log says were deleted, with their names.
    pub deleted_ids: &'a BTreeMap<String, String>,
    /// Whether a repair cut records off the metadata log, so that topic ids may be lost.
    pub metadata_cut: bool,
}

/// Sorts every entry of the data directory (see the module doc), recording in `report` what
/// was removed, set aside or left alone.
pub(super) fn tidy(
    storage: &dyn Storage,
    dir: &Path,
    known: &Known<'_>,
    report: &mut OpenReport,
) -> Result<()> {
    let mut changed = false;
    for entry in storage.list(dir)? {
        let path = dir.join(&entry.name);
        if !entry.is_dir {
            if !ownership::is_cluster_file(&entry.name) {
                report.left_alone(path, "a file kafkalite did not write");
            }
            continue;
        }
        if is_live(&entry.name, known.topics) {
            continue;
        }
        let aside = aside_dir(&entry.name);
        if matches!(aside, Some(Aside::Stray | Aside::Salvaged)) {
            continue;
        }
        // A directory being made may not hold its `partition.metadata` yet: its name
        // carries the id.
        let id = match aside {
            Some(Aside::Creating) => aside_id(&entry.name).map(str::to_string),
            _ => ownership::partition_topic_id(storage, &path)?,
        };
        // An id is known only together with the topic name the directory carries.
        let topic = dir_topic(&entry.name);
        let live = |id: &str| {
            topic
                .as_ref()
                .is_some_and(|t| known.topics.get(t).is_some_and(|live| live.id == id))
        };
        let deleted = |id: &str| {
            topic
                .as_ref()
                .is_some_and(|t| known.deleted_ids.get(id) == Some(t))
        };
        let known_id = id.as_deref().filter(|id| live(id) || deleted(id));
        let action = match (aside, partition_dir_name(&entry.name)) {
            (Some(Aside::Delete | Aside::Creating), _) if known_id.is_some() => Action::Remove,
            (None, Some(_)) if known_id.is_some_and(deleted) => Action::Remove,
            (None, Some(_)) if known_id.is_some() && !holds_records(storage, &path)? => {
                Action::Remove
            }
            (None, Some(_)) if known_id.is_some() => Action::SetAside,
            (None, Some(_))
                if known.metadata_cut
                    && id.is_some()
                    && ownership::only_partition_files(storage, &path)? =>
            {
                Action::SetAside
            }
            _ => {
                report.left_alone(path, foreign_reason(id.as_deref()));
                continue;
            }
        };
        changed = true;
        // Best effort: a directory that cannot be tidied (permissions, a name taken) is
        // reported and left, and the open goes on (a repair must work there too).
        let done = match action {
            Action::Remove => remove(storage, &path, report),
            Action::SetAside => {
                let (topic, partition) = partition_dir_name(&entry.name).expect("matched above");
                let id = id.expect("matched above");
                let to = dir.join(aside_name(&topic, partition, &id, STRAY_SUFFIX));
                storage
                    .rename(&path, &to)
                    .map(|()| report.set_aside(path.clone(), to))
            }
        };
        if let Err(error) = done {
            report.left_alone(path, format!("kafkalite could not tidy it: {error}"));
        }
    }
    if changed {
        storage.sync_dir(dir)?;
    }
    Ok(())
}

enum Action {
    Remove,
    SetAside,
}

fn foreign_reason(id: Option<&str>) -> String {
    match id {
        None => format!("no {} names it kafkalite's", ownership::PARTITION_METADATA),
        Some(id) => format!("its topic id {id} is not one this cluster knows or knew"),
    }
}

fn remove(storage: &dyn Storage, path: &Path, report: &mut OpenReport) -> Result<()> {
    let removal = ownership::remove_owned_dir(storage, path)?;
    if removal.foreign.is_empty() {
        report.removed(path.to_path_buf());
    } else {
        let names = removal.foreign.join(", ");
        report.left_alone(
            path.to_path_buf(),
            format!("kafkalite removed its own files; {names} it did not write, so it stays"),
        );
    }
    Ok(())
}

/// The topic id a set-aside directory's name carries (`<topic>-<n>.<id><suffix>`).
fn aside_id(name: &str) -> Option<&str> {
    let rest = [
        DELETE_SUFFIX,
        CREATING_SUFFIX,
        SALVAGED_SUFFIX,
        STRAY_SUFFIX,
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))?;
    rest.rsplit_once('.').map(|(_, id)| id)
}

/// The topic a partition directory's name carries, set aside (`<topic>-<n>.<id>-delete`) or
/// not.
fn dir_topic(name: &str) -> Option<String> {
    let partition_dir = match aside_dir(name) {
        Some(_) => name.rsplit_once('.')?.0,
        None => name,
    };
    partition_dir_name(partition_dir).map(|(topic, _)| topic)
}

/// Whether `name` is the directory of a live topic's partition (or the metadata log's).
pub(super) fn is_live(name: &str, topics: &BTreeMap<String, Topic>) -> bool {
    match partition_dir_name(name) {
        Some((topic, 0)) if topic == topic_name::METADATA_TOPIC => true,
        Some((topic, partition)) => topics
            .get(&topic)
            .is_some_and(|t| usize::try_from(partition).is_ok_and(|p| p < t.partitions.len())),
        None => false,
    }
}

/// `(topic, partition)` when `name` is a partition directory's: a legal topic name, `-`, and
/// a partition number written as Kafka writes it.
pub(super) fn partition_dir_name(name: &str) -> Option<(String, i32)> {
    let (topic, digits) = name.rsplit_once('-')?;
    let partition: i32 = digits.parse().ok()?;
    let canonical = partition >= 0 && partition.to_string() == digits;
    (canonical && topic_name::validate(topic).is_ok()).then(|| (topic.to_string(), partition))
}

/// Whether any segment file in `dir` starts with something other than zeros (an empty or
/// preallocated segment starts with zeros; a batch never does, its length being positive).
/// Damage counts as records: only what certainly holds nothing is removed.
pub(super) fn holds_records(storage: &dyn Storage, dir: &Path) -> Result<bool> {
    for entry in storage.list(dir)? {
        if entry.is_dir || !entry.name.ends_with(".log") {
            continue;
        }
        let file = storage.open(&dir.join(&entry.name), OpenMode::Existing)?;
        let len = file.len()?.min(BATCH_HEADER_BYTES as u64);
        let mut head = vec![0u8; usize::try_from(len).unwrap_or(BATCH_HEADER_BYTES)];
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
        assert_eq!(partition_dir_name("orders-0"), Some(("orders".into(), 0)));
        assert_eq!(
            partition_dir_name("my-topic-12"),
            Some(("my-topic".into(), 12))
        );
        assert_eq!(partition_dir_name("a.b_c-7"), Some(("a.b_c".into(), 7)));
        assert_eq!(partition_dir_name("orders--1"), Some(("orders-".into(), 1)));
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
            assert_eq!(partition_dir_name(other), None, "{other}");
        }
        let long = "x".repeat(249);
        let name = aside_name(&long, 3, "AbC", STRAY_SUFFIX);
        assert_eq!(name, format!("{}-3.AbC-stray", "x".repeat(180)));
    }

    #[test]
    fn set_aside_names() {
        assert_eq!(aside_dir("orders-0.AbC-stray"), Some(Aside::Stray));
        assert_eq!(aside_dir("my-topic-12.AbC-delete"), Some(Aside::Delete));
        assert_eq!(aside_dir("t-3.AbC-creating"), Some(Aside::Creating));
        assert_eq!(aside_id("t-3.AbC-creating"), Some("AbC"));
        assert_eq!(aside_id("t-3.AbC"), None);
        for other in [
            "notes-delete",
            "orders-0-delete",
            "orders-0.-stray",
            "x.y-stray",
        ] {
            assert_eq!(aside_dir(other), None, "{other}");
        }
    }
}
