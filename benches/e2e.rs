//! End-to-end latency, measured in one run with its baseline: a producer (`linger.ms=0`,
//! `acks=1`) sends one record at a time and a consumer blocked in `poll` on another thread
//! receives it; the baseline hands an `Instant` to a thread blocked in a crossbeam channel
//! `recv`. Each next send waits until the last one arrived (unmeasured). Prints p50 and p99
//! of both and their ratio. Also times a rebalance of 3 members over 100 partitions, each
//! member on its own thread inside one `poll`.
//! Files go to `KAFKALITE_BENCH_DIR` (default: the system temporary directory).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkalite::{
    Acks, AssignorKind, Cluster, ConsumerConfig, NewTopic, Offset, ProducerConfig, ProducerRecord,
    RebalanceContext, RebalanceListener, TopicPartition,
};

const ROUNDS: usize = 20_000;

fn channel_hand_off() -> Vec<Duration> {
    let (tx, rx) = crossbeam::channel::bounded::<Instant>(1);
    let received = Arc::new(AtomicUsize::new(0));
    let receiver = {
        let received = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut samples = Vec::with_capacity(ROUNDS);
            for sent in rx.iter() {
                samples.push(sent.elapsed());
                received.fetch_add(1, Ordering::Release);
            }
            samples
        })
    };
    for i in 0..ROUNDS {
        tx.send(Instant::now()).unwrap();
        while received.load(Ordering::Acquire) <= i {
            std::thread::yield_now();
        }
    }
    drop(tx);
    receiver.join().unwrap()
}

fn produce_to_poll() -> Vec<Duration> {
    let dir = common::bench_dir();
    let cluster = Cluster::builder()
        .background(false)
        .open(dir.path())
        .unwrap();
    cluster.create_topic(NewTopic::new("e2e", 1)).unwrap();
    let producer = cluster
        .producer(
            ProducerConfig::new()
                .linger(Duration::ZERO)
                .acks(Acks::Leader),
        )
        .unwrap();
    let consumer = cluster.consumer(ConsumerConfig::new()).unwrap();
    consumer
        .assign(&[(TopicPartition::new("e2e", 0), Offset::Beginning)])
        .unwrap();
    let received = Arc::new(AtomicUsize::new(0));
    let sent_at = Arc::new(parking_lot::Mutex::new(vec![Instant::now(); ROUNDS]));
    let receiver = {
        let (received, sent_at) = (Arc::clone(&received), Arc::clone(&sent_at));
        std::thread::spawn(move || {
            let mut samples = Vec::with_capacity(ROUNDS);
            while samples.len() < ROUNDS {
                let records = consumer.poll(Duration::from_secs(10)).unwrap();
                let now = Instant::now();
                for record in records.iter() {
                    samples.push(now - sent_at.lock()[usize::try_from(record.offset()).unwrap()]);
                    received.fetch_add(1, Ordering::Release);
                }
            }
            samples
        })
    };
    for i in 0..ROUNDS {
        sent_at.lock()[i] = Instant::now();
        producer
            .send(ProducerRecord::to("e2e").value(i.to_be_bytes().to_vec()))
            .unwrap();
        while received.load(Ordering::Acquire) <= i {
            std::thread::yield_now();
        }
    }
    receiver.join().unwrap()
}

/// Three members of a new group over 100 partitions, each on its own thread inside its
/// first `poll`: the time until every member owns its share, and whether that happened
/// within that one poll.
fn rebalance() -> (Duration, bool) {
    struct Owned(Arc<AtomicUsize>, Arc<AtomicUsize>);
    impl RebalanceListener for Owned {
        fn on_partitions_revoked(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
            self.0.fetch_sub(tps.len(), Ordering::AcqRel);
        }
        fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
            self.0.fetch_add(tps.len(), Ordering::AcqRel);
            if !tps.is_empty() {
                self.1.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster.create_topic(NewTopic::new("r", 100)).unwrap();
    let owned = Arc::new(AtomicUsize::new(0));
    let assignments = Arc::new(AtomicUsize::new(0));
    let members: Vec<_> = (0..3)
        .map(|_| {
            let c = cluster
                .consumer(
                    ConsumerConfig::with_group("r").assignment_strategy(&[AssignorKind::Range]),
                )
                .unwrap();
            c.subscribe_with(&["r"], Owned(Arc::clone(&owned), Arc::clone(&assignments)))
                .unwrap();
            c
        })
        .collect();
    let start = Instant::now();
    let (elapsed, polls) = std::thread::scope(|s| {
        let polling: Vec<_> = members
            .iter()
            .map(|m| {
                s.spawn(move || {
                    matches!(
                        m.poll(Duration::from_secs(30)),
                        Err(kafkalite::Error::Wakeup)
                    )
                })
            })
            .collect();
        // Done when the last generation's three assignments are in (the first, single-member
        // generation counts one more).
        while !(owned.load(Ordering::Acquire) == 100 && assignments.load(Ordering::Acquire) >= 4) {
            std::thread::yield_now();
        }
        let elapsed = start.elapsed();
        for m in &members {
            m.waker().wakeup();
        }
        (
            elapsed,
            polling
                .into_iter()
                .map(|p| p.join().unwrap())
                .collect::<Vec<_>>(),
        )
    });
    (elapsed, polls.iter().all(|&woken| woken))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("e2e: bench");
        return;
    }
    let mut baseline = channel_hand_off();
    let mut ours = produce_to_poll();
    let (b50, b99) = common::tail::percentiles(&mut baseline);
    let (o50, o99) = common::tail::percentiles(&mut ours);
    println!("crossbeam hand-off:        p50 {b50:>10.2?}  p99 {b99:>10.2?}");
    println!("produce -> blocked poll:   p50 {o50:>10.2?}  p99 {o99:>10.2?}");
    println!(
        "ratio: p50 {:.1}x  p99 {:.1}x",
        o50.as_secs_f64() / b50.as_secs_f64(),
        o99.as_secs_f64() / b99.as_secs_f64()
    );
    let (time, one_poll) = rebalance();
    println!(
        "rebalance of 3 members over 100 partitions: {time:.2?}; within the first poll of each member: {one_poll}"
    );
}
