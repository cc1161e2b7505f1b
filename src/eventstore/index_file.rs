//! The stream index's files: immutable tables, each holding the streams of one offset range
//! of a partition (`<from>.streams` in the partition directory, `from` the first offset it
//! covers, in the 20 digits of a segment's name).
//!
//! Every byte a lookup uses is checked: the header and the block directory by one CRC-32C
//! read when the table is opened, each block of stream records by its own CRC when it is
//! read, each stream's entries by theirs. A lookup reads one block and then the stream's
//! entries, so neither opening a table nor using it reads more than it needs.
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

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::storage::{OpenMode, Storage, StorageFile};

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

/// An open table.
#[derive(Debug)]
pub(super) struct Table {
    pub coverage: Coverage,
    pub path: PathBuf,
    pub stream_count: u64,
    pub entry_count: u64,
    file: Box<dyn StorageFile>,
    len: u64,
    /// Per block: (first hash, position, length, CRC).
    blocks: Vec<(u64, u64, u32, u32)>,
    /// Where the by-offset chunks begin.
    chunks_at: u64,
    /// How many by-offset chunks there are.
    chunk_count: usize,
    /// Each by-offset chunk's first offset, read at first use.
    chunk_firsts: std::sync::OnceLock<Vec<i64>>,
}

/// A block of stream records, checked: its bytes, and per record its hash, the record, and
/// where its name is in the bytes.
struct Block {
    bytes: Vec<u8>,
    records: Vec<(u64, StreamRecord, std::ops::Range<usize>)>,
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

impl Table {
    /// Opens the table at `path`, checking its header and block directory (not its blocks
    /// or entries: those are checked when a lookup reads them).
    pub fn open(storage: &dyn Storage, path: &Path) -> Result<Table> {
        let file = storage.open(path, OpenMode::Existing)?;
        let len = file.len()?;
        let bad = |position: u64, detail: String| Error::corruption(path, position, detail);
        if len < HEADER_BYTES as u64 {
            return Err(bad(
                0,
                format!("a stream index file of {len} bytes has no header"),
            ));
        }
        let mut header = [0u8; HEADER_BYTES];
        file.read_at(&mut header, 0)?;
        let fields = Fields(&header);
        if &header[..8] != MAGIC {
            return Err(bad(0, "not a stream index file (no KLSTREAM magic)".into()));
        }
        let version = fields.u32(8);
        if version != FORMAT_VERSION {
            let why = if version < FORMAT_VERSION {
                format!(
                    "a table of format version {version}, from an older kafkalite whose \
                     tables counted aborted transactions' records as events"
                )
            } else {
                format!(
                    "a table of format version {version}, from a newer kafkalite (this one \
                     writes version {FORMAT_VERSION})"
                )
            };
            return Err(bad(8, why));
        }
        let block_count = fields.u32(12) as usize;
        let refs_len = block_count * BLOCK_REF_BYTES;
        let refs_end = (HEADER_BYTES + refs_len) as u64;
        if (HEADER_BYTES + refs_len) as u64 > len {
            return Err(bad(
                12,
                format!("{block_count} blocks do not fit in {len} bytes"),
            ));
        }
        let mut refs = vec![0u8; refs_len];
        file.read_at(&mut refs, HEADER_BYTES as u64)?;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..CRC_COVERS]), &refs);
        if crc != fields.u32(CRC_COVERS) {
            return Err(bad(
                CRC_COVERS as u64,
                "header or block directory CRC mismatch".into(),
            ));
        }
        let coverage = Coverage {
            from: fields.i64(16),
            to: fields.i64(24),
            last_batch_crc: fields.u32(48),
            last_batch_position: fields.u32(52),
        };
        if coverage.from < 0 || coverage.to <= coverage.from {
            return Err(bad(16, format!("covers no offsets ({coverage:?})")));
        }
        let refs = Fields(&refs);
        let blocks: Vec<(u64, u64, u32, u32)> = (0..block_count)
            .map(|b| {
                let at = b * BLOCK_REF_BYTES;
                (
                    refs.u64(at),
                    refs.u64(at + 8),
                    refs.u32(at + 16),
                    refs.u32(at + 20),
                )
            })
            .collect();
        let in_bounds = blocks.iter().all(|&(_, at, block_len, _)| {
            at.checked_add(u64::from(block_len))
                .is_some_and(|end| end <= len)
        });
        let sorted = blocks.windows(2).all(|w| w[0].0 <= w[1].0);
        if !in_bounds || !sorted {
            return Err(bad(
                HEADER_BYTES as u64,
                "block directory out of bounds or order".into(),
            ));
        }
        let entry_count = fields.u64(40);
        let entries_at = blocks
            .last()
            .map_or(refs_end, |&(_, at, block_len, _)| at + u64::from(block_len));
        let chunks_at = entry_count
            .checked_mul(ENTRY_BYTES as u64)
            .and_then(|entries| entries_at.checked_add(entries));
        let fits = chunks_at
            .and_then(|at| at.checked_add(by_offset_len(entry_count)?))
            .is_some_and(|end| end == len);
        let contiguous = blocks
            .iter()
            .try_fold(refs_end, |at, &(_, block_at, block_len, _)| {
                (block_at == at).then_some(at + u64::from(block_len))
            })
            .is_some();
        let chunk_count = usize::try_from(entry_count.div_ceil(EVENTS_PER_CHUNK as u64));
        if !fits || !contiguous || chunk_count.is_err() {
            return Err(bad(
                40,
                format!("{entry_count} events do not fill a file of {len} bytes"),
            ));
        }
        Ok(Table {
            coverage,
            path: path.to_path_buf(),
            stream_count: fields.u64(32),
            entry_count,
            file,
            len,
            blocks,
            chunks_at: chunks_at.unwrap_or(len),
            chunk_count: chunk_count.unwrap_or(0),
            chunk_firsts: std::sync::OnceLock::new(),
        })
    }

    /// The stream's record in this table, if it has events here.
    pub fn lookup(&self, name: &str) -> Result<Option<StreamRecord>> {
        let hash = stream_hash(name);
        // Streams of one hash may begin in the block before the first whose first hash is
        // this one.
        let first = self
            .blocks
            .partition_point(|b| b.0 < hash)
            .saturating_sub(1);
        for block in first..self.blocks.len() {
            if self.blocks[block].0 > hash {
                break;
            }
            let found = self.block(block, None)?;
            for (record_hash, record, record_name) in &found.records {
                if *record_hash == hash && found.bytes[record_name.clone()] == *name.as_bytes() {
                    return Ok(Some(*record));
                }
            }
        }
        Ok(None)
    }

    /// Every stream of the table, with its entries (the file read in one go, for a merge).
    pub fn streams(&self) -> Result<Vec<TableStream>> {
        let mut whole = vec![0u8; usize::try_from(self.len).unwrap_or(usize::MAX)];
        self.file.read_at(&mut whole, 0)?;
        let whole = Some(&whole[..]);
        self.records(whole)?
            .into_iter()
            .map(|(name, record)| {
                Ok(TableStream {
                    name,
                    first_version: record.first_version,
                    entries: self.entries_in(&record, whole)?,
                })
            })
            .collect()
    }

    /// Every stream of the table and the version after its last one here (its records
    /// only; no entries are read).
    pub fn next_versions(&self) -> Result<Vec<(String, u64)>> {
        let records = self.records(None)?;
        Ok(records
            .into_iter()
            .map(|(name, record)| (name, record.last_version() + 1))
            .collect())
    }

    /// Every stream record of the table, with its stream's name.
    fn records(&self, whole: Option<&[u8]>) -> Result<Vec<(String, StreamRecord)>> {
        let mut records = Vec::with_capacity(self.stream_count.min(1 << 20) as usize);
        for block in 0..self.blocks.len() {
            let found = self.block(block, whole)?;
            for (_, record, name) in found.records {
                let name = String::from_utf8(found.bytes[name].to_vec()).map_err(|_| {
                    Error::corruption(
                        &self.path,
                        self.blocks[block].1,
                        "a stream name is not UTF-8",
                    )
                })?;
                records.push((name, record));
            }
        }
        Ok(records)
    }

    /// The records of block `block`: (hash, record, name), checked.
    fn block(&self, block: usize, whole: Option<&[u8]>) -> Result<Block> {
        let (_, at, len, crc) = self.blocks[block];
        let bytes = self.bytes_at(whole, at, len as usize)?;
        let bad = |detail: &str| Error::corruption(&self.path, at, detail.to_string());
        if crc32c::crc32c(&bytes) != crc {
            return Err(bad("stream record block CRC mismatch"));
        }
        let fields = Fields(&bytes);
        let mut records = Vec::with_capacity(STREAMS_PER_BLOCK);
        let mut at_record = 0;
        // The names follow the records: the first record's name says where they start.
        let mut names_from = bytes.len();
        while at_record + RECORD_BYTES <= names_from {
            let name_at = fields.u32(at_record + 32) as usize;
            let name_len = fields.u32(at_record + 36) as usize;
            if name_at
                .checked_add(name_len)
                .is_none_or(|end| end > bytes.len())
            {
                return Err(bad("a stream name lies outside its block"));
            }
            names_from = names_from.min(name_at);
            let record = StreamRecord {
                first_version: fields.u64(at_record + 8),
                entries_at: fields.u64(at_record + 16),
                count: fields.u32(at_record + 24),
                entries_crc: fields.u32(at_record + 28),
            };
            let fits = record
                .entries_at
                .checked_add(u64::from(record.count) * ENTRY_BYTES as u64)
                .is_some_and(|end| end <= self.len);
            let retired_at_zero = record.count == 0 && record.first_version == 0;
            if retired_at_zero || !fits || record.first_version > i64::MAX as u64 {
                return Err(bad(
                    "a stream record has no version, or its events lie outside the file",
                ));
            }
            records.push((fields.u64(at_record), record, name_at..name_at + name_len));
            at_record += RECORD_BYTES;
        }
        if records.is_empty() || at_record != names_from {
            return Err(bad("a stream record block is malformed"));
        }
        Ok(Block { bytes, records })
    }

    /// The version of the event at `offset` (of whichever stream), if the table has one
    /// there; `cache` keeps the chunks read (under `table`, this table's place).
    pub fn version_at(
        &self,
        offset: i64,
        table: usize,
        cache: &mut ChunkCache,
    ) -> Result<Option<u64>> {
        let firsts = self.chunk_firsts()?;
        let Some(chunk) = firsts.partition_point(|&f| f <= offset).checked_sub(1) else {
            return Ok(None);
        };
        let events = match cache.entry((table, chunk)) {
            std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
            std::collections::hash_map::Entry::Vacant(place) => {
                place.insert(self.chunk(chunk, firsts)?)
            }
        };
        Ok(events
            .binary_search_by_key(&offset, |&(o, _)| o)
            .ok()
            .map(|at| events[at].1))
    }

    /// Each by-offset chunk's first offset, read and checked once.
    fn chunk_firsts(&self) -> Result<&[i64]> {
        if let Some(firsts) = self.chunk_firsts.get() {
            return Ok(firsts);
        }
        let chunks = self.chunk_count;
        let at = self.len - (chunks as u64 * 8 + 4);
        let mut bytes = vec![0u8; chunks * 8 + 4];
        self.file.read_at(&mut bytes, at)?;
        let fields = Fields(&bytes);
        if crc32c::crc32c(&bytes[..chunks * 8]) != fields.u32(chunks * 8) {
            return Err(Error::corruption(
                &self.path,
                at,
                "chunk directory CRC mismatch",
            ));
        }
        let firsts: Vec<i64> = (0..chunks).map(|c| fields.i64(c * 8)).collect();
        Ok(self.chunk_firsts.get_or_init(|| firsts))
    }

    /// By-offset chunk `chunk`, checked: its CRC, offsets rising from the directory's first
    /// inside the coverage, versions a record may have.
    fn chunk(&self, chunk: usize, firsts: &[i64]) -> Result<Vec<(i64, u64)>> {
        let full = EVENTS_PER_CHUNK as u64;
        let left = self.entry_count - chunk as u64 * full;
        let events = usize::try_from(left).map_or(EVENTS_PER_CHUNK, |l| l.min(EVENTS_PER_CHUNK));
        let at = self.chunks_at + chunk as u64 * (4 + full * BY_OFFSET_BYTES as u64);
        let mut bytes = vec![0u8; 4 + events * BY_OFFSET_BYTES];
        self.file.read_at(&mut bytes, at)?;
        let fields = Fields(&bytes);
        let bad = |detail: &str| Error::corruption(&self.path, at, detail.to_string());
        if crc32c::crc32c(&bytes[4..]) != fields.u32(0) {
            return Err(bad("by-offset chunk CRC mismatch"));
        }
        let read: Vec<(i64, u64)> = (0..events)
            .map(|e| {
                let at = 4 + e * BY_OFFSET_BYTES;
                (fields.i64(at), fields.u64(at + 8))
            })
            .collect();
        let rising = read.windows(2).all(|w| w[0].0 < w[1].0);
        let inside = read[0].0 == firsts[chunk]
            && read[0].0 >= self.coverage.from
            && read[events - 1].0 < self.coverage.to
            && read.iter().all(|&(_, v)| v <= i64::MAX as u64);
        if !rising || !inside {
            return Err(bad(
                "by-offset chunk out of order or outside the table's offsets",
            ));
        }
        Ok(read)
    }

    /// The `(offset, batch position)` of each of the stream's events in this table, checked:
    /// their CRC, and offsets rising inside the table's coverage.
    pub fn entries(&self, record: &StreamRecord) -> Result<Vec<(i64, u32)>> {
        self.entries_in(record, None)
    }

    /// `len` bytes at `at`: from `whole` (the file, read before), else read now.
    fn bytes_at(&self, whole: Option<&[u8]>, at: u64, len: usize) -> Result<Vec<u8>> {
        let Some(whole) = whole else {
            let mut bytes = vec![0u8; len];
            self.file.read_at(&mut bytes, at)?;
            return Ok(bytes);
        };
        usize::try_from(at)
            .ok()
            .and_then(|from| whole.get(from..from.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::corruption(&self.path, at, "a read past the end of the file"))
    }

    fn entries_in(&self, record: &StreamRecord, whole: Option<&[u8]>) -> Result<Vec<(i64, u32)>> {
        let count = record.count as usize;
        let bytes = self.bytes_at(whole, record.entries_at, count * ENTRY_BYTES)?;
        let bad =
            |detail: &str| Error::corruption(&self.path, record.entries_at, detail.to_string());
        if crc32c::crc32c(&bytes) != record.entries_crc {
            return Err(bad("stream entries CRC mismatch"));
        }
        let fields = Fields(&bytes);
        let entries: Vec<(i64, u32)> = (0..count)
            .map(|e| (fields.i64(e * ENTRY_BYTES), fields.u32(e * ENTRY_BYTES + 8)))
            .collect();
        let rising = entries.windows(2).all(|w| w[0].0 < w[1].0);
        let covered = entries.first().is_none_or(|e| e.0 >= self.coverage.from)
            && entries.last().is_none_or(|e| e.0 < self.coverage.to);
        if !rising || !covered {
            return Err(bad(
                "stream entries out of order or outside the table's offsets",
            ));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SimStorage;

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
                let entries = table.entries(&record)?;
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

    #[test]
    fn a_table_gives_back_every_stream_and_nothing_else() {
        let sim = SimStorage::new(Path::new("/sim"));
        let path = Path::new("/sim/00000000000000000100.streams");
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
        assert_eq!(table.entries(&retired).unwrap(), []);
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

    #[test]
    fn every_changed_byte_is_an_error_or_changes_nothing() {
        let sim = SimStorage::new(Path::new("/sim"));
        let path = Path::new("/sim/00000000000000000100.streams");
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
}
