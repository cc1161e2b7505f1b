//! The producer's configuration: Kafka's property names (Java's canonical, librdkafka's
//! aliases accepted), Kafka 4.x defaults, and a typed builder.

use std::time::Duration;

use super::properties::Properties;
use super::record_format::Compression;
use super::spec::{bad, Kind, Specs, INT_MAX, LONG_MAX};
use crate::error::{Error, Result};

/// When a send counts as delivered (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acks {
    /// `acks=0`: delivered once enqueued; the offset is unknown (−1), as in Kafka.
    None,
    /// `acks=1`: delivered once appended to the log and visible to readers.
    Leader,
    /// `acks=all` (or −1): also waits for the topic's durability step (with
    /// `flush.messages=1`, the group-committed fdatasync). Kafka's default.
    All,
}

/// How records without an explicit partition are placed (`partitioner.class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionerKind {
    /// Kafka's built-in: murmur2 of the key, uniform sticky for keyless records.
    BuiltIn,
    /// `org.apache.kafka.clients.producer.RoundRobinPartitioner`: strict rotation.
    RoundRobin,
}

const KEYS: &[(&str, Kind, &str)] = &[
    ("client.id", Kind::Text, ""),
    ("acks", Kind::Choice(&["0", "1", "all", "-1"]), "all"),
    (
        "linger.ms",
        Kind::Long {
            min: 0,
            max: LONG_MAX,
        },
        "5",
    ),
    (
        "batch.size",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "16384",
    ),
    (
        "buffer.memory",
        Kind::Long {
            min: 0,
            max: LONG_MAX,
        },
        "33554432",
    ),
    (
        "max.block.ms",
        Kind::Long {
            min: 0,
            max: LONG_MAX,
        },
        "60000",
    ),
    (
        "max.request.size",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "1048576",
    ),
    (
        "compression.type",
        Kind::Choice(&["none", "gzip", "snappy", "lz4", "zstd"]),
        "none",
    ),
    ("compression.lz4.level", Kind::Long { min: 1, max: 17 }, "9"),
    ("partitioner.class", Kind::Text, ""),
    ("partitioner.ignore.keys", Kind::Bool, "false"),
    (
        "partitioner.adaptive.partitioning.enable",
        Kind::Bool,
        "true",
    ),
    (
        "partitioner.availability.timeout.ms",
        Kind::Long {
            min: 0,
            max: LONG_MAX,
        },
        "0",
    ),
    (
        "delivery.timeout.ms",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "120000",
    ),
    (
        "retries",
        Kind::Long {
            min: 0,
            max: INT_MAX,
        },
        "2147483647",
    ),
    ("enable.idempotence", Kind::Bool, "true"),
    (
        "max.in.flight.requests.per.connection",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "5",
    ),
    ("transactional.id", Kind::Text, ""),
    (
        "transaction.timeout.ms",
        Kind::Long {
            min: 1,
            max: INT_MAX,
        },
        "60000",
    ),
    ("key.serializer", Kind::Text, ""),
    ("value.serializer", Kind::Text, ""),
    ("interceptor.classes", Kind::Text, ""),
    ("queue.buffering.max.messages", Kind::Inert, ""),
    ("batch.num.messages", Kind::Inert, ""),
];

/// librdkafka spellings and the Java key they mean.
const ALIASES: &[(&str, &str)] = &[
    ("queue.buffering.max.ms", "linger.ms"),
    ("request.required.acks", "acks"),
    ("compression.codec", "compression.type"),
    ("message.max.bytes", "max.request.size"),
    ("partitioner", "partitioner.class"),
    ("enable.gapless.guarantee", "enable.idempotence"),
    ("message.timeout.ms", "delivery.timeout.ms"),
    ("queue.buffering.max.kbytes", "buffer.memory"),
];

const SPECS: Specs = Specs {
    client: "producer",
    keys: KEYS,
    aliases: ALIASES,
};

/// The producer's configuration. Build it from properties (`from_properties`, `set`) or with
/// the typed methods; values are checked as they are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `client.id`.
    pub client_id: String,
    /// `acks`.
    pub acks: Acks,
    /// `linger.ms`: how long an open batch waits for more records, at most. Inside a
    /// transaction a batch holding a quarter of `batch.size` stops waiting as soon as the
    /// appender thread is idle (its records are not readable by `read_committed` consumers
    /// before the commit anyway, and the commit would otherwise wait for it).
    pub linger_ms: u64,
    /// `batch.size`: bytes at which a partition's batch is sealed (0: one record per batch).
    pub batch_size: usize,
    /// `buffer.memory`: most bytes of records buffered at once.
    pub buffer_memory: usize,
    /// `max.block.ms`: longest a `send` waits in all, for its topic to appear in the
    /// metadata and then for buffer memory (or `partitions_for` for the topic).
    pub max_block_ms: u64,
    /// `max.request.size`: the largest record (and batch) accepted.
    pub max_request_size: usize,
    /// `compression.type` (none or lz4).
    pub compression: Compression,
    /// `partitioner.class`.
    pub partitioner: PartitionerKind,
    /// `partitioner.ignore.keys`: keyed records are placed like keyless ones.
    pub partitioner_ignore_keys: bool,
    /// `delivery.timeout.ms`: how long a batch's retries of retriable broker errors may go
    /// on (on the cluster clock); only the test kit's faults produce such errors here.
    pub delivery_timeout_ms: u64,
    /// `enable.idempotence` (default true): batches carry a producer id, epoch and
    /// sequence, and each partition refuses gaps and answers duplicates with the original
    /// offsets. Kafka's constraints apply when the producer is made
    /// ([`ProducerConfig::idempotence_enabled`]).
    pub enable_idempotence: bool,
    overrides: Vec<(String, String)>,
    inert: Vec<String>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            client_id: String::new(),
            acks: Acks::All,
            linger_ms: 5,
            batch_size: 16384,
            buffer_memory: 32 << 20,
            max_block_ms: 60_000,
            max_request_size: 1 << 20,
            compression: Compression::None,
            partitioner: PartitionerKind::BuiltIn,
            partitioner_ignore_keys: false,
            delivery_timeout_ms: 120_000,
            enable_idempotence: true,
            overrides: Vec::new(),
            inert: Vec::new(),
        }
    }
}

impl ProducerConfig {
    /// Kafka's defaults.
    pub fn new() -> Self {
        ProducerConfig::default()
    }

    /// Defaults overridden by `properties`; the first bad key or value is an error naming it.
    pub fn from_properties(properties: &Properties) -> Result<Self> {
        properties
            .iter()
            .try_fold(ProducerConfig::new(), |config, (k, v)| config.set(k, v))
    }

    /// Sets one property (Java or librdkafka name), checking it.
    pub fn set(mut self, key: &str, value: &str) -> Result<Self> {
        let value = value.trim();
        let value = if key == "queue.buffering.max.kbytes" {
            let kbytes: i64 = value
                .parse()
                .map_err(|_| bad(key, format!("'{value}' is not an integer")))?;
            (kbytes.saturating_mul(1024)).to_string()
        } else {
            value.to_string()
        };
        let Some(resolved) = SPECS.check(key, &value)? else {
            self.inert.push(key.to_string());
            return Ok(self);
        };
        let canonical = resolved.canonical;
        if resolved.inert {
            self.inert.push(key.to_string());
        }
        self.apply(key, canonical, &value)?;
        self.overrides.retain(|(k, _)| k != canonical);
        self.overrides.push((canonical.to_string(), value));
        Ok(self)
    }

    fn apply(&mut self, key: &str, canonical: &str, value: &str) -> Result<()> {
        let long = || value.parse::<i64>().unwrap_or(0);
        // Values were checked against their key's range, which is non-negative for the keys
        // read through these.
        let unsigned = || long().max(0).unsigned_abs();
        let size = || usize::try_from(long().max(0)).unwrap_or(usize::MAX);
        match canonical {
            "client.id" => self.client_id = value.to_string(),
            "acks" => {
                self.acks = match value {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    _ => Acks::All,
                }
            }
            "linger.ms" => self.linger_ms = unsigned(),
            "batch.size" => self.batch_size = size(),
            "buffer.memory" => self.buffer_memory = size(),
            "max.block.ms" => self.max_block_ms = unsigned(),
            "max.request.size" => self.max_request_size = size(),
            "delivery.timeout.ms" => self.delivery_timeout_ms = unsigned(),
            "enable.idempotence" => self.enable_idempotence = value == "true",
            "partitioner.ignore.keys" => self.partitioner_ignore_keys = value == "true",
            "compression.type" => {
                self.compression = match value {
                    "none" => Compression::None,
                    "lz4" => Compression::Lz4,
                    other => return Err(Error::UnsupportedCompressionType(format!(
                        "{other} (compression.type); kafkalite writes none and lz4"
                    ))),
                }
            }
            "partitioner.class" => {
                self.partitioner = match value.rsplit('.').next().unwrap_or(value) {
                    "" | "DefaultPartitioner" | "BuiltInPartitioner" | "UniformStickyPartitioner"
                    | "murmur2_random" | "murmur2" => PartitionerKind::BuiltIn,
                    "RoundRobinPartitioner" | "round_robin" => PartitionerKind::RoundRobin,
                    other => return Err(bad(key, format!(
                        "'{other}' is not a built-in partitioner (BuiltInPartitioner, RoundRobinPartitioner); \
                         pass a custom one with Cluster::producer_builder(..).partitioner(..)"
                    ))),
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Sets `linger.ms`.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger_ms = crate::clock::millis(linger);
        self
    }
    /// Sets `acks`.
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }
    /// Sets `batch.size`.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }
    /// Sets `buffer.memory`.
    pub fn buffer_memory(mut self, bytes: usize) -> Self {
        self.buffer_memory = bytes;
        self
    }
    /// Sets `max.block.ms`.
    pub fn max_block(mut self, max_block: Duration) -> Self {
        self.max_block_ms = crate::clock::millis(max_block);
        self
    }
    /// Sets `compression.type` (none or lz4; others are refused when the producer is made).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }
    /// Sets `partitioner.class` to a built-in.
    pub fn partitioner(mut self, kind: PartitionerKind) -> Self {
        self.partitioner = kind;
        self
    }
    /// Sets `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Sets `enable.idempotence` explicitly: then a conflicting `acks`, `retries` or
    /// `max.in.flight.requests.per.connection` is an error instead of turning idempotence
    /// off.
    pub fn idempotence(mut self, enabled: bool) -> Self {
        self.enable_idempotence = enabled;
        self.overrides.retain(|(k, _)| k != "enable.idempotence");
        self.overrides
            .push(("enable.idempotence".into(), enabled.to_string()));
        self
    }

    fn override_of(&self, key: &str) -> Option<&str> {
        self.overrides
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `transactional.id`, if set (an empty value is unset, as Kafka reads it).
    pub(crate) fn txn_id(&self) -> Option<&str> {
        self.override_of("transactional.id")
            .filter(|id| !id.is_empty())
    }

    /// `retries` (default `i32::MAX`): how often a retriable broker error is retried (only
    /// the test kit's faults produce those here).
    #[cfg(feature = "testing")]
    pub(crate) fn retries(&self) -> u64 {
        self.override_of("retries")
            .and_then(|v| v.parse().ok())
            .unwrap_or(i32::MAX.unsigned_abs().into())
    }

    /// `transaction.timeout.ms` (default 60000).
    pub(crate) fn txn_timeout_ms(&self) -> i32 {
        self.override_of("transaction.timeout.ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(60_000)
    }

    /// Sets `transactional.id`: the producer becomes transactional (and idempotent), and
    /// must call `init_transactions` before its first transaction.
    pub fn transactional_id(mut self, id: impl Into<String>) -> Self {
        self.overrides.retain(|(k, _)| k != "transactional.id");
        self.overrides.push(("transactional.id".into(), id.into()));
        self
    }

    /// Whether the producer is idempotent, by Kafka's rules
    /// (`ProducerConfig.postProcessAndValidateIdempotenceConfigs`): `enable.idempotence`
    /// (default true) needs `acks=all`, `retries` above 0 and
    /// `max.in.flight.requests.per.connection` at most 5. When `enable.idempotence` was set
    /// explicitly a conflict is an `InvalidConfig` error with Kafka's message; otherwise it
    /// turns idempotence off. A `transactional.id` needs idempotence.
    pub fn idempotence_enabled(&self) -> Result<bool> {
        let explicit = self.override_of("enable.idempotence").is_some();
        let number = |key: &str, default: i64| {
            self.override_of(key)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        let mut enabled = self.enable_idempotence;
        if enabled {
            let conflicts = [
                (
                    number("retries", i64::from(i32::MAX)) == 0,
                    "retries",
                    "Must set retries to non-zero when using the idempotent producer.",
                ),
                (
                    self.acks != Acks::All,
                    "acks",
                    "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.",
                ),
                (
                    number("max.in.flight.requests.per.connection", 5) > 5,
                    "max.in.flight.requests.per.connection",
                    "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer.",
                ),
            ];
            for (conflict, key, message) in conflicts {
                if conflict && explicit {
                    return Err(bad(key, message.to_string()));
                }
                enabled &= !conflict;
            }
        }
        if !enabled
            && self
                .override_of("transactional.id")
                .is_some_and(|v| !v.is_empty())
        {
            return Err(bad(
                "transactional.id",
                "Cannot set a transactional.id without also enabling idempotence.".to_string(),
            ));
        }
        Ok(enabled)
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

/// Something a producer configuration can be built from: a `ProducerConfig`, `&Properties`,
/// or a slice of `(key, value)` pairs.
pub trait IntoProducerConfig {
    /// Builds and checks the configuration.
    fn into_config(self) -> Result<ProducerConfig>;
}

impl IntoProducerConfig for ProducerConfig {
    fn into_config(self) -> Result<ProducerConfig> {
        Ok(self)
    }
}

impl IntoProducerConfig for &Properties {
    fn into_config(self) -> Result<ProducerConfig> {
        ProducerConfig::from_properties(self)
    }
}

impl IntoProducerConfig for &[(&str, &str)] {
    fn into_config(self) -> Result<ProducerConfig> {
        self.iter()
            .try_fold(ProducerConfig::new(), |c, (k, v)| c.set(k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_4_defaults() {
        let c = ProducerConfig::new();
        assert_eq!(
            (c.linger_ms, c.batch_size, c.buffer_memory),
            (5, 16384, 33554432)
        );
        assert_eq!(
            (c.max_block_ms, c.max_request_size, c.acks),
            (60000, 1048576, Acks::All)
        );
        assert_eq!(c.compression, Compression::None);
    }

    #[test]
    fn a_pasted_java_file_works() {
        let text = "bootstrap.servers=broker:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n\
                    sasl.jaas.config=x\nacks=1\nlinger.ms=20\nkey.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
                    compression.type=lz4\npartitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner\n";
        let c = ProducerConfig::from_properties(&Properties::parse(text).unwrap()).unwrap();
        assert_eq!(
            (c.acks, c.linger_ms, c.compression),
            (Acks::Leader, 20, Compression::Lz4)
        );
        assert_eq!(c.partitioner, PartitionerKind::RoundRobin);
        assert_eq!(
            c.inert_keys(),
            [
                "bootstrap.servers",
                "security.protocol",
                "sasl.mechanism",
                "sasl.jaas.config"
            ]
        );
    }

    #[test]
    fn librdkafka_aliases() {
        let pairs: &[(&str, &str)] = &[
            ("queue.buffering.max.ms", "7"),
            ("request.required.acks", "0"),
            ("queue.buffering.max.kbytes", "2"),
        ];
        let c = pairs.into_config().unwrap();
        assert_eq!(
            (c.linger_ms, c.acks, c.buffer_memory),
            (7, Acks::None, 2048)
        );
        assert_eq!(c.to_properties().get("linger.ms"), Some("7"));
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let err = ProducerConfig::new().set("linger.msec", "5").unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { ref suggestion, .. } if suggestion.as_deref() == Some("linger.ms")),
            "{err}"
        );
        for (key, value) in [
            ("acks", "2"),
            ("linger.ms", "-1"),
            ("batch.size", "-5"),
            ("enable.idempotence", "yes"),
            ("max.request.size", "0"),
        ] {
            let err = ProducerConfig::new().set(key, value).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { key: ref k, .. } if k == key),
                "{key}={value}: {err}"
            );
        }
        let err = ProducerConfig::new()
            .set("compression.type", "zstd")
            .unwrap_err();
        assert!(matches!(err, Error::UnsupportedCompressionType(_)));
        assert!(ProducerConfig::new()
            .set("partitioner.class", "com.example.Mine")
            .is_err());
    }
}
