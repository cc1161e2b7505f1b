//! Any bytes as a partition directory's segment files (`.log`, `.index`, `.timeindex`),
//! opened the way a crash or a clean close leaves them, on `SimStorage`.
//! Oracle: no panic; an open either fails with a typed error or yields a log whose every
//! offset reads back from the batch holding it; after a clean close, a second open reads the
//! same records and truncates nothing. A repairing open (`TruncateCorrupt`) never fails, and
//! everything it kept reads back without an error (but `UnsupportedCompressionType` for a
//! batch in a codec this build cannot read, which is not damage).

#![no_main]

use std::path::Path;
use std::sync::Arc;

use kafkalite::storage::{OpenMode, SimStorage, Storage};
use kafkalite::{Error, Log, LogOptions, MockClock, RecoveryMode, TopicConfig};
use libfuzzer_sys::fuzz_target;

const DIR: &str = "/sim/t-0";

fn config() -> Arc<TopicConfig> {
    Arc::new(
        TopicConfig::from_overrides([("segment.bytes", "65536"), ("index.interval.bytes", "64")])
            .expect("a valid config"),
    )
}

fn open(sim: &SimStorage, options: LogOptions) -> kafkalite::Result<(Log, u64)> {
    Log::open(
        Arc::new(sim.clone()),
        Path::new(DIR),
        config(),
        Arc::new(MockClock::new(0)),
        options,
    )
    .map(|(log, report)| (log, report.truncated_bytes + report.preallocated_bytes))
}

/// Offset, key and value of one record.
type Row = (i64, Vec<u8>, Vec<u8>);

/// Every record from the log start to the high watermark, or the first error.
fn read_all(log: &Log) -> kafkalite::Result<Vec<Row>> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let data = log.read(offset, 4096)?;
        assert!(
            !data.is_empty(),
            "no data at {offset}, below the high watermark"
        );
        for batch in data.batches() {
            let batch = batch?;
            assert!(
                batch.last_offset() >= offset,
                "a read starts before its offset"
            );
            for record in batch.records()?.iter() {
                let record = record?;
                if record.offset >= offset {
                    out.push((
                        record.offset,
                        record.key.unwrap_or_default().to_vec(),
                        record.value.unwrap_or_default().to_vec(),
                    ));
                }
            }
            offset = batch.next_offset();
        }
    }
    Ok(out)
}

fn write(sim: &SimStorage, name: &str, bytes: &[u8]) {
    let file = sim
        .open(&Path::new(DIR).join(name), OpenMode::Create)
        .expect("create");
    file.write_at(&[bytes], 0).expect("write");
}

fuzz_target!(|data: &[u8]| {
    // [flags, index length (2 bytes), index bytes, log bytes]
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (index_len, rest) = match rest {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, rest),
    };
    let (index, log) = rest.split_at(index_len.min(rest.len()));
    let sim = SimStorage::new(Path::new("/sim"));
    sim.create_dir_all(Path::new(DIR)).expect("mkdir");
    write(&sim, "00000000000000000000.log", log);
    if flags & 1 != 0 {
        let (offsets, times) = index.split_at(index.len() / 2);
        write(&sim, "00000000000000000000.index", offsets);
        write(&sim, "00000000000000000000.timeindex", times);
    }
    let options = LogOptions {
        name: "t-0".into(),
        // A recovery point anywhere in the first 64 offsets, or none.
        recovery_point: (flags & 2 != 0).then_some(i64::from(flags >> 2)),
        log_start_offset: 0,
        clean_active_size: (flags & 4 != 0).then_some(log.len() as u64),
        recovery_mode: if flags & 8 != 0 {
            RecoveryMode::TruncateCorrupt
        } else {
            RecoveryMode::TolerateCorruptTail
        },
        // Where a repair moves what it cuts out, or nowhere (then it deletes it).
        salvage_dir: (flags & 16 != 0).then(|| "/sim/t-0.salvaged".into()),
    };
    let repairing = options.recovery_mode == RecoveryMode::TruncateCorrupt;
    let first = match open(&sim, options.clone()) {
        Ok((first, _)) => first,
        Err(e) if repairing => panic!("a repairing open failed: {e}"),
        Err(_) => return,
    };
    let records = match read_all(&first) {
        Ok(records) => records,
        // A batch in a codec this build cannot read (snappy, zstd) is not damage.
        Err(Error::UnsupportedCompressionType(_)) => return,
        Err(e) if repairing => panic!("a read after a repairing open failed: {e}"),
        Err(Error::Corruption { .. } | Error::CorruptRecord(_)) => return,
        Err(e) => panic!("an unexpected error reading: {e}"),
    };
    // Every offset reads from the batch that holds it: index lookups agree with the scan.
    for (offset, ..) in &records {
        let data = first
            .read(*offset, 1)
            .expect("a read at a recovered offset");
        let batch = data.batches().next().expect("a batch").expect("it parses");
        assert!(batch.base_offset() <= *offset && *offset <= batch.last_offset());
    }
    let end = first.log_end_offset();
    first.close().expect("a clean close");
    drop(first);
    let again = LogOptions {
        recovery_point: Some(end),
        clean_active_size: None,
        ..options
    };
    let (second, cut) = open(&sim, again).expect("a recovered log opens again");
    assert_eq!(cut, 0, "a second recovery truncates nothing");
    assert_eq!(read_all(&second).expect("reads again"), records);
});
