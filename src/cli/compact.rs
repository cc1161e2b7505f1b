//! `kafkalite compact`: runs the log cleaner to completion on the compacted partitions (all,
//! or one topic's) and prints what each cleaning did and where every compacted partition
//! stands afterwards. Kafka has no such tool (its cleaner runs only in the broker); this is
//! for scripts and for seeing compaction happen.

use std::io::Write;
use std::path::Path;

use clap::Args;
use kafkalite::Cluster;

use super::CliResult;

/// Which partitions to clean.
#[derive(Args, Debug)]
pub struct CompactArgs {
    /// Only this topic's partitions (its `cleanup.policy` must include `compact`).
    #[arg(long)]
    topic: Option<String>,
}

/// Cleans, prints what happened, and fails if a partition could not be cleaned.
pub fn run(data_dir: &Path, args: &CompactArgs, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    if let Some(topic) = &args.topic {
        if !cluster.topic_config(topic)?.cleanup_compact {
            return Err(format!(
                "topic {topic} has cleanup.policy={}: nothing to compact (alter it to compact first)",
                cluster.topic_config(topic)?.get("cleanup.policy").unwrap_or_default()
            )
            .into());
        }
    }
    let reports = cluster.compact(args.topic.as_deref())?;
    let mut failed = 0;
    for report in &reports {
        match &report.outcome {
            Ok(stats) => writeln!(
                out,
                "Cleaned {} below offset {}: kept {} of {} records, {} segments of {} bytes became {} of {} bytes",
                report.partition,
                stats.end_offset,
                stats.records_kept,
                stats.records_kept + stats.records_removed,
                stats.segments_cleaned,
                stats.bytes_before,
                stats.segments_written,
                stats.bytes_after
            )?,
            Err(error) => {
                failed += 1;
                writeln!(out, "Could not clean {}: {error}", report.partition)?;
            }
        }
    }
    if reports.is_empty() {
        writeln!(out, "Nothing to clean: every compacted partition is clean up to its active segment (or min.compaction.lag.ms).")?;
    }
    for status in cluster.cleaner_status()? {
        if args
            .topic
            .as_ref()
            .is_some_and(|t| !status.partition.starts_with(&format!("{t}-")))
        {
            continue;
        }
        writeln!(
            out,
            "{}\tFirstDirtyOffset: {}\tDirtyRatio: {:.2}",
            status.partition, status.first_dirty_offset, status.dirty_ratio
        )?;
    }
    cluster.close()?;
    if failed > 0 {
        return Err(format!("{failed} partitions could not be cleaned").into());
    }
    Ok(())
}
