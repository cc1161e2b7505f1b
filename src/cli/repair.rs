//! `kafkalite repair`: the way out of a `Corruption` error for command-line users. A dry run
//! unless `--execute`: it repairs a copy of the data directory (made under the directory's
//! lock, in the system's temporary directory, removed afterwards) and prints what the repair
//! would do; with `--execute` it opens the directory itself with
//! `RecoveryMode::TruncateCorrupt` (every segment validated from the oldest; truncated at the
//! first damage), prints what each partition holds afterwards and what the repair did
//! (`Cluster::recovery_report`), and closes cleanly, so that the next normal open succeeds.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use kafkalite::{Cluster, RecoveryMode};

use super::CliResult;

/// Whether to change the directory.
#[derive(Args, Debug)]
pub struct RepairArgs {
    /// Repair the directory itself. Without it, a copy is repaired and nothing changes.
    #[arg(long)]
    execute: bool,
}

/// Repairs `data_dir` (or, without `--execute`, a copy of it) and prints the outcome.
pub fn run(data_dir: &Path, args: &RepairArgs, out: &mut dyn Write) -> CliResult {
    if !data_dir.is_dir() {
        return Err(format!(
            "{} is not a directory: nothing to repair",
            data_dir.display()
        )
        .into());
    }
    if args.execute {
        return repair(data_dir, data_dir, out);
    }
    let copy = Copy::of(data_dir)?;
    writeln!(
        out,
        "Dry run: repaired a copy of {}; nothing in it changed. Run with --execute to repair it.",
        data_dir.display()
    )?;
    let mut printed = Vec::new();
    repair(copy.path(), data_dir, &mut printed)?;
    // The report names the copy's files: show the directory's own.
    let text = String::from_utf8_lossy(&printed).replace(
        copy.path().to_string_lossy().as_ref(),
        data_dir.to_string_lossy().as_ref(),
    );
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// Repairs the directory at `dir`, printing as if it were `shown`.
fn repair(dir: &Path, shown: &Path, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::builder()
        .background(false)
        .recovery_mode(RecoveryMode::TruncateCorrupt)
        .open(dir)?;
    writeln!(
        out,
        "Validated every segment of {}; damaged data and everything after it dropped.",
        shown.display()
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

/// A copy of a data directory in the system's temporary directory, taken under the
/// directory's lock (so that no live process changes it meanwhile), removed on drop.
struct Copy {
    path: PathBuf,
}

impl Copy {
    fn of(dir: &Path) -> Result<Copy, Box<dyn std::error::Error>> {
        let lock = std::fs::File::open(dir.join("LOCK"));
        let _guard = match lock {
            Ok(file) => match file.try_lock() {
                Ok(()) => Some(file),
                Err(_) => {
                    return Err(format!(
                        "{} is locked by a running kafkalite; close it first",
                        dir.display()
                    )
                    .into())
                }
            },
            Err(_) => None,
        };
        let path = std::env::temp_dir().join(format!(
            "kafkalite-repair-dry-run-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        // Created before it is owned: a path that exists already is never removed.
        std::fs::create_dir(&path)
            .map_err(|e| format!("cannot create {} for the dry run: {e}", path.display()))?;
        let copy = Copy { path };
        copy_contents(dir, &copy.path).map_err(|e| {
            format!(
                "the dry run needs a copy of {} in {} and could not make it ({e}); back the \
                 directory up and run with --execute",
                dir.display(),
                std::env::temp_dir().display()
            )
        })?;
        Ok(copy)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        // The copy is this command's own.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies the directories and regular files under `from` into `to` (which exists);
/// symbolic links and special files are not kafkalite's and are left out.
fn copy_contents(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir(&target)?;
            copy_contents(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
