//! `kafkalite repair`: the way out of a `Corruption` error for command-line users. Opens the
//! data directory with `RecoveryMode::TruncateCorrupt` (every segment validated from the
//! oldest; truncated at the first damage), prints what each partition holds afterwards and
//! which partition directories no topic owns any more (set aside as `*-stray`), and closes
//! cleanly, so that the next normal open succeeds.

use std::io::Write;
use std::path::Path;

use kafkalite::{Cluster, RecoveryMode};

use super::CliResult;

/// Suffix of the partition directories open sets aside (see the README's Repair section).
const STRAY_SUFFIX: &str = "-stray";

/// Prints `topic:partition start..end` per partition after the repair, then the stray
/// directories.
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
    let mut strays = Vec::new();
    for entry in std::fs::read_dir(data_dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(STRAY_SUFFIX) {
            strays.push(name);
        }
    }
    strays.sort();
    for stray in strays {
        writeln!(
            out,
            "set aside, no topic owns it: {stray} (inspect it or delete it; nothing reads it)"
        )?;
    }
    cluster.close()?;
    Ok(())
}
