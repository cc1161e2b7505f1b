//! The synchronization primitives of the modules that loom models check (the partition log
//! and its append file): std's atomics and parking_lot's locks in every normal build, loom's
//! under `RUSTFLAGS="--cfg loom"`, where `tests/loom.rs` explores their interleavings. The
//! locks keep parking_lot's shape (a guard, no poisoning) in both.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, RwLock};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom_locks::{Mutex, RwLock};

#[cfg(loom)]
mod loom_locks {
    /// loom's mutex with parking_lot's signature (a panic while locked is a failed model).
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }
        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().expect("no panics while locked in a model")
        }
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.0.get_mut().expect("no panics while locked in a model")
        }
    }

    impl<T> std::fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Mutex { .. }")
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
