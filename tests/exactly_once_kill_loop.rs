//! The exactly-once example (`examples/exactly_once.rs`, included here as it is) under
//! kill -9: the test binary re-executes itself as a child running the example on a real
//! directory; the parent SIGKILLs it at a random moment (sometimes while it opens and
//! recovers, sometimes mid-seed, mostly mid-processing) and starts it again, until a child
//! finishes. Then the Jepsen-style check: `output`, read `read_committed`, holds every input
//! doubled exactly once (no loss, no duplicate, nothing from an aborted transaction), and the
//! group's committed offsets are the ends of `input`. `EOS_KILLS` sets how many kills a run
//! makes at most (default 40); the kill moments come from a seed the test prints
//! (`EOS_SEED` replays the schedule; the child's own timing still varies).

mod common;

#[allow(dead_code)]
#[path = "../examples/exactly_once.rs"]
mod example;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use kafkalite::{Cluster, ConsumerConfig, IsolationLevel, Offset, TopicPartition};

const CHILD_DIR: &str = "KAFKALITE_EOS_CHILD_DIR";
const INPUTS: u64 = 20_000;

/// The child's work, when the parent started this binary for it; a no-op otherwise.
#[test]
fn exactly_once_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "OPENING").unwrap();
    out.flush().unwrap();
    let cluster = Cluster::open(&dir).unwrap();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    example::run(&cluster, INPUTS, |_| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "COMMITTED").unwrap();
        out.flush().unwrap();
    })
    .unwrap();
    cluster.close().unwrap();
    writeln!(out, "DONE").unwrap();
    out.flush().unwrap();
}

#[test]
fn output_holds_every_input_doubled_once_however_often_the_process_is_killed() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let kills: u64 = std::env::var("EOS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let mut draw = common::xorshift(common::seed("EOS_SEED") ^ 0x9E37_79B9_7F4A_7C15);
    let dir = tempfile::tempdir().unwrap();
    let mut killed = 0;
    loop {
        let (mut child, lines, reader) = common::spawn_child(
            "exactly_once_child",
            &[(CHILD_DIR, dir.path().display().to_string())],
        );
        // Waits for a line ending with `want`; false if the child finished (printed DONE)
        // first.
        let expect = |want: &str| loop {
            let line = lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("the child never printed {want}: {e}"));
            if line.ends_with(want) {
                return true;
            }
            if line.ends_with("DONE") {
                return false;
            }
        };
        expect("OPENING");
        // Enough kills (or the work is done): let this one finish.
        let mut finish = killed == kills;
        if !finish {
            // One kill in eight inside open and recovery; one in eight soon after it opened
            // (the seed, on a fresh directory); the rest inside a transaction, after a
            // commit (each poll's 500 records are a transaction: the next is under way).
            match draw(8) {
                0 => std::thread::sleep(Duration::from_micros(draw(3_000))),
                1 => {
                    finish = !expect("READY");
                    std::thread::sleep(Duration::from_micros(draw(5_000)));
                }
                _ => {
                    finish = !(expect("READY") && expect("COMMITTED"));
                    std::thread::sleep(Duration::from_micros(draw(2_000)));
                }
            }
        }
        if finish {
            let status = child.wait().unwrap();
            reader.join().unwrap();
            assert!(status.success(), "the last run failed after {killed} kills");
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        killed += 1;
    }

    let cluster = Cluster::open(dir.path()).unwrap();
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for partition in 0..2 {
        let consumer = cluster
            .consumer(ConsumerConfig::new().isolation_level(IsolationLevel::ReadCommitted))
            .unwrap();
        let tp = TopicPartition::new("output", partition);
        consumer.assign(&[(tp, Offset::Beginning)]).unwrap();
        loop {
            let records = consumer.poll(Duration::ZERO).unwrap();
            if records.is_empty() {
                break;
            }
            for record in records.iter() {
                let value = std::str::from_utf8(record.value().unwrap()).unwrap();
                *seen.entry(value.parse().unwrap()).or_default() += 1;
            }
        }
    }
    let wrong: Vec<(u64, usize)> = (0..INPUTS)
        .map(|n| (2 * n, seen.get(&(2 * n)).copied().unwrap_or(0)))
        .filter(|&(_, count)| count != 1)
        .take(10)
        .collect();
    assert!(
        wrong.is_empty(),
        "after {killed} kills, (doubled value, copies): {wrong:?}"
    );
    assert_eq!(
        seen.len() as u64,
        INPUTS,
        "values that are no doubled input"
    );
    let consumer = cluster
        .consumer(ConsumerConfig::with_group("doublers"))
        .unwrap();
    for partition in 0..2 {
        let tp = TopicPartition::new("input", partition);
        let end = cluster
            .partition("input", partition)
            .unwrap()
            .last_stable_offset();
        let committed = consumer.committed(std::slice::from_ref(&tp)).unwrap();
        assert_eq!(committed[&tp].as_ref().map(|o| o.offset), Some(end), "{tp}");
    }
}
