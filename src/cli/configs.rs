//! `kafkalite configs`: kafka-configs for topics over the local data directory: describe a
//! topic's overrides (or every config, `--all`) with Kafka's synonyms, and alter them
//! (`--add-config`, `--add-config-file`, `--delete-config`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};
use kafkalite::{Cluster, Properties, TopicConfig};

use super::CliResult;

/// Exactly one action, as kafka-configs takes them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["describe", "alter"])))]
pub struct ConfigsArgs {
    /// List the configs of the topic (or of every topic): its overrides, or with --all
    /// every config.
    #[arg(long)]
    describe: bool,
    /// Change the topic's overrides.
    #[arg(long)]
    alter: bool,
    /// With --describe: every config, defaults included.
    #[arg(long, requires = "describe")]
    all: bool,
    /// The entity type: `topics` (the only one with configs here; a broker's settings are
    /// the cluster's `ClusterBuilder` options, not stored in the data directory).
    #[arg(long)]
    entity_type: Option<String>,
    /// The topic.
    #[arg(long)]
    entity_name: Option<String>,
    /// Short for `--entity-type topics --entity-name T`.
    #[arg(long, conflicts_with_all = ["entity_type", "entity_name"])]
    topic: Option<String>,
    /// Configs to set, `k1=v1,k2=[v1,v2],k3=v3` (square brackets group a value holding
    /// commas).
    #[arg(long, requires = "alter")]
    add_config: Option<String>,
    /// A properties file of configs to set.
    #[arg(long, requires = "alter")]
    add_config_file: Option<PathBuf>,
    /// Configs to remove, `k1,k2`; repeatable.
    #[arg(long, requires = "alter", value_delimiter = ',')]
    delete_config: Vec<String>,
}

/// Each topic config's broker-level synonym whose default Kafka reports as
/// `DEFAULT_CONFIG` (Kafka's `ServerTopicConfigSynonyms`, the first synonym of each, kept
/// only where that broker config has a default: `log.retention.ms`, `log.roll.ms`,
/// `log.roll.jitter.ms` and `log.flush.interval.ms` have none, so `retention.ms`,
/// `segment.ms`, `segment.jitter.ms` and `flush.ms` show no default synonym).
const DEFAULT_SYNONYMS: &[(&str, &str)] = &[
    ("cleanup.policy", "log.cleanup.policy"),
    ("compression.type", "compression.type"),
    ("delete.retention.ms", "log.cleaner.delete.retention.ms"),
    ("file.delete.delay.ms", "log.segment.delete.delay.ms"),
    ("flush.messages", "log.flush.interval.messages"),
    ("index.interval.bytes", "log.index.interval.bytes"),
    ("max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"),
    ("max.message.bytes", "message.max.bytes"),
    (
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
    ),
    (
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
    ),
    ("message.timestamp.type", "log.message.timestamp.type"),
    (
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
    ),
    ("min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"),
    ("min.insync.replicas", "min.insync.replicas"),
    ("preallocate", "log.preallocate"),
    ("retention.bytes", "log.retention.bytes"),
    ("segment.bytes", "log.segment.bytes"),
    ("segment.index.bytes", "log.index.size.max.bytes"),
];

/// Runs the chosen action.
pub fn run(data_dir: &Path, args: &ConfigsArgs, out: &mut dyn Write) -> CliResult {
    if let Some(kind) = args.entity_type.as_deref().filter(|&k| k != "topics") {
        return Err(format!(
            "--entity-type {kind}: kafkalite configs has only topics (brokers, users, clients \
             and groups have no dynamic configs in one process; the cluster's settings are \
             ClusterBuilder options)"
        )
        .into());
    }
    let name = args.topic.clone().or_else(|| args.entity_name.clone());
    if args.topic.is_none() && args.entity_type.is_none() {
        return Err("give --entity-type topics (with --entity-name T), or --topic T".into());
    }
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let result = if args.describe {
        describe(&cluster, name, args.all, out)
    } else {
        let name = name.ok_or("--alter needs --entity-name (or --topic)")?;
        alter(&cluster, &name, args, out)
    };
    cluster.close()?;
    result
}

fn describe(cluster: &Cluster, name: Option<String>, all: bool, out: &mut dyn Write) -> CliResult {
    let names = match name {
        Some(name) => vec![name],
        None => cluster.list_topics()?,
    };
    for name in names {
        let config = cluster.topic_config(&name)?;
        writeln!(
            out,
            "{} configs for topic {name} are:",
            if all { "All" } else { "Dynamic" }
        )?;
        for (key, value) in config.entries() {
            let overridden = config.overrides().contains_key(key);
            if all || overridden {
                let synonyms = synonyms(key, &value, overridden).join(", ");
                writeln!(
                    out,
                    "  {key}={value} sensitive=false synonyms={{{synonyms}}}"
                )?;
            }
        }
    }
    Ok(())
}

/// Kafka's synonyms of a topic config: the topic's own value if overridden, then the
/// broker default (kafkalite's defaults are Kafka's).
fn synonyms(key: &str, value: &str, overridden: bool) -> Vec<String> {
    let mut synonyms = Vec::new();
    if overridden {
        synonyms.push(format!("DYNAMIC_TOPIC_CONFIG:{key}={value}"));
    }
    if let Some((_, broker)) = DEFAULT_SYNONYMS.iter().find(|(k, _)| *k == key) {
        let default = TopicConfig::default().get(key).unwrap_or_default();
        synonyms.push(format!("DEFAULT_CONFIG:{broker}={default}"));
    }
    synonyms
}

fn alter(cluster: &Cluster, name: &str, args: &ConfigsArgs, out: &mut dyn Write) -> CliResult {
    let mut set = Vec::new();
    if let Some(file) = &args.add_config_file {
        set.extend(read_properties(file)?);
    }
    if let Some(text) = &args.add_config {
        set.extend(parse_add_config(text)?);
    }
    if set.is_empty() && args.delete_config.is_empty() {
        return Err("--alter needs --add-config, --add-config-file or --delete-config".into());
    }
    for (key, _) in &set {
        if !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!("Invalid character found for config key: {key}").into());
        }
    }
    let delete: Vec<&str> = args.delete_config.iter().map(|k| k.trim()).collect();
    // Kafka fails the command if a config to delete is not set on the topic.
    let config = cluster.topic_config(name)?;
    let missing: Vec<&str> = delete
        .iter()
        .copied()
        .filter(|k| !config.overrides().contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(format!("Invalid config(s): {}", missing.join(",")).into());
    }
    let set: Vec<(&str, &str)> = set.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    cluster.alter_topic_config(name, &set, &delete)?;
    writeln!(out, "Completed updating config for topic {name}.")?;
    Ok(())
}

/// Kafka's `--add-config` syntax: pairs split at commas outside square brackets, each at
/// its `=` (spaces around it dropped), brackets removed from values.
fn parse_add_config(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    for part in parts {
        let Some((key, value)) = part.split_once('=') else {
            return Err(
                "Invalid entity config: all configs to be added must be in the format \"key=val\"."
                    .into(),
            );
        };
        let value: String = value.chars().filter(|c| !matches!(c, '[' | ']')).collect();
        pairs.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(pairs)
}

/// The pairs of a properties file (Kafka's `--add-config-file`).
fn read_properties(path: &Path) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --add-config-file {}: {e}", path.display()))?;
    let properties = Properties::parse(&text)?;
    Ok(properties
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_config_splits_outside_brackets_and_drops_them() {
        let pairs = parse_add_config("retention.ms = 100,cleanup.policy=[compact,delete]").unwrap();
        assert_eq!(
            pairs,
            [
                ("retention.ms".to_string(), "100".to_string()),
                ("cleanup.policy".to_string(), "compact,delete".to_string())
            ]
        );
        assert!(parse_add_config("retention.ms").is_err());
    }
}
