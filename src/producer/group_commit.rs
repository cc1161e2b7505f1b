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
    pub(crate) fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.written.len() >= MAX_UNSYNCED
    }

    pub(crate) fn push(&mut self, written: Written) {
        self.written.push(written);
    }

    /// Syncs each log once, then delivers every batch in order: a batch whose log failed
    /// to sync fails with that error.
    pub(crate) fn settle(
        &mut self,
        accumulator: &Accumulator,
        metrics: &Metrics,
        idempotence: Option<&Mutex<Idempotence>>,
    ) {
        let mut logs: Vec<(Arc<Log>, i64, Option<Error>)> = Vec::new();
        for written in &self.written {
            let Some(target) = written.sync_to else {
                continue;
            };
            match logs
                .iter_mut()
                .find(|(log, ..)| Arc::ptr_eq(log, &written.log))
            {
                Some(entry) => entry.1 = entry.1.max(target),
                None => logs.push((Arc::clone(&written.log), target, None)),
            }
        }
        for (log, target, error) in &mut logs {
            if let Err(failed) = log.sync_to(*target) {
                *error = Some(failed);
            }
        }
        for written in self.written.drain(..) {
            let error = written.sync_to.and_then(|_| {
                logs.iter()
                    .find(|(log, ..)| Arc::ptr_eq(log, &written.log))
                    .and_then(|(.., error)| error.clone())
            });
            complete(accumulator, written, error, metrics, idempotence);
        }
    }
}
