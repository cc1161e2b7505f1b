//! Appending to a stream: the expected-version check, exact idempotence by event id, and the
//! conditional append that makes the check hold against every other writer of the topic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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
pub(super) enum Decision {
    /// Append, the first event getting this version.
    Append(u64),
    /// The events are already in the stream, the last at this version and offset.
    AlreadyAppended(u64, i64),
}

/// What an append did under the partition's index lock.
pub(super) enum Locked {
    /// Written, or recognized as written before: each part's (partition, last version, last
    /// offset), in the order of the parts, and whether the batches still need a sync.
    Done(Vec<(i32, u64, i64)>, bool),
    /// A conflict, decided on what the indexes had seen below these offsets (by partition).
    Conflict(Error, Vec<(i32, i64)>),
    /// Nothing decided: another producer's transaction, open at this offset of this
    /// partition, holds the index there (the versions after it depend on whether it
    /// commits).
    Held(i32, i64),
}

/// How often a held append looks again without a notification.
const HELD_APPEND_POLL: Duration = Duration::from_millis(100);

/// Whether an open transaction of another producer holds the index back from the log's
/// end (it follows only up to the first open transaction).
pub(super) fn held_by_transaction(index: &PartitionIndex, log: &Log) -> bool {
    index.next_offset < log.log_end_offset() && log.first_open_transaction() <= index.next_offset
}

/// One stream's part of a multi-stream append ([`EventStore::append_to_streams`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    /// The stream appended to.
    pub stream: String,
    /// The version the stream must be at.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<EventData>,
}

impl StreamAppend {
    /// `events` for `stream`, if it is at `expected`.
    pub fn new(
        stream: impl Into<String>,
        expected: ExpectedVersion,
        events: impl IntoIterator<Item = EventData>,
    ) -> StreamAppend {
        StreamAppend {
            stream: stream.into(),
            expected,
            events: events.into_iter().collect(),
        }
    }
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
    /// appends share one sync (group commit). A conflict with an append that another thread
    /// is still syncing is answered once that sync is done, so that the stream read again
    /// holds the event the conflict's actual version names.
    ///
    /// Records that transactional producers write to the store's topic count as events once
    /// their transaction commits, never if it aborts. While one is open in the partition,
    /// the versions after it are unknown, so an append waits for it to commit or abort (at
    /// most the cluster's `transaction.max.timeout.ms` on its clock, 15 minutes by default,
    /// past which the coordinator aborts any transaction; then [`Error::Timeout`]).
    pub fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: impl IntoIterator<Item = EventData>,
    ) -> Result<AppendResult> {
        let mut results = self.append_to_streams([StreamAppend::new(stream, expected, events)])?;
        Ok(results.remove(0))
    }

    /// Appends to several streams at once, all or nothing, only if every stream is at its
    /// expected version (else the first mismatch's [`Error::WrongExpectedVersion`], nothing
    /// written). The streams must be distinct. Streams of one partition
    /// ([`EventStore::partition_of`]; a one-partition store holds every stream) go in one
    /// batch; streams of several partitions go in one transaction of the store's own
    /// transactional producer (`kafkalite-eventstore-<topic>`): a batch per partition, then
    /// COMMIT markers, so that `read_committed` consumers too see all of it or none, and a
    /// crash in between leaves it aborted. Answers one result per stream, in order. A retry
    /// of the whole call by the same event ids returns the original results when every part
    /// is recognized as [`EventStore::append`] recognizes one; a part recognized next to one
    /// that is not (with `Any`, after another append to that part's stream) is a
    /// [`Error::WrongExpectedVersion`] for the recognized part.
    pub fn append_to_streams(
        &self,
        appends: impl IntoIterator<Item = StreamAppend>,
    ) -> Result<Vec<AppendResult>> {
        let appends: Vec<StreamAppend> = appends.into_iter().collect();
        let by_partition = self.check_input(&appends)?;
        let started_ms = self.now_ms();
        let (results, sync_now) = loop {
            let notified = self.cluster.notifier().sequence();
            let locked = match by_partition.keys().next() {
                Some(&partition) if by_partition.len() == 1 => {
                    self.append_locked(partition, &appends)?
                }
                _ => self.append_across(&appends, &by_partition)?,
            };
            match locked {
                Locked::Done(results, sync_now) => break (results, sync_now),
                Locked::Conflict(conflict, seen) => {
                    // The actual version may be another writer's append still syncing.
                    for (partition, end) in seen {
                        self.visible_through(partition, end)?;
                    }
                    return Err(conflict);
                }
                Locked::Held(partition, at) => {
                    self.settle_abandoned_transaction(partition)?;
                    self.wait_held(partition, at, started_ms, notified)?
                }
            }
        };
        // Outside the locks, so that appends queued behind share the sync. A retry waits
        // until readers see the original (its sync or its transaction's marker may still
        // be under way in another thread).
        for &partition in by_partition.keys() {
            let written = results.iter().filter(|r| r.0 == partition);
            if let Some(last) = written.map(|r| r.2).max() {
                if sync_now {
                    self.log(partition).sync_to(last + 1)?;
                }
                self.visible_through(partition, last + 1)?;
            }
        }
        Ok(results
            .into_iter()
            .map(|(partition, version, offset)| AppendResult {
                next_expected_version: version,
                position: Position { partition, offset },
            })
            .collect())
    }

    /// Waits for news of the transaction open at `at` in `partition`, which holds an append
    /// (see [`held_by_transaction`]); a time-out once it has held it longer than any
    /// transaction may last (`transaction.max.timeout.ms`, on the cluster's clock).
    fn wait_held(&self, partition: i32, at: i64, started_ms: i64, notified: u64) -> Result<()> {
        let (limit_ms, _) = self.cluster.transaction_settings();
        let waited_ms = self.now_ms().saturating_sub(started_ms);
        if waited_ms >= i64::from(limit_ms) {
            return Err(Error::Timeout(format!(
                "{}: the append waited {waited_ms} ms (transaction.max.timeout.ms is \
                 {limit_ms}) for a transaction open at offset {at} to commit or abort; it \
                 holds the stream versions after it (check the producer that opened it)",
                self.log(partition).name(),
            )));
        }
        // Its marker is an append, which notifies.
        let notifier = self.cluster.notifier();
        notifier.wait_until(notified, Instant::now() + HELD_APPEND_POLL);
        Ok(())
    }

    /// The check and the append to one partition, under its index lock.
    fn append_locked(&self, partition: i32, appends: &[StreamAppend]) -> Result<Locked> {
        let log = self.log(partition);
        let parts: Vec<&StreamAppend> = appends.iter().collect();
        let mut index = self.index(partition).lock();
        loop {
            let decisions = match decide_held(&mut index, log, &parts) {
                Err(conflict @ Error::WrongExpectedVersion { .. }) => {
                    return Ok(Locked::Conflict(
                        conflict,
                        vec![(partition, index.next_offset)],
                    ));
                }
                Ok(None) => return Ok(Locked::Held(partition, index.next_offset)),
                decided => decided?.expect("Some: None returned above"),
            };
            let Some(first_versions) = first_versions(&decisions) else {
                // Every part is a retry of what was written (decide_all refuses a mix).
                let results = retried(&decisions).map(|(v, o)| (partition, v, o));
                let sync_now = log.config().sync_every_append();
                return Ok(Locked::Done(results.collect(), sync_now));
            };
            let batch = build(&parts, &first_versions, self.now_ms(), None)?;
            match log.append_if_unsynced(&batch, index.next_offset, false) {
                Ok((info, sync_now)) => {
                    let results = index_parts(&mut index, &parts, &first_versions, &info);
                    let results = results.into_iter().map(|(v, o)| (partition, v, o));
                    return Ok(Locked::Done(results.collect(), sync_now));
                }
                // Another writer of the topic appended since the index looked: follow it
                // and decide again.
                Err(Error::UnexpectedLogEndOffset { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// Checks what an append was given; its parts by partition (indexes into `appends`).
    pub(super) fn check_input(
        &self,
        appends: &[StreamAppend],
    ) -> Result<BTreeMap<i32, Vec<usize>>> {
        if appends.is_empty() {
            return Err(Error::InvalidRecord(
                "a multi-stream append needs at least one stream".into(),
            ));
        }
        let mut by_partition: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
        let mut ids = std::collections::HashSet::new();
        for (i, part) in appends.iter().enumerate() {
            let stream = &part.stream;
            if stream.is_empty() {
                return Err(Error::InvalidRecord(
                    "an event stream needs a name: pass a non-empty stream id".into(),
                ));
            }
            if part.events.is_empty() {
                return Err(Error::InvalidRecord(format!(
                    "the append to stream '{stream}' has no events: pass at least one"
                )));
            }
            if let Some(at) = part.events.iter().position(|e| e.event_type.is_empty()) {
                // An empty type is what a record written without one reads as.
                return Err(Error::InvalidRecord(format!(
                    "event {at} of the append to stream '{stream}' has no type: name what happened (such as 'AccountOpened')"
                )));
            }
            if appends[..i].iter().any(|p| p.stream == *stream) {
                return Err(Error::InvalidRecord(format!(
                    "stream '{stream}' appears twice in one append: put its events in one part"
                )));
            }
            by_partition
                .entry(self.partition_of(stream))
                .or_default()
                .push(i);
            if let Some(event) = part.events.iter().find(|e| !ids.insert(e.id)) {
                return Err(Error::InvalidRecord(format!(
                    "the append to stream '{stream}' carries event id {} twice: give each event its own id",
                    event.id
                )));
            }
        }
        Ok(by_partition)
    }
}

/// Follows the log and decides every part, unless an open transaction holds the index
/// (`None`).
pub(super) fn decide_held(
    index: &mut PartitionIndex,
    log: &Log,
    parts: &[&StreamAppend],
) -> Result<Option<Vec<Decision>>> {
    index.followed(log, |index| {
        if held_by_transaction(index, log) {
            return Ok(None);
        }
        decide_all(index, log, parts).map(Some)
    })
}

/// Each part's first version, if every part is to be appended.
pub(super) fn first_versions(decisions: &[Decision]) -> Option<Vec<u64>> {
    decisions
        .iter()
        .map(|d| match d {
            Decision::Append(first) => Some(*first),
            Decision::AlreadyAppended(..) => None,
        })
        .collect()
}

/// The (last version, last offset) of each part recognized as already appended.
pub(super) fn retried(decisions: &[Decision]) -> impl Iterator<Item = (u64, i64)> + '_ {
    decisions.iter().filter_map(|d| match *d {
        Decision::AlreadyAppended(version, offset) => Some((version, offset)),
        Decision::Append(_) => None,
    })
}

/// Records the parts, written as one batch at `info`, in the index; each part's (last
/// version, last offset).
pub(super) fn index_parts(
    index: &mut PartitionIndex,
    parts: &[&StreamAppend],
    first_versions: &[u64],
    info: &crate::log::AppendInfo,
) -> Vec<(u64, i64)> {
    let mut offset = info.first_offset;
    let mut results = Vec::with_capacity(parts.len());
    for (part, &first) in parts.iter().zip(first_versions) {
        let count = part.events.len();
        index.appended(&part.stream, first, offset, count, info.position);
        offset += count as i64;
        results.push((first + count as u64 - 1, offset - 1));
    }
    results
}

/// Decides every part; a mix of retried and new parts is a conflict on the first retried
/// part (its stream is past the version expected).
fn decide_all(
    index: &PartitionIndex,
    log: &Log,
    appends: &[&StreamAppend],
) -> Result<Vec<Decision>> {
    let decisions = appends
        .iter()
        .map(|p| decide(index, log, &p.stream, p.expected, &p.events))
        .collect::<Result<Vec<_>>>()?;
    let retried = decisions
        .iter()
        .position(|d| matches!(d, Decision::AlreadyAppended(..)));
    let new = decisions.iter().any(|d| matches!(d, Decision::Append(_)));
    if let (Some(at), true) = (retried, new) {
        let part = appends[at];
        return Err(Error::WrongExpectedVersion {
            stream: part.stream.clone(),
            expected: part.expected,
            actual: index.version(&part.stream)?,
        });
    }
    Ok(decisions)
}

/// Checks `expected` against the stream as indexed, and recognizes a retry.
fn decide(
    index: &PartitionIndex,
    log: &Log,
    stream: &str,
    expected: ExpectedVersion,
    events: &[EventData],
) -> Result<Decision> {
    let actual = index.version(stream)?;
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
    let runs = index.runs_from(stream, from)?;
    let Some(locations) = index.locations(stream, &runs, from..from + events.len() as u64)? else {
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

/// At least the bytes a record of an event takes besides its stream, type, content type,
/// data and metadata: length, attributes, deltas, field lengths (varints of at most 10
/// bytes), the header names, id and version.
const RECORD_OVERHEAD: usize = 256;

/// A batch's header and the length before it.
const BATCH_OVERHEAD: usize = 61;

/// One batch holding every part's events, each part's first at its `first_versions` entry;
/// a transactional batch of `producer` (id, epoch, base sequence) if given.
pub(super) fn build(
    appends: &[&StreamAppend],
    first_versions: &[u64],
    now_ms: i64,
    producer: Option<(i64, i16, i32)>,
) -> Result<Vec<u8>> {
    let size: usize = appends
        .iter()
        .flat_map(|p| p.events.iter().map(move |e| (p, e)))
        .map(|(p, e)| {
            let fields = [&p.stream, &e.event_type, &e.content_type].map(|f| f.len());
            fields.iter().sum::<usize>() + e.data.len() + e.metadata.len() + RECORD_OVERHEAD
        })
        .sum::<usize>()
        + BATCH_OVERHEAD;
    // A batch's length is an i32 (as `max.message.bytes`, which no topic can set past it):
    // `size` is at least the batch's, so no batch within it fails to encode.
    let max = i32::MAX as usize;
    if size > max {
        let limit = crate::error::SizeLimit::MaxMessageBytes;
        return Err(Error::RecordTooLarge { size, max, limit });
    }
    let mut builder = BatchBuilder::with_capacity(size);
    if let Some((producer_id, epoch, sequence)) = producer {
        builder = builder
            .producer(producer_id, epoch, sequence)
            .transactional(true);
    }
    for (part, &first) in appends.iter().zip(first_versions) {
        for (event, version) in part.events.iter().zip(first..) {
            let (id, version) = (event.id.to_string(), version.to_string());
            builder.append(
                now_ms,
                Some(part.stream.as_bytes()),
                Some(&event.data),
                &event.headers(&id, &version),
            )?;
        }
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventstore::EventStoreConfig;
    use crate::Cluster;

    const MAX_BATCH: usize = i32::MAX as usize;

    /// Events whose batch could not be encoded (a batch's length is an i32) are refused
    /// before anything is built, as too large, not as a corrupt batch. The data is zeroed
    /// memory never touched, so the test costs no 2 GiB of it.
    #[test]
    fn events_past_two_gib_are_too_large() {
        let cluster = Cluster::temporary().unwrap();
        let store = cluster.event_store("big", EventStoreConfig::new()).unwrap();
        let huge = [
            EventData::new("Huge", vec![0u8; MAX_BATCH]),
            // Within the headers' bytes of the limit.
            EventData::new("Huge", vec![0u8; MAX_BATCH - 150]),
            // Under it, but for a long content type.
            EventData::new("Huge", vec![0u8; MAX_BATCH - 1000]).content_type("x".repeat(2000)),
        ];
        for event in huge {
            let refused = store.append("s", ExpectedVersion::NoStream, [event]);
            assert!(
                matches!(
                    refused,
                    Err(Error::RecordTooLarge {
                        size,
                        max: MAX_BATCH,
                        limit: crate::SizeLimit::MaxMessageBytes,
                    }) if size > MAX_BATCH
                ),
                "{refused:?}"
            );
        }
        // One the log refuses: over the topic's max.message.bytes.
        let event = EventData::new("Big", vec![0u8; 2 << 20]);
        let refused = store.append("s", ExpectedVersion::NoStream, [event]);
        assert!(
            matches!(
                refused,
                Err(Error::RecordTooLarge {
                    max: 1_048_588,
                    limit: crate::SizeLimit::MaxMessageBytes,
                    ..
                })
            ),
            "{refused:?}"
        );
        assert_eq!(store.stream_version("s").unwrap(), None);
        assert_eq!(store.log(0).log_end_offset(), 0);
    }
}
