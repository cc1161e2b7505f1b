//! `kafkalite produce`: kafka-console-producer over the local data directory.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use clap::Args;
use kafkalite::{Cluster, ProducerConfig, ProducerRecord, Properties};

use super::{parse_key_value, CliResult};

/// Which topic, and how lines become records.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    /// The topic (created with num.partitions=1 if missing, as Kafka's auto-create does).
    #[arg(long)]
    topic: String,
    /// Line parsing: parse.key, key.separator, parse.headers, headers.delimiter,
    /// headers.separator, headers.key.separator, null.marker, ignore.error.
    #[arg(long = "property", value_parser = parse_key_value)]
    properties: Vec<(String, String)>,
    /// A producer config, `key=value`; repeatable.
    #[arg(long = "producer-property", value_parser = parse_key_value)]
    producer_properties: Vec<(String, String)>,
}

struct LineFormat {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    null_marker: Option<String>,
    ignore_error: bool,
}

impl LineFormat {
    fn from(properties: &[(String, String)]) -> Result<LineFormat, String> {
        let mut format = LineFormat {
            parse_key: false,
            key_separator: "\t".into(),
            parse_headers: false,
            headers_delimiter: "\t".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
            null_marker: None,
            ignore_error: false,
        };
        for (key, value) in properties {
            match key.as_str() {
                "parse.key" => format.parse_key = value == "true",
                "key.separator" => format.key_separator = value.clone(),
                "parse.headers" => format.parse_headers = value == "true",
                "headers.delimiter" => format.headers_delimiter = value.clone(),
                "headers.separator" => format.headers_separator = value.clone(),
                "headers.key.separator" => format.headers_key_separator = value.clone(),
                "null.marker" => format.null_marker = Some(value.clone()),
                "ignore.error" => format.ignore_error = value == "true",
                other => return Err(format!("unknown --property '{other}'")),
            }
        }
        Ok(format)
    }

    fn nullable(&self, text: &str) -> Option<Vec<u8>> {
        (self.null_marker.as_deref() != Some(text)).then(|| text.as_bytes().to_vec())
    }

    /// Kafka's layout: `headers<delimiter>key<separator>value`, each part optional.
    fn parse(&self, topic: &str, number: usize, line: &str) -> Result<ProducerRecord, String> {
        let mut record = ProducerRecord::to(topic);
        let mut rest = line;
        if self.parse_headers {
            let (headers, tail) = rest
                .split_once(self.headers_delimiter.as_str())
                .ok_or_else(|| {
                    format!("No headers delimiter found on line number {number}: '{line}'")
                })?;
            for header in headers
                .split(self.headers_separator.as_str())
                .filter(|h| !h.is_empty())
            {
                let (key, value) = header
                    .split_once(self.headers_key_separator.as_str())
                    .ok_or_else(|| format!("No header key separator found in pair '{header}' on line number {number}"))?;
                record.headers.push((key.to_string(), self.nullable(value)));
            }
            rest = tail;
        }
        if self.parse_key {
            let (key, value) = rest
                .split_once(self.key_separator.as_str())
                .ok_or_else(|| {
                    format!("No key separator found on line number {number}: '{line}'")
                })?;
            record.key = self.nullable(key);
            rest = value;
        }
        record.value = self.nullable(rest);
        Ok(record)
    }
}

/// Sends one record per stdin line; closes (delivering everything) at end of input.
pub fn run(data_dir: &Path, args: &ProduceArgs, _out: &mut dyn Write) -> CliResult {
    let format = LineFormat::from(&args.properties)?;
    let properties: Properties = args.producer_properties.iter().cloned().collect();
    let config = ProducerConfig::new()
        .set("acks", "all")?
        .set("linger.ms", "1000")?;
    let config = properties
        .iter()
        .try_fold(config, |c, (k, v)| c.set(k, v))?;
    let cluster = Cluster::builder().background(false).open(data_dir)?;
    let producer = cluster.producer(config)?;
    for (number, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let record = match format.parse(&args.topic, number + 1, &line) {
            Ok(record) => record,
            Err(message) if format.ignore_error => {
                writeln!(std::io::stderr(), "{message}")?;
                continue;
            }
            Err(message) => return Err(message.into()),
        };
        producer.send(record)?;
    }
    // Close delivers everything sent; the cluster is closed even if that fails.
    let delivered = producer.close(Duration::from_secs(60));
    cluster.close()?;
    Ok(delivered?)
}
