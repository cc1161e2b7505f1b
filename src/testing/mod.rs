//! The test kit (feature `testing`): [`Cluster::testing`] gives tests the control surface no
//! broker has. Fault rules on produce, fetch, commit, join, topic creation and transaction
//! calls ([`Faults`]); group and producer events on demand (a rebalance, a member's expiry, a
//! fencing); a power cut on the simulated storage; what was produced ([`TestControl::history`],
//! as Kafka's `MockProducer`); and a wait for quiescence. With
//! [`ClusterBuilder::seed`](crate::ClusterBuilder::seed), keyless partitioning repeats run to
//! run (member ids are `client.id` plus a counter already).

mod faults;
mod inspect;
mod table;
#[cfg(feature = "rdkafka-api")]
pub(crate) use table::bypassing;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

pub use faults::{FaultGuard, FaultRule, Faults, Op, OpInfo, Release};
pub(crate) use table::{FaultTable, Retry};

use crate::cluster::{Cluster, ClusterBuilder};
use crate::error::{Error, Result};
use crate::log::Log;
use crate::notify::Notifier;
use crate::producer::Accumulator;
use crate::random::SplitMix64;
use crate::storage::{PowerLoss, SimStorage};

/// The test kit's state in a cluster, made when the cluster opens.
#[derive(Debug)]
pub(crate) struct Kit {
    pub(crate) faults: Arc<FaultTable>,
    /// Every batch producers appended, in order: `topic-partition`, first and last offset.
    history: Arc<History>,
    /// The options the cluster opened with, for `crash_and_reopen`.
    options: ClusterBuilder,
    /// Producers' accumulators, for `wait_idle`.
    producers: Mutex<Vec<Weak<Accumulator>>>,
    producers_made: AtomicU64,
}

impl Kit {
    pub(crate) fn new(options: &ClusterBuilder, notifier: &Arc<Notifier>) -> Kit {
        Kit {
            faults: FaultTable::new(Arc::clone(&options.clock), Arc::clone(notifier)),
            history: Arc::default(),
            options: options.clone(),
            producers: Mutex::new(Vec::new()),
            producers_made: AtomicU64::new(0),
        }
    }

    /// The hooks of a producer with `retries` and `delivery.timeout.ms`.
    pub(crate) fn produce_hooks(&self, retries: u64, delivery_timeout_ms: u64) -> ProduceHooks {
        ProduceHooks {
            faults: Arc::clone(&self.faults),
            history: Arc::clone(&self.history),
            retries,
            delivery_timeout_ms: i64::try_from(delivery_timeout_ms).unwrap_or(i64::MAX),
        }
    }

    /// A producer was made (for `wait_idle`).
    pub(crate) fn producer_made(&self, accumulator: &Arc<Accumulator>) {
        let mut producers = self.producers.lock();
        producers.retain(|p| p.strong_count() > 0);
        producers.push(Arc::downgrade(accumulator));
    }

    /// The next seed derived from the cluster's `testing.seed`, if it has one.
    pub(crate) fn next_seed(&self) -> Option<u64> {
        let n = self.producers_made.fetch_add(1, Ordering::Relaxed);
        self.options
            .seed
            .map(|seed| SplitMix64(seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03)).next())
    }
}

/// Most batches the history keeps (the first ones; 24 bytes each).
const HISTORY_LIMIT: usize = 1 << 20;

/// Batches producers appended, in order: their log, first and last offset.
type History = Mutex<Vec<(Weak<Log>, i64, i64)>>;

/// What a producer's appends go through under the test kit: the produce fault rules, and
/// the history.
#[derive(Debug)]
pub(crate) struct ProduceHooks {
    faults: Arc<FaultTable>,
    history: Arc<History>,
    retries: u64,
    delivery_timeout_ms: i64,
}

impl ProduceHooks {
    /// Before a batch is appended to `log`: the produce rules' verdict, after the
    /// producer's own retries (given up, as `Closed`, once `abort` says so: a close ran out
    /// of time).
    pub(crate) fn before_append(&self, log: &str, abort: &dyn Fn() -> bool) -> Result<()> {
        if !self.faults.has_rules() {
            return Ok(());
        }
        let (topic, partition) = crate::cluster::split_name(log);
        let info = OpInfo::new(Op::Produce).on_partition(&topic, partition);
        let retry = Retry {
            retries: self.retries,
            timeout_ms: self.delivery_timeout_ms,
            timeout_key: "delivery.timeout.ms",
            cancelled: abort,
        };
        let expiry = |elapsed: i64, attempts: u64, code| {
            format!(
                "Expiring the batch for {log}: {elapsed} ms has passed since its first attempt \
                 (delivery.timeout.ms {}); {attempts} attempt(s) failed with {code:?}, a \
                 retriable error (a fault rule of the test kit)",
                self.delivery_timeout_ms
            )
        };
        self.faults.retrying(&[info], &retry, &expiry)
    }

    /// `log` took offsets `first..=last`.
    pub(crate) fn appended(&self, log: &Arc<Log>, first: i64, last: i64) {
        let mut history = self.history.lock();
        if history.len() < HISTORY_LIMIT {
            history.push((Arc::downgrade(log), first, last));
        }
    }
}

impl Cluster {
    /// The test kit: fault rules, group and producer events on demand, a simulated crash,
    /// what was produced, and a wait for quiescence (feature `testing`).
    pub fn testing(&self) -> TestControl {
        TestControl {
            cluster: self.clone(),
        }
    }

    pub(crate) fn fault_table(&self) -> &Arc<FaultTable> {
        &self.test_kit().faults
    }
}

/// The test kit of one cluster (see [`Cluster::testing`]).
#[derive(Debug, Clone)]
pub struct TestControl {
    cluster: Cluster,
}

impl TestControl {
    /// Where fault rules are made, e.g.
    /// `faults().on(Op::Produce).topic("orders").fail_next(3, ErrorCode::NotEnoughReplicas)`.
    pub fn faults(&self) -> Faults {
        Faults {
            cluster: self.cluster.clone(),
        }
    }

    /// Starts a rebalance of `group` now, as a new member or a metadata change would: every
    /// member revokes and is assigned again in its next polls (a cooperative member revokes
    /// only what moves).
    pub fn force_rebalance(&self, group: &str) -> Result<()> {
        crate::group::Coordinator::of(&self.cluster)?.force_rebalance(group)
    }

    /// Expels `member` (a member id, or the `client.id` of exactly one member) from `group`
    /// as if its session had expired: it learns at its next poll, which calls its
    /// listener's `on_partitions_lost` and joins again as a new member.
    pub fn expire_member(&self, group: &str, member: &str) -> Result<()> {
        crate::group::Coordinator::of(&self.cluster)?.expire_member(group, member)
    }

    /// Fences the producer of `transactional_id`, as a second producer's
    /// `init_transactions` with the same id would: the epoch moves on, an open transaction
    /// is aborted, and the fenced producer's next call fails with `ProducerFenced`.
    pub fn fence_producer(&self, transactional_id: &str) -> Result<()> {
        crate::txn::fence(&self.cluster, transactional_id)
    }

    /// A power cut and a restart: everything not synced to the simulated storage is lost,
    /// and the cluster opens again on what survived, with the same options (recovery runs
    /// as after a crash). The old handles keep failing with I/O errors afterwards, as a dead
    /// process's would; drop them. The cluster must run on a
    /// [`SimStorage`].
    pub fn crash_and_reopen(&self) -> Result<Cluster> {
        let kit = self.cluster.test_kit();
        let sim = kit
            .options
            .storage
            .as_any()
            .and_then(|s| s.downcast_ref::<SimStorage>())
            .ok_or_else(|| {
                Error::IllegalState(
                    "crash_and_reopen needs a cluster on simulated storage: open it with \
                     Cluster::builder().storage(Arc::new(SimStorage::new(dir)))"
                        .into(),
                )
            })?;
        sim.power_off();
        let survivor = sim.after_power_loss(PowerLoss::DropAll, 0);
        let mut options = kit.options.clone();
        options.storage = Arc::new(survivor);
        options.open(self.cluster.dir())
    }

    /// Waits (real time, at most `timeout`) until every producer of the cluster has
    /// appended and delivered every record sent (batches still lingering count as work)
    /// and every consumer group is stable or empty. `Error::Timeout` says what is still busy.
    pub fn wait_idle(&self, timeout: Duration) -> Result<()> {
        inspect::wait_idle(&self.cluster, &self.cluster.test_kit().producers, timeout)
    }

    /// Every record `topic` holds now, partition by partition in offset order (read
    /// uncommitted: records of open and aborted transactions too; control records not).
    pub fn records(&self, topic: &str) -> Result<Vec<crate::ConsumerRecord>> {
        inspect::records(&self.cluster, topic)
    }

    /// Every record producers of this cluster appended, in the order they were appended
    /// (as Kafka's `MockProducer::history`), where the log still holds it; the first
    /// 1,048,576 batches. Fault rules do not apply to this read, nor to `records`.
    pub fn history(&self) -> Result<Vec<crate::ConsumerRecord>> {
        let appended: Vec<(String, i32, i64, i64)> = self
            .cluster
            .test_kit()
            .history
            .lock()
            .iter()
            // Logs of topics deleted since have nothing left to show.
            .filter_map(|(log, first, last)| {
                let log = log.upgrade()?;
                let (topic, partition) = crate::cluster::split_name(log.name());
                Some((topic, partition, *first, *last))
            })
            .collect();
        inspect::history(&self.cluster, &appended)
    }
}
