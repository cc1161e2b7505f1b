//! kafka-consumer-groups' layouts and reset scenarios, from Kafka's `ConsumerGroupCommand`:
//! the describe table ("%-Gs %-Ts %-10s %-15s %-15s %-15s %-Cs %-Hs %s", G, T, C, H the
//! longest value and at least 15), the reset table ("%n%-30s %-30s %-10s %-15s"), `--export`
//! CSV (no header; the group column unless one --group is named) read back by
//! `--from-file`, `--to-current`, `--by-duration`, and `--shift-by` without a committed
//! offset.

mod cli_support;

use std::path::Path;
use std::time::Duration;

use cli_support::{fails, ok, run};
use kafkalite::{
    AutoOffsetReset, Cluster, CommitMode, ConsumerConfig, NewTopic, ProducerConfig, ProducerRecord,
};

/// Topic `events` (2 partitions, 5 records each, timestamps 1000..1004 on partition 0 and
/// now on partition 1); group `billing` committed at 2 on partition 0 only; group
/// `audit-team` committed at 5 and 5.
fn scenario(dir: &Path) {
    let cluster = Cluster::open(dir).unwrap();
    cluster.create_topic(NewTopic::new("events", 2)).unwrap();
    let producer = cluster.producer(ProducerConfig::new()).unwrap();
    for i in 0..5 {
        let old = ProducerRecord::to("events")
            .partition(0)
            .value("x")
            .timestamp(1000 + i);
        producer.send(old).unwrap().wait().unwrap();
        let new = ProducerRecord::to("events").partition(1).value("y");
        producer.send(new).unwrap().wait().unwrap();
    }
    let tp0 = kafkalite::TopicPartition::new("events", 0);
    let mut offsets = kafkalite::Offsets::new();
    offsets.insert(tp0, kafkalite::OffsetAndMetadata::new(2));
    let billing = cluster
        .consumer(ConsumerConfig::with_group("billing").enable_auto_commit(false))
        .unwrap();
    billing.commit_offsets(&offsets, CommitMode::Sync).unwrap();
    billing.close().unwrap();
    let audit = cluster
        .consumer(
            ConsumerConfig::with_group("audit-team")
                .auto_offset_reset(AutoOffsetReset::Earliest)
                .enable_auto_commit(false),
        )
        .unwrap();
    audit.subscribe(&["events"]).unwrap();
    let mut seen = 0;
    while seen < 10 {
        seen += audit.poll(Duration::from_millis(100)).unwrap().len();
    }
    audit.commit(CommitMode::Sync).unwrap();
    audit.close().unwrap();
    cluster.close().unwrap();
}

/// One line of Kafka's reset table.
fn reset_row(cells: [&str; 4]) -> String {
    format!(
        "{:<30} {:<30} {:<10} {:<15}",
        cells[0], cells[1], cells[2], cells[3]
    )
}

#[test]
fn describe_prints_kafkas_table_widths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    let out = ok(d, &["groups", "--describe", "--group", "billing"]);
    let row = |c: [&str; 9]| {
        format!(
            "{:<15} {:<15} {:<10} {:<15} {:<15} {:<15} {:<15} {:<15} {}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
        )
    };
    let expected = [
        String::new(),
        row([
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ]),
        row(["billing", "events", "0", "2", "5", "3", "-", "-", "-"]),
    ]
    .join("\n")
        + "\n";
    assert_eq!(out, expected);
}

#[test]
fn reset_prints_kafkas_table_and_exports_csv_that_from_file_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    // --to-current: the committed offset, the log end where there is none.
    let current = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events",
            "--to-current",
            "--dry-run",
        ],
    );
    assert_eq!(
        current,
        format!(
            "\n{}\n{}\n{}\n",
            reset_row(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]),
            reset_row(["billing", "events", "0", "2"]),
            reset_row(["billing", "events", "1", "5"]),
        )
    );
    // --export: CSV without the group column for one --group.
    let export = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events",
            "--to-earliest",
            "--export",
        ],
    );
    assert_eq!(export, "events,0,0\nevents,1,0\n\n");
    // With the group column for --all-groups.
    let all = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--all-groups",
            "--all-topics",
            "--to-latest",
            "--export",
            "--dry-run",
        ],
    );
    assert_eq!(
        all,
        "audit-team,events,0,5\naudit-team,events,1,5\nbilling,events,0,5\n\n"
    );
    // --from-file reads a plan back, clamping offsets into the log (9 → 5, -3 → 0).
    let plan = d.join("plan.csv");
    std::fs::write(&plan, "events,0,9\nevents,1,-3\n").unwrap();
    let applied = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--from-file",
            plan.to_str().unwrap(),
            "--execute",
        ],
    );
    assert!(
        applied.contains(&reset_row(["billing", "events", "0", "5"])),
        "{applied}"
    );
    assert!(
        applied.contains(&reset_row(["billing", "events", "1", "0"])),
        "{applied}"
    );
    let now = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--all-topics",
            "--to-current",
            "--export",
            "--dry-run",
        ],
    );
    assert_eq!(now, "events,0,5\nevents,1,0\n\n");
    // A four-column plan names its groups; a group without lines is Kafka's error, and
    // the other groups are still reset (the command then fails).
    std::fs::write(&plan, "audit-team,events,0,1\n").unwrap();
    let from = plan.to_str().unwrap();
    let partial = run(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--all-groups",
            "--from-file",
            from,
            "--export",
        ],
    );
    assert!(!partial.status.success());
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert!(
        stderr.contains("\nError: No reset plan for group billing found"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&partial.stdout),
        "audit-team,events,0,1\n\n"
    );
    ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "audit-team",
            "--from-file",
            from,
            "--execute",
        ],
    );
    assert_eq!(
        ok(
            d,
            &[
                "groups",
                "--reset-offsets",
                "--group",
                "audit-team",
                "--all-topics",
                "--to-current",
                "--export"
            ]
        ),
        "events,0,1\nevents,1,5\n\n"
    );
    std::fs::write(&plan, "events,zero,1\n").unwrap();
    assert!(fails(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--from-file",
            from
        ]
    )
    .contains("line 1: expected topic,partition,offset"));
}

#[test]
fn reset_by_duration_and_shift_by_follow_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    scenario(d);
    // Partition 0's records are from 1970; partition 1's from now. An hour back: the end
    // of partition 0 (nothing after), the start of partition 1.
    let hour = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events",
            "--by-duration",
            "PT1H",
            "--export",
        ],
    );
    assert_eq!(hour, "events,0,5\nevents,1,0\n\n");
    // Sixty years back reaches partition 0's first record.
    let years = ok(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events:0",
            "--by-duration",
            "P21900D",
            "--export",
        ],
    );
    assert_eq!(years, "events,0,0\n\n");
    assert!(fails(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events",
            "--by-duration",
            "1h"
        ]
    )
    .contains("ISO-8601"));
    // --shift-by needs a committed offset on every partition, as Kafka's.
    assert!(fails(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--topic",
            "events",
            "--shift-by",
            "1"
        ]
    )
    .contains(
        "Cannot shift offset for partition events-1 since there is no current committed offset"
    ));
    assert_eq!(
        ok(
            d,
            &[
                "groups",
                "--reset-offsets",
                "--group",
                "billing",
                "--topic",
                "events:0",
                "--shift-by",
                "-1",
                "--export"
            ]
        ),
        "events,0,1\n\n"
    );
    assert!(fails(
        d,
        &[
            "groups",
            "--reset-offsets",
            "--group",
            "billing",
            "--to-latest"
        ]
    )
    .contains("One of the reset scopes should be defined"));
}
