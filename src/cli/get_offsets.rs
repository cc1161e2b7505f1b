//! `kafkalite get-offsets`: kafka-get-offsets over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::Args;
use kafkalite::{Cluster, OffsetSpec};

use super::topic_filter::IncludeList;
use super::{java_split, CliResult};

/// Which offsets to print.
#[derive(Args, Debug)]
pub struct GetOffsetsArgs {
    /// The topic, or a regular expression matching whole topic names (default: all topics).
    #[arg(long, conflicts_with = "topic_partitions")]
    topic: Option<String>,
    /// -1 or latest (default), -2 or earliest, -3 or max-timestamp, -4 or earliest-local
    /// (the earliest: no tiered storage), -5 or latest-tiered (none: no tiered storage), or
    /// a timestamp in epoch milliseconds.
    #[arg(long, default_value = "latest", allow_negative_numbers = true)]
    time: String,
    /// Comma-separated partitions (default: all).
    #[arg(long, conflicts_with = "topic_partitions")]
    partitions: Option<String>,
    /// Comma-separated `topic-regex:partitions` patterns, partitions being `N`, `N-M`
    /// (M exclusive), `N-` or `-M`; either side may be left out, as Kafka's.
    #[arg(long)]
    topic_partitions: Option<String>,
    /// Leave out internal topics (`__consumer_offsets`, ...).
    #[arg(long)]
    exclude_internal_topics: bool,
}

/// What `--time` asks for: an offset spec, or nothing (latest-tiered, with no tiered
/// storage, is Kafka's unknown offset: no line).
fn offset_spec(time: &str) -> Result<Option<OffsetSpec>, String> {
    Ok(match time {
        "-1" | "latest" => Some(OffsetSpec::Latest),
        "-2" | "earliest" | "-4" | "earliest-local" => Some(OffsetSpec::Earliest),
        "-3" | "max-timestamp" => Some(OffsetSpec::MaxTimestamp),
        "-5" | "latest-tiered" => None,
        other => match other.parse::<i64>() {
            Ok(ms) if ms >= 0 => Some(OffsetSpec::ForTimestamp(ms)),
            _ => {
                return Err(format!(
                    "Malformed time argument {other}. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered, or a specified long format timestamp"
                ))
            }
        },
    })
}

/// Which partitions one rule of a filter allows.
enum Partitions {
    /// Any in the set (any at all when it is empty).
    Set(Vec<i32>),
    /// `lower..upper`.
    Range(i32, i32),
}

impl Partitions {
    fn allows(&self, partition: i32) -> bool {
        match self {
            Partitions::Set(set) => set.is_empty() || set.contains(&partition),
            Partitions::Range(lower, upper) => (*lower..*upper).contains(&partition),
        }
    }
}

/// Kafka's `TopicPartitionFilter`: rules of a topic pattern and partitions; a
/// topic-partition is wanted when one rule allows it.
struct Filter {
    rules: Vec<(IncludeList, Partitions)>,
}

impl Filter {
    fn from(args: &GetOffsetsArgs) -> Result<Filter, String> {
        if let Some(list) = &args.topic_partitions {
            // Java's `split(",")`: trailing empty pieces are not rules.
            let rules = java_split(list, ',')
                .into_iter()
                .map(rule)
                .collect::<Result<_, _>>()?;
            return Ok(Filter { rules });
        }
        let topic = IncludeList::new(args.topic.as_deref().unwrap_or(".*"))?;
        let set = match args.partitions.as_deref().filter(|p| !p.is_empty()) {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|p| p.trim().parse::<i32>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    format!("--partitions expects a comma separated list of numeric partition ids, but received: {list}")
                })?,
        };
        Ok(Filter {
            rules: vec![(topic, Partitions::Set(set))],
        })
    }

    fn allows_topic(&self, topic: &str) -> bool {
        self.rules.iter().any(|(t, _)| t.allows(topic, false))
    }

    fn allows(&self, topic: &str, partition: i32) -> bool {
        self.rules
            .iter()
            .any(|(t, p)| t.allows(topic, false) && p.allows(partition))
    }
}

/// One `topic:partitions` rule of `--topic-partitions`.
fn rule(spec: &str) -> Result<(IncludeList, Partitions), String> {
    let invalid = || format!("Invalid rule specification: {spec}");
    let (topic, partitions) = match spec.split_once(':') {
        Some((topic, partitions)) => (topic, Some(partitions)),
        None => (spec, None),
    };
    let topic = IncludeList::new(if topic.is_empty() { ".*" } else { topic })?;
    let number = |text: &str, default: i32| -> Result<i32, String> {
        if text.is_empty() {
            Ok(default)
        } else if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().map_err(|_| invalid())
        } else {
            Err(invalid())
        }
    };
    let partitions = match partitions {
        None => Partitions::Range(0, i32::MAX),
        Some(range) => match range.split_once('-') {
            Some((lower, upper)) => Partitions::Range(number(lower, 0)?, number(upper, i32::MAX)?),
            None if range.is_empty() => Partitions::Range(0, i32::MAX),
            None => Partitions::Set(vec![number(range, 0)?]),
        },
    };
    Ok((topic, partitions))
}

/// Prints `topic:partition:offset` per matching partition, ordered as Kafka's (by the
/// text `topic-partition`); partitions with no record at or after the timestamp are left
/// out, as Kafka does.
pub fn run(data_dir: &Path, args: &GetOffsetsArgs, out: &mut dyn Write) -> CliResult {
    let spec = offset_spec(&args.time)?;
    let filter = Filter::from(args)?;
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let result = print_offsets(&cluster, args, spec, &filter, out);
    cluster.close()?;
    result
}

fn print_offsets(
    cluster: &Cluster,
    args: &GetOffsetsArgs,
    spec: Option<OffsetSpec>,
    filter: &Filter,
    out: &mut dyn Write,
) -> CliResult {
    let mut partitions = Vec::new();
    for topic in cluster.list_topics()? {
        if (args.exclude_internal_topics && kafkalite::is_internal_topic(&topic))
            || !filter.allows_topic(&topic)
        {
            continue;
        }
        for p in cluster.describe_topic(&topic)?.partitions {
            if filter.allows(&topic, p.partition) {
                partitions.push((topic.clone(), p.partition));
            }
        }
    }
    if partitions.is_empty() {
        return Err("Could not match any topic-partitions with the specified filters".into());
    }
    partitions.sort_by_cached_key(|(topic, partition)| format!("{topic}-{partition}"));
    let Some(spec) = spec else { return Ok(()) };
    for (topic, partition) in partitions {
        if let Some(offset) = cluster.list_offset(&topic, partition, spec)? {
            writeln!(out, "{topic}:{partition}:{offset}")?;
        }
    }
    Ok(())
}
