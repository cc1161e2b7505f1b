//! The appender thread: builds sealed batches (CRC, compression), appends them to their
//! partition logs in queue order, completes deliveries, runs callbacks, frees memory, and
//! seals batches whose `linger.ms` has passed. `append` also serves a transaction's commit,
//! which appends part of its last batches on its own thread (`shared_flush`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::{Accumulator, Callback, Message, PartitionQueue, SealedBatch};
use super::delivery::{BatchCompletion, Outcome, Pending};
use super::idempotence::Idempotence;
use super::metrics::Metrics;
use super::split::{self, Part};
use crate::clock::Clock;
use crate::error::Error;
use crate::log::Log;
use crate::record::BatchBuilder;
use crate::sync::channel::{Receiver, RecvTimeoutError};
use crate::sync::{Mutex, Ordering};

/// Longest real-time sleep between linger checks when nothing is queued, on a clock that does
/// not wake its waiters when it jumps (one that does sends a `Wake` instead).
const IDLE_WAIT: Duration = Duration::from_millis(100);

crate::sync::thread_local_const! {
    static ON_APPENDER: std::cell::Cell<bool> = std::cell::Cell::new(false);
}

/// Whether the calling thread is an appender (running a callback or interceptor): blocking
/// producer calls there would wait for the thread itself.
pub(crate) fn on_appender_thread() -> bool {
    ON_APPENDER.with(|on| on.get())
}

/// Runs until a `Stop` message; returns the queue so that shutdown can fail what is left.
/// `clock_wakes`: `clock` sends a `Wake` after each jump, so linger deadlines need no timer.
pub(crate) fn run(
    accumulator: Arc<Accumulator>,
    queue: Receiver<Message>,
    clock: Arc<dyn Clock>,
    clock_wakes: bool,
    metrics: Arc<Metrics>,
    idempotence: Option<Arc<Mutex<Idempotence>>>,
) -> Receiver<Message> {
    ON_APPENDER.with(|on| on.set(true));
    let mut next_deadline: Option<i64> = None;
    // Handles one message; false means stop.
    let mut handle = |message: Message| match message {
        Message::Batch(batch) => {
            append(&accumulator, batch, &metrics, idempotence.as_deref());
            true
        }
        Message::Wake => true,
        Message::Stop => false,
    };
    loop {
        let wait = match next_deadline {
            // Only a jump, which sends a `Wake`, moves such a clock to the deadline.
            _ if clock_wakes => Duration::MAX,
            Some(deadline) => {
                let ms = deadline
                    .saturating_sub(clock.now_ms())
                    .clamp(0, i64::try_from(IDLE_WAIT.as_millis()).unwrap_or(i64::MAX));
                Duration::from_millis(ms.unsigned_abs())
            }
            None => IDLE_WAIT,
        };
        // Announce idleness before the final check for open batches, so that a batch opened
        // after the check sends a wake-up.
        accumulator
            .idle
            .store(next_deadline.is_none(), Ordering::Release);
        if next_deadline.is_none() {
            next_deadline = accumulator.seal_expired(clock.now_ms());
            if next_deadline.is_some() {
                accumulator.idle.store(false, Ordering::Release);
                continue;
            }
        }
        let keep_going = match poll_then_wait(&queue, wait) {
            Ok(message) => handle(message),
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        // Drain what is queued, then seal lingering batches and drain those too.
        if !keep_going || !queue.try_iter().all(&mut handle) {
            return queue;
        }
        next_deadline = accumulator.seal_expired(clock.now_ms());
        if !queue.try_iter().all(&mut handle) {
            return queue;
        }
    }
}

/// How long the appender keeps polling after work before it parks: waking a parked thread
/// costs tens of microseconds on virtual machines, more than a `linger.ms=0` delivery itself.
/// None under loom, whose models must not depend on real time.
const BUSY_POLL: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_micros(50)
};

/// Polls the queue for up to [`BUSY_POLL`] (yielding the core between polls), then blocks for
/// the rest of `wait`.
fn poll_then_wait(queue: &Receiver<Message>, wait: Duration) -> Result<Message, RecvTimeoutError> {
    let start = Instant::now();
    while start.elapsed() < BUSY_POLL.min(wait) {
        if let Ok(message) = queue.try_recv() {
            return Ok(message);
        }
        std::thread::yield_now();
    }
    queue.recv_timeout(wait.saturating_sub(start.elapsed()))
}

/// Fails a batch that can no longer be appended (the producer is shut down).
pub(crate) fn fail(accumulator: &Accumulator, batch: SealedBatch, metrics: &Metrics) {
    metrics.batch_failed(u64::from(batch.builder.records_count().unsigned_abs()));
    finish(
        accumulator,
        batch.completion,
        batch.callbacks,
        batch.reserved,
        Outcome::Failed(Arc::new(Error::Closed)),
        metrics,
    );
    dequeued(accumulator, batch.queue);
}

/// A batch from the queue is finished: its partition may take a batch past the queue again,
/// and flushes waiting for it count it. A batch that never went through the queue counts
/// for neither: a flush waits for it on its partition's lock instead.
fn dequeued(accumulator: &Accumulator, queue: Option<Arc<PartitionQueue>>) {
    if let Some(queue) = queue {
        queue.in_flight.fetch_sub(1, Ordering::AcqRel);
        accumulator.finish();
    }
}

/// Appends one sealed batch and completes it: on the appender thread, or for a batch that
/// never went through the queue (see `Producer::flush_sharing`) on the thread that took it.
pub(crate) fn append(
    accumulator: &Accumulator,
    batch: SealedBatch,
    metrics: &Metrics,
    idempotence: Option<&Mutex<Idempotence>>,
) {
    // `_guard` drops at the end, after the outcome is set: then it changes nothing.
    let SealedBatch {
        guard: _guard,
        log,
        queue,
        builder,
        completion,
        opened,
        reserved,
        callbacks,
    } = batch;
    let records = builder.records_count();
    let uncompressed = builder.uncompressed_size();
    let outcome = if accumulator.abort.load(Ordering::Acquire) {
        Outcome::Failed(Arc::new(Error::Closed))
    } else {
        let builder = match idempotence {
            Some(idempotence) => idempotence.lock().stamp(log.name(), builder),
            None => Ok(builder),
        };
        match builder.and_then(BatchBuilder::build) {
            Ok(bytes) => {
                let whole = Part {
                    bytes,
                    records,
                    uncompressed,
                };
                let mut appending = Appending {
                    log: &log,
                    parts: Vec::new(),
                    metrics,
                    opened,
                    idempotence,
                };
                appending.part(whole, 0);
                Outcome::of_parts(appending.parts)
            }
            Err(error) => {
                // Nothing was appended: no sequence was used.
                metrics.batch_failed(u64::from(records.unsigned_abs()));
                Outcome::Failed(Arc::new(error))
            }
        }
    };
    finish(
        accumulator,
        completion,
        callbacks,
        reserved,
        outcome,
        metrics,
    );
    // After the sequences moved on.
    dequeued(accumulator, queue);
}

/// One batch being appended, in one or more parts.
struct Appending<'a> {
    log: &'a Log,
    /// Each part's first record index and outcome.
    parts: Vec<(i32, Outcome)>,
    metrics: &'a Metrics,
    opened: Instant,
    /// Locked for each use only: another thread may append another partition's batch
    /// meanwhile.
    idempotence: Option<&'a Mutex<Idempotence>>,
}

impl Appending<'_> {
    /// Appends `part` (its first record is the batch's record `first`) and records its
    /// outcome; a part the log refuses as too large is split in two and each half appended
    /// in turn (see `split`).
    fn part(&mut self, mut part: Part, first: i32) {
        let (log, metrics) = (self.log, self.metrics);
        if let Some(idempotence) = self.idempotence {
            idempotence.lock().restamp(log.name(), &mut part.bytes);
        }
        let records = u64::from(part.records.unsigned_abs());
        // The batch was built in this process: the log need not check its CRC again.
        let appended = log.append_built(&part.bytes).and_then(|(info, sync)| {
            if sync {
                log.sync_to(info.last_offset + 1)?;
            }
            Ok(info)
        });
        let error = match appended {
            Ok(info) => {
                metrics.batch_appended(records, part.uncompressed as u64, part.bytes.len() as u64);
                metrics.delivered(self.opened.elapsed(), records);
                if let Some(idempotence) = self.idempotence {
                    idempotence.lock().appended(log.name(), part.records);
                }
                let outcome = Outcome::Appended {
                    base_offset: info.first_offset,
                    log_append_time: info.log_append_time,
                };
                self.parts.push((first, outcome));
                return;
            }
            Err(error) if part.records > 1 && split::is_too_large(&error) => {
                match split::halves(&part.bytes) {
                    Ok((head, tail)) => {
                        metrics.batch_split();
                        let second = first + head.records;
                        self.part(head, first);
                        self.part(tail, second);
                        return;
                    }
                    Err(error) => error,
                }
            }
            Err(error) => error,
        };
        metrics.batch_failed(records);
        if let Some(idempotence) = self.idempotence {
            idempotence.lock().failed(&error);
        }
        self.parts.push((first, Outcome::Failed(Arc::new(error))));
    }
}

fn finish(
    accumulator: &Accumulator,
    completion: Arc<BatchCompletion>,
    callbacks: Vec<(Pending, Option<Callback>)>,
    reserved: usize,
    outcome: Outcome,
    metrics: &Metrics,
) {
    completion.complete(outcome.clone());
    for (pending, callback) in callbacks {
        let result = completion.metadata(&pending, &outcome);
        // Panics in interceptors and callbacks must not take the appender down (Kafka logs
        // them and carries on); they are counted.
        for interceptor in &accumulator.interceptors {
            let acknowledged = result.as_ref();
            if catch_unwind(AssertUnwindSafe(|| {
                interceptor.on_acknowledgement(acknowledged)
            }))
            .is_err()
            {
                metrics.interceptor_panicked();
            }
        }
        if let Some(callback) = callback {
            if catch_unwind(AssertUnwindSafe(|| callback(result))).is_err() {
                metrics.callback_panicked();
            }
        }
    }
    accumulator.pool.release(reserved);
}
