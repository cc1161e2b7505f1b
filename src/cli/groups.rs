//! `kafkalite groups`: kafka-consumer-groups over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::{ArgGroup, Args};
use kafkalite::{Cluster, Error, GroupState, OffsetReset, TopicPartition};

use super::CliResult;

/// One action, as kafka-consumer-groups takes them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["list", "describe", "reset_offsets", "delete"])))]
#[command(group(ArgGroup::new("to").args(["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"])))]
pub struct GroupsArgs {
    /// List the groups.
    #[arg(long)]
    list: bool,
    /// Show a group's offsets, lag and owners.
    #[arg(long, requires = "group")]
    describe: bool,
    /// Move a group's committed offsets (only while it has no active members).
    #[arg(long, requires_all = ["group", "to"])]
    reset_offsets: bool,
    /// Delete a group and its offsets.
    #[arg(long, requires = "group")]
    delete: bool,
    /// The group.
    #[arg(long)]
    group: Option<String>,
    /// With --reset-offsets: the topic, optionally `topic:0,1`.
    #[arg(long)]
    topic: Option<String>,
    /// With --reset-offsets: every topic the group has offsets for.
    #[arg(long)]
    all_topics: bool,
    /// Reset to the log start.
    #[arg(long)]
    to_earliest: bool,
    /// Reset to the log end.
    #[arg(long)]
    to_latest: bool,
    /// Reset to this offset (clamped into the log).
    #[arg(long, allow_negative_numbers = true)]
    to_offset: Option<i64>,
    /// Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS[.sss][Z], UTC.
    #[arg(long)]
    to_datetime: Option<String>,
    /// Move the committed offsets by N (clamped into the log).
    #[arg(long, allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// Apply the reset (the default is a dry run, as in Kafka).
    #[arg(long)]
    execute: bool,
    /// Only show what a reset would do (the default).
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
}

/// Runs the chosen action with Kafka's output layout.
pub fn run(data_dir: &Path, args: &GroupsArgs, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::open(data_dir)?;
    let group = args.group.as_deref().unwrap_or_default();
    if args.list {
        for group in cluster.list_groups()? {
            writeln!(out, "{group}")?;
        }
    } else if args.describe {
        describe(&cluster, group, out)?;
    } else if args.reset_offsets {
        reset(&cluster, group, args, out)?;
    } else if args.delete {
        match cluster.delete_group(group) {
            Ok(()) => writeln!(
                out,
                "Deletion of requested consumer groups ('{group}') was successful."
            )?,
            Err(Error::GroupIdNotFound(_)) => {
                return Err(format!("Consumer group '{group}' does not exist.").into())
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn describe(cluster: &Cluster, group: &str, out: &mut dyn Write) -> CliResult {
    let description = match cluster.describe_group(group) {
        Ok(d) => d,
        Err(Error::GroupIdNotFound(_)) => {
            writeln!(out, "Consumer group '{group}' does not exist.")?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    writeln!(out)?;
    match description.state {
        GroupState::Empty | GroupState::Dead => {
            writeln!(out, "Consumer group '{group}' has no active members.")?;
            writeln!(out)?;
        }
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => {
            writeln!(out, "Warning: Consumer group '{group}' is rebalancing.")?;
            writeln!(out)?;
        }
        GroupState::Stable => {}
    }
    let dash = || "-".to_string();
    let mut rows = vec![[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]
    .map(String::from)];
    for p in cluster.describe_group_offsets(group)? {
        let (member, host, client) = p.owner.clone().unwrap_or_else(|| (dash(), dash(), dash()));
        rows.push([
            group.to_string(),
            p.partition.topic.to_string(),
            p.partition.partition.to_string(),
            p.committed.map_or_else(dash, |o| o.to_string()),
            p.log_end_offset.to_string(),
            p.lag.map_or_else(dash, |l| l.to_string()),
            member,
            host,
            client,
        ]);
    }
    print_table(&rows, out)
}

fn reset(cluster: &Cluster, group: &str, args: &GroupsArgs, out: &mut dyn Write) -> CliResult {
    let to = if args.to_earliest {
        OffsetReset::Earliest
    } else if args.to_latest {
        OffsetReset::Latest
    } else if let Some(n) = args.to_offset {
        OffsetReset::Offset(n)
    } else if let Some(n) = args.shift_by {
        OffsetReset::ShiftBy(n)
    } else if let Some(text) = &args.to_datetime {
        OffsetReset::Datetime(parse_datetime(text)?)
    } else {
        return Err(
            "choose one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by"
                .into(),
        );
    };
    let partitions = match (&args.topic, args.all_topics) {
        (Some(_), true) | (None, false) => {
            return Err("give exactly one of --topic and --all-topics".into())
        }
        (None, true) => Vec::new(),
        (Some(spec), false) => topic_partitions(cluster, spec)?,
    };
    let planned = match cluster.reset_group_offsets(group, &partitions, to, args.execute) {
        Err(Error::GroupNotEmpty { state, .. }) => {
            return Err(format!(
                "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
            )
            .into())
        }
        other => other?,
    };
    let mut rows = vec![["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"].map(String::from)];
    for (tp, offset) in planned {
        rows.push([
            group.to_string(),
            tp.topic.to_string(),
            tp.partition.to_string(),
            offset.to_string(),
        ]);
    }
    writeln!(out)?;
    print_table(&rows, out)
}

/// `topic` (every partition) or `topic:0,2`.
fn topic_partitions(
    cluster: &Cluster,
    spec: &str,
) -> Result<Vec<TopicPartition>, Box<dyn std::error::Error>> {
    let (topic, list) = spec.split_once(':').unwrap_or((spec, ""));
    if list.is_empty() {
        let partitions = cluster.describe_topic(topic)?.partitions;
        return Ok(partitions
            .iter()
            .map(|p| TopicPartition::new(topic, p.partition))
            .collect());
    }
    list.split(',')
        .map(|p| {
            p.trim()
                .parse()
                .map(|p| TopicPartition::new(topic, p))
                .map_err(|_| format!("'{p}' in --topic {spec} is not a partition number").into())
        })
        .collect()
}

/// Columns padded to their widest cell, as Kafka's tool prints them.
fn print_table<const N: usize>(rows: &[[String; N]], out: &mut dyn Write) -> CliResult {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        writeln!(out, "{}", cells.join(" ").trim_end())?;
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:mm:SS[.sss][Z]` (UTC) as epoch milliseconds.
fn parse_datetime(text: &str) -> Result<i64, String> {
    let bad = || format!("--to-datetime '{text}' is not YYYY-MM-DDTHH:mm:SS[.sss], UTC");
    let trimmed = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = trimmed.split_once('T').ok_or_else(bad)?;
    let numbers = |s: &str, sep: char| -> Result<Vec<i64>, String> {
        s.split(sep)
            .map(|n| n.parse::<i64>().map_err(|_| bad()))
            .collect()
    };
    let [year, month, day] = numbers(date, '-')?[..] else {
        return Err(bad());
    };
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let [hour, minute, second] = numbers(hms, ':')?[..] else {
        return Err(bad());
    };
    let millis: i64 = format!("{millis:0<3}")[..3].parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    // Days from 1970-01-01 to the date (proleptic Gregorian; Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn datetimes_are_utc_epoch_millis() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00"), Ok(0));
        assert_eq!(
            parse_datetime("2026-11-24T19:20:48.5Z"),
            Ok(1_795_548_048_500)
        );
        assert_eq!(
            parse_datetime("2000-03-01T00:00:00.001"),
            Ok(951_868_800_001)
        );
        assert!(parse_datetime("2026-13-01T00:00:00").is_err());
        assert!(parse_datetime("yesterday").is_err());
    }
}
