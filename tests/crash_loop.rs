//! kill -9 crash loop on real files. The test binary re-executes itself as a child that
//! produces records with known values over three partitions and commits a group's offsets,
//! printing every acknowledgement; the parent SIGKILLs it at a random moment (one cycle in
//! ten while it opens and recovers), reopens the directory and checks: the open succeeds,
//! every batch passes its CRC, offsets are contiguous, every acknowledged record is at its
//! offset with identical bytes (the page cache survives a process kill in every durability
//! mode), no record appears twice, and the committed offsets are at least the last
//! acknowledged commit and at most the log end. History accumulates across 50 cycles, then
//! the directory starts afresh. `CRASH_CYCLES` sets the count (default 1,000; the soak tier
//! runs 50,000). The kill moments come from a seed the test prints; `CRASH_SEED` replays the
//! same schedule (the child's own timing still varies).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use kafkalite::{
    Cluster, CommitMode, ConsumerConfig, NewTopic, Offset, OffsetAndMetadata, Offsets,
    ProducerConfig, ProducerRecord, TopicPartition,
};

const CHILD_DIR: &str = "KAFKALITE_CRASH_CHILD_DIR";
const CHILD_CYCLE: &str = "KAFKALITE_CRASH_CHILD_CYCLE";
const PARTITIONS: i32 = 3;

/// The child's work, when the parent started this binary for it; a no-op otherwise.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(cycle)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_CYCLE)) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "OPENING").unwrap();
    out.flush().unwrap();
    let cluster = Cluster::open(&dir).unwrap();
    match cluster.create_topic(NewTopic::new("t", PARTITIONS)) {
        Ok(()) | Err(kafkalite::Error::TopicAlreadyExists(_)) => {}
        Err(e) => panic!("{e}"),
    }
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let consumer = cluster
        .consumer(ConsumerConfig::with_group("g").enable_auto_commit(false))
        .unwrap();
    let tps: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new("t", p))
        .collect();
    consumer
        .assign(
            &tps.iter()
                .map(|tp| (tp.clone(), Offset::Committed))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    // Up to 100 records a cycle (so that the history stays small enough to check in full
    // every cycle), then only commits, until the kill.
    for seq in 0u64.. {
        if seq >= 100 {
            commit(&consumer, &tps, &mut out);
            continue;
        }
        let partition = i32::try_from(seq % PARTITIONS as u64).unwrap();
        let value = format!("cycle{cycle}-seq{seq}-{}", "v".repeat((seq % 40) as usize));
        let sent = producer
            .send(
                ProducerRecord::to("t")
                    .partition(partition)
                    .value(value.clone()),
            )
            .unwrap()
            .wait()
            .unwrap();
        writeln!(out, "A {partition} {} {value}", sent.offset).unwrap();
        if seq % 10 == 9 {
            commit(&consumer, &tps, &mut out);
        }
        out.flush().unwrap();
    }
}

/// Commits what the consumer has read so far, in one batch, and says so.
fn commit(consumer: &kafkalite::Consumer, tps: &[TopicPartition], out: &mut impl Write) {
    consumer.poll(Duration::ZERO).unwrap();
    let mut offsets = Offsets::new();
    for tp in tps {
        offsets.insert(
            tp.clone(),
            OffsetAndMetadata::new(consumer.position(tp).unwrap()),
        );
    }
    consumer.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    for (tp, offset) in &offsets {
        writeln!(out, "C {} {}", tp.partition, offset.offset).unwrap();
    }
    out.flush().unwrap();
}

/// What the parent learned from the children's acknowledgements.
#[derive(Default)]
struct History {
    /// Per partition: offset → value.
    acked: BTreeMap<i32, BTreeMap<i64, String>>,
    /// Per partition: the highest acknowledged commit.
    committed: BTreeMap<i32, i64>,
}

impl History {
    fn note(&mut self, line: &str) {
        let mut parts = line.splitn(4, ' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("A"), Some(p), Some(offset), Some(value)) => {
                self.acked
                    .entry(p.parse().unwrap())
                    .or_default()
                    .insert(offset.parse().unwrap(), value.to_string());
            }
            (Some("C"), Some(p), Some(offset), None) => {
                let offset: i64 = offset.parse().unwrap();
                let best = self.committed.entry(p.parse().unwrap()).or_default();
                *best = (*best).max(offset);
            }
            _ => {}
        }
    }

    /// Opens `dir` and checks every promise; returns the number of records checked.
    fn verify(&self, dir: &std::path::Path, cycle: u64) -> usize {
        let cluster = Cluster::open(dir)
            .unwrap_or_else(|e| panic!("cycle {cycle}: open after kill -9 failed: {e}"));
        let mut checked = 0;
        for (partition, acked) in &self.acked {
            let log = cluster.partition("t", *partition).unwrap();
            // Every batch is read CRC-checked; offsets must run on from the log start.
            let start = log.log_start_offset();
            let mut found = BTreeMap::new();
            let mut seen = std::collections::HashSet::new();
            for (i, (offset, _, value)) in common::read_all(&log).into_iter().enumerate() {
                assert_eq!(
                    offset,
                    start + i as i64,
                    "cycle {cycle}: offsets contiguous"
                );
                assert!(
                    seen.insert(value.clone()),
                    "cycle {cycle}: t-{partition}@{offset} is a duplicate"
                );
                found.insert(offset, value);
            }
            for (offset, value) in acked {
                assert_eq!(
                    found.get(offset).map(Vec::as_slice),
                    Some(value.as_bytes()),
                    "cycle {cycle}: acknowledged record t-{partition}@{offset}"
                );
                checked += 1;
            }
        }
        let offsets = cluster.describe_group_offsets("g").ok().unwrap_or_default();
        for (partition, &acked) in &self.committed {
            let committed = offsets
                .iter()
                .find(|o| o.partition.partition == *partition)
                .and_then(|o| o.committed);
            let end = cluster.partition("t", *partition).unwrap().log_end_offset();
            assert!(
                committed.is_some_and(|c| c >= acked && c <= end),
                "cycle {cycle}: t-{partition} committed {committed:?}, acknowledged {acked}, log end {end}"
            );
        }
        cluster.close().unwrap();
        checked
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let cycles: u64 = std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let mut history = History::default();
    // xorshift64 never leaves 0.
    let mut draw = common::xorshift(common::seed("CRASH_SEED") ^ 0x2545_F491_4F6C_DD1D);
    let (mut during_open, mut checked) = (0, 0usize);
    for cycle in 0..cycles {
        if cycle % 50 == 0 {
            // A fresh directory now and then: recovery of recovery is exercised within each
            // run of 50, and checking the whole history every cycle stays cheap.
            let _ = std::fs::remove_dir_all(&dir);
            history = History::default();
        }
        let (mut child, lines, reader) = common::spawn_child(
            "crash_child",
            &[
                (CHILD_DIR, dir.display().to_string()),
                (CHILD_CYCLE, cycle.to_string()),
            ],
        );
        // Wait for the child to start opening (the test harness prints its own text first,
        // on the same line).
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("cycle {cycle}: the child did not start: {e}"));
            if line.ends_with("OPENING") {
                break;
            }
            assert!(
                !line.starts_with("A "),
                "cycle {cycle}: records before OPENING"
            );
        }
        let in_open = draw(10) == 0;
        if in_open {
            // Kill it inside open and recovery.
            std::thread::sleep(Duration::from_micros(draw(3_000)));
        } else {
            let ready = lines.recv_timeout(Duration::from_secs(60));
            assert_eq!(
                ready.as_deref(),
                Ok("READY"),
                "cycle {cycle}: the child opened"
            );
            std::thread::sleep(Duration::from_micros(draw(20_000)));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        let mut saw_ready = false;
        for line in lines.try_iter() {
            saw_ready |= line == "READY";
            history.note(&line);
        }
        during_open += u64::from(in_open && !saw_ready);
        checked += history.verify(&dir, cycle);
    }
    eprintln!(
        "{cycles} kill -9 cycles ({during_open} inside open), {checked} checks of acknowledged records"
    );
    assert!(checked > 0, "the children acknowledged records");
}
