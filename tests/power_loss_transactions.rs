//! Simulated power loss (`SimStorage`) through transactional writes: a scenario of
//! interleaved transactions from three producers (committed and aborted), plain records,
//! rolls (each writing a `.txnindex` and a producer snapshot) and syncs, cut at every
//! storage operation and resolved every `PowerLoss` way. The oracle: whatever batches
//! survive, the reopened partition's aborted transactions and last stable offset are what
//! Kafka's rules make of exactly those batches (worked out here from their headers), a
//! `read_committed` read returns no record of an aborted or still-open transaction, and a
//! second open changes nothing. A failure prints the cut and resolution, which replay it.

mod common;

use std::path::Path;
use std::time::Duration;

use common::SIM_ROOT as ROOT;
use kafkalite::record::ControlRecordType;
use kafkalite::storage::{FaultPlan, PowerLoss, SimStorage};
use kafkalite::{
    AbortedTransaction, BatchBuilder, Cluster, ConsumerConfig, IsolationLevel, Log, NewTopic,
};

const T: i64 = 1_700_000_000_000;

fn open(sim: &SimStorage) -> kafkalite::Result<Cluster> {
    common::open_sim_at(sim, T)
}

/// Three producers' transactions, interleaved with plain batches, rolls and syncs.
fn scenario(cluster: &Cluster) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("segment.bytes", "600"))?;
    let log = cluster.partition("t", 0)?;
    let mut sequences = [0i32; 3];
    for step in 0..18usize {
        let producer = step % 3;
        let mut builder = BatchBuilder::new()
            .producer(producer as i64 + 1, 0, sequences[producer])
            .transactional(true);
        builder.append(T, None, Some(format!("txn {step}").as_bytes()), &[])?;
        log.append(&builder.build()?)?;
        sequences[producer] += 1;
        if step % 4 == 1 {
            let mut plain = BatchBuilder::new();
            plain.append(T, None, Some(format!("plain {step}").as_bytes()), &[])?;
            log.append(&plain.build()?)?;
        }
        if step % 2 == 1 {
            // Alternately commit and abort the transaction of the producer before.
            let ending = (step + 2) % 3;
            log.write_transaction_marker(ending as i64 + 1, 0, 0, step % 4 == 1)?;
        }
        if step % 5 == 4 {
            log.sync()?;
        }
    }
    Ok(())
}

/// One surviving batch, as the oracle reads its header.
struct Seen {
    base: i64,
    producer: i64,
    transactional: bool,
    /// For a marker: whether it is an ABORT.
    abort: Option<bool>,
    values: Vec<String>,
}

fn batches(log: &Log) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut at = log.log_start_offset();
    while at < log.log_end_offset() {
        let data = log.read(at, 1 << 20).unwrap();
        for batch in data.batches() {
            let batch = batch.unwrap();
            let records = batch.records().unwrap();
            let mut values = Vec::new();
            let mut abort = None;
            for record in records.iter() {
                let record = record.unwrap();
                if batch.is_control() {
                    let kind = ControlRecordType::parse_key(record.key.unwrap()).unwrap();
                    abort = Some(kind == ControlRecordType::Abort);
                } else {
                    values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
                }
            }
            seen.push(Seen {
                base: batch.base_offset(),
                producer: batch.producer_id(),
                transactional: batch.is_transactional(),
                abort,
                values,
            });
            at = batch.next_offset();
        }
    }
    seen
}

/// Kafka's rules applied to the surviving batches: the aborted transactions (with the LSO
/// at each abort), the LSO, and what `read_committed` returns.
fn oracle(seen: &[Seen], end: i64) -> (Vec<AbortedTransaction>, i64, Vec<String>) {
    let mut open: Vec<(i64, i64)> = Vec::new(); // (producer, first offset)
    let mut aborted = Vec::new();
    let mut txn_values: Vec<(i64, String)> = Vec::new();
    let mut decided: Vec<(i64, String, bool)> = Vec::new(); // (offset, value, visible)
    for b in seen {
        match b.abort {
            Some(abort) => {
                if let Some(at) = open.iter().position(|(p, _)| *p == b.producer) {
                    let (_, first) = open.remove(at);
                    let lso = open.iter().map(|(_, f)| *f).min().unwrap_or(b.base + 1);
                    if abort {
                        aborted.push(AbortedTransaction {
                            producer_id: b.producer,
                            first_offset: first,
                            last_offset: b.base,
                            last_stable_offset: lso,
                        });
                    }
                    for (offset, value) in
                        txn_values.extract_if(.., |(o, _)| producer_of(seen, *o) == b.producer)
                    {
                        decided.push((offset, value, !abort));
                    }
                }
            }
            None if b.transactional => {
                if !open.iter().any(|(p, _)| *p == b.producer) {
                    open.push((b.producer, b.base));
                }
                for (i, v) in b.values.iter().enumerate() {
                    txn_values.push((b.base + i as i64, v.clone()));
                }
            }
            None => {
                for (i, v) in b.values.iter().enumerate() {
                    decided.push((b.base + i as i64, v.clone(), true));
                }
            }
        }
    }
    let lso = open.iter().map(|(_, f)| *f).min().unwrap_or(end);
    decided.sort_by_key(|(o, ..)| *o);
    let committed = decided
        .into_iter()
        .filter(|(o, _, visible)| *visible && *o < lso)
        .map(|(_, v, _)| v)
        .collect();
    (aborted, lso, committed)
}

fn producer_of(seen: &[Seen], offset: i64) -> i64 {
    seen.iter()
        .rev()
        .find(|b| b.base <= offset)
        .map_or(-1, |b| b.producer)
}

fn read_committed(cluster: &Cluster) -> Vec<String> {
    let config = ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted);
    common::values_from_start(cluster, config, "t", Duration::ZERO)
}

fn check(cluster: &Cluster, case: &str) {
    let Ok(log) = cluster.partition("t", 0) else {
        return; // cut before the topic existed
    };
    let seen = batches(&log);
    let (aborted, lso, committed) = oracle(&seen, log.log_end_offset());
    assert_eq!(log.aborted_transactions(0, i64::MAX), aborted, "{case}");
    assert_eq!(log.last_stable_offset(), lso, "{case}");
    assert_eq!(read_committed(cluster), committed, "{case}");
}

#[test]
fn transactions_survive_a_cut_anywhere() {
    let operations = {
        let sim = SimStorage::new(Path::new(ROOT));
        sim.set_plan(FaultPlan::default());
        let cluster = open(&sim).unwrap();
        scenario(&cluster).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        assert!(log.segments().len() > 3, "the scenario rolls");
        assert!(!log.aborted_transactions(0, i64::MAX).is_empty());
        drop(cluster);
        sim.operations()
    };
    for cut in 1..=operations + 1 {
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            let seed = cut * 8 + i as u64;
            let case = format!("cut at operation {cut}, {how:?}, seed {seed}");
            let sim = SimStorage::new(Path::new(ROOT));
            sim.set_plan(FaultPlan {
                power_cut_at: Some(cut),
                fail: None,
            });
            if let Ok(cluster) = open(&sim) {
                let _ = scenario(&cluster);
            }
            let after = sim.after_power_loss(how, seed);
            let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
            check(&cluster, &case);
            cluster.close().unwrap();
            drop(cluster);
            let again = open(&after).unwrap_or_else(|e| panic!("{case}: second open: {e}"));
            check(&again, &format!("{case}, second open"));
        }
    }
}
