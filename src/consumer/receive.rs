//! Async receiving, on any executor: [`Consumer::recv`] (a future of the next record) and
//! [`Consumer::stream`] (a `futures_core::Stream` of records). No runtime is needed: a
//! pending receive registers its waker with the cluster's notifier, which every append,
//! group change, clock jump and `wakeup()` notifies, so it wakes exactly when a blocking
//! `poll` would. A member of a group also has time-based work (heartbeats, the end of a
//! rebalance delay) that a blocking `poll` does on its own timer; a pending receive has the
//! cluster's background thread wake it every `heartbeat.interval.ms` for that, or the clock's
//! jumps when it is a `MockClock`.
//!
//! One record per receive: the position moves past a record only when it is handed out, so
//! a commit never counts a record the application has not received. While a receive is
//! pending the member counts as inside `poll` (never expired for `max.poll.interval.ms`);
//! once it completes or is dropped, its poll timer starts, as after `poll` returns.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::client::Consumer;
use super::records::ConsumerRecord;
use super::state::Mode;
use crate::error::{Error, Result};

/// How many times one poll of a receive looks again when a notification raced its
/// registration, before it asks to be polled again instead.
const RACES: usize = 3;

/// What a receive hands out.
#[derive(Debug)]
pub(crate) enum Received {
    /// A record.
    Record(ConsumerRecord),
    /// The end of this partition was reached (`enable.partition.eof`).
    #[cfg_attr(not(feature = "rdkafka-api"), allow(dead_code))]
    End(crate::group::TopicPartition),
}

impl Consumer {
    /// The next record, as a future: ready when a record is there (at once if one already
    /// is), on any executor (no runtime is needed). Group membership, rebalance callbacks
    /// and auto-commit run inside its polls, on the polling thread, as inside
    /// [`Consumer::poll`]. Errors as `poll`'s: a partition's read error, [`Error::Wakeup`]
    /// after [`crate::ConsumerWaker::wakeup`], and, for a group member on a real-time clock
    /// without the cluster's background thread (which wakes it to heartbeat),
    /// [`Error::IllegalState`].
    ///
    /// ```
    /// use kafkalite::{
    ///     Cluster, ConsumerConfig, NewTopic, Offset, ProducerConfig, ProducerRecord,
    ///     TopicPartition,
    /// };
    ///
    /// # fn main() -> kafkalite::Result<()> {
    /// let cluster = Cluster::temporary()?;
    /// cluster.create_topic(NewTopic::new("orders", 1))?;
    /// let producer = cluster.producer(ProducerConfig::new())?;
    /// producer.send(ProducerRecord::to("orders").value("placed"))?.wait()?;
    /// let consumer = cluster.consumer(ConsumerConfig::new())?;
    /// consumer.assign(&[(TopicPartition::new("orders", 0), Offset::Beginning)])?;
    /// // Any executor: pollster's block_on here; `consumer.recv().await` in async code.
    /// let record = pollster::block_on(consumer.recv())?;
    /// assert_eq!(record.value.as_deref(), Some(&b"placed"[..]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv(&self) -> Recv<'_> {
        Recv {
            consumer: self,
            pending: false,
        }
    }

    /// The records, one after another, as a `futures_core::Stream` (see
    /// [`Consumer::recv`]); an error is an item, and the stream goes on after it.
    pub fn stream(&self) -> RecordStream<'_> {
        RecordStream {
            consumer: self,
            pending: false,
        }
    }

    /// One poll of a receive: a record, an error, or pending with the waker registered.
    fn poll_receive(
        &self,
        cx: &mut Context<'_>,
        pending: &mut bool,
    ) -> Poll<Result<ConsumerRecord>> {
        loop {
            match self.poll_event(cx, pending, false) {
                Poll::Ready(Ok(Received::Record(record))) => return Poll::Ready(Ok(record)),
                Poll::Ready(Ok(Received::End(_))) => continue,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// The next record, or (with `report_end` and `enable.partition.eof`) the next partition
    /// whose end was reached: what the rdkafka facade's stream hands out.
    pub(crate) fn poll_event(
        &self,
        cx: &mut Context<'_>,
        pending: &mut bool,
        report_end: bool,
    ) -> Poll<Result<Received>> {
        let mut races = 0;
        while races < RACES {
            let seen = self.notifier.sequence();
            let mut state = self.state.lock();
            let now = Instant::now();
            let ready = match self.poll_locked(&mut state, now, now, 1) {
                Ok(records) if !records.is_empty() => {
                    if report_end {
                        // The end was reached with this record: reported by the next
                        // receive, after the record.
                        Self::report_later(&mut state, &records.eof);
                    }
                    let records = state.interceptors.clone().on_consume(records);
                    let first = records.iter().next().map(|r| r.to_owned());
                    match first {
                        Some(record) => Some(Ok(Received::Record(record))),
                        // An interceptor dropped it: look again.
                        None => {
                            Consumer::release(state);
                            continue;
                        }
                    }
                }
                Ok(records) if !records.errors.is_empty() => {
                    // Ends reached with the error: reported by the next receives.
                    if report_end {
                        Self::report_later(&mut state, &records.eof);
                    }
                    records.errors.into_iter().next().map(|(_, e)| Err(e))
                }
                Ok(records) if report_end && !records.eof.is_empty() => {
                    // One end per receive: the others by the next receives.
                    Self::report_later(&mut state, &records.eof[1..]);
                    records
                        .eof
                        .into_iter()
                        .next()
                        .map(|tp| Ok(Received::End(tp)))
                }
                // An end-of-partition notice (not an item here): other partitions may
                // have records already, so look again rather than wait.
                Ok(records) if !records.eof.is_empty() => None,
                Ok(_) => {
                    if let Some(ready) = self.register_receive(state, seen, cx, pending) {
                        return ready;
                    }
                    races += 1;
                    continue;
                }
                Err(error) => Some(Err(error)),
            };
            if let Some(ready) = ready {
                state.poll_returned();
                *pending = false;
                Consumer::release(state);
                return Poll::Ready(ready);
            }
            Consumer::release(state);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Nothing to hand out: registers the receive's waker with the notifier (and, for a
    /// group member on a real-time clock, with the background thread's heartbeat wake-ups).
    /// `None` when a notification came since `seen` (look again).
    /// Partition ends a receive did not hand out, reported again by the next fetch.
    fn report_later(state: &mut super::state::State, ends: &[crate::group::TopicPartition]) {
        for tp in ends {
            if let Some(partition) = state.partitions.get_mut(tp) {
                partition.eof_reported = false;
            }
        }
    }

    /// Ends a receive that returned `Pending` (its member leaves "inside `poll`").
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn end_receive(&self, pending: &mut bool) {
        self.receive_ended(pending);
    }

    fn register_receive(
        &self,
        state: parking_lot::MutexGuard<'_, super::state::State>,
        seen: u64,
        cx: &mut Context<'_>,
        pending: &mut bool,
    ) -> Option<Poll<Result<Received>>> {
        let heartbeat = match state.mode {
            Mode::Subscribed(_) if !state.cluster.clock_wakes() => Some(Duration::from_millis(
                state.config.heartbeat_interval_ms.max(1),
            )),
            _ => None,
        };
        if heartbeat.is_some() && !state.cluster.has_background() {
            state.poll_returned();
            *pending = false;
            Consumer::release(state);
            return Some(Poll::Ready(Err(Error::IllegalState(
                "an async receive of a group member on a real-time clock needs the cluster's \
                 background thread to wake it for heartbeats: open the cluster with \
                 background(true) (the default), or use poll"
                    .into(),
            ))));
        }
        Consumer::release(state);
        *pending = true;
        if let Some(every) = heartbeat {
            self.notifier.wake_at(Instant::now() + every, cx.waker());
        }
        self.notifier
            .register(seen, cx.waker())
            .then_some(Poll::Pending)
    }

    /// A pending receive ended without a record (dropped): the member is out of `poll`.
    fn receive_ended(&self, pending: &mut bool) {
        if std::mem::take(pending) {
            self.state.lock().poll_returned();
        }
    }
}

/// The future of [`Consumer::recv`].
#[derive(Debug)]
#[must_use = "a future does nothing unless polled"]
pub struct Recv<'a> {
    consumer: &'a Consumer,
    /// It returned `Pending` since its last record: the member counts as inside `poll`.
    pending: bool,
}

impl Future for Recv<'_> {
    type Output = Result<ConsumerRecord>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.consumer.poll_receive(cx, &mut this.pending)
    }
}

impl Drop for Recv<'_> {
    fn drop(&mut self) {
        self.consumer.receive_ended(&mut self.pending);
    }
}

/// The stream of [`Consumer::stream`].
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct RecordStream<'a> {
    consumer: &'a Consumer,
    pending: bool,
}

impl futures_core::Stream for RecordStream<'_> {
    type Item = Result<ConsumerRecord>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.consumer.poll_receive(cx, &mut this.pending).map(Some)
    }
}

impl Drop for RecordStream<'_> {
    fn drop(&mut self) {
        self.consumer.receive_ended(&mut self.pending);
    }
}
