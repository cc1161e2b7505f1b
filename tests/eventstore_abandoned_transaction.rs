//! The store's own transaction across partitions, left open by a failed commit whose
//! marker one partition refused (a failed sync: that partition refuses writes until the
//! cluster reopens), must not fail appends that wait on *another* producer's transaction
//! in a healthy partition: ending the store's transaction fails again (its marker still has
//! nowhere to go), but it does not hold that partition, so the append waits for the other
//! producer as any append does, and goes through once it commits.

mod common;

use std::path::Path;
use std::time::Duration;

use kafkalite::eventstore::{EventData, EventStore, EventStoreConfig, StreamAppend};
use kafkalite::storage::{FaultPlan, SimFailure, SimOp, SimStorage};
use kafkalite::{Cluster, ExpectedVersion, ProducerConfig, ProducerRecord};

use common::{open_sim as open, SIM_ROOT as ROOT};

const STORE: &str = "es";

fn events(data: &str) -> [EventData; 1] {
    [EventData::new("E", data.to_string())]
}

/// Two streams in different partitions of a store of two.
fn streams(store: &EventStore) -> (&'static str, &'static str) {
    let b = ["b", "c", "d", "e", "f", "g"]
        .into_iter()
        .find(|b| store.partition_of(b) != store.partition_of("a"))
        .expect("a stream in the other partition");
    ("a", b)
}

fn across(store: &EventStore, expected: ExpectedVersion) -> kafkalite::Result<()> {
    let (a, b) = streams(store);
    store
        .append_to_streams([
            StreamAppend::new(a, expected, events("a")),
            StreamAppend::new(b, expected, events("b")),
        ])
        .map(|_| ())
}

/// Whether any producer has a transaction open in `partition` of the store's topic.
fn open_transaction_in(cluster: &Cluster, partition: i32) -> bool {
    let log = cluster.partition(STORE, partition).unwrap();
    log.producer_states()
        .iter()
        .any(|p| p.current_transaction_start_offset.is_some())
}

/// After the failure of sync `n` of an append across partitions: the store, if the failure
/// left the store's transaction open in `b`'s partition only, with that partition failed.
fn store_after_failed_sync(sim: &SimStorage, n: u64) -> Option<(Cluster, EventStore)> {
    let cluster = open(sim).unwrap();
    let store = cluster
        .event_store(STORE, EventStoreConfig::new().partitions(2))
        .unwrap();
    across(&store, ExpectedVersion::NoStream).unwrap();
    sim.set_plan(FaultPlan {
        power_cut_at: None,
        fail: Some((SimOp::Sync, n, SimFailure::Eio)),
    });
    let failed = across(&store, ExpectedVersion::Any).is_err();
    sim.set_plan(FaultPlan::default());
    let (a, b) = streams(&store);
    let (pa, pb) = (store.partition_of(a), store.partition_of(b));
    let log = |p| cluster.partition(STORE, p).unwrap();
    let coordinator_failed = cluster
        .topic_partitions("__transaction_state")
        .is_ok_and(|(_, logs)| logs.iter().any(|l| l.is_failed()));
    let wanted = failed
        && log(pb).is_failed()
        && !log(pa).is_failed()
        && !coordinator_failed
        && open_transaction_in(&cluster, pb)
        && !open_transaction_in(&cluster, pa);
    wanted.then_some((cluster, store))
}

#[test]
fn a_failed_store_transaction_does_not_fail_appends_waiting_on_another_producer() {
    let syncs = {
        let sim = SimStorage::new(Path::new(ROOT));
        let cluster = open(&sim).unwrap();
        let store = cluster
            .event_store(STORE, EventStoreConfig::new().partitions(2))
            .unwrap();
        across(&store, ExpectedVersion::NoStream).unwrap();
        sim.set_plan(FaultPlan::default());
        across(&store, ExpectedVersion::Any).unwrap();
        sim.operations_of(SimOp::Sync)
    };
    let mut cases = 0;
    for n in 1..=syncs {
        let sim = SimStorage::new(Path::new(ROOT));
        let Some((cluster, store)) = store_after_failed_sync(&sim, n) else {
            continue;
        };
        cases += 1;
        let a = streams(&store).0;
        let pa = store.partition_of(a);
        // Another producer's transaction, open in a's partition: it holds a's appends.
        let producer = cluster
            .producer(ProducerConfig::new().transactional_id("other"))
            .unwrap();
        let t = Duration::from_secs(30);
        producer.init_transactions(t).unwrap();
        producer.begin_transaction().unwrap();
        producer
            .send(ProducerRecord::to(STORE).partition(pa).key("x").value("y"))
            .unwrap();
        producer.flush(t).unwrap();
        let appending = std::thread::spawn(move || {
            store
                .append(a, ExpectedVersion::Any, events("after"))
                .map(|r| r.position.partition)
        });
        while !appending.is_finished() && cluster.blocked_polls() == 0 {
            std::thread::yield_now();
        }
        producer.commit_transaction(t).unwrap();
        let appended = appending.join().unwrap();
        assert_eq!(appended.unwrap(), pa, "sync #{n} of the append failed");
    }
    eprintln!("{cases} cases of {syncs} syncs");
    assert!(
        cases > 0,
        "no failed sync left the store's transaction open"
    );
}
