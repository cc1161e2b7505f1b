//! The bridge from kafkalite's rebalance listener to rdkafka's `ConsumerContext`: inside the
//! kafkalite consumer's poll, the context's `pre_rebalance` runs with a consumer handle
//! before the assignment changes, `post_rebalance` after. The kafkalite consumer is busy in
//! that poll, so the handle answers from the facade's own state: commits go through the
//! consumer's committer (with the membership of the moment, as librdkafka's commit inside a
//! rebalance callback), seeks are applied when the callback returns, stores when the poll
//! does. Under `enable.auto.commit`, the stored offsets of revoked partitions are committed
//! with them (as librdkafka's `rd_kafka_assignment_serve_removals`).

use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::base_consumer::{list_of, BaseConsumer, Shared};
use super::{ConsumerContext, Rebalance};
use crate::cluster::Cluster;
use crate::consumer::{Offset as Position, RebalanceContext, RebalanceListener};
use crate::group::TopicPartition;
use crate::rdkafka::client::Client;

/// What a rebalance callback asked for that waits for the callback to return.
#[derive(Debug, Default)]
pub(super) struct CallbackState {
    /// The partitions were lost (taken away), not revoked.
    pub(super) lost: bool,
    pub(super) seeks: Vec<(TopicPartition, Position)>,
    /// Partitions paused (`true`) or resumed in the callback, in order.
    pub(super) pauses: Vec<(TopicPartition, bool)>,
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
        let tpl = list_of(partitions);
        let callback = Arc::new(Mutex::new(CallbackState {
            lost,
            ..CallbackState::default()
        }));
        let consumer = self.handle(&shared, &callback);
        let event = Rebalance::Revoke(&tpl);
        self.context.pre_rebalance(&consumer, &event);
        // The revoked partitions' stored offsets (at hand-out, or by the callback):
        // committed now, as librdkafka commits the offset store of the partitions it
        // removes (not when they were lost).
        let stored = shared.stored_of(partitions);
        shared
            .local
            .lock()
            .pending_stores
            .retain(|(tp, _)| !partitions.contains(tp));
        if !lost && shared.settings.config.enable_auto_commit && shared.has_group() {
            shared.auto_commit(&stored, partitions, |offsets| ctx.commit_offsets(offsets));
        }
        {
            let mut local = shared.local.lock();
            local.assignment.retain(|tp| !partitions.contains(tp));
            for tp in partitions {
                local.positions.remove(tp);
                local.stored.remove(tp);
                local.committed.remove(tp);
            }
            local.rebalanced = true;
            let what = if lost {
                "partitions lost"
            } else {
                "partitions revoked"
            };
            local
                .statistics
                .rebalanced(self.cluster.clock().now_ms(), what);
        }
        self.context.post_rebalance(&consumer, &event);
        apply_requests(ctx, &callback);
    }

    fn assign(&mut self, ctx: &mut RebalanceContext<'_>, partitions: &[TopicPartition]) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let tpl = list_of(partitions);
        let callback = Arc::new(Mutex::new(CallbackState::default()));
        let consumer = self.handle(&shared, &callback);
        let event = Rebalance::Assign(&tpl);
        self.context.pre_rebalance(&consumer, &event);
        // As librdkafka fetches them at assignment: the committed offsets, against which
        // the stored ones are compared at commit.
        let committed: Vec<(TopicPartition, i64)> = partitions
            .iter()
            .filter_map(|tp| Some((tp.clone(), ctx.committed(tp).ok()??.offset)))
            .collect();
        {
            let mut local = shared.local.lock();
            for tp in partitions {
                if !local.assignment.contains(tp) {
                    local.assignment.push(tp.clone());
                }
            }
            local.committed.extend(committed);
            local.rebalanced = true;
            local
                .statistics
                .rebalanced(self.cluster.clock().now_ms(), "partitions assigned");
        }
        self.context.post_rebalance(&consumer, &event);
        apply_requests(ctx, &callback);
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

/// The seeks and pauses a callback asked for, now that it has returned (one of a partition
/// no longer assigned is refused by the consumer and logged).
fn apply_requests(ctx: &mut RebalanceContext<'_>, callback: &Mutex<CallbackState>) {
    let CallbackState { seeks, pauses, .. } = std::mem::take(&mut *callback.lock());
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
