//! Property test: a partition's producer state behaves as Kafka's rules say, through
//! appends from several idempotent producers (in sequence, retried, with gaps, with stale
//! and new epochs, from new producers near the sequence wrap), rolls, clean close/reopen and
//! crash-reopen. The model keeps every producer's whole history and applies the rules of
//! `reference/kafka-semantics.md` §5.1 and Kafka's `ProducerAppendInfo` directly: a
//! duplicate of one of the last 5 batches of the current epoch answers with the original
//! offsets; an older epoch is `InvalidProducerEpoch`; a newer epoch must start at sequence 0;
//! the same epoch must continue at the last sequence + 1 (`i32::MAX` then 0); an unknown
//! producer may start anywhere. After a reopen the window is what Kafka's snapshot keeps (the
//! last batch per producer at the snapshot) plus the batches replayed after it.
//! `PROPTEST_CASES` sets the count; the test prints its seed, which `PROPTEST_RNG_SEED`
//! replays.

#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use kafkalite::{BatchBuilder, Error, Log, MockClock, TopicConfig};
use proptest::prelude::*;

const PRODUCERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// The producer's next batch of `n` records, in sequence.
    Next(usize, i32),
    /// The producer sends again its batch `k` back (0: the last one it sent).
    Retry(usize, usize),
    /// A batch `skip` sequences past the next one.
    Gap(usize, i32, i32),
    /// The producer moves to its next epoch (sequences start again at 0).
    BumpEpoch(usize),
    /// A batch with the epoch before the producer's.
    StaleEpoch(usize, i32),
    /// The producer is replaced by one with a new id whose first sequence is `i32::MAX - k`.
    NewNearWrap(usize, i32),
    Roll,
    CloseReopen,
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..PRODUCERS;
    prop_oneof![
        8 => (who.clone(), 1i32..5).prop_map(|(p, n)| Op::Next(p, n)),
        3 => (who.clone(), 0usize..8).prop_map(|(p, k)| Op::Retry(p, k)),
        1 => (who.clone(), 1i32..4, 1i32..3).prop_map(|(p, s, n)| Op::Gap(p, s, n)),
        1 => who.clone().prop_map(Op::BumpEpoch),
        1 => (who.clone(), 1i32..3).prop_map(|(p, n)| Op::StaleEpoch(p, n)),
        1 => (who, 0i32..4).prop_map(|(p, k)| Op::NewNearWrap(p, k)),
        1 => Just(Op::Roll),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::CrashReopen),
    ]
}

/// A batch as a producer sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    producer_id: i64,
    epoch: i16,
    base_seq: i32,
    count: i32,
}

impl Sent {
    fn last_seq(&self) -> i32 {
        wrap(self.base_seq, self.count - 1)
    }
}

/// `seq + n`, wrapping after `i32::MAX` to 0 (Kafka's `incrementSequence`).
fn wrap(seq: i32, n: i32) -> i32 {
    ((i64::from(seq) + i64::from(n)) % (i64::from(i32::MAX) + 1)) as i32
}

/// A batch the log holds.
#[derive(Debug, Clone, Copy)]
struct Written {
    sent: Sent,
    first_offset: i64,
}

/// A client: its id, epoch, next sequence and what it sent.
#[derive(Debug, Clone)]
struct Client {
    producer_id: i64,
    epoch: i16,
    next_seq: i32,
    sent: Vec<Sent>,
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Appended(i64),
    Duplicate(i64),
    InvalidEpoch,
    OutOfOrder,
}

/// Per producer id: the epoch and the duplicate window the log should have.
type State = BTreeMap<i64, (i16, VecDeque<Written>)>;

/// `written` joins its producer's window: a new epoch empties it; it keeps the last five.
fn push(state: &mut State, written: Written) {
    let (epoch, window) = state
        .entry(written.sent.producer_id)
        .or_insert((written.sent.epoch, VecDeque::new()));
    if *epoch != written.sent.epoch {
        window.clear();
        *epoch = written.sent.epoch;
    }
    if window.len() == 5 {
        window.pop_front();
    }
    window.push_back(written);
}

struct Harness {
    dir: tempfile::TempDir,
    config: Arc<TopicConfig>,
    log: Option<Log>,
    clients: Vec<Client>,
    next_producer_id: i64,
    /// Every batch written, in offset order.
    written: Vec<Written>,
    state: State,
    end: i64,
    /// The base offset of the active segment.
    active_base: i64,
    /// Where the newest producer snapshot was taken (a roll, a clean close).
    snapshot_at: i64,
}

impl Harness {
    fn new() -> Self {
        let config = TopicConfig::from_overrides([("segment.bytes", "1000000")]).unwrap();
        let clients = (0..PRODUCERS)
            .map(|i| Client {
                producer_id: 1000 + i as i64,
                epoch: 0,
                next_seq: 0,
                sent: Vec::new(),
            })
            .collect();
        let mut h = Harness {
            dir: tempfile::tempdir().unwrap(),
            config: Arc::new(config),
            log: None,
            clients,
            next_producer_id: 2000,
            written: Vec::new(),
            state: BTreeMap::new(),
            end: 0,
            active_base: 0,
            snapshot_at: 0,
        };
        h.open(None, None);
        h
    }

    fn log(&self) -> &Log {
        self.log.as_ref().unwrap()
    }

    fn open(&mut self, recovery_point: Option<i64>, clean_active_size: Option<u64>) {
        let clock = MockClock::new(10_000);
        let (log, _) = common::open_log(
            self.dir.path(),
            &self.config,
            clock,
            recovery_point,
            clean_active_size,
        );
        self.log = Some(log);
    }

    /// What Kafka's rules say of `sent`.
    fn expected(&self, sent: &Sent) -> Outcome {
        let Some((epoch, window)) = self.state.get(&sent.producer_id) else {
            return Outcome::Appended(self.end);
        };
        if sent.epoch == *epoch {
            if let Some(w) = window
                .iter()
                .find(|w| (w.sent.base_seq, w.sent.last_seq()) == (sent.base_seq, sent.last_seq()))
            {
                return Outcome::Duplicate(w.first_offset);
            }
        }
        if sent.epoch < *epoch {
            return Outcome::InvalidEpoch;
        }
        let last = window.back().map_or(-1, |w| w.sent.last_seq());
        let in_sequence = if sent.epoch > *epoch {
            sent.base_seq == 0
        } else {
            i64::from(sent.base_seq) == i64::from(last) + 1
                || (sent.base_seq == 0 && last == i32::MAX)
        };
        if in_sequence {
            Outcome::Appended(self.end)
        } else {
            Outcome::OutOfOrder
        }
    }

    fn remember(&mut self, written: Written) {
        push(&mut self.state, written);
        self.written.push(written);
        self.end += i64::from(written.sent.count);
    }

    /// The state after a reopen whose producer snapshot was taken at `snapshot`: the last
    /// batch of each producer below it, then the batches after it replayed.
    fn reload(&mut self, snapshot: i64) {
        let mut state = State::new();
        for w in self.written.iter().filter(|w| w.first_offset < snapshot) {
            state.insert(w.sent.producer_id, (w.sent.epoch, VecDeque::from([*w])));
        }
        for w in self.written.iter().filter(|w| w.first_offset >= snapshot) {
            push(&mut state, *w);
        }
        self.state = state;
    }

    fn send(&mut self, sent: Sent) -> Result<(), TestCaseError> {
        let mut builder = BatchBuilder::new().producer(sent.producer_id, sent.epoch, sent.base_seq);
        for i in 0..sent.count {
            let key = format!("{}:{}", sent.producer_id, wrap(sent.base_seq, i));
            builder
                .append(10_000, Some(key.as_bytes()), Some(b"v"), &[])
                .unwrap();
        }
        let expected = self.expected(&sent);
        let actual = match self.log().append(&builder.build().unwrap()) {
            Ok(info) if info.batches == 0 => Outcome::Duplicate(info.first_offset),
            Ok(info) => Outcome::Appended(info.first_offset),
            Err(Error::InvalidProducerEpoch(_)) => Outcome::InvalidEpoch,
            Err(Error::OutOfOrderSequence(_)) => Outcome::OutOfOrder,
            Err(e) => return Err(TestCaseError::fail(format!("{sent:?}: {e}"))),
        };
        prop_assert_eq!(&actual, &expected, "{:?}", sent);
        if let Outcome::Appended(first_offset) = actual {
            self.remember(Written { sent, first_offset });
        }
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Next(p, n) => {
                let c = &mut self.clients[p];
                let sent = Sent {
                    producer_id: c.producer_id,
                    epoch: c.epoch,
                    base_seq: c.next_seq,
                    count: n,
                };
                c.next_seq = wrap(c.next_seq, n);
                c.sent.push(sent);
                self.send(sent)?;
            }
            Op::Retry(p, k) => {
                let sent = self.clients[p].sent.iter().rev().nth(k).copied();
                if let Some(sent) = sent {
                    self.send(sent)?;
                }
            }
            Op::Gap(p, skip, n) => {
                let c = &self.clients[p];
                let sent = Sent {
                    producer_id: c.producer_id,
                    epoch: c.epoch,
                    base_seq: wrap(c.next_seq, skip),
                    count: n,
                };
                self.send(sent)?;
            }
            Op::BumpEpoch(p) => {
                let c = &mut self.clients[p];
                c.epoch += 1;
                c.next_seq = 0;
            }
            Op::StaleEpoch(p, n) => {
                let c = &self.clients[p];
                if c.epoch > 0 {
                    let sent = Sent {
                        producer_id: c.producer_id,
                        epoch: c.epoch - 1,
                        base_seq: c.next_seq,
                        count: n,
                    };
                    self.send(sent)?;
                }
            }
            Op::NewNearWrap(p, k) => {
                self.clients[p] = Client {
                    producer_id: self.next_producer_id,
                    epoch: 0,
                    next_seq: i32::MAX - k,
                    sent: Vec::new(),
                };
                self.next_producer_id += 1;
            }
            Op::Roll => {
                self.log().roll().unwrap();
                // An empty active segment is not rolled.
                if self.end > self.active_base {
                    self.active_base = self.end;
                    self.snapshot_at = self.end;
                }
            }
            Op::CloseReopen => {
                let log = self.log.take().unwrap();
                log.close().unwrap();
                let size = log.active_segment_size();
                drop(log);
                self.open(Some(self.end), Some(size));
                self.snapshot_at = self.end;
                self.reload(self.end);
            }
            Op::CrashReopen => {
                let durable = self.log().durable_offset();
                self.log.take();
                self.open(Some(durable), None);
                self.reload(self.snapshot_at);
            }
        }
        prop_assert_eq!(self.log().log_end_offset(), self.end);
        Ok(())
    }

    /// The log holds the written batches' records, in order, at their offsets.
    fn check_contents(&self) -> Result<(), TestCaseError> {
        let mut expected = Vec::new();
        for w in &self.written {
            for i in 0..w.sent.count {
                let key = format!("{}:{}", w.sent.producer_id, wrap(w.sent.base_seq, i));
                expected.push((w.first_offset + i64::from(i), key));
            }
        }
        let actual: Vec<(i64, String)> = common::read_all(self.log())
            .into_iter()
            .map(|(offset, key, _)| (offset, String::from_utf8(key).unwrap()))
            .collect();
        prop_assert_eq!(actual, expected);
        Ok(())
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/idempotence_model.proptest-regressions"))]

    #[test]
    fn producer_state_matches_kafkas_rules(ops in proptest::collection::vec(op(), 1..80)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.apply(op)?;
        }
        harness.check_contents()?;
    }
}
