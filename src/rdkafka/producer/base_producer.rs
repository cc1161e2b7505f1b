//! rust-rdkafka's `BaseProducer` (delivery reports reach the context's `delivery` when the
//! application calls `poll` or `flush`) and `ThreadedProducer` (a thread calls `poll`).

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use parking_lot::{Condvar, Mutex};

mod threaded;

pub use self::threaded::ThreadedProducer;

use super::core::{Core, CustomPartitioner, Outgoing};
use super::{
    DefaultProducerContext, NoCustomPartitioner, Partitioner, Producer, ProducerContext,
    PurgeConfig,
};
use crate::error::Error;
use crate::producer::RecordMetadata;
use crate::rdkafka::client::Client;
use crate::rdkafka::config::{ClientConfig, FromClientConfig, FromClientConfigAndContext};
use crate::rdkafka::consumer::ConsumerGroupMetadata;
use crate::rdkafka::error::{code_of, KafkaError, KafkaResult, RDKafkaErrorCode};
pub use crate::rdkafka::message::DeliveryResult;
use crate::rdkafka::message::{
    BorrowedMessage, Message, OwnedHeaders, OwnedMessage, Timestamp, ToBytes,
};
use crate::rdkafka::topic_partition_list::TopicPartitionList;
use crate::rdkafka::util::{IntoOpaque, Timeout};

/// A record for the [`BaseProducer`] and [`ThreadedProducer`].
#[derive(Debug)]
pub struct BaseRecord<'a, K: ToBytes + ?Sized = (), P: ToBytes + ?Sized = (), D: IntoOpaque = ()> {
    /// Required destination topic.
    pub topic: &'a str,
    /// Optional destination partition.
    pub partition: Option<i32>,
    /// Optional payload.
    pub payload: Option<&'a P>,
    /// Optional key.
    pub key: Option<&'a K>,
    /// Optional timestamp (milliseconds since the epoch; 0 or none means now).
    pub timestamp: Option<i64>,
    /// Optional message headers.
    pub headers: Option<OwnedHeaders>,
    /// Required delivery opaque (defaults to `()` if not required).
    pub delivery_opaque: D,
}

impl<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized, D: IntoOpaque> BaseRecord<'a, K, P, D> {
    /// Creates a new record with the specified topic name and delivery opaque.
    pub fn with_opaque_to(topic: &'a str, delivery_opaque: D) -> BaseRecord<'a, K, P, D> {
        BaseRecord {
            topic,
            partition: None,
            payload: None,
            key: None,
            timestamp: None,
            headers: None,
            delivery_opaque,
        }
    }

    /// Sets the destination partition of the record.
    pub fn partition(mut self, partition: i32) -> BaseRecord<'a, K, P, D> {
        self.partition = Some(partition);
        self
    }

    /// Sets the payload of the record.
    pub fn payload(mut self, payload: &'a P) -> BaseRecord<'a, K, P, D> {
        self.payload = Some(payload);
        self
    }

    /// Sets the key of the record.
    pub fn key(mut self, key: &'a K) -> BaseRecord<'a, K, P, D> {
        self.key = Some(key);
        self
    }

    /// Sets the timestamp of the record.
    pub fn timestamp(mut self, timestamp: i64) -> BaseRecord<'a, K, P, D> {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the headers of the record.
    pub fn headers(mut self, headers: OwnedHeaders) -> BaseRecord<'a, K, P, D> {
        self.headers = Some(headers);
        self
    }

    /// Sets the destination topic of the record.
    pub fn topic(mut self, topic: &'a str) -> BaseRecord<'a, K, P, D> {
        self.topic = topic;
        self
    }

    /// Sets the delivery opaque of the record.
    pub fn delivery_opaque(mut self, delivery_opaque: D) -> BaseRecord<'a, K, P, D> {
        self.delivery_opaque = delivery_opaque;
        self
    }

    /// The record's bytes, copied for the engine.
    fn outgoing(&self) -> Outgoing {
        Outgoing {
            topic: self.topic.to_string(),
            partition: self.partition,
            key: self.key.map(|key| key.to_bytes().to_vec()),
            payload: self.payload.map(|payload| payload.to_bytes().to_vec()),
            timestamp: self.timestamp,
            headers: self.headers.clone(),
        }
    }
}

impl<'a, K: ToBytes + ?Sized, P: ToBytes + ?Sized> BaseRecord<'a, K, P, ()> {
    /// Creates a new record with the specified topic name.
    pub fn to(topic: &'a str) -> BaseRecord<'a, K, P, ()> {
        BaseRecord::with_opaque_to(topic, ())
    }
}

/// The longest a `poll` or `flush` waits without looking at the statistics' timer.
const STATISTICS_CHECK: Duration = Duration::from_millis(100);

/// A delivery waiting for `poll`: the outcome, the message, and the slot its opaque is put
/// in once `send` returns.
struct Report<D> {
    result: crate::error::Result<RecordMetadata>,
    message: OwnedMessage,
    opaque: Arc<Mutex<Option<D>>>,
}

/// Where the delivery reports wait for `poll`.
type Reports<D> = (Sender<Report<D>>, Receiver<Report<D>>);

/// What `send` gives back with a refused record.
type Refused<'a, K, P, D> = (KafkaError, BaseRecord<'a, K, P, D>);

/// Uncounts a report once its `delivery` call is over, however it ended.
struct Served<'a> {
    core: &'a Core,
    /// The message's payload bytes.
    bytes: u64,
    signal: &'a Signal,
}

impl Drop for Served<'_> {
    fn drop(&mut self) {
        self.core.queued.fetch_sub(1, Ordering::AcqRel);
        self.core
            .queued_bytes
            .fetch_sub(self.bytes, Ordering::AcqRel);
        self.signal.notify();
    }
}

/// Wakes `flush` when a report arrives or is served.
#[derive(Default)]
struct Signal {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Signal {
    fn notify(&self) {
        *self.generation.lock() += 1;
        self.changed.notify_all();
    }
}

/// Lowest level Kafka producer: messages are sent with `send`, their delivery reports are
/// served to the context's `delivery` by `poll` (and `flush`), on the caller's thread.
pub struct BaseProducer<C = DefaultProducerContext, Part = NoCustomPartitioner>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    client: Client<C>,
    core: Core,
    reports: Reports<C::DeliveryOpaque>,
    signal: Arc<Signal>,
    _partitioner: PhantomData<Part>,
}

impl FromClientConfig for BaseProducer<DefaultProducerContext> {
    fn from_config(config: &ClientConfig) -> KafkaResult<BaseProducer<DefaultProducerContext>> {
        BaseProducer::from_config_and_context(config, DefaultProducerContext)
    }
}

impl<C, Part> FromClientConfigAndContext<C> for BaseProducer<C, Part>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        let core = Core::new(config)?;
        Ok(BaseProducer {
            client: Client::new(core.cluster.clone(), Arc::new(context), true)
                .mock_brokers(core.mock_brokers),
            core,
            reports: channel::unbounded(),
            signal: Arc::new(Signal::default()),
            _partitioner: PhantomData,
        })
    }
}

impl<C, Part> BaseProducer<C, Part>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    /// Sends a message. Returns at once: the outcome comes to the context's `delivery` from
    /// a later `poll`. A message refused now (full queue, unknown partition or topic, too
    /// large) comes back with the error.
    #[allow(clippy::result_large_err)]
    pub fn send<'a, K, P>(
        &self,
        record: BaseRecord<'a, K, P, C::DeliveryOpaque>,
    ) -> Result<(), Refused<'a, K, P, C::DeliveryOpaque>>
    where
        K: ToBytes + ?Sized,
        P: ToBytes + ?Sized,
    {
        let outgoing = record.outgoing();
        let custom = self.client.context().get_custom_partitioner();
        let custom = custom.map(|partitioner| {
            move |topic: &str, key: Option<&[u8]>, count: i32| {
                partitioner.partition(topic, key, count, |_| true)
            }
        });
        let placed = self.core.place(
            &outgoing,
            custom.as_ref().map(|f| f as &CustomPartitioner<'_>),
        );
        let partition = match placed {
            Ok(partition) => partition,
            Err(code) => return Err((KafkaError::MessageProduction(code), record)),
        };
        let message = outgoing.to_message(partition, self.core.cluster.clock().now_ms());
        let slot = Arc::new(Mutex::new(None));
        // Held until the opaque is in: a report served before that waits here.
        let mut filled = slot.lock();
        let report_slot = Arc::clone(&slot);
        let sender = self.reports.0.clone();
        let signal = Arc::clone(&self.signal);
        let sent = self.core.send(outgoing, partition, move |result| {
            let _ = sender.send(Report {
                result,
                message,
                opaque: report_slot,
            });
            signal.notify();
        });
        if let Err(code) = sent {
            return Err((KafkaError::MessageProduction(code), record));
        }
        *filled = Some(record.delivery_opaque);
        Ok(())
    }

    /// Serves delivery reports to the context until `timeout` has passed (as rdkafka 0.38's:
    /// it does not return early; `Timeout::Never` serves forever).
    /// The statistics (`statistics.interval.ms`) are emitted from here too, when due.
    pub fn poll<T: Into<Timeout>>(&self, timeout: T) {
        let deadline = timeout.into().deadline();
        loop {
            self.maybe_emit_statistics();
            let report = match self.statistics_wake(deadline) {
                Some(wake) => self.reports.1.recv_deadline(wake),
                None => self
                    .reports
                    .1
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match report {
                Ok(report) => self.serve(report),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                self.maybe_emit_statistics();
                return;
            }
        }
    }

    /// When a wait ending at `deadline` wakes to look at the statistics: when they fall
    /// due, and at least every `STATISTICS_CHECK` (a `MockClock` moves without telling).
    fn statistics_wake(&self, deadline: Option<Instant>) -> Option<Instant> {
        let Some(due) = self.core.statistics_due_in() else {
            return deadline;
        };
        let wake = Instant::now().checked_add(due.min(STATISTICS_CHECK));
        match (deadline, wake) {
            (Some(deadline), Some(wake)) => Some(deadline.min(wake)),
            (deadline, wake) => deadline.or(wake),
        }
    }

    fn maybe_emit_statistics(&self) {
        self.core
            .maybe_emit_statistics(self.client.context().as_ref(), self.reports.1.len());
    }

    fn serve_ready(&self) {
        while let Ok(report) = self.reports.1.try_recv() {
            self.serve(report);
        }
    }

    fn serve(&self, report: Report<C::DeliveryOpaque>) {
        let Some(opaque) = report.opaque.lock().take() else {
            return;
        };
        let bytes = report.message.payload().map_or(0, <[u8]>::len) as u64;
        let result = match report.result {
            Ok(metadata) => Ok(BorrowedMessage::from_owned(
                report
                    .message
                    .set_partition(metadata.partition)
                    .set_offset(metadata.offset)
                    .set_timestamp(Timestamp::of(metadata.timestamp, metadata.timestamp_type)),
            )),
            Err(error) => Err((
                KafkaError::MessageProduction(delivery_code(&error)),
                BorrowedMessage::from_owned(report.message),
            )),
        };
        // Counted until its report was served, as librdkafka's flush counts it: a flush
        // returns only after the last `delivery` has (or has panicked).
        let _served = Served {
            core: &self.core,
            bytes,
            signal: &self.signal,
        };
        self.client.context().delivery(&result, opaque);
    }
}

/// librdkafka's code for a failed delivery.
fn delivery_code(error: &Error) -> RDKafkaErrorCode {
    match error {
        Error::Timeout(_) => RDKafkaErrorCode::MessageTimedOut,
        _ => code_of(error),
    }
}

impl<C, Part> Producer<C, Part> for BaseProducer<C, Part>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    fn client(&self) -> &Client<C> {
        &self.client
    }

    fn in_flight_count(&self) -> i32 {
        i32::try_from(self.core.queued.load(Ordering::Acquire)).unwrap_or(i32::MAX)
    }

    fn flush<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        let timeout = timeout.into();
        let deadline = timeout.deadline();
        self.core.flush_engine(timeout)?;
        loop {
            let generation = *self.signal.generation.lock();
            self.maybe_emit_statistics();
            self.serve_ready();
            if self.core.queued.load(Ordering::Acquire) <= 0 {
                return Ok(());
            }
            let mut current = self.signal.generation.lock();
            if *current == generation {
                match self.statistics_wake(deadline) {
                    Some(wake) => {
                        let timed_out = self
                            .signal
                            .changed
                            .wait_until(&mut current, wake)
                            .timed_out();
                        if timed_out && deadline.is_some_and(|deadline| Instant::now() >= deadline)
                        {
                            return Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
                        }
                    }
                    None => self.signal.changed.wait(&mut current),
                }
            }
        }
    }

    fn purge(&self, flags: PurgeConfig) {
        tracing::warn!(
            target: "kafkalite::rdkafka",
            queue = flags.queue,
            inflight = flags.inflight,
            "purge: kafkalite writes messages as it takes them, so there is nothing queued \
             to fail; the messages will be delivered"
        );
    }

    fn init_transactions<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.core.init_transactions(timeout.into())
    }

    fn begin_transaction(&self) -> KafkaResult<()> {
        self.core.begin_transaction()
    }

    fn send_offsets_to_transaction<T: Into<Timeout>>(
        &self,
        offsets: &TopicPartitionList,
        cgm: &ConsumerGroupMetadata,
        timeout: T,
    ) -> KafkaResult<()> {
        self.core
            .send_offsets_to_transaction(offsets, cgm, timeout.into())
    }

    fn commit_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        let timeout = timeout.into();
        self.core.commit_transaction(timeout)?;
        // As librdkafka's commit, which flushes: the reports of the transaction's messages
        // are served.
        self.serve_ready();
        Ok(())
    }

    fn abort_transaction<T: Into<Timeout>>(&self, timeout: T) -> KafkaResult<()> {
        self.core.abort_transaction(timeout.into())?;
        self.serve_ready();
        Ok(())
    }
}

impl<C, Part> Drop for BaseProducer<C, Part>
where
    Part: Partitioner,
    C: ProducerContext<Part>,
{
    /// As rdkafka's: waits up to 500 ms for outstanding messages, serving their reports.
    fn drop(&mut self) {
        if let Err(error) = self.flush(Duration::from_millis(500)) {
            tracing::warn!(
                target: "kafkalite::rdkafka",
                "Failed to flush outstanding messages while dropping the producer: {error:?}"
            );
        }
    }
}
