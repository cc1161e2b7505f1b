//! The outcomes of a facade consumer's automatic commits, for its context's
//! `commit_callback`. The callback hears what librdkafka posts as
//! `RD_KAFKA_EVENT_OFFSET_COMMIT` events to a rust-rdkafka consumer: the commits of
//! `enable.auto.commit` (the interval's, those of partitions leaving the assignment, the one
//! at close), under a subscription or a manual assignment alike. A manual commit, sync or
//! async, is never reported: rust-rdkafka's `commit` calls `rd_kafka_commit`, which names no
//! reply queue, so librdkafka posts no event for it (rust-rdkafka issue #856). A report waits
//! for the next poll, which serves it on the polling thread, as librdkafka's queue does.

use super::base_consumer::{BaseConsumer, Shared};
use super::ConsumerContext;
use crate::group::Offsets;
use crate::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use crate::rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// One automatic commit's outcome, waiting for the next poll.
#[derive(Debug)]
pub(super) struct CommitReport {
    result: std::result::Result<(), RDKafkaErrorCode>,
    offsets: Offsets,
}

impl Shared {
    /// Records an automatic commit of `offsets`: the committed offsets this consumer knows
    /// move on success, and the outcome waits for the next poll. Nothing to commit is not
    /// reported (librdkafka's `silent_empty` auto-commit).
    pub(super) fn report_commit(
        &self,
        result: std::result::Result<(), RDKafkaErrorCode>,
        offsets: &Offsets,
    ) {
        if offsets.is_empty() {
            return;
        }
        let mut local = self.local.lock();
        if result.is_ok() {
            for (tp, offset) in offsets {
                local.committed.insert(tp.clone(), offset.offset);
            }
        }
        local.commit_reports.push(CommitReport {
            result,
            offsets: offsets.clone(),
        });
    }
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Calls the context's `commit_callback` with each waiting report, oldest first.
    pub(super) fn serve_commit_reports(&self) {
        let reports = std::mem::take(&mut self.shared.local.lock().commit_reports);
        for report in reports {
            let mut tpl = TopicPartitionList::with_capacity(report.offsets.len());
            for (tp, offset) in &report.offsets {
                let _ = tpl.add_partition_offset(
                    &tp.topic,
                    tp.partition,
                    Offset::Offset(offset.offset),
                );
            }
            let result = report.result.map_err(KafkaError::ConsumerCommit);
            self.client.context().commit_callback(result, &tpl);
        }
    }
}
