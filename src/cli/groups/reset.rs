//! `groups --reset-offsets`: kafka-consumer-groups' reset scenarios (`--to-earliest`,
//! `--to-latest`, `--to-current`, `--to-offset`, `--shift-by`, `--to-datetime`,
//! `--by-duration`, `--from-file`), its dry run, its result table and `--export` CSV.

use std::collections::BTreeMap;
use std::io::Write;

use kafkalite::{Cluster, Error, OffsetAndMetadata, OffsetReset, Offsets, TopicPartition};

use super::GroupsArgs;
use crate::cli::reset_time::{parse_datetime, parse_duration};
use crate::cli::CliResult;

/// The new offsets of each group (none for a group that could not be reset).
type Plan = Vec<(String, BTreeMap<TopicPartition, i64>)>;

/// A plan and how many of its groups failed (each reported on stderr as it failed: the
/// others are still reset, as Kafka's tool goes on).
type Outcome = (Plan, usize);

/// Reports a group's failure as Kafka's `printError`, and counts it.
fn group_failed(group: &str, error: &dyn std::fmt::Display, plan: &mut Plan, failed: &mut usize) {
    eprintln!("\nError: {error}");
    plan.push((group.to_string(), BTreeMap::new()));
    *failed += 1;
}

/// Plans (and with `--execute` applies) the reset, then prints the plan as Kafka does.
pub(super) fn reset(cluster: &Cluster, args: &GroupsArgs, out: &mut dyn Write) -> CliResult {
    let groups: Vec<String> = match (&args.group, args.all_groups) {
        (Some(group), false) => vec![group.clone()],
        (None, true) => cluster.list_groups()?,
        _ => return Err("--reset-offsets needs --group G or --all-groups".into()),
    };
    if !args.execute && !args.dry_run {
        // Kafka's ConsumerGroupCommand, word for word.
        eprintln!(
            "WARN: No action will be performed as the --execute option is missing. In a future \
             major release, the default behavior of this command will be to prompt the user \
             before executing the reset rather than doing a dry run. You should add the \
             --dry-run option explicitly if you are scripting this command and want to keep \
             the current default behavior without prompting."
        );
    }
    let (plan, failed) = match &args.from_file {
        Some(path) => from_file(cluster, &groups, args, path)?,
        None => scenario(cluster, &groups, args)?,
    };
    print_plan(&plan, args, out)?;
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} group(s) could not be reset (see above)",
            plan.len()
        )
        .into()),
    }
}

/// The plan as Kafka prints it: its CSV with `--export`, else its table.
fn print_plan(plan: &Plan, args: &GroupsArgs, out: &mut dyn Write) -> CliResult {
    if args.export {
        // Kafka's `exportOffsetsToCsv`: no header; the group column unless exactly one
        // --group was named; then println's own newline.
        for (group, offsets) in plan {
            for (tp, offset) in offsets {
                if args.group.is_none() {
                    write!(out, "{},", csv_field(group))?;
                }
                writeln!(out, "{},{},{offset}", csv_field(&tp.topic), tp.partition)?;
            }
        }
        writeln!(out)?;
        return Ok(());
    }
    // Kafka's table: "%n%-30s %-30s %-10s %-15s" per line, then a newline.
    let line = |cells: [&str; 4]| {
        let [group, topic, partition, offset] = cells;
        format!("\n{group:<30} {topic:<30} {partition:<10} {offset:<15}")
    };
    if plan.iter().any(|(_, offsets)| !offsets.is_empty()) {
        write!(
            out,
            "{}",
            line(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"])
        )?;
    }
    for (group, offsets) in plan {
        for (tp, offset) in offsets {
            let (partition, offset) = (tp.partition.to_string(), offset.to_string());
            write!(out, "{}", line([group, &tp.topic, &partition, &offset]))?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// Where the scenario flags move the offsets.
fn target(args: &GroupsArgs) -> Result<OffsetReset, String> {
    Ok(if args.to_earliest {
        OffsetReset::Earliest
    } else if args.to_latest {
        OffsetReset::Latest
    } else if args.to_current {
        OffsetReset::Current
    } else if let Some(n) = args.to_offset {
        OffsetReset::Offset(n)
    } else if let Some(n) = args.shift_by {
        OffsetReset::ShiftBy(n)
    } else if let Some(text) = &args.to_datetime {
        OffsetReset::Datetime(parse_datetime(text)?)
    } else if let Some(text) = &args.by_duration {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?;
        let now = i64::try_from(now.as_millis()).map_err(|e| e.to_string())?;
        OffsetReset::Datetime(now.saturating_sub(parse_duration(text)?))
    } else {
        return Err(
            "choose one of --to-earliest, --to-latest, --to-current, --to-offset, \
                    --to-datetime, --by-duration, --shift-by, --from-file"
                .into(),
        );
    })
}

/// The plan of a scenario flag over `--topic` or `--all-topics`, for every group.
fn scenario(
    cluster: &Cluster,
    groups: &[String],
    args: &GroupsArgs,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let to = target(args)?;
    let partitions = match (&args.topic, args.all_topics) {
        (Some(_), true) => return Err("give one of --topic and --all-topics, not both".into()),
        (None, false) => {
            return Err("One of the reset scopes should be defined: --all-topics, --topic.".into())
        }
        (None, true) => Vec::new(),
        (Some(spec), false) => topic_partitions(cluster, spec)?,
    };
    let (mut plan, mut failed) = (Vec::new(), 0);
    for group in groups {
        match cluster.reset_group_offsets(group, &partitions, to, args.execute) {
            Ok(offsets) => plan.push((group.clone(), offsets)),
            Err(e) => group_failed(group, &not_inactive(group, e), &mut plan, &mut failed),
        }
    }
    Ok((plan, failed))
}

/// Kafka's message for a group with members.
fn not_inactive(group: &str, error: Error) -> Box<dyn std::error::Error> {
    match error {
        Error::GroupNotEmpty { state, .. } => format!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        )
        .into(),
        other => other.into(),
    }
}

/// A reset plan read from a CSV file, as Kafka's `parseResetPlan`: `topic,partition,offset`
/// lines when exactly one --group is named and the first line has three columns, else
/// `group,topic,partition,offset`; offsets clamped into the log.
fn from_file(
    cluster: &Cluster,
    groups: &[String],
    args: &GroupsArgs,
    path: &std::path::Path,
) -> Result<Outcome, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --from-file {}: {e}", path.display()))?;
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(csv_fields)
        .collect();
    let single = args.group.is_some() && rows.first().is_some_and(|r| r.len() == 3);
    let mut wanted: BTreeMap<String, Vec<(TopicPartition, i64)>> = BTreeMap::new();
    for (number, row) in rows.iter().enumerate() {
        let bad = || {
            format!(
                "--from-file {} line {}: expected {}",
                path.display(),
                number + 1,
                if single {
                    "topic,partition,offset"
                } else {
                    "group,topic,partition,offset"
                }
            )
        };
        let (group, rest) = match (single, row.as_slice()) {
            (true, [topic, partition, offset]) => (groups[0].clone(), [topic, partition, offset]),
            (false, [group, topic, partition, offset]) => {
                (group.clone(), [topic, partition, offset])
            }
            _ => return Err(bad().into()),
        };
        let [topic, partition, offset] = rest;
        let partition: i32 = partition.trim().parse().map_err(|_| bad())?;
        let offset: i64 = offset.trim().parse().map_err(|_| bad())?;
        wanted
            .entry(group)
            .or_default()
            .push((TopicPartition::new(topic.as_str(), partition), offset));
    }
    let (mut plan, mut failed) = (Vec::new(), 0);
    for group in groups {
        let Some(entries) = wanted.get(group) else {
            let missing = format!("No reset plan for group {group} found");
            group_failed(group, &missing, &mut plan, &mut failed);
            continue;
        };
        match apply_entries(cluster, group, entries, args.execute) {
            Ok(offsets) => plan.push((group.clone(), offsets)),
            Err(e) => group_failed(group, &e, &mut plan, &mut failed),
        }
    }
    Ok((plan, failed))
}

/// One group's part of a plan file: each offset clamped into the log (Kafka's
/// `checkOffsetsRange`, through the cluster's own clamp), then committed together with
/// `execute`.
fn apply_entries(
    cluster: &Cluster,
    group: &str,
    entries: &[(TopicPartition, i64)],
    execute: bool,
) -> Result<BTreeMap<TopicPartition, i64>, Box<dyn std::error::Error>> {
    let mut offsets = BTreeMap::new();
    for (tp, offset) in entries {
        let clamped = cluster
            .reset_group_offsets(
                group,
                std::slice::from_ref(tp),
                OffsetReset::Offset(*offset),
                false,
            )
            .map_err(|e| not_inactive(group, e))?;
        offsets.extend(clamped);
    }
    if execute {
        let commit: Offsets = offsets
            .iter()
            .map(|(tp, &offset)| (tp.clone(), OffsetAndMetadata::new(offset)))
            .collect();
        cluster.alter_group_offsets(group, &commit)?;
    }
    Ok(offsets)
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (as Jackson writes).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The fields of one CSV line, quotes undone.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
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

#[cfg(test)]
mod tests {
    use super::{csv_field, csv_fields};

    #[test]
    fn csv_fields_round_trip_quotes_and_commas() {
        for fields in [
            vec!["g", "t", "0", "5"],
            vec!["a,b", "say \"hi\"", "1", "2"],
        ] {
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            assert_eq!(csv_fields(&line.join(",")), fields);
        }
    }
}
