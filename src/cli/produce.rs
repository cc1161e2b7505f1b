//! `kafkalite produce`: kafka-console-producer over the local data directory.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use kafkalite::{Cluster, Producer, ProducerConfig, ProducerRecord, Properties};

use crossbeam::channel::Receiver;

use super::delivery::Tally;
use super::signals::{Interrupted, OnInterrupt};
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

    fn nullable(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        (self.null_marker.as_deref().map(str::as_bytes) != Some(bytes)).then(|| bytes.to_vec())
    }

    /// Kafka's layout: `headers<delimiter>key<separator>value`, each part optional. Lines
    /// are bytes, as in Kafka's console producer: a line that is not UTF-8 is still a record.
    fn parse(&self, topic: &str, number: usize, line: &[u8]) -> Result<ProducerRecord, String> {
        let shown = || String::from_utf8_lossy(line).into_owned();
        let mut record = ProducerRecord::to(topic);
        let mut rest = line;
        if self.parse_headers {
            let (headers, tail) =
                split_once(rest, self.headers_delimiter.as_bytes()).ok_or_else(|| {
                    format!(
                        "No headers delimiter found on line number {number}: '{}'",
                        shown()
                    )
                })?;
            let separator = self.headers_separator.as_bytes();
            for header in split_all(headers, separator).filter(|h| !h.is_empty()) {
                let (key, value) = split_once(header, self.headers_key_separator.as_bytes())
                    .ok_or_else(|| {
                        format!(
                            "No header key separator found in pair '{}' on line number {number}",
                            String::from_utf8_lossy(header)
                        )
                    })?;
                let key = String::from_utf8_lossy(key).into_owned();
                record.headers.push((key, self.nullable(value)));
            }
            rest = tail;
        }
        if self.parse_key {
            let (key, value) =
                split_once(rest, self.key_separator.as_bytes()).ok_or_else(|| {
                    format!(
                        "No key separator found on line number {number}: '{}'",
                        shown()
                    )
                })?;
            record.key = self.nullable(key);
            rest = value;
        }
        record.value = self.nullable(rest);
        Ok(record)
    }
}

/// `hay` split at the first `separator`.
fn split_once<'a>(hay: &'a [u8], separator: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if separator.is_empty() {
        return None;
    }
    let at = hay.windows(separator.len()).position(|w| w == separator)?;
    Some((&hay[..at], &hay[at + separator.len()..]))
}

/// `hay` split at every `separator`.
fn split_all<'a>(mut hay: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        match split_once(hay, separator) {
            Some((head, tail)) => {
                hay = tail;
                Some(head)
            }
            None => {
                done = true;
                Some(hay)
            }
        }
    })
}

/// Sends one record per stdin line (bytes, without the line ending); closes (delivering
/// everything) at end of input, or on Ctrl-C / SIGTERM (delivering everything read; the
/// command then exits with 128 + the signal). Every failed delivery is reported on stderr
/// and makes the command fail, with how many records were acknowledged.
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
    let tally = Tally::new();
    let (stop, stopped) = crossbeam::channel::bounded(1);
    let interrupt = OnInterrupt::install(move |signal| {
        let _ = stop.try_send(signal);
    })?;
    let sent = send_lines(&producer, &format, &args.topic, &tally, &stopped);
    // Close delivers everything sent; the cluster is closed even if that fails.
    let delivered = producer.close(Duration::from_secs(60));
    cluster.close()?;
    drop(interrupt);
    let signal = sent?;
    delivered?;
    tally.check()?;
    match signal {
        Some(signal) => Err(Box::new(Interrupted(signal))),
        None => Ok(()),
    }
}

/// Sends stdin's lines until its end (`None`) or a signal (`Some(signal)`).
fn send_lines(
    producer: &Producer,
    format: &LineFormat,
    topic: &str,
    tally: &Arc<Tally>,
    stopped: &Receiver<i32>,
) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    let lines = read_lines();
    tracing::debug!("reading records from stdin");
    for number in 1.. {
        let line = crossbeam::channel::select! {
            recv(lines) -> line => match line {
                Ok(line) => line?,
                Err(_) => return Ok(None),
            },
            recv(stopped) -> signal => return Ok(signal.ok()),
        };
        tracing::debug!("read line {number}");
        let record = match format.parse(topic, number, &line) {
            Ok(record) => record,
            Err(message) if format.ignore_error => {
                writeln!(std::io::stderr(), "{message}")?;
                continue;
            }
            Err(message) => return Err(message.into()),
        };
        let (key, value) = (
            record.key.as_ref().map(Vec::len),
            record.value.as_ref().map(Vec::len),
        );
        let counter = Arc::clone(tally);
        let topic_name = topic.to_string();
        let callback =
            move |result: kafkalite::Result<_>| counter.record(&topic_name, key, value, &result);
        if let Err(refused) = producer.send_with_callback(record, callback) {
            tally.failure(topic, key, value, &refused.error);
        }
    }
    Ok(None)
}

/// Stdin's lines (bytes, without the line ending: `\n`, `\r\n` or `\r`, as Java's
/// `readLine`), read on a thread of its own so that a signal need not wait for input.
fn read_lines() -> Receiver<std::io::Result<Vec<u8>>> {
    let (lines, read) = crossbeam::channel::bounded(1024);
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => {
                    while matches!(line.last(), Some(b'\n' | b'\r')) {
                        line.pop();
                    }
                    if lines.send(Ok(line)).is_err() {
                        return;
                    }
                }
                Err(error) => {
                    let _ = lines.send(Err(error));
                    return;
                }
            }
        }
    });
    read
}
