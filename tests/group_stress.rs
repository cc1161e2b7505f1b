//! Stress: 4 producer threads, 2 groups of 3 members that keep leaving and being replaced
//! mid-stream, each member committing after every poll and when partitions are revoked. Checked: per-partition order, no
//! record lost, no duplicate inside a group, committed offsets never go down, and no
//! partition owned by two members of a group at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkalite::{
    AssignorKind, AutoOffsetReset, Cluster, CommitMode, ConsumerConfig, Error, NewTopic,
    ProducerConfig, ProducerRecord, RebalanceContext, RebalanceListener, TopicPartition,
};

const PARTITIONS: i32 = 6;
const PRODUCERS: usize = 4;
const PER_PRODUCER: usize = 5_000;

/// Who owns what in one group; assigning an owned partition is a violation.
#[derive(Default)]
struct Owners {
    map: Mutex<HashMap<TopicPartition, usize>>,
    violations: Mutex<Vec<String>>,
}

struct Tracker {
    member: usize,
    owners: Arc<Owners>,
}

impl RebalanceListener for Tracker {
    fn on_partitions_revoked(&mut self, ctx: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
        // Kafka's pattern for no duplicates: commit what was processed before letting go.
        // (Only a close racing a rebalance can see the group move on; the member committed
        // before closing.)
        match ctx.commit_positions(tps) {
            Ok(()) | Err(Error::RebalanceInProgress(_)) => {}
            Err(e) => panic!("commit on revocation: {e}"),
        }
        self.release(tps);
    }
    fn on_partitions_lost(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
        self.release(tps);
    }
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
        let mut map = self.owners.map.lock().unwrap();
        for tp in tps {
            if let Some(other) = map.insert(tp.clone(), self.member) {
                if other != self.member {
                    self.owners.violations.lock().unwrap().push(format!(
                        "{tp} assigned to {} while {other} owns it",
                        self.member
                    ));
                }
            }
        }
    }
}

impl Tracker {
    fn release(&self, tps: &[TopicPartition]) {
        let mut map = self.owners.map.lock().unwrap();
        for tp in tps {
            if map.get(tp) == Some(&self.member) {
                map.remove(tp);
            }
        }
    }
}

/// (partition, offset, producer, sequence) as consumed by one group.
type Consumed = Mutex<Vec<(i32, i64, usize, usize)>>;

/// Records what a poll returned.
fn note(consumed: &Consumed, records: &kafkalite::Records) {
    let batch: Vec<_> = records
        .iter()
        .map(|r| {
            let value = std::str::from_utf8(r.value().unwrap()).unwrap();
            let (producer, seq) = value.split_once(':').unwrap();
            (
                r.partition(),
                r.offset(),
                producer.parse().unwrap(),
                seq.parse().unwrap(),
            )
        })
        .collect();
    consumed.lock().unwrap().extend(batch);
}

fn run_group(
    cluster: &Cluster,
    group: &'static str,
    strategy: AssignorKind,
    done: &AtomicBool,
    consumed: &Consumed,
    owners: &Arc<Owners>,
    next_member: &AtomicUsize,
) {
    std::thread::scope(|s| {
        for slot in 0..3usize {
            s.spawn(move || {
                // Each slot runs a member for a while, closes it, and starts a fresh one.
                while !done.load(Ordering::Acquire) {
                    let id = next_member.fetch_add(1, Ordering::Relaxed);
                    let consumer = cluster
                        .consumer(
                            ConsumerConfig::with_group(group)
                                .client_id(format!("{group}-m{id}"))
                                .assignment_strategy(&[strategy])
                                .auto_offset_reset(AutoOffsetReset::Earliest)
                                .enable_auto_commit(false)
                                .max_poll_records(50),
                        )
                        .unwrap();
                    consumer
                        .subscribe_with(
                            &["s"],
                            Tracker {
                                member: id,
                                owners: Arc::clone(owners),
                            },
                        )
                        .unwrap();
                    let polls = 5 + (id * 7 + slot * 3) % 25;
                    for _ in 0..polls {
                        if done.load(Ordering::Acquire) {
                            break;
                        }
                        let records = consumer.poll(Duration::from_millis(20)).unwrap();
                        note(consumed, &records);
                        match consumer.commit(CommitMode::Sync) {
                            // The group moved on while this poll's records were processed:
                            // the next poll takes the new generation, and the revocation
                            // callback commits whatever moves.
                            Ok(()) | Err(Error::RebalanceInProgress(_)) => {}
                            Err(e) => panic!("commit: {e}"),
                        }
                    }
                    // Commit before leaving: poll (processing what comes) until a commit
                    // lands in the current generation.
                    loop {
                        match consumer.commit(CommitMode::Sync) {
                            Ok(()) => break,
                            Err(Error::RebalanceInProgress(_)) => {
                                note(consumed, &consumer.poll(Duration::ZERO).unwrap());
                            }
                            Err(e) => panic!("final commit: {e}"),
                        }
                    }
                    consumer.close().unwrap();
                }
            });
        }
    });
}

#[test]
fn groups_keep_order_lose_nothing_and_never_share_a_partition() {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster
        .create_topic(NewTopic::new("s", PARTITIONS))
        .unwrap();
    let groups = [
        ("eager", AssignorKind::Range),
        ("cooperative", AssignorKind::CooperativeSticky),
    ];
    let consumed: Vec<Consumed> = groups.iter().map(|_| Mutex::new(Vec::new())).collect();
    let owners: Vec<Arc<Owners>> = groups.iter().map(|_| Arc::default()).collect();
    let done: Vec<AtomicBool> = groups.iter().map(|_| AtomicBool::new(false)).collect();
    let next_member = AtomicUsize::new(0);
    let total = PRODUCERS * PER_PRODUCER;
    let committed_went_down = AtomicBool::new(false);
    std::thread::scope(|s| {
        for producer_id in 0..PRODUCERS {
            let cluster = &cluster;
            s.spawn(move || {
                let producer = cluster
                    .producer(ProducerConfig::new().linger(Duration::from_millis(1)))
                    .unwrap();
                for seq in 0..PER_PRODUCER {
                    producer
                        .send(
                            ProducerRecord::to("s")
                                .key(format!("p{producer_id}-{}", seq % 97))
                                .value(format!("{producer_id}:{seq}")),
                        )
                        .unwrap();
                }
                producer.close(Duration::from_secs(60)).unwrap();
            });
        }
        for (g, (group, strategy)) in groups.iter().enumerate() {
            let (cluster, done, consumed, owners, next_member) =
                (&cluster, &done[g], &consumed[g], &owners[g], &next_member);
            s.spawn(move || {
                run_group(
                    cluster,
                    group,
                    *strategy,
                    done,
                    consumed,
                    owners,
                    next_member,
                )
            });
        }
        // The checker: committed offsets never go down; the groups stop once they have
        // everything.
        let mut last: BTreeMap<(usize, TopicPartition), i64> = BTreeMap::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while done.iter().any(|d| !d.load(Ordering::Acquire)) {
            assert!(
                std::time::Instant::now() < deadline,
                "the groups did not finish"
            );
            for (g, (group, _)) in groups.iter().enumerate() {
                if let Ok(offsets) = cluster.describe_group_offsets(group) {
                    for p in offsets {
                        let committed = p.committed.unwrap_or(0);
                        let before = last
                            .insert((g, p.partition.clone()), committed)
                            .unwrap_or(0);
                        if committed < before {
                            committed_went_down.store(true, Ordering::Release);
                        }
                    }
                }
                let distinct: BTreeSet<(i32, i64)> = consumed[g]
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|&(p, o, _, _)| (p, o))
                    .collect();
                if distinct.len() == total {
                    done[g].store(true, Ordering::Release);
                }
            }
            std::thread::yield_now();
        }
    });
    assert!(
        !committed_went_down.load(Ordering::Acquire),
        "a committed offset went down"
    );
    let members = next_member.load(Ordering::Relaxed);
    eprintln!("{members} members took part");
    assert!(members > 2 * 3, "members were replaced mid-stream");
    for (g, (group, _)) in groups.iter().enumerate() {
        let violations = owners[g].violations.lock().unwrap();
        assert!(violations.is_empty(), "{group}: {violations:?}");
        let consumed = consumed[g].lock().unwrap();
        let mut seen: BTreeMap<(i32, i64), (usize, usize)> = BTreeMap::new();
        for &(p, o, producer, seq) in consumed.iter() {
            assert!(
                seen.insert((p, o), (producer, seq)).is_none(),
                "{group}: {p}:{o} consumed twice"
            );
        }
        assert_eq!(seen.len(), total, "{group}: records lost");
        // Per partition, each producer's records are in send order.
        let mut last_seq: HashMap<(i32, usize), usize> = HashMap::new();
        for (&(p, _), &(producer, seq)) in &seen {
            if let Some(before) = last_seq.insert((p, producer), seq) {
                assert!(
                    before < seq,
                    "{group}: partition {p} reordered producer {producer}"
                );
            }
        }
    }
}
