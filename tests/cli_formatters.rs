//! kafka-console-consumer's formatters and kafka-dump-log's decoders for the internal
//! topics. The expected text is Kafka's: `DefaultMessageFormatter.writeTo` (field order,
//! labels, separators, `NO_HEADERS`, `Epoch:NOT_PRESENT` as the console consumer drops the
//! epoch), `ApiMessageFormatter`'s JSON (`{"key":{"version":…,"data":…},"value":…}`, no
//! newline), and DumpLogSegments' `OffsetsMessageParser` (`"type"` for the key's version,
//! versions as strings, `<DELETE>`) and `TransactionLog.formatRecordKeyAndValue`.

mod cli_support;

use std::path::Path;

use cli_support::{fails, ok};
use kafkalite::{Cluster, CommitMode, ConsumerConfig, NewTopic, ProducerConfig, ProducerRecord};

/// Topic `t`: record 0 with key `k`, value `v`, headers `h1=a`, `h2` (empty), timestamp
/// 1000; record 1 with no key, value 8 bytes of 258 big-endian, timestamp 2000.
fn records(dir: &Path) {
    let cluster = Cluster::open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    let first = ProducerRecord::to("t")
        .key("k")
        .value("v")
        .timestamp(1000)
        .header("h1", "a")
        .header("h2", "");
    producer.send(first).unwrap().wait().unwrap();
    let second = ProducerRecord::to("t")
        .value(258i64.to_be_bytes().to_vec())
        .timestamp(2000);
    producer.send(second).unwrap().wait().unwrap();
    cluster.close().unwrap();
}

fn consume(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["consume", "--topic", "t", "--from-beginning"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--max-messages") {
        args.extend_from_slice(&["--max-messages", "2"]);
    }
    ok(dir, &args)
}

#[test]
fn the_default_formatter_prints_kafkas_fields_in_kafkas_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    records(d);
    let all = consume(
        d,
        &[
            "--property",
            "print.timestamp=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.epoch=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.key= TRUE ",
            "--property",
            "print.value=false",
        ],
    );
    assert_eq!(
        all,
        "CreateTime:1000\tPartition:0\tOffset:0\tEpoch:NOT_PRESENT\th1:a,h2:\tk\n\
         CreateTime:2000\tPartition:0\tOffset:1\tEpoch:NOT_PRESENT\tNO_HEADERS\tnull\n"
    );
    // Separators and the null literal; a deserializer for the value.
    let out = consume(
        d,
        &[
            "--property",
            "print.key=true",
            "--property",
            "key.separator= | ",
            "--property",
            "line.separator=;",
            "--property",
            "null.literal=<none>",
            "--value-deserializer",
            "org.apache.kafka.common.serialization.LongDeserializer",
            "--max-messages",
            "1",
            "--offset",
            "1",
            "--partition",
            "0",
        ],
    );
    assert_eq!(out, "<none> | 258;");
    // A value the deserializer cannot read fails with Kafka's reason.
    let stderr = fails(
        d,
        &[
            "consume",
            "--topic",
            "t",
            "--from-beginning",
            "--max-messages",
            "1",
            "--property",
            "value.deserializer=LongDeserializer",
        ],
    );
    assert!(
        stderr.contains("Size of data received by LongDeserializer is not 8"),
        "{stderr}"
    );
}

#[test]
fn formatter_config_files_are_overridden_by_properties() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    records(d);
    let config = d.join("formatter.properties");
    std::fs::write(
        &config,
        "print.key=true\nkey.separator=|\nprint.offset=true\n",
    )
    .unwrap();
    let out = consume(
        d,
        &[
            "--formatter-config",
            config.to_str().unwrap(),
            "--property",
            "key.separator=,",
            "--max-messages",
            "1",
        ],
    );
    assert_eq!(out, "Offset:0,k,v\n");
    assert_eq!(
        consume(
            d,
            &[
                "--formatter",
                "org.apache.kafka.tools.consumer.NoOpMessageFormatter"
            ]
        ),
        ""
    );
    assert_eq!(
        consume(
            d,
            &[
                "--formatter",
                "org.apache.kafka.tools.consumer.LoggingMessageFormatter"
            ]
        ),
        "v\n\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{1}\u{2}\n"
    );
    assert!(fails(
        d,
        &["consume", "--topic", "t", "--formatter", "com.example.Mine"]
    )
    .contains("is not one of Kafka's"));
    assert!(fails(
        d,
        &["consume", "--topic", "t", "--property", "print.keys=true"]
    )
    .contains("unknown --property 'print.keys'"));
}

/// A group commit and a transaction, so both internal topics hold records.
fn internal_records(dir: &Path) {
    let cluster = Cluster::open(dir).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster
        .producer(ProducerConfig::new().transactional_id("tx-1"))
        .unwrap();
    let t = std::time::Duration::from_secs(5);
    producer.init_transactions(t).unwrap();
    producer.begin_transaction().unwrap();
    producer.send(ProducerRecord::to("t").value("x")).unwrap();
    producer.commit_transaction(t).unwrap();
    let consumer = cluster
        .consumer(
            ConsumerConfig::with_group("g-1")
                .auto_offset_reset(kafkalite::AutoOffsetReset::Earliest)
                .enable_auto_commit(false),
        )
        .unwrap();
    consumer.subscribe(&["t"]).unwrap();
    while consumer
        .poll(std::time::Duration::from_millis(100))
        .unwrap()
        .is_empty()
    {}
    consumer.commit(CommitMode::Sync).unwrap();
    consumer.close().unwrap();
    cluster.close().unwrap();
}

/// The value of `"name":<number>` in `text`.
fn number(text: &str, name: &str) -> i64 {
    let at = text.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().unwrap()
}

#[test]
fn internal_topics_print_as_kafkas_formatters_print_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    internal_records(d);
    let offsets = ok(
        d,
        &[
            "consume",
            "--topic",
            "__consumer_offsets",
            "--from-beginning",
            "--max-messages",
            "1",
            "--formatter",
            "org.apache.kafka.tools.consumer.OffsetsMessageFormatter",
        ],
    );
    let at = number(&offsets, "commitTimestamp");
    assert_eq!(
        offsets,
        format!(
            "{{\"key\":{{\"version\":1,\"data\":{{\"group\":\"g-1\",\"topic\":\"t\",\"partition\":0}}}},\
             \"value\":{{\"version\":3,\"data\":{{\"offset\":2,\"leaderEpoch\":-1,\"metadata\":\"\",\"commitTimestamp\":{at}}}}}}}"
        )
    );
    // Offset commits are not group metadata: that formatter skips them all.
    assert_eq!(
        ok(
            d,
            &[
                "consume",
                "--topic",
                "__consumer_offsets",
                "--from-beginning",
                "--timeout-ms",
                "300",
                "--formatter",
                "GroupMetadataMessageFormatter",
            ],
        ),
        ""
    );
    let states = ok(
        d,
        &[
            "consume",
            "--topic",
            "__transaction_state",
            "--from-beginning",
            "--max-messages",
            "2",
            "--formatter",
            "org.apache.kafka.tools.consumer.TransactionLogMessageFormatter",
        ],
    );
    let (empty, ongoing) = states.split_at(states.find("}}}{").unwrap() + 3);
    let pid = number(empty, "producerId");
    assert_eq!(
        empty,
        format!(
            "{{\"key\":{{\"version\":0,\"data\":{{\"transactionalId\":\"tx-1\"}}}},\"value\":{{\"version\":0,\"data\":\
             {{\"producerId\":{pid},\"producerEpoch\":0,\"transactionTimeoutMs\":60000,\"transactionStatus\":0,\
             \"transactionPartitions\":null,\"transactionLastUpdateTimestampMs\":{},\"transactionStartTimestampMs\":-1}}}}}}",
            number(empty, "transactionLastUpdateTimestampMs")
        )
    );
    assert!(ongoing.contains("\"transactionStatus\":1,\"transactionPartitions\":[{\"topic\":\"t\",\"partitionIds\":[0]}]"), "{ongoing}");
}

#[test]
fn dump_log_decodes_the_internal_topics_as_kafka_dump_log() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    internal_records(d);
    let segment = |prefix: &str| {
        let dir = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
            .unwrap();
        dir.join("00000000000000000000.log")
            .to_str()
            .unwrap()
            .to_string()
    };
    let offsets = ok(
        d,
        &[
            "dump-log",
            "--offsets-decoder",
            "--files",
            &segment("__consumer_offsets-0"),
        ],
    );
    let record = offsets
        .lines()
        .find(|l| l.starts_with("| offset: "))
        .unwrap();
    let at = number(record, "commitTimestamp");
    assert!(
        record.ends_with(&format!(
            " key: {{\"type\":\"1\",\"data\":{{\"group\":\"g-1\",\"topic\":\"t\",\"partition\":0}}}} \
             payload: {{\"version\":\"3\",\"data\":{{\"offset\":2,\"leaderEpoch\":-1,\"metadata\":\"\",\"commitTimestamp\":{at}}}}}"
        )),
        "{record}"
    );
    let states = ok(
        d,
        &[
            "dump-log",
            "--transaction-log-decoder",
            "--files",
            &segment("__transaction_state-0"),
        ],
    );
    let lines: Vec<&str> = states
        .lines()
        .filter(|l| l.starts_with("| offset: "))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l.split("state=").nth(1).unwrap().split(',').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Empty", "Ongoing", "PrepareCommit", "CompleteCommit"]
    );
    assert!(
        lines[1].contains(" key: transaction_metadata::transactionalId=tx-1 payload: producerId:")
            && lines[1].contains(
                ",producerEpoch:0,state=Ongoing,partitions=[t-0],txnLastUpdateTimestamp="
            )
            && lines[1].ends_with(",txnTimeoutMs=60000"),
        "{}",
        lines[1]
    );
    assert!(
        lines[0].contains("state=Empty,partitions=[],"),
        "{}",
        lines[0]
    );
}
