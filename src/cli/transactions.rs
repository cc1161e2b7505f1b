//! `kafkalite transactions`: `kafka-transactions.sh`. `describe-producers` prints the
//! producer state a partition holds (`TransactionsCommand.DescribeProducersCommand`, its
//! columns, padded and tab-separated as `ToolsUtils.prettyPrintTable` prints them).

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};
use kafkalite::Cluster;

use super::CliResult;

/// What to describe.
#[derive(Subcommand, Debug)]
pub enum TransactionsCommand {
    /// Describe the states of active producers for a topic partition.
    DescribeProducers(DescribeProducersArgs),
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
    match command {
        TransactionsCommand::DescribeProducers(args) => {
            let cluster = Cluster::open(data_dir)?;
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
            print_table(&rows, out)
        }
    }
}

/// Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to its column's width, then a
/// tab.
fn print_table(rows: &[[String; 6]], out: &mut dyn Write) -> CliResult {
    let mut widths = HEADERS.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let headers = HEADERS.map(str::to_string);
    for row in std::iter::once(&headers).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<width$}\t"));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}
