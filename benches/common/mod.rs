//! Helpers shared by the benchmarks: where files go, the raw `write()` baseline, and (in
//! `tail`) the tail latency this machine gives any operation.
#![allow(dead_code)]

pub mod tail;

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
