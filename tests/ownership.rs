//! What kafkalite owns in a data directory, and what it never touches: Kafka's
//! `meta.properties` and `partition.metadata` tie the directory and each partition directory
//! to the cluster; a directory holding anything else is refused untouched; foreign entries
//! beside or inside a live data directory stay byte for byte through opens, repairs and topic
//! deletion, and are reported; internal topics cannot be deleted or altered.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kafkalite::{Cluster, Error, NewTopic, RecoveryMode};

use common::{batch, read_all};

/// Every file under `root` (relative path → bytes), and every directory (→ `None`).
fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                found.insert(relative, None);
                stack.push(path);
            } else {
                found.insert(relative, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    found
}

/// The directories and files the new user had, which `Cluster::open` once deleted.
fn plant_foreign(dir: &Path) {
    for (path, bytes) in [
        (
            "photos-2023/img.jpg",
            &b"\xff\xd8\xff\xe0 not really a jpeg"[..],
        ),
        ("backup-1/data.txt", b"precious"),
        ("notes-delete/a.txt", b"a note"),
    ] {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn a_foreign_directory_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    plant_foreign(dir.path());
    let before = tree(dir.path());
    match Cluster::open(dir.path()) {
        Err(Error::NotOwned { path, reason }) => {
            assert_eq!(path, dir.path());
            for name in ["photos-2023/", "backup-1/", "notes-delete/"] {
                assert!(reason.contains(name), "{reason}");
            }
        }
        other => panic!("expected NotOwned, got {other:?}"),
    }
    assert_eq!(
        tree(dir.path()),
        before,
        "nothing created, changed or removed"
    );

    // A single foreign file is enough, and the message names it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let error = Cluster::open(dir.path()).unwrap_err();
    assert!(error.to_string().contains("notes.txt"), "{error}");
    assert_eq!(tree(dir.path()).len(), 1);
}

#[test]
fn a_file_is_not_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data");
    std::fs::write(&file, "mine").unwrap();
    assert!(matches!(
        Cluster::open(&file),
        Err(Error::NotOwned { reason, .. }) if reason.contains("is a file")
    ));
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

#[test]
fn a_new_directory_carries_kafkas_ownership_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let cluster = Cluster::open(&d).unwrap();
    cluster.create_topic(NewTopic::new("orders", 2)).unwrap();
    let topic_id = cluster.describe_topic("orders").unwrap().id;
    let cluster_id = cluster.cluster_id().to_string();
    assert!(cluster.recovery_report().claimed.is_some());
    cluster.close().unwrap();

    let meta = std::fs::read_to_string(d.join("meta.properties")).unwrap();
    let properties: BTreeMap<&str, &str> = meta
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    assert_eq!(properties["version"], "1");
    assert_eq!(properties["node.id"], "0");
    assert_eq!(properties["cluster.id"], cluster_id);
    for id in [properties["cluster.id"], properties["directory.id"]] {
        assert_eq!(id.len(), 22, "{id}: a base64 UUID");
    }
    for partition in 0..2 {
        let text =
            std::fs::read_to_string(d.join(format!("orders-{partition}/partition.metadata")))
                .unwrap();
        assert_eq!(text, format!("version: 0\ntopic_id: {topic_id}\n"));
    }
    // Kafka's metadata topic id, Uuid.METADATA_TOPIC_ID.
    let text = std::fs::read_to_string(d.join("__cluster_metadata-0/partition.metadata")).unwrap();
    assert_eq!(text, "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n");

    let cluster = Cluster::open(&d).unwrap();
    assert_eq!(cluster.cluster_id(), cluster_id, "the id is stable");
    assert!(
        cluster.recovery_report().is_quiet(),
        "{}",
        cluster.recovery_report()
    );
}

#[test]
fn foreign_entries_beside_a_live_directory_stay_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = Cluster::open(d).unwrap();
    for topic in ["a", "gone"] {
        cluster.create_topic(NewTopic::new(topic, 1)).unwrap();
        cluster
            .partition(topic, 0)
            .unwrap()
            .append(&batch(0, 3, 10, 1))
            .unwrap();
    }
    let gone_id = cluster.describe_topic("gone").unwrap().id;
    cluster.close().unwrap();
    drop(cluster);

    plant_foreign(d);
    std::fs::write(d.join("README"), "my notes").unwrap();
    std::fs::write(d.join("a-0/mine.txt"), "inside a partition").unwrap();
    // Named like kafkalite's own, but not: a set-aside name with a foreign file, a
    // partition directory whose partition.metadata names an id this cluster never had.
    let fake_delete = d.join("x-0.AAAAAAAAAAAAAAAAAAAAAg-delete");
    std::fs::create_dir(&fake_delete).unwrap();
    std::fs::write(fake_delete.join("00000000000000000000.log"), "not ours").unwrap();
    std::fs::create_dir(d.join("y-0")).unwrap();
    std::fs::write(
        d.join("y-0/partition.metadata"),
        "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAw\n",
    )
    .unwrap();
    std::fs::write(d.join("y-0/00000000000000000000.log"), [7u8; 100]).unwrap();
    // A user's copy of a live partition, under another name: its id is known, but not for
    // that name.
    std::fs::create_dir(d.join("a2-0")).unwrap();
    std::fs::copy(
        d.join("a-0/partition.metadata"),
        d.join("a2-0/partition.metadata"),
    )
    .unwrap();
    std::fs::copy(
        d.join("a-0/00000000000000000000.log"),
        d.join("a2-0/00000000000000000000.log"),
    )
    .unwrap();
    let foreign: Vec<PathBuf> = [
        "photos-2023",
        "backup-1",
        "notes-delete",
        "README",
        "a-0/mine.txt",
        "x-0.AAAAAAAAAAAAAAAAAAAAAg-delete",
        "y-0",
        "a2-0",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let foreign_tree = |tree: &BTreeMap<PathBuf, Option<Vec<u8>>>| -> BTreeMap<_, _> {
        tree.iter()
            .filter(|(p, _)| foreign.iter().any(|f| p.starts_with(f)))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    let before = foreign_tree(&tree(d));

    for mode in [
        RecoveryMode::TolerateCorruptTail,
        RecoveryMode::TruncateCorrupt,
    ] {
        let cluster = Cluster::builder().recovery_mode(mode).open(d).unwrap();
        let report = cluster.recovery_report().clone();
        for path in [
            "photos-2023",
            "backup-1",
            "notes-delete",
            "README",
            "y-0",
            "a2-0",
        ] {
            assert!(
                report.left_alone.iter().any(|(p, _)| *p == d.join(path)),
                "{path} is reported: {report}"
            );
        }
        assert_eq!(read_all(&cluster.partition("a", 0).unwrap()).len(), 3);
        cluster.close().unwrap();
        assert_eq!(foreign_tree(&tree(d)), before, "{mode:?}");
    }

    // Deleting topics removes kafkalite's files only: the foreign file keeps its directory.
    let cluster = Cluster::open(d).unwrap();
    cluster.delete_topic("gone").unwrap();
    cluster.delete_topic("a").unwrap();
    let after = tree(d);
    let kept: Vec<_> = after
        .iter()
        .filter(|(p, b)| {
            p.ends_with("mine.txt") && b.as_deref() == Some(&b"inside a partition"[..])
        })
        .collect();
    assert_eq!(kept.len(), 1, "{:?}", after.keys().collect::<Vec<_>>());
    assert!(
        !after.keys().any(|p| p.to_string_lossy().contains(&gone_id)),
        "the deleted topic without foreign files is gone entirely"
    );
    assert!(!d.join("gone-0").exists());
    let left: BTreeMap<_, _> = foreign_tree(&after)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("a-0"))
        .collect();
    let before: BTreeMap<_, _> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with("a-0"))
        .collect();
    assert_eq!(left, before);
    cluster.close().unwrap();
}

#[test]
fn a_meta_properties_from_another_cluster_is_refused_and_repair_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let id_a = {
        let cluster = Cluster::open(&a).unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        cluster.cluster_id().to_string()
    };
    let id_b = Cluster::open(&b).unwrap().cluster_id().to_string();
    assert_ne!(id_a, id_b);
    std::fs::copy(b.join("meta.properties"), a.join("meta.properties")).unwrap();
    match Cluster::open(&a) {
        Err(Error::InconsistentClusterId {
            found, expected, ..
        }) => assert_eq!(
            (found.as_str(), expected.as_str()),
            (id_b.as_str(), id_a.as_str())
        ),
        other => panic!("expected InconsistentClusterId, got {other:?}"),
    }
    let repaired = Cluster::builder()
        .recovery_mode(RecoveryMode::TruncateCorrupt)
        .open(&a)
        .unwrap();
    assert_eq!(repaired.cluster_id(), id_a);
    assert!(repaired.recovery_report().claimed.is_some());
    drop(repaired);
    let cluster = Cluster::open(&a).unwrap();
    assert_eq!(cluster.list_topics().unwrap(), ["t"]);
}

#[test]
fn a_directory_from_before_ownership_files_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = Cluster::open(d).unwrap();
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    cluster
        .partition("t", 1)
        .unwrap()
        .append(&batch(0, 4, 10, 1))
        .unwrap();
    let id = cluster.cluster_id().to_string();
    cluster.close().unwrap();
    drop(cluster);
    // What an earlier kafkalite wrote: no meta.properties, no partition.metadata.
    std::fs::remove_file(d.join("meta.properties")).unwrap();
    for partition in ["t-0", "t-1", "__cluster_metadata-0"] {
        std::fs::remove_file(d.join(partition).join("partition.metadata")).unwrap();
    }
    let cluster = Cluster::open(d).unwrap();
    assert_eq!(cluster.cluster_id(), id, "the metadata log's id is kept");
    assert!(cluster.recovery_report().claimed.is_some());
    assert_eq!(read_all(&cluster.partition("t", 1).unwrap()).len(), 4);
    cluster.close().unwrap();
    assert!(d.join("meta.properties").is_file());
    assert!(d.join("t-0/partition.metadata").is_file());
}

#[test]
fn a_partition_directory_of_another_topic_is_corruption_until_repaired() {
    // A repair sets it aside (its records are another topic's) and starts the partition anew.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = Cluster::open(d).unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    cluster.create_topic(NewTopic::new("u", 1)).unwrap();
    cluster.close().unwrap();
    drop(cluster);
    std::fs::copy(
        d.join("u-0/partition.metadata"),
        d.join("t-0/partition.metadata"),
    )
    .unwrap();
    assert!(matches!(
        Cluster::open(d),
        Err(Error::Corruption { path, .. }) if path.ends_with("t-0/partition.metadata")
    ));
    let repaired = Cluster::builder()
        .recovery_mode(RecoveryMode::TruncateCorrupt)
        .open(d)
        .unwrap();
    let t = repaired.describe_topic("t").unwrap().id;
    let u = repaired.describe_topic("u").unwrap().id;
    // Another topic's directory is never served as t's: it is set aside whole.
    let stray = d.join(format!("t-0.{u}-stray"));
    assert_eq!(
        repaired.recovery_report().set_aside,
        [(d.join("t-0"), stray.clone())]
    );
    assert!(stray.join("partition.metadata").is_file());
    drop(repaired);
    let text = std::fs::read_to_string(d.join("t-0/partition.metadata")).unwrap();
    assert_eq!(text, format!("version: 0\ntopic_id: {t}\n"));
    Cluster::open(d).unwrap();
}

#[test]
fn internal_topics_cannot_be_deleted_or_altered() {
    let cluster = Cluster::temporary().unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let consumer = cluster
        .consumer(kafkalite::ConsumerConfig::new().group_id("g"))
        .unwrap();
    let mut offsets = kafkalite::Offsets::new();
    offsets.insert(
        kafkalite::TopicPartition::new("t", 0),
        kafkalite::OffsetAndMetadata::new(0),
    );
    consumer
        .commit_offsets(&offsets, kafkalite::CommitMode::Sync)
        .unwrap();
    drop(consumer);
    assert!(cluster.describe_topic("__consumer_offsets").is_ok());
    for internal in ["__consumer_offsets", "__cluster_metadata"] {
        assert!(matches!(
            cluster.delete_topic(internal),
            Err(Error::InvalidTopic(message)) if message.contains("internal")
        ));
        assert!(matches!(
            cluster.alter_topic_config(internal, &[("retention.ms", "1")], &[]),
            Err(Error::InvalidTopic(_))
        ));
    }
}

/// Whether the tests must run their root-only checks (CI runs as root with `CI=true`).
fn required() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true")
}

/// A read-only data directory (immutable, so that root cannot write either): a typed `Io`
/// error naming the path, and nothing created.
#[test]
fn a_read_only_directory_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&data)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        assert!(
            !required(),
            "CI=true: chattr +i is needed to make a directory read-only"
        );
        eprintln!("SKIPPED: chattr +i does not work here");
        return;
    }
    let opened = Cluster::open(&data);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(&data)
        .status();
    match opened {
        Err(Error::Io { path, .. }) => assert!(path.starts_with(&data), "{path:?}"),
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(&data).unwrap().count(),
        0,
        "nothing created"
    );
}

/// An unreadable data directory (mode 000, opened by another user through the CLI): a
/// typed error on stderr, exit status 1, nothing changed.
#[test]
fn an_unreadable_directory_is_a_typed_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    {
        let cluster = Cluster::open(&data).unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    }
    let before = tree(&data);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o000)).unwrap();
    let output = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .arg(env!("CARGO_BIN_EXE_kafkalite"))
        .arg("--data-dir")
        .arg(&data)
        .args(["topics", "--list"])
        .output();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = match output {
        Ok(output) if !String::from_utf8_lossy(&output.stderr).contains("runuser:") => output,
        other => {
            assert!(
                !required(),
                "CI=true: runuser -u nobody is needed: {other:?}"
            );
            eprintln!("SKIPPED: cannot run as another user here: {other:?}");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Permission denied") && stderr.contains(&data.display().to_string()),
        "{stderr}"
    );
    assert_eq!(tree(&data), before, "nothing changed");
}

/// A topic's creation interrupted at any storage operation, by an I/O failure or by a power
/// cut (each way of resolving it), leaves nothing that refuses the topic later: after a
/// reopen, no directory is left alone as foreign, none being made is left, and creating the
/// topic again works (or finds it created).
#[test]
fn an_interrupted_topic_creation_never_blocks_the_topic() {
    use kafkalite::storage::{FaultPlan, PowerLoss, SimFailure, SimOp, SimStorage, Storage};
    let create = |cluster: &Cluster| cluster.create_topic(NewTopic::new("t", 3));
    // After the interruption: a reopen, then the creation again.
    let check = |sim: &SimStorage, case: &str| {
        let cluster = common::open_sim(sim).unwrap_or_else(|e| panic!("{case}: open: {e}"));
        let report = cluster.recovery_report();
        assert!(report.left_alone.is_empty(), "{case}: {report:?}");
        match create(&cluster) {
            Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
            Err(e) => panic!("{case}: the creation again: {e}"),
        }
        assert_eq!(cluster.topic_partitions("t").unwrap().1.len(), 3, "{case}");
        let names: Vec<String> = sim
            .list(Path::new(common::SIM_DATA))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with("-creating")),
            "{case}: {names:?}"
        );
    };
    // Each case: the cluster opened without faults, then the creation under `plan`.
    let interrupted = |plan: FaultPlan| {
        let sim = SimStorage::new(Path::new(common::SIM_ROOT));
        sim.set_plan(FaultPlan::default());
        let cluster = common::open_sim(&sim).unwrap();
        sim.set_plan(plan);
        let _ = create(&cluster);
        drop(cluster);
        sim
    };
    let dry = interrupted(FaultPlan::default());
    let mut cases = 0;
    for kind in [
        SimOp::Create,
        SimOp::Write,
        SimOp::Sync,
        SimOp::SyncDir,
        SimOp::Rename,
    ] {
        for n in 1..=dry.operations_of(kind) {
            let sim = interrupted(FaultPlan {
                power_cut_at: None,
                fail: Some((kind, n, SimFailure::Eio)),
            });
            sim.set_plan(FaultPlan::default());
            check(&sim, &format!("{kind:?} #{n} fails"));
            cases += 1;
        }
    }
    for cut in 1..=dry.operations() {
        for (i, how) in PowerLoss::ALL.into_iter().enumerate() {
            let seed = cut * 8 + i as u64;
            let sim = interrupted(FaultPlan {
                power_cut_at: Some(cut),
                fail: None,
            });
            let after = sim.after_power_loss(how, seed);
            check(&after, &format!("cut at {cut}, {how:?}, seed {seed}"));
            cases += 1;
        }
    }
    assert!(cases > 40, "{cases} cases");
}
