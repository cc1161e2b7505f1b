//! The metadata log compacts to the live topics: a cluster that created, altered and deleted
//! topics many times reopens with the same topics, ids, partition counts and configs from a
//! log holding only what that state needs, and an unfinished deletion still on disk keeps
//! the records that let the next open recognise and finish it.

use std::collections::BTreeMap;
use std::path::Path;

use kafkalite::{CleanReport, CleanStats, Cluster, NewTopic};

const METADATA: &str = "__cluster_metadata-0";

/// Every topic: name → (id, partitions, configs).
fn state(cluster: &Cluster) -> BTreeMap<String, (String, usize, BTreeMap<String, String>)> {
    cluster
        .list_topics()
        .unwrap()
        .into_iter()
        .map(|name| {
            let d = cluster.describe_topic(&name).unwrap();
            (name, (d.id, d.partitions.len(), d.configs))
        })
        .collect()
}

fn metadata_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join(METADATA))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// What the compaction of the metadata log did, the last report of `Cluster::compact`.
fn metadata_stats(reports: &[CleanReport]) -> &CleanStats {
    let report = reports.last().expect("the metadata log is compacted");
    assert_eq!(report.partition, METADATA);
    report.outcome.as_ref().unwrap()
}

fn open(dir: &Path) -> Cluster {
    Cluster::builder().background(false).open(dir).unwrap()
}

/// Creates, alters and deletes topics: live `a` (altered 40 times, grown to 3 partitions)
/// and `b`, and 30 created and deleted.
fn churn(cluster: &Cluster) {
    cluster.create_topic(NewTopic::new("a", 1)).unwrap();
    for i in 0..40 {
        let ms = (1000 + i).to_string();
        cluster
            .alter_topic_config("a", &[("retention.ms", ms.as_str())], &[])
            .unwrap();
    }
    cluster.create_partitions("a", 2).unwrap();
    cluster.create_partitions("a", 3).unwrap();
    for i in 0..30 {
        let name = format!("gone-{i}");
        cluster.create_topic(NewTopic::new(&name, 2)).unwrap();
        cluster.delete_topic(&name).unwrap();
    }
    cluster
        .create_topic(NewTopic::new("b", 2).config("cleanup.policy", "compact"))
        .unwrap();
}

#[test]
fn the_metadata_log_compacts_to_the_live_topics_and_reopens_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let cluster = open(dir.path());
        churn(&cluster);
        let before = state(&cluster);
        let reports = cluster.compact(None).unwrap();
        let stats = metadata_stats(&reports);
        // The cluster id, `a`'s creation, latest config and partition count, `b`'s creation.
        assert_eq!(stats.records_kept, 5, "{stats:?}");
        // 40 config changes and 2 partition counts of `a` less one each, 30 creations and
        // deletions.
        assert_eq!(stats.records_removed, 39 + 1 + 60, "{stats:?}");
        assert!(stats.bytes_after * 10 < stats.bytes_before, "{stats:?}");
        assert_eq!(
            state(&cluster),
            before,
            "nothing changes for the running cluster"
        );
        // It goes on working: a topic created and deleted after it.
        cluster.create_topic(NewTopic::new("c", 1)).unwrap();
        cluster.delete_topic("c").unwrap();
        cluster.close().unwrap();
        before
    };
    let cluster = open(dir.path());
    assert_eq!(
        state(&cluster),
        before,
        "the reopened cluster has the same topics"
    );
    assert!(
        cluster.recovery_report().is_quiet(),
        "{:?}",
        cluster.recovery_report()
    );
    assert_eq!(before["a"].2["retention.ms"], "1039");
    assert_eq!(before["a"].1, 3);
    drop(cluster);
    // A cut short compaction's files recover at open as any cleaning's do (`log::cleaner`);
    // here, compacting again removes what the second session added and nothing else.
    let cluster = open(dir.path());
    let size = metadata_bytes(dir.path());
    let reports = cluster.compact(None).unwrap();
    let stats = metadata_stats(&reports);
    assert_eq!((stats.records_kept, stats.records_removed), (5, 2));
    assert!(metadata_bytes(dir.path()) < size);
    assert_eq!(state(&cluster), before);
}

#[test]
fn an_unfinished_deletion_keeps_the_records_that_let_the_open_finish_it() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = open(dir.path());
    cluster.create_topic(NewTopic::new("gone", 1)).unwrap();
    let id = cluster.describe_topic("gone").unwrap().id;
    // What a crash between the rename and the removal of a deletion leaves: the partition
    // directory under its `-delete` name, its `partition.metadata` naming the topic's id.
    let saved = dir.path().join("saved");
    std::fs::create_dir(&saved).unwrap();
    std::fs::copy(
        dir.path().join("gone-0/partition.metadata"),
        saved.join("partition.metadata"),
    )
    .unwrap();
    cluster.delete_topic("gone").unwrap();
    let doomed = dir.path().join(format!("gone-0.{id}-delete"));
    std::fs::rename(&saved, &doomed).unwrap();
    // A topic whose deletion finished: its records go.
    cluster.create_topic(NewTopic::new("done", 1)).unwrap();
    cluster.delete_topic("done").unwrap();
    let reports = cluster.compact(None).unwrap();
    let stats = metadata_stats(&reports);
    assert_eq!(
        (stats.records_kept, stats.records_removed),
        (3, 2),
        "the cluster id, and the unfinished deletion's creation and deletion"
    );
    assert!(
        cluster.compact(None).unwrap().is_empty(),
        "compacted, with nothing to remove: left as it is"
    );
    cluster.close().unwrap();
    let cluster = open(dir.path());
    assert_eq!(
        cluster.recovery_report().removed,
        std::slice::from_ref(&doomed),
        "recognised as the deleted topic's and removed"
    );
    assert!(!doomed.exists());
    // Nothing on disk holds the id any more: the next compaction lets it go.
    let reports = cluster.compact(None).unwrap();
    let stats = metadata_stats(&reports);
    assert_eq!((stats.records_kept, stats.records_removed), (1, 2));
}
