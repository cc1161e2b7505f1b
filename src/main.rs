//! The `kafkalite` command-line tool: Kafka's admin tools over a local data directory.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Apache Kafka's model as an embedded log: topics, partitions, segmented logs on local disk.
#[derive(Parser, Debug)]
#[command(name = "kafkalite", version, about)]
struct Args {
    /// The cluster's data directory.
    #[arg(long, global = true, default_value = "./kafkalite-data")]
    data_dir: PathBuf,
    /// Accepted from Kafka's tools and ignored, with a note: there is no network, the data
    /// directory is the cluster.
    #[arg(long, global = true, value_name = "HOST:PORT")]
    bootstrap_server: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// An end-to-end tour: topic, producer, consumer group, commit, restart, resume.
    Demo,
    /// Create, list, describe, alter and delete topics (like kafka-topics).
    Topics(cli::topics::TopicsArgs),
    /// Describe and alter a topic's configs (like kafka-configs).
    Configs(cli::configs::ConfigsArgs),
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
    /// Describe the producers a partition knows (like kafka-transactions describe-producers).
    #[command(subcommand)]
    Transactions(cli::transactions::TransactionsCommand),
    /// Measure throughput and latency (like kafka-producer-perf-test).
    #[command(subcommand)]
    PerfTest(cli::perf_test::PerfTest),
    /// Run the log cleaner to completion on compacted topics and print what it did.
    Compact(cli::compact::CompactArgs),
    /// Repair a directory a `Corruption` error names: drop damaged data and what follows it
    /// (a dry run on a copy unless --execute).
    Repair(cli::repair::RepairArgs),
    /// Print a completion script for a shell: `kafkalite completions bash >
    /// ~/.local/share/bash-completion/completions/kafkalite` (zsh, fish, elvish, powershell
    /// likewise).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Prints the library's `tracing` events on stderr: warnings by default (what recovery cut
/// or left alone, background failures), or what `RUST_LOG` asks for (`info`,
/// `kafkalite=debug`, ...).
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::WARN));
    let format = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init();
}

/// What a command-line user can do about `error`, beyond its own message.
fn advice(error: &(dyn std::error::Error + 'static), data_dir: &std::path::Path) -> Option<String> {
    match error.downcast_ref::<kafkalite::Error>()? {
        kafkalite::Error::Corruption { .. } | kafkalite::Error::InconsistentClusterId { .. } => {
            let dir = data_dir.display();
            Some(format!(
                "To see what a repair would drop, run `kafkalite --data-dir {dir} repair` (a dry \
                 run); to repair, `kafkalite --data-dir {dir} repair --execute`."
            ))
        }
        _ => None,
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    if let Some(servers) = &args.bootstrap_server {
        eprintln!(
            "Note: --bootstrap-server {servers} is ignored: kafkalite has no network, the \
             cluster is the data directory {} (--data-dir).",
            args.data_dir.display()
        );
    }
    let mut out = std::io::stdout().lock();
    let result = match args.command {
        Command::Demo => cli::demo::run(&args.data_dir, &mut out),
        Command::Topics(topics) => cli::topics::run(&args.data_dir, &topics, &mut out),
        Command::Configs(configs) => cli::configs::run(&args.data_dir, &configs, &mut out),
        Command::DumpLog(dump) => cli::dump_log::run(&dump, &mut out),
        Command::GetOffsets(get) => cli::get_offsets::run(&args.data_dir, &get, &mut out),
        Command::Produce(produce) => cli::produce::run(&args.data_dir, &produce, &mut out),
        Command::Consume(consume) => cli::consume::run(&args.data_dir, &consume, &mut out),
        Command::Groups(groups) => cli::groups::run(&args.data_dir, &groups, &mut out),
        Command::Transactions(command) => {
            cli::transactions::run(&args.data_dir, &command, &mut out)
        }
        Command::PerfTest(test) => cli::perf_test::run(&args.data_dir, &test, &mut out),
        Command::Compact(compact) => cli::compact::run(&args.data_dir, &compact, &mut out),
        Command::Repair(repair) => cli::repair::run(&args.data_dir, &repair, &mut out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Args::command(), "kafkalite", &mut out);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<cli::signals::Interrupted>() => {
            let signal = error
                .downcast_ref::<cli::signals::Interrupted>()
                .map_or(2, |interrupted| interrupted.0);
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX))
        }
        Err(error) => {
            eprintln!("Error: {error}");
            if let Some(advice) = advice(error.as_ref(), &args.data_dir) {
                eprintln!("{advice}");
            }
            ExitCode::FAILURE
        }
    }
}
