//! A committer: commits for a consumer from any thread, also while it is blocked in `poll`.

use std::sync::Arc;

use parking_lot::Mutex;

use super::interceptor::Interceptors;
use super::positions::{as_client_reports, commit_as};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::group::{Coordinator, Offsets};
#[cfg(feature = "rdkafka-api")]
use crate::group::{OffsetAndMetadata, TopicPartition};

/// The consumer's group membership as [`Committer`]s see it (published at every change).
#[derive(Debug, Clone)]
pub(super) struct Membership {
    pub(super) member_id: Option<String>,
    pub(super) generation: i32,
    /// Joined a rebalance whose assignment has not arrived yet.
    pub(super) rejoining: bool,
}

impl Default for Membership {
    fn default() -> Self {
        Membership {
            member_id: None,
            generation: -1,
            rejoining: false,
        }
    }
}

/// Commits offsets for a consumer from any thread (`Clone + Send + 'static`), without
/// waiting for a `poll` in progress. Made by [`Consumer::committer`](super::Consumer::committer).
#[derive(Debug, Clone)]
pub struct Committer {
    pub(super) cluster: Cluster,
    pub(super) coordinator: Arc<Coordinator>,
    pub(super) group: String,
    pub(super) membership: Arc<Mutex<Membership>>,
    pub(super) subscribed: bool,
    pub(super) interceptors: Interceptors,
    /// librdkafka's member (the facade's): a commit while the consumer has rejoined a
    /// rebalance goes to the coordinator, whose refusals keep the broker's codes. Kafka's
    /// Java client refuses the first itself and reports the others as `CommitFailed`.
    pub(super) librdkafka: bool,
}

impl Committer {
    /// Commits exactly `offsets` (each the next offset to read), synchronously, as the
    /// consumer's member of the moment: [`Error::RebalanceInProgress`] while the consumer
    /// has rejoined a rebalance not yet complete (commit again after its next `poll`),
    /// [`Error::CommitFailed`] when it is no member (expelled, or not joined yet). Whether
    /// it commits as a member is decided when it is made: a committer made before
    /// `subscribe` commits as an assigning consumer does, without membership.
    ///
    /// [`Error::RebalanceInProgress`]: crate::Error::RebalanceInProgress
    /// [`Error::CommitFailed`]: crate::Error::CommitFailed
    pub fn commit_offsets(&self, offsets: &Offsets) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let membership = self.membership.lock().clone();
        let member = commit_as(
            &self.group,
            self.subscribed,
            membership.member_id.as_deref(),
            membership.generation,
            membership.rejoining && !self.librdkafka,
        )?;
        let (existing, refused) = crate::group::split_missing(&self.cluster, offsets)?;
        if !existing.is_empty() {
            self.coordinator
                .commit(&self.group, member, &existing)
                .map_err(|refusal| as_client_reports(refusal, self.librdkafka))?;
            self.interceptors.on_commit(&existing);
        }
        refused.map_or(Ok(()), Err)
    }

    /// Whether the consumer has rejoined a rebalance that has not handed out its
    /// assignment yet (librdkafka's auto-commit timer skips such a moment).
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn rejoining(&self) -> bool {
        self.membership.lock().rejoining
    }

    /// The group's committed offset for `tp` (an offset pending in an open transaction is
    /// `UnstableOffsetCommit`), without waiting for a `poll` in progress.
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        self.coordinator.offsets.committed_stable(&self.group, tp)
    }
}
