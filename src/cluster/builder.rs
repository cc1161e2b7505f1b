//! `ClusterBuilder`: the options a cluster opens with (Kafka's broker settings that apply to
//! one process), and the entry points `open` and `temporary`.

use std::path::Path;
use std::sync::Arc;

use super::temp_dir::TempDir;
use super::{
    cleaner, Cluster, OFFSETS_RETENTION_CHECK_INTERVAL_MS, OFFSETS_RETENTION_MS,
    RETENTION_CHECK_INTERVAL_MS,
};
use crate::clock::{Clock, SystemClock};
use crate::error::Result;
use crate::log::RecoveryMode;
use crate::storage::{RealStorage, Storage};

/// Kafka's default `producer.id.expiration.check.interval.ms`: ten minutes.
const PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS: i64 = 600_000;

/// Options for opening a [`Cluster`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(super) recovery_mode: RecoveryMode,
    pub(super) background: bool,
    pub(super) retention_check_interval_ms: i64,
    pub(super) auto_create_topics: bool,
    pub(super) num_partitions: i32,
    pub(super) offsets_retention_ms: i64,
    pub(super) offsets_retention_check_interval_ms: i64,
    pub(super) group_initial_rebalance_delay_ms: i64,
    pub(super) cleaner: cleaner::CleanerSettings,
    pub(super) producer_id_expiration_ms: i64,
    pub(super) producer_id_expiration_check_interval_ms: i64,
    pub(super) transaction_max_timeout_ms: i32,
    pub(super) transactional_id_expiration_ms: i64,
    #[cfg(feature = "testing")]
    pub(crate) seed: Option<u64>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        ClusterBuilder {
            clock: Arc::new(SystemClock),
            storage: Arc::new(RealStorage),
            recovery_mode: RecoveryMode::default(),
            background: true,
            retention_check_interval_ms: RETENTION_CHECK_INTERVAL_MS,
            auto_create_topics: true,
            num_partitions: 1,
            offsets_retention_ms: OFFSETS_RETENTION_MS,
            offsets_retention_check_interval_ms: OFFSETS_RETENTION_CHECK_INTERVAL_MS,
            group_initial_rebalance_delay_ms: 0,
            cleaner: cleaner::CleanerSettings::default(),
            producer_id_expiration_ms: crate::log::DEFAULT_PRODUCER_ID_EXPIRATION_MS,
            producer_id_expiration_check_interval_ms: PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS,
            transaction_max_timeout_ms: crate::txn::DEFAULT_MAX_TIMEOUT_MS,
            transactional_id_expiration_ms: crate::txn::DEFAULT_ID_EXPIRATION_MS,
            #[cfg(feature = "testing")]
            seed: None,
        }
    }
}

impl ClusterBuilder {
    /// Kafka's `transaction.max.timeout.ms` (default 900000): the longest
    /// `transaction.timeout.ms` a producer may ask for.
    pub fn transaction_max_timeout_ms(mut self, ms: i32) -> Self {
        self.transaction_max_timeout_ms = ms;
        self
    }
    /// Kafka's `transactional.id.expiration.ms` (default 604800000, 7 days): how long a
    /// transactional id with no transaction open is remembered after its last use.
    pub fn transactional_id_expiration_ms(mut self, ms: i64) -> Self {
        self.transactional_id_expiration_ms = ms;
        self
    }
    /// The clock every time-based decision reads (a [`crate::MockClock`] in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// The storage backend (the real file system by default).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self
    }
    /// What to do with damage below the recovery point.
    pub fn recovery_mode(mut self, mode: RecoveryMode) -> Self {
        self.recovery_mode = mode;
        self
    }
    /// Whether to run the background threads (interval syncs, retention, the cleaner threads).
    /// Without them, call [`Cluster::run_maintenance`] yourself: deterministic tests do.
    pub fn background(mut self, enabled: bool) -> Self {
        self.background = enabled;
        self
    }
    /// Kafka's `log.retention.check.interval.ms` (default 300000), on the cluster's clock.
    pub fn retention_check_interval_ms(mut self, ms: i64) -> Self {
        self.retention_check_interval_ms = ms;
        self
    }
    /// Kafka's `auto.create.topics.enable` (default true): a producer sending to a missing
    /// topic creates it with `num.partitions` partitions; when false the send fails with
    /// `UnknownTopicOrPartition`.
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.auto_create_topics = enabled;
        self
    }
    /// Kafka's `num.partitions` (default 1): partitions of auto-created topics.
    pub fn num_partitions(mut self, partitions: i32) -> Self {
        self.num_partitions = partitions.max(1);
        self
    }
    /// Kafka's `offsets.retention.minutes` (default 7 days), in ms: how long a group's
    /// committed offsets outlive the group's last member (or, for a topic the group no longer
    /// subscribes to, or a group that never had members, the last commit).
    pub fn offsets_retention_ms(mut self, ms: i64) -> Self {
        self.offsets_retention_ms = ms.max(0);
        self
    }
    /// Kafka's broker setting `group.initial.rebalance.delay.ms`, on the cluster's clock: the
    /// first rebalance of an empty group waits this long for more members, and again (up to
    /// the members' `max.poll.interval.ms` in all) while more keep joining, so that they
    /// join one rebalance. Kafka's default is 3000; kafkalite's is 0 (a group starts at once).
    pub fn group_initial_rebalance_delay_ms(mut self, ms: i64) -> Self {
        self.group_initial_rebalance_delay_ms = ms.max(0);
        self
    }
    /// Kafka's broker setting `producer.id.expiration.ms` (default 86400000, one day), on the
    /// cluster's clock: a partition forgets an idempotent producer that has not written to it
    /// for this long (and has no open transaction), so a late retry of its old batches is no
    /// longer recognised as a duplicate.
    pub fn producer_id_expiration_ms(mut self, ms: i64) -> Self {
        self.producer_id_expiration_ms = ms.max(0);
        self
    }
    /// Kafka's `producer.id.expiration.check.interval.ms` (default 600000): how often the
    /// background work looks for expired producers.
    pub fn producer_id_expiration_check_interval_ms(mut self, ms: i64) -> Self {
        self.producer_id_expiration_check_interval_ms = ms.max(0);
        self
    }
    /// Kafka's `offsets.retention.check.interval.ms` (default 600000), on the cluster's clock.
    pub fn offsets_retention_check_interval_ms(mut self, ms: i64) -> Self {
        self.offsets_retention_check_interval_ms = ms.max(0);
        self
    }
    /// Kafka's `log.cleaner.enable` (default true): whether the background work compacts
    /// logs of `cleanup.policy` `compact` ([`Cluster::compact`] runs either way).
    pub fn log_cleaner_enable(mut self, enabled: bool) -> Self {
        self.cleaner.enabled = enabled;
        self
    }
    /// Kafka's `log.cleaner.dedupe.buffer.size` (default 128 MiB): the memory of the
    /// cleaner's key map, 24 bytes a key, filled to 90%. A dirty section with more keys is
    /// cleaned over several passes.
    pub fn log_cleaner_dedupe_buffer_size(mut self, bytes: usize) -> Self {
        self.cleaner.dedupe_buffer_bytes = bytes;
        self
    }
    /// Kafka's `log.cleaner.backoff.ms` (default 15000), on the cluster's clock: how long the
    /// cleaner sleeps when no log needs cleaning.
    pub fn log_cleaner_backoff_ms(mut self, ms: i64) -> Self {
        self.cleaner.backoff_ms = ms.max(0);
        self
    }
    /// Kafka's `log.cleaner.threads` (default 1): the threads that compact logs, each
    /// cleaning the filthiest log no other has. With 0 only [`Cluster::run_maintenance`] and
    /// [`Cluster::compact`] clean.
    pub fn log_cleaner_threads(mut self, threads: usize) -> Self {
        self.cleaner.threads = threads;
        self
    }
    /// `testing.seed` (feature `testing`): producers draw keyless partitions (the sticky
    /// partitioner's, rdkafka's `random` and `consistent_random`) from seeds derived from
    /// this one and the order they were made in, so a test repeats exactly run to run.
    #[cfg(feature = "testing")]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Opens (creating if needed) the cluster in `dir`.
    pub fn open(self, dir: impl AsRef<Path>) -> Result<Cluster> {
        Cluster::open_inner(self, dir.as_ref().to_path_buf(), None)
    }
    /// Opens a cluster in a new temporary directory, removed when the cluster closes
    /// ([`Cluster::close`], or the last handle dropping).
    pub fn temporary(self) -> Result<Cluster> {
        let temp = TempDir::new()?;
        let dir = temp.path().to_path_buf();
        Cluster::open_inner(self, dir, Some(temp))
    }
}
