//! Simulated power loss (`SimStorage`) through the transactional producer and its
//! coordinator: transactions over two `flush.messages=1` partitions (committed, one aborted,
//! the last left open), cut at every storage operation, each cut resolved one `PowerLoss` way
//! (the eight in turn).
//! The oracle, after the reopen (and again after a second one): every transaction is all or
//! nothing across the two partitions as `read_committed` reads them; every commit that
//! returned `Ok` before the cut is there; the aborted and the open transactions never are;
//! the coordinator has nothing left open. A failure prints the cut and resolution, which
//! replay it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use common::SIM_ROOT as ROOT;
use kafkalite::storage::{FaultPlan, PowerLoss, SimStorage};
use kafkalite::{
    Cluster, ConsumerConfig, IsolationLevel, NewTopic, ProducerConfig, ProducerRecord,
    TopicPartition, TransactionState,
};

const T: i64 = 1_700_000_000_000;
const WAIT: Duration = Duration::from_secs(5);
const TRANSACTIONS: usize = 4;
const ABORTED: usize = 1;

fn open(sim: &SimStorage) -> kafkalite::Result<Cluster> {
    common::open_sim_at(sim, T)
}

/// Transactions 0..4 each write their number to `a` and `b`; 1 aborts, the others commit
/// (each acknowledged commit noted in `committed`); a fifth is left open.
fn scenario(cluster: &Cluster, committed: &Mutex<Vec<usize>>) -> kafkalite::Result<()> {
    for topic in ["a", "b"] {
        cluster.create_topic(NewTopic::new(topic, 1).config("flush.messages", "1"))?;
    }
    let producer = cluster.producer(ProducerConfig::new().transactional_id("tx"))?;
    producer.init_transactions(WAIT)?;
    for txn in 0..=TRANSACTIONS {
        producer.begin_transaction()?;
        for topic in ["a", "b"] {
            producer.send(ProducerRecord::to(topic).value(txn.to_string()))?;
        }
        producer.flush(WAIT)?;
        match txn {
            ABORTED => producer.abort_transaction(WAIT)?,
            TRANSACTIONS => {} // left open
            _ => {
                producer.commit_transaction(WAIT)?;
                committed.lock().unwrap().push(txn);
            }
        }
    }
    Ok(())
}

fn read_committed(cluster: &Cluster, topic: &str) -> BTreeSet<usize> {
    if cluster.partition(topic, 0).is_err() {
        return BTreeSet::new(); // the cut came before the topic was created
    }
    let config = ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted);
    common::values_of(
        cluster,
        config,
        TopicPartition::new(topic, 0),
        Duration::ZERO,
    )
    .into_iter()
    .map(|v| v.parse().unwrap())
    .collect()
}

fn check(cluster: &Cluster, acknowledged: &[usize], case: &str) {
    let (a, b) = (read_committed(cluster, "a"), read_committed(cluster, "b"));
    assert_eq!(
        a, b,
        "{case}: a transaction is visible in one partition only"
    );
    for txn in acknowledged {
        assert!(
            a.contains(txn),
            "{case}: the acknowledged commit of {txn} was lost: {a:?}"
        );
    }
    assert!(
        !a.contains(&ABORTED),
        "{case}: the aborted transaction is visible"
    );
    assert!(
        !a.contains(&TRANSACTIONS),
        "{case}: the open transaction is visible"
    );
    for topic in ["a", "b"] {
        if let Ok(log) = cluster.partition(topic, 0) {
            assert_eq!(
                log.last_stable_offset(),
                log.high_watermark(),
                "{case}: {topic} has a transaction open"
            );
        }
    }
    if let Some(state) = cluster.describe_transaction("tx").unwrap() {
        assert!(
            !matches!(
                state.state,
                TransactionState::Ongoing
                    | TransactionState::PrepareCommit
                    | TransactionState::PrepareAbort
            ),
            "{case}: the coordinator left {:?}",
            state.state
        );
    }
}

#[test]
fn transactions_stay_atomic_through_a_power_cut_anywhere() {
    let operations = {
        let sim = SimStorage::new(Path::new(ROOT));
        sim.set_plan(FaultPlan::default());
        let cluster = open(&sim).unwrap();
        let committed = Mutex::new(Vec::new());
        scenario(&cluster, &committed).unwrap();
        assert_eq!(committed.lock().unwrap().len(), TRANSACTIONS - 1);
        drop(cluster);
        sim.operations()
    };
    // Each cut resolved one `PowerLoss` way, in turn (every way at every cut would take
    // eight times as long: each resolution copies the partitions' preallocated files).
    let ways = PowerLoss::ALL.len();
    for cut in 1..=operations + 1 {
        {
            let i = usize::try_from(cut).unwrap() % ways;
            let how = PowerLoss::ALL[i];
            let seed = cut * ways as u64 + i as u64;
            let case = format!("cut at operation {cut}, {how:?}, seed {seed}");
            let sim = SimStorage::new(Path::new(ROOT));
            sim.set_plan(FaultPlan {
                power_cut_at: Some(cut),
                fail: None,
            });
            let committed = Mutex::new(Vec::new());
            if let Ok(cluster) = open(&sim) {
                let _ = scenario(&cluster, &committed);
            }
            let acknowledged = committed.lock().unwrap().clone();
            let after = sim.after_power_loss(how, seed);
            let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
            check(&cluster, &acknowledged, &case);
            cluster.close().unwrap();
            drop(cluster);
            let again = open(&after).unwrap_or_else(|e| panic!("{case}: second open: {e}"));
            check(&again, &acknowledged, &format!("{case}, second open"));
        }
    }
}
