//! Helpers shared by the benchmarks: where files go, the raw `write()` baseline, and the
//! tail latency this machine gives any operation.
#![allow(dead_code)]
// Step counts and percentile indexes from float scales: small, non-negative, and clamped.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A temporary directory under `KAFKALITE_BENCH_DIR` (default: the system temporary directory).
pub fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("KAFKALITE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::tempdir_in(base).unwrap()
}

/// Time to write `bytes` to a new file with plain sequential `write()`s of 1 MiB, `iters` times.
pub fn write_baseline(iters: u64, bytes: usize) -> Duration {
    let buffer = vec![7u8; 1 << 20];
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let dir = bench_dir();
        let mut file = std::fs::File::create(dir.path().join("baseline")).unwrap();
        let start = Instant::now();
        for _ in 0..bytes.div_ceil(buffer.len()) {
            file.write_all(&buffer).unwrap();
        }
        total += start.elapsed();
    }
    total
}

/// The p50 and p99 of a fixed computation (no memory beyond a few registers, no system
/// call) sized to take about `median` at its median, timed `runs` times: the tail this
/// machine's scheduling alone gives an operation of that length, a baseline for a measured
/// p99 in the same run.
pub fn fixed_work_percentiles(median: Duration, runs: usize) -> (Duration, Duration) {
    let mut steps = 1_000u64;
    for _ in 0..4 {
        let (took, _) = percentiles(&mut fixed_work_timings(steps, 501));
        let scale = median.as_secs_f64() / took.as_secs_f64().max(1e-9);
        steps = ((steps as f64 * scale) as u64).max(1);
    }
    percentiles(&mut fixed_work_timings(steps, runs))
}

/// The longest fixed computation (as [`fixed_work_percentiles`], medians in steps of a tenth
/// of `p99_goal`) whose p99 over `runs` timings stays within `p99_goal`: on this machine, in
/// this run, how fast an operation must be at its median to meet that p99 at all.
pub fn longest_within(p99_goal: Duration, runs: usize) -> Option<Duration> {
    (1..10)
        .rev()
        .map(|tenths| p99_goal * tenths / 10)
        .find(|&median| fixed_work_percentiles(median, runs).1 <= p99_goal)
}

/// `runs` timings of `steps` steps of a linear congruential generator.
fn fixed_work_timings(steps: u64, runs: usize) -> Vec<Duration> {
    (0..runs as u64)
        .map(|run| {
            let start = Instant::now();
            let mut x = run;
            for step in 0..steps {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(step);
            }
            std::hint::black_box(x);
            start.elapsed()
        })
        .collect()
}

/// The p50 and p99 of `timings`.
pub fn percentiles(timings: &mut [Duration]) -> (Duration, Duration) {
    timings.sort_unstable();
    let at = |q: f64| timings[((timings.len() as f64 * q) as usize).min(timings.len() - 1)];
    (at(0.5), at(0.99))
}

/// How often, over `window` of spinning on the clock, the thread lost the CPU for more than
/// 10 µs (times a second), and the median length of those gaps: what puts a tail on every
/// latency measured on this machine.
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
