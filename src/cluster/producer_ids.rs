//! Producer ids, handed out by the cluster and never reused: as KRaft's controller does, ids
//! are reserved in blocks of [`BLOCK_SIZE`] by a record in the metadata log (synced before
//! any id of the block is handed out), so that after any crash the next id is past every id
//! a producer may have used.

use super::metadata::MetadataRecord;
use super::Cluster;
use crate::error::{Error, Result};

/// Ids reserved per metadata record (Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub(crate) const BLOCK_SIZE: i64 = 1000;

/// The ids reserved and not yet handed out: `next..end`.
#[derive(Debug)]
pub(super) struct ProducerIdBlock {
    next: i64,
    end: i64,
}

impl ProducerIdBlock {
    /// After a replay of the metadata log that found `reserved_end` (0 if none): nothing is
    /// reserved yet, and the next block starts there.
    pub(super) fn after(reserved_end: i64) -> Self {
        ProducerIdBlock {
            next: reserved_end,
            end: reserved_end,
        }
    }
}

impl Cluster {
    /// A new producer id, never handed out before by this cluster (persisted across restarts
    /// and crashes): what Kafka's `InitProducerId` gives an idempotent producer.
    pub fn allocate_producer_id(&self) -> Result<i64> {
        let mut block = self.inner.producer_ids.lock();
        if block.next == block.end {
            let end = block.end.checked_add(BLOCK_SIZE).ok_or_else(|| {
                Error::IllegalState("every producer id up to i64::MAX was handed out".into())
            })?;
            self.append_metadata(&MetadataRecord::ProducerIds { end })?;
            block.end = end;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
}
