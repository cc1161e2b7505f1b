//! Fault rules in the style of franz-go's kfake: a rule names an operation (produce, fetch,
//! commit, ...), optionally a topic, partition, group or transactional id, and what happens
//! to the operations it matches: fail the next n, answer the next ones in turn (fail or
//! pass), fail all, delay on the cluster clock, or hold until the test releases them. Each rule lives as long as its [`FaultGuard`].
//!
//! An operation reaches the rules once, at its start (a commit once for all its partitions).
//! A delayed or held operation keeps what its caller holds while it waits: the producer's
//! appender thread (later batches of that producer wait behind it), the consumer (its other
//! calls wait for the `poll`), a transactional producer's state (its other calls wait).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::table::{Action, FaultTable, Filter, Held};
use crate::cluster::Cluster;
use crate::error::{Error, ErrorCode, Result};
use crate::group::TopicPartition;

/// The operations fault rules apply to (Kafka's request kinds, as clients see them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// A producer's append of one batch to one partition (Kafka's `Produce`).
    Produce,
    /// A consumer's read of one partition within a `poll` (Kafka's `Fetch`).
    Fetch,
    /// A consumer's offset commit (Kafka's `OffsetCommit`).
    Commit,
    /// A consumer's join of its group (Kafka's `JoinGroup`).
    JoinGroup,
    /// An admin topic creation (Kafka's `CreateTopics`).
    CreateTopics,
    /// A transactional producer's `init_transactions` (Kafka's `InitProducerId`).
    InitTransactions,
    /// A transactional producer's commit or abort (Kafka's `EndTxn`).
    EndTxn,
}

/// One operation, as a rule's filters see it.
#[derive(Debug, Clone, Copy)]
pub struct OpInfo<'a> {
    op: Op,
    topic: Option<&'a str>,
    partition: Option<i32>,
    group: Option<&'a str>,
    transactional_id: Option<&'a str>,
}

impl<'a> OpInfo<'a> {
    pub(crate) fn new(op: Op) -> Self {
        OpInfo {
            op,
            topic: None,
            partition: None,
            group: None,
            transactional_id: None,
        }
    }

    pub(crate) fn on_partition(mut self, topic: &'a str, partition: i32) -> Self {
        self.topic = Some(topic);
        self.partition = Some(partition);
        self
    }

    pub(crate) fn on_topic(mut self, topic: &'a str) -> Self {
        self.topic = Some(topic);
        self
    }

    pub(crate) fn of_group(mut self, group: &'a str) -> Self {
        self.group = Some(group);
        self
    }

    pub(crate) fn of_transactional_id(mut self, id: &'a str) -> Self {
        self.transactional_id = Some(id);
        self
    }

    /// The operation.
    pub fn op(&self) -> Op {
        self.op
    }
    /// The topic it concerns (produce, fetch, a committed partition, topic creation).
    pub fn topic(&self) -> Option<&'a str> {
        self.topic
    }
    /// The partition it concerns (produce, fetch, a committed partition).
    pub fn partition(&self) -> Option<i32> {
        self.partition
    }
    /// The consumer group (commit, join).
    pub fn group(&self) -> Option<&'a str> {
        self.group
    }
    /// The transactional id (init_transactions, commit or abort).
    pub fn transactional_id(&self) -> Option<&'a str> {
        self.transactional_id
    }

    pub(super) fn describe(&self) -> String {
        let mut what = format!("{:?}", self.op);
        match (self.topic, self.partition) {
            (Some(t), Some(p)) => what.push_str(&format!(" on {t}-{p}")),
            (Some(t), None) => what.push_str(&format!(" on topic '{t}'")),
            _ => {}
        }
        if let Some(group) = self.group {
            what.push_str(&format!(" for group '{group}'"));
        }
        if let Some(id) = self.transactional_id {
            what.push_str(&format!(" for transactional id '{id}'"));
        }
        what
    }
}

/// Where fault rules are made: [`Faults::on`] starts one.
#[derive(Debug, Clone)]
pub struct Faults {
    pub(super) cluster: Cluster,
}

impl Faults {
    /// A rule for `op`: narrow it with the filters, then choose what it does.
    pub fn on(&self, op: Op) -> FaultRule {
        FaultRule {
            first: false,
            cluster: self.cluster.clone(),
            filter: Filter {
                op,
                topic: None,
                partition: None,
                group: None,
                transactional_id: None,
                matching: None,
            },
        }
    }
}

/// A fault rule being made: filters, then one of `fail_next`, `fail_in_turn`, `fail_always`,
/// `delay`, `hold`.
#[must_use = "a rule acts only once `fail_next`, `fail_in_turn`, `fail_always`, `delay` or \
              `hold` installs it"]
pub struct FaultRule {
    cluster: Cluster,
    filter: Filter,
    /// Installed ahead of the rules already there (the rdkafka mock cluster's standing
    /// conditions, which answer before its pushed errors).
    first: bool,
}

impl std::fmt::Debug for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultRule")
            .field("op", &self.filter.op)
            .field("topic", &self.filter.topic)
            .field("partition", &self.filter.partition)
            .field("group", &self.filter.group)
            .field("transactional_id", &self.filter.transactional_id)
            .finish_non_exhaustive()
    }
}

impl FaultRule {
    /// Only operations on `topic`.
    pub fn topic(mut self, topic: &str) -> Self {
        self.filter.topic = Some(topic.to_string());
        self
    }

    /// Only operations on one partition.
    pub fn partition(mut self, tp: &TopicPartition) -> Self {
        self.filter.topic = Some(tp.topic.to_string());
        self.filter.partition = Some(tp.partition);
        self
    }

    /// Only operations of consumer group `group` (commit, join).
    pub fn group(mut self, group: &str) -> Self {
        self.filter.group = Some(group.to_string());
        self
    }

    /// Only operations of transactional id `id` (init_transactions, commit, abort).
    pub fn transactional_id(mut self, id: &str) -> Self {
        self.filter.transactional_id = Some(id.to_string());
        self
    }

    /// Answers before the rules installed already (the first matching rule answers).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn ahead(mut self) -> Self {
        self.first = true;
        self
    }

    /// Only operations `matching` accepts.
    pub fn matching(
        mut self,
        matching: impl Fn(&OpInfo<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter.matching = Some(Arc::new(matching));
        self
    }

    /// Fails the next `n` matching operations with `code` (one-shot, as kfake's), then
    /// lets them through. A producer retries a retriable code by itself, so `n` retriable
    /// produce failures cost it `n` attempts, not the delivery.
    pub fn fail_next(self, n: usize, code: ErrorCode) -> Result<FaultGuard> {
        if n == 0 {
            return Err(Error::IllegalState(
                "fail_next(0, ..) would fail nothing: ask for at least one failure".into(),
            ));
        }
        self.install(Action::FailNext { left: n, code })
    }

    /// Answers the next matching operations in turn, one entry each: `Some(code)` fails it,
    /// `None` lets it through; then the rule lets everything through (librdkafka's mock
    /// cluster's `push_request_errors`, whose `NO_ERROR` entries pass). Retries take turns
    /// too.
    pub fn fail_in_turn(
        self,
        turns: impl IntoIterator<Item = Option<ErrorCode>>,
    ) -> Result<FaultGuard> {
        let turns: std::collections::VecDeque<Option<ErrorCode>> = turns.into_iter().collect();
        if turns.is_empty() {
            return Err(Error::IllegalState(
                "fail_in_turn with no turns would answer nothing: give at least one".into(),
            ));
        }
        self.install(Action::InTurn(turns))
    }

    /// Fails every matching operation with `code` until the guard drops.
    pub fn fail_always(self, code: ErrorCode) -> Result<FaultGuard> {
        self.install(Action::FailAlways(code))
    }

    /// Delays every matching operation by `delay` on the cluster clock (with a
    /// [`MockClock`](crate::MockClock), until the test moves it that far).
    pub fn delay(self, delay: Duration) -> Result<FaultGuard> {
        self.install(Action::Delay(delay))
    }

    /// Parks every matching operation until the [`Release`] decides it, in arrival order.
    /// Dropping the guard lets parked operations go ahead.
    pub fn hold(self) -> Result<(FaultGuard, Release)> {
        let guard = self.install(Action::Hold(Held::default()))?;
        let release = Release {
            table: Arc::clone(&guard.table),
            id: guard.id,
        };
        Ok((guard, release))
    }

    /// Checks the filters can match the operation and name what exists, then adds the rule.
    fn install(self, action: Action) -> Result<FaultGuard> {
        let op = self.filter.op;
        let carries = |what: &str| match what {
            "topic" => !matches!(op, Op::JoinGroup | Op::InitTransactions | Op::EndTxn),
            "partition" => matches!(op, Op::Produce | Op::Fetch | Op::Commit),
            "group" => matches!(op, Op::Commit | Op::JoinGroup),
            _ => matches!(op, Op::InitTransactions | Op::EndTxn),
        };
        let set = [
            ("topic", self.filter.topic.is_some()),
            ("partition", self.filter.partition.is_some()),
            ("group", self.filter.group.is_some()),
            ("transactional id", self.filter.transactional_id.is_some()),
        ];
        if let Some((what, _)) = set.iter().find(|(what, set)| *set && !carries(what)) {
            return Err(Error::IllegalState(format!(
                "a fault rule on {op:?} filters by {what}, which {op:?} operations do not \
                 have: it could never match"
            )));
        }
        if let Some(topic) = &self.filter.topic {
            // A topic creation is what makes its topic exist.
            if self.filter.op != Op::CreateTopics {
                let partitions = self.cluster.describe_topic(topic).map_err(|_| {
                    Error::UnknownTopicOrPartition(format!(
                        "a fault rule names topic '{topic}', which does not exist: create it \
                         first, or filter with `matching` for a topic made later"
                    ))
                })?;
                let count = i32::try_from(partitions.partitions.len()).unwrap_or(i32::MAX);
                if let Some(p) = self.filter.partition.filter(|p| !(0..count).contains(p)) {
                    return Err(Error::UnknownTopicOrPartition(format!(
                        "a fault rule names partition {p} of topic '{topic}', which has \
                         {count} partition(s)"
                    )));
                }
            }
        }
        let table = Arc::clone(self.cluster.fault_table());
        let (id, hits) = table.add(self.filter, action, self.first);
        Ok(FaultGuard { table, id, hits })
    }
}

/// An installed fault rule: it acts until this guard drops. Counts the operations it
/// matched.
#[must_use = "the rule is removed when its guard drops"]
pub struct FaultGuard {
    table: Arc<FaultTable>,
    id: u64,
    hits: Arc<AtomicU64>,
}

impl std::fmt::Debug for FaultGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultGuard")
            .field("id", &self.id)
            .field("hits", &self.hits())
            .finish()
    }
}

impl FaultGuard {
    /// How many operations the rule answered so far (failed, delayed, held, or let through
    /// by a `fail_in_turn` turn).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Acquire)
    }

    /// Waits (real time, at most `timeout`) until the rule has matched at least `n`
    /// operations; returns whether it has. For a test to know that an operation reached
    /// the rule (a delay or a failing retry is under way) before it moves the clock.
    pub fn wait_hits(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut table = self.table.table.lock();
        while self.hits() < n {
            if self
                .table
                .changed
                .wait_until(&mut table, deadline)
                .timed_out()
            {
                return self.hits() >= n;
            }
        }
        true
    }
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

/// Decides what a hold rule's parked operations do, oldest first. A decision given while
/// none is parked applies to the next one to arrive.
#[derive(Clone)]
pub struct Release {
    table: Arc<FaultTable>,
    id: u64,
}

impl std::fmt::Debug for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Release")
            .field("id", &self.id)
            .field("held", &self.held())
            .finish()
    }
}

impl Release {
    /// Lets the oldest parked operation go ahead.
    pub fn complete_next(&self) -> Result<()> {
        self.decide(None)
    }

    /// Fails the oldest parked operation with `code` (a producer retries a retriable code).
    pub fn error_next(&self, code: ErrorCode) -> Result<()> {
        self.decide(Some(code))
    }

    fn decide(&self, decision: Option<ErrorCode>) -> Result<()> {
        self.table
            .with_held(self.id, |held| held.decisions.push_back(decision))
            .ok_or_else(|| {
                Error::IllegalState("the hold rule is gone: its FaultGuard was dropped".into())
            })?;
        self.table.changed.notify_all();
        Ok(())
    }

    /// How many operations are parked now, waiting for a decision.
    pub fn held(&self) -> u64 {
        self.table
            .with_held(self.id, |held| held.parked())
            .unwrap_or(0)
    }

    /// Waits (real time, at most `timeout`) until at least `n` operations are parked;
    /// returns whether they are.
    pub fn wait_held(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut table = self.table.table.lock();
        loop {
            match FaultTable::parked(&table, self.id) {
                Some(parked) if parked >= n => return true,
                None => return false,
                Some(_) => {}
            }
            if self
                .table
                .changed
                .wait_until(&mut table, deadline)
                .timed_out()
            {
                return false;
            }
        }
    }
}
