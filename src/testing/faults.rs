//! Fault rules in the style of franz-go's kfake: a rule names an operation (produce, fetch,
//! commit, ...), optionally a topic, partition, group or transactional id, and what happens
//! to the operations it matches: fail the next n, fail all, delay on the cluster clock, or
//! hold until the test releases them. Each rule lives as long as its [`FaultGuard`].
//!
//! The table is checked at the top of each operation, before any lock of the cluster is
//! taken, so a delayed or held operation parks only its own caller.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::clock::{millis, Clock};
use crate::cluster::Cluster;
use crate::error::{Error, ErrorCode, Result};
use crate::group::TopicPartition;

/// Longest real-time wait between looks at the clock, for clocks that do not wake their
/// waiters when they jump (the system clock).
const CLOCK_RECHECK: Duration = Duration::from_millis(50);

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

    fn describe(&self) -> String {
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

type Matcher = Box<dyn Fn(&OpInfo<'_>) -> bool + Send + Sync>;

/// What a rule does to the operations it matches.
enum Action {
    FailNext { left: usize, code: ErrorCode },
    FailAlways(ErrorCode),
    Delay(Duration),
    Hold(Held),
}

/// A hold rule's parked operations and the decisions given for them, in arrival order.
#[derive(Default)]
struct Held {
    /// Tickets handed to arriving operations, and tickets served so far.
    arrived: u64,
    served: u64,
    /// Decisions not yet taken: `None` completes, `Some(code)` fails.
    decisions: VecDeque<Option<ErrorCode>>,
}

struct Rule {
    id: u64,
    filter: Filter,
    action: Action,
    hits: Arc<AtomicU64>,
}

/// A rule's filters; every one set must match.
struct Filter {
    op: Op,
    topic: Option<String>,
    partition: Option<i32>,
    group: Option<String>,
    transactional_id: Option<String>,
    matching: Option<Matcher>,
}

impl Filter {
    fn matches(&self, info: &OpInfo<'_>) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        self.op == info.op
            && same(&self.topic, info.topic)
            && self.partition.is_none_or(|p| info.partition == Some(p))
            && same(&self.group, info.group)
            && same(&self.transactional_id, info.transactional_id)
            && self.matching.as_ref().is_none_or(|m| m(info))
    }
}

/// The verdict of the rules on one operation.
pub(crate) enum Verdict {
    Pass,
    /// Fail with `code`; `sticky` when the same rule answers every retry the same way.
    Fail {
        code: ErrorCode,
        sticky: bool,
    },
}

struct Table {
    rules: Vec<Rule>,
    next_id: u64,
    /// Moves whenever the rules change or the clock jumps: what waits for either looks again.
    generation: u64,
}

/// A cluster's fault rules.
pub(crate) struct FaultTable {
    /// How many rules exist: operations skip the lock while there are none.
    active: AtomicUsize,
    table: Mutex<Table>,
    changed: Condvar,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FaultTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultTable")
            .field("rules", &self.active.load(Ordering::Relaxed))
            .finish()
    }
}

impl FaultTable {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Arc<FaultTable> {
        let table = Arc::new(FaultTable {
            active: AtomicUsize::new(0),
            table: Mutex::new(Table {
                rules: Vec::new(),
                next_id: 0,
                generation: 0,
            }),
            changed: Condvar::new(),
            clock: Arc::clone(&clock),
        });
        let weak: Weak<FaultTable> = Arc::downgrade(&table);
        clock.wake_on_jump(Box::new(move || match weak.upgrade() {
            Some(table) => {
                table.table.lock().generation += 1;
                table.changed.notify_all();
                true
            }
            None => false,
        }));
        table
    }

    /// Whether any rule exists.
    pub(crate) fn has_rules(&self) -> bool {
        self.active.load(Ordering::Acquire) > 0
    }

    fn add(&self, filter: Filter, action: Action) -> (u64, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let mut table = self.table.lock();
        let id = table.next_id;
        table.next_id += 1;
        table.rules.push(Rule {
            id,
            filter,
            action,
            hits: Arc::clone(&hits),
        });
        table.generation += 1;
        self.active.fetch_add(1, Ordering::Release);
        (id, hits)
    }

    fn remove(&self, id: u64) {
        let mut table = self.table.lock();
        let before = table.rules.len();
        table.rules.retain(|r| r.id != id);
        if table.rules.len() < before {
            self.active.fetch_sub(1, Ordering::Release);
        }
        table.generation += 1;
        drop(table);
        self.changed.notify_all();
    }

    /// The verdict on `info`: the first rule that matches decides (a spent `fail_next` no
    /// longer matches). A delay or hold blocks here until it is over.
    pub(crate) fn check(&self, info: &OpInfo<'_>) -> Verdict {
        if self.active.load(Ordering::Acquire) == 0 {
            return Verdict::Pass;
        }
        let mut table = self.table.lock();
        let Some(rule) = table.rules.iter_mut().find(|r| {
            !matches!(r.action, Action::FailNext { left: 0, .. }) && r.filter.matches(info)
        }) else {
            return Verdict::Pass;
        };
        rule.hits.fetch_add(1, Ordering::AcqRel);
        let id = rule.id;
        // For `FaultGuard::wait_hits`.
        self.changed.notify_all();
        match &mut rule.action {
            Action::FailNext { left, code } => {
                *left -= 1;
                Verdict::Fail {
                    code: *code,
                    sticky: false,
                }
            }
            Action::FailAlways(code) => Verdict::Fail {
                code: *code,
                sticky: true,
            },
            Action::Delay(delay) => {
                let until = self
                    .clock
                    .now_ms()
                    .saturating_add(i64::try_from(millis(*delay)).unwrap_or(i64::MAX));
                self.wait_clock(table, until);
                Verdict::Pass
            }
            Action::Hold(held) => {
                let ticket = held.arrived;
                held.arrived += 1;
                self.changed.notify_all();
                self.wait_release(table, id, ticket)
            }
        }
    }

    /// `check` for an operation that fails at once with what a rule says.
    pub(crate) fn fail(&self, info: &OpInfo<'_>) -> Result<()> {
        match self.check(info) {
            Verdict::Pass => Ok(()),
            Verdict::Fail { code, .. } => Err(injected(code, info)),
        }
    }

    /// A producer's append attempt on one partition, retried as Kafka's producer retries a
    /// retriable broker error: up to `retries` more attempts while `delivery_timeout_ms` (on
    /// the cluster clock, from the first attempt) lasts. A rule that fails every attempt is
    /// tried again when the rules change or the clock moves; the batch then fails with
    /// Kafka's expiry error once the delivery timeout passes.
    pub(crate) fn produce(
        &self,
        topic: &str,
        partition: i32,
        retries: u64,
        delivery_timeout_ms: i64,
    ) -> Result<()> {
        let info = OpInfo::new(Op::Produce).on_partition(topic, partition);
        let start = self.clock.now_ms();
        let deadline = start.saturating_add(delivery_timeout_ms);
        let mut attempts = 0u64;
        loop {
            let seen = self.table.lock().generation;
            let (code, sticky) = match self.check(&info) {
                Verdict::Pass => return Ok(()),
                Verdict::Fail { code, sticky } => (code, sticky),
            };
            if !code.is_retriable() || attempts >= retries {
                return Err(injected(code, &info));
            }
            attempts += 1;
            let expired = if sticky {
                !self.wait_change(seen, deadline)
            } else {
                self.clock.now_ms() >= deadline
            };
            if expired {
                return Err(Error::Timeout(format!(
                    "Expiring the batch for {topic}-{partition}: {} ms has passed since its first \
                     attempt (delivery.timeout.ms {delivery_timeout_ms}); {attempts} attempt(s) \
                     failed with {code:?}, a retriable error (a fault rule of the test kit)",
                    self.clock.now_ms().saturating_sub(start)
                )));
            }
        }
    }

    /// Waits until the clock reads `until`.
    fn wait_clock(&self, mut table: MutexGuard<'_, Table>, until: i64) {
        while self.clock.now_ms() < until {
            self.changed.wait_for(&mut table, CLOCK_RECHECK);
        }
    }

    /// Waits until the rules change or the clock moves (then true), or the clock reads
    /// `deadline` (then false).
    fn wait_change(&self, seen: u64, deadline: i64) -> bool {
        let mut table = self.table.lock();
        loop {
            if self.clock.now_ms() >= deadline {
                return false;
            }
            if table.generation != seen {
                return true;
            }
            self.changed.wait_for(&mut table, CLOCK_RECHECK);
        }
    }

    /// Parks a held operation until its decision comes, or its rule is removed (then it
    /// goes ahead).
    fn wait_release(&self, mut table: MutexGuard<'_, Table>, id: u64, ticket: u64) -> Verdict {
        loop {
            let Some(rule) = table.rules.iter_mut().find(|r| r.id == id) else {
                return Verdict::Pass;
            };
            let Action::Hold(held) = &mut rule.action else {
                unreachable!("rule {id} holds")
            };
            if held.served == ticket {
                if let Some(decision) = held.decisions.pop_front() {
                    held.served += 1;
                    self.changed.notify_all();
                    return match decision {
                        None => Verdict::Pass,
                        Some(code) => Verdict::Fail {
                            code,
                            sticky: false,
                        },
                    };
                }
            }
            self.changed.wait(&mut table);
        }
    }

    fn with_held<T>(&self, id: u64, f: impl FnOnce(&mut Held) -> T) -> Option<T> {
        let mut table = self.table.lock();
        let rule = table.rules.iter_mut().find(|r| r.id == id)?;
        match &mut rule.action {
            Action::Hold(held) => Some(f(held)),
            _ => None,
        }
    }
}

/// The error an operation failed by a rule reports.
pub(crate) fn injected(code: ErrorCode, info: &OpInfo<'_>) -> Error {
    Error::Kafka {
        code,
        detail: format!("{} failed (a fault rule of the test kit)", info.describe()),
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

/// A fault rule being made: filters, then one of `fail_next`, `fail_always`, `delay`, `hold`.
#[must_use = "a rule acts only once `fail_next`, `fail_always`, `delay` or `hold` installs it"]
pub struct FaultRule {
    cluster: Cluster,
    filter: Filter,
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

    /// Only operations `matching` accepts.
    pub fn matching(
        mut self,
        matching: impl Fn(&OpInfo<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter.matching = Some(Box::new(matching));
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

    /// Checks the filters name what exists, then adds the rule.
    fn install(self, action: Action) -> Result<FaultGuard> {
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
        let (id, hits) = table.add(self.filter, action);
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
    /// How many operations the rule matched so far (failed, delayed or held).
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
            .with_held(self.id, |held| held.arrived - held.served)
            .unwrap_or(0)
    }

    /// Waits (real time, at most `timeout`) until at least `n` operations are parked;
    /// returns whether they are.
    pub fn wait_held(&self, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut table = self.table.table.lock();
        loop {
            let parked =
                table
                    .rules
                    .iter()
                    .find(|r| r.id == self.id)
                    .and_then(|r| match &r.action {
                        Action::Hold(held) => Some(held.arrived - held.served),
                        _ => None,
                    });
            match parked {
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
