//! Random operation sequences on a cluster over `SimStorage`, with power cuts: at chosen
//! points, and inside a storage operation. Each cut is resolved one of the eight
//! `PowerLoss` ways, and the cluster reopened.
//! Oracle (the power-loss model): after each cut, each partition holds a prefix of the
//! batches attempted, whole, in order, at their offsets; at least every batch acknowledged
//! durable (an fsync topic's append, or one a completed sync covered); after a clean close,
//! exactly the batches acknowledged.

#![no_main]

use std::path::Path;
use std::sync::Arc;

use kafkalite::storage::{FaultPlan, PowerLoss, SimStorage};
use kafkalite::{BatchBuilder, Cluster, NewTopic};
use libfuzzer_sys::fuzz_target;

const DATA: &str = "/sim/data";

/// One partition as the model sees it.
#[derive(Default)]
struct Model {
    /// Values of each batch that may be in the log, in order.
    batches: Vec<Vec<Vec<u8>>>,
    /// How many of them were acknowledged.
    acked: usize,
    /// How many must survive a power cut.
    durable: usize,
}

fn open(sim: &SimStorage) -> kafkalite::Result<Cluster> {
    Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .background(false)
        .open(DATA)
}

/// The batches of `t-p`, as lists of values, checking offsets on the way.
fn read(cluster: &Cluster, partition: i32) -> Vec<Vec<Vec<u8>>> {
    let log = cluster
        .partition("t", partition)
        .expect("the partition exists");
    let mut batches = Vec::new();
    let mut offset = log.log_start_offset();
    assert_eq!(offset, 0, "nothing deletes records here");
    while offset < log.high_watermark() {
        let data = log.read(offset, 1 << 20).expect("a read after recovery");
        for batch in data.batches() {
            let batch = batch.expect("a batch parses");
            batch.verify_crc().expect("its CRC holds");
            let mut values = Vec::new();
            for record in batch.records().expect("records").iter() {
                let record = record.expect("a record decodes");
                assert_eq!(record.offset, offset, "offsets are dense");
                offset += 1;
                values.push(record.value.unwrap_or_default().to_vec());
            }
            batches.push(values);
        }
    }
    batches
}

/// Checks one partition after a reopen against its model; returns the surviving batches.
fn check(cluster: &Cluster, partition: i32, model: &Model, clean: bool) -> usize {
    let found = read(cluster, partition);
    let n = found.len();
    assert!(n <= model.batches.len(), "more batches than were attempted");
    assert_eq!(
        found[..],
        model.batches[..n],
        "a batch that was never written"
    );
    if clean {
        assert_eq!(
            n, model.acked,
            "a clean close keeps exactly what was acknowledged"
        );
    }
    assert!(
        n >= model.durable,
        "{n} batches survived, {} were acknowledged durable",
        model.durable
    );
    n
}

/// Resolves the cut (powering off first if needed), reopens, and compares every partition
/// with its model, which then holds what survived.
fn power_cut(sim: &mut SimStorage, models: &mut [Model; 2], how: PowerLoss, seed: u64) -> Cluster {
    *sim = sim.after_power_loss(how, seed);
    let cluster = open(sim).expect("a cluster opens after any power cut");
    for (p, model) in models.iter_mut().enumerate() {
        let survived = check(&cluster, p as i32, model, false);
        model.batches.truncate(survived);
        model.acked = survived;
        model.durable = survived;
    }
    cluster
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let Some(setup) = next() else { return };
    let mut sim = SimStorage::new(Path::new("/sim"));
    let mut cluster = open(&sim).expect("a fresh cluster opens");
    let topic = NewTopic::new("t", 2)
        .config("segment.bytes", if setup & 2 != 0 { "600" } else { "4096" })
        .config(
            "flush.messages",
            if setup & 1 != 0 {
                "1"
            } else {
                "9223372036854775807"
            },
        );
    cluster.create_topic(topic).expect("create");
    let mut models = [Model::default(), Model::default()];
    let mut serial = 0u32;
    while let Some(op) = next() {
        let partition = i32::from(op & 1);
        let model = &mut models[partition as usize];
        match op >> 1 & 7 {
            0..=3 => {
                let count = 1 + usize::from(op >> 4 & 3);
                let values: Vec<Vec<u8>> = (0..count)
                    .map(|i| {
                        format!("b{serial}-{i};")
                            .repeat(1 + usize::from(op >> 6) * 8)
                            .into_bytes()
                    })
                    .collect();
                serial += 1;
                let mut builder = BatchBuilder::new();
                for value in &values {
                    builder
                        .append(0, None, Some(value), &[])
                        .expect("append to a builder");
                }
                let batch = builder.build().expect("build");
                model.batches.push(values);
                let log = cluster.partition("t", partition).expect("partition");
                match log.append(&batch) {
                    Ok(_) => {
                        model.acked = model.batches.len();
                        if log.durable_offset() >= log.log_end_offset() {
                            model.durable = model.acked;
                        }
                    }
                    // Refused with power on: only for being too large for a segment.
                    Err(e) if !sim.is_powered_off() => {
                        assert!(
                            matches!(e, kafkalite::Error::RecordBatchTooLarge { .. }),
                            "an append refused with power on: {e}"
                        );
                        model.batches.pop();
                    }
                    // Cut short by the power cut: it may be in the log or not.
                    Err(_) => {}
                }
            }
            4 => {
                let log = cluster.partition("t", partition).expect("partition");
                match log.sync() {
                    Ok(()) => model.durable = model.acked,
                    Err(e) => assert!(sim.is_powered_off(), "a sync failed with power on: {e}"),
                }
            }
            5 => {
                // A power cut inside one of the next few storage operations.
                let at = sim.operations() + 1 + u64::from(next().unwrap_or(0) % 8);
                sim.set_plan(FaultPlan {
                    power_cut_at: Some(at),
                    fail: None,
                });
            }
            _ => {
                let how = PowerLoss::ALL[usize::from(next().unwrap_or(0)) % PowerLoss::ALL.len()];
                let seed = u64::from(next().unwrap_or(0));
                drop(cluster);
                cluster = power_cut(&mut sim, &mut models, how, seed);
            }
        }
    }
    // A scheduled cut may still fire inside the close.
    if !sim.is_powered_off() && cluster.close().is_ok() {
        drop(cluster);
        // A cut scheduled past the end of the close would otherwise fire in the reopen.
        sim.set_plan(FaultPlan::default());
        let cluster = open(&sim).expect("reopen after a clean close");
        for (p, model) in models.iter().enumerate() {
            check(&cluster, p as i32, model, true);
        }
    } else {
        drop(cluster);
        power_cut(&mut sim, &mut models, PowerLoss::KeepAll, 0);
    }
});
