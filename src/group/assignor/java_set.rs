//! A set of partitions that gives back its first element in the order Java's `HashSet`
//! iterates: Kafka's sticky assignor picks "any" partition of a set with
//! `set.iterator().next()`, so which one it moves depends on Java's hashing. Reproducing that
//! order keeps kafkalite's assignments equal to a real group leader's.

use crate::group::TopicPartition;

/// Java's `String.hashCode`: `s[0]·31^(n−1) + … + s[n−1]` over UTF-16 code units, wrapping.
pub(super) fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The order Java's default `HashMap` iterates `items` keyed by `key`, inserted in the
/// order given: by bucket of the table its size leaves (16, doubled whenever the size passes
/// three quarters), then by insertion within a bucket.
pub(super) fn hash_map_order<'a, T>(items: &[&'a T], key: impl Fn(&T) -> &str) -> Vec<&'a T> {
    let mut capacity = 16;
    while items.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let mut ordered: Vec<(usize, usize, &T)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let h = string_hash(key(item)).cast_unsigned();
            (((h ^ (h >> 16)) as usize) & (capacity - 1), i, *item)
        })
        .collect();
    ordered.sort_by_key(|&(bucket, i, _)| (bucket, i));
    ordered.into_iter().map(|(_, _, item)| item).collect()
}

/// Kafka's `TopicPartition.hashCode`: `31·(31 + partition) + topic.hashCode()`, wrapping.
fn partition_hash(tp: &TopicPartition) -> i32 {
    31i32
        .wrapping_add(tp.partition)
        .wrapping_mul(31)
        .wrapping_add(string_hash(&tp.topic))
}

/// Java's `HashMap` bucket of `tp` in a table of `capacity` (a power of two): the hash with
/// its high half folded into the low (`h ^ (h >>> 16)`), masked.
fn bucket(tp: &TopicPartition, capacity: usize) -> usize {
    let h = partition_hash(tp).cast_unsigned();
    ((h ^ (h >> 16)) as usize) & (capacity - 1)
}

/// Java's default `HashSet`: 16 buckets, doubled whenever the size passes three quarters of
/// them, never shrunk. A bucket keeps its entries in insertion order (a resize splits a
/// bucket without reordering it). An insertion that leaves more than eight entries in one
/// bucket doubles a table of fewer than 64 buckets (`treeifyBin`); in a larger table Java
/// turns the bucket into a tree, whose order depends on identity hashes: not modelled (it
/// takes nine moves of one topic's partitions between the same two members, all in one
/// bucket of 64).
#[derive(Debug, Clone)]
pub(super) struct JavaHashSet {
    /// Entries with the sequence number of their insertion.
    entries: Vec<(TopicPartition, u64)>,
    capacity: usize,
    inserted: u64,
}

impl Default for JavaHashSet {
    fn default() -> Self {
        JavaHashSet {
            entries: Vec::new(),
            capacity: 16,
            inserted: 0,
        }
    }
}

impl JavaHashSet {
    pub(super) fn insert(&mut self, tp: TopicPartition) {
        if self.entries.iter().any(|(e, _)| *e == tp) {
            return;
        }
        let crowded = self
            .entries
            .iter()
            .filter(|(e, _)| bucket(e, self.capacity) == bucket(&tp, self.capacity))
            .count()
            >= 8;
        self.entries.push((tp, self.inserted));
        self.inserted += 1;
        if crowded && self.capacity < 64 {
            self.capacity *= 2;
        }
        if self.entries.len() > self.capacity / 4 * 3 {
            self.capacity *= 2;
        }
    }

    pub(super) fn remove(&mut self, tp: &TopicPartition) {
        self.entries.retain(|(e, _)| e != tp);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The table size and the entries in the order Java iterates them.
    pub(super) fn in_order(&self) -> (usize, Vec<TopicPartition>) {
        let mut entries: Vec<&(TopicPartition, u64)> = self.entries.iter().collect();
        entries.sort_by_key(|(tp, seq)| (bucket(tp, self.capacity), *seq));
        let order = entries.into_iter().map(|(tp, _)| tp.clone()).collect();
        (self.capacity, order)
    }

    /// What `iterator().next()` returns: the entry in the lowest bucket, the earliest
    /// inserted there.
    pub(super) fn first(&self) -> Option<&TopicPartition> {
        self.entries
            .iter()
            .min_by_key(|(tp, seq)| (bucket(tp, self.capacity), *seq))
            .map(|(tp, _)| tp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of Java's `String.hashCode` known from its definition: "a" is its code unit,
    /// "Aa" and "BB" the textbook collision (65·31 + 97 = 66·31 + 66 = 2112), and "hello".
    /// "c1".."c5" hash to 3118..3122 (99·31 + 49..53): buckets 14, 15, 0, 1, 2 of 16.
    #[test]
    fn hash_map_order_is_by_bucket_then_insertion() {
        let ids = ["c1", "c2", "c3", "c4", "c5"];
        let refs: Vec<&&str> = ids.iter().collect();
        let ordered: Vec<&str> = hash_map_order(&refs, |s| s).into_iter().copied().collect();
        assert_eq!(ordered, ["c3", "c4", "c5", "c1", "c2"]);
        // "Aa" and "BB" share a hash: insertion order decides.
        let twins = ["BB", "Aa"];
        let refs: Vec<&&str> = twins.iter().collect();
        let ordered: Vec<&str> = hash_map_order(&refs, |s| s).into_iter().copied().collect();
        assert_eq!(ordered, ["BB", "Aa"]);
    }

    #[test]
    fn string_hash_is_javas() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("Aa"), 2112);
        assert_eq!(string_hash("BB"), 2112);
        assert_eq!(string_hash("hello"), 99_162_322);
        // Java's int arithmetic wraps: "Hello World" is negative.
        assert_eq!(string_hash("hello world"), 1_794_106_052);
        assert_eq!(string_hash("Hello World"), -862_545_276);
    }

    /// "t" hashes to 116, so t-p hashes to 31·(31 + p) + 116 = 1077 + 31p: buckets 5, 4, 3
    /// for p = 0, 1, 2 in 16 buckets. Java iterates buckets upwards: t-2 first.
    #[test]
    fn first_is_the_lowest_bucket() {
        let mut set = JavaHashSet::default();
        for p in 0..3 {
            set.insert(TopicPartition::new("t", p));
        }
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 2)));
        set.remove(&TopicPartition::new("t", 2));
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 1)));
        // t-16 hashes 1077 + 496 = 1573, bucket 5 with t-0 (1573 − 1077 = 31·16): in one
        // bucket the earlier insertion comes first.
        let mut set = JavaHashSet::default();
        set.insert(TopicPartition::new("t", 16));
        set.insert(TopicPartition::new("t", 0));
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 16)));
    }

    /// A ninth entry in one bucket doubles a table of fewer than 64 buckets: t-16k all hash
    /// to bucket 5 of 16 (1077 + 496k), and in 32 buckets the odd k go to bucket 5, the even
    /// to 21.
    #[test]
    fn a_crowded_bucket_doubles_a_small_table() {
        let mut set = JavaHashSet::default();
        for k in 0..8 {
            set.insert(TopicPartition::new("t", 16 * k));
        }
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 0)));
        set.insert(TopicPartition::new("t", 128));
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 16)));
    }

    /// Thirteen entries pass 16·3/4: the table doubles to 32 buckets, where t-0 (1077 & 31 =
    /// 21) and t-16 (1573 & 31 = 5) part, and t-16 leads (t-6: 1263 & 31 = 15).
    #[test]
    fn the_table_doubles_past_three_quarters() {
        let mut set = JavaHashSet::default();
        for p in [0, 16] {
            set.insert(TopicPartition::new("t", p));
        }
        set.insert(TopicPartition::new("t", 6)); // 1263 & 15 = 15
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 0)));
        for p in 100..110 {
            set.insert(TopicPartition::new("u", p));
        }
        for p in 100..110 {
            set.remove(&TopicPartition::new("u", p));
        }
        assert_eq!(set.first(), Some(&TopicPartition::new("t", 16)));
    }
}
