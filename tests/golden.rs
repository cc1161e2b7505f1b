//! Batches built by an independent implementation (kafka-python's record-batch builder, see
//! `tests/fixtures/kafka-python/make_golden.py`) decode exactly, and kafkalite's builder
//! re-encodes them to the same bytes (byte for byte when uncompressed; LZ4 frames may differ in
//! compressed bytes, so there the decoded records section must match).

mod common;

use common::unhex;
use kafkalite::record::{BatchBuilder, Compression, Header, RecordBatch, BATCH_HEADER_BYTES};

struct Expected {
    name: String,
    codec: Compression,
    producer: (i64, i16, i32),
    transactional: bool,
    records: Vec<ExpectedRecord>,
}

struct ExpectedRecord {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn manifest() -> Vec<Expected> {
    let text = include_str!("fixtures/kafka-python/manifest.txt");
    let mut batches: Vec<Expected> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "batch" => {
                let value =
                    |prefix: &str| fields.iter().find_map(|f| f.strip_prefix(prefix)).unwrap();
                let producer: Vec<i64> = value("producer=")
                    .split(',')
                    .map(|n| n.parse().unwrap())
                    .collect();
                batches.push(Expected {
                    name: fields[1].to_string(),
                    codec: if value("codec=") == "lz4" {
                        Compression::Lz4
                    } else {
                        Compression::None
                    },
                    producer: (
                        producer[0],
                        i16::try_from(producer[1]).unwrap(),
                        i32::try_from(producer[2]).unwrap(),
                    ),
                    transactional: value("transactional=") == "1",
                    records: Vec::new(),
                });
            }
            "record" => {
                let headers = match fields[4] {
                    "none" => Vec::new(),
                    list => list
                        .split(',')
                        .map(|h| {
                            let (k, v) = h.split_once(':').unwrap();
                            (unhex(k).unwrap(), unhex(v))
                        })
                        .collect(),
                };
                batches.last_mut().unwrap().records.push(ExpectedRecord {
                    timestamp: fields[1].parse().unwrap(),
                    key: unhex(fields[2]),
                    value: unhex(fields[3]),
                    headers,
                });
            }
            other => panic!("unknown manifest line kind {other}"),
        }
    }
    batches
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/kafka-python/{name}.bin",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn rebuild(expected: &Expected, codec: Compression) -> Vec<u8> {
    let (id, epoch, sequence) = expected.producer;
    let mut builder = BatchBuilder::new()
        .partition_leader_epoch(0)
        .producer(id, epoch, sequence)
        .transactional(expected.transactional)
        .compression(codec);
    for r in &expected.records {
        let headers: Vec<Header<'_>> = r
            .headers
            .iter()
            .map(|(k, v)| Header {
                key: k,
                value: v.as_deref(),
            })
            .collect();
        builder
            .append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers)
            .unwrap();
    }
    builder.build().unwrap()
}

#[test]
fn kafka_python_batches_decode_exactly() {
    let batches = manifest();
    assert_eq!(batches.len(), 4, "every fixture is listed");
    for expected in &batches {
        let bytes = fixture(&expected.name);
        let batch = RecordBatch::new(&bytes).unwrap();
        assert!(batch.is_valid(), "{}: CRC", expected.name);
        assert_eq!(
            batch.compression().unwrap(),
            expected.codec,
            "{}",
            expected.name
        );
        assert_eq!(batch.producer_id(), expected.producer.0);
        assert_eq!(batch.producer_epoch(), expected.producer.1);
        assert_eq!(batch.base_sequence(), expected.producer.2);
        assert_eq!(batch.is_transactional(), expected.transactional);
        assert_eq!(
            usize::try_from(batch.records_count()).unwrap(),
            expected.records.len()
        );
        let max_ts = expected.records.iter().map(|r| r.timestamp).max().unwrap();
        assert_eq!(batch.max_timestamp(), max_ts, "{}", expected.name);
        let records = batch.records().unwrap();
        let decoded = records.collect_all().unwrap();
        for (i, (got, want)) in decoded.iter().zip(&expected.records).enumerate() {
            assert_eq!(got.offset, i as i64);
            assert_eq!(
                got.timestamp, want.timestamp,
                "{} record {i}",
                expected.name
            );
            assert_eq!(got.key, want.key.as_deref(), "{} record {i}", expected.name);
            assert_eq!(
                got.value,
                want.value.as_deref(),
                "{} record {i}",
                expected.name
            );
            let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = got
                .headers()
                .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(headers, want.headers, "{} record {i}", expected.name);
        }
    }
}

#[test]
fn kafkalite_reencodes_to_the_same_bytes() {
    for expected in manifest() {
        let theirs = fixture(&expected.name);
        match expected.codec {
            Compression::None => assert_eq!(
                rebuild(&expected, Compression::None),
                theirs,
                "{}",
                expected.name
            ),
            _ => {
                let theirs_batch = RecordBatch::new(&theirs).unwrap();
                let their_records = theirs_batch.records().unwrap();
                let ours_plain = rebuild(&expected, Compression::None);
                let ours_lz4 = rebuild(&expected, expected.codec);
                let ours_batch = RecordBatch::new(&ours_lz4).unwrap();
                assert!(ours_batch.is_valid());
                assert_eq!(
                    &ours_lz4[21..BATCH_HEADER_BYTES],
                    &theirs[21..BATCH_HEADER_BYTES],
                    "header fields"
                );
                let decoded_ours = ours_batch.records().unwrap();
                let ours: Vec<_> = decoded_ours.iter().map(Result::unwrap).collect();
                let theirs: Vec<_> = their_records.iter().map(Result::unwrap).collect();
                assert_eq!(ours, theirs);
                let plain = RecordBatch::new(&ours_plain).unwrap();
                let plain_records = plain.records().unwrap();
                assert_eq!(
                    plain_records.collect_all().unwrap(),
                    theirs,
                    "same records section"
                );
            }
        }
    }
}
