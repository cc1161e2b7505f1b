//! Subscriptions: the topics a consumer asks its group for, given by name or (with the
//! `regex` feature) by a pattern that is matched again as topics come and go.

use std::collections::BTreeSet;

use super::listener::RebalanceListener;
use super::state::{Mode, State};
use crate::error::{Error, Result};

impl State {
    pub(super) fn subscribe(
        &mut self,
        topics: &[&str],
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        if topics.is_empty() {
            // As Kafka: subscribing to no topics is unsubscribing.
            self.check_open()?;
            self.group_id()?;
            return self.unsubscribe();
        }
        for topic in topics {
            crate::cluster::validate_topic_name(topic)?;
        }
        self.check_can_subscribe()?;
        #[cfg(feature = "regex")]
        {
            self.pattern = None;
        }
        self.set_subscription(topics.iter().map(|t| t.to_string()).collect(), listener)
    }

    /// Leaves the group (revoking every partition) and drops the subscription or assignment.
    pub(super) fn unsubscribe(&mut self) -> Result<()> {
        self.leave_group(true)?;
        self.partitions.clear();
        self.mode = Mode::Unset;
        #[cfg(feature = "regex")]
        {
            self.pattern = None;
        }
        Ok(())
    }

    /// Whether every partition is of a subscribed topic (Kafka's
    /// `checkAssignmentMatchedSubscription`: a pattern subscription by the pattern).
    pub(super) fn subscribes_to_all(&self, partitions: &[crate::group::TopicPartition]) -> bool {
        #[cfg(feature = "regex")]
        if let Some((regex, _)) = &self.pattern {
            return partitions.iter().all(|tp| regex.is_match(&tp.topic));
        }
        let Mode::Subscribed(topics) = &self.mode else {
            return true;
        };
        partitions.iter().all(|tp| topics.contains(&*tp.topic))
    }

    /// Starts a rebalance at the next `poll` (Kafka's `enforceRebalance`).
    pub(super) fn enforce_rebalance(&mut self) -> Result<()> {
        self.check_open()?;
        if self.config.group_id.is_none() {
            return Err(Error::IllegalState(
                "enforce_rebalance without a group.id: there is no group to rebalance".into(),
            ));
        }
        if matches!(self.mode, Mode::Subscribed(_)) && self.member_id.is_some() {
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        Ok(())
    }

    fn check_can_subscribe(&self) -> Result<()> {
        self.check_open()?;
        self.group_id()?;
        if self.mode == Mode::Assigned {
            return Err(Error::IllegalState(
                "subscribe after assign: a consumer either subscribes or assigns; unsubscribe first"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Sets the subscribed topics; a change rejoins (Kafka triggers a rebalance).
    fn set_subscription(
        &mut self,
        topics: BTreeSet<String>,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        let changed = self.mode != Mode::Subscribed(topics.clone());
        self.mode = Mode::Subscribed(topics);
        if listener.is_some() {
            self.listener = listener;
        }
        if changed && self.member_id.is_some() {
            let group = self.group_id()?.to_string();
            self.coordinator()?.request_rebalance(&group);
        }
        Ok(())
    }

    #[cfg(feature = "regex")]
    pub(super) fn subscribe_pattern(
        &mut self,
        pattern: &str,
        listener: Option<Box<dyn RebalanceListener>>,
    ) -> Result<()> {
        self.check_can_subscribe()?;
        // Kafka matches the whole topic name (Matcher.matches). The pattern is checked
        // alone first: `a)|(b` is no pattern, though `^(?:a)|(b)$` would be one.
        let invalid =
            |e: regex::Error| Error::InvalidRegularExpression(format!("'{pattern}': {e}"));
        regex::Regex::new(pattern).map_err(invalid)?;
        let regex = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(invalid)?;
        self.pattern = Some((regex, u64::MAX));
        let matched = self.pattern_matches()?;
        self.set_subscription(matched, listener)
    }

    /// The topics the pattern matches now; remembers the metadata version.
    #[cfg(feature = "regex")]
    fn pattern_matches(&mut self) -> Result<BTreeSet<String>> {
        let version = self.cluster.metadata_version();
        let exclude_internal = self.config.exclude_internal_topics;
        let Some((regex, seen)) = &mut self.pattern else {
            return Ok(BTreeSet::new());
        };
        *seen = version;
        Ok(self
            .cluster
            .list_topics()?
            .into_iter()
            .filter(|t| !(exclude_internal && crate::cluster::is_internal_topic(t)))
            .filter(|t| regex.is_match(t))
            .collect())
    }

    /// Picks up topics created or deleted since the pattern last matched.
    pub(super) fn refresh_pattern(&mut self) -> Result<()> {
        #[cfg(feature = "regex")]
        if let Some((_, seen)) = &self.pattern {
            if *seen != self.cluster.metadata_version() {
                let matched = self.pattern_matches()?;
                self.set_subscription(matched, None)?;
            }
        }
        Ok(())
    }
}
