//! What opening a data directory did: the same facts as the `tracing` events open emits at
//! warn (or info), kept as data for [`crate::Cluster::recovery_report`] and `kafkalite repair`.

use std::fmt;
use std::path::PathBuf;

use crate::log::RecoveryReport;

/// What [`crate::Cluster::open`] did to the data directory and each partition. Empty when
/// the directory was closed cleanly and holds nothing but the cluster's own files
/// ([`OpenReport::is_quiet`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// `meta.properties` written by this open, and why (a new directory, one written by an
    /// earlier kafkalite, or rewritten from the metadata log by a repair).
    pub claimed: Option<String>,
    /// Partitions whose recovery changed or checked something, by `topic-partition`.
    pub partitions: Vec<(String, RecoveryReport)>,
    /// Partition directories kafkalite removed (interrupted deletions, deleted topics).
    pub removed: Vec<PathBuf>,
    /// Topics (or partitions) a repair found missing from the damaged metadata log and
    /// recorded again from their partition directories, and what could not be recovered.
    pub rebuilt: Vec<String>,
    /// Partition directories renamed aside (`-stray`): from, to.
    pub set_aside: Vec<(PathBuf, PathBuf)>,
    /// Entries of the data directory kafkalite did not write, left byte for byte alone, and
    /// why it took them for foreign.
    pub left_alone: Vec<(PathBuf, String)>,
    /// Transactions a crash left open or half-completed, and what open did with each
    /// (finished a prepared commit or abort, aborted an open one).
    pub transactions: Vec<String>,
}

impl OpenReport {
    /// Whether open did nothing worth telling: no data cut, nothing removed, set aside or
    /// found foreign, nothing claimed.
    pub fn is_quiet(&self) -> bool {
        self.claimed.is_none()
            && self.partitions.iter().all(|(_, r)| r.is_quiet())
            && self.removed.is_empty()
            && self.rebuilt.is_empty()
            && self.set_aside.is_empty()
            && self.left_alone.is_empty()
            && self.transactions.is_empty()
    }

    pub(super) fn claimed(&mut self, why: String) {
        tracing::info!(target: "kafkalite::recovery", "{why}");
        self.claimed = Some(why);
    }

    pub(super) fn partition(&mut self, name: &str, report: RecoveryReport) {
        if !report.is_quiet() {
            tracing::warn!(
                target: "kafkalite::recovery",
                partition = name,
                truncated_bytes = report.truncated_bytes,
                deleted_segments = report.deleted_segments,
                indexes_rebuilt = report.indexes_rebuilt,
                "{name}: {report}"
            );
        }
        if report != RecoveryReport::default() {
            self.partitions.push((name.to_string(), report));
        }
    }

    pub(super) fn removed(&mut self, path: PathBuf) {
        tracing::info!(target: "kafkalite::recovery", path = %path.display(), "removed a partition directory of a deleted topic");
        self.removed.push(path);
    }

    pub(super) fn rebuilt(&mut self, what: String) {
        tracing::warn!(target: "kafkalite::recovery", "{what}");
        self.rebuilt.push(what);
    }

    pub(super) fn set_aside(&mut self, from: PathBuf, to: PathBuf) {
        tracing::warn!(
            target: "kafkalite::recovery",
            from = %from.display(),
            to = %to.display(),
            "set aside a partition directory no topic owns; inspect or delete it"
        );
        self.set_aside.push((from, to));
    }

    pub(super) fn left_alone(&mut self, path: PathBuf, why: impl Into<String>) {
        let why = why.into();
        tracing::warn!(
            target: "kafkalite::recovery",
            path = %path.display(),
            "left alone, not kafkalite's: {why}"
        );
        self.left_alone.push((path, why));
    }
}

impl fmt::Display for OpenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_quiet() && self.partitions.is_empty() {
            return writeln!(f, "nothing to report: every log opened as it was closed");
        }
        if let Some(why) = &self.claimed {
            writeln!(f, "{why}")?;
        }
        for (name, report) in &self.partitions {
            writeln!(f, "{name}: {report}")?;
        }
        for path in &self.removed {
            writeln!(f, "removed {} (a deleted topic's)", path.display())?;
        }
        for what in &self.rebuilt {
            writeln!(f, "rebuilt {what}")?;
        }
        for (from, to) in &self.set_aside {
            writeln!(
                f,
                "set aside {} as {} (no topic owns it; inspect it or delete it)",
                from.display(),
                to.display()
            )?;
        }
        for (path, why) in &self.left_alone {
            writeln!(f, "left alone {}: {why}", path.display())?;
        }
        for line in &self.transactions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
