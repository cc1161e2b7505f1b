//! A segment of idempotent and transactional batches and COMMIT/ABORT markers, as
//! kafkalite writes them, reads the same through an independent implementation of Kafka's
//! format: kafka-python decoded the committed `tests/fixtures/kafka-python/transactions.log`
//! into `transactions.txt` (`decode_cleaned.py`, run again by `.ci/run`). Here kafkalite must
//! still write those bytes for the same appends, and its own reading of every batch header
//! (attributes, producer id, epoch, base sequence) and record (the markers' keys and values
//! included) must be kafka-python's, line for line.
//!
//! After a change that alters the bytes on purpose, regenerate both files:
//! `KAFKALITE_BLESS=1 cargo test --test golden_transactions`, then
//! `python3 tests/fixtures/kafka-python/decode_cleaned.py tests/fixtures/kafka-python/transactions.log > tests/fixtures/kafka-python/transactions.txt`.

use std::path::PathBuf;
use std::sync::Arc;

use kafkalite::{BatchBuilder, Cluster, Log, MockClock, NewTopic};

const T0: i64 = 1_700_000_000_000;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kafka-python")
        .join(name)
}

fn batch(log: &Log, producer: (i64, i16, i32), transactional: bool, values: &[&str]) {
    let mut builder = BatchBuilder::new()
        .producer(producer.0, producer.1, producer.2)
        .transactional(transactional);
    for (i, value) in values.iter().enumerate() {
        let at = T0 + i64::try_from(i).unwrap();
        builder
            .append(at, Some(value.as_bytes()), Some(value.as_bytes()), &[])
            .unwrap();
    }
    log.append(&builder.build().unwrap()).unwrap();
}

/// The segment kafkalite writes for a fixed run: an idempotent producer, a plain batch, two
/// transactions (one committed, one aborted) interleaved, and a marker for a producer with
/// nothing open.
fn written() -> Vec<u8> {
    let clock = MockClock::new(T0);
    let cluster = Cluster::builder()
        .clock(Arc::new(clock))
        .background(false)
        .temporary()
        .unwrap();
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let log = cluster.partition("t", 0).unwrap();
    batch(&log, (1000, 0, 0), false, &["i1", "i2"]);
    batch(&log, (-1, -1, -1), false, &["p1"]);
    batch(&log, (1001, 3, 0), true, &["a1"]);
    batch(&log, (1002, 0, 0), true, &["c1", "c2"]);
    batch(&log, (1001, 3, 1), true, &["a2"]);
    log.write_transaction_marker(1002, 0, 5, true).unwrap();
    log.write_transaction_marker(1001, 3, 5, false).unwrap();
    log.write_transaction_marker(1000, 0, 5, true).unwrap();
    batch(&log, (1000, 0, 2), false, &["i3"]);
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 1);
    let data = log.read(0, 1 << 20).unwrap();
    data.bytes().to_vec()
}

fn hex(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "null".into(),
        Some([]) => "-".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// kafkalite's reading of `bytes` in `decode_cleaned.py`'s line format.
fn read(bytes: &[u8]) -> String {
    let mut lines = Vec::new();
    for item in kafkalite::record::BatchIter::new(bytes) {
        let (_, batch) = item.unwrap();
        batch.verify_crc().unwrap();
        lines.push(format!(
            "batch base={} last={} count={} attributes={} first_ts={} max_ts={} producer={},{},{}",
            batch.base_offset(),
            batch.last_offset(),
            batch.records_count(),
            batch.attributes(),
            batch.base_timestamp(),
            batch.max_timestamp(),
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence()
        ));
        for record in batch.records().unwrap().iter() {
            let record = record.unwrap();
            lines.push(format!(
                "record {} {} {} {} none",
                record.offset,
                record.timestamp,
                hex(record.key),
                hex(record.value)
            ));
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn kafka_python_reads_transactional_and_control_batches_as_kafkalite_does() {
    let bytes = written();
    if std::env::var_os("KAFKALITE_BLESS").is_some() {
        std::fs::write(fixture("transactions.log"), &bytes).unwrap();
    }
    let committed = std::fs::read(fixture("transactions.log")).unwrap();
    assert!(
        committed == bytes,
        "kafkalite no longer writes the committed segment"
    );
    let kafka_python = std::fs::read_to_string(fixture("transactions.txt")).unwrap();
    assert_eq!(read(&committed), kafka_python);
    // The markers are there as kafka-python sees them: control and transactional
    // attributes (0x20 | 0x10), the producer's id and epoch, no sequence, and Kafka's key
    // (version 0, type 1 COMMIT or 0 ABORT) and value (version 0, coordinator epoch 5).
    for (producer, kind) in [("1002,0,-1", "00000001"), ("1001,3,-1", "00000000")] {
        let marker = format!("attributes=48 first_ts={T0} max_ts={T0} producer={producer}");
        let at = kafka_python
            .find(&marker)
            .unwrap_or_else(|| panic!("{marker}"));
        let record = kafka_python[at..].lines().nth(1).unwrap();
        assert!(
            record.ends_with(&format!(" {kind} 000000000005 none")),
            "{record}"
        );
    }
}
