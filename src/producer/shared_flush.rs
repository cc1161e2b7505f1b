//! The flush of a transaction's commit, shared between the committing thread and the
//! appender. A transaction's last batches are sealed only when it commits, and a plain flush
//! leaves the committing thread waiting while the appender writes them one after another.
//! Here the appender gets every other partition's batch, and the committing thread appends
//! the rest itself at the same time.
//!
//! Order per partition is what makes this safe: the thread holding a partition's lock may
//! append its batch itself only while none of that partition's batches is queued or being
//! appended (`PartitionQueue::in_flight` is 0, and only a seal under that same lock raises
//! it). Such a batch counts neither as sealed nor as finished for `flush`: another thread's
//! flush waits for it on the partition's lock. Producer id, epoch and sequences are shared
//! with the appender under a lock taken per step, never across a batch's write to its log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::accumulator::SealedBatch;
use super::appender::{self, on_appender_thread};
use super::client::Producer;
use crate::error::{Error, Result};
use crate::notify::far_future;
use crate::sync::Ordering;

impl Producer {
    /// As [`Producer::flush`], with the calling thread appending part of the open batches.
    /// Batches with callbacks (or interceptors to call) are left to the appender, which is
    /// where callbacks run.
    pub(crate) fn flush_sharing(&self, timeout: Duration) -> Result<()> {
        if on_appender_thread() {
            return Err(Error::WouldDeadlock("Producer::flush"));
        }
        let inner = &self.inner;
        let accumulator = &inner.accumulator;
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        // First the appender's share, so that it starts at once; ours is kept for later.
        let (mut ours, mut open_batches) = (Vec::new(), 0);
        accumulator.each_queue(|topic, p, queue| {
            let mut open = queue.open.lock();
            let Some(batch) = open.as_ref() else {
                return;
            };
            open_batches += 1;
            if open_batches % 2 == 1 && batch.callbacks.is_empty() {
                ours.push((Arc::clone(&topic.logs[p]), Arc::clone(queue)));
            } else if let Some(batch) = open.take() {
                accumulator.seal(batch, &topic.logs[p], queue);
            }
        });
        // Then ours, each in its partition's turn, without the topics' lock: the partition's
        // lock is held while its batch is appended.
        for (log, queue) in ours {
            let mut open = queue.open.lock();
            let Some(batch) = open.take() else {
                continue;
            };
            if !batch.callbacks.is_empty() || queue.in_flight.load(Ordering::Acquire) > 0 {
                accumulator.seal(batch, &log, &queue);
                continue;
            }
            let batch = SealedBatch::new(batch, &log, None);
            appender::append(
                accumulator,
                batch,
                &inner.metrics,
                inner.idempotence.as_deref(),
            );
            drop(open);
        }
        if accumulator.wait_finished(deadline) {
            Ok(())
        } else {
            Err(Error::Timeout(format!(
                "flush did not complete within {timeout:?}"
            )))
        }
    }
}
