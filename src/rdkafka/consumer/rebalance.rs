//! The bridge from kafkalite's rebalance listener to rdkafka's `ConsumerContext`: inside the
//! kafkalite consumer's poll, the context's `rebalance` runs with a consumer handle and the
//! partitions the group gives (`_ASSIGN_PARTITIONS`) or takes (`_REVOKE_PARTITIONS`), as
//! librdkafka's rebalance callback. Its default calls `pre_rebalance`, then `assign` or
//! `incremental_assign` (`unassign` or `incremental_unassign`), then `post_rebalance`.
//!
//! The application's assign calls decide what is fetched (`assignment.rs`): the partitions
//! the group gave that it did not assign are withheld (held in the kafkalite consumer,
//! neither positioned nor fetched) until it does, and the offsets in its list are the start
//! positions. The kafkalite consumer is busy in that poll,
//! so the handle answers from the facade's own state: commits go through the consumer's
//! committer (with the membership of the moment, as librdkafka's commit inside a rebalance
//! callback), holds, seeks, pauses and start positions are applied when the callback returns,
//! stores when the poll does. Under `enable.auto.commit`, the stored offsets of the
//! partitions an unassign removes are committed with them (as librdkafka's
//! `rd_kafka_assignment_serve_removals`).

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::base_consumer::{list_of, BaseConsumer, Shared};
use super::ConsumerContext;
use crate::cluster::Cluster;
use crate::consumer::{Offset as Position, RebalanceContext, RebalanceListener};
use crate::group::TopicPartition;
use crate::rdkafka::client::Client;
use crate::rdkafka::types::RDKafkaRespErr;

/// What a rebalance callback asked for that waits for the callback to return.
#[derive(Debug, Default)]
pub(super) struct CallbackState {
    /// `assignment_lost()`: the partitions were lost (taken away), not revoked, and no
    /// assign call has been made since (librdkafka's `rd_kafka_cgrp_assignment_clear_lost`).
    pub(super) lost: bool,
    /// Removing partitions commits their stored offsets (not when they were lost).
    pub(super) removals_commit: bool,
    /// Start positions of the callback's assign calls, and its seeks, in order.
    pub(super) seeks: Vec<(TopicPartition, Position)>,
    /// Partitions paused (`true`) or resumed in the callback, in order.
    pub(super) pauses: Vec<(TopicPartition, bool)>,
    /// Partitions the callback's assign calls withheld (`true`) or released, in order.
    pub(super) holds: Vec<(TopicPartition, bool)>,
    /// The partitions the callback's assign calls started from their committed offset.
    pub(super) from_committed: Vec<TopicPartition>,
}

/// The kafkalite listener of a facade consumer.
pub(super) struct Bridge<C: ConsumerContext> {
    context: Arc<C>,
    cluster: Cluster,
    shared: Weak<Shared>,
}

impl<C: ConsumerContext> Bridge<C> {
    pub(super) fn new(context: Arc<C>, cluster: Cluster, shared: Weak<Shared>) -> Self {
        Bridge {
            context,
            cluster,
            shared,
        }
    }

    fn revoke(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
        lost: bool,
    ) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if partitions.is_empty() {
            return;
        }
        let state = CallbackState {
            lost,
            removals_commit: !lost,
            ..CallbackState::default()
        };
        // The group's partitions, withheld ones too (librdkafka revokes its group
        // assignment).
        let revoke = RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
        let callback = self.call(&shared, state, revoke, partitions);
        // The group has taken them: what the callback left assigned goes too. (librdkafka
        // would wait for the unassign call before rejoining.)
        let left: Vec<TopicPartition> = {
            let local = shared.local.lock();
            (partitions.iter())
                .filter(|tp| local.assignment.contains(tp))
                .cloned()
                .collect()
        };
        if !left.is_empty() {
            tracing::warn!(
                target: "kafkalite::rdkafka",
                "the rebalance callback left {} revoked partition(s) assigned: removed anyway",
                left.len()
            );
            shared.remove_assigned(&left, !lost, |offsets| ctx.commit_offsets(offsets));
        }
        // Gone from the kafkalite consumer: nothing to hold, pause or seek.
        {
            let mut callback = callback.lock();
            callback.holds.retain(|(tp, _)| !partitions.contains(tp));
            callback.pauses.retain(|(tp, _)| !partitions.contains(tp));
            callback.seeks.retain(|(tp, _)| !partitions.contains(tp));
        }
        let mut local = shared.local.lock();
        local.withheld.retain(|tp| !partitions.contains(tp));
        local.rebalanced = true;
        let what = if lost {
            "partitions lost"
        } else {
            "partitions revoked"
        };
        local
            .statistics
            .rebalanced(self.cluster.clock().now_ms(), what);
        drop(local);
        apply_requests(ctx, &callback);
    }

    fn assign(&mut self, ctx: &mut RebalanceContext<'_>, partitions: &[TopicPartition]) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        // Offered: withheld until the application's assign call takes them.
        {
            let mut local = shared.local.lock();
            for tp in partitions {
                if !local.assignment.contains(tp) && !local.withheld.contains(tp) {
                    local.withheld.push(tp.clone());
                }
            }
        }
        let state = CallbackState {
            removals_commit: true,
            ..CallbackState::default()
        };
        let assign = RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        let callback = self.call(&shared, state, assign, partitions);
        let from_committed = std::mem::take(&mut callback.lock().from_committed);
        // As librdkafka fetches them at assignment: the committed offsets, against which
        // the stored ones are compared at commit.
        let committed: Vec<(TopicPartition, i64)> = from_committed
            .iter()
            .filter_map(|tp| Some((tp.clone(), ctx.committed(tp).ok()??.offset)))
            .collect();
        let mut local = shared.local.lock();
        local.committed.extend(committed);
        // The offered partitions the application did not assign wait for its call.
        let withheld = (partitions.iter())
            .filter(|tp| local.withheld.contains(tp))
            .map(|tp| (tp.clone(), true));
        callback.lock().holds.extend(withheld);
        local.rebalanced = true;
        local
            .statistics
            .rebalanced(self.cluster.clock().now_ms(), "partitions assigned");
        drop(local);
        apply_requests(ctx, &callback);
    }

    /// Runs the context's `rebalance` for `partitions` with a handle in `state`, and
    /// returns what the callback asked for.
    fn call(
        &self,
        shared: &Arc<Shared>,
        state: CallbackState,
        err: RDKafkaRespErr,
        partitions: &[TopicPartition],
    ) -> Arc<Mutex<CallbackState>> {
        let callback = Arc::new(Mutex::new(state));
        let consumer = self.handle(shared, &callback);
        let mut tpl = list_of(partitions);
        self.context.rebalance(&consumer, err, &mut tpl);
        callback
    }

    /// The consumer handle a callback gets.
    fn handle(
        &self,
        shared: &Arc<Shared>,
        callback: &Arc<Mutex<CallbackState>>,
    ) -> BaseConsumer<C> {
        BaseConsumer::in_callback(
            Client::new(self.cluster.clone(), Arc::clone(&self.context), false)
                .read_committed(shared.read_committed()),
            Arc::clone(shared),
            Arc::clone(callback),
        )
    }
}

/// The holds, seeks and pauses a callback asked for, now that it has returned, one
/// partition at a time (one of a partition no longer assigned is refused by the consumer
/// and logged).
fn apply_requests(ctx: &mut RebalanceContext<'_>, callback: &Mutex<CallbackState>) {
    let CallbackState {
        holds,
        seeks,
        pauses,
        ..
    } = std::mem::take(&mut *callback.lock());
    for (tp, held) in holds {
        if let Err(error) = ctx.hold(&tp, held) {
            tracing::warn!(target: "kafkalite::rdkafka", "withholding {tp}: {error}");
        }
    }
    for (tp, position) in seeks {
        if let Err(error) = ctx.seek(&tp, position) {
            tracing::warn!(target: "kafkalite::rdkafka", "seek in a rebalance callback: {error}");
        }
    }
    for (tp, paused) in pauses {
        let partitions = std::slice::from_ref(&tp);
        let changed = if paused {
            ctx.pause(partitions)
        } else {
            ctx.resume(partitions)
        };
        if let Err(error) = changed {
            tracing::warn!(target: "kafkalite::rdkafka", "pause in a rebalance callback: {error}");
        }
    }
}

impl<C: ConsumerContext> RebalanceListener for Bridge<C> {
    fn on_partitions_revoked(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        self.revoke(ctx, partitions, false);
    }

    fn on_partitions_assigned(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        self.assign(ctx, partitions);
    }

    fn on_partitions_lost(
        &mut self,
        ctx: &mut RebalanceContext<'_>,
        partitions: &[TopicPartition],
    ) {
        self.revoke(ctx, partitions, true);
    }
}
