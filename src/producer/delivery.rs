//! Delivery handles: every record of a batch shares one completion, so a handle costs an
//! `Arc` clone, not an allocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::record::RecordMetadata;
use crate::error::{Error, Result};
use crate::record::TimestampType;
use crate::sync::{AtomicBool, Condvar, Mutex, Ordering};

/// How a batch ended: its base offset and the time the log stamped, or why it failed.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Appended {
        base_offset: i64,
        log_append_time: Option<i64>,
    },
    Failed(Arc<Error>),
    /// The log refused the batch as too large and it was split (`producer::split`): each
    /// part's outcome from the index of its first record on, in index order.
    Split(Arc<[(i32, Outcome)]>),
}

impl Outcome {
    /// The outcome of a batch appended in `parts` (first record index, outcome).
    pub(crate) fn of_parts(mut parts: Vec<(i32, Outcome)>) -> Outcome {
        if parts.len() == 1 && parts[0].0 == 0 {
            return parts.remove(0).1;
        }
        Outcome::Split(parts.into())
    }
}

/// The completion every handle of one batch waits on. It names the batch's partition, so that
/// a handle needs no reference count of its own for the topic.
#[derive(Debug)]
pub(crate) struct BatchCompletion {
    topic: Arc<str>,
    partition: i32,
    /// Set (release) after `outcome` is stored: a lock-free check for spinning waiters.
    done: AtomicBool,
    outcome: Mutex<Option<Outcome>>,
    done_changed: Condvar,
    wakers: Mutex<Vec<Waker>>,
}

impl BatchCompletion {
    /// An unresolved completion for a batch of `topic`'s `partition`.
    pub(crate) fn new(topic: Arc<str>, partition: i32) -> Self {
        BatchCompletion {
            topic,
            partition,
            done: AtomicBool::new(false),
            outcome: Mutex::new(None),
            done_changed: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        }
    }

    /// Resolves every handle of the batch (first call wins).
    pub(crate) fn complete(&self, outcome: Outcome) {
        {
            let mut slot = self.outcome.lock();
            if slot.is_some() {
                return;
            }
            *slot = Some(outcome);
        }
        self.done.store(true, Ordering::Release);
        self.done_changed.notify_all();
        for waker in self.wakers.lock().drain(..) {
            waker.wake();
        }
    }

    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.outcome.lock().clone()
    }

    /// What `outcome` means for the batch's record `pending`.
    pub(crate) fn metadata(&self, pending: &Pending, outcome: &Outcome) -> Result<RecordMetadata> {
        match outcome {
            Outcome::Appended {
                base_offset,
                log_append_time,
            } => Ok(RecordMetadata {
                topic: Arc::clone(&self.topic),
                partition: self.partition,
                offset: if *base_offset < 0 {
                    -1
                } else {
                    base_offset + pending.index as i64
                },
                timestamp: log_append_time.unwrap_or(pending.timestamp),
                timestamp_type: if log_append_time.is_some() {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                },
                serialized_key_size: pending.key_size,
                serialized_value_size: pending.value_size,
            }),
            Outcome::Failed(error) => Err((**error).clone()),
            Outcome::Split(parts) => {
                let at = parts.partition_point(|(first, _)| *first <= pending.index);
                let (first, part) = &parts[at.saturating_sub(1)];
                let within = Pending {
                    index: pending.index - first,
                    ..*pending
                };
                self.metadata(&within, part)
            }
        }
    }

    /// Polls briefly for the outcome before a waiter parks: a delivery usually takes a few
    /// microseconds, less than parking and waking a thread costs on virtual machines.
    fn spin_until_done(&self) {
        let start = Instant::now();
        while !self.done.load(Ordering::Acquire) && start.elapsed() < SPIN {
            std::thread::yield_now();
        }
    }
}

/// How long a waiter polls before it parks (not at all under loom, whose models must not
/// depend on real time).
const SPIN: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_micros(50)
};

/// The per-record part of a handle (the batch's completion knows the partition).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) index: i32,
    pub(crate) timestamp: i64,
    pub(crate) key_size: i64,
    pub(crate) value_size: i64,
}

/// Resolves once with where the record landed, or why it did not. Also a `Future`. Dropping
/// it does not cancel the send.
#[derive(Debug)]
pub struct DeliveryHandle {
    pub(crate) completion: Arc<BatchCompletion>,
    pub(crate) pending: Pending,
}

impl DeliveryHandle {
    /// Blocks until the record is delivered or has failed.
    pub fn wait(self) -> Result<RecordMetadata> {
        if let Some(done) = self.try_done() {
            return done;
        }
        if super::appender::on_appender_thread() {
            return Err(crate::error::Error::WouldDeadlock("DeliveryHandle::wait"));
        }
        self.completion.spin_until_done();
        let mut outcome = self.completion.outcome.lock();
        while outcome.is_none() {
            self.completion.done_changed.wait(&mut outcome);
        }
        let outcome = outcome.clone().expect("loop exits once resolved");
        self.completion.metadata(&self.pending, &outcome)
    }

    /// As [`DeliveryHandle::wait`], giving up after `timeout` (`None`: still pending).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<RecordMetadata>> {
        if let Some(done) = self.try_done() {
            return Some(done);
        }
        if super::appender::on_appender_thread() {
            return Some(Err(crate::error::Error::WouldDeadlock(
                "DeliveryHandle::wait_timeout",
            )));
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut outcome = self.completion.outcome.lock();
        while outcome.is_none() {
            match deadline {
                Some(deadline) => {
                    if self
                        .completion
                        .done_changed
                        .wait_until(&mut outcome, deadline)
                        .timed_out()
                    {
                        break;
                    }
                }
                None => self.completion.done_changed.wait(&mut outcome),
            }
        }
        outcome
            .clone()
            .map(|o| self.completion.metadata(&self.pending, &o))
    }

    fn try_done(&self) -> Option<Result<RecordMetadata>> {
        self.completion
            .outcome()
            .map(|o| self.completion.metadata(&self.pending, &o))
    }

    /// The result if it is known, without blocking.
    pub fn try_get(&mut self) -> Option<Result<RecordMetadata>> {
        self.completion
            .outcome()
            .map(|o| self.completion.metadata(&self.pending, &o))
    }
}

impl Future for DeliveryHandle {
    type Output = Result<RecordMetadata>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(outcome) = self.completion.outcome() {
            return Poll::Ready(self.completion.metadata(&self.pending, &outcome));
        }
        self.completion.wakers.lock().push(cx.waker().clone());
        // Completed between the check and the registration: the waker may have been missed.
        match self.completion.outcome() {
            Some(outcome) => Poll::Ready(self.completion.metadata(&self.pending, &outcome)),
            None => Poll::Pending,
        }
    }
}
