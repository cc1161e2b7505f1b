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
    /// Show a group's offsets, lag and owners (or, with --members or --state, those).
    #[arg(long)]
    describe: bool,
    /// With --describe: every group.
    #[arg(long, conflicts_with = "group")]
    all_groups: bool,
    /// With --describe: the members, each with its number of partitions.
    #[arg(long, requires = "describe", conflicts_with_all = ["state", "offsets"])]
    members: bool,
    /// With --describe: the group's state, assignor and member count.
    #[arg(long, requires = "describe", conflicts_with = "offsets")]
    state: bool,
    /// With --describe: the offsets and lag (the default).
    #[arg(long, requires = "describe")]
    offsets: bool,
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
    /// Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS[.sss], then Z,
    /// +HH:mm or -HH:mm, or nothing for UTC (as Kafka).
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
        let groups = match (&args.group, args.all_groups) {
            (Some(group), false) => vec![group.clone()],
            (None, true) => cluster.list_groups()?,
            _ => return Err("--describe needs --group G or --all-groups".into()),
        };
        for group in &groups {
            if args.members {
                describe_members(&cluster, group, out)?;
            } else if args.state {
                describe_state(&cluster, group, out)?;
            } else {
                describe(&cluster, group, out)?;
            }
        }
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
    state_note(group, description.state);
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

/// Kafka's note on a group's state, on stderr (`shouldPrintMemberState`).
fn state_note(group: &str, state: GroupState) {
    match state {
        GroupState::Empty | GroupState::Dead => {
            eprintln!("\nConsumer group '{group}' has no active members.");
        }
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.");
        }
        GroupState::Stable => {}
    }
}

/// The group's description; Kafka's message if it does not exist.
fn existing(
    cluster: &Cluster,
    group: &str,
) -> Result<kafkalite::GroupDescription, Box<dyn std::error::Error>> {
    match cluster.describe_group(group) {
        Ok(description) => Ok(description),
        Err(Error::GroupIdNotFound(_)) => {
            Err(format!("Consumer group '{group}' does not exist.").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// `--describe --members`, in Kafka's layout (`printMembers`): a blank line, the header,
/// then a row per member; columns at least 15 wide (GROUP-INSTANCE-ID 17, shown only when
/// a member is static), each followed by a space.
fn describe_members(cluster: &Cluster, group: &str, out: &mut dyn Write) -> CliResult {
    let description = existing(cluster, group)?;
    state_note(group, description.state);
    let members = &description.members;
    let instance =
        |m: &kafkalite::MemberDescription| m.group_instance_id.clone().unwrap_or_default();
    let static_members = members.iter().any(|m| m.group_instance_id.is_some());
    let width = |min: usize, f: &dyn Fn(&kafkalite::MemberDescription) -> usize| {
        members.iter().map(f).fold(min, usize::max)
    };
    let group_width = width(15, &|_| group.len());
    let id_width = width(15, &|m| m.member_id.len());
    let instance_width = width(17, &|m| instance(m).len());
    let host_width = width(15, &|m| m.host.len());
    let client_width = width(15, &|m| m.client_id.len());
    let row = |cells: [&str; 5], instance: &str| {
        let [group, id, host, client, count] = cells;
        let mut line = format!("{group:<group_width$} {id:<id_width$} ");
        if static_members {
            line += &format!("{instance:<instance_width$} ");
        }
        line + &format!("{host:<host_width$} {client:<client_width$} {count:<15} ")
    };
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        row(
            ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"],
            "GROUP-INSTANCE-ID"
        )
    )?;
    for member in members {
        let count = member.assignment.len().to_string();
        let cells = [
            group,
            &member.member_id,
            &member.host,
            &member.client_id,
            &count,
        ];
        writeln!(out, "{}", row(cells, &instance(member)))?;
    }
    Ok(())
}

/// `--describe --state`, in Kafka's layout (`printStates`): the group column as wide as the
/// coordinator's (at least 25), then 25, 20 and 15. The coordinator is this process.
fn describe_state(cluster: &Cluster, group: &str, out: &mut dyn Write) -> CliResult {
    let description = existing(cluster, group)?;
    state_note(group, description.state);
    let coordinator = "in-process  (0)";
    let first = coordinator.len().max(25);
    let line = |cells: [&str; 5]| {
        let [group, coordinator, strategy, state, members] = cells;
        format!("{group:<first$} {coordinator:<25} {strategy:<20} {state:<15} {members}")
    };
    let strategy = description.protocol.clone().unwrap_or_default();
    let state = description.state.to_string();
    let members = description.members.len().to_string();
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        line([
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "#MEMBERS"
        ])
    )?;
    writeln!(
        out,
        "{}",
        line([group, coordinator, &strategy, &state, &members])
    )?;
    Ok(())
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

/// Kafka's `--to-datetime` (`Utils.getDateTime`) as epoch milliseconds:
/// `YYYY-MM-DDTHH:mm:SS[.sss]`, then a zone (`Z`, or an offset `+HH:mm`, `+HHmm` or `+HH`,
/// or `-` the same) or nothing, which Kafka reads as UTC (it appends `Z`). Dates are checked
/// strictly, as Kafka's non-lenient `SimpleDateFormat` does: `2026-02-31` is an error. One
/// difference: the fraction is a decimal fraction (`.5` is 500 ms), where Kafka's `SSS`
/// reads the digits as a count of milliseconds (`.5` is 5 ms); with Kafka's documented three
/// digits the two agree.
fn parse_datetime(text: &str) -> Result<i64, String> {
    let bad = |why: String| {
        format!(
            "--to-datetime '{text}' is not YYYY-MM-DDTHH:mm:SS[.sss] followed by Z, +HH:mm, \
             -HH:mm or nothing for UTC ({why})"
        )
    };
    let (civil, offset) = split_zone(text).ok_or_else(|| bad("bad zone offset".into()))?;
    let datetime = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S%.f", civil)
        .map_err(|e| bad(e.to_string()))?;
    let timestamp = offset
        .to_timestamp(datetime)
        .map_err(|e| bad(e.to_string()))?;
    Ok(timestamp.as_millisecond())
}

/// Splits a `--to-datetime` into its civil date and time and its zone offset (UTC when it
/// names none); `None` when the zone is malformed.
fn split_zone(text: &str) -> Option<(&str, jiff::tz::Offset)> {
    if let Some(civil) = text.strip_suffix('Z') {
        return Some((civil, jiff::tz::Offset::UTC));
    }
    // As Kafka's, the zone is looked for after the `T` only: the date has '-' too.
    let time_at = text.find('T').map_or(text.len(), |t| t + 1);
    let Some(sign_at) = text[time_at..].rfind(['+', '-']).map(|at| time_at + at) else {
        return Some((text, jiff::tz::Offset::UTC));
    };
    let digit = |b: &u8| b.is_ascii_digit().then(|| i32::from(b - b'0'));
    let two = |a: &u8, b: &u8| Some(digit(a)? * 10 + digit(b)?);
    let (hours, minutes) = match text.as_bytes()[sign_at + 1..] {
        [ref h1, ref h2] => (two(h1, h2)?, 0),
        [ref h1, ref h2, ref m1, ref m2] | [ref h1, ref h2, b':', ref m1, ref m2] => {
            (two(h1, h2)?, two(m1, m2)?)
        }
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    let sign = if text.as_bytes()[sign_at] == b'-' {
        -1
    } else {
        1
    };
    let offset = jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()?;
    Some((&text[..sign_at], offset))
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;
    use proptest::prelude::*;

    #[test]
    fn datetimes_are_epoch_millis_utc_unless_a_zone_is_given() {
        let cases = [
            ("1970-01-01T00:00:00", 0),
            ("1970-01-01T00:00:00.000", 0),
            ("2026-11-24T19:20:48.5Z", 1_795_548_048_500),
            ("2026-11-24T19:20:48.500", 1_795_548_048_500),
            ("2000-03-01T00:00:00.001", 951_868_800_001),
            ("2000-02-29T12:00:00Z", 951_825_600_000),
            // Kafka's examples: +08:00, +0800 and +08 are the same zone.
            ("2020-11-10T16:51:38.198+08:00", 1_604_998_298_198),
            ("2020-11-10T16:51:38.198+0800", 1_604_998_298_198),
            ("2020-11-10T16:51:38.198+08", 1_604_998_298_198),
            ("2020-11-10T08:51:38.198Z", 1_604_998_298_198),
            ("1970-01-01T00:00:00-01:30", 5_400_000),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_datetime(text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn bad_datetimes_are_refused() {
        let bad = [
            "",
            "yesterday",
            "2026-02-31T00:00:00",
            "2025-02-29T00:00:00",
            "2026-13-01T00:00:00",
            "2026-00-10T00:00:00",
            "2026-01-32T00:00:00",
            "2026-01-01T24:00:00",
            "2026-01-01T23:60:00",
            "2026-01-01T23:59:61",
            "2026-01-01",
            "2026-01-01T",
            "2026-01-01T10:00",
            "2026-01-01 10:00:00",
            "2026-01-01T10:00:00ZZ",
            "2026-01-01T10:00:00+",
            "2026-01-01T10:00:00+1",
            "2026-01-01T10:00:00+24:00",
            "2026-01-01T10:00:00+08:60",
            "2026-01-01T10:00:00+08:00:00",
            "2026-01-01T10:00:00+0é",
            "2026-01-01T10:00:00.",
            "2026-01-01T10:00:00.1234567891",
            "T+08",
            "-",
            "+",
            "Z",
            "é-é+é",
        ];
        for text in bad {
            let err = parse_datetime(text).expect_err(text);
            assert!(err.contains("--to-datetime"), "{err}");
        }
    }

    proptest! {
        /// No input panics: any string, and strings made of the format's own characters.
        #[test]
        fn no_input_panics(text in any::<String>(), near in "[0-9T:.Z+-]{0,32}") {
            let _ = parse_datetime(&text);
            let _ = parse_datetime(&near);
        }
    }
}
