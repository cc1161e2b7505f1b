//! A manual assignment (Kafka's `assign`, librdkafka's `incremental_assign` and
//! `incremental_unassign`): partitions read without a group.

use std::collections::BTreeMap;

use super::client::Consumer;
use super::offset::Offset;
use super::state::{Mode, PartitionState, State};
use crate::error::{Error, Result};
use crate::group::TopicPartition;

impl Consumer {
    /// Reads exactly these partitions, without a group (Kafka's `assign`), each starting where
    /// its [`Offset`] says. Replaces an earlier assignment.
    pub fn assign(&self, partitions: &[(TopicPartition, Offset)]) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        check_not_subscribed(&state, "assign")?;
        let mut assigned = BTreeMap::new();
        for (tp, offset) in partitions {
            let log = state.log(tp)?;
            assigned.insert(tp.clone(), PartitionState::new(log, *offset));
        }
        state.partitions = assigned;
        state.mode = Mode::Assigned;
        Ok(())
    }

    /// Adds partitions to a manual assignment (librdkafka's `incremental_assign`), each
    /// starting where its [`Offset`] says; the partitions already assigned keep their
    /// position, pause and stored offset. A partition already assigned, or listed twice,
    /// is `IllegalState`, and nothing changes.
    pub fn incremental_assign(&self, partitions: &[(TopicPartition, Offset)]) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        check_not_subscribed(&state, "incremental_assign")?;
        let mut added = BTreeMap::new();
        for (tp, offset) in partitions {
            if state.partitions.contains_key(tp) || added.contains_key(tp) {
                return Err(Error::IllegalState(format!(
                    "{tp} is already assigned (or listed twice): incremental_assign adds \
                     partitions; seek to move one that is assigned"
                )));
            }
            let log = state.log(tp)?;
            added.insert(tp.clone(), PartitionState::new(log, *offset));
        }
        state.partitions.extend(added);
        state.mode = Mode::Assigned;
        Ok(())
    }

    /// Removes partitions from a manual assignment (librdkafka's `incremental_unassign`);
    /// the others are left as they are. A partition not assigned is `IllegalState`, and
    /// nothing changes.
    pub fn incremental_unassign(&self, partitions: &[TopicPartition]) -> Result<()> {
        let mut state = self.state.lock();
        state.check_open()?;
        check_not_subscribed(&state, "incremental_unassign")?;
        if let Some(tp) = partitions
            .iter()
            .find(|tp| !state.partitions.contains_key(*tp))
        {
            return Err(Error::IllegalState(format!(
                "{tp} is not assigned: incremental_unassign removes assigned partitions"
            )));
        }
        for tp in partitions {
            state.partitions.remove(tp);
        }
        state.mode = Mode::Assigned;
        Ok(())
    }
}

/// A manual assignment's calls are refused while subscribed.
fn check_not_subscribed(state: &State, call: &str) -> Result<()> {
    if matches!(state.mode, Mode::Subscribed(_)) {
        return Err(Error::IllegalState(format!(
            "{call} after subscribe: a consumer either subscribes or assigns; unsubscribe first"
        )));
    }
    Ok(())
}
