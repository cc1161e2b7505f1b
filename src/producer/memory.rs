//! `buffer.memory`: the bound on bytes of records a producer holds at once.

use std::time::Instant;

use crate::sync::{Condvar, Mutex};

/// Counts reserved bytes; `reserve` blocks (until a deadline) while the budget is spent.
#[derive(Debug)]
pub(crate) struct BufferPool {
    total: usize,
    available: Mutex<usize>,
    freed: Condvar,
}

impl BufferPool {
    pub(crate) fn new(total: usize) -> Self {
        BufferPool {
            total,
            available: Mutex::new(total),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn available(&self) -> usize {
        *self.available.lock()
    }

    /// Takes `bytes` if they are free now.
    pub(crate) fn try_reserve(&self, bytes: usize) -> bool {
        let mut available = self.available.lock();
        if *available >= bytes {
            *available -= bytes;
            true
        } else {
            false
        }
    }

    /// Takes `bytes`, waiting for releases until `deadline`; false if the time ran out.
    pub(crate) fn reserve(&self, bytes: usize, deadline: Instant) -> bool {
        let mut available = self.available.lock();
        while *available < bytes {
            if self.freed.wait_until(&mut available, deadline).timed_out() {
                return false;
            }
        }
        *available -= bytes;
        true
    }

    pub(crate) fn release(&self, bytes: usize) {
        *self.available.lock() += bytes;
        self.freed.notify_all();
    }
}
