//! Reading events: one stream forwards or backwards through the index, a partition in log
//! order, and records by offset (each batch read and decoded once).

use std::ops::Range;

use super::event::RecordedEvent;
use super::index::Visible;
use super::name::{Name, Names};
use super::EventStore;
use crate::error::{Error, Result};
use crate::log::Log;
use crate::record::{Record, RecordBatch};

/// Which way a stream is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From older events to newer ones.
    Forwards,
    /// From newer events to older ones.
    Backwards,
}

/// Where a stream read starts (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamPosition {
    /// The stream's first event.
    Start,
    /// The stream's last event (reading backwards; forwards it yields nothing).
    End,
    /// The event at this version (or the nearest one in the reading direction).
    Version(u64),
}

/// What reading a stream found: the stream does not exist, or its events (possibly none,
/// when the read starts past its end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadStreamResult {
    /// The stream has no events (a state to check, not an error: loading an aggregate that
    /// was never created is normal).
    StreamNotFound,
    /// The events read, in the order asked for.
    Events(Vec<RecordedEvent>),
}

impl ReadStreamResult {
    /// The events read; none when the stream does not exist.
    pub fn into_events(self) -> Vec<RecordedEvent> {
        match self {
            ReadStreamResult::StreamNotFound => Vec::new(),
            ReadStreamResult::Events(events) => events,
        }
    }
}

impl EventStore {
    /// Reads up to `max_count` events of `stream` from `from` (inclusive) in `direction`,
    /// through the stream index (no scan of the log). Only events readers may see are
    /// returned: in a durable store, those synced to disk.
    pub fn read_stream(
        &self,
        stream: &str,
        from: StreamPosition,
        direction: Direction,
        max_count: usize,
    ) -> Result<ReadStreamResult> {
        let partition = self.partition_of(stream);
        let log = self.log(partition);
        let found = super::indexed(self.index(partition), log, |index| {
            let runs = index.runs(stream)?;
            // The versions a reader may see: not yet synced ones are not there yet, and
            // those below the log start were removed by retention.
            let visible = index.visible(
                stream,
                &runs,
                log.last_stable_offset(),
                log.log_start_offset(),
            )?;
            let Visible::Versions { first, last } = visible else {
                return Ok(None);
            };
            let versions = chosen_versions(first, last, from, direction, max_count);
            let locations = index
                .locations(stream, &runs, versions.clone())?
                .ok_or_else(|| {
                    Error::corruption(
                        log.dir(),
                        0,
                        format!(
                            "the stream index lacks versions {versions:?} of stream '{stream}'"
                        ),
                    )
                })?;
            Ok(Some((versions.start, locations)))
        })?;
        let Some((first, offsets)) = found else {
            return Ok(ReadStreamResult::StreamNotFound);
        };
        let mut events = Vec::with_capacity(offsets.len());
        let (stream, mut names) = (Name::from(stream), Names::default());
        let mut at = 0;
        records_at(log, &offsets, Bound::HighWatermark, |record| {
            // `offsets` ascend with `versions`; records of offsets retention removed are
            // skipped, so find this record's place.
            while offsets[at].0 < record.offset {
                at += 1;
            }
            events.push(RecordedEvent::from_record(
                record,
                &stream,
                first + at as u64,
                partition,
                &mut names,
            ));
            Ok(())
        })?;
        if direction == Direction::Backwards {
            events.reverse();
        }
        Ok(ReadStreamResult::Events(events))
    }

    /// Reads up to `max_count` events of `partition` in log order, from the offset after
    /// `after` (or from the start), up to what readers may see. Records without a UTF-8
    /// key (not events of any stream) are skipped. A page shorter than `max_count` means
    /// the partition's end: go on after the last event's offset.
    pub fn read_all(
        &self,
        partition: i32,
        after: Option<i64>,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.read_all_with(partition, after, max_count, || Ok(()))
    }

    /// [`EventStore::read_all`], calling `between` after each scan, before the events get
    /// their versions (where retention can remove what was scanned).
    fn read_all_with(
        &self,
        partition: i32,
        after: Option<i64>,
        max_count: usize,
        mut between: impl FnMut() -> Result<()>,
    ) -> Result<Vec<RecordedEvent>> {
        let log = self.checked_log(partition)?;
        let mut from = after.map_or(log.log_start_offset(), |a| a.saturating_add(1));
        let (mut page, mut streams, mut names) = (Vec::new(), Names::default(), Names::default());
        // Events retention removed between a scan and their versions are dropped, as if
        // read after it; the page is then filled from where the scan stopped, so that it
        // is short only at the end.
        while page.len() < max_count {
            let (want, mut found) = (max_count - page.len(), Vec::new());
            let next = log.scan_committed_records(from, |record| {
                if found.len() >= want {
                    return Ok(false);
                }
                if let Some(key) = record.key.filter(|k| std::str::from_utf8(k).is_ok()) {
                    let stream = streams.get(key);
                    let event =
                        RecordedEvent::from_record(record, &stream, 0, partition, &mut names);
                    found.push(event);
                }
                Ok(true)
            })?;
            between()?;
            let scanned = found.len();
            self.set_versions(partition, &mut found)?;
            let dropped = scanned - found.len();
            page.append(&mut found);
            if dropped == 0 {
                break;
            }
            from = next;
        }
        Ok(page)
    }

    /// Fills in the stream version of each event (all of `partition`). Events retention
    /// removed since they were read are dropped, as if read after it: their versions may be
    /// gone from the index with them.
    pub(super) fn set_versions(
        &self,
        partition: i32,
        events: &mut Vec<RecordedEvent>,
    ) -> Result<()> {
        // A partition added to the topic after the store was made is not the store's.
        let log = self.checked_log(partition)?;
        let versions = super::indexed(self.index(partition), log, |index| {
            let mut cache = super::index_file::ChunkCache::new();
            let mut versions = Vec::with_capacity(events.len());
            for event in events.iter() {
                let offset = event.position.offset;
                versions.push(index.version_at(&event.stream, offset, &mut cache)?);
            }
            // Read after the index: whatever it no longer holds is below this.
            Ok((versions, log.log_start_offset()))
        })?;
        let (versions, log_start) = versions;
        let mut versions = versions.into_iter();
        let mut missing = None;
        events.retain_mut(|event| {
            let version = versions.next().flatten();
            match version {
                Some(version) => event.version = version,
                None if event.position.offset < log_start => return false,
                None => missing = missing.or(Some(event.position.offset)),
            }
            true
        });
        match missing {
            Some(offset) => Err(Error::corruption(
                log.dir(),
                0,
                format!("the stream index has no version for the event at offset {offset}"),
            )),
            None => Ok(()),
        }
    }
}

/// The versions a read of `max_count` events from `from` in `direction` gets, of those
/// readers may see (`first..=last`).
fn chosen_versions(
    first: u64,
    last: u64,
    from: StreamPosition,
    direction: Direction,
    max_count: usize,
) -> Range<u64> {
    let max_count = max_count as u64;
    match direction {
        Direction::Forwards => {
            let start = match from {
                StreamPosition::Start => first,
                StreamPosition::End => last.saturating_add(1),
                StreamPosition::Version(v) => v.max(first),
            };
            let end = last.saturating_add(1).min(start.saturating_add(max_count));
            start..end.max(start)
        }
        Direction::Backwards => {
            let start = match from {
                StreamPosition::Start => first,
                StreamPosition::End => last,
                StreamPosition::Version(v) => v.min(last),
            };
            // `first > last` when retention removed every event: then `Start` is past the
            // last, as `End` and any version are before the first.
            if start < first || start > last || max_count == 0 {
                return first..first;
            }
            let end = start + 1;
            end.saturating_sub(max_count).max(first)..end
        }
    }
}

/// How many batches `records_at` warms at a time: enough for their misses to overlap,
/// few enough that they are still cached when read.
const WARM_WINDOW: usize = 64;

/// How far a read by offset may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bound {
    /// What readers may see.
    HighWatermark,
    /// Everything appended, synced or not (for the writer's own checks).
    LogEnd,
}

/// Calls `found` with the record at each of `locations` (offsets ascending, below `bound`,
/// each with where its batch was in its segment file), reading each batch once, as the log
/// was when the read began: offsets below the log start then (removed by retention) are
/// skipped, and a batch retention removes during the read is still read.
pub(super) fn records_at(
    log: &Log,
    locations: &[(i64, u32)],
    bound: Bound,
    mut found: impl FnMut(&Record<'_>) -> Result<()>,
) -> Result<()> {
    let unsynced = bound == Bound::LogEnd;
    let reader = log.hinted_reader(unsynced);
    let mut i = 0;
    let mut warmed = 0;
    while let Some(&(offset, position)) = locations.get(i) {
        if i >= warmed {
            // The next window's batches, touched in one pass (see `HintedReader::warm`).
            warmed = (i + WARM_WINDOW).min(locations.len());
            reader.warm(locations[i..warmed].iter().map(|&(o, p)| (o, p as usize)));
        }
        if offset < reader.log_start() {
            i += 1;
            continue;
        }
        let hinted = reader.batch(offset, position as usize);
        let bad_crc = hinted.as_ref().is_some_and(|hit| hit.check_crc().is_err());
        if let Some(hit) = hinted.filter(|_| !bad_crc) {
            located_records(&hit.batch, locations, &mut i, &mut found, |e| {
                hit.undecodable(e)
            })?;
            continue;
        }
        // The hint is no longer right (the cleaner rewrote the segment), or the batch lies
        // past what the reader saw: through the offset index, as the log is now. A batch
        // whose CRC fails at the hint may be bytes that only look like one (a record's
        // value, in a segment the cleaner rewrote): read through the offset index, where a
        // CRC that fails is damage (`Corruption`).
        let read = if bad_crc {
            reader.read_through_index(log, offset)
        } else {
            log.read_hinted(offset, position as usize, unsynced)
        };
        let data = match read {
            Ok(data) => data,
            // Retention raised the log start meanwhile: skip what it removed.
            Err(Error::OffsetOutOfRange { log_start, .. }) if offset < log_start => {
                i += 1;
                continue;
            }
            Err(error) => return Err(error),
        };
        let Some(batch) = data.batches().next().transpose()? else {
            return Ok(());
        };
        located_records(&batch, locations, &mut i, &mut found, |e| {
            data.undecodable(&batch, e)
        })?;
    }
    Ok(())
}

/// Calls `found` with each record of `batch` (CRC-checked) at one of `locations` from `*at`
/// on, and moves `*at` past the batch's offsets. `undecodable` makes a decoding error.
fn located_records(
    batch: &RecordBatch<'_>,
    locations: &[(i64, u32)],
    at: &mut usize,
    found: &mut impl FnMut(&Record<'_>) -> Result<()>,
    undecodable: impl Fn(Error) -> Error,
) -> Result<()> {
    let records = batch.records().map_err(&undecodable)?;
    // The fast path: appends validated every record, and the batch's CRC was checked.
    for raw in records.raw() {
        let raw = raw.map_err(&undecodable)?;
        let timestamp = records.timestamp_of(raw.timestamp_delta);
        let record = Record::from_raw(raw, batch.base_offset(), timestamp);
        // Offsets the batch does not hold (compaction removed them) are skipped.
        while locations.get(*at).is_some_and(|&(o, _)| o < record.offset) {
            *at += 1;
        }
        if locations.get(*at).is_some_and(|&(o, _)| o == record.offset) {
            found(&record)?;
            *at += 1;
        }
    }
    while locations
        .get(*at)
        .is_some_and(|&(o, _)| o <= batch.last_offset())
    {
        *at += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::chosen_versions;
    use crate::eventstore::{Direction, EventData, EventStoreConfig, StreamPosition};
    use crate::{BatchBuilder, Cluster, ExpectedVersion, NewTopic};

    /// The versions a read gets, the slow way: of the visible ones (`first..=last`, none when
    /// `first > last`), those at or after the start forwards (the first `max_count`), at or
    /// before it backwards (the last `max_count`), in ascending order.
    fn model(first: u64, last: u64, from: StreamPosition, forwards: bool, max: usize) -> Vec<u64> {
        let visible = first..last.saturating_add(1);
        if forwards {
            let start = match from {
                StreamPosition::Start => first,
                StreamPosition::End => last.saturating_add(1),
                StreamPosition::Version(v) => v,
            };
            visible.filter(|&v| v >= start).take(max).collect()
        } else {
            let start = match from {
                StreamPosition::Start => first,
                StreamPosition::End => last,
                StreamPosition::Version(v) => v,
            };
            let mut chosen: Vec<u64> = visible.rev().filter(|&v| v <= start).take(max).collect();
            chosen.reverse();
            chosen
        }
    }

    fn position() -> impl Strategy<Value = StreamPosition> {
        prop_oneof![
            Just(StreamPosition::Start),
            Just(StreamPosition::End),
            (0u64..48).prop_map(StreamPosition::Version),
        ]
    }

    proptest! {
        /// Reads choose the versions the model does, including a stream whose every event
        /// retention removed (`first == last + 1`).
        #[test]
        fn reads_choose_the_versions_of_the_model(
            first in 0u64..20,
            len in 0u64..20,
            from in position(),
            forwards in any::<bool>(),
            max in 0usize..30,
        ) {
            // `visible` gives `first..=last`, or `last == first - 1` when nothing is left.
            let Some(last) = (first + len).checked_sub(1) else {
                return Ok(());
            };
            let direction = if forwards { Direction::Forwards } else { Direction::Backwards };
            let chosen: Vec<u64> = chosen_versions(first, last, from, direction, max).collect();
            prop_assert_eq!(chosen, model(first, last, from, forwards, max));
        }
    }

    /// A hint may point at bytes that parse as a batch holding the offset but are not one
    /// (the cleaner rewrote the segment; here, a batch of another value at the same offset,
    /// its CRC field broken, inside another record's value): its CRC fails, and the batch
    /// is read through the offset index.
    #[test]
    fn a_hinted_batch_whose_crc_fails_is_read_through_the_offset_index() {
        let cluster = Cluster::temporary().unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        let mut real = BatchBuilder::new();
        real.append(0, Some(b"s"), Some(b"event"), &[]).unwrap();
        let mut fake = BatchBuilder::new();
        fake.append(0, Some(b"s"), Some(b"forge"), &[]).unwrap();
        let mut fake = fake.build().unwrap();
        // The CRC field: after the base offset, length, leader epoch and magic.
        fake[17] ^= 0xff;
        log.append(&real.build().unwrap()).unwrap();
        let mut carrier = BatchBuilder::new();
        carrier.append(0, Some(b"other"), Some(&fake), &[]).unwrap();
        log.append(&carrier.build().unwrap()).unwrap();
        let data = log.read(0, 1 << 20).unwrap();
        let at = data
            .bytes()
            .windows(fake.len())
            .position(|w| w == fake.as_slice())
            .expect("the copy is in the segment");
        let mut found = Vec::new();
        let hint = [(0, u32::try_from(at).unwrap())];
        super::records_at(&log, &hint, super::Bound::HighWatermark, |record| {
            found.push((record.offset, record.value.map(<[u8]>::to_vec)));
            Ok(())
        })
        .unwrap();
        assert_eq!(found, [(0, Some(b"event".to_vec()))]);
    }

    #[test]
    fn the_events_of_a_read_share_their_names() {
        let cluster = Cluster::temporary().unwrap();
        let store = cluster.event_store("es", EventStoreConfig::new()).unwrap();
        for kind in ["Opened", "Deposited", "Deposited"] {
            let event = EventData::new(kind, b"{}".to_vec());
            store.append("a", ExpectedVersion::Any, [event]).unwrap();
        }
        let read = store
            .read_stream("a", StreamPosition::Start, Direction::Forwards, 10)
            .unwrap()
            .into_events();
        let shared = |a: &str, b: &str| std::ptr::eq(a.as_ptr(), b.as_ptr());
        assert_eq!(read.len(), 3);
        assert!(read
            .iter()
            .all(|e| shared(&e.stream, &read[0].stream) && e.stream == "a"));
        assert!(shared(&read[1].event_type, &read[2].event_type));
        assert!(!shared(&read[0].event_type, &read[1].event_type));
        assert!(read
            .iter()
            .all(|e| shared(&e.content_type, &read[0].content_type)));
        assert_eq!(
            read.iter()
                .map(|e| e.event_type.as_str())
                .collect::<Vec<_>>(),
            ["Opened", "Deposited", "Deposited"]
        );
        // In log order too, a stream that comes back gets the name made for it before.
        let event = EventData::new("Deposited", b"{}".to_vec());
        store.append("b", ExpectedVersion::Any, [event]).unwrap();
        let all = store.read_all(0, None, 10).unwrap();
        let streams: Vec<&str> = all.iter().map(|e| e.stream.as_str()).collect();
        assert_eq!(streams, ["a", "a", "a", "b"]);
        assert!(shared(&all[0].stream, &all[2].stream));
        assert!(shared(&all[1].event_type, &all[3].event_type));
    }

    /// Retention removing every event a page scanned, before they got their versions,
    /// leaves a page filled from after them, not an empty one (which says "the end").
    #[test]
    fn a_page_retention_emptied_is_filled_from_after_it() {
        let cluster = Cluster::temporary().unwrap();
        let config = EventStoreConfig::new().index_table_events(2);
        let store = cluster.event_store("es", config).unwrap();
        for stream in ["a", "a", "a", "a", "b", "b", "c", "c"] {
            let event = EventData::new("E", b"x".to_vec());
            store.append(stream, ExpectedVersion::Any, [event]).unwrap();
        }
        // The tables cover offsets 0..6 and 6..8.
        assert_eq!(store.index_stats(0).unwrap().tables, [(0, 6), (6, 8)]);
        let mut scans = 0;
        let page = store
            .read_all_with(0, None, 2, || {
                scans += 1;
                if scans == 1 {
                    // Retires the first table: the index no longer knows offsets 0..6.
                    cluster.delete_records("es", 0, 6)?;
                }
                Ok(())
            })
            .unwrap();
        let read: Vec<(i64, &str, u64)> = page
            .iter()
            .map(|e| (e.position.offset, e.stream.as_str(), e.version))
            .collect();
        assert_eq!(read, [(6, "c", 0), (7, "c", 1)]);
        assert_eq!(scans, 2);
    }

    #[test]
    fn events_retention_removed_after_they_were_read_are_dropped() {
        let cluster = Cluster::temporary().unwrap();
        let config = EventStoreConfig::new().index_table_events(2);
        let store = cluster.event_store("es", config).unwrap();
        for stream in ["a", "a", "a", "a", "b", "b"] {
            let event = EventData::new("E", b"x".to_vec());
            store.append(stream, ExpectedVersion::Any, [event]).unwrap();
        }
        let mut events = store.read_all(0, None, 100).unwrap();
        assert_eq!(events.len(), 6);
        let event = EventData::new("E", b"x".to_vec());
        store
            .append("c", ExpectedVersion::NoStream, [event])
            .unwrap();
        events.extend(store.read_all(0, Some(5), 100).unwrap());
        for event in &mut events {
            event.version = u64::MAX;
        }
        // Every table is retired; the index keeps only the streams' versions of them.
        cluster.delete_records("es", 0, 6).unwrap();
        store.set_versions(0, &mut events).unwrap();
        let left: Vec<(String, u64)> = events
            .into_iter()
            .map(|e| (e.stream.into(), e.version))
            .collect();
        assert_eq!(left, [("c".to_string(), 0)]);
    }
}
