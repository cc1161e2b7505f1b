//! The `Consumer`: manual assignment or group subscription, positions, commits, and `poll`,
//! which blocks on the cluster's notifier (no busy loop) until records arrive.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::listener::{RebalanceContext, RebalanceListener};
use super::offset::Offset;
use super::records::{fetch, Records};
use crate::cluster::{partition_number, Cluster};
use crate::config::{AutoOffsetReset, ConsumerConfig, IntoConsumerConfig};
use crate::error::{Error, Result};
use crate::group::{
    check_group_id, CheckIn, ConsumerGroupMetadata, Coordinator, JoinRequest, Message,
    OffsetAndMetadata, OffsetAndTimestamp, Offsets, TopicPartition,
};
use crate::log::Log;
use crate::notify::Notifier;

/// How a commit completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Returns once the offsets are stored (in the log of `__consumer_offsets`), or with the
    /// error.
    Sync,
    /// Never fails the call: the outcome goes to the listener's `on_commit`.
    Async,
}

/// How a consumer gets its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Unset,
    Assigned,
    Subscribed(BTreeSet<String>),
}

/// One assigned partition's reading state.
#[derive(Debug)]
struct PartitionState {
    log: Arc<Log>,
    /// The next offset to read, once known.
    position: Option<i64>,
    /// Where to go before the next read (assign, seek): resolved lazily, as in Kafka.
    pending: Option<Offset>,
    paused: bool,
    /// The end was reported (`enable.partition.eof`) and nothing new arrived since.
    eof_reported: bool,
    /// Batches ending at or before this offset were CRC-checked already.
    checked_through: i64,
    /// With `enable.auto.offset.store=false`: what `store_offsets` stored to commit.
    stored: Option<i64>,
}

impl PartitionState {
    fn new(log: Arc<Log>, start: Offset) -> Self {
        PartitionState {
            log,
            position: None,
            pending: Some(start),
            paused: false,
            eof_reported: false,
            checked_through: -1,
            stored: None,
        }
    }
}

/// The consumer's state, behind its lock. Rebalance callbacks reach it through a
/// [`RebalanceContext`].
pub(crate) struct State {
    cluster: Cluster,
    config: ConsumerConfig,
    coordinator: Option<Arc<Coordinator>>,
    mode: Mode,
    /// A pattern subscription: the regex, and the metadata version its matches were taken at.
    #[cfg(feature = "regex")]
    pattern: Option<(regex::Regex, u64)>,
    listener: Option<Box<dyn RebalanceListener>>,
    member_id: Option<String>,
    generation: i32,
    /// `member_id` and `generation` as [`Committer`]s see them (they do not take the lock).
    membership: Arc<Mutex<(Option<String>, i32)>>,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    next_auto_commit_ms: i64,
    /// Where the next fetch starts, for fairness across partitions.
    rotate: usize,
    /// The keys of `partitions`, in order: kept between polls so that a poll clones none
    /// (checked against the map, and rebuilt, when they differ).
    order: Vec<TopicPartition>,
    closed: bool,
}

/// Reads records from a cluster's topics, alone (`assign`) or as a member of a consumer group
/// (`subscribe`), like Kafka's `KafkaConsumer`. `Send + Sync`; every method takes `&self`, and
/// calls from several threads take turns (a `poll` holds the consumer until it returns). Only
/// the [`ConsumerWaker`] acts on a consumer while it is blocked in `poll`. Dropping it closes
/// it.
pub struct Consumer {
    state: Mutex<State>,
    woken: Arc<AtomicBool>,
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").finish_non_exhaustive()
    }
}

/// Commits offsets for a consumer from any thread (`Clone + Send + 'static`), without
/// waiting for a `poll` in progress. Made by [`Consumer::committer`].
#[derive(Debug, Clone)]
pub struct Committer {
    coordinator: Arc<Coordinator>,
    group: String,
    membership: Arc<Mutex<(Option<String>, i32)>>,
    subscribed: bool,
}

impl Committer {
    /// Commits exactly `offsets` (each the next offset to read), synchronously.
    pub fn commit_offsets(&self, offsets: &Offsets) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let (member_id, generation) = self.membership.lock().clone();
        let member = commit_as(
            &self.group,
            self.subscribed,
            member_id.as_deref(),
            generation,
        )?;
        self.coordinator.commit(&self.group, member, offsets)
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

impl Cluster {
    /// A consumer configured from a [`ConsumerConfig`], `&Properties` or `&[(&str, &str)]`.
    /// Fails with [`Error::InvalidGroupId`] for a `group.id` longer than the 32767 bytes of a
    /// Kafka string field, which its commits could not be stored under.
    pub fn consumer(&self, config: impl IntoConsumerConfig) -> Result<Consumer> {
        let config = config.into_config()?;
        let coordinator = match &config.group_id {
            Some(group) => {
                check_group_id(group)?;
                Some(Coordinator::of(self)?)
            }
            None => None,
        };
        let now = self.clock().now_ms();
        let interval = config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        Ok(Consumer {
            notifier: Arc::clone(self.notifier()),
            woken: Arc::new(AtomicBool::new(false)),
            state: Mutex::new(State {
                cluster: self.clone(),
                coordinator,
                mode: Mode::Unset,
                #[cfg(feature = "regex")]
                pattern: None,
                listener: None,
                member_id: None,
                generation: -1,
                membership: Arc::new(Mutex::new((None, -1))),
                partitions: BTreeMap::new(),
                next_auto_commit_ms: now.saturating_add(interval),
                rotate: 0,
                order: Vec::new(),
                closed: false,
                config,
            }),
        })
    }
}

impl Consumer {
    /// The configuration in force.
    pub fn config(&self) -> ConsumerConfig {
        self.state.lock().config.clone()
    }

    /// Joins the group for `topics` (Kafka's `subscribe`); partitions arrive through
    /// rebalances inside `poll`. Needs `group.id`. Replaces an earlier subscription.
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
        state.leave_group(true)?;
        state.partitions.clear();
        state.mode = Mode::Unset;
        #[cfg(feature = "regex")]
        {
            state.pattern = None;
        }
        Ok(())
    }

    /// Reads exactly these partitions, without a group (Kafka's `assign`), each starting where
    /// its [`Offset`] says. Replaces an earlier assignment.
    pub fn assign(&self, partitions: &[(TopicPartition, Offset)]) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        if matches!(state.mode, Mode::Subscribed(_)) {
            return Err(Error::IllegalState(
                "assign after subscribe: a consumer either subscribes or assigns; unsubscribe first"
                    .into(),
            ));
        }
        let mut assigned = BTreeMap::new();
        for (tp, offset) in partitions {
            let log = state.log(tp)?;
            assigned.insert(tp.clone(), PartitionState::new(log, *offset));
        }
        state.partitions = assigned;
        state.mode = Mode::Assigned;
        Ok(())
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
        let mut records = Records::default();
        loop {
            let seen = self.notifier.sequence();
            if matches!(state.mode, Mode::Subscribed(_)) {
                state.ensure_membership()?;
                // A rebalance while records were gathered: keep only what is still ours.
                records
                    .parts
                    .retain(|p| state.partitions.contains_key(&p.tp));
            }
            let room = state.config.max_poll_records - records.len();
            records.absorb(state.fetch_all(room)?);
            let now = Instant::now();
            let enough = records.fetched_bytes() >= state.config.fetch_min_bytes
                || records.len() >= state.config.max_poll_records;
            if !records.eof.is_empty() || !records.errors.is_empty() {
                return Ok(records);
            }
            if !records.is_empty() && (enough || now >= min_wait) {
                return Ok(records);
            }
            if now >= deadline {
                return Ok(records);
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
            self.check_woken()?;
        }
    }

    fn check_woken(&self) -> Result<()> {
        if self.woken.swap(false, Ordering::AcqRel) {
            Err(Error::Wakeup)
        } else {
            Ok(())
        }
    }

    /// A handle that commits for this consumer from any thread, also while it is blocked in
    /// `poll` (which holds the consumer). Commits carry the membership of the moment, so the
    /// group refuses them after a rebalance as it would the consumer's own.
    pub fn committer(&self) -> Result<Committer> {
        let state = self.state.lock();
        let group = state.group_id()?.to_string();
        Ok(Committer {
            coordinator: Arc::clone(state.coordinator()?),
            group,
            membership: Arc::clone(&state.membership),
            subscribed: matches!(state.mode, Mode::Subscribed(_)),
        })
    }

    /// A handle that interrupts this consumer's blocking calls from another thread.
    pub fn waker(&self) -> ConsumerWaker {
        ConsumerWaker {
            woken: Arc::clone(&self.woken),
            notifier: Arc::clone(&self.notifier),
        }
    }

    /// Commits the current positions of every assigned partition (what earlier polls
    /// returned).
    pub fn commit(&self, mode: CommitMode) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        let offsets = state.positions_to_commit();
        state.commit_in_mode(&offsets, mode)
    }

    /// Commits exactly `offsets` (each the next offset to read).
    pub fn commit_offsets(&self, offsets: &Offsets, mode: CommitMode) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        state.commit_in_mode(offsets, mode)
    }

    /// Marks records as processed for the next commit without explicit offsets (auto-commit,
    /// [`Consumer::commit`]), with `enable.auto.offset.store=false` (librdkafka's
    /// `store_offsets`). Each offset is the next to consume; partitions must be assigned.
    pub fn store_offsets(&self, offsets: &Offsets) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        if state.config.enable_auto_offset_store {
            return Err(Error::IllegalState(
                "store_offsets needs enable.auto.offset.store=false".into(),
            ));
        }
        for (tp, offset) in offsets {
            state.assigned(tp)?.stored = Some(offset.offset);
        }
        Ok(())
    }

    /// Commits one record as processed: its offset + 1 (the "+1" that is easy to forget).
    pub fn commit_record(&self, record: &impl Message, mode: CommitMode) -> Result<()> {
        let mut offsets = Offsets::new();
        offsets.insert(
            record.topic_partition(),
            OffsetAndMetadata::next_after(record),
        );
        self.commit_offsets(&offsets, mode)
    }

    /// Marks one record as processed for the next commit (its offset + 1), with
    /// `enable.auto.offset.store=false` (librdkafka's `store_offset`).
    pub fn store_offset(&self, record: &impl Message) -> Result<()> {
        let mut offsets = Offsets::new();
        offsets.insert(
            record.topic_partition(),
            OffsetAndMetadata::next_after(record),
        );
        self.store_offsets(&offsets)
    }

    /// Commits everything in `records` as processed (each partition's last offset + 1).
    pub fn commit_records(&self, records: &Records, mode: CommitMode) -> Result<()> {
        self.commit_offsets(&records.next_offsets(), mode)
    }

    /// The group's committed offsets for `partitions` (`None` where nothing is committed).
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let mut state = self.state.lock();
        state.check_open()?;
        partitions
            .iter()
            .map(|tp| Ok((tp.clone(), state.committed(tp)?)))
            .collect()
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
        let mut state = self.state.lock();
        state.check_open()?;
        for tp in partitions {
            state.assigned(tp)?.paused = paused;
        }
        Ok(())
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

    /// The end offsets (high watermarks) of `partitions`.
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.offsets_of(partitions, Log::high_watermark)
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

    /// End offset minus position for an assigned partition whose position is known.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let state = self.state.lock();
        let partition = state.partitions.get(tp)?;
        Some(partition.log.high_watermark() - partition.position?)
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
        let state = self.state.lock();
        Some(ConsumerGroupMetadata {
            group_id: state.config.group_id.clone()?,
            generation_id: state.generation,
            member_id: state.member_id.clone().unwrap_or_default(),
            group_instance_id: state.config.group_instance_id.clone(),
        })
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
            state.commit_offsets(&offsets)
        } else {
            Ok(())
        };
        let left = state.leave_group(true);
        state.closed = true;
        state.partitions.clear();
        committed.and(left)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl State {
    fn check_open(&self) -> Result<()> {
        if self.closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn group_id(&self) -> Result<&str> {
        self.config.group_id.as_deref().ok_or_else(|| {
            Error::IllegalState(
                "this consumer has no group.id; set one to use groups and commits".into(),
            )
        })
    }

    fn coordinator(&self) -> Result<&Arc<Coordinator>> {
        self.group_id()?;
        Ok(self.coordinator.as_ref().expect("made with the group id"))
    }

    fn log(&self, tp: &TopicPartition) -> Result<Arc<Log>> {
        self.cluster.partition(&tp.topic, tp.partition)
    }

    fn assigned(&mut self, tp: &TopicPartition) -> Result<&mut PartitionState> {
        self.partitions
            .get_mut(tp)
            .ok_or_else(|| Error::IllegalState(format!("{tp} is not assigned to this consumer")))
    }

    pub(crate) fn generation(&self) -> i32 {
        self.generation
    }

    fn subscribe(
        &mut self,
        topics: &[&str],
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        if topics.is_empty() {
            return Err(Error::IllegalState(
                "subscribe to no topics: use unsubscribe to leave the group".into(),
            ));
        }
        for topic in topics {
            crate::cluster::validate_topic_name(topic)?;
        }
        self.check_can_subscribe()?;
        #[cfg(feature = "regex")]
        {
            self.pattern = None;
        }
        self.set_subscription(topics.iter().map(|t| t.to_string()).collect(), listener)
    }

    fn check_can_subscribe(&self) -> Result<()> {
        self.check_open()?;
        self.group_id()?;
        if self.mode == Mode::Assigned {
            return Err(Error::IllegalState(
                "subscribe after assign: a consumer either subscribes or assigns; unsubscribe first"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Sets the subscribed topics; a change rejoins (Kafka triggers a rebalance).
    fn set_subscription(
        &mut self,
        topics: BTreeSet<String>,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        let changed = self.mode != Mode::Subscribed(topics.clone());
        self.mode = Mode::Subscribed(topics);
        if listener.is_some() {
            self.listener = listener;
        }
        if changed && self.member_id.is_some() {
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        Ok(())
    }

    #[cfg(feature = "regex")]
    fn subscribe_pattern(
        &mut self,
        pattern: &str,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        self.check_can_subscribe()?;
        // Kafka matches the whole topic name (Matcher.matches).
        let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| Error::InvalidRegularExpression(format!("'{pattern}': {e}")))?;
        self.pattern = Some((regex, u64::MAX));
        let matched = self.pattern_matches()?;
        self.set_subscription(matched, listener)
    }

    /// The topics the pattern matches now; remembers the metadata version.
    #[cfg(feature = "regex")]
    fn pattern_matches(&mut self) -> Result<BTreeSet<String>> {
        let version = self.cluster.metadata_version();
        let exclude_internal = self.config.exclude_internal_topics;
        let Some((regex, seen)) = &mut self.pattern else {
            return Ok(BTreeSet::new());
        };
        *seen = version;
        Ok(self
            .cluster
            .list_topics()?
            .into_iter()
            .filter(|t| !(exclude_internal && crate::cluster::is_internal_topic(t)))
            .filter(|t| regex.is_match(t))
            .collect())
    }

    /// Picks up topics created or deleted since the pattern last matched.
    fn refresh_pattern(&mut self) -> Result<()> {
        #[cfg(feature = "regex")]
        if let Some((_, seen)) = &self.pattern {
            if *seen != self.cluster.metadata_version() {
                let matched = self.pattern_matches()?;
                self.set_subscription(matched, None)?;
            }
        }
        Ok(())
    }

    /// Whether the group's assignors all support incremental rebalancing (then partitions stay
    /// put during rebalances); with Kafka's default list (range first) this is eager.
    fn cooperative(&self) -> bool {
        self.config
            .assignment_strategy
            .iter()
            .all(|a| a.is_cooperative())
    }

    fn join(&mut self) -> Result<()> {
        let Mode::Subscribed(topics) = &self.mode else {
            return Ok(());
        };
        let owned: Vec<TopicPartition> = if self.cooperative() {
            self.partitions.keys().cloned().collect()
        } else {
            Vec::new()
        };
        let request = JoinRequest {
            member_id: self.member_id.clone(),
            client_id: self.config.client_id.clone(),
            instance_id: self.config.group_instance_id.clone(),
            topics: topics.clone(),
            assignors: self.config.assignment_strategy.clone(),
            owned,
            generation: self.generation,
            max_poll_interval_ms: self.config.max_poll_interval_ms,
        };
        let group = self.group_id()?.to_string();
        let cluster = self.cluster.clone();
        let id = self
            .coordinator()?
            .join(&group, request, &|t| partition_count(&cluster, t))?;
        self.member_id = Some(id);
        self.publish_membership();
        Ok(())
    }

    /// Brings membership up to date: joins, rejoins a rebalance (revoking first when eager),
    /// and takes a completed rebalance's assignment, calling the listener on the way.
    fn ensure_membership(&mut self) -> Result<()> {
        self.refresh_pattern()?;
        let group = self.group_id()?.to_string();
        let coordinator = Arc::clone(self.coordinator()?);
        let cluster = self.cluster.clone();
        let partitions_of = |t: &str| partition_count(&cluster, t);
        // Each pass either finishes or changes the membership; a few are always enough.
        for _ in 0..8 {
            let Some(member_id) = self.member_id.clone() else {
                self.join()?;
                continue;
            };
            match coordinator.check_in(&group, &member_id, &partitions_of) {
                CheckIn::Unknown => {
                    // Expelled (too long between polls): the partitions are already gone.
                    let lost: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
                    self.partitions.clear();
                    self.member_id = None;
                    self.generation = -1;
                    self.publish_membership();
                    if !lost.is_empty() {
                        self.call_listener(|l, ctx| l.on_partitions_lost(ctx, &lost));
                    }
                }
                CheckIn::Fenced => {
                    return Err(Error::FencedInstanceId(
                        self.config.group_instance_id.clone().unwrap_or(member_id),
                    ))
                }
                CheckIn::MustJoin => {
                    if self.cooperative() {
                        self.revoke_unsubscribed();
                    } else {
                        self.revoke_all_before_rejoin();
                    }
                    self.join()?;
                }
                CheckIn::Waiting => return Ok(()),
                CheckIn::Assigned {
                    generation,
                    partitions,
                } => {
                    if generation != self.generation {
                        self.take_assignment(generation, partitions)?;
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Eager protocol: before rejoining, commit (with auto-commit) and revoke everything; the
    /// listener hears of it even when nothing was owned.
    fn revoke_all_before_rejoin(&mut self) {
        if self.config.enable_auto_commit {
            let offsets = self.positions_to_commit();
            let result = self.commit_offsets(&offsets);
            self.call_listener(|l, _| l.on_commit(&result, &offsets));
        }
        let revoked: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
        self.partitions.clear();
    }

    /// Cooperative protocol: before rejoining, revoke only partitions of topics no longer
    /// subscribed.
    fn revoke_unsubscribed(&mut self) {
        let Mode::Subscribed(topics) = &self.mode else {
            return;
        };
        let revoked: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !topics.contains(&*tp.topic))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
            for tp in &revoked {
                self.partitions.remove(tp);
            }
        }
    }

    fn take_assignment(&mut self, generation: i32, assigned: Vec<TopicPartition>) -> Result<()> {
        let new: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        let revoked: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !new.contains(*tp))
            .cloned()
            .collect();
        let added: Vec<TopicPartition> = new
            .iter()
            .filter(|tp| !self.partitions.contains_key(*tp))
            .cloned()
            .collect();
        self.generation = generation;
        self.publish_membership();
        if !revoked.is_empty() {
            // Cooperative: give up what moves, then rejoin so that it can be handed over.
            self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &revoked));
            for tp in &revoked {
                self.partitions.remove(tp);
            }
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        for tp in &added {
            let Ok(log) = self.log(tp) else {
                continue; // deleted meanwhile; the next rebalance drops it
            };
            self.partitions
                .insert(tp.clone(), PartitionState::new(log, Offset::Committed));
        }
        let interval = self.config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        self.next_auto_commit_ms = self.cluster.clock().now_ms().saturating_add(interval);
        let assigned: Vec<TopicPartition> = if self.cooperative() {
            added
        } else {
            new.into_iter().collect()
        };
        self.call_listener(|l, ctx| l.on_partitions_assigned(ctx, &assigned));
        Ok(())
    }

    /// Runs a listener callback with a context over this state. A panic in it propagates out
    /// of the consumer call, as Kafka's callback exceptions do, with the listener kept.
    fn call_listener(
        &mut self,
        callback: impl FnOnce(&mut dyn RebalanceListener, &mut RebalanceContext<'_>),
    ) {
        let Some(mut listener) = self.listener.take() else {
            return;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut ctx = RebalanceContext { state: self };
            callback(listener.as_mut(), &mut ctx);
        }));
        self.listener = Some(listener);
        if let Err(panic) = outcome {
            resume_unwind(panic);
        }
    }

    /// Leaves the group (revoking everything when `revoke`); keeps the subscription.
    fn leave_group(&mut self, revoke: bool) -> Result<()> {
        if let Some(member_id) = self.member_id.clone() {
            if revoke {
                // As Kafka's onLeavePrepare: revoked (still a member here, so the callback
                // can commit), or lost when a rebalance already moved the group on.
                let dropped: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
                let group = self.group_id()?.to_string();
                if self
                    .coordinator()?
                    .is_current(&group, &member_id, self.generation)
                {
                    self.call_listener(|l, ctx| l.on_partitions_revoked(ctx, &dropped));
                } else if !dropped.is_empty() {
                    self.call_listener(|l, ctx| l.on_partitions_lost(ctx, &dropped));
                }
            }
            self.member_id = None;
            let group = self.group_id()?.to_string();
            self.coordinator()?
                .leave(&group, &member_id, self.config.session_timeout_ms);
            self.generation = -1;
            self.publish_membership();
        }
        Ok(())
    }

    fn publish_membership(&self) {
        *self.membership.lock() = (self.member_id.clone(), self.generation);
    }

    fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || self.coordinator.is_none() {
            return;
        }
        let now = self.cluster.clock().now_ms();
        if now < self.next_auto_commit_ms {
            return;
        }
        let interval = self.config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        self.next_auto_commit_ms = now.saturating_add(interval);
        // The positions now are what earlier polls returned: never the batch still in hand.
        let offsets = self.positions_to_commit();
        if offsets.is_empty() {
            return;
        }
        let result = self.commit_offsets(&offsets);
        self.call_listener(|l, _| l.on_commit(&result, &offsets));
    }

    /// What a commit without explicit offsets covers: the positions, or with
    /// `enable.auto.offset.store=false` the stored offsets.
    fn positions_to_commit(&self) -> Offsets {
        let store = self.config.enable_auto_offset_store;
        self.partitions
            .iter()
            .filter_map(|(tp, p)| {
                let offset = if store { p.position } else { p.stored }?;
                Some((tp.clone(), OffsetAndMetadata::new(offset)))
            })
            .collect()
    }

    fn commit_in_mode(&mut self, offsets: &Offsets, mode: CommitMode) -> Result<()> {
        let result = self.commit_offsets(offsets);
        match mode {
            CommitMode::Sync => result,
            CommitMode::Async => {
                self.call_listener(|l, _| l.on_commit(&result, offsets));
                Ok(())
            }
        }
    }

    pub(crate) fn commit_offsets(&mut self, offsets: &Offsets) -> Result<()> {
        let group = self.group_id()?.to_string();
        if offsets.is_empty() {
            return Ok(());
        }
        let subscribed = matches!(self.mode, Mode::Subscribed(_));
        let member = commit_as(
            &group,
            subscribed,
            self.member_id.as_deref(),
            self.generation,
        )?;
        if member.is_some() {
            if let Some(tp) = offsets.keys().find(|tp| !self.partitions.contains_key(*tp)) {
                return Err(Error::IllegalState(format!(
                    "commit for {tp}, which is not assigned to this member"
                )));
            }
        }
        self.coordinator()?.commit(&group, member, offsets)
    }

    pub(crate) fn committed(&mut self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        let group = self.group_id()?.to_string();
        Ok(self.coordinator()?.offsets.committed(&group, tp))
    }

    pub(crate) fn seek(&mut self, tp: &TopicPartition, to: Offset) -> Result<()> {
        if let Offset::At(offset) = to {
            if offset < 0 {
                return Err(Error::IllegalState(format!(
                    "seek to negative offset {offset} on {tp}"
                )));
            }
        }
        let partition = self.assigned(tp)?;
        // As in Kafka, an offset takes effect at once (checked at the next fetch, where
        // auto.offset.reset handles one outside the log); the others resolve lazily.
        (partition.position, partition.pending) = match to {
            Offset::At(offset) => (Some(offset), None),
            other => (None, Some(other)),
        };
        partition.eof_reported = false;
        Ok(())
    }

    pub(crate) fn known_position(&self, tp: &TopicPartition) -> Option<i64> {
        self.partitions.get(tp)?.position
    }

    pub(crate) fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.assigned(tp)?;
        self.resolve_position(tp)
    }

    /// The partition's position, resolving a pending seek, the committed offset or
    /// `auto.offset.reset` first.
    fn resolve_position(&mut self, tp: &TopicPartition) -> Result<i64> {
        let partition = self.partitions.get(tp).expect("caller checked");
        if let Some(position) = partition.position {
            return Ok(position);
        }
        let log = Arc::clone(&partition.log);
        let pending = partition.pending.unwrap_or(Offset::Committed);
        let (start, end) = (log.log_start_offset(), log.high_watermark());
        let position = match pending {
            Offset::Beginning => start,
            Offset::End => end,
            Offset::FromEnd(n) => end.saturating_sub(n.min(i64::MAX as u64) as i64).max(start),
            Offset::At(offset) if (start..=end).contains(&offset) => offset,
            Offset::At(offset) => self.reset(tp, &log, offset)?,
            Offset::Committed => {
                let committed = match self.config.group_id {
                    Some(_) => self.committed(tp)?.map(|c| c.offset),
                    None => None,
                };
                match committed {
                    Some(offset) if (start..=end).contains(&offset) => offset,
                    Some(offset) => self.reset(tp, &log, offset)?,
                    None => self.reset(tp, &log, -1)?,
                }
            }
        };
        let partition = self.partitions.get_mut(tp).expect("caller checked");
        partition.position = Some(position);
        partition.pending = None;
        Ok(position)
    }

    /// `auto.offset.reset` for a partition without a usable offset (`offset` −1: none at all).
    fn reset(&self, tp: &TopicPartition, log: &Log, offset: i64) -> Result<i64> {
        match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => Ok(log.log_start_offset()),
            AutoOffsetReset::Latest => Ok(log.high_watermark()),
            AutoOffsetReset::None if offset < 0 => Err(Error::OffsetOutOfRange {
                partition: format!("{tp} (no committed offset, and auto.offset.reset=none)"),
                offset,
                log_start: log.log_start_offset(),
                log_end: log.high_watermark(),
            }),
            AutoOffsetReset::None => Err(Error::OffsetOutOfRange {
                partition: tp.to_string(),
                offset,
                log_start: log.log_start_offset(),
                log_end: log.high_watermark(),
            }),
        }
    }

    /// Reads every assigned, unpaused partition from its position, starting with a different
    /// partition each time so that `max.poll.records` does not starve any.
    fn fetch_all(&mut self, max_records: usize) -> Result<Records> {
        let mut records = Records::default();
        let mut tps = std::mem::take(&mut self.order);
        let current = tps.len() == self.partitions.len()
            && tps
                .iter()
                .zip(self.partitions.keys())
                .all(|(a, b)| Arc::ptr_eq(&a.topic, &b.topic) && a.partition == b.partition);
        if !current {
            tps = self.partitions.keys().cloned().collect();
        }
        if tps.is_empty() {
            return Ok(records);
        }
        // As Kafka's updateFetchPositions: every assigned partition gets a position first.
        if self.partitions.values().any(|p| p.position.is_none()) {
            for tp in &tps {
                self.resolve_position(tp)?;
            }
        }
        let mut remaining = max_records;
        let mut bytes_left = self.config.fetch_max_bytes.max(1);
        let start = self.rotate % tps.len();
        self.rotate = self.rotate.wrapping_add(1);
        for tp in tps[start..].iter().chain(&tps[..start]) {
            if remaining == 0 {
                break;
            }
            let partition = &self.partitions[tp];
            if partition.paused {
                continue;
            }
            let position = partition
                .position
                .expect("every position was resolved above");
            let max_bytes = self.config.max_partition_fetch_bytes.min(bytes_left).max(1);
            let checked = if self.config.check_crcs {
                partition.checked_through
            } else {
                i64::MAX
            };
            let mut fetched = fetch(tp, &partition.log, position, remaining, max_bytes, checked);
            if let Err(Error::OffsetOutOfRange { .. }) = fetched {
                // Retention moved the start past the position, or a seek went outside.
                let log = Arc::clone(&partition.log);
                let reset = self.reset(tp, &log, position)?;
                self.partitions.get_mut(tp).expect("assigned").position = Some(reset);
                fetched = fetch(tp, &log, reset, remaining, max_bytes, checked);
            }
            let partition = self.partitions.get_mut(tp).expect("assigned");
            match fetched {
                Ok(Some(part)) => {
                    partition.position = Some(part.next_offset);
                    partition.checked_through = part.checked_through;
                    remaining -= part.count;
                    bytes_left = bytes_left.saturating_sub(part.data.bytes().len());
                    if part.count > 0 {
                        partition.eof_reported = false;
                        records.parts.push(part);
                    }
                }
                Ok(None) => {}
                Err(error) => records.errors.push((tp.clone(), error)),
            }
            let at_end = partition
                .position
                .is_some_and(|p| p >= partition.log.high_watermark());
            if self.config.enable_partition_eof && at_end && !partition.eof_reported {
                partition.eof_reported = true;
                records.eof.push(tp.clone());
            }
        }
        self.order = tps;
        Ok(records)
    }
}

/// Who a commit is made for: a subscribed consumer commits as its group member (id and
/// generation) and must be one; an assigning consumer commits without membership.
fn commit_as<'a>(
    group: &str,
    subscribed: bool,
    member_id: Option<&'a str>,
    generation: i32,
) -> Result<Option<(&'a str, i32)>> {
    match (subscribed, member_id) {
        (true, Some(id)) => Ok(Some((id, generation))),
        (true, None) => Err(Error::CommitFailed(format!(
            "this consumer is not a member of group '{group}' (it was expelled or has not joined yet)"
        ))),
        (false, _) => Ok(None),
    }
}

fn partition_count(cluster: &Cluster, topic: &str) -> Option<i32> {
    cluster
        .topic_partitions(topic)
        .ok()
        .map(|(_, logs)| partition_number(logs.len()))
}
