//! The subcommands of the `kafkalite` tool.

pub mod compact;
pub mod configs;
pub mod consume;
pub mod delivery;
pub mod demo;
pub mod demo_async;
pub mod demo_events;
#[cfg(feature = "rdkafka-api")]
pub mod demo_rdkafka;
#[cfg(feature = "testing")]
pub mod demo_testing;
pub mod dump_index;
pub mod dump_log;
pub mod formatter;
pub mod get_offsets;
pub mod groups;
pub mod internal_records;
pub mod perf_payload;
pub mod perf_test;
pub mod produce;
pub mod repair;
pub mod reset_time;
pub mod signals;
pub mod topic_filter;
pub mod topics;
pub mod transactions;

/// What a subcommand can fail with: a library error, or output that could not be written.
pub type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Splits `key=value` at the first `=`, naming the bad argument otherwise. The value is
/// taken verbatim (`key.separator= ` is a space), as Kafka's tools take it.
pub fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("'{text}' is not key=value"))
}

/// Java's `text.split(separator)`: the pieces, trailing empty ones dropped (an empty text is
/// one empty piece), as Kafka's tools split their list arguments.
pub fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut pieces: Vec<&str> = text.split(separator).collect();
    while !text.is_empty() && pieces.last() == Some(&"") {
        pieces.pop();
    }
    pieces
}
