//! The stream index of one partition: for each stream, the offsets of its events by version.
//! Derived data, rebuilt from the log on any doubt: it follows the log by reading whatever
//! was appended since it last looked, whoever appended it, so that plain producers may write
//! to a store's topic too (their records count as events of the stream their key names).
//!
//! The newest events are held in memory (the tail); once the tail holds
//! [`PartitionIndex::table_events`] events they go to an immutable table file
//! (`index_file`), and tables of similar size are merged (`index_tables`). A stream's events
//! are then runs of consecutive versions: one per table it has events in, and the tail's.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use super::event::record_version;
use super::index_file::{ChunkCache, StreamRecord, Table};
use crate::error::{Error, Result};
use crate::log::{AbortedFilter, FetchData, Log};
use crate::record::RecordBatch;

/// How many bytes one read of the log takes while following it.
const FOLLOW_READ_BYTES: usize = 1 << 20;

/// The highest version a record may state: a partition holds fewer records than this, so
/// versions counted on from it stay at or below `i64::MAX`, which index tables require.
const MAX_STATED_VERSION: u64 = (i64::MAX / 2) as u64;

/// One stream's events in the tail: the offset of each, by version.
#[derive(Debug)]
pub(super) struct StreamIndex {
    /// The version of `offsets[0]`.
    pub(super) first_version: u64,
    /// Ascending offsets, one per event.
    pub(super) offsets: Vec<i64>,
    /// Where each event's batch starts in its segment file: a hint that saves the offset
    /// index's search when reading it (`u32::MAX`: unknown).
    pub(super) positions: Vec<u32>,
}

impl StreamIndex {
    /// The version of the stream's last event.
    pub(super) fn last_version(&self) -> u64 {
        self.first_version + self.offsets.len() as u64 - 1
    }

    fn push(&mut self, offset: i64, position: u32) {
        self.offsets.push(offset);
        self.positions.push(position);
    }
}

/// Consecutive versions of one stream, all in one table or all in the tail.
#[derive(Debug, Clone, Copy)]
pub(super) struct Run {
    pub(super) first_version: u64,
    pub(super) count: usize,
    source: Source,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Table(usize, StreamRecord),
    Tail,
}

impl Run {
    fn last_version(&self) -> u64 {
        self.first_version + self.count as u64 - 1
    }
}

/// What a reader of a stream may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Visible {
    /// No event of the stream is visible (none written, or none synced yet).
    NotFound,
    /// The versions readers may see; empty (`first > last`) when retention removed them all.
    Versions { first: u64, last: u64 },
}

/// The streams of one partition, as of `next_offset`.
#[derive(Debug)]
pub(super) struct PartitionIndex {
    /// Every record below this offset is indexed.
    pub(super) next_offset: i64,
    /// Whether the tables in the partition directory have been looked at.
    pub(super) loaded: bool,
    /// The tables, oldest first; each covers offsets from where the one before ends.
    pub(super) tables: Vec<Table>,
    /// Where the tail's offsets begin (the last table's end, if any).
    pub(super) tail_from: i64,
    /// The events from `tail_from` on, by stream.
    pub(super) streams: HashMap<String, StreamIndex>,
    /// How many events `streams` holds.
    pub(super) tail_events: usize,
    /// How many events the tail gathers before they go to a table.
    pub(super) table_events: usize,
    /// The tail size at which the next table is written.
    pub(super) next_table_at: usize,
    /// The oldest table a read found wrong, and what was wrong: it and every newer one are
    /// dropped, and their offsets indexed again, before the index is next used.
    pub(super) doubt: RefCell<Option<(usize, String)>>,
    /// What was dropped or rebuilt, for [`super::IndexStats`].
    pub(super) dropped: Vec<String>,
    /// The log start at which retiring tables last failed: tried again once it moves.
    pub(super) retire_failed_at: Option<i64>,
}

impl PartitionIndex {
    /// An index that has not looked at its partition yet, writing tables every
    /// `table_events` events.
    pub(super) fn new(table_events: usize) -> PartitionIndex {
        PartitionIndex {
            next_offset: 0,
            loaded: false,
            tables: Vec::new(),
            tail_from: 0,
            streams: HashMap::new(),
            tail_events: 0,
            table_events: table_events.max(1),
            next_table_at: table_events.max(1),
            doubt: RefCell::new(None),
            dropped: Vec::new(),
            retire_failed_at: None,
        }
    }

    /// What the index holds.
    pub(super) fn stats(&self) -> super::IndexStats {
        super::IndexStats {
            indexed_to: self.next_offset,
            tables: self
                .tables
                .iter()
                .map(|t| (t.coverage.from, t.coverage.to))
                .collect(),
            table_events: self.tables.iter().map(|t| t.entry_count).sum(),
            memory_events: self.tail_events,
            dropped: self.dropped.clone(),
        }
    }

    /// Whether a failed read came from a table now doubted, so that following the log again
    /// and retrying gives the answer.
    fn doubted(&self) -> bool {
        self.doubt.borrow().is_some()
    }

    /// `result` of reading table `table`; an error makes the table doubted.
    pub(super) fn checked<T>(&self, table: usize, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            let mut doubt = self.doubt.borrow_mut();
            if doubt.as_ref().is_none_or(|(oldest, _)| table < *oldest) {
                *doubt = Some((table, error.to_string()));
            }
        }
        result
    }

    /// The stream's record in table `table`, if it has events there.
    fn lookup(&self, table: usize, stream: &str) -> Result<Option<StreamRecord>> {
        self.checked(table, self.tables[table].lookup(stream))
    }

    /// The version of the stream's last event, `None` if it has none.
    pub(super) fn version(&self, stream: &str) -> Result<Option<u64>> {
        if let Some(tail) = self.streams.get(stream) {
            return Ok(Some(tail.last_version()));
        }
        self.table_version(stream)
    }

    /// The version of the stream's last event in the tables.
    fn table_version(&self, stream: &str) -> Result<Option<u64>> {
        for table in (0..self.tables.len()).rev() {
            if let Some(record) = self.lookup(table, stream)? {
                return Ok(Some(record.last_version()));
            }
        }
        Ok(None)
    }

    /// The stream's runs of events, oldest first (none if it has no events).
    pub(super) fn runs(&self, stream: &str) -> Result<Vec<Run>> {
        self.runs_from(stream, 0)
    }

    /// The stream's runs of events holding versions from `from` on, oldest first (and
    /// perhaps some before): tables are searched newest first, and only until one holds a
    /// version at or below `from`.
    pub(super) fn runs_from(&self, stream: &str, from: u64) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        if let Some(tail) = self.streams.get(stream) {
            runs.push(Run {
                first_version: tail.first_version,
                count: tail.offsets.len(),
                source: Source::Tail,
            });
        }
        for table in (0..self.tables.len()).rev() {
            if runs.last().is_some_and(|r: &Run| r.first_version <= from) {
                break;
            }
            if let Some(record) = self.lookup(table, stream)? {
                runs.push(Run {
                    first_version: record.first_version,
                    count: record.count as usize,
                    source: Source::Table(table, record),
                });
            }
        }
        runs.reverse();
        Ok(runs)
    }

    /// Appends the `(offset, batch position)` of the run's events at `at` (indexes into the
    /// run) to `out`.
    fn entries_into(
        &self,
        stream: &str,
        run: &Run,
        at: Range<usize>,
        out: &mut Vec<(i64, u32)>,
    ) -> Result<()> {
        match run.source {
            Source::Table(table, record) => {
                let entries = self.checked(table, self.tables[table].entries(&record))?;
                out.extend(entries.range(at));
            }
            Source::Tail => {
                let tail = &self.streams[stream];
                out.extend(at.map(|i| (tail.offsets[i], tail.positions[i])));
            }
        }
        Ok(())
    }

    /// How many of the run's events lie below `offset`.
    fn count_below(&self, stream: &str, run: &Run, offset: i64) -> Result<usize> {
        let (table, record) = match run.source {
            Source::Table(table, record) => (table, record),
            Source::Tail => {
                let offsets = &self.streams[stream].offsets;
                return Ok(offsets.partition_point(|&o| o < offset));
            }
        };
        let coverage = self.tables[table].coverage;
        if offset <= coverage.from {
            return Ok(0);
        }
        if offset >= coverage.to {
            return Ok(run.count);
        }
        let entries = self.checked(table, self.tables[table].entries(&record))?;
        Ok(entries.count_below(offset))
    }

    /// The stream's versions a reader may see: below `stable` (the log's last stable
    /// offset), at or above `log_start`.
    pub(super) fn visible(
        &self,
        stream: &str,
        runs: &[Run],
        stable: i64,
        log_start: i64,
    ) -> Result<Visible> {
        let mut last = None;
        for run in runs.iter().rev() {
            if run.count == 0 {
                // Retired: nothing older is visible past it (answered below).
                break;
            }
            let below = self.count_below(stream, run, stable)?;
            if below > 0 {
                last = Some(run.first_version + below as u64 - 1);
                break;
            }
        }
        let Some(last) = last else {
            // A stream retention removed every event of is retired in a table, at the
            // version after its last one.
            let retired = runs.iter().rev().find(|r| r.count == 0);
            return Ok(retired.map_or(Visible::NotFound, |r| Visible::Versions {
                first: r.first_version,
                last: r.first_version - 1,
            }));
        };
        let mut first = last + 1;
        for run in runs.iter().filter(|r| r.first_version <= last) {
            let removed = self.count_below(stream, run, log_start)?;
            if removed < run.count {
                first = run.first_version + removed as u64;
                break;
            }
        }
        Ok(Visible::Versions { first, last })
    }

    /// The `(offset, batch position)` of each of the stream's `versions`, `None` unless
    /// every one is indexed.
    pub(super) fn locations(
        &self,
        stream: &str,
        runs: &[Run],
        versions: Range<u64>,
    ) -> Result<Option<Vec<(i64, u32)>>> {
        let mut found = Vec::new();
        let mut next = versions.start;
        for run in runs {
            if next >= versions.end || run.last_version() < next {
                continue;
            }
            if run.first_version > next {
                return Ok(None);
            }
            let end = versions.end.min(run.last_version() + 1);
            // Both below `run.count`, a usize.
            let index_of = |version: u64| usize::try_from(version - run.first_version);
            let at = index_of(next).unwrap_or(run.count)..index_of(end).unwrap_or(run.count);
            self.entries_into(stream, run, at, &mut found)?;
            next = end;
        }
        Ok((next >= versions.end).then_some(found))
    }

    /// The version of the event at `offset`, if it is one of the stream's; `cache` keeps
    /// the table chunks read, for the next call.
    pub(super) fn version_at(
        &self,
        stream: &str,
        offset: i64,
        cache: &mut ChunkCache,
    ) -> Result<Option<u64>> {
        if offset >= self.tail_from {
            let Some(tail) = self.streams.get(stream) else {
                return Ok(None);
            };
            let at = tail.offsets.binary_search(&offset).ok();
            return Ok(at.map(|at| tail.first_version + at as u64));
        }
        let table = self.tables.partition_point(|t| t.coverage.to <= offset);
        if table == self.tables.len() || offset < self.tables[table].coverage.from {
            return Ok(None);
        }
        self.checked(table, self.tables[table].version_at(offset, table, cache))
    }

    /// Records `count` events of `stream` this process appended in one batch at
    /// `first_offset` onwards (the log's last records), the batch at `position`.
    pub(super) fn appended(
        &mut self,
        stream: &str,
        first_version: u64,
        first_offset: i64,
        count: usize,
        position: Option<u64>,
    ) {
        let position = hint(position);
        let index = self.entry(stream, first_version);
        for offset in (first_offset..).take(count) {
            index.push(offset, position);
        }
        self.tail_events += count;
        self.next_offset = first_offset + count as i64;
    }

    fn entry(&mut self, stream: &str, first_version: u64) -> &mut StreamIndex {
        if !self.streams.contains_key(stream) {
            let index = StreamIndex {
                first_version,
                offsets: Vec::new(),
                positions: Vec::new(),
            };
            self.streams.insert(stream.to_string(), index);
        }
        self.streams.get_mut(stream).expect("inserted above")
    }

    /// `f` of the index once it has followed `log`: indexed what was appended since it last
    /// looked (everything after the tables, at the first call), synced or not, after
    /// dropping doubted tables, and moved a full tail to a table.
    ///
    /// A table found wrong, while following or by `f`, is doubted: the next round drops it
    /// and the tables after it, indexes their offsets again from the log, and runs `f`
    /// again, so a wrong table costs time, never an answer. Tables found wrong round after
    /// round (a failing disk) end it with the error, after a round per table and two more.
    pub(super) fn followed<T>(
        &mut self,
        log: &Log,
        mut f: impl FnMut(&PartitionIndex) -> Result<T>,
    ) -> Result<T> {
        let mut rounds = 0;
        loop {
            match self.follow_once(log).and_then(|()| f(self)) {
                // Each round drops a table (putting at most a retired one in its place) and writes
                // at most one more: the table count stays bounded, so `rounds` passes it.
                Err(error) if self.doubted() => {
                    rounds += 1;
                    if rounds > self.tables.len() + 2 {
                        return Err(error);
                    }
                }
                result => return result,
            }
        }
    }

    fn follow_once(&mut self, log: &Log) -> Result<()> {
        if log.is_closed() {
            // Its topic was deleted (perhaps made again, in the same directory) or the
            // cluster closed: the index's files are no longer its own.
            return Err(Error::Closed);
        }
        if !self.loaded {
            self.load(log)?;
        }
        if let Some((table, why)) = self.doubt.take() {
            if let Err(error) = self.drop_tables_keeping_versions(log, table, &why) {
                // Doubted still: tried again at the next call.
                *self.doubt.borrow_mut() = Some((table, why));
                return Err(error);
            }
        }
        let end = log.log_end_offset();
        if self.next_offset > end {
            // The log lost records the index holds (a repair cut it): index again from the
            // last table still inside it.
            let inside = self.tables.partition_point(|t| t.coverage.to <= end);
            let why = format!("the log ends at offset {end}, before records it indexes");
            self.drop_tables_keeping_versions(log, inside, &why)?;
        }
        if self.tail_events > 0 && self.tail_from < log.log_start_offset() {
            // Retention removed records that only the tail indexes: their streams' versions
            // are now nowhere else, and a crash would take them with the tail. It goes to a
            // table at once, which retirement then keeps (if it fails, this is tried again
            // at the next call).
            self.write_table(log);
        }
        self.retire_removed_tables(log);
        let start = log.log_start_offset();
        if self.next_offset < start {
            // Retention removed records never indexed; their streams' versions start later.
            self.next_offset = start;
        }
        // Up to the first transaction still open: what follows may be aborted yet, and the
        // versions after it depend on that. Records of aborted transactions are no events.
        let bound = log.log_end_offset().min(log.first_open_transaction());
        let mut aborted = Some(AbortedFilter::below(log, self.next_offset, bound));
        while self.next_offset < bound {
            // Retention may raise the log start meanwhile: the read goes on from there.
            let read = |at| log.read_unsynced(at, FOLLOW_READ_BYTES);
            let data = log.read_on_from_start(&mut self.next_offset, bound, &mut aborted, read)?;
            let Some(data) = data.filter(|d| !d.is_empty()) else {
                break;
            };
            let aborted = aborted.as_mut().expect("made above, only ever made again");
            for batch in data.batches() {
                let batch = batch?;
                if batch.base_offset() >= bound {
                    self.next_offset = bound; // nothing in between (compaction left a gap)
                    break;
                }
                let next = batch.last_offset() + 1;
                if !aborted.skips(&batch) && !batch.is_control() {
                    self.index_batch(&batch, &data, log)?;
                }
                self.next_offset = self.next_offset.max(next);
            }
        }
        if self.tail_events >= self.next_table_at {
            self.write_table(log);
        }
        Ok(())
    }

    /// Indexes the events of one data batch of `data` (those from `next_offset` on). The
    /// whole batch is decoded before any of it is indexed, so that a batch that fails half
    /// way is not indexed twice by the next call.
    fn index_batch(&mut self, batch: &RecordBatch<'_>, data: &FetchData, log: &Log) -> Result<()> {
        let records = batch.records()?;
        let position = hint(data.position_of(batch).map(|p| p as u64));
        let mut events = Vec::new();
        for record in records.iter() {
            let record = record.map_err(|e| data.undecodable(batch, e))?;
            if record.offset < self.next_offset {
                continue;
            }
            if let Some(stream) = record.key.and_then(|k| std::str::from_utf8(k).ok()) {
                events.push((stream, record.offset, record_version(&record)));
            }
        }
        // Table lookups first (they may fail), then the indexing itself: the last version in
        // the tables of each stream not in the tail.
        let mut in_tables: HashMap<&str, Option<u64>> = HashMap::new();
        for &(stream, ..) in &events {
            if !self.streams.contains_key(stream) && !in_tables.contains_key(stream) {
                in_tables.insert(stream, self.table_version(stream)?);
            }
        }
        for (stream, offset, stated) in events {
            let in_tables = in_tables.get(stream).copied().flatten();
            self.index(stream, offset, position, stated, in_tables, log.name());
        }
        Ok(())
    }

    /// Indexes one event of `stream` at `offset` (its batch at `position`), whose record
    /// states version `stated`; `in_tables` is the stream's last version in the tables, for
    /// a stream not in the tail.
    fn index(
        &mut self,
        stream: &str,
        offset: i64,
        position: u32,
        stated: Option<u64>,
        in_tables: Option<u64>,
        partition: &str,
    ) {
        let stated = stated.filter(|&v| v <= MAX_STATED_VERSION);
        let last = self
            .streams
            .get(stream)
            .map(StreamIndex::last_version)
            .or(in_tables);
        let version = match last {
            Some(last) => {
                let version = last + 1;
                if stated.is_some_and(|v| v != version) {
                    tracing::warn!(
                        target: "kafkalite::eventstore",
                        "{partition} offset {offset}: stream '{stream}' event says version {}, but it is the stream's version {version}; reads use {version}",
                        stated.unwrap_or_default(),
                    );
                }
                version
            }
            None => stated.unwrap_or(0),
        };
        self.entry(stream, version).push(offset, position);
        self.tail_events += 1;
    }
}

/// A position as the index keeps it.
fn hint(position: Option<u64>) -> u32 {
    position
        .and_then(|p| u32::try_from(p).ok())
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
