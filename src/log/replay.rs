//! Replaying a log from its start (how the metadata log, `__consumer_offsets` and
//! `__transaction_state` rebuild their state when opened), or from an offset (the event
//! store's reads of a partition and its subscriptions).

use super::partition::Log;
use super::{AbortedFilter, FetchData};
use crate::error::{Error, Result};
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

    /// Calls `visit` with each data record from offset `from` (or the log start, if later,
    /// also when retention raises it during the scan) to the high watermark, in offset
    /// order, until it answers false (control batches are skipped; every batch's CRC is
    /// checked). Returns the offset after the last record visited or skipped: where a later
    /// call goes on.
    pub(crate) fn scan_records(
        &self,
        from: i64,
        visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        self.scan(from, self.high_watermark(), false, visit)
    }

    /// As [`Log::scan_records`], read committed: up to the last stable offset, without the
    /// records of aborted transactions.
    pub(crate) fn scan_committed_records(
        &self,
        from: i64,
        visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        self.scan(from, self.last_stable_offset(), true, visit)
    }

    fn scan(
        &self,
        from: i64,
        upper: i64,
        committed: bool,
        mut visit: impl FnMut(&Record<'_>) -> Result<bool>,
    ) -> Result<i64> {
        let mut next = from.max(self.log_start_offset());
        // From where the scan begins, with the log start read once: a transaction whose
        // ABORT marker lies below it would otherwise join the filter and never leave it.
        let mut aborted = committed.then(|| AbortedFilter::below(self, next, upper));
        while next < upper {
            let read = |at| self.read(at, 1 << 20);
            let Some(data) = self.read_on_from_start(&mut next, upper, &mut aborted, read)? else {
                break;
            };
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

    /// `read` at `*next`, below `upper`. When retention raised the log start past `*next`
    /// meanwhile, goes on from the new start, as a read begun after it would: `*next` moves
    /// there, and `aborted` (a read-committed reader's filter, up to `upper`) is built again
    /// from there (a transaction whose ABORT marker retention removed would otherwise stay
    /// pending, and skip its producer's later batches). `None` once `*next` reaches `upper`.
    pub(crate) fn read_on_from_start(
        &self,
        next: &mut i64,
        upper: i64,
        aborted: &mut Option<AbortedFilter>,
        read: impl Fn(i64) -> Result<FetchData>,
    ) -> Result<Option<FetchData>> {
        while *next < upper {
            match read(*next) {
                Err(Error::OffsetOutOfRange { log_start, .. }) if *next < log_start => {
                    *next = log_start;
                    if aborted.is_some() {
                        *aborted = Some(AbortedFilter::below(self, log_start, upper));
                    }
                }
                result => return result.map(Some),
            }
        }
        Ok(None)
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Log;
    use crate::config::TopicConfig;
    use crate::record::BatchBuilder;
    use crate::storage::SimStorage;

    /// Retention that raises the log start while a scan is under way (between two of its
    /// reads) moves the scan on to the new start, as a scan begun after it would; the records
    /// it removed are not visited, and no error is raised.
    #[test]
    fn a_scan_goes_on_from_a_log_start_raised_during_it() {
        let sim = SimStorage::new(Path::new("/sim"));
        // One batch per segment, so each read of the scan is one segment.
        let config = TopicConfig::from_overrides([("segment.bytes", "200")]).unwrap();
        let log = crate::log::test_log::open(&sim, config, None).unwrap().0;
        for n in 0..6u8 {
            let mut batch = BatchBuilder::new();
            batch.append(0, Some(b"k"), Some(&[n; 100]), &[]).unwrap();
            log.append(&batch.build().unwrap()).unwrap();
        }
        assert!(log.segments().len() >= 6, "{:?}", log.segments());
        let mut visited = Vec::new();
        let next = log
            .scan_records(0, |record| {
                visited.push(record.offset);
                if record.offset == 1 {
                    log.delete_records(4)?;
                }
                Ok(true)
            })
            .unwrap();
        assert_eq!(visited, [0, 1, 4, 5]);
        assert_eq!(next, 6);
    }

    /// Read committed, a scan that retention overtakes takes the aborted transactions from
    /// the new start: an aborted transaction wholly below it (marker included) must not
    /// make the scan skip its producer's committed transaction after it.
    /// Offsets 0 (plain), then producer 7's aborted transaction at 1 (its marker at 2)
    /// and committed one at 3 (its marker at 4), each batch in a segment of its own.
    fn log_with_an_aborted_then_a_committed_transaction(sim: &SimStorage) -> Log {
        let config = TopicConfig::from_overrides([("segment.bytes", "100")]).unwrap();
        let log = crate::log::test_log::open(sim, config, None).unwrap().0;
        let append = |batch: BatchBuilder| log.append(&batch.build().unwrap()).unwrap();
        let mut plain = BatchBuilder::new();
        plain.append(0, Some(b"k"), Some(b"plain"), &[]).unwrap();
        append(plain);
        for (sequence, commit) in [(0, false), (1, true)] {
            let mut batch = BatchBuilder::new()
                .producer(7, 0, sequence)
                .transactional(true);
            batch.append(0, Some(b"k"), Some(b"txn"), &[]).unwrap();
            append(batch);
            log.write_transaction_marker(7, 0, 0, commit).unwrap();
        }
        assert!(log.segments().len() >= 5, "{:?}", log.segments());
        log
    }

    #[test]
    fn a_committed_scan_from_below_the_log_start_reads_what_follows_an_aborted_transaction() {
        let sim = SimStorage::new(Path::new("/sim"));
        let log = log_with_an_aborted_then_a_committed_transaction(&sim);
        // The aborted transaction's marker is gone; its record of it stays until a
        // retention pass.
        log.delete_records(3).unwrap();
        assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 1);
        let mut visited = Vec::new();
        let next = log
            .scan_committed_records(0, |record| {
                visited.push(record.offset);
                Ok(true)
            })
            .unwrap();
        assert_eq!((visited, next), (vec![3], 5));
    }

    #[test]
    fn a_committed_transaction_after_an_aborted_one_retention_removed_is_read() {
        let sim = SimStorage::new(Path::new("/sim"));
        let log = log_with_an_aborted_then_a_committed_transaction(&sim);
        let mut visited = Vec::new();
        log.scan_committed_records(0, |record| {
            visited.push(record.offset);
            if record.offset == 0 {
                log.delete_records(3)?;
            }
            Ok(true)
        })
        .unwrap();
        assert_eq!(visited, [0, 3]);
    }
}
