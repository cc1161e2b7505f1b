//! Transactions (layer 5): the coordinator of transactional ids and their durable state in
//! `__transaction_state`, what an open does about transactions a crash left open, and the
//! admin view (`Cluster::list_transactions`, `Cluster::describe_transaction`) that
//! `kafkalite transactions` prints as `kafka-transactions.sh` does.

mod coordinator;
mod markers;
mod state_log;

pub(crate) use coordinator::TransactionCoordinator;
pub(crate) use markers::MarkerJob;
pub use state_log::{
    decode_transaction_log_key, decode_transaction_log_value, TransactionLogValue, TransactionState,
};

use crate::cluster::{split_name, Cluster};
use crate::error::{Error, Result};
use crate::group::TopicPartition;

/// Kafka's default `transaction.max.timeout.ms`: 15 minutes.
pub(crate) const DEFAULT_MAX_TIMEOUT_MS: i32 = 900_000;
/// Kafka's default `transactional.id.expiration.ms`: 7 days.
pub(crate) const DEFAULT_ID_EXPIRATION_MS: i64 = 604_800_000;

/// A transactional id as `kafka-transactions.sh --list` shows it (Kafka's
/// `TransactionListing`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionListing {
    /// The `transactional.id`.
    pub transactional_id: String,
    /// Its current producer id.
    pub producer_id: i64,
    /// The state of its last transaction.
    pub state: TransactionState,
}

/// A transactional id as `kafka-transactions.sh --describe` shows it (Kafka's
/// `TransactionDescription`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionDescription {
    /// The `transactional.id`.
    pub transactional_id: String,
    /// Its current producer id.
    pub producer_id: i64,
    /// Its current producer epoch.
    pub producer_epoch: i16,
    /// The state of its last transaction.
    pub state: TransactionState,
    /// Its producer's `transaction.timeout.ms`.
    pub transaction_timeout_ms: i32,
    /// When the last transaction started (its first partition); kept after it completes,
    /// as Kafka's coordinator keeps it. `None` before the first.
    pub transaction_start_time_ms: Option<i64>,
    /// The partitions of the open transaction.
    pub topic_partitions: Vec<TopicPartition>,
}

impl Cluster {
    /// Every transactional id the coordinator knows, by id (Kafka's
    /// `Admin.listTransactions`).
    pub fn list_transactions(&self) -> Result<Vec<TransactionListing>> {
        let Some(coordinator) = TransactionCoordinator::if_used(self)? else {
            return Ok(Vec::new());
        };
        Ok(coordinator
            .states()
            .into_iter()
            .map(|(transactional_id, meta)| TransactionListing {
                transactional_id,
                producer_id: meta.producer_id,
                state: meta.state,
            })
            .collect())
    }

    /// One transactional id's state (Kafka's `Admin.describeTransactions`), `None` if the
    /// coordinator does not know it (Kafka's `TRANSACTIONAL_ID_NOT_FOUND`).
    pub fn describe_transaction(
        &self,
        transactional_id: &str,
    ) -> Result<Option<TransactionDescription>> {
        let Some(coordinator) = TransactionCoordinator::if_used(self)? else {
            return Ok(None);
        };
        Ok(coordinator
            .state(transactional_id)
            .map(|meta| TransactionDescription {
                transactional_id: transactional_id.to_string(),
                producer_id: meta.producer_id,
                producer_epoch: meta.epoch,
                state: meta.state,
                transaction_timeout_ms: meta.timeout_ms,
                transaction_start_time_ms: (meta.start_ms >= 0).then_some(meta.start_ms),
                topic_partitions: meta
                    .partitions
                    .iter()
                    .map(|(topic, partition)| TopicPartition::new(topic.clone(), *partition))
                    .collect(),
            }))
    }
}

/// At open, after the partitions are recovered: the coordinator finishes the transactions a
/// crash interrupted (see [`TransactionCoordinator::recover`]); then any transaction still
/// open in a partition (written without the coordinator, or its state lost) is aborted with
/// a marker, since no producer outlives the process, except those of producers whose
/// decision is still to be carried out (a commit must not turn into an abort). Each failure
/// is reported and the rest goes on; the first is returned with what was done (the open
/// records it as a background error). A coordinator whose state cannot be read stops the
/// sweep too: without it, no open transaction can be told from a decided one.
pub(crate) fn recover_at_open(cluster: &Cluster) -> (Vec<String>, Option<Error>) {
    let coordinator = match TransactionCoordinator::if_used(cluster) {
        Ok(coordinator) => coordinator,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let (mut done, mut first_error) = match &coordinator {
        Some(coordinator) => coordinator.recover(cluster),
        None => (Vec::new(), None),
    };
    let prepared = coordinator
        .as_ref()
        .map(|c| c.prepared_producers())
        .unwrap_or_default();
    for log in cluster.logs() {
        for producer in log.producer_states() {
            if producer.current_transaction_start_offset.is_none()
                || prepared.contains(&producer.producer_id)
            {
                continue;
            }
            let (topic, partition) = split_name(log.name());
            let abort = markers::Marker {
                producer_id: producer.producer_id,
                epoch: producer.epoch,
                commit: false,
            };
            match markers::write_marker(cluster, &topic, partition, abort, false) {
                Ok(()) => done.push(format!(
                    "{}: aborted the transaction of producer {} left open (no coordinator state)",
                    log.name(),
                    producer.producer_id
                )),
                Err(error) => {
                    done.push(format!(
                        "{}: the transaction of producer {} left open could not be aborted: {error}",
                        log.name(),
                        producer.producer_id
                    ));
                    first_error.get_or_insert(error);
                }
            }
        }
    }
    for line in &done {
        tracing::warn!(target: "kafkalite::recovery", "{line}");
    }
    (done, first_error)
}

/// Fences the producer of `id` as a new producer's `InitProducerId` would (the test kit's
/// `fence_producer`).
#[cfg(feature = "testing")]
pub(crate) fn fence(cluster: &Cluster, id: &str) -> Result<()> {
    let coordinator = TransactionCoordinator::of(cluster)?;
    let Some(meta) = coordinator.state(id) else {
        return Err(Error::IllegalState(format!(
            "no producer has initialised transactional id '{id}': there is nothing to fence"
        )));
    };
    coordinator.init_producer_id(cluster, id, meta.timeout_ms, None)?;
    Ok(())
}

/// The coordinator's share of a maintenance pass: transaction timeouts, unfinished markers,
/// expired transactional ids.
pub(crate) fn maintain(cluster: &Cluster) -> Result<()> {
    match TransactionCoordinator::if_used(cluster)? {
        Some(coordinator) => coordinator.maintain(cluster),
        None => Ok(()),
    }
}
