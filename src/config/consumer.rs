//! The consumer's configuration: Kafka's property names (Java's canonical, librdkafka's
//! aliases accepted), Kafka 4.x defaults, and a typed builder.

use std::time::Duration;

use super::properties::Properties;
use super::spec::{bad, Kind, Specs, INT_MAX, NON_NEGATIVE};
#[cfg(test)]
use crate::error::Error;
use crate::error::Result;

/// Where a consumer starts in a partition with no committed offset, or whose offset is out of
/// range (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The end of the log (Kafka's default).
    Latest,
    /// No reset: `poll` fails with `OffsetOutOfRange` (Kafka's `NoOffsetForPartitionException`
    /// or `OffsetOutOfRangeException`).
    None,
}

/// Which records a consumer sees (`isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsolationLevel {
    /// Everything up to the high watermark (Kafka's default).
    ReadUncommitted,
    /// Only records below the last stable offset, without those of aborted transactions
    /// (and, as always, without control records).
    ReadCommitted,
}

/// A partition assignor (`partition.assignment.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssignorKind {
    /// `RangeAssignor` (`range`): per topic, consecutive ranges.
    Range,
    /// `RoundRobinAssignor` (`roundrobin`).
    RoundRobin,
    /// `StickyAssignor` (`sticky`): balanced, keeps previous owners, eager.
    Sticky,
    /// `CooperativeStickyAssignor` (`cooperative-sticky`): sticky with incremental rebalancing.
    CooperativeSticky,
}

impl AssignorKind {
    /// The protocol name members vote with (librdkafka's and the Java assignors' `name()`).
    pub fn name(self) -> &'static str {
        match self {
            AssignorKind::Range => "range",
            AssignorKind::RoundRobin => "roundrobin",
            AssignorKind::Sticky => "sticky",
            AssignorKind::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Whether rebalances with this assignor are incremental (KIP-429).
    pub fn is_cooperative(self) -> bool {
        self == AssignorKind::CooperativeSticky
    }

    /// The built-in assignor a `partition.assignment.strategy` entry names: its protocol name,
    /// or its Java class name (qualified or not).
    pub(crate) fn parse(word: &str) -> Option<AssignorKind> {
        match word.trim().rsplit('.').next().unwrap_or(word) {
            "range" | "RangeAssignor" => Some(AssignorKind::Range),
            "roundrobin" | "RoundRobinAssignor" => Some(AssignorKind::RoundRobin),
            "sticky" | "StickyAssignor" => Some(AssignorKind::Sticky),
            "cooperative-sticky" | "CooperativeStickyAssignor" => {
                Some(AssignorKind::CooperativeSticky)
            }
            _ => None,
        }
    }
}

const KEYS: &[(&str, Kind, &str)] = &[
    ("group.id", Kind::Text, ""),
    ("group.instance.id", Kind::Text, ""),
    ("client.id", Kind::Text, ""),
    (
        "auto.offset.reset",
        Kind::Choice(&[
            "earliest",
            "latest",
            "none",
            "smallest",
            "beginning",
            "largest",
            "end",
            "error",
        ]),
        "latest",
    ),
    ("enable.auto.commit", Kind::Bool, "true"),
    ("auto.commit.interval.ms", NON_NEGATIVE, "5000"),
    ("enable.auto.offset.store", Kind::Bool, "true"),
    (
        "max.poll.records",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "500",
    ),
    (
        "max.poll.interval.ms",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "300000",
    ),
    (
        "session.timeout.ms",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "45000",
    ),
    (
        "heartbeat.interval.ms",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "3000",
    ),
    (
        "partition.assignment.strategy",
        Kind::Text,
        "range,cooperative-sticky",
    ),
    (
        "fetch.min.bytes",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "1",
    ),
    (
        "fetch.max.bytes",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "52428800",
    ),
    (
        "fetch.max.wait.ms",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "500",
    ),
    (
        "max.partition.fetch.bytes",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "1048576",
    ),
    (
        "isolation.level",
        Kind::Choice(&["read_uncommitted", "read_committed"]),
        "read_uncommitted",
    ),
    ("enable.partition.eof", Kind::Bool, "false"),
    ("allow.auto.create.topics", Kind::Bool, "true"),
    ("exclude.internal.topics", Kind::Bool, "true"),
    ("check.crcs", Kind::Bool, "true"),
    ("default.api.timeout.ms", NON_NEGATIVE, "60000"),
    (
        "group.protocol",
        Kind::Choice(&["classic", "consumer"]),
        "classic",
    ),
    ("key.deserializer", Kind::Text, ""),
    ("value.deserializer", Kind::Text, ""),
    ("interceptor.classes", Kind::Text, ""),
    ("auto.include.jmx.reporter", Kind::Inert, ""),
    ("queued.min.messages", Kind::Inert, ""),
    ("queued.max.messages.kbytes", Kind::Inert, ""),
];

const ALIASES: &[(&str, &str)] = &[
    ("fetch.wait.max.ms", "fetch.max.wait.ms"),
    ("fetch.message.max.bytes", "max.partition.fetch.bytes"),
    ("topic.metadata.refresh.interval.ms", "metadata.max.age.ms"),
];

const SPECS: Specs = Specs {
    client: "consumer",
    keys: KEYS,
    aliases: ALIASES,
};

/// The consumer's configuration. Build it from properties (`from_properties`, `set`) or with
/// the typed methods; values are checked as they are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `group.id`: the consumer group; without one there is no `subscribe` and no commit.
    pub group_id: Option<String>,
    /// `group.instance.id`: static membership (KIP-345).
    pub group_instance_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `auto.offset.reset`.
    pub auto_offset_reset: AutoOffsetReset,
    /// `enable.auto.commit`.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `enable.auto.offset.store` (librdkafka): when off, commits without explicit offsets
    /// (auto-commit, `commit`) cover only what `store_offsets` stored, not the positions.
    pub enable_auto_offset_store: bool,
    /// `max.poll.records`: most records one `poll` returns.
    pub max_poll_records: usize,
    /// `max.poll.interval.ms`: a member that does not poll for this long leaves its group.
    pub max_poll_interval_ms: u64,
    /// `session.timeout.ms`: how long a static member's place is kept after it closes.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`: how often a member blocked in `poll` checks in with its
    /// group (liveness is otherwise judged from `poll` calls).
    pub heartbeat_interval_ms: u64,
    /// `partition.assignment.strategy`: assignor names in preference order. The built-ins
    /// are named as [`AssignorKind::name`] gives (their Java class names are read as those);
    /// any other name must be an assignor added with [`crate::ConsumerBuilder::assignor`].
    pub assignment_strategy: Vec<String>,
    /// `fetch.min.bytes`: once a `poll` has records, it waits (up to `fetch.max.wait.ms`) for
    /// at least this many bytes of batches before returning.
    pub fetch_min_bytes: usize,
    /// `fetch.max.bytes`: soft bound on one poll's bytes (the first batch always comes).
    pub fetch_max_bytes: usize,
    /// `fetch.max.wait.ms`: how long `fetch.min.bytes` is waited for within a `poll`.
    pub fetch_max_wait_ms: u64,
    /// `max.partition.fetch.bytes`: soft bound per partition per poll.
    pub max_partition_fetch_bytes: usize,
    /// `isolation.level`.
    pub isolation_level: IsolationLevel,
    /// `enable.partition.eof` (librdkafka): report reaching a partition's end in
    /// `Records::eof`.
    pub enable_partition_eof: bool,
    /// `exclude.internal.topics`: patterns never match internal topics.
    pub exclude_internal_topics: bool,
    /// `default.api.timeout.ms`.
    pub default_api_timeout_ms: u64,
    /// `check.crcs`: verify each batch's CRC-32C when it is read (Kafka's default); off, a
    /// consumer trusts the bytes (the log checked them when it recovered or appended them).
    pub check_crcs: bool,
    overrides: Vec<(String, String)>,
    inert: Vec<String>,
    /// librdkafka's group client, for the rdkafka facade: a member that has rejoined a
    /// rebalance not yet complete still commits with its generation (the coordinator
    /// decides) and, leaving, revokes its partitions; the coordinator's refusals keep the
    /// broker's codes. Kafka's Java client, the default, refuses such a commit
    /// (`RebalanceInProgress`), loses them, and reports `UNKNOWN_MEMBER_ID` and
    /// `ILLEGAL_GENERATION` as `CommitFailed`.
    pub(crate) librdkafka_member: bool,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            group_instance_id: None,
            client_id: String::new(),
            auto_offset_reset: AutoOffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5000,
            enable_auto_offset_store: true,
            max_poll_records: 500,
            max_poll_interval_ms: 300_000,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3000,
            assignment_strategy: vec![
                AssignorKind::Range.name().into(),
                AssignorKind::CooperativeSticky.name().into(),
            ],
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            fetch_max_wait_ms: 500,
            max_partition_fetch_bytes: 1_048_576,
            isolation_level: IsolationLevel::ReadUncommitted,
            enable_partition_eof: false,
            exclude_internal_topics: true,
            default_api_timeout_ms: 60_000,
            check_crcs: true,
            overrides: Vec::new(),
            inert: Vec::new(),
            librdkafka_member: false,
        }
    }
}

impl ConsumerConfig {
    /// Kafka's defaults, without a group.
    pub fn new() -> Self {
        ConsumerConfig::default()
    }

    /// Kafka's defaults in group `group_id`.
    pub fn with_group(group_id: impl Into<String>) -> Self {
        ConsumerConfig::new().group_id(group_id)
    }

    /// Defaults overridden by `properties`; the first bad key or value is an error naming it.
    pub fn from_properties(properties: &Properties) -> Result<Self> {
        properties
            .iter()
            .try_fold(ConsumerConfig::new(), |config, (k, v)| config.set(k, v))
    }

    /// Sets one property (Java or librdkafka name), checking it.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let value = value.trim();
        let Some(resolved) = SPECS.check(key, value)? else {
            self.inert.push(key.to_string());
            return Ok(self);
        };
        if resolved.inert {
            self.inert.push(key.to_string());
        }
        let canonical = resolved.canonical;
        self.apply(key, canonical, value)?;
        self.overrides.retain(|(k, _)| k != canonical);
        self.overrides
            .push((canonical.to_string(), value.to_string()));
        Ok(self)
    }

    fn apply(&mut self, key: &str, canonical: &str, value: &str) -> Result<()> {
        let long = || value.parse::<i64>().unwrap_or(0);
        // Values were checked against their key's range, which is non-negative for the keys
        // read through these.
        let unsigned = || long().max(0).unsigned_abs();
        let size = || usize::try_from(long().max(0)).unwrap_or(usize::MAX);
        let text = || (!value.is_empty()).then(|| value.to_string());
        match canonical {
            "group.id" => self.group_id = text(),
            "group.instance.id" => self.group_instance_id = text(),
            "client.id" => self.client_id = value.to_string(),
            "auto.offset.reset" => {
                self.auto_offset_reset = match value {
                    "earliest" | "smallest" | "beginning" => AutoOffsetReset::Earliest,
                    "latest" | "largest" | "end" => AutoOffsetReset::Latest,
                    _ => AutoOffsetReset::None,
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = value == "true",
            "auto.commit.interval.ms" => self.auto_commit_interval_ms = unsigned(),
            "enable.auto.offset.store" => self.enable_auto_offset_store = value == "true",
            "max.poll.records" => self.max_poll_records = size(),
            "max.poll.interval.ms" => self.max_poll_interval_ms = unsigned(),
            "session.timeout.ms" => self.session_timeout_ms = unsigned(),
            "heartbeat.interval.ms" => self.heartbeat_interval_ms = unsigned(),
            "partition.assignment.strategy" => {
                let mut names: Vec<String> = Vec::new();
                for word in value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
                    let name = match AssignorKind::parse(word) {
                        Some(kind) => kind.name().to_string(),
                        None if word.chars().any(char::is_whitespace) => {
                            return Err(bad(
                                key,
                                format!("'{word}' is not an assignor name (names have no spaces; separate them with commas)"),
                            ))
                        }
                        None => word.to_string(),
                    };
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                if names.is_empty() {
                    return Err(bad(key, "names no assignor".into()));
                }
                self.assignment_strategy = names;
            }
            "fetch.min.bytes" => self.fetch_min_bytes = size(),
            "fetch.max.bytes" => self.fetch_max_bytes = size(),
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = unsigned(),
            "max.partition.fetch.bytes" => self.max_partition_fetch_bytes = size(),
            "isolation.level" => {
                self.isolation_level = if value == "read_committed" {
                    IsolationLevel::ReadCommitted
                } else {
                    IsolationLevel::ReadUncommitted
                }
            }
            "enable.partition.eof" => self.enable_partition_eof = value == "true",
            "exclude.internal.topics" => self.exclude_internal_topics = value == "true",
            "default.api.timeout.ms" => self.default_api_timeout_ms = unsigned(),
            "check.crcs" => self.check_crcs = value == "true",
            "group.protocol" if value == "consumer" => {
                return Err(bad(
                    key,
                    "the KIP-848 'consumer' protocol is not available in kafkalite; use 'classic'"
                        .into(),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// Sets `group.id`.
    pub fn group_id(mut self, group_id: impl Into<String>) -> Self {
        self.group_id = Some(group_id.into());
        self
    }
    /// Sets `group.instance.id` (static membership).
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.group_instance_id = Some(id.into());
        self
    }
    /// Sets `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }
    /// Sets `auto.offset.reset`.
    pub fn auto_offset_reset(mut self, reset: AutoOffsetReset) -> Self {
        self.auto_offset_reset = reset;
        self
    }
    /// Sets `enable.auto.commit`.
    pub fn enable_auto_commit(mut self, enabled: bool) -> Self {
        self.enable_auto_commit = enabled;
        self
    }
    /// Sets `enable.auto.offset.store`.
    pub fn enable_auto_offset_store(mut self, enabled: bool) -> Self {
        self.enable_auto_offset_store = enabled;
        self
    }
    /// Sets `auto.commit.interval.ms`.
    pub fn auto_commit_interval(mut self, interval: Duration) -> Self {
        self.auto_commit_interval_ms = crate::clock::millis(interval);
        self
    }
    /// Sets `max.poll.records` (at least 1).
    pub fn max_poll_records(mut self, records: usize) -> Self {
        self.max_poll_records = records.max(1);
        self
    }
    /// Sets `max.poll.interval.ms`.
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval_ms = crate::clock::millis(interval);
        self
    }
    /// Sets `session.timeout.ms`.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout_ms = crate::clock::millis(timeout);
        self
    }
    /// Sets `partition.assignment.strategy` (preference order; empty keeps the default).
    pub fn assignment_strategy(mut self, assignors: &[AssignorKind]) -> Self {
        if !assignors.is_empty() {
            self.assignment_strategy = assignors.iter().map(|a| a.name().to_string()).collect();
        }
        self
    }
    /// Sets `isolation.level`.
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation_level = level;
        self
    }
    /// Sets `enable.partition.eof`.
    pub fn enable_partition_eof(mut self, enabled: bool) -> Self {
        self.enable_partition_eof = enabled;
        self
    }
    /// Sets `check.crcs`.
    pub fn check_crcs(mut self, enabled: bool) -> Self {
        self.check_crcs = enabled;
        self
    }
    /// librdkafka's group client (the facade's): see the field.
    #[cfg(feature = "rdkafka-api")]
    pub(crate) fn librdkafka_member(mut self) -> Self {
        self.librdkafka_member = true;
        self
    }
    /// Sets `max.partition.fetch.bytes`.
    pub fn max_partition_fetch_bytes(mut self, bytes: usize) -> Self {
        self.max_partition_fetch_bytes = bytes;
        self
    }

    /// The keys that were accepted but mean nothing in one process (network, security).
    pub fn inert_keys(&self) -> &[String] {
        &self.inert
    }

    /// The properties set (canonical names), in order.
    pub fn to_properties(&self) -> Properties {
        self.overrides.iter().cloned().collect()
    }
}

/// Something a consumer configuration can be built from: a `ConsumerConfig`, `&Properties`,
/// or a slice of `(key, value)` pairs.
pub trait IntoConsumerConfig {
    /// Builds and checks the configuration.
    fn into_config(self) -> Result<ConsumerConfig>;
}

impl IntoConsumerConfig for ConsumerConfig {
    fn into_config(self) -> Result<ConsumerConfig> {
        Ok(self)
    }
}

impl IntoConsumerConfig for &Properties {
    fn into_config(self) -> Result<ConsumerConfig> {
        ConsumerConfig::from_properties(self)
    }
}

impl IntoConsumerConfig for &[(&str, &str)] {
    fn into_config(self) -> Result<ConsumerConfig> {
        self.iter()
            .try_fold(ConsumerConfig::new(), |c, (k, v)| c.set(k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_4_defaults() {
        let c = ConsumerConfig::new();
        assert_eq!(c.group_id, None);
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Latest);
        assert!(c.enable_auto_commit);
        assert_eq!(
            (
                c.auto_commit_interval_ms,
                c.max_poll_records,
                c.max_poll_interval_ms
            ),
            (5000, 500, 300_000)
        );
        assert_eq!(
            (c.session_timeout_ms, c.heartbeat_interval_ms),
            (45_000, 3000)
        );
        assert_eq!(c.assignment_strategy, ["range", "cooperative-sticky"]);
        assert_eq!(
            (
                c.fetch_min_bytes,
                c.fetch_max_bytes,
                c.max_partition_fetch_bytes
            ),
            (1, 52_428_800, 1_048_576)
        );
        assert_eq!(c.isolation_level, IsolationLevel::ReadUncommitted);
    }

    #[test]
    fn a_pasted_java_file_works() {
        let text = "bootstrap.servers=broker:9092\nsecurity.protocol=SASL_SSL\n\
                    sasl.jaas.config=x\ngroup.id=billing\nauto.offset.reset=earliest\n\
                    enable.auto.commit=false\nmax.poll.records=10\n\
                    partition.assignment.strategy=org.apache.kafka.clients.consumer.RoundRobinAssignor\n\
                    key.deserializer=org.apache.kafka.common.serialization.StringDeserializer\n";
        let c = ConsumerConfig::from_properties(&Properties::parse(text).unwrap()).unwrap();
        assert_eq!(c.group_id.as_deref(), Some("billing"));
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Earliest);
        assert!(!c.enable_auto_commit);
        assert_eq!(c.max_poll_records, 10);
        assert_eq!(c.assignment_strategy, ["roundrobin"]);
        assert_eq!(
            c.inert_keys(),
            ["bootstrap.servers", "security.protocol", "sasl.jaas.config"]
        );
    }

    #[test]
    fn librdkafka_spellings() {
        let pairs: &[(&str, &str)] = &[
            ("auto.offset.reset", "smallest"),
            ("fetch.wait.max.ms", "7"),
            ("partition.assignment.strategy", "cooperative-sticky,range"),
            ("enable.partition.eof", "true"),
        ];
        let c = pairs.into_config().unwrap();
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Earliest);
        assert_eq!(c.fetch_max_wait_ms, 7);
        assert_eq!(c.assignment_strategy, ["cooperative-sticky", "range"]);
        assert!(c.enable_partition_eof);
        assert_eq!(c.to_properties().get("fetch.max.wait.ms"), Some("7"));
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let err = ConsumerConfig::new().set("group.idd", "g").unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref suggestion, .. } if suggestion.as_deref() == Some("group.id")),
            "{err}"
        );
        for (key, value) in [
            ("auto.offset.reset", "first"),
            ("max.poll.records", "0"),
            ("enable.auto.commit", "yes"),
            ("session.timeout.ms", "-1"),
            ("partition.assignment.strategy", "range fair"),
            ("partition.assignment.strategy", ""),
            ("isolation.level", "serializable"),
            ("group.protocol", "consumer"),
        ] {
            let err = ConsumerConfig::new().set(key, value).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { key: ref k, .. } if k == key),
                "{key}={value}: {err}"
            );
        }
    }
}
