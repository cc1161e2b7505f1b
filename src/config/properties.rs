//! Kafka-style string properties: an ordered list of `key=value` pairs, as in a Java
//! `.properties` file or rdkafka's `ClientConfig`.

use crate::error::{Error, Result};

/// Ordered `key=value` pairs. Later values of a key win.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// No properties.
    pub fn new() -> Self {
        Properties::default()
    }

    /// Sets `key` to `value` (keeping the first position of the key).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let (key, value) = (key.into(), value.into());
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs, in the order keys were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses Java `.properties` text: `key=value` or `key: value` lines; `#` and `!` start
    /// comments; blank lines are skipped. A line without a separator is an error naming it.
    pub fn parse(text: &str) -> Result<Properties> {
        let mut properties = Properties::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let at = line.find(['=', ':']).ok_or_else(|| Error::InvalidConfig {
                key: line.to_string(),
                message: format!("line {} is not key=value", number + 1),
                suggestion: None,
            })?;
            properties.set(line[..at].trim(), line[at + 1..].trim());
        }
        Ok(properties)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut properties = Properties::new();
        for (k, v) in pairs {
            properties.set(k, v);
        }
        properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_properties() {
        let text = "# producer\nbootstrap.servers=localhost:9092\n linger.ms : 10 \n\n! old\nacks=all\nacks=1\n";
        let p = Properties::parse(text).unwrap();
        assert_eq!(p.get("linger.ms"), Some("10"));
        assert_eq!(p.get("acks"), Some("1"));
        assert_eq!(p.iter().count(), 3);
        assert!(Properties::parse("just words").is_err());
    }
}
