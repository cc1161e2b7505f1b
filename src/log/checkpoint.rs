//! Kafka's checkpoint files (`recovery-point-offset-checkpoint`, `log-start-offset-checkpoint`):
//! version 0, an entry count, then `topic partition offset` lines. Written to a temporary file,
//! synced, renamed, and the directory synced.
//!
//! Kafka's format has no checksum, so one flipped digit could silently move a log's start
//! (hiding records) or its recovery point. kafkalite ends each file with one more line,
//! `crc32c:` and the CRC-32C (8 hex digits) of every byte before that line, and reports a
//! mismatch as corruption. A file without that line (as Kafka writes it) is read unchecked;
//! every file must end with a newline, so a cut inside a line is caught either way.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::Storage;

/// Offsets by (topic, partition).
pub type CheckpointMap = BTreeMap<(String, i32), i64>;

/// Starts the checksum line.
const CHECKSUM_PREFIX: &str = "crc32c:";

/// Reads a checkpoint; a missing file is empty. A malformed file is a `Corruption` error.
pub fn read(storage: &dyn Storage, path: &Path) -> Result<CheckpointMap> {
    if !storage.exists(path) {
        return Ok(CheckpointMap::new());
    }
    let bytes = storage.read_file(path)?;
    parse(&bytes).map_err(|(position, why)| Error::corruption(path, position as u64, why))
}

/// The entries, or the byte position of the first problem and what it is.
fn parse(bytes: &[u8]) -> std::result::Result<CheckpointMap, (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|_| (0, "not UTF-8 text".to_string()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err((text.len(), "the last line is cut short".to_string()));
    }
    let text = verify_checksum(text)?;
    // Each line with the byte position where it starts.
    let mut lines = text.split_inclusive('\n').scan(0, |at, line| {
        let start = *at;
        *at += line.len();
        Some((start, line.trim_end_matches('\n')))
    });
    let version = lines.next();
    if version.map(|(_, l)| l.trim()) != Some("0") {
        return Err((0, format!("version {:?} is not 0", version.map(|(_, l)| l))));
    }
    let (count_at, count_line) = lines.next().unwrap_or((text.len(), ""));
    let count: usize = count_line
        .trim()
        .parse()
        .map_err(|_| (count_at, "missing entry count".to_string()))?;
    let mut map = CheckpointMap::new();
    for (at, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let entry = match fields.as_slice() {
            [topic, partition, offset] => partition
                .parse::<i32>()
                .ok()
                .zip(offset.parse::<i64>().ok())
                .map(|(p, o)| ((topic.to_string(), p), o)),
            _ => None,
        };
        let (key, offset) = entry.ok_or((at, format!("malformed line '{line}'")))?;
        map.insert(key, offset);
    }
    if map.len() != count {
        return Err((
            count_at,
            format!("header says {count} entries, found {}", map.len()),
        ));
    }
    Ok(map)
}

/// The text before the checksum line, once the checksum matches; all of `text` if it has no
/// checksum line.
fn verify_checksum(text: &str) -> std::result::Result<&str, (usize, String)> {
    let body_end = text[..text.len().saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let Some(stored) = text[body_end..].trim_end().strip_prefix(CHECKSUM_PREFIX) else {
        return Ok(text);
    };
    let body = &text[..body_end];
    let computed = crc32c::crc32c(body.as_bytes());
    if u32::from_str_radix(stored, 16).ok() != Some(computed) || stored.len() != 8 {
        return Err((
            body_end,
            format!("checksum {stored} does not match the contents ({computed:08x})"),
        ));
    }
    Ok(body)
}

/// Writes a checkpoint atomically and durably.
pub fn write(storage: &dyn Storage, path: &Path, entries: &CheckpointMap) -> Result<()> {
    let mut text = format!("0\n{}\n", entries.len());
    for ((topic, partition), offset) in entries {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    let checksum = crc32c::crc32c(text.as_bytes());
    text.push_str(&format!("{CHECKSUM_PREFIX}{checksum:08x}\n"));
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
        let kafka = "0\n2\norders 0 1234\norders 1 987\n";
        let checksum = format!("crc32c:{:08x}\n", crc32c::crc32c(kafka.as_bytes()));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{kafka}{checksum}")
        );
        assert_eq!(read(&RealStorage, &path).unwrap(), map);
        assert_eq!(parse(kafka.as_bytes()).unwrap(), map, "as Kafka writes it");
    }

    #[test]
    fn a_changed_digit_is_caught_by_the_checksum() {
        let mut map = CheckpointMap::new();
        map.insert(("t".into(), 0), 40);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log-start-offset-checkpoint");
        write(&RealStorage, &path, &map).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen("t 0 40", "t 0 48", 1);
        let (line, why) = parse(changed.as_bytes()).unwrap_err();
        assert_eq!(line, "0\n1\nt 0 48\n".len(), "{why}");
        let cut = &text[..text.len() - 3];
        assert!(parse(cut.as_bytes()).is_err(), "a cut checksum line");
        assert!(parse(b"0\n1\nt 0 4").is_err(), "a cut entry");
    }

    #[test]
    fn malformed_files_are_corruption() {
        for text in ["1\n0\n", "0\n2\nt 0 5\n", "0\n1\nt x 5\n", "\u{0}"] {
            assert!(parse(text.as_bytes()).is_err(), "{text:?}");
        }
        assert_eq!(parse(b"0\n0\n").unwrap().len(), 0);
    }
}
