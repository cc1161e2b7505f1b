//! The record accumulator: one open batch per partition, built directly in Kafka's format,
//! sealed when full, when `linger.ms` passes, on flush or close, or when memory runs short.
//! Sealed batches go to the appender thread over a lock-free queue, in order per partition
//! (a transaction's commit appends some itself, see `shared_flush`).

use std::collections::HashMap;
use std::sync::Arc;

use super::delivery::{BatchCompletion, Pending};
use super::interceptor::ProducerInterceptor;
use super::memory::BufferPool;
use super::record::RecordMetadata;
use crate::config::TopicConfig;
use crate::error::Result;
use crate::log::Log;
use crate::record::{BatchBuilder, Compression};
use crate::sync::channel::Sender;
use crate::sync::{AtomicBool, AtomicU64, Condvar, Mutex, Ordering, RwLock, SPIN_BEFORE_SLEEP};
use crate::txn::MarkerJob;

/// A callback run on the appender thread when its record is delivered or has failed.
pub(crate) type Callback = Box<dyn FnOnce(Result<RecordMetadata>) + Send>;

/// A batch taking records.
pub(crate) struct OpenBatch {
    pub(crate) builder: BatchBuilder,
    pub(crate) completion: Arc<BatchCompletion>,
    /// With `acks=0`: an already resolved completion (offset −1) that the handles take.
    pub(crate) enqueued: Option<Arc<BatchCompletion>>,
    pub(crate) created_ms: i64,
    /// Real time of the first send, for delivery latency.
    pub(crate) opened: std::time::Instant,
    pub(crate) reserved: usize,
    pub(crate) limit: usize,
    pub(crate) callbacks: Vec<(Pending, Option<Callback>)>,
}

/// One partition's slot in the accumulator.
#[derive(Default)]
pub(crate) struct PartitionQueue {
    pub(crate) open: Mutex<Option<OpenBatch>>,
    /// Batches sealed to the appender's queue and not yet finished. Raised under `open`'s
    /// lock when sealing: while it is 0 and the lock is held, no other thread can append
    /// to the partition, so the holder may append its batch itself, in order.
    pub(crate) in_flight: AtomicU64,
}

/// What the producer knows about a topic (refreshed when the cluster's metadata changes).
pub(crate) struct TopicState {
    pub(crate) name: Arc<str>,
    pub(crate) config: Arc<TopicConfig>,
    pub(crate) logs: Vec<Arc<Log>>,
    pub(crate) queues: Vec<Arc<PartitionQueue>>,
}

/// Resolves a batch's handles with `Closed` if the batch is dropped without being appended (a
/// send racing the producer's shutdown), so that every handle resolves.
pub(crate) struct ResolveOnDrop(pub(crate) Arc<BatchCompletion>);

impl Drop for ResolveOnDrop {
    fn drop(&mut self) {
        self.0.complete(super::delivery::Outcome::Failed(Arc::new(
            crate::error::Error::Closed,
        )));
    }
}

/// A sealed batch on its way to the log.
pub(crate) struct SealedBatch {
    pub(crate) guard: ResolveOnDrop,
    pub(crate) log: Arc<Log>,
    /// The partition's queue, whose `in_flight` counts the batch; none for a batch
    /// appended by the thread that sealed it.
    pub(crate) queue: Option<Arc<PartitionQueue>>,
    pub(crate) builder: BatchBuilder,
    pub(crate) completion: Arc<BatchCompletion>,
    pub(crate) opened: std::time::Instant,
    pub(crate) reserved: usize,
    pub(crate) callbacks: Vec<(Pending, Option<Callback>)>,
}

impl SealedBatch {
    /// `open`, sealed for `log`; `queue` if it goes through the appender's queue.
    pub(crate) fn new(
        open: OpenBatch,
        log: &Arc<Log>,
        queue: Option<Arc<PartitionQueue>>,
    ) -> SealedBatch {
        SealedBatch {
            guard: ResolveOnDrop(Arc::clone(&open.completion)),
            log: Arc::clone(log),
            queue,
            builder: open.builder,
            completion: open.completion,
            opened: open.opened,
            reserved: open.reserved,
            callbacks: open.callbacks,
        }
    }
}

/// What the appender thread receives.
pub(crate) enum Message {
    Batch(SealedBatch),
    /// A share of a committing transaction's markers (the coordinator's `write_markers`).
    Markers(Arc<MarkerJob>),
    /// A batch was opened: recompute when the next linger deadline is.
    Wake,
    /// Stop once everything before this message is done.
    Stop,
}

/// State shared by the producer handles and the appender thread.
pub(crate) struct Accumulator {
    pub(crate) topics: RwLock<HashMap<String, Arc<TopicState>>>,
    pub(crate) topics_version: AtomicU64,
    pub(crate) pool: BufferPool,
    pub(crate) queue: Sender<Message>,
    pub(crate) linger_ms: i64,
    pub(crate) compression: Compression,
    /// Batches sealed to the queue so far, and those of them finished (for `flush`).
    pub(crate) sealed: AtomicU64,
    pub(crate) finished: Mutex<u64>,
    /// `finished`, readable without the lock (for [`Accumulator::caught_up`]).
    pub(crate) finished_count: AtomicU64,
    pub(crate) finished_changed: Condvar,
    /// Set when a close ran out of time: remaining batches fail with `Closed`.
    pub(crate) abort: AtomicBool,
    /// Set while the appender sleeps with no linger deadline pending: only then does a newly
    /// opened batch need to wake it (otherwise it wakes at an earlier deadline anyway).
    pub(crate) idle: AtomicBool,
    /// Interceptors whose `on_acknowledgement` the appender calls per record.
    pub(crate) interceptors: Vec<Arc<dyn ProducerInterceptor>>,
    /// The test kit's produce rules and history.
    #[cfg(feature = "testing")]
    pub(crate) hooks: crate::testing::ProduceHooks,
}

impl Accumulator {
    /// Called when a batch opens: makes sure the appender will look at its linger deadline.
    pub(crate) fn batch_opened(&self) {
        if self.idle.swap(false, Ordering::AcqRel) {
            let _ = self.queue.send(Message::Wake);
        }
    }

    /// Gives the appender a share of an ending transaction's markers. If the appender is
    /// gone, the job stays unclaimed and the ending thread runs it.
    pub(crate) fn offload(&self, job: Arc<MarkerJob>) {
        let _ = self.queue.send(Message::Markers(job));
    }

    /// Seals `open` and queues it. Called with the partition's lock held, which keeps batches
    /// of one partition in order on the queue.
    pub(crate) fn seal(&self, open: OpenBatch, log: &Arc<Log>, queue: &Arc<PartitionQueue>) {
        queue.in_flight.fetch_add(1, Ordering::AcqRel);
        self.sealed.fetch_add(1, Ordering::AcqRel);
        let batch = SealedBatch::new(open, log, Some(Arc::clone(queue)));
        // The receiver lives as long as the producer; if it is gone the batch's handles are
        // resolved by the close path.
        let _ = self.queue.send(Message::Batch(batch));
    }

    pub(crate) fn each_queue(
        &self,
        mut visit: impl FnMut(&TopicState, usize, &Arc<PartitionQueue>),
    ) {
        // Visit under the read lock rather than cloning each topic's `Arc`: the sending
        // thread updates those reference counts, and sharing the cache line costs it. Senders
        // never wait for this lock while holding a partition's, so the order is safe.
        let topics = self.topics.read();
        for topic in topics.values() {
            for (p, queue) in topic.queues.iter().enumerate() {
                visit(topic, p, queue);
            }
        }
    }

    /// Seals every open batch (flush, close, memory pressure).
    pub(crate) fn seal_all(&self) {
        self.each_queue(|topic, p, queue| {
            let mut open = queue.open.lock();
            if let Some(batch) = open.take() {
                self.seal(batch, &topic.logs[p], queue);
            }
        });
    }

    /// Seals batches whose linger time has passed; returns the earliest remaining deadline.
    pub(crate) fn seal_expired(&self, now_ms: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        self.each_queue(|topic, p, queue| {
            let mut open = queue.open.lock();
            let deadline = open
                .as_ref()
                .map(|b| b.created_ms.saturating_add(self.linger_ms));
            match deadline {
                Some(deadline) if deadline <= now_ms => {
                    let batch = open.take().expect("checked above");
                    self.seal(batch, &topic.logs[p], queue);
                }
                Some(deadline) => next = Some(next.map_or(deadline, |n| n.min(deadline))),
                None => {}
            }
        });
        next
    }

    /// Counts a batch from the queue as finished and wakes flushers.
    pub(crate) fn finish(&self) {
        let mut finished = self.finished.lock();
        *finished += 1;
        self.finished_count.store(*finished, Ordering::Release);
        drop(finished);
        self.finished_changed.notify_all();
    }

    /// Whether nothing sent is left to deliver: no open batch, every sealed one finished.
    #[cfg(feature = "testing")]
    pub(crate) fn is_idle(&self) -> bool {
        let mut open = false;
        self.each_queue(|_, _, queue| open |= queue.open.lock().is_some());
        !open && self.caught_up()
    }

    /// Whether the appender has finished every batch sealed so far (it is idle or about to
    /// be).
    pub(crate) fn caught_up(&self) -> bool {
        self.finished_count.load(Ordering::Acquire) >= self.sealed.load(Ordering::Acquire)
    }

    /// Waits until every batch sealed before now is finished, or `deadline` passes.
    pub(crate) fn wait_finished(&self, deadline: std::time::Instant) -> bool {
        let target = self.sealed.load(Ordering::Acquire);
        // A flush usually waits for a few batches the appender is appending right now: poll
        // before sleeping, since a wake-up costs tens of microseconds on virtual machines
        // (twice a transaction's commit, which flushes; Kafka's `commitTransaction` too).
        let spin = std::time::Instant::now();
        while spin.elapsed() < SPIN_BEFORE_SLEEP.min(deadline.saturating_duration_since(spin)) {
            if *self.finished.lock() >= target {
                return true;
            }
            std::thread::yield_now();
        }
        let mut finished = self.finished.lock();
        while *finished < target {
            if self
                .finished_changed
                .wait_until(&mut finished, deadline)
                .timed_out()
            {
                return *finished >= target;
            }
        }
        true
    }
}
