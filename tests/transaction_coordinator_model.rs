//! Transactional producers sharing one `transactional.id`, against a model (a proptest
//! with a printed seed; `PROPTEST_RNG_SEED` replays one): random interleavings of
//! `init_transactions` by new instances (each fencing the last), begin, sends to two
//! partitions, commit, abort, the transaction timeout passing on the cluster clock, and
//! crashes. The exactly-once oracle, after every step: what `read_committed` consumers
//! read is exactly the records of the transactions whose `commit_transaction` returned
//! `Ok`, in commit order; a fenced or timed-out producer never commits a record; the
//! current producer's commits always succeed.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kafkalite::storage::{PowerLoss, SimStorage};
use kafkalite::{
    Cluster, ConsumerConfig, IsolationLevel, MockClock, NewTopic, Producer, ProducerConfig,
    ProducerRecord,
};
use proptest::prelude::*;

const T: Duration = Duration::from_secs(30);
const TIMEOUT_MS: i64 = 10_000;
const SLOTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// A new producer in the slot (if empty) calls `init_transactions`.
    Init(usize),
    Begin(usize),
    Send(usize, i32),
    Commit(usize),
    Abort(usize),
    /// The clock passes `transaction.timeout.ms`; maintenance runs.
    Timeout,
    /// The process dies (what was written survives) and the cluster reopens.
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    prop_oneof![
        2 => slot.clone().prop_map(Op::Init),
        3 => slot.clone().prop_map(Op::Begin),
        6 => (slot.clone(), 0..2i32).prop_map(|(s, p)| Op::Send(s, p)),
        3 => slot.clone().prop_map(Op::Commit),
        2 => slot.prop_map(Op::Abort),
        1 => Just(Op::Timeout),
        1 => Just(Op::Crash),
    ]
}

/// One producer instance as the model sees it.
#[derive(Default)]
struct Slot {
    producer: Option<Producer>,
    /// The values sent (and delivered) in its open transaction; `None` outside one.
    open: Option<Vec<(i32, String)>>,
    /// A newer instance initialised, or the coordinator aborted its transaction on timeout.
    fenced: bool,
    /// A send of its open transaction failed.
    doomed: bool,
}

struct World {
    sim: SimStorage,
    clock: MockClock,
    cluster: Cluster,
    slots: Vec<Slot>,
    /// The slot of the last instance initialised, unfenced.
    current: Option<usize>,
    committed: [Vec<String>; 2],
    next_value: usize,
}

fn open(sim: &SimStorage, clock: &MockClock) -> Cluster {
    Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .clock(Arc::new(clock.clone()))
        .background(false)
        .open(common::SIM_DATA)
        .unwrap()
}

impl World {
    fn new() -> World {
        let sim = SimStorage::new(std::path::Path::new(common::SIM_ROOT));
        let clock = MockClock::new(1_700_000_000_000);
        let cluster = open(&sim, &clock);
        cluster.create_topic(NewTopic::new("t", 2)).unwrap();
        World {
            sim,
            clock,
            cluster,
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            current: None,
            committed: [Vec::new(), Vec::new()],
            next_value: 0,
        }
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Init(s) => self.init(s),
            Op::Begin(s) => {
                let slot = &mut self.slots[s];
                let Some(producer) = &slot.producer else {
                    return;
                };
                let result = producer.begin_transaction();
                if slot.open.is_none() && !slot.doomed {
                    result.unwrap();
                    slot.open = Some(Vec::new());
                } else {
                    assert!(result.is_err(), "begin inside a transaction");
                }
            }
            Op::Send(s, partition) => self.send(s, partition),
            Op::Commit(s) => self.commit(s),
            Op::Abort(s) => {
                let slot = &mut self.slots[s];
                let Some(producer) = &slot.producer else {
                    return;
                };
                let result = producer.abort_transaction(T);
                if slot.open.is_some() && !slot.fenced {
                    result.clone().unwrap();
                }
                if result.is_ok() {
                    slot.open = None;
                    slot.doomed = false;
                }
            }
            Op::Timeout => {
                self.clock.advance_ms(TIMEOUT_MS + 1);
                self.cluster.run_maintenance().unwrap();
                // Only the current producer can have a transaction open at the coordinator:
                // one with a record in it.
                if let Some(c) = self.current {
                    if self.slots[c].open.as_ref().is_some_and(|v| !v.is_empty()) {
                        self.slots[c].fenced = true;
                        self.current = None;
                    }
                }
            }
            Op::Crash => {
                let after = self.sim.after_power_loss(PowerLoss::KeepAll, 0);
                for slot in &mut self.slots {
                    *slot = Slot::default();
                }
                self.current = None;
                self.cluster = open(&after, &self.clock);
                self.sim = after;
            }
        }
    }

    fn init(&mut self, s: usize) {
        if let Some(producer) = &self.slots[s].producer {
            assert!(producer.init_transactions(T).is_err(), "a second init");
            return;
        }
        let config = ProducerConfig::new()
            .transactional_id("tx")
            .set("transaction.timeout.ms", &TIMEOUT_MS.to_string())
            .unwrap();
        let producer = self.cluster.producer(config).unwrap();
        producer.init_transactions(T).unwrap();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.producer.is_some() && i != s {
                slot.fenced = true;
            }
        }
        self.slots[s] = Slot {
            producer: Some(producer),
            ..Slot::default()
        };
        self.current = Some(s);
    }

    fn send(&mut self, s: usize, partition: i32) {
        let value = format!("v{}", self.next_value);
        self.next_value += 1;
        let slot = &mut self.slots[s];
        let Some(producer) = &slot.producer else {
            return;
        };
        let record = ProducerRecord::to("t")
            .partition(partition)
            .value(value.clone().into_bytes());
        let Ok(delivery) = producer.send(record) else {
            assert!(
                slot.open.is_none() || slot.doomed || slot.fenced,
                "a send in a transaction refused"
            );
            return;
        };
        producer.flush(T).unwrap();
        let delivered = delivery.wait();
        match (&mut slot.open, slot.fenced || slot.doomed) {
            (Some(values), false) => {
                delivered.unwrap();
                values.push((partition, value));
            }
            (Some(_), true) => {
                assert!(delivered.is_err(), "a fenced producer wrote {value}");
                slot.doomed = true;
            }
            (None, _) => unreachable!("a send outside a transaction was accepted"),
        }
    }

    fn commit(&mut self, s: usize) {
        let slot = &mut self.slots[s];
        let Some(producer) = &slot.producer else {
            return;
        };
        let result = producer.commit_transaction(T);
        let Some(values) = slot.open.clone() else {
            assert!(result.is_err(), "a commit outside a transaction");
            return;
        };
        if !slot.fenced && !slot.doomed {
            result.clone().unwrap();
        }
        if result.is_ok() {
            assert!(
                values.is_empty() || (!slot.fenced && !slot.doomed),
                "a fenced producer committed {values:?}"
            );
            for (partition, value) in values {
                self.committed[usize::try_from(partition).unwrap()].push(value);
            }
            slot.open = None;
        }
    }

    fn check(&self) {
        for (partition, committed) in (0..2).zip(&self.committed) {
            let config = ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted);
            let tp = kafkalite::TopicPartition::new("t", partition);
            let seen = common::values_of(&self.cluster, config, tp, Duration::ZERO);
            assert_eq!(seen, *committed, "partition {partition}");
        }
    }
}

proptest! {
    #![proptest_config(common::proptest_config(
        32,
        "tests/transaction_coordinator_model.proptest-regressions"
    ))]

    #[test]
    fn read_committed_sees_exactly_the_committed_transactions(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let mut world = World::new();
        for op in &ops {
            world.step(op);
            world.check();
        }
    }
}
