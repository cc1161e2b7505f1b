//! Choosing a partition: Kafka's murmur2 for keys, the uniform sticky partitioner for keyless
//! records, round robin, and a trait for custom partitioners.

use crate::random::SplitMix64;
use std::collections::HashMap;

use parking_lot::Mutex;

/// Kafka's `Utils.murmur2`, bit for bit (seed `0x9747b28c`, little-endian 4-byte words).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Kafka's Java int length: only the low 32 bits take part, as in any data Java holds.
    #[allow(clippy::cast_possible_truncation)]
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which differs and overflows).
pub fn to_positive(value: i32) -> i32 {
    value & 0x7fff_ffff
}

/// The partition Kafka's Java client picks for `key` among `partitions`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    to_positive(murmur2(key)) % partitions
}

/// A custom partitioner (Kafka's `Partitioner`). It must return a partition in
/// `[0, partitions)`; anything else fails the send with `UnknownTopicOrPartition`.
pub trait Partitioner: Send + Sync + std::fmt::Debug {
    /// The partition for a record with `key` (serialized) on `topic`.
    fn partition(&self, topic: &str, key: Option<&[u8]>, partitions: i32) -> i32;
}

#[derive(Debug)]
struct Sticky {
    partition: i32,
    bytes: usize,
}

/// Kafka's uniform sticky partitioner (KIP-794) for keyless records: every keyless record of a
/// topic goes to one partition until `batch.size` bytes went there, then a new partition is
/// drawn uniformly at random.
#[derive(Debug)]
pub struct StickyPartitioner {
    batch_size: usize,
    state: Mutex<(SplitMix64, HashMap<String, Sticky>)>,
}

impl StickyPartitioner {
    /// A sticky partitioner switching after `batch_size` bytes, drawing from `seed`.
    pub fn new(batch_size: usize, seed: u64) -> Self {
        StickyPartitioner {
            batch_size: batch_size.max(1),
            state: Mutex::new((SplitMix64(seed), HashMap::new())),
        }
    }

    /// The partition for a keyless record of `record_bytes` on `topic`.
    pub fn partition(&self, topic: &str, partitions: i32, record_bytes: usize) -> i32 {
        let mut guard = self.state.lock();
        let (random, topics) = &mut *guard;
        // Below `partitions`, an i32 (0 when there are none).
        let draw = |random: &mut SplitMix64| {
            i32::try_from(random.below(u64::try_from(partitions).unwrap_or(0))).unwrap_or(0)
        };
        let sticky = topics.entry(topic.to_string()).or_insert_with(|| Sticky {
            partition: draw(random),
            bytes: 0,
        });
        if sticky.partition >= partitions {
            sticky.partition = draw(random);
            sticky.bytes = 0;
        }
        let chosen = sticky.partition;
        sticky.bytes += record_bytes;
        if sticky.bytes >= self.batch_size {
            sticky.partition = draw(random);
            sticky.bytes = 0;
        }
        chosen
    }
}

/// Kafka's `RoundRobinPartitioner`, without the KAFKA-9965 skip: strict rotation per topic.
#[derive(Debug, Default)]
pub struct RoundRobinPartitioner {
    counters: Mutex<HashMap<String, i32>>,
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, topic: &str, _key: Option<&[u8]>, partitions: i32) -> i32 {
        let mut counters = self.counters.lock();
        let counter = counters.entry(topic.to_string()).or_insert(0);
        let chosen = to_positive(*counter) % partitions;
        *counter = counter.wrapping_add(1);
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka_and_librdkafka_vectors() {
        let vectors: [(&str, i32); 15] = [
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
            ("kafka", -798503068),
            ("giberish123456789", -1890243828),
            ("1234", -1614185708),
            ("234", -406844982),
            ("34", -2026295078),
            ("4", 1514888353),
            ("PreAmbleWillBeRemoved,ThePrePartThatIs", 2017611548),
            ("AmbleWillBeRemoved,ThePrePartThatIs", 1656271935),
            ("", 275646681),
        ];
        for (key, expected) in vectors {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn partitions_match_kafkas_java_client() {
        let table: [(&str, [i32; 3]); 12] = [
            ("21", [0, 0, 0]),
            ("foobar", [0, 0, 6]),
            ("abc", [0, 3, 7]),
            ("kafka", [1, 4, 0]),
            ("a", [1, 4, 4]),
            ("key1", [2, 2, 0]),
            ("key2", [2, 5, 1]),
            ("user-42", [1, 4, 0]),
            ("order-1001", [0, 0, 8]),
            ("hello", [0, 3, 9]),
            ("a-little-bit-longer-string", [2, 5, 9]),
            ("", [0, 3, 1]),
        ];
        for (key, expected) in table {
            for (count, want) in [3, 6, 10].into_iter().zip(expected) {
                assert_eq!(
                    partition_for_key(key.as_bytes(), count),
                    want,
                    "{key:?} over {count}"
                );
            }
        }
        assert_eq!(to_positive(i32::MIN), 0, "not abs()");
    }

    #[test]
    fn sticky_switches_after_batch_size_bytes() {
        let sticky = StickyPartitioner::new(1000, 7);
        let first = sticky.partition("t", 8, 300);
        assert_eq!(sticky.partition("t", 8, 300), first);
        assert_eq!(sticky.partition("t", 8, 300), first);
        assert_eq!(
            sticky.partition("t", 8, 300),
            first,
            "the record reaching 1000 bytes still goes there"
        );
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            seen.insert(sticky.partition("t", 8, 500));
        }
        assert_eq!(seen.len(), 8, "draws cover every partition");
    }

    #[test]
    fn round_robin_rotates_strictly() {
        let rr = RoundRobinPartitioner::default();
        let got: Vec<i32> = (0..7).map(|_| rr.partition("t", None, 3)).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(rr.partition("other", None, 3), 0, "per topic");
    }
}
