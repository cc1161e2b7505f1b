//! `kafkalite dump-log`: kafka-dump-log's output for `.log`, `.index` and `.timeindex` files.

use std::io::Write;
use std::path::Path;

use clap::Args;
use kafkalite::record::{parse_end_transaction_marker, BatchIter, ControlRecordType, RecordBatch};
use kafkalite::storage::{RealStorage, Storage};

use super::CliResult;

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
}

/// Dumps every file in turn.
pub fn run(args: &DumpLogArgs, out: &mut dyn Write) -> CliResult {
    for file in &args.files {
        let path = Path::new(file);
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let base: i64 = kafkalite::segment_base_offset(stem)
            .ok_or_else(|| format!("{file}: the file name is not a 20-digit base offset"))?;
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !["log", "index", "timeindex"].contains(&extension) {
            return Err(format!("{file}: expected a .log, .index or .timeindex file").into());
        }
        writeln!(out, "Dumping {file}")?;
        let bytes = RealStorage.read_file(path)?;
        match extension {
            "log" => dump_segment(&bytes, base, file, args, out)?,
            "index" => dump_index(&bytes, base, out)?,
            _ => dump_time_index(&bytes, base, out)?,
        }
    }
    Ok(())
}

fn dump_segment(
    bytes: &[u8],
    base: i64,
    file: &str,
    args: &DumpLogArgs,
    out: &mut dyn Write,
) -> CliResult {
    writeln!(out, "Log starting offset: {base}")?;
    let mut valid_end = 0;
    for item in BatchIter::new(bytes) {
        let (position, batch) = match item {
            Ok(found) => found,
            // Torn or invalid: what follows is reported as invalid bytes.
            Err(_) => break,
        };
        print_batch(&batch, position, out)?;
        if args.deep_iteration || args.print_data_log {
            print_records(&batch, args.print_data_log, out)?;
        }
        valid_end = position + batch.size();
    }
    if valid_end < bytes.len() {
        writeln!(
            out,
            "Found {} invalid bytes at the end of {file}",
            bytes.len() - valid_end
        )?;
    }
    Ok(())
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

fn print_records(batch: &RecordBatch<'_>, data: bool, out: &mut dyn Write) -> CliResult {
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
        } else if data {
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

fn dump_index(bytes: &[u8], base: i64, out: &mut dyn Write) -> CliResult {
    for chunk in bytes.chunks_exact(8) {
        let relative = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let position = u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        writeln!(
            out,
            "offset: {} position: {position}",
            base + relative as i64
        )?;
    }
    Ok(())
}

fn dump_time_index(bytes: &[u8], base: i64, out: &mut dyn Write) -> CliResult {
    for chunk in bytes.chunks_exact(12) {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&chunk[..8]);
        let relative = u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]);
        writeln!(
            out,
            "timestamp: {} offset: {}",
            i64::from_be_bytes(ts),
            base + relative as i64
        )?;
    }
    Ok(())
}
