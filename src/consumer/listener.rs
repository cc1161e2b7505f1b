//! Rebalance callbacks (Kafka's `ConsumerRebalanceListener`), run inside `poll`, `unsubscribe`
//! and `close`, on the caller's thread.

use super::offset::Offset;
use super::state::State;
use crate::error::Result;
use crate::group::{OffsetAndMetadata, Offsets, TopicPartition};

/// Told when the group moves partitions. The old owner's `on_partitions_revoked` for a
/// partition runs before the new owner's `on_partitions_assigned`. With eager assignors
/// (`range`, `roundrobin`, `sticky`) every rebalance revokes everything first; with
/// `cooperative-sticky` only what moves is revoked.
pub trait RebalanceListener: Send {
    /// The partitions are about to go; commit what was processed.
    fn on_partitions_revoked(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        let _ = (ctx, partitions);
    }
    /// The partitions are now this consumer's (runs once per completed rebalance, possibly
    /// with none).
    fn on_partitions_assigned(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        let _ = (ctx, partitions);
    }
    /// The partitions were already taken away (this member was expelled): another member may
    /// own them, so commits would be rejected. By default, calls `on_partitions_revoked`.
    fn on_partitions_lost(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        self.on_partitions_revoked(ctx, partitions);
    }
    /// The outcome of an asynchronous commit (`CommitMode::Async`, auto-commit).
    fn on_commit(&mut self, result: &Result<()>, offsets: &Offsets) {
        let _ = (result, offsets);
    }
}

/// The part of the consumer a rebalance callback may use: commit, seek, position, committed.
/// No `poll` or `close`, so a callback cannot re-enter the consumer.
pub struct RebalanceContext<'a> {
    pub(crate) state: &'a mut State,
}

impl RebalanceContext<'_> {
    /// Commits `offsets` synchronously.
    pub fn commit_offsets(&mut self, offsets: &Offsets) -> Result<()> {
        self.state.commit_offsets(offsets)
    }
    /// Commits the current positions of `partitions` synchronously.
    pub fn commit_positions(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let offsets: Offsets = partitions
            .iter()
            .filter_map(|tp| {
                let position = self.state.known_position(tp)?;
                Some((tp.clone(), OffsetAndMetadata::new(position)))
            })
            .collect();
        self.state.commit_offsets(&offsets)
    }
    /// Moves the next read of an assigned partition.
    pub fn seek(&mut self, tp: &TopicPartition, to: Offset) -> Result<()> {
        self.state.seek(tp, to)
    }
    /// Stops fetching from assigned partitions until `resume` (Kafka's `pause`, allowed
    /// inside callbacks: pausing what was just assigned is a common use).
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for tp in partitions {
            self.state.assigned(tp)?.paused = true;
        }
        Ok(())
    }
    /// Fetches again from paused partitions.
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for tp in partitions {
            self.state.assigned(tp)?.paused = false;
        }
        Ok(())
    }
    /// Holds back an assigned partition, or releases it ([`Consumer::hold`](super::Consumer)).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn hold(&mut self, tp: &TopicPartition, held: bool) -> Result<()> {
        self.state.assigned(tp)?.held = held;
        self.state.split_changed();
        Ok(())
    }
    /// The next offset the consumer will read from `tp`.
    pub fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.state.position(tp)
    }
    /// The group's committed offset for `tp`.
    pub fn committed(&mut self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        self.state.committed(tp)
    }
    /// The group generation this consumer is in (−1 without membership).
    pub fn generation(&self) -> i32 {
        self.state.generation()
    }
}
