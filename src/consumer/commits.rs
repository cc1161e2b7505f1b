//! The `Consumer`'s commit calls: commits (sync or async), the offset store, committed
//! offsets (waiting out a pending transactional commit), and the [`Committer`] handle.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::Consumer;
use super::committer::Committer;
use super::records::Records;
use super::state::Mode;
use crate::error::{Error, Result};
use crate::group::{Message, OffsetAndMetadata, Offsets, TopicPartition};

/// How a commit completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Returns once the offsets are stored (in the log of `__consumer_offsets`), or with the
    /// error.
    Sync,
    /// Never fails the call: the outcome goes to the listener's `on_commit`.
    Async,
}

impl Consumer {
    /// A handle that commits for this consumer from any thread, also while it is blocked in
    /// `poll` (which holds the consumer). Commits carry the membership of the moment, so the
    /// group refuses them after a rebalance as it would the consumer's own.
    pub fn committer(&self) -> Result<Committer> {
        let state = self.state.lock();
        let group = state.group_id()?.to_string();
        Ok(Committer {
            cluster: state.cluster.clone(),
            coordinator: Arc::clone(state.coordinator()?),
            group,
            membership: Arc::clone(&state.membership),
            subscribed: matches!(state.mode, Mode::Subscribed(_)),
            interceptors: state.interceptors.clone(),
            librdkafka: state.config.librdkafka_member,
        })
    }

    /// Commits the current positions of every assigned partition (what earlier polls
    /// returned).
    pub fn commit(&self, mode: CommitMode) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        let offsets = state.positions_to_commit();
        let committed = state.commit_in_mode(&offsets, mode);
        Self::release(state);
        committed
    }

    /// Commits exactly `offsets` (each the next offset to read).
    pub fn commit_offsets(&self, offsets: &Offsets, mode: CommitMode) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        let committed = state.commit_in_mode(offsets, mode);
        Self::release(state);
        committed
    }

    /// Marks records as processed for the next commit without explicit offsets (auto-commit,
    /// [`Consumer::commit`]), with `enable.auto.offset.store=false` (librdkafka's
    /// `store_offsets`). Each offset is the next to consume; partitions must be assigned.
    pub fn store_offsets(&self, offsets: &Offsets) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        if state.config.enable_auto_offset_store {
            return Err(Error::IllegalState(
                "store_offsets needs enable.auto.offset.store=false".into(),
            ));
        }
        for (tp, offset) in offsets {
            state.assigned(tp)?.stored = Some(offset.offset);
        }
        Ok(())
    }

    /// Commits one record as processed: its offset + 1 (the "+1" that is easy to forget).
    pub fn commit_record(&self, record: &impl Message, mode: CommitMode) -> Result<()> {
        let mut offsets = Offsets::new();
        offsets.insert(
            record.topic_partition(),
            OffsetAndMetadata::next_after(record),
        );
        self.commit_offsets(&offsets, mode)
    }

    /// Marks one record as processed for the next commit (its offset + 1), with
    /// `enable.auto.offset.store=false` (librdkafka's `store_offset`).
    pub fn store_offset(&self, record: &impl Message) -> Result<()> {
        let mut offsets = Offsets::new();
        offsets.insert(
            record.topic_partition(),
            OffsetAndMetadata::next_after(record),
        );
        self.store_offsets(&offsets)
    }

    /// Commits everything in `records` as processed (each partition's last offset + 1).
    pub fn commit_records(&self, records: &Records, mode: CommitMode) -> Result<()> {
        self.commit_offsets(&records.next_offsets(), mode)
    }

    /// The group's committed offsets for `partitions` (`None` where nothing is committed).
    /// An offset still pending in an open transaction is waited for, up to
    /// `default.api.timeout.ms` (then [`Error::UnstableOffsetCommit`]), as Kafka's consumer
    /// retries its stable offset fetch.
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        self.committed_until(partitions, None)
    }

    /// As [`Consumer::committed`], waiting at most `timeout` for an offset pending in an
    /// open transaction (Kafka's `committed(partitions, timeout)`).
    pub fn committed_within(
        &self,
        partitions: &[TopicPartition],
        timeout: Duration,
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        self.committed_until(partitions, Some(timeout))
    }

    fn committed_until(
        &self,
        partitions: &[TopicPartition],
        timeout: Option<Duration>,
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let mut deadline = None;
        loop {
            let seen = self.notifier.sequence();
            let answer = {
                let mut state = self.state.lock();
                state.check_open()?;
                let timeout =
                    timeout.unwrap_or(Duration::from_millis(state.config.default_api_timeout_ms));
                deadline.get_or_insert_with(|| {
                    let now = Instant::now();
                    now.checked_add(timeout)
                        .unwrap_or(now + Duration::from_secs(86_400))
                });
                partitions
                    .iter()
                    .map(|tp| Ok((tp.clone(), state.committed(tp)?)))
                    .collect()
            };
            match answer {
                Err(Error::UnstableOffsetCommit(_))
                    if deadline.is_some_and(|d| Instant::now() < d) =>
                {
                    self.notifier
                        .wait_until(seen, deadline.unwrap_or_else(Instant::now));
                    self.check_woken()?;
                }
                answer => return answer,
            }
        }
    }
}
