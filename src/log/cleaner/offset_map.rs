//! The cleaner's key → latest offset map (Kafka's `SkimpyOffsetMap`): each key is kept as a
//! 128-bit hash, never the key itself, so an entry costs Kafka's 24 bytes (16 of hash, 8 of
//! offset) and the map's size is bounded by `log.cleaner.dedupe.buffer.size` whatever the
//! keys weigh. Kafka uses MD5; kafkalite two independent SipHash-1-3 digests (std's), which
//! are as unlikely to collide for keys that are not built to collide. The map fills to
//! Kafka's load factor, 0.9.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// Bytes Kafka counts per entry: a 16-byte hash and an 8-byte offset.
pub(crate) const ENTRY_BYTES: usize = 24;
/// Kafka's `log.cleaner.io.buffer.load.factor`, 0.9, in tenths.
const LOAD_TENTHS: usize = 9;

/// Latest offset per key hash, for one cleaning.
#[derive(Debug)]
pub(crate) struct OffsetMap {
    entries: HashMap<u128, i64>,
    capacity: usize,
    latest: i64,
}

impl OffsetMap {
    /// A map for `memory_bytes` of Kafka's accounting: `memory_bytes / 24` slots, filled to
    /// 90%.
    pub(crate) fn with_memory(memory_bytes: usize) -> OffsetMap {
        let slots = memory_bytes / ENTRY_BYTES;
        OffsetMap {
            entries: HashMap::new(),
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
        self.entries.insert(digest(key), offset);
        self.latest = self.latest.max(offset);
    }

    /// Notes that every offset up to `offset` was mapped (a batch's last offset).
    pub(crate) fn mapped_through(&mut self, offset: i64) {
        self.latest = self.latest.max(offset);
    }

    /// The latest offset of `key`, if mapped.
    pub(crate) fn get(&self, key: &[u8]) -> Option<i64> {
        self.entries.get(&digest(key)).copied()
    }

    /// The last offset mapped (−1 before any).
    pub(crate) fn latest_offset(&self) -> i64 {
        self.latest
    }
}

fn digest(key: &[u8]) -> u128 {
    // `DefaultHasher::new` is documented to start every instance with the same keys.
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        key.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0x4b)) << 64) | u128::from(half(0xc7))
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
        assert_ne!(digest(b"ab"), digest(b"ba"));
        assert_ne!(digest(b""), digest(b"\0"));
    }
}
