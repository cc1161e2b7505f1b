//! librdkafka's `PartitionMovements`, with its pointer slips.

use std::collections::HashMap;
use std::sync::Arc;

use crate::group::TopicPartition;

/// librdkafka's `PartitionMovements`. Unlike Kafka's, a partition moved back to where it
/// came from keeps its last record in `by_partition` (librdkafka never removes it), which
/// later lookups still see.
#[derive(Debug, Default)]
pub(super) struct Movements<'a> {
    /// Each moved partition's (from, to) (`partitionMovements`).
    by_partition: HashMap<TopicPartition, Pair<'a>>,
    /// Per topic, per (from, to), the partitions moved that way, in order
    /// (`partitionMovementsByTopic`).
    by_topic: HashMap<Arc<str>, ByPair<'a>>,
}

/// A move between two members: (from, to).
pub(super) type Pair<'a> = (&'a str, &'a str);

/// The partitions moved each way within one topic, in the order they moved.
type ByPair<'a> = HashMap<Pair<'a>, Vec<TopicPartition>>;

impl<'a> Movements<'a> {
    /// `getTheActualPartitionToBeMoved`: moving `tp` from `from` to `to` where earlier moves
    /// went from `to` to `from` moves the first of those back instead (then also giving the
    /// move whose list it heads). The pair looked up is (`to`, `from`), whatever `tp`'s own
    /// record says.
    pub(super) fn actual_partition_to_move(
        &self,
        tp: &TopicPartition,
        from: &'a str,
        to: &'a str,
    ) -> (TopicPartition, Option<Pair<'a>>) {
        let Some(pairs) = self.by_topic.get(&tp.topic) else {
            return (tp.clone(), None);
        };
        match pairs.get(&(to, from)) {
            Some(list) if !list.is_empty() => (list[0].clone(), Some((to, from))),
            _ => (tp.clone(), None),
        }
    }

    /// `movePartition`: records `tp`'s move and gives the partition librdkafka goes on to
    /// move (see [`Builder::reassign_to`]); `alias` is the list `tp` heads, if it came from
    /// one.
    pub(super) fn move_partition(
        &mut self,
        tp: &TopicPartition,
        alias: Option<Pair<'a>>,
        from: &'a str,
        to: &'a str,
    ) -> TopicPartition {
        match self.by_partition.get(tp).copied() {
            Some(earlier) => {
                let moved = self.remove_record(tp, earlier, alias);
                if earlier.0 != to {
                    self.add_record(&moved, (earlier.0, to));
                }
                moved
            }
            None => {
                self.add_record(tp, (from, to));
                tp.clone()
            }
        }
    }

    /// `removeMovementRecordOfPartition`: out of the per-topic lists only. Gives what a
    /// pointer to `tp`'s entry reads afterwards when `tp` headed the list of `alias`.
    fn remove_record(
        &mut self,
        tp: &TopicPartition,
        pair: Pair<'a>,
        alias: Option<Pair<'a>>,
    ) -> TopicPartition {
        let Some(pairs) = self.by_topic.get_mut(&tp.topic) else {
            return tp.clone();
        };
        let mut moved = tp.clone();
        if let Some(list) = pairs.get_mut(&pair) {
            let at = list.iter().position(|p| p == tp);
            if let Some(at) = at {
                list.remove(at);
            }
            if alias == Some(pair) && at == Some(0) && !list.is_empty() {
                moved = list[0].clone();
            }
            if list.is_empty() {
                pairs.remove(&pair);
            }
        }
        if pairs.is_empty() {
            self.by_topic.remove(&tp.topic);
        }
        moved
    }

    fn add_record(&mut self, tp: &TopicPartition, pair: Pair<'a>) {
        self.by_partition.insert(tp.clone(), pair);
        self.by_topic
            .entry(Arc::clone(&tp.topic))
            .or_default()
            .entry(pair)
            .or_default()
            .push(tp.clone());
    }

    pub(super) fn fingerprint(&self) -> MovementsPrint<'a> {
        let mut by_partition: Vec<_> = self
            .by_partition
            .iter()
            .map(|(tp, &pair)| (tp.clone(), pair))
            .collect();
        by_partition.sort();
        let mut by_topic: Vec<_> = self
            .by_topic
            .iter()
            .flat_map(|(topic, pairs)| {
                pairs
                    .iter()
                    .map(move |(&pair, list)| ((Arc::clone(topic), pair), list.clone()))
            })
            .collect();
        by_topic.sort();
        (by_partition, by_topic)
    }
}

/// What [`Movements::fingerprint`] gives.
pub(super) type MovementsPrint<'a> = (
    Vec<(TopicPartition, Pair<'a>)>,
    Vec<((Arc<str>, Pair<'a>), Vec<TopicPartition>)>,
);
