//! Replaying a log from its start (how the metadata log, `__consumer_offsets` and
//! `__transaction_state` rebuild their state when opened), or from an offset (the event
//! store's reads of a partition and its subscriptions).

use super::partition::Log;
use super::AbortedFilter;
use crate::error::Result;
use crate::record::{ControlRecordType, Record};

/// What [`Log::for_each_entry`] visits.
pub(crate) enum Entry<'a, 'r> {
    /// A data record, with the producer id of its batch when the batch is transactional.
    Record {
        transactional_producer: Option<i64>,
        record: &'a Record<'r>,
    },
    /// A COMMIT (`commit`) or ABORT marker of `producer_id`'s transaction.
    Marker { producer_id: i64, commit: bool },
}

impl Log {
    /// Calls `visit` with every data record from the log start to the high watermark, in
    /// offset order (control batches are skipped). Every batch's CRC is checked; damage is
    /// an error, as is any error `visit` returns.
    pub(crate) fn for_each_record(
        &self,
        mut visit: impl FnMut(&Record<'_>) -> Result<()>,
    ) -> Result<()> {
        self.scan_records(self.log_start_offset(), |record| {
            visit(record).map(|()| true)
        })
        .map(|_| ())
    }

    /// Calls `visit` with each data record from offset `from` (or the log start, if later)
    /// to the high watermark, in offset order, until it answers false (control batches are
    /// skipped; every batch's CRC is checked). Returns the offset after the last record
    /// visited or skipped: where a later call goes on.
    pub(crate) fn scan_records(
        &self,
        from: i64,
        visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        self.scan(from, self.high_watermark(), None, visit)
    }

    /// As [`Log::scan_records`], read committed: up to the last stable offset, without the
    /// records of aborted transactions.
    pub(crate) fn scan_committed_records(
        &self,
        from: i64,
        visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        let upper = self.last_stable_offset();
        let aborted = AbortedFilter::below(self, from, upper);
        self.scan(from, upper, Some(aborted), visit)
    }

    fn scan(
        &self,
        from: i64,
        upper: i64,
        mut aborted: Option<AbortedFilter>,
        mut visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        let mut next = from.max(self.log_start_offset());
        while next < upper {
            let data = self.read(next, 1 << 20)?;
            if data.is_empty() {
                break;
            }
            for batch in data.batches() {
                let batch = batch?;
                if batch.base_offset() >= upper {
                    return Ok(next.max(upper));
                }
                let skipped = aborted.as_mut().is_some_and(|a| a.skips(&batch));
                if !skipped && !batch.is_control() {
                    let undecodable = |e| data.undecodable(&batch, e);
                    let records = batch.records().map_err(undecodable)?;
                    for record in records.iter() {
                        let record = record.map_err(undecodable)?;
                        if record.offset < next {
                            continue;
                        }
                        if !visit(&record)? {
                            return Ok(next);
                        }
                        next = record.offset + 1;
                    }
                }
                next = next.max(batch.next_offset());
            }
        }
        Ok(next)
    }

    /// As [`Log::for_each_record`], with the transactions: each data record says whether
    /// its batch is transactional, and transaction markers are visited too (other control
    /// records are skipped).
    pub(crate) fn for_each_entry(
        &self,
        mut visit: impl FnMut(Entry<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        let mut offset = self.log_start_offset();
        while offset < self.high_watermark() {
            let data = self.read(offset, 1 << 20)?;
            if data.is_empty() {
                break;
            }
            for batch in data.batches() {
                let batch = batch?;
                offset = batch.next_offset();
                let undecodable = |e| data.undecodable(&batch, e);
                let records = batch.records().map_err(undecodable)?;
                if batch.is_control() {
                    for record in records.iter() {
                        let record = record.map_err(undecodable)?;
                        let kind = record.key.map(ControlRecordType::parse_key);
                        if let Some(Ok(
                            kind @ (ControlRecordType::Commit | ControlRecordType::Abort),
                        )) = kind
                        {
                            visit(Entry::Marker {
                                producer_id: batch.producer_id(),
                                commit: kind == ControlRecordType::Commit,
                            })?;
                        }
                    }
                    continue;
                }
                let transactional_producer = batch.is_transactional().then(|| batch.producer_id());
                for record in records.iter() {
                    visit(Entry::Record {
                        transactional_producer,
                        record: &record.map_err(undecodable)?,
                    })?;
                }
            }
        }
        Ok(())
    }
}
