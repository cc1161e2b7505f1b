//! Replaying a log from its start: how the metadata log and `__consumer_offsets` rebuild
//! their state when opened.

use super::partition::Log;
use crate::error::Result;
use crate::record::Record;

impl Log {
    /// Calls `visit` with every data record from the log start to the high watermark, in
    /// offset order (control batches are skipped). Every batch's CRC is checked; damage is
    /// an error, as is any error `visit` returns.
    pub(crate) fn for_each_record(
        &self,
        mut visit: impl FnMut(&Record<'_>) -> Result<()>,
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
                if batch.is_control() {
                    continue;
                }
                let undecodable = |e| data.undecodable(&batch, e);
                for record in batch.records().map_err(undecodable)?.iter() {
                    visit(&record.map_err(undecodable)?)?;
                }
            }
        }
        Ok(())
    }
}
