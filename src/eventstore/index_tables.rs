//! The stream index's tables on disk: loading and checking them against the log at first
//! use, writing the tail to a new one, merging tables of similar size, retiring those
//! retention emptied (keeping only their streams' versions), and dropping those a check found
//! wrong. A dropped table's offsets are indexed again from the log, so no doubt about a table
//! ever changes an answer.

use std::collections::HashMap;

use super::index::PartitionIndex;
use super::index_file::{self, Coverage, Table, TableStream};
use crate::error::{Error, Result};
use crate::log::Log;
use crate::storage::Storage;

/// Tables are merged while the older of the last two holds at most this many times the
/// events of the newer: the table count then grows with the logarithm of the events.
const MERGE_RATIO: u64 = 2;

/// Tables past this many events are not merged further (a merge reads and writes them
/// whole, under the partition's lock).
const MAX_MERGED_EVENTS: u64 = 1 << 23;

impl PartitionIndex {
    /// Loads the tables in the log's directory that agree with the log; removes the others.
    pub(super) fn load(&mut self, log: &Log) -> Result<()> {
        let storage = log.storage();
        let mut tables = Vec::new();
        for entry in storage.list(log.dir())? {
            let name = entry.name;
            let path = log.dir().join(&name);
            if entry.is_dir {
                continue;
            }
            let unfinished = name
                .strip_suffix(&format!("{}.tmp", index_file::SUFFIX))
                .and_then(crate::log::segment_base_offset);
            if unfinished.is_some() {
                // A table whose writing a crash interrupted.
                self.remove(storage, &path, "left unfinished by a crash");
                continue;
            }
            let Some(from) = name
                .strip_suffix(index_file::SUFFIX)
                .and_then(crate::log::segment_base_offset)
            else {
                continue;
            };
            match Table::open(storage, &path) {
                Ok(table) if table.coverage.from == from => tables.push(table),
                Ok(_) => self.remove(storage, &path, "its name and header disagree"),
                Err(error @ Error::Corruption { .. }) => {
                    self.remove(storage, &path, &error.to_string());
                }
                // Not found wrong, only not read (an I/O error, a mapping refused, a newer
                // kafkalite's format): kept, as a table may be the only record of versions
                // retention emptied.
                Err(error) => return Err(error),
            }
        }
        tables.sort_by_key(|t| (t.coverage.from, std::cmp::Reverse(t.coverage.to)));
        let mut chained: Vec<Table> = Vec::new();
        let mut rest = tables.into_iter();
        for table in rest.by_ref() {
            match chained.last().map(|t| t.coverage.to) {
                None => chained.push(table),
                Some(end) if table.coverage.from == end => chained.push(table),
                // Covered by a merged table whose parts a crash left behind.
                Some(end) if table.coverage.to <= end => {
                    self.remove(storage, &table.path, "a merged table covers it");
                }
                Some(_) => {
                    self.remove(storage, &table.path, "it does not follow the table before");
                    break;
                }
            }
        }
        for table in rest {
            self.remove(storage, &table.path, "a table before it was dropped");
        }
        complete_deletion(log, &chained);
        // Indexing starts at the log start, so the first table does too, or it lost the
        // one before it.
        if chained
            .first()
            .is_some_and(|t| t.coverage.from > log.log_start_offset())
        {
            for table in std::mem::take(&mut chained) {
                self.remove(storage, &table.path, "the table before it is missing");
            }
        }
        // The newest tables must still describe the log: a crash may have cut records they
        // index, and other records may have been written at those offsets since.
        while let Some(table) = chained.last() {
            match agrees(log, table.coverage) {
                Ok(()) => break,
                Err(reason) => {
                    let table = chained.pop().expect("checked above");
                    let below = Below {
                        from: table.coverage.from,
                        tables: std::slice::from_ref(&table),
                        tail: &[],
                    };
                    match retire_below_start(log, below, &reason, &mut self.dropped)? {
                        // Written over the table's file: it agrees, wholly below the start.
                        Some(retired) => chained.push(retired),
                        None => self.remove(storage, &table.path, &reason),
                    }
                }
            }
        }
        self.tables = chained;
        self.next_offset = self.tables.last().map_or(0, |t| t.coverage.to);
        self.tail_from = self.next_offset;
        self.loaded = true;
        Ok(())
    }

    /// Removes one of the index's files, saying why.
    fn remove(&mut self, storage: &dyn Storage, path: &std::path::Path, why: &str) {
        tracing::warn!(
            target: "kafkalite::eventstore",
            "stream index {}: {why}; removed, its offsets are indexed from the log",
            path.display()
        );
        self.dropped.push(format!("{}: {why}", path.display()));
        remove_file(storage, path);
    }

    /// As [`PartitionIndex::drop_tables_from`], keeping first, in a retired table in their
    /// place, the versions the dropped tables and the tail hold below the log start (the
    /// log no longer has those records, so indexing again from it cannot find them). An
    /// error writing that table is returned, and nothing dropped.
    pub(super) fn drop_tables_keeping_versions(
        &mut self,
        log: &Log,
        from: usize,
        why: &str,
    ) -> Result<()> {
        let mut from = from.min(self.tables.len());
        let start = log.log_start_offset();
        let tail: Vec<(String, u64)> = self
            .streams
            .iter()
            .filter_map(|(name, stream)| {
                let below = stream.offsets.partition_point(|&offset| offset < start);
                (below > 0).then(|| (name.clone(), stream.first_version + below as u64))
            })
            .collect();
        let run = &self.tables[from..];
        let run_from = run.first().map_or(self.tail_from, |t| t.coverage.from);
        let below = Below {
            from: run_from,
            tables: run,
            tail: &tail,
        };
        if let Some(retired) = retire_below_start(log, below, why, &mut self.dropped)? {
            // Written over the first dropped table's file (if any), no longer to be removed.
            if from < self.tables.len() {
                self.tables[from] = retired;
            } else {
                self.tables.push(retired);
            }
            from += 1;
        }
        self.drop_tables_from(log, from, why);
        Ok(())
    }

    /// Drops table `from` and every newer one, and the tail: their offsets are indexed
    /// again from the log.
    pub(super) fn drop_tables_from(&mut self, log: &Log, from: usize, why: &str) {
        for (i, table) in self.tables.split_off(from).into_iter().enumerate() {
            let why = if i == 0 {
                why
            } else {
                "a table before it was dropped"
            };
            self.remove(log.storage(), &table.path, why);
        }
        self.next_offset = self.tables.last().map_or(0, |t| t.coverage.to);
        self.tail_from = self.next_offset;
        self.streams.clear();
        self.tail_events = 0;
        self.next_table_at = self.table_events;
    }

    /// Retires the tables every record of which retention removed: one table, in place of
    /// the oldest, keeps only their streams' versions (so that a stream whose events are all
    /// gone still has its version), and the others are removed. If that table cannot be
    /// written, they stay, and the retirement is tried again once retention moves on.
    pub(super) fn retire_removed_tables(&mut self, log: &Log) {
        let start = log.log_start_offset();
        let gone = self.tables.partition_point(|t| t.coverage.to <= start);
        let retired_already = gone == 1 && self.tables[0].entry_count == 0;
        if gone == 0 || retired_already || self.retire_failed_at == Some(start) {
            return;
        }
        match self.try_retire(log, gone) {
            Ok(()) => self.retire_failed_at = None,
            Err(error) => {
                tracing::warn!(
                    target: "kafkalite::eventstore",
                    "{}: could not retire the stream index tables retention emptied ({error}); they stay",
                    log.name()
                );
                self.retire_failed_at = Some(start);
            }
        }
    }

    fn try_retire(&mut self, log: &Log, gone: usize) -> Result<()> {
        let mut next_versions = HashMap::new();
        for table in 0..gone {
            let found = self.checked(table, self.tables[table].next_versions())?;
            // Oldest first, so each stream ends with its newest version.
            next_versions.extend(found);
        }
        let last = &self.tables[gone - 1];
        let coverage = Coverage {
            from: self.tables[0].coverage.from,
            to: last.coverage.to,
            last_batch_crc: last.coverage.last_batch_crc,
            last_batch_position: last.coverage.last_batch_position,
        };
        let streams = retired_streams(next_versions);
        if streams.is_empty() {
            for table in self.tables.drain(..gone) {
                remove_file(log.storage(), &table.path);
            }
            return Ok(());
        }
        // Replaces the oldest table's file; the others go after (a crash between leaves
        // them covered, and the next load removes them).
        let retired = write(log, coverage, streams)?;
        let removed: Vec<Table> = self.tables.splice(..gone, [retired]).collect();
        for table in &removed[1..] {
            remove_file(log.storage(), &table.path);
        }
        Ok(())
    }

    /// Moves whatever the tail holds to a table (at a clean close).
    pub(super) fn write_tail(&mut self, log: &Log) {
        if self.loaded && self.tail_events > 0 && self.doubt.borrow().is_none() {
            self.write_table(log);
        }
    }

    /// Moves the tail's events to a new table, then merges; on failure the events
    /// stay in memory, and the next try waits for as many events again.
    pub(super) fn write_table(&mut self, log: &Log) {
        self.next_table_at = self.tail_events.saturating_add(self.table_events);
        if let Err(error) = self.try_write_table(log) {
            tracing::warn!(
                target: "kafkalite::eventstore",
                "{}: could not write a stream index table ({error}); the events stay in memory",
                log.name()
            );
        }
    }

    fn try_write_table(&mut self, log: &Log) -> Result<()> {
        // Records not synced yet go in too: a power cut that takes them back leaves the
        // table past the log's end, or over a batch that is no longer the one it names, and
        // the next load drops it (recovery keeps a prefix of the log, so a matching last
        // batch vouches for every record before it).
        let from = self.tail_from;
        let to = self.next_offset;
        if to <= from {
            return Ok(());
        }
        let (last_batch_crc, last_batch_position) = if to <= log.log_start_offset() {
            // Retention removed every record the table covers: there is nothing to check it
            // against at the next load, which keeps it for its streams' versions.
            (0, 0)
        } else {
            batch_at(log, to - 1, None)?
        };
        let mut streams = Vec::new();
        for (name, tail) in &self.streams {
            let below = tail.offsets.partition_point(|&o| o < to);
            if below > 0 {
                streams.push(TableStream {
                    name: name.clone(),
                    first_version: tail.first_version,
                    entries: tail.offsets[..below]
                        .iter()
                        .copied()
                        .zip(tail.positions[..below].iter().copied())
                        .collect(),
                });
            }
        }
        let coverage = Coverage {
            from,
            to,
            last_batch_crc,
            last_batch_position,
        };
        let table = write(log, coverage, streams)?;
        self.tables.push(table);
        let mut moved = 0;
        self.streams.retain(|_, tail| {
            let below = tail.offsets.partition_point(|&o| o < to);
            tail.offsets.drain(..below);
            tail.positions.drain(..below);
            tail.first_version += below as u64;
            moved += below;
            !tail.offsets.is_empty()
        });
        self.tail_events -= moved;
        self.tail_from = to;
        self.next_table_at = self.tail_events.saturating_add(self.table_events);
        self.merge(log)
    }

    /// Merges the last two tables while they are of similar size. A retired table (no
    /// entries) is never merged into: where it ends is where retention had cut the log,
    /// which `complete_deletion` needs if the log start ever goes back below it.
    fn merge(&mut self, log: &Log) -> Result<()> {
        while let [.., older, newer] = &self.tables[..] {
            let events = older.entry_count + newer.entry_count;
            if older.entry_count == 0
                || older.entry_count > MERGE_RATIO * newer.entry_count
                || events > MAX_MERGED_EVENTS
            {
                break;
            }
            let newest = self.tables.len() - 1;
            let mut streams = self.checked(newest - 1, older.streams())?;
            let mut at: HashMap<String, usize> = streams
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.clone(), i))
                .collect();
            for stream in self.checked(newest, newer.streams())? {
                match at.get(&stream.name) {
                    Some(&i) => {
                        let before = &mut streams[i];
                        let next = before.first_version + before.entries.len() as u64;
                        if stream.first_version != next {
                            return self.checked(newest, Err(Error::corruption(
                                &newer.path,
                                0,
                                format!(
                                    "stream '{}' goes on at version {} after version {} of the table before",
                                    stream.name,
                                    stream.first_version,
                                    next - 1
                                ),
                            )));
                        }
                        before.entries.extend(stream.entries);
                    }
                    None => {
                        at.insert(stream.name.clone(), streams.len());
                        streams.push(stream);
                    }
                }
            }
            let coverage = Coverage {
                from: older.coverage.from,
                to: newer.coverage.to,
                last_batch_crc: newer.coverage.last_batch_crc,
                last_batch_position: newer.coverage.last_batch_position,
            };
            // Replaces the older table's file; the newer one's goes after (a crash between
            // leaves it covered, and the next load removes it).
            let merged = write(log, coverage, streams)?;
            let newer = self.tables.pop().expect("two tables");
            self.tables.pop();
            self.tables.push(merged);
            remove_file(log.storage(), &newer.path);
        }
        Ok(())
    }
}

/// What is about to be dropped from offset `from` on: `tables` in offset order (the first
/// found not to agree with the log, or doubted; the others after it), then the tail, whose
/// streams below the log start are given as `tail` (each with its next version there).
pub(super) struct Below<'a> {
    pub from: i64,
    pub tables: &'a [Table],
    pub tail: &'a [(String, u64)],
}

/// Before `below` is dropped (for `why`): if it covers offsets below the log start, which
/// cannot be indexed again, its streams' versions there go to a retired table over
/// `from..log start`, written over the first table's file (as retention's, see
/// [`PartitionIndex::retire_removed_tables`]), and `dropped` gets a note. A table over
/// records a power cut took back may be a merge that took in a retired table. Returns the
/// retired table, or `None` when there is nothing to keep; a damaged table gives nothing (a
/// warning says so), the others and the tail still do. An error writing the retired table
/// (or reading a table, other than damage) is returned, the tables left in place (they may
/// be the only record of those versions).
pub(super) fn retire_below_start(
    log: &Log,
    below: Below<'_>,
    why: &str,
    dropped: &mut Vec<String>,
) -> Result<Option<Table>> {
    let start = log.log_start_offset();
    if below.from >= start || start > log.log_end_offset() {
        return Ok(None);
    }
    let path = index_file::path(log.dir(), below.from);
    let path = path.display();
    // Oldest first, so that each stream ends with its newest version.
    let mut next_versions = HashMap::new();
    for table in below.tables.iter().take_while(|t| t.coverage.from < start) {
        let streams = match table.streams() {
            Ok(streams) => streams,
            Err(error @ Error::Corruption { .. }) => {
                tracing::warn!(
                    target: "kafkalite::eventstore",
                    "stream index {}: the versions it holds below the log start ({start}) could not be kept: {error}",
                    table.path.display()
                );
                continue;
            }
            Err(error) => return Err(error),
        };
        for stream in streams {
            let below = stream
                .entries
                .partition_point(|&(offset, _)| offset < start);
            // Each stream goes on after its events below the start (those from the start
            // on are indexed again from the log); a stream retired or merged with a retired
            // record starts past versions only this table may know.
            let next = stream.first_version + below as u64;
            if next > 0 {
                next_versions.insert(stream.name, next);
            }
        }
    }
    // Newest of all.
    next_versions.extend(below.tail.iter().cloned());
    if next_versions.is_empty() {
        return Ok(None);
    }
    let streams = retired_streams(next_versions);
    let coverage = Coverage {
        from: below.from,
        to: start,
        last_batch_crc: 0,
        last_batch_position: 0,
    };
    let retired = write(log, coverage, streams)?;
    tracing::warn!(
        target: "kafkalite::eventstore",
        "stream index {path}: {why}; the versions below the log start ({start}) were kept in a retired table, the rest is indexed from the log"
    );
    dropped.push(format!(
        "{path}: {why} (its versions below offset {start} kept)"
    ));
    Ok(Some(retired))
}

/// Retired stream records: each stream with no entries, at its next version.
fn retired_streams(next_versions: HashMap<String, u64>) -> Vec<TableStream> {
    next_versions
        .into_iter()
        .map(|(name, first_version)| TableStream {
            name,
            first_version,
            entries: Vec::new(),
        })
        .collect()
}

/// Removes a table file; a failure is only a warning (a file left behind is found and
/// removed again by the next load, as covered by a table, or past the log).
fn remove_file(storage: &dyn Storage, path: &std::path::Path) {
    if let Err(error) = storage.remove_file(path) {
        tracing::warn!(
            target: "kafkalite::eventstore",
            "stream index {}: could not remove it: {error}",
            path.display()
        );
    }
}

/// Writes a table, synced, and opens it. While the log holds its records, a table lost or
/// torn would only be found out and its offsets indexed again; but once retention removes
/// them, the table alone has the versions of the streams it emptied, so it must be on disk
/// before that (one sync per table written: every `index_table_events` events, and merges).
fn write(log: &Log, coverage: Coverage, streams: Vec<TableStream>) -> Result<Table> {
    let bytes = index_file::encode(coverage, streams)?;
    let path = index_file::path(log.dir(), coverage.from);
    log.storage().replace_file(&path, &bytes, true)?;
    Table::open(log.storage(), &path)
}

/// The stored CRC of the batch holding `offset`, and where it starts in its segment's file;
/// read at `hint` (such a position) if it is right, else through the offset index.
fn batch_at(log: &Log, offset: i64, hint: Option<u32>) -> Result<(u32, u32)> {
    let data = match hint {
        Some(position) => log.read_hinted(offset, position as usize, true)?,
        None => log.read_unsynced(offset, 1)?,
    };
    let batch = data.batches().next().transpose()?;
    let position = batch
        .as_ref()
        .and_then(|b| data.position_of(b))
        .and_then(|p| u32::try_from(p).ok());
    match (batch, position) {
        (Some(batch), Some(position))
            if batch.base_offset() <= offset && offset <= batch.last_offset() =>
        {
            Ok((batch.crc(), position))
        }
        _ => Err(Error::corruption(
            log.dir(),
            0,
            format!("no batch holds offset {offset}"),
        )),
    }
}

/// A retired table (no entries: retention had removed every record it indexed) ending
/// past the log start means the start went back: a crash took back a start raised in
/// memory only (retention raises it past whole segments before it writes the checkpoint and
/// removes them; this repair's own; a standalone `Log::delete_records` whose caller had not
/// persisted it; `Cluster::delete_records` persists before it raises), or a damaged
/// checkpoint was replaced by the oldest segment's offset. The table's versions count the
/// records below its end, which are no longer indexed one by one, so the deletion is
/// completed: the log starts at the table's end again, as it did when the table was written.
fn complete_deletion(log: &Log, tables: &[Table]) {
    let retired_to = tables
        .iter()
        .filter(|t| t.entry_count == 0)
        .map(|t| t.coverage.to)
        .max();
    let start = log.log_start_offset();
    let Some(to) = retired_to.filter(|&to| to > start && to <= log.high_watermark()) else {
        return;
    };
    match log.delete_records(to) {
        Ok(_) => tracing::warn!(
            target: "kafkalite::eventstore",
            "{}: the log started at offset {start}, below the stream index's retired table, \
             which counts the records up to offset {to} as removed: the deletion that retired \
             them is completed, the log now starts at {to}",
            log.name()
        ),
        Err(error) => tracing::warn!(
            target: "kafkalite::eventstore",
            "{}: could not raise the log start from {start} to {to}, where the stream index's \
             retired table ends ({error})",
            log.name()
        ),
    }
}

/// Whether the log still holds what a table covering `coverage` was written from.
fn agrees(log: &Log, coverage: Coverage) -> std::result::Result<(), String> {
    if coverage.to > log.log_end_offset() {
        return Err(format!(
            "it indexes offsets up to {}, but the log ends at {}",
            coverage.to - 1,
            log.log_end_offset()
        ));
    }
    if coverage.to <= log.log_start_offset() {
        // Retention removed every record it indexes, so there is nothing to check it
        // against; what it still gives is its streams' versions (it is then retired).
        return Ok(());
    }
    match batch_at(log, coverage.to - 1, Some(coverage.last_batch_position)) {
        Ok((crc, _)) if crc == coverage.last_batch_crc => Ok(()),
        Ok(_) => Err(format!(
            "the log's batch at offset {} is not the one it was written from",
            coverage.to - 1
        )),
        Err(error) => Err(format!(
            "the log's batch at offset {} could not be read: {error}",
            coverage.to - 1
        )),
    }
}
