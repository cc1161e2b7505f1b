//! rust-rdkafka's consumers (`rdkafka::consumer`): [`BaseConsumer`] (`poll` one message at a
//! time), [`StreamConsumer`] (`recv().await`, `stream()`), the [`Consumer`] trait, and the
//! [`ConsumerContext`] whose `rebalance` (by default `pre_rebalance`, the assign call,
//! `post_rebalance`) runs inside `poll`, with the consumer in hand, as librdkafka's
//! rebalance callback does.

mod assignment;
mod auto_commit;
pub mod base_consumer;
mod calls;
mod close;
mod nonempty;
mod offset_store;
mod partition_queue;
mod rebalance;
mod statistics;
pub mod stream_consumer;

use std::sync::Arc;

pub use self::base_consumer::BaseConsumer;
pub use self::stream_consumer::{MessageStream, StreamConsumer};
use super::client::{Client, ClientContext};
use super::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use super::groups::GroupList;
use super::message::BorrowedMessage;
use super::metadata::Metadata;
use super::topic_partition_list::{Offset, TopicPartitionList};
use super::types::RDKafkaRespErr;
use super::util::Timeout;

/// Rebalance information.
#[derive(Clone, Debug)]
pub enum Rebalance<'a> {
    /// A new partition assignment is received.
    Assign(&'a TopicPartitionList),
    /// A new partition revocation is received.
    Revoke(&'a TopicPartitionList),
    /// Unexpected error from Kafka.
    Error(KafkaError),
}

/// Consumer-specific context: rebalance and commit callbacks. The rebalance callbacks get
/// the consumer, so they may assign, commit, store, seek, pause or read the assignment. (`'static`,
/// which rdkafka does not ask: the facade's rebalance bridge keeps the context.)
pub trait ConsumerContext: ClientContext + Sized + 'static {
    /// The rebalance callback: `err` is `_ASSIGN_PARTITIONS` with the partitions the group
    /// gives, or `_REVOKE_PARTITIONS` with those it takes (also when they were lost:
    /// `assignment_lost()`). It runs inside `poll`, and must make the assignment change
    /// itself, as librdkafka's: the default calls
    /// [`pre_rebalance`](ConsumerContext::pre_rebalance), then `assign`/`unassign` (eager)
    /// or `incremental_assign`/`incremental_unassign` (cooperative) with `tpl`, then
    /// [`post_rebalance`](ConsumerContext::post_rebalance). An override decides what is
    /// fetched: the offsets it sets in the list it assigns are the start positions
    /// (`Offset::Invalid` or `Stored`: the committed offset), and a partition it does not
    /// assign is not fetched until an assign call names it. What an override leaves
    /// assigned of a revocation is removed when it returns (librdkafka would wait for the
    /// unassign call), and only the partitions the group gave can be assigned (an error
    /// names any other).
    fn rebalance(
        &self,
        base_consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let rebalance = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Rebalance::Assign(tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Rebalance::Revoke(tpl),
            _ => {
                let code = RDKafkaErrorCode::from(err);
                tracing::error!(target: "kafkalite::rdkafka", "Error rebalancing: {code}");
                Rebalance::Error(KafkaError::Rebalance(code))
            }
        };
        self.pre_rebalance(base_consumer, &rebalance);
        let assign = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        let changed = match (assign, base_consumer.rebalance_protocol()) {
            (true, RebalanceProtocol::Cooperative) => base_consumer.incremental_assign(tpl),
            (true, _) => base_consumer.assign(tpl),
            (false, RebalanceProtocol::Cooperative) => base_consumer.incremental_unassign(tpl),
            (false, _) => base_consumer.unassign(),
        };
        // As librdkafka's rd_kafka_cgrp_handle_assign_op, whose caller may not look.
        if let Err(error) = changed {
            tracing::warn!(target: "kafkalite::rdkafka", "application *assign() call failed: {error}");
        }
        self.post_rebalance(base_consumer, &rebalance);
    }

    /// Pre-rebalance callback, called by the default [`rebalance`](ConsumerContext::rebalance)
    /// before the assignment changes (a revocation is about to take effect: commit what was
    /// processed now). An overridden `rebalance` calls it only if it does so itself.
    #[allow(unused_variables)]
    fn pre_rebalance(&self, base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {}

    /// Post-rebalance callback, called by the default [`rebalance`](ConsumerContext::rebalance)
    /// after the assignment changed.
    #[allow(unused_variables)]
    fn post_rebalance(&self, base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {}

    /// Receives the outcome of automatic commits (`enable.auto.commit`: the interval's,
    /// those of partitions leaving the assignment, the one at close), with the offsets
    /// committed, at the next poll. As rust-rdkafka's, it never hears a manual commit, not
    /// even an asynchronous one (rust-rdkafka issue #856).
    #[allow(unused_variables)]
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {}

    /// Returns the minimum interval at which to poll the main queue (kept for
    /// compatibility: the facade has no main queue).
    fn main_queue_min_poll_interval(&self) -> Timeout {
        Timeout::After(std::time::Duration::from_millis(1000))
    }
}

/// An inert [`ConsumerContext`] that can be used when no customizations are needed.
#[derive(Clone, Debug, Default)]
pub struct DefaultConsumerContext;

impl ClientContext for DefaultConsumerContext {}
impl ConsumerContext for DefaultConsumerContext {}

/// Specifies whether a commit should be performed synchronously or asynchronously.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Synchronous commit.
    Sync = 0,
    /// Asynchronous commit: the call does not fail with the commit (a failure is logged;
    /// as rust-rdkafka's, no callback hears it).
    Async = 1,
}

/// Consumer group metadata, for `send_offsets_to_transaction`.
#[derive(Clone, Debug)]
pub struct ConsumerGroupMetadata(crate::group::ConsumerGroupMetadata);

impl ConsumerGroupMetadata {
    pub(crate) fn new(inner: crate::group::ConsumerGroupMetadata) -> Self {
        ConsumerGroupMetadata(inner)
    }

    pub(crate) fn inner(&self) -> &crate::group::ConsumerGroupMetadata {
        &self.0
    }
}

/// The rebalance protocol for a consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebalanceProtocol {
    /// The consumer has not (yet) joined a group.
    None,
    /// Eager rebalance protocol.
    Eager,
    /// Cooperative rebalance protocol.
    Cooperative,
}

/// Common trait for all consumers.
pub trait Consumer<C = DefaultConsumerContext>
where
    C: ConsumerContext,
{
    /// Returns the [`Client`] underlying this consumer.
    fn client(&self) -> &Client<C>;

    /// Returns a reference to the [`ConsumerContext`] used to create this consumer.
    fn context(&self) -> &Arc<C> {
        self.client().context()
    }

    /// Returns the current consumer group metadata associated with the consumer.
    fn group_metadata(&self) -> Option<ConsumerGroupMetadata>;

    /// Subscribes the consumer to a list of topics (a topic starting with `^` is a regular
    /// expression, as librdkafka's).
    fn subscribe(&self, topics: &[&str]) -> KafkaResult<()>;

    /// Unsubscribes the current subscription list.
    fn unsubscribe(&self);

    /// Manually assigns topics and partitions to the consumer.
    fn assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()>;

    /// Clears all topic and partitions currently assigned to the consumer.
    fn unassign(&self) -> KafkaResult<()>;

    /// Incrementally adds partitions to the current assignment.
    fn incremental_assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()>;

    /// Incrementally removes partitions from the current assignment.
    fn incremental_unassign(&self, assignment: &TopicPartitionList) -> KafkaResult<()>;

    /// Seeks to `offset` for the specified `topic` and `partition`.
    fn seek<T: Into<Timeout>>(
        &self,
        topic: &str,
        partition: i32,
        offset: Offset,
        timeout: T,
    ) -> KafkaResult<()>;

    /// Seeks consumer for partitions in `topic_partition_list`; per-partition errors are in
    /// the returned list's elements.
    fn seek_partitions<T: Into<Timeout>>(
        &self,
        topic_partition_list: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>;

    /// Commits the offsets in the list (each the next offset to consume).
    fn commit(
        &self,
        topic_partition_list: &TopicPartitionList,
        mode: CommitMode,
    ) -> KafkaResult<()>;

    /// Commits the consumer's stored offsets (with `enable.auto.offset.store`, what was
    /// handed out).
    fn commit_consumer_state(&self, mode: CommitMode) -> KafkaResult<()>;

    /// Commits the provided message (its offset + 1).
    fn commit_message(&self, message: &BorrowedMessage<'_>, mode: CommitMode) -> KafkaResult<()>;

    /// Stores `offset + 1` for the next commit, as librdkafka's `rd_kafka_offset_store`
    /// (needs `enable.auto.offset.store=false`).
    fn store_offset(&self, topic: &str, partition: i32, offset: i64) -> KafkaResult<()>;

    /// Stores the offset of the message + 1 for the next commit.
    fn store_offset_from_message(&self, message: &BorrowedMessage<'_>) -> KafkaResult<()>;

    /// Stores the offsets of the list as they are (each the next offset to consume).
    fn store_offsets(&self, tpl: &TopicPartitionList) -> KafkaResult<()>;

    /// Returns the current topic subscription.
    fn subscription(&self) -> KafkaResult<TopicPartitionList>;

    /// Returns the current partition assignment.
    fn assignment(&self) -> KafkaResult<TopicPartitionList>;

    /// Whether the current assignment was lost (the group took it away) rather than
    /// revoked: valid inside a rebalance callback.
    fn assignment_lost(&self) -> bool;

    /// Retrieves the committed offsets of the assigned partitions.
    fn committed<T>(&self, timeout: T) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
        Self: Sized;

    /// Retrieves the committed offsets of the partitions of `tpl`.
    fn committed_offsets<T>(
        &self,
        tpl: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>;

    /// Looks up the offsets of the assigned partitions by timestamp.
    fn offsets_for_timestamp<T>(
        &self,
        timestamp: i64,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
        Self: Sized;

    /// Looks up the offsets by timestamp: each element's offset is a timestamp in ms.
    fn offsets_for_times<T>(
        &self,
        timestamps: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
        Self: Sized;

    /// Retrieves the current positions (offset of the last handed-out message + 1) of the
    /// assigned partitions.
    fn position(&self) -> KafkaResult<TopicPartitionList>;

    /// Returns the metadata information for the specified topic, or for all topics.
    fn fetch_metadata<T>(&self, topic: Option<&str>, timeout: T) -> KafkaResult<Metadata>
    where
        T: Into<Timeout>,
        Self: Sized,
    {
        self.client().fetch_metadata(topic, timeout)
    }

    /// Returns the low and high watermarks for a specific topic and partition.
    fn fetch_watermarks<T>(
        &self,
        topic: &str,
        partition: i32,
        timeout: T,
    ) -> KafkaResult<(i64, i64)>
    where
        T: Into<Timeout>,
        Self: Sized,
    {
        self.client().fetch_watermarks(topic, partition, timeout)
    }

    /// Returns the groups of the cluster (or the one named) with their members.
    fn fetch_group_list<T>(&self, group: Option<&str>, timeout: T) -> KafkaResult<GroupList>
    where
        T: Into<Timeout>,
        Self: Sized,
    {
        self.client().fetch_group_list(group, timeout)
    }

    /// Pauses consumption for the provided list of partitions.
    fn pause(&self, partitions: &TopicPartitionList) -> KafkaResult<()>;

    /// Resumes consumption for the provided list of partitions.
    fn resume(&self, partitions: &TopicPartitionList) -> KafkaResult<()>;

    /// Reports the rebalance protocol in use.
    fn rebalance_protocol(&self) -> RebalanceProtocol;
}
