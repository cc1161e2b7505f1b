//! Appending to a stream: the expected-version check, exact idempotence by event id, and the
//! conditional append that makes the check hold against every other writer of the topic.

use super::event::{record_event_id, EventData, EventId, Position};
use super::index::PartitionIndex;
use super::read::Bound;
use super::EventStore;
use crate::error::{Error, ExpectedVersion, Result};
use crate::log::Log;
use crate::record::BatchBuilder;

/// What a successful append did (or, for a retry of one already done, what that one did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppendResult {
    /// The stream's version after the append: that of its last event. Pass it as
    /// [`ExpectedVersion::Exact`] to the next append.
    pub next_expected_version: u64,
    /// Where the last event of the append is in the log.
    pub position: Position,
}

/// What the check decided.
enum Decision {
    /// Append, the first event getting this version.
    Append(u64),
    /// The events are already in the stream, the last at this version and offset.
    AlreadyAppended(u64, i64),
}

impl EventStore {
    /// Appends `events` to `stream` as one batch (all or none), if the stream is at the
    /// `expected` version; otherwise nothing is written and the answer is
    /// [`Error::WrongExpectedVersion`] with the stream's actual version.
    ///
    /// Idempotent by event id, exactly: an append whose events (same ids, same order) already
    /// follow the `expected` version returns the original result and writes nothing, however
    /// late the retry comes. With [`ExpectedVersion::Any`] or
    /// [`ExpectedVersion::StreamExists`] a retry is recognized while the events are still the
    /// stream's last; after others were appended it appends again (pass an exact version
    /// where that matters).
    ///
    /// In a durable store this returns once the events are synced to disk; concurrent
    /// appends share one sync (group commit).
    pub fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: impl IntoIterator<Item = EventData>,
    ) -> Result<AppendResult> {
        let events: Vec<EventData> = events.into_iter().collect();
        check_input(stream, &events)?;
        let partition = self.partition_of(stream);
        let log = self.log(partition);
        let (last_version, last_offset, sync_now) = {
            let mut index = self.index(partition).lock();
            loop {
                index.follow(log)?;
                match decide(&index, log, stream, expected, &events)? {
                    Decision::AlreadyAppended(version, offset) => {
                        break (version, offset, log.config().sync_every_append())
                    }
                    Decision::Append(first_version) => {
                        let batch = build(stream, first_version, &events, self.now_ms())?;
                        match log.append_if_unsynced(&batch, index.next_offset, false) {
                            Ok((info, sync_now)) => {
                                index.appended(
                                    stream,
                                    first_version,
                                    info.first_offset,
                                    events.len(),
                                    info.position,
                                );
                                let last = first_version + events.len() as u64 - 1;
                                break (last, info.last_offset, sync_now);
                            }
                            // Another writer of the topic appended since the index looked:
                            // follow it and decide again.
                            Err(Error::UnexpectedLogEndOffset { .. }) => continue,
                            Err(error) => return Err(error),
                        }
                    }
                }
            }
        };
        // Outside the lock, so that appends queued behind it share the sync. A retry waits
        // for the original's sync too (it may still be running in another thread).
        if sync_now {
            log.sync_to(last_offset + 1)?;
        }
        Ok(AppendResult {
            next_expected_version: last_version,
            position: Position {
                partition,
                offset: last_offset,
            },
        })
    }
}

fn check_input(stream: &str, events: &[EventData]) -> Result<()> {
    if stream.is_empty() {
        return Err(Error::InvalidRecord(
            "an event stream needs a name: pass a non-empty stream id".into(),
        ));
    }
    if events.is_empty() {
        return Err(Error::InvalidRecord(format!(
            "the append to stream '{stream}' has no events: pass at least one"
        )));
    }
    for (i, event) in events.iter().enumerate() {
        if events[..i].iter().any(|e| e.id == event.id) {
            return Err(Error::InvalidRecord(format!(
                "the append to stream '{stream}' carries event id {} twice: give each event its own id",
                event.id
            )));
        }
    }
    Ok(())
}

/// Checks `expected` against the stream as indexed, and recognizes a retry.
fn decide(
    index: &PartitionIndex,
    log: &Log,
    stream: &str,
    expected: ExpectedVersion,
    events: &[EventData],
) -> Result<Decision> {
    let actual = index.version(stream);
    let next = actual.map_or(0, |v| v + 1);
    let wrong = || Error::WrongExpectedVersion {
        stream: stream.to_string(),
        expected,
        actual,
    };
    // Where the events would already be if this is a retry of a done append.
    let retried_from = match (expected, actual) {
        (ExpectedVersion::Any | ExpectedVersion::StreamExists, Some(v)) => {
            (v + 1).checked_sub(events.len() as u64)
        }
        (ExpectedVersion::NoStream, Some(_)) => Some(0),
        (ExpectedVersion::Exact(e), Some(v)) if v > e => Some(e + 1),
        _ => None,
    };
    if let Some(from) = retried_from {
        if let Some(done) = already_appended(index, log, stream, from, events)? {
            return Ok(done);
        }
    }
    match (expected, actual) {
        (ExpectedVersion::Any, _) => Ok(Decision::Append(next)),
        (ExpectedVersion::NoStream, None) => Ok(Decision::Append(0)),
        (ExpectedVersion::StreamExists, Some(_)) => Ok(Decision::Append(next)),
        (ExpectedVersion::Exact(e), Some(v)) if v == e => Ok(Decision::Append(next)),
        _ => Err(wrong()),
    }
}

/// Whether the stream holds exactly `events` (by id, in order) from version `from` on.
fn already_appended(
    index: &PartitionIndex,
    log: &Log,
    stream: &str,
    from: u64,
    events: &[EventData],
) -> Result<Option<Decision>> {
    let Some(entry) = index.stream(stream) else {
        return Ok(None);
    };
    let locations: Option<Vec<(i64, u32)>> = (from..from + events.len() as u64)
        .map(|v| entry.location(v))
        .collect();
    let Some(locations) = locations else {
        return Ok(None);
    };
    let mut ids: Vec<Option<EventId>> = Vec::with_capacity(locations.len());
    super::read::records_at(log, &locations, Bound::LogEnd, |record| {
        ids.push(record_event_id(record));
        Ok(())
    })?;
    let same = ids.len() == events.len()
        && ids
            .iter()
            .zip(events)
            .all(|(id, event)| *id == Some(event.id));
    let last = locations[locations.len() - 1].0;
    Ok(same.then(|| Decision::AlreadyAppended(from + events.len() as u64 - 1, last)))
}

/// One batch holding `events`, the first at `first_version` of `stream`.
fn build(stream: &str, first_version: u64, events: &[EventData], now_ms: i64) -> Result<Vec<u8>> {
    let size: usize = events
        .iter()
        .map(|e| stream.len() + e.data.len() + e.metadata.len() + e.event_type.len() + 128)
        .sum();
    let mut builder = BatchBuilder::with_capacity(size + 64);
    for (event, version) in events.iter().zip(first_version..) {
        let (id, version) = (event.id.to_string(), version.to_string());
        builder.append(
            now_ms,
            Some(stream.as_bytes()),
            Some(&event.data),
            &event.headers(&id, &version),
        )?;
    }
    builder.build()
}
