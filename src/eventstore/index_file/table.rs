//! An open table: the file mapped whole, each block checked at its first use, lookups made
//! in place.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{
    by_offset_len, stream_hash, ChunkCache, Coverage, Fields, StreamRecord, TableStream,
    BLOCK_REF_BYTES, BY_OFFSET_BYTES, CRC_COVERS, ENTRY_BYTES, EVENTS_PER_CHUNK, FORMAT_VERSION,
    HEADER_BYTES, MAGIC, RECORD_BYTES,
};
use crate::error::{Error, Result};
use crate::storage::{AppendFile, OpenMode, Storage};

/// An open table, read through a mapping of the whole file: a table is written, synced and
/// renamed into place before it is opened, and never changed afterwards (a merge writes a
/// new one), so its bytes stay as they were checked.
#[derive(Debug)]
pub(in crate::eventstore) struct Table {
    pub coverage: Coverage,
    pub path: PathBuf,
    pub stream_count: u64,
    pub entry_count: u64,
    file: AppendFile,
    len: u64,
    /// Per block: (first hash, position, length, CRC).
    blocks: Vec<(u64, u64, u32, u32)>,
    /// Per block: how many records it holds, once its CRC and records were checked (0
    /// before: a block holds at least one). Checked at its first use, as RocksDB's block
    /// cache checks a block when it reads it from the file, not again; lookups read no
    /// record past this count, whatever the mapped bytes say later.
    checked: Box<[AtomicU32]>,
    /// Where the by-offset chunks begin.
    chunks_at: u64,
    /// How many by-offset chunks there are.
    chunk_count: usize,
    /// Each by-offset chunk's first offset, read at first use.
    chunk_firsts: std::sync::OnceLock<Vec<i64>>,
}

impl Table {
    /// Opens the table at `path`, checking its header and block directory (not its blocks
    /// or entries: those are checked when a lookup reads them).
    pub fn open(storage: &dyn Storage, path: &Path) -> Result<Table> {
        let file = AppendFile::new(storage.open(path, OpenMode::Existing)?, 0, 0)?;
        let bytes = file.bytes();
        let len = bytes.len() as u64;
        let bad = |position: u64, detail: String| Error::corruption(path, position, detail);
        let Some(header) = bytes.get(..HEADER_BYTES) else {
            return Err(bad(
                0,
                format!("a stream index file of {len} bytes has no header"),
            ));
        };
        let fields = Fields(header);
        if &header[..8] != MAGIC {
            return Err(bad(0, "not a stream index file (no KLSTREAM magic)".into()));
        }
        let version = fields.u32(8);
        if version < FORMAT_VERSION {
            return Err(bad(
                8,
                format!(
                    "a table of format version {version}, from an older kafkalite whose \
                     tables counted aborted transactions' records as events"
                ),
            ));
        }
        // Every format keeps these fields and this CRC where version 1 has them, so that
        // a damaged version field is told from a newer format.
        let block_count = fields.u32(12) as usize;
        let refs_end = HEADER_BYTES + block_count * BLOCK_REF_BYTES;
        let Some(refs) = bytes.get(HEADER_BYTES..refs_end) else {
            return Err(bad(
                12,
                format!("{block_count} blocks do not fit in {len} bytes"),
            ));
        };
        let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..CRC_COVERS]), refs);
        if crc != fields.u32(CRC_COVERS) {
            return Err(bad(
                CRC_COVERS as u64,
                "header or block directory CRC mismatch".into(),
            ));
        }
        if version > FORMAT_VERSION {
            // Not removed as a damaged table would be: a newer table may be the only record
            // of versions retention emptied, and that kafkalite can still read it.
            return Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
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
        let refs = Fields(refs);
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
            .map_or(refs_end as u64, |&(_, at, block_len, _)| {
                at + u64::from(block_len)
            });
        let chunks_at = entry_count
            .checked_mul(ENTRY_BYTES as u64)
            .and_then(|entries| entries_at.checked_add(entries));
        let fits = chunks_at
            .and_then(|at| at.checked_add(by_offset_len(entry_count)?))
            .is_some_and(|end| end == len);
        let contiguous = blocks
            .iter()
            .try_fold(refs_end as u64, |at, &(_, block_at, block_len, _)| {
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
        let stream_count = fields.u64(32);
        Ok(Table {
            coverage,
            path: path.to_path_buf(),
            stream_count,
            entry_count,
            file,
            len,
            checked: blocks.iter().map(|_| AtomicU32::new(0)).collect(),
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
            let records = self.checked_block(block)?;
            // Records are in hash order (checked with the block).
            let from = records.first_at_or_after(hash);
            for r in from..records.count {
                if records.hash(r) != hash {
                    break;
                }
                if records.name(r) == Some(name.as_bytes()) {
                    return Ok(Some(records.record(r)));
                }
            }
        }
        Ok(None)
    }

    /// Every stream of the table, with its entries (for a merge).
    pub fn streams(&self) -> Result<Vec<TableStream>> {
        self.records()?
            .into_iter()
            .map(|(name, record)| {
                Ok(TableStream {
                    name,
                    first_version: record.first_version,
                    entries: self.entries(&record)?.to_vec(),
                })
            })
            .collect()
    }

    /// Every stream of the table and the version after its last one here (its records
    /// only; no entries are read).
    pub fn next_versions(&self) -> Result<Vec<(String, u64)>> {
        let records = self.records()?;
        Ok(records
            .into_iter()
            .map(|(name, record)| (name, record.last_version() + 1))
            .collect())
    }

    /// Every stream record of the table, with its stream's name.
    fn records(&self) -> Result<Vec<(String, StreamRecord)>> {
        let mut found = Vec::with_capacity(self.stream_count.min(1 << 20) as usize);
        for block in 0..self.blocks.len() {
            let records = self.checked_block(block)?;
            for r in 0..records.count {
                let name = records.name(r).map(|n| String::from_utf8(n.to_vec()));
                let Some(Ok(name)) = name else {
                    return Err(Error::corruption(
                        &self.path,
                        self.blocks[block].1,
                        "a stream name is not UTF-8",
                    ));
                };
                found.push((name, records.record(r)));
            }
        }
        Ok(found)
    }

    /// The records of block `block`, its CRC and records checked (at its first use).
    fn checked_block(&self, block: usize) -> Result<Records<'_>> {
        let (_, at, len, crc) = self.blocks[block];
        let bytes = self.bytes_at(at, len as usize)?;
        let mut count = self.checked[block].load(Ordering::Relaxed);
        if count == 0 {
            count = self.check_block(bytes, at, crc)?;
            self.checked[block].store(count, Ordering::Relaxed);
        }
        Ok(Records {
            bytes,
            count: count as usize,
        })
    }

    /// Checks the block at `at`: its CRC, and that its records lie in it, in hash order,
    /// each naming its stream inside the block and its events inside the file. Gives how
    /// many records it holds (at least one).
    fn check_block(&self, bytes: &[u8], at: u64, crc: u32) -> Result<u32> {
        let bad = |detail: &str| Error::corruption(&self.path, at, detail.to_string());
        if crc32c::crc32c(bytes) != crc {
            return Err(bad("stream record block CRC mismatch"));
        }
        let fields = Fields(bytes);
        let mut at_record = 0;
        let mut last_hash = 0;
        // The names follow the records: the first record's name says where they start.
        let mut names_from = bytes.len();
        while at_record + RECORD_BYTES <= names_from {
            let hash = fields.u64(at_record);
            let name_at = fields.u32(at_record + 32) as usize;
            let name_len = fields.u32(at_record + 36) as usize;
            if name_at
                .checked_add(name_len)
                .is_none_or(|end| end > bytes.len())
            {
                return Err(bad("a stream name lies outside its block"));
            }
            names_from = names_from.min(name_at);
            let record = Records { bytes, count: 0 }.record(at_record / RECORD_BYTES);
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
            if hash < last_hash {
                return Err(bad("stream records out of hash order"));
            }
            last_hash = hash;
            at_record += RECORD_BYTES;
        }
        // The first record's name begins the names, as a table is written.
        if at_record == 0 || at_record != names_from || fields.u32(32) as usize != at_record {
            return Err(bad("a stream record block is malformed"));
        }
        u32::try_from(at_record / RECORD_BYTES)
            .map_err(|_| bad("a stream record block is malformed"))
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
        let bytes = self.bytes_at(at, chunks * 8 + 4)?;
        let fields = Fields(bytes);
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
        let bytes = self.bytes_at(at, 4 + events * BY_OFFSET_BYTES)?;
        let fields = Fields(bytes);
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

    /// `len` bytes of the file at `at`.
    fn bytes_at(&self, at: u64, len: usize) -> Result<&[u8]> {
        usize::try_from(at)
            .ok()
            .and_then(|from| self.file.bytes().get(from..from.checked_add(len)?))
            .ok_or_else(|| Error::corruption(&self.path, at, "a read past the end of the file"))
    }

    /// The `(offset, batch position)` of each of the stream's events in this table, checked:
    /// their CRC, and offsets rising inside the table's coverage.
    pub fn entries(&self, record: &StreamRecord) -> Result<Entries<'_>> {
        let count = record.count as usize;
        let bytes = self.bytes_at(record.entries_at, count * ENTRY_BYTES)?;
        let bad =
            |detail: &str| Error::corruption(&self.path, record.entries_at, detail.to_string());
        if crc32c::crc32c(bytes) != record.entries_crc {
            return Err(bad("stream entries CRC mismatch"));
        }
        let entries = Entries(bytes.as_chunks::<ENTRY_BYTES>().0);
        let offset = |entry: &[u8; ENTRY_BYTES]| Fields(entry).i64(0);
        let rising = entries.0.windows(2).all(|w| offset(&w[0]) < offset(&w[1]));
        let covered = entries.is_empty()
            || (entries.get(0).0 >= self.coverage.from
                && entries.get(entries.len() - 1).0 < self.coverage.to);
        if !rising || !covered {
            return Err(bad(
                "stream entries out of order or outside the table's offsets",
            ));
        }
        Ok(entries)
    }
}

/// A stream's entries in a table, checked, read in place.
#[derive(Debug, Clone, Copy)]
pub(in crate::eventstore) struct Entries<'a>(&'a [[u8; ENTRY_BYTES]]);

impl<'a> Entries<'a> {
    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entry `e`: `(offset, batch position)`. Panics unless `e` is below [`Entries::len`].
    pub fn get(&self, e: usize) -> (i64, u32) {
        let fields = Fields(&self.0[e]);
        (fields.i64(0), fields.u32(8))
    }

    /// Entries `at` (a range within [`Entries::len`]).
    pub fn range(self, at: Range<usize>) -> impl ExactSizeIterator<Item = (i64, u32)> + 'a {
        at.map(move |e| self.get(e))
    }

    /// How many lie below `offset` (offsets rise, as checked).
    pub fn count_below(&self, offset: i64) -> usize {
        self.0.partition_point(|e| Fields(e).i64(0) < offset)
    }

    /// All of them.
    pub fn to_vec(self) -> Vec<(i64, u32)> {
        self.range(0..self.len()).collect()
    }
}

/// The stream records of a block, read in place: record `r` for `r` below `count`, which
/// `Table::check_block` found room for in `bytes`.
struct Records<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl Records<'_> {
    fn hash(&self, r: usize) -> u64 {
        Fields(self.bytes).u64(r * RECORD_BYTES)
    }

    /// The first record whose hash is `hash` or above (records are in hash order).
    fn first_at_or_after(&self, hash: u64) -> usize {
        let (records, _) = self.bytes[..self.count * RECORD_BYTES].as_chunks::<RECORD_BYTES>();
        records.partition_point(|r| Fields(r).u64(0) < hash)
    }

    fn record(&self, r: usize) -> StreamRecord {
        let (fields, at) = (Fields(self.bytes), r * RECORD_BYTES);
        StreamRecord {
            first_version: fields.u64(at + 8),
            entries_at: fields.u64(at + 16),
            count: fields.u32(at + 24),
            entries_crc: fields.u32(at + 28),
        }
    }

    /// Record `r`'s stream name (inside the block, as the check found).
    fn name(&self, r: usize) -> Option<&[u8]> {
        let fields = Fields(self.bytes);
        let at = fields.u32(r * RECORD_BYTES + 32) as usize;
        let len = fields.u32(r * RECORD_BYTES + 36) as usize;
        self.bytes.get(at..at.checked_add(len)?)
    }
}
