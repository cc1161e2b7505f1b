//! Transaction markers: COMMIT or ABORT control batches, written by the coordinator to
//! every partition of a decided transaction (the offsets partition's through the group
//! coordinator, which settles the offsets pending there).
//!
//! While a producer commits, its appender thread has nothing to do (the commit flushed every
//! batch first), so the coordinator hands it every other partition's marker as a
//! [`MarkerJob`] and writes the rest itself: the markers of one transaction go to different
//! logs and may land in any order between its decision and its completion record.
//!
//! Either thread may run the job; the first to claim it does. The committing thread claims
//! it once its own markers are written, so it never waits for a job that no thread has
//! started (an appender busy with a callback, or already stopped), only for one that is
//! running, whose work takes no lock the committing thread holds.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::coordinator::COORDINATOR_EPOCH;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::group::OFFSETS_TOPIC;
use crate::log::Log;
use crate::sync::{AtomicBool, Condvar, Mutex, Ordering};

/// Hands a [`MarkerJob`] to another thread to run; the job is run where it was made if no
/// thread has started it by the time that thread's own markers are written.
pub(crate) type Offload<'a> = &'a dyn Fn(Arc<MarkerJob>);

/// Writes `marker` to every one of `partitions`; with `offload`, every other partition's
/// (the offsets partition's excepted) on another thread at the same time.
pub(super) fn write_markers(
    cluster: &Cluster,
    partitions: &BTreeSet<(String, i32)>,
    marker: Marker,
    durable: bool,
    offload: Option<Offload<'_>>,
) -> Result<()> {
    let shared =
        |index: usize, topic: &str| offload.is_some() && index % 2 == 1 && topic != OFFSETS_TOPIC;
    let mut logs = Vec::new();
    for (index, (topic, partition)) in partitions.iter().enumerate() {
        if shared(index, topic) {
            match cluster.partition(topic, *partition) {
                Ok(log) => logs.push(log),
                Err(Error::UnknownTopicOrPartition(_)) => {}
                Err(error) => return Err(error),
            }
        }
    }
    let job = match offload {
        Some(offload) if !logs.is_empty() => {
            let job = MarkerJob::new(logs, marker, durable);
            offload(Arc::clone(&job));
            Some(job)
        }
        _ => None,
    };
    let ours = partitions
        .iter()
        .enumerate()
        .filter(|(index, (topic, _))| !shared(*index, topic))
        .try_for_each(|(_, (topic, partition))| {
            write_marker(cluster, topic, *partition, marker, durable)
        });
    // Waited for even when ours failed: no marker of this call is written after it returns.
    let theirs = job.map_or(Ok(()), |job| job.finish());
    ours.and(theirs)
}

/// A transaction marker to write: COMMIT (`commit`) or ABORT of `producer_id`'s
/// transaction at `epoch`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Marker {
    pub(super) producer_id: i64,
    pub(super) epoch: i16,
    pub(super) commit: bool,
}

/// Writes `marker` to one partition (the offsets partition through the group coordinator,
/// whose pending offsets it settles), synced if `durable` (the offsets partition syncs every
/// append). A deleted partition needs none; a partition that has seen a newer epoch or
/// coordinator has moved past this transaction (Kafka stops sending there too).
pub(super) fn write_marker(
    cluster: &Cluster,
    topic: &str,
    partition: i32,
    marker: Marker,
    durable: bool,
) -> Result<()> {
    let written = if topic == OFFSETS_TOPIC {
        crate::group::Coordinator::of(cluster).and_then(|group| {
            group.offsets.end_transaction(
                marker.producer_id,
                marker.epoch,
                COORDINATOR_EPOCH,
                marker.commit,
            )
        })
    } else {
        cluster
            .partition(topic, partition)
            .and_then(|log| write_marker_to(&log, marker, durable))
    };
    settle_marker(
        written,
        format_args!("{topic}-{partition}"),
        marker.producer_id,
    )
}

/// Writes `marker` to a partition log other than the offsets partition (synced if
/// `durable`).
fn write_marker_to(log: &Log, marker: Marker, durable: bool) -> Result<()> {
    let info = log.write_transaction_marker(
        marker.producer_id,
        marker.epoch,
        COORDINATOR_EPOCH,
        marker.commit,
    )?;
    if durable {
        log.sync_to(info.last_offset + 1)?;
    }
    Ok(())
}

/// What a marker's write means for the transaction: a deleted partition needs none, and a
/// partition that has seen a newer epoch or coordinator has moved past the transaction.
fn settle_marker(
    written: Result<()>,
    partition: std::fmt::Arguments<'_>,
    producer_id: i64,
) -> Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(Error::UnknownTopicOrPartition(_)) => Ok(()),
        Err(error @ (Error::InvalidProducerEpoch(_) | Error::TransactionCoordinatorFenced(_))) => {
            tracing::warn!(
                target: "kafkalite::txn",
                partition = %partition,
                producer_id,
                "no transaction marker written: {error}"
            );
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// How long the committing thread polls for a running job before it sleeps: the appender
/// writes its share in about the time the committing thread writes its own, and a wake-up
/// costs tens of microseconds on virtual machines. None under loom, whose models must not
/// depend on real time.
const FINISH_SPIN: Duration = if cfg!(loom) {
    Duration::ZERO
} else {
    Duration::from_micros(500)
};

/// Markers of one transaction for some of its partitions, to be written by whichever thread
/// claims them first.
#[derive(Debug)]
pub(crate) struct MarkerJob {
    logs: Vec<Arc<Log>>,
    marker: Marker,
    durable: bool,
    claimed: AtomicBool,
    done: AtomicBool,
    result: Mutex<Option<Result<()>>>,
    finished: Condvar,
}

impl MarkerJob {
    /// A job writing `marker` to each of `logs` (synced if `durable`).
    fn new(logs: Vec<Arc<Log>>, marker: Marker, durable: bool) -> Arc<MarkerJob> {
        Arc::new(MarkerJob {
            logs,
            marker,
            durable,
            claimed: AtomicBool::new(false),
            done: AtomicBool::new(false),
            result: Mutex::new(None),
            finished: Condvar::new(),
        })
    }

    /// Writes the markers unless another thread has claimed the job. A panic becomes the
    /// job's error, so that the thread waiting for it learns of it.
    pub(crate) fn run(&self) {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return;
        }
        let written = catch_unwind(AssertUnwindSafe(|| {
            self.logs.iter().try_for_each(|log| {
                let written = write_marker_to(log, self.marker, self.durable);
                settle_marker(
                    written,
                    format_args!("{}", log.name()),
                    self.marker.producer_id,
                )
            })
        }))
        .unwrap_or_else(|_| {
            Err(Error::IllegalState(
                "writing transaction markers panicked; the transaction is decided and its \
                 markers are written again when it is ended again or at the next open"
                    .into(),
            ))
        });
        *self.result.lock() = Some(written);
        self.done.store(true, Ordering::Release);
        self.finished.notify_all();
    }

    /// The job's outcome: runs it on this thread if no thread has started it, otherwise
    /// waits for the thread running it.
    pub(crate) fn finish(&self) -> Result<()> {
        self.run();
        let spin = Instant::now();
        while !self.done.load(Ordering::Acquire) && spin.elapsed() < FINISH_SPIN {
            std::thread::yield_now();
        }
        let mut result = self.result.lock();
        loop {
            if let Some(result) = result.take() {
                return result;
            }
            self.finished.wait(&mut result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TopicConfig;
    use crate::log::test_log;
    use crate::storage::SimStorage;

    fn marker() -> Marker {
        Marker {
            producer_id: 7,
            epoch: 0,
            commit: true,
        }
    }

    /// A job no other thread ever runs is run by the thread finishing it; one that another
    /// thread ran is not run again.
    #[test]
    fn the_first_thread_to_claim_a_job_runs_it_once() {
        let sim = SimStorage::new(std::path::Path::new("/sim"));
        let log = Arc::new(
            test_log::open(&sim, TopicConfig::default(), None)
                .unwrap()
                .0,
        );
        let unclaimed = MarkerJob::new(vec![Arc::clone(&log)], marker(), false);
        unclaimed.finish().unwrap();
        assert_eq!(
            log.log_end_offset(),
            1,
            "the finishing thread wrote the marker"
        );
        let elsewhere = MarkerJob::new(vec![Arc::clone(&log)], marker(), false);
        let helper = {
            let job = Arc::clone(&elsewhere);
            std::thread::spawn(move || job.run())
        };
        helper.join().unwrap();
        elsewhere.finish().unwrap();
        elsewhere.run();
        assert_eq!(
            log.log_end_offset(),
            2,
            "one marker per job, whoever ran it"
        );
    }

    /// The error of a marker the other thread failed to write reaches the finishing thread.
    #[test]
    fn a_failure_on_the_helper_reaches_the_committing_thread() {
        let sim = SimStorage::new(std::path::Path::new("/sim"));
        let log = Arc::new(
            test_log::open(&sim, TopicConfig::default(), None)
                .unwrap()
                .0,
        );
        let invalid = Marker {
            producer_id: -1,
            ..marker()
        };
        let job = MarkerJob::new(vec![log], invalid, false);
        let helper = {
            let job = Arc::clone(&job);
            std::thread::spawn(move || job.run())
        };
        helper.join().unwrap();
        assert!(matches!(job.finish(), Err(Error::InvalidRecord(_))));
    }
}
