//! Group administration on the cluster handle (Kafka's `kafka-consumer-groups` and the
//! group calls of its `Admin` client): list, describe with lag, reset offsets, delete.

use std::collections::BTreeMap;

use super::coordinator::Coordinator;
use super::protocol::GroupDescription;
use super::types::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::cluster::Cluster;
use crate::error::{Error, Result};

/// One partition of a group's offsets, as `kafka-consumer-groups --describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPartitionOffsets {
    /// The partition.
    pub partition: TopicPartition,
    /// The committed offset (`CURRENT-OFFSET`), if any.
    pub committed: Option<i64>,
    /// The end offset (`LOG-END-OFFSET`).
    pub log_end_offset: i64,
    /// `LOG-END-OFFSET − CURRENT-OFFSET`, when committed.
    pub lag: Option<i64>,
    /// The member that owns the partition now, with its client id and host.
    pub owner: Option<(String, String, String)>,
}

/// Where `reset_group_offsets` moves a group (Kafka's `--reset-offsets` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetReset {
    /// `--to-earliest`: the log start.
    Earliest,
    /// `--to-latest`: the log end.
    Latest,
    /// `--to-offset N`, clamped into the log.
    Offset(i64),
    /// `--to-datetime` and `--by-duration`: the first offset at or after this time (epoch
    /// ms), else the end.
    Datetime(i64),
    /// `--shift-by N` from the committed offset, clamped into the log; a partition without
    /// a committed offset is an error, as Kafka's.
    ShiftBy(i64),
    /// `--to-current`: the committed offset as it is (not clamped), or the log end without
    /// one.
    Current,
}

impl Cluster {
    /// The consumer groups with members or committed offsets, sorted.
    pub fn list_groups(&self) -> Result<Vec<String>> {
        Ok(Coordinator::of(self)?.list())
    }

    /// A group's state, protocol, generation and members.
    pub fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        Coordinator::of(self)?
            .describe(group)
            .ok_or_else(|| Error::GroupIdNotFound(group.to_string()))
    }

    /// A group's committed offsets, end offsets and lag for every partition it has committed
    /// or owns, sorted.
    pub fn describe_group_offsets(&self, group: &str) -> Result<Vec<GroupPartitionOffsets>> {
        let coordinator = Coordinator::of(self)?;
        let description = coordinator
            .describe(group)
            .ok_or_else(|| Error::GroupIdNotFound(group.to_string()))?;
        let committed = coordinator.offsets.group_offsets(group);
        let mut owners: BTreeMap<TopicPartition, (String, String, String)> = BTreeMap::new();
        for member in &description.members {
            for tp in &member.assignment {
                owners.insert(
                    tp.clone(),
                    (
                        member.member_id.clone(),
                        member.host.clone(),
                        member.client_id.clone(),
                    ),
                );
            }
        }
        let mut partitions: Vec<TopicPartition> =
            committed.keys().chain(owners.keys()).cloned().collect();
        partitions.sort();
        partitions.dedup();
        partitions
            .into_iter()
            .filter_map(|tp| {
                let log = self.partition(&tp.topic, tp.partition).ok()?;
                let end = log.high_watermark();
                let offset = committed.get(&tp).map(|c| c.offset);
                Some(Ok(GroupPartitionOffsets {
                    committed: offset,
                    log_end_offset: end,
                    lag: offset.map(|o| (end - o).max(0)),
                    owner: owners.get(&tp).cloned(),
                    partition: tp,
                }))
            })
            .collect()
    }

    /// Computes new committed offsets for `group` on `partitions` (every partition of the
    /// group's committed topics when empty) and, with `execute`, commits them. Only allowed
    /// while the group has no active members, as in Kafka. Returns the new offsets.
    pub fn reset_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        to: OffsetReset,
        execute: bool,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let coordinator = Coordinator::of(self)?;
        coordinator.check_empty(group)?;
        let committed = coordinator.offsets.group_offsets(group);
        let targets: Vec<TopicPartition> = if partitions.is_empty() {
            committed.keys().cloned().collect()
        } else {
            partitions.to_vec()
        };
        let mut planned = BTreeMap::new();
        for tp in targets {
            let log = self.partition(&tp.topic, tp.partition)?;
            let (start, end) = (log.log_start_offset(), log.high_watermark());
            let current = committed.get(&tp).map(|c| c.offset);
            // Kafka clamps only the offsets a user computed (`checkOffsetsRange`).
            let offset = match to {
                OffsetReset::Earliest => start,
                OffsetReset::Latest => end,
                OffsetReset::Offset(n) => n.clamp(start, end),
                OffsetReset::Datetime(ms) => log
                    .offset_for_timestamp(ms)?
                    .map_or(end, |(offset, _)| offset),
                OffsetReset::ShiftBy(n) => current
                    .ok_or_else(|| {
                        Error::IllegalState(format!(
                            "Cannot shift offset for partition {tp} since there is no current \
                             committed offset"
                        ))
                    })?
                    .saturating_add(n)
                    .clamp(start, end),
                OffsetReset::Current => current.unwrap_or(end),
            };
            planned.insert(tp, offset);
        }
        if execute {
            let offsets: Offsets = planned
                .iter()
                .map(|(tp, &offset)| (tp.clone(), OffsetAndMetadata::new(offset)))
                .collect();
            coordinator.commit(group, None, &offsets)?;
        }
        Ok(planned)
    }

    /// Sets `group`'s committed offsets (Kafka's `alterConsumerGroupOffsets`): only while
    /// the group has no active members; every partition must exist.
    pub fn alter_group_offsets(&self, group: &str, offsets: &Offsets) -> Result<()> {
        let coordinator = Coordinator::of(self)?;
        coordinator.check_empty(group)?;
        for tp in offsets.keys() {
            self.partition(&tp.topic, tp.partition)?;
        }
        coordinator.commit(group, None, offsets)
    }

    /// Deletes a group and its committed offsets; it must have no active members.
    pub fn delete_group(&self, group: &str) -> Result<()> {
        Coordinator::of(self)?.delete(group)
    }
}
