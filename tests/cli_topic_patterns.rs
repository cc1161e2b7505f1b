//! Kafka's topic patterns in the tools: `topics --topic REGEX` (list, describe, alter,
//! delete), `--exclude-internal` and the describe reports, `get-offsets --topic REGEX` and
//! `--topic-partitions`, `consume --include`. The expected behaviour is Kafka's
//! `TopicFilter.IncludeList` (whole-name matches, `,` for `|`), `TopicCommand`,
//! `GetOffsetShell`, and `ConsoleConsumer` (`subscribe(Pattern.compile(include))`: the
//! pattern as it is).

mod cli_support;

use std::path::Path;

use cli_support::{fails, ok, ok_with_stderr};
use kafkalite::{Cluster, CommitMode, ConsumerConfig, NewTopic, ProducerConfig, ProducerRecord};

/// Topics `orders` (2 partitions, retention.ms overridden), `orders-eu`, `pay` and
/// `t` (12 partitions), one record in `pay`, and `__consumer_offsets` from a commit.
fn scenario(dir: &Path) {
    let cluster = Cluster::open(dir).unwrap();
    cluster
        .create_topic(NewTopic::new("orders", 2).config("retention.ms", "5000"))
        .unwrap();
    cluster.create_topic(NewTopic::new("orders-eu", 1)).unwrap();
    cluster.create_topic(NewTopic::new("pay", 1)).unwrap();
    cluster.create_topic(NewTopic::new("t", 12)).unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    producer
        .send(ProducerRecord::to("pay").value("p1"))
        .unwrap()
        .wait()
        .unwrap();
    let consumer = cluster
        .consumer(
            ConsumerConfig::with_group("g").auto_offset_reset(kafkalite::AutoOffsetReset::Earliest),
        )
        .unwrap();
    consumer.subscribe(&["pay"]).unwrap();
    while consumer
        .poll(std::time::Duration::from_millis(100))
        .unwrap()
        .is_empty()
    {}
    consumer.commit(CommitMode::Sync).unwrap();
    consumer.close().unwrap();
    cluster.close().unwrap();
}

#[test]
fn topics_list_and_describe_take_kafkas_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    // Internal topics are listed unless excluded, as Kafka's --list.
    assert_eq!(
        ok(d, &["topics", "--list"]),
        "__consumer_offsets\norders\norders-eu\npay\nt\n"
    );
    assert_eq!(
        ok(d, &["topics", "--list", "--exclude-internal"]),
        "orders\norders-eu\npay\nt\n"
    );
    // Whole names; `,` is `|`; spaces and quotes dropped.
    assert_eq!(
        ok(d, &["topics", "--list", "--topic", "orders"]),
        "orders\n"
    );
    assert_eq!(
        ok(d, &["topics", "--list", "--topic", "' orders.*, pay'"]),
        "orders\norders-eu\npay\n"
    );
    // Kafka prints the joined names with println: an empty line for none.
    assert_eq!(ok(d, &["topics", "--list", "--topic", "pa"]), "\n");
    assert_eq!(
        ok(
            d,
            &["topics", "--list", "--topic", "__.*", "--exclude-internal"]
        ),
        "\n"
    );
    let describe = ok(d, &["topics", "--describe", "--topic", "orders.*"]);
    let topic_lines: Vec<&str> = describe
        .lines()
        .filter(|l| l.starts_with("Topic:"))
        .collect();
    assert_eq!(topic_lines.len(), 2, "{describe}");
    assert!(topic_lines[0].starts_with("Topic: orders\t"), "{describe}");
    assert!(
        topic_lines[1].starts_with("Topic: orders-eu\t"),
        "{describe}"
    );
    assert_eq!(describe.lines().count(), 2 + 3, "{describe}");
    // A pattern matching nothing: Kafka's ensureTopicExists, unless --if-exists.
    assert!(fails(d, &["topics", "--describe", "--topic", "nope.*"])
        .contains("Topic 'nope.*' does not exist as expected"));
    assert_eq!(
        ok(
            d,
            &["topics", "--describe", "--topic", "nope.*", "--if-exists"]
        ),
        ""
    );
    assert!(fails(d, &["topics", "--list", "--topic", "orders["]).contains("invalid regex"));
}

#[test]
fn topics_describe_reports_overrides_and_replication_as_kafka_computes_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    // Only topics with overrides, their topic line only.
    let overrides = ok(
        d,
        &[
            "topics",
            "--describe",
            "--topics-with-overrides",
            "--exclude-internal",
        ],
    );
    assert_eq!(overrides.lines().count(), 1, "{overrides}");
    assert!(overrides.starts_with("Topic: orders\t"), "{overrides}");
    assert!(
        overrides.contains("Configs: retention.ms=5000"),
        "{overrides}"
    );
    // One replica, in sync, min.insync.replicas 1: nothing is under-replicated,
    // unavailable or under min ISR; every partition is at min ISR (partition lines only).
    for report in [
        "--under-replicated-partitions",
        "--unavailable-partitions",
        "--under-min-isr-partitions",
    ] {
        let (out, note) = ok_with_stderr(d, &["topics", "--describe", report]);
        assert_eq!(out, "", "{report}");
        assert!(note.contains("always in sync"), "{report}: {note}");
    }
    let at_min = ok(
        d,
        &[
            "topics",
            "--describe",
            "--at-min-isr-partitions",
            "--topic",
            "orders",
        ],
    );
    let lines: Vec<&str> = at_min.lines().collect();
    assert_eq!(lines.len(), 2, "{at_min}");
    assert!(lines
        .iter()
        .all(|l| l.starts_with("\tTopic: orders\tPartition: ")));
    assert!(fails(d, &["topics", "--list", "--topics-with-overrides"]).contains("--describe"));
}

#[test]
fn topics_alter_and_delete_apply_to_every_matching_topic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    ok(
        d,
        &[
            "topics",
            "--alter",
            "--topic",
            "orders.*",
            "--partitions",
            "3",
        ],
    );
    let cluster = Cluster::open(d).unwrap();
    for topic in ["orders", "orders-eu"] {
        assert_eq!(cluster.describe_topic(topic).unwrap().partitions.len(), 3);
    }
    assert_eq!(cluster.describe_topic("pay").unwrap().partitions.len(), 1);
    cluster.close().unwrap();
    ok(d, &["topics", "--delete", "--topic", "orders-eu,pay"]);
    assert_eq!(
        ok(d, &["topics", "--list", "--exclude-internal"]),
        "orders\nt\n"
    );
    // One topic's failure (an internal topic cannot be deleted) leaves the others done, as
    // Kafka's one request for them all; the command fails.
    assert!(fails(
        d,
        &["topics", "--delete", "--topic", "__consumer_offsets|t"]
    )
    .contains("__consumer_offsets"));
    assert_eq!(ok(d, &["topics", "--list"]), "__consumer_offsets\norders\n");
    // Without --topic, alter and delete refuse rather than touch every topic.
    assert!(fails(d, &["topics", "--delete"]).contains("--topic is required"));
}

#[test]
fn get_offsets_takes_patterns_and_sorts_as_kafka_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    // GetOffsetShell sorts by the text "topic-partition": t-10 before t-2.
    let t: Vec<String> = ok(d, &["get-offsets", "--topic", "t"])
        .lines()
        .map(String::from)
        .collect();
    let mut expected: Vec<String> = (0..12).map(|p| format!("t:{p}:0")).collect();
    expected.sort_by_key(|line| {
        let [topic, partition, _] = line.split(':').collect::<Vec<_>>()[..] else {
            unreachable!()
        };
        format!("{topic}-{partition}")
    });
    assert_eq!(t, expected);
    assert_eq!(&t[..4], ["t:0:0", "t:1:0", "t:10:0", "t:11:0"]);
    assert_eq!(
        ok(
            d,
            &[
                "get-offsets",
                "--topic",
                "orders.*,pay",
                "--partitions",
                "0"
            ]
        ),
        "orders:0:0\norders-eu:0:0\npay:0:1\n"
    );
    // Rules: a topic pattern and N, N-M (M exclusive), N- or -M; rules are or-ed.
    assert_eq!(
        ok(
            d,
            &["get-offsets", "--topic-partitions", "t:2-4,orders:1,pay,"]
        ),
        "orders:1:0\npay:0:1\nt:2:0\nt:3:0\n"
    );
    assert_eq!(
        ok(
            d,
            &["get-offsets", "--topic-partitions", "t:-2", "--time", "-2"]
        ),
        "t:0:0\nt:1:0\n"
    );
    assert_eq!(
        ok(d, &["get-offsets", "--topic-partitions", "t:10-"]),
        "t:10:0\nt:11:0\n"
    );
    // All topics, internal ones unless excluded.
    let all = ok(d, &["get-offsets"]);
    assert!(all.starts_with("__consumer_offsets:0:"), "{all}");
    assert!(!ok(d, &["get-offsets", "--exclude-internal-topics"]).contains("__consumer"));
    // -4 is the earliest (no tiered storage); -5 has no offset to print.
    assert_eq!(
        ok(
            d,
            &["get-offsets", "--topic", "pay", "--time", "earliest-local"]
        ),
        "pay:0:0\n"
    );
    assert_eq!(
        ok(d, &["get-offsets", "--topic", "pay", "--time", "-5"]),
        ""
    );
    assert!(fails(d, &["get-offsets", "--topic-partitions", "t:x"])
        .contains("Invalid rule specification: t:x"));
    assert!(fails(
        d,
        &["get-offsets", "--topic", "t", "--topic-partitions", "t"]
    )
    .contains("cannot be used with"));
    assert!(
        fails(d, &["get-offsets", "--topic", "t", "--partitions", "a"])
            .contains("--partitions expects a comma separated list of numeric partition ids")
    );
}

#[test]
fn consume_include_subscribes_to_a_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    let cluster = Cluster::open(d).unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    for (topic, value) in [("orders", "o1"), ("orders-eu", "e1"), ("t", "t1")] {
        producer
            .send(ProducerRecord::to(topic).partition(0).value(value))
            .unwrap()
            .wait()
            .unwrap();
    }
    cluster.close().unwrap();
    let (out, stderr) = ok_with_stderr(
        d,
        &[
            "consume",
            "--include",
            "orders.*|pay",
            "--from-beginning",
            "--group",
            "inc",
            "--max-messages",
            "3",
            "--property",
            "print.partition=true",
        ],
    );
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["Partition:0\te1", "Partition:0\to1", "Partition:0\tp1"]
    );
    assert!(
        stderr.contains("Processed a total of 3 messages"),
        "{stderr}"
    );
    // No IncludeList rewriting: a `,` is a comma, so this matches no topic.
    let (none, _) = ok_with_stderr(
        d,
        &[
            "consume",
            "--include",
            "orders,pay",
            "--from-beginning",
            "--timeout-ms",
            "300",
        ],
    );
    assert_eq!(none, "");
    assert!(
        fails(d, &["consume", "--include", "a", "--topic", "t"]).contains("cannot be used with")
    );
    assert!(fails(d, &["consume"]).contains("--include"));
}
