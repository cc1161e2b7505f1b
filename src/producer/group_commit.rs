//! Group commit across partitions: the appender writes every batch it has queued, then syncs
//! each log that needs it once (to the furthest offset any of its batches needs), then
//! delivers the batches in queue order. On `flush.messages=1` topics a queue of many small
//! batches (after memory pressure sealed them early) then costs one `fdatasync` per
//! partition, not one per batch.

use std::sync::Arc;

use super::accumulator::Accumulator;
use super::appender::{complete, Written};
use super::idempotence::Idempotence;
use super::metrics::Metrics;
use crate::error::Error;
use crate::log::Log;
use crate::sync::Mutex;

/// How many written batches may wait for their sync at most: bounds a delivery's delay
/// behind a long queue.
const MAX_UNSYNCED: usize = 256;

/// Batches written, waiting for their logs' syncs.
#[derive(Default)]
pub(crate) struct Unsynced {
    written: Vec<Written>,
}

impl Unsynced {
    pub(crate) fn is_full(&self) -> bool {
        self.written.len() >= MAX_UNSYNCED
    }

    /// Whether a batch of `log` waits here.
    pub(crate) fn holds(&self, log: &Arc<Log>) -> bool {
        self.written.iter().any(|w| Arc::ptr_eq(&w.log, log))
    }

    pub(crate) fn push(&mut self, written: Written) {
        self.written.push(written);
    }

    /// Syncs each log once, then delivers every batch in order: the batches of a log whose
    /// sync failed fail with that error, from the first that needed the sync on (a failed
    /// sync fails the log, so nothing written after it may count as delivered).
    pub(crate) fn settle(
        &mut self,
        accumulator: &Accumulator,
        metrics: &Metrics,
        idempotence: Option<&Mutex<Idempotence>>,
    ) {
        // Per log: the sync target, its failure, and whether its batches fail from here on.
        let mut logs: Vec<(Arc<Log>, i64, Option<Error>, bool)> = Vec::new();
        for written in &self.written {
            let Some(target) = written.sync_to else {
                continue;
            };
            match logs
                .iter_mut()
                .find(|(log, ..)| Arc::ptr_eq(log, &written.log))
            {
                Some(entry) => entry.1 = entry.1.max(target),
                None => logs.push((Arc::clone(&written.log), target, None, false)),
            }
        }
        for (log, target, error, _) in &mut logs {
            if let Err(failed) = log.sync_to(*target) {
                *error = Some(failed);
            }
        }
        for written in self.written.drain(..) {
            let log = logs
                .iter_mut()
                .find(|(log, ..)| Arc::ptr_eq(log, &written.log));
            let error = match log {
                // Batches before the first that needed the sync stand.
                Some((_, _, error, failing)) => {
                    *failing |= written.sync_to.is_some();
                    error.clone().filter(|_| *failing)
                }
                None => None,
            };
            complete(accumulator, written, error, metrics, idempotence);
        }
    }
}
