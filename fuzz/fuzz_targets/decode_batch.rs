//! Any bytes decoded as record batches, back to back, as a fetch or recovery walks them.
//! Oracle: no panic and bounded memory (libFuzzer's `-malloc_limit_mb`); a batch whose CRC
//! holds and whose records all decode builds again, through `BatchBuilder`, into a batch that
//! decodes to the same records.

#![no_main]

use kafkalite::record::BatchIter;
use kafkalite::{BatchBuilder, Header, RecordBatch, TimestampType};
use libfuzzer_sys::fuzz_target;

/// A decoded record: offset delta, timestamp, key, value, headers.
type Decoded = (
    i32,
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(Vec<u8>, Option<Vec<u8>>)>,
);

fn decode(batch: &RecordBatch<'_>) -> Option<Vec<Decoded>> {
    let records = batch.records().ok()?;
    let mut out = Vec::new();
    for record in records.iter() {
        let record = record.ok()?;
        let headers = record
            .headers()
            .map(|h| (h.key.to_vec(), h.value.map(<[u8]>::to_vec)))
            .collect();
        out.push((
            record.offset_delta,
            record.timestamp,
            record.key.map(<[u8]>::to_vec),
            record.value.map(<[u8]>::to_vec),
            headers,
        ));
    }
    Some(out)
}

fn rebuild(batch: &RecordBatch<'_>, records: &[Decoded]) -> Option<Vec<u8>> {
    let mut builder = BatchBuilder::new()
        .compression(batch.compression().ok()?)
        .base_offset(batch.base_offset());
    for (_, timestamp, key, value, headers) in records {
        let headers: Vec<Header<'_>> = headers
            .iter()
            .map(|(key, value)| Header {
                key,
                value: value.as_deref(),
            })
            .collect();
        builder
            .append(*timestamp, key.as_deref(), value.as_deref(), &headers)
            .ok()?;
    }
    builder.build().ok()
}

fuzz_target!(|data: &[u8]| {
    for item in BatchIter::new(data) {
        let Ok((_, batch)) = item else { break };
        // Every accessor must hold on any header that parsed.
        let _ = (batch.max_timestamp(), batch.next_offset(), batch.is_dense());
        let _ = (
            batch.producer_id(),
            batch.last_sequence(),
            batch.delete_horizon_ms(),
        );
        let Some(records) = decode(&batch) else {
            continue;
        };
        let plain = batch.verify_crc().is_ok()
            && !batch.is_control()
            && batch.timestamp_type() == TimestampType::CreateTime
            && records.iter().enumerate().all(|(i, r)| r.0 as usize == i)
            && !records.is_empty();
        if !plain {
            continue;
        }
        // Records the builder accepts must come back the same from what it builds.
        if let Some(rebuilt) = rebuild(&batch, &records) {
            let again = RecordBatch::new(&rebuilt).expect("the builder's batch parses");
            again.verify_crc().expect("the builder's CRC holds");
            assert_eq!(
                decode(&again).expect("the builder's records decode"),
                records
            );
            assert_eq!(again.base_offset(), batch.base_offset());
        }
    }
});
