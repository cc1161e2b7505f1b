//! kafka-dump-log on indexes: `--verify-index-only` and `--index-sanity-check`, the entry
//! checks of `DumpLogSegments.dumpIndex`/`dumpTimeIndex` (reported on stderr after the
//! dump, in Kafka's words) and `OffsetIndex`/`TimeIndex.sanityCheck`.

mod cli_support;
mod common;

use std::path::{Path, PathBuf};

use cli_support::{fails, run};
use kafkalite::{Cluster, NewTopic};

/// A partition of 4 batches of 3 records (offsets 0..12, timestamps 1000, 1100, ...), an
/// index entry per batch; returns its directory.
fn partition(dir: &Path) -> PathBuf {
    let cluster = Cluster::open(dir).unwrap();
    cluster
        .create_topic(NewTopic::new("t", 1).config("index.interval.bytes", "10"))
        .unwrap();
    let log = cluster.partition("t", 0).unwrap();
    for i in 0..4 {
        log.append(&common::batch(i * 3, 3, 5, 1000 + i as i64 * 100))
            .unwrap();
    }
    cluster.close().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("t-0"))
        .unwrap()
}

fn dump(dir: &Path, file: &Path, flags: &[&str]) -> (String, String, bool) {
    let mut args = vec!["dump-log", "--files", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    let output = run(dir, &args);
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

#[test]
fn verify_index_only_checks_entries_against_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = partition(d);
    let (index, time) = (
        p.join("00000000000000000000.index"),
        p.join("00000000000000000000.timeindex"),
    );
    let shown = index.display().to_string();
    // A sound index: entries printed (each batch's last offset), nothing on stderr.
    let (out, err, ok) = dump(d, &index, &[]);
    assert!(ok && err.is_empty(), "{err}");
    // As Kafka's, the first batch gets no entry: an entry is added once more than
    // index.interval.bytes were written since the last.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("offset: ")).count(),
        3,
        "{out}"
    );
    assert!(out.contains("offset: 5 position: "), "{out}");
    let (out, err, ok) = dump(d, &index, &["--verify-index-only"]);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(out, format!("Dumping {shown}\n"));
    let (out, err, ok) = dump(d, &time, &["--verify-index-only"]);
    assert!(
        ok && err.is_empty() && out.lines().count() == 1,
        "{out}{err}"
    );

    // The second entry (offset 8) pointed at the first batch: Kafka's mismatch report.
    let mut bytes = std::fs::read(&index).unwrap();
    bytes[12..16].copy_from_slice(&0u32.to_be_bytes());
    std::fs::write(&index, &bytes).unwrap();
    let (out, err, ok) = dump(d, &index, &["--verify-index-only"]);
    assert!(ok, "a report, not a failure, as Kafka's");
    assert_eq!(out, format!("Dumping {shown}\n"));
    let absolute = std::path::absolute(&index).unwrap().display().to_string();
    assert_eq!(
        err,
        format!("Mismatches in :{absolute}\n  Index offset: 8, log offset: 2\n")
    );

    // A time index entry whose timestamp is not its batch's largest, and out of order.
    let mut times = std::fs::read(&time).unwrap();
    times[12..20].copy_from_slice(&900i64.to_be_bytes());
    std::fs::write(&time, &times).unwrap();
    let (_, err, ok) = dump(d, &time, &["--verify-index-only"]);
    let absolute = std::path::absolute(&time).unwrap().display().to_string();
    assert!(ok);
    assert_eq!(
        err,
        format!(
            "Found timestamp mismatch in :{absolute}\n  Index timestamp: 900, log timestamp: 1200\n\
             Found out of order timestamp in :{absolute}\n  Index timestamp: 900, Previously indexed timestamp: 1100\n"
        )
    );
}

#[test]
fn index_sanity_check_is_kafkas_startup_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = partition(d);
    let (index, time) = (
        p.join("00000000000000000000.index"),
        p.join("00000000000000000000.timeindex"),
    );
    for file in [&index, &time] {
        let (out, err, ok) = dump(d, file, &["--index-sanity-check"]);
        assert!(ok && err.is_empty(), "{err}");
        assert_eq!(
            out,
            format!("Dumping {0}\n{0} passed sanity check.\n", file.display())
        );
    }
    // A torn entry: the length is not a multiple of the entry size.
    let mut bytes = std::fs::read(&index).unwrap();
    bytes.extend_from_slice(&[0, 0, 0]);
    std::fs::write(&index, &bytes).unwrap();
    let err = fails(
        d,
        &[
            "dump-log",
            "--index-sanity-check",
            "--files",
            index.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains(&format!(
            "found {} bytes which is neither positive nor a multiple of 8",
            bytes.len()
        )),
        "{err}"
    );
    // A time index whose last timestamp is before its first.
    let mut times = std::fs::read(&time).unwrap();
    let last = times.len() - 12;
    times[last..last + 8].copy_from_slice(&5i64.to_be_bytes());
    std::fs::write(&time, &times).unwrap();
    let err = fails(
        d,
        &[
            "dump-log",
            "--index-sanity-check",
            "--files",
            time.to_str().unwrap(),
        ],
    );
    assert!(err.contains("has non-zero size but the last timestamp is 5 which is less than the first timestamp 1100"), "{err}");
    // An empty index is reported as such.
    std::fs::write(&index, b"").unwrap();
    let (out, _, ok) = dump(d, &index, &["--index-sanity-check"]);
    assert!(ok);
    assert!(
        out.ends_with(&format!("{} is empty.\n", index.display())),
        "{out}"
    );
}
