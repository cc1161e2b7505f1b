//! A facade consumer's statistics, as librdkafka's `rd_kafka_stats_emit_all` fills them for
//! a consumer: per partition of each topic it subscribes to or is assigned, the offsets it
//! knows (application, stored, committed; the watermarks of its assigned partitions) and
//! the lags librdkafka derives from them (`rd_kafka_stats_emit_toppar`: the end, the last
//! stable offset under `read_committed`, less the committed or the stored offset; -1 when
//! either is unknown or the offset is past the end), the messages handed out (`rxmsgs`,
//! `rxbytes`: key and payload bytes), and the group (`cgrp`, with a `group.id` only).

use std::collections::{BTreeSet, HashMap};

use super::base_consumer::{BaseConsumer, Local, Shared};
use super::ConsumerContext;
use crate::group::TopicPartition;
use crate::rdkafka::statistics::{
    unknown_partition, ConsumerGroup, Emitter, Partition, Statistics, Topic,
};
use crate::rdkafka::topic_partition_list::OFFSET_INVALID;

/// The consumer's counters, kept while statistics are on.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Messages and their key and payload bytes handed out, per partition.
    received: HashMap<TopicPartition, (u64, u64)>,
    /// Assignments and revocations the callbacks saw.
    rebalances: i64,
    /// When the last one was (cluster clock).
    last_rebalance_ms: Option<i64>,
    /// What it was.
    last_rebalance: &'static str,
}

impl Counters {
    /// A message of `bytes` was handed out from `partition`.
    pub(super) fn received(&mut self, partition: &TopicPartition, bytes: u64) {
        let counts = match self.received.get_mut(partition) {
            Some(counts) => counts,
            None => self.received.entry(partition.clone()).or_default(),
        };
        counts.0 += 1;
        counts.1 += bytes;
    }

    /// A rebalance callback ran at `now_ms`: `what` happened to the partitions.
    pub(super) fn rebalanced(&mut self, now_ms: i64, what: &'static str) {
        self.rebalances += 1;
        self.last_rebalance_ms = Some(now_ms);
        self.last_rebalance = what;
    }
}

/// How far `offset` is behind `end`, as librdkafka computes a lag: -1 when the end is
/// unknown, or the offset is unknown or past the end.
fn lag(end: i64, offset: i64) -> i64 {
    if end != OFFSET_INVALID && (0..=end).contains(&offset) {
        end - offset
    } else {
        -1
    }
}

impl<C: ConsumerContext> BaseConsumer<C> {
    /// Emits the statistics to the context if they are due.
    pub(super) fn maybe_emit_statistics(&self) {
        let Some(emitter) = &self.shared.statistics else {
            return;
        };
        let now_ms = self.cluster().clock().now_ms();
        if emitter.due(now_ms) {
            let snapshot = self.statistics_snapshot(emitter, now_ms);
            emitter.emit(self.client.context().as_ref(), &snapshot);
        }
    }

    fn statistics_snapshot(&self, emitter: &Emitter, now_ms: i64) -> Statistics {
        let shared = self.shared();
        let assignment = self.assignment_now();
        // (Before `local`: the committer's lock is never taken under it.)
        let rejoining = shared
            .committer
            .lock()
            .as_ref()
            .is_some_and(|committer| committer.rejoining());
        let local = shared.local.lock();
        // librdkafka's topic handles: the subscribed topics (patterns aside), the assigned
        // ones and those read from before (so that the totals never go down), those the
        // cluster has.
        let topics: Vec<(String, i32)> = local
            .subscription
            .iter()
            .map(String::as_str)
            .filter(|topic| !topic.starts_with('^'))
            .chain(assignment.iter().map(|tp| &*tp.topic))
            .chain(local.statistics.received.keys().map(|tp| &*tp.topic))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter_map(|topic| {
                let (_, logs) = self.cluster().topic_partitions(topic).ok()?;
                Some((
                    topic.to_string(),
                    i32::try_from(logs.len()).unwrap_or(i32::MAX),
                ))
            })
            .collect();
        let toppars = topics
            .iter()
            .flat_map(|(topic, count)| (0..*count).map(move |p| (topic.clone(), p)));
        let mut snapshot = emitter.snapshot(self.cluster(), now_ms, toppars);
        snapshot.replyq =
            i64::try_from(local.events.len() + local.commit_reports.len()).unwrap_or(i64::MAX);
        snapshot.metadata_cache_cnt = i64::try_from(topics.len()).unwrap_or(i64::MAX);
        for (name, count) in topics {
            let mut topic = Topic {
                topic: name.clone(),
                ..Topic::default()
            };
            for partition in (0..count).chain([-1]) {
                let tp = TopicPartition::new(name.as_str(), partition);
                let stats = self.partition_statistics(shared, &local, &tp, &assignment);
                snapshot.rxmsgs += i64::try_from(stats.rxmsgs).unwrap_or(i64::MAX);
                snapshot.rxmsg_bytes += i64::try_from(stats.rxbytes).unwrap_or(i64::MAX);
                topic.partitions.insert(partition, stats);
            }
            snapshot.topics.insert(name, topic);
        }
        if shared.has_group() {
            let age_ms = snapshot.age / 1000;
            snapshot.cgrp = Some(group_statistics(
                &local,
                &assignment,
                rejoining,
                age_ms,
                now_ms,
            ));
        }
        snapshot
    }

    fn partition_statistics(
        &self,
        shared: &Shared,
        local: &Local,
        tp: &TopicPartition,
        assignment: &[TopicPartition],
    ) -> Partition {
        let mut stats = unknown_partition(tp.partition);
        if tp.partition < 0 {
            return stats;
        }
        (stats.broker, stats.leader) = (0, 0);
        let (received, bytes) = local
            .statistics
            .received
            .get(tp)
            .copied()
            .unwrap_or_default();
        (stats.rxmsgs, stats.rxbytes, stats.msgs) = (received, bytes, received);
        if !assignment.contains(tp) {
            return stats;
        }
        stats.desired = true;
        stats.fetch_state = "active".to_string();
        let known = |offsets: &HashMap<TopicPartition, i64>| {
            offsets.get(tp).copied().unwrap_or(OFFSET_INVALID)
        };
        stats.app_offset = known(&local.positions);
        // One message per fetch: the fetch position is the application's (0 before the
        // first, as librdkafka's before it fetches).
        if stats.app_offset >= 0 {
            stats.next_offset = stats.app_offset;
        }
        stats.stored_offset = known(&local.stored);
        stats.committed_offset = known(&local.committed);
        if let Ok(log) = self.cluster().partition(&tp.topic, tp.partition) {
            stats.lo_offset = log.log_start_offset();
            stats.hi_offset = log.high_watermark();
            stats.ls_offset = log.last_stable_offset();
        }
        let end = if shared.read_committed() {
            stats.ls_offset
        } else {
            stats.hi_offset
        };
        stats.consumer_lag = lag(end, stats.committed_offset);
        stats.consumer_lag_stored = lag(end, stats.stored_offset);
        stats
    }
}

/// The group as librdkafka's `cgrp` shows it: `up` (the coordinator is in process) for
/// `age_ms`, the client's age; a subscribed member `steady` between rebalances, `wait-join`
/// while it rejoins.
fn group_statistics(
    local: &Local,
    assignment: &[TopicPartition],
    rejoining: bool,
    age_ms: i64,
    now_ms: i64,
) -> ConsumerGroup {
    let counters = &local.statistics;
    let subscribed = !local.subscription.is_empty();
    let join_state = match (subscribed, rejoining) {
        (false, _) => "init",
        (true, true) => "wait-join",
        (true, false) => "steady",
    };
    ConsumerGroup {
        state: "up".to_string(),
        stateage: age_ms,
        join_state: join_state.to_string(),
        rebalance_age: counters.last_rebalance_ms.map_or(0, |at| now_ms - at),
        rebalance_cnt: counters.rebalances,
        rebalance_reason: counters.last_rebalance.to_string(),
        // The group's assignment (withheld partitions too): none under a manual one.
        assignment_size: if subscribed {
            i32::try_from(assignment.len() + local.withheld.len()).unwrap_or(i32::MAX)
        } else {
            0
        },
    }
}
