//! A facade producer's statistics, as librdkafka's `rd_kafka_stats_emit_all` fills them for
//! a producer: the messages whose delivery report has not been served (`msg_cnt`,
//! `msg_size`, payload bytes) against the queue's limits; per partition of each topic the
//! producer has looked up, the messages enqueued (`msgs`), those without an outcome yet
//! (`msgq_cnt`, `msgq_bytes`) and those delivered (`txmsgs`, `txbytes`: key and payload
//! bytes), summed at the top; under idempotence, the producer id, epoch and transaction
//! state (`eos`). The counters are kept only while statistics are on.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::core::Core;
use crate::producer::{Identity, TransactionState};
use crate::rdkafka::client::ClientContext;
use crate::rdkafka::config::ClientConfig;
use crate::rdkafka::statistics::{
    unknown_partition, Emitter, ExactlyOnceSemantics, Statistics, Topic,
};
use crate::Cluster;

/// librdkafka's default `queue.buffering.max.kbytes`.
const DEFAULT_MAX_KBYTES: u64 = 1_048_576;

/// The statistics timer and the counters behind a producer's snapshots.
pub(crate) struct ProducerStatistics {
    emitter: Emitter,
    counters: Arc<Counters>,
    msg_size_max: u64,
}

/// Per topic, per partition.
#[derive(Default)]
struct Counters(Mutex<HashMap<String, HashMap<i32, Counts>>>);

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    enqueued: u64,
    waiting: i64,
    waiting_bytes: u64,
    delivered: u64,
    delivered_bytes: u64,
}

impl Counters {
    fn update(&self, topic: &str, partition: i32, change: impl FnOnce(&mut Counts)) {
        let mut topics = self.0.lock();
        let partitions = match topics.get_mut(topic) {
            Some(partitions) => partitions,
            None => topics.entry(topic.to_string()).or_default(),
        };
        change(partitions.entry(partition).or_default());
    }
}

/// One message in the counters from `send` to its outcome. Dropped without one (the
/// message was refused), it takes the message back out.
pub(crate) struct Tally {
    counters: Arc<Counters>,
    topic: String,
    partition: i32,
    bytes: u64,
    settled: bool,
}

impl Tally {
    /// The message's outcome is known: delivered, or failed.
    pub(crate) fn settle(mut self, delivered: bool) {
        self.settled = true;
        let bytes = self.bytes;
        self.counters.update(&self.topic, self.partition, |counts| {
            counts.waiting -= 1;
            counts.waiting_bytes = counts.waiting_bytes.saturating_sub(bytes);
            if delivered {
                counts.delivered += 1;
                counts.delivered_bytes += bytes;
            }
        });
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let bytes = self.bytes;
        self.counters.update(&self.topic, self.partition, |counts| {
            counts.enqueued = counts.enqueued.saturating_sub(1);
            counts.waiting -= 1;
            counts.waiting_bytes = counts.waiting_bytes.saturating_sub(bytes);
        });
    }
}

impl ProducerStatistics {
    /// A new producer's statistics, `None` when `statistics.interval.ms` is 0.
    pub(crate) fn of(config: &ClientConfig, cluster: &Cluster) -> Option<ProducerStatistics> {
        let emitter = Emitter::of(config, "producer", cluster)?;
        let kbytes = config
            .get("queue.buffering.max.kbytes")
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_KBYTES);
        Some(ProducerStatistics {
            emitter,
            counters: Arc::default(),
            msg_size_max: kbytes.saturating_mul(1024),
        })
    }

    /// Counts a message of `bytes` (key and payload) enqueued for `topic`/`partition`.
    pub(crate) fn tally(&self, topic: &str, partition: i32, bytes: u64) -> Tally {
        self.counters.update(topic, partition, |counts| {
            counts.enqueued += 1;
            counts.waiting += 1;
            counts.waiting_bytes += bytes;
        });
        Tally {
            counters: Arc::clone(&self.counters),
            topic: topic.to_string(),
            partition,
            bytes,
            settled: false,
        }
    }
}

impl Core {
    /// Emits the statistics to `context` if they are due; `replyq` delivery reports wait
    /// for the application's poll.
    pub(crate) fn maybe_emit_statistics<C: ClientContext + ?Sized>(
        &self,
        context: &C,
        replyq: usize,
    ) {
        let Some(statistics) = &self.statistics else {
            return;
        };
        let now_ms = self.cluster.clock().now_ms();
        if statistics.emitter.due(now_ms) {
            statistics
                .emitter
                .emit(context, &self.snapshot(statistics, now_ms, replyq));
        }
    }

    /// How long until the statistics are due (`None`: they are off).
    pub(crate) fn statistics_due_in(&self) -> Option<Duration> {
        let statistics = self.statistics.as_ref()?;
        Some(statistics.emitter.until_due(self.cluster.clock().now_ms()))
    }

    fn snapshot(&self, statistics: &ProducerStatistics, now_ms: i64, replyq: usize) -> Statistics {
        let looked_up = self.looked_up_topics();
        let toppars = looked_up
            .iter()
            .flat_map(|(topic, count)| (0..*count).map(move |p| (topic.clone(), p)));
        let mut snapshot = statistics.emitter.snapshot(&self.cluster, now_ms, toppars);
        snapshot.replyq = i64::try_from(replyq).unwrap_or(i64::MAX);
        snapshot.msg_cnt = u64::try_from(self.queued.load(Ordering::Acquire)).unwrap_or(0);
        snapshot.msg_size = self.queued_bytes.load(Ordering::Acquire);
        snapshot.msg_max = u64::try_from(self.max_messages).unwrap_or(0);
        snapshot.msg_size_max = statistics.msg_size_max;
        snapshot.metadata_cache_cnt = i64::try_from(looked_up.len()).unwrap_or(i64::MAX);
        let counters = statistics.counters.0.lock();
        for (name, count) in looked_up {
            let mut topic = Topic {
                topic: name.clone(),
                ..Topic::default()
            };
            let counted = counters.get(&name);
            for partition in (0..count).chain([super::PARTITION_UA]) {
                let mut stats = unknown_partition(partition);
                if partition >= 0 {
                    (stats.broker, stats.leader) = (0, 0);
                }
                if let Some(counts) = counted.and_then(|c| c.get(&partition)) {
                    stats.msgs = counts.enqueued;
                    stats.msgq_cnt = counts.waiting;
                    stats.msgq_bytes = counts.waiting_bytes;
                    stats.txmsgs = counts.delivered;
                    stats.txbytes = counts.delivered_bytes;
                    snapshot.txmsgs += i64::try_from(counts.delivered).unwrap_or(i64::MAX);
                    snapshot.txmsg_bytes +=
                        i64::try_from(counts.delivered_bytes).unwrap_or(i64::MAX);
                }
                topic.partitions.insert(partition, stats);
            }
            snapshot.topics.insert(name, topic);
        }
        drop(counters);
        snapshot.eos = self.producer.identity().map(exactly_once);
        snapshot
    }
}

/// librdkafka's idempotence and transaction states for kafkalite's producer identity
/// (rdkafka_idempotence.c, rdkafka_txnmgr.c names).
fn exactly_once(identity: Identity) -> ExactlyOnceSemantics {
    let txn_state = match identity.transaction_state {
        None | Some(TransactionState::Uninitialized) => "Init",
        Some(TransactionState::Ready) => "Ready",
        Some(TransactionState::InTransaction) => "InTransaction",
        Some(TransactionState::Committing) => "CommittingTransaction",
        Some(TransactionState::Aborting) => "AbortingTransaction",
        Some(TransactionState::AbortableError) => "AbortableError",
        Some(TransactionState::FatalError) => "FatalError",
    };
    let idemp_state = match (txn_state, identity.producer_id) {
        ("FatalError", _) => "FatalError",
        (_, id) if id < 0 => "Init",
        _ => "Assigned",
    };
    ExactlyOnceSemantics {
        idemp_state: idemp_state.to_string(),
        txn_state: txn_state.to_string(),
        txn_may_enq: txn_state == "InTransaction",
        producer_id: identity.producer_id,
        producer_epoch: i64::from(identity.epoch),
        epoch_cnt: identity.epochs,
        ..ExactlyOnceSemantics::default()
    }
}
