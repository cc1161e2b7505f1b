//! The `kafkalite` command-line tool: Kafka's admin tools over a local data directory.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Apache Kafka's model as an embedded log: topics, partitions, segmented logs on local disk.
#[derive(Parser, Debug)]
#[command(name = "kafkalite", version, about)]
struct Args {
    /// The cluster's data directory.
    #[arg(long, global = true, default_value = "./kafkalite-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// An end-to-end tour: topic, producer, consumer group, commit, restart, resume.
    Demo,
    /// Create, list, describe, alter and delete topics (like kafka-topics).
    Topics(cli::topics::TopicsArgs),
    /// Print the batches and records of segment and index files (like kafka-dump-log).
    DumpLog(cli::dump_log::DumpLogArgs),
    /// Print offsets by time for a topic's partitions (like kafka-get-offsets).
    GetOffsets(cli::get_offsets::GetOffsetsArgs),
    /// Send stdin lines as records (like kafka-console-producer).
    Produce(cli::produce::ProduceArgs),
    /// Print records as they arrive (like kafka-console-consumer).
    Consume(cli::consume::ConsumeArgs),
    /// List, describe, reset and delete consumer groups (like kafka-consumer-groups).
    Groups(cli::groups::GroupsArgs),
    /// Measure throughput and latency (like kafka-producer-perf-test).
    #[command(subcommand)]
    PerfTest(cli::perf_test::PerfTest),
    /// Repair a directory a `Corruption` error names: drop damaged data and what follows it.
    Repair,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut out = std::io::stdout().lock();
    let result = match args.command {
        Command::Demo => cli::demo::run(&args.data_dir, &mut out),
        Command::Topics(topics) => cli::topics::run(&args.data_dir, &topics, &mut out),
        Command::DumpLog(dump) => cli::dump_log::run(&dump, &mut out),
        Command::GetOffsets(get) => cli::get_offsets::run(&args.data_dir, &get, &mut out),
        Command::Produce(produce) => cli::produce::run(&args.data_dir, &produce, &mut out),
        Command::Consume(consume) => cli::consume::run(&args.data_dir, &consume, &mut out),
        Command::Groups(groups) => cli::groups::run(&args.data_dir, &groups, &mut out),
        Command::PerfTest(test) => cli::perf_test::run(&args.data_dir, &test, &mut out),
        Command::Repair => cli::repair::run(&args.data_dir, &mut out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error}");
            ExitCode::FAILURE
        }
    }
}
