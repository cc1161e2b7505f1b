//! Property test: a partition log behaves like a `Vec` of records plus a log start offset,
//! through appends, reads (in and out of range), rolls, syncs, `delete_records`, retention under
//! a mock clock, timestamp lookups, clean close/reopen and crash-reopen (no close: what kill -9
//! leaves, since the page cache survives a process crash). Retention is checked against
//! Kafka's rules (`retention.ms`, `retention.bytes`, the log start offset) applied by the model
//! to the batches it appended: exactly the segments Kafka would delete must go.
//! `PROPTEST_CASES` sets the count (256 under `CI=true`); the test prints its seed, which
//! `PROPTEST_RNG_SEED` replays.

// Test arithmetic on small, known offsets, positions and partition numbers (issue 13 leaves
// these casts to a later pass; src/ is checked).
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::sync::Arc;

use kafkalite::storage::RealStorage;
use kafkalite::{
    BatchBuilder, Clock, Error, Log, LogOptions, MockClock, RecoveryMode, SegmentInfo, TopicConfig,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Batches of (key length, value length) records, at the clock time plus a jitter.
    Append(Vec<Vec<(usize, usize)>>, i64),
    Read(u16, u16),
    Roll,
    Sync,
    DeleteRecords(u16),
    AdvanceClock(i64),
    /// Moves the clock to where the oldest segment's records (or, when `true`, the active
    /// segment's: then every record) turn `retention.ms` old, plus -1, 0 or 1 ms: the edge of
    /// Kafka's `now - largest timestamp > retention.ms`.
    AdvanceToExpiry(i64, bool),
    Retention,
    Lookup(i64),
    CloseReopen,
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    let record = (0usize..12, 0usize..200);
    let batch = proptest::collection::vec(record, 1..6);
    prop_oneof![
        6 => (proptest::collection::vec(batch, 1..4), 0i64..50).prop_map(|(b, j)| Op::Append(b, j)),
        4 => (any::<u16>(), any::<u16>()).prop_map(|(o, m)| Op::Read(o, m)),
        1 => Just(Op::Roll),
        1 => Just(Op::Sync),
        1 => any::<u16>().prop_map(Op::DeleteRecords),
        1 => (0i64..8_000).prop_map(Op::AdvanceClock),
        1 => ((-1i64..=1), any::<bool>()).prop_map(|(d, active)| Op::AdvanceToExpiry(d, active)),
        1 => Just(Op::Retention),
        2 => (-10i64..20_000).prop_map(Op::Lookup),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::CrashReopen),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    offset: i64,
    timestamp: i64,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// A batch as the model appended it: what retention's rules look at.
#[derive(Debug, Clone)]
struct ModelBatch {
    first_offset: i64,
    bytes: u64,
    max_timestamp: i64,
}

struct Harness {
    dir: tempfile::TempDir,
    clock: MockClock,
    config: Arc<TopicConfig>,
    retention_ms: i64,
    retention_bytes: i64,
    log: Option<Log>,
    model: Vec<Rec>,
    /// Every batch still in some segment, also those below the log start.
    batches: Vec<ModelBatch>,
    log_start: i64,
}

impl Harness {
    fn new(retention_ms: i64, retention_bytes: i64) -> Self {
        let config = TopicConfig::from_overrides([
            ("segment.bytes", "1500"),
            ("index.interval.bytes", "200"),
            ("retention.ms", &retention_ms.to_string()),
            ("retention.bytes", &retention_bytes.to_string()),
        ])
        .unwrap();
        let mut h = Harness {
            dir: tempfile::tempdir().unwrap(),
            clock: MockClock::new(10_000),
            config: Arc::new(config),
            retention_ms,
            retention_bytes,
            log: None,
            model: Vec::new(),
            batches: Vec::new(),
            log_start: 0,
        };
        h.open(None, None);
        h
    }

    fn log(&self) -> &Log {
        self.log.as_ref().unwrap()
    }

    fn open(&mut self, recovery_point: Option<i64>, clean_active_size: Option<u64>) {
        let options = LogOptions {
            name: "t-0".into(),
            recovery_point,
            log_start_offset: self.log_start,
            clean_active_size,
            recovery_mode: RecoveryMode::TolerateCorruptTail,
            salvage_dir: None,
        };
        let (log, _) = Log::open(
            Arc::new(RealStorage),
            self.dir.path(),
            Arc::clone(&self.config),
            Arc::new(self.clock.clone()),
            options,
        )
        .unwrap();
        self.log = Some(log);
    }

    /// How many of the oldest `segments` Kafka's deletion retention removes
    /// (`UnifiedLog.deleteOldSegments`): oldest first, stopping at the first that does not
    /// qualify; a segment qualifies when the next one starts at or below the log start
    /// offset, when `now - its largest timestamp > retention.ms`, or while the log without it
    /// still holds at least `retention.bytes`. Sizes and timestamps come from the batches the
    /// model appended (checked against the segment sizes the log reports). Every segment here
    /// lies below the high watermark (no `flush.messages`). The active segment qualifies too
    /// unless it is empty (Kafka's `isLastSegmentAndEmpty`); it is never deleted by the log
    /// start offset (there is no next segment), and when it goes a new empty one is rolled.
    fn expected_retention(&self, segments: &[SegmentInfo]) -> Result<usize, TestCaseError> {
        let in_segment = |i: usize| {
            let base = segments[i].base_offset;
            let next = segments.get(i + 1).map_or(i64::MAX, |s| s.base_offset);
            self.batches
                .iter()
                .filter(move |b| b.first_offset >= base && b.first_offset < next)
        };
        let sizes: Vec<u64> = (0..segments.len())
            .map(|i| in_segment(i).map(|b| b.bytes).sum())
            .collect();
        for (segment, &size) in segments.iter().zip(&sizes) {
            prop_assert_eq!(segment.size_bytes, size, "segment {:?}", segment);
        }
        let now = self.clock.now_ms();
        let mut total: u64 = sizes.iter().sum();
        let mut doomed = 0;
        for (i, &size) in sizes.iter().enumerate() {
            let next = segments.get(i + 1);
            if next.is_none() && size == 0 {
                break;
            }
            let by_start = next.is_some_and(|next| next.base_offset <= self.log_start);
            let by_time = self.retention_ms >= 0
                && in_segment(i)
                    .map(|b| b.max_timestamp)
                    .max()
                    .is_some_and(|newest| now - newest > self.retention_ms);
            let by_size = self.retention_bytes >= 0 && total - size >= self.retention_bytes as u64;
            if !(by_start || by_time || by_size) {
                break;
            }
            total -= size;
            doomed += 1;
        }
        Ok(doomed)
    }

    fn end(&self) -> i64 {
        self.model
            .last()
            .map_or(self.log_start, |r| r.offset + 1)
            .max(self.log_start)
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(batches, jitter) => {
                let mut bytes = Vec::new();
                let mut pending = Vec::new();
                let mut pending_batches = Vec::new();
                let mut next = self.end();
                for (b, batch) in batches.iter().enumerate() {
                    let mut builder = BatchBuilder::new();
                    let first_offset = next;
                    let mut max_timestamp = i64::MIN;
                    for (i, &(key_len, value_len)) in batch.iter().enumerate() {
                        let timestamp = self.clock.now_ms() + jitter + (b * 7 + i) as i64;
                        let key = vec![b'k'; key_len];
                        let value: Vec<u8> =
                            (0..value_len).map(|j| (next as usize + j) as u8).collect();
                        builder
                            .append(timestamp, Some(&key), Some(&value), &[])
                            .unwrap();
                        max_timestamp = max_timestamp.max(timestamp);
                        pending.push(Rec {
                            offset: next,
                            timestamp,
                            key,
                            value,
                        });
                        next += 1;
                    }
                    let built = builder.build().unwrap();
                    pending_batches.push(ModelBatch {
                        first_offset,
                        bytes: built.len() as u64,
                        max_timestamp,
                    });
                    bytes.extend(built);
                }
                if bytes.len() as u64 > self.config.segment_bytes {
                    let result = self.log().append(&bytes);
                    prop_assert!(
                        matches!(result, Err(Error::RecordBatchTooLarge { .. })),
                        "{result:?}"
                    );
                    return Ok(());
                }
                let info = self.log().append(&bytes).unwrap();
                prop_assert_eq!(info.first_offset, self.end());
                prop_assert_eq!(info.last_offset, next - 1);
                self.model.extend(pending);
                self.batches.extend(pending_batches);
            }
            Op::Read(at, max_bytes) => {
                let span = self.end() - self.log_start + 3;
                let offset = self.log_start - 1 + (*at as i64 % span);
                let result = self.log().read(offset, *max_bytes as usize);
                if offset < self.log_start || offset > self.end() {
                    prop_assert!(
                        matches!(result, Err(Error::OffsetOutOfRange { .. })),
                        "{offset}: {result:?}"
                    );
                } else if offset == self.end() {
                    prop_assert!(result.unwrap().is_empty());
                } else {
                    let data = result.unwrap();
                    let mut got = Vec::new();
                    for batch in data.batches() {
                        let batch = batch.unwrap();
                        let records = batch.records().unwrap();
                        for r in records.iter() {
                            let r = r.unwrap();
                            if r.offset >= offset {
                                got.push(Rec {
                                    offset: r.offset,
                                    timestamp: r.timestamp,
                                    key: r.key.unwrap().to_vec(),
                                    value: r.value.unwrap().to_vec(),
                                });
                            }
                        }
                    }
                    let from = (offset - self.model[0].offset) as usize;
                    prop_assert!(!got.is_empty(), "read at {} returned nothing", offset);
                    prop_assert_eq!(&got[..], &self.model[from..from + got.len()]);
                }
            }
            Op::Roll => self.log().roll().unwrap(),
            Op::Sync => {
                self.log().sync().unwrap();
                prop_assert_eq!(self.log().durable_offset(), self.end());
            }
            Op::DeleteRecords(at) => {
                let offset = self.log_start + (*at as i64 % (self.end() - self.log_start + 1));
                let start = self.log().delete_records(offset).unwrap();
                prop_assert_eq!(start, offset.max(self.log_start));
                self.log_start = start;
            }
            Op::AdvanceClock(ms) => self.clock.advance_ms(*ms),
            Op::AdvanceToExpiry(delta, active) => {
                let segments = self.log().segments();
                let target = if *active { segments.len() - 1 } else { 0 };
                let base = segments[target].base_offset;
                let next = segments.get(target + 1).map(|s| s.base_offset);
                let newest = self
                    .batches
                    .iter()
                    .filter(|b| b.first_offset >= base && next.is_none_or(|n| b.first_offset < n))
                    .map(|b| b.max_timestamp)
                    .max();
                if let Some(newest) = newest.filter(|_| self.retention_ms >= 0) {
                    let at = newest + self.retention_ms + delta;
                    if at > self.clock.now_ms() {
                        self.clock.set_ms(at);
                    }
                }
            }
            Op::Retention => {
                let segments_before = self.log().segments();
                let doomed = self.expected_retention(&segments_before)?;
                let deleted = self.log().apply_retention().unwrap();
                let segments = self.log().segments();
                let rolled = SegmentInfo {
                    base_offset: self.log().log_end_offset(),
                    size_bytes: 0,
                };
                let expected = match &segments_before[doomed..] {
                    [] => vec![rolled],
                    kept => kept.to_vec(),
                };
                prop_assert_eq!(
                    &segments[..],
                    &expected[..],
                    "Kafka's rules delete the {} oldest of {:?} (retention.ms {}, retention.bytes {}, \
                     log start {}, now {})",
                    doomed,
                    segments_before,
                    self.retention_ms,
                    self.retention_bytes,
                    self.log_start,
                    self.clock.now_ms()
                );
                prop_assert_eq!(deleted, doomed);
                self.log_start = self.log_start.max(segments[0].base_offset);
                self.batches
                    .retain(|b| b.first_offset >= segments[0].base_offset);
            }
            Op::Lookup(delta) => {
                let target = self.clock.now_ms() - 10_000 + delta;
                let expected = self
                    .model
                    .iter()
                    .find(|r| r.offset >= self.log_start && r.timestamp >= target)
                    .map(|r| (r.offset, r.timestamp));
                prop_assert_eq!(
                    self.log().offset_for_timestamp(target).unwrap(),
                    expected,
                    "target {}",
                    target
                );
            }
            Op::CloseReopen => {
                let log = self.log.take().unwrap();
                log.close().unwrap();
                let size = log.active_segment_size();
                let end = log.log_end_offset();
                drop(log);
                self.open(Some(end), Some(size));
            }
            Op::CrashReopen => {
                let durable = self.log().durable_offset();
                self.log.take();
                self.open(Some(durable), None);
            }
        }
        self.model.retain(|r| r.offset >= self.log_start);
        prop_assert_eq!(self.log().log_start_offset(), self.log_start);
        prop_assert_eq!(self.log().log_end_offset(), self.end());
        Ok(())
    }
}

proptest! {
    #![proptest_config(common::proptest_config(48, "tests/model.proptest-regressions"))]

    #[test]
    fn log_matches_the_model(
        ops in proptest::collection::vec(op(), 1..60),
        retention_ms in prop_oneof![Just(-1i64), 5_000i64..30_000],
        retention_bytes in prop_oneof![Just(-1i64), 1_000i64..6_000],
    ) {
        let mut harness = Harness::new(retention_ms, retention_bytes);
        for op in &ops {
            harness.apply(op)?;
        }
        let everything = Op::Read(0, u16::MAX);
        harness.apply(&everything)?;
    }
}
