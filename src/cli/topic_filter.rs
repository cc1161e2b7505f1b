//! Kafka's `TopicFilter.IncludeList`: the regular expression kafka-topics and
//! kafka-get-offsets take for `--topic` (the console consumer's `--include` is a plain
//! pattern subscription).

use regex::Regex;

/// A topic-name pattern as Kafka's tools read one: trimmed, `,` meaning `|`, spaces and
/// surrounding quotes dropped, and matched against the whole name (Java's
/// `String.matches`). The pattern language is the regex crate's, which agrees with Java's
/// on what topic patterns use (classes, alternation, repetition, anchors), but has no
/// look-around or backreferences.
#[derive(Debug)]
pub struct IncludeList {
    pattern: Regex,
}

impl IncludeList {
    /// Reads `raw`; an invalid pattern is an error naming it, as Kafka's
    /// "`<regex>` is an invalid regex.".
    pub fn new(raw: &str) -> Result<IncludeList, String> {
        let regex = raw
            .trim()
            .replace(',', "|")
            .replace(' ', "")
            .trim_start_matches(['"', '\''])
            .trim_end_matches(['"', '\''])
            .to_string();
        // Checked alone first: `a)|(b` is no pattern, though `^(?:a)|(b)$` would be one.
        Regex::new(&regex).map_err(|e| format!("{regex} is an invalid regex: {e}"))?;
        let pattern = Regex::new(&format!("^(?:{regex})$"))
            .map_err(|e| format!("{regex} is an invalid regex: {e}"))?;
        Ok(IncludeList { pattern })
    }

    /// Whether `topic` matches, and is not an internal topic when those are excluded.
    pub fn allows(&self, topic: &str, exclude_internal: bool) -> bool {
        self.pattern.is_match(topic) && !(exclude_internal && kafkalite::is_internal_topic(topic))
    }
}

/// The names among `topics` that `pattern` allows (all of them, internal ones aside when
/// excluded, without a pattern), in their order.
pub fn filter(
    topics: Vec<String>,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<String>, String> {
    let include = pattern.map(IncludeList::new).transpose()?;
    Ok(topics
        .into_iter()
        .filter(|topic| match &include {
            Some(include) => include.allows(topic, exclude_internal),
            None => !(exclude_internal && kafkalite::is_internal_topic(topic)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_names_as_java_matches_does() {
        let list = IncludeList::new(" 'orders.*, pay' ").unwrap();
        assert!(list.allows("orders", false));
        assert!(list.allows("orders-eu", false));
        assert!(list.allows("pay", false));
        assert!(!list.allows("payments", false), "a whole-name match");
        assert!(!list.allows("my-orders", false));
        let all = IncludeList::new(".*").unwrap();
        assert!(all.allows("__consumer_offsets", false));
        assert!(!all.allows("__consumer_offsets", true));
        assert!(IncludeList::new("orders[")
            .unwrap_err()
            .contains("invalid regex"));
    }
}
