//! When a client's statistics are due and how they reach its context: librdkafka's
//! `statistics.interval.ms` timer (rdkafka.c, `rd_kafka_stats_emit_all`), on the cluster's
//! clock. librdkafka's timer queues a snapshot every interval and the application's poll
//! serves it; here the poll takes the snapshot when the interval has passed (one snapshot
//! however many intervals passed since the last poll, the timer keeping its schedule). The
//! snapshot goes to `ClientContext::stats_raw` as JSON, which rust-rdkafka's default decodes
//! into `stats`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::{Broker, Partition, Statistics, TopicPartition, Window};
use crate::rdkafka::client::ClientContext;
use crate::rdkafka::config::ClientConfig;
use crate::rdkafka::metadata::MetadataBroker;
use crate::rdkafka::topic_partition_list::OFFSET_INVALID;
use crate::Cluster;

/// librdkafka numbers its handles in the process, from 1 (`rk_name`).
static HANDLES: AtomicU32 = AtomicU32::new(0);

/// A client's statistics timer and the fields every snapshot starts with.
#[derive(Debug)]
pub(crate) struct Emitter {
    interval_ms: i64,
    name: String,
    client_id: String,
    client_type: &'static str,
    created_ms: i64,
    next_due_ms: Mutex<i64>,
}

impl Emitter {
    /// The timer of a new client of `client_type` (`producer`, `consumer`): `None` when
    /// `statistics.interval.ms` is 0 (the default), as librdkafka starts no timer. The
    /// handle is numbered either way.
    pub(crate) fn of(
        config: &ClientConfig,
        client_type: &'static str,
        cluster: &Cluster,
    ) -> Option<Emitter> {
        let handle = HANDLES.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        // Checked against librdkafka's range (0..=86400000) when the client was created.
        let interval_ms: i64 = config
            .get("statistics.interval.ms")
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if interval_ms <= 0 {
            return None;
        }
        let client_id = config.get("client.id").unwrap_or("rdkafka").to_string();
        let created_ms = cluster.clock().now_ms();
        Some(Emitter {
            interval_ms,
            name: format!("{client_id}#{client_type}-{handle}"),
            client_id,
            client_type,
            created_ms,
            next_due_ms: Mutex::new(created_ms.saturating_add(interval_ms)),
        })
    }

    /// Whether a snapshot is due at `now_ms`; if so, the timer moves to its next tick after
    /// `now_ms`.
    pub(crate) fn due(&self, now_ms: i64) -> bool {
        let mut next = self.next_due_ms.lock();
        if now_ms < *next {
            return false;
        }
        let missed = (now_ms - *next) / self.interval_ms + 1;
        *next = next.saturating_add(missed.saturating_mul(self.interval_ms));
        true
    }

    /// How long until the next snapshot is due (zero: now).
    pub(crate) fn until_due(&self, now_ms: i64) -> Duration {
        let left = self.next_due_ms.lock().saturating_sub(now_ms);
        Duration::from_millis(u64::try_from(left).unwrap_or(0))
    }

    /// A snapshot's common part at `now_ms`: the client's names and clocks, and the one
    /// broker (the cluster as `fetch_metadata` shows it, leading every partition in
    /// `toppars`).
    pub(crate) fn snapshot(
        &self,
        cluster: &Cluster,
        now_ms: i64,
        toppars: impl IntoIterator<Item = (String, i32)>,
    ) -> Statistics {
        let micros = |ms: i64| ms.saturating_mul(1000);
        let metadata = MetadataBroker::of(cluster);
        let nodename = format!("{}:{}", metadata.host, metadata.port);
        let name = format!("{nodename}/{}", metadata.id);
        let broker = Broker {
            name: name.clone(),
            nodeid: metadata.id,
            nodename,
            source: "learned".to_string(),
            state: "UP".to_string(),
            stateage: micros(now_ms - self.created_ms),
            // Never sent nor received: nothing crosses a network.
            txidle: -1,
            rxidle: -1,
            wakeups: Some(0),
            connects: Some(1),
            disconnects: Some(0),
            int_latency: Some(Window::default()),
            outbuf_latency: Some(Window::default()),
            rtt: Some(Window::default()),
            throttle: Some(Window::default()),
            toppars: toppars
                .into_iter()
                .map(|(topic, partition)| {
                    (
                        format!("{topic}-{partition}"),
                        TopicPartition { topic, partition },
                    )
                })
                .collect(),
            ..Broker::default()
        };
        Statistics {
            name: self.name.clone(),
            client_id: self.client_id.clone(),
            client_type: self.client_type.to_string(),
            ts: micros(now_ms),
            time: now_ms.div_euclid(1000),
            age: micros(now_ms - self.created_ms),
            brokers: [(name, broker)].into_iter().collect(),
            ..Statistics::default()
        }
    }

    /// Hands `statistics` to the context as librdkafka's JSON.
    pub(crate) fn emit<C: ClientContext + ?Sized>(&self, context: &C, statistics: &Statistics) {
        let json = serde_json::to_value(statistics)
            .map(as_librdkafka_writes_it)
            .and_then(|value| serde_json::to_vec(&value));
        match json {
            Ok(json) => context.stats_raw(&json),
            Err(error) => tracing::warn!(
                target: "kafkalite::rdkafka",
                "statistics of {} not emitted: {error}",
                self.name
            ),
        }
    }
}

/// A partition as librdkafka shows one it has no state for (the unassigned partition
/// `-1`, a partition a consumer is not assigned): no broker, every offset unknown.
pub(crate) fn unknown_partition(partition: i32) -> Partition {
    Partition {
        partition,
        broker: -1,
        leader: -1,
        fetch_state: "none".to_string(),
        query_offset: OFFSET_INVALID,
        // librdkafka's `rd_kafka_offset_stats_reset`: no fetch yet is 0.
        next_offset: 0,
        app_offset: OFFSET_INVALID,
        stored_offset: OFFSET_INVALID,
        committed_offset: OFFSET_INVALID,
        eof_offset: OFFSET_INVALID,
        lo_offset: OFFSET_INVALID,
        hi_offset: OFFSET_INVALID,
        ls_offset: OFFSET_INVALID,
        consumer_lag: -1,
        consumer_lag_stored: -1,
        ..Partition::default()
    }
}

/// `statistics` as librdkafka writes the document: no `cgrp` or `eos` where they do not
/// apply (rdkafka's struct has them as `None`), and each partition's fields that rdkafka's
/// struct leaves out: the legacy misspelt `commited_offset` beside `committed_offset`, and
/// the leader epochs (-1: unknown, kafkalite's metadata has none).
fn as_librdkafka_writes_it(mut statistics: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let Value::Object(document) = &mut statistics else {
        return statistics;
    };
    for optional in ["cgrp", "eos"] {
        if document.get(optional).is_some_and(Value::is_null) {
            document.remove(optional);
        }
    }
    let topics = document.get_mut("topics").and_then(Value::as_object_mut);
    for topic in topics.into_iter().flat_map(|topics| topics.values_mut()) {
        let partitions = topic.get_mut("partitions").and_then(Value::as_object_mut);
        for partition in partitions.into_iter().flat_map(|p| p.values_mut()) {
            let Value::Object(fields) = partition else {
                continue;
            };
            let committed = fields
                .get("committed_offset")
                .cloned()
                .unwrap_or(Value::Null);
            fields.insert("commited_offset".to_string(), committed);
            for epoch in [
                "leader_epoch",
                "stored_leader_epoch",
                "committed_leader_epoch",
            ] {
                fields.insert(epoch.to_string(), Value::from(-1));
            }
        }
    }
    statistics
}
