//! What client configurations share: a table of known keys with their kinds, librdkafka
//! aliases, the network and security families accepted as inert, value checks, and the
//! "did you mean" for unknown keys.

use super::suggest::nearest;
use crate::error::{Error, Result};

/// What values a key takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Long {
        min: i64,
        max: i64,
    },
    Bool,
    Choice(&'static [&'static str]),
    Text,
    /// Accepted (a pasted production file works) but meaningless in one process.
    Inert,
}

pub(super) const LONG_MAX: i64 = i64::MAX;
pub(super) const INT_MAX: i64 = i32::MAX as i64;

/// Any non-negative `long`.
pub(super) const NON_NEGATIVE: Kind = Kind::Long {
    min: 0,
    max: LONG_MAX,
};

/// Key prefixes accepted as inert (security and network families).
const INERT_PREFIXES: &[&str] = &["sasl.", "ssl.", "socket.", "security.", "metrics."];

/// Keys every client accepts as inert.
pub(super) const INERT_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.dns.lookup",
    "client.rack",
    "connections.max.idle.ms",
    "metadata.max.age.ms",
    "metadata.max.idle.ms",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "receive.buffer.bytes",
    "send.buffer.bytes",
    "reconnect.backoff.ms",
    "reconnect.backoff.max.ms",
    "request.timeout.ms",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "security.protocol",
    "socket.connection.setup.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "statistics.interval.ms",
    "metadata.broker.list",
];

/// One client's table of keys.
pub(super) struct Specs {
    /// What the table configures, for messages ("producer", "consumer").
    pub(super) client: &'static str,
    /// (key, kind, default)
    pub(super) keys: &'static [(&'static str, Kind, &'static str)],
    /// librdkafka spellings and the Java key each means.
    pub(super) aliases: &'static [(&'static str, &'static str)],
}

/// A key resolved against a table: its Java name and whether it is inert.
pub(super) struct Resolved {
    pub(super) canonical: &'static str,
    pub(super) inert: bool,
}

impl Specs {
    /// Checks `key` and `value`, returning the key's canonical (Java) name, or `None` for a
    /// key of an inert family (`sasl.*`, `ssl.*`, ...).
    pub(super) fn check(&self, key: &str, value: &str) -> Result<Option<Resolved>> {
        let canonical = self
            .aliases
            .iter()
            .find(|(alias, _)| *alias == key)
            .map_or(key, |(_, java)| java);
        if INERT_PREFIXES.iter().any(|p| canonical.starts_with(p)) {
            return Ok(None);
        }
        if let Some(inert) = INERT_KEYS.iter().find(|k| **k == canonical) {
            return Ok(Some(Resolved {
                canonical: inert,
                inert: true,
            }));
        }
        let (name, kind, _) =
            self.keys
                .iter()
                .find(|s| s.0 == canonical)
                .ok_or_else(|| Error::InvalidConfig {
                    key: key.to_string(),
                    message: format!("unknown {} config", self.client),
                    suggestion: nearest(
                        key,
                        self.keys
                            .iter()
                            .map(|s| s.0)
                            .chain(self.aliases.iter().map(|a| a.0)),
                    ),
                })?;
        validate(key, *kind, value)?;
        Ok(Some(Resolved {
            canonical: name,
            inert: matches!(kind, Kind::Inert),
        }))
    }
}

/// An `InvalidConfig` error for `key`.
pub(super) fn bad(key: &str, message: String) -> Error {
    Error::InvalidConfig {
        key: key.to_string(),
        message,
        suggestion: None,
    }
}

fn validate(key: &str, kind: Kind, value: &str) -> Result<()> {
    match kind {
        Kind::Long { min, max } => {
            let number: i64 = value
                .parse()
                .map_err(|_| bad(key, format!("'{value}' is not an integer")))?;
            if number < min || number > max {
                return Err(bad(key, format!("{number} is outside [{min}, {max}]")));
            }
        }
        Kind::Bool => {
            if value != "true" && value != "false" {
                return Err(bad(key, format!("'{value}' is not true or false")));
            }
        }
        Kind::Choice(words) => {
            if !words.contains(&value) {
                return Err(bad(
                    key,
                    format!("'{value}' is not one of {}", words.join(", ")),
                ));
            }
        }
        Kind::Text | Kind::Inert => {}
    }
    Ok(())
}
