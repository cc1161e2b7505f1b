//! Kafka's checkpoint files (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`):
//! version 0, an entry count, then `topic partition offset` lines. Written to a temporary file,
//! synced, renamed, and the directory synced.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::Storage;

/// Offsets by (topic, partition).
pub type CheckpointMap = BTreeMap<(String, i32), i64>;

/// Reads a checkpoint; a missing file is empty. A malformed file is a `Corruption` error.
pub fn read(storage: &dyn Storage, path: &Path) -> Result<CheckpointMap> {
    if !storage.exists(path) {
        return Ok(CheckpointMap::new());
    }
    let bytes = storage.read_file(path)?;
    parse(&bytes).map_err(|(line, why)| Error::corruption(path, line as u64, why))
}

fn parse(bytes: &[u8]) -> std::result::Result<CheckpointMap, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|_| (0, "not UTF-8 text".to_string()))?;
    let mut lines = text.lines();
    let version = lines.next().map(str::trim);
    if version != Some("0") {
        return Err((0, format!("version {version:?} is not 0")));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or((1, "missing entry count".to_string()))?;
    let mut map = CheckpointMap::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let entry = match fields.as_slice() {
            [topic, partition, offset] => partition
                .parse::<i32>()
                .ok()
                .zip(offset.parse::<i64>().ok())
                .map(|(p, o)| ((topic.to_string(), p), o)),
            _ => None,
        };
        let (key, offset) = entry.ok_or((i + 2, format!("malformed line '{line}'")))?;
        map.insert(key, offset);
    }
    if map.len() != count {
        return Err((
            1,
            format!("header says {count} entries, found {}", map.len()),
        ));
    }
    Ok(map)
}

/// Writes a checkpoint atomically and durably.
pub fn write(storage: &dyn Storage, path: &Path, entries: &CheckpointMap) -> Result<()> {
    let mut text = format!("0\n{}\n", entries.len());
    for ((topic, partition), offset) in entries {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    storage.replace_file(path, text.as_bytes(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RealStorage;

    #[test]
    fn round_trip_and_kafka_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point-offset-checkpoint");
        let mut map = CheckpointMap::new();
        map.insert(("orders".into(), 0), 1234);
        map.insert(("orders".into(), 1), 987);
        write(&RealStorage, &path, &map).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n2\norders 0 1234\norders 1 987\n"
        );
        assert_eq!(read(&RealStorage, &path).unwrap(), map);
    }

    #[test]
    fn malformed_files_are_corruption() {
        for text in ["1\n0\n", "0\n2\nt 0 5\n", "0\n1\nt x 5\n", "\u{0}"] {
            assert!(parse(text.as_bytes()).is_err(), "{text:?}");
        }
        assert_eq!(parse(b"0\n0\n").unwrap().len(), 0);
    }
}
