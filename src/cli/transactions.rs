//! `kafkalite transactions`: `kafka-transactions.sh`. `list` and `describe` print the
//! transaction coordinator's state of transactional ids, `describe-producers` the producer
//! state a partition holds (`TransactionsCommand`'s `ListTransactionsCommand`,
//! `DescribeTransactionsCommand`, `DescribeProducersCommand`: their columns, padded and
//! tab-separated as `ToolsUtils.prettyPrintTable` prints them). The coordinator is node 0,
//! as `topics --describe` names the leader.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};
use kafkalite::Cluster;

use super::CliResult;

/// What to describe.
#[derive(Subcommand, Debug)]
pub enum TransactionsCommand {
    /// List transactions.
    List(ListArgs),
    /// Describe the state of an active transactional-id.
    Describe(DescribeArgs),
    /// Describe the states of active producers for a topic partition.
    DescribeProducers(DescribeProducersArgs),
}

/// `list`'s filter.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Duration (in millis) to filter by: if < 0, all transactions will be returned;
    /// otherwise, only transactions running longer than this duration will be returned.
    #[arg(long, allow_hyphen_values = true)]
    duration_filter: Option<i64>,
}

/// The transactional id.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Transactional id.
    #[arg(long)]
    transactional_id: String,
}

/// The partition.
#[derive(Args, Debug)]
pub struct DescribeProducersArgs {
    /// Topic name.
    #[arg(long)]
    topic: String,
    /// Partition number.
    #[arg(long)]
    partition: i32,
}

const LIST_HEADERS: [&str; 4] = [
    "TransactionalId",
    "Coordinator",
    "ProducerId",
    "TransactionState",
];

const DESCRIBE_HEADERS: [&str; 9] = [
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
];

const HEADERS: [&str; 6] = [
    "ProducerId",
    "ProducerEpoch",
    "LatestCoordinatorEpoch",
    "LastSequence",
    "LastTimestamp",
    "CurrentTransactionStartOffset",
];

/// Runs the command on the cluster in `data_dir`.
pub fn run(data_dir: &Path, command: &TransactionsCommand, out: &mut dyn Write) -> CliResult {
    let cluster = Cluster::open(data_dir)?;
    match command {
        TransactionsCommand::List(args) => list(&cluster, args, out),
        TransactionsCommand::Describe(args) => describe(&cluster, args, out),
        TransactionsCommand::DescribeProducers(args) => describe_producers(&cluster, args, out),
    }
}

/// `kafka-transactions.sh list`.
fn list(cluster: &Cluster, args: &ListArgs, out: &mut dyn Write) -> CliResult {
    let now = cluster.clock().now_ms();
    let filter = args.duration_filter.filter(|d| *d >= 0);
    let mut rows = Vec::new();
    for listing in cluster.list_transactions()? {
        if let Some(min) = filter {
            // Kafka's `listTransactionStates` filter: the last transaction's start
            // (−1 for none, which passes) more than `min` ms ago, in any state.
            let started = cluster
                .describe_transaction(&listing.transactional_id)?
                .and_then(|d| d.transaction_start_time_ms)
                .unwrap_or(-1);
            if now - started <= min {
                continue;
            }
        }
        rows.push([
            listing.transactional_id,
            "0".to_string(),
            listing.producer_id.to_string(),
            listing.state.to_string(),
        ]);
    }
    print_table(&LIST_HEADERS, &rows, out)
}

/// `kafka-transactions.sh describe`.
fn describe(cluster: &Cluster, args: &DescribeArgs, out: &mut dyn Write) -> CliResult {
    let id = &args.transactional_id;
    let Some(d) = cluster.describe_transaction(id)? else {
        return Err(format!(
            "Failed to describe transaction state of transactional-id `{id}`: \
             TransactionalIdNotFoundException: the coordinator does not know it"
        )
        .into());
    };
    let now = cluster.clock().now_ms();
    let (start, duration) = match d.transaction_start_time_ms {
        Some(start) => (start.to_string(), (now - start).to_string()),
        None => ("None".to_string(), "None".to_string()),
    };
    let partitions: Vec<String> = d.topic_partitions.iter().map(|tp| tp.to_string()).collect();
    let row = [
        "0".to_string(),
        d.transactional_id,
        d.producer_id.to_string(),
        d.producer_epoch.to_string(),
        d.state.to_string(),
        d.transaction_timeout_ms.to_string(),
        start,
        duration,
        partitions.join(","),
    ];
    print_table(&DESCRIBE_HEADERS, &[row], out)
}

/// `kafka-transactions.sh describe-producers`.
fn describe_producers(
    cluster: &Cluster,
    args: &DescribeProducersArgs,
    out: &mut dyn Write,
) -> CliResult {
    let log = cluster.partition(&args.topic, args.partition)?;
    let rows: Vec<[String; 6]> = log
        .producer_states()
        .into_iter()
        .map(|p| {
            [
                p.producer_id.to_string(),
                p.epoch.to_string(),
                p.coordinator_epoch.to_string(),
                p.last_sequence.to_string(),
                p.last_timestamp.to_string(),
                p.current_transaction_start_offset
                    .map_or("None".to_string(), |o| o.to_string()),
            ]
        })
        .collect();
    print_table(&HEADERS, &rows, out)
}

/// Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to its column's width, then a
/// tab.
fn print_table<const N: usize>(
    headers: &[&str; N],
    rows: &[[String; N]],
    out: &mut dyn Write,
) -> CliResult {
    let mut widths = headers.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let headers = headers.map(str::to_string);
    for row in std::iter::once(&headers).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}\t"));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
