//! rust-rdkafka's statistics (`rdkafka::statistics`): the JSON document librdkafka emits
//! every `statistics.interval.ms` (its STATISTICS.md), decoded. A context receives it in
//! [`ClientContext::stats`](super::ClientContext::stats), or as the JSON in
//! [`ClientContext::stats_raw`](super::ClientContext::stats_raw).
//!
//! The types and fields are rust-rdkafka's, so code reading them compiles against either.
//! What kafkalite fills in, and what stays at its "nothing" value (there is no network, so
//! no requests, bytes on the wire or latencies), is listed in the README's "Testing code
//! written for rdkafka".

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

mod emitter;

pub(crate) use emitter::{unknown_partition, Emitter};

/// The statistics of one client.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Statistics {
    /// The client's handle name, as librdkafka names it: `CLIENT_ID#TYPE-N`.
    pub name: String,
    /// The configured `client.id`.
    pub client_id: String,
    /// `producer` or `consumer`.
    #[serde(rename = "type")]
    pub client_type: String,
    /// The client's monotonic clock, in microseconds.
    pub ts: i64,
    /// Wall-clock time, in seconds since the Unix epoch.
    pub time: i64,
    /// Microseconds since the client was created.
    pub age: i64,
    /// Operations (callbacks, events) waiting for the application's poll.
    pub replyq: i64,
    /// Messages in the producer's queues (sent, their delivery report not yet served).
    pub msg_cnt: u64,
    /// Bytes of the messages in the producer's queues.
    pub msg_size: u64,
    /// At most this many messages may wait in the producer's queues.
    pub msg_max: u64,
    /// At most this many bytes may wait in the producer's queues.
    pub msg_size_max: u64,
    /// Requests sent to brokers.
    pub tx: i64,
    /// Bytes sent to brokers.
    pub tx_bytes: i64,
    /// Responses received from brokers.
    pub rx: i64,
    /// Bytes received from brokers.
    pub rx_bytes: i64,
    /// Messages produced (the sum over the partitions).
    pub txmsgs: i64,
    /// Bytes of the messages produced.
    pub txmsg_bytes: i64,
    /// Messages consumed (the sum over the partitions).
    pub rxmsgs: i64,
    /// Bytes of the messages consumed.
    pub rxmsg_bytes: i64,
    /// The legacy-consumer counter (always 0 for the high-level clients).
    pub simple_cnt: i64,
    /// Topics in the client's metadata cache.
    pub metadata_cache_cnt: i64,
    /// The brokers, by name (`HOST:PORT/ID`).
    pub brokers: HashMap<String, Broker>,
    /// The topics the client uses, by name.
    pub topics: HashMap<String, Topic>,
    /// The consumer group (consumers with a `group.id` only).
    pub cgrp: Option<ConsumerGroup>,
    /// Idempotence and transactions (idempotent producers only).
    pub eos: Option<ExactlyOnceSemantics>,
}

/// One broker's statistics.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Broker {
    /// `HOST:PORT/ID`.
    pub name: String,
    /// The broker id (-1 for a bootstrap broker).
    pub nodeid: i32,
    /// `HOST:PORT`.
    pub nodename: String,
    /// How the client knows the broker: `learned`, `configured`, `internal` or `logical`.
    pub source: String,
    /// The connection state (`INIT`, `DOWN`, `CONNECT`, `AUTH`, `UP`, ...).
    pub state: String,
    /// Microseconds since the state last changed.
    pub stateage: i64,
    /// Requests waiting to be sent.
    pub outbuf_cnt: i64,
    /// Messages waiting to be sent.
    pub outbuf_msg_cnt: i64,
    /// Requests sent and waiting for their response.
    pub waitresp_cnt: i64,
    /// Messages sent and waiting for their response.
    pub waitresp_msg_cnt: i64,
    /// Requests sent.
    pub tx: u64,
    /// Bytes sent.
    pub txbytes: u64,
    /// Send errors.
    pub txerrs: u64,
    /// Requests retried.
    pub txretries: u64,
    /// Microseconds since the last send (-1: none yet).
    pub txidle: i64,
    /// Requests that timed out.
    pub req_timeouts: u64,
    /// Responses received.
    pub rx: u64,
    /// Bytes received.
    pub rxbytes: u64,
    /// Receive errors.
    pub rxerrs: u64,
    /// Responses whose correlation id matched no request.
    pub rxcorriderrs: u64,
    /// Partial message sets received.
    pub rxpartial: u64,
    /// Microseconds since the last receive (-1: none yet).
    pub rxidle: i64,
    /// Requests sent, by request type.
    pub req: HashMap<String, i64>,
    /// Decompression buffer growths.
    pub zbuf_grow: u64,
    /// Buffer growths (unused by librdkafka).
    pub buf_grow: u64,
    /// Wake-ups of the broker thread.
    pub wakeups: Option<u64>,
    /// Connection attempts.
    pub connects: Option<i64>,
    /// Disconnections.
    pub disconnects: Option<i64>,
    /// Time messages wait in the producer's queue, in microseconds.
    pub int_latency: Option<Window>,
    /// Time requests wait to be sent, in microseconds.
    pub outbuf_latency: Option<Window>,
    /// Round-trip time of requests, in microseconds.
    pub rtt: Option<Window>,
    /// Throttling the broker asked for, in milliseconds.
    pub throttle: Option<Window>,
    /// The partitions this broker leads for the client, by `TOPIC-PARTITION`.
    pub toppars: HashMap<String, TopicPartition>,
}

/// A rolling window of samples (latencies, sizes) since the previous statistics.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Window {
    /// Smallest sample.
    pub min: i64,
    /// Largest sample.
    pub max: i64,
    /// Mean.
    pub avg: i64,
    /// Sum of the samples.
    pub sum: i64,
    /// Number of samples.
    pub cnt: i64,
    /// Standard deviation.
    pub stddev: i64,
    /// Memory of the histogram, in bytes.
    pub hdrsize: i64,
    /// 50th percentile.
    pub p50: i64,
    /// 75th percentile.
    pub p75: i64,
    /// 90th percentile.
    pub p90: i64,
    /// 95th percentile.
    pub p95: i64,
    /// 99th percentile.
    pub p99: i64,
    /// 99.99th percentile.
    pub p99_99: i64,
    /// Samples outside the histogram's range.
    pub outofrange: i64,
}

/// A partition a broker leads.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// One topic's statistics.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Topic {
    /// The topic's name.
    pub topic: String,
    /// Milliseconds since the topic's metadata was refreshed.
    pub metadata_age: i64,
    /// Sizes of the produced batches, in bytes.
    pub batchsize: Window,
    /// Messages per produced batch.
    pub batchcnt: Window,
    /// The partitions, by id; `-1` is librdkafka's unassigned partition (messages not yet
    /// partitioned).
    pub partitions: HashMap<i32, Partition>,
}

/// One partition's statistics. Offsets the client does not know are -1001
/// (`RD_KAFKA_OFFSET_INVALID`).
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct Partition {
    /// The partition id.
    pub partition: i32,
    /// The broker the client talks to for it (-1: none).
    pub broker: i32,
    /// The partition's leader (-1: unknown).
    pub leader: i32,
    /// Whether the application wants it (a consumer's assigned partition).
    pub desired: bool,
    /// Whether the cluster does not know it.
    pub unknown: bool,
    /// Messages waiting in the partition's queue.
    pub msgq_cnt: i64,
    /// Bytes waiting in the partition's queue.
    pub msgq_bytes: u64,
    /// Messages waiting to be sent.
    pub xmit_msgq_cnt: i64,
    /// Bytes waiting to be sent.
    pub xmit_msgq_bytes: u64,
    /// Messages fetched and not yet handed to the application.
    pub fetchq_cnt: i64,
    /// Bytes fetched and not yet handed to the application.
    pub fetchq_size: u64,
    /// The consumer's fetch state (`none`, `active`, ...).
    pub fetch_state: String,
    /// The offset being looked up.
    pub query_offset: i64,
    /// The next offset to fetch.
    pub next_offset: i64,
    /// The offset after the last message handed to the application.
    pub app_offset: i64,
    /// The offset to commit (librdkafka's offset store).
    pub stored_offset: i64,
    /// The last committed offset.
    pub committed_offset: i64,
    /// The offset of the last end-of-partition event.
    pub eof_offset: i64,
    /// The partition's log start offset.
    pub lo_offset: i64,
    /// The partition's high watermark.
    pub hi_offset: i64,
    /// The partition's last stable offset.
    pub ls_offset: i64,
    /// How far the committed offset is behind the end (the last stable offset under
    /// `read_committed`, else the high watermark); -1 when either is unknown.
    pub consumer_lag: i64,
    /// The same for the stored offset.
    pub consumer_lag_stored: i64,
    /// Messages produced (acknowledged).
    pub txmsgs: u64,
    /// Bytes produced.
    pub txbytes: u64,
    /// Messages consumed.
    pub rxmsgs: u64,
    /// Bytes consumed.
    pub rxbytes: u64,
    /// Messages enqueued by a producer; a consumer's `rxmsgs`.
    pub msgs: u64,
    /// Messages dropped as outdated.
    pub rx_ver_drops: u64,
    /// Messages in flight to the broker.
    pub msgs_inflight: i64,
    /// The next sequence number expected to be acknowledged (idempotence).
    pub next_ack_seq: i64,
    /// The next sequence number expected to fail (idempotence).
    pub next_err_seq: i64,
    /// The last acknowledged message id (idempotence).
    pub acked_msgid: u64,
}

/// The consumer group's statistics.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct ConsumerGroup {
    /// The group handler's state (`init`, `query-coord`, `up`, ...).
    pub state: String,
    /// Milliseconds since the state last changed.
    pub stateage: i64,
    /// Where the member is in joining (`init`, `wait-join`, `steady`, ...).
    pub join_state: String,
    /// Milliseconds since the last rebalance.
    pub rebalance_age: i64,
    /// Rebalances (assignments and revocations) so far.
    pub rebalance_cnt: i64,
    /// Why the last rebalance happened.
    pub rebalance_reason: String,
    /// Partitions in the group's current assignment of this member.
    pub assignment_size: i32,
}

/// The idempotent and transactional producer's statistics.
#[derive(Serialize, Deserialize, Debug, Default, Clone)]
pub struct ExactlyOnceSemantics {
    /// The idempotence state (`Init`, `RequestPID`, `Assigned`, `FatalError`, ...).
    pub idemp_state: String,
    /// Milliseconds since the idempotence state last changed.
    pub idemp_stateage: i64,
    /// The transaction state (`Init`, `Ready`, `InTransaction`, ...).
    pub txn_state: String,
    /// Milliseconds since the transaction state last changed.
    pub txn_stateage: i64,
    /// Whether the application may produce now.
    pub txn_may_enq: bool,
    /// The producer id (-1: none yet).
    pub producer_id: i64,
    /// The producer epoch (-1: none yet).
    pub producer_epoch: i64,
    /// How many times the producer id or epoch changed.
    pub epoch_cnt: i64,
}
