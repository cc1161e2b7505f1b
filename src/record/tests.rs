//! Golden vectors from the semantics reference (verified there against kafka-python and Java's
//! CRC32C) and round trips.

use super::*;
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

const BATCH_A: &str = "0000000000000000 00000049 00000000 02 6a8990a3
    0000 00000001 0000018bcfe56800 0000018bcfe56805
    ffffffffffffffff ffff ffffffff 00000002
    14 00 00 00 04 6b31 04 7631 00
    18 00 0a 02 01 04 7632 02 02 68 02 78";

const BATCH_B: &str = "0000000000000002 00000042 00000000 02 91a36763 0030 00000000
    0000018bcfe5680a 0000018bcfe5680a 00000000000003e8 0000 ffffffff 00000001
    20 00 00 00 08 00000001 0c 000000000000 00";

fn build_batch_a(compression: Compression) -> Vec<u8> {
    let mut builder = BatchBuilder::new()
        .partition_leader_epoch(0)
        .compression(compression);
    builder
        .append(1_700_000_000_000, Some(b"k1"), Some(b"v1"), &[])
        .unwrap();
    let header = Header {
        key: b"h",
        value: Some(b"x"),
    };
    builder
        .append(1_700_000_000_005, None, Some(b"v2"), &[header])
        .unwrap();
    builder.build().unwrap()
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn golden_batch_a_encodes_byte_for_byte() {
    assert_eq!(build_batch_a(Compression::None), hex(BATCH_A));
}

#[test]
fn golden_batch_a_decodes() {
    let bytes = hex(BATCH_A);
    let batch = RecordBatch::new(&bytes).unwrap();
    assert_eq!(batch.size(), 85);
    assert_eq!(batch.crc(), 0x6a89_90a3);
    assert!(batch.is_valid());
    assert_eq!((batch.base_offset(), batch.last_offset()), (0, 1));
    assert_eq!(batch.max_timestamp(), 1_700_000_000_005);
    assert_eq!(batch.last_sequence(), -1);
    let records = batch.records().unwrap();
    let records = records.collect_all().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].key, Some(&b"k1"[..]));
    assert_eq!(records[0].value, Some(&b"v1"[..]));
    assert_eq!(records[0].timestamp, 1_700_000_000_000);
    assert_eq!(records[1].key, None);
    assert_eq!(records[1].offset, 1);
    assert_eq!(records[1].timestamp, 1_700_000_000_005);
    let headers: Vec<_> = records[1].headers().collect();
    assert_eq!(
        headers,
        vec![Header {
            key: b"h",
            value: Some(b"x")
        }]
    );
}

#[test]
fn golden_commit_marker() {
    let bytes = hex(BATCH_B);
    let batch = RecordBatch::new(&bytes).unwrap();
    assert_eq!(batch.size(), 78);
    assert!(batch.is_valid());
    assert!(batch.is_control() && batch.is_transactional());
    let records = batch.records().unwrap();
    let record = records.iter().next().unwrap().unwrap();
    let kind = ControlRecordType::parse_key(record.key.unwrap()).unwrap();
    assert_eq!(kind, ControlRecordType::Commit);
    assert_eq!(
        parse_end_transaction_marker(record.value.unwrap()).unwrap(),
        0
    );

    let mut builder = BatchBuilder::new()
        .partition_leader_epoch(0)
        .base_offset(2)
        .producer(1000, 0, -1)
        .transactional(true)
        .control(true);
    let key = ControlRecordType::Commit.key();
    let value = end_transaction_marker_value(0);
    builder
        .append(1_700_000_000_010, Some(&key), Some(&value), &[])
        .unwrap();
    assert_eq!(builder.build().unwrap(), bytes);
}

#[test]
fn golden_lz4_batch_a() {
    let built = build_batch_a(Compression::Lz4);
    let plain = hex(BATCH_A);
    let records_section = &plain[BATCH_HEADER_BYTES..];
    let mut expected_frame = hex("04224d18 604082 18000080");
    expected_frame.extend_from_slice(records_section);
    expected_frame.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(&built[BATCH_HEADER_BYTES..], &expected_frame[..]);
    let batch = RecordBatch::new(&built).unwrap();
    assert!(batch.is_valid());
    assert_eq!(batch.compression().unwrap(), Compression::Lz4);
    let records = batch.records().unwrap();
    assert_eq!(records.collect_all().unwrap().len(), 2);
}

#[test]
fn every_single_bit_flip_is_detected() {
    let bytes = hex(BATCH_A);
    for byte in 21..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[byte] ^= 1 << bit;
            let batch = RecordBatch::new(&damaged);
            assert!(
                batch.map(|b| !b.is_valid()).unwrap_or(true),
                "flip at byte {byte} bit {bit} undetected"
            );
        }
    }
}

#[test]
fn truncations_never_panic() {
    let bytes = hex(BATCH_A);
    for len in 0..bytes.len() {
        assert!(RecordBatch::parse_prefix(&bytes[..len]).is_err());
    }
}

#[test]
fn the_key_reader_reads_keys_and_never_past_a_cut() {
    let mut builder = BatchBuilder::new();
    builder.append(0, Some(b"k1"), Some(b"v1"), &[]).unwrap();
    // A nine-byte timestamp delta varint, stepped over.
    builder.append(i64::MAX / 2, None, None, &[]).unwrap();
    let bytes = builder.build().unwrap();
    let section = &bytes[61..];
    let mut buf = section;
    assert_eq!(record::next_key(&mut buf), Some((0, Some(&b"k1"[..]))));
    assert_eq!(record::next_key(&mut buf), Some((1, None)));
    assert!(buf.is_empty());
    let first = section.len() - {
        let mut rest = section;
        record::next_key(&mut rest).unwrap();
        rest.len()
    };
    for cut in 0..section.len() {
        let mut buf = &section[..cut];
        let read = record::next_key(&mut buf);
        if cut < first {
            assert_eq!(read, None, "cut at {cut} of the first record");
        } else {
            assert!(read.is_some());
            assert_eq!(
                record::next_key(&mut buf),
                None,
                "cut at {cut} of the second"
            );
        }
    }
}

#[test]
fn record_count_mismatch_is_reported() {
    let mut bytes = hex(BATCH_A);
    bytes[60] = 3; // claims three records, holds two
    let batch = RecordBatch::new(&bytes).unwrap();
    let records = batch.records().unwrap();
    let results: Vec<_> = records.iter().collect();
    assert!(results.last().unwrap().is_err());
}

#[test]
fn log_append_time_reports_max_timestamp() {
    let mut builder = BatchBuilder::new().timestamp_type(TimestampType::LogAppendTime);
    builder.append(10, None, Some(b"a"), &[]).unwrap();
    builder.append(20, None, Some(b"b"), &[]).unwrap();
    let bytes = builder.build().unwrap();
    let batch = RecordBatch::new(&bytes).unwrap();
    let records = batch.records().unwrap();
    assert!(records.iter().all(|r| r.unwrap().timestamp == 20));
}

#[test]
fn sequence_wraps_after_i32_max() {
    let mut builder = BatchBuilder::new().producer(7, 0, i32::MAX);
    builder.append(0, None, None, &[]).unwrap();
    builder.append(0, None, None, &[]).unwrap();
    let bytes = builder.build().unwrap();
    assert_eq!(RecordBatch::new(&bytes).unwrap().last_sequence(), 0);
}

type OwnedRecord = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Option<Vec<u8>>)>,
);

fn arb_record() -> impl Strategy<Value = OwnedRecord> {
    let bytes = proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40));
    let header = (proptest::collection::vec(any::<u8>(), 0..8), bytes.clone());
    (
        0i64..1 << 45,
        bytes.clone(),
        bytes,
        proptest::collection::vec(header, 0..3),
    )
}

proptest! {
    #[test]
    fn builder_and_reader_agree(
        records in proptest::collection::vec(arb_record(), 1..20),
        lz4 in any::<bool>(),
    ) {
        let codec = if lz4 { Compression::Lz4 } else { Compression::None };
        let mut builder = BatchBuilder::new().compression(codec);
        for (ts, key, value, headers) in &records {
            let headers: Vec<Header<'_>> = headers
                .iter()
                .map(|(k, v)| Header { key: k, value: v.as_deref() })
                .collect();
            builder.append(*ts, key.as_deref(), value.as_deref(), &headers).unwrap();
        }
        let bytes = builder.build().unwrap();
        let batch = RecordBatch::new(&bytes).unwrap();
        prop_assert!(batch.is_valid());
        prop_assert_eq!(usize::try_from(batch.records_count()).unwrap(), records.len());
        prop_assert_eq!(batch.max_timestamp(), records.iter().map(|r| r.0).max().unwrap());
        let section = batch.records().unwrap();
        let keys: Vec<(i32, Option<&[u8]>)> = section.keys().collect::<crate::Result<_>>().unwrap();
        let expected: Vec<(i32, Option<&[u8]>)> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (i32::try_from(i).unwrap(), r.1.as_deref()))
            .collect();
        prop_assert_eq!(keys, expected, "the map pass's reading agrees");
        let decoded = section.collect_all().unwrap();
        for (i, (want, got)) in records.iter().zip(&decoded).enumerate() {
            prop_assert_eq!(got.offset, i as i64);
            prop_assert_eq!(got.timestamp, want.0);
            prop_assert_eq!(got.key, want.1.as_deref());
            prop_assert_eq!(got.value, want.2.as_deref());
            let headers: Vec<_> = got.headers().map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec))).collect();
            prop_assert_eq!(&headers, &want.3);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for (_, batch) in BatchIter::new(&bytes).flatten() {
            let _ = batch.is_valid();
            if let Ok(records) = batch.records_with_limit(1 << 16) {
                for record in records.iter().flatten() {
                    let _ = record.headers().count();
                }
                let _ = records.keys().count();
            }
        }
    }
}
