//! `kafkalite topics`: kafka-topics over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::{ArgGroup, Args};
use kafkalite::{Cluster, Error, NewTopic};

use super::{parse_key_value, CliResult};

/// Exactly one action, as kafka-topics takes them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["create", "list", "describe", "alter", "delete"])))]
pub struct TopicsArgs {
    /// Create a topic.
    #[arg(long)]
    create: bool,
    /// List topic names.
    #[arg(long)]
    list: bool,
    /// Describe one topic, or all.
    #[arg(long)]
    describe: bool,
    /// Increase a topic's partition count.
    #[arg(long)]
    alter: bool,
    /// Delete a topic.
    #[arg(long)]
    delete: bool,
    /// The topic.
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
    /// With --delete: succeed if the topic does not exist.
    #[arg(long)]
    if_exists: bool,
}

/// Runs the chosen action.
pub fn run(data_dir: &Path, args: &TopicsArgs, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let result = action(&cluster, args, out);
    cluster.close()?;
    result
}

fn action(cluster: &Cluster, args: &TopicsArgs, out: &mut dyn Write) -> CliResult {
    let topic = || {
        args.topic
            .clone()
            .ok_or("--topic is required for this action")
    };
    if args.create {
        let name = topic()?;
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
            Err(Error::TopicAlreadyExists(_)) if args.if_not_exists => {}
            Err(e) => return Err(e.into()),
            Ok(()) => writeln!(out, "Created topic {name}.")?,
        }
    } else if args.list {
        for name in cluster.list_topics()? {
            writeln!(out, "{name}")?;
        }
    } else if args.describe {
        let names = match &args.topic {
            Some(name) => vec![name.clone()],
            None => cluster.list_topics()?,
        };
        for name in names {
            describe(cluster, &name, out)?;
        }
    } else if args.alter {
        let partitions = args
            .partitions
            .ok_or("--partitions is required with --alter")?;
        cluster.create_partitions(&topic()?, partitions)?;
    } else if args.delete {
        match cluster.delete_topic(&topic()?) {
            Err(Error::UnknownTopicOrPartition(_)) if args.if_exists => {}
            other => other?,
        }
    }
    Ok(())
}

fn describe(cluster: &Cluster, name: &str, out: &mut dyn Write) -> CliResult {
    let description = cluster.describe_topic(name)?;
    let configs: Vec<String> = description
        .configs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    writeln!(
        out,
        "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: 1\tConfigs: {}",
        description.id,
        description.partitions.len(),
        configs.join(",")
    )?;
    // Compacted topics: the cleaner's state after Kafka's columns (kafkalite's addition).
    let cleaner = if cluster.topic_config(name)?.cleanup_compact {
        cluster.cleaner_status()?
    } else {
        Vec::new()
    };
    for p in &description.partitions {
        write!(
            out,
            "\tTopic: {name}\tPartition: {}\tLeader: 0\tReplicas: 0\tIsr: 0\tLogStartOffset: {}\tLogEndOffset: {}",
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
