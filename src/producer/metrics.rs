//! Producer metrics in Kafka's terms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Latencies in microseconds, in log-linear buckets: 8 per power of two (at most 12.5% error).
#[derive(Debug)]
struct Histogram {
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

const SUB_BUCKETS: u64 = 8;

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: (0..65 * SUB_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    // Below SUB_BUCKETS the value is its own index; above, the index is under
    // 64 * SUB_BUCKETS (`magnitude` ≤ 63, `sub` < SUB_BUCKETS), the buckets' length.
    #[allow(clippy::cast_possible_truncation)]
    fn index(us: u64) -> usize {
        if us < SUB_BUCKETS {
            return us as usize;
        }
        let magnitude = 63 - us.leading_zeros() as u64;
        let sub = (us >> (magnitude - 3)) & (SUB_BUCKETS - 1);
        (magnitude * SUB_BUCKETS + sub) as usize
    }

    fn lower_bound(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let (magnitude, sub) = (index / SUB_BUCKETS, index % SUB_BUCKETS);
        (SUB_BUCKETS + sub) << (magnitude - 3)
    }

    fn record(&self, us: u64, weight: u64) {
        self.buckets[Self::index(us)].fetch_add(weight, Ordering::Relaxed);
        self.count.fetch_add(weight, Ordering::Relaxed);
        self.sum_us
            .fetch_add(us.saturating_mul(weight), Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The latency below which a fraction `p` of the samples fall (a bucket's lower bound).
    fn percentile(&self, p: f64) -> u64 {
        let count = self.count.load(Ordering::Relaxed);
        // `p` is in [0, 1], so the product is in [0, count]; a float cast saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let target = ((count as f64 * p).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= target {
                return Self::lower_bound(i);
            }
        }
        0
    }
}

/// Counters the send path and the appender update.
#[derive(Debug)]
pub(crate) struct Metrics {
    started: Instant,
    records: AtomicU64,
    batches: AtomicU64,
    uncompressed_bytes: AtomicU64,
    written_bytes: AtomicU64,
    errors: AtomicU64,
    callback_panics: AtomicU64,
    interceptor_panics: AtomicU64,
    splits: AtomicU64,
    latency: Histogram,
    /// Nanoseconds spent in each blocking call (Kafka's `KafkaProducerMetrics`), by [`Api`].
    api_ns: [AtomicU64; Api::COUNT],
}

/// The producer calls whose time Kafka's producer totals (KIP-485), as `<name>-time-ns-total`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    Flush,
    TxnInit,
    TxnBegin,
    TxnSendOffsets,
    TxnCommit,
    TxnAbort,
    MetadataWait,
}

impl Api {
    const COUNT: usize = Api::MetadataWait as usize + 1;
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Metrics {
            started: Instant::now(),
            records: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            uncompressed_bytes: AtomicU64::new(0),
            written_bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            callback_panics: AtomicU64::new(0),
            interceptor_panics: AtomicU64::new(0),
            splits: AtomicU64::new(0),
            latency: Histogram::new(),
            api_ns: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn batch_appended(&self, records: u64, uncompressed: u64, written: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.uncompressed_bytes
            .fetch_add(uncompressed, Ordering::Relaxed);
        self.written_bytes.fetch_add(written, Ordering::Relaxed);
    }

    /// A batch was delivered `latency` after its first record was sent.
    pub(crate) fn delivered(&self, latency: std::time::Duration, records: u64) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency.record(us, records);
    }

    pub(crate) fn batch_failed(&self, records: u64) {
        self.errors.fetch_add(records, Ordering::Relaxed);
    }

    pub(crate) fn send_failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn callback_panicked(&self) {
        self.callback_panics.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn batch_split(&self) {
        self.splits.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds the time since `start` to `api`'s total.
    pub(crate) fn spent(&self, api: Api, start: Instant) {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.api_ns[api as usize].fetch_add(ns, Ordering::Relaxed);
    }

    pub(crate) fn interceptor_panicked(&self) {
        self.interceptor_panics.fetch_add(1, Ordering::Relaxed);
    }

    fn api_total(&self, api: Api) -> u64 {
        self.api_ns[api as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(
        &self,
        buffer_available_bytes: u64,
        buffer_total_bytes: u64,
    ) -> ProducerMetrics {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let records = self.records.load(Ordering::Relaxed);
        let batches = self.batches.load(Ordering::Relaxed);
        let uncompressed = self.uncompressed_bytes.load(Ordering::Relaxed);
        let written = self.written_bytes.load(Ordering::Relaxed);
        let errors = self.errors.load(Ordering::Relaxed);
        let per_batch = |n: u64| {
            if batches == 0 {
                0.0
            } else {
                n as f64 / batches as f64
            }
        };
        ProducerMetrics {
            record_send_total: records,
            record_send_rate: records as f64 / seconds,
            records_per_request_avg: per_batch(records),
            batch_size_avg: per_batch(written),
            compression_rate_avg: if uncompressed == 0 {
                1.0
            } else {
                written as f64 / uncompressed as f64
            },
            buffer_available_bytes,
            buffer_total_bytes,
            record_error_total: errors,
            record_error_rate: errors as f64 / seconds,
            callback_panics_total: self.callback_panics.load(Ordering::Relaxed),
            interceptor_panics_total: self.interceptor_panics.load(Ordering::Relaxed),
            batch_split_total: self.splits.load(Ordering::Relaxed),
            delivery_latency_avg_ms: {
                let count = self.latency.count.load(Ordering::Relaxed).max(1);
                self.latency.sum_us.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0
            },
            delivery_latency_max_ms: self.latency.max_us.load(Ordering::Relaxed) as f64 / 1000.0,
            flush_time_ns_total: self.api_total(Api::Flush),
            txn_init_time_ns_total: self.api_total(Api::TxnInit),
            txn_begin_time_ns_total: self.api_total(Api::TxnBegin),
            txn_send_offsets_time_ns_total: self.api_total(Api::TxnSendOffsets),
            txn_commit_time_ns_total: self.api_total(Api::TxnCommit),
            txn_abort_time_ns_total: self.api_total(Api::TxnAbort),
            metadata_wait_time_ns_total: self.api_total(Api::MetadataWait),
            delivery_latency_p50_ms: self.latency.percentile(0.50) as f64 / 1000.0,
            delivery_latency_p95_ms: self.latency.percentile(0.95) as f64 / 1000.0,
            delivery_latency_p99_ms: self.latency.percentile(0.99) as f64 / 1000.0,
            delivery_latency_p999_ms: self.latency.percentile(0.999) as f64 / 1000.0,
        }
    }
}

/// A snapshot of a producer's metrics, named as Kafka's producer metrics are.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProducerMetrics {
    /// record-send-total: records appended.
    pub record_send_total: u64,
    /// record-send-rate: records appended per second since the producer started.
    pub record_send_rate: f64,
    /// records-per-request-avg: records per appended batch.
    pub records_per_request_avg: f64,
    /// batch-size-avg: bytes per appended batch (as written).
    pub batch_size_avg: f64,
    /// compression-rate-avg: written bytes over uncompressed bytes.
    pub compression_rate_avg: f64,
    /// buffer-available-bytes: `buffer.memory` not holding records.
    pub buffer_available_bytes: u64,
    /// buffer-total-bytes: `buffer.memory`.
    pub buffer_total_bytes: u64,
    /// record-error-total: records whose send or delivery failed.
    pub record_error_total: u64,
    /// record-error-rate: failed records per second since the producer started.
    pub record_error_rate: f64,
    /// Callbacks that panicked (caught; the producer went on).
    pub callback_panics_total: u64,
    /// Interceptor calls that panicked (caught and ignored, as Kafka does).
    pub interceptor_panics_total: u64,
    /// batch-split-total: batches the log refused as too large and the producer split in
    /// two to append again (KIP-126).
    pub batch_split_total: u64,
    /// Mean time from send to delivery, in ms (measured from each batch's first record, so
    /// never an underestimate).
    pub delivery_latency_avg_ms: f64,
    /// Longest delivery, in ms.
    pub delivery_latency_max_ms: f64,
    /// flush-time-ns-total: nanoseconds spent in [`crate::Producer::flush`] (whether it
    /// succeeded or not, as Kafka counts it).
    pub flush_time_ns_total: u64,
    /// txn-init-time-ns-total: nanoseconds spent in successful `init_transactions` calls
    /// (Kafka's `KafkaProducerMetrics` counts a transactional call that returns; one that
    /// fails is not counted).
    pub txn_init_time_ns_total: u64,
    /// txn-begin-time-ns-total: nanoseconds spent in successful `begin_transaction` calls.
    pub txn_begin_time_ns_total: u64,
    /// txn-send-offsets-time-ns-total: nanoseconds spent in successful
    /// `send_offsets_to_transaction` calls with offsets to send.
    pub txn_send_offsets_time_ns_total: u64,
    /// txn-commit-time-ns-total: nanoseconds spent in successful `commit_transaction` calls
    /// (the flush of the transaction's records, then the coordinator's decision and markers).
    pub txn_commit_time_ns_total: u64,
    /// txn-abort-time-ns-total: nanoseconds spent in successful `abort_transaction` calls.
    pub txn_abort_time_ns_total: u64,
    /// metadata-wait-time-ns-total: nanoseconds sends (and `partitions_for`) spent waiting
    /// for a topic missing from the cluster to appear (up to `max.block.ms`), counted when
    /// it appeared. Kafka's also counts a first fetch of a topic's metadata from the
    /// brokers, which kafkalite, in process, never waits for.
    pub metadata_wait_time_ns_total: u64,
    /// Median delivery latency, in ms (within 12.5%).
    pub delivery_latency_p50_ms: f64,
    /// 95th percentile, in ms.
    pub delivery_latency_p95_ms: f64,
    /// 99th percentile, in ms.
    pub delivery_latency_p99_ms: f64,
    /// 99.9th percentile, in ms.
    pub delivery_latency_p999_ms: f64,
}

impl ProducerMetrics {
    /// The metrics Kafka's producer also has, by Kafka's names (`producer-metrics` group),
    /// sorted by name, as Kafka's `--print-metrics` lists them.
    pub fn kafka_named(&self) -> Vec<(&'static str, f64)> {
        let mut named = vec![
            ("batch-size-avg", self.batch_size_avg),
            ("batch-split-total", self.batch_split_total as f64),
            ("buffer-available-bytes", self.buffer_available_bytes as f64),
            ("buffer-total-bytes", self.buffer_total_bytes as f64),
            ("compression-rate-avg", self.compression_rate_avg),
            ("flush-time-ns-total", self.flush_time_ns_total as f64),
            (
                "metadata-wait-time-ns-total",
                self.metadata_wait_time_ns_total as f64,
            ),
            ("record-error-rate", self.record_error_rate),
            ("record-error-total", self.record_error_total as f64),
            ("record-send-rate", self.record_send_rate),
            ("record-send-total", self.record_send_total as f64),
            ("records-per-request-avg", self.records_per_request_avg),
            (
                "txn-abort-time-ns-total",
                self.txn_abort_time_ns_total as f64,
            ),
            (
                "txn-begin-time-ns-total",
                self.txn_begin_time_ns_total as f64,
            ),
            (
                "txn-commit-time-ns-total",
                self.txn_commit_time_ns_total as f64,
            ),
            ("txn-init-time-ns-total", self.txn_init_time_ns_total as f64),
            (
                "txn-send-offsets-time-ns-total",
                self.txn_send_offsets_time_ns_total as f64,
            ),
        ];
        named.sort_by(|a, b| a.0.cmp(b.0));
        named
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_within_an_eighth() {
        for us in [0u64, 1, 7, 8, 9, 15, 16, 100, 1000, 123_456, 10_000_000] {
            let bound = Histogram::lower_bound(Histogram::index(us));
            assert!(bound <= us && us - bound <= us / 8, "{us} -> {bound}");
        }
        let h = Histogram::new();
        for us in 1..=1000 {
            h.record(us, 1);
        }
        let p50 = h.percentile(0.5);
        assert!((448..=500).contains(&p50), "{p50}");
        assert!(h.percentile(1.0) >= 896);
        assert_eq!(h.max_us.load(Ordering::Relaxed), 1000);
    }
}
