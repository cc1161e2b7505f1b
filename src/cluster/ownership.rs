//! What ties a data directory and its partition directories to one cluster, as Kafka does:
//! `meta.properties` in the data directory (`version=1`, `cluster.id`, `node.id`,
//! `directory.id`) and `partition.metadata` in each partition directory (`version: 0`,
//! `topic_id`). kafkalite creates, changes and removes only what these files say it owns, and
//! inside an owned partition directory only files with the names it writes.
//!
//! Opening a directory ([`claim`]):
//! - missing or empty: it becomes a new cluster's (`meta.properties` is written);
//! - holding `meta.properties`: it is this cluster's;
//! - holding only what an earlier kafkalite (before `meta.properties`) wrote: adopted;
//! - anything else: refused with [`Error::NotOwned`], nothing created or changed.

use std::path::Path;

use crate::error::{Error, Result};
use crate::log::{segment_base_offset, SEGMENT_SUFFIXES};
use crate::storage::Storage;

/// Kafka's data-directory identity file.
pub(super) const META_PROPERTIES: &str = "meta.properties";
/// Kafka's partition-directory identity file.
pub(super) const PARTITION_METADATA: &str = "partition.metadata";
/// The suffix of a file being replaced atomically ([`Storage::replace_file`]).
const TMP_SUFFIX: &str = ".tmp";
/// Kafka's `Uuid.METADATA_TOPIC_ID` (`AAAAAAAAAAAAAAAAAAAAAQ`): the metadata log's topic id.
pub(super) const METADATA_TOPIC_ID: &str = "AAAAAAAAAAAAAAAAAAAAAQ";

/// The contents of `meta.properties` (Kafka's `MetaProperties`, version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MetaProperties {
    pub cluster_id: String,
    pub node_id: i32,
    pub directory_id: String,
}

impl MetaProperties {
    fn new() -> Self {
        MetaProperties {
            cluster_id: new_uuid(),
            node_id: 0,
            directory_id: new_uuid(),
        }
    }

    /// Kafka's Java `Properties.store` layout: a blank comment line, a date comment, then
    /// `key=value` lines.
    fn encode(&self) -> String {
        format!(
            "#\n#Written by kafkalite {}\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
            env!("CARGO_PKG_VERSION"),
            self.cluster_id,
            self.directory_id,
            self.node_id
        )
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        let bad = |detail: String| Error::corruption(path, 0, detail);
        let mut version = None;
        let (mut cluster_id, mut node_id, mut directory_id) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(bad(format!("line '{line}' is not key=value")));
            };
            let value = value.trim().to_string();
            match key.trim() {
                "version" => version = Some(value),
                "cluster.id" => cluster_id = Some(value),
                "node.id" => node_id = Some(value),
                "directory.id" => directory_id = Some(value),
                _ => {}
            }
        }
        if version.as_deref() != Some("1") {
            return Err(bad(format!(
                "version is {}, kafkalite reads version 1 (KRaft) only",
                version.as_deref().unwrap_or("missing")
            )));
        }
        let cluster_id = cluster_id
            .filter(|id| is_uuid(id))
            .ok_or_else(|| bad("cluster.id is missing or not a base64 UUID".into()))?;
        let node_id = node_id
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("node.id is missing or not a number".into()))?;
        let directory_id = directory_id
            .filter(|id| is_uuid(id))
            .ok_or_else(|| bad("directory.id is missing or not a base64 UUID".into()))?;
        Ok(MetaProperties {
            cluster_id,
            node_id,
            directory_id,
        })
    }
}

/// What [`check`] found in a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// Missing or empty: a new cluster's.
    Nothing,
    /// `meta.properties` is there.
    Owned,
    /// Only what an earlier kafkalite (before `meta.properties`) wrote, or what a lost
    /// `meta.properties` left.
    Unclaimed,
}

/// Whether `dir` may be opened as a data directory, checked before anything is created in it.
/// Errors with [`Error::NotOwned`] when it is a file or holds what kafkalite did not write.
pub(super) fn check(storage: &dyn Storage, dir: &Path) -> Result<Found> {
    if !storage.exists(dir) {
        return Ok(Found::Nothing);
    }
    if storage.exists(&dir.join(META_PROPERTIES)) {
        return Ok(Found::Owned);
    }
    let entries = storage.list(dir).map_err(|e| match e {
        Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOTDIR) => {
            not_owned(dir, "it is a file, not a directory".into())
        }
        other => other,
    })?;
    let mut foreign = Vec::new();
    for entry in &entries {
        let ours = if entry.is_dir {
            is_legacy_partition_dir(storage, &dir.join(&entry.name))?
        } else {
            is_cluster_file(&entry.name)
        };
        if !ours {
            foreign.push(if entry.is_dir {
                format!("{}/", entry.name)
            } else {
                entry.name.clone()
            });
        }
    }
    if foreign.is_empty() {
        return Ok(if entries.is_empty() {
            Found::Nothing
        } else {
            Found::Unclaimed
        });
    }
    let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
    let more = foreign.len().saturating_sub(shown.len());
    Err(not_owned(
        dir,
        format!(
            "it holds {}{} and no {META_PROPERTIES}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    ))
}

/// Reads `meta.properties`; `None` when the directory has none.
pub(super) fn read_meta_properties(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<Option<MetaProperties>> {
    let path = dir.join(META_PROPERTIES);
    if !storage.exists(&path) {
        return Ok(None);
    }
    let bytes = storage.read_file(&path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::corruption(&path, 0, "the file is not UTF-8 text"))?;
    MetaProperties::parse(&path, &text).map(Some)
}

/// Writes `meta.properties` for `cluster_id` (durably) with a new directory id.
pub(super) fn write_meta_properties(
    storage: &dyn Storage,
    dir: &Path,
    cluster_id: &str,
) -> Result<MetaProperties> {
    let meta = MetaProperties {
        cluster_id: cluster_id.to_string(),
        ..MetaProperties::new()
    };
    storage.replace_file(&dir.join(META_PROPERTIES), meta.encode().as_bytes(), true)?;
    Ok(meta)
}

/// Writes `partition.metadata` (durably: it is what makes the directory the cluster's).
pub(super) fn write_partition_metadata(
    storage: &dyn Storage,
    dir: &Path,
    topic_id: &str,
) -> Result<()> {
    let text = format!("version: 0\ntopic_id: {topic_id}\n");
    storage.replace_file(&dir.join(PARTITION_METADATA), text.as_bytes(), true)?;
    storage.sync_dir(dir)
}

/// What a partition directory's `partition.metadata` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PartitionOwner {
    /// No such file.
    Missing,
    /// The file is not Kafka's version 0 format; why.
    Unreadable(String),
    /// The topic id it names.
    Topic(String),
}

/// Reads a partition directory's `partition.metadata`.
pub(super) fn read_partition_metadata(storage: &dyn Storage, dir: &Path) -> Result<PartitionOwner> {
    let path = dir.join(PARTITION_METADATA);
    if !storage.exists(&path) {
        return Ok(PartitionOwner::Missing);
    }
    let bytes = storage.read_file(&path)?;
    let unreadable = |why: &str| Ok(PartitionOwner::Unreadable(why.to_string()));
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return unreadable("the file is not UTF-8 text");
    };
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("version: 0") {
        return unreadable("the first line is not 'version: 0'");
    }
    let id = lines
        .next()
        .and_then(|l| l.trim().strip_prefix("topic_id:"))
        .map(|id| id.trim().to_string());
    match id {
        Some(id) if is_uuid(&id) && lines.all(|l| l.trim().is_empty()) => {
            Ok(PartitionOwner::Topic(id))
        }
        _ => unreadable("the second line is not 'topic_id: <base64 uuid>'"),
    }
}

/// The topic id in a partition directory's `partition.metadata`, if it is readable.
pub(super) fn partition_topic_id(storage: &dyn Storage, dir: &Path) -> Result<Option<String>> {
    Ok(match read_partition_metadata(storage, dir)? {
        PartitionOwner::Topic(id) => Some(id),
        _ => None,
    })
}

/// What [`remove_owned_dir`] did.
#[derive(Debug, Default)]
pub(super) struct Removal {
    /// Names in the directory kafkalite did not write, left in place (with the directory).
    pub foreign: Vec<String>,
}

/// Removes the files kafkalite writes in a partition directory, then the directory if that
/// left it empty. Anything else stays, byte for byte, and is returned (the directory stays
/// too). The caller syncs the parent directory.
pub(super) fn remove_owned_dir(storage: &dyn Storage, dir: &Path) -> Result<Removal> {
    let mut removal = Removal::default();
    for entry in storage.list(dir)? {
        if !entry.is_dir && is_partition_file(&entry.name) {
            storage.remove_file(&dir.join(&entry.name))?;
        } else {
            removal.foreign.push(entry.name);
        }
    }
    if removal.foreign.is_empty() {
        storage.remove_dir(dir)?;
    }
    Ok(removal)
}

/// The files kafkalite writes in a data directory itself.
pub(super) fn is_cluster_file(name: &str) -> bool {
    let name = name.strip_suffix(TMP_SUFFIX).unwrap_or(name);
    matches!(
        name,
        META_PROPERTIES
            | super::LOCK_FILE
            | super::CLEAN_SHUTDOWN_FILE
            | super::RECOVERY_POINT_FILE
            | super::LOG_START_FILE
            | super::cleaner::CHECKPOINT_FILE
    )
}

/// The files kafkalite writes in a partition directory: segments, indexes, their
/// checksums, `partition.metadata`, the `LOCK` of a log opened on its own, the event
/// store's tables and `eventstore.metadata`, those names with
/// `.tmp` while being replaced, and segment files with a cleaning's `.cleaned`, `.swap` or
/// `.deleted`.
pub(super) fn is_partition_file(name: &str) -> bool {
    let name = name.strip_suffix(TMP_SUFFIX).unwrap_or(name);
    // A cleaning's new and replaced segment files (see `log::cleaner::swap`).
    let name = crate::log::CLEANER_FILE_MARKERS
        .iter()
        .find_map(|marker| name.strip_suffix(marker))
        .unwrap_or(name);
    if name == PARTITION_METADATA
        || name == crate::log::INDEX_CHECKSUMS_FILE
        || name == crate::log::LOG_LOCK_FILE
        || name == crate::log::EVENT_STORE_FILE
    {
        return true;
    }
    SEGMENT_SUFFIXES
        .iter()
        .chain([
            &crate::log::SNAPSHOT_SUFFIX,
            &crate::log::STREAM_INDEX_SUFFIX,
        ])
        .any(|suffix| {
            name.strip_suffix(suffix)
                .and_then(segment_base_offset)
                .is_some()
        })
}

/// Whether a directory looks like one an earlier kafkalite (without `partition.metadata`)
/// wrote: a partition directory name (`<topic>-<n>`, or one set aside with `-delete` or
/// `-stray`) holding only the files kafkalite writes there.
fn is_legacy_partition_dir(storage: &dyn Storage, dir: &Path) -> Result<bool> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let named = super::leftovers::partition_dir_name(name).is_some()
        || super::leftovers::aside_dir(name).is_some();
    if !named {
        return Ok(false);
    }
    only_partition_files(storage, dir)
}

/// Whether `dir` holds nothing but files kafkalite writes in partition directories.
pub(super) fn only_partition_files(storage: &dyn Storage, dir: &Path) -> Result<bool> {
    Ok(storage
        .list(dir)?
        .iter()
        .all(|e| !e.is_dir && is_partition_file(&e.name)))
}

fn not_owned(path: &Path, reason: String) -> Error {
    Error::NotOwned {
        path: path.to_path_buf(),
        reason,
    }
}

/// Whether `id` is a UUID as Kafka prints it: 22 characters of URL-safe base64.
fn is_uuid(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A random UUID as Kafka prints one (see [`crate::random::uuid`]), never Kafka's reserved
/// metadata topic id.
pub(super) fn new_uuid() -> String {
    loop {
        let id = crate::random::uuid();
        if id != METADATA_TOPIC_ID {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_print_as_kafka_prints_them() {
        // Kafka's Uuid.METADATA_TOPIC_ID is new Uuid(0L, 1L).
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(crate::random::encode_uuid(one), METADATA_TOPIC_ID);
        assert_eq!(
            crate::random::encode_uuid([0xff; 16]),
            "_____________________w"
        );
        let id = new_uuid();
        assert!(is_uuid(&id) && !id.starts_with('-'), "{id}");
        assert_ne!(new_uuid(), new_uuid());
    }

    #[test]
    fn meta_properties_round_trip_and_kafka_files_parse() {
        let meta = MetaProperties::new();
        let path = Path::new("meta.properties");
        assert_eq!(MetaProperties::parse(path, &meta.encode()).unwrap(), meta);
        // As a Kafka 3.9 broker writes it.
        let kafka =
            "#\n#Tue Dec 02 10:00:00 UTC 2026\nnode.id=1\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n\
                     version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n";
        let parsed = MetaProperties::parse(path, kafka).unwrap();
        assert_eq!(parsed.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
        assert_eq!(parsed.node_id, 1);
        for bad in [
            "version=0\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=0\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n",
            "version=1\nnode.id=0\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n",
            "version=1\ncluster.id=short\nnode.id=0\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n",
            "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\nnode.id=x\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\n",
            "garbage\n",
        ] {
            assert!(
                matches!(MetaProperties::parse(path, bad), Err(Error::Corruption { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn partition_file_names() {
        for ours in [
            "00000000000000000000.log",
            "00000000000000052814.index",
            "00000000000000052814.timeindex",
            "00000000000000052814.index.tmp",
            "index-checksums",
            "index-checksums.tmp",
            "partition.metadata",
            "partition.metadata.tmp",
            "00000000000000000000.log.cleaned",
            "00000000000000000000.log.swap",
            "00000000000000052814.timeindex.deleted",
            "00000000000000052814.streams",
            "00000000000000052814.streams.tmp",
            "eventstore.metadata",
            "eventstore.metadata.tmp",
        ] {
            assert!(is_partition_file(ours), "{ours}");
        }
        for other in [
            "data.txt",
            "0000000000000000000.log",
            "00000000000000000000.log.bak",
            "00000000000000000000.log.swap.bak",
            "notes.swap",
            "0000000000000000000a.log",
            "img.jpg",
            ".tmp",
        ] {
            assert!(!is_partition_file(other), "{other}");
        }
    }
}
