//! Closing a facade consumer: on drop, or first through rust-rdkafka's `close_queue`, which
//! `closed` then reports (librdkafka's `rd_kafka_consumer_close_queue` and
//! `rd_kafka_consumer_closed`). librdkafka closes in the background and runs the revocation
//! callbacks in the polls that follow; the facade closes within `close_queue` itself, the
//! callbacks running there, so the poll loop rust-rdkafka's drop makes ends at once.

use std::sync::atomic::Ordering;

use super::base_consumer::BaseConsumer;
use super::ConsumerContext;
use crate::rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Closes the consumer: commits what librdkafka commits at close, revokes the
    /// assignment (the rebalance callbacks run now) and leaves the group. Only exposed, as
    /// in rust-rdkafka, for advanced use: dropping the consumer closes it too. Fails with
    /// `ConsumerQueueClose(UnknownGroup)` for a consumer without a `group.id`,
    /// `ConsumerQueueClose(BrokerDestroy)` (`_DESTROY`) once closed, and
    /// `ConsumerQueueClose(State)` inside a rebalance callback (the poll running it holds
    /// the consumer the close would wait for).
    pub fn close_queue(&self) -> KafkaResult<()> {
        if self.in_rebalance_callback() {
            return Err(KafkaError::ConsumerQueueClose(RDKafkaErrorCode::State));
        }
        if !self.shared().has_group() {
            return Err(KafkaError::ConsumerQueueClose(
                RDKafkaErrorCode::UnknownGroup,
            ));
        }
        if self.shared().closed.swap(true, Ordering::AcqRel) {
            return Err(KafkaError::ConsumerQueueClose(
                RDKafkaErrorCode::BrokerDestroy,
            ));
        }
        self.close_now();
        Ok(())
    }

    /// Whether the consumer has closed (`close_queue`); never for one without a `group.id`.
    pub fn closed(&self) -> bool {
        self.shared().has_group() && self.shared().closed.load(Ordering::Acquire)
    }

    /// librdkafka's close: the stored offsets it commits, then the kafkalite consumer's
    /// close (revocation, leaving the group), then the commit reports it served.
    pub(super) fn close_now(&self) {
        self.commit_at_close();
        if let Err(error) = self.shared().inner.close() {
            tracing::warn!(target: "kafkalite::rdkafka", "close: {error}");
        }
        let _ = self.serve_commit_reports();
    }
}
