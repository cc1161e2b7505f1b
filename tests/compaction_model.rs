//! Property test: a compacted log cleaned by `Log::clean` holds exactly what Kafka's cleaner
//! rules leave, through appends (keyed, tombstones, and keyless ones: refused, as Kafka's
//! `LogValidator` does, then appended while the topic's policy is `delete`, as records written
//! before a topic became compacted), rolls, cleanings with a roomy
//! or a tight offset map, clock moves, clean close/reopen and crash-reopen. The model applies
//! Kafka's rules (`LogCleaner.shouldRetainRecord`, KIP-534's delete horizon) to the records it
//! appended, given the end offset each cleaning reports; that end offset is checked against
//! what the cleaner may and must reach. `PROPTEST_CASES` sets the count (256 under
//! `CI=true`); the test prints its seed, which `PROPTEST_RNG_SEED` replays.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use kafkalite::storage::RealStorage;
use kafkalite::{
    BatchBuilder, Clock, Error, Log, LogOptions, MockClock, RecoveryMode, TopicConfig,
};
use proptest::prelude::*;

const DELETE_RETENTION_MS: i64 = 1_000;
const ROOMY_MAP: usize = 1 << 20;

#[derive(Debug, Clone)]
enum Op {
    /// A batch of (key, value) records: key `None` is keyless, value `None` a tombstone.
    Append(Vec<(Option<u8>, Option<u8>)>),
    Roll,
    /// Cleans with a roomy map, or one of this many bytes.
    Clean(Option<usize>),
    AdvanceClock(i64),
    CloseReopen,
    CrashReopen,
}

fn op() -> impl Strategy<Value = Op> {
    let record = (
        prop_oneof![1 => Just(None), 8 => (0u8..6).prop_map(Some)],
        prop_oneof![1 => Just(None), 4 => any::<u8>().prop_map(Some)],
    );
    prop_oneof![
        8 => proptest::collection::vec(record, 1..5).prop_map(Op::Append),
        2 => Just(Op::Roll),
        3 => prop_oneof![3 => Just(None), 1 => (0usize..600).prop_map(Some)].prop_map(Op::Clean),
        2 => (0i64..1_500).prop_map(Op::AdvanceClock),
        1 => Just(Op::CloseReopen),
        1 => Just(Op::CrashReopen),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    offset: i64,
    key: Option<u8>,
    value: Option<u8>,
}

struct Harness {
    dir: tempfile::TempDir,
    clock: MockClock,
    config: Arc<TopicConfig>,
    /// The same settings under `cleanup.policy=delete`.
    uncompacted: Arc<TopicConfig>,
    log: Option<Log>,
    /// The records the log must hold.
    model: Vec<Rec>,
    /// When each tombstone's batch was first rewritten with it kept (its delete horizon is
    /// that time plus `delete.retention.ms`).
    stamped: HashMap<i64, i64>,
    end: i64,
    checkpoint: Option<i64>,
}

impl Harness {
    fn new() -> Harness {
        let config = |policy| {
            let retention = DELETE_RETENTION_MS.to_string();
            let config = TopicConfig::from_overrides([
                ("cleanup.policy", policy),
                ("segment.bytes", "400"),
                ("index.interval.bytes", "100"),
                ("delete.retention.ms", &retention),
            ]);
            Arc::new(config.unwrap())
        };
        let mut h = Harness {
            dir: tempfile::tempdir().unwrap(),
            clock: MockClock::new(10_000),
            config: config("compact"),
            uncompacted: config("delete"),
            log: None,
            model: Vec::new(),
            stamped: HashMap::new(),
            end: 0,
            checkpoint: None,
        };
        h.open();
        h
    }

    fn log(&self) -> &Log {
        self.log.as_ref().unwrap()
    }

    fn open(&mut self) {
        let options = LogOptions {
            name: "t-0".into(),
            recovery_point: None,
            log_start_offset: 0,
            clean_active_size: None,
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

    fn contents(&self) -> Vec<Rec> {
        common::records_of(self.log())
            .into_iter()
            .map(|(offset, key, value)| Rec {
                offset,
                key: key.map(|k| k[0]),
                value: value.map(|v| v[0]),
            })
            .collect()
    }

    /// Kafka's rules for a cleaning at `now` that mapped everything below `end` and rewrote
    /// the segments below `rewritten`.
    fn clean_model(&mut self, end: i64, rewritten: i64, now: i64) {
        let mut latest = HashMap::new();
        for r in self.model.iter().filter(|r| r.offset < end) {
            if let Some(key) = r.key {
                latest.insert(key, r.offset);
            }
        }
        let stamped = &mut self.stamped;
        self.model.retain(|r| {
            if r.offset >= end {
                // Past what was mapped: kept, a tombstone stamped if its batch was rewritten.
                if r.value.is_none() && r.offset < rewritten {
                    stamped.entry(r.offset).or_insert(now);
                }
                return true;
            }
            let Some(key) = r.key else {
                return false;
            };
            if latest[&key] != r.offset {
                return false;
            }
            if r.value.is_some() {
                return true;
            }
            match stamped.get(&r.offset) {
                Some(&at) if now >= at + DELETE_RETENTION_MS => false,
                Some(_) => true,
                None => {
                    stamped.insert(r.offset, now);
                    true
                }
            }
        });
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(records) => {
                let mut builder = BatchBuilder::new();
                for &(key, value) in records {
                    let key = key.map(|k| [k]);
                    let value = value.map(|v| [v]);
                    builder
                        .append(
                            self.clock.now_ms(),
                            key.as_ref().map(|k| &k[..]),
                            value.as_ref().map(|v| &v[..]),
                            &[],
                        )
                        .unwrap();
                }
                let batch = builder.build().unwrap();
                if records.iter().any(|(key, _)| key.is_none()) {
                    let refused = self.log().append(&batch);
                    prop_assert!(
                        matches!(refused, Err(Error::InvalidRecord(_))),
                        "a keyless record on a compacted topic: {:?}",
                        refused
                    );
                    prop_assert_eq!(self.log().log_end_offset(), self.end);
                    self.log().set_config(Arc::clone(&self.uncompacted));
                }
                let appended = self.log().append(&batch);
                self.log().set_config(Arc::clone(&self.config));
                let info = appended.unwrap();
                prop_assert_eq!(info.first_offset, self.end);
                for &(key, value) in records {
                    self.model.push(Rec {
                        offset: self.end,
                        key,
                        value,
                    });
                    self.end += 1;
                }
            }
            Op::Roll => self.log().roll().unwrap(),
            Op::Clean(map) => self.clean(*map)?,
            Op::AdvanceClock(ms) => self.clock.advance_ms(*ms),
            Op::CloseReopen => {
                self.log.take().unwrap().close().unwrap();
                self.open();
            }
            Op::CrashReopen => {
                drop(self.log.take());
                self.open();
            }
        }
        prop_assert_eq!(self.log().log_end_offset(), self.end);
        prop_assert_eq!(&self.contents(), &self.model);
        Ok(())
    }

    fn clean(&mut self, map: Option<usize>) -> Result<(), TestCaseError> {
        let now = self.clock.now_ms();
        let bytes = map.unwrap_or(ROOMY_MAP);
        let segments = self.log().segments();
        let active = segments.last().unwrap().base_offset;
        let first_dirty = self.checkpoint.unwrap_or(0);
        // Kafka's map: a 24-byte entry per key, filled to 90%.
        let capacity = bytes / 24 * 9 / 10;
        match self.log().clean(self.checkpoint, now, bytes) {
            Ok(None) => prop_assert_eq!(first_dirty, active, "only a clean log has nothing to do"),
            Ok(Some(stats)) => {
                prop_assert_eq!(stats.first_dirty_offset, first_dirty);
                prop_assert!(stats.end_offset > first_dirty && stats.end_offset <= active);
                prop_assert!(stats.keys_mapped <= capacity);
                if map.is_none() {
                    prop_assert_eq!(stats.end_offset, active, "a roomy map cleans all");
                }
                // Kafka rewrites every segment holding offsets below the end.
                let rewritten = segments
                    .iter()
                    .skip(1)
                    .map(|s| s.base_offset)
                    .find(|&base| base >= stats.end_offset)
                    .unwrap_or(active);
                self.clean_model(stats.end_offset, rewritten, now);
                self.checkpoint = Some(stats.end_offset);
            }
            Err(Error::InvalidConfig { key, .. }) => {
                prop_assert_eq!(key, "log.cleaner.dedupe.buffer.size");
                prop_assert_eq!(capacity, 0);
            }
            Err(other) => return Err(TestCaseError::fail(format!("clean: {other}"))),
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, "tests/compaction_model.proptest-regressions"))]

    #[test]
    fn a_cleaned_log_holds_what_kafkas_rules_leave(ops in proptest::collection::vec(op(), 1..80)) {
        let mut h = Harness::new();
        for op in &ops {
            h.apply(op)?;
        }
        // A final cleaning with everything rolled leaves one record per key at most.
        h.apply(&Op::Roll)?;
        h.apply(&Op::Clean(None))?;
        let mut keys: Vec<u8> = h.contents().iter().filter_map(|r| r.key).collect();
        let count = keys.len();
        keys.dedup();
        keys.sort_unstable();
        keys.dedup();
        prop_assert_eq!(keys.len(), count, "one record per key after a full cleaning");
        prop_assert!(h.contents().iter().all(|r| r.key.is_some()), "keyless records go");
    }
}
