//! rust-rdkafka's `ClientConfig` (`rdkafka::config`) and how the facade reads it: every key is
//! checked against librdkafka's own table (an unknown name or a bad value fails `create` with
//! librdkafka's message), keys that matter in one process are translated to kafkalite's
//! configuration with librdkafka's defaults (which differ from the Java client's: no
//! idempotence by default, `read_committed`, `range,roundrobin`, the `consistent_random`
//! partitioner), and keys that only matter on a network are accepted and ignored.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::client::ClientContext;
use super::config_table::PROPERTIES;
use super::error::{KafkaError, KafkaResult, RDKafkaConfRes};
use crate::config::{AssignorKind, ConsumerConfig, ProducerConfig};

/// The assignors librdkafka has (no eager `sticky`), by their protocol names only.
const LIBRDKAFKA_ASSIGNORS: [AssignorKind; 3] = [
    AssignorKind::Range,
    AssignorKind::RoundRobin,
    AssignorKind::CooperativeSticky,
];

/// The log levels supported by librdkafka.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RDKafkaLogLevel {
    /// Higher priority than [`Level::Error`](tracing::Level::ERROR).
    Emerg = 0,
    /// Higher priority than [`Level::Error`](tracing::Level::ERROR).
    Alert = 1,
    /// Higher priority than [`Level::Error`](tracing::Level::ERROR).
    Critical = 2,
    /// Equivalent to [`Level::Error`](tracing::Level::ERROR).
    Error = 3,
    /// Equivalent to [`Level::Warn`](tracing::Level::WARN).
    Warning = 4,
    /// Higher priority than [`Level::Info`](tracing::Level::INFO).
    Notice = 5,
    /// Equivalent to [`Level::Info`](tracing::Level::INFO).
    Info = 6,
    /// Equivalent to [`Level::Debug`](tracing::Level::DEBUG).
    Debug = 7,
}

/// Client configuration: librdkafka's properties as text, checked when a client is created.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    conf_map: HashMap<String, String>,
    /// The librdkafka logging level (kept for compatibility: the facade logs through
    /// `tracing`).
    pub log_level: RDKafkaLogLevel,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientConfig {
    /// Creates a new empty configuration.
    pub fn new() -> ClientConfig {
        ClientConfig {
            conf_map: HashMap::new(),
            log_level: RDKafkaLogLevel::Warning,
        }
    }

    /// Returns a sorted map of all the configuration parameters set.
    pub fn config_map(&self) -> BTreeMap<&str, &str> {
        self.conf_map
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    /// Gets the value of a parameter in the configuration.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.conf_map.get(key).map(String::as_str)
    }

    /// Sets a parameter in the configuration (checked when a client is created).
    pub fn set<K, V>(&mut self, key: K, value: V) -> &mut ClientConfig
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.conf_map.insert(key.into(), value.into());
        self
    }

    /// Removes a parameter from the configuration.
    pub fn remove<'a>(&'a mut self, key: &str) -> &'a mut ClientConfig {
        self.conf_map.remove(key);
        self
    }

    /// Sets the log level of the client.
    pub fn set_log_level(&mut self, log_level: RDKafkaLogLevel) -> &mut ClientConfig {
        self.log_level = log_level;
        self
    }

    /// Uses the current configuration to create a new consumer or producer.
    pub fn create<T: FromClientConfig>(&self) -> KafkaResult<T> {
        T::from_config(self)
    }

    /// Uses the current configuration and the provided context to create a new consumer or
    /// producer.
    pub fn create_with_context<C, T>(&self, context: C) -> KafkaResult<T>
    where
        C: ClientContext,
        T: FromClientConfigAndContext<C>,
    {
        T::from_config_and_context(self, context)
    }

    /// `bootstrap.servers` (or `metadata.broker.list`).
    /// `test.mock.num.brokers`: the client makes a mock cluster of its own of that many
    /// brokers, whatever `bootstrap.servers` says (0, the default: none).
    pub(crate) fn mock_brokers(&self) -> Option<i32> {
        let brokers = self.get("test.mock.num.brokers")?.trim().parse().ok()?;
        (brokers > 0).then_some(brokers)
    }

    pub(crate) fn servers(&self) -> KafkaResult<&str> {
        self.get("bootstrap.servers")
            .or_else(|| self.get("metadata.broker.list"))
            .ok_or_else(|| {
                KafkaError::ClientCreation(
                    "bootstrap.servers is not set: name a kafkalite data directory, or \
                     \"memory:NAME\" for a temporary cluster"
                        .into(),
                )
            })
    }

    /// The properties in key order, values trimmed.
    fn sorted(&self) -> Vec<(&str, &str)> {
        let mut entries: Vec<(&str, &str)> = self
            .conf_map
            .iter()
            .map(|(key, value)| (key.as_str(), value.trim()))
            .collect();
        entries.sort_unstable();
        entries
    }

    /// Checks every property against librdkafka's table, as `rd_kafka_conf_set` does.
    pub(crate) fn check(&self) -> KafkaResult<()> {
        let mut keys: Vec<&String> = self.conf_map.keys().collect();
        keys.sort();
        for key in keys {
            check_property(key, &self.conf_map[key])?;
        }
        self.check_assignors()
    }

    /// librdkafka's `rd_kafka_assignors_init`, which every client (producers and admin
    /// clients too) runs when it is made: each name in `partition.assignment.strategy` must
    /// be one of librdkafka's assignors (`range`, `roundrobin`, `cooperative-sticky`: not
    /// Kafka's eager `sticky`), and all of one rebalance protocol (not Kafka's default
    /// `range,cooperative-sticky`). A failure is `ClientCreation`, with librdkafka's text.
    fn check_assignors(&self) -> KafkaResult<()> {
        let strategy = self
            .get("partition.assignment.strategy")
            .unwrap_or("range,roundrobin");
        let mut protocols = Vec::new();
        // librdkafka trims spaces before a name only (its `rtrim` starts at the terminating
        // NUL and so trims nothing): "range ,roundrobin" names "range ".
        for name in strategy.split(',') {
            let name = name.trim_start_matches(' ');
            if name.is_empty() {
                continue;
            }
            let Some(kind) = LIBRDKAFKA_ASSIGNORS.into_iter().find(|k| k.name() == name) else {
                return Err(KafkaError::ClientCreation(format!(
                    "Unsupported partition.assignment.strategy: {name}"
                )));
            };
            protocols.push(kind.is_cooperative());
        }
        if protocols.windows(2).any(|w| w[0] != w[1]) {
            return Err(KafkaError::ClientCreation(format!(
                "All partition.assignment.strategy ({strategy}) assignors must have the same \
                 protocol type, online migration between assignors with different protocol \
                 types is not supported"
            )));
        }
        Ok(())
    }
}

impl FromIterator<(String, String)> for ClientConfig {
    fn from_iter<I>(iter: I) -> ClientConfig
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut config = ClientConfig::new();
        config.extend(iter);
        config
    }
}

impl Extend<(String, String)> for ClientConfig {
    fn extend<I>(&mut self, iter: I)
    where
        I: IntoIterator<Item = (String, String)>,
    {
        self.conf_map.extend(iter)
    }
}

/// Create a new client based on the provided configuration.
pub trait FromClientConfig: Sized {
    /// Creates a client from a client configuration. The default client context will be
    /// used.
    fn from_config(_: &ClientConfig) -> KafkaResult<Self>;
}

/// Create a new client based on the provided configuration and context.
pub trait FromClientConfigAndContext<C: ClientContext>: Sized {
    /// Creates a client from a client configuration and a client context.
    fn from_config_and_context(_: &ClientConfig, _: C) -> KafkaResult<Self>;
}

/// One librdkafka property: its name, where it applies (`C`, `P` or `*`) and its values.
pub(super) struct Property {
    pub(super) name: &'static str,
    /// `C` consumer, `P` producer, `*` both (kept for the documentation's sake).
    #[allow(dead_code)]
    pub(super) scope: u8,
    pub(super) kind: Kind,
}

/// What values a librdkafka property takes.
pub(super) enum Kind {
    Str,
    Int(i64, i64),
    Float(f64, f64),
    Bool,
    Enum(&'static [&'static str]),
    Flags(&'static [&'static str]),
    /// Set through a dedicated API (callbacks, opaque pointers): not settable as text.
    Api,
}

fn config_error(res: RDKafkaConfRes, message: String, key: &str, value: &str) -> KafkaError {
    KafkaError::ClientConfig(res, message, key.to_string(), value.to_string())
}

/// librdkafka's hidden properties (`_RK_HIDDEN`, left out of its CONFIGURATION.md) that the
/// facade takes.
static HIDDEN: &[Property] = &[Property {
    name: "test.mock.num.brokers",
    scope: b'*',
    kind: Kind::Int(0, 10000),
}];

/// Checks one property as librdkafka's `rd_kafka_anyconf_set_prop0` does.
fn check_property(key: &str, value: &str) -> KafkaResult<()> {
    let invalid =
        |message: String| config_error(RDKafkaConfRes::RD_KAFKA_CONF_INVALID, message, key, value);
    let known = PROPERTIES.iter().chain(HIDDEN);
    let Some(property) = known.clone().find(|p| p.name == key) else {
        return Err(config_error(
            RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN,
            format!("No such configuration property: \"{key}\""),
            key,
            value,
        ));
    };
    match property.kind {
        Kind::Str | Kind::Api => Ok(()),
        Kind::Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| invalid(format!("Expected bool value for \"{key}\": true or false"))),
        Kind::Int(min, max) => {
            let number = parse_int(key, value).ok_or_else(|| {
                invalid(format!(
                    "Invalid value for configuration property \"{key}\""
                ))
            })?;
            in_range(key, number, min, max).map_err(invalid)
        }
        Kind::Float(min, max) => {
            let number: f64 = value.trim().parse().map_err(|_| {
                invalid(format!(
                    "Invalid value for configuration property \"{key}\""
                ))
            })?;
            // librdkafka prints these with %g: whole values without a fraction.
            in_range(key, number, min, max).map_err(invalid)
        }
        Kind::Enum(values) => {
            if values.iter().any(|v| v.eq_ignore_ascii_case(value.trim())) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "Invalid value \"{value}\" for configuration property \"{key}\""
                )))
            }
        }
        Kind::Flags(values) => {
            for flag in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                if !values.iter().any(|v| v.eq_ignore_ascii_case(flag)) {
                    return Err(invalid(format!(
                        "Invalid value \"{flag}\" for configuration property \"{key}\""
                    )));
                }
            }
            Ok(())
        }
    }
}

/// librdkafka's message for a number outside its property's range.
fn in_range<N: PartialOrd + std::fmt::Display>(
    key: &str,
    number: N,
    min: N,
    max: N,
) -> Result<(), String> {
    if number < min || number > max {
        return Err(format!(
            "Configuration property \"{key}\" value {number} is outside allowed range \
             {min}..{max}\n"
        ));
    }
    Ok(())
}

/// librdkafka's booleans: `true`/`t`/`1`, `false`/`f`/`0` (case-insensitive).
pub(super) fn parse_bool(value: &str) -> Option<bool> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("t") || value == "1" {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") || value.eq_ignore_ascii_case("f") || value == "0"
    {
        Some(false)
    } else {
        None
    }
}

/// librdkafka's integers (with the one named value librdkafka maps: `acks=all`).
fn parse_int(key: &str, value: &str) -> Option<i64> {
    let value = value.trim();
    if matches!(key, "acks" | "request.required.acks") && value.eq_ignore_ascii_case("all") {
        return Some(-1);
    }
    value.parse().ok()
}

/// Sets `key` on a kafkalite configuration, turning its refusal into librdkafka's
/// configuration error.
fn apply<T>(
    config: T,
    set: impl FnOnce(T, &str, &str) -> crate::error::Result<T>,
    key: &str,
    kafkalite_key: &str,
    value: &str,
) -> KafkaResult<T> {
    set(config, kafkalite_key, value).map_err(|error| {
        config_error(
            RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            format!("kafkalite does not support {key}={value}: {error}"),
            key,
            value,
        )
    })
}

/// The producer settings the facade itself applies.
#[derive(Debug, Clone)]
pub(crate) struct ProducerSettings {
    pub(crate) config: ProducerConfig,
    /// librdkafka's `partitioner`.
    pub(crate) partitioner: String,
    /// `sticky.partitioning.linger.ms`.
    pub(crate) sticky_linger_ms: i64,
    /// `queue.buffering.max.messages`: messages queued or not yet reported.
    pub(crate) max_messages: i64,
}

/// Producer keys passed on to kafkalite: librdkafka's name, kafkalite's.
const PRODUCER_KEYS: &[&str] = &[
    "client.id",
    "acks",
    "request.required.acks",
    "batch.size",
    "compression.codec",
    "compression.type",
    "enable.idempotence",
    "transactional.id",
    "transaction.timeout.ms",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "message.max.bytes",
];

impl ClientConfig {
    /// The producer configuration this client configuration means, with librdkafka's
    /// defaults where the user set nothing.
    pub(crate) fn producer_settings(&self) -> KafkaResult<ProducerSettings> {
        self.check()?;
        // librdkafka's defaults where they differ from the Java client's.
        let defaults = [
            ("enable.idempotence", "false"),
            ("linger.ms", "5"),
            ("delivery.timeout.ms", "300000"),
            ("buffer.memory", "1073741824"),
            ("max.block.ms", "0"),
        ];
        let mut config = with_defaults(ProducerConfig::new(), ProducerConfig::set, &defaults)?;
        for (key, value) in self.sorted() {
            if PRODUCER_KEYS.contains(&key) {
                // As they are: `ProducerConfig` knows librdkafka's spellings.
                let value = match key {
                    "acks" | "request.required.acks" => {
                        Cow::Borrowed(match parse_int(key, value) {
                            Some(-1) => "all",
                            Some(0) => "0",
                            Some(1) => "1",
                            // More acknowledgements than kafkalite's one replica: all of them.
                            _ => "all",
                        })
                    }
                    _ => canonical(key, value),
                };
                config = apply(config, ProducerConfig::set, key, key, &value)?;
            } else if matches!(key, "linger.ms" | "queue.buffering.max.ms") {
                // librdkafka's are fractional milliseconds.
                let ms = value.parse::<f64>().unwrap_or(5.0).round().max(0.0);
                config = apply(config, ProducerConfig::set, key, key, &format!("{ms}"))?;
            } else if key == "queue.buffering.max.kbytes" {
                // Converted here: `ProducerConfig`'s alias of this key takes bytes.
                let kbytes: i64 = value.parse().unwrap_or(1_048_576);
                let bytes = kbytes.saturating_mul(1024).to_string();
                config = apply(config, ProducerConfig::set, key, "buffer.memory", &bytes)?;
            }
        }
        if self.get("transactional.id").is_some() && self.get("enable.idempotence").is_none() {
            // librdkafka: a transactional producer is idempotent.
            config = apply(
                config,
                ProducerConfig::set,
                "transactional.id",
                "enable.idempotence",
                "true",
            )?;
        }
        Ok(ProducerSettings {
            config,
            partitioner: self
                .get("partitioner")
                .unwrap_or("consistent_random")
                .trim()
                .to_string(),
            sticky_linger_ms: self
                .get("sticky.partitioning.linger.ms")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(10),
            max_messages: self
                .get("queue.buffering.max.messages")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(100_000),
        })
    }
}

/// `config` with each of `defaults` set.
fn with_defaults<T>(
    mut config: T,
    set: impl Fn(T, &str, &str) -> crate::error::Result<T>,
    defaults: &[(&str, &str)],
) -> KafkaResult<T> {
    for (key, value) in defaults {
        config = apply(config, &set, key, key, value)?;
    }
    Ok(config)
}

/// A value as kafkalite's configuration takes it: librdkafka's booleans as `true`/`false`,
/// its enumerations and flag lists, which it reads case-insensitively, in lower case.
fn canonical<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    match PROPERTIES.iter().find(|p| p.name == key).map(|p| &p.kind) {
        Some(Kind::Bool) => Cow::Borrowed(bool_text(value)),
        Some(Kind::Enum(_) | Kind::Flags(_)) => Cow::Owned(value.trim().to_ascii_lowercase()),
        _ => Cow::Borrowed(value),
    }
}

fn bool_text(value: &str) -> &'static str {
    if parse_bool(value) == Some(true) {
        "true"
    } else {
        "false"
    }
}

/// The consumer settings the facade itself applies.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerSettings {
    pub(crate) config: ConsumerConfig,
    /// `enable.auto.offset.store`: the facade stores each message's offset + 1 as it hands
    /// the message out (the inner consumer never stores by itself).
    pub(crate) auto_offset_store: bool,
}

/// Consumer keys passed on to kafkalite as they are.
const CONSUMER_KEYS: &[&str] = &[
    "group.id",
    "group.instance.id",
    "client.id",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "auto.offset.reset",
    "session.timeout.ms",
    "max.poll.interval.ms",
    "heartbeat.interval.ms",
    "partition.assignment.strategy",
    "isolation.level",
    "check.crcs",
    "allow.auto.create.topics",
    "max.partition.fetch.bytes",
    "fetch.message.max.bytes",
];

impl ClientConfig {
    /// The consumer configuration this client configuration means, with librdkafka's
    /// defaults where the user set nothing.
    pub(crate) fn consumer_settings(&self) -> KafkaResult<ConsumerSettings> {
        self.check()?;
        let defaults = [
            ("isolation.level", "read_committed"),
            ("partition.assignment.strategy", "range,roundrobin"),
            ("enable.auto.offset.store", "false"),
            ("allow.auto.create.topics", "false"),
        ];
        let mut config = with_defaults(ConsumerConfig::new(), ConsumerConfig::set, &defaults)?;
        for (key, value) in self.sorted() {
            if CONSUMER_KEYS.contains(&key) {
                config = apply(
                    config,
                    ConsumerConfig::set,
                    key,
                    key,
                    &canonical(key, value),
                )?;
            }
        }
        let flag = |key: &str, default: bool| self.get(key).and_then(parse_bool).unwrap_or(default);
        config = config.enable_partition_eof(flag("enable.partition.eof", false));
        Ok(ConsumerSettings {
            config,
            auto_offset_store: flag("enable.auto.offset.store", true),
        })
    }
}
