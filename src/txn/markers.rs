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
use std::time::Instant;

use super::coordinator::COORDINATOR_EPOCH;
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::group::OFFSETS_TOPIC;
use crate::log::Log;
use crate::sync::{AtomicBool, Condvar, Mutex, Ordering, SPIN_BEFORE_SLEEP};

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
    let theirs: Vec<(String, i32)> = partitions
        .iter()
        .enumerate()
        .filter(|(index, (topic, _))| shared(*index, topic))
        .map(|(_, partition)| partition.clone())
        .collect();
    // Finished on every way out, a panic of this thread's share included: no marker of
    // this call is written after it returns.
    let mut job = FinishOnDrop(None);
    if let Some(offload) = offload.filter(|_| !theirs.is_empty()) {
        let shared_job = MarkerJob::new(cluster.clone(), theirs, marker, durable);
        offload(Arc::clone(&shared_job));
        job.0 = Some(shared_job);
    }
    let ours = each_marker(
        partitions
            .iter()
            .enumerate()
            .filter(|(index, (topic, _))| !shared(*index, topic))
            .map(|(_, partition)| partition),
        |(topic, partition)| write_marker(cluster, topic, *partition, marker, durable),
    );
    // Waited for even when ours failed.
    let theirs = job.0.take().map_or(Ok(()), |job| job.finish());
    ours.and(theirs)
}

/// Writes the marker of each of `partitions` with `write`, every one even after a failure,
/// as Kafka's coordinator sends each partition its marker on its own: a partition that
/// fails (a disk error makes its log refuse writes until reopened) must not leave the
/// transaction open in the others, holding their last stable offset. The first error.
fn each_marker<'p>(
    partitions: impl Iterator<Item = &'p (String, i32)>,
    mut write: impl FnMut(&(String, i32)) -> Result<()>,
) -> Result<()> {
    let mut first = Ok(());
    for partition in partitions {
        let written = write(partition);
        first = first.and(written);
    }
    first
}

/// Finishes a job when dropped, unless taken.
struct FinishOnDrop(Option<Arc<MarkerJob>>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        if let Some(job) = self.0.take() {
            let _ = job.finish();
        }
    }
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

/// Markers of one transaction for some of its partitions, to be written by whichever thread
/// claims them first. Each partition is looked up when its marker is written, as
/// [`write_marker`] does, so that one deleted meanwhile needs no marker.
#[derive(Debug)]
pub(crate) struct MarkerJob {
    cluster: Cluster,
    partitions: Vec<(String, i32)>,
    marker: Marker,
    durable: bool,
    claimed: AtomicBool,
    done: AtomicBool,
    result: Mutex<Option<Result<()>>>,
    finished: Condvar,
}

impl MarkerJob {
    /// A job writing `marker` to each of `partitions` (synced if `durable`).
    fn new(
        cluster: Cluster,
        partitions: Vec<(String, i32)>,
        marker: Marker,
        durable: bool,
    ) -> Arc<MarkerJob> {
        Arc::new(MarkerJob {
            cluster,
            partitions,
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
            each_marker(self.partitions.iter(), |(topic, partition)| {
                write_marker(&self.cluster, topic, *partition, self.marker, self.durable)
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
        while !self.done.load(Ordering::Acquire) && spin.elapsed() < SPIN_BEFORE_SLEEP {
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
    use crate::clock::MockClock;
    use crate::cluster::NewTopic;
    use crate::storage::SimStorage;

    /// A cluster on simulated storage with topic `t` of one partition.
    fn cluster() -> Cluster {
        let sim = SimStorage::new(std::path::Path::new("/sim"));
        let cluster = Cluster::builder()
            .storage(Arc::new(sim))
            .clock(Arc::new(MockClock::new(1_000)))
            .background(false)
            .open("/sim/data")
            .unwrap();
        cluster.create_topic(NewTopic::new("t", 1)).unwrap();
        cluster
    }

    fn job(cluster: &Cluster, producer_id: i64) -> Arc<MarkerJob> {
        let marker = Marker {
            producer_id,
            epoch: 0,
            commit: true,
        };
        MarkerJob::new(cluster.clone(), vec![("t".into(), 0)], marker, false)
    }

    fn end_offset(cluster: &Cluster) -> i64 {
        cluster.partition("t", 0).unwrap().log_end_offset()
    }

    /// A job no other thread ever runs is run by the thread finishing it; one that another
    /// thread ran is not run again.
    #[test]
    fn the_first_thread_to_claim_a_job_runs_it_once() {
        let cluster = cluster();
        job(&cluster, 7).finish().unwrap();
        assert_eq!(end_offset(&cluster), 1, "the finishing thread wrote it");
        let elsewhere = job(&cluster, 7);
        let helper = {
            let job = Arc::clone(&elsewhere);
            std::thread::spawn(move || job.run())
        };
        helper.join().unwrap();
        elsewhere.finish().unwrap();
        elsewhere.run();
        assert_eq!(
            end_offset(&cluster),
            2,
            "one marker per job, whoever ran it"
        );
    }

    /// The error of a marker the other thread failed to write reaches the finishing thread.
    #[test]
    fn a_failure_on_the_helper_reaches_the_finishing_thread() {
        let cluster = cluster();
        let invalid = job(&cluster, -1);
        let helper = {
            let job = Arc::clone(&invalid);
            std::thread::spawn(move || job.run())
        };
        helper.join().unwrap();
        assert!(matches!(invalid.finish(), Err(Error::InvalidRecord(_))));
    }

    /// A partition deleted between the job's making and its run needs no marker, as when
    /// the committing thread finds it gone.
    #[test]
    fn a_partition_deleted_before_the_job_runs_needs_no_marker() {
        let cluster = cluster();
        let late = job(&cluster, 7);
        cluster.delete_topic("t").unwrap();
        late.finish().unwrap();
    }
}
