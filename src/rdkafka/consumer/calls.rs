//! The `Consumer` trait's calls on a [`BaseConsumer`]: outside a rebalance callback they
//! go to the kafkalite consumer; inside one (the consumer is busy in its poll) to the
//! facade's own state, the committer and the cluster.

use std::sync::Arc;

use super::assignment::Change;
use super::base_consumer::{list_of, partitions_of, position_of, tp, BaseConsumer, InRebalance};
use super::offset_store::settle;
use super::rebalance::Bridge;
use super::{CommitMode, Consumer, ConsumerContext, ConsumerGroupMetadata, RebalanceProtocol};
use crate::group::{OffsetAndMetadata, Offsets};
use crate::rdkafka::client::Client;
use crate::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use crate::rdkafka::message::{BorrowedMessage, Message};
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use crate::rdkafka::util::Timeout;

impl<C: ConsumerContext> Consumer<C> for BaseConsumer<C> {
    fn client(&self) -> &Client<C> {
        &self.client
    }

    fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        if self.callback.is_some() {
            return None;
        }
        self.shared
            .inner
            .group_metadata()
            .map(ConsumerGroupMetadata::new)
    }

    fn subscribe(&self, topics: &[&str]) -> KafkaResult<()> {
        if self.callback.is_some() {
            return Err(KafkaError::Subscription(
                RDKafkaErrorCode::State.description().into(),
            ));
        }
        if !self.shared.has_group() {
            return Err(KafkaError::Subscription(
                RDKafkaErrorCode::UnknownGroup.description().into(),
            ));
        }
        let bridge = Bridge::new(
            Arc::clone(self.client.context()),
            self.client.cluster().clone(),
            Arc::downgrade(&self.shared),
        );
        // An unsubscribe made before this call takes effect before it, or, waiting for a
        // rebalance, is replaced by it once it succeeds (librdkafka's
        // rd_kafka_cgrp_subscribe).
        self.leave_if_unsubscribed(InRebalance::Wait);
        let _membership = self.shared.membership.lock();
        let subscribed = if topics.iter().any(|t| t.starts_with('^')) {
            subscribe_regex(&self.shared.inner, topics, bridge)
        } else {
            self.shared.inner.subscribe_with(topics, bridge)
        };
        subscribed.map_err(|error| KafkaError::Subscription(error.to_string()))?;
        *self.shared.committer.lock() = self.shared.inner.committer().ok();
        let mut local = self.shared.local.lock();
        local.subscription = topics.iter().map(|t| t.to_string()).collect();
        local.unsubscribe_pending = false;
        drop(local);
        self.shared.inner.nudge();
        Ok(())
    }

    /// Leaves the group at the next poll (or close), where the revocation callbacks run,
    /// as librdkafka serves them.
    fn unsubscribe(&self) {
        if self.callback.is_some() {
            return;
        }
        let mut local = self.shared.local.lock();
        // librdkafka: a manual assignment is no subscription, and stays.
        if local.subscription.is_empty() {
            return;
        }
        local.subscription.clear();
        local.unsubscribe_pending = true;
        drop(local);
        // A receive waiting for records serves it now.
        self.shared.inner.nudge();
    }

    fn assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.change_assignment(Change::Replace(Self::offsets_of(assignment)?))
    }

    fn unassign(&self) -> KafkaResult<()> {
        self.change_assignment(Change::Replace(Vec::new()))
    }

    fn incremental_assign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.change_assignment(Change::Add(Self::offsets_of(assignment)?))
    }

    fn incremental_unassign(&self, assignment: &TopicPartitionList) -> KafkaResult<()> {
        self.change_assignment(Change::Remove(partitions_of(assignment)))
    }

    fn seek<T: Into<Timeout>>(
        &self,
        topic: &str,
        partition: i32,
        offset: Offset,
        timeout: T,
    ) -> KafkaResult<()> {
        let _ = timeout.into();
        let partition = tp(topic, partition);
        // librdkafka's rd_kafka_toppar_seek refuses OFFSET_STORED.
        if offset == Offset::Stored {
            return Err(KafkaError::Seek(
                RDKafkaErrorCode::InvalidArgument.description().into(),
            ));
        }
        let position = position_of(offset)
            .ok_or_else(|| KafkaError::Seek("Local: Unrepresentable offset".into()))?;
        if !self.assignment_now().contains(&partition) {
            return Err(KafkaError::Seek(
                RDKafkaErrorCode::UnknownPartition.description().into(),
            ));
        }
        if let Some(callback) = &self.callback {
            callback.lock().seeks.push((partition.clone(), position));
        } else {
            self.shared
                .inner
                .seek(&partition, position)
                .map_err(|error| KafkaError::Seek(error.to_string()))?;
        }
        // As librdkafka (#3567): a seek is a new start, so the application position is
        // unknown (`Offset::Invalid`) until a message is handed out.
        self.shared.local.lock().positions.remove(&partition);
        Ok(())
    }

    fn seek_partitions<T: Into<Timeout>>(
        &self,
        topic_partition_list: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList> {
        let timeout = timeout.into();
        for elem in topic_partition_list.elements() {
            if let Err(error) = self.seek(elem.topic(), elem.partition(), elem.offset(), timeout) {
                let code = match error {
                    KafkaError::Seek(_) => RDKafkaErrorCode::UnknownPartition,
                    _ => RDKafkaErrorCode::Fail,
                };
                topic_partition_list.set_error(elem.topic(), elem.partition(), code);
            }
        }
        Ok(topic_partition_list)
    }

    fn commit(
        &self,
        topic_partition_list: &TopicPartitionList,
        mode: CommitMode,
    ) -> KafkaResult<()> {
        settle(mode, self.commit_list(topic_partition_list))
    }

    fn commit_consumer_state(&self, mode: CommitMode) -> KafkaResult<()> {
        settle(mode, self.commit_stored())
    }

    fn commit_message(&self, message: &BorrowedMessage<'_>, mode: CommitMode) -> KafkaResult<()> {
        self.check_group_to_commit()?;
        let mut offsets = Offsets::new();
        offsets.insert(
            tp(message.topic(), message.partition()),
            OffsetAndMetadata::new(message.offset() + 1),
        );
        settle(mode, self.commit_offsets(&offsets))
    }

    fn store_offset(&self, topic: &str, partition: i32, offset: i64) -> KafkaResult<()> {
        self.store_one(tp(topic, partition), offset + 1)
            .map_err(KafkaError::StoreOffset)
    }

    fn store_offset_from_message(&self, message: &BorrowedMessage<'_>) -> KafkaResult<()> {
        self.store_one(
            tp(message.topic(), message.partition()),
            message.offset() + 1,
        )
        .map_err(KafkaError::StoreOffset)
    }

    fn store_offsets(&self, tpl: &TopicPartitionList) -> KafkaResult<()> {
        self.store_list(tpl)
    }

    fn subscription(&self) -> KafkaResult<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for topic in &self.shared.local.lock().subscription {
            tpl.add_topic_unassigned(topic);
        }
        Ok(tpl)
    }

    fn assignment(&self) -> KafkaResult<TopicPartitionList> {
        self.check_group_to_read()?;
        Ok(list_of(&self.assignment_now()))
    }

    fn assignment_lost(&self) -> bool {
        self.callback
            .as_ref()
            .is_some_and(|callback| callback.lock().lost)
    }

    fn committed<T>(&self, timeout: T) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.committed_offsets(list_of(&self.assignment_now()), timeout)
    }

    fn committed_offsets<T>(
        &self,
        tpl: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.committed_list(&tpl, timeout.into())
    }

    fn offsets_for_timestamp<T>(
        &self,
        timestamp: i64,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        self.check_group_to_read()?;
        let mut tpl = list_of(&self.assignment_now());
        tpl.set_all_offsets(Offset::Offset(timestamp))?;
        self.offsets_for_times(tpl, timeout)
    }

    fn offsets_for_times<T>(
        &self,
        timestamps: TopicPartitionList,
        timeout: T,
    ) -> KafkaResult<TopicPartitionList>
    where
        T: Into<Timeout>,
    {
        let _ = timeout.into();
        Ok(self.offsets_at(&timestamps))
    }

    fn position(&self) -> KafkaResult<TopicPartitionList> {
        self.check_group_to_read()?;
        let assignment = self.assignment_now();
        let local = self.shared.local.lock();
        let mut tpl = TopicPartitionList::with_capacity(assignment.len());
        for partition in &assignment {
            let offset = local
                .positions
                .get(partition)
                .map_or(Offset::Invalid, |&next| Offset::Offset(next));
            tpl.add_partition_offset(&partition.topic, partition.partition, offset)?;
        }
        Ok(tpl)
    }

    fn pause(&self, partitions: &TopicPartitionList) -> KafkaResult<()> {
        self.pause_or_resume(partitions, true)
    }

    fn resume(&self, partitions: &TopicPartitionList) -> KafkaResult<()> {
        self.pause_or_resume(partitions, false)
    }

    fn rebalance_protocol(&self) -> RebalanceProtocol {
        if self.callback.is_none() && self.shared.inner.subscription().is_empty() {
            return RebalanceProtocol::None;
        }
        let strategy = &self.shared.settings.config.assignment_strategy;
        let cooperative = |name: &String| {
            crate::AssignorKind::parse(name).is_some_and(crate::AssignorKind::is_cooperative)
        };
        if !strategy.is_empty() && strategy.iter().all(cooperative) {
            RebalanceProtocol::Cooperative
        } else {
            RebalanceProtocol::Eager
        }
    }
}

/// librdkafka's regex subscription: topics starting with `^` are regular expressions
/// matched anywhere in a name unless anchored; the others are names.
#[cfg(feature = "regex")]
fn subscribe_regex(
    inner: &crate::Consumer,
    topics: &[&str],
    bridge: impl crate::consumer::RebalanceListener + 'static,
) -> crate::error::Result<()> {
    let pattern = topics
        .iter()
        .map(|topic| {
            if topic.starts_with('^') {
                format!(".*(?:{topic}).*")
            } else {
                regex::escape(topic)
            }
        })
        .collect::<Vec<_>>()
        .join("|");
    inner.subscribe_pattern_with(&pattern, bridge)
}

#[cfg(not(feature = "regex"))]
fn subscribe_regex(
    _inner: &crate::Consumer,
    topics: &[&str],
    _bridge: impl crate::consumer::RebalanceListener + 'static,
) -> crate::error::Result<()> {
    Err(crate::error::Error::InvalidRegularExpression(format!(
        "{topics:?}: regex subscriptions need kafkalite's `regex` feature"
    )))
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Pauses or resumes the partitions of a list. A withheld partition's pause stays when
    /// it is assigned, as librdkafka's application pause flag does.
    fn pause_or_resume(&self, partitions: &TopicPartitionList, paused: bool) -> KafkaResult<()> {
        let partitions = partitions_of(partitions);
        if let Some(callback) = &self.callback {
            let changes = partitions.into_iter().map(|tp| (tp, paused));
            callback.lock().pauses.extend(changes);
            return Ok(());
        }
        let changed = match paused {
            true => self.shared.inner.pause(&partitions),
            false => self.shared.inner.resume(&partitions),
        };
        changed.map_err(|error| KafkaError::PauseResume(error.to_string()))
    }
}
