//! librdkafka's partitioners (`partitioner`: `random`, `consistent`, `consistent_random`, the
//! default, `murmur2`, `murmur2_random`, `fnv1a`, `fnv1a_random`), so that keyed messages land
//! where librdkafka puts them: CRC-32 of the key by default, which is not where the Java
//! client's murmur2 puts them. Keyless messages stick to one random partition per topic for
//! `sticky.partitioning.linger.ms` (on the cluster clock), as librdkafka's sticky
//! partitioning does. From librdkafka's `rdkafka_msg.c` (`rd_kafka_msg_partitioner*`).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::producer::murmur2;
use crate::random::SplitMix64;

/// Which of librdkafka's partitioners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Random,
    Consistent,
    ConsistentRandom,
    Murmur2,
    Murmur2Random,
    Fnv1a,
    Fnv1aRandom,
}

impl Algorithm {
    /// The partitioner `name` names, as librdkafka's `partitioner` property.
    pub(crate) fn named(name: &str) -> Option<Algorithm> {
        Some(match name {
            "random" => Algorithm::Random,
            "consistent" => Algorithm::Consistent,
            "consistent_random" => Algorithm::ConsistentRandom,
            "murmur2" => Algorithm::Murmur2,
            "murmur2_random" => Algorithm::Murmur2Random,
            "fnv1a" => Algorithm::Fnv1a,
            "fnv1a_random" => Algorithm::Fnv1aRandom,
            _ => return None,
        })
    }
}

/// The random draws and, per topic, the sticky partition and when it was drawn.
type StickyState = (SplitMix64, HashMap<String, (i32, i64)>);

/// A librdkafka partitioner with its per-topic sticky state.
#[derive(Debug)]
pub(crate) struct LibrdkafkaPartitioner {
    algorithm: Algorithm,
    sticky_linger_ms: i64,
    clock: Arc<dyn Clock>,
    /// The draws, and per topic the sticky partition and when it was drawn.
    state: Mutex<StickyState>,
}

impl LibrdkafkaPartitioner {
    pub(crate) fn new(
        algorithm: Algorithm,
        sticky_linger_ms: i64,
        clock: Arc<dyn Clock>,
        seed: u64,
    ) -> Self {
        LibrdkafkaPartitioner {
            algorithm,
            sticky_linger_ms,
            clock,
            state: Mutex::new((SplitMix64(seed), HashMap::new())),
        }
    }

    /// Whether a message with `key` goes to the topic's sticky partition rather than to
    /// the partitioner (librdkafka's `rd_kafka_msg_partitioner`): never for `consistent`,
    /// `murmur2` and `fnv1a` nor with `sticky.partitioning.linger.ms=0` (its
    /// `random_partitioner` flag); otherwise for a null key, and for an empty key under
    /// `consistent_random`. `custom`: the context's partitioner is the one in place.
    pub(crate) fn is_sticky(&self, key: Option<&[u8]>, custom: bool) -> bool {
        let random_partitioner = self.sticky_linger_ms <= 0
            || (!custom
                && matches!(
                    self.algorithm,
                    Algorithm::Consistent | Algorithm::Murmur2 | Algorithm::Fnv1a
                ));
        !random_partitioner
            && match key {
                None => true,
                Some(key) => {
                    key.is_empty() && !custom && self.algorithm == Algorithm::ConsistentRandom
                }
            }
    }

    /// The partition of a message with `key` on `topic` of `partitions` partitions (> 0).
    pub(crate) fn partition(&self, topic: &str, key: Option<&[u8]>, partitions: i32) -> i32 {
        if self.is_sticky(key, false) {
            return self.sticky(topic, partitions);
        }
        let count = partitions.unsigned_abs();
        let hashed = |hash: u32| i32::try_from(hash % count).unwrap_or(0);
        match (self.algorithm, key) {
            (Algorithm::Random, _) | (Algorithm::Murmur2Random | Algorithm::Fnv1aRandom, None) => {
                self.random(partitions)
            }
            (Algorithm::ConsistentRandom, None | Some([])) => self.random(partitions),
            (Algorithm::Consistent | Algorithm::ConsistentRandom, key) => {
                hashed(crc32(key.unwrap_or_default()))
            }
            (Algorithm::Murmur2 | Algorithm::Murmur2Random, key) => {
                hashed((murmur2(key.unwrap_or_default()) & 0x7fff_ffff).unsigned_abs())
            }
            (Algorithm::Fnv1a | Algorithm::Fnv1aRandom, key) => {
                hashed(fnv1a(key.unwrap_or_default()))
            }
        }
    }

    fn random(&self, partitions: i32) -> i32 {
        let draw = self
            .state
            .lock()
            .0
            .below(u64::from(partitions.unsigned_abs()));
        i32::try_from(draw).unwrap_or(0)
    }

    /// librdkafka's `rd_kafka_msg_sticky_partition`: a new random partition once
    /// `sticky.partitioning.linger.ms` has passed since the last draw (each message when 0).
    pub(crate) fn sticky(&self, topic: &str, partitions: i32) -> i32 {
        let now = self.clock.now_ms();
        let mut state = self.state.lock();
        let (random, topics) = &mut *state;
        let due = |drawn: i64| now.saturating_sub(drawn) >= self.sticky_linger_ms;
        match topics.get(topic) {
            Some(&(partition, drawn)) if !due(drawn) && partition < partitions => partition,
            _ => {
                let draw = random.below(u64::from(partitions.unsigned_abs()));
                let partition = i32::try_from(draw).unwrap_or(0);
                topics.insert(topic.to_string(), (partition, now));
                partition
            }
        }
    }
}

/// CRC-32 (IEEE 802.3, the zlib one: librdkafka's `rd_crc32`).
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            #[allow(clippy::cast_possible_truncation)]
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &byte in data {
        crc = TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// librdkafka's `rd_fnv1a`: 32-bit FNV-1a as a signed integer, made positive (Sarama's
/// hash partitioner).
pub(crate) fn fnv1a(data: &[u8]) -> u32 {
    let mut hash = 0x811C_9DC5_u32 as i32;
    for &byte in data {
        hash ^= i32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.wrapping_abs().cast_unsigned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // librdkafka's own check values: rdcrc32's standard check, and rdfnv1a.c's
    // `unittest_fnv1a` table (Go's hash/fnv results).
    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn fnv1a_matches_librdkafka() {
        let unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd33c4e1),
            ("giberish123456789", 0x77a58295),
            ("1234", 0x23bdd03),
            ("234", 0x2dea3cd2),
            ("34", 0x740fa83e),
            ("4", 0x310ca263),
            (unaligned, 0x65cbd69c),
            (&unaligned[1..], 0x6e49c79a),
            (&unaligned[2..], 0x69eed356),
            (&unaligned[3..], 0x6abcc023),
            ("", 0x7ee3623b),
        ];
        for (key, expected) in cases {
            assert_eq!(fnv1a(key.as_bytes()), expected, "{key:?}");
        }
    }
}
