//! Producer metrics in Kafka's terms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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
        }
    }

    pub(crate) fn batch_appended(&self, records: u64, uncompressed: u64, written: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.uncompressed_bytes
            .fetch_add(uncompressed, Ordering::Relaxed);
        self.written_bytes.fetch_add(written, Ordering::Relaxed);
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
}
