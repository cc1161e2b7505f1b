//! The cluster: a data directory and a handle. Lock file, metadata log, topic registry,
//! checkpoints, and the background thread for interval syncs and retention.

mod background;
mod builder;
mod cleaner;
mod leftovers;
mod metadata;
mod metadata_compaction;
mod open;
mod ownership;
mod producer_ids;
mod rebuild;
mod report;
mod temp_dir;
mod topic_name;
mod topics;

use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

pub use background::BackgroundErrors;
pub use builder::ClusterBuilder;
pub use cleaner::{CleanReport, LogCleanerStatus};
pub use report::OpenReport;
pub use topic_name::is_internal as is_internal_topic;
pub(crate) use topic_name::validate as validate_topic_name;
pub(crate) use topics::partition_number;
pub use topics::{NewTopic, OffsetSpec, PartitionDescription, TopicDescription, PARTITIONS_MAX};

use crate::clock::Clock;
use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::log::checkpoint::{self, CheckpointMap};
use crate::log::{Log, RecoveryMode};
use crate::notify::Notifier;
use crate::storage::{LockGuard, Storage};
use background::Background;
use metadata::MetadataRecord;
use open::Loaded;
use temp_dir::TempDir;

const LOCK_FILE: &str = "LOCK";
const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
const RECOVERY_POINT_FILE: &str = "recovery-point-offset-checkpoint";
const LOG_START_FILE: &str = "log-start-offset-checkpoint";
/// Kafka's `log.retention.check.interval.ms` default.
const RETENTION_CHECK_INTERVAL_MS: i64 = 300_000;
/// Kafka's `offsets.retention.minutes` default (7 days), in ms.
const OFFSETS_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// Kafka's `offsets.retention.check.interval.ms` default.
const OFFSETS_RETENTION_CHECK_INTERVAL_MS: i64 = 600_000;

/// An embedded Kafka cluster: a data directory and a handle to it. Cheap to clone; every clone
/// shares the same state. The directory is locked for as long as any clone is alive (or until
/// [`Cluster::close`]).
#[derive(Clone, Debug)]
pub struct Cluster {
    inner: Arc<Inner>,
    /// Shared by the handles users hold (not by the background thread's): when the last one
    /// drops, the cluster closes there and then, releasing the lock before `drop` returns.
    _user: Option<Arc<UserHandles>>,
}

/// A handle that does not keep its cluster open (the rdkafka facade's registry of clusters
/// its clients share): [`WeakCluster::upgrade`] gives a user handle while one is alive.
#[cfg(feature = "rdkafka-api")]
#[derive(Debug, Clone)]
pub(crate) struct WeakCluster {
    inner: std::sync::Weak<Inner>,
    user: Option<std::sync::Weak<UserHandles>>,
}

#[cfg(feature = "rdkafka-api")]
impl WeakCluster {
    /// A handle on the cluster, if it is still open.
    pub(crate) fn upgrade(&self) -> Option<Cluster> {
        let user = match &self.user {
            Some(user) => Some(user.upgrade()?),
            None => None,
        };
        let inner = self.inner.upgrade()?;
        if inner.closed.load(Ordering::Acquire) {
            return None;
        }
        Some(Cluster { inner, _user: user })
    }
}

#[cfg(feature = "rdkafka-api")]
impl Cluster {
    /// A handle that does not keep the cluster open.
    pub(crate) fn downgrade(&self) -> WeakCluster {
        WeakCluster {
            inner: Arc::downgrade(&self.inner),
            user: self._user.as_ref().map(Arc::downgrade),
        }
    }
}

#[derive(Debug)]
struct UserHandles {
    inner: Arc<Inner>,
}

impl Drop for UserHandles {
    fn drop(&mut self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            let _ = self.inner.close();
        }
    }
}

#[derive(Debug)]
struct Topic {
    id: String,
    config: Arc<TopicConfig>,
    partitions: Vec<Arc<Log>>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    recovery_mode: RecoveryMode,
    lock: Mutex<Option<Box<dyn LockGuard>>>,
    topics: RwLock<BTreeMap<String, Topic>>,
    /// Ids of deleted topics: their leftover directories are still the cluster's to remove.
    deleted_ids: Mutex<BTreeMap<String, String>>,
    metadata: Arc<Log>,
    /// Kafka's `cluster.id`, in `meta.properties` and the metadata log.
    cluster_id: String,
    /// What the open did.
    /// Set once open has finished (the client layers' recovery included).
    report: OnceLock<OpenReport>,
    /// What background work failed with.
    background_errors: background::ErrorLog,
    /// Serializes changes to the set of topics.
    admin: Mutex<()>,
    closed: AtomicBool,
    /// Bumped on every change to the set of topics, their partitions or configs, so that
    /// producers can cache what they looked up.
    metadata_version: AtomicU64,
    /// The metadata log's size after its last compaction, or at open (see
    /// `metadata_compaction`).
    metadata_compacted_bytes: AtomicU64,
    auto_create_topics: bool,
    num_partitions: i32,
    background: Mutex<Vec<Background>>,
    /// Guards checkpoint writes and remembers the last retention check.
    maintenance: Mutex<background::MaintenanceState>,
    /// The log cleaner's checkpoint, state and settings.
    cleaner: cleaner::CleanerState,
    retention_check_interval_ms: i64,
    /// Told of every append and metadata change: what blocked consumers wait on.
    notifier: Arc<Notifier>,
    /// Whether the clock wakes `notifier` (and the background thread) when it jumps: then
    /// nothing waiting for a time on it re-reads it on a real-time timer.
    clock_wakes: bool,
    /// `offsets.retention.minutes` and its check interval, in ms.
    offsets_retention: (i64, i64),
    /// `group.initial.rebalance.delay.ms`.
    group_initial_rebalance_delay_ms: i64,
    /// Producer ids reserved and not yet handed out.
    producer_ids: Mutex<producer_ids::ProducerIdBlock>,
    /// `producer.id.expiration.ms` and its check interval.
    producer_id_expiration: (i64, i64),
    /// `transaction.max.timeout.ms` and `transactional.id.expiration.ms`.
    transaction_settings: (i32, i64),
    /// Per-cluster state of the client layers (the group coordinator), made on first use.
    services: Services,
    /// Removed by `close` (explicit, or when the last user handle drops).
    temp_dir: Mutex<Option<TempDir>>,
    /// The test kit's state (fault rules, what producers appended).
    #[cfg(feature = "testing")]
    kit: crate::testing::Kit,
}

impl Cluster {
    /// Opens (creating if needed) the cluster in `dir`, with the system clock and background
    /// work on. A second open of the same directory, from this process or another, fails with
    /// [`Error::Locked`].
    pub fn open(dir: impl AsRef<Path>) -> Result<Cluster> {
        Cluster::builder().open(dir)
    }

    /// Opens a cluster in a new temporary directory, removed when the cluster closes
    /// ([`Cluster::close`], or the last handle dropping).
    pub fn temporary() -> Result<Cluster> {
        Cluster::builder().temporary()
    }

    /// Options for opening a cluster.
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    fn open_inner(
        options: ClusterBuilder,
        dir: PathBuf,
        temp_dir: Option<TempDir>,
    ) -> Result<Cluster> {
        let storage = Arc::clone(&options.storage);
        // Before anything is created: a directory holding what kafkalite did not write is
        // refused untouched.
        let found = ownership::check(&*storage, &dir)?;
        storage.create_dir_all_durable(&dir)?;
        let lock = storage.lock(&dir.join(LOCK_FILE))?;
        let mut report = OpenReport::default();
        let loaded = Loaded::load(&options, &dir, found, &mut report)?;
        let cleaner_checkpoints = cleaner::read_checkpoint(&*storage, &dir);
        let metadata_bytes = loaded.metadata.size_bytes();
        let now = options.clock.now_ms();
        let clock_wakes = {
            let notifier = Arc::downgrade(&loaded.notifier);
            options.clock.wake_on_jump(Box::new(move || {
                notifier.upgrade().map(|n| n.notify()).is_some()
            }))
        };
        #[cfg(feature = "testing")]
        let kit = crate::testing::Kit::new(&options, &loaded.notifier);
        let inner = Arc::new(Inner {
            #[cfg(feature = "testing")]
            kit,
            dir,
            storage,
            clock: options.clock,
            recovery_mode: options.recovery_mode,
            lock: Mutex::new(Some(lock)),
            topics: RwLock::new(loaded.topics),
            deleted_ids: Mutex::new(loaded.deleted_ids),
            metadata: loaded.metadata,
            cluster_id: loaded.cluster_id,
            producer_ids: Mutex::new(producer_ids::ProducerIdBlock::after(
                loaded.producer_ids_end,
            )),
            producer_id_expiration: (
                options.producer_id_expiration_ms,
                options.producer_id_expiration_check_interval_ms,
            ),
            report: OnceLock::new(),
            transaction_settings: (
                options.transaction_max_timeout_ms,
                options.transactional_id_expiration_ms,
            ),
            background_errors: background::ErrorLog::default(),
            admin: Mutex::new(()),
            closed: AtomicBool::new(false),
            metadata_version: AtomicU64::new(0),
            metadata_compacted_bytes: AtomicU64::new(metadata_bytes),
            auto_create_topics: options.auto_create_topics,
            num_partitions: options.num_partitions,
            background: Mutex::new(Vec::new()),
            maintenance: Mutex::new(background::MaintenanceState::new(now)),
            cleaner: cleaner::CleanerState::new(options.cleaner, cleaner_checkpoints),
            retention_check_interval_ms: options.retention_check_interval_ms,
            notifier: loaded.notifier,
            clock_wakes,
            offsets_retention: (
                options.offsets_retention_ms,
                options.offsets_retention_check_interval_ms,
            ),
            group_initial_rebalance_delay_ms: options.group_initial_rebalance_delay_ms,
            services: Services::default(),
            temp_dir: Mutex::new(temp_dir),
        });
        let cluster = Cluster {
            _user: Some(Arc::new(UserHandles {
                inner: Arc::clone(&inner),
            })),
            inner,
        };
        // The checkpoints on disk are still valid (they are replaced atomically), so a failure
        // to write new ones (a full disk) does not keep the cluster from opening: reading,
        // deleting topics and repairing must work there, to free space.
        if let Err(error) = cluster.write_checkpoints() {
            tracing::warn!(target: "kafkalite::cluster", "could not write the checkpoints at open: {error}");
            cluster.inner.background_errors.record(error);
        }
        // The client layers' recovery (transactions left open by a crash), through the crate
        // root: the cluster layer does not know them. A failure is reported, not fatal: the
        // data is readable, and maintenance retries.
        let (lines, error) = crate::start_services(&cluster);
        report.transactions = lines;
        if let Some(error) = error {
            tracing::warn!(target: "kafkalite::recovery", "could not finish every transaction left open: {error}");
            cluster.inner.background_errors.record(error);
        }
        let _ = cluster.inner.report.set(report);
        if options.background {
            cluster.start_background()?;
        }
        Ok(cluster)
    }

    /// Starts the maintenance thread (the work of [`Cluster::run_maintenance`] but cleaning)
    /// and the `log.cleaner.threads` cleaner threads. They hold the cluster weakly, so
    /// dropping the last handle still closes it.
    fn start_background(&self) -> Result<()> {
        let start = |name: String, work: fn(&Cluster) -> Result<()>| {
            let weak = Arc::downgrade(&self.inner);
            Background::start(name, &self.inner.clock, move || {
                let inner = weak.upgrade()?;
                let cluster = Cluster { inner, _user: None };
                let ran = work(&cluster);
                if let Err(error) = &ran {
                    if !matches!(error, Error::Closed) {
                        cluster.inner.background_errors.record(error.clone());
                    }
                }
                Some(ran)
            })
        };
        let mut threads = Vec::new();
        let cleaners = (0..self.inner.cleaner.threads()).map(|n| {
            let work: fn(&Cluster) -> Result<()> = |c| c.clean_when_due(false);
            (format!("kafkalite-cleaner-{n}"), work)
        });
        let maintenance: fn(&Cluster) -> Result<()> = |c| {
            // Async consumers' heartbeat wake-ups (they have no thread to sleep on).
            c.inner.notifier.wake_due(std::time::Instant::now());
            c.maintain(false)
        };
        for (name, work) in
            std::iter::once(("kafkalite-background".into(), maintenance)).chain(cleaners)
        {
            match start(name, work) {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // No thread outlives a failed start (one waiting on a mock clock would
                    // never notice that the cluster is gone).
                    threads.into_iter().for_each(Background::stop);
                    return Err(error);
                }
            }
        }
        *self.inner.background.lock() = threads;
        Ok(())
    }

    /// What opening the data directory did: per partition what recovery cut, checked or
    /// rebuilt; directories removed or set aside; entries left alone as not kafkalite's;
    /// `meta.properties` written. The same facts are emitted as `tracing` events (target
    /// `kafkalite::recovery`) during the open.
    pub fn recovery_report(&self) -> &OpenReport {
        self.inner.report.get_or_init(OpenReport::default)
    }

    /// `transaction.max.timeout.ms` and `transactional.id.expiration.ms`.
    pub(crate) fn transaction_settings(&self) -> (i32, i64) {
        self.inner.transaction_settings
    }

    /// Kafka's `cluster.id` from `meta.properties` (22 characters of base64).
    pub fn cluster_id(&self) -> &str {
        &self.inner.cluster_id
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The clock this cluster reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// The log of one partition, for appending and reading batches directly.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Log>> {
        self.check_open()?;
        let topics = self.inner.topics.read();
        let found = topics.get(topic).and_then(|t| {
            usize::try_from(partition)
                .ok()
                .and_then(|p| t.partitions.get(p))
        });
        found
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition(format!("{topic}-{partition}")))
    }

    /// A topic's configuration and partition logs, as of now.
    pub fn topic_partitions(&self, topic: &str) -> Result<(Arc<TopicConfig>, Vec<Arc<Log>>)> {
        self.check_open()?;
        let topics = self.inner.topics.read();
        let found = topics.get(topic).ok_or_else(|| {
            Error::UnknownTopicOrPartition(format!("topic '{topic}' does not exist"))
        })?;
        Ok((Arc::clone(&found.config), found.partitions.clone()))
    }

    /// Changes whenever topics, partitions or topic configs change.
    pub fn metadata_version(&self) -> u64 {
        self.inner.metadata_version.load(Ordering::Acquire)
    }

    /// Kafka's `num.partitions`: the partition count of a topic created without one.
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn default_partitions(&self) -> i32 {
        self.inner.num_partitions
    }

    /// Whether producers may create missing topics, and with how many partitions.
    pub fn auto_create_topics(&self) -> Option<i32> {
        self.inner
            .auto_create_topics
            .then_some(self.inner.num_partitions)
    }

    fn bump_metadata_version(&self) {
        self.inner.metadata_version.fetch_add(1, Ordering::AcqRel);
        self.inner.notifier.notify();
    }

    /// The cluster's one `T` (a service of a layer above, such as the group coordinator),
    /// made by `init` on first use. `T` must not hold a `Cluster`: that would keep the
    /// cluster open forever.
    pub(crate) fn service<T: Any + Send + Sync>(
        &self,
        init: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        let mut services = self.inner.services.by_type.lock();
        if let Some(found) = services
            .iter()
            .find_map(|s| Arc::clone(s).downcast::<T>().ok())
        {
            return Ok(found);
        }
        let made = Arc::new(init()?);
        services.push(Arc::clone(&made) as Arc<dyn Any + Send + Sync>);
        Ok(made)
    }

    /// Runs `hook` when the cluster closes, after its background work stopped and before
    /// its logs close (a layer above writing what it keeps in memory; it reports its own
    /// failures, which do not stop the close).
    pub(crate) fn before_close(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.inner.services.before_close.lock().push(Box::new(hook));
    }

    /// `offsets.retention.minutes` and `offsets.retention.check.interval.ms`, in ms.
    pub(crate) fn offsets_retention(&self) -> (i64, i64) {
        self.inner.offsets_retention
    }

    pub(crate) fn group_initial_rebalance_delay_ms(&self) -> i64 {
        self.inner.group_initial_rebalance_delay_ms
    }

    /// The seed of the next producer's keyless partitioning, derived from the cluster's
    /// `testing.seed` ([`ClusterBuilder::seed`], feature `testing`); `None` without one.
    pub(crate) fn next_producer_seed(&self) -> Option<u64> {
        #[cfg(feature = "testing")]
        return self.inner.kit.next_seed();
        #[cfg(not(feature = "testing"))]
        None
    }

    /// The test kit's state.
    #[cfg(feature = "testing")]
    pub(crate) fn test_kit(&self) -> &crate::testing::Kit {
        &self.inner.kit
    }

    /// What blocked readers wait on: told of every append and metadata change.
    pub(crate) fn notifier(&self) -> &Arc<Notifier> {
        &self.inner.notifier
    }

    /// Whether the clock wakes the notifier when it jumps (see [`Clock::wake_on_jump`]).
    pub(crate) fn clock_wakes(&self) -> bool {
        self.inner.clock_wakes
    }

    /// Whether the background threads run (see [`ClusterBuilder::background`]).
    pub(crate) fn has_background(&self) -> bool {
        !self.inner.background.lock().is_empty()
    }

    /// How many consumer polls are blocked now, asleep until records arrive, the group
    /// changes, the clock jumps, a [`crate::ConsumerWaker`] wakes them or their time is up,
    /// having seen every such event so far. A test waits for this before it wakes a poll, so
    /// that the wake-up provably reaches a blocked call (and, after a [`crate::MockClock`]
    /// jump, a poll that has read the new time). Sends and `partitions_for` calls waiting
    /// for a topic to exist (see [`crate::Producer::send`]) count too, as do event-store
    /// appends waiting for another producer's open transaction.
    pub fn blocked_polls(&self) -> usize {
        self.inner.notifier.parked()
    }

    pub(crate) fn logs(&self) -> Vec<Arc<Log>> {
        self.inner.logs()
    }

    fn all_logs(&self) -> Vec<Arc<Log>> {
        self.inner.logs()
    }

    /// Writes both checkpoint files from the logs' current durable and start offsets.
    fn write_checkpoints(&self) -> Result<()> {
        self.inner.write_checkpoints()
    }

    /// Closes cleanly: stops the background thread, syncs and trims every log, writes the
    /// checkpoints and the clean-shutdown marker (so the next open reads no segment data), and
    /// releases the directory lock. Other clones of this handle then get [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.inner.close()
    }

    /// Whether [`Cluster::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    fn append_metadata(&self, record: &MetadataRecord) -> Result<()> {
        let batch = record.to_batch(self.inner.clock.now_ms())?;
        self.inner.metadata.append(&batch).map(|_| ())
    }
}

impl Inner {
    fn logs(&self) -> Vec<Arc<Log>> {
        let topics = self.topics.read();
        std::iter::once(Arc::clone(&self.metadata))
            .chain(topics.values().flat_map(|t| t.partitions.iter().cloned()))
            .collect()
    }

    /// Writes both checkpoint files from the logs' current durable and start offsets.
    fn write_checkpoints(&self) -> Result<()> {
        self.write_checkpoints_raising(None)
    }

    /// Writes both checkpoint files, with `raise`'s log start moved up to its offset; only
    /// once the log-start file is written does that log's start move (under the same lock,
    /// so that no other write puts an older start back).
    fn write_checkpoints_raising(&self, raise: Option<(&Log, i64)>) -> Result<()> {
        let _guard = self.maintenance.lock();
        let (mut recovery, mut starts) = (CheckpointMap::new(), CheckpointMap::new());
        for log in self.logs() {
            let key = split_name(log.name());
            recovery.insert(key.clone(), log.durable_offset());
            let mut start = log.log_start_offset();
            if let Some((_, to)) = raise.filter(|(raised, _)| std::ptr::eq(*raised, &*log)) {
                start = start.max(to);
            }
            starts.insert(key, start);
        }
        // Log starts first: a recovery-point file without a log-start file beside it is then
        // always damage (see `Cluster::open`).
        checkpoint::write(&*self.storage, &self.dir.join(LOG_START_FILE), &starts)?;
        if let Some((log, to)) = raise {
            log.raise_log_start(to);
        }
        checkpoint::write(
            &*self.storage,
            &self.dir.join(RECOVERY_POINT_FILE),
            &recovery,
        )
    }

    /// Writes `.kafka_cleanshutdown`. Kafka's marker is empty; ours lists each partition's
    /// active segment size (checkpoint format), so that the next open can trust the files
    /// without reading them, yet notice a file that changed after the close.
    fn write_clean_marker(&self) -> Result<()> {
        let sizes: CheckpointMap = self
            .logs()
            .iter()
            .map(|log| (split_name(log.name()), log.active_segment_size() as i64))
            .collect();
        checkpoint::write(&*self.storage, &self.dir.join(CLEAN_SHUTDOWN_FILE), &sizes)
    }

    fn close(&self) -> Result<()> {
        // A cleaning in progress stops at its next segment rather than holding up the close.
        for log in self.logs() {
            log.abort_cleaning();
        }
        for thread in std::mem::take(&mut *self.background.lock()) {
            thread.stop();
        }
        // And a cleaning a user's thread runs (`compact`, `run_maintenance`) has stopped.
        for log in self.logs() {
            log.stop_cleaning();
        }
        for hook in self.services.before_close.lock().iter() {
            hook();
        }
        let mut first_error = None;
        let mut clean = true;
        for log in self.logs() {
            if let Err(e) = log.close() {
                first_error.get_or_insert(e);
            }
            clean &= !log.is_failed();
        }
        clean &= first_error.is_none();
        if let Err(e) = self.write_checkpoints() {
            clean = false;
            first_error.get_or_insert(e);
        }
        if clean {
            if let Err(e) = self.write_clean_marker() {
                first_error.get_or_insert(e);
            }
        }
        // A temporary cluster's directory goes with the close, even if a handle lives on (in a
        // cycle, say): nothing is written after it, and readers keep their mapped bytes. It
        // goes before the lock, so that no other open can find it half removed.
        self.temp_dir.lock().take();
        self.lock.lock().take();
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.close();
        }
    }
}

/// The Kafka config of the metadata log: every append synced, small segments, and retention
/// off (time and bytes −1), so retention passes over all logs never delete from it.
fn metadata_config() -> TopicConfig {
    TopicConfig::from_overrides([
        ("flush.messages", "1"),
        ("segment.bytes", "8388608"),
        ("retention.ms", "-1"),
        ("retention.bytes", "-1"),
    ])
    .expect("built-in metadata config is valid")
}

/// (topic, partition) from a `topic-partition` name.
pub(crate) fn split_name(name: &str) -> (String, i32) {
    match name.rsplit_once('-') {
        Some((topic, p)) => (topic.to_string(), p.parse().unwrap_or(0)),
        None => (name.to_string(), 0),
    }
}

/// Type-keyed per-cluster state of the layers above (see [`Cluster::service`]), and what
/// they asked to run before the logs close ([`Cluster::before_close`]).
#[derive(Default)]
struct Services {
    by_type: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
    before_close: Mutex<Vec<CloseHook>>,
}

/// Work a layer above runs when the cluster closes.
type CloseHook = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Services({})", self.by_type.lock().len())
    }
}
