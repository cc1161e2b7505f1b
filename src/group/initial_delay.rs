//! Kafka's `group.initial.rebalance.delay.ms` (the broker's `InitialDelayedJoin`): the first
//! rebalance of an empty group waits for more members. When the delay ends and someone new
//! joined meanwhile, it waits again, `min(delay, remaining)`, until the members' rebalance
//! timeout (`max.poll.interval.ms`) is used up.

/// A pending initial delay of one group's rebalance.
#[derive(Debug, Clone)]
pub(super) struct InitialDelay {
    /// The configured delay.
    configured_ms: i64,
    /// This wait's length and end, on the cluster clock.
    delay_ms: i64,
    deadline_ms: i64,
    /// What is left of the rebalance timeout after this wait.
    remaining_ms: i64,
    /// A new member joined during this wait.
    new_member_added: bool,
}

impl InitialDelay {
    /// The wait that starts at `now_ms` for a group whose members' rebalance timeout is
    /// `rebalance_timeout_ms`; `None` when no delay is configured.
    pub(super) fn start(
        configured_ms: i64,
        now_ms: i64,
        rebalance_timeout_ms: i64,
    ) -> Option<Self> {
        (configured_ms > 0).then(|| InitialDelay {
            configured_ms,
            delay_ms: configured_ms,
            deadline_ms: now_ms.saturating_add(configured_ms),
            remaining_ms: rebalance_timeout_ms.saturating_sub(configured_ms).max(0),
            new_member_added: false,
        })
    }

    pub(super) fn member_added(&mut self) {
        self.new_member_added = true;
    }

    /// Whether the rebalance must still wait at `now_ms`; a wait that ended with new members
    /// and time left is followed by the next.
    pub(super) fn holds(&mut self, now_ms: i64) -> bool {
        while now_ms >= self.deadline_ms {
            if !self.new_member_added || self.remaining_ms == 0 {
                return false;
            }
            let previous = self.delay_ms;
            self.delay_ms = self.configured_ms.min(self.remaining_ms);
            self.remaining_ms = (self.remaining_ms - previous).max(0);
            self.deadline_ms = self.deadline_ms.saturating_add(self.delay_ms);
            self.new_member_added = false;
        }
        true
    }
}
