//! Time, as every time-based decision reads it: the system clock, or a mock clock tests move.
//! A clock that jumps (a [`MockClock`]) wakes what waits for a time on it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `duration` in whole milliseconds, saturating at `u64::MAX` (585 million years).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

use parking_lot::Mutex;

/// Called after each jump of a clock; returns `false` once it is no longer needed (what it
/// wakes is gone), and is then dropped.
pub type JumpWaker = Box<dyn Fn() -> bool + Send + Sync>;

/// A source of wall-clock time in epoch milliseconds.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Asks the clock to call `waker` after each of its jumps, and returns whether it will.
    /// A clock that does (a [`MockClock`]) moves only when told, so what waits for a time on
    /// it (a producer's `linger.ms`, background work, a consumer group member's check-ins
    /// while it is blocked in `poll`) sleeps until a jump wakes it, never re-reading it on a
    /// real-time timer. The default keeps nothing and returns `false`, right for a clock that
    /// moves by itself: waiters then re-read it at short real-time intervals.
    fn wake_on_jump(&self, waker: JumpWaker) -> bool {
        drop(waker);
        false
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told: retention, segment rolls by age, interval flushes,
/// `linger.ms` and group liveness become deterministic. Moving it wakes everything waiting for
/// a time on it (see [`Clock::wake_on_jump`]). Clones share the same time.
#[derive(Clone, Default)]
pub struct MockClock {
    now_ms: Arc<AtomicI64>,
    wakers: Arc<Mutex<Vec<JumpWaker>>>,
}

impl std::fmt::Debug for MockClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockClock")
            .field("now_ms", &self.now_ms())
            .field("wakers", &self.wakers.lock().len())
            .finish()
    }
}

impl MockClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        MockClock {
            now_ms: Arc::new(AtomicI64::new(start_ms)),
            wakers: Arc::default(),
        }
    }

    /// Moves the clock forward by `ms` milliseconds, and wakes what waits on it.
    pub fn advance_ms(&self, ms: i64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
        self.wake();
    }

    /// Sets the clock to `ms`, and wakes what waits on it.
    pub fn set_ms(&self, ms: i64) {
        self.now_ms.store(ms, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        // Wakers only signal (a notifier, a condition variable, a channel): none calls back
        // into this clock, so holding the lock while they run cannot deadlock.
        self.wakers.lock().retain(|waker| waker());
    }
}

impl Clock for MockClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn wake_on_jump(&self, waker: JumpWaker) -> bool {
        self.wakers.lock().push(waker);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn a_jump_calls_each_waker_until_it_declines() {
        let clock = MockClock::new(0);
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        assert!(clock.wake_on_jump(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst) < 1
        })));
        clock.advance_ms(1);
        clock.set_ms(5);
        clock.advance_ms(1);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "dropped once it declined");
        assert_eq!(clock.now_ms(), 6);
        assert!(!SystemClock.wake_on_jump(Box::new(|| true)));
    }
}
