//! kafka-dump-log on `.index` and `.timeindex` files: the entries, each checked against the
//! segment it indexes (`--verify-index-only` checks without printing), or only Kafka's
//! `sanityCheck` (`--index-sanity-check`), the check that decides at startup whether an
//! index is rebuilt. Mismatches are collected and reported on stderr once every file is
//! dumped, in Kafka's words (`DumpLogSegments.dumpIndex`, `dumpTimeIndex`,
//! `TimeIndexDumpErrors`).

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kafkalite::record::RecordBatch;
use kafkalite::TimestampType;

use super::CliResult;

/// What the checks found, per file, in the order Kafka prints it.
#[derive(Default)]
pub struct IndexErrors {
    /// Offset index entries whose batch ends elsewhere: (index offset, log offset).
    mismatches: Vec<(String, Vec<(i64, i64)>)>,
    /// Time index entries whose batch's max timestamp differs: (index, log).
    timestamp_mismatches: Vec<(String, Vec<(i64, i64)>)>,
    /// Time index entries not after the one before: (index, previous).
    out_of_order: Vec<(String, Vec<(i64, i64)>)>,
    /// Time index entries whose offset ends no batch: (index offset, log offset or -1).
    not_found: Vec<(String, Vec<(i64, i64)>)>,
}

fn record(list: &mut Vec<(String, Vec<(i64, i64)>)>, file: &str, pair: (i64, i64)) {
    match list.iter_mut().find(|(f, _)| f == file) {
        Some((_, pairs)) => pairs.push(pair),
        None => list.push((file.to_string(), vec![pair])),
    }
}

impl IndexErrors {
    /// Prints what was found on stderr, as Kafka's tool does at the end.
    pub fn print(&self) {
        // Kafka prepends each offset mismatch to its list: the last found comes first.
        for (file, pairs) in &self.mismatches {
            eprintln!("Mismatches in :{file}");
            for (index, log) in pairs.iter().rev() {
                eprintln!("  Index offset: {index}, log offset: {log}");
            }
        }
        for (file, pairs) in &self.timestamp_mismatches {
            eprintln!("Found timestamp mismatch in :{file}");
            for (index, log) in pairs {
                eprintln!("  Index timestamp: {index}, log timestamp: {log}");
            }
        }
        for (file, pairs) in &self.out_of_order {
            eprintln!("Found out of order timestamp in :{file}");
            for (index, previous) in pairs {
                eprintln!("  Index timestamp: {index}, Previously indexed timestamp: {previous}");
            }
        }
        for (_, pairs) in &self.not_found {
            eprintln!("The following indexed offsets are not found in the log.");
            for (index, log) in pairs {
                eprintln!("Indexed offset: {index}, found log offset: {log}");
            }
        }
    }
}

/// How an index is dumped.
#[derive(Clone, Copy)]
pub struct IndexMode {
    /// Only Kafka's sanity check.
    pub sanity_only: bool,
    /// Check every entry, print none.
    pub verify_only: bool,
}

/// The file `path` names with another extension: the segment or offset index beside it.
fn sibling(path: &Path, extension: &str) -> PathBuf {
    path.with_extension(extension)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn read_whole(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))
}

/// An offset index's entries as Kafka reads them: (base + relative as a signed 32-bit
/// number, position); a partial entry at the end is not one.
fn offset_entries(bytes: &[u8], base: i64) -> Vec<(i64, u32)> {
    bytes
        .chunks_exact(8)
        .map(|e| {
            let relative = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            (
                base + i64::from(relative),
                u32::from_be_bytes([e[4], e[5], e[6], e[7]]),
            )
        })
        .collect()
}

/// A time index's entries: (timestamp, base + relative offset).
fn time_entries(bytes: &[u8], base: i64) -> Vec<(i64, i64)> {
    bytes
        .chunks_exact(12)
        .map(|e| {
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&e[..8]);
            let relative = i32::from_be_bytes([e[8], e[9], e[10], e[11]]);
            (i64::from_be_bytes(ts), base + i64::from(relative))
        })
        .collect()
}

/// The batches of a segment from `position` on, one at a time.
struct Batches {
    reader: BufReader<File>,
    left: u64,
    bytes: Vec<u8>,
    file: String,
}

impl Batches {
    fn open(log: &Path, position: u64) -> Result<Batches, String> {
        let file = log.display().to_string();
        let mut opened = File::open(log)
            .map_err(|e| format!("open {file} (the segment the index belongs to): {e}"))?;
        let len = opened
            .metadata()
            .map_err(|e| format!("stat {file}: {e}"))?
            .len();
        opened
            .seek(SeekFrom::Start(position.min(len)))
            .map_err(|e| format!("seek {file}: {e}"))?;
        Ok(Batches {
            reader: BufReader::new(opened),
            left: len.saturating_sub(position),
            bytes: Vec::new(),
            file,
        })
    }

    /// The next whole, valid batch; `None` at the end or at damage.
    fn next(&mut self) -> Result<Option<RecordBatch<'_>>, String> {
        if !super::dump_log::read_batch(&mut self.reader, self.left, &mut self.bytes, &self.file)? {
            return Ok(None);
        }
        self.left -= self.bytes.len() as u64;
        Ok(RecordBatch::parse_prefix(&self.bytes).ok())
    }
}

/// Kafka's `dumpIndex`.
pub fn dump_index(
    path: &Path,
    base: i64,
    mode: IndexMode,
    errors: &mut IndexErrors,
    out: &mut dyn Write,
) -> CliResult {
    let bytes = read_whole(path)?;
    let entries = offset_entries(&bytes, base);
    let file = path.display();
    if entries.is_empty() {
        writeln!(out, "{file} is empty.")?;
        return Ok(());
    }
    if mode.sanity_only {
        let last = entries.last().map_or(base, |e| e.0);
        if last < base {
            return Err(format!(
                "Corrupt index found, index file {} has non-zero size but the last offset is {last} which is less than the base offset {base}",
                absolute(path)
            )
            .into());
        }
        if !bytes.len().is_multiple_of(8) {
            return Err(format!(
                "Index file {} is corrupt, found {} bytes which is neither positive nor a multiple of 8",
                absolute(path),
                bytes.len()
            )
            .into());
        }
        writeln!(out, "{file} passed sanity check.")?;
        return Ok(());
    }
    let log = sibling(path, "log");
    for (i, &(offset, position)) in entries.iter().enumerate() {
        // A preallocated index's zero entries end it, as in Kafka.
        if offset == base && i > 0 {
            break;
        }
        let mut batches = Batches::open(&log, u64::from(position))?;
        let found = batches.next()?.map_or(-1, |b| b.last_offset());
        if found != offset {
            record(&mut errors.mismatches, &absolute(path), (offset, found));
        }
        if !mode.verify_only {
            writeln!(out, "offset: {offset} position: {position}")?;
        }
    }
    Ok(())
}

/// Kafka's `dumpTimeIndex`.
pub fn dump_time_index(
    path: &Path,
    base: i64,
    mode: IndexMode,
    errors: &mut IndexErrors,
    out: &mut dyn Write,
) -> CliResult {
    let bytes = read_whole(path)?;
    let entries = time_entries(&bytes, base);
    if mode.sanity_only {
        return time_sanity(path, base, &bytes, &entries, out);
    }
    let index = offset_entries(
        &read_whole(&sibling(path, "index")).unwrap_or_default(),
        base,
    );
    let log = sibling(path, "log");
    let at = absolute(path);
    let mut previous = -1i64; // RecordBatch.NO_TIMESTAMP
    for (i, &(timestamp, offset)) in entries.iter().enumerate() {
        if offset == base && i > 0 {
            break;
        }
        // The offset index's floor entry, as Kafka's `lookup` (its entries rise).
        let floor = index.partition_point(|(o, _)| *o <= offset);
        let position = floor.checked_sub(1).map_or(0, |at| index[at].1);
        let mut batches = Batches::open(&log, u64::from(position))?;
        loop {
            let Some(batch) = batches.next()? else {
                record(&mut errors.not_found, &at, (offset, -1));
                break;
            };
            if batch.last_offset() < offset {
                continue;
            }
            if batch.last_offset() != offset {
                record(&mut errors.not_found, &at, (offset, batch.last_offset()));
                break;
            }
            let max = max_timestamp(&batch)?;
            if max != timestamp {
                record(&mut errors.timestamp_mismatches, &at, (timestamp, max));
            }
            if previous >= timestamp {
                record(&mut errors.out_of_order, &at, (timestamp, previous));
            }
            break;
        }
        if !mode.verify_only {
            writeln!(out, "timestamp: {timestamp} offset: {offset}")?;
        }
        previous = timestamp;
    }
    Ok(())
}

/// The largest record timestamp of a batch (its append time under LogAppendTime).
fn max_timestamp(batch: &RecordBatch<'_>) -> Result<i64, Box<dyn std::error::Error>> {
    if batch.timestamp_type() == TimestampType::LogAppendTime {
        return Ok(batch.max_timestamp());
    }
    let mut max = -1;
    for record in batch.records()?.iter() {
        max = max.max(record?.timestamp);
    }
    Ok(max)
}

/// `TimeIndex.sanityCheck`.
fn time_sanity(
    path: &Path,
    base: i64,
    bytes: &[u8],
    entries: &[(i64, i64)],
    out: &mut dyn Write,
) -> CliResult {
    let at = absolute(path);
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        if last.0 < first.0 {
            return Err(format!(
                "Corrupt time index found, time index file ({at}) has non-zero size but the last timestamp is {} which is less than the first timestamp {}",
                last.0, first.0
            )
            .into());
        }
        if last.1 < base {
            return Err(format!(
                "Corrupt time index found, time index file ({at}) has non-zero size but the last offset is {} which is less than the first offset {base}",
                last.1
            )
            .into());
        }
    }
    if !bytes.len().is_multiple_of(12) {
        return Err(format!(
            "Time index file {at} is corrupt, found {} bytes which is neither positive nor a multiple of 12",
            bytes.len()
        )
        .into());
    }
    writeln!(out, "{} passed sanity check.", path.display())?;
    Ok(())
}
