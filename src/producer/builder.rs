//! Making a producer: `Cluster::producer`, `ProducerBuilder`, and what a new producer
//! starts with (its transaction and idempotence state, its accumulator, its appender
//! thread).

use std::collections::HashMap;
use std::sync::Arc;

use super::accumulator::{Accumulator, Message};
use super::client::{Inner, Producer};
use super::idempotence::Idempotence;
use super::interceptor::ProducerInterceptor;
use super::memory::BufferPool;
use super::metrics::Metrics;
use super::partitioner::{Partitioner, RoundRobinPartitioner, StickyPartitioner};
use super::transactions::Transactions;
use crate::cluster::Cluster;
use crate::config::{IntoProducerConfig, ProducerConfig};
use crate::error::{Error, Result};
use crate::record::Compression;
use crate::sync::channel::{self, Receiver, Sender};
use crate::sync::thread::{self, JoinHandle};
use crate::sync::{AtomicBool, AtomicU64, Condvar, Mutex, Ordering, RwLock};

/// Numbers producers, so that a thread's topic cache never serves a later producer (an
/// address could be reused).
/// (A std atomic even under loom: a plain counter, and loom's atomics cannot be statics.)
static NEXT_PRODUCER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Cluster {
    /// A producer configured from a [`ProducerConfig`], `&Properties` or `&[(&str, &str)]`.
    pub fn producer(&self, config: impl IntoProducerConfig) -> Result<Producer> {
        self.producer_builder(config).build()
    }

    /// A producer with a custom partitioner or interceptors.
    pub fn producer_builder(&self, config: impl IntoProducerConfig) -> ProducerBuilder {
        ProducerBuilder {
            cluster: self.clone(),
            config: config.into_config(),
            partitioner: None,
            interceptors: Vec::new(),
        }
    }
}

/// Options of a producer beyond its properties.
pub struct ProducerBuilder {
    cluster: Cluster,
    config: Result<ProducerConfig>,
    partitioner: Option<Arc<dyn Partitioner>>,
    interceptors: Vec<Arc<dyn ProducerInterceptor>>,
}

impl ProducerBuilder {
    /// Places records without an explicit partition with `partitioner` (Kafka's
    /// `partitioner.class` for a custom class).
    pub fn partitioner(mut self, partitioner: Arc<dyn Partitioner>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }
    /// Adds an interceptor (Kafka's `interceptor.classes`); they run in the order added.
    pub fn interceptor(mut self, interceptor: Arc<dyn ProducerInterceptor>) -> Self {
        self.interceptors.push(interceptor);
        self
    }
    /// Starts the producer (and its appender thread).
    pub fn build(self) -> Result<Producer> {
        Producer::new(
            self.cluster,
            self.config?,
            self.partitioner,
            self.interceptors,
        )
    }
}

impl Producer {
    fn new(
        cluster: Cluster,
        config: ProducerConfig,
        custom: Option<Arc<dyn Partitioner>>,
        interceptors: Vec<Arc<dyn ProducerInterceptor>>,
    ) -> Result<Producer> {
        if !matches!(config.compression, Compression::None | Compression::Lz4) {
            return Err(Error::UnsupportedCompressionType(format!(
                "{} (compression.type); kafkalite writes none and lz4",
                config.compression.name()
            )));
        }
        let (transactions, idempotence) = durability(&cluster, &config)?;
        let (sender, receiver) = channel::unbounded();
        let accumulator = accumulator(&cluster, &config, interceptors, sender);
        let metrics = Arc::new(Metrics::new());
        let appender = spawn_appender(&cluster, &accumulator, receiver, &metrics, &idempotence)?;
        #[cfg(feature = "testing")]
        cluster.test_kit().producer_made(&accumulator);
        let seed = cluster.next_producer_seed().unwrap_or_else(|| {
            cluster.clock().now_ms().cast_unsigned() ^ (Arc::as_ptr(&accumulator) as u64)
        });
        Ok(Producer {
            inner: Arc::new(Inner {
                id: NEXT_PRODUCER_ID.fetch_add(1, Ordering::Relaxed),
                sticky: StickyPartitioner::new(config.batch_size, seed),
                round_robin: RoundRobinPartitioner::default(),
                cluster,
                config,
                custom,
                accumulator,
                metrics,
                appender: Mutex::new(Some(appender)),
                closed: AtomicBool::new(false),
                transactions,
                idempotence,
            }),
        })
    }
}

/// The transaction state of a `transactional.id`, and the idempotence state (transactional
/// or not) when idempotence is on.
#[allow(clippy::type_complexity)]
fn durability(
    cluster: &Cluster,
    config: &ProducerConfig,
) -> Result<(Option<Arc<Transactions>>, Option<Arc<Mutex<Idempotence>>>)> {
    let transactions = config.txn_id().map(|id| {
        Arc::new(Transactions::new(
            cluster.clone(),
            id.to_string(),
            config.txn_timeout_ms(),
        ))
    });
    let idempotence = match (config.idempotence_enabled()?, &transactions) {
        (true, Some(transactions)) => Some(Idempotence::transactional(
            cluster.clone(),
            Arc::clone(transactions),
        )),
        (true, None) => Some(Idempotence::new(cluster.clone())?),
        (false, _) => None,
    }
    .map(|idempotence| Arc::new(Mutex::new(idempotence)));
    Ok((transactions, idempotence))
}

/// The accumulator, handing sealed batches to the appender through `queue`.
fn accumulator(
    cluster: &Cluster,
    config: &ProducerConfig,
    interceptors: Vec<Arc<dyn ProducerInterceptor>>,
    queue: Sender<Message>,
) -> Arc<Accumulator> {
    #[cfg(not(feature = "testing"))]
    let _ = cluster;
    Arc::new(Accumulator {
        topics: RwLock::new(HashMap::new()),
        topics_version: AtomicU64::new(u64::MAX),
        pool: BufferPool::new(config.buffer_memory),
        queue,
        linger_ms: config.linger_ms.min(i64::MAX as u64) as i64,
        compression: config.compression,
        sealed: AtomicU64::new(0),
        finished: Mutex::new(0),
        finished_count: AtomicU64::new(0),
        finished_changed: Condvar::new(),
        abort: AtomicBool::new(false),
        idle: AtomicBool::new(false),
        interceptors,
        #[cfg(feature = "testing")]
        hooks: cluster
            .test_kit()
            .produce_hooks(config.retries(), config.delivery_timeout_ms),
    })
}

/// Starts the appender thread, woken by the cluster clock's jumps so that it waits for
/// linger deadlines without a real-time timer.
fn spawn_appender(
    cluster: &Cluster,
    accumulator: &Arc<Accumulator>,
    receiver: Receiver<Message>,
    metrics: &Arc<Metrics>,
    idempotence: &Option<Arc<Mutex<Idempotence>>>,
) -> Result<JoinHandle<Receiver<Message>>> {
    let clock_wakes = {
        let accumulator = Arc::downgrade(accumulator);
        cluster
            .clock()
            .wake_on_jump(Box::new(move || match accumulator.upgrade() {
                Some(accumulator) => {
                    let _ = accumulator.queue.send(Message::Wake);
                    true
                }
                None => false,
            }))
    };
    let (accumulator, clock, metrics, idempotence) = (
        Arc::clone(accumulator),
        Arc::clone(cluster.clock()),
        Arc::clone(metrics),
        idempotence.clone(),
    );
    thread::Builder::new()
        .name("kafkalite-appender".into())
        .spawn(move || {
            super::appender::run(
                accumulator,
                receiver,
                clock,
                clock_wakes,
                metrics,
                idempotence,
            )
        })
        .map_err(|e| Error::io("spawn appender thread", "", e))
}
