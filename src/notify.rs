//! One wake-up signal for everything a blocked consumer waits for: data appended to any log,
//! a group's state changing, a `wakeup()`. Waiters re-check their own condition after every
//! wake-up, so a spurious one costs a loop, never a wrong answer.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// How long a waiter polls before it parks.
const BRIEF_POLL: std::time::Duration = std::time::Duration::from_micros(50);

/// A sequence number bumped by every notification, and a condition to sleep on until it moves.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    sequence: AtomicU64,
    waiters: AtomicUsize,
    /// Waiters asleep that have seen every notification (reset by each notification).
    parked: Mutex<usize>,
    changed: Condvar,
}

impl Notifier {
    /// The current sequence number: read it before checking a condition, then pass it to
    /// [`Notifier::wait_until`] so that a notification in between is not missed.
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::SeqCst)
    }

    /// Wakes every waiter. Costs one atomic increment when nobody waits.
    pub(crate) fn notify(&self) {
        self.sequence.fetch_add(1, Ordering::SeqCst);
        // Paired with the increment of `waiters` before a waiter re-reads `sequence`: either
        // the waiter sees the new sequence, or this sees the waiter and takes the lock, which
        // the waiter holds until it sleeps.
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let mut parked = self.parked.lock();
            *parked = 0;
            self.changed.notify_all();
        }
    }

    /// How many waiters are asleep having seen every notification so far: a notification
    /// now wakes them. Tests use it to know that a call is blocked before they wake it.
    pub(crate) fn parked(&self) -> usize {
        *self.parked.lock()
    }

    /// Sleeps until the sequence moves past `seen` or `deadline` passes. Polls for a few
    /// microseconds first (yielding the core between checks): a record often arrives within
    /// that, and waking a parked thread costs more than that on virtual machines.
    pub(crate) fn wait_until(&self, seen: u64, deadline: Instant) {
        let polling_until = Instant::now() + BRIEF_POLL;
        while self.sequence() == seen {
            let now = Instant::now();
            if now >= polling_until || now >= deadline {
                break;
            }
            std::thread::yield_now();
        }
        if self.sequence() != seen {
            return;
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        {
            let mut parked = self.parked.lock();
            if self.sequence() == seen {
                // Counted under the lock that `notify` takes to reset the count and wake.
                *parked += 1;
                while self.sequence() == seen {
                    if self.changed.wait_until(&mut parked, deadline).timed_out() {
                        break;
                    }
                }
                if self.sequence() == seen {
                    // Timed out, no notification reset the count: take this waiter out.
                    *parked -= 1;
                }
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// Far enough away that reaching it can only mean the wake-up was lost.
    const NEVER: Duration = Duration::from_secs(3600);

    #[test]
    fn a_notification_wakes_a_waiter_and_none_is_missed() {
        let notifier = Arc::new(Notifier::default());
        let seen = notifier.sequence();
        let waiter = {
            let notifier = Arc::clone(&notifier);
            std::thread::spawn(move || {
                let deadline = Instant::now() + NEVER;
                notifier.wait_until(seen, deadline);
                (notifier.sequence(), Instant::now() < deadline)
            })
        };
        // Asleep, not merely about to wait: the notification must wake it.
        while notifier.parked() == 0 {
            std::thread::yield_now();
        }
        notifier.notify();
        assert_eq!(notifier.parked(), 0, "a notification wakes every sleeper");
        let (sequence, woken) = waiter.join().unwrap();
        assert!(
            sequence > seen && woken,
            "the waiter was woken, not timed out"
        );
        // Notified before the wait began: the wait returns at once.
        let seen = notifier.sequence();
        notifier.notify();
        let deadline = Instant::now() + NEVER;
        notifier.wait_until(seen, deadline);
        assert!(Instant::now() < deadline);
    }
}
