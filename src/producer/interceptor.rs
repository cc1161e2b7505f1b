//! Producer interceptors (Kafka's `ProducerInterceptor`).

use super::record::{ProducerRecord, RecordMetadata};
use crate::error::Error;

/// Sees every record before it is partitioned and every acknowledgement before the record's
/// callback. As in Kafka, a panic in an interceptor is caught and ignored (counted in
/// `ProducerMetrics::interceptor_panics_total`): `on_send` then passes the record on unchanged.
pub trait ProducerInterceptor: Send + Sync {
    /// May replace the record (topic, key, value, headers...). Runs on the sending thread.
    fn on_send(&self, record: ProducerRecord) -> ProducerRecord {
        record
    }
    /// Called once per record when it is delivered or has failed, on the appender thread; it
    /// must be quick. A send refused after `on_send` (unknown partition, record too large,
    /// `max.block.ms` expired...) is reported here too, with its error, on the sending thread
    /// (Kafka's `onSendError`).
    fn on_acknowledgement(&self, result: Result<&RecordMetadata, &Error>) {
        let _ = result;
    }
}
