//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod facade;

use std::sync::Arc;

use kafkalite::{
    BatchBuilder, Cluster, Consumer, Header, MockClock, NewTopic, Producer, ProducerRecord,
};

/// A batch of `count` records with keys `k<first+i>` and values of `value_bytes` bytes, all
/// stamped `timestamp`.
pub fn batch(first: usize, count: usize, value_bytes: usize, timestamp: i64) -> Vec<u8> {
    let mut builder = BatchBuilder::new();
    for i in first..first + count {
        let key = format!("k{i}");
        let mut value = format!("v{i}-").into_bytes();
        value.resize(value_bytes.max(value.len()), b'.');
        let header = Header {
            key: b"n",
            value: Some(key.as_bytes()),
        };
        builder
            .append(timestamp, Some(key.as_bytes()), Some(&value), &[header])
            .unwrap();
    }
    builder.build().unwrap()
}

/// Every record (offset, key, value) readable from `log` between its start and high watermark.
pub fn read_all(log: &kafkalite::Log) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let data = log.read(offset, 64 * 1024).unwrap();
        assert!(
            !data.is_empty(),
            "no data at {offset} below the high watermark"
        );
        for batch in data.batches() {
            let batch = batch.unwrap();
            let records = batch.records().unwrap();
            for record in records.iter() {
                let record = record.unwrap();
                if record.offset >= offset {
                    out.push((
                        record.offset,
                        record.key.unwrap_or_default().to_vec(),
                        record.value.unwrap_or_default().to_vec(),
                    ));
                }
            }
            offset = batch.next_offset();
        }
    }
    out
}

/// A record as read back: (offset, key, value), key and value nullable.
pub type Stored = (i64, Option<Vec<u8>>, Option<Vec<u8>>);

/// Every record of `log` from its start.
pub fn records_of(log: &kafkalite::Log) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        for batch in log.read(offset, 1 << 20).unwrap().batches() {
            let batch = batch.unwrap();
            for record in batch.records().unwrap().iter() {
                let record = record.unwrap();
                let key = record.key.map(<[u8]>::to_vec);
                out.push((record.offset, key, record.value.map(<[u8]>::to_vec)));
            }
            offset = batch.next_offset();
        }
    }
    out
}

/// A temporary cluster on `clock`, without the background thread (tests drive maintenance).
pub fn temporary_on(clock: &MockClock) -> Cluster {
    Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .temporary()
        .unwrap()
}

/// A temporary cluster on `clock`, without the background thread, that does not create
/// topics on first use (a producer then waits for a missing topic, as Kafka's does).
pub fn without_auto_creation(clock: &MockClock) -> Cluster {
    Cluster::builder()
        .background(false)
        .auto_create_topics(false)
        .clock(Arc::new(clock.clone()))
        .temporary()
        .unwrap()
}

/// A temporary cluster (system clock, no background thread) holding `topic`.
pub fn cluster_with(topic: NewTopic) -> Cluster {
    let cluster = Cluster::builder().background(false).temporary().unwrap();
    cluster.create_topic(topic).unwrap();
    cluster
}

/// The partitions `consumer` owns, as `topic-partition` strings in order.
pub fn owned(consumer: &Consumer) -> Vec<String> {
    consumer
        .assignment()
        .iter()
        .map(|tp| tp.to_string())
        .collect()
}

/// Returns once a consumer poll on `cluster` is blocked, asleep having seen every event so far
/// (`Cluster::blocked_polls`), so that what the caller does next must wake it. Polls the
/// count, yielding; panics if no poll blocks within a minute.
pub fn wait_until_a_poll_blocks(cluster: &Cluster) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while cluster.blocked_polls() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no poll blocked within a minute"
        );
        std::thread::yield_now();
    }
}

/// Cases a proptest model runs: `PROPTEST_CASES` from the environment, else at least 256
/// under `CI=true` (as `.ci/run` sets), else `default` (a quick local run).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if ci() { default.max(256) } else { default })
}

/// Whether the environment says this is the CI gate (`CI=true`).
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

/// A seed for a randomised test: `variable` from the environment, else a fresh one. Printed
/// (the test harness shows it when the test fails) with how to run the test on it again.
pub fn seed(variable: &str) -> u64 {
    let seed = match std::env::var(variable) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{variable}={value}: not a u64")),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            // The low 64 bits of the time in nanoseconds: any bits make a seed.
            let nanos = u64::try_from(now.as_nanos() & u128::from(u64::MAX)).unwrap_or_default();
            nanos ^ u64::from(std::process::id()).rotate_left(32)
        }
    };
    eprintln!("seed {seed}: rerun with {variable}={seed}");
    seed
}

/// The configuration of a proptest model: [`proptest_cases`] cases, the seed of
/// [`seed`]`("PROPTEST_RNG_SEED")` (proptest's own variable), failures kept in
/// `regressions` (replayed first on every run).
pub fn proptest_config(
    default_cases: u32,
    regressions: &'static str,
) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(regressions),
        )),
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed("PROPTEST_RNG_SEED")),
        ..proptest::test_runner::Config::with_cases(proptest_cases(default_cases))
    }
}

/// Where each record of an uncompressed batch lies (length prefix included).
pub fn record_spans(batch: &[u8]) -> Vec<std::ops::Range<usize>> {
    let count = usize::try_from(i32::from_be_bytes(batch[57..61].try_into().unwrap())).unwrap();
    let mut at = kafkalite::record::BATCH_HEADER_BYTES;
    (0..count)
        .map(|_| {
            let (len, used) = kafkalite::record::varint::read_varint(&batch[at..]).unwrap();
            let span = at..at + used + usize::try_from(len).unwrap();
            at = span.end;
            span
        })
        .collect()
}

/// Fixes a batch's length field and CRC after its bytes were edited, as a writer that
/// forges batches would.
pub fn reseal(batch: &mut [u8]) {
    let length = i32::try_from(batch.len() - 12).unwrap();
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = kafkalite::record::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Where the `SimStorage` tests keep their simulated disk, and the data directory on it.
pub const SIM_ROOT: &str = "/sim";
/// The data directory of [`open_sim`].
pub const SIM_DATA: &str = "/sim/data";

/// A cluster on `sim`'s [`SIM_DATA`], without the background thread.
pub fn open_sim(sim: &kafkalite::storage::SimStorage) -> kafkalite::Result<Cluster> {
    Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .background(false)
        .open(SIM_DATA)
}

/// As [`open_sim`], on a [`kafkalite::MockClock`] at `now_ms`.
pub fn open_sim_at(
    sim: &kafkalite::storage::SimStorage,
    now_ms: i64,
) -> kafkalite::Result<Cluster> {
    Cluster::builder()
        .storage(Arc::new(sim.clone()))
        .clock(Arc::new(kafkalite::MockClock::new(now_ms)))
        .background(false)
        .open(SIM_DATA)
}

/// Bytes from the golden manifests' hex: `null` is `None`, `-` the empty string.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    match text {
        "null" => None,
        "-" => Some(Vec::new()),
        hex => Some(
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect(),
        ),
    }
}

/// Sends a record of `bytes` bytes to `topic` whose callback stalls the producer's appender
/// (callbacks run on its thread), and returns once it has: the batch's `buffer.memory` stays
/// held until the returned sender sends.
pub fn stall_appender(
    producer: &Producer,
    topic: &str,
    bytes: usize,
) -> crossbeam::channel::Sender<()> {
    let (release, stalled) = crossbeam::channel::bounded::<()>(0);
    let (entered_tx, entered) = crossbeam::channel::bounded::<()>(1);
    producer
        .send_with_callback(ProducerRecord::to(topic).value(vec![1; bytes]), move |_| {
            entered_tx.send(()).unwrap();
            stalled.recv().unwrap();
        })
        .unwrap();
    entered.recv().unwrap();
    release
}

/// Opens the log in `dir` on its own (real storage), named `t-0`, starting at offset 0:
/// `clean` is `(recovery point, active segment size)` after a clean close, `None` after a
/// crash (with `recovery_point` the durable offset, or none).
pub fn open_log(
    dir: &std::path::Path,
    config: &std::sync::Arc<kafkalite::TopicConfig>,
    clock: kafkalite::MockClock,
    recovery_point: Option<i64>,
    clean_active_size: Option<u64>,
) -> (kafkalite::Log, kafkalite::RecoveryReport) {
    let options = kafkalite::LogOptions {
        name: "t-0".into(),
        recovery_point,
        log_start_offset: 0,
        clean_active_size,
        recovery_mode: kafkalite::RecoveryMode::TolerateCorruptTail,
        salvage_dir: None,
    };
    kafkalite::Log::open(
        std::sync::Arc::new(kafkalite::storage::RealStorage),
        dir,
        std::sync::Arc::clone(config),
        std::sync::Arc::new(clock),
        options,
    )
    .unwrap()
}

/// Every value (as UTF-8) `config`'s consumer reads from the start of partition 0 of
/// `topic`, polling with `timeout` until a poll returns nothing.
pub fn values_from_start(
    cluster: &Cluster,
    config: kafkalite::ConsumerConfig,
    topic: &str,
    timeout: std::time::Duration,
) -> Vec<String> {
    values_of(
        cluster,
        config,
        kafkalite::TopicPartition::new(topic, 0),
        timeout,
    )
}

/// Every value (as UTF-8) `config`'s consumer reads from the start of `tp` (see
/// [`read_partition`]).
pub fn values_of(
    cluster: &Cluster,
    config: kafkalite::ConsumerConfig,
    tp: kafkalite::TopicPartition,
    timeout: std::time::Duration,
) -> Vec<String> {
    read_partition(cluster, config, tp, timeout)
        .into_iter()
        .map(|(_, value)| String::from_utf8(value.unwrap()).unwrap())
        .collect()
}

/// A record's key and value, as read.
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every (key, value) `config`'s consumer reads from the start of `tp`, polling with
/// `timeout` until it is at the partition's end for its isolation level (a poll may come
/// back empty before: every record it fetched was of an aborted transaction).
pub fn read_partition(
    cluster: &Cluster,
    config: kafkalite::ConsumerConfig,
    tp: kafkalite::TopicPartition,
    timeout: std::time::Duration,
) -> Vec<KeyValue> {
    let consumer = cluster.consumer(config).unwrap();
    consumer
        .assign(&[(tp.clone(), kafkalite::Offset::Beginning)])
        .unwrap();
    let mut read = Vec::new();
    loop {
        let records = consumer.poll(timeout).unwrap();
        if records.is_empty() {
            let end = consumer.end_offsets(std::slice::from_ref(&tp)).unwrap()[&tp];
            if consumer.position(&tp).unwrap() >= end {
                return read;
            }
        }
        read.extend(
            records
                .iter()
                .map(|r| (r.key().map(<[u8]>::to_vec), r.value().map(<[u8]>::to_vec))),
        );
    }
}

/// Runs this test binary again as a child that runs only the test `test`, with `env` set;
/// a reader thread sends the child's stdout lines to the returned receiver (the test
/// harness prints its own text on the first line too).
pub fn spawn_child(
    test: &str,
    env: &[(&str, String)],
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<()>,
) {
    use std::io::BufRead;
    let exe = std::env::current_exe().unwrap();
    let mut command = std::process::Command::new(exe);
    command
        .args(["--exact", test, "--nocapture", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, lines, reader)
}

/// A xorshift64 generator from `seed`: each call draws a number below `n`.
pub fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    // xorshift64 never leaves 0.
    let mut random = seed.max(1);
    move |n| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        random % n
    }
}
