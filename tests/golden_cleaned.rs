//! A segment written by kafkalite's cleaner reads the same through an independent
//! implementation of Kafka's format: kafka-python decoded the committed
//! `tests/fixtures/kafka-python/cleaned.log` into `cleaned.txt`
//! (`decode_cleaned.py`, run again by `.ci/run`). Here the cleaner must still write those
//! bytes from the same log, kafka-python's reading must hold exactly what Kafka's cleaner
//! keeps (worked out below from the log, not from the cleaner), and kafkalite must read the
//! same records.
//!
//! After a change that alters the bytes on purpose, regenerate both files:
//! `KAFKALITE_BLESS=1 cargo test --test golden_cleaned`, then
//! `python3 tests/fixtures/kafka-python/decode_cleaned.py tests/fixtures/kafka-python/cleaned.log > tests/fixtures/kafka-python/cleaned.txt`.

mod common;

use common::unhex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use kafkalite::{BatchBuilder, Cluster, Compression, Header, MockClock, NewTopic};

const T0: i64 = 1_700_000_000_000;
const CLEANED_AT: i64 = T0 + 100_000;
const DELETE_RETENTION_MS: i64 = 86_400_000;

/// A record as the log is given it: key, value, headers.
type In = (
    Option<&'static str>,
    Option<&'static str>,
    Vec<(&'static str, &'static str)>,
);

/// One batch: producer (id, epoch, sequence), codec, records.
struct Batch {
    producer: (i64, i16, i32),
    codec: Compression,
    records: Vec<In>,
}

fn plain(records: Vec<In>) -> Batch {
    Batch {
        producer: (-1, -1, -1),
        codec: Compression::None,
        records,
    }
}

fn scenario() -> Vec<Batch> {
    let users: Vec<In> = (0..20)
        .map(|i| {
            let key: &'static str = Box::leak(format!("user-{}", i % 10).into_boxed_str());
            let value: &'static str = Box::leak(format!("profile {i} ").repeat(8).into_boxed_str());
            (Some(key), Some(value), vec![("trace", "t")])
        })
        .collect();
    vec![
        plain(vec![
            (Some("a"), Some("a1"), vec![]),
            (Some("b"), Some("b1"), vec![]),
            (Some("a"), Some("a2"), vec![]),
            (None, Some("keyless"), vec![]),
        ]),
        Batch {
            producer: (-1, -1, -1),
            codec: Compression::Lz4,
            records: users,
        },
        Batch {
            producer: (4242, 3, 7),
            codec: Compression::None,
            records: vec![
                (Some("c"), Some("c1"), vec![]),
                (Some("a"), Some("a3"), vec![]),
            ],
        },
        // Producer 77's last batch: emptied by `d2`, but kept for its sequence.
        Batch {
            producer: (77, 0, 0),
            codec: Compression::None,
            records: vec![(Some("d"), Some("d1"), vec![("h", "")])],
        },
        plain(vec![(Some("b"), None, vec![])]),
        plain(vec![(Some("d"), Some("d2"), vec![])]),
        plain(vec![(Some("e"), Some("e1"), vec![])]),
        plain(vec![(Some("e"), Some("e2"), vec![])]),
    ]
}

/// A record as read: offset, timestamp, key, value, headers.
type Out = (
    i64,
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Option<Vec<u8>>)>,
);

/// Every record of the scenario at its offset and timestamp, and what Kafka's cleaner keeps
/// of them: the latest record of each key (a tombstone too, its horizon not passed); keyless
/// records go.
fn expected() -> (Vec<Out>, Vec<Out>) {
    let mut all = Vec::new();
    for batch in scenario() {
        for (key, value, headers) in batch.records {
            let offset = all.len() as i64;
            all.push((
                offset,
                T0 + offset,
                key.map(|k| k.as_bytes().to_vec()),
                value.map(|v| v.as_bytes().to_vec()),
                headers
                    .iter()
                    .map(|(k, v)| (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec())))
                    .collect(),
            ));
        }
    }
    let latest: HashMap<Vec<u8>, i64> = all
        .iter()
        .filter_map(|r| r.2.clone().map(|k| (k, r.0)))
        .collect();
    let kept = all
        .iter()
        .filter(|r| r.2.as_ref().is_some_and(|k| latest[k] == r.0))
        .cloned()
        .collect();
    (all, kept)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kafka-python")
        .join(name)
}

/// The log of `scenario`, cleaned once at `CLEANED_AT`: the cleaned segment's bytes, and
/// every record kafkalite reads back.
fn cleaned() -> (Vec<u8>, Vec<Out>) {
    let clock = MockClock::new(T0);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock.clone()))
        .background(false)
        .temporary()
        .unwrap();
    // Written before the topic became compacted, as a compacted topic refuses keyless records.
    cluster
        .create_topic(NewTopic::new("c", 1).config("cleanup.policy", "delete"))
        .unwrap();
    let log = cluster.partition("c", 0).unwrap();
    let mut offset = 0;
    for batch in scenario() {
        let (id, epoch, sequence) = batch.producer;
        let mut builder = BatchBuilder::new()
            .producer(id, epoch, sequence)
            .compression(batch.codec);
        for (key, value, headers) in &batch.records {
            let headers: Vec<Header<'_>> = headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.as_bytes(),
                    value: Some(v.as_bytes()),
                })
                .collect();
            builder
                .append(
                    T0 + offset,
                    key.map(str::as_bytes),
                    value.map(str::as_bytes),
                    &headers,
                )
                .unwrap();
            offset += 1;
        }
        log.append(&builder.build().unwrap()).unwrap();
    }
    log.roll().unwrap();
    cluster
        .alter_topic_config("c", &[("cleanup.policy", "compact")], &[])
        .unwrap();
    clock.set_ms(CLEANED_AT);
    cluster.compact(Some("c")).unwrap();
    let bytes = std::fs::read(log.dir().join("00000000000000000000.log")).unwrap();
    let mut read = Vec::new();
    let mut at = 0;
    while at < log.high_watermark() {
        for batch in log.read(at, 1 << 20).unwrap().batches() {
            let batch = batch.unwrap();
            for r in batch.records().unwrap().iter() {
                let r = r.unwrap();
                read.push((
                    r.offset,
                    r.timestamp,
                    r.key.map(<[u8]>::to_vec),
                    r.value.map(<[u8]>::to_vec),
                    r.headers()
                        .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                        .collect(),
                ));
            }
            at = batch.next_offset();
        }
    }
    (bytes, read)
}

/// kafka-python's reading: batch lines as `name=value` maps, and records.
fn kafka_python() -> (Vec<HashMap<String, String>>, Vec<Out>) {
    let text = std::fs::read_to_string(fixture("cleaned.txt")).unwrap();
    let (mut batches, mut records) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "batch" => batches.push(
                fields[1..]
                    .iter()
                    .map(|f| {
                        let (k, v) = f.split_once('=').unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect(),
            ),
            "record" => {
                let headers = match fields[5] {
                    "none" => Vec::new(),
                    list => list
                        .split(',')
                        .map(|h| {
                            let (k, v) = h.split_once(':').unwrap();
                            (unhex(k).unwrap(), unhex(v))
                        })
                        .collect(),
                };
                records.push((
                    fields[1].parse().unwrap(),
                    fields[2].parse().unwrap(),
                    unhex(fields[3]),
                    unhex(fields[4]),
                    headers,
                ));
            }
            other => panic!("unknown line kind {other}"),
        }
    }
    (batches, records)
}

#[test]
fn a_cleaned_segment_decodes_with_kafka_python_as_kafka_keeps_it() {
    let (bytes, read) = cleaned();
    let path = fixture("cleaned.log");
    if std::env::var_os("KAFKALITE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    assert!(
        std::fs::read(&path).unwrap() == bytes,
        "the cleaner no longer writes {}; if that is meant, regenerate it and cleaned.txt (see \
         this file's doc)",
        path.display()
    );
    let (all, kept) = expected();
    assert!(kept.len() < all.len() - 10);
    let (batches, records) = kafka_python();
    assert_eq!(
        records, kept,
        "kafka-python reads what Kafka's cleaner keeps"
    );
    assert_eq!(read, kept, "kafkalite reads the same");
    // Batch metadata as Kafka's cleaner keeps it.
    let field = |b: &HashMap<String, String>, k: &str| b[k].clone();
    let attributes = |b: &HashMap<String, String>| field(b, "attributes").parse::<i64>().unwrap();
    assert_eq!(field(&batches[0], "base"), "0", "offsets kept");
    assert!(
        batches.iter().any(|b| attributes(b) & 0x7 == 3),
        "the lz4 batch stays lz4"
    );
    let idempotent = batches
        .iter()
        .find(|b| field(b, "producer") == "4242,3,7")
        .unwrap();
    assert_eq!(field(idempotent, "count"), "2");
    let emptied = batches
        .iter()
        .find(|b| field(b, "producer") == "77,0,0")
        .unwrap();
    assert_eq!(
        (
            field(emptied, "count"),
            field(emptied, "base"),
            field(emptied, "last")
        ),
        ("0".into(), "26".into(), "26".into()),
        "a producer's last batch is kept, emptied"
    );
    let tombstone = batches
        .iter()
        .find(|b| attributes(b) & 0x40 != 0)
        .expect("the tombstone's batch carries a delete horizon");
    assert_eq!(
        field(tombstone, "first_ts"),
        (CLEANED_AT + DELETE_RETENTION_MS).to_string(),
        "KIP-534: the horizon is the base timestamp"
    );
    // Batches cover the offsets back to back, the removed ones included.
    let mut next = 0;
    for batch in &batches {
        assert_eq!(
            field(batch, "base").parse::<i64>().unwrap(),
            next,
            "{batch:?}"
        );
        next = field(batch, "last").parse::<i64>().unwrap() + 1;
    }
    assert_eq!(next, all.len() as i64);
}
