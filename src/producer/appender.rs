//! The appender thread: builds sealed batches (CRC, compression), appends them to their
//! partition logs in queue order, completes deliveries, runs callbacks, frees memory, and
//! seals batches whose `linger.ms` has passed. `append` also serves a transaction's commit,
//! which appends part of its last batches on its own thread (`shared_flush`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::{
    Accumulator, Callback, Message, PartitionQueue, ResolveOnDrop, SealedBatch,
};
use super::delivery::{BatchCompletion, Outcome, Pending};
use super::group_commit::Unsynced;
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
    let mut appender = Appender {
        accumulator: &accumulator,
        metrics: &metrics,
        idempotence: idempotence.as_deref(),
        unsynced: Unsynced::default(),
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
            Ok(message) => appender.handle(message),
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        };
        // Drain what is queued, then seal lingering batches and drain those too; then sync
        // what the batches written need, once per log, and deliver them.
        if !keep_going || !queue.try_iter().all(|m| appender.handle(m)) {
            appender.settle();
            return queue;
        }
        next_deadline = accumulator.seal_expired(clock.now_ms());
        let keep_going = queue.try_iter().all(|m| appender.handle(m));
        appender.settle();
        if !keep_going {
            return queue;
        }
    }
}

/// The appender thread's state between messages.
struct Appender<'a> {
    accumulator: &'a Accumulator,
    metrics: &'a Metrics,
    idempotence: Option<&'a Mutex<Idempotence>>,
    /// Batches written whose delivery waits for a sync.
    unsynced: Unsynced,
}

impl Appender<'_> {
    /// Handles one message; false means stop.
    fn handle(&mut self, message: Message) -> bool {
        match message {
            Message::Batch(batch) => {
                let written = write(
                    self.accumulator,
                    batch,
                    self.metrics,
                    self.idempotence,
                    true,
                );
                // Deliveries stay in order per partition: once one of a log waits for a
                // sync, every later one of that log waits behind it.
                if written.sync_to.is_none() && !self.unsynced.holds(&written.log) {
                    complete(
                        self.accumulator,
                        written,
                        None,
                        self.metrics,
                        self.idempotence,
                    );
                } else {
                    self.unsynced.push(written);
                    if self.unsynced.is_full() {
                        self.settle();
                    }
                }
                true
            }
            Message::Markers(job) => {
                job.run();
                true
            }
            Message::Wake => true,
            Message::Stop => false,
        }
    }

    /// Syncs and delivers the batches written so far.
    fn settle(&mut self) {
        self.unsynced
            .settle(self.accumulator, self.metrics, self.idempotence);
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

/// Appends one sealed batch (syncing it if its topic asks) and completes it, on the thread
/// that took a batch that never went through the queue (see `Producer::flush_sharing`).
pub(crate) fn append(
    accumulator: &Accumulator,
    batch: SealedBatch,
    metrics: &Metrics,
    idempotence: Option<&Mutex<Idempotence>>,
) {
    let written = write(accumulator, batch, metrics, idempotence, false);
    complete(accumulator, written, None, metrics, idempotence);
}

/// A batch written to its log (or failed), not yet delivered.
pub(crate) struct Written {
    /// Resolves the completion if the batch is dropped undelivered; after delivery it
    /// changes nothing.
    _guard: ResolveOnDrop,
    pub(crate) log: Arc<Log>,
    queue: Option<Arc<PartitionQueue>>,
    completion: Arc<BatchCompletion>,
    callbacks: Vec<(Pending, Option<Callback>)>,
    reserved: usize,
    opened: Instant,
    /// Each appended part's records, uncompressed and written bytes.
    appended: Vec<(u64, u64, u64)>,
    outcome: Outcome,
    /// The offset the log must be synced to before the outcome stands (`flush.messages=1`
    /// topics), when the sync was left to the caller.
    pub(crate) sync_to: Option<i64>,
}

/// Writes one sealed batch to its log; with `defer_sync`, a sync its topic asks for is left
/// to the caller (`Written::sync_to`), so that one sync can cover many batches.
pub(crate) fn write(
    accumulator: &Accumulator,
    batch: SealedBatch,
    metrics: &Metrics,
    idempotence: Option<&Mutex<Idempotence>>,
    defer_sync: bool,
) -> Written {
    let SealedBatch {
        guard,
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
    let mut sync_to = None;
    let mut appended = Vec::new();
    let outcome = if accumulator.abort.load(Ordering::Acquire) {
        Outcome::Failed(Arc::new(Error::Closed))
    } else {
        let builder = match idempotence {
            Some(idempotence) => idempotence.lock().stamp(log.name(), builder),
            None => Ok(builder),
        };
        // Stamped first: a batch of a transaction being aborted fails there, unattempted.
        let built = builder.and_then(BatchBuilder::build).and_then(|bytes| {
            match injected_fault(accumulator, &log) {
                // Nothing is appended, so no sequence is used; the failure reaches
                // idempotence below, as any failed batch's (a transaction turns abortable).
                Some(error) => {
                    if let Some(idempotence) = idempotence {
                        idempotence.lock().failed(&error);
                    }
                    Err(error)
                }
                None => Ok(bytes),
            }
        });
        match built {
            Ok(bytes) => {
                let whole = Part {
                    bytes,
                    records,
                    uncompressed,
                };
                let mut appending = Appending {
                    #[cfg(feature = "testing")]
                    hooks: &accumulator.hooks,
                    log: &log,
                    parts: Vec::new(),
                    metrics,
                    idempotence,
                    defer_sync,
                    sync_to: None,
                    appended: Vec::new(),
                };
                appending.part(whole, 0);
                sync_to = appending.sync_to;
                appended = appending.appended;
                Outcome::of_parts(appending.parts)
            }
            Err(error) => {
                // Nothing was appended: no sequence was used.
                metrics.batch_failed(u64::from(records.unsigned_abs()));
                Outcome::Failed(Arc::new(error))
            }
        }
    };
    Written {
        _guard: guard,
        log,
        queue,
        completion,
        callbacks,
        reserved,
        opened,
        appended,
        outcome,
        sync_to,
    }
}

/// The test kit's produce rules' verdict on a batch for `log`, after the producer's retries
/// (never a fault without the `testing` feature).
fn injected_fault(accumulator: &Accumulator, log: &Log) -> Option<Error> {
    #[cfg(feature = "testing")]
    return accumulator
        .hooks
        .before_append(log.name(), &|| accumulator.abort.load(Ordering::Acquire))
        .err();
    #[cfg(not(feature = "testing"))]
    {
        let _ = (accumulator, log);
        None
    }
}

/// Delivers a written batch: its outcome, or `sync_error` if the sync it waited for failed
/// (then its appended parts count as failed, and an idempotent producer moves to a new
/// epoch, as after any failed batch).
pub(crate) fn complete(
    accumulator: &Accumulator,
    written: Written,
    sync_error: Option<Error>,
    metrics: &Metrics,
    idempotence: Option<&Mutex<Idempotence>>,
) {
    let Written {
        _guard,
        queue,
        completion,
        callbacks,
        reserved,
        opened,
        appended,
        outcome,
        ..
    } = written;
    let outcome = match sync_error {
        Some(error) => {
            metrics.batch_failed(appended.iter().map(|&(records, ..)| records).sum());
            if let Some(idempotence) = idempotence {
                idempotence.lock().failed(&error);
            }
            Outcome::Failed(Arc::new(error))
        }
        None => {
            for (records, uncompressed, bytes) in appended {
                metrics.batch_appended(records, uncompressed, bytes);
                metrics.delivered(opened.elapsed(), records);
            }
            outcome
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
    /// The test kit's record of what was appended.
    #[cfg(feature = "testing")]
    hooks: &'a crate::testing::ProduceHooks,
    log: &'a Arc<Log>,
    /// Each part's first record index and outcome.
    parts: Vec<(i32, Outcome)>,
    metrics: &'a Metrics,
    /// Locked for each use only: another thread may append another partition's batch
    /// meanwhile.
    idempotence: Option<&'a Mutex<Idempotence>>,
    /// Leave the sync a topic asks for to the caller, noting it in `sync_to`.
    defer_sync: bool,
    sync_to: Option<i64>,
    /// Records, uncompressed and written bytes of each part appended, for the metrics.
    appended: Vec<(u64, u64, u64)>,
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
            if sync && self.defer_sync {
                let target = info.last_offset + 1;
                self.sync_to = Some(self.sync_to.map_or(target, |t| t.max(target)));
            } else if sync {
                log.sync_to(info.last_offset + 1)?;
            }
            Ok(info)
        });
        let error = match appended {
            Ok(info) => {
                // Counted when delivered (after the sync, if deferred).
                self.appended
                    .push((records, part.uncompressed as u64, part.bytes.len() as u64));
                if let Some(idempotence) = self.idempotence {
                    idempotence.lock().appended(log.name(), part.records);
                }
                #[cfg(feature = "testing")]
                self.hooks
                    .appended(self.log, info.first_offset, info.last_offset);
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
