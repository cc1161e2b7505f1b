//! Counting what the command-line producers sent, so that no failed delivery goes unseen:
//! each failure prints Kafka's console-producer error line (the first ones, then a count),
//! and the command ends with a summary and a non-zero exit when any record was lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use kafkalite::{RecordMetadata, Result};

/// Error lines printed before the rest are only counted.
const ERROR_LINES_MAX: u64 = 10;

/// Acknowledged and failed deliveries, shared with the delivery callbacks.
#[derive(Debug, Default)]
pub struct Tally {
    acknowledged: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    /// A new, shared tally.
    pub fn new() -> Arc<Tally> {
        Arc::new(Tally::default())
    }

    /// Records one delivery's outcome; a failure prints Kafka's `ErrorLoggingCallback`
    /// line on stderr (rate-limited).
    pub fn record(
        &self,
        topic: &str,
        key: Option<usize>,
        value: Option<usize>,
        result: &Result<RecordMetadata>,
    ) {
        match result {
            Ok(_) => {
                self.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => self.failure(topic, key, value, error),
        }
    }

    /// Records a record that failed, before or after it was sent.
    pub fn failure(
        &self,
        topic: &str,
        key: Option<usize>,
        value: Option<usize>,
        error: &dyn std::fmt::Display,
    ) {
        let failed = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
        let size =
            |bytes: Option<usize>| bytes.map_or("null".to_string(), |n| format!("{n} bytes"));
        if failed <= ERROR_LINES_MAX {
            eprintln!(
                "ERROR Error when sending message to topic {topic} with key: {}, value: {} with error: {error}",
                size(key),
                size(value)
            );
        }
        if failed == ERROR_LINES_MAX {
            eprintln!("ERROR (further delivery errors are counted, not printed)");
        }
    }

    /// Records delivered and acknowledged.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::Relaxed)
    }

    /// Records that failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// `Err` with the summary when any record failed.
    pub fn check(&self) -> super::CliResult {
        match self.failed() {
            0 => Ok(()),
            failed => Err(format!(
                "{failed} records were not delivered; {} records were acknowledged",
                self.acknowledged()
            )
            .into()),
        }
    }
}
