//! A log on simulated storage for the module's unit tests.

use std::path::Path;
use std::sync::Arc;

use super::{Log, LogOptions, RecoveryMode, RecoveryReport};
use crate::clock::MockClock;
use crate::config::TopicConfig;
use crate::storage::SimStorage;

/// Where [`open`] keeps the log.
pub(super) const DIR: &str = "/sim/t-0";

/// Opens partition `t-0` at [`DIR`] on `sim` (a clock at 1,000 ms), `recovery_point` as its
/// checkpoint would say.
pub(super) fn open(
    sim: &SimStorage,
    config: TopicConfig,
    recovery_point: Option<i64>,
) -> crate::Result<(Log, RecoveryReport)> {
    let options = LogOptions {
        name: "t-0".into(),
        recovery_point,
        log_start_offset: 0,
        clean_active_size: None,
        recovery_mode: RecoveryMode::TolerateCorruptTail,
        salvage_dir: None,
    };
    Log::open_unlocked(
        Arc::new(sim.clone()),
        Path::new(DIR),
        Arc::new(config),
        Arc::new(MockClock::new(1_000)),
        options,
    )
}
