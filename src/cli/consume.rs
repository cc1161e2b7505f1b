//! `kafkalite consume`: kafka-console-consumer over the local data directory.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use kafkalite::{
    AutoOffsetReset, Cluster, Consumer, ConsumerConfig, Error, Offset, Properties, TopicPartition,
};

use super::formatter::Formatter;
use super::signals::{Interrupted, OnInterrupt};
use super::{parse_key_value, CliResult};

/// What to read and how to print it.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// The topic.
    #[arg(long, conflicts_with = "include")]
    topic: Option<String>,
    /// A regular expression of the topics to read, matched against whole names as a
    /// pattern subscription (internal topics excluded), taken as it is, as Kafka's console
    /// consumer takes it (no `,` for `|` here).
    #[arg(long, conflicts_with = "partition")]
    include: Option<String>,
    /// Start at the earliest offset when the group has no committed offset
    /// (auto.offset.reset=earliest).
    #[arg(long)]
    from_beginning: bool,
    /// The consumer group (default: console-consumer-<n>, without commits).
    #[arg(long)]
    group: Option<String>,
    /// Exit after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Read only this partition (no group membership).
    #[arg(long)]
    partition: Option<i32>,
    /// With --partition: an offset, earliest or latest (default latest).
    #[arg(long)]
    offset: Option<String>,
    /// Exit when no record arrives for this long.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// read_uncommitted (the default) or read_committed: only records below the last
    /// stable offset, without those of aborted transactions.
    #[arg(long, value_parser = ["read_uncommitted", "read_committed"])]
    isolation_level: Option<String>,
    /// The formatter's settings, `key=value`, repeatable: print.timestamp,
    /// print.partition, print.offset, print.epoch, print.delivery, print.headers, print.key,
    /// print.value, key.separator, line.separator, headers.separator, null.literal,
    /// key.deserializer, value.deserializer, headers.deserializer.
    #[arg(long = "property", value_parser = parse_key_value)]
    properties: Vec<(String, String)>,
    /// Kafka's formatter class: DefaultMessageFormatter, LoggingMessageFormatter,
    /// NoOpMessageFormatter, OffsetsMessageFormatter, GroupMetadataMessageFormatter or
    /// TransactionLogMessageFormatter (full `org.apache.kafka.tools.consumer.` names too).
    #[arg(
        long,
        default_value = "org.apache.kafka.tools.consumer.DefaultMessageFormatter"
    )]
    formatter: String,
    /// A properties file of formatter settings; --property settings win over it.
    #[arg(long)]
    formatter_config: Option<std::path::PathBuf>,
    /// The key deserializer class (key.deserializer).
    #[arg(long)]
    key_deserializer: Option<String>,
    /// The value deserializer class (value.deserializer).
    #[arg(long)]
    value_deserializer: Option<String>,
    /// A consumer config, `key=value`; repeatable.
    #[arg(long = "consumer-property", value_parser = parse_key_value)]
    consumer_properties: Vec<(String, String)>,
}

/// The formatter `args` ask for: `--formatter-config`, then the deserializer flags, then
/// `--property`, later settings winning, as Kafka's `ConsoleConsumerOptions`.
fn formatter(args: &ConsumeArgs) -> Result<Formatter, Box<dyn std::error::Error>> {
    let mut settings: Vec<(String, String)> = Vec::new();
    if let Some(path) = &args.formatter_config {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --formatter-config {}: {e}", path.display()))?;
        let file = Properties::parse(&text)?;
        settings.extend(file.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    }
    if let Some(class) = &args.key_deserializer {
        settings.push(("key.deserializer".into(), class.clone()));
    }
    if let Some(class) = &args.value_deserializer {
        settings.push(("value.deserializer".into(), class.clone()));
    }
    settings.extend(args.properties.iter().cloned());
    Ok(Formatter::new(&args.formatter, &settings)?)
}

/// The consumer `args` ask for: one partition assigned (`--partition`), or a group member
/// subscribed to `--topic` or to the `--include` pattern.
fn open_consumer(
    cluster: &Cluster,
    args: &ConsumeArgs,
    config: ConsumerConfig,
) -> Result<Consumer, Box<dyn std::error::Error>> {
    Ok(match (args.partition, &args.group) {
        (Some(_), Some(_)) => return Err("--partition reads without a group; drop --group".into()),
        (Some(partition), None) => {
            let consumer = cluster.consumer(config)?;
            let offset =
                match args.offset.as_deref() {
                    None | Some("latest") if !args.from_beginning => Offset::End,
                    None | Some("earliest") => Offset::Beginning,
                    Some("latest") => Offset::End,
                    Some(n) => Offset::At(n.parse().map_err(|_| {
                        format!("--offset '{n}' is not a number, earliest or latest")
                    })?),
                };
            let topic = args.topic.as_deref().ok_or("--partition needs --topic")?;
            consumer.assign(&[(TopicPartition::new(topic, partition), offset)])?;
            consumer
        }
        (None, group) => {
            let config = match group {
                Some(group) => config.group_id(group.as_str()),
                None => config
                    .group_id(format!("console-consumer-{}", std::process::id() % 100_000))
                    .enable_auto_commit(false),
            };
            let consumer = cluster.consumer(config)?;
            match (&args.topic, &args.include) {
                (Some(topic), _) => {
                    consumer.subscribe(&[topic.as_str()])?;
                    // Kafka's consumer warns, then keeps waiting for the topic to be created.
                    if let Err(kafkalite::Error::UnknownTopicOrPartition(_)) =
                        cluster.describe_topic(topic)
                    {
                        eprintln!(
                            "WARN Error while fetching metadata: {{{topic}=UNKNOWN_TOPIC_OR_PARTITION}}: \
                             topic '{topic}' does not exist; waiting for it to be created"
                        );
                    }
                }
                // Kafka's console consumer compiles --include as it is (no IncludeList).
                (None, Some(include)) => consumer.subscribe_pattern(include)?,
                (None, None) => return Err("--topic or --include is required".into()),
            }
            consumer
        }
    })
}

/// A failed read of `tp`: damage on disk keeps its type (so that `main` can advise a
/// repair), anything else says which partition.
fn read_failed(tp: &TopicPartition, error: &Error) -> Box<dyn std::error::Error> {
    match error {
        Error::Corruption { .. } => Box::new(error.clone()),
        other => format!("reading {tp}: {other}").into(),
    }
}

/// Prints records as they arrive; at exit reports `Processed a total of N messages` on
/// stderr, as Kafka's tool does.
pub fn run(data_dir: &Path, args: &ConsumeArgs, out: &mut dyn Write) -> CliResult {
    if args.topic.is_none() && args.include.is_none() {
        return Err("Exactly one of --include/--topic is required.".into());
    }
    let formatter = formatter(args)?;
    let properties: Properties = args.consumer_properties.iter().cloned().collect();
    let mut config = ConsumerConfig::from_properties(&properties)?;
    if let Some(level) = &args.isolation_level {
        config = config.set("isolation.level", level)?;
    }
    if args.from_beginning {
        config = config.auto_offset_reset(AutoOffsetReset::Earliest);
    }
    let cluster = Cluster::open(data_dir)?;
    let consumer = open_consumer(&cluster, args, config)?;
    let idle_limit = args.timeout_ms.map(Duration::from_millis);
    let mut processed = 0u64;
    let mut last_record = Instant::now();
    // Ctrl-C or SIGTERM interrupts the poll in progress (or the next one); what was printed
    // is then committed by `close`, as in Kafka's console consumer.
    let (waker, signalled) = (consumer.waker(), Arc::new(AtomicI32::new(0)));
    let noted = Arc::clone(&signalled);
    let interrupt = OnInterrupt::install(move |signal| {
        noted.store(signal, Ordering::Release);
        waker.wakeup();
    })?;
    tracing::debug!(
        "polling {}",
        args.topic
            .as_deref()
            .or(args.include.as_deref())
            .unwrap_or_default()
    );
    loop {
        let wait = idle_limit.map_or(Duration::from_secs(1), |limit| {
            limit
                .saturating_sub(last_record.elapsed())
                .min(Duration::from_secs(1))
        });
        let records = match consumer.poll(wait) {
            Err(Error::Wakeup) => break,
            polled => polled?,
        };
        if let Some((tp, error)) = records.errors().first() {
            return Err(read_failed(tp, error));
        }
        let mut printed_up_to = std::collections::BTreeMap::new();
        for record in records.iter() {
            if args.max_messages.is_some_and(|max| processed >= max) {
                break;
            }
            out.write_all(&formatter.format(&record)?)?;
            processed += 1;
            last_record = Instant::now();
            printed_up_to.insert(record.topic_partition().clone(), record.offset() + 1);
        }
        // A record that does not decode is found while iterating.
        if let Some((tp, error)) = records.errors().first() {
            return Err(read_failed(tp, error));
        }
        if args.max_messages.is_some_and(|max| processed >= max) {
            // Rewind every partition to its first unprinted record, so that the commit at
            // close covers exactly what was printed.
            for tp in records.partitions() {
                let first = records.partition(&tp).next().map(|r| r.offset());
                if let Some(next) = printed_up_to.get(&tp).copied().or(first) {
                    consumer.seek(&tp, Offset::At(next))?;
                }
            }
            break;
        }
        out.flush()?;
        if idle_limit.is_some_and(|limit| last_record.elapsed() >= limit) {
            break;
        }
    }
    out.flush()?;
    drop(interrupt);
    consumer.close()?;
    eprintln!("Processed a total of {processed} messages");
    match signalled.load(Ordering::Acquire) {
        0 => Ok(()),
        signal => Err(Box::new(Interrupted(signal))),
    }
}
