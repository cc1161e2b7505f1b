//! Kafka's topic naming rules.

use crate::error::{Error, Result};

/// Longest legal topic name.
pub const TOPIC_NAME_LENGTH_MAX: usize = 249;
/// The internal topic holding the cluster's metadata log.
pub const METADATA_TOPIC: &str = "__cluster_metadata";
/// Kafka's internal topics, which users may not create.
pub const INTERNAL_TOPICS: [&str; 4] = [
    METADATA_TOPIC,
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// Checks a name against Kafka's rules: 1-249 characters from `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidTopic("the topic name is empty".into()));
    }
    if name == "." || name == ".." {
        return Err(Error::InvalidTopic(format!(
            "topic name cannot be '{name}'"
        )));
    }
    if name.len() > TOPIC_NAME_LENGTH_MAX {
        return Err(Error::InvalidTopic(format!(
            "topic name is {} characters long; the limit is {TOPIC_NAME_LENGTH_MAX}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::InvalidTopic(format!(
            "topic name '{name}' contains '{bad}'; use only ASCII letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Whether the name is one of Kafka's internal topics.
pub fn is_internal(name: &str) -> bool {
    INTERNAL_TOPICS.contains(&name)
}

/// Kafka treats `.` and `_` as the same character in metric names, so two topics that differ
/// only there collide.
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_rules() {
        for good in ["orders", "a", "a.b_c-D9", &"x".repeat(249)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a b", "ü", "a/b", &"x".repeat(250)] {
            assert!(
                matches!(validate(bad), Err(Error::InvalidTopic(_))),
                "{bad}"
            );
        }
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
        assert!(is_internal("__consumer_offsets") && !is_internal("orders"));
    }
}
