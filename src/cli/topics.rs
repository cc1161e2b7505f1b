//! `kafkalite topics`: kafka-topics over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::{ArgGroup, Args};
use kafkalite::{Cluster, Error, NewTopic};

use super::{parse_key_value, topic_filter, CliResult};

/// Exactly one action, as kafka-topics takes them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["create", "list", "describe", "alter", "delete"])))]
pub struct TopicsArgs {
    /// Create a topic.
    #[arg(long)]
    create: bool,
    /// List topic names (internal ones too, unless --exclude-internal).
    #[arg(long)]
    list: bool,
    /// Describe the topics --topic matches, or all.
    #[arg(long)]
    describe: bool,
    /// Increase a topic's partition count.
    #[arg(long)]
    alter: bool,
    /// Delete a topic.
    #[arg(long)]
    delete: bool,
    /// The topic; a regular expression matching whole names (`,` for `|`) except with
    /// --create, as Kafka's.
    #[arg(long)]
    topic: Option<String>,
    /// Partition count (alter; create, where Kafka's default `num.partitions`, 1, applies
    /// if it is not given).
    #[arg(long, allow_negative_numbers = true)]
    partitions: Option<i32>,
    /// Replication factor (must be 1).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    replication_factor: i16,
    /// A topic config override, `key=value`; repeatable.
    #[arg(long = "config", value_parser = parse_key_value)]
    configs: Vec<(String, String)>,
    /// With --create: succeed if the topic exists.
    #[arg(long)]
    if_not_exists: bool,
    /// With --delete, --alter or --describe: succeed if no topic matches.
    #[arg(long)]
    if_exists: bool,
    /// With --list or --describe: leave out internal topics (`__consumer_offsets`, ...).
    #[arg(long, conflicts_with_all = ["create", "alter", "delete"])]
    exclude_internal: bool,
    /// With --describe: only the topics that override a config, without their partitions.
    #[arg(long)]
    topics_with_overrides: bool,
    /// With --describe: only under-replicated partitions (never any: one replica each).
    #[arg(long)]
    under_replicated_partitions: bool,
    /// With --describe: only partitions whose leader is unavailable (never any).
    #[arg(long)]
    unavailable_partitions: bool,
    /// With --describe: only partitions with fewer in-sync replicas than
    /// `min.insync.replicas` (never any: both are 1).
    #[arg(long)]
    under_min_isr_partitions: bool,
    /// With --describe: only partitions with exactly `min.insync.replicas` in-sync replicas
    /// (all of them: both are 1).
    #[arg(long)]
    at_min_isr_partitions: bool,
}

impl TopicsArgs {
    /// Whether one of Kafka's replication reports narrows --describe to partition lines.
    fn replication_report(&self) -> bool {
        self.under_replicated_partitions
            || self.unavailable_partitions
            || self.under_min_isr_partitions
            || self.at_min_isr_partitions
    }
}

/// Runs the chosen action.
pub fn run(data_dir: &Path, args: &TopicsArgs, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let result = action(&cluster, args, out);
    cluster.close()?;
    result
}

fn action(cluster: &Cluster, args: &TopicsArgs, out: &mut dyn Write) -> CliResult {
    if args.create {
        let name = args
            .topic
            .clone()
            .ok_or("--topic is required for this action")?;
        // Kafka's kafka-topics: "If not supplied for create, defaults to the cluster
        // default" (num.partitions, 1 unless a broker sets it).
        let partitions = args.partitions.unwrap_or(1);
        let mut new = NewTopic::new(&name, partitions).replication_factor(args.replication_factor);
        for (key, value) in &args.configs {
            new = new.config(key, value);
        }
        if name.contains('.') || name.contains('_') {
            writeln!(out, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.")?;
        }
        match cluster.create_topic(new) {
            Ok(()) => writeln!(out, "Created topic {name}.")?,
            Err(Error::TopicAlreadyExists(_)) if args.if_not_exists => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(());
    }
    if (args.topics_with_overrides || args.replication_report()) && !args.describe {
        return Err(
            "--topics-with-overrides and the partition reports (--under-replicated-partitions, \
             ...) go with --describe only"
                .into(),
        );
    }
    if args.replication_report() {
        eprintln!(
            "Note: one process keeps one replica of each partition, its leader, always in sync \
             (min.insync.replicas is 1): no partition is ever under-replicated, unavailable or \
             under its minimum ISR; every one is at it."
        );
    }
    let topics = topic_filter::filter(
        cluster.list_topics()?,
        args.topic.as_deref(),
        args.exclude_internal,
    )?;
    if args.list {
        // Kafka's `println(String.join("\n", topics))`: an empty line for none.
        writeln!(out, "{}", topics.join("\n"))?;
        return Ok(());
    }
    // Kafka's ensureTopicExists: a --topic that matches nothing is an error without
    // --if-exists.
    if let Some(wanted) = args.topic.as_deref().filter(|t| !t.is_empty()) {
        if topics.is_empty() && !args.if_exists {
            return Err(Error::UnknownTopicOrPartition(format!(
                "Topic '{wanted}' does not exist as expected"
            ))
            .into());
        }
    }
    if (args.alter || args.delete) && args.topic.is_none() {
        return Err("--topic is required for this action".into());
    }
    if args.describe {
        for name in &topics {
            describe(cluster, name, args, out)?;
        }
        return Ok(());
    }
    let partitions = args.partitions;
    if args.alter && partitions.is_none() {
        return Err("--partitions is required with --alter".into());
    }
    // Kafka sends one request for every matching topic: one topic's failure leaves the
    // others done, and the first failure is the command's.
    let mut first_error = None;
    for name in &topics {
        let done = match partitions {
            Some(count) if args.alter => cluster.create_partitions(name, count),
            _ => cluster.delete_topic(name),
        };
        if let Err(error) = done {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), |e| Err(e.into()))
}

/// Kafka's describe: the topic line (unless a replication report asks for partitions
/// only), then a line per partition (unless `--topics-with-overrides` asks for topics only,
/// and only those that override a config).
fn describe(cluster: &Cluster, name: &str, args: &TopicsArgs, out: &mut dyn Write) -> CliResult {
    let description = cluster.describe_topic(name)?;
    let configs: Vec<String> = description
        .configs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if args.topics_with_overrides && configs.is_empty() {
        return Ok(());
    }
    if !args.replication_report() {
        writeln!(
            out,
            "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: 1\tConfigs: {}",
            description.id,
            description.partitions.len(),
            configs.join(",")
        )?;
    }
    // One replica, the leader, in sync, against a min.insync.replicas of 1: of Kafka's
    // reports, only --at-min-isr-partitions matches a partition, and it matches them all.
    if args.topics_with_overrides || (args.replication_report() && !args.at_min_isr_partitions) {
        return Ok(());
    }
    // Compacted topics: the cleaner's state after Kafka's columns (kafkalite's addition).
    let cleaner = if cluster.topic_config(name)?.cleanup_compact {
        cluster.cleaner_status()?
    } else {
        Vec::new()
    };
    for p in &description.partitions {
        write!(
            out,
            "\tTopic: {name}\tPartition: {}\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: \tLogStartOffset: {}\tLogEndOffset: {}",
            p.partition, p.log_start_offset, p.log_end_offset
        )?;
        let partition = format!("{name}-{}", p.partition);
        if let Some(status) = cleaner.iter().find(|s| s.partition == partition) {
            write!(
                out,
                "\tFirstDirtyOffset: {}\tDirtyRatio: {:.2}\tCleaner: {}",
                status.first_dirty_offset,
                status.dirty_ratio,
                status
                    .uncleanable
                    .as_deref()
                    .map_or("ok".to_string(), |why| format!("uncleanable ({why})"))
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
