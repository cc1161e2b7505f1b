//! rust-rdkafka's partition queues: `split_partition_queue` takes one partition's messages
//! out of the consumer's `poll` (`recv`) into a queue of their own, as librdkafka's
//! `rd_kafka_queue_get_partition` with its forwarding cleared. The split lasts: whenever the
//! partition is assigned, its messages, end-of-partition events and errors come through the
//! queue, and the consumer's `poll` must still be called to serve rebalances, commits and
//! statistics.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::base_consumer::BaseConsumer;
use super::nonempty::Watch;
use super::stream_consumer::{MessageStream, StreamConsumer};
use super::ConsumerContext;
use crate::group::TopicPartition;
use crate::rdkafka::error::{code_of, KafkaError, KafkaResult};
use crate::rdkafka::message::BorrowedMessage;
use crate::rdkafka::util::{DefaultRuntime, Timeout};
use crate::Records;

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Splits messages for the specified partition into their own queue; `None` if the
    /// topic name or partition cannot be one, or inside a rebalance callback (the consumer is busy
    /// in its poll). From now on, whenever the partition is
    /// assigned, its messages are returned by [`PartitionQueue::poll`] rather than
    /// [`BaseConsumer::poll`], which must still be called to serve rebalances and
    /// callbacks. (The split survives `assign`, as in librdkafka since 1.9.)
    ///
    /// Implemented for `&Arc<Self>`, as rdkafka's: the queue may move to another thread
    /// and keeps the consumer alive.
    pub fn split_partition_queue(
        self: &Arc<Self>,
        topic: &str,
        partition: i32,
    ) -> Option<PartitionQueue<C>> {
        let partition = split(self, topic, partition)?;
        Some(PartitionQueue {
            consumer: Arc::clone(self),
            partition,
            nonempty: None,
        })
    }

    /// A split partition's next message, end or error, as its queue hands it out.
    fn split_message(&self, records: Records) -> Handed<'_> {
        if let Some(record) = records.iter().next() {
            // Revoked (or unassigned) since it was read, while the consumer was free: as
            // librdkafka drops a message of an outdated fetch, it is not handed out.
            if !self.shared().inner.is_assigned(record.topic_partition()) {
                return Handed::Outdated;
            }
            return Handed::Message(self.hand_out(record.to_owned()));
        }
        if let Some(tp) = records.eof().first() {
            return Handed::Message(Err(KafkaError::PartitionEOF(tp.partition)));
        }
        match records.errors().into_iter().next() {
            Some((_, error)) => {
                Handed::Message(Err(KafkaError::MessageConsumption(code_of(&error))))
            }
            None => Handed::Nothing,
        }
    }
}

/// What a read of a split partition gives its queue.
enum Handed<'a> {
    Message(KafkaResult<BorrowedMessage<'a>>),
    /// Nothing came in time.
    Nothing,
    /// A record of a partition no longer assigned: read again.
    Outdated,
}

/// Marks `topic`/`partition` split in `base`'s consumer: `None` for a name no topic can
/// have or a negative partition.
fn split<C: ConsumerContext>(
    base: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
) -> Option<TopicPartition> {
    if partition < 0 || crate::cluster::validate_topic_name(topic).is_err() {
        return None;
    }
    let tp = TopicPartition::new(topic, partition);
    base.shared().inner.split(tp.clone()).ok()?;
    base.shared()
        .split
        .store(true, std::sync::atomic::Ordering::Relaxed);
    Some(tp)
}

/// A message queue for a single partition of a [`BaseConsumer`]: see
/// [`BaseConsumer::split_partition_queue`].
pub struct PartitionQueue<C: ConsumerContext> {
    consumer: Arc<BaseConsumer<C>>,
    partition: TopicPartition,
    /// The nonempty callback's watcher.
    nonempty: Option<Watch>,
}

impl<C: ConsumerContext> PartitionQueue<C> {
    /// Polls the partition for its next message (or end-of-partition event, or error),
    /// waiting up to `timeout`. The consumer's own `poll` must still be called regularly
    /// to serve rebalances and callbacks.
    pub fn poll<T: Into<Timeout>>(&self, timeout: T) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        let deadline = timeout.into().deadline();
        let inner = &self.consumer.shared().inner;
        let message = loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match inner.poll_split(&self.partition, left) {
                Ok(records) => match self.consumer.split_message(records) {
                    Handed::Message(message) => break Some(message),
                    Handed::Nothing => break None,
                    Handed::Outdated => {}
                },
                Err(error) => break Some(Err(KafkaError::MessageConsumption(code_of(&error)))),
            }
        };
        if let Some(watch) = &self.nonempty {
            if message.is_none() || !inner.split_readable(&self.partition) {
                watch.emptied();
            }
        }
        message
    }

    /// Sets a callback called whenever something arrives while the queue is empty (as
    /// librdkafka's, not for what it holds already), on a thread of the facade's; it
    /// replaces the one set before.
    pub fn set_nonempty_callback<F>(&mut self, f: F)
    where
        F: Fn() + Send + Sync + 'static,
    {
        // The old watcher stops first.
        self.nonempty = None;
        self.nonempty = Some(Watch::start(
            self.consumer.shared(),
            self.partition.clone(),
            Box::new(f),
        ));
    }
}

impl<C: ConsumerContext, R> StreamConsumer<C, R> {
    /// Splits messages for the specified partition into their own stream; `None` if the
    /// topic name or partition cannot be one, or inside a rebalance callback (the consumer is busy
    /// in its poll). From now on, whenever the partition is
    /// assigned, its messages come from [`StreamPartitionQueue::recv`] rather than
    /// [`StreamConsumer::recv`], which must still be awaited to serve rebalances and
    /// callbacks. Implemented for `&Arc<Self>`, as rdkafka's.
    pub fn split_partition_queue(
        self: &Arc<Self>,
        topic: &str,
        partition: i32,
    ) -> Option<StreamPartitionQueue<C, R>> {
        let partition = split(self.base(), topic, partition)?;
        Some(StreamPartitionQueue {
            consumer: Arc::clone(self),
            partition,
        })
    }
}

/// A message queue for a single partition of a [`StreamConsumer`]: see
/// [`StreamConsumer::split_partition_queue`].
pub struct StreamPartitionQueue<C: ConsumerContext, R = DefaultRuntime> {
    consumer: Arc<StreamConsumer<C, R>>,
    partition: TopicPartition,
}

impl<C: ConsumerContext, R> StreamPartitionQueue<C, R> {
    /// A stream of this partition's messages. Streams of one partition share it: each
    /// message goes to one of them.
    pub fn stream(&self) -> MessageStream<'_, C> {
        MessageStream::of_partition(self.consumer.base(), self.partition.clone())
    }

    /// Receives the partition's next message (or end-of-partition event, or error).
    pub async fn recv(&self) -> Result<BorrowedMessage<'_>, KafkaError> {
        let base = self.consumer.base();
        std::future::poll_fn(|cx| poll_split_next(base, &self.partition, cx)).await
    }
}

/// The next message, end or error of the split partition `tp` (the one step a partition's
/// `recv` and stream share).
pub(super) fn poll_split_next<'a, C: ConsumerContext>(
    base: &'a BaseConsumer<C>,
    tp: &TopicPartition,
    cx: &mut Context<'_>,
) -> Poll<KafkaResult<BorrowedMessage<'a>>> {
    loop {
        let records = match base.shared().inner.poll_split_event(tp, cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(records)) => records,
            Poll::Ready(Err(error)) => {
                return Poll::Ready(Err(KafkaError::MessageConsumption(code_of(&error))))
            }
        };
        if let Handed::Message(message) = base.split_message(records) {
            return Poll::Ready(message);
        }
    }
}
