//! The consumer's positions and commits: auto-commit, committing (as the group member it
//! is), where each partition's next read starts (committed offset, `auto.offset.reset`),
//! and seeking.

use std::sync::Arc;

use super::commits::CommitMode;
use super::offset::Offset;
use super::state::{Mode, State};
use crate::config::{AutoOffsetReset, IsolationLevel};
use crate::error::{Error, ErrorCode, Result};
use crate::group::{OffsetAndMetadata, Offsets, TopicPartition};
use crate::log::Log;

impl State {
    pub(super) fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || self.coordinator.is_none() {
            return;
        }
        let now = self.cluster.clock().now_ms();
        if now < self.next_auto_commit_ms {
            return;
        }
        let interval = self.config.auto_commit_interval_ms.min(i64::MAX as u64) as i64;
        self.next_auto_commit_ms = now.saturating_add(interval);
        // The positions now are what earlier polls returned: never the batch still in hand.
        let offsets = self.positions_to_commit();
        if offsets.is_empty() {
            return;
        }
        let result = self.commit_offsets(&offsets);
        self.call_listener(|l, _| l.on_commit(&result, &offsets));
    }

    /// What a commit without explicit offsets covers: the positions, or with
    /// `enable.auto.offset.store=false` the stored offsets.
    pub(super) fn positions_to_commit(&self) -> Offsets {
        let store = self.config.enable_auto_offset_store;
        self.partitions
            .iter()
            .filter_map(|(tp, p)| {
                let offset = if store { p.position } else { p.stored }?;
                Some((tp.clone(), OffsetAndMetadata::new(offset)))
            })
            .collect()
    }

    pub(super) fn commit_in_mode(&mut self, offsets: &Offsets, mode: CommitMode) -> Result<()> {
        // Kafka's commitAsync throws InvalidGroupIdException at once, as commitSync does.
        self.group_id()?;
        let result = self.commit_offsets(offsets);
        match mode {
            CommitMode::Sync => result,
            CommitMode::Async => {
                self.call_listener(|l, _| l.on_commit(&result, offsets));
                Ok(())
            }
        }
    }

    pub(crate) fn commit_offsets(&mut self, offsets: &Offsets) -> Result<()> {
        let group = self.group_id()?.to_string();
        if offsets.is_empty() {
            return Ok(());
        }
        let member = commit_as(
            &group,
            matches!(self.mode, Mode::Subscribed(_)),
            self.member_id.as_deref(),
            self.generation,
            self.rejoining && !self.config.librdkafka_member,
        )?;
        // As Kafka: the group checks the member and its generation, not which partitions
        // it owns (a member may commit for any partition that exists; the others are
        // refused, the rest committed).
        let (existing, refused) = crate::group::split_missing(&self.cluster, offsets)?;
        if !existing.is_empty() {
            self.coordinator()?
                .commit(&group, member, &existing)
                .map_err(|refusal| as_client_reports(refusal, self.config.librdkafka_member))?;
            if self.interceptors.any() {
                self.commit_notices.push(existing.into_owned());
            }
        }
        refused.map_or(Ok(()), Err)
    }

    pub(crate) fn committed(&mut self, tp: &TopicPartition) -> Result<Option<OffsetAndMetadata>> {
        let group = self.group_id()?.to_string();
        self.coordinator()?.offsets.committed_stable(&group, tp)
    }

    pub(crate) fn seek(&mut self, tp: &TopicPartition, to: Offset) -> Result<()> {
        if let Offset::At(offset) = to {
            if offset < 0 {
                return Err(Error::IllegalState(format!(
                    "seek to negative offset {offset} on {tp}"
                )));
            }
        }
        let partition = self.assigned(tp)?;
        // As in Kafka, an offset takes effect at once (checked at the next fetch, where
        // auto.offset.reset handles one outside the log); the others resolve lazily.
        (partition.position, partition.pending) = match to {
            Offset::At(offset) => (Some(offset), None),
            other => (None, Some(other)),
        };
        partition.eof_reported = false;
        self.split_changed();
        Ok(())
    }

    pub(crate) fn known_position(&self, tp: &TopicPartition) -> Option<i64> {
        self.partitions.get(tp)?.position
    }

    pub(crate) fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.assigned(tp)?;
        self.resolve_position(tp)
    }

    /// The partition's position, resolving a pending seek, the committed offset or
    /// `auto.offset.reset` first.
    pub(super) fn resolve_position(&mut self, tp: &TopicPartition) -> Result<i64> {
        let partition = self.partitions.get(tp).expect("caller checked");
        if let Some(position) = partition.position {
            return Ok(position);
        }
        let log = Arc::clone(&partition.log);
        let pending = partition.pending.unwrap_or(Offset::Committed);
        let (start, end) = (log.log_start_offset(), log.high_watermark());
        let last = end_for(self.config.isolation_level, &log);
        let position = match pending {
            Offset::Beginning => start,
            Offset::End => last,
            Offset::FromEnd(n) => last
                .saturating_sub(n.min(i64::MAX as u64) as i64)
                .max(start),
            Offset::At(offset) if (start..=end).contains(&offset) => offset,
            Offset::At(offset) => self.reset(tp, &log, offset)?,
            Offset::Committed => {
                let committed = match self.config.group_id {
                    Some(_) => self.committed(tp)?.map(|c| c.offset),
                    None => None,
                };
                match committed {
                    Some(offset) if (start..=end).contains(&offset) => offset,
                    Some(offset) => self.reset(tp, &log, offset)?,
                    None => self.reset(tp, &log, -1)?,
                }
            }
        };
        let partition = self.partitions.get_mut(tp).expect("caller checked");
        partition.position = Some(position);
        partition.pending = None;
        Ok(position)
    }

    /// Whether this consumer reads only committed records.
    pub(super) fn read_committed(&self) -> bool {
        self.config.isolation_level == IsolationLevel::ReadCommitted
    }

    /// `auto.offset.reset` for a partition without a usable offset (`offset` −1: none at all).
    pub(super) fn reset(&self, tp: &TopicPartition, log: &Log, offset: i64) -> Result<i64> {
        match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => Ok(log.log_start_offset()),
            AutoOffsetReset::Latest => Ok(end_for(self.config.isolation_level, log)),
            AutoOffsetReset::None if offset < 0 => Err(Error::OffsetOutOfRange {
                partition: format!("{tp} (no committed offset, and auto.offset.reset=none)"),
                offset,
                log_start: log.log_start_offset(),
                log_end: log.high_watermark(),
            }),
            AutoOffsetReset::None => Err(Error::OffsetOutOfRange {
                partition: tp.to_string(),
                offset,
                log_start: log.log_start_offset(),
                log_end: log.high_watermark(),
            }),
        }
    }
}

/// Who a commit is made for: a subscribed consumer commits as its group member (id and
/// generation) and must be one, not `rejoining` a rebalance; an assigning consumer commits
/// without membership.
pub(super) fn commit_as<'a>(
    group: &str,
    subscribed: bool,
    member_id: Option<&'a str>,
    generation: i32,
    rejoining: bool,
) -> Result<Option<(&'a str, i32)>> {
    match (subscribed, member_id) {
        // Kafka's sendOffsetCommitRequest: a member that has rejoined a rebalance has no
        // stable generation to commit with (generationIfStable is null).
        (true, Some(_)) if rejoining => Err(Error::RebalanceInProgress(format!(
            "group '{group}' is rebalancing and this member has rejoined it: poll to \
             complete the rebalance, then commit again"
        ))),
        (true, Some(id)) => Ok(Some((id, generation))),
        (true, None) => Err(Error::CommitFailed(format!(
            "this consumer is not a member of group '{group}' (it was expelled or has not joined yet)"
        ))),
        (false, _) => Ok(None),
    }
}

/// A commit's refusal as the client reports it: Kafka's Java client turns the broker's
/// `UNKNOWN_MEMBER_ID` and `ILLEGAL_GENERATION` into `CommitFailedException`
/// (`OffsetCommitResponseHandler`); librdkafka's passes the broker's code on.
pub(super) fn as_client_reports(refusal: Error, librdkafka: bool) -> Error {
    match refusal {
        Error::Kafka {
            code: ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration,
            detail,
        } if !librdkafka => Error::CommitFailed(detail),
        other => other,
    }
}

/// The end of `log` for a consumer at `level`: the last stable offset under
/// `read_committed`, the high watermark otherwise (as Kafka's `ListOffsets` for the latest
/// offset, `endOffsets` and lag).
pub(crate) fn end_for(level: IsolationLevel, log: &Log) -> i64 {
    match level {
        IsolationLevel::ReadCommitted => log.last_stable_offset(),
        IsolationLevel::ReadUncommitted => log.high_watermark(),
    }
}
