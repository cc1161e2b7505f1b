//! The tail latency this machine gives any operation, measured beside the operation: a
//! fixed computation (a chain of multiply-adds in one register: no memory, no system call)
//! calibrated to the operation's median and run alternately with it, so that both meet the
//! same phase of the machine. The computation's p99 is a floor for the operation's: once
//! descheduled, an operation that reads memory also pays to refill its caches, and the
//! computation does not.
// Step counts and percentile indexes from float scales: small, non-negative, and clamped.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::time::{Duration, Instant};

/// A fixed computation of a set number of steps.
#[derive(Debug, Clone, Copy)]
pub struct FixedWork {
    steps: u64,
}

impl FixedWork {
    /// The computation that takes about `median` at its median (measured, not assumed).
    pub fn calibrated(median: Duration) -> FixedWork {
        let mut work = FixedWork { steps: 1_000 };
        for _ in 0..4 {
            let (took, _) = percentiles(&mut work.timings(501));
            let scale = median.as_secs_f64() / took.as_secs_f64().max(1e-9);
            work.steps = ((work.steps as f64 * scale) as u64).max(1);
        }
        work
    }

    /// How long one run took.
    pub fn time(&self) -> Duration {
        let start = Instant::now();
        // Opaque inputs, read after `start`, so that the chain cannot run before it.
        let steps = std::hint::black_box(self.steps);
        let mut x = steps;
        for step in 0..steps {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(step);
        }
        std::hint::black_box(x);
        start.elapsed()
    }

    /// `runs` timings.
    pub fn timings(&self, runs: usize) -> Vec<Duration> {
        (0..runs).map(|_| self.time()).collect()
    }
}

/// The p50 and p99 of `timings` (not empty).
pub fn percentiles(timings: &mut [Duration]) -> (Duration, Duration) {
    timings.sort_unstable();
    let at = |q: f64| timings[((timings.len() as f64 * q) as usize).min(timings.len() - 1)];
    (at(0.5), at(0.99))
}

/// The measured p50 of the longest fixed computation whose p99 over `runs` timings stayed
/// within `p99_goal`, of those calibrated to a tenth, two tenths... nine tenths of it: how
/// fast an operation must be at its median, on this machine now, for that p99 to be
/// possible at all.
pub fn longest_within(p99_goal: Duration, runs: usize) -> Option<Duration> {
    (1..10).rev().find_map(|tenths| {
        let work = FixedWork::calibrated(p99_goal * tenths / 10);
        let (p50, p99) = percentiles(&mut work.timings(runs));
        (p99 <= p99_goal).then_some(p50)
    })
}

/// How often, over `window` of spinning on the clock, the thread lost the CPU for more than
/// 10 µs (times a second), and the median length of those gaps.
pub fn clock_gaps(window: Duration) -> (f64, Duration) {
    let start = Instant::now();
    let mut last = start;
    let mut gaps = Vec::new();
    while last - start < window {
        let now = Instant::now();
        if now - last > Duration::from_micros(10) {
            gaps.push(now - last);
        }
        last = now;
    }
    gaps.sort_unstable();
    let median = gaps.get(gaps.len() / 2).copied().unwrap_or_default();
    (gaps.len() as f64 / window.as_secs_f64(), median)
}

/// Prints the p50, p99 and max of `op` (timings of operation `name`), then the same of
/// `work` (the fixed computation run alternately with it), the longest computation whose p99
/// meets `p99_goal`, and how often the CPU was taken away.
pub fn report(name: &str, op: &mut [Duration], work: &mut [Duration], p99_goal: Duration) {
    let (p50, p99) = percentiles(op);
    eprintln!(
        "{name}: p50 {p50:?}, p99 {p99:?}, max {:?} over {} runs",
        op[op.len() - 1],
        op.len()
    );
    let (work50, work99) = percentiles(work);
    let longest = longest_within(p99_goal, op.len())
        .map_or_else(|| "none".to_string(), |p50| format!("a p50 of {p50:?}"));
    let (gaps, gap) = clock_gaps(Duration::from_secs(1));
    eprintln!(
        "{name} baseline: a fixed computation run alternately with it: p50 {work50:?}, p99 \
         {work99:?} ({name}'s p99 is {:.2}x it; p99/p50: {name} {:.2}, the computation \
         {:.2}); the longest one with a p99 within {p99_goal:?}: {longest}; the CPU was \
         taken away {gaps:.0} times a second for a median {gap:?}",
        p99.as_secs_f64() / work99.as_secs_f64(),
        p99.as_secs_f64() / p50.as_secs_f64(),
        work99.as_secs_f64() / work50.as_secs_f64(),
    );
}
