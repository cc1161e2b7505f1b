//! `kafkalite perf-test producer`: kafka-producer-perf-test over the local data directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use kafkalite::{
    AutoOffsetReset, Cluster, ConsumerConfig, ProducerConfig, ProducerMetrics, ProducerRecord,
    Properties,
};
use parking_lot::Mutex;

use super::delivery::Tally;
use super::perf_payload::{read_payload_file, Payloads, SplittableRandom};
use super::{java_split, parse_key_value, CliResult};

/// Which performance test.
#[derive(Subcommand, Debug)]
pub enum PerfTest {
    /// Produce N records of B bytes and report throughput and latency.
    Producer(ProducerPerfArgs),
    /// Consume N records and report throughput (like kafka-consumer-perf-test).
    Consumer(ConsumerPerfArgs),
}

/// Like kafka-consumer-perf-test's options.
#[derive(Args, Debug)]
pub struct ConsumerPerfArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Records to consume.
    #[arg(long)]
    messages: u64,
    /// The consumer group (default: perf-consumer-<n>).
    #[arg(long)]
    group: Option<String>,
    /// Give up when no record arrives for this many milliseconds (Kafka's `--timeout`).
    #[arg(long = "timeout", alias = "timeout-ms", default_value_t = 10_000)]
    timeout_ms: u64,
    /// A consumer config, `key=value`; repeatable.
    #[arg(long = "consumer-property", value_parser = parse_key_value)]
    consumer_properties: Vec<(String, String)>,
}

/// Like kafka-producer-perf-test's options.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["record_size", "payload_file", "payload_monotonic"])))]
pub struct ProducerPerfArgs {
    /// The topic (auto-created with one partition if missing).
    #[arg(long)]
    topic: String,
    /// Records to send.
    #[arg(long)]
    num_records: u64,
    /// Bytes per record value.
    #[arg(long)]
    record_size: Option<usize>,
    /// Values read from this file, split by --payload-delimiter, sent in a random order
    /// (Kafka's, seeded with 0).
    #[arg(long)]
    payload_file: Option<PathBuf>,
    /// The regular expression between payloads in --payload-file (default: a newline).
    #[arg(long, default_value = "\n")]
    payload_delimiter: String,
    /// Send each record's index as its value ("0", "1", ...).
    #[arg(long)]
    payload_monotonic: bool,
    /// Records per second to aim for; -1 for no limit.
    #[arg(long, default_value_t = -1.0, allow_negative_numbers = true)]
    throughput: f64,
    /// A producer config, `key=value`; repeatable.
    #[arg(long = "producer-property", value_parser = parse_key_value)]
    producer_properties: Vec<(String, String)>,
    /// Producer configs as Kafka's tool takes them: `key=value` words after one flag; they
    /// win over --producer.config.
    #[arg(long, num_args = 1..)]
    producer_props: Vec<String>,
    /// A producer properties file.
    #[arg(long = "producer.config")]
    producer_config: Option<PathBuf>,
    /// The transactional id to use (takes precedence over a `transactional.id` property);
    /// with only --transaction-duration-ms it is performance-producer- and a random suffix.
    #[arg(long)]
    transactional_id: Option<String>,
    /// The max age of each transaction: commit_transaction is called after this time has
    /// elapsed (default 3000 when transactions are on). Must be greater than 0.
    #[arg(long)]
    transaction_duration_ms: Option<u64>,
    /// Print the producer's metrics at the end of the test (Kafka's names and layout).
    #[arg(long)]
    print_metrics: bool,
}

/// Kafka's `DEFAULT_TRANSACTION_DURATION_MS`.
const DEFAULT_TRANSACTION_DURATION_MS: u64 = 3000;

/// The transaction settings as Kafka's `ProducerPerformance.ConfigPostProcessor` works them
/// out: transactions are on with any of the id flag, the duration flag or a
/// `transactional.id` property; returns the duration, and sets the id in `properties`.
fn transaction_settings(
    args: &ProducerPerfArgs,
    properties: &mut Properties,
) -> Result<Option<Duration>, String> {
    if args.transaction_duration_ms == Some(0) {
        return Err("--transaction-duration-ms should be greater than zero".into());
    }
    let from_properties = properties.get("transactional.id").map(str::to_string);
    if args.transaction_duration_ms.is_none()
        && args.transactional_id.is_none()
        && from_properties.is_none()
    {
        return Ok(None);
    }
    let id = args
        .transactional_id
        .clone()
        .or(from_properties)
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            format!(
                "performance-producer-{:08x}-{nanos:08x}",
                std::process::id()
            )
        });
    properties.set("transactional.id", &id);
    Ok(Some(Duration::from_millis(
        args.transaction_duration_ms
            .unwrap_or(DEFAULT_TRANSACTION_DURATION_MS),
    )))
}

/// Runs the chosen test.
pub fn run(data_dir: &Path, test: &PerfTest, out: &mut dyn Write) -> CliResult {
    match test {
        PerfTest::Producer(args) => producer(data_dir, args, out),
        PerfTest::Consumer(args) => consumer(data_dir, args, out),
    }
}

/// Kafka's `readProps`: the --producer.config file, then --producer-props (each exactly
/// one `=`), then kafkalite's --producer-property.
fn producer_properties(args: &ProducerPerfArgs) -> Result<Properties, Box<dyn std::error::Error>> {
    let mut properties = match &args.producer_config {
        Some(path) => Properties::parse(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --producer.config {}: {e}", path.display()))?,
        )?,
        None => Properties::new(),
    };
    for prop in &args.producer_props {
        // Java's `prop.split("=")` must give two pieces.
        match java_split(prop, '=')[..] {
            [key, value] => properties.set(key, value),
            _ => return Err(format!("Invalid property: {prop}").into()),
        };
    }
    for (key, value) in &args.producer_properties {
        properties.set(key, value);
    }
    Ok(properties)
}

/// What the run sends, from the payload flags.
fn payloads(
    args: &ProducerPerfArgs,
    out: &mut dyn Write,
) -> Result<Payloads, Box<dyn std::error::Error>> {
    Ok(match (&args.payload_file, args.record_size) {
        (Some(path), _) => Payloads::Picked(
            read_payload_file(path, &args.payload_delimiter, out)?,
            SplittableRandom::new(0),
        ),
        (None, Some(0)) => return Err("--record-size should be greater than zero".into()),
        (None, Some(size)) => Payloads::Random(size, SplittableRandom::new(0)),
        (None, None) => Payloads::Monotonic,
    })
}

fn producer(data_dir: &Path, args: &ProducerPerfArgs, out: &mut dyn Write) -> CliResult {
    let mut properties = producer_properties(args)?;
    let transaction_duration = transaction_settings(args, &mut properties)?;
    // Kafka's `ProducerPerformance.readProps`: a client.id unless one is given (even empty).
    if properties.get("client.id").is_none() {
        properties.set("client.id", "perf-producer-client");
    }
    let config = ProducerConfig::from_properties(&properties)?;
    let client_id = config.client_id.clone();
    let cluster = Cluster::builder().background(true).open(data_dir)?;
    let producer = cluster.producer(config)?;
    if transaction_duration.is_some() {
        producer.init_transactions(Duration::from_secs(60))?;
    }
    let mut transaction: Option<Instant> = None;
    let mut payloads = payloads(args, out)?;
    let bytes_sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let latencies_us = Arc::new(Mutex::new(Vec::with_capacity(
        usize::try_from(args.num_records).unwrap_or(0),
    )));
    let tally = Tally::new();
    let start = Instant::now();
    for sent in 0..args.num_records {
        let sent_at = Instant::now();
        if transaction_duration.is_some() && transaction.is_none() {
            producer.begin_transaction()?;
            transaction = Some(sent_at);
        }
        let latencies = Arc::clone(&latencies_us);
        let counter = Arc::clone(&tally);
        let topic = args.topic.clone();
        let value = payloads.next(sent);
        let len = value.len();
        let size = Some(len);
        let bytes = Arc::clone(&bytes_sent);
        let record = ProducerRecord::to(&args.topic).value(value);
        let sent_or_refused = producer.send_with_callback(record, move |result| {
            // Only acknowledged records count, as in Kafka's ProducerPerformance.
            if result.is_ok() {
                let micros = u64::try_from(sent_at.elapsed().as_micros()).unwrap_or(u64::MAX);
                latencies.lock().push(micros);
                bytes.fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
            }
            counter.record(&topic, None, size, &result);
        });
        if let Err(refused) = sent_or_refused {
            tally.failure(&args.topic, None, size, &refused.error);
        }
        if let (Some(max_age), Some(started)) = (transaction_duration, transaction) {
            if sent_at.duration_since(started) >= max_age {
                producer.commit_transaction(Duration::from_secs(3600))?;
                transaction = None;
            }
        }
        if args.throughput > 0.0 {
            let due = Duration::from_secs_f64((sent + 1) as f64 / args.throughput);
            if let Some(ahead) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(ahead);
            }
        }
    }
    if transaction.is_some() {
        producer.commit_transaction(Duration::from_secs(3600))?;
    }
    producer.flush(Duration::from_secs(3600))?;
    let seconds = start.elapsed().as_secs_f64();
    let metrics = args.print_metrics.then(|| producer.metrics());
    producer.close(Duration::from_secs(60))?;
    cluster.close()?;
    let latencies = std::mem::take(&mut *latencies_us.lock());
    let bytes = bytes_sent.load(std::sync::atomic::Ordering::Relaxed);
    print_summary(latencies, bytes, seconds, out)?;
    if let Some(metrics) = metrics {
        print_metrics(&metrics, &client_id, out)?;
    }
    tally.check()
}

/// Kafka's `ToolsUtils.printMetrics`: a blank line, a header, then `group:name:{tags} :
/// value` per metric, sorted, names padded to the longest, values with three decimals.
fn print_metrics(metrics: &ProducerMetrics, client_id: &str, out: &mut dyn Write) -> CliResult {
    let lines: Vec<(String, f64)> = metrics
        .kafka_named()
        .into_iter()
        .map(|(name, value)| {
            (
                format!("producer-metrics:{name}:{{client-id={client_id}}}"),
                value,
            )
        })
        .collect();
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    writeln!(out, "\n{:<width$}   Value", "Metric Name")?;
    for (name, value) in lines {
        writeln!(out, "{name:<width$} : {value:.3}")?;
    }
    Ok(())
}

/// Kafka's closing line: `%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg
/// latency, %.2f ms max latency, %d ms 50th, ...` over the acknowledged records' latencies
/// (microseconds) and bytes.
fn print_summary(
    mut latencies: Vec<u64>,
    bytes: u64,
    seconds: f64,
    out: &mut dyn Write,
) -> CliResult {
    latencies.sort_unstable();
    // Kafka's percentiles are whole milliseconds (`%d ms 50th`), its average and maximum
    // `%.2f` (here of microsecond measurements, where Kafka's are whole milliseconds).
    let percentile = |p: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        // `p` is in [0, 1]; a float cast saturates, and `min` keeps the index in bounds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let at = ((latencies.len() as f64 * p) as usize).min(latencies.len() - 1);
        latencies[at] / 1000
    };
    let count = latencies.len() as u64;
    let average_ms = latencies.iter().sum::<u64>() as f64 / count.max(1) as f64 / 1000.0;
    let max_ms = latencies.last().copied().unwrap_or(0) as f64 / 1000.0;
    let records_per_second = count as f64 / seconds;
    let mb_per_second = bytes as f64 / seconds / (1024.0 * 1024.0);
    writeln!(
        out,
        "{count} records sent, {records_per_second:.1} records/sec ({mb_per_second:.2} MB/sec), {average_ms:.2} ms avg latency, \
         {max_ms:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
        percentile(0.5),
        percentile(0.95),
        percentile(0.99),
        percentile(0.999),
    )?;
    Ok(())
}

/// Reads from the beginning in a group and prints kafka-consumer-perf-test's line.
fn consumer(data_dir: &Path, args: &ConsumerPerfArgs, out: &mut dyn Write) -> CliResult {
    let properties: Properties = args.consumer_properties.iter().cloned().collect();
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("perf-consumer-{}", std::process::id() % 100_000));
    let config = ConsumerConfig::from_properties(&properties)?
        .group_id(group)
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .enable_auto_commit(false);
    let cluster = Cluster::open(data_dir)?;
    let consumer = cluster.consumer(config)?;
    consumer.subscribe(&[args.topic.as_str()])?;
    let wall_start = std::time::SystemTime::now();
    let start = Instant::now();
    let mut joined: Option<Duration> = None;
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut last_record = Instant::now();
    while messages < args.messages {
        let records = consumer.poll(Duration::from_millis(100))?;
        if joined.is_none() && !consumer.assignment().is_empty() {
            joined = Some(start.elapsed());
        }
        if records.is_empty() {
            if last_record.elapsed() >= Duration::from_millis(args.timeout_ms) {
                break;
            }
            continue;
        }
        last_record = Instant::now();
        for record in records.iter() {
            bytes += record.key().map_or(0, <[u8]>::len) as u64
                + record.value().map_or(0, <[u8]>::len) as u64;
            messages += 1;
        }
    }
    let elapsed = start.elapsed();
    consumer.close()?;
    let rebalance = joined.unwrap_or_default();
    let fetch = elapsed.saturating_sub(rebalance);
    let mb = bytes as f64 / (1024.0 * 1024.0);
    let per_second = |x: f64, d: Duration| x / d.as_secs_f64().max(1e-9);
    let millis = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    };
    writeln!(
        out,
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
         rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    )?;
    if messages < args.messages {
        // Kafka's ConsumerPerformance prints this between the header and the figures.
        writeln!(
            out,
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} \
             ms) exceeded. You can use the --timeout option to increase the timeout.",
            args.timeout_ms
        )?;
    }
    writeln!(
        out,
        "{}, {}, {mb:.4}, {:.4}, {messages}, {:.4}, {}, {}, {:.4}, {:.4}",
        millis(wall_start),
        millis(wall_start + elapsed),
        per_second(mb, elapsed),
        per_second(messages as f64, elapsed),
        rebalance.as_millis(),
        fetch.as_millis(),
        per_second(mb, fetch),
        per_second(messages as f64, fetch),
    )?;
    Ok(())
}
