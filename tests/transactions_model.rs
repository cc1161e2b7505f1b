//! Property test: a partition's transaction bookkeeping behaves as Kafka's, through
//! transactional and plain writes from several producers, COMMIT and ABORT markers (also
//! for producers with nothing open), rolls, clean close/reopen and crash-reopen. The model
//! keeps the open transactions and derives, as Kafka's `ProducerStateManager` and
//! `TransactionIndex` do: the last stable offset (the first offset of the oldest open
//! transaction, else the log end), and for each abort an entry (producer, first offset,
//! marker offset, and the last stable offset at the abort: the oldest transaction of
//! another producer still open, else the offset after the marker). `aborted_transactions`
//! must list exactly those, also after every reopen (from `.txnindex` files and replay).
//! `PROPTEST_CASES` sets the count; the test prints its seed (`PROPTEST_RNG_SEED` replays).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use kafkalite::{AbortedTransaction, BatchBuilder, Log, MockClock, TopicConfig};
use proptest::prelude::*;

const PRODUCERS: i64 = 3;

#[derive(Debug, Clone)]
enum Op {
    /// A transactional batch of `n` records from the producer (opening a transaction).
    Write(i64, i32),
    /// A batch without a producer.
    Plain(i32),
    /// The producer's COMMIT (`true`) or ABORT marker.
    End(i64, bool),
    Roll,
    CloseReopen,
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..PRODUCERS, 1i32..4).prop_map(|(p, n)| Op::Write(p, n)),
        2 => (1i32..3).prop_map(Op::Plain),
        4 => (0..PRODUCERS, any::<bool>()).prop_map(|(p, c)| Op::End(p, c)),
        1 => Just(Op::Roll),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::CrashReopen),
    ]
}

struct Harness {
    dir: tempfile::TempDir,
    config: Arc<TopicConfig>,
    log: Option<Log>,
    end: i64,
    /// Next sequence per producer.
    sequences: BTreeMap<i64, i32>,
    /// Open transactions: producer → first offset.
    open: BTreeMap<i64, i64>,
    aborted: Vec<AbortedTransaction>,
}

impl Harness {
    fn new() -> Self {
        let config = TopicConfig::from_overrides([("segment.bytes", "1000000")]).unwrap();
        let mut h = Harness {
            dir: tempfile::tempdir().unwrap(),
            config: Arc::new(config),
            log: None,
            end: 0,
            sequences: BTreeMap::new(),
            open: BTreeMap::new(),
            aborted: Vec::new(),
        };
        h.open(None, None);
        h
    }

    fn log(&self) -> &Log {
        self.log.as_ref().unwrap()
    }

    fn open(&mut self, recovery_point: Option<i64>, clean_active_size: Option<u64>) {
        let clock = MockClock::new(10_000);
        let (log, report) = common::open_log(
            self.dir.path(),
            &self.config,
            clock,
            recovery_point,
            clean_active_size,
        );
        assert_eq!(report.damaged_txn_indexes, 0);
        self.log = Some(log);
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Write(producer, n) => {
                let sequence = self.sequences.entry(producer).or_insert(0);
                let mut builder = BatchBuilder::new()
                    .producer(producer, 0, *sequence)
                    .transactional(true);
                for i in 0..n {
                    builder
                        .append(10_000, Some(format!("k{i}").as_bytes()), Some(b"v"), &[])
                        .unwrap();
                }
                *sequence += n;
                let info = self.log().append(&builder.build().unwrap()).unwrap();
                prop_assert_eq!(info.first_offset, self.end);
                self.open.entry(producer).or_insert(self.end);
                self.end += i64::from(n);
            }
            Op::Plain(n) => {
                let mut builder = BatchBuilder::new();
                for _ in 0..n {
                    builder.append(10_000, None, Some(b"p"), &[]).unwrap();
                }
                self.log().append(&builder.build().unwrap()).unwrap();
                self.end += i64::from(n);
            }
            Op::End(producer, commit) => {
                let info = self
                    .log()
                    .write_transaction_marker(producer, 0, 0, commit)
                    .unwrap();
                prop_assert_eq!(info.first_offset, self.end);
                let marker = self.end;
                self.end += 1;
                if let Some(first) = self.open.remove(&producer) {
                    if !commit {
                        let lso = self.open.values().min().copied().unwrap_or(marker + 1);
                        self.aborted.push(AbortedTransaction {
                            producer_id: producer,
                            first_offset: first,
                            last_offset: marker,
                            last_stable_offset: lso,
                        });
                    }
                }
            }
            Op::Roll => self.log().roll().unwrap(),
            Op::CloseReopen => {
                let log = self.log.take().unwrap();
                log.close().unwrap();
                let size = log.active_segment_size();
                drop(log);
                self.open(Some(self.end), Some(size));
            }
            Op::CrashReopen => {
                let durable = self.log().durable_offset();
                self.log.take();
                self.open(Some(durable), None);
            }
        }
        let log = self.log();
        prop_assert_eq!(log.log_end_offset(), self.end);
        let lso = self.open.values().min().copied().unwrap_or(self.end);
        prop_assert_eq!(log.last_stable_offset(), lso, "last stable offset");
        prop_assert_eq!(log.aborted_transactions(0, i64::MAX), self.aborted.clone());
        // The range query: markers at or after `from`, started below `upper`.
        for (from, upper) in [(0, lso), (self.end / 2, lso), (self.end / 3, self.end)] {
            let expected: Vec<AbortedTransaction> = self
                .aborted
                .iter()
                .filter(|t| t.last_offset >= from && t.first_offset < upper)
                .copied()
                .collect();
            prop_assert_eq!(log.aborted_transactions(from, upper), expected);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/transactions_model.proptest-regressions"))]

    #[test]
    fn lso_and_aborted_transactions_match_kafkas_rules(ops in proptest::collection::vec(op(), 1..80)) {
        let mut harness = Harness::new();
        for op in &ops {
            harness.apply(op)?;
        }
    }
}
