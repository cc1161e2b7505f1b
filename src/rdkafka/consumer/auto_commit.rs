//! A facade consumer's automatic commits as librdkafka makes them under
//! `enable.auto.commit`, and their outcomes for the context's `commit_callback`.
//!
//! librdkafka commits automatically at three points (rdkafka_cgrp.c,
//! rdkafka_assignment.c): its `auto.commit.interval.ms` timer commits the assignment's stored
//! offsets that moved ahead of the committed ones (none: no commit), skipped while a
//! subscription rebalances; the partitions an assignment change, a revocation or the close
//! removes get their stored offsets committed (`serve_removals`, moved ahead or not); lost
//! partitions get nothing. Each outcome is an `RD_KAFKA_EVENT_OFFSET_COMMIT` event, which
//! rust-rdkafka hands to `commit_callback` (the timer's lists the whole assignment, the
//! partitions not committed as `Invalid`). A manual commit, sync or async, is never
//! reported: rust-rdkafka's `commit` calls `rd_kafka_commit`, which names no reply queue,
//! so librdkafka posts no event for it (rust-rdkafka issue #856). The kafkalite consumer
//! underneath commits nothing by itself (its `enable.auto.commit` is off). A report waits
//! for the next poll, which serves it on the polling thread, as librdkafka's queue does.

use super::base_consumer::{BaseConsumer, Shared};
use super::ConsumerContext;
use crate::group::{Offsets, TopicPartition};
use crate::rdkafka::error::{code_of, KafkaError, RDKafkaErrorCode};
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// One automatic commit's outcome, waiting for the next poll: each partition listed, with
/// the offset committed (`None`: listed, not committed).
#[derive(Debug)]
pub(super) struct CommitReport {
    result: Result<(), RDKafkaErrorCode>,
    partitions: Vec<(TopicPartition, Option<i64>)>,
}

impl Shared {
    /// Commits `offsets` automatically (synchronously, through the kafkalite consumer or,
    /// inside a rebalance, the committer), and queues the report of the partitions `listed`
    /// (those of `offsets` with theirs, the others as not committed). A failure is logged.
    pub(super) fn auto_commit(
        &self,
        offsets: &Offsets,
        listed: &[TopicPartition],
        commit: impl FnOnce(&Offsets) -> crate::Result<()>,
    ) {
        if offsets.is_empty() {
            return;
        }
        let committed = commit(offsets);
        let mut local = self.local.lock();
        match &committed {
            Ok(()) => local.note_committed(offsets),
            Err(error) => tracing::warn!(
                target: "kafkalite::rdkafka",
                "offset commit (automatic) failed for {} partition(s): {error}",
                offsets.len()
            ),
        }
        let partitions = listed
            .iter()
            .map(|tp| (tp.clone(), offsets.get(tp).map(|o| o.offset)))
            .collect();
        local.commit_reports.push(CommitReport {
            result: committed.map_err(|error| code_of(&error)),
            partitions,
        });
    }

    /// Removes `partitions` from the application's assignment: when `commit`, under
    /// `enable.auto.commit`, their stored offsets are committed first with `commit_with`
    /// (librdkafka's `serve_removals`); their positions and offsets are forgotten.
    pub(super) fn remove_assigned(
        &self,
        partitions: &[TopicPartition],
        commit: bool,
        commit_with: impl FnOnce(&Offsets) -> crate::Result<()>,
    ) {
        if partitions.is_empty() {
            return;
        }
        let stored = self.stored_of(partitions);
        (self.local.lock().pending_stores).retain(|(tp, _)| !partitions.contains(tp));
        if commit && self.settings.config.enable_auto_commit && self.has_group() {
            self.auto_commit(&stored, partitions, commit_with);
        }
        let mut local = self.local.lock();
        local.assignment.retain(|tp| !partitions.contains(tp));
        for tp in partitions {
            local.positions.remove(tp);
            local.stored.remove(tp);
            local.committed.remove(tp);
        }
    }

    /// The removal commit of `partitions` (librdkafka's `serve_removals`), under
    /// `enable.auto.commit`, with the consumer itself (not inside a rebalance).
    pub(super) fn commit_removed(&self, partitions: &[TopicPartition]) {
        if !self.settings.config.enable_auto_commit || !self.has_group() {
            return;
        }
        let offsets = self.stored_of(partitions);
        self.auto_commit(&offsets, partitions, |offsets| {
            self.inner
                .commit_offsets(offsets, crate::consumer::CommitMode::Sync)
        });
    }
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// librdkafka's `auto.commit.interval.ms` timer, on the cluster clock, checked by every
    /// poll: the assignment's stored offsets ahead of the committed ones, unless a
    /// subscription is rebalancing. An interval of 0 is no timer (librdkafka starts none;
    /// removals still commit).
    pub(super) fn maybe_auto_commit(&self) {
        let shared = self.shared();
        let config = &shared.settings.config;
        if !config.enable_auto_commit
            || config.auto_commit_interval_ms == 0
            || !shared.has_group()
            || self.in_rebalance_callback()
        {
            return;
        }
        let now = self.cluster().clock().now_ms();
        {
            let mut local = shared.local.lock();
            let interval = i64::try_from(config.auto_commit_interval_ms).unwrap_or(i64::MAX);
            let due = *local
                .next_auto_commit_ms
                .get_or_insert(now.saturating_add(interval));
            if now < due {
                return;
            }
            local.next_auto_commit_ms = Some(now.saturating_add(interval));
        }
        let rebalancing = shared
            .committer
            .lock()
            .as_ref()
            .is_some_and(|committer| committer.rejoining());
        if rebalancing {
            return;
        }
        let assignment = self.assignment_now();
        let offsets = shared.stored_ahead(&assignment);
        shared.auto_commit(&offsets, &assignment, |offsets| {
            shared
                .inner
                .commit_offsets(offsets, crate::consumer::CommitMode::Sync)
        });
    }

    /// Calls the context's `commit_callback` with each waiting report, oldest first;
    /// whether there was any (rdkafka's `poll` returns after serving such an event).
    pub(super) fn serve_commit_reports(&self) -> bool {
        let reports = std::mem::take(&mut self.shared.local.lock().commit_reports);
        let served = !reports.is_empty();
        for report in reports {
            let mut tpl = TopicPartitionList::with_capacity(report.partitions.len());
            for (tp, offset) in &report.partitions {
                let _ = tpl.add_partition_offset(
                    &tp.topic,
                    tp.partition,
                    offset.map_or(Offset::Invalid, Offset::Offset),
                );
                // librdkafka's `rd_kafka_cgrp_update_committed_offsets`: a failed commit's
                // error on every partition it sent (a broker's own per-partition error, or
                // the commit's, the last partition's, on the rest), none on those listed
                // without an offset. kafkalite's commit fails with one error.
                if let (Some(_), Err(code)) = (offset, report.result) {
                    tpl.set_error(&tp.topic, tp.partition, code);
                }
            }
            let result = report.result.map_err(KafkaError::ConsumerCommit);
            self.client.context().commit_callback(result, &tpl);
        }
        served
    }
}
