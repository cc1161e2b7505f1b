//! Property test: whatever the mix of keyed, keyless and explicitly partitioned sends, flushes
//! and a final close, each partition's log holds exactly that partition's records in send
//! order, and every delivery handle reports the offset its record really has.
//! `PROPTEST_CASES` sets the count (256 under `CI=true`); the test prints its seed, which
//! `PROPTEST_RNG_SEED` replays.

// Test arithmetic on small, known offsets, positions and partition numbers (issue 13 leaves
// these casts to a later pass; src/ is checked).
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::time::Duration;

use common::read_all;
use kafkalite::{partition_for_key, Cluster, NewTopic, ProducerConfig, ProducerRecord};
use proptest::prelude::*;

const PARTITIONS: i32 = 3;

#[derive(Debug, Clone)]
enum Op {
    Send {
        key: Option<u8>,
        partition: Option<i32>,
        size: usize,
    },
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (proptest::option::of(0u8..6), proptest::option::of(0..PARTITIONS), 0usize..300)
            .prop_map(|(key, partition, size)| Op::Send { key, partition, size }),
        1 => Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(common::proptest_config(32, "tests/producer_model.proptest-regressions"))]

    #[test]
    fn partitions_hold_their_records_in_send_order(
        ops in proptest::collection::vec(op(), 1..200),
        batch_size in prop_oneof![Just(0usize), 100usize..2000],
        linger_ms in prop_oneof![Just(0u64), Just(3_600_000u64)],
    ) {
        let cluster = Cluster::builder().background(false).temporary().unwrap();
        cluster.create_topic(NewTopic::new("t", PARTITIONS)).unwrap();
        let config = ProducerConfig::new().batch_size(batch_size).linger(Duration::from_millis(linger_ms));
        let producer = cluster.producer(config).unwrap();
        let mut sent: Vec<(u32, Option<u8>, Option<i32>, kafkalite::DeliveryHandle)> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match op {
                Op::Send { key, partition, size } => {
                    let mut value = (n as u32).to_be_bytes().to_vec();
                    value.resize(4 + size, b'.');
                    let mut record = ProducerRecord::to("t").value(value);
                    if let Some(k) = key {
                        record = record.key(vec![*k]);
                    }
                    if let Some(p) = partition {
                        record = record.partition(*p);
                    }
                    sent.push((n as u32, *key, *partition, producer.send(record).unwrap()));
                }
                Op::Flush => producer.flush(Duration::from_secs(30)).unwrap(),
            }
        }
        producer.close(Duration::from_secs(30)).unwrap();
        let mut model: Vec<Vec<(i64, u32)>> = vec![Vec::new(); PARTITIONS as usize];
        for (n, key, partition, handle) in sent {
            let meta = handle.wait().unwrap();
            let expected = partition.or(key.map(|k| partition_for_key(&[k], PARTITIONS)));
            if let Some(expected) = expected {
                prop_assert_eq!(meta.partition, expected);
            }
            model[meta.partition as usize].push((meta.offset, n));
        }
        for (p, expected) in model.iter().enumerate() {
            let log: Vec<(i64, u32)> = read_all(&cluster.partition("t", p as i32).unwrap())
                .into_iter()
                .map(|(offset, _, value)| (offset, u32::from_be_bytes(value[..4].try_into().unwrap())))
                .collect();
            prop_assert_eq!(&log, expected, "partition {}", p);
            let dense: Vec<i64> = (0..log.len() as i64).collect();
            prop_assert_eq!(log.iter().map(|e| e.0).collect::<Vec<_>>(), dense);
        }
    }
}
