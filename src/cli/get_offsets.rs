//! `kafkalite get-offsets`: kafka-get-offsets over the local data directory.

use std::io::Write;
use std::path::Path;

use clap::Args;
use kafkalite::{Cluster, OffsetSpec};

use super::CliResult;

/// Which offsets to print.
#[derive(Args, Debug)]
pub struct GetOffsetsArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// -1 or latest (default), -2 or earliest, -3 or max-timestamp, or a timestamp in epoch
    /// milliseconds.
    #[arg(long, default_value = "-1", allow_negative_numbers = true)]
    time: String,
    /// Comma-separated partitions (default: all).
    #[arg(long, value_delimiter = ',')]
    partitions: Vec<i32>,
}

/// Prints `topic:partition:offset` per partition; partitions with no record at or after the
/// timestamp are left out, as Kafka does.
pub fn run(data_dir: &Path, args: &GetOffsetsArgs, out: &mut dyn Write) -> CliResult {
    let spec = match args.time.as_str() {
        "-1" | "latest" => OffsetSpec::Latest,
        "-2" | "earliest" => OffsetSpec::Earliest,
        "-3" | "max-timestamp" => OffsetSpec::MaxTimestamp,
        other => match other.parse::<i64>() {
            Ok(ms) if ms >= 0 => OffsetSpec::ForTimestamp(ms),
            _ => {
                return Err(format!(
                    "--time '{other}' is not -1 or latest, -2 or earliest, -3 or max-timestamp, or a timestamp in ms"
                )
                .into())
            }
        },
    };
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let topic = cluster.describe_topic(&args.topic)?;
    let partitions: Vec<i32> = if args.partitions.is_empty() {
        topic.partitions.iter().map(|p| p.partition).collect()
    } else {
        args.partitions.clone()
    };
    for partition in partitions {
        if let Some(offset) = cluster.list_offset(&args.topic, partition, spec)? {
            writeln!(out, "{}:{partition}:{offset}", args.topic)?;
        }
    }
    cluster.close()?;
    Ok(())
}
