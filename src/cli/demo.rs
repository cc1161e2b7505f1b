//! `kafkalite demo`: a tour of the log API on a local data directory.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use kafkalite::{BatchBuilder, Cluster, Header, NewTopic, OffsetSpec};

use super::CliResult;

const TOPIC: &str = "demo-orders";
const PARTITIONS: i32 = 3;

/// Creates a topic, appends batches, reads them back, looks up by time, restarts the cluster
/// and shows that everything survived, then deletes records from one partition.
pub fn run(data_dir: &Path, out: &mut dyn Write) -> CliResult {
    writeln!(out, "== kafkalite demo in {}", data_dir.display())?;
    let cluster = Cluster::open(data_dir)?;
    if cluster.list_topics()?.iter().any(|t| t == TOPIC) {
        writeln!(out, "-- removing {TOPIC} from an earlier run")?;
        cluster.delete_topic(TOPIC)?;
    }
    cluster.create_topic(NewTopic::new(TOPIC, PARTITIONS).config("segment.bytes", "16384"))?;
    writeln!(
        out,
        "-- created topic {TOPIC} with {PARTITIONS} partitions (segment.bytes=16384)"
    )?;

    let start_ms = cluster.clock().now_ms();
    for batch_number in 0..30i64 {
        let partition = (batch_number % PARTITIONS as i64) as i32;
        let mut builder = BatchBuilder::new();
        for i in 0..100 {
            let order = batch_number * 100 + i;
            let key = format!("customer-{}", order % 17);
            let value = format!("{{\"order\":{order},\"amount\":{}}}", order * 7 % 1000);
            let header = Header {
                key: b"source",
                value: Some(b"demo"),
            };
            builder.append(
                start_ms + order,
                Some(key.as_bytes()),
                Some(value.as_bytes()),
                &[header],
            )?;
        }
        let info = cluster
            .partition(TOPIC, partition)?
            .append(&builder.build()?)?;
        if batch_number < PARTITIONS as i64 {
            writeln!(
                out,
                "   appended 100 records to {TOPIC}-{partition} at offsets {}..={}",
                info.first_offset, info.last_offset
            )?;
        }
    }
    writeln!(out, "-- appended 3,000 records in 30 batches")?;
    print_offsets(&cluster, out)?;

    let log = cluster.partition(TOPIC, 0)?;
    let fetched = log.read(250, 4096)?;
    writeln!(
        out,
        "-- reading {TOPIC}-0 from offset 250 (zero-copy from the mapped segment):"
    )?;
    if let Some(batch) = fetched.batches().next() {
        let batch = batch?;
        let records = batch.records()?;
        for record in records
            .iter()
            .filter(|r| r.as_ref().map_or(true, |r| r.offset >= 250))
            .take(3)
        {
            let record = record?;
            writeln!(
                out,
                "   offset {} key {} value {}",
                record.offset,
                String::from_utf8_lossy(record.key.unwrap_or_default()),
                String::from_utf8_lossy(record.value.unwrap_or_default())
            )?;
        }
    }
    let target = start_ms + 1500;
    let found = cluster.list_offset(TOPIC, 0, OffsetSpec::ForTimestamp(target))?;
    writeln!(
        out,
        "-- first offset of {TOPIC}-0 with timestamp >= {target}: {found:?}"
    )?;

    writeln!(
        out,
        "-- closing the cluster cleanly and reopening it (a restart)"
    )?;
    cluster.close()?;
    drop(log);
    let opened = Instant::now();
    let cluster = Cluster::open(data_dir)?;
    writeln!(
        out,
        "   reopened in {:?}; offsets survived:",
        opened.elapsed()
    )?;
    print_offsets(&cluster, out)?;

    let start = cluster.delete_records(TOPIC, 1, 500)?;
    writeln!(
        out,
        "-- delete_records({TOPIC}-1, 500): log start offset is now {start}"
    )?;
    match cluster.partition(TOPIC, 1)?.read(10, 1024) {
        Err(e) => writeln!(out, "   reading offset 10 now fails as Kafka's does: {e}")?,
        Ok(_) => writeln!(out, "   unexpected: offset 10 is still readable")?,
    }
    cluster.close()?;
    writeln!(out, "== done; inspect the files with: kafkalite --data-dir {} dump-log --files {}/{TOPIC}-0/00000000000000000000.log --print-data-log", data_dir.display(), data_dir.display())?;
    Ok(())
}

fn print_offsets(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    for p in cluster.describe_topic(TOPIC)?.partitions {
        writeln!(
            out,
            "   {TOPIC}-{}: log start {} end {} ({} segments, {} bytes)",
            p.partition, p.log_start_offset, p.log_end_offset, p.segments, p.size_bytes
        )?;
    }
    Ok(())
}
