//! Per-topic configuration with Kafka's property names, defaults and validation rules.

use std::collections::BTreeMap;

use super::record_format::TimestampType;
use super::suggest::nearest;
use crate::error::{Error, Result};

/// How values of one key are checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer in `[min, max]`.
    Long { min: i64, max: i64 },
    /// A floating-point number in `[0, 1]`.
    Ratio,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// A comma-separated, non-empty subset of `delete` and `compact`.
    CleanupPolicy,
}

/// (key, kind, Kafka's default, whether kafkalite acts on it yet)
const SPECS: &[(&str, Kind, &str, bool)] = &[
    ("cleanup.policy", Kind::CleanupPolicy, "delete", true),
    (
        "retention.ms",
        Kind::Long {
            min: -1,
            max: i64::MAX,
        },
        "604800000",
        true,
    ),
    (
        "retention.bytes",
        Kind::Long {
            min: -1,
            max: i64::MAX,
        },
        "-1",
        true,
    ),
    (
        "segment.bytes",
        Kind::Long {
            min: 14,
            max: i32::MAX as i64,
        },
        "1073741824",
        true,
    ),
    (
        "segment.ms",
        Kind::Long {
            min: 1,
            max: i64::MAX,
        },
        "604800000",
        true,
    ),
    (
        "segment.index.bytes",
        Kind::Long {
            min: 4,
            max: i32::MAX as i64,
        },
        "10485760",
        true,
    ),
    (
        "index.interval.bytes",
        Kind::Long {
            min: 0,
            max: i32::MAX as i64,
        },
        "4096",
        true,
    ),
    (
        "max.message.bytes",
        Kind::Long {
            min: 0,
            max: i32::MAX as i64,
        },
        "1048588",
        true,
    ),
    (
        "message.timestamp.type",
        Kind::Choice(&["CreateTime", "LogAppendTime"]),
        "CreateTime",
        true,
    ),
    (
        "flush.messages",
        Kind::Long {
            min: 1,
            max: i64::MAX,
        },
        "9223372036854775807",
        true,
    ),
    (
        "flush.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "9223372036854775807",
        true,
    ),
    (
        "compression.type",
        Kind::Choice(&[
            "producer",
            "uncompressed",
            "none",
            "lz4",
            "gzip",
            "snappy",
            "zstd",
        ]),
        "producer",
        false,
    ),
    ("min.cleanable.dirty.ratio", Kind::Ratio, "0.5", true),
    (
        "min.compaction.lag.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "0",
        true,
    ),
    (
        "max.compaction.lag.ms",
        Kind::Long {
            min: 1,
            max: i64::MAX,
        },
        "9223372036854775807",
        true,
    ),
    (
        "delete.retention.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "86400000",
        true,
    ),
    (
        "file.delete.delay.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "60000",
        false,
    ),
    (
        "segment.jitter.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "0",
        false,
    ),
    (
        "message.timestamp.before.max.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "9223372036854775807",
        false,
    ),
    (
        "message.timestamp.after.max.ms",
        Kind::Long {
            min: 0,
            max: i64::MAX,
        },
        "3600000",
        false,
    ),
    (
        "min.insync.replicas",
        Kind::Long { min: 1, max: 1 },
        "1",
        false,
    ),
    (
        "preallocate",
        Kind::Choice(&["true", "false"]),
        "false",
        false,
    ),
];

/// A topic's configuration: Kafka's keys and defaults, the overrides the user set, and typed
/// accessors for the values the log acts on.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
    /// `cleanup.policy` contains `delete`.
    pub cleanup_delete: bool,
    /// `cleanup.policy` contains `compact`.
    pub cleanup_compact: bool,
    /// `retention.ms` (−1: unlimited).
    pub retention_ms: i64,
    /// `retention.bytes` per partition (−1: unlimited).
    pub retention_bytes: i64,
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: i64,
    /// `segment.index.bytes`.
    pub segment_index_bytes: u64,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u64,
    /// `max.message.bytes`: the largest batch the log accepts.
    pub max_message_bytes: u64,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `flush.messages`: sync after this many messages (1: every append, with group commit).
    pub flush_messages: i64,
    /// `flush.ms`: sync when the oldest unsynced append is this old.
    pub flush_ms: i64,
    /// `min.cleanable.dirty.ratio`: the share of dirty bytes above which a compacted log is
    /// cleaned.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: records younger than this stay uncleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: a log whose dirty records are older than this is cleaned
    /// whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms`: how long a compacted log keeps a tombstone after first
    /// cleaning its batch.
    pub delete_retention_ms: i64,
}

impl Default for TopicConfig {
    fn default() -> Self {
        let mut config = TopicConfig {
            overrides: BTreeMap::new(),
            cleanup_delete: true,
            cleanup_compact: false,
            retention_ms: 0,
            retention_bytes: 0,
            segment_bytes: 0,
            segment_ms: 0,
            segment_index_bytes: 0,
            index_interval_bytes: 0,
            max_message_bytes: 0,
            message_timestamp_type: TimestampType::CreateTime,
            flush_messages: 0,
            flush_ms: 0,
            min_cleanable_dirty_ratio: 0.0,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: 0,
            delete_retention_ms: 0,
        };
        for (key, _, default, _) in SPECS {
            config.apply(key, default);
        }
        config
    }
}

impl TopicConfig {
    /// Kafka's defaults with `overrides` applied; the first bad key or value is an error naming it.
    pub fn from_overrides<'a>(
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self> {
        let mut config = TopicConfig::default();
        for (key, value) in overrides {
            config.set(key, value)?;
        }
        Ok(config)
    }

    /// Sets one key after checking it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let value = value.trim();
        validate(key, value)?;
        self.apply(key, value);
        self.overrides.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Removes an override, restoring Kafka's default.
    pub fn unset(&mut self, key: &str) -> Result<()> {
        let (_, _, default, _) = spec(key)?;
        self.overrides.remove(key);
        self.apply(key, default);
        Ok(())
    }

    /// The keys the user set, with their values.
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The effective value of `key` (override or default), or `None` for an unknown key.
    pub fn get(&self, key: &str) -> Option<String> {
        let (_, _, default, _) = spec(key).ok()?;
        Some(
            self.overrides
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_string()),
        )
    }

    /// Every known key with its effective value, sorted by key.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut all: Vec<_> = SPECS
            .iter()
            .map(|(key, ..)| (*key, self.get(key).unwrap_or_default()))
            .collect();
        all.sort();
        all
    }

    /// Whether kafkalite acts on `key` yet (the others are accepted and stored).
    pub fn is_honoured(key: &str) -> bool {
        spec(key).map(|s| s.3).unwrap_or(false)
    }

    /// Whether appends must be synced before they are acknowledged (`flush.messages=1`).
    pub fn sync_every_append(&self) -> bool {
        self.flush_messages == 1
    }

    /// Whether appends are synced at some point (`flush.messages` or `flush.ms` set), so
    /// that a power cut keeps some of them: what writes that must survive it together
    /// (a transaction's batches and its decision) take into account.
    pub fn syncs_appends(&self) -> bool {
        self.flush_messages != i64::MAX || self.flush_ms != i64::MAX
    }

    fn apply(&mut self, key: &str, value: &str) {
        let long = || value.parse::<i64>().unwrap_or(0);
        // Values were checked against their key's range, which is non-negative for the keys
        // read through this.
        let unsigned = || long().max(0).unsigned_abs();
        match key {
            "cleanup.policy" => {
                self.cleanup_delete = value.split(',').any(|p| p.trim() == "delete");
                self.cleanup_compact = value.split(',').any(|p| p.trim() == "compact");
            }
            "retention.ms" => self.retention_ms = long(),
            "retention.bytes" => self.retention_bytes = long(),
            "segment.bytes" => self.segment_bytes = unsigned(),
            "segment.ms" => self.segment_ms = long(),
            "segment.index.bytes" => self.segment_index_bytes = unsigned(),
            "index.interval.bytes" => self.index_interval_bytes = unsigned(),
            "max.message.bytes" => self.max_message_bytes = unsigned(),
            "message.timestamp.type" => {
                self.message_timestamp_type = if value == "LogAppendTime" {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                }
            }
            "flush.messages" => self.flush_messages = long(),
            "flush.ms" => self.flush_ms = long(),
            "min.cleanable.dirty.ratio" => {
                self.min_cleanable_dirty_ratio = value.parse().unwrap_or(0.5);
            }
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = long(),
            "max.compaction.lag.ms" => self.max_compaction_lag_ms = long(),
            "delete.retention.ms" => self.delete_retention_ms = long(),
            _ => {}
        }
    }
}

fn spec(key: &str) -> Result<&'static (&'static str, Kind, &'static str, bool)> {
    SPECS
        .iter()
        .find(|s| s.0 == key)
        .ok_or_else(|| Error::InvalidConfig {
            key: key.to_string(),
            message: "unknown topic config".to_string(),
            suggestion: nearest(key, SPECS.iter().map(|s| s.0)),
        })
}

fn validate(key: &str, value: &str) -> Result<()> {
    let (_, kind, _, _) = spec(key)?;
    let bad = |message: String| Error::InvalidConfig {
        key: key.to_string(),
        message,
        suggestion: None,
    };
    match *kind {
        Kind::Long { min, max } => {
            let number: i64 = value
                .parse()
                .map_err(|_| bad(format!("'{value}' is not an integer")))?;
            if number < min || number > max {
                return Err(bad(format!("{number} is outside [{min}, {max}]")));
            }
        }
        Kind::Ratio => {
            let ratio: f64 = value
                .parse()
                .map_err(|_| bad(format!("'{value}' is not a number")))?;
            if !(0.0..=1.0).contains(&ratio) {
                return Err(bad(format!("{ratio} is outside [0, 1]")));
            }
        }
        Kind::Choice(words) => {
            if !words.contains(&value) {
                return Err(bad(format!("'{value}' is not one of {}", words.join(", "))));
            }
        }
        Kind::CleanupPolicy => {
            let parts: Vec<&str> = value.split(',').map(str::trim).collect();
            if value.is_empty() || parts.iter().any(|p| *p != "delete" && *p != "compact") {
                return Err(bad(format!(
                    "'{value}' is not a comma-separated list of delete and compact"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_defaults() {
        let config = TopicConfig::default();
        assert_eq!(config.segment_bytes, 1 << 30);
        assert_eq!(config.retention_ms, 604_800_000);
        assert_eq!(config.retention_bytes, -1);
        assert_eq!(config.max_message_bytes, 1_048_588);
        assert_eq!(config.index_interval_bytes, 4096);
        assert_eq!(config.flush_messages, i64::MAX);
        assert!(config.cleanup_delete && !config.cleanup_compact);
        assert!(config.overrides().is_empty());
    }

    #[test]
    fn unknown_key_suggests_the_nearest() {
        let err = TopicConfig::from_overrides([("retention.msx", "5")]).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref key, suggestion: Some(ref s), .. }
            if key == "retention.msx" && s == "retention.ms")
        );
        assert!(err.to_string().contains("did you mean 'retention.ms'"));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("segment.bytes", "10"),
            ("segment.bytes", "abc"),
            ("retention.ms", "-2"),
            ("cleanup.policy", "keep"),
            ("message.timestamp.type", "Now"),
            ("min.cleanable.dirty.ratio", "1.5"),
        ] {
            let err = TopicConfig::from_overrides([(key, value)]).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { key: ref k, .. } if k == key),
                "{key}={value}"
            );
        }
    }

    #[test]
    fn overrides_apply_and_unset_restores() {
        let mut config = TopicConfig::from_overrides([
            ("cleanup.policy", "compact,delete"),
            ("flush.messages", "1"),
        ])
        .unwrap();
        assert!(config.cleanup_compact && config.cleanup_delete);
        assert!(config.sync_every_append());
        config.unset("flush.messages").unwrap();
        assert!(!config.sync_every_append());
        assert_eq!(config.get("flush.messages").unwrap(), i64::MAX.to_string());
    }
}
