//! One wake-up signal for everything a blocked consumer waits for: data appended to any log,
//! a group's state changing, a `wakeup()`. Waiters re-check their own condition after every
//! wake-up, so a spurious one costs a loop, never a wrong answer.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// How long a waiter polls before it parks.
const BRIEF_POLL: std::time::Duration = std::time::Duration::from_micros(50);

/// A deadline for a wait with no end: a year on, still a valid `Instant` (a waiter woken at
/// it looks again and waits on).
pub(crate) fn far_future() -> Instant {
    Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600)
}

/// A sequence number bumped by every notification, and a condition to sleep on until it moves.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    sequence: AtomicU64,
    waiters: AtomicUsize,
    /// Waiters asleep, by the sequence number they saw.
    parked: Mutex<Parked>,
    changed: Condvar,
    /// Async waiters (futures), woken by the next notification; all registered at the
    /// current sequence number (a registration that saw an older one is refused).
    wakers: Mutex<Vec<Waker>>,
    /// Whether `wakers` may hold any: `notify` looks at it before taking the lock.
    has_wakers: AtomicBool,
    /// Async waiters to wake at a time: what a blocking waiter's deadline is to a thread.
    /// The cluster's background thread wakes them ([`Notifier::wake_due`]).
    timers: Mutex<Vec<(Instant, Waker)>>,
}

/// How many waiters sleep having seen sequence number `seen` (those that saw an older one
/// were woken by the notification that moved it, and are no longer counted).
#[derive(Debug, Default)]
struct Parked {
    seen: u64,
    count: usize,
}

impl Notifier {
    /// The current sequence number: read it before checking a condition, then pass it to
    /// [`Notifier::wait_until`] so that a notification in between is not missed.
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::SeqCst)
    }

    /// Wakes every waiter. Costs one atomic increment when nobody waits.
    pub(crate) fn notify(&self) {
        let before = self.bump();
        self.wake(before);
        // Paired with `register`'s store of `has_wakers` before it reads the sequence:
        // either it sees the new number and refuses, or this sees its flag and takes the
        // lock it registers under.
        if self.has_wakers.load(Ordering::SeqCst) {
            let wakers = {
                let mut wakers = self.wakers.lock();
                self.has_wakers.store(false, Ordering::SeqCst);
                std::mem::take(&mut *wakers)
            };
            for waker in wakers {
                waker.wake();
            }
        }
    }

    /// Has `waker` woken by the next notification, if none came since `seen` (read before
    /// the caller checked its condition); false if one did (check again).
    pub(crate) fn register(&self, seen: u64, waker: &Waker) -> bool {
        let mut wakers = self.wakers.lock();
        self.has_wakers.store(true, Ordering::SeqCst);
        if self.sequence() != seen {
            return false;
        }
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
        true
    }

    /// Has `waker` woken once `at` has passed (by [`Notifier::wake_due`]).
    pub(crate) fn wake_at(&self, at: Instant, waker: &Waker) {
        let mut timers = self.timers.lock();
        match timers.iter_mut().find(|(_, w)| w.will_wake(waker)) {
            Some(timer) => timer.0 = timer.0.min(at),
            None => timers.push((at, waker.clone())),
        }
    }

    /// Wakes the async waiters whose time has come.
    pub(crate) fn wake_due(&self, now: Instant) {
        let due: Vec<Waker> = {
            let mut timers = self.timers.lock();
            let (due, waiting) = std::mem::take(&mut *timers)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            *timers = waiting;
            due.into_iter().map(|(_, waker)| waker).collect()
        };
        for waker in due {
            waker.wake();
        }
    }

    /// Moves the sequence number on; the number before.
    fn bump(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::SeqCst)
    }

    /// Wakes the sleepers after the sequence moved on from `before`. Paired with the
    /// increment of `waiters` before a waiter re-reads `sequence`: either the waiter sees the
    /// new sequence, or this sees the waiter and takes the lock, which the waiter holds until
    /// it sleeps. A waiter that parked between the bump and this lock saw the new number: it
    /// stays counted.
    fn wake(&self, before: u64) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let mut parked = self.parked.lock();
            if parked.seen <= before {
                parked.count = 0;
            }
            self.changed.notify_all();
        }
    }

    /// How many waiters are asleep having seen every notification so far: a notification
    /// now wakes them. Tests use it to know that a call is blocked before they wake it.
    pub(crate) fn parked(&self) -> usize {
        let asleep = {
            let parked = self.parked.lock();
            if parked.seen == self.sequence() {
                parked.count
            } else {
                0
            }
        };
        asleep + self.wakers.lock().len()
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
                if parked.seen != seen {
                    // Those counted saw an older number: a notification woke them.
                    *parked = Parked { seen, count: 0 };
                }
                parked.count += 1;
                while self.sequence() == seen {
                    if self.changed.wait_until(&mut parked, deadline).timed_out() {
                        break;
                    }
                }
                if self.sequence() == seen {
                    // Timed out, no notification came: take this waiter out. (A wake-up
                    // resets only counts of older numbers, so this one is still counted.)
                    parked.count -= 1;
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

    /// A waker that counts its wake-ups.
    struct Counting(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counting {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Counting>, Waker) {
        let count = Arc::new(Counting(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(count))
    }

    #[test]
    fn an_async_waiter_is_woken_by_the_next_notification_and_refused_after_one() {
        let notifier = Notifier::default();
        let (count, waker) = counting();
        // A notification since the waiter looked: refused, it must look again.
        let seen = notifier.sequence();
        notifier.notify();
        assert!(!notifier.register(seen, &waker));
        assert_eq!(notifier.parked(), 0);
        // Registered (twice: kept once), counted as blocked, woken once, then forgotten.
        let seen = notifier.sequence();
        assert!(notifier.register(seen, &waker));
        assert!(notifier.register(seen, &waker));
        assert_eq!(notifier.parked(), 1);
        notifier.notify();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(notifier.parked(), 0);
        notifier.notify();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_timer_wakes_its_waiter_once_its_time_has_come() {
        let notifier = Notifier::default();
        let (count, waker) = counting();
        let now = Instant::now();
        notifier.wake_at(now + Duration::from_secs(2), &waker);
        // An earlier time for the same waker replaces the later one.
        notifier.wake_at(now + Duration::from_secs(1), &waker);
        notifier.wake_due(now);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        notifier.wake_due(now + Duration::from_secs(1));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        notifier.wake_due(now + Duration::from_secs(3));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

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

    /// A waiter that parks between a notification's bump and its wake-up has seen the new
    /// number: the wake-up must not drop it from the count, or its time-out takes it out a
    /// second time (the count went below zero: a panic in debug builds, and a huge
    /// `blocked_polls` in release).
    #[test]
    fn a_waiter_parked_between_the_bump_and_the_wake_up_stays_counted() {
        let notifier = Arc::new(Notifier::default());
        let wait = |seen: u64, for_: Duration| {
            let notifier = Arc::clone(&notifier);
            std::thread::spawn(move || notifier.wait_until(seen, Instant::now() + for_))
        };
        let early = wait(notifier.sequence(), NEVER);
        while notifier.parked() == 0 {
            std::thread::yield_now();
        }
        let before = notifier.bump();
        let late = wait(notifier.sequence(), Duration::from_millis(50));
        while notifier.parked() == 0 {
            std::thread::yield_now();
        }
        notifier.wake(before);
        assert_eq!(notifier.parked(), 1, "the late waiter is still asleep");
        early.join().unwrap();
        late.join().unwrap();
        assert_eq!(notifier.parked(), 0);
    }
}
