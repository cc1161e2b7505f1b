//! What opening a log did to it, as data: the report a recovery returns and the cluster
//! keeps (see [`crate::Cluster::recovery_report`]).

use std::path::PathBuf;

/// What recovery did, for reporting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes of damaged or torn data cut from the end of the log.
    pub truncated_bytes: u64,
    /// Preallocated (all-zero) space trimmed after the last batch.
    pub preallocated_bytes: u64,
    /// Segments deleted because they followed a torn or corrupt point.
    pub deleted_segments: usize,
    /// The bytes those segments held.
    pub deleted_bytes: u64,
    /// Segments after a damaged one that a repair moved aside (never deleted: they may hold
    /// intact records), to [`RecoveryReport::salvaged_to`].
    pub salvaged_segments: usize,
    /// The bytes those segments held.
    pub salvaged_bytes: u64,
    /// The salvage directory ([`crate::LogOptions::salvage_dir`]) they were moved to, or
    /// the damaged segment copied to.
    pub salvaged_to: Option<PathBuf>,
    /// Where damaged or torn data (not preallocated zeros) was cut, and why.
    pub cut: Option<Cut>,
    /// Batches validated.
    pub batches_checked: u64,
    /// Sealed segments whose indexes recovery rebuilt from their batches.
    pub indexes_rebuilt: usize,
    /// Index files removed because their segment's `.log` was gone (an interrupted deletion),
    /// and `<segment file>.tmp` files an interrupted replacement left.
    pub orphan_files_removed: usize,
    /// New segments of a cleaning that a crash interrupted after they were complete, renamed
    /// into place (`.swap` files; see Kafka's `LogLoader`).
    pub swap_files_completed: usize,
    /// Files of a cleaning that a crash interrupted before its new segments were complete
    /// (`.cleaned` files, and `.swap` files of the same cleaning), removed: the old
    /// segments stand.
    pub cleaning_files_rolled_back: usize,
    /// The log was trusted as closed cleanly: nothing was scanned.
    pub clean_shutdown: bool,
    /// The producer-state snapshot (`<offset>.snapshot`) the producer state was loaded
    /// from, if any.
    pub producer_snapshot: Option<i64>,
    /// Producer batches replayed after that snapshot (or from the log start) to rebuild
    /// the producer state.
    pub producer_batches_replayed: u64,
    /// Snapshots removed: damaged ones, and ones past the log end or below the log start.
    pub snapshots_removed: usize,
    /// Of those, snapshots that failed their check (CRC, version, length).
    pub damaged_snapshots: usize,
    /// Transaction indexes (`.txnindex`) that failed their checks: the aborted transactions
    /// were then rebuilt by replaying the whole log, and the files written again.
    pub damaged_txn_indexes: usize,
    /// Aborted-transaction entries whose markers lay past the log end (cut back by
    /// recovery), dropped and their files written again.
    pub stale_txn_entries: usize,
    /// Files of segments that a finished cleaning replaced (`.deleted` files, and old
    /// segments a completed swap replaces), removed.
    pub replaced_files_removed: usize,
}

/// Where recovery cut a log: the first batch it could not keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The segment file.
    pub file: PathBuf,
    /// The byte position of the first batch dropped.
    pub position: u64,
    /// The first offset dropped: the log ends here now.
    pub first_offset: i64,
    /// What was wrong with the batch there.
    pub reason: String,
    /// Where a repair copied the damaged segment, whole and as it was, before cutting it.
    pub copied_to: Option<PathBuf>,
}

impl RecoveryReport {
    /// Whether recovery lost nothing: no bytes of data cut and no segment deleted (trimming
    /// preallocated space, checking batches and rebuilding indexes are routine).
    pub fn is_quiet(&self) -> bool {
        self.truncated_bytes == 0 && self.deleted_segments == 0 && self.salvaged_segments == 0
    }
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} batches checked", self.batches_checked)?;
        if self.truncated_bytes > 0 {
            write!(
                f,
                ", {} bytes of damaged or torn data cut",
                self.truncated_bytes
            )?;
        }
        if let Some(cut) = &self.cut {
            write!(
                f,
                ", offsets from {} on dropped at byte {} of {} ({})",
                cut.first_offset,
                cut.position,
                cut.file.display(),
                cut.reason
            )?;
            if let Some(copy) = &cut.copied_to {
                write!(
                    f,
                    ", the damaged segment copied whole to {}",
                    copy.display()
                )?;
            }
        }
        if self.deleted_segments > 0 {
            write!(
                f,
                ", {} later segments deleted ({} bytes)",
                self.deleted_segments, self.deleted_bytes
            )?;
        }
        if let Some(to) = self
            .salvaged_to
            .as_ref()
            .filter(|_| self.salvaged_segments > 0)
        {
            write!(
                f,
                ", {} later segments ({} bytes) moved to {} (never deleted; inspect them)",
                self.salvaged_segments,
                self.salvaged_bytes,
                to.display()
            )?;
        }
        if self.preallocated_bytes > 0 {
            write!(
                f,
                ", {} preallocated bytes trimmed",
                self.preallocated_bytes
            )?;
        }
        if self.indexes_rebuilt > 0 {
            write!(f, ", {} segment indexes rebuilt", self.indexes_rebuilt)?;
        }
        if self.swap_files_completed > 0 {
            write!(
                f,
                ", {} segments of an interrupted cleaning swapped in",
                self.swap_files_completed
            )?;
        }
        if self.cleaning_files_rolled_back > 0 {
            write!(
                f,
                ", {} files of an unfinished cleaning removed",
                self.cleaning_files_rolled_back
            )?;
        }
        if self.replaced_files_removed > 0 {
            write!(
                f,
                ", {} files of replaced segments removed",
                self.replaced_files_removed
            )?;
        }
        if self.orphan_files_removed > 0 {
            write!(
                f,
                ", {} orphaned index or temporary files removed",
                self.orphan_files_removed
            )?;
        }
        if self.damaged_snapshots > 0 {
            write!(
                f,
                ", {} damaged producer snapshots removed",
                self.damaged_snapshots
            )?;
        }
        if self.damaged_txn_indexes > 0 {
            write!(
                f,
                ", {} damaged transaction indexes rebuilt",
                self.damaged_txn_indexes
            )?;
        }
        if self.producer_batches_replayed > 0 {
            write!(
                f,
                ", producer state rebuilt from {} batches",
                self.producer_batches_replayed
            )?;
        }
        Ok(())
    }
}
