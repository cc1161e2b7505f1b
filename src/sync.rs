//! The synchronization primitives of the modules that loom models check (the partition log,
//! its append file, the producer's accumulator and appender thread, and the transaction
//! markers the appender writes for a commit): std's atomics,
//! parking_lot's locks, crossbeam's channel and std's threads in every normal build; loom's
//! under `RUSTFLAGS="--cfg loom"`, where `tests/loom.rs` explores their interleavings. The
//! locks keep parking_lot's shape (a guard, no poisoning) in both.
//!
//! Under loom, timed waits never time out (loom does not model time): a wait that only its
//! timeout would end shows up as a deadlock, which is what the models look for.

/// How long a thread waiting for another's work that is already under way polls before it
/// sleeps (a flush for the appender's batches, a commit for the appender's markers): a
/// wake-up costs tens of microseconds on virtual machines. None under loom, whose models
/// must not depend on real time.
pub(crate) const SPIN_BEFORE_SLEEP: std::time::Duration = if cfg!(loom) {
    std::time::Duration::ZERO
} else {
    std::time::Duration::from_micros(500)
};

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, RwLock};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom_locks::{Condvar, Mutex, RwLock};

/// Threads: std's, or loom's.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{Builder, JoinHandle};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{Builder, JoinHandle};
}

/// An unbounded multi-producer channel: crossbeam's, or a loom model of its calls.
pub(crate) mod channel {
    #[cfg(loom)]
    pub(crate) use super::loom_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
    #[cfg(not(loom))]
    pub(crate) use crossbeam::channel::{unbounded, Receiver, RecvTimeoutError, Sender};
}

#[cfg(loom)]
mod loom_locks {
    use std::ops::{Deref, DerefMut};

    /// loom's mutex with parking_lot's signature (a panic while locked is a failed model).
    #[derive(Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// A held [`Mutex`]. The guard sits in an `Option` so that a condition variable can take
    /// it by value (loom's signature) while the caller lends it by reference (parking_lot's).
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(
                self.0.lock().expect("no panics while locked in a model"),
            ))
        }
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut().expect("no panics while locked in a model")
        }
        /// The lock if it is free now (parking_lot's `try_lock`).
        #[allow(dead_code)]
        pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok().map(|guard| MutexGuard(Some(guard)))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("held outside a wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("held outside a wait")
        }
    }

    impl<T> std::fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Mutex { .. }")
        }
    }

    /// loom's condition variable with parking_lot's signature.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    /// Whether a timed wait timed out: under loom, never.
    pub(crate) struct WaitTimeoutResult;

    impl WaitTimeoutResult {
        pub(crate) fn timed_out(&self) -> bool {
            false
        }
    }

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }
        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let held = guard.0.take().expect("held outside a wait");
            guard.0 = Some(
                self.0
                    .wait(held)
                    .expect("no panics while locked in a model"),
            );
        }
        /// Waits for a notification; the deadline is ignored (see the module's note).
        pub(crate) fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _deadline: std::time::Instant,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult
        }
        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// loom's reader-writer lock with parking_lot's signature.
    pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            RwLock(loom::sync::RwLock::new(value))
        }
        pub(crate) fn read(&self) -> loom::sync::RwLockReadGuard<'_, T> {
            self.0.read().expect("no panics while locked in a model")
        }
        pub(crate) fn write(&self) -> loom::sync::RwLockWriteGuard<'_, T> {
            self.0.write().expect("no panics while locked in a model")
        }
    }

    impl<T> std::fmt::Debug for RwLock<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("RwLock { .. }")
        }
    }
}

/// The calls the producer makes on crossbeam's channel, built from loom's mutex and condition
/// variable. Senders never disconnect (the producer keeps one until it is dropped), and
/// `recv_timeout` waits for a message however long it takes.
#[cfg(loom)]
mod loom_channel {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use super::loom_locks::{Condvar, Mutex};

    struct Shared<T> {
        queue: Mutex<VecDeque<T>>,
        sent: Condvar,
    }

    pub(crate) struct Sender<T>(Arc<Shared<T>>);
    pub(crate) struct Receiver<T>(Arc<Shared<T>>);

    /// Never returned under loom; present so that callers match crossbeam's errors.
    #[derive(Debug)]
    pub(crate) enum RecvTimeoutError {
        Timeout,
        #[allow(dead_code)] // matched by the appender, never sent: senders never disconnect
        Disconnected,
    }

    pub(crate) fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            sent: Condvar::new(),
        });
        (Sender(Arc::clone(&shared)), Receiver(shared))
    }

    impl<T> Sender<T> {
        pub(crate) fn send(&self, message: T) -> Result<(), T> {
            self.0.queue.lock().push_back(message);
            self.0.sent.notify_all();
            Ok(())
        }
    }

    impl<T> Receiver<T> {
        pub(crate) fn try_recv(&self) -> Result<T, RecvTimeoutError> {
            self.0
                .queue
                .lock()
                .pop_front()
                .ok_or(RecvTimeoutError::Timeout)
        }
        pub(crate) fn recv_timeout(
            &self,
            _timeout: std::time::Duration,
        ) -> Result<T, RecvTimeoutError> {
            let mut queue = self.0.queue.lock();
            loop {
                if let Some(message) = queue.pop_front() {
                    return Ok(message);
                }
                self.0.sent.wait(&mut queue);
            }
        }
        pub(crate) fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
            std::iter::from_fn(|| self.try_recv().ok())
        }
    }
}

/// Declares a thread-local with a `const` initializer: std's `thread_local!`, or loom's
/// (whose model threads share one OS thread, so std's would be shared between them).
macro_rules! thread_local_const {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        std::thread_local! { $(#[$attr])* $vis static $name: $t = const { $init }; }
        #[cfg(loom)]
        loom::thread_local! { $(#[$attr])* $vis static $name: $t = $init; }
    };
}
pub(crate) use thread_local_const;
