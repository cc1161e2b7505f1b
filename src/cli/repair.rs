//! `kafkalite repair`: the way out of a `Corruption` error for command-line users. Opens the
//! data directory with `RecoveryMode::TruncateCorrupt` (every segment validated from the
//! oldest; truncated at the first damage), prints what each partition holds afterwards and
//! what the repair did (`Cluster::recovery_report`), and closes cleanly, so that the next
//! normal open succeeds.

use std::io::Write;
use std::path::Path;

use kafkalite::{Cluster, RecoveryMode};

use super::CliResult;

/// Prints `topic:partition start..end` per partition after the repair, then what the repair
/// did (the cluster's recovery report: data cut, directories set aside, entries left alone).
pub fn run(data_dir: &Path, out: &mut dyn Write) -> CliResult {
    if !data_dir.exists() {
        return Err(format!("{} does not exist: nothing to repair", data_dir.display()).into());
    }
    let cluster = Cluster::builder()
        .background(false)
        .recovery_mode(RecoveryMode::TruncateCorrupt)
        .open(data_dir)?;
    writeln!(
        out,
        "Validated every segment of {}; damaged data and everything after it was dropped.",
        data_dir.display()
    )?;
    for topic in cluster.list_topics()? {
        for partition in cluster.describe_topic(&topic)?.partitions {
            let log = cluster.partition(&topic, partition.partition)?;
            writeln!(
                out,
                "{topic}:{} offsets {}..{}",
                partition.partition,
                log.log_start_offset(),
                log.log_end_offset()
            )?;
        }
    }
    writeln!(out, "What the repair did:")?;
    write!(out, "{}", cluster.recovery_report())?;
    cluster.close()?;
    Ok(())
}
