//! Tests of the table format: what a table gives back, and what damage it finds.

use super::*;
use crate::storage::{SimStorage, Storage};

/// `n` streams of one to four events; every fifth is retired (no events).
fn streams(n: u32) -> Vec<TableStream> {
    (0..n)
        .map(|s| {
            let retired = s % 5 == 4;
            TableStream {
                name: format!("stream-{s}"),
                first_version: u64::from(s % 3 + u32::from(retired)),
                entries: (0..if retired { 0 } else { 1 + s % 4 })
                    .map(|e| (i64::from(100 + s * 4 + e), s * 40 + e))
                    .collect(),
            }
        })
        .collect()
}

const COVERAGE: Coverage = Coverage {
    from: 100,
    to: 700,
    last_batch_crc: 0xdead_beef,
    last_batch_position: 4096,
};

/// Everything a reader can get out of the table at `path`, or the first error.
fn read_back(storage: &dyn Storage, path: &Path, n: u32) -> Result<Vec<TableStream>> {
    let table = Table::open(storage, path)?;
    let mut found = Vec::new();
    let mut cache = ChunkCache::new();
    for stream in streams(n) {
        if let Some(record) = table.lookup(&stream.name)? {
            let entries = table.entries(&record)?.to_vec();
            // Each event's version by its offset, too.
            for (version, &(offset, _)) in (record.first_version..).zip(&entries) {
                if table.version_at(offset, 0, &mut cache)? != Some(version) {
                    return Ok(Vec::new());
                }
            }
            found.push(TableStream {
                name: stream.name,
                first_version: record.first_version,
                entries,
            });
        }
    }
    assert_eq!(table.version_at(99, 0, &mut cache)?, None);
    assert_eq!(table.version_at(700, 0, &mut cache)?, None);
    Ok(found)
}

/// Where the tests put their table.
fn table_path() -> &'static Path {
    Path::new("/sim/00000000000000000100.streams")
}

#[test]
fn a_table_gives_back_every_stream_and_nothing_else() {
    let (sim, path) = (SimStorage::new(Path::new("/sim")), table_path());
    let bytes = encode(COVERAGE, streams(150)).unwrap();
    sim.replace_file(path, &bytes, false).unwrap();
    assert_eq!(read_back(&sim, path, 150).unwrap(), streams(150));
    let table = Table::open(&sim, path).unwrap();
    assert_eq!(table.coverage, COVERAGE);
    let entries: usize = streams(150).iter().map(|s| s.entries.len()).sum();
    assert_eq!(table.stream_count, 150);
    assert_eq!(table.entry_count, entries as u64);
    assert_eq!(table.lookup("stream-150").unwrap(), None);
    // A retired stream keeps its last version, with no events.
    let retired = table.lookup("stream-9").unwrap().unwrap();
    assert_eq!((retired.count, retired.last_version()), (0, 0));
    assert_eq!(table.entries(&retired).unwrap().to_vec(), []);
    assert_eq!(table.lookup("").unwrap(), None);
    let mut all = table.streams().unwrap();
    all.sort_by_key(|s| (s.name.len(), s.name.clone()));
    assert_eq!(all, streams(150));
    let mut next = table.next_versions().unwrap();
    next.sort();
    let mut expected: Vec<(String, u64)> = streams(150)
        .into_iter()
        .map(|s| (s.name, s.first_version + s.entries.len() as u64))
        .collect();
    expected.sort();
    assert_eq!(next, expected);
}

/// `bytes` (a table of one block) with `change` made to its block, and every CRC made
/// to match again: damage only the structural checks can find.
fn with_matching_crcs(bytes: &[u8], change: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let block_at = HEADER_BYTES + BLOCK_REF_BYTES;
    let block_len = Fields(&bytes).u32(HEADER_BYTES + 16) as usize;
    change(&mut bytes[block_at..block_at + block_len]);
    let crc = crc32c::crc32c(&bytes[block_at..block_at + block_len]);
    bytes[HEADER_BYTES + 20..block_at].copy_from_slice(&crc.to_be_bytes());
    let crc = crc32c::crc32c_append(
        crc32c::crc32c(&bytes[..CRC_COVERS]),
        &bytes[HEADER_BYTES..block_at],
    );
    bytes[CRC_COVERS..CRC_COVERS + 4].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn a_block_whose_records_are_out_of_place_is_corruption_under_a_matching_crc() {
    let (sim, path) = (SimStorage::new(Path::new("/sim")), table_path());
    let bytes = encode(COVERAGE, streams(3)).unwrap();
    sim.replace_file(path, &bytes, false).unwrap();
    assert_eq!(read_back(&sim, path, 3).unwrap(), streams(3));
    let out_of_order = with_matching_crcs(&bytes, |block| {
        // The second record's hash below the first's.
        block[RECORD_BYTES..RECORD_BYTES + 8].copy_from_slice(&0u64.to_be_bytes());
    });
    let names_swapped = with_matching_crcs(&bytes, |block| {
        // The first two records' names swapped: each still inside the block, but the
        // first record's no longer where the names begin.
        let first: [u8; 8] = block[32..40].try_into().unwrap();
        block.copy_within(RECORD_BYTES + 32..RECORD_BYTES + 40, 32);
        block[RECORD_BYTES + 32..RECORD_BYTES + 40].copy_from_slice(&first);
    });
    for (damaged, why) in [
        (out_of_order, "out of hash order"),
        (names_swapped, "malformed"),
    ] {
        sim.replace_file(path, &damaged, false).unwrap();
        match read_back(&sim, path, 3) {
            Err(Error::Corruption { detail, .. }) => assert!(detail.contains(why), "{detail}"),
            other => panic!("{why}: {other:?}"),
        }
    }
}

#[test]
fn every_changed_byte_is_an_error_or_changes_nothing() {
    let (sim, path) = (SimStorage::new(Path::new("/sim")), table_path());
    // Two blocks of stream records.
    let bytes = encode(COVERAGE, streams(70)).unwrap();
    let mut errors = 0;
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        sim.replace_file(path, &damaged, false).unwrap();
        match read_back(&sim, path, 70) {
            Err(Error::Corruption { .. }) => errors += 1,
            Err(other) => panic!("byte {at}: {other}"),
            Ok(found) => assert_eq!(found, streams(70), "byte {at} changed an answer"),
        }
    }
    // Only the reserved header bytes outside the CRC change nothing.
    assert_eq!(errors, bytes.len() - 4);
    for cut in [0, 10, HEADER_BYTES, bytes.len() / 2, bytes.len() - 1] {
        sim.replace_file(path, &bytes[..cut], false).unwrap();
        let read = read_back(&sim, path, 70);
        assert!(read.is_err(), "cut at {cut}: {read:?}");
    }
}

#[test]
fn entries_out_of_order_or_outside_the_coverage_are_corruption_under_matching_crcs() {
    let (sim, path) = (SimStorage::new(Path::new("/sim")), table_path());
    let entries_of = |entries: Vec<(i64, u32)>| -> Result<Vec<(i64, u32)>> {
        let stream = TableStream {
            name: "s".to_string(),
            first_version: 0,
            entries,
        };
        sim.replace_file(path, &encode(COVERAGE, vec![stream]).unwrap(), false)
            .unwrap();
        let table = Table::open(&sim, path).unwrap();
        let record = table.lookup("s").unwrap().unwrap();
        Ok(table.entries(&record)?.to_vec())
    };
    // Both ends of the coverage (`from` inclusive, `to` exclusive) are inside it.
    let fine = vec![(100, 0), (101, 7), (699, 9)];
    assert_eq!(entries_of(fine.clone()).unwrap(), fine);
    for (entries, why) in [
        (vec![(200, 0), (150, 1)], "falling"),
        (vec![(150, 0), (150, 1)], "repeated"),
        (vec![(99, 0), (150, 1)], "below the coverage"),
        (vec![(150, 0), (700, 1)], "at its end"),
    ] {
        match entries_of(entries) {
            Err(Error::Corruption { detail, .. }) => {
                assert!(
                    detail.contains("out of order or outside"),
                    "{why}: {detail}"
                );
            }
            other => panic!("{why}: {other:?}"),
        }
    }
}
