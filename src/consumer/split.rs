//! Partitions read through their own queue, for the rdkafka facade's partition queues
//! (librdkafka's `rd_kafka_queue_get_partition` with its forwarding cleared): `poll` leaves
//! a split partition alone, and `poll_split` reads it, one record at a time, without the
//! group work `poll` does (membership, rebalance callbacks, auto-commit stay `poll`'s).

use std::cell::Cell;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::client::Consumer;
use super::positions::end_for;
use super::records::Records;
use super::state::{Budget, Fetched, State};
use crate::error::{Error, Result};
use crate::group::TopicPartition;
use crate::notify::far_future;

thread_local! {
    /// The consumer (its state's address) whose rebalance listener runs on this thread,
    /// holding its lock: a partition queue of it read here would wait for ever.
    static LISTENING: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as running `state`'s listener until dropped.
pub(super) struct Listening(usize);

impl Listening {
    pub(super) fn start(state: &State) -> Listening {
        Listening(LISTENING.replace(std::ptr::from_ref(state) as usize))
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        LISTENING.set(self.0);
    }
}

impl State {
    /// One fetch of `tp` alone (at most one record), if it is assigned.
    fn fetch_split(&mut self, tp: &TopicPartition) -> Result<Fetched> {
        let mut fetched = Fetched::default();
        if !self.partitions.contains_key(tp) {
            return Ok(fetched);
        }
        match self.resolve_position(tp) {
            // A committed offset pending in a transaction: retried at the next read.
            Ok(_) | Err(Error::UnstableOffsetCommit(_)) => {}
            Err(error) => return Err(error),
        }
        let mut budget = Budget {
            records: 1,
            bytes: self.config.fetch_max_bytes.max(1),
        };
        self.fetch_partition(tp, &mut budget, &mut fetched)?;
        let records = &mut fetched.records;
        if !records.is_empty() && !records.eof.is_empty() {
            // The queue hands out one thing at a time: the end comes at the next read.
            records.eof.clear();
            if let Some(partition) = self.partitions.get_mut(tp) {
                partition.eof_reported = false;
            }
        }
        Ok(fetched)
    }

    /// Whether the split partition `tp` has something for its queue: assigned, neither
    /// paused nor held, and a record past its position or an end to report.
    fn split_readable(&mut self, tp: &TopicPartition) -> bool {
        match self.partitions.get(tp) {
            Some(partition) if !partition.paused && !partition.held => {}
            _ => return false,
        }
        let Ok(position) = self.resolve_position(tp) else {
            return false;
        };
        let partition = &self.partitions[tp];
        position < end_for(self.config.isolation_level, &partition.log)
            || (self.config.enable_partition_eof && !partition.eof_reported)
    }
}

/// What a read of a split partition found: something to hand out, nothing yet, or data
/// skipped (aborted or control batches) with more readable at once.
enum Found {
    Some(Records),
    Nothing,
    Skipped,
}

impl Consumer {
    /// From now on `poll` leaves `tp` to [`Consumer::poll_split`], whenever it is assigned.
    pub(crate) fn split(&self, tp: TopicPartition) -> Result<()> {
        self.check_not_listening()?;
        self.state.lock().split.insert(tp);
        Ok(())
    }

    /// Refuses a call that needs the consumer's lock from inside its own rebalance
    /// listener, which holds it.
    fn check_not_listening(&self) -> Result<()> {
        if LISTENING.get() == self.state.data_ptr() as usize {
            return Err(Error::IllegalState(
                "a partition queue cannot be split or read inside its consumer's rebalance \
                 callback (the consumer is busy in its poll); use it after the callback"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Reads the split partition `tp`: at most one record (or its end, or its error),
    /// waiting up to `timeout` (`None`: for ever) for one. The consumer is locked only
    /// while it reads, never while it waits.
    pub(crate) fn poll_split(
        &self,
        tp: &TopicPartition,
        timeout: Option<Duration>,
    ) -> Result<Records> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let seen = self.notifier.sequence();
            match self.read_split(tp)? {
                Found::Some(records) => return Ok(records),
                Found::Skipped => continue,
                Found::Nothing => {}
            }
            match deadline {
                Some(deadline) if Instant::now() >= deadline => return Ok(Records::default()),
                Some(deadline) => self.notifier.wait_until(seen, deadline),
                None => self.notifier.wait_until(seen, far_future()),
            }
        }
    }

    /// [`Consumer::poll_split`] for a task: `Pending` (woken by the next notification)
    /// while `tp` has nothing to read.
    pub(crate) fn poll_split_event(
        &self,
        tp: &TopicPartition,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Records>> {
        loop {
            let seen = self.notifier.sequence();
            match self.read_split(tp) {
                Err(error) => return Poll::Ready(Err(error)),
                Ok(Found::Some(records)) => return Poll::Ready(Ok(records)),
                Ok(Found::Skipped) => continue,
                Ok(Found::Nothing) => {}
            }
            if self.notifier.register(seen, cx.waker()) {
                return Poll::Pending;
            }
        }
    }

    /// Whether the split partition `tp` has something to read now (false once closed).
    pub(crate) fn split_readable(&self, tp: &TopicPartition) -> bool {
        if self.check_not_listening().is_err() {
            return false;
        }
        let mut state = self.state.lock();
        let readable = state.check_open().is_ok() && state.split_readable(tp);
        Self::release(state);
        readable
    }

    /// Whether `tp` is assigned now.
    pub(crate) fn is_assigned(&self, tp: &TopicPartition) -> bool {
        let state = self.state.lock();
        let assigned = state.partitions.contains_key(tp);
        Self::release(state);
        assigned
    }

    /// Blocks until the first notification after `seen` (a data append, a group change, a
    /// [`Consumer::nudge`]).
    pub(crate) fn wait_for_notification(&self, seen: u64) {
        self.notifier.wait_until(seen, far_future());
    }

    fn read_split(&self, tp: &TopicPartition) -> Result<Found> {
        self.check_not_listening()?;
        let mut state = self.state.lock();
        state.check_open()?;
        let fetched = state.fetch_split(tp)?;
        Self::release(state);
        let records = fetched.records;
        Ok(
            if !records.is_empty() || !records.eof.is_empty() || !records.errors.is_empty() {
                Found::Some(records)
            } else if fetched.skipped {
                Found::Skipped
            } else {
                Found::Nothing
            },
        )
    }
}
