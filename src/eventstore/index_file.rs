//! The stream index's files: immutable tables, each holding the streams of one offset range
//! of a partition (`<from>.streams` in the partition directory, `from` the first offset it
//! covers, in the 20 digits of a segment's name).
//!
//! Every byte a lookup uses is checked: the header and the block directory by one CRC-32C
//! when the table is opened, each block of stream records by its own CRC the first time a
//! lookup uses it (the file is mapped and never changes), each stream's entries by theirs
//! at every read. A lookup reads one block and then the stream's entries, so neither
//! opening a table nor using it reads more than it needs.
//!
//! Layout (big-endian, as Kafka's index files):
//!
//! ```text
//! header  (64 bytes)   magic "KLSTREAM", format version u32, block count u32, from i64,
//!                      to i64 (exclusive), stream count u64, entry count u64,
//!                      CRC of the batch holding offset to - 1 u32, its position in
//!                      its segment u32,
//!                      CRC-32C of bytes 0..56 and the block directory u32, 0 u32
//! directory            per block: first stream hash u64, position u64, length u32, CRC u32
//! blocks               up to 64 stream records (hash u64, first version u64, entries'
//!                      position u64, entry count u32, entries' CRC u32, name's place in
//!                      the block u32, name length u32), then their names
//! entries              per stream, per event: offset i64, batch position u32
//! by offset            every event in offset order, in chunks of up to 256: CRC-32C u32,
//!                      then per event offset i64 and stream version u64
//! chunk directory      each chunk's first offset i64, then their CRC-32C u32
//! ```
//!
//! The by-offset chunks give the version of the event at an offset (for reads in log order)
//! with one read, and their directory is read once, when first needed.
//!
//! Streams are sorted by (hash, name); the hash is FNV-1a, 64 bits, stable across builds.
//!
//! A newer format keeps the magic, the version and block count where they are, a directory
//! of 24 bytes a block, and the CRC at byte 56 over bytes 0..56 and the directory: so a
//! table whose version field is damaged fails that CRC and is dropped as damaged, while a
//! newer kafkalite's table (its CRC good) is kept and refused
//! ([`crate::Error::UnsupportedFormat`]).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file name suffix.
pub(super) use crate::log::STREAM_INDEX_SUFFIX as SUFFIX;

const MAGIC: &[u8; 8] = b"KLSTREAM";
/// 1: tables count only committed records (format 0, of kafkalite before the store read
/// committed, counted aborted transactions' records as events too: such a table is
/// dropped, and its offsets indexed again from the log).
const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 64;
const CRC_COVERS: usize = 56;
const BLOCK_REF_BYTES: usize = 24;
const RECORD_BYTES: usize = 40;
const ENTRY_BYTES: usize = 12;
const STREAMS_PER_BLOCK: usize = 64;
const BY_OFFSET_BYTES: usize = 16;
const EVENTS_PER_CHUNK: usize = 256;

/// One stream's events in a table. A stream with no entries is retired: retention removed
/// all its events before `first_version` (at least 1), and the table keeps its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableStream {
    pub name: String,
    pub first_version: u64,
    /// `(offset, batch position)` of each event, offsets ascending.
    pub entries: Vec<(i64, u32)>,
}

/// Where a stream's events are in one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StreamRecord {
    pub first_version: u64,
    pub count: u32,
    entries_at: u64,
    entries_crc: u32,
}

impl StreamRecord {
    /// The version of the stream's last event in the table (for a retired stream, of its
    /// last event before retention removed them all).
    pub fn last_version(&self) -> u64 {
        self.first_version + u64::from(self.count) - 1
    }
}

/// What a table covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Coverage {
    /// The first offset covered.
    pub from: i64,
    /// Every record in `from..to` is indexed.
    pub to: i64,
    /// The stored CRC of the log's batch holding offset `to - 1` when the table was written:
    /// a log cut and written again since no longer matches it.
    pub last_batch_crc: u32,
    /// Where that batch starts in its segment's file: the check reads it there, without
    /// the segment's offset index (a hint: a wrong one falls back to the index).
    pub last_batch_position: u32,
}

/// By-offset chunks already read, by (table, chunk): `(offset, version)` pairs.
pub(super) type ChunkCache = std::collections::HashMap<(usize, usize), Vec<(i64, u64)>>;

/// The bytes of the by-offset chunks and their directory for `events` events.
fn by_offset_len(events: u64) -> Option<u64> {
    let chunks = events.div_ceil(EVENTS_PER_CHUNK as u64);
    events
        .checked_mul(BY_OFFSET_BYTES as u64)?
        .checked_add(chunks.checked_mul(12)?)?
        .checked_add(4)
}

/// The stable 64-bit hash of a stream name (FNV-1a).
pub(super) fn stream_hash(name: &str) -> u64 {
    name.as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The path of the table covering offsets from `from` in `dir`.
pub(super) fn path(dir: &Path, from: i64) -> PathBuf {
    dir.join(format!("{}{SUFFIX}", crate::log::file_stem(from)))
}

/// The bytes of a table holding `streams` (any order; each with at least one entry, or
/// retired with a first version of at least 1).
pub(super) fn encode(coverage: Coverage, mut streams: Vec<TableStream>) -> Result<Vec<u8>> {
    streams.sort_unstable_by(|a, b| {
        (stream_hash(&a.name), &a.name).cmp(&(stream_hash(&b.name), &b.name))
    });
    let block_count = streams.len().div_ceil(STREAMS_PER_BLOCK);
    let block_len = |chunk: &[TableStream]| {
        chunk.len() * RECORD_BYTES + chunk.iter().map(|s| s.name.len()).sum::<usize>()
    };
    let blocks_at = HEADER_BYTES + block_count * BLOCK_REF_BYTES;
    let entries_at = blocks_at
        + streams
            .chunks(STREAMS_PER_BLOCK)
            .map(block_len)
            .sum::<usize>();
    let entry_count: usize = streams.iter().map(|s| s.entries.len()).sum();
    let mut out = vec![0u8; blocks_at];
    let mut entries = Vec::with_capacity(entry_count * ENTRY_BYTES);
    let mut refs = Vec::with_capacity(block_count * BLOCK_REF_BYTES);
    for chunk in streams.chunks(STREAMS_PER_BLOCK) {
        let block_at = out.len();
        let mut names = Vec::new();
        for stream in chunk {
            let run_at = entries_at + entries.len();
            let run_start = entries.len();
            for &(offset, position) in &stream.entries {
                entries.extend_from_slice(&offset.to_be_bytes());
                entries.extend_from_slice(&position.to_be_bytes());
            }
            out.extend_from_slice(&stream_hash(&stream.name).to_be_bytes());
            out.extend_from_slice(&stream.first_version.to_be_bytes());
            out.extend_from_slice(&(run_at as u64).to_be_bytes());
            out.extend_from_slice(
                &narrow(stream.entries.len(), "events of one stream")?.to_be_bytes(),
            );
            out.extend_from_slice(&crc32c::crc32c(&entries[run_start..]).to_be_bytes());
            let name_at = chunk.len() * RECORD_BYTES + names.len();
            out.extend_from_slice(&narrow(name_at, "a block's bytes")?.to_be_bytes());
            out.extend_from_slice(
                &narrow(stream.name.len(), "a stream name's bytes")?.to_be_bytes(),
            );
            names.extend_from_slice(stream.name.as_bytes());
        }
        out.extend_from_slice(&names);
        let block = &out[block_at..];
        refs.extend_from_slice(&stream_hash(&chunk[0].name).to_be_bytes());
        refs.extend_from_slice(&(block_at as u64).to_be_bytes());
        refs.extend_from_slice(&narrow(block.len(), "a block's bytes")?.to_be_bytes());
        refs.extend_from_slice(&crc32c::crc32c(block).to_be_bytes());
    }
    debug_assert_eq!(out.len(), entries_at);
    out.extend_from_slice(&entries);
    let mut by_offset: Vec<(i64, u64)> = streams
        .iter()
        .flat_map(|s| {
            (s.first_version..)
                .zip(&s.entries)
                .map(|(version, &(offset, _))| (offset, version))
        })
        .collect();
    by_offset.sort_unstable();
    let mut firsts = Vec::new();
    for chunk in by_offset.chunks(EVENTS_PER_CHUNK) {
        let mut bytes = Vec::with_capacity(chunk.len() * BY_OFFSET_BYTES);
        for &(offset, version) in chunk {
            bytes.extend_from_slice(&offset.to_be_bytes());
            bytes.extend_from_slice(&version.to_be_bytes());
        }
        out.extend_from_slice(&crc32c::crc32c(&bytes).to_be_bytes());
        out.extend_from_slice(&bytes);
        firsts.extend_from_slice(&chunk[0].0.to_be_bytes());
    }
    out.extend_from_slice(&firsts);
    out.extend_from_slice(&crc32c::crc32c(&firsts).to_be_bytes());
    let mut header = Vec::with_capacity(HEADER_BYTES);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    header.extend_from_slice(&narrow(block_count, "blocks")?.to_be_bytes());
    header.extend_from_slice(&coverage.from.to_be_bytes());
    header.extend_from_slice(&coverage.to.to_be_bytes());
    header.extend_from_slice(&(streams.len() as u64).to_be_bytes());
    header.extend_from_slice(&(entry_count as u64).to_be_bytes());
    header.extend_from_slice(&coverage.last_batch_crc.to_be_bytes());
    header.extend_from_slice(&coverage.last_batch_position.to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header), &refs);
    header.extend_from_slice(&crc.to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes());
    out[..HEADER_BYTES].copy_from_slice(&header);
    out[HEADER_BYTES..blocks_at].copy_from_slice(&refs);
    Ok(out)
}

/// `value` as a table's u32 field; a table refuses what does not fit rather than narrow it.
fn narrow(value: usize, what: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::InvalidRecord(format!(
            "{value} {what} do not fit in a stream index table (at most {})",
            u32::MAX
        ))
    })
}

/// Reads big-endian integers from a checked slice.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u64(&self, at: usize) -> u64 {
        u64::from_be_bytes(self.0[at..at + 8].try_into().expect("8 bytes"))
    }
    fn i64(&self, at: usize) -> i64 {
        self.u64(at) as i64
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.0[at..at + 4].try_into().expect("4 bytes"))
    }
}

mod table;
#[cfg(test)]
mod tests;

pub(super) use table::Table;
