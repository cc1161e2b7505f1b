//! The cleaner's key → latest offset map (Kafka's `SkimpyOffsetMap`): each key is kept as a
//! 128-bit hash, never the key itself, so an entry costs Kafka's 24 bytes (16 of hash, 8 of
//! offset) and the map's size is bounded by `log.cleaner.dedupe.buffer.size` whatever the
//! keys weigh. Kafka uses MD5; kafkalite a SipHash-1-3 half under a key drawn at random for
//! each map (std's `RandomState`), so that no one can build keys that collide in it (MD5
//! collisions are easy to make), and a second half from a cheap multiply-rotate mix under
//! another random seed, which makes accidental collisions of the whole 128 bits as unlikely
//! as MD5's. The map's own table does not hash again: the SipHash half is its hash. The map
//! fills to Kafka's load factor, 0.9.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Bytes Kafka counts per entry: a 16-byte hash and an 8-byte offset.
pub(crate) const ENTRY_BYTES: usize = 24;
/// Kafka's `log.cleaner.io.buffer.load.factor`, 0.9, in tenths.
const LOAD_TENTHS: usize = 9;

/// Latest offset per key hash, for one cleaning.
#[derive(Debug)]
pub(crate) struct OffsetMap {
    entries: HashMap<u128, i64, BuildHasherDefault<DigestHasher>>,
    /// The SipHash half's keys, and the mixed half's seed.
    sip: RandomState,
    seed: u64,
    capacity: usize,
    latest: i64,
}

impl OffsetMap {
    /// A map for `memory_bytes` of Kafka's accounting: `memory_bytes / 24` slots, filled to
    /// 90%.
    pub(crate) fn with_memory(memory_bytes: usize) -> OffsetMap {
        let slots = memory_bytes / ENTRY_BYTES;
        OffsetMap {
            entries: HashMap::default(),
            sip: RandomState::new(),
            seed: RandomState::new().hash_one(0x6b61_666b_u64),
            capacity: slots / 10 * LOAD_TENTHS + slots % 10 * LOAD_TENTHS / 10,
            latest: -1,
        }
    }

    /// How many keys the map may hold.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Records `offset` as the latest of `key`.
    pub(crate) fn put(&mut self, key: &[u8], offset: i64) {
        self.entries.insert(self.digest(key), offset);
        self.latest = self.latest.max(offset);
    }

    /// Notes that every offset up to `offset` was mapped (a batch's last offset).
    pub(crate) fn mapped_through(&mut self, offset: i64) {
        self.latest = self.latest.max(offset);
    }

    /// The latest offset of `key`, if mapped.
    pub(crate) fn get(&self, key: &[u8]) -> Option<i64> {
        self.entries.get(&self.digest(key)).copied()
    }

    /// The last offset mapped (−1 before any).
    pub(crate) fn latest_offset(&self) -> i64 {
        self.latest
    }
}

impl OffsetMap {
    /// The SipHash half low (the table hashes by it), the mixed half high.
    fn digest(&self, key: &[u8]) -> u128 {
        (u128::from(mix(key, self.seed)) << 64) | u128::from(self.sip.hash_one(key))
    }
}

/// A seeded multiply-rotate hash of `key`, eight bytes at a time, its length included.
fn mix(key: &[u8], seed: u64) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let step = |h: u64, word: u64| (h ^ word).wrapping_mul(K).rotate_left(29);
    let mut h = seed ^ (key.len() as u64).wrapping_mul(K);
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        h = step(h, u64::from_le_bytes(word.try_into().expect("eight bytes")));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(last));
    }
    h ^ (h >> 32)
}

/// The table's hasher: a digest is uniformly distributed already, so its low 64 bits serve.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` digests are hashed (`write_u128`); fold anything else in all the same.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    // The low half of the digest, on purpose.
    #[allow(clippy::cast_possible_truncation)]
    fn write_u128(&mut self, digest: u128) {
        self.0 = digest as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_offset_of_each_key_wins_and_capacity_follows_the_memory() {
        let mut map = OffsetMap::with_memory(24 * 100);
        assert_eq!(map.capacity(), 90);
        map.put(b"a", 3);
        map.put(b"b", 4);
        map.put(b"a", 7);
        map.mapped_through(9);
        assert_eq!(
            (map.get(b"a"), map.get(b"b"), map.get(b"c")),
            (Some(7), Some(4), None)
        );
        assert_eq!((map.len(), map.latest_offset()), (2, 9));
        assert_ne!(map.digest(b"ab"), map.digest(b"ba"));
        assert_ne!(map.digest(b""), map.digest(b"\0"));
        assert_ne!(mix(b"a", 1), mix(b"a\0", 1), "the length counts");
        assert_ne!(mix(b"same key", 1), mix(b"same key", 2), "the seed counts");
    }
}
