//! Consumer interceptors (Kafka's `ConsumerInterceptor`, `interceptor.classes`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::records::Records;
use crate::group::Offsets;

/// Sees what a consumer returns and commits. As in Kafka, a panic in an interceptor is caught
/// and ignored (counted in [`crate::Consumer::interceptor_panics`]): `on_consume` then passes
/// the records on as they were. Both run after the consumer's lock is released, so they may
/// call the consumer.
pub trait ConsumerInterceptor: Send + Sync {
    /// May replace the records a `poll` returns (see [`Records::replaced`]); called only
    /// when there are some, on the polling thread, after the consumer's positions moved past
    /// them (what it returns does not change what the next poll reads).
    fn on_consume(&self, records: Records) -> Records {
        records
    }
    /// Called after every successful commit of this consumer (sync, auto-commit, from a
    /// rebalance callback or a [`crate::Committer`]) with the offsets committed.
    fn on_commit(&self, offsets: &Offsets) {
        let _ = offsets;
    }
}

/// A consumer's interceptors, in the order added, and how often they panicked.
#[derive(Clone, Default)]
pub(crate) struct Interceptors {
    list: Arc<[Arc<dyn ConsumerInterceptor>]>,
    panics: Arc<AtomicU64>,
}

impl std::fmt::Debug for Interceptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interceptors")
            .field("count", &self.list.len())
            .field("panics", &self.panics())
            .finish()
    }
}

impl Interceptors {
    pub(crate) fn new(list: Vec<Arc<dyn ConsumerInterceptor>>) -> Self {
        Interceptors {
            list: list.into(),
            panics: Arc::default(),
        }
    }

    /// Whether there are any.
    pub(crate) fn any(&self) -> bool {
        !self.list.is_empty()
    }

    pub(crate) fn on_consume(&self, mut records: Records) -> Records {
        for interceptor in self.list.iter() {
            let before = records.clone();
            records = match catch_unwind(AssertUnwindSafe(|| interceptor.on_consume(records))) {
                Ok(changed) => changed,
                Err(_) => {
                    self.panicked();
                    before
                }
            };
        }
        records
    }

    pub(crate) fn on_commit(&self, offsets: &Offsets) {
        for interceptor in self.list.iter() {
            if catch_unwind(AssertUnwindSafe(|| interceptor.on_commit(offsets))).is_err() {
                self.panicked();
            }
        }
    }

    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    fn panicked(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(target: "kafkalite::consumer", "a consumer interceptor panicked; ignored, as Kafka does");
    }
}
