//! The `kafkalite` binary: kafka-topics, kafka-dump-log, kafka-get-offsets,
//! kafka-console-producer/consumer, kafka-consumer-groups, the perf tests and repair, their
//! output layout, errors on stderr with a non-zero exit status, and the demo.

mod cli_support;
mod common;

use std::path::Path;
use std::process::Command;

use kafkalite::{Cluster, NewTopic};

use cli_support::{fails, ok, run, run_with_stdin};

#[test]
fn topics_create_list_describe_alter_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        ok(
            d,
            &[
                "topics",
                "--create",
                "--topic",
                "orders",
                "--partitions",
                "2",
                "--config",
                "retention.ms=1000"
            ]
        ),
        "Created topic orders.\n"
    );
    let out = ok(
        d,
        &["topics", "--create", "--topic", "a.b", "--partitions", "1"],
    );
    assert!(
        out.starts_with("WARNING: Due to limitations in metric names"),
        "{out}"
    );
    assert!(fails(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "orders",
            "--partitions",
            "2"
        ]
    )
    .contains("already exists"));
    ok(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "orders",
            "--partitions",
            "2",
            "--if-not-exists",
        ],
    );
    assert_eq!(ok(d, &["topics", "--list"]), "a.b\norders\n");

    let describe = ok(d, &["topics", "--describe", "--topic", "orders"]);
    let lines: Vec<&str> = describe.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("Topic: orders\tTopicId: "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=1000"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: \tLogStartOffset: 0\tLogEndOffset: 0");

    ok(
        d,
        &[
            "topics",
            "--alter",
            "--topic",
            "orders",
            "--partitions",
            "4",
        ],
    );
    assert!(ok(d, &["topics", "--describe", "--topic", "orders"]).contains("PartitionCount: 4"));
    assert!(fails(
        d,
        &[
            "topics",
            "--alter",
            "--topic",
            "orders",
            "--partitions",
            "3"
        ]
    )
    .contains("not be an increase"));

    ok(d, &["topics", "--delete", "--topic", "orders"]);
    assert!(fails(d, &["topics", "--delete", "--topic", "orders"]).contains("does not exist"));
    ok(
        d,
        &["topics", "--delete", "--topic", "orders", "--if-exists"],
    );
    assert_eq!(ok(d, &["topics", "--list"]), "a.b\n");
}

/// `--bootstrap-server`, typed by habit, is accepted anywhere with a one-line note that it
/// is ignored (the data directory is the cluster), and the command runs as without it.
#[test]
fn bootstrap_server_is_accepted_and_noted_as_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Without --partitions, Kafka's default num.partitions: 1.
    ok(d, &["topics", "--create", "--topic", "t"]);
    let described = ok(d, &["topics", "--describe", "--topic", "t"]);
    assert!(described.contains("PartitionCount: 1"), "{described}");
    let listed = run(
        d,
        &["topics", "--list", "--bootstrap-server", "localhost:9092"],
    );
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "t\n");
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--bootstrap-server localhost:9092 is ignored")
            && stderr.contains(&d.display().to_string()),
        "{stderr}"
    );
    // Without it, no note.
    assert!(run(d, &["topics", "--list"]).stderr.is_empty());
}

/// `configs` as kafka-configs for topics. The expected lines follow Kafka's
/// `ConfigCommand.describeResourceConfig` (`<Dynamic|All> configs for topic T are:`, then
/// `  k=v sensitive=false synonyms={...}`), its synonyms from `ConfigHelper` and
/// `ServerTopicConfigSynonyms` (the topic's override as `DYNAMIC_TOPIC_CONFIG`, then the
/// first broker synonym's default as `DEFAULT_CONFIG`; `log.retention.ms` has none), and
/// `Completed updating config for topic T.` after an alter.
#[test]
fn configs_describe_and_alter_a_topic_as_kafka_configs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "t",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "retention.ms=3600000",
        ],
    );
    let describe = ["configs", "--describe", "--entity-type", "topics"];
    assert_eq!(
        ok(d, &[&describe[..], &["--entity-name", "t"]].concat()),
        "Dynamic configs for topic t are:\n  \
         cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n  \
         retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000}\n"
    );
    let altered = ok(
        d,
        &[
            "configs",
            "--alter",
            "--topic",
            "t",
            "--add-config",
            "segment.bytes=1048576,min.cleanable.dirty.ratio=0.2",
            "--delete-config",
            "retention.ms",
        ],
    );
    assert_eq!(altered, "Completed updating config for topic t.\n");
    assert_eq!(
        ok(d, &["configs", "--describe", "--topic", "t"]),
        "Dynamic configs for topic t are:\n  \
         cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n  \
         min.cleanable.dirty.ratio=0.2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.cleanable.dirty.ratio=0.2, DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5}\n  \
         segment.bytes=1048576 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=1048576, DEFAULT_CONFIG:log.segment.bytes=1073741824}\n"
    );
    // The change is the topic's: kafka-topics shows it, and it survived the reopen.
    let topic = ok(d, &["topics", "--describe", "--topic", "t"]);
    assert!(topic.contains("segment.bytes=1048576"), "{topic}");
    assert!(!topic.contains("retention.ms"), "{topic}");
    // --all: every config, the defaults with their broker synonym (or none).
    let all = ok(d, &["configs", "--describe", "--topic", "t", "--all"]);
    assert!(all.starts_with("All configs for topic t are:\n"), "{all}");
    for line in [
        "  retention.ms=604800000 sensitive=false synonyms={}",
        "  retention.bytes=-1 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.bytes=-1}",
        "  max.message.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}",
    ] {
        assert!(all.lines().any(|l| l == line), "{line}\n{all}");
    }
    // Kafka's refusals: a config to delete that is not set, another entity type.
    let refused = fails(
        d,
        &[
            "configs",
            "--alter",
            "--topic",
            "t",
            "--delete-config",
            "retention.ms",
        ],
    );
    assert!(
        refused.contains("Invalid config(s): retention.ms"),
        "{refused}"
    );
    let unknown = fails(
        d,
        &[
            "configs",
            "--alter",
            "--topic",
            "t",
            "--add-config",
            "retention.msec=5",
        ],
    );
    assert!(unknown.contains("retention.ms"), "{unknown}");
    let brokers = fails(
        d,
        &[
            "configs",
            "--describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            "0",
        ],
    );
    assert!(brokers.contains("only topics"), "{brokers}");
    // --add-config-file: a properties file, as Kafka's.
    let file = d.join("retention.properties");
    std::fs::write(&file, "# shorter\nretention.ms = 1000\n").unwrap();
    let file = file.to_str().unwrap();
    ok(
        d,
        &[
            "configs",
            "--alter",
            "--topic",
            "t",
            "--add-config-file",
            file,
        ],
    );
    let topic = ok(d, &["topics", "--describe", "--topic", "t"]);
    assert!(topic.contains("retention.ms=1000"), "{topic}");
}

#[test]
fn topic_errors_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "topics --create --topic bad# --partitions 1",
            "invalid topic",
        ),
        ("topics --create --topic t --partitions 0", "at least 1"),
        ("topics --create --topic t --partitions -2", "at least 1"),
        (
            "topics --create --topic t --partitions 1 --config segment.byte=5",
            "did you mean 'segment.bytes'",
        ),
        (
            "topics --create --topic t --partitions 1 --config retention.ms=soon",
            "retention.ms",
        ),
        (
            "topics --create --topic t --partitions 1 --replication-factor 3",
            "replication factor",
        ),
        ("topics --describe --topic nope", "does not exist"),
        ("topics", "--create"),
    ];
    for (command, expected) in cases {
        let args: Vec<&str> = command.split_whitespace().collect();
        let stderr = fails(dir.path(), &args);
        assert!(stderr.contains(expected), "{command}: {stderr}");
    }
}

fn populated(dir: &Path) {
    let cluster = Cluster::open(dir).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 2).config("index.interval.bytes", "10"))
        .unwrap();
    for i in 0..4 {
        let log = cluster.partition("t", i % 2).unwrap();
        let first = usize::try_from(i).unwrap() * 3;
        log.append(&common::batch(first, 3, 5, 1000 + i64::from(i) * 100))
            .unwrap();
    }
    cluster.close().unwrap();
}

#[test]
fn get_offsets_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    populated(d);
    assert_eq!(ok(d, &["get-offsets", "--topic", "t"]), "t:0:6\nt:1:6\n");
    assert_eq!(
        ok(d, &["get-offsets", "--topic", "t", "--time", "-2"]),
        "t:0:0\nt:1:0\n"
    );
    assert_eq!(
        ok(d, &["get-offsets", "--topic", "t", "--time", "1150"]),
        "t:0:3\nt:1:3\n"
    );
    // -3: the first record with each partition's largest timestamp (1200 and 1300, the
    // second batch's first record in both).
    for max in ["-3", "max-timestamp"] {
        assert_eq!(
            ok(d, &["get-offsets", "--topic", "t", "--time", max]),
            "t:0:3\nt:1:3\n"
        );
    }
    assert_eq!(
        ok(
            d,
            &[
                "get-offsets",
                "--topic",
                "t",
                "--time",
                "1250",
                "--partitions",
                "1"
            ]
        ),
        "t:1:3\n"
    );
    assert_eq!(
        ok(d, &["get-offsets", "--topic", "t", "--time", "5000"]),
        "",
        "no record that late"
    );
    // GetOffsetShell's own messages.
    assert!(
        fails(d, &["get-offsets", "--topic", "t", "--time", "yesterday"])
            .contains("Malformed time argument yesterday")
    );
    assert!(fails(d, &["get-offsets", "--topic", "missing"])
        .contains("Could not match any topic-partitions with the specified filters"));
}

#[test]
fn dump_log_prints_batches_records_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    populated(d);
    let segment = d.join("t-0/00000000000000000000.log");
    let file = segment.to_str().unwrap();
    let out = ok(d, &["dump-log", "--files", file]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("Dumping {file}"));
    assert_eq!(lines[1], "Log starting offset: 0");
    assert!(lines[2].starts_with("baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1000 size: "), "{}", lines[2]);
    assert!(
        lines[2].ends_with("isvalid: true")
            && lines[2].contains("magic: 2 compresscodec: none crc: ")
    );
    assert_eq!(
        lines.len(),
        4,
        "two batches, no records without --print-data-log"
    );

    let out = ok(d, &["dump-log", "--files", file, "--print-data-log"]);
    assert!(out.contains("| offset: 0 CreateTime: 1000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: [n] key: k0 payload: v0-.."), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("| offset:")).count(),
        6
    );

    let mut bytes = std::fs::read(&segment).unwrap();
    bytes.extend_from_slice(b"junk!");
    std::fs::write(&segment, bytes).unwrap();
    assert!(ok(d, &["dump-log", "--files", file])
        .ends_with(&format!("Found 5 invalid bytes at the end of {file}\n")));

    let index = d.join("t-0/00000000000000000000.index");
    let timeindex = d.join("t-0/00000000000000000000.timeindex");
    let files = format!("{},{}", index.display(), timeindex.display());
    let out = ok(d, &["dump-log", "--files", &files]);
    assert!(out.contains("offset: 5 position: "), "{out}");
    assert!(out.contains("timestamp: 1200 offset: 5"), "{out}");

    assert!(fails(
        d,
        &[
            "dump-log",
            "--files",
            "/nonexistent/00000000000000000000.log"
        ]
    )
    .contains("No such file"));
    assert!(fails(d, &["dump-log", "--files", "notes.txt"]).contains("20-digit"));
}

/// `dump-log` of a `.txnindex` and a producer `.snapshot` prints kafka-dump-log's lines
/// (`DumpLogSegments.dumpTxnIndex`, `dumpProducerIdSnapshot`).
#[test]
fn dump_log_prints_transaction_indexes_and_producer_snapshots() {
    const T: i64 = 1_700_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    {
        let clock = kafkalite::MockClock::new(T + 5);
        let cluster = Cluster::builder()
            .clock(std::sync::Arc::new(clock))
            .background(false)
            .open(d)
            .unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        // Producer 7's transaction (0-1), aborted by a coordinator at epoch 4 (2).
        let mut txn = kafkalite::BatchBuilder::new()
            .producer(7, 0, 0)
            .transactional(true);
        txn.append(T, Some(b"a"), Some(b"1"), &[]).unwrap();
        txn.append(T + 1, Some(b"b"), Some(b"2"), &[]).unwrap();
        log.append(&txn.build().unwrap()).unwrap();
        log.write_transaction_marker(7, 0, 4, false).unwrap();
        // Producer 8, idempotent, one record (3).
        let mut one = kafkalite::BatchBuilder::new().producer(8, 2, 0);
        one.append(T + 3, Some(b"c"), Some(b"3"), &[]).unwrap();
        log.append(&one.build().unwrap()).unwrap();
        log.roll().unwrap();
        cluster.close().unwrap();
    }
    let index = d.join("t-0/00000000000000000000.txnindex");
    let out = ok(d, &["dump-log", "--files", index.to_str().unwrap()]);
    // Aborted at 2, when nothing else was open: the LSO went to 3.
    assert_eq!(
        out,
        format!(
            "Dumping {}\nversion: 0 producerId: 7 firstOffset: 0 lastOffset: 2 lastStableOffset: 3\n",
            index.display()
        )
    );
    let snapshot = d.join("t-0/00000000000000000004.snapshot");
    let out = ok(d, &["dump-log", "--files", snapshot.to_str().unwrap()]);
    // The marker leaves producer 7's last batch (same epoch) and takes its time; a snapshot
    // keeps one timestamp per producer, so the batch reads back with it, as in Kafka.
    let t5 = T + 5;
    let t3 = T + 3;
    assert_eq!(
        out,
        format!(
            "Dumping {}\n\
             producerId: 7 producerEpoch: 0 coordinatorEpoch: 4 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: {t5} firstSequence: 0 lastSequence: 1 lastOffset: 1 offsetDelta: 1 timestamp: {t5}\n\
             producerId: 8 producerEpoch: 2 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: {t3} firstSequence: 0 lastSequence: 0 lastOffset: 3 offsetDelta: 0 timestamp: {t3}\n",
            snapshot.display()
        )
    );
    let segment = d.join("t-0/00000000000000000000.log");
    let out = ok(
        d,
        &[
            "dump-log",
            "--files",
            segment.to_str().unwrap(),
            "--print-data-log",
        ],
    );
    assert!(
        out.contains("| offset: 2 CreateTime: 1700000000005 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: ABORT coordinatorEpoch: 4"),
        "{out}"
    );
}

/// `consume --isolation-level read_committed` skips an aborted transaction's records, as
/// `kafka-console-consumer --isolation-level read_committed` does; the default reads them.
#[test]
fn consume_reads_committed_records_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    {
        let cluster = Cluster::open(d).unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        let mut txn = kafkalite::BatchBuilder::new()
            .producer(7, 0, 0)
            .transactional(true);
        txn.append(1, None, Some(b"aborted"), &[]).unwrap();
        log.append(&txn.build().unwrap()).unwrap();
        let mut plain = kafkalite::BatchBuilder::new();
        plain.append(1, None, Some(b"kept"), &[]).unwrap();
        log.append(&plain.build().unwrap()).unwrap();
        log.write_transaction_marker(7, 0, 0, false).unwrap();
    }
    let consume = |extra: &[&str]| {
        let mut args = vec![
            "consume",
            "--topic",
            "t",
            "--from-beginning",
            "--timeout-ms",
            "300",
        ];
        args.extend_from_slice(extra);
        String::from_utf8(run(d, &args).stdout).unwrap()
    };
    assert_eq!(consume(&[]), "aborted\nkept\n");
    assert_eq!(
        consume(&["--isolation-level", "read_uncommitted"]),
        "aborted\nkept\n"
    );
    assert_eq!(consume(&["--isolation-level", "read_committed"]), "kept\n");
    assert!(fails(
        d,
        &["consume", "--topic", "t", "--isolation-level", "dirty"]
    )
    .contains("read_committed"));
}

/// `perf-test producer --transactional-id` commits every `--transaction-duration-ms`, as
/// Kafka's `ProducerPerformance`: every record ends up committed.
#[test]
fn perf_test_producer_runs_in_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "t",
            "--num-records",
            "500",
            "--record-size",
            "10",
            "--transactional-id",
            "perf",
            "--transaction-duration-ms",
            "1",
        ],
    );
    assert!(out.starts_with("500 records sent"), "{out}");
    let listed = ok(d, &["transactions", "list"]);
    let row: Vec<&str> = listed
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .map(str::trim)
        .collect();
    assert_eq!((row[0], row[3]), ("perf", "CompleteCommit"), "{listed}");
    let cluster = Cluster::open(d).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    assert_eq!(log.last_stable_offset(), log.high_watermark());
    assert!(log.high_watermark() > 500, "markers after the records");
    let err = fails(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "t",
            "--num-records",
            "1",
            "--record-size",
            "1",
            "--transaction-duration-ms",
            "0",
        ],
    );
    assert!(
        err.contains("--transaction-duration-ms should be greater than zero"),
        "{err}"
    );
}

/// Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to its column's width, then a tab.
fn pretty_table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap())
        .collect();
    let mut table = String::new();
    for row in rows {
        for (cell, width) in row.iter().zip(&widths) {
            table.push_str(&format!("{cell:<width$}\t"));
        }
        table.push('\n');
    }
    table
}

/// `transactions list` and `describe` print `kafka-transactions.sh`'s tables
/// (`TransactionsCommand.ListTransactionsCommand`, `DescribeTransactionsCommand`).
#[test]
fn transactions_list_and_describe_print_kafkas_tables() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = {
        let cluster = Cluster::open(d).unwrap();
        cluster.create_topic(NewTopic::new("t", 2)).unwrap();
        for (id, commit) in [("alpha", true), ("beta", false)] {
            let producer = cluster
                .producer(kafkalite::ProducerConfig::new().transactional_id(id))
                .unwrap();
            let t = std::time::Duration::from_secs(30);
            producer.init_transactions(t).unwrap();
            producer.begin_transaction().unwrap();
            producer
                .send(
                    kafkalite::ProducerRecord::to("t")
                        .partition(1)
                        .value(b"v".to_vec()),
                )
                .unwrap();
            producer.flush(t).unwrap();
            if commit {
                producer.commit_transaction(t).unwrap();
            } else {
                producer.abort_transaction(t).unwrap();
            }
        }
        let id = |t: &str| cluster.describe_transaction(t).unwrap().unwrap();
        (id("alpha"), id("beta"))
    };
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let list = ok(d, &["transactions", "list"]);
    assert_eq!(
        list,
        pretty_table(&[
            row(&[
                "TransactionalId",
                "Coordinator",
                "ProducerId",
                "TransactionState"
            ]),
            row(&[
                "alpha",
                "0",
                &ids.0.producer_id.to_string(),
                "CompleteCommit"
            ]),
            row(&["beta", "0", &ids.1.producer_id.to_string(), "CompleteAbort"]),
        ])
    );
    // Kafka's filter: transactions whose last one started longer ago than the filter.
    let filtered = ok(d, &["transactions", "list", "--duration-filter", "3600000"]);
    assert_eq!(filtered.lines().count(), 1, "only the headers: {filtered}");
    let described = ok(
        d,
        &["transactions", "describe", "--transactional-id", "beta"],
    );
    let cells: Vec<Vec<&str>> = described
        .lines()
        .map(|line| line.split('\t').map(str::trim_end).collect())
        .collect();
    assert_eq!(
        cells[0],
        [
            "CoordinatorId",
            "TransactionalId",
            "ProducerId",
            "ProducerEpoch",
            "TransactionState",
            "TransactionTimeoutMs",
            "CurrentTransactionStartTimeMs",
            "TransactionDurationMs",
            "TopicPartitions",
            ""
        ]
    );
    let start = ids.1.transaction_start_time_ms.unwrap();
    let duration: i64 = cells[1][7].parse().unwrap();
    assert!(duration >= 0, "{described}");
    assert_eq!(
        cells[1],
        [
            "0",
            "beta",
            &ids.1.producer_id.to_string(),
            &ids.1.producer_epoch.to_string(),
            "CompleteAbort",
            "60000",
            &start.to_string(),
            cells[1][7],
            "",
            ""
        ]
    );
    let err = fails(
        d,
        &["transactions", "describe", "--transactional-id", "nope"],
    );
    assert!(
        err.contains("Failed to describe transaction state of transactional-id `nope`"),
        "{err}"
    );
}

/// `transactions describe-producers` prints `kafka-transactions.sh describe-producers`'s
/// table: its six headers, each cell padded to the column's width and followed by a tab.
#[test]
fn transactions_describe_producers_prints_kafkas_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    {
        // The marker's timestamp is the cluster clock's.
        let cluster = Cluster::builder()
            .clock(std::sync::Arc::new(kafkalite::MockClock::new(3_000)))
            .open(d)
            .unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        let log = cluster.partition("t", 0).unwrap();
        let mut open = kafkalite::BatchBuilder::new()
            .producer(12, 3, 0)
            .transactional(true);
        open.append(1_000, None, Some(b"x"), &[]).unwrap();
        open.append(1_001, None, Some(b"y"), &[]).unwrap();
        log.append(&open.build().unwrap()).unwrap();
        let mut plain = kafkalite::BatchBuilder::new().producer(7, 0, 0);
        plain.append(2_000, None, Some(b"z"), &[]).unwrap();
        log.append(&plain.build().unwrap()).unwrap();
        // Left open, the transaction would be aborted by the next open (its producer is
        // gone); committed here by a coordinator at epoch 5.
        log.write_transaction_marker(12, 3, 5, true).unwrap();
    }
    let out = ok(
        d,
        &[
            "transactions",
            "describe-producers",
            "--topic",
            "t",
            "--partition",
            "0",
        ],
    );
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let expected = pretty_table(&[
        row(&[
            "ProducerId",
            "ProducerEpoch",
            "LatestCoordinatorEpoch",
            "LastSequence",
            "LastTimestamp",
            "CurrentTransactionStartOffset",
        ]),
        row(&["7", "0", "-1", "0", "2000", "None"]),
        row(&["12", "3", "5", "1", "3000", "None"]),
    ]);
    assert_eq!(out, expected);
    assert!(fails(
        d,
        &[
            "transactions",
            "describe-producers",
            "--topic",
            "nope",
            "--partition",
            "0"
        ]
    )
    .contains("nope"));
}

/// Makes a file read-only for everyone, root included: mode 0444 and, where the file system
/// supports it, the immutable attribute (root ignores the mode). Undone on drop.
struct ReadOnly<'a>(&'a Path);

impl<'a> ReadOnly<'a> {
    /// `None` when neither can stop a write open here (then there is nothing to prove).
    fn make(path: &'a Path) -> Option<Self> {
        let mut mode = std::fs::metadata(path).unwrap().permissions();
        mode.set_readonly(true);
        std::fs::set_permissions(path, mode).unwrap();
        let _ = Command::new("chattr").arg("+i").arg(path).output();
        let guard = ReadOnly(path);
        let writable = std::fs::OpenOptions::new().write(true).open(path).is_ok();
        (!writable).then_some(guard)
    }
}

impl Drop for ReadOnly<'_> {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(self.0).output();
    }
}

/// `dump-log` only reads: it dumps a segment and its indexes that it may not write.
#[test]
fn dump_log_opens_files_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    populated(d);
    let files: Vec<_> = ["log", "index", "timeindex"]
        .iter()
        .map(|ext| d.join(format!("t-0/00000000000000000000.{ext}")))
        .collect();
    let list = files
        .iter()
        .map(|f| f.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(",");
    let writable = ok(d, &["dump-log", "--files", &list, "--deep-iteration"]);
    let guards: Option<Vec<_>> = files.iter().map(|f| ReadOnly::make(f)).collect();
    if guards.is_none() {
        // CI runs as root on ext4, where chattr +i works: there the test must run.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "neither the mode nor chattr +i makes a file read-only here"
        );
        eprintln!("SKIPPED: neither the mode nor chattr +i makes a file read-only here");
        return;
    }
    let read_only = ok(d, &["dump-log", "--files", &list, "--deep-iteration"]);
    assert_eq!(read_only, writable);
}

/// `dump-log` streams: a 1 GiB segment (sparse: one batch, then zeros) is dumped by a
/// process whose whole address space is limited to 256 MiB.
#[test]
fn dump_log_streams_files_larger_than_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("00000000000000000000.log");
    let batch = common::batch(0, 3, 5, 1000);
    std::fs::write(&segment, &batch).unwrap();
    let len = 1u64 << 30;
    std::fs::File::options()
        .append(true)
        .open(&segment)
        .unwrap()
        .set_len(len)
        .unwrap();
    let script = format!(
        "ulimit -v {} && exec \"$0\" --data-dir \"$1\" dump-log --files \"$2\"",
        256 << 10
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_kafkalite"))
        .arg(dir.path())
        .arg(&segment)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let invalid = len - batch.len() as u64;
    assert!(
        stdout.ends_with(&format!(
            "Found {invalid} invalid bytes at the end of {}\n",
            segment.display()
        )),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("baseOffset:"))
            .count(),
        1
    );
}

#[test]
fn the_demo_runs_twice_in_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    for _ in 0..2 {
        let out = ok(&d, &["demo"]);
        assert!(out.contains("produced 3000 orders"), "{out}");
        assert!(
            out.contains("alice now owns") && out.contains("bob now owns"),
            "{out}"
        );
        assert!(
            out.contains("carol resumed from the committed offsets"),
            "{out}"
        );
        assert!(
            out.contains("3000 orders read, 3000 distinct, none missing: true"),
            "{out}"
        );
        assert!(
            out.contains("was answered with offset 0 again and stored once: 1 record(s)"),
            "{out}"
        );
        assert!(
            out.contains(r#"read_committed sees ["paid 10", "paid 20"]; read_uncommitted also the aborted refund: ["paid 10", "refund 10 (aborted)", "paid 20"]"#)
                && out.contains("a newer instance fenced the old one, whose commit failed: producer fenced"),
            "{out}"
        );
        // Each of the transactional producer's calls added to its own total.
        for total in [
            "txn-commit-time-ns-total ",
            "txn-abort-time-ns-total ",
            "flush-time-ns-total ",
        ] {
            let at = out
                .find(total)
                .unwrap_or_else(|| panic!("{total} in {out}"));
            let ns: u64 = out[at + total.len()..]
                .split([',', '\n'])
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(ns > 0, "{total}{ns}");
        }
        assert!(
            out.contains("a stale writer was refused: wrong expected version for stream 'account-7': expected version 0, but the stream is at version 1")
                && out.contains("a retried append (same event id) returned version 0 at offset 0 again; the log still ends at 2")
                && out.contains("account-7 read backwards: Deposited@1, AccountOpened@0")
                && out.contains("its stream index: 2 events in 1 table file(s) beside the segments, 0 in memory")
                && out.contains("a subscription delivered 2 stored events, then CaughtUp, then the live one: account-8 AccountOpened"),
            "{out}"
        );
        // The rdkafka step (the test build has the facade): its consumer's statistics
        // after reading the three messages, each partition read to its end.
        assert!(
            out.contains("3 messages received; lag by partition 0: 0, 1: 0, 2: 0"),
            "{out}"
        );
        // Carol's interceptor saw exactly what she read.
        let number_after = |prefix: &str| -> u64 {
            let at = out
                .find(prefix)
                .unwrap_or_else(|| panic!("{prefix} in {out}"));
            let rest = &out[at + prefix.len()..];
            rest.split(' ').next().unwrap().parse().unwrap()
        };
        assert_eq!(
            number_after("her interceptor saw "),
            number_after("read the other "),
            "{out}"
        );
    }
}

/// Records larger than a topic's `segment.bytes` fail (a batch of several that fit is split
/// until it does): the console producer and the perf test print Kafka's error line, fail,
/// and count only acknowledged records.
#[test]
fn failed_deliveries_fail_the_command_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "small",
            "--partitions",
            "1",
            "--config",
            "segment.bytes=10000",
        ],
    );
    // Every 1000th line is longer than a segment.
    let lines: String = (1..=20_000)
        .map(|n| match n % 1000 {
            0 => format!("{}\n", "x".repeat(12_000)),
            _ => format!("{n}\n"),
        })
        .collect();
    let output = run_with_stdin(d, &["produce", "--topic", "small"], lines);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("ERROR Error when sending message to topic small with key: null, value: "),
        "{stderr}"
    );
    let stored = |topic: &str| {
        let cluster = Cluster::open(d).unwrap();
        cluster.partition(topic, 0).unwrap().log_end_offset()
    };
    let acknowledged = stored("small");
    assert_eq!(acknowledged, 20_000 - 20, "only the 20 long lines fail");
    let summary = format!(
        "{} records were not delivered; {acknowledged} records were acknowledged",
        20_000 - acknowledged
    );
    assert!(stderr.contains(&summary), "{summary} not in {stderr}");
    assert!(
        stderr
            .lines()
            .filter(|l| l.starts_with("ERROR Error when"))
            .count()
            <= 10
    );

    ok(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "perf",
            "--partitions",
            "1",
            "--config",
            "segment.bytes=10000",
        ],
    );
    let output = run(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "3000",
            "--record-size",
            "12000",
        ],
    );
    assert!(!output.status.success());
    let stored = stored("perf");
    assert_eq!(stored, 0, "no record fits a segment");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(&format!("{stored} records sent, ")),
        "{stdout}"
    );
}

/// Lines are bytes, and `--property` values are verbatim, as in Kafka's console producer.
#[test]
fn produce_takes_bytes_and_verbatim_properties() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "produce",
        "--topic",
        "raw",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator= ",
    ];
    let output = run_with_stdin(d, &args, b"k1 v 1\r\n\xff\xfe \x00\x01\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cluster = Cluster::open(d).unwrap();
    let records = common::read_all(&cluster.partition("raw", 0).unwrap());
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = records.into_iter().map(|(_, k, v)| (k, v)).collect();
    assert_eq!(
        pairs,
        vec![
            (b"k1".to_vec(), b"v 1".to_vec()),
            (vec![0xff, 0xfe], vec![0x00, 0x01]),
        ]
    );
}

#[test]
fn produce_sends_stdin_lines_like_the_console_producer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = [
        "produce",
        "--topic",
        "lines",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
    ];
    let output = run_with_stdin(d, &args, "a:1\nb:2\nnull-key-free:3\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cluster = Cluster::open(d).unwrap();
    let records = common::read_all(&cluster.partition("lines", 0).unwrap());
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = records.into_iter().map(|(_, k, v)| (k, v)).collect();
    assert_eq!(
        pairs,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
            (b"null-key-free".to_vec(), b"3".to_vec())
        ]
    );
    drop(cluster);

    let output = run_with_stdin(d, &args, "no separator here\n");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("No key separator found on line number 1"),
        "{stderr}"
    );
}

#[test]
fn perf_test_producer_prints_kafkas_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        dir.path(),
        &[
            "perf-test",
            "producer",
            "--topic",
            "perf",
            "--num-records",
            "2000",
            "--record-size",
            "50",
        ],
    );
    assert!(out.starts_with("2000 records sent, "), "{out}");
    for part in [
        "records/sec (",
        "MB/sec), ",
        "ms avg latency, ",
        "ms max latency, ",
        "ms 50th, ",
        "ms 95th, ",
        "ms 99th, ",
        "ms 99.9th.",
    ] {
        assert!(out.contains(part), "{part} missing in {out}");
    }
    let cluster = Cluster::open(dir.path()).unwrap();
    assert_eq!(cluster.partition("perf", 0).unwrap().log_end_offset(), 2000);
}

#[test]
fn consume_prints_like_the_console_consumer_and_groups_manage_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let output = run_with_stdin(
        d,
        &[
            "produce",
            "--topic",
            "t",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        "a:1\nb:2\nc:3\n",
    );
    assert!(output.status.success());
    let consume = |extra: &[&str]| {
        let mut args = vec!["consume", "--topic", "t", "--timeout-ms", "200"];
        args.extend_from_slice(extra);
        run(d, &args)
    };
    let first = consume(&[
        "--from-beginning",
        "--group",
        "g",
        "--max-messages",
        "2",
        "--property",
        "print.key=true",
        "--property",
        "print.offset=true",
    ]);
    assert!(first.status.success());
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        "Offset:0\ta\t1\nOffset:1\tb\t2\n"
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("Processed a total of 2 messages"));
    // The group resumes after what was printed.
    let rest = consume(&["--group", "g"]);
    assert_eq!(String::from_utf8_lossy(&rest.stdout), "3\n");
    let described = run(d, &["groups", "--describe", "--group", "g"]);
    let describe = String::from_utf8_lossy(&described.stdout).to_string();
    // Kafka prints the state note on stderr.
    assert_eq!(
        String::from_utf8_lossy(&described.stderr),
        "\nConsumer group 'g' has no active members.\n"
    );
    let header = describe.lines().find(|l| l.starts_with("GROUP")).unwrap();
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let row: Vec<&str> = describe
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["g", "t", "0", "3", "3", "0", "-", "-", "-"]);
    assert_eq!(ok(d, &["groups", "--list"]), "g\n");
    // --state and --members, in Kafka's layouts (ConsumerGroupCommand's printStates and
    // printMembers format strings); --all-groups describes each group.
    assert_eq!(
        ok(d, &["groups", "--describe", "--all-groups", "--state"]),
        format!(
            "\n{:<25} {:<25} {:<20} {:<15} #MEMBERS\n{:<25} {:<25} {:<20} {:<15} 0\n",
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "g",
            "in-process  (0)",
            "",
            "Empty"
        )
    );
    assert_eq!(
        ok(d, &["groups", "--describe", "--group", "g", "--members"]),
        format!(
            "\n{:<15} {:<15} {:<15} {:<15} {:<15} \n",
            "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
        )
    );
    let dry = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t",
            "--to-earliest",
        ],
    );
    assert!(
        dry.lines()
            .any(|l| l.split_whitespace().eq(["g", "t", "0", "0"])),
        "{dry}"
    );
    assert!(
        ok(d, &["groups", "--describe", "--group", "g"]).contains(" 3 "),
        "dry run changes nothing"
    );
    // Without --execute or --dry-run, Kafka's warning that nothing was done; with
    // --dry-run, none.
    let reset = ["groups", "--reset-offsets", "--group", "g", "--topic", "t"];
    let warned = run(d, &[&reset[..], &["--to-earliest"]].concat());
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(
        stderr.starts_with("WARN: No action will be performed as the --execute option is missing."),
        "{stderr}"
    );
    let dry_run = run(d, &[&reset[..], &["--to-earliest", "--dry-run"]].concat());
    assert!(
        dry_run.status.success() && dry_run.stderr.is_empty(),
        "{dry_run:?}"
    );
    ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t:0",
            "--shift-by",
            "-2",
            "--execute",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&consume(&["--group", "g"]).stdout),
        "2\n3\n"
    );
    // A single partition without a group, from an offset.
    let one = consume(&["--partition", "0", "--offset", "2"]);
    assert_eq!(String::from_utf8_lossy(&one.stdout), "3\n");
    assert!(ok(d, &["groups", "--delete", "--group", "g"]).contains("('g') was successful"));
    assert!(fails(d, &["groups", "--delete", "--group", "g"]).contains("does not exist"));
    assert!(fails(
        d,
        &["consume", "--topic", "t", "--property", "print.colour=true"]
    )
    .contains("print.colour"));
}

/// Consuming a topic that does not exist warns on stderr, naming it, as Kafka's consumer logs
/// `UNKNOWN_TOPIC_OR_PARTITION`, and waits for it; an existing topic gives no warning.
#[test]
fn consume_warns_about_a_topic_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    populated(d);
    let consume = |topic: &str| run(d, &["consume", "--topic", topic, "--timeout-ms", "200"]);
    let missing = consume("nope");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(missing.status.success(), "{stderr}");
    assert!(
        stderr.contains("WARN") && stderr.contains("{nope=UNKNOWN_TOPIC_OR_PARTITION}"),
        "{stderr}"
    );
    assert!(stderr.contains("topic 'nope' does not exist"), "{stderr}");
    let existing = consume("t");
    let stderr = String::from_utf8_lossy(&existing.stderr);
    assert!(existing.status.success(), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[test]
fn perf_test_consumer_prints_kafkas_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "perf-test",
            "producer",
            "--topic",
            "p",
            "--num-records",
            "500",
            "--record-size",
            "20",
        ],
    );
    let out = ok(
        d,
        &["perf-test", "consumer", "--topic", "p", "--messages", "500"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("start.time, end.time, data.consumed.in.MB"),
        "{out}"
    );
    let fields: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!(fields.len(), 10, "{out}");
    assert_eq!(fields[4], "500", "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    // Fewer records than asked: Kafka's warning, between the header and the figures.
    let out = ok(
        d,
        &[
            "perf-test",
            "consumer",
            "--topic",
            "p",
            "--messages",
            "501",
            "--timeout",
            "300",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1],
        "WARNING: Exiting before consuming the expected number of messages: timeout (300 ms) \
         exceeded. You can use the --timeout option to increase the timeout.",
        "{out}"
    );
    assert_eq!(lines[2].split(", ").nth(4), Some("500"), "{out}");
}

/// A damaged segment: reading fails with the `Corruption` error, `repair` cuts the log at
/// the damage and reports what is left and what it cut, and reads work again.
#[test]
fn repair_cuts_damaged_data_and_reads_work_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = Cluster::open(d).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("segment.bytes", "400"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..6 {
        log.append(&common::batch(i * 2, 2, 40, 1)).unwrap();
    }
    cluster.close().unwrap();
    drop((log, cluster));
    let first = d.join("t-0").join("00000000000000000000.log");
    let mut bytes = std::fs::read(&first).unwrap();
    let second =
        12 + usize::try_from(i32::from_be_bytes(bytes[8..12].try_into().unwrap())).unwrap();
    bytes[second + 70] ^= 0x20; // inside the second batch's records: its CRC fails
    std::fs::write(&first, bytes).unwrap();

    let consume = [
        "consume",
        "--topic",
        "t",
        "--from-beginning",
        "--timeout-ms",
        "200",
    ];
    let error = fails(d, &consume);
    assert!(error.contains("corruption in"), "{error}");
    assert!(error.contains("TruncateCorrupt"), "{error}");
    assert!(error.contains("repair --execute`"), "{error}");

    std::fs::create_dir(d.join("t-3.AbC-stray")).unwrap(); // as an earlier repair leaves it
    let before = std::fs::read(&first).unwrap();
    let dry = ok(d, &["repair"]);
    assert!(dry.starts_with("Dry run: "), "{dry}");
    assert!(dry.contains("t:0 offsets 0..2\n"), "{dry}");
    assert_eq!(
        std::fs::read(&first).unwrap(),
        before,
        "a dry run changes nothing"
    );
    assert!(fails(d, &consume).contains("corruption in"));
    let out = ok(d, &["repair", "--execute"]);
    assert_eq!(
        without_ids(&out),
        without_ids(dry.split_once('\n').unwrap().1),
        "the dry run shows exactly what --execute does (but for the random ids it names)"
    );
    assert!(out.contains("Validated every segment"), "{out}");
    assert!(out.contains("t:0 offsets 0..2\n"), "{out}");
    assert!(out.contains("What the repair did:\n"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("t-0: "))
        .unwrap_or_default();
    assert!(
        line.contains("offsets from 2 on dropped at byte")
            && line.contains("the damaged segment copied whole to ")
            && line.contains("2 later segments (")
            && line.contains("-salvaged (never deleted"),
        "{out}"
    );
    assert!(d.join("t-3.AbC-stray").is_dir(), "an earlier stray stays");
    // The damaged segment (copied as it was) and those after it are moved aside, never
    // deleted.
    let salvaged: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-salvaged"))
        .collect();
    assert_eq!(salvaged.len(), 1, "{salvaged:?}");
    let moved = std::fs::read_dir(&salvaged[0])
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert_eq!(moved, 3);
    let copy = salvaged[0].join(first.file_name().unwrap());
    assert_eq!(
        std::fs::read(copy).unwrap(),
        before,
        "the copy is byte for byte"
    );
    let records = ok(d, &consume);
    assert_eq!(records.lines().count(), 2, "{records}");
}

/// `text` with each 22-character id before `-salvaged` replaced by `<id>`.
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("-salvaged") {
        let start = at.saturating_sub(22);
        out.push_str(&rest[..start]);
        out.push_str("<id>-salvaged");
        rest = &rest[at + "-salvaged".len()..];
    }
    out.push_str(rest);
    out
}

/// A `kafkalite` child with piped stdio and `RUST_LOG=debug`, so that its stderr says when
/// it is ready ("reading records", "polling") and what it has read.
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_kafkalite"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads `from` line by line until a line contains `wanted`; the lines read.
/// Kills a child still running two minutes after it was started, unless dropped first: a
/// line that never comes then ends `read_until` with a failure instead of hanging the
/// test (not a wait: nothing depends on the time when the child behaves).
struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    fn new(child: &std::process::Child) -> Watchdog {
        let pid = child.id().to_string();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let limit = std::time::Duration::from_secs(120);
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        Watchdog(Some(done))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

fn read_until(from: &mut impl std::io::BufRead, wanted: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            from.read_line(&mut line).unwrap() > 0,
            "no '{wanted}' in {seen:?}"
        );
        let found = line.contains(wanted);
        seen.push(line);
        if found {
            return seen;
        }
    }
}

fn interrupt(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Ctrl-C (or SIGTERM) on `produce` delivers every line it read, even with a linger that
/// would hold them for ten minutes, and exits with 128 + the signal as Kafka's tool does.
#[test]
fn a_signal_on_produce_delivers_what_was_read() {
    use std::io::Write;
    for (signal, code, lines) in [("-INT", 130, 0), ("-INT", 130, 3), ("-TERM", 143, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut child = spawn(
            d,
            &[
                "produce",
                "--topic",
                "t",
                "--producer-property",
                "linger.ms=600000",
            ],
        );
        let _watchdog = Watchdog::new(&child);
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        read_until(&mut stderr, "reading records from stdin");
        let mut stdin = child.stdin.take().unwrap();
        for n in 1..=lines {
            writeln!(stdin, "line {n}").unwrap();
        }
        if lines > 0 {
            read_until(&mut stderr, &format!("read line {lines}"));
        }
        interrupt(&child, signal);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal} after {lines} lines");
        drop(stdin);
        let cluster = Cluster::open(d).unwrap();
        let stored = match cluster.partition("t", 0) {
            Ok(log) => common::read_all(&log),
            Err(_) => Vec::new(),
        };
        let values: Vec<Vec<u8>> = stored.into_iter().map(|(_, _, v)| v).collect();
        let expected: Vec<Vec<u8>> = (1..=lines)
            .map(|n| format!("line {n}").into_bytes())
            .collect();
        assert_eq!(values, expected, "{signal} after {lines} lines");
    }
}

/// Ctrl-C on `consume --group` commits what it printed, prints Kafka's summary line, and
/// exits with 130.
#[test]
fn a_signal_on_consume_commits_what_was_printed() {
    for printed in [0usize, 5] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        {
            let cluster = Cluster::open(d).unwrap();
            cluster.create_topic(NewTopic::new("t", 1)).unwrap();
            let log = cluster.partition("t", 0).unwrap();
            if printed > 0 {
                log.append(&common::batch(0, printed, 8, 1)).unwrap();
            }
        }
        let mut child = spawn(
            d,
            &[
                "consume",
                "--topic",
                "t",
                "--group",
                "g",
                "--from-beginning",
            ],
        );
        let _watchdog = Watchdog::new(&child);
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        read_until(&mut stderr, "polling t");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        for _ in 0..printed {
            let mut line = String::new();
            assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0);
        }
        interrupt(&child, "-INT");
        assert_eq!(child.wait().unwrap().code(), Some(130));
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        assert!(
            rest.contains(&format!("Processed a total of {printed} messages")),
            "{rest}"
        );
        let cluster = Cluster::open(d).unwrap();
        let committed: Vec<Option<i64>> = cluster
            .describe_group_offsets("g")
            .map(|offsets| offsets.into_iter().map(|o| o.committed).collect())
            .unwrap_or_default();
        if printed > 0 {
            assert_eq!(committed, [Some(printed as i64)]);
        } else {
            // Nothing printed: nothing committed, or the position the reset gave (0).
            assert!(
                committed.iter().all(|c| c.unwrap_or(0) == 0),
                "{committed:?}"
            );
        }
    }
}

#[test]
fn compact_cleans_compacted_topics_and_describe_shows_the_cleaner() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "topics",
            "--create",
            "--topic",
            "c",
            "--partitions",
            "1",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "segment.bytes=200",
        ],
    );
    // 30 updates of 3 keys, one batch each: many segments of 200 bytes.
    let lines: String = (0..30).map(|n| format!("k{}:v{n}\n", n % 3)).collect();
    let output = run_with_stdin(
        d,
        &[
            "produce",
            "--topic",
            "c",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        lines,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let before = ok(d, &["topics", "--describe", "--topic", "c"]);
    assert!(
        before.contains("\tFirstDirtyOffset: 0\tDirtyRatio: 1.00\tCleaner: ok"),
        "{before}"
    );
    let printed = ok(d, &["compact"]);
    let cleaned = printed
        .lines()
        .find(|l| l.starts_with("Cleaned c-0 below offset "))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(cleaned.contains("records"), "{printed}");
    let after = ok(d, &["topics", "--describe", "--topic", "c"]);
    assert!(after.contains("\tDirtyRatio: 0.00\tCleaner: ok"), "{after}");
    assert!(!after.contains("FirstDirtyOffset: 0\t"), "{after}");
    // Each key's latest value survives; superseded ones below the active segment do not.
    let consumed = ok(
        d,
        &[
            "consume",
            "--topic",
            "c",
            "--from-beginning",
            "--max-messages",
            "100",
            "--timeout-ms",
            "1000",
            "--property",
            "print.key=true",
        ],
    );
    for key in 0..3 {
        let latest = (0..30).rev().find(|n| n % 3 == key).unwrap();
        assert!(
            consumed.contains(&format!("k{key}\tv{latest}")),
            "{consumed}"
        );
    }
    assert!(consumed.lines().count() < 30, "{consumed}");
    assert!(ok(d, &["compact", "--topic", "c"]).contains("Nothing to clean"));
    assert!(fails(d, &["compact", "--topic", "nope"]).contains("nope"));
}

/// `completions` prints a shell's completion script that knows the subcommands and their
/// flags (clap generates it from the same definitions the parser uses).
#[test]
fn completions_print_a_script_per_shell() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bash = ok(d, &["completions", "bash"]);
    assert!(bash.contains("_kafkalite()"), "{bash}");
    for word in [
        "configs",
        "--reset-offsets",
        "--bootstrap-server",
        "--all-groups",
    ] {
        assert!(bash.contains(word), "bash completions lack {word}");
    }
    let fish = ok(d, &["completions", "fish"]);
    assert!(fish.contains("complete -c kafkalite"), "{fish}");
    assert!(ok(d, &["completions", "zsh"]).starts_with("#compdef kafkalite"));
    assert!(fails(d, &["completions", "tcsh"]).contains("tcsh"));
}
