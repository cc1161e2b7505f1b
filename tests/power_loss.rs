//! Simulated power loss (`SimStorage`): each scripted scenario is cut at every storage
//! operation, and each cut is resolved the eight ways of `PowerLoss`; then random seeds. The
//! oracle, per partition: what reopens is exactly the first k attempted batches (no garbage,
//! hole, reordering, duplicate or wrong byte; whole batches only), k covers every batch that
//! was acknowledged durable (fsync topics, or a completed sync; every acknowledged batch when
//! the cut kept all unsynced data, as a process kill does), an acknowledged topic deletion
//! stays deleted, and a second open changes nothing. A failure prints the scenario, cut
//! point, resolution and seed, which replay it exactly.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use std::time::Duration;

use kafkalite::storage::{FaultPlan, PowerLoss, SimFailure, SimOp, SimStorage, Storage};
use kafkalite::{BatchBuilder, Cluster, Compression, NewTopic, Producer, ProducerRecord};

use common::{open_sim as open, SIM_DATA as DATA, SIM_ROOT as ROOT};

/// What a scenario attempted, and what it was told.
#[derive(Debug, Default)]
struct History {
    partitions: BTreeMap<(String, i32), Attempts>,
    /// Topics whose deletion was acknowledged.
    deleted: Vec<String>,
    /// Topics whose deletion was attempted: gone, or whole.
    deleting: Vec<String>,
    /// Makes every attempted batch's values unique.
    next_batch: usize,
    /// Whether retention or `delete_records` may have moved log starts.
    retention: bool,
    /// How appended batches are compressed.
    compression: Compression,
    /// Offsets committed for group "g" on t-0, in order (each higher than the last), how
    /// many were acknowledged, and how many must survive a power cut (all of those).
    commits: Vec<i64>,
    commits_acked: usize,
    commits_durable: usize,
}

/// One partition's appends, in order.
#[derive(Debug, Default)]
struct Attempts {
    /// The values of each attempted batch.
    batches: Vec<Vec<Vec<u8>>>,
    /// Which attempts failed (an I/O fault; after a power cut every later one fails too).
    failed: Vec<bool>,
    /// How many batches were acknowledged (always a prefix: after a power cut every
    /// operation fails).
    acked: usize,
    /// How many must survive a power cut.
    durable: usize,
    /// The log start an acknowledged `delete_records` set: records below it must never
    /// come back.
    deleted_to: i64,
}

impl History {
    fn attempts(&mut self, topic: &str, partition: i32) -> &mut Attempts {
        self.partitions
            .entry((topic.to_string(), partition))
            .or_default()
    }

    /// Appends `count` records to a partition, noting the attempt and its outcome.
    fn append(
        &mut self,
        cluster: &Cluster,
        topic: &str,
        partition: i32,
        count: usize,
        fsync: bool,
    ) -> kafkalite::Result<()> {
        let (index, values) = self.attempt(topic, partition, count);
        let mut builder = BatchBuilder::new().compression(self.compression);
        for value in &values {
            builder.append(1_000, None, Some(value), &[])?;
        }
        let batch = builder.build()?;
        cluster.partition(topic, partition)?.append(&batch)?;
        self.acknowledged(topic, partition, index, fsync);
        Ok(())
    }

    /// Sends one record through `producer` and waits for its acknowledgement (a batch of
    /// its own), noting the attempt and its outcome.
    fn produce(
        &mut self,
        producer: &Producer,
        topic: &str,
        partition: i32,
        fsync: bool,
    ) -> kafkalite::Result<()> {
        let (index, mut values) = self.attempt(topic, partition, 1);
        let record = ProducerRecord::to(topic)
            .partition(partition)
            .value(values.remove(0));
        producer.send(record).map_err(|e| e.error)?.wait()?;
        self.acknowledged(topic, partition, index, fsync);
        Ok(())
    }

    /// Sends `count` records through `producer` without waiting (they share batches), then
    /// flushes and notes each acknowledgement in order.
    fn produce_all(
        &mut self,
        producer: &Producer,
        topic: &str,
        partition: i32,
        count: usize,
        fsync: bool,
    ) -> kafkalite::Result<()> {
        let mut sent = Vec::new();
        for _ in 0..count {
            let (index, mut values) = self.attempt(topic, partition, 1);
            let record = ProducerRecord::to(topic)
                .partition(partition)
                .value(values.remove(0));
            sent.push((index, producer.send(record).map_err(|e| e.error)?));
        }
        producer.flush(Duration::from_secs(60))?;
        for (index, handle) in sent {
            handle.wait()?;
            self.acknowledged(topic, partition, index, fsync);
        }
        Ok(())
    }

    /// Notes an attempted batch of `count` unique values (failed until acknowledged);
    /// returns its index among the partition's attempts, and the values.
    fn attempt(&mut self, topic: &str, partition: i32, count: usize) -> (usize, Vec<Vec<u8>>) {
        let n = self.next_batch;
        self.next_batch += 1;
        let values: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                format!(
                    "{topic}-{partition}-batch{n}-record{i}-{}",
                    "x".repeat(n * 7 % 50)
                )
                .into_bytes()
            })
            .collect();
        let attempts = self.attempts(topic, partition);
        attempts.batches.push(values.clone());
        attempts.failed.push(true);
        (attempts.batches.len() - 1, values)
    }

    /// Attempt `index` was acknowledged (durably, with `fsync`); acknowledgements come in
    /// attempt order.
    fn acknowledged(&mut self, topic: &str, partition: i32, index: usize, fsync: bool) {
        let attempts = self.attempts(topic, partition);
        attempts.failed[index] = false;
        attempts.acked += 1;
        if fsync {
            attempts.durable = attempts.acked;
        }
    }

    /// Syncs a partition: what was acknowledged before is now durable.
    fn sync(&mut self, cluster: &Cluster, topic: &str, partition: i32) -> kafkalite::Result<()> {
        let log = cluster.partition(topic, partition)?;
        log.sync_to(log.log_end_offset())?;
        let attempts = self.attempts(topic, partition);
        attempts.durable = attempts.acked;
        Ok(())
    }
}

type Scenario = fn(&Cluster, &mut History) -> kafkalite::Result<()>;

/// Every scenario, for random cuts.
const SCENARIOS: [(&str, Scenario); 18] = [
    ("one_partition_fsync", one_partition_fsync),
    ("three_partitions_fsync", three_partitions_fsync),
    ("segment_rolls_fsync", segment_rolls_fsync),
    ("buffered_with_syncs", buffered_with_syncs),
    ("buffered_rolls", buffered_rolls),
    ("topics_created_and_deleted", topics_created_and_deleted),
    ("retention_deletes_segments", retention_deletes_segments),
    ("offset_commits", offset_commits),
    ("delete_records_moves_start", delete_records_moves_start),
    ("partitions_added", partitions_added),
    ("config_altered_to_fsync", config_altered_to_fsync),
    ("lz4_batches_dense_indexes", lz4_batches_dense_indexes),
    ("producer_acks_fsync", producer_acks_fsync),
    (
        "commits_between_buffered_appends",
        commits_between_buffered_appends,
    ),
    ("appends_then_clean_close", appends_then_clean_close),
    ("segment_size_altered", segment_size_altered),
    (
        "topic_deleted_with_unsynced_data",
        topic_deleted_with_unsynced_data,
    ),
    ("producer_lz4_batches_flushed", producer_lz4_batches_flushed),
];

fn one_partition_fsync(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))?;
    for i in 0..8 {
        h.append(cluster, "t", 0, 1 + i % 3, true)?;
    }
    Ok(())
}

fn three_partitions_fsync(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 3).config("flush.messages", "1"))?;
    for i in 0..9 {
        h.append(cluster, "t", i % 3, 2, true)?;
    }
    Ok(())
}

fn segment_rolls_fsync(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(
        NewTopic::new("t", 1)
            .config("flush.messages", "1")
            .config("segment.bytes", "400"),
    )?;
    for i in 0..10 {
        h.append(cluster, "t", 0, 1 + i % 2, true)?;
    }
    Ok(())
}

fn buffered_with_syncs(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 2).config("segment.bytes", "600"))?;
    for i in 0..10 {
        h.append(cluster, "t", i % 2, 2, false)?;
        if i % 3 == 2 {
            h.sync(cluster, "t", i % 2)?;
        }
    }
    Ok(())
}

/// Rolls with nothing synced: a cut can empty or tear a sealed segment whose successor
/// exists.
fn buffered_rolls(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 2).config("segment.bytes", "300"))?;
    for i in 0..12 {
        h.append(cluster, "t", i % 2, 2, false)?;
    }
    Ok(())
}

fn topics_created_and_deleted(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    for topic in ["a", "b"] {
        cluster.create_topic(NewTopic::new(topic, 1).config("flush.messages", "1"))?;
        h.append(cluster, topic, 0, 2, true)?;
    }
    h.deleting.push("a".into());
    cluster.delete_topic("a")?;
    h.deleted.push("a".into());
    h.append(cluster, "b", 0, 1, true)?;
    // Created again: the old records must never come back, the new ones may.
    h.deleted.clear();
    h.deleting.clear();
    h.partitions
        .insert(("a".to_string(), 0), Attempts::default());
    cluster.create_topic(NewTopic::new("a", 1).config("flush.messages", "1"))?;
    h.append(cluster, "a", 0, 1, true)?;
    Ok(())
}

fn retention_deletes_segments(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(
        NewTopic::new("t", 1)
            .config("flush.messages", "1")
            .config("segment.bytes", "400")
            .config("retention.bytes", "500"),
    )?;
    for i in 0..10 {
        h.append(cluster, "t", 0, 1 + i % 2, true)?;
        if i % 4 == 3 {
            h.retention = true;
            cluster.apply_retention()?;
        }
    }
    Ok(())
}

fn offset_commits(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))?;
    for _ in 0..3 {
        h.append(cluster, "t", 0, 2, true)?;
    }
    let consumer = group_consumer(cluster)?;
    for next in 1..=6 {
        h.commit(&consumer, next)?;
    }
    Ok(())
}

/// A consumer of group "g", assigned t-0.
fn group_consumer(cluster: &Cluster) -> kafkalite::Result<kafkalite::Consumer> {
    let consumer = cluster.consumer(kafkalite::ConsumerConfig::with_group("g"))?;
    let tp = kafkalite::TopicPartition::new("t", 0);
    consumer.assign(&[(tp, kafkalite::Offset::Beginning)])?;
    Ok(consumer)
}

impl History {
    /// Commits `next` for t-0 in group "g" (each commit higher than the last).
    fn commit(&mut self, consumer: &kafkalite::Consumer, next: i64) -> kafkalite::Result<()> {
        let mut offsets = kafkalite::Offsets::new();
        let tp = kafkalite::TopicPartition::new("t", 0);
        offsets.insert(tp, kafkalite::OffsetAndMetadata::new(next));
        self.commits.push(next);
        consumer.commit_offsets(&offsets, kafkalite::CommitMode::Sync)?;
        // `__consumer_offsets` syncs every commit before it returns.
        self.commits_acked += 1;
        self.commits_durable = self.commits_acked;
        Ok(())
    }
}

/// `delete_records` at batch boundaries: an acknowledged deletion never comes back.
fn delete_records_moves_start(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(
        NewTopic::new("t", 1)
            .config("flush.messages", "1")
            .config("segment.bytes", "500")
            .config("retention.ms", "-1"), // only delete_records moves the start
    )?;
    h.retention = true;
    for round in 0..3 {
        for _ in 0..3 {
            h.append(cluster, "t", 0, 2, true)?;
        }
        // Two batches of two records each round.
        let to = 4 * (round + 1);
        cluster.delete_records("t", 0, to)?;
        h.attempts("t", 0).deleted_to = to;
    }
    Ok(())
}

/// Partitions added to a topic that holds data; the new ones take appends at once.
fn partitions_added(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))?;
    h.append(cluster, "t", 0, 2, true)?;
    cluster.create_partitions("t", 3)?;
    for i in 0..6 {
        h.append(cluster, "t", i % 3, 1, true)?;
    }
    Ok(())
}

/// A buffered topic switched to `flush.messages=1`: appends after the change are durable
/// when acknowledged (and the change itself is in the metadata log).
fn config_altered_to_fsync(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1))?;
    for _ in 0..3 {
        h.append(cluster, "t", 0, 2, false)?;
    }
    cluster.alter_topic_config("t", &[("flush.messages", "1")], &[])?;
    for _ in 0..3 {
        h.append(cluster, "t", 0, 2, true)?;
    }
    Ok(())
}

/// lz4 batches, an index entry for every batch, and rolls: recovery decompresses nothing
/// but must rebuild dense indexes that reads then use.
fn lz4_batches_dense_indexes(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(
        NewTopic::new("t", 1)
            .config("flush.messages", "1")
            .config("segment.bytes", "500")
            .config("index.interval.bytes", "1"),
    )?;
    h.compression = Compression::Lz4;
    for i in 0..9 {
        h.append(cluster, "t", 0, 2 + i % 3, true)?;
    }
    Ok(())
}

/// The producer's path: `acks=all` on an fsync topic, each send waited for.
fn producer_acks_fsync(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 2).config("flush.messages", "1"))?;
    let producer = cluster.producer(&[("linger.ms", "0"), ("acks", "all")][..])?;
    for i in 0..8 {
        h.produce(&producer, "t", i % 2, true)?;
    }
    producer.close(Duration::from_secs(60))
}

/// Buffered appends, then a clean close (trims, syncs, checkpoints, the clean-shutdown
/// marker): once it returns, everything is durable, and the next open trusts the marker.
fn appends_then_clean_close(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 2).config("segment.bytes", "400"))?;
    for i in 0..8 {
        h.append(cluster, "t", i % 2, 2, false)?;
    }
    cluster.close()?;
    for attempts in h.partitions.values_mut() {
        attempts.durable = attempts.acked;
    }
    Ok(())
}

/// `segment.bytes` lowered on a topic with data: the active segment rolls at the new size.
fn segment_size_altered(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))?;
    for _ in 0..3 {
        h.append(cluster, "t", 0, 2, true)?;
    }
    cluster.alter_topic_config("t", &[("segment.bytes", "300")], &[])?;
    for _ in 0..5 {
        h.append(cluster, "t", 0, 2, true)?;
    }
    Ok(())
}

/// A buffered topic deleted with its data never synced, beside an fsync topic: an
/// acknowledged deletion stays deleted.
fn topic_deleted_with_unsynced_data(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("a", 1))?;
    cluster.create_topic(NewTopic::new("b", 1).config("flush.messages", "1"))?;
    for _ in 0..3 {
        h.append(cluster, "a", 0, 2, false)?;
        h.append(cluster, "b", 0, 1, true)?;
    }
    h.deleting.push("a".into());
    cluster.delete_topic("a")?;
    h.deleted.push("a".into());
    h.append(cluster, "b", 0, 1, true)
}

/// The producer building lz4 batches of several records (sends not waited for), flushed,
/// on an fsync topic.
fn producer_lz4_batches_flushed(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1).config("flush.messages", "1"))?;
    let producer = cluster.producer(
        &[
            ("linger.ms", "60000"),
            ("acks", "all"),
            ("compression.type", "lz4"),
        ][..],
    )?;
    for round in 0..3 {
        h.produce_all(&producer, "t", 0, 2 + round, true)?;
    }
    producer.close(Duration::from_secs(60))
}

/// Commits (always synced) between buffered appends that are never synced: a commit's
/// durability does not depend on the data's.
fn commits_between_buffered_appends(cluster: &Cluster, h: &mut History) -> kafkalite::Result<()> {
    cluster.create_topic(NewTopic::new("t", 1))?;
    let consumer = group_consumer(cluster)?;
    for next in 1..=4 {
        h.append(cluster, "t", 0, 2, false)?;
        h.commit(&consumer, 2 * next)?;
    }
    Ok(())
}

/// Per partition: its log start offset and the values of its records, in offset order.
type Contents = BTreeMap<(String, i32), (i64, Vec<Vec<u8>>)>;

/// Everything readable from `cluster`, per partition of the history.
fn read(cluster: &Cluster, history: &History) -> Result<Contents, String> {
    let mut out = BTreeMap::new();
    for (topic, partition) in history.partitions.keys() {
        let Ok(log) = cluster.partition(topic, *partition) else {
            continue;
        };
        let mut values = Vec::new();
        let start = log.log_start_offset();
        let mut offset = start;
        while offset < log.high_watermark() {
            let data = log.read(offset, 1 << 20).map_err(|e| e.to_string())?;
            for batch in data.batches() {
                let batch = batch.map_err(|e| e.to_string())?;
                for record in batch.records().map_err(|e| e.to_string())?.iter() {
                    let record = record.map_err(|e| e.to_string())?;
                    if record.offset != offset {
                        return Err(format!(
                            "{topic}-{partition}: offset {} where {offset} was due",
                            record.offset
                        ));
                    }
                    values.push(record.value.unwrap_or_default().to_vec());
                    offset += 1;
                }
            }
        }
        out.insert((topic.clone(), *partition), (start, values));
    }
    Ok(out)
}

/// The oracle (see the module documentation).
fn check(cluster: &Cluster, history: &History, kept_all: bool) -> Result<(), String> {
    for topic in &history.deleted {
        if cluster.topic_partitions(topic).is_ok() {
            return Err(format!("deleted topic {topic} came back"));
        }
    }
    let found = read(cluster, history)?;
    for ((topic, partition), attempts) in &history.partitions {
        let (start, values) = found
            .get(&(topic.clone(), *partition))
            .cloned()
            .unwrap_or_default();
        // A failed append followed by an acknowledged one left no trace; failed ones after
        // the last acknowledged append may have landed (an indefinite outcome).
        let last_ok = attempts.failed.iter().rposition(|f| !f);
        let possible: Vec<&Vec<Vec<u8>>> = attempts
            .batches
            .iter()
            .enumerate()
            .filter(|&(i, _)| !attempts.failed[i] || last_ok.is_none_or(|ok| i > ok))
            .map(|(_, batch)| batch)
            .collect();
        let flat: Vec<&Vec<u8>> = possible.iter().copied().flatten().collect();
        // Offsets at which a batch starts (and the end of the last one).
        let boundaries: Vec<usize> = std::iter::once(0)
            .chain(possible.iter().scan(0, |end, b| {
                *end += b.len();
                Some(*end)
            }))
            .collect();
        if start < attempts.deleted_to {
            return Err(format!(
                "{topic}-{partition} starts at {start}: records delete_records removed below {} came back",
                attempts.deleted_to
            ));
        }
        let start = usize::try_from(start).unwrap();
        let end = start + values.len();
        let name = format!("{topic}-{partition}");
        if start != 0 && !history.retention {
            return Err(format!("{name} starts at {start} without retention"));
        }
        let (Some(_), Some(whole)) = (
            boundaries.iter().position(|&b| b == start),
            boundaries.iter().position(|&b| b == end),
        ) else {
            return Err(format!(
                "{name}: records {start}..{end} do not start and end at batch boundaries {boundaries:?}"
            ));
        };
        if flat[start..end].iter().zip(&values).any(|(a, b)| *a != b) {
            return Err(format!(
                "{name}: records {start}..{end} differ from those attempted"
            ));
        }
        let gone = history.deleting.contains(topic) && cluster.topic_partitions(topic).is_err();
        let must = match (gone, kept_all) {
            (true, _) => 0,
            (false, true) => attempts.acked,
            (false, false) => attempts.durable,
        };
        if whole < must {
            return Err(format!(
                "{name}: {whole} batches survived, {must} were acknowledged durable"
            ));
        }
    }
    if let Some(last) = history.commits.last() {
        let committed = cluster
            .describe_group_offsets("g")
            .ok()
            .and_then(|offsets| offsets.iter().find_map(|o| o.committed));
        let must = if kept_all {
            history.commits_acked
        } else {
            history.commits_durable
        };
        match committed {
            None if must == 0 => {}
            None => return Err(format!("{must} commits were acknowledged, none survived")),
            Some(offset) => {
                let at = history.commits.iter().position(|&c| c == offset);
                match at {
                    Some(at) if at + 1 >= must => {}
                    Some(at) => {
                        return Err(format!(
                            "committed offset {offset} (commit {}) is below commit {must}, which was acknowledged",
                            at + 1
                        ))
                    }
                    None => {
                        return Err(format!(
                            "committed offset {offset} was never committed (last attempted {last})"
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

/// Runs `scenario` with the power cut at operation `cut`, resolves the cut `how` with
/// `seed`, and checks what opens; then opens once more and expects the same.
fn run_once(name: &str, scenario: Scenario, cut: u64, how: PowerLoss, seed: u64) {
    let case = format!("{name}: cut at operation {cut}, {how:?}, seed {seed}");
    let (sim, history) = run_under(scenario, cut_at(cut));
    let after = sim.after_power_loss(how, seed);
    let cluster = open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
    if let Err(why) = check(&cluster, &history, how == PowerLoss::KeepAll) {
        panic!("{case}: {why}");
    }
    let first = read(&cluster, &history).unwrap();
    cluster
        .close()
        .unwrap_or_else(|e| panic!("{case}: close failed: {e}"));
    drop(cluster);
    let again = open(&after).unwrap_or_else(|e| panic!("{case}: second open failed: {e}"));
    assert_eq!(
        read(&again, &history).unwrap(),
        first,
        "{case}: a second open changed the log"
    );
    // The recovered logs take appends, at their ends.
    for (topic, partition) in history.partitions.keys() {
        let Ok(log) = again.partition(topic, *partition) else {
            continue;
        };
        let end = log.log_end_offset();
        let mut builder = BatchBuilder::new();
        builder.append(0, None, Some(b"after"), &[]).unwrap();
        let info = log
            .append(&builder.build().unwrap())
            .unwrap_or_else(|e| panic!("{case}: {topic}-{partition} refuses appends: {e}"));
        assert_eq!(info.first_offset, end, "{case}: {topic}-{partition}");
    }
}

/// Runs `scenario` on a fresh simulated disk under `plan` (a fault may end it early);
/// returns the disk and what the scenario attempted and was told.
fn run_under(scenario: Scenario, plan: FaultPlan) -> (SimStorage, History) {
    let sim = SimStorage::new(Path::new(ROOT));
    sim.set_plan(plan);
    let mut history = History::default();
    if let Ok(cluster) = open(&sim) {
        let _ = scenario(&cluster, &mut history);
    }
    (sim, history)
}

/// A power cut at storage operation `cut`.
fn cut_at(cut: u64) -> FaultPlan {
    FaultPlan {
        power_cut_at: Some(cut),
        fail: None,
    }
}

/// How many storage operations a scenario takes without faults.
fn operations(scenario: Scenario) -> u64 {
    let sim = SimStorage::new(Path::new(ROOT));
    sim.set_plan(FaultPlan::default());
    let cluster = open(&sim).unwrap();
    scenario(&cluster, &mut History::default()).unwrap();
    drop(cluster);
    sim.operations()
}

fn sweep(name: &str, scenario: Scenario) {
    let total = operations(scenario);
    for cut in 1..=total + 1 {
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            run_once(name, scenario, cut, how, cut * 8 + i as u64);
        }
    }
}

#[test]
fn one_partition_with_fsync_survives_a_cut_anywhere() {
    sweep("one_partition_fsync", one_partition_fsync);
}

#[test]
fn three_partitions_with_fsync_survive_a_cut_anywhere() {
    sweep("three_partitions_fsync", three_partitions_fsync);
}

#[test]
fn segment_rolls_survive_a_cut_anywhere() {
    sweep("segment_rolls_fsync", segment_rolls_fsync);
}

#[test]
fn buffered_appends_keep_what_a_sync_covered() {
    sweep("buffered_with_syncs", buffered_with_syncs);
}

#[test]
fn buffered_rolls_lose_only_unsynced_tails() {
    sweep("buffered_rolls", buffered_rolls);
}

#[test]
fn topic_creation_and_deletion_survive_a_cut_anywhere() {
    sweep("topics_created_and_deleted", topics_created_and_deleted);
}

#[test]
fn retention_survives_a_cut_anywhere() {
    sweep("retention_deletes_segments", retention_deletes_segments);
}

#[test]
fn offset_commits_survive_a_cut_anywhere() {
    sweep("offset_commits", offset_commits);
}

#[test]
fn deleted_records_stay_deleted_after_a_cut_anywhere() {
    sweep("delete_records_moves_start", delete_records_moves_start);
}

#[test]
fn added_partitions_survive_a_cut_anywhere() {
    sweep("partitions_added", partitions_added);
}

#[test]
fn a_config_change_to_fsync_survives_a_cut_anywhere() {
    sweep("config_altered_to_fsync", config_altered_to_fsync);
}

#[test]
fn lz4_batches_and_dense_indexes_survive_a_cut_anywhere() {
    sweep("lz4_batches_dense_indexes", lz4_batches_dense_indexes);
}

#[test]
fn producer_acknowledgements_survive_a_cut_anywhere() {
    sweep("producer_acks_fsync", producer_acks_fsync);
}

#[test]
fn a_clean_close_survives_a_cut_anywhere() {
    sweep("appends_then_clean_close", appends_then_clean_close);
}

#[test]
fn a_lowered_segment_size_survives_a_cut_anywhere() {
    sweep("segment_size_altered", segment_size_altered);
}

#[test]
fn a_deleted_topic_with_unsynced_data_stays_deleted() {
    sweep(
        "topic_deleted_with_unsynced_data",
        topic_deleted_with_unsynced_data,
    );
}

#[test]
fn producer_lz4_batches_survive_a_cut_anywhere() {
    sweep("producer_lz4_batches_flushed", producer_lz4_batches_flushed);
}

#[test]
fn commits_between_buffered_appends_survive_a_cut_anywhere() {
    sweep(
        "commits_between_buffered_appends",
        commits_between_buffered_appends,
    );
}

/// A cut during the open that recovers from an earlier cut: the oracle still holds.
#[test]
fn a_recovery_cut_short_recovers_again() {
    let name = "segment_rolls_fsync, recovery cut short";
    let total = operations(segment_rolls_fsync);
    for cut in (1..=total).step_by(7) {
        for first in [PowerLoss::DropAll, PowerLoss::TornSectors] {
            let (sim, history) = run_under(segment_rolls_fsync, cut_at(cut));
            let crashed = sim.after_power_loss(first, cut);
            // How many operations the recovering open takes, then a cut at each of them.
            let probe = crashed.after_power_loss(PowerLoss::KeepAll, 0);
            probe.set_plan(FaultPlan::default());
            drop(open(&probe).unwrap());
            for again in 1..=probe.operations() {
                let recovering = crashed.after_power_loss(PowerLoss::KeepAll, 0);
                recovering.set_plan(cut_at(again));
                let _ = open(&recovering);
                for how in PowerLoss::ALL {
                    let seed = cut * 1000 + again * 8;
                    let after = recovering.after_power_loss(how, seed);
                    let case = format!(
                        "{name}: cut at {cut} ({first:?}), then at {again} of the recovery ({how:?}, seed {seed})"
                    );
                    let cluster =
                        open(&after).unwrap_or_else(|e| panic!("{case}: open failed: {e}"));
                    if let Err(why) = check(&cluster, &history, false) {
                        panic!("{case}: {why}");
                    }
                }
            }
        }
    }
}

/// Random scenarios, cut points, resolutions and seeds (`POWER_LOSS_SEEDS`, default 2,000;
/// the soak tier runs 200,000), from the seed `POWER_LOSS_FIRST_SEED` (default 0) on. Each
/// failure names its seed; `POWER_LOSS_FIRST_SEED=<seed> POWER_LOSS_SEEDS=1` replays it.
#[test]
fn random_cuts_keep_the_oracle() {
    let variable = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (first, seeds) = (
        variable("POWER_LOSS_FIRST_SEED", 0),
        variable("POWER_LOSS_SEEDS", 2_000),
    );
    eprintln!(
        "seeds {first}..{}: rerun one with POWER_LOSS_FIRST_SEED=<seed> POWER_LOSS_SEEDS=1",
        first + seeds
    );
    let totals: Vec<u64> = SCENARIOS.iter().map(|(_, s)| operations(*s)).collect();
    for seed in first..first + seeds {
        let mix = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let pick = (mix >> 8) as usize % SCENARIOS.len();
        let (name, scenario) = SCENARIOS[pick];
        let cut = 1 + (mix >> 24) % (totals[pick] + 1);
        let how = PowerLoss::ALL[(mix >> 48) as usize % PowerLoss::ALL.len()];
        run_once(name, scenario, cut, how, seed);
    }
}

/// Without faults, each scenario does what it is named for (so that the sweeps test it).
#[test]
fn the_scenarios_do_what_their_names_say() {
    for (name, scenario) in SCENARIOS {
        let sim = SimStorage::new(Path::new(ROOT));
        let cluster = open(&sim).unwrap();
        let mut history = History::default();
        scenario(&cluster, &mut history).unwrap();
        let closed = cluster.is_closed();
        let cluster = if closed { open(&sim).unwrap() } else { cluster };
        check(&cluster, &history, true).unwrap_or_else(|why| panic!("{name}: {why}"));
        let t0 = cluster.partition("t", 0).ok();
        match name {
            "retention_deletes_segments" => {
                assert!(
                    t0.unwrap().log_start_offset() > 0,
                    "{name}: nothing deleted"
                )
            }
            "delete_records_moves_start" => {
                assert_eq!(t0.unwrap().log_start_offset(), 12, "{name}");
            }
            "partitions_added" => {
                let added = &history.partitions[&("t".to_string(), 2)];
                assert_eq!((added.durable, added.acked), (2, 2), "{name}");
            }
            "config_altered_to_fsync" => {
                let a = &history.partitions[&("t".to_string(), 0)];
                assert_eq!((a.durable, a.acked), (6, 6), "{name}");
                let (config, _) = cluster.topic_partitions("t").unwrap();
                assert!(config.sync_every_append(), "{name}: not altered");
            }
            "producer_lz4_batches_flushed" => {
                let log = t0.as_ref().unwrap();
                let data = log.read(0, 1 << 20).unwrap();
                let batches: Vec<_> = data.batches().map(|b| b.unwrap()).collect();
                assert_eq!(batches.len(), 3, "{name}: one batch per flush");
                assert!(
                    batches
                        .iter()
                        .all(|b| b.compression().ok() == Some(Compression::Lz4)),
                    "{name}: lz4"
                );
            }
            "topic_deleted_with_unsynced_data" => {
                assert!(cluster.topic_partitions("a").is_err(), "{name}");
                let a = &history.partitions[&("a".to_string(), 0)];
                assert_eq!((a.durable, a.acked), (0, 3), "{name}: never synced");
            }
            "producer_acks_fsync" => {
                let a = &history.partitions[&("t".to_string(), 1)];
                assert_eq!((a.durable, a.acked), (4, 4), "{name}");
            }
            "commits_between_buffered_appends" => {
                let offsets = cluster.describe_group_offsets("g").unwrap();
                assert_eq!(offsets[0].committed, Some(8), "{name}");
                let a = &history.partitions[&("t".to_string(), 0)];
                assert_eq!((a.durable, a.acked), (0, 4), "{name}: nothing synced");
            }
            "appends_then_clean_close" => {
                assert!(closed, "{name}");
                let a = &history.partitions[&("t".to_string(), 1)];
                assert_eq!((a.durable, a.acked), (4, 4), "{name}");
            }
            "segment_rolls_fsync"
            | "buffered_rolls"
            | "lz4_batches_dense_indexes"
            | "segment_size_altered" => assert!(
                sim.list(&Path::new(DATA).join("t-0"))
                    .unwrap()
                    .iter()
                    .filter(|e| e.name.ends_with(".log"))
                    .count()
                    > 2,
                "{name}: no rolls"
            ),
            "offset_commits" => {
                let offsets = cluster.describe_group_offsets("g").unwrap();
                assert_eq!(offsets[0].committed, Some(6), "{name}");
                assert_eq!(history.commits_durable, 6, "{name}");
            }
            "buffered_with_syncs" => {
                let a = &history.partitions[&("t".to_string(), 1)];
                assert_eq!((a.durable, a.acked), (3, 5), "{name}: syncs cover some");
            }
            _ => {}
        }
    }
}

/// I/O faults: the n-th operation of each kind fails, for every n, each way it can fail. The
/// run goes on (later calls may fail too; none may panic). Then a restart without power
/// loss reopens and finds every acknowledged batch, and none that failed before an
/// acknowledged one; and a power cut after that keeps every batch acknowledged durable and
/// reopens without error: a failed sync never leaves the restart trusting bytes that are
/// not on disk.
#[test]
fn io_faults_at_every_operation_keep_the_oracle() {
    let kinds: [(SimOp, &[SimFailure]); 8] = [
        (
            SimOp::Write,
            &[SimFailure::Eio, SimFailure::NoSpace, SimFailure::ShortWrite],
        ),
        (SimOp::Allocate, &[SimFailure::NoSpace, SimFailure::Eio]),
        (SimOp::SetLen, &[SimFailure::Eio]),
        (SimOp::Sync, &[SimFailure::Eio, SimFailure::SyncDropsPages]),
        (SimOp::SyncDir, &[SimFailure::Eio]),
        (SimOp::Create, &[SimFailure::Eio, SimFailure::NoSpace]),
        (SimOp::Rename, &[SimFailure::Eio]),
        (SimOp::Remove, &[SimFailure::Eio]),
    ];
    let mut cases = 0;
    for (name, scenario) in SCENARIOS {
        let dry = SimStorage::new(Path::new(ROOT));
        dry.set_plan(FaultPlan::default());
        let cluster = open(&dry).unwrap();
        scenario(&cluster, &mut History::default()).unwrap();
        drop(cluster);
        for (kind, failures) in kinds {
            for n in 1..=dry.operations_of(kind) {
                for &failure in failures {
                    let case = format!("{name}: {kind:?} #{n} fails with {failure:?}");
                    let plan = FaultPlan {
                        power_cut_at: None,
                        fail: Some((kind, n, failure)),
                    };
                    let (sim, history) = run_under(scenario, plan);
                    sim.set_plan(FaultPlan::default());
                    let restarted =
                        open(&sim).unwrap_or_else(|e| panic!("{case}: reopen failed: {e}"));
                    if let Err(why) = check(&restarted, &history, true) {
                        panic!("{case}, after a restart: {why}");
                    }
                    drop(restarted);
                    let after = sim.after_power_loss(PowerLoss::DropAll, n);
                    cases += 1;
                    let cluster = open(&after)
                        .unwrap_or_else(|e| panic!("{case}: open after a power cut failed: {e}"));
                    if let Err(why) = check(&cluster, &history, false) {
                        panic!("{case}, after a power cut: {why}");
                    }
                }
            }
        }
    }
    eprintln!("{cases} fault cases");
    assert!(cases > 500, "{cases} fault cases");
}
