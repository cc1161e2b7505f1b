//! The `Producer` handle: partitioning, size checks, memory, and the hand-off of records into
//! per-partition batches.

use std::ops::DerefMut;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::{Accumulator, Callback, Message, OpenBatch, TopicState};
use super::blocking::{Block, LAST_TOPIC};
use super::delivery::{BatchCompletion, DeliveryHandle, Outcome, Pending};
use super::idempotence::Idempotence;
use super::metrics::{Api, Metrics, ProducerMetrics};
use super::partitioner::{
    partition_for_key, Partitioner, RoundRobinPartitioner, StickyPartitioner,
};
use super::record::{PartitionInfo, ProducerRecord, RecordMetadata, SendError};
use super::transactions::Transactions;
use crate::cluster::{partition_number, Cluster};
use crate::config::{Acks, PartitionerKind, ProducerConfig};
use crate::error::{Error, Result, SizeLimit};
use crate::notify::far_future;
use crate::record::{BatchBuilder, Header};
use crate::sync::channel::Receiver;
use crate::sync::thread::JoinHandle;
use crate::sync::{AtomicBool, Mutex, Ordering};

/// A transactional batch goes to an idle appender once it holds `batch.size` divided by
/// this (see `Inner::seal_early`).
const EARLY_SEAL_FRACTION: usize = 4;

/// How long dropping the last handle waits for buffered records to be delivered.
const DROP_FLUSH_WAIT: Duration = Duration::from_secs(30);

/// Sends records to a cluster's topics, batching them per partition in Kafka's batch format.
/// Cheap to clone; clones share one accumulator and one appender thread. Dropping the last
/// clone flushes (waiting at most 30 s) and stops the thread.
#[derive(Clone)]
pub struct Producer {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("config", &self.inner.config)
            .finish()
    }
}

pub(super) struct Inner {
    pub(super) id: u64,
    pub(super) cluster: Cluster,
    pub(super) config: ProducerConfig,
    pub(super) custom: Option<Arc<dyn Partitioner>>,
    pub(super) sticky: StickyPartitioner,
    pub(super) round_robin: RoundRobinPartitioner,
    pub(super) accumulator: Arc<Accumulator>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) appender: Mutex<Option<JoinHandle<Receiver<Message>>>>,
    pub(super) closed: AtomicBool,
    /// With a `transactional.id`: the transaction state.
    pub(super) transactions: Option<Arc<Transactions>>,
    /// Producer id, epoch and sequences (shared with the appender thread).
    pub(super) idempotence: Option<Arc<Mutex<Idempotence>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.shutdown(DROP_FLUSH_WAIT);
    }
}

impl Producer {
    /// The configuration in force.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// Buffers `record` and returns a handle that resolves when it is delivered. Blocks up to
    /// `max.block.ms` in all while the topic does not exist and the cluster does not
    /// auto-create topics (as Kafka's producer waits for metadata; a topic created meanwhile
    /// is used), then while `buffer.memory` is full, and fails with `Timeout`; on any failure
    /// the record comes back in the [`SendError`].
    pub fn send(&self, record: ProducerRecord) -> Result<DeliveryHandle, SendError> {
        self.inner
            .send(record, None, true)
            .map(|h| h.expect("no callback, so a handle"))
    }

    /// As [`Producer::send`], but never blocks: a full buffer gives `QueueFull`, a missing
    /// topic (without auto-creation) `UnknownTopicOrPartition`.
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryHandle, SendError> {
        self.inner
            .send(record, None, false)
            .map(|h| h.expect("no callback, so a handle"))
    }

    /// Buffers `record` and runs `callback` on the appender thread when it is delivered or has
    /// failed. Callbacks of one partition run in send order; they should be short, and a panic
    /// in one is caught (the producer keeps working).
    pub fn send_with_callback(
        &self,
        record: ProducerRecord,
        callback: impl FnOnce(Result<RecordMetadata>) + Send + 'static,
    ) -> Result<(), SendError> {
        self.inner
            .send(record, Some(Box::new(callback)), true)
            .map(|_| ())
    }

    /// Sends every record, seals their batches at once (skipping `linger.ms`), and waits at
    /// most `timeout` in all for their deliveries (franz-go's `ProduceSync`). One result per
    /// record, in order: a refused send gives its error (the record is dropped), a delivery
    /// still pending at the deadline gives `Timeout` (it may still land later).
    pub fn send_all(
        &self,
        records: impl IntoIterator<Item = ProducerRecord>,
        timeout: Duration,
    ) -> Vec<Result<RecordMetadata>> {
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        let blocking = !super::appender::on_appender_thread();
        let sent: Vec<Result<DeliveryHandle>> = records
            .into_iter()
            .map(|record| {
                if !blocking {
                    return Err(Error::WouldDeadlock("Producer::send_all"));
                }
                self.send(record).map_err(|refused| refused.error)
            })
            .collect();
        self.inner.accumulator.seal_all();
        sent.into_iter()
            .map(|handle| {
                let mut handle = handle?;
                let left = deadline.saturating_duration_since(Instant::now());
                handle.wait_timeout(left).unwrap_or_else(|| {
                    Err(Error::Timeout(format!(
                        "send_all: the record was not delivered within {timeout:?}"
                    )))
                })
            })
            .collect()
    }

    /// The partitions of `topic` (Kafka's `partitionsFor`), creating the topic first when the
    /// cluster auto-creates topics, else waiting up to `max.block.ms` for it to appear (then
    /// `Timeout`), as `send` does. The one in-process node (id 0) leads every partition.
    pub fn partitions_for(&self, topic: &str) -> Result<Vec<PartitionInfo>> {
        let version = self.inner.cluster.metadata_version();
        let block = Block::new(true, self.inner.config.max_block_ms);
        let state = self.inner.lookup_topic(topic, version, &block)?;
        Ok((0..partition_number(state.logs.len()))
            .map(|partition| PartitionInfo {
                topic: Arc::clone(&state.name),
                partition,
                leader: 0,
                replicas: vec![0],
                in_sync_replicas: vec![0],
            })
            .collect())
    }

    /// Seals every open batch and waits until every record sent before the call is delivered
    /// or has failed (Kafka's `flush`), at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        if super::appender::on_appender_thread() {
            return Err(Error::WouldDeadlock("Producer::flush"));
        }
        let start = Instant::now();
        let flushed = self.flush_quietly(timeout);
        self.inner.metrics.spent(Api::Flush, start);
        flushed
    }

    /// [`Producer::flush`] without counting its time in `flush-time-ns-total`: the wait for
    /// outstanding batches inside `abort_transaction`, whose time counts as the abort's (as
    /// in Kafka's producer, whose abort waits for its in-flight batches without a flush).
    pub(crate) fn flush_quietly(&self, timeout: Duration) -> Result<()> {
        self.inner.accumulator.seal_all();
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        if self.inner.accumulator.wait_finished(deadline) {
            Ok(())
        } else {
            Err(Error::Timeout(format!(
                "flush did not complete within {timeout:?}"
            )))
        }
    }

    /// Stops accepting sends, delivers what is buffered (waiting at most `timeout`; what is
    /// still pending then fails with `Closed`), and stops the appender thread.
    pub fn close(&self, timeout: Duration) -> Result<()> {
        self.inner.shutdown(timeout)
    }

    /// Kafka's producer metrics.
    pub fn metrics(&self) -> ProducerMetrics {
        let pool = &self.inner.accumulator.pool;
        self.inner
            .metrics
            .snapshot(pool.available() as u64, pool.total() as u64)
    }
}

/// Appends `record` to the open batch; what its delivery will report.
fn append_record(
    batch: &mut OpenBatch,
    record: &ProducerRecord,
    timestamp: i64,
) -> Result<Pending> {
    let index = batch.builder.records_count();
    let headers: Vec<Header<'_>> = record
        .headers
        .iter()
        .map(|(k, v)| Header {
            key: k.as_bytes(),
            value: v.as_deref(),
        })
        .collect();
    batch.builder.append(
        timestamp,
        record.key.as_deref(),
        record.value.as_deref(),
        &headers,
    )?;
    Ok(Pending {
        index,
        timestamp,
        key_size: record.key.as_ref().map_or(-1, |k| k.len() as i64),
        value_size: record.value.as_ref().map_or(-1, |v| v.len() as i64),
    })
}

impl Inner {
    fn send(
        &self,
        record: ProducerRecord,
        callback: Option<Callback>,
        blocking: bool,
    ) -> Result<Option<DeliveryHandle>, SendError> {
        let block = Block::new(blocking, self.config.max_block_ms);
        let blocking = &block;
        if self.closed.load(Ordering::Acquire) {
            self.metrics.send_failed();
            return Err(SendError {
                error: Error::Closed,
                record: Box::new(record),
            });
        }
        if let Some(transactions) = &self.transactions {
            if let Err(error) = transactions.check_send() {
                return self.refuse(error, record);
            }
        }
        let record = self.intercept(record);
        match self.cache_topic(&record.topic, blocking) {
            // Borrow the thread's cached topic rather than cloning its `Arc`: two fewer
            // atomic operations per send.
            Ok(None) => LAST_TOPIC.with(|last| {
                let last = last.borrow();
                let (_, _, topic) = last.as_ref().expect("cached above");
                self.send_to(topic, record, callback, blocking)
            }),
            Ok(Some(topic)) => self.send_to(&topic, record, callback, blocking),
            Err(error) => self.refuse(error, record),
        }
    }

    /// `RecordTooLarge` naming the tightest limit `size` exceeds, if any. Ties go to the
    /// producer's own limits in the order Kafka's `KafkaProducer` checks them
    /// (`max.request.size`, then `buffer.memory`), then to the topic's `max.message.bytes`,
    /// which Kafka's broker checks last.
    fn size_error(&self, topic: &TopicState, size: usize) -> Option<Error> {
        let limits = [
            (self.config.max_request_size, SizeLimit::MaxRequestSize),
            (self.config.buffer_memory, SizeLimit::BufferMemory),
            (
                usize::try_from(topic.config.max_message_bytes).unwrap_or(usize::MAX),
                SizeLimit::MaxMessageBytes,
            ),
        ];
        let (max, limit) = limits.into_iter().min_by_key(|&(max, _)| max)?;
        (size > max).then_some(Error::RecordTooLarge { size, max, limit })
    }

    /// `send` once the record's topic is known.
    fn send_to(
        &self,
        topic: &TopicState,
        record: ProducerRecord,
        callback: Option<Callback>,
        blocking: &Block,
    ) -> Result<Option<DeliveryHandle>, SendError> {
        let size = record.size_upper_bound();
        let partition = match self.choose_partition(topic, &record, size) {
            Ok(p) => p,
            Err(error) => return self.refuse(error, record),
        };
        if let Some(error) = self.size_error(topic, size) {
            return self.refuse(error, record);
        }
        let timestamp = record
            .timestamp
            .unwrap_or_else(|| self.cluster.clock().now_ms());
        let mut open = match self.open_batch_with_room(topic, partition, size, blocking) {
            Ok(open) => open,
            Err(error) => return self.refuse(error, record),
        };
        let batch = open.as_mut().expect("opened above");
        let pending = match append_record(batch, &record, timestamp) {
            Ok(pending) => pending,
            Err(error) => {
                drop(open);
                return self.refuse(error, record);
            }
        };
        let handle = self.track(batch, pending, callback);
        if batch.builder.uncompressed_size() >= batch.limit || self.seal_early(batch) {
            let full = open.take().expect("batch is open");
            self.accumulator.seal(
                full,
                &topic.logs[slot(partition)],
                &topic.queues[slot(partition)],
            );
        }
        Ok(handle)
    }

    /// A transaction's records are written when it commits, so a batch that only lingers
    /// there makes the commit wait for it. Instead, while the appender has nothing to do, a
    /// transactional batch holding at least a quarter of `batch.size` goes to it at once,
    /// and the appender works while the application sends (`linger.ms` is an upper bound on
    /// the wait; the records are not readable by `read_committed` consumers before the
    /// commit either way).
    fn seal_early(&self, batch: &OpenBatch) -> bool {
        self.transactions.is_some()
            && batch.builder.uncompressed_size() >= batch.limit / EARLY_SEAL_FRACTION
            && self.accumulator.caught_up()
    }

    /// Locks the partition's open batch, made to hold `size` more bytes: a batch too full is
    /// sealed, and a new one opened with memory from `buffer.memory` (waiting for it when
    /// `blocking`). On an error the lock is already released.
    fn open_batch_with_room<'q>(
        &self,
        topic: &'q TopicState,
        partition: i32,
        size: usize,
        blocking: &Block,
    ) -> Result<impl DerefMut<Target = Option<OpenBatch>> + 'q> {
        let queue = &topic.queues[slot(partition)];
        let mut open = queue.open.lock();
        // Checked again under the partition's lock: `shutdown` sets `closed` before its last
        // `seal_all`, which takes this lock, so a send racing a close either adds to a batch
        // that seal takes (and fails with `Closed`) or sees the flag here. Without this, a
        // batch opened after that seal would never resolve (found by the loom model).
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if open.as_ref().is_some_and(|b| {
            b.builder.uncompressed_size() + size > b.limit && !b.builder.is_empty()
        }) {
            let full = open.take().expect("checked above");
            self.accumulator.seal(
                full,
                &topic.logs[slot(partition)],
                &topic.queues[slot(partition)],
            );
        }
        if open.is_none() {
            let reserve = size.max(self.config.batch_size);
            if !self.accumulator.pool.try_reserve(reserve) {
                drop(open);
                self.reserve_blocking(reserve, blocking)?;
                open = queue.open.lock();
                if self.closed.load(Ordering::Acquire) {
                    drop(open);
                    self.accumulator.pool.release(reserve);
                    return Err(Error::Closed);
                }
                if let Some(existing) = open.take() {
                    // Another sender opened a batch meanwhile: send it on and use ours.
                    self.accumulator.seal(
                        existing,
                        &topic.logs[slot(partition)],
                        &topic.queues[slot(partition)],
                    );
                }
            }
            *open = Some(self.open_batch(reserve, topic, partition));
            self.accumulator.batch_opened();
        }
        Ok(open)
    }

    /// Registers an appended record with its batch: the callback, or the handle returned to
    /// the caller (and, for the interceptors, a callback slot without a callback).
    fn track(
        &self,
        batch: &mut OpenBatch,
        pending: Pending,
        callback: Option<Callback>,
    ) -> Option<DeliveryHandle> {
        let completion = Arc::clone(batch.enqueued.as_ref().unwrap_or(&batch.completion));
        match callback {
            Some(callback) => {
                batch.callbacks.push((pending, Some(callback)));
                None
            }
            None => {
                if !self.accumulator.interceptors.is_empty() {
                    batch.callbacks.push((pending, None));
                }
                Some(DeliveryHandle {
                    completion,
                    pending,
                })
            }
        }
    }

    /// A send refused after the interceptors saw the record: as Kafka's `onSendError`, they
    /// hear of the error through `on_acknowledgement`; the record goes back to the caller.
    fn refuse<T>(&self, error: Error, record: ProducerRecord) -> Result<T, SendError> {
        self.metrics.send_failed();
        for interceptor in &self.accumulator.interceptors {
            if catch_unwind(AssertUnwindSafe(|| {
                interceptor.on_acknowledgement(Err(&error))
            }))
            .is_err()
            {
                self.metrics.interceptor_panicked();
            }
        }
        Err(SendError {
            error,
            record: Box::new(record),
        })
    }

    /// Runs every interceptor's `on_send`; one that panics leaves the record as it was.
    fn intercept(&self, mut record: ProducerRecord) -> ProducerRecord {
        for interceptor in &self.accumulator.interceptors {
            let before = record.clone();
            record = match catch_unwind(AssertUnwindSafe(|| interceptor.on_send(record))) {
                Ok(changed) => changed,
                Err(_) => {
                    self.metrics.interceptor_panicked();
                    before
                }
            };
        }
        record
    }

    fn open_batch(&self, reserved: usize, topic: &TopicState, partition: i32) -> OpenBatch {
        let limit = self
            .config
            .batch_size
            .min(usize::try_from(topic.config.max_message_bytes).unwrap_or(usize::MAX))
            .max(1);
        OpenBatch {
            builder: BatchBuilder::with_capacity(reserved.min(limit.max(1024)))
                .compression(self.accumulator.compression),
            completion: Arc::new(BatchCompletion::new(Arc::clone(&topic.name), partition)),
            enqueued: (self.config.acks == Acks::None).then(|| {
                let enqueued = BatchCompletion::new(Arc::clone(&topic.name), partition);
                enqueued.complete(Outcome::Appended {
                    base_offset: -1,
                    log_append_time: None,
                });
                Arc::new(enqueued)
            }),
            created_ms: self.cluster.clock().now_ms(),
            opened: Instant::now(),
            reserved,
            limit,
            callbacks: Vec::new(),
        }
    }

    /// The record's partition; `size` (its size bound) feeds the sticky partitioner.
    fn choose_partition(
        &self,
        topic: &TopicState,
        record: &ProducerRecord,
        size: usize,
    ) -> Result<i32> {
        let count = partition_number(topic.logs.len());
        let chosen = match (record.partition, &record.key) {
            (Some(p), _) => p,
            (None, key) if self.custom.is_some() => self
                .custom
                .as_ref()
                .expect("checked")
                .partition(&topic.name, key.as_deref(), count),
            (None, _) if self.config.partitioner == PartitionerKind::RoundRobin => {
                self.round_robin.partition(&topic.name, None, count)
            }
            (None, Some(key)) if !self.config.partitioner_ignore_keys => {
                partition_for_key(key, count)
            }
            (None, _) => self.sticky.partition(&topic.name, count, size),
        };
        if (0..count).contains(&chosen) {
            Ok(chosen)
        } else {
            Err(Error::UnknownTopicOrPartition(format!(
                "partition {chosen} of topic '{}', which has {count} partitions",
                topic.name
            )))
        }
    }

    fn shutdown(&self, timeout: Duration) -> Result<()> {
        let already = self.closed.swap(true, Ordering::AcqRel);
        // A send waiting for a topic to appear sees the flag now.
        self.cluster.notifier().notify();
        if already {
            return Ok(());
        }
        if super::appender::on_appender_thread() {
            // Kafka: close() from a callback acts as close(0). The appender cannot wait for
            // itself: it fails what is left with Closed, stops, and its handle is detached.
            self.accumulator.abort.store(true, Ordering::Release);
            self.accumulator.seal_all();
            let _ = self.accumulator.queue.send(Message::Stop);
            drop(self.appender.lock().take());
            return Ok(());
        }
        self.accumulator.seal_all();
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        let delivered = self.accumulator.wait_finished(deadline);
        if !delivered {
            self.accumulator.abort.store(true, Ordering::Release);
        }
        let _ = self.accumulator.queue.send(Message::Stop);
        if let Some(thread) = self.appender.lock().take() {
            if let Ok(queue) = thread.join() {
                // Every handle resolves: what a racing send sealed after the stop fails.
                self.accumulator.seal_all();
                for message in queue.try_iter() {
                    if let Message::Batch(batch) = message {
                        super::appender::fail(&self.accumulator, batch, &self.metrics);
                    }
                }
            }
        }
        if delivered {
            Ok(())
        } else {
            Err(Error::Timeout(format!(
                "close: records still pending after {timeout:?} failed with Closed"
            )))
        }
    }
}

/// The index of `partition` in a topic's partition lists: `choose_partition` returns only
/// partitions in `0..count`.
fn slot(partition: i32) -> usize {
    usize::try_from(partition).expect("choose_partition returns a partition in 0..count")
}
