//! The cleaner's key → latest offset map (Kafka's `SkimpyOffsetMap`): each key is kept as a
//! 128-bit hash, never the key itself, in a flat open-addressing table of 24-byte slots (16
//! of hash, 8 of offset, Kafka's accounting), so the map's memory is bounded by
//! `log.cleaner.dedupe.buffer.size` whatever the keys weigh, and is exactly what it says:
//! at most `buffer / 24` slots, allocated zeroed (untouched pages cost nothing), fewer when
//! the dirty section holds fewer records than that (a table sized for them fits the caches
//! better). Kafka uses MD5; kafkalite a SipHash-1-3 half under a key drawn at random for each
//! map (from std's `RandomState`; computed here, a word at a time, at half the cost of std's
//! streaming hasher), so that no one can build keys that collide in it (MD5
//! collisions are easy to make), and a second half from a cheap multiply-rotate mix under
//! another random seed, which makes accidental collisions of the whole 128 bits as unlikely
//! as MD5's. The SipHash half picks the slot; probing is linear. The map fills to Kafka's
//! load factor, 0.9.
//!
//! Two things make it fast where a slot is a cache miss: a batch's keys are hashed and their
//! slots touched before any is used ([`OffsetMap::put_staged`]), so the misses overlap;
//! and up to a sixteenth of the memory (more if the table leaves more) holds a bit per dirty
//! offset, set when a later record of the same key replaces it, so the rewrite asks the bit,
//! not the table, whether a dirty record is its key's latest ([`OffsetMap::superseded`]), and
//! drops a batch whose bits are all set without decoding it ([`OffsetMap::all_superseded`]).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Bytes Kafka counts per entry: a 16-byte hash and an 8-byte offset.
pub(crate) const ENTRY_BYTES: usize = 24;
/// Kafka's `log.cleaner.io.buffer.load.factor`, 0.9, in tenths.
const LOAD_TENTHS: usize = 9;

/// One slot: the two hash halves, and the offset plus one (0: empty).
type Slot = [u64; 3];

/// Latest offset per key hash, for one cleaning.
#[derive(Debug)]
pub(crate) struct OffsetMap {
    slots: Vec<Slot>,
    /// A bit per offset from `first_dirty`: set when a later record of its key was mapped.
    superseded: Vec<u64>,
    first_dirty: i64,
    /// The SipHash half's keys, and the mixed half's seed.
    sip: (u64, u64),
    seed: u64,
    /// Keys the table may hold (90% of its slots).
    capacity: usize,
    /// Keys a table of the whole buffer could hold (Kafka's capacity).
    memory_capacity: usize,
    len: usize,
    latest: i64,
}

/// 90% of `slots`.
fn load(slots: usize) -> usize {
    slots / 10 * LOAD_TENTHS + slots % 10 * LOAD_TENTHS / 10
}

impl OffsetMap {
    /// A map for `memory_bytes` of Kafka's accounting: `memory_bytes / 24` slots, filled to
    /// 90%.
    #[cfg(test)]
    pub(crate) fn with_memory(memory_bytes: usize) -> OffsetMap {
        OffsetMap::with_memory_for(memory_bytes, usize::MAX, 0, 0)
    }

    /// A map within `memory_bytes` for a dirty section from `first_dirty` of at most
    /// `records` records over `span` offsets: a superseded bit per offset (in at most a
    /// sixteenth of the memory, more if the table leaves more), and the slots for the records
    /// at 90%, or as many as the rest of the memory holds if fewer.
    pub(crate) fn with_memory_for(
        memory_bytes: usize,
        records: usize,
        first_dirty: i64,
        span: usize,
    ) -> OffsetMap {
        let max_slots = memory_bytes / ENTRY_BYTES;
        let wanted = records.saturating_add(records / 9).saturating_add(1);
        // The bits come first, up to a sixteenth of the memory: where the table would take
        // all of it, they save more time than the slots they displace.
        let span_words = span.div_ceil(64);
        let reserved = span_words.min(memory_bytes / 16 / 8);
        let slots = wanted.min((memory_bytes - reserved * 8) / ENTRY_BYTES);
        let words = span_words.min((memory_bytes - slots * ENTRY_BYTES) / 8);
        // Keys no one outside the process can know.
        let random = RandomState::new();
        OffsetMap {
            slots: vec![[0; 3]; slots],
            superseded: vec![0; words],
            first_dirty,
            sip: (random.hash_one(1_u64), random.hash_one(2_u64)),
            seed: random.hash_one(3_u64),
            capacity: load(slots),
            memory_capacity: load(max_slots),
            len: 0,
            latest: -1,
        }
    }

    /// How many keys the map may hold.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many keys a map of the whole memory could hold: 0 when it cannot hold one.
    pub(crate) fn memory_capacity(&self) -> usize {
        self.memory_capacity
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Records `offset` as the latest of `key`. The caller keeps `len() < capacity()`.
    #[cfg(test)]
    pub(crate) fn put(&mut self, key: &[u8], offset: i64) {
        let (sip, mixed) = self.digest(key);
        self.put_digest(sip, mixed, offset);
    }

    /// Hashes `key`, staging `(key, offset)` in `staged` for [`OffsetMap::put_staged`].
    pub(crate) fn stage(&self, key: &[u8], offset: i64, staged: &mut Vec<(u64, u64, i64)>) {
        let (sip, mixed) = self.digest(key);
        staged.push((sip, mixed, offset));
    }

    /// Records each staged `(key, offset)`, in order, as [`OffsetMap::put`] would, while the
    /// map has room; returns how many it recorded. Every slot is touched first, in a tight
    /// loop, so that their cache misses overlap.
    pub(crate) fn put_staged(&mut self, staged: &[(u64, u64, i64)]) -> usize {
        if !self.slots.is_empty() {
            let mut touched = 0;
            for &(sip, _, _) in staged {
                touched ^= self.slots[self.home(sip)][2];
            }
            std::hint::black_box(touched);
        }
        let mut done = 0;
        for &(sip, mixed, offset) in staged {
            if self.len >= self.capacity {
                break;
            }
            self.put_digest(sip, mixed, offset);
            done += 1;
        }
        done
    }

    fn put_digest(&mut self, sip: u64, mixed: u64, offset: i64) {
        let at = self.find(sip, mixed);
        let old = self.slots[at][2];
        if old == 0 {
            self.len += 1;
            self.slots[at] = [sip, mixed, 0];
        } else {
            self.mark_superseded((old - 1).cast_signed());
        }
        self.slots[at][2] = offset.cast_unsigned() + 1;
        self.latest = self.latest.max(offset);
    }

    fn mark_superseded(&mut self, offset: i64) {
        let Ok(bit) = usize::try_from(offset - self.first_dirty) else {
            return;
        };
        if let Some(word) = self.superseded.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    /// Whether a later record of the key at `offset` was mapped, if the map tracked it: for
    /// a mapped offset in the bitmap's range, `Some(true)` exactly when [`OffsetMap::get`]
    /// of its key gives a later offset; `None` elsewhere (ask the table).
    pub(crate) fn superseded(&self, offset: i64) -> Option<bool> {
        if offset > self.latest {
            return None;
        }
        let bit = usize::try_from(offset - self.first_dirty).ok()?;
        let word = self.superseded.get(bit / 64)?;
        Some(word & (1 << (bit % 64)) != 0)
    }

    /// Whether every offset in `first..=last` was mapped and then replaced by a later record
    /// of its key (so each held a keyed record, none of them its key's latest).
    pub(crate) fn all_superseded(&self, first: i64, last: i64) -> bool {
        if first < self.first_dirty || last > self.latest || first > last {
            return false;
        }
        let (Ok(from), Ok(to)) = (
            usize::try_from(first - self.first_dirty),
            usize::try_from(last - self.first_dirty),
        ) else {
            return false;
        };
        if to / 64 >= self.superseded.len() {
            return false;
        }
        (from / 64..=to / 64).all(|word| {
            let low = if word == from / 64 { from % 64 } else { 0 };
            let high = if word == to / 64 { to % 64 } else { 63 };
            let mask = (u64::MAX >> (63 - high)) & (u64::MAX << low);
            self.superseded[word] & mask == mask
        })
    }

    /// Notes that every offset up to `offset` was mapped (a batch's last offset).
    pub(crate) fn mapped_through(&mut self, offset: i64) {
        self.latest = self.latest.max(offset);
    }

    /// The latest offset of `key`, if mapped.
    pub(crate) fn get(&self, key: &[u8]) -> Option<i64> {
        if self.slots.is_empty() {
            return None;
        }
        let (sip, mixed) = self.digest(key);
        let slot = self.slots[self.find(sip, mixed)];
        (slot[2] != 0).then(|| (slot[2] - 1).cast_signed())
    }

    /// The last offset mapped (−1 before any).
    pub(crate) fn latest_offset(&self) -> i64 {
        self.latest
    }

    /// The slot the SipHash half picks, scaled to the table.
    #[allow(clippy::cast_possible_truncation)]
    fn home(&self, sip: u64) -> usize {
        ((u128::from(sip) * self.slots.len() as u128) >> 64) as usize
    }

    /// The slot holding the digest, or the empty one where it goes: from the slot the
    /// SipHash half picks (scaled to the table, which need not be a power of two), onwards.
    /// Never full (at most 90% used), so an empty slot ends every probe.
    fn find(&self, sip: u64, mixed: u64) -> usize {
        let n = self.slots.len();
        let mut at = self.home(sip);
        loop {
            let slot = &self.slots[at];
            if slot[2] == 0 || (slot[0] == sip && slot[1] == mixed) {
                return at;
            }
            at += 1;
            if at == n {
                at = 0;
            }
        }
    }
}

impl OffsetMap {
    /// The SipHash half, and the mixed half.
    fn digest(&self, key: &[u8]) -> (u64, u64) {
        (sip::<1, 3>(self.sip, key), mix(key, self.seed))
    }
}

/// SipHash-`C`-`D` of `key` under `keys` (Aumasson and Bernstein), eight bytes at a time;
/// std's own (`RandomState`) hashes through a streaming `Hasher`, at twice the cost.
fn sip<const C: usize, const D: usize>(keys: (u64, u64), key: &[u8]) -> u64 {
    let (k0, k1) = keys;
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let round = |v: &mut [u64; 4]| {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    };
    let compress = |v: &mut [u64; 4], word: u64| {
        v[3] ^= word;
        for _ in 0..C {
            round(v);
        }
        v[0] ^= word;
    };
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        compress(
            &mut v,
            u64::from_le_bytes(word.try_into().expect("eight bytes")),
        );
    }
    // The length's low byte goes in the last word's top byte.
    compress(&mut v, tail(words.remainder()) | (key.len() as u64) << 56);
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Up to seven bytes as a little-endian word (without a call to `memcpy`).
fn tail(rest: &[u8]) -> u64 {
    rest.iter()
        .enumerate()
        .fold(0, |word, (i, &byte)| word | u64::from(byte) << (8 * i))
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
        h = step(h, tail(rest));
    }
    h ^ (h >> 32)
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

    #[test]
    #[allow(deprecated)] // std's SipHash-2-4, the reference for the round function
    fn sip_agrees_with_the_reference_sip_hash_2_4() {
        use std::hash::{Hasher, SipHasher};
        let keys = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        // The paper's test vector: the key 00..0f and the message 00..0e.
        let message: Vec<u8> = (0..15).collect();
        assert_eq!(sip::<2, 4>(keys, &message), 0xa129_ca61_49be_45e5);
        for len in 0..40_u8 {
            let message: Vec<u8> = (0..len).map(|i| i.wrapping_mul(7) ^ 3).collect();
            let mut reference = SipHasher::new_with_keys(keys.0, keys.1);
            reference.write(&message);
            assert_eq!(
                sip::<2, 4>(keys, &message),
                reference.finish(),
                "{len} bytes"
            );
        }
        assert_ne!(sip::<1, 3>(keys, b"a"), sip::<1, 3>(keys, b"a\0"));
        assert_ne!(
            sip::<1, 3>(keys, b"a"),
            sip::<1, 3>((keys.0 + 1, keys.1), b"a")
        );
    }

    #[test]
    fn the_table_stays_within_the_memory_and_fits_the_records() {
        let memory = 24 * 1000 + 23;
        let whole = OffsetMap::with_memory_for(memory, usize::MAX, 0, 0);
        assert_eq!(whole.slots.len(), 1000);
        assert_eq!((whole.capacity(), whole.memory_capacity()), (900, 900));
        let small = OffsetMap::with_memory_for(memory, 90, 0, 300);
        assert!(small.slots.len() * ENTRY_BYTES <= memory);
        assert!(
            small.capacity() >= 90 && small.slots.len() < 110,
            "{}",
            small.slots.len()
        );
        assert_eq!(small.memory_capacity(), 900);
        assert_eq!(
            small.superseded.len(),
            5,
            "a bit for each of the 300 offsets"
        );
        assert!(
            (small.slots.len() * ENTRY_BYTES + small.superseded.len() * 8) <= memory,
            "the bits fit in what the table leaves"
        );
        assert_eq!(OffsetMap::with_memory_for(23, 5, 0, 5).memory_capacity(), 0);
        // Filled to its capacity, every key is found with its latest offset.
        let mut map = small;
        let keys: Vec<String> = (0..map.capacity()).map(|i| format!("key-{i}")).collect();
        for round in 0..3 {
            for (i, key) in keys.iter().enumerate() {
                map.put(key.as_bytes(), (round * 1000 + i) as i64);
            }
        }
        assert_eq!(map.len(), keys.len());
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key.as_bytes()), Some((2000 + i) as i64));
        }
        assert_eq!(map.get(b"absent"), None);
    }

    #[test]
    fn a_run_of_offsets_is_all_superseded_only_when_every_bit_is_set() {
        let mut map = OffsetMap::with_memory_for(1 << 20, 300, 1_000, 300);
        for round in 0..2 {
            for i in 0..150 {
                map.put(format!("k{i}").as_bytes(), 1_000 + round * 150 + i);
            }
        }
        assert!(map.all_superseded(1_000, 1_149));
        assert!(map.all_superseded(1_063, 1_064), "across a word boundary");
        assert!(map.all_superseded(1_064, 1_127), "one whole word");
        assert!(!map.all_superseded(1_100, 1_150), "1150 is k0's latest");
        assert!(!map.all_superseded(1_149, 1_148), "an empty run");
        map.put(b"k1", 1_300);
        assert!(!map.all_superseded(1_290, 1_300), "past the bitmap");
    }

    #[test]
    fn staged_puts_stop_when_full_and_mark_what_they_supersede() {
        let mut map = OffsetMap::with_memory_for(24 * 10 + 8, 9, 100, 20);
        assert_eq!(map.capacity(), 9);
        let mut staged = Vec::new();
        for (i, key) in ["a", "b", "a", "c"].iter().enumerate() {
            map.stage(key.as_bytes(), 100 + i as i64, &mut staged);
        }
        assert_eq!(map.put_staged(&staged), 4);
        assert_eq!(
            (100..104).map(|o| map.superseded(o)).collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false), Some(false)],
            "a at 100 was replaced by a at 102"
        );
        assert_eq!(map.superseded(104), None, "past the last mapped offset");
        assert!(map.all_superseded(100, 100));
        assert!(
            !map.all_superseded(100, 101),
            "b at 101 is its key's latest"
        );
        assert!(
            !map.all_superseded(99, 100),
            "99 is below the dirty section"
        );
        assert_eq!(
            map.superseded(99),
            None,
            "below the dirty section: ask the table"
        );
        // Seven more keys fit 9 at most: the tenth key is not recorded.
        staged.clear();
        for i in 0..7 {
            map.stage(format!("k{i}").as_bytes(), 104 + i, &mut staged);
        }
        assert_eq!(map.put_staged(&staged), 6);
        assert_eq!(map.len(), 9);
        assert_eq!(map.latest_offset(), 109);
        assert_eq!(map.get(b"k6"), None);
    }
}
