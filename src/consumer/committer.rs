//! A committer: commits for a consumer from any thread, also while it is blocked in `poll`.

use std::sync::Arc;

use parking_lot::Mutex;

use super::interceptor::Interceptors;
use super::positions::commit_as;
use crate::cluster::Cluster;
use crate::error::Result;
use crate::group::{Coordinator, Offsets};
#[cfg(feature = "rdkafka-api")]
use crate::group::{OffsetAndMetadata, TopicPartition};

/// Commits offsets for a consumer from any thread (`Clone + Send + 'static`), without
/// waiting for a `poll` in progress. Made by [`Consumer::committer`](super::Consumer::committer).
#[derive(Debug, Clone)]
pub struct Committer {
    pub(super) cluster: Cluster,
    pub(super) coordinator: Arc<Coordinator>,
    pub(super) group: String,
    pub(super) membership: Arc<Mutex<(Option<String>, i32)>>,
    pub(super) subscribed: bool,
    pub(super) interceptors: Interceptors,
}

impl Committer {
    /// Commits exactly `offsets` (each the next offset to read), synchronously.
    pub fn commit_offsets(&self, offsets: &Offsets) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let (member_id, generation) = self.membership.lock().clone();
        let member = commit_as(
            &self.group,
            self.subscribed,
            member_id.as_deref(),
            generation,
        )?;
        let (existing, refused) = crate::group::split_missing(&self.cluster, offsets)?;
        if !existing.is_empty() {
            self.coordinator.commit(&self.group, member, &existing)?;
            self.interceptors.on_commit(&existing);
        }
        refused.map_or(Ok(()), Err)
    }

    /// The group's committed offset for `tp` (an offset pending in an open transaction is
    /// `UnstableOffsetCommit`), without waiting for a `poll` in progress.
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn committed(&self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        self.coordinator.offsets.committed_stable(&self.group, tp)
    }
}
