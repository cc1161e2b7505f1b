//! `kafkalite groups`: kafka-consumer-groups over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::{ArgGroup, Args};
use kafkalite::{Cluster, Error, GroupState};

use super::CliResult;

mod reset;

/// One action, as kafka-consumer-groups takes them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("action").required(true).args(["list", "describe", "reset_offsets", "delete"])))]
#[command(group(ArgGroup::new("to").args(["to_earliest", "to_latest", "to_current", "to_offset", "to_datetime", "by_duration", "shift_by", "from_file"])))]
pub struct GroupsArgs {
    /// List the groups.
    #[arg(long)]
    list: bool,
    /// Show a group's offsets, lag and owners (or, with --members or --state, those).
    #[arg(long)]
    describe: bool,
    /// With --describe or --reset-offsets: every group.
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
    #[arg(long, requires = "to")]
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
    /// Move the committed offsets by N (clamped into the log); every partition needs one.
    #[arg(long, allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// Reset to the committed offsets as they are (the log end where there is none).
    #[arg(long)]
    to_current: bool,
    /// Reset to the first offset at or after now minus this ISO-8601 duration:
    /// PnDTnHnMnS (PT1H, P1DT12H, ...).
    #[arg(long)]
    by_duration: Option<String>,
    /// Reset to the offsets of a CSV file: `topic,partition,offset` lines for one --group,
    /// else `group,topic,partition,offset` (what --export prints); clamped into the log.
    #[arg(long)]
    from_file: Option<std::path::PathBuf>,
    /// Print the plan as CSV for --from-file, instead of the table.
    #[arg(long, requires = "reset_offsets")]
    export: bool,
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
        reset::reset(&cluster, args, out)?;
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
    let mut rows = Vec::new();
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
    // Kafka's `printOffsets`: GROUP, TOPIC, CONSUMER-ID and HOST as wide as their longest
    // value, at least 15; PARTITION 10; the offsets 15; CLIENT-ID unpadded.
    let width = |column: usize| rows.iter().map(|r| r[column].len()).fold(15, usize::max);
    let (g, t, c, h) = (width(0), width(1), width(6), width(7));
    let header = [
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
    .map(String::from);
    for [group, topic, partition, current, end, lag, member, host, client] in
        std::iter::once(header).chain(rows)
    {
        writeln!(
            out,
            "{group:<g$} {topic:<t$} {partition:<10} {current:<15} {end:<15} {lag:<15} {member:<c$} {host:<h$} {client}"
        )?;
    }
    Ok(())
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
