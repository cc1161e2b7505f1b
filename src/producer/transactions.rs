//! The transactional producer's side (Kafka's `TransactionManager` with a
//! `transactional.id`): the client state machine, the calls to the transaction coordinator,
//! and the checks made before a transactional batch is written (by the appender thread, or
//! by the committing thread for its share of the commit's flush).
//!
//! States and transitions are Kafka's (`TransactionManager.State.isTransitionValid`). Errors
//! split as Kafka's do: `ProducerFenced` (and a coordinator that no longer knows the id) is
//! fatal, the producer can only be closed; anything else that fails a transaction is
//! abortable, `abort_transaction` recovers (bumping the epoch through the coordinator, so
//! that sequences start again at 0).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::appender::on_appender_thread;
use super::client::Producer;
use super::idempotence::Identity;
use super::metrics::Api;
use crate::cluster::{split_name, Cluster};
use crate::error::{Error, Result};
use crate::group::{ConsumerGroupMetadata, Coordinator, Offsets, OFFSETS_TOPIC};
use crate::sync::{AtomicBool, Mutex, Ordering};
use crate::txn::{MarkerJob, TransactionCoordinator};

/// Kafka's client-side transaction states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Uninitialized,
    Ready,
    InTransaction,
    Committing,
    Aborting,
    AbortableError,
    FatalError,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Uninitialized => "UNINITIALIZED",
            State::Ready => "READY",
            State::InTransaction => "IN_TRANSACTION",
            State::Committing => "COMMITTING_TRANSACTION",
            State::Aborting => "ABORTING_TRANSACTION",
            State::AbortableError => "ABORTABLE_ERROR",
            State::FatalError => "FATAL_ERROR",
        }
    }
}

#[derive(Debug)]
struct Client {
    state: State,
    producer_id: i64,
    epoch: i16,
    /// Partitions added to the open transaction (the offsets partition included), by
    /// name (`topic-partition`), so that each batch checks its own without allocating.
    partitions: BTreeSet<String>,
    /// Why the state is an error state.
    error: Option<Error>,
    /// A batch failed in this transaction: its sequences may have a gap, so the abort takes
    /// a new epoch.
    bump_epoch: bool,
    /// How many producer ids or epochs the coordinator gave this producer.
    epochs: i64,
}

/// Shared by the producer's handles and its appender thread.
#[derive(Debug)]
pub(crate) struct Transactions {
    cluster: Cluster,
    transactional_id: String,
    timeout_ms: i32,
    client: Mutex<Client>,
    /// Whether `client.state` is `InTransaction`, readable without the lock.
    in_transaction: AtomicBool,
    /// The identity `identity` last read (what it answers while a call holds `client`).
    last_identity: Mutex<Identity>,
}

impl Transactions {
    pub(crate) fn new(cluster: Cluster, transactional_id: String, timeout_ms: i32) -> Self {
        Transactions {
            cluster,
            transactional_id,
            timeout_ms,
            client: Mutex::new(Client {
                state: State::Uninitialized,
                producer_id: -1,
                epoch: -1,
                partitions: BTreeSet::new(),
                error: None,
                bump_epoch: false,
                epochs: 0,
            }),
            in_transaction: AtomicBool::new(false),
            last_identity: Mutex::new(Identity {
                producer_id: -1,
                epoch: -1,
                epochs: 0,
                transaction_state: Some(State::Uninitialized),
            }),
        }
    }

    /// The producer id, epoch, epochs taken and state. Never waits: while a call holds the
    /// state (a coordinator call in progress, perhaps held by the test kit), the last one
    /// read.
    #[cfg_attr(not(feature = "rdkafka-api"), allow(dead_code))]
    pub(crate) fn identity(&self) -> Identity {
        let Some(client) = self.client.try_lock() else {
            return *self.last_identity.lock();
        };
        let identity = Identity {
            producer_id: client.producer_id,
            epoch: client.epoch,
            epochs: client.epochs,
            transaction_state: Some(client.state),
        };
        drop(client);
        *self.last_identity.lock() = identity;
        identity
    }

    fn coordinator(&self) -> Result<Arc<TransactionCoordinator>> {
        TransactionCoordinator::of(&self.cluster)
    }

    /// The error for a call `what` in the current state: the stored error in the fatal
    /// state, otherwise Kafka's invalid-transition message.
    fn refuse(&self, client: &Client, what: &str) -> Error {
        let id = &self.transactional_id;
        match (&client.error, client.state) {
            (Some(error), State::FatalError) => error.clone(),
            // Kafka's `maybeFailWithError`: the reason the transaction must abort.
            (Some(error), State::AbortableError) => error.clone(),
            (_, State::Uninitialized) => Error::InvalidTxnState(format!(
                "cannot {what} before init_transactions completes (transactional id '{id}')"
            )),
            _ => Error::InvalidTxnState(format!(
                "cannot {what} in state {} (transactional id '{id}')",
                client.state.name()
            )),
        }
    }

    /// Records `error` from a transactional call or batch: fatal or abortable by Kafka's
    /// rules. The first abortable error is kept as the reason.
    fn fail(&self, client: &mut Client, error: &Error) {
        let fatal = matches!(error, Error::ProducerFenced(_));
        match client.state {
            State::FatalError => return,
            State::AbortableError if !fatal => return,
            _ => {}
        }
        client.state = if fatal {
            State::FatalError
        } else {
            State::AbortableError
        };
        self.in_transaction.store(false, Ordering::Release);
        client.error = Some(error.clone());
    }

    /// `init_transactions`: the producer id and epoch for the transactional id, fencing
    /// older producers with it (their open transaction is aborted).
    pub(crate) fn init(&self) -> Result<()> {
        let mut client = self.client.lock();
        if client.state != State::Uninitialized {
            return Err(self.refuse(&client, "init_transactions"));
        }
        self.fault(false)?;
        let (producer_id, epoch) = self.coordinator()?.init_producer_id(
            &self.cluster,
            &self.transactional_id,
            self.timeout_ms,
            None,
        )?;
        (client.producer_id, client.epoch) = (producer_id, epoch);
        client.epochs += 1;
        client.state = State::Ready;
        Ok(())
    }

    /// `begin_transaction`.
    pub(crate) fn begin(&self) -> Result<()> {
        let mut client = self.client.lock();
        if client.state != State::Ready {
            return Err(self.refuse(&client, "begin_transaction"));
        }
        client.state = State::InTransaction;
        self.in_transaction.store(true, Ordering::Release);
        client.partitions.clear();
        Ok(())
    }

    /// Whether a record may be sent now (only inside a transaction). Called for every
    /// record: the common answer comes without the lock.
    pub(crate) fn check_send(&self) -> Result<()> {
        if self.in_transaction.load(Ordering::Acquire) {
            return Ok(());
        }
        let client = self.client.lock();
        match client.state {
            State::InTransaction => Ok(()),
            _ => Err(self.refuse(&client, "send")),
        }
    }

    /// Before a batch is written to `partition` (`topic-partition`): the
    /// producer id and epoch to stamp, the partition added to the transaction first if new.
    pub(crate) fn prepare_batch(&self, partition: &str) -> Result<(i64, i16)> {
        let mut client = self.client.lock();
        match client.state {
            // Batches still queued when the commit began are written as part of it.
            State::InTransaction | State::Committing => {}
            State::Aborting => {
                return Err(Error::TransactionAborted(format!(
                    "the transaction of '{}' was aborted before this batch for {partition} \
                     was written",
                    self.transactional_id
                )))
            }
            _ => return Err(self.refuse(&client, "send")),
        }
        if !client.partitions.contains(partition) {
            self.add_partition(&mut client, partition)?;
        }
        Ok((client.producer_id, client.epoch))
    }

    /// Adds `partition` (`topic-partition`) to the open transaction at the coordinator
    /// (Kafka's `AddPartitionsToTxn`), then to the client's partitions; a failure fails
    /// the transaction.
    fn add_partition(&self, client: &mut Client, partition: &str) -> Result<()> {
        let added = self.coordinator().and_then(|coordinator| {
            coordinator.add_partitions(
                &self.transactional_id,
                client.producer_id,
                client.epoch,
                &[split_name(partition)],
            )
        });
        if let Err(error) = added {
            self.fail(client, &error);
            return Err(error);
        }
        client.partitions.insert(partition.to_string());
        Ok(())
    }

    /// A transactional batch failed with `error`.
    pub(crate) fn batch_failed(&self, error: &Error) {
        let mut client = self.client.lock();
        client.bump_epoch = true;
        if !matches!(error, Error::TransactionAborted(_)) {
            self.fail(&mut client, error);
        }
    }

    /// `send_offsets_to_transaction`: the group's offsets, committed with the transaction.
    pub(crate) fn send_offsets(
        &self,
        offsets: &Offsets,
        group: &ConsumerGroupMetadata,
    ) -> Result<()> {
        let mut client = self.client.lock();
        if client.state != State::InTransaction {
            return Err(self.refuse(&client, "send_offsets_to_transaction"));
        }
        // In the transaction from now on, whatever happens to the offsets: its end must
        // reach the coordinator.
        self.add_partition(&mut client, &format!("{OFFSETS_TOPIC}-0"))?;
        // All or nothing in a transaction: a partition that does not exist fails it.
        let sent = crate::group::split_missing(&self.cluster, offsets)
            .and_then(|(_, missing)| missing.map_or(Ok(()), Err))
            .and_then(|()| Coordinator::of(&self.cluster))
            .and_then(|groups| {
                groups.commit_transactional(group, offsets, client.producer_id, client.epoch)
            });
        if let Err(error) = &sent {
            self.fail(&mut client, error);
        }
        sent
    }

    /// `commit_transaction`: everything sent is written (the producer flushes first), then
    /// the coordinator commits. A failed batch fails the commit and leaves the transaction
    /// to abort. A commit that failed otherwise (a disk error) may be retried.
    pub(crate) fn commit(&self, producer: &Producer, timeout: Duration) -> Result<()> {
        if on_appender_thread() {
            return Err(Error::WouldDeadlock("Producer::commit_transaction"));
        }
        {
            let mut client = self.client.lock();
            match client.state {
                State::InTransaction | State::Committing => {
                    client.state = State::Committing;
                    self.in_transaction.store(false, Ordering::Release);
                }
                _ => return Err(self.refuse(&client, "commit_transaction")),
            }
        }
        producer.flush_sharing(timeout)?;
        let mut client = self.client.lock();
        if client.state != State::Committing {
            // A batch failed meanwhile (the stored error says which), or the producer was
            // fenced.
            return Err(self.refuse(&client, "commit_transaction"));
        }
        self.end(&mut client, true, producer)
    }

    /// `abort_transaction`: batches not yet written fail with `TransactionAborted`, then the
    /// coordinator aborts (markers everywhere the transaction wrote).
    pub(crate) fn abort(&self, producer: &Producer, timeout: Duration) -> Result<()> {
        if on_appender_thread() {
            return Err(Error::WouldDeadlock("Producer::abort_transaction"));
        }
        {
            let mut client = self.client.lock();
            // Not from COMMITTING_TRANSACTION (Kafka's rule): a commit that failed is
            // retried, since its decision may already be on disk.
            match client.state {
                State::InTransaction | State::Aborting | State::AbortableError => {
                    client.state = State::Aborting;
                    self.in_transaction.store(false, Ordering::Release);
                }
                _ => return Err(self.refuse(&client, "abort_transaction")),
            }
        }
        producer.flush_quietly(timeout)?;
        let mut client = self.client.lock();
        self.end(&mut client, false, producer)?;
        if std::mem::take(&mut client.bump_epoch) {
            // KIP-360: the same producer takes a new epoch; sequences start again at 0.
            let bumped = self.coordinator().and_then(|coordinator| {
                coordinator.init_producer_id(
                    &self.cluster,
                    &self.transactional_id,
                    self.timeout_ms,
                    Some((client.producer_id, client.epoch)),
                )
            });
            match bumped {
                Ok((producer_id, epoch)) => {
                    (client.producer_id, client.epoch) = (producer_id, epoch);
                    client.epochs += 1;
                }
                Err(error) => {
                    self.fail(&mut client, &error);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// The test kit's rules on `InitProducerId` (or, with `end`, `EndTxn`), retried as
    /// Kafka's `TransactionManager` retries a retriable error; nothing without the feature.
    fn fault(&self, end: bool) -> Result<()> {
        #[cfg(feature = "testing")]
        {
            use crate::testing::{Op, OpInfo, Retry};
            let op = if end {
                Op::EndTxn
            } else {
                Op::InitTransactions
            };
            let info = OpInfo::new(op).of_transactional_id(&self.transactional_id);
            self.cluster.fault_table().call(&[info], &Retry::API_CALL)
        }
        #[cfg(not(feature = "testing"))]
        {
            let _ = end;
            Ok(())
        }
    }

    /// Ends the open transaction at the coordinator (nothing to do when nothing was added)
    /// and returns to `Ready`. The producer's appender thread, idle once the transaction's
    /// batches are flushed, writes part of the markers.
    fn end(&self, client: &mut Client, commit: bool, producer: &Producer) -> Result<()> {
        if !client.partitions.is_empty() {
            let appender = |job: Arc<MarkerJob>| producer.inner.accumulator.offload(job);
            let ended =
                self.fault(true)
                    .and_then(|()| self.coordinator())
                    .and_then(|coordinator| {
                        coordinator.end_transaction(
                            &self.cluster,
                            &self.transactional_id,
                            client.producer_id,
                            client.epoch,
                            commit,
                            Some(&appender),
                        )
                    });
            if let Err(error) = ended {
                if matches!(error, Error::ProducerFenced(_)) {
                    self.fail(client, &error);
                }
                return Err(error);
            }
        }
        client.partitions.clear();
        client.state = State::Ready;
        client.error = None;
        Ok(())
    }
}

/// Kafka's (and rust-rdkafka's) transaction calls. Each needs `transactional.id`; without
/// one they fail with [`Error::InvalidTxnState`].
impl Producer {
    /// The idempotent producer's identity (`None`: not idempotent). A transactional
    /// producer's comes from its transaction state, never waiting for a call in progress;
    /// an idempotent one's from the idempotence state, which the appender holds only
    /// briefly.
    #[cfg_attr(not(feature = "rdkafka-api"), allow(dead_code))]
    pub(crate) fn identity(&self) -> Option<Identity> {
        if let Some(transactions) = &self.inner.transactions {
            return Some(transactions.identity());
        }
        let idempotence = self.inner.idempotence.as_ref()?;
        Some(idempotence.lock().identity())
    }

    fn transactions(&self) -> Result<&Transactions> {
        self.inner.transactions.as_deref().ok_or_else(|| {
            Error::InvalidTxnState(
                "transactional calls need a transactional.id in the producer's configuration"
                    .into(),
            )
        })
    }

    /// Registers the producer's `transactional.id` with the cluster's transaction
    /// coordinator and takes its producer id and a new epoch. Any older producer with the
    /// same id is fenced (its next transactional call fails with [`Error::ProducerFenced`])
    /// and its open transaction aborted. Call once, before the first transaction.
    /// `transaction.timeout.ms` above the cluster's `transaction.max.timeout.ms` is
    /// [`Error::InvalidTransactionTimeout`]. (`timeout` is accepted for rdkafka's signature:
    /// the coordinator is in process and answers at once.)
    pub fn init_transactions(&self, timeout: Duration) -> Result<()> {
        let _ = timeout;
        let start = Instant::now();
        self.transactions()?.init()?;
        self.inner.metrics.spent(Api::TxnInit, start);
        Ok(())
    }

    /// Starts a transaction: records sent until `commit_transaction` or
    /// `abort_transaction` are written as one atomic unit. Sends outside a transaction
    /// fail with [`Error::InvalidTxnState`].
    pub fn begin_transaction(&self) -> Result<()> {
        let start = Instant::now();
        self.transactions()?.begin()?;
        self.inner.metrics.spent(Api::TxnBegin, start);
        Ok(())
    }

    /// Adds a consumer group's offsets to the transaction (Kafka's
    /// `sendOffsetsToTransaction`): they become the group's committed offsets if and only
    /// if the transaction commits. `group` is the consumer's
    /// [`crate::Consumer::group_metadata`]; a member that has left or a stale generation is
    /// [`Error::CommitFailed`], which the transaction must abort on. Empty `offsets` do
    /// nothing and always succeed, as in Kafka's producer.
    pub fn send_offsets_to_transaction(
        &self,
        offsets: &Offsets,
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        let _ = timeout;
        let transactions = self.transactions()?;
        // Kafka's producer does nothing with no offsets: no state check, no AddOffsetsToTxn
        // (the transaction does not take in the offsets topic), no time counted.
        if offsets.is_empty() {
            return Ok(());
        }
        let start = Instant::now();
        transactions.send_offsets(offsets, group)?;
        self.inner.metrics.spent(Api::TxnSendOffsets, start);
        Ok(())
    }

    /// Commits the transaction: flushes every record sent in it (at most `timeout`), then
    /// writes COMMIT markers to every partition it touched. If a record of it failed, the
    /// commit fails with that error and the transaction must be aborted. A commit that
    /// timed out or hit a storage error may be retried.
    pub fn commit_transaction(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        self.transactions()?.commit(self, timeout)?;
        self.inner.metrics.spent(Api::TxnCommit, start);
        Ok(())
    }

    /// Aborts the transaction: records not yet written fail with
    /// [`Error::TransactionAborted`], those written are marked aborted (no `read_committed`
    /// consumer ever sees them) and offsets sent in it are dropped. A commit that failed
    /// cannot be aborted (its decision may be on disk): call `commit_transaction` again.
    pub fn abort_transaction(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        self.transactions()?.abort(self, timeout)?;
        self.inner.metrics.spent(Api::TxnAbort, start);
        Ok(())
    }
}
