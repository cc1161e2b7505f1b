//! kafka-producer-perf-test's flags in `perf-test producer`: `--producer-props` and
//! `--producer.config` (Kafka's `readProps`), `--payload-file` with `--payload-delimiter`
//! (Kafka's `readPayloadFile`; the picks are Java's `SplittableRandom(0).nextInt`, whose
//! values a JVM printed: 1,1,0,0,1,1,2,0 for a bound of 3), `--payload-monotonic`, and
//! the summary line's formats (`%.2f` average and maximum, `%d` percentiles).

mod cli_support;
mod common;

use std::path::Path;

use cli_support::{fails, ok};
use kafkalite::Cluster;

/// The values of topic `perf`, partition 0, in order.
fn values(dir: &Path) -> Vec<String> {
    let cluster = Cluster::open(dir).unwrap();
    let log = cluster.partition("perf", 0).unwrap();
    let values = common::read_all(&log)
        .into_iter()
        .map(|(_, _, value)| String::from_utf8(value).unwrap())
        .collect();
    drop(log);
    cluster.close().unwrap();
    values
}

#[test]
fn payload_files_are_picked_as_kafkas_tool_picks_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = &dir.path().join("data");
    let file = dir.path().join("payloads.txt");
    std::fs::write(&file, "alpha\nbeta\ngamma\n").unwrap();
    let out = ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "8",
            "--payload-file",
            file.to_str().unwrap(),
            "--producer-props",
            "acks=all",
            "linger.ms=0",
        ],
    );
    let absolute = std::path::absolute(&file).unwrap();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("Reading payloads from: {}", absolute.display())
    );
    assert_eq!(lines.next().unwrap(), "Number of messages read: 3");
    assert!(
        lines.next().unwrap().starts_with("8 records sent, "),
        "{out}"
    );
    let picks = [
        "beta", "beta", "alpha", "alpha", "beta", "beta", "gamma", "alpha",
    ];
    assert_eq!(values(d), picks);
    // A delimiter is a regular expression.
    std::fs::write(&file, "x|y").unwrap();
    ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "2",
            "--payload-file",
            file.to_str().unwrap(),
            "--payload-delimiter",
            "\\|",
        ],
    );
    assert!(values(d)[8..].iter().all(|v| v == "x" || v == "y"));
    std::fs::write(&file, "").unwrap();
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--payload-file",
            file.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("File does not exist or empty file provided."),
        "{err}"
    );
}

#[test]
fn monotonic_payloads_props_and_the_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = &dir.path().join("data");
    let config = dir.path().join("producer.properties");
    std::fs::write(&config, "linger.ms=0\nacks=1\n").unwrap();
    let out = ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "5",
            "--payload-monotonic",
            "--producer.config",
            config.to_str().unwrap(),
            "--producer-props",
            "acks=all",
        ],
    );
    assert_eq!(values(d), ["0", "1", "2", "3", "4"]);
    // "%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max
    // latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th."
    let line = out.trim_end();
    let words: Vec<&str> = line.split(' ').collect();
    let decimals = |word: &str| word.split_once('.').map(|(_, f)| f.len());
    assert_eq!(words[0], "5");
    assert_eq!(decimals(words[3]), Some(1), "{line}");
    assert_eq!(decimals(&words[5][1..]), Some(2), "{line}");
    assert_eq!(decimals(words[7]), Some(2), "{line}");
    assert_eq!(decimals(words[11]), Some(2), "{line}");
    for at in [15, 18, 21, 24] {
        assert!(words[at].parse::<u64>().is_ok(), "{} in {line}", words[at]);
    }
    assert!(line.ends_with(" ms 99.9th."), "{line}");
    // Kafka's checks.
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--payload-monotonic",
            "--producer-props",
            "a=b=c",
        ],
    );
    assert!(err.contains("Invalid property: a=b=c"), "{err}");
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
        ],
    );
    assert!(
        err.contains("--record-size") && err.contains("--payload-file"),
        "{err}"
    );
    // The letters of --record-size payloads, as Kafka's tool draws them: nextInt(26) + 65
    // from SplittableRandom(0), which a JVM printed as 89,81,72,72,78,69,66,83.
    ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "2",
            "--record-size",
            "4",
        ],
    );
    assert_eq!(values(d)[5..], ["YQHH", "NEBS"]);
    // Java's split("=") needs two pieces: `k=` has one.
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--payload-monotonic",
            "--producer-props",
            "k=",
        ],
    );
    assert!(err.contains("Invalid property: k="), "{err}");
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--record-size",
            "0",
        ],
    );
    assert!(
        err.contains("--record-size should be greater than zero"),
        "{err}"
    );
}

/// `--print-metrics`: Kafka's `ToolsUtils.printMetrics` layout after the summary line (a
/// blank line, a header, `producer-metrics:<name>:{client-id=..} : value` sorted by name,
/// names padded to the longest, `%.3f` values), with the transactional call totals.
#[test]
fn print_metrics_lists_kafkas_producer_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = &dir.path().join("data");
    let out = ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "300",
            "--record-size",
            "10",
            "--transactional-id",
            "perf",
            "--producer-props",
            "client.id=perf-client",
            "--print-metrics",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("300 records sent"), "{out}");
    assert_eq!(lines[1], "", "{out}");
    assert!(lines[2].starts_with("Metric Name ") && lines[2].ends_with("   Value"));
    let metrics: Vec<(&str, f64)> = lines[3..]
        .iter()
        .map(|line| {
            let (name, value) = line.split_once(" : ").expect("name : value");
            (name.trim_end(), value.parse().expect("a number"))
        })
        .collect();
    let names: Vec<&str> = metrics.iter().map(|(name, _)| *name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    let widths: Vec<usize> = lines[3..].iter().map(|l| l.find(" : ").unwrap()).collect();
    assert!(widths
        .iter()
        .all(|w| *w == lines[2].find("   Value").unwrap()));
    let value = |name: &str| {
        metrics
            .iter()
            .find(|(n, _)| *n == format!("producer-metrics:{name}:{{client-id=perf-client}}"))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .1
    };
    assert_eq!(value("record-send-total"), 300.0);
    assert!(value("txn-init-time-ns-total") > 0.0);
    assert!(value("txn-commit-time-ns-total") > 0.0);
    assert_eq!(value("txn-abort-time-ns-total"), 0.0);
    assert!(lines[3..]
        .iter()
        .all(|l| l.rsplit_once('.').unwrap().1.len() == 3));

    // Without a client.id, Kafka's tool's own.
    let out = ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "1",
            "--record-size",
            "10",
            "--print-metrics",
        ],
    );
    let sent = out
        .lines()
        .find(|l| {
            l.starts_with("producer-metrics:record-send-total:{client-id=perf-producer-client} ")
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert!(sent.ends_with(" : 1.000"), "{sent}");
}
