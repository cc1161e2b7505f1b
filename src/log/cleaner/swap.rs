//! Replacing segments crash-safely, with Kafka's file protocol (`LocalLog.replaceSegments`),
//! and finishing or rolling back a replacement that a crash interrupted, as Kafka's
//! `LogLoader.removeTempFilesAndCollectSwapFiles` does at open. A segment directory made by
//! Kafka in the middle of a cleaning is recovered the same way.
//!
//! Forward: the new segments are written as `<base>.log.cleaned` and synced; renamed to
//! `.swap`, highest base first; the directory synced (kafkalite's addition: Kafka syncs only
//! at the end, so a power cut could keep a later rename and lose an earlier one); the old
//! segments' files renamed to `.deleted`; the `.swap` files renamed into place, lowest base
//! first; the directory synced; the `.deleted` files removed.
//!
//! At open: `.deleted` files are removed; if any `.cleaned` file is left, every `.swap` file
//! at or above the lowest `.cleaned` base is removed (a replacement that had not finished
//! step two) and then every `.cleaned` file: the old segments stand. The `.swap` files left
//! are complete: the segment files between the lowest swap base and the end of the highest
//! swap segment are the ones they replace, and go; the `.swap` files take their place.

use std::path::Path;

use super::super::recovery_report::RecoveryReport;
use super::super::segment::{file_stem, segment_base_offset, LOG_SUFFIX};
use crate::error::{Error, Result};
use crate::record::BatchIter;
use crate::storage::{AppendFile, OpenMode, Storage};

/// A new segment written, not yet swapped in.
pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";
/// A new segment complete and about to replace old ones.
pub(crate) const SWAP_SUFFIX: &str = ".swap";
/// An old segment replaced, about to be removed.
pub(crate) const DELETED_SUFFIX: &str = ".deleted";

/// The segment files Kafka's protocol renames (Kafka's `.txnindex` included, so that a
/// directory Kafka left mid-cleaning recovers whole).
const FILE_SUFFIXES: [&str; 4] = [LOG_SUFFIX, ".index", ".timeindex", ".txnindex"];
/// The suffixes the protocol adds to segment file names.
pub(crate) const MARKERS: [&str; 3] = [CLEANED_SUFFIX, SWAP_SUFFIX, DELETED_SUFFIX];

/// A file name of the protocol: segment base, segment suffix, marker (`""` for a live file).
fn parse(name: &str) -> Option<(i64, &'static str, &'static str)> {
    let (rest, marker) = MARKERS
        .into_iter()
        .find_map(|m| name.strip_suffix(m).map(|rest| (rest, m)))
        .unwrap_or((name, ""));
    let (stem, suffix) = FILE_SUFFIXES
        .into_iter()
        .find_map(|s| rest.strip_suffix(s).map(|stem| (stem, s)))?;
    Some((segment_base_offset(stem)?, suffix, marker))
}

fn name(base: i64, suffix: &str, marker: &str) -> String {
    format!("{}{suffix}{marker}", file_stem(base))
}

/// Replaces the segments at `old` (their files, whatever exist) with the `.log.cleaned`
/// segments at `new`, which the caller wrote and synced. The new segments' index files are
/// not part of the swap: indexes are derived, and rebuilt or written after it.
pub(crate) fn replace_segments(
    storage: &dyn Storage,
    dir: &Path,
    new: &[i64],
    old: &[i64],
) -> Result<()> {
    let mut new = new.to_vec();
    new.sort_unstable();
    for &base in new.iter().rev() {
        let cleaned = dir.join(name(base, LOG_SUFFIX, CLEANED_SUFFIX));
        storage.rename(&cleaned, &dir.join(name(base, LOG_SUFFIX, SWAP_SUFFIX)))?;
    }
    storage.sync_dir(dir)?;
    let mut doomed = Vec::new();
    for &base in old {
        for suffix in FILE_SUFFIXES {
            let live = dir.join(name(base, suffix, ""));
            if storage.exists(&live) {
                let deleted = dir.join(name(base, suffix, DELETED_SUFFIX));
                storage.rename(&live, &deleted)?;
                doomed.push(deleted);
            }
        }
    }
    for &base in &new {
        let swap = dir.join(name(base, LOG_SUFFIX, SWAP_SUFFIX));
        storage.rename(&swap, &dir.join(name(base, LOG_SUFFIX, "")))?;
    }
    storage.sync_dir(dir)?;
    for path in doomed {
        storage.remove_file(&path)?;
    }
    Ok(())
}

/// What [`finish_interrupted`] did, added to the recovery report.
#[derive(Debug, Default, PartialEq, Eq)]
struct Finished {
    rolled_back: usize,
    completed: usize,
    removed: usize,
}

/// Finishes or rolls back a replacement a crash interrupted in `dir` (see the module
/// documentation), before the segments are listed. Reports what it did.
pub(crate) fn finish_interrupted(
    storage: &dyn Storage,
    dir: &Path,
    report: &mut RecoveryReport,
) -> Result<()> {
    let mut cleaned = Vec::new();
    let mut swaps = Vec::new();
    let mut done = Finished::default();
    for entry in storage.list(dir)?.iter().filter(|e| !e.is_dir) {
        let Some((base, suffix, marker)) = parse(&entry.name) else {
            continue;
        };
        match marker {
            DELETED_SUFFIX => {
                storage.remove_file(&dir.join(&entry.name))?;
                done.removed += 1;
            }
            CLEANED_SUFFIX => cleaned.push((base, entry.name.clone())),
            SWAP_SUFFIX => swaps.push((base, suffix, entry.name.clone())),
            _ => {}
        }
    }
    if cleaned.is_empty() && swaps.is_empty() {
        return finish(storage, dir, report, done);
    }
    // A replacement that had not renamed all its new segments to `.swap`: roll it back.
    if let Some(lowest) = cleaned.iter().map(|&(base, _)| base).min() {
        for (base, _, name) in swaps.iter().filter(|(base, ..)| *base >= lowest) {
            tracing::info!(target: "kafkalite::recovery", "{}: rolling back an interrupted cleaning of segment {base}", dir.display());
            storage.remove_file(&dir.join(name))?;
            done.rolled_back += 1;
        }
        swaps.retain(|(base, ..)| *base < lowest);
        for (_, name) in &cleaned {
            storage.remove_file(&dir.join(name))?;
            done.rolled_back += 1;
        }
    }
    let logs: Vec<i64> = swaps
        .iter()
        .filter(|(_, suffix, _)| *suffix == LOG_SUFFIX)
        .map(|&(base, ..)| base)
        .collect();
    if let Some(&lowest) = logs.iter().min() {
        let mut end = lowest;
        for &base in &logs {
            end = end.max(next_offset(storage, dir, base)?);
        }
        for entry in storage.list(dir)?.iter().filter(|e| !e.is_dir) {
            if let Some((base, _, "")) = parse(&entry.name) {
                if (lowest..end).contains(&base) {
                    storage.remove_file(&dir.join(&entry.name))?;
                    done.removed += 1;
                }
            }
        }
    }
    swaps.sort_unstable_by_key(|&(base, ..)| base);
    for (base, suffix, swap) in &swaps {
        tracing::info!(target: "kafkalite::recovery", "{}: completing an interrupted cleaning of segment {base}", dir.display());
        storage.rename(&dir.join(swap), &dir.join(name(*base, suffix, "")))?;
        done.completed += 1;
    }
    finish(storage, dir, report, done)
}

fn finish(
    storage: &dyn Storage,
    dir: &Path,
    report: &mut RecoveryReport,
    done: Finished,
) -> Result<()> {
    if done != Finished::default() {
        storage.sync_dir(dir)?;
    }
    report.swap_files_completed += done.completed;
    report.cleaning_files_rolled_back += done.rolled_back;
    report.replaced_files_removed += done.removed;
    Ok(())
}

/// The offset after the last whole batch of the `.log.swap` at `base` (a swap file was
/// synced before it was named so, so a damaged one is corruption).
fn next_offset(storage: &dyn Storage, dir: &Path, base: i64) -> Result<i64> {
    let path = dir.join(name(base, LOG_SUFFIX, SWAP_SUFFIX));
    let file = AppendFile::new(storage.open(&path, OpenMode::Existing)?, 0, 0)?;
    let bytes = file.bytes();
    let mut next = base;
    for item in BatchIter::new(bytes) {
        match item {
            Ok((_, batch)) => next = batch.next_offset(),
            Err((position, error)) => {
                return Err(Error::corruption(&path, position as u64, error.to_string()));
            }
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_parse_and_others_do_not() {
        let stem = file_stem(42);
        assert_eq!(
            parse(&format!("{stem}.log.swap")),
            Some((42, LOG_SUFFIX, SWAP_SUFFIX))
        );
        assert_eq!(
            parse(&format!("{stem}.txnindex.deleted")),
            Some((42, ".txnindex", DELETED_SUFFIX))
        );
        assert_eq!(parse(&format!("{stem}.index")), Some((42, ".index", "")));
        for other in [
            format!("{stem}.snapshot.swap"),
            "notes.log.swap".to_string(),
            format!("{stem}.log.swap.bak"),
            format!("{stem}.log.tmp"),
        ] {
            assert_eq!(parse(&other), None, "{other}");
        }
    }
}
