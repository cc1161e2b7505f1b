//! The idempotent producer's side (Kafka's `TransactionManager` for a producer without a
//! `transactional.id`): a producer id from the cluster, an epoch, and per partition the next
//! sequence number, stamped on each batch as it is appended (by the appender thread, or by the
//! thread committing a transaction, see `shared_flush`). After a failed batch the epoch is
//! bumped locally and every partition's sequence starts again at 0 (Kafka's
//! `bumpIdempotentProducerEpoch`; a log accepts a newer epoch from sequence 0); at `i16::MAX`
//! the producer takes a new id instead.
//!
//! A transactional producer's id and epoch come from the coordinator instead (through
//! [`Transactions`]); its batches are marked transactional, and a failure leaves the epoch
//! to the transaction's abort.

use std::collections::HashMap;
use std::sync::Arc;

use super::transactions::{State as TransactionState, Transactions};
use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::log::increment_sequence;
use crate::record::{stamp_producer, BatchBuilder, RecordBatch};

/// Shared by the appender thread and a transaction's committing thread (`Inner::idempotence`,
/// locked per step): each partition's batches are appended by one thread at a time, in order,
/// so a partition's sequence is never stamped by two appends at once.
pub(crate) struct Idempotence {
    cluster: Cluster,
    producer_id: i64,
    epoch: i16,
    /// Next base sequence per partition (`topic-partition`); absent means 0.
    sequences: HashMap<String, i32>,
    transactions: Option<Arc<Transactions>>,
    /// How many producer ids or epochs this producer took (without a transactional id).
    epochs: i64,
}

/// An idempotent producer's identity, for monitoring (the rdkafka facade's statistics).
#[cfg_attr(not(feature = "rdkafka-api"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Identity {
    /// -1 before a transactional producer's `init_transactions`.
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    /// How many producer ids or epochs the producer took.
    pub(crate) epochs: i64,
    /// A transactional producer's state.
    pub(crate) transaction_state: Option<TransactionState>,
}

impl Idempotence {
    /// A new producer id from `cluster`, epoch 0.
    pub(crate) fn new(cluster: Cluster) -> Result<Idempotence> {
        let producer_id = cluster.allocate_producer_id()?;
        Ok(Idempotence {
            cluster,
            producer_id,
            epoch: 0,
            sequences: HashMap::new(),
            transactions: None,
            epochs: 1,
        })
    }

    /// A transactional producer's: id and epoch from `transactions`.
    pub(crate) fn transactional(cluster: Cluster, transactions: Arc<Transactions>) -> Idempotence {
        Idempotence {
            cluster,
            producer_id: -1,
            epoch: -1,
            sequences: HashMap::new(),
            transactions: Some(transactions),
            epochs: 0,
        }
    }

    /// The identity of a producer without a transactional id (a transactional one's is its
    /// transaction state's, `Transactions::identity`).
    #[cfg_attr(not(feature = "rdkafka-api"), allow(dead_code))]
    pub(crate) fn identity(&self) -> Identity {
        Identity {
            producer_id: self.producer_id,
            epoch: self.epoch,
            epochs: self.epochs,
            transaction_state: None,
        }
    }

    /// Stamps `builder`, bound for `partition`, with the producer fields. A transactional
    /// batch may be refused (no transaction open, or adding the partition to it failed).
    pub(crate) fn stamp(&mut self, partition: &str, builder: BatchBuilder) -> Result<BatchBuilder> {
        let builder = match &self.transactions {
            Some(transactions) => {
                let current = transactions.prepare_batch(partition)?;
                if current != (self.producer_id, self.epoch) {
                    // A new epoch (or id) from the coordinator: sequences start again.
                    (self.producer_id, self.epoch) = current;
                    self.sequences.clear();
                }
                builder.transactional(true)
            }
            None => builder,
        };
        let sequence = self.sequences.get(partition).copied().unwrap_or(0);
        Ok(builder.producer(self.producer_id, self.epoch, sequence))
    }

    /// Re-stamps the built batch `bytes` for `partition` if its producer fields are not the
    /// current ones: the later parts of a split batch, after an earlier part failed and the
    /// epoch moved on (Kafka assigns sequences as it drains a batch, so a split part never
    /// carries stale ones).
    pub(crate) fn restamp(&self, partition: &str, bytes: &mut [u8]) {
        let sequence = self.sequences.get(partition).copied().unwrap_or(0);
        let Ok(batch) = RecordBatch::new(bytes) else {
            return;
        };
        let current = (self.producer_id, self.epoch, sequence);
        if (
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        ) != current
        {
            stamp_producer(bytes, current.0, current.1, current.2);
        }
    }

    /// `records` records were appended to `partition`.
    pub(crate) fn appended(&mut self, partition: &str, records: i32) {
        match self.sequences.get_mut(partition) {
            Some(next) => *next = increment_sequence(*next, records),
            None => {
                self.sequences
                    .insert(partition.to_string(), increment_sequence(0, records));
            }
        }
    }

    /// A batch failed with `error`: its sequences may be half-used, so the producer moves to
    /// a new epoch (a new producer id after `i16::MAX`) and every partition starts again at
    /// 0. A transactional producer's transaction must abort instead, which takes the epoch.
    pub(crate) fn failed(&mut self, error: &Error) {
        if let Some(transactions) = &self.transactions {
            transactions.batch_failed(error);
            return;
        }
        self.sequences.clear();
        if self.epoch < i16::MAX {
            self.epoch += 1;
            self.epochs += 1;
            return;
        }
        match self.cluster.allocate_producer_id() {
            Ok(id) => {
                (self.producer_id, self.epoch) = (id, 0);
                self.epochs += 1;
            }
            // A closed cluster: nothing will be appended with it anyway.
            Err(error) => tracing::warn!(%error, "could not allocate a new producer id"),
        }
    }
}
