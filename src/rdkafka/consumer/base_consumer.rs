//! rust-rdkafka's `BaseConsumer`: `poll` hands out one message at a time. Built on a
//! kafkalite consumer that reads one record per poll, so its position is exactly what was
//! handed out (librdkafka's application position) and auto-commit commits the offsets the
//! facade stored at hand-out (librdkafka's `enable.auto.offset.store`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::auto_commit::CommitReport;
use super::rebalance::CallbackState;
use super::statistics::Counters as StatisticsCounters;
use super::{ConsumerContext, DefaultConsumerContext};
use crate::config::IsolationLevel;
use crate::consumer::{Committer, Offset as Position};
use crate::error::Error;
use crate::group::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::rdkafka::client::Client;
use crate::rdkafka::config::{
    ClientConfig, ConsumerSettings, FromClientConfig, FromClientConfigAndContext,
};
use crate::rdkafka::connect::connect_client;
use crate::rdkafka::error::{code_of, KafkaError, KafkaResult, RDKafkaErrorCode};
use crate::rdkafka::message::BorrowedMessage;
use crate::rdkafka::statistics::Emitter;
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use crate::rdkafka::util::Timeout;
use crate::ConsumerRecord;

/// The longest the kafkalite consumer is held by one poll of it.
const POLL_SLICE: std::time::Duration = std::time::Duration::from_millis(100);

/// The same once a partition queue is split off: its reads wait for the consumer no
/// longer than this.
const SPLIT_POLL_SLICE: std::time::Duration = std::time::Duration::from_millis(5);

/// What the facade keeps beside the kafkalite consumer, readable while a rebalance
/// callback runs inside its poll.
#[derive(Debug, Default)]
pub(super) struct Local {
    /// The assignment as the application sees it.
    pub(super) assignment: Vec<TopicPartition>,
    /// A group member's partitions the group gave and the application has not assigned
    /// (librdkafka waits for the application's `assign` call to fetch them): the kafkalite
    /// consumer holds them paused. Disjoint from `assignment`.
    pub(super) withheld: Vec<TopicPartition>,
    /// The application position of each partition a message was handed out from (or
    /// seeked): the next offset.
    pub(super) positions: HashMap<TopicPartition, i64>,
    /// Stored offsets (librdkafka's offset store), also given to the kafkalite consumer.
    pub(super) stored: HashMap<TopicPartition, i64>,
    /// The group's committed offsets as this consumer last knew them (read at assignment,
    /// set by its commits): a stored offset is committed only when ahead, as librdkafka's.
    pub(super) committed: HashMap<TopicPartition, i64>,
    /// The subscription as the application set it.
    pub(super) subscription: Vec<String>,
    /// `unsubscribe` was called: the next poll leaves the group (its revocation callbacks
    /// run inside that poll, as librdkafka serves them).
    pub(super) unsubscribe_pending: bool,
    /// Stores made inside a rebalance callback, for the kafkalite consumer after its poll.
    pub(super) pending_stores: Vec<(TopicPartition, i64)>,
    /// End-of-partition events and errors waiting to be handed out.
    pub(super) events: VecDeque<KafkaError>,
    /// A rebalance ran in the current poll (rdkafka's poll then returns `None`).
    pub(super) rebalanced: bool,
    /// Outcomes of automatic commits for the context's `commit_callback`, served by the
    /// next poll.
    pub(super) commit_reports: Vec<CommitReport>,
    /// When the auto-commit timer is due next (cluster clock).
    pub(super) next_auto_commit_ms: Option<i64>,
    /// What the statistics count (while `statistics.interval.ms` is on).
    pub(super) statistics: StatisticsCounters,
}

pub use super::partition_queue::PartitionQueue;

/// What a pending `unsubscribe` does while the member is in a rebalance. librdkafka
/// postpones an unsubscribe made then until the rebalance completes (`rd_kafka_cgrp_subscribe`
/// under `RD_KAFKA_CGRP_REBALANCING`): the application hears of the rebalance's assignment
/// first, then of its revocation. A subscribe made meanwhile replaces the postponed
/// unsubscribe once it succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InRebalance {
    /// Waits for the rebalance to complete (a poll, or a subscribe replacing it).
    Wait,
    /// Leaves at once (an `assign`, which needs the subscription gone).
    Leave,
}

/// The parts shared by a consumer and its rebalance bridge.
pub(super) struct Shared {
    pub(super) inner: crate::Consumer,
    /// Made at `subscribe` (it commits as the member the consumer is at the time).
    pub(super) committer: Mutex<Option<Committer>>,
    /// Orders subscribe, assign and the deferred unsubscribe (never taken in a callback:
    /// subscribe is refused there, and an assign call there changes the facade's state only).
    pub(super) membership: Mutex<()>,
    pub(super) local: Mutex<Local>,
    pub(super) settings: ConsumerSettings,
    /// With `statistics.interval.ms`: the statistics' timer.
    pub(super) statistics: Option<Emitter>,
    /// A partition queue was split off (`partition_queue.rs`): polls hold the consumer in
    /// shorter slices.
    pub(super) split: AtomicBool,
    /// `close_queue` closed the consumer (`close.rs`).
    pub(super) closed: AtomicBool,
}

impl Shared {
    /// Whether the consumer has a `group.id`: librdkafka's subscribe, assign and commit
    /// calls need one (`_UNKNOWN_GROUP` otherwise).
    pub(super) fn has_group(&self) -> bool {
        self.settings.config.group_id.is_some()
    }

    /// Whether the consumer reads committed records only (`isolation.level`).
    pub(super) fn read_committed(&self) -> bool {
        self.settings.config.isolation_level == IsolationLevel::ReadCommitted
    }
}

/// A low-level consumer: `poll` returns one message, an end-of-partition event or an error
/// at a time, and runs the context's rebalance callbacks.
pub struct BaseConsumer<C: ConsumerContext = DefaultConsumerContext> {
    pub(super) client: Client<C>,
    pub(super) shared: Arc<Shared>,
    /// Set on the handle a rebalance callback gets: the kafkalite consumer is busy in its
    /// poll, so calls go to the bridge's state and the committer instead.
    pub(super) callback: Option<Arc<Mutex<CallbackState>>>,
}

impl FromClientConfig for BaseConsumer {
    fn from_config(config: &ClientConfig) -> KafkaResult<BaseConsumer> {
        BaseConsumer::from_config_and_context(config, DefaultConsumerContext)
    }
}

impl<C: ConsumerContext> FromClientConfigAndContext<C> for BaseConsumer<C> {
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<BaseConsumer<C>> {
        let settings = config.consumer_settings()?;
        let (cluster, mock_brokers) = connect_client(config)?;
        // One record per poll: the kafkalite position is what was handed out. Automatic
        // commits are the facade's own (librdkafka's points, `auto_commit.rs`). A member
        // that has rejoined a rebalance is librdkafka's: its commits go to the coordinator,
        // and a close or unsubscribe revokes its partitions.
        let inner_config = settings
            .config
            .clone()
            .max_poll_records(1)
            .enable_auto_commit(false)
            .librdkafka_member();
        let inner = cluster
            .consumer(inner_config)
            .map_err(|error| KafkaError::ClientCreation(error.to_string()))?;
        let client = Client::new(cluster, Arc::new(context), false)
            .mock_brokers(mock_brokers)
            .read_committed(settings.config.isolation_level == IsolationLevel::ReadCommitted);
        // librdkafka starts the auto-commit timer when the consumer is made.
        let interval = i64::try_from(settings.config.auto_commit_interval_ms).unwrap_or(i64::MAX);
        let local = Local {
            next_auto_commit_ms: Some(client.cluster().clock().now_ms().saturating_add(interval)),
            ..Local::default()
        };
        let statistics = Emitter::of(config, "consumer", client.cluster());
        let shared = Arc::new(Shared {
            inner,
            committer: Mutex::new(None),
            membership: Mutex::new(()),
            local: Mutex::new(local),
            settings,
            statistics,
            split: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        Ok(BaseConsumer {
            client,
            shared,
            callback: None,
        })
    }
}

pub(super) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// The partitions of a list.
pub(super) fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|elem| tp(elem.topic(), elem.partition()))
        .collect()
}

/// A list of partitions, offsets unset.
pub(super) fn list_of(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::with_capacity(partitions.len());
    for p in partitions {
        tpl.add_partition(&p.topic, p.partition);
    }
    tpl
}

/// librdkafka's offset as kafkalite's starting position.
pub(super) fn position_of(offset: Offset) -> Option<Position> {
    Some(match offset {
        Offset::Beginning => Position::Beginning,
        Offset::End => Position::End,
        Offset::Stored | Offset::Invalid => Position::Committed,
        Offset::Offset(n) if n >= 0 => Position::At(n),
        Offset::OffsetTail(n) if n >= 0 => Position::FromEnd(n.unsigned_abs()),
        Offset::Offset(_) | Offset::OffsetTail(_) => return None,
    })
}

impl<C: ConsumerContext> BaseConsumer<C> {
    pub(super) fn in_callback(
        client: Client<C>,
        shared: Arc<Shared>,
        callback: Arc<Mutex<CallbackState>>,
    ) -> Self {
        BaseConsumer {
            client,
            shared,
            callback: Some(callback),
        }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Neither subscribed nor assigned (as the application set it).
    pub(super) fn is_idle(&self) -> bool {
        let local = self.shared.local.lock();
        local.subscription.is_empty() && local.assignment.is_empty()
    }

    /// Whether this is the handle a rebalance callback got.
    pub(super) fn in_rebalance_callback(&self) -> bool {
        self.callback.is_some()
    }

    pub(super) fn cluster(&self) -> &crate::Cluster {
        self.client.cluster()
    }

    /// The next end-of-partition event or error waiting to be handed out.
    pub(super) fn next_event(&self) -> Option<KafkaError> {
        self.shared.local.lock().events.pop_front()
    }

    /// Polls the consumer for a message, an end-of-partition event or an error. `None` when
    /// nothing came within `timeout`, or right after a rebalance was handled (as rdkafka's).
    pub fn poll<T: Into<Timeout>>(&self, timeout: T) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        if self.callback.is_some() {
            return Some(Err(KafkaError::MessageConsumption(RDKafkaErrorCode::State)));
        }
        let timeout = timeout.into();
        let deadline = timeout.deadline();
        if self.shared.closed.load(Ordering::Acquire) {
            // librdkafka's closed consumer has nothing more to serve: the poll waits.
            std::thread::sleep(timeout.duration());
            return None;
        }
        loop {
            self.maybe_emit_statistics();
            self.maybe_auto_commit();
            // rdkafka's poll returns once it served an offset-commit event.
            if self.serve_commit_reports() && timeout != Timeout::Never {
                return None;
            }
            if let Some(event) = self.next_event() {
                return Some(Err(event));
            }
            if self.leave_if_unsubscribed(InRebalance::Wait) && timeout != Timeout::Never {
                return None;
            }
            // In slices: the kafkalite consumer is held while it polls, and the
            // application's other threads (commits, stores) take their turn in between.
            let left = deadline
                .map_or(timeout.duration(), |deadline| {
                    deadline.saturating_duration_since(Instant::now())
                })
                .min(if self.shared.split.load(Ordering::Relaxed) {
                    SPLIT_POLL_SLICE
                } else {
                    POLL_SLICE
                });
            self.shared.local.lock().rebalanced = false;
            let polled = self.shared.inner.poll(left);
            self.push_pending_stores();
            let records = match polled {
                Ok(records) => records,
                // Neither subscribed nor assigned: librdkafka's poll has nothing to serve
                // and waits out its timeout.
                Err(Error::IllegalState(_))
                    if self.shared.inner.assignment().is_empty()
                        && self.shared.inner.subscription().is_empty() =>
                {
                    std::thread::sleep(left);
                    if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                        return None;
                    }
                    continue;
                }
                Err(error) => return Some(Err(KafkaError::MessageConsumption(code_of(&error)))),
            };
            let record = records.iter().next().map(|view| view.to_owned());
            {
                let mut local = self.shared.local.lock();
                for tp in records.eof() {
                    local
                        .events
                        .push_back(KafkaError::PartitionEOF(tp.partition));
                }
                for (_, error) in records.errors() {
                    local
                        .events
                        .push_back(KafkaError::MessageConsumption(code_of(&error)));
                }
            }
            if let Some(record) = record {
                return Some(self.hand_out(record));
            }
            let rebalanced = self.shared.local.lock().rebalanced;
            let expired = deadline.is_some_and(|deadline| Instant::now() >= deadline);
            if (rebalanced && timeout != Timeout::Never) || (expired && self.pending_events() == 0)
            {
                return None;
            }
        }
    }

    pub(super) fn pending_events(&self) -> usize {
        self.shared.local.lock().events.len()
    }

    /// Leaves the group if `unsubscribe` asked to (running the revocation callbacks now,
    /// inside the poll), unless the member is in a rebalance and `in_rebalance` says to
    /// wait. Whether it left.
    pub(super) fn leave_if_unsubscribed(&self, in_rebalance: InRebalance) -> bool {
        // Taken with the flag, so that a subscribe or assign made after the unsubscribe
        // is never overtaken by it.
        let _membership = self.shared.membership.lock();
        let waits = in_rebalance == InRebalance::Wait && self.rebalancing();
        {
            let mut local = self.shared.local.lock();
            if !local.unsubscribe_pending || waits {
                return false;
            }
            local.unsubscribe_pending = false;
        }
        if let Err(error) = self.shared.inner.unsubscribe() {
            tracing::warn!(target: "kafkalite::rdkafka", "unsubscribe: {error}");
        }
        self.push_pending_stores();
        true
    }

    /// Whether an `unsubscribe` waits for a rebalance that has since completed: the next
    /// poll carries it out.
    pub(super) fn unsubscribe_due(&self) -> bool {
        self.shared.local.lock().unsubscribe_pending && !self.rebalancing()
    }

    /// Whether the member has joined a rebalance whose assignment has not come yet
    /// (librdkafka's `RD_KAFKA_CGRP_REBALANCING` as a member without a network sees it).
    fn rebalancing(&self) -> bool {
        let committer = self.shared.committer.lock();
        committer.as_ref().is_some_and(Committer::rejoining)
    }

    /// Hands `record` out: its position moves past it, and with `enable.auto.offset.store`
    /// its offset + 1 is stored.
    pub(super) fn hand_out(&self, record: ConsumerRecord) -> KafkaResult<BorrowedMessage<'_>> {
        let partition = tp(&record.topic, record.partition);
        let next = record.offset + 1;
        let mut local = self.shared.local.lock();
        local.positions.insert(partition.clone(), next);
        if self.shared.statistics.is_some() {
            let bytes = record.key.as_ref().map_or(0, |key| key.len())
                + record.value.as_ref().map_or(0, |value| value.len());
            local.statistics.received(&partition, bytes as u64);
        }
        if self.shared.settings.auto_offset_store {
            local.stored.insert(partition.clone(), next);
            drop(local);
            let mut offsets = Offsets::new();
            offsets.insert(partition, OffsetAndMetadata::new(next));
            self.shared
                .inner
                .store_offsets(&offsets)
                .map_err(|error| KafkaError::StoreOffset(code_of(&error)))?;
        }
        Ok(BorrowedMessage::from_record(record))
    }

    /// Gives the kafkalite consumer the stores a rebalance callback made, for partitions
    /// still assigned.
    pub(super) fn push_pending_stores(&self) {
        let pending = std::mem::take(&mut self.shared.local.lock().pending_stores);
        for (partition, offset) in pending {
            let mut offsets = Offsets::new();
            offsets.insert(partition, OffsetAndMetadata::new(offset));
            // A partition revoked meanwhile refuses the store, as librdkafka's would.
            let _ = self.shared.inner.store_offsets(&offsets);
        }
    }

    /// Returns an iterator over the available messages (blocking for each).
    pub fn iter(&self) -> Iter<'_, C> {
        Iter(self)
    }

    pub(super) fn assignment_now(&self) -> Vec<TopicPartition> {
        if self.callback.is_some() {
            self.shared.local.lock().assignment.clone()
        } else {
            let mut assignment = self.shared.inner.assignment();
            let local = self.shared.local.lock();
            assignment.retain(|tp| !local.withheld.contains(tp));
            assignment
        }
    }

    pub(super) fn offsets_of(
        tpl: &TopicPartitionList,
    ) -> KafkaResult<Vec<(TopicPartition, Position)>> {
        tpl.elements()
            .iter()
            .map(|elem| {
                let position = position_of(elem.offset()).ok_or(KafkaError::Subscription(
                    "Local: Invalid argument or configuration".into(),
                ))?;
                Ok((tp(elem.topic(), elem.partition()), position))
            })
            .collect()
    }
}

impl<C: ConsumerContext> Drop for BaseConsumer<C> {
    /// The consumer leaves its group, unless `close_queue` closed it (the handle a
    /// rebalance callback gets leaves nothing).
    fn drop(&mut self) {
        if self.callback.is_none() && !self.shared.closed.swap(true, Ordering::AcqRel) {
            self.close_now();
        }
    }
}

/// A convenience iterator over the messages of a [`BaseConsumer`] (each `next` blocks
/// until one comes).
pub struct Iter<'a, C: ConsumerContext>(&'a BaseConsumer<C>);

impl<'a, C: ConsumerContext> Iterator for Iter<'a, C> {
    type Item = KafkaResult<BorrowedMessage<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.0.poll(Timeout::Never) {
                return Some(item);
            }
        }
    }
}

impl<'a, C: ConsumerContext> IntoIterator for &'a BaseConsumer<C> {
    type Item = KafkaResult<BorrowedMessage<'a>>;
    type IntoIter = Iter<'a, C>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
