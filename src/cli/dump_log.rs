//! `kafkalite dump-log`: kafka-dump-log's output for `.log`, `.index`, `.timeindex`,
//! `.txnindex` and `.snapshot` (producer state) files (the indexes in `dump_index`).
//! Files are opened read-only; a segment is read one batch at a time through a buffered
//! reader, so memory stays bounded by the largest batch whatever its size (an index is read
//! whole: it is at most `segment.index.bytes`).

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::path::Path;

use clap::Args;
use kafkalite::record::{
    parse_end_transaction_marker, ControlRecordType, RecordBatch, LOG_OVERHEAD_BYTES,
};

use super::dump_index::{self, IndexErrors, IndexMode};
use super::{internal_records, CliResult};

/// Files and detail level.
#[derive(Args, Debug)]
pub struct DumpLogArgs {
    /// Comma-separated segment or index files.
    #[arg(long, value_delimiter = ',', required = true)]
    files: Vec<String>,
    /// Also print each record, with key and payload.
    #[arg(long)]
    print_data_log: bool,
    /// Print each record (without key and payload unless --print-data-log).
    #[arg(long)]
    deep_iteration: bool,
    /// Decode `__consumer_offsets` records (offset commits) as Kafka's JSON; implies
    /// --print-data-log.
    #[arg(long, conflicts_with = "transaction_log_decoder")]
    offsets_decoder: bool,
    /// Decode `__transaction_state` records as Kafka's text; implies --print-data-log.
    #[arg(long)]
    transaction_log_decoder: bool,
    /// Check each index entry against its segment without printing the entries.
    #[arg(long)]
    verify_index_only: bool,
    /// Only run Kafka's startup sanity check on each index (no entries, no segment).
    #[arg(long)]
    index_sanity_check: bool,
}

impl DumpLogArgs {
    /// Kafka's `shouldPrintDataLog`: asked for, or implied by a decoder.
    fn print_data(&self) -> bool {
        self.print_data_log || self.offsets_decoder || self.transaction_log_decoder
    }
}

/// Dumps every file in turn, then reports the index mismatches found on stderr.
pub fn run(args: &DumpLogArgs, out: &mut dyn Write) -> CliResult {
    let mut errors = IndexErrors::default();
    let result = dump_files(args, &mut errors, out);
    out.flush()?;
    errors.print();
    result
}

fn dump_files(args: &DumpLogArgs, errors: &mut IndexErrors, out: &mut dyn Write) -> CliResult {
    let mode = IndexMode {
        sanity_only: args.index_sanity_check,
        verify_only: args.verify_index_only,
    };
    for file in &args.files {
        let path = Path::new(file);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let base: i64 = kafkalite::segment_base_offset(stem)
            .ok_or_else(|| format!("{file}: the file name is not a 20-digit base offset"))?;
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !["log", "index", "timeindex", "txnindex", "snapshot"].contains(&extension) {
            return Err(format!(
                "{file}: expected a .log, .index, .timeindex, .txnindex or .snapshot file"
            )
            .into());
        }
        writeln!(out, "Dumping {file}")?;
        match extension {
            "index" => dump_index::dump_index(path, base, mode, errors, out)?,
            "timeindex" => dump_index::dump_time_index(path, base, mode, errors, out)?,
            "txnindex" | "snapshot" => {
                // Small files (34 bytes per aborted transaction or producer entry): read
                // whole.
                let bytes = std::fs::read(path).map_err(|e| format!("read {file}: {e}"))?;
                match extension {
                    "txnindex" => dump_txn_index(&bytes, base, out)?,
                    _ => dump_producer_snapshot(&bytes, out)?,
                }
            }
            _ => {
                let opened = File::open(path).map_err(|e| format!("open {file}: {e}"))?;
                let len = opened
                    .metadata()
                    .map_err(|e| format!("stat {file}: {e}"))?
                    .len();
                let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, opened);
                dump_segment(&mut reader, len, base, file, args, out)?;
            }
        }
    }
    Ok(())
}

/// Kafka's `dumpTxnIndex`: one line per aborted transaction.
fn dump_txn_index(bytes: &[u8], base: i64, out: &mut dyn Write) -> CliResult {
    for t in kafkalite::read_transaction_index(bytes, base)? {
        writeln!(
            out,
            "version: 0 producerId: {} firstOffset: {} lastOffset: {} lastStableOffset: {}",
            t.producer_id, t.first_offset, t.last_offset, t.last_stable_offset
        )?;
    }
    Ok(())
}

/// Kafka's `dumpProducerIdSnapshot`: one line per producer (Java's `OptionalLong` printed as
/// Kafka prints it); a damaged snapshot's reason goes to stderr, as Kafka's does.
fn dump_producer_snapshot(bytes: &[u8], out: &mut dyn Write) -> CliResult {
    let entries = match kafkalite::read_producer_snapshot(bytes) {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("{error}");
            return Ok(());
        }
    };
    for e in entries {
        let txn = e
            .current_txn_first_offset
            .map_or("OptionalLong.empty".to_string(), |o| {
                format!("OptionalLong[{o}]")
            });
        write!(
            out,
            "producerId: {} producerEpoch: {} coordinatorEpoch: {} currentTxnFirstOffset: {txn} lastTimestamp: {} ",
            e.producer_id, e.epoch, e.coordinator_epoch, e.last_timestamp
        )?;
        if let Some((first, last, offset, delta, timestamp)) = e.last_batch {
            write!(
                out,
                "firstSequence: {first} lastSequence: {last} lastOffset: {offset} offsetDelta: {delta} timestamp: {timestamp}"
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Bytes read from a file at a time.
const READ_BUFFER_BYTES: usize = 64 << 10;

/// Prints the batches of a segment of `len` bytes from its start; bytes after the last whole
/// valid batch are reported as invalid.
fn dump_segment(
    reader: &mut impl Read,
    len: u64,
    base: i64,
    file: &str,
    args: &DumpLogArgs,
    out: &mut dyn Write,
) -> CliResult {
    writeln!(out, "Log starting offset: {base}")?;
    let mut valid_end = 0u64;
    let mut bytes = Vec::new();
    while read_batch(reader, len - valid_end, &mut bytes, file)? {
        // Torn or invalid: what follows is reported as invalid bytes.
        let Ok(batch) = RecordBatch::parse_prefix(&bytes) else {
            break;
        };
        print_batch(&batch, usize::try_from(valid_end)?, out)?;
        if args.deep_iteration || args.print_data() {
            print_records(&batch, args, out)?;
        }
        valid_end += batch.size() as u64;
    }
    if valid_end < len {
        writeln!(
            out,
            "Found {} invalid bytes at the end of {file}",
            len - valid_end
        )?;
    }
    Ok(())
}

/// Reads the next batch's bytes into `bytes`, as far as its length field says, when the
/// `left` bytes of the file hold them all. `false` at the end of the file and before a torn
/// batch or a negative length (which `parse_prefix` would refuse anyway).
pub(super) fn read_batch(
    reader: &mut impl Read,
    left: u64,
    bytes: &mut Vec<u8>,
    file: &str,
) -> Result<bool, String> {
    bytes.resize(LOG_OVERHEAD_BYTES, 0);
    if left < LOG_OVERHEAD_BYTES as u64 || !read_exactly(reader, bytes, file)? {
        return Ok(false);
    }
    let length = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let Ok(length) = u64::try_from(length) else {
        return Ok(false);
    };
    if LOG_OVERHEAD_BYTES as u64 + length > left {
        return Ok(false);
    }
    // At most `i32::MAX` bytes, and never more than the file holds.
    let length = usize::try_from(length).map_err(|e| e.to_string())?;
    bytes.resize(LOG_OVERHEAD_BYTES + length, 0);
    read_exactly(reader, &mut bytes[LOG_OVERHEAD_BYTES..], file)
}

/// Fills `buf`; `false` if the file ends first.
fn read_exactly(reader: &mut impl Read, buf: &mut [u8], file: &str) -> Result<bool, String> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(format!("read {file}: {e}")),
    }
}

fn print_batch(batch: &RecordBatch<'_>, position: usize, out: &mut dyn Write) -> CliResult {
    let horizon = batch
        .delete_horizon_ms()
        .map_or("OptionalLong.empty".to_string(), |h| {
            format!("OptionalLong[{h}]")
        });
    let codec = batch.compression().map_or("unknown", |c| c.name());
    writeln!(
        out,
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} \
         producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} \
         deleteHorizonMs: {horizon} position: {position} {}: {} size: {} magic: {} compresscodec: {codec} \
         crc: {} isvalid: {}",
        batch.base_offset(),
        batch.last_offset(),
        batch.records_count(),
        batch.base_sequence(),
        batch.last_sequence(),
        batch.producer_id(),
        batch.producer_epoch(),
        batch.partition_leader_epoch(),
        batch.is_transactional(),
        batch.is_control(),
        batch.timestamp_type().name(),
        batch.max_timestamp(),
        batch.size(),
        batch.magic(),
        batch.crc(),
        batch.is_valid()
    )?;
    Ok(())
}

fn print_records(batch: &RecordBatch<'_>, args: &DumpLogArgs, out: &mut dyn Write) -> CliResult {
    let records = batch.records()?;
    for record in records.iter() {
        let record = record?;
        let sequence = match batch.base_sequence() {
            -1 => -1,
            base => base.wrapping_add(record.offset_delta),
        };
        let header_keys: Vec<String> = record
            .headers()
            .map(|h| String::from_utf8_lossy(h.key).into_owned())
            .collect();
        let mut line = format!(
            "| offset: {} {}: {} keySize: {} valueSize: {} sequence: {sequence} headerKeys: [{}]",
            record.offset,
            batch.timestamp_type().name(),
            record.timestamp,
            record.key.map_or(-1, |k| k.len() as i64),
            record.value.map_or(-1, |v| v.len() as i64),
            header_keys.join(",")
        );
        if batch.is_control() {
            let kind = ControlRecordType::parse_key(record.key.unwrap_or_default())?;
            if matches!(kind, ControlRecordType::Commit | ControlRecordType::Abort) {
                let epoch = parse_end_transaction_marker(record.value.unwrap_or_default())?;
                line.push_str(&format!(
                    " endTxnMarker: {} coordinatorEpoch: {epoch}",
                    kind.name()
                ));
            }
        } else if args.offsets_decoder {
            line.push_str(&internal_records::offsets_decoded(
                record.offset,
                record.key,
                record.value,
            ));
        } else if args.transaction_log_decoder {
            line.push_str(&internal_records::transaction_log_decoded(
                record.key,
                record.value,
            ));
        } else if args.print_data() {
            if let Some(key) = record.key {
                line.push_str(&format!(" key: {}", String::from_utf8_lossy(key)));
            }
            if let Some(value) = record.value {
                line.push_str(&format!(" payload: {}", String::from_utf8_lossy(value)));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
