//! The `Consumer`: manual assignment or group subscription, positions, and `poll`, which
//! blocks on the cluster's notifier (no busy loop) until records arrive. Its commit calls
//! are in `commits.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::assignment::highest_common_protocol;
use super::interceptor::Interceptors;
use super::listener::RebalanceListener;
use super::offset::Offset;
use super::positions::end_for;
use super::records::Records;
use super::state::{Mode, State};
use crate::cluster::Cluster;
use crate::config::ConsumerConfig;
use crate::error::{Error, Result};
use crate::group::assignor::ConsumerPartitionAssignor;
use crate::group::{
    check_group_id, ConsumerGroupMetadata, Coordinator, OffsetAndTimestamp, TopicPartition,
};
use crate::log::Log;
use crate::notify::Notifier;

/// Reads records from a cluster's topics, alone (`assign`) or as a member of a consumer group
/// (`subscribe`), like Kafka's `KafkaConsumer`. `Send + Sync`; every method takes `&self`, and
/// calls from several threads take turns (a `poll` holds the consumer until it returns). Only
/// the [`ConsumerWaker`] acts on a consumer while it is blocked in `poll`. Dropping it closes
/// it.
pub struct Consumer {
    pub(super) state: Mutex<State>,
    woken: Arc<AtomicBool>,
    pub(super) notifier: Arc<Notifier>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").finish_non_exhaustive()
    }
}

/// Interrupts a consumer's blocking call from another thread (Kafka's `wakeup()`): the call
/// returns `Error::Wakeup`; a wake-up with no call in progress interrupts the next one.
#[derive(Debug, Clone)]
pub struct ConsumerWaker {
    woken: Arc<AtomicBool>,
    notifier: Arc<Notifier>,
}

impl ConsumerWaker {
    /// Wakes the consumer.
    pub fn wakeup(&self) {
        self.woken.store(true, Ordering::Release);
        self.notifier.notify();
    }
}

impl Consumer {
    /// A consumer of `cluster` with these (checked) parts.
    pub(super) fn new(
        cluster: &Cluster,
        config: ConsumerConfig,
        interceptors: Interceptors,
        assignors: Vec<Arc<dyn ConsumerPartitionAssignor>>,
    ) -> Result<Consumer> {
        let coordinator = match &config.group_id {
            Some(group) => {
                check_group_id(group)?;
                Some(Coordinator::of(cluster)?)
            }
            None => None,
        };
        let protocol = highest_common_protocol(&assignors);
        let now = cluster.clock().now_ms();
        let interval = config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        Ok(Consumer {
            notifier: Arc::clone(cluster.notifier()),
            woken: Arc::new(AtomicBool::new(false)),
            state: Mutex::new(State {
                cluster: cluster.clone(),
                coordinator,
                mode: Mode::Unset,
                #[cfg(feature = "regex")]
                pattern: None,
                listener: None,
                member_id: None,
                generation: -1,
                rejoining: false,
                joined_topics: BTreeSet::new(),
                assignors,
                protocol,
                membership: Arc::default(),
                partitions: BTreeMap::new(),
                next_auto_commit_ms: now.saturating_add(interval),
                rotate: 0,
                order: Vec::new(),
                closed: false,
                config,
                interceptors,
                commit_notices: Vec::new(),
                #[cfg(feature = "rdkafka-api")]
                split: BTreeSet::new(),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> ConsumerConfig {
        self.state.lock().config.clone()
    }

    /// Joins the group for `topics` (Kafka's `subscribe`); partitions arrive through
    /// rebalances inside `poll`. Needs `group.id`. Replaces an earlier subscription; no
    /// topics at all is [`Consumer::unsubscribe`], as in Kafka.
    pub fn subscribe(&self, topics: &[&str]) -> Result<()> {
        self.state.lock().subscribe(topics, None)
    }

    /// As [`Consumer::subscribe`], with callbacks for rebalances.
    pub fn subscribe_with(
        &self,
        topics: &[&str],
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        self.state
            .lock()
            .subscribe(topics, Some(Box::new(listener)))
    }

    /// Joins the group for every topic whose whole name matches `pattern` (Kafka's
    /// `subscribe(Pattern)`), now and as topics are created or deleted; internal topics never
    /// match while `exclude.internal.topics` is on. Needs `group.id`.
    #[cfg(feature = "regex")]
    pub fn subscribe_pattern(&self, pattern: &str) -> Result<()> {
        self.state.lock().subscribe_pattern(pattern, None)
    }

    /// As [`Consumer::subscribe_pattern`], with callbacks for rebalances.
    #[cfg(feature = "regex")]
    pub fn subscribe_pattern_with(
        &self,
        pattern: &str,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        self.state
            .lock()
            .subscribe_pattern(pattern, Some(Box::new(listener)))
    }

    /// Leaves the group: revokes every partition (the listener hears of it) and drops the
    /// subscription or assignment.
    pub fn unsubscribe(&self) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        let left = state.unsubscribe();
        Self::release(state);
        left
    }

    /// Makes the group rebalance (Kafka's `enforceRebalance`): the group starts one now, and
    /// every member rejoins at its next poll, with the listener called as in any rebalance.
    /// Nothing happens if a rebalance is already under way, or for a consumer that assigns
    /// its partitions itself; `IllegalState` for a consumer without a `group.id`.
    pub fn enforce_rebalance(&self) -> Result<()> {
        self.state.lock().enforce_rebalance()
    }

    /// The partitions this consumer reads now.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.state.lock().partitions.keys().cloned().collect()
    }

    /// The subscribed topics (empty without a subscription).
    pub fn subscription(&self) -> Vec<String> {
        match &self.state.lock().mode {
            Mode::Subscribed(topics) => topics.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Returns the next records (at most `max.poll.records`), waiting up to `timeout` for some
    /// to arrive. Group membership, rebalance callbacks and auto-commit run inside this call,
    /// on this thread. Returns an empty batch when the time is up.
    pub fn poll(&self, timeout: Duration) -> Result<Records> {
        let start = Instant::now();
        let deadline = start
            .checked_add(timeout)
            .unwrap_or_else(|| start + Duration::from_secs(365 * 24 * 3600));
        let mut state = self.state.lock();
        let polled = {
            // Even when a rebalance callback panics: max.poll.interval.ms counts from here.
            let guard = PollReturned(&mut state);
            let max_records = guard.0.config.max_poll_records;
            self.poll_locked(guard.0, start, deadline, max_records)
        };
        let interceptors = state.interceptors.clone();
        Self::release(state);
        match polled {
            Ok(records) if !records.is_empty() => Ok(interceptors.on_consume(records)),
            other => other,
        }
    }

    /// Unlocks the state, then tells the interceptors of the commits made while it was
    /// locked: an interceptor may call back into this consumer. The unlock is fair: a
    /// thread waiting for the consumer (another thread's call, a partition queue's read)
    /// gets it before this thread's next poll does.
    pub(super) fn release(mut state: parking_lot::MutexGuard<'_, State>) {
        let commits = std::mem::take(&mut state.commit_notices);
        let interceptors = state.interceptors.clone();
        parking_lot::MutexGuard::unlock_fair(state);
        for offsets in &commits {
            interceptors.on_commit(offsets);
        }
    }

    /// How many calls of this consumer's interceptors panicked (caught and ignored).
    pub fn interceptor_panics(&self) -> u64 {
        self.state.lock().interceptors.panics()
    }

    pub(super) fn poll_locked(
        &self,
        state: &mut State,
        start: Instant,
        deadline: Instant,
        max_records: usize,
    ) -> Result<Records> {
        state.check_open()?;
        if state.mode == Mode::Unset {
            return Err(Error::IllegalState(
                "poll before subscribe or assign: the consumer has no partitions to read".into(),
            ));
        }
        self.check_woken()?;
        state.maybe_auto_commit();
        // fetch.min.bytes: once some records are in hand, wait up to fetch.max.wait.ms for
        // more before returning (with the default of 1 byte, the first record returns).
        let min_wait = start
            .checked_add(Duration::from_millis(state.config.fetch_max_wait_ms))
            .map_or(deadline, |t| t.min(deadline));
        // Records gathered while waiting for fetch.min.bytes; a poll that ends in an error
        // gives them back (their positions go back), as does a rebalance before it moves or
        // commits their partitions: positions move only with what `poll` returns.
        let mut records = Records::default();
        loop {
            let seen = self.notifier.sequence();
            if matches!(state.mode, Mode::Subscribed(_)) {
                if let Err(error) = state.ensure_membership(&mut records) {
                    state.unfetch(records);
                    return Err(error);
                }
            }
            let room = max_records - records.len();
            let fetched = match state.fetch_all(room, !records.is_empty()) {
                Ok(fetched) => fetched,
                Err(error) => {
                    state.unfetch(records);
                    return Err(error);
                }
            };
            let skipped = fetched.skipped;
            records.absorb(fetched.records);
            let now = Instant::now();
            let enough = records.fetched_bytes() >= state.config.fetch_min_bytes
                || records.len() >= max_records;
            if !records.eof.is_empty() || !records.errors.is_empty() || fetched.deferred {
                return Ok(records);
            }
            if !records.is_empty() && (enough || now >= min_wait) {
                return Ok(records);
            }
            if now >= deadline {
                return Ok(records);
            }
            if skipped {
                // Past aborted or control data: what follows is readable now.
                continue;
            }
            let mut until = if records.is_empty() {
                deadline
            } else {
                min_wait
            };
            if matches!(state.mode, Mode::Subscribed(_)) && !state.cluster.clock_wakes() {
                // A member blocked in poll is alive: wake every heartbeat.interval.ms to check
                // in, so that a long poll is never mistaken for a silent member. (A clock that
                // wakes the notifier when it jumps needs no timer: only a jump moves its time.)
                let heartbeat = Duration::from_millis(state.config.heartbeat_interval_ms.max(1));
                until = until.min(now + heartbeat);
            }
            self.notifier.wait_until(seen, until);
            if let Err(error) = self.check_woken() {
                state.unfetch(records);
                return Err(error);
            }
        }
    }

    pub(super) fn check_woken(&self) -> Result<()> {
        if self.woken.swap(false, Ordering::AcqRel) {
            Err(Error::Wakeup)
        } else {
            Ok(())
        }
    }

    /// Wakes a receive of this consumer waiting for records, so that it looks again (the
    /// rdkafka facade, after a change a pending receive must see).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn nudge(&self) {
        self.notifier.notify();
    }

    /// The cluster's notification count, read before a receive whose outcome may need
    /// [`Consumer::wait_after`].
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn notify_sequence(&self) -> u64 {
        self.notifier.sequence()
    }

    /// Wakes `cx` at the first notification after `seen` (at once if one came already).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn wait_after(&self, seen: u64, cx: &mut std::task::Context<'_>) {
        if !self.notifier.register(seen, cx.waker()) {
            cx.waker().wake_by_ref();
        }
    }

    /// Forgets the offset stored for `tp` (librdkafka's store of a logical offset), so
    /// that no commit of stored offsets takes it.
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn clear_stored(&self, tp: &TopicPartition) -> Result<()> {
        self.state.lock().assigned(tp)?.stored = None;
        Ok(())
    }

    /// A handle that interrupts this consumer's blocking calls from another thread.
    pub fn waker(&self) -> ConsumerWaker {
        ConsumerWaker {
            woken: Arc::clone(&self.woken),
            notifier: Arc::clone(&self.notifier),
        }
    }

    /// Moves the next read of an assigned partition; the last seek wins. An offset takes
    /// effect at once (outside the log, `auto.offset.reset` applies at the next `poll`);
    /// `Beginning`, `End` and the others resolve at the next `poll` or `position`.
    pub fn seek(&self, tp: &TopicPartition, to: Offset) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        state.seek(tp, to)
    }

    /// Seeks `partitions` (all assigned ones when empty) to their log start.
    pub fn seek_to_beginning(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_all(partitions, Offset::Beginning)
    }

    /// Seeks `partitions` (all assigned ones when empty) to their end.
    pub fn seek_to_end(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_all(partitions, Offset::End)
    }

    fn seek_all(&self, partitions: &[TopicPartition], to: Offset) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        let targets: Vec<TopicPartition> = if partitions.is_empty() {
            state.partitions.keys().cloned().collect()
        } else {
            partitions.to_vec()
        };
        targets.iter().try_for_each(|tp| state.seek(tp, to))
    }

    /// The offset of the next record `poll` returns from an assigned partition.
    pub fn position(&self, tp: &TopicPartition) -> Result<i64> {
        let mut state = self.state.lock();
        state.check_open()?;
        state.position(tp)
    }

    /// Stops returning records of `partitions` (they stay assigned, and `poll` still keeps
    /// the membership alive).
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, true)
    }

    /// Undoes [`Consumer::pause`].
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.set_paused(partitions, false)
    }

    fn set_paused(&self, partitions: &[TopicPartition], paused: bool) -> Result<()> {
        self.set_each(partitions, |partition| partition.paused = paused)
    }

    /// Sets a flag of each assigned partition of `partitions` (refusing one not assigned).
    fn set_each(
        &self,
        partitions: &[TopicPartition],
        set: impl Fn(&mut super::state::PartitionState),
    ) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        for tp in partitions {
            set(state.assigned(tp)?);
        }
        state.split_changed();
        Ok(())
    }

    /// Holds back assigned partitions (`held`), or releases them: a held partition is
    /// neither positioned nor fetched (the rdkafka facade's partitions a group gave and its
    /// application has not assigned).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn hold(&self, partitions: &[TopicPartition], held: bool) -> Result<()> {
        self.set_each(partitions, |partition| partition.held = held)
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        let state = self.state.lock();
        state
            .partitions
            .iter()
            .filter(|(_, p)| p.paused)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Per partition, the first offset whose timestamp is at least the one given (`None` if
    /// every record is older). Works on any partition, assigned or not.
    pub fn offsets_for_times(
        &self,
        query: &[(TopicPartition, i64)],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        let state = self.state.lock();
        state.check_open()?;
        query
            .iter()
            .map(|(tp, timestamp)| {
                if *timestamp < 0 {
                    return Err(Error::IllegalState(format!(
                        "negative timestamp {timestamp} for {tp}"
                    )));
                }
                let found = state.log(tp)?.offset_for_timestamp(*timestamp)?;
                Ok((
                    tp.clone(),
                    found.map(|(offset, timestamp)| OffsetAndTimestamp { offset, timestamp }),
                ))
            })
            .collect()
    }

    /// The log start offsets of `partitions`.
    pub fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.offsets_of(partitions, Log::log_start_offset)
    }

    /// The end offsets of `partitions`: their high watermarks, or under
    /// `isolation.level=read_committed` their last stable offsets (as Kafka's `endOffsets`).
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let state = self.state.lock();
        let level = state.config.isolation_level;
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), end_for(level, &*state.log(tp)?))))
            .collect()
    }

    fn offsets_of(
        &self,
        partitions: &[TopicPartition],
        which: fn(&Log) -> i64,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let state = self.state.lock();
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), which(&*state.log(tp)?))))
            .collect()
    }

    /// End offset (see [`Consumer::end_offsets`]) minus position for an assigned partition
    /// whose position is known.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let state = self.state.lock();
        let partition = state.partitions.get(tp)?;
        Some(end_for(state.config.isolation_level, &partition.log) - partition.position?)
    }

    /// The group generation this consumer is in (−1 without membership).
    pub fn generation(&self) -> i32 {
        self.state.lock().generation
    }

    /// The member id the group coordinator gave this consumer.
    pub fn member_id(&self) -> Option<String> {
        self.state.lock().member_id.clone()
    }

    /// The group membership of the moment (Kafka's `groupMetadata()`); `None` without a
    /// `group.id`.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.state.lock().group_metadata()
    }

    /// Commits positions (with `enable.auto.commit`), revokes partitions (the listener hears
    /// of it), and leaves the group. Later calls fail with `Closed`.
    pub fn close(&self) -> Result<()> {
        let mut state = self.state.lock();
        if state.closed {
            return Ok(());
        }
        let committed = if state.config.enable_auto_commit && state.coordinator.is_some() {
            let offsets = state.positions_to_commit();
            match state.commit_offsets(&offsets) {
                // As Kafka's close, which logs a failed auto-commit: a member in a rebalance
                // or out of the group cannot commit (its offsets are the next owner's), and
                // the partitions of a deleted topic have nothing to commit to.
                Err(
                    error @ (Error::RebalanceInProgress(_)
                    | Error::CommitFailed(_)
                    | Error::UnknownTopicOrPartition(_)),
                ) => {
                    tracing::warn!(target: "kafkalite::consumer", "auto-commit at close failed: {error}");
                    Ok(())
                }
                result => result,
            }
        } else {
            Ok(())
        };
        let left = state.leave_group(true);
        state.closed = true;
        state.partitions.clear();
        Self::release(state);
        committed.and(left)
    }
}

/// Tells the coordinator that `poll` returned when dropped, also on a panic.
struct PollReturned<'a>(&'a mut State);

impl Drop for PollReturned<'_> {
    fn drop(&mut self) {
        self.0.poll_returned();
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
