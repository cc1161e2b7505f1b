//! The background threads: the maintenance thread runs interval syncs (`flush.ms`, segments
//! rolled since the last sync), retention checks every `log.retention.check.interval.ms`, and
//! the checkpoints they move; `log.cleaner.threads` cleaner threads compact (see
//! `cluster::cleaner`), so that a long cleaning never holds up a sync.
//! On a clock that wakes its waiters (a `MockClock`), it runs when the clock jumps, and never
//! on a real-time timer, as Kafka's `MockScheduler` runs tasks when `MockTime` moves.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::Cluster;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::log::Log;

/// How often the thread wakes to look for due work (real time; decisions read the clock).
const TICK: Duration = Duration::from_millis(50);

/// Failures of the background thread's work, which has no caller to return them to: each is
/// logged (`tracing`, at error) and counted, and the last is kept, for
/// [`Cluster::background_errors`].
#[derive(Debug, Default)]
pub(super) struct ErrorLog {
    /// The count and the last failure change together, so a snapshot never shows a count
    /// without its failure.
    state: Mutex<BackgroundErrors>,
}

impl ErrorLog {
    pub(super) fn record(&self, error: Error) {
        tracing::error!(target: "kafkalite::background", "background work failed: {error}");
        let mut state = self.state.lock();
        state.count += 1;
        state.last = Some(error);
    }

    pub(super) fn snapshot(&self) -> BackgroundErrors {
        self.state.lock().clone()
    }
}

/// What the background thread's work (interval syncs, retention, checkpoint writes) failed
/// with since the cluster opened: [`Cluster::background_errors`]. A failed sync also leaves
/// its partition failed ([`Error::Failed`] on its next use); retention and checkpoint writes
/// are retried at their next turn.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BackgroundErrors {
    /// How many runs of background work failed.
    pub count: u64,
    /// The most recent failure.
    pub last: Option<Error>,
}

/// When retention last ran.
#[derive(Debug)]
pub(super) struct MaintenanceState {
    last_retention_ms: i64,
    last_producer_expiry_ms: i64,
}

impl MaintenanceState {
    pub(super) fn new(now_ms: i64) -> Self {
        MaintenanceState {
            last_retention_ms: now_ms,
            last_producer_expiry_ms: now_ms,
        }
    }
}

#[derive(Debug, Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct SignalState {
    stop: bool,
    /// The clock jumped since the last tick.
    jumped: bool,
}

/// Handle of the running thread.
#[derive(Debug)]
pub(super) struct Background {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Runs `tick` every [`TICK`], or after each jump of `clock` if it wakes its waiters,
    /// until stopped or until `tick` returns `None` (cluster gone).
    pub(super) fn start(
        name: String,
        clock: &Arc<dyn Clock>,
        mut tick: impl FnMut() -> Option<Result<()>> + Send + 'static,
    ) -> Result<Self> {
        let signal = Arc::new(Signal::default());
        let jumps = {
            let signal = Arc::downgrade(&signal);
            clock.wake_on_jump(Box::new(move || {
                let Some(signal) = signal.upgrade() else {
                    return false;
                };
                signal.state.lock().jumped = true;
                signal.wake.notify_all();
                true
            }))
        };
        let thread_signal = Arc::clone(&signal);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || loop {
                {
                    let mut state = thread_signal.state.lock();
                    // The flag is set under the lock, so a jump is never missed.
                    while !state.stop && !state.jumped {
                        if jumps {
                            thread_signal.wake.wait(&mut state);
                        } else if thread_signal.wake.wait_for(&mut state, TICK).timed_out() {
                            break;
                        }
                    }
                    if state.stop {
                        return;
                    }
                    state.jumped = false;
                }
                // `tick` records its errors (`ErrorLog`); a failed sync is also sticky in its log.
                if tick().is_none() {
                    return;
                }
            })
            .map_err(|e| Error::io("spawn background thread", "", e))?;
        Ok(Background {
            signal,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it (unless called from the thread itself, when the last
    /// handle was dropped inside a tick).
    pub(super) fn stop(mut self) {
        self.signal.state.lock().stop = true;
        self.signal.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Cluster {
    /// What the background thread's work failed with since the cluster opened (each failure
    /// is also logged through `tracing`). Calls to [`Cluster::run_maintenance`] return their
    /// errors to the caller instead.
    pub fn background_errors(&self) -> BackgroundErrors {
        self.inner.background_errors.snapshot()
    }

    /// Runs the background work that is due now, on the cluster's clock: interval syncs
    /// (`flush.ms`), syncing segments rolled since the last sync, retention (every
    /// `log.retention.check.interval.ms`), log compaction (the filthiest eligible compacted
    /// log first, until none is eligible, then `log.cleaner.backoff.ms` of rest; it returns
    /// when the cleaner threads' cleanings have ended too), and the checkpoint writes these
    /// imply. The background threads do the same work; tests under a mock clock call this.
    pub fn run_maintenance(&self) -> Result<()> {
        self.maintain(true)
    }

    /// Every `producer.id.expiration.check.interval.ms`: each partition forgets the
    /// producers past `producer.id.expiration.ms` (Kafka's `removeExpiredProducers`).
    fn expire_producers_when_due(&self, now: i64) {
        let (expiration_ms, interval_ms) = self.inner.producer_id_expiration;
        {
            let mut state = self.inner.maintenance.lock();
            if now.saturating_sub(state.last_producer_expiry_ms) < interval_ms {
                return;
            }
            state.last_producer_expiry_ms = now;
        }
        for log in self.all_logs() {
            let expired = log.remove_expired_producers(expiration_ms);
            if expired > 0 {
                tracing::debug!(partition = log.name(), expired, "expired producer ids");
            }
        }
    }

    /// The maintenance pass, cleaning too if `clean` (the cleaner threads clean otherwise).
    pub(super) fn maintain(&self, clean: bool) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        let mut first_error = None;
        let mut changed = false;
        for log in self.all_logs() {
            match log.sync_if_due() {
                Ok(synced) => changed |= synced,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let now = self.inner.clock.now_ms();
        let retention_due = {
            let mut state = self.inner.maintenance.lock();
            let due = now.saturating_sub(state.last_retention_ms)
                >= self.inner.retention_check_interval_ms;
            if due {
                state.last_retention_ms = now;
            }
            due
        };
        if retention_due {
            // Writes the checkpoints itself when it deletes anything.
            if let Err(e) = self.retain(&self.all_logs()) {
                first_error.get_or_insert(e);
            }
        }
        self.expire_producers_when_due(now);
        if let Err(e) = crate::maintain_services(self) {
            first_error.get_or_insert(e);
        }
        if clean {
            if let Err(e) = self.clean_when_due(true) {
                first_error.get_or_insert(e);
            }
        }
        if changed {
            if let Err(e) = self.write_checkpoints() {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Applies retention to every partition now; returns the number of segments deleted.
    pub fn apply_retention(&self) -> Result<usize> {
        self.check_open()?;
        self.retain(&self.all_logs())
    }

    /// Retention over `logs`: detaches every expired segment, persists the raised log start
    /// offsets, and only then removes the files (see `log::retention`). The metadata log may
    /// be among `logs`: its `retention.ms` and `retention.bytes` are −1, so it keeps every
    /// segment.
    pub(crate) fn retain(&self, logs: &[Arc<Log>]) -> Result<usize> {
        let mut detached = Vec::new();
        for log in logs {
            let segments = log.detach_expired()?;
            if !segments.is_empty() {
                detached.push((log, segments));
            }
        }
        if detached.is_empty() {
            return Ok(0);
        }
        // If this fails, the detached files stay until the next open, which finds them
        // under the old start: their records come back, which retention may allow.
        self.write_checkpoints()?;
        detached.iter().try_fold(0, |deleted, (log, segments)| {
            Ok(deleted + log.remove_detached(segments)?)
        })
    }
}
