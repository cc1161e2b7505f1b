//! rust-rdkafka's `StreamConsumer`: `recv().await` and `stream()`, on any executor. No
//! polling loop and no timer thread: a pending receive waits on the cluster's notifications
//! (appends, group changes, clock jumps), as kafkalite's own `Consumer::recv` does.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::consumer::Received;

use super::base_consumer::InRebalance;
use super::partition_queue::poll_split_next;
pub use super::partition_queue::StreamPartitionQueue;
use super::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, ConsumerGroupMetadata,
    DefaultConsumerContext, RebalanceProtocol,
};
use crate::group::TopicPartition;
use crate::rdkafka::client::Client;
use crate::rdkafka::config::{ClientConfig, FromClientConfig, FromClientConfigAndContext};
use crate::rdkafka::error::{code_of, KafkaError, KafkaResult};
use crate::rdkafka::message::BorrowedMessage;
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use crate::rdkafka::util::{AsyncRuntime, DefaultRuntime, Timeout};

/// A stream of messages from a [`StreamConsumer`].
pub struct MessageStream<'a, C: ConsumerContext> {
    base: &'a BaseConsumer<C>,
    /// A receive returned `Pending` (the member counts as inside `poll` until it ends).
    pending: bool,
    /// A split partition's stream ([`StreamPartitionQueue::stream`]) reads it alone.
    partition: Option<TopicPartition>,
}

impl<'a, C: ConsumerContext> MessageStream<'a, C> {
    pub(super) fn of_partition(base: &'a BaseConsumer<C>, partition: TopicPartition) -> Self {
        MessageStream {
            base,
            pending: false,
            partition: Some(partition),
        }
    }
}

impl<C: ConsumerContext> Drop for MessageStream<'_, C> {
    fn drop(&mut self) {
        self.base.shared().inner.end_receive(&mut self.pending);
    }
}

/// The next message, end-of-partition event or error for `base` (the one step `recv` and
/// the stream share).
fn poll_next_of<'a, C: ConsumerContext>(
    base: &'a BaseConsumer<C>,
    pending: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<KafkaResult<BorrowedMessage<'a>>> {
    base.maybe_emit_statistics();
    base.maybe_auto_commit();
    if base.serve_commit_reports() {
        // As rdkafka's stream after an offset-commit event: looks again at once.
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    if let Some(event) = base.next_event() {
        return Poll::Ready(Err(event));
    }
    base.leave_if_unsubscribed(InRebalance::Wait);
    let inner = &base.shared().inner;
    let seen = inner.notify_sequence();
    let polled = inner.poll_event(cx, pending, true);
    if polled.is_pending() {
        // A removal commit made in that poll (a revocation) is reported now, not at the
        // next wake.
        let _ = base.serve_commit_reports();
        if base.unsubscribe_due() {
            // The rebalance an unsubscribe waited for completed in that poll: it is
            // carried out now, not when a message comes.
            cx.waker().wake_by_ref();
        }
    }
    if let Poll::Ready(Err(crate::Error::IllegalState(_))) = &polled {
        if base.is_idle() {
            // Neither subscribed nor assigned: nothing to receive until that changes (as
            // librdkafka's consumer, which waits).
            inner.wait_after(seen, cx);
            return Poll::Pending;
        }
    }
    polled.map(|received| {
        base.push_pending_stores();
        match received {
            Ok(Received::Record(record)) => base.hand_out(record),
            Ok(Received::End(tp)) => Err(KafkaError::PartitionEOF(tp.partition)),
            Err(error) => Err(KafkaError::MessageConsumption(code_of(&error))),
        }
    })
}

impl<'a, C: ConsumerContext> Stream for MessageStream<'a, C> {
    type Item = KafkaResult<BorrowedMessage<'a>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match &this.partition {
            Some(tp) => poll_split_next(this.base, tp, cx).map(Some),
            None => poll_next_of(this.base, &mut this.pending, cx).map(Some),
        }
    }
}

/// A consumer whose messages are received with `recv().await` or as a `Stream`.
#[must_use = "Consumer polling thread will stop immediately if unused"]
pub struct StreamConsumer<C = DefaultConsumerContext, R = DefaultRuntime>
where
    C: ConsumerContext,
{
    base: Arc<BaseConsumer<C>>,
    _runtime: PhantomData<R>,
}

impl<R: AsyncRuntime> FromClientConfig for StreamConsumer<DefaultConsumerContext, R> {
    fn from_config(config: &ClientConfig) -> KafkaResult<Self> {
        StreamConsumer::from_config_and_context(config, DefaultConsumerContext)
    }
}

impl<C, R> FromClientConfigAndContext<C> for StreamConsumer<C, R>
where
    C: ConsumerContext,
    R: AsyncRuntime,
{
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<Self> {
        Ok(StreamConsumer {
            base: Arc::new(BaseConsumer::from_config_and_context(config, context)?),
            _runtime: PhantomData,
        })
    }
}

impl<C, R> StreamConsumer<C, R>
where
    C: ConsumerContext,
{
    /// Constructs a stream that yields messages from this consumer.
    pub fn stream(&self) -> MessageStream<'_, C> {
        MessageStream {
            base: &self.base,
            pending: false,
            partition: None,
        }
    }

    pub(super) fn base(&self) -> &BaseConsumer<C> {
        &self.base
    }

    /// Receives the next message (or end-of-partition event, or error).
    pub async fn recv(&self) -> Result<BorrowedMessage<'_>, KafkaError> {
        let mut stream = self.stream();
        std::future::poll_fn(|cx| poll_next_of(stream.base, &mut stream.pending, cx)).await
    }
}

impl<C, R> Consumer<C> for StreamConsumer<C, R>
where
    C: ConsumerContext,
{
    fn client(&self) -> &Client<C> {
        self.base.client()
    }

    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.base.group_metadata()
    }

    fn subscribe(&self, topics: &[&str]) -> KafkaResult<()> {
        self.base.subscribe(topics)
    }

    fn unsubscribe(&self) {
        self.base.unsubscribe();
    }

    fn assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.base.assign(assignment)
    }

    fn unassign(&self) -> KafkaResult<()> {
        self.base.unassign()
    }

    fn incremental_assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.base.incremental_assign(assignment)
    }

    fn incremental_unassign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.base.incremental_unassign(assignment)
    }

    fn seek<T: Into<Timeout>>(
        &self,
        topic: &str,
        partition: i32,
        offset: Offset,
        timeout: T,
    ) -> KafkaResult<()> {
        self.base.seek(topic, partition, offset, timeout)
    }

    fn seek_partitions<T: Into<Timeout>>(
        &self,
        topic_partition_list: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList> {
        self.base.seek_partitions(topic_partition_list, timeout)
    }

    fn commit(
        &self,
        topic_partition_list: &TopicPartitionList,
        mode: CommitMode,
    ) -> KafkaResult<()> {
        self.base.commit(topic_partition_list, mode)
    }

    fn commit_consumer_state(&self, mode: CommitMode) -> KafkaResult<()> {
        self.base.commit_consumer_state(mode)
    }

    fn commit_message(&self, message: &BorrowedMessage<'_>, mode: CommitMode) -> KafkaResult<()> {
        self.base.commit_message(message, mode)
    }

    fn store_offset(&self, topic: &str, partition: i32, offset: i64) -> KafkaResult<()> {
        self.base.store_offset(topic, partition, offset)
    }

    fn store_offset_from_message(&self, message: &BorrowedMessage<'_>) -> KafkaResult<()> {
        self.base.store_offset_from_message(message)
    }

    fn store_offsets(&self, tpl: &TopicPartitionList) -> KafkaResult<()> {
        self.base.store_offsets(tpl)
    }

    fn subscription(&self) -> KafkaResult<TopicPartitionList> {
        self.base.subscription()
    }

    fn assignment(&self) -> KafkaResult<TopicPartitionList> {
        self.base.assignment()
    }

    fn assignment_lost(&self) -> bool {
        self.base.assignment_lost()
    }

    fn committed<T>(&self, timeout: T) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.base.committed(timeout)
    }

    fn committed_offsets<T>(
        &self,
        tpl: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.base.committed_offsets(tpl, timeout)
    }

    fn offsets_for_timestamp<T>(
        &self,
        timestamp: i64,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.base.offsets_for_timestamp(timestamp, timeout)
    }

    fn offsets_for_times<T>(
        &self,
        timestamps: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.base.offsets_for_times(timestamps, timeout)
    }

    fn position(&self) -> KafkaResult<TopicPartitionList> {
        self.base.position()
    }

    fn pause(&self, partitions: &TopicPartitionList) -> KafkaResult<()> {
        self.base.pause(partitions)
    }

    fn resume(&self, partitions: &TopicPartitionList) -> KafkaResult<()> {
        self.base.resume(partitions)
    }

    fn rebalance_protocol(&self) -> RebalanceProtocol {
        self.base.rebalance_protocol()
    }
}
