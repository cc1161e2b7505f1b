//! The consumer's state behind its lock: how it gets its partitions, each assigned
//! partition's reading state, and what the group protocol, positions and fetches share.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::Mutex;

use super::committer::Membership;
use super::fetch::fetch;
use super::interceptor::Interceptors;
use super::listener::{RebalanceContext, RebalanceListener};
use super::offset::Offset;
use super::positions::end_for;
use super::records::Records;
use crate::cluster::Cluster;
use crate::config::ConsumerConfig;
use crate::error::{Error, Result};
use crate::group::assignor::{ConsumerPartitionAssignor, RebalanceProtocol};
use crate::group::{ConsumerGroupMetadata, Coordinator, Offsets, TopicPartition};
use crate::log::Log;

/// How a consumer gets its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    Unset,
    Assigned,
    Subscribed(BTreeSet<String>),
}

/// One assigned partition's reading state.
#[derive(Debug)]
pub(super) struct PartitionState {
    pub(super) log: Arc<Log>,
    /// The next offset to read, once known.
    pub(super) position: Option<i64>,
    /// Where to go before the next read (assign, seek): resolved lazily, as in Kafka.
    pub(super) pending: Option<Offset>,
    pub(super) paused: bool,
    /// Held back by the rdkafka facade: a group member's partition its application has not
    /// assigned, neither positioned nor fetched until released (`paused` stays the
    /// application's own).
    pub(super) held: bool,
    /// The end was reported (`enable.partition.eof`) and nothing new arrived since.
    pub(super) eof_reported: bool,
    /// Batches ending at or before this offset were CRC-checked already.
    pub(super) checked_through: i64,
    /// With `enable.auto.offset.store=false`: what `store_offsets` stored to commit.
    pub(super) stored: Option<i64>,
}

impl PartitionState {
    pub(super) fn new(log: Arc<Log>, start: Offset) -> Self {
        PartitionState {
            log,
            position: None,
            pending: Some(start),
            paused: false,
            held: false,
            eof_reported: false,
            checked_through: -1,
            stored: None,
        }
    }
}

/// The consumer's state, behind its lock. Rebalance callbacks reach it through a
/// [`RebalanceContext`]. Its group protocol is in `membership.rs`, its subscription in
/// `subscription.rs`.
pub(crate) struct State {
    pub(super) cluster: Cluster,
    pub(super) config: ConsumerConfig,
    pub(super) coordinator: Option<Arc<Coordinator>>,
    pub(super) mode: Mode,
    /// A pattern subscription: the regex, and the metadata version its matches were taken at.
    #[cfg(feature = "regex")]
    pub(super) pattern: Option<(regex::Regex, u64)>,
    pub(super) listener: Option<Box<dyn RebalanceListener>>,
    pub(super) member_id: Option<String>,
    pub(super) generation: i32,
    /// Joined (or rejoined) and not yet assigned: Kafka's client in a rebalance, whose
    /// commits are `RebalanceInProgress` and which loses its partitions, not revokes them,
    /// if it leaves now.
    pub(super) rejoining: bool,
    /// The topics the last join asked for (Kafka's `joinedSubscription`): a subscription
    /// changed after the member joined a rebalance rejoins once that rebalance completes.
    pub(super) joined_topics: BTreeSet<String>,
    /// The assignors `partition.assignment.strategy` names, in its order.
    pub(super) assignors: Vec<Arc<dyn ConsumerPartitionAssignor>>,
    /// The highest protocol all of them support (Kafka's `ConsumerCoordinator.protocol`).
    pub(super) protocol: RebalanceProtocol,
    /// `member_id`, `generation` and `rejoining` as [`Committer`]s see them (they do not take
    /// the lock).
    pub(super) membership: Arc<Mutex<Membership>>,
    pub(super) partitions: BTreeMap<TopicPartition, PartitionState>,
    pub(super) next_auto_commit_ms: i64,
    /// Where the next fetch starts, for fairness across partitions.
    pub(super) rotate: usize,
    /// The keys of `partitions`, in order: kept between polls so that a poll clones none
    /// (checked against the map, and rebuilt, when they differ).
    pub(super) order: Vec<TopicPartition>,
    pub(super) closed: bool,
    pub(super) interceptors: Interceptors,
    /// Commits made under the lock, for the interceptors once it is released.
    pub(super) commit_notices: Vec<Offsets>,
    /// Partitions read through their own queue (the rdkafka facade's partition queues):
    /// `poll` leaves them to `poll_split`, whenever they are assigned.
    #[cfg(feature = "rdkafka-api")]
    pub(super) split: BTreeSet<TopicPartition>,
}

impl State {
    /// The membership as Kafka's `ConsumerGroupMetadata` (`None` without `group.id`).
    pub(super) fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        Some(ConsumerGroupMetadata {
            group_id: self.config.group_id.clone()?,
            generation_id: self.generation,
            member_id: self.member_id.clone().unwrap_or_default(),
            group_instance_id: self.config.group_instance_id.clone(),
        })
    }

    pub(super) fn check_open(&self) -> Result<()> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// The group, for the group and commit calls: without one they are `InvalidGroupId`, as
    /// Kafka's consumer throws `InvalidGroupIdException`.
    pub(super) fn group_id(&self) -> Result<&str> {
        self.config.group_id.as_deref().ok_or_else(|| {
            Error::InvalidGroupId(
                "this consumer has no group.id: set one in the consumer's configuration to use \
                 groups and offset commits"
                    .into(),
            )
        })
    }

    pub(super) fn coordinator(&self) -> Result<&Arc<Coordinator>> {
        self.group_id()?;
        Ok(self.coordinator.as_ref().expect("made with the group id"))
    }

    pub(super) fn log(&self, tp: &TopicPartition) -> Result<Arc<Log>> {
        self.cluster.partition(&tp.topic, tp.partition)
    }

    pub(super) fn assigned(&mut self, tp: &TopicPartition) -> Result<&mut PartitionState> {
        self.partitions
            .get_mut(tp)
            .ok_or_else(|| Error::IllegalState(format!("{tp} is not assigned to this consumer")))
    }

    /// Runs a listener callback with a context over this state. A panic in it propagates out
    /// of the consumer call, as Kafka's callback exceptions do, with the listener kept.
    pub(super) fn call_listener(
        &mut self,
        callback: impl FnOnce(&mut dyn RebalanceListener, &mut RebalanceContext<'_>),
    ) {
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        // Time in a listener counts against max.poll.interval.ms, as in Kafka (whose poll
        // timer runs from the start of poll): a member stuck in one is expelled, not awaited.
        self.listener_started();
        #[cfg(feature = "rdkafka-api")]
        let _listening = super::split::Listening::start(self);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut ctx = RebalanceContext { state: self };
            callback(listener.as_mut(), &mut ctx);
        }));
        self.listener = Some(listener);
        if let Err(panic) = outcome {
            resume_unwind(panic);
        }
    }

    /// Wakes the readers of split partitions (their queues and nonempty watchers) after a
    /// change that can make one readable or empty without an append: an assignment taken
    /// or left, a seek, a pause or a resume.
    pub(super) fn split_changed(&self) {
        #[cfg(feature = "rdkafka-api")]
        if !self.split.is_empty() {
            self.cluster.notifier().notify();
        }
    }

    /// The keys of `partitions`, in order: the list kept from the last poll when it still
    /// matches the map (cloning no topic name), else a new one. `fetch_all` puts it back.
    fn take_order(&mut self) -> Vec<TopicPartition> {
        let tps = std::mem::take(&mut self.order);
        let current = tps.len() == self.partitions.len()
            && tps
                .iter()
                .zip(self.partitions.keys())
                .all(|(a, b)| Arc::ptr_eq(&a.topic, &b.topic) && a.partition == b.partition);
        if current {
            tps
        } else {
            self.partitions.keys().cloned().collect()
        }
    }

    /// Gives back records fetched but not returned (a poll that fails, or whose partitions
    /// a rebalance is about to move or commit): each partition goes back to where its first
    /// fetch of them began, as Kafka's positions move only when `poll` returns records.
    pub(super) fn unfetch(&mut self, held: Records) {
        for part in held.parts {
            if let Some(partition) = self.partitions.get_mut(&part.tp) {
                let back = partition.position.map_or(part.from, |at| at.min(part.from));
                partition.position = Some(back);
            }
        }
    }

    /// The test kit's fetch rules' verdict on `tp`.
    #[cfg(feature = "testing")]
    fn fetch_fault(&self, tp: &TopicPartition) -> Result<()> {
        let info = crate::testing::OpInfo::new(crate::testing::Op::Fetch)
            .on_partition(&tp.topic, tp.partition);
        self.cluster.fault_table().fail(&info)
    }

    /// One fetch from every assigned, unpaused partition from its position, up to
    /// `max_records` records in all, starting with a different partition each time so that
    /// `max.poll.records` does not starve any. `holding`: the poll already holds records.
    pub(super) fn fetch_all(&mut self, max_records: usize, holding: bool) -> Result<Fetched> {
        let mut fetched = Fetched::default();
        let tps = self.take_order();
        if tps.is_empty() {
            return Ok(fetched);
        }
        // As Kafka's updateFetchPositions: every assigned partition gets a position first.
        // A committed offset still pending in a transaction is retried at the next fetch (the
        // marker's append wakes a waiting poll), as Kafka's consumer retries
        // UNSTABLE_OFFSET_COMMIT; such partitions are not fetched meanwhile.
        if self
            .partitions
            .values()
            .any(|p| p.position.is_none() && !p.held)
        {
            for tp in &tps {
                if self.partitions[tp].held {
                    continue;
                }
                match self.resolve_position(tp) {
                    Ok(_) | Err(Error::UnstableOffsetCommit(_)) => {}
                    Err(error) => return Err(error),
                }
            }
        }
        let mut budget = Budget {
            records: max_records,
            bytes: self.config.fetch_max_bytes.max(1),
        };
        let start = self.rotate % tps.len();
        self.rotate = self.rotate.wrapping_add(1);
        for (i, tp) in tps.iter().enumerate().cycle().skip(start).take(tps.len()) {
            if budget.records == 0 {
                break;
            }
            #[cfg(feature = "rdkafka-api")]
            if !self.split.is_empty() && self.split.contains(tp) {
                continue;
            }
            if let Err(error) = self.fetch_partition(tp, &mut budget, &mut fetched) {
                let records = &fetched.records;
                let nothing =
                    records.parts.is_empty() && records.eof.is_empty() && records.errors.is_empty();
                if !holding && nothing {
                    self.order = tps;
                    return Err(error);
                }
                // As Kafka's FetchCollector: the records in hand (and partition ends and
                // errors) are returned, and the error comes at the next poll, whose first
                // fetch is this partition's.
                tracing::debug!(target: "kafkalite::consumer", "{tp}: {error}; put off to the next poll");
                self.rotate = i;
                fetched.deferred = true;
                break;
            }
        }
        self.order = tps;
        Ok(fetched)
    }

    /// Fetches `tp` from its position within `budget`, into `fetched`; an error is a reset
    /// `auto.offset.reset=none` refuses (the partition's other errors go with its records).
    pub(super) fn fetch_partition(
        &mut self,
        tp: &TopicPartition,
        budget: &mut Budget,
        fetched: &mut Fetched,
    ) -> Result<()> {
        let records = &mut fetched.records;
        let partition = &self.partitions[tp];
        if partition.paused || partition.held {
            return Ok(());
        }
        let Some(position) = partition.position else {
            return Ok(()); // an unstable committed offset, retried next time
        };
        #[cfg(feature = "testing")]
        if let Err(error) = self.fetch_fault(tp) {
            // Kafka's consumer (its FetchCollector) refreshes metadata and fetches again
            // after a retriable error, and after UNKNOWN_SERVER_ERROR, silently;
            // CORRUPT_MESSAGE and the rest are the partition's error.
            use crate::error::ErrorCode;
            let quiet = error.code().is_some_and(|c| {
                (c.is_retriable() && c != ErrorCode::CorruptMessage)
                    || c == ErrorCode::UnknownServerError
            });
            if !quiet {
                records.errors.push((tp.clone(), error));
            }
            return Ok(());
        }
        let max_bytes = self
            .config
            .max_partition_fetch_bytes
            .min(budget.bytes)
            .max(1);
        let checked = if self.config.check_crcs {
            partition.checked_through
        } else {
            i64::MAX
        };
        let committed = self.read_committed();
        let log = Arc::clone(&partition.log);
        let mut part = fetch(
            tp,
            &log,
            position,
            budget.records,
            max_bytes,
            checked,
            committed,
        );
        if let Err(Error::OffsetOutOfRange { .. }) = part {
            // Retention moved the start past the position, or a seek went outside.
            let reset = self.reset(tp, &log, position)?;
            self.partitions.get_mut(tp).expect("assigned").position = Some(reset);
            part = fetch(
                tp,
                &log,
                reset,
                budget.records,
                max_bytes,
                checked,
                committed,
            );
        }
        let partition = self.partitions.get_mut(tp).expect("assigned");
        match part {
            Ok(Some(part)) => {
                fetched.skipped |= part.count == 0 && Some(part.next_offset) > partition.position;
                partition.position = Some(part.next_offset);
                partition.checked_through = part.checked_through;
                budget.records -= part.count;
                budget.bytes = budget.bytes.saturating_sub(part.data.bytes().len());
                if part.count > 0 {
                    partition.eof_reported = false;
                    records.parts.push(part);
                }
            }
            Ok(None) => {}
            Err(error) => records.errors.push((tp.clone(), error)),
        }
        let end = end_for(self.config.isolation_level, &partition.log);
        let at_end = partition.position.is_some_and(|p| p >= end);
        if self.config.enable_partition_eof && at_end && !partition.eof_reported {
            partition.eof_reported = true;
            records.eof.push(tp.clone());
        }
        Ok(())
    }
}

/// What a poll may still fetch.
pub(super) struct Budget {
    pub(super) records: usize,
    pub(super) bytes: usize,
}

/// What one [`State::fetch_all`] gave.
#[derive(Default)]
pub(super) struct Fetched {
    pub(super) records: Records,
    /// A position moved past data that yielded no record (aborted records, control batches
    /// under `read_committed`): more may be readable at once.
    pub(super) skipped: bool,
    /// A partition's error was put off to the next poll: return what is in hand now.
    pub(super) deferred: bool,
}
