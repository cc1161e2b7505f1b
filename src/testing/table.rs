//! The fault table of one cluster: the rules in installation order, their verdicts on
//! operations, the waits a delay or a hold imposes, and the retries Kafka's clients make
//! around a retriable answer.
//!
//! A verdict is taken without holding the table's lock while a rule's `matching` closure
//! runs (the closure may use the kit itself). Waits look at the clock, the rules and the
//! caller's cancellation at least every [`RECHECK`].

use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::faults::{Op, OpInfo};
use crate::clock::{millis, Clock};
use crate::error::{Error, ErrorCode, Result};
use crate::notify::Notifier;

/// Longest wait between looks at the clock, the rules and cancellation (clocks that do not
/// wake their waiters when they jump, a producer closing).
const RECHECK: Duration = Duration::from_millis(50);

thread_local! {
    /// Set while the kit reads on its own account (`records`, `history`): rules ignore it.
    static BYPASS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with the rules ignoring the calling thread.
pub(crate) fn bypassing<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            BYPASS.with(|b| b.set(self.0));
        }
    }
    let _reset = Reset(BYPASS.with(|b| b.replace(true)));
    f()
}

pub(super) type Matcher = Arc<dyn Fn(&OpInfo<'_>) -> bool + Send + Sync>;

/// A rule's filters; every one set must match.
pub(super) struct Filter {
    pub(super) op: Op,
    pub(super) topic: Option<String>,
    pub(super) partition: Option<i32>,
    pub(super) group: Option<String>,
    pub(super) transactional_id: Option<String>,
    pub(super) matching: Option<Matcher>,
}

impl Filter {
    /// The filters other than `matching`.
    fn fixed_match(&self, info: &OpInfo<'_>) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        self.op == info.op()
            && same(&self.topic, info.topic())
            && self.partition.is_none_or(|p| info.partition() == Some(p))
            && same(&self.group, info.group())
            && same(&self.transactional_id, info.transactional_id())
    }
}

/// What a rule does to the operations it matches.
pub(super) enum Action {
    FailNext {
        left: usize,
        code: ErrorCode,
    },
    /// Answers in turn: `Some(code)` fails, `None` lets through; spent when empty.
    InTurn(VecDeque<Option<ErrorCode>>),
    FailAlways(ErrorCode),
    Delay(Duration),
    Hold(Held),
}

/// A hold rule's parked operations and the decisions given for them, in arrival order.
#[derive(Default)]
pub(super) struct Held {
    /// Tickets handed to arriving operations, and tickets served so far.
    arrived: u64,
    served: u64,
    /// Tickets of operations that gave up while parked (their callers were cancelled),
    /// above `served`: their turns are skipped.
    cancelled: BTreeSet<u64>,
    /// Decisions not yet taken: `None` completes, `Some(code)` fails.
    pub(super) decisions: VecDeque<Option<ErrorCode>>,
}

impl Held {
    /// Operations parked now.
    pub(super) fn parked(&self) -> u64 {
        self.arrived - self.served - self.cancelled.len() as u64
    }

    /// The current turn is over: the next ticket not given up is served next.
    fn next_turn(&mut self) {
        self.served += 1;
        while self.cancelled.remove(&self.served) {
            self.served += 1;
        }
    }
}

struct Rule {
    id: u64,
    filter: Filter,
    action: Action,
    hits: Arc<AtomicU64>,
}

impl Rule {
    /// A `fail_next` or `fail_in_turn` whose answers are used up matches nothing more.
    fn spent(&self) -> bool {
        match &self.action {
            Action::FailNext { left, .. } => *left == 0,
            Action::InTurn(turns) => turns.is_empty(),
            _ => false,
        }
    }
}

/// The rules' answer to one operation.
enum Verdict {
    Pass,
    /// Fail with `code`; `sticky` when the same rule answers every retry the same way.
    Fail {
        code: ErrorCode,
        sticky: bool,
    },
    /// The caller gave up while a delay or hold kept it.
    Cancelled,
}

pub(super) struct Table {
    rules: Vec<Rule>,
    next_id: u64,
    /// Moves whenever the rules change or the clock jumps: what waits for either looks again.
    generation: u64,
}

/// A cluster's fault rules.
pub(crate) struct FaultTable {
    /// How many rules can still answer: operations skip the lock while there are none.
    live: AtomicUsize,
    pub(super) table: Mutex<Table>,
    pub(super) changed: Condvar,
    clock: Arc<dyn Clock>,
    /// The cluster's notifier: a consumer waiting in `poll` retries when a rule may let it
    /// through now (a one-shot failure given, a rule removed).
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for FaultTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultTable")
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

/// How a caller retries a retriable answer: at most `retries` more attempts, until
/// `timeout_ms` on the cluster clock from the first; `cancelled` gives up a wait.
pub(crate) struct Retry<'a> {
    pub(crate) retries: u64,
    pub(crate) timeout_ms: i64,
    /// The setting the timeout comes from, for the error.
    pub(crate) timeout_key: &'static str,
    pub(crate) cancelled: &'a dyn Fn() -> bool,
}

impl Retry<'_> {
    /// Kafka's clients' calls that retry retriable errors until `default.api.timeout.ms`.
    pub(crate) const API_CALL: Retry<'static> = Retry {
        retries: u64::MAX,
        timeout_ms: 60_000,
        timeout_key: "default.api.timeout.ms",
        cancelled: &|| false,
    };
}

impl FaultTable {
    pub(crate) fn new(clock: Arc<dyn Clock>, notifier: Arc<Notifier>) -> Arc<FaultTable> {
        let table = Arc::new(FaultTable {
            live: AtomicUsize::new(0),
            table: Mutex::new(Table {
                rules: Vec::new(),
                next_id: 0,
                generation: 0,
            }),
            changed: Condvar::new(),
            clock: Arc::clone(&clock),
            notifier,
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

    /// Whether any rule can still answer.
    pub(crate) fn has_rules(&self) -> bool {
        self.live.load(Ordering::Acquire) > 0
    }

    /// Adds a rule after the others, or before them (`first`).
    pub(super) fn add(&self, filter: Filter, action: Action, first: bool) -> (u64, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let mut table = self.table.lock();
        let id = table.next_id;
        table.next_id += 1;
        let rule = Rule {
            id,
            filter,
            action,
            hits: Arc::clone(&hits),
        };
        match first {
            true => table.rules.insert(0, rule),
            false => table.rules.push(rule),
        }
        table.generation += 1;
        self.live.fetch_add(1, Ordering::AcqRel);
        (id, hits)
    }

    pub(super) fn remove(&self, id: u64) {
        let mut table = self.table.lock();
        if let Some(at) = table.rules.iter().position(|r| r.id == id) {
            if !table.rules[at].spent() {
                self.live.fetch_sub(1, Ordering::AcqRel);
            }
            table.rules.remove(at);
        }
        table.generation += 1;
        drop(table);
        self.changed.notify_all();
        self.notifier.notify();
    }

    /// The id of the first live rule that matches one of `infos`, its `matching` closure
    /// called without the lock.
    fn answering(&self, infos: &[OpInfo<'_>]) -> Option<u64> {
        let candidates: Vec<(u64, Vec<usize>, Option<Matcher>)> = {
            let table = self.table.lock();
            table
                .rules
                .iter()
                .filter(|r| !r.spent())
                .filter_map(|r| {
                    let matched: Vec<usize> = (0..infos.len())
                        .filter(|&i| r.filter.fixed_match(&infos[i]))
                        .collect();
                    (!matched.is_empty()).then(|| (r.id, matched, r.filter.matching.clone()))
                })
                .collect()
        };
        candidates
            .into_iter()
            .find(|(_, matched, matching)| match matching {
                Some(matching) => matched.iter().any(|&i| matching(&infos[i])),
                None => true,
            })
            .map(|(id, ..)| id)
    }

    /// The verdict on an operation described by `infos` (one per partition it concerns):
    /// the first live rule matching any of them answers, once. A delay or hold blocks
    /// here until it is over or `cancelled` says so.
    fn check(&self, infos: &[OpInfo<'_>], cancelled: &dyn Fn() -> bool) -> Verdict {
        if !self.has_rules() || BYPASS.with(Cell::get) {
            return Verdict::Pass;
        }
        // The rule chosen may be removed or spent before the lock is taken again: then the
        // choice is made again among the rules left.
        let (id, mut table) = loop {
            let id = self.answering(infos);
            let table = self.table.lock();
            match id {
                None => return Verdict::Pass,
                Some(id) if table.rules.iter().any(|r| r.id == id && !r.spent()) => {
                    break (id, table)
                }
                Some(_) => {}
            }
        };
        let rule = table
            .rules
            .iter_mut()
            .find(|r| r.id == id)
            .expect("checked under this lock");
        rule.hits.fetch_add(1, Ordering::AcqRel);
        // For `FaultGuard::wait_hits`.
        self.changed.notify_all();
        match &mut rule.action {
            Action::FailNext { left, code } => {
                let code = *code;
                *left -= 1;
                if *left == 0 {
                    self.live.fetch_sub(1, Ordering::AcqRel);
                }
                drop(table);
                // The next attempt may pass: a poll waiting for news should make it.
                self.notifier.notify();
                Verdict::Fail {
                    code,
                    sticky: false,
                }
            }
            Action::InTurn(turns) => {
                let turn = turns.pop_front().flatten();
                if turns.is_empty() {
                    self.live.fetch_sub(1, Ordering::AcqRel);
                }
                drop(table);
                self.notifier.notify();
                match turn {
                    Some(code) => Verdict::Fail {
                        code,
                        sticky: false,
                    },
                    None => Verdict::Pass,
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
                self.wait_clock(table, id, until, cancelled)
            }
            Action::Hold(held) => {
                let ticket = held.arrived;
                held.arrived += 1;
                self.wait_release(table, id, ticket, cancelled)
            }
        }
    }

    /// One attempt: what a rule says, as the error the operation fails with.
    pub(crate) fn fail(&self, info: &OpInfo<'_>) -> Result<()> {
        self.fail_any(std::slice::from_ref(info))
    }

    /// As [`FaultTable::fail`] for an operation on several partitions at once.
    pub(crate) fn fail_any(&self, infos: &[OpInfo<'_>]) -> Result<()> {
        match self.check(infos, &|| false) {
            Verdict::Pass => Ok(()),
            Verdict::Fail { code, .. } => Err(injected(code, &infos[0])),
            Verdict::Cancelled => Err(Error::Closed),
        }
    }

    /// An operation retried as Kafka's client retries a retriable answer (`retry`); any
    /// other answer fails it at once. A rule that fails every attempt is tried again when
    /// the rules change or the clock jumps; at the deadline the call fails with
    /// `Error::Timeout` naming the last answer (`expiry` words it).
    pub(crate) fn retrying(
        &self,
        infos: &[OpInfo<'_>],
        retry: &Retry<'_>,
        expiry: &dyn Fn(i64, u64, ErrorCode) -> String,
    ) -> Result<()> {
        let start = self.clock.now_ms();
        let deadline = start.saturating_add(retry.timeout_ms);
        let mut attempts = 0u64;
        loop {
            let seen = self.table.lock().generation;
            let (code, sticky) = match self.check(infos, retry.cancelled) {
                Verdict::Pass => return Ok(()),
                Verdict::Cancelled => return Err(Error::Closed),
                Verdict::Fail { code, sticky } => (code, sticky),
            };
            if !code.is_retriable() || attempts >= retry.retries {
                return Err(injected(code, &infos[0]));
            }
            attempts += 1;
            let expired = if sticky {
                !self.wait_change(seen, deadline, retry.cancelled)
            } else {
                self.clock.now_ms() >= deadline
            };
            if (retry.cancelled)() {
                return Err(Error::Closed);
            }
            if expired {
                let elapsed = self.clock.now_ms().saturating_sub(start);
                return Err(Error::Timeout(expiry(elapsed, attempts, code)));
            }
        }
    }

    /// A client call that retries a retriable answer as `retry` says, failing with
    /// `Error::Timeout` at its deadline.
    pub(crate) fn call(&self, infos: &[OpInfo<'_>], retry: &Retry<'_>) -> Result<()> {
        let expiry = |elapsed: i64, attempts: u64, code: ErrorCode| {
            format!(
                "{} timed out after {elapsed} ms of retries ({} {}): {attempts} attempt(s) \
                 failed with {code:?}, a retriable error (a fault rule of the test kit)",
                infos[0].describe(),
                retry.timeout_key,
                retry.timeout_ms
            )
        };
        self.retrying(infos, retry, &expiry)
    }

    /// Waits until the clock reads `until`, or delay rule `id` is removed (then passes).
    fn wait_clock(
        &self,
        mut table: MutexGuard<'_, Table>,
        id: u64,
        until: i64,
        cancelled: &dyn Fn() -> bool,
    ) -> Verdict {
        while self.clock.now_ms() < until && table.rules.iter().any(|r| r.id == id) {
            if cancelled() {
                return Verdict::Cancelled;
            }
            self.changed.wait_for(&mut table, RECHECK);
        }
        Verdict::Pass
    }

    /// Waits until the rules change or the clock jumps (then true), or the clock reads
    /// `deadline` or the caller gives up (then false).
    fn wait_change(&self, seen: u64, deadline: i64, cancelled: &dyn Fn() -> bool) -> bool {
        let mut table = self.table.lock();
        loop {
            if self.clock.now_ms() >= deadline || cancelled() {
                return false;
            }
            if table.generation != seen {
                return true;
            }
            self.changed.wait_for(&mut table, RECHECK);
        }
    }

    /// Parks a held operation until its decision comes, or its rule is removed (then it
    /// goes ahead).
    fn wait_release(
        &self,
        mut table: MutexGuard<'_, Table>,
        id: u64,
        ticket: u64,
        cancelled: &dyn Fn() -> bool,
    ) -> Verdict {
        loop {
            let Some(rule) = table.rules.iter_mut().find(|r| r.id == id) else {
                return Verdict::Pass;
            };
            let Action::Hold(held) = &mut rule.action else {
                unreachable!("rule {id} holds")
            };
            if held.served == ticket {
                if let Some(decision) = held.decisions.pop_front() {
                    held.next_turn();
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
            if cancelled() {
                // Its turn passes to the next one.
                if held.served == ticket {
                    held.next_turn();
                } else {
                    held.cancelled.insert(ticket);
                }
                self.changed.notify_all();
                return Verdict::Cancelled;
            }
            self.changed.wait_for(&mut table, RECHECK);
        }
    }

    pub(super) fn with_held<T>(&self, id: u64, f: impl FnOnce(&mut Held) -> T) -> Option<T> {
        let mut table = self.table.lock();
        let rule = table.rules.iter_mut().find(|r| r.id == id)?;
        match &mut rule.action {
            Action::Hold(held) => Some(f(held)),
            _ => None,
        }
    }

    /// Parked operations of hold rule `id`, if it exists.
    pub(super) fn parked(table: &Table, id: u64) -> Option<u64> {
        table
            .rules
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| match &r.action {
                Action::Hold(held) => Some(held.parked()),
                _ => None,
            })
    }
}

/// The error an operation failed by a rule reports: kafkalite's own error for a code it
/// has a condition for (so that an injected `ProducerFenced` is as fatal as a real one),
/// else `Error::Kafka`.
pub(crate) fn injected(code: ErrorCode, info: &OpInfo<'_>) -> Error {
    let detail = format!("{} failed (a fault rule of the test kit)", info.describe());
    match code {
        ErrorCode::ProducerFenced => Error::ProducerFenced(detail),
        ErrorCode::InvalidProducerEpoch => Error::InvalidProducerEpoch(detail),
        ErrorCode::TransactionCoordinatorFenced => Error::TransactionCoordinatorFenced(detail),
        ErrorCode::InvalidTxnState => Error::InvalidTxnState(detail),
        ErrorCode::OutOfOrderSequenceNumber => Error::OutOfOrderSequence(detail),
        ErrorCode::DuplicateSequenceNumber => Error::DuplicateSequenceNumber(detail),
        ErrorCode::UnstableOffsetCommit => Error::UnstableOffsetCommit(detail),
        ErrorCode::IllegalGeneration => Error::CommitFailed(detail),
        ErrorCode::RebalanceInProgress => Error::RebalanceInProgress(detail),
        ErrorCode::FencedInstanceId => Error::FencedInstanceId(detail),
        ErrorCode::UnknownTopicOrPartition => Error::UnknownTopicOrPartition(detail),
        ErrorCode::TopicAlreadyExists => Error::TopicAlreadyExists(detail),
        ErrorCode::InvalidTopic => Error::InvalidTopic(detail),
        ErrorCode::InvalidPartitions => Error::InvalidPartitions(detail),
        ErrorCode::InvalidReplicationFactor => Error::InvalidReplicationFactor(detail),
        ErrorCode::GroupIdNotFound => Error::GroupIdNotFound(detail),
        ErrorCode::InvalidGroupId => Error::InvalidGroupId(detail),
        _ => Error::Kafka { code, detail },
    }
}
