//! Catch-up subscriptions: the events already stored, then an explicit `CaughtUp`, then new
//! ones as they become visible; never skipping one and never delivering one a reader may not
//! see yet (in a durable store, one not synced).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::event::RecordedEvent;
use super::name::Names;
use super::{slot, EventStore};
use crate::error::{Error, Result};

/// How many records one refill of a subscription reads per partition at most.
const REFILL_RECORDS: usize = 1024;

/// A subscription's place: for each partition of the store, the offset after the last event
/// delivered (or the last record a filter skipped). Store it with what the subscriber did with
/// the events, and resume with [`AllStart::After`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint(Vec<i64>);

impl Checkpoint {
    /// A checkpoint from offsets stored earlier (one per partition, from
    /// [`Checkpoint::offsets`]).
    pub fn from_offsets(offsets: Vec<i64>) -> Checkpoint {
        Checkpoint(offsets)
    }

    /// The next offset to read, per partition.
    pub fn offsets(&self) -> &[i64] {
        &self.0
    }
}

/// Where a subscription to every stream starts (exclusive: after what was seen).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllStart {
    /// From the first event.
    Start,
    /// From the events that become visible after now.
    End,
    /// After a checkpoint.
    After(Checkpoint),
}

/// Where a subscription to one stream starts (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamStart {
    /// From the stream's first event.
    Start,
    /// From the stream's events that become visible after now.
    End,
    /// After the event at this version.
    After(u64),
}

/// Which events a subscription to every stream delivers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriptionFilter {
    stream_prefix: Option<String>,
    event_type_prefix: Option<String>,
    checkpoint_interval: usize,
}

impl Default for SubscriptionFilter {
    /// Every event; while a filter skips, a checkpoint every 32 skipped records (KurrentDB's
    /// default interval).
    fn default() -> Self {
        SubscriptionFilter {
            stream_prefix: None,
            event_type_prefix: None,
            checkpoint_interval: 32,
        }
    }
}

impl SubscriptionFilter {
    /// Only events of streams whose id starts with `prefix`.
    pub fn stream_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.stream_prefix = Some(prefix.into());
        self
    }

    /// Only events whose type starts with `prefix`.
    pub fn event_type_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.event_type_prefix = Some(prefix.into());
        self
    }

    /// A [`SubscriptionMessage::Checkpoint`] after every `records` records the filter skips
    /// in a row (0: never), so that a subscriber can store its place while nothing matches.
    pub fn checkpoint_interval(mut self, records: usize) -> Self {
        self.checkpoint_interval = records;
        self
    }

    fn matches(&self, event: &RecordedEvent) -> bool {
        self.stream_prefix
            .as_ref()
            .is_none_or(|p| event.stream.starts_with(p.as_str()))
            && self
                .event_type_prefix
                .as_ref()
                .is_none_or(|p| event.event_type.starts_with(p.as_str()))
    }

    fn filters(&self) -> bool {
        self.stream_prefix.is_some() || self.event_type_prefix.is_some()
    }
}

/// What a subscription delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionMessage {
    /// The next event.
    Event(RecordedEvent),
    /// Every event stored when the subscription started (and since) was delivered: what
    /// follows is live. Sent once.
    CaughtUp,
    /// The filter skipped records; the subscription's place is now this (store it).
    Checkpoint(Checkpoint),
}

enum Pending {
    Event(RecordedEvent),
    /// The records of a partition before this offset were delivered or skipped.
    Advance(usize, i64),
    Checkpoint,
}

/// A catch-up subscription (from [`EventStore::subscribe_to_all`] or
/// [`EventStore::subscribe_to_stream`]). Partitions are read in turn; within one, events come
/// in log order.
#[derive(Debug)]
pub struct Subscription {
    store: EventStore,
    /// Delivered (or skipped) through, per partition.
    positions: Vec<i64>,
    /// Read through, per partition.
    scanned: Vec<i64>,
    /// Records the filter skipped in a row since the last match or checkpoint, per
    /// partition (kept across refills: a live subscription reads a few records at a time).
    skipped: Vec<usize>,
    /// One stream only, after this version (`None`: from its start).
    stream: Option<(String, Option<u64>)>,
    filter: SubscriptionFilter,
    pending: VecDeque<Pending>,
    caught_up: bool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pending::Event(e) => write!(f, "Event({}@{})", e.stream, e.version),
            Pending::Advance(p, o) => write!(f, "Advance({p}, {o})"),
            Pending::Checkpoint => f.write_str("Checkpoint"),
        }
    }
}

impl EventStore {
    /// Subscribes to the events of every stream that `filter` lets through, from `start`.
    /// A checkpoint past a partition's end (another store's, or one ahead of records a
    /// crash took back from a store that does not sync) is `Error::OffsetOutOfRange`:
    /// resume from `AllStart::Start` or `AllStart::End` instead.
    pub fn subscribe_to_all(
        &self,
        start: AllStart,
        filter: SubscriptionFilter,
    ) -> Result<Subscription> {
        let partitions = self.partitions();
        let positions = match start {
            AllStart::Start => (0..partitions)
                .map(|p| self.log(p).log_start_offset())
                .collect(),
            AllStart::End => (0..partitions)
                .map(|p| self.log(p).last_stable_offset())
                .collect(),
            AllStart::After(checkpoint) => {
                if checkpoint.0.len() != slot(partitions) {
                    return Err(Error::InvalidRecord(format!(
                        "the checkpoint has offsets for {} partitions, but the store has {partitions}: pass a checkpoint of this store",
                        checkpoint.0.len()
                    )));
                }
                self.check_checkpoint(&checkpoint)?;
                checkpoint.0
            }
        };
        Ok(self.subscription(positions, None, filter))
    }

    /// Refuses a checkpoint past a partition's end, as Kafka's fetch does an offset past
    /// the log end (`OffsetOutOfRange`): resuming there would skip every event appended up
    /// to it. It comes from another store, or from records a crash took back (a store that
    /// does not sync). One below the log start resumes at the start (retention removed
    /// what lies between).
    fn check_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        for (partition, &offset) in (0..self.partitions()).zip(&checkpoint.0) {
            let log = self.log(partition);
            let log_end = log.log_end_offset();
            if offset < 0 || offset > log_end {
                return Err(Error::OffsetOutOfRange {
                    partition: log.name().to_string(),
                    offset,
                    log_start: log.log_start_offset(),
                    log_end,
                });
            }
        }
        Ok(())
    }

    /// Subscribes to the events of one stream, from `start`.
    pub fn subscribe_to_stream(&self, stream: &str, start: StreamStart) -> Result<Subscription> {
        let partition = self.partition_of(stream);
        let log = self.log(partition);
        let mut positions: Vec<i64> = (0..self.partitions())
            .map(|p| self.log(p).last_stable_offset())
            .collect();
        // The offset of the stream's event at `version` (its first, if `None`).
        let offset_of = |version: Option<u64>| {
            super::indexed(self.index(partition), log, |index| {
                let runs = index.runs_from(stream, version.unwrap_or(0))?;
                let Some(version) = version.or(runs.first().map(|r| r.first_version)) else {
                    return Ok(None);
                };
                // No stream reaches version `u64::MAX` (its range would end past it).
                let Some(end) = version.checked_add(1) else {
                    return Ok(None);
                };
                let found = index.locations(stream, &runs, version..end)?;
                Ok(found.and_then(|l| l.first().map(|&(offset, _)| offset)))
            })
        };
        let (from, after) = match start {
            StreamStart::Start => (offset_of(None)?.unwrap_or(log.log_start_offset()), None),
            // Everything from the last stable offset on is new: not yet synced, or in a
            // transaction not yet decided.
            StreamStart::End => (log.last_stable_offset(), None),
            StreamStart::After(version) => (
                offset_of(Some(version))?.map_or(log.log_start_offset(), |o| o + 1),
                Some(version),
            ),
        };
        positions[slot(partition)] = from;
        let filter = SubscriptionFilter::default().checkpoint_interval(0);
        Ok(self.subscription(positions, Some((stream.to_string(), after)), filter))
    }

    fn subscription(
        &self,
        positions: Vec<i64>,
        stream: Option<(String, Option<u64>)>,
        filter: SubscriptionFilter,
    ) -> Subscription {
        Subscription {
            store: self.clone(),
            scanned: positions.clone(),
            skipped: vec![0; positions.len()],
            positions,
            stream,
            filter,
            pending: VecDeque::new(),
            caught_up: false,
        }
    }
}

impl Subscription {
    /// The next message, waiting up to `timeout` for one; `None` if none came. The first
    /// [`SubscriptionMessage::CaughtUp`] comes once every event visible so far was delivered.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<SubscriptionMessage>> {
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or(now + Duration::from_secs(86_400 * 365));
        loop {
            if let Some(message) = self.pop() {
                return Ok(Some(message));
            }
            let notifier = Arc::clone(self.store.cluster.notifier());
            let seen = notifier.sequence();
            let more = self.refill()?;
            if let Some(message) = self.pop() {
                return Ok(Some(message));
            }
            if more && Instant::now() < deadline {
                continue;
            }
            if !self.caught_up && !more {
                self.caught_up = true;
                return Ok(Some(SubscriptionMessage::CaughtUp));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            notifier.wait_until(seen, deadline);
        }
    }

    /// Where the subscription is: resume from here with [`AllStart::After`]. A
    /// subscription to one stream reads only its stream's partition, and its checkpoint
    /// holds the others' last stable offsets when it began (an `AllStart::After` from it
    /// would skip their earlier events): resume it with [`StreamStart::After`] and the
    /// version of the last event it delivered.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.positions.clone())
    }

    fn pop(&mut self) -> Option<SubscriptionMessage> {
        while let Some(pending) = self.pending.pop_front() {
            match pending {
                Pending::Advance(p, next) => self.positions[p] = self.positions[p].max(next),
                Pending::Event(event) => {
                    let p = slot(event.position.partition);
                    self.positions[p] = event.position.offset + 1;
                    return Some(SubscriptionMessage::Event(event));
                }
                Pending::Checkpoint => {
                    return Some(SubscriptionMessage::Checkpoint(self.checkpoint()))
                }
            }
        }
        None
    }

    /// Reads what became visible in each partition (up to a bound); whether more is left.
    fn refill(&mut self) -> Result<bool> {
        let mut more = false;
        for partition in 0..self.store.partitions() {
            let p = slot(partition);
            if self
                .stream
                .as_ref()
                .is_some_and(|(s, _)| self.store.partition_of(s) != partition)
            {
                continue;
            }
            let log = self.store.log(partition);
            let (mut events, mut skipped, mut read) = (Vec::new(), self.skipped[p], 0usize);
            let (mut checkpoints, mut streams, mut names) =
                (Vec::new(), Names::default(), Names::default());
            let next = log.scan_committed_records(self.scanned[p], |record| {
                if read >= REFILL_RECORDS {
                    return Ok(false);
                }
                read += 1;
                let Some(stream) = record.key.and_then(|k| std::str::from_utf8(k).ok()) else {
                    return Ok(true);
                };
                if self.stream.as_ref().is_some_and(|(s, _)| s != stream) {
                    return Ok(true);
                }
                let stream = streams.get(stream.as_bytes());
                let event = RecordedEvent::from_record(record, &stream, 0, partition, &mut names);
                if self.filter.matches(&event) {
                    events.push(event);
                    skipped = 0;
                } else if self.filter.filters() {
                    skipped += 1;
                    if skipped == self.filter.checkpoint_interval {
                        checkpoints.push((events.len(), record.offset + 1));
                        skipped = 0;
                    }
                }
                Ok(true)
            })?;
            // Only once nothing can fail any more: a retried `next` reads them again.
            self.store.set_versions(partition, &mut events)?;
            self.scanned[p] = next;
            self.skipped[p] = skipped;
            let mut checkpoints = checkpoints.into_iter().peekable();
            for (i, event) in events.into_iter().enumerate() {
                while let Some((_, offset)) = checkpoints.next_if(|&(at, _)| at <= i) {
                    self.pending.push_back(Pending::Advance(p, offset));
                    self.pending.push_back(Pending::Checkpoint);
                }
                let too_old = self
                    .stream
                    .as_ref()
                    .and_then(|(_, after)| *after)
                    .is_some_and(|after| event.version <= after);
                if !too_old {
                    self.pending.push_back(Pending::Event(event));
                }
            }
            for (_, offset) in checkpoints {
                self.pending.push_back(Pending::Advance(p, offset));
                self.pending.push_back(Pending::Checkpoint);
            }
            self.pending.push_back(Pending::Advance(p, next));
            more |= next < log.last_stable_offset();
        }
        Ok(more)
    }
}
