//! Producer-state snapshots, `<20-digit offset>.snapshot`, in Kafka's format
//! (`ProducerSnapshot.json` version 1, `ProducerStateManager.writeSnapshot`): `version` i16,
//! `crc` u32 (CRC-32C of every byte after it), then an i32-counted array of entries
//! (producerId i64, epoch i16, lastSequence i32, lastOffset i64, offsetDelta i32, timestamp
//! i64, coordinatorEpoch i32, currentTxnFirstOffset i64, −1 for none), big-endian. A snapshot
//! named `N` holds the state of every batch below offset `N`.
//!
//! Written through a `.tmp` file and a rename; synced at a clean close (the next open
//! relies on it), not on roll: one a crash lost or tore fails its CRC at the next open, which
//! deletes it and takes the next older one (as Kafka's `loadFromSnapshot`), or replays from
//! the log start.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use super::producer_state::{BatchMetadata, ProducerEntry};
use super::segment::{file_stem, segment_base_offset};
use crate::error::Result;
use crate::record::crc32c;
use crate::storage::Storage;

/// The suffix of snapshot files.
pub(crate) const SNAPSHOT_SUFFIX: &str = ".snapshot";
const VERSION: i16 = 1;
/// Bytes before the entries: version, CRC, count.
const HEADER_BYTES: usize = 2 + 4 + 4;
const ENTRY_BYTES: usize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8;

/// The path of the snapshot at `offset`.
pub(crate) fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{}{SNAPSHOT_SUFFIX}", file_stem(offset)))
}

/// Encodes `entries` (only the last batch of each is kept, as Kafka's).
pub(crate) fn encode<'a>(entries: impl ExactSizeIterator<Item = &'a ProducerEntry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + entries.len() * ENTRY_BYTES);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    let count = i32::try_from(entries.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for entry in entries.take(count.unsigned_abs() as usize) {
        let last = entry.batches.back();
        out.extend_from_slice(&entry.producer_id.to_be_bytes());
        out.extend_from_slice(&entry.epoch.to_be_bytes());
        out.extend_from_slice(&last.map_or(-1, |b| b.last_seq).to_be_bytes());
        out.extend_from_slice(&last.map_or(-1, |b| b.last_offset).to_be_bytes());
        out.extend_from_slice(&last.map_or(0, |b| b.offset_delta).to_be_bytes());
        out.extend_from_slice(&entry.last_timestamp.to_be_bytes());
        out.extend_from_slice(&entry.coordinator_epoch.to_be_bytes());
        out.extend_from_slice(&entry.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
    }
    let crc = crc32c(&out[6..]);
    out[2..6].copy_from_slice(&crc.to_be_bytes());
    out
}

/// Decodes a snapshot; the error says why it cannot be trusted.
pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<Vec<ProducerEntry>, String> {
    if bytes.len() < HEADER_BYTES {
        return Err(format!(
            "{} bytes, shorter than the {HEADER_BYTES}-byte header",
            bytes.len()
        ));
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    if version != VERSION {
        return Err(format!(
            "unknown version {version} (reads version {VERSION})"
        ));
    }
    let stored = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
    let computed = crc32c(&bytes[6..]);
    if stored != computed {
        return Err(format!(
            "CRC is no longer valid: stored {stored}, computed {computed}"
        ));
    }
    let count = i32::from_be_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let body = &bytes[HEADER_BYTES..];
    if usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(ENTRY_BYTES))
        != Some(body.len())
    {
        return Err(format!(
            "{count} entries need {} bytes after the header, the file has {}",
            i64::from(count) * ENTRY_BYTES as i64,
            body.len()
        ));
    }
    let entries: Vec<ProducerEntry> = body.chunks_exact(ENTRY_BYTES).map(decode_entry).collect();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(last) = entry.batches.back() {
            if last.offset_delta < 0 || i64::from(last.offset_delta) > last.last_offset {
                return Err(format!(
                    "entry {i}: offset delta {} does not fit its last offset {}",
                    last.offset_delta, last.last_offset
                ));
            }
        }
    }
    Ok(entries)
}

fn decode_entry(raw: &[u8]) -> ProducerEntry {
    let mut at = 0;
    let mut take = |n: usize| {
        let field = &raw[at..at + n];
        at += n;
        field
    };
    let producer_id = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
    let epoch = i16::from_be_bytes(take(2).try_into().expect("2 bytes"));
    let last_seq = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
    let last_offset = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
    let offset_delta = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
    let timestamp = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
    let coordinator_epoch = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
    let txn_first = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
    let mut batches = VecDeque::new();
    if last_offset >= 0 {
        batches.push_back(BatchMetadata {
            last_seq,
            last_offset,
            offset_delta,
            timestamp,
        });
    }
    ProducerEntry {
        producer_id,
        epoch,
        batches,
        coordinator_epoch,
        last_timestamp: timestamp,
        current_txn_first_offset: (txn_first >= 0).then_some(txn_first),
    }
}

/// One producer of a `.snapshot` file, as `kafka-dump-log` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSnapshotEntry {
    /// The producer id.
    pub producer_id: i64,
    /// Its epoch.
    pub epoch: i16,
    /// The epoch of the last transaction coordinator that wrote a marker for it.
    pub coordinator_epoch: i32,
    /// The first offset of its open transaction.
    pub current_txn_first_offset: Option<i64>,
    /// The max timestamp of its last write.
    pub last_timestamp: i64,
    /// Its last batch: `(first sequence, last sequence, last offset, offset delta,
    /// timestamp)`, if the snapshot remembers one.
    pub last_batch: Option<(i32, i32, i64, i32, i64)>,
}

/// Reads a producer-state snapshot file's bytes (Kafka's `ProducerStateManager.readSnapshot`):
/// `CorruptRecord` says why one cannot be trusted (version, CRC, length).
pub fn read_producer_snapshot(bytes: &[u8]) -> Result<Vec<ProducerSnapshotEntry>> {
    let entries = decode(bytes)
        .map_err(|why| crate::error::Error::CorruptRecord(format!("producer snapshot: {why}")))?;
    Ok(entries
        .into_iter()
        .map(|e| ProducerSnapshotEntry {
            producer_id: e.producer_id,
            epoch: e.epoch,
            coordinator_epoch: e.coordinator_epoch,
            current_txn_first_offset: e.current_txn_first_offset,
            last_timestamp: e.last_timestamp,
            last_batch: e.batches.back().map(|b| {
                (
                    b.first_seq(),
                    b.last_seq,
                    b.last_offset,
                    b.offset_delta,
                    b.timestamp,
                )
            }),
        })
        .collect())
}

/// Writes the snapshot at `offset` (replacing one of the same name); with `durable`, synced
/// with its directory.
pub(crate) fn write<'a>(
    storage: &dyn Storage,
    dir: &Path,
    offset: i64,
    entries: impl ExactSizeIterator<Item = &'a ProducerEntry>,
    durable: bool,
) -> Result<()> {
    storage.replace_file(&snapshot_path(dir, offset), &encode(entries), durable)
}

/// The offsets of the snapshots in `dir`, ascending.
pub(crate) fn list(storage: &dyn Storage, dir: &Path) -> Result<Vec<i64>> {
    let mut offsets: Vec<i64> = storage
        .list(dir)?
        .iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| e.name.strip_suffix(SNAPSHOT_SUFFIX))
        .filter_map(segment_base_offset)
        .collect();
    offsets.sort_unstable();
    Ok(offsets)
}

/// Removes the `.snapshot.tmp` files a write interrupted by a crash left (at open, when no
/// write can be under way); returns how many.
pub(crate) fn remove_interrupted(storage: &dyn Storage, dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in storage.list(dir)?.iter().filter(|e| !e.is_dir) {
        let stem = entry
            .name
            .strip_suffix(".tmp")
            .and_then(|n| n.strip_suffix(SNAPSHOT_SUFFIX));
        if stem.and_then(segment_base_offset).is_some() {
            storage.remove_file(&dir.join(&entry.name))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes the snapshots below `start` (their segments are gone).
pub(crate) fn remove_below(storage: &dyn Storage, dir: &Path, start: i64) -> Result<usize> {
    remove_where(storage, dir, |offset| offset < start)
}

/// Removes the snapshots outside `start..=end`: below the log start, or past a log end
/// that recovery cut back.
pub(crate) fn remove_outside(
    storage: &dyn Storage,
    dir: &Path,
    start: i64,
    end: i64,
) -> Result<usize> {
    remove_where(storage, dir, |offset| !(start..=end).contains(&offset))
}

/// Removes the snapshots strictly inside `(after, before)`: those of segments a cleaning
/// merged into the segment at `after` (Kafka deletes the snapshots of replaced segments).
pub(crate) fn remove_within(
    storage: &dyn Storage,
    dir: &Path,
    after: i64,
    before: i64,
) -> Result<usize> {
    remove_where(storage, dir, |offset| offset > after && offset < before)
}

/// Removes the snapshots at no segment's base (`bases`, ascending), keeping the newest one
/// when it lies past the last base: Kafka's `removeStraySnapshots`, which keeps the count
/// bounded by the segments' (each clean close leaves one inside the active segment).
pub(crate) fn remove_strays(storage: &dyn Storage, dir: &Path, bases: &[i64]) -> Result<usize> {
    let offsets = list(storage, dir)?;
    let last_base = bases.last().copied().unwrap_or(i64::MIN);
    let newest = offsets.last().copied().filter(|&o| o > last_base);
    remove_where(storage, dir, |offset| {
        bases.binary_search(&offset).is_err() && Some(offset) != newest
    })
}

fn remove_where(storage: &dyn Storage, dir: &Path, remove: impl Fn(i64) -> bool) -> Result<usize> {
    let mut removed = 0;
    for offset in list(storage, dir)?.into_iter().filter(|&at| remove(at)) {
        let path = snapshot_path(dir, offset);
        match storage.remove_file(&path) {
            Ok(()) => removed += 1,
            // Two retention passes may race to remove it.
            Err(_) if !storage.exists(&path) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(producer_id: i64, last: Option<(i32, i64, i32)>, txn: Option<i64>) -> ProducerEntry {
        ProducerEntry {
            producer_id,
            epoch: 3,
            batches: last
                .map(|(last_seq, last_offset, offset_delta)| BatchMetadata {
                    last_seq,
                    last_offset,
                    offset_delta,
                    timestamp: 1_700_000_000_000,
                })
                .into_iter()
                .collect(),
            coordinator_epoch: 7,
            last_timestamp: 1_700_000_000_000,
            current_txn_first_offset: txn,
        }
    }

    /// The byte layout, field by field, from Kafka's `ProducerSnapshot.json` (version 1:
    /// `Crc` uint32, then `ProducerEntries` with an int32 count) and `writeSnapshot`
    /// (CRC-32C from byte 6 to the end).
    #[test]
    fn encodes_kafkas_layout() {
        let bytes = encode([entry(1000, Some((41, 99, 9)), Some(90))].iter());
        let mut expected = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        expected.extend_from_slice(&1000i64.to_be_bytes());
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&41i32.to_be_bytes());
        expected.extend_from_slice(&99i64.to_be_bytes());
        expected.extend_from_slice(&9i32.to_be_bytes());
        expected.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        expected.extend_from_slice(&7i32.to_be_bytes());
        expected.extend_from_slice(&90i64.to_be_bytes());
        let crc = crc32c(&expected[6..]);
        expected[2..6].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn round_trips_the_last_batch_and_the_open_transaction() {
        let entries = vec![
            entry(1, Some((i32::MAX, 10, 4)), None),
            entry(2, None, Some(5)),
        ];
        let decoded = decode(&encode(entries.iter())).unwrap();
        assert_eq!(decoded, entries);
        assert_eq!(decoded[0].batches[0].first_seq(), i32::MAX - 4);
    }

    #[test]
    fn any_damage_is_refused() {
        let bytes = encode([entry(1, Some((5, 10, 2)), None)].iter());
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(decode(&bad).is_err(), "a flip at byte {at} went unnoticed");
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "cut to {len} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }

    proptest::proptest! {
        /// Any field values under a matching CRC (what a writer other than kafkalite could
        /// leave) decode or are refused, and what decodes reads back without a panic.
        #[test]
        fn any_entry_under_a_good_crc_never_panics(
            fields in proptest::collection::vec(
                (proptest::prelude::any::<i64>(), proptest::prelude::any::<i16>(),
                 proptest::prelude::any::<i32>(), proptest::prelude::any::<i64>(),
                 proptest::prelude::any::<i32>(), proptest::prelude::any::<i64>()),
                0..4,
            )
        ) {
            let entries: Vec<ProducerEntry> = fields
                .iter()
                .map(|&(id, epoch, seq, last, delta, txn)| {
                    let mut e = entry(id, Some((seq, last, delta)), (txn >= 0).then_some(txn));
                    e.epoch = epoch;
                    e
                })
                .collect();
            if let Ok(read) = read_producer_snapshot(&encode(entries.iter())) {
                proptest::prop_assert_eq!(read.len(), entries.len());
            }
        }
    }

    /// A well-formed file (good CRC) whose offset delta is negative or larger than its last
    /// offset is refused, not trusted into arithmetic that could overflow.
    #[test]
    fn impossible_offset_deltas_are_refused() {
        for (last_offset, delta) in [(10, -1), (10, i32::MIN), (3, 4)] {
            let bytes = encode([entry(1, Some((5, last_offset, delta)), None)].iter());
            assert!(decode(&bytes).is_err(), "delta {delta} at {last_offset}");
        }
        assert!(decode(&encode([entry(1, Some((5, 10, 10)), None)].iter())).is_ok());
    }
}
