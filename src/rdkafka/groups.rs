//! Group membership information (`rdkafka::groups`), as `fetch_group_list` returns it.

use std::collections::BTreeMap;

use crate::group::{GroupDescription, MemberDescription};

/// Group member information container.
#[derive(Debug, Clone)]
pub struct GroupMemberInfo {
    id: String,
    client_id: String,
    client_host: String,
    assignment: Vec<u8>,
}

impl GroupMemberInfo {
    fn of(member: &MemberDescription) -> Self {
        GroupMemberInfo {
            id: member.member_id.clone(),
            client_id: member.client_id.clone(),
            client_host: member.host.clone(),
            assignment: encode_assignment(member),
        }
    }

    /// Returns the ID of the member.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Returns the client ID of the member.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Return the client host of the member.
    pub fn client_host(&self) -> &str {
        &self.client_host
    }

    /// Returns the metadata of the member (`None`: kafkalite keeps no protocol metadata of
    /// its members).
    pub fn metadata(&self) -> Option<&[u8]> {
        None
    }

    /// Returns the partition assignment of the member, in Kafka's consumer protocol
    /// (`ConsumerProtocolAssignment` version 0).
    pub fn assignment(&self) -> Option<&[u8]> {
        Some(&self.assignment)
    }
}

/// Kafka's `ConsumerProtocolAssignment` v0: version, then per topic its name and partitions,
/// then null user data.
fn encode_assignment(member: &MemberDescription) -> Vec<u8> {
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in &member.assignment {
        topics.entry(&tp.topic).or_default().push(tp.partition);
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0i16.to_be_bytes());
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes();
    out.extend_from_slice(&count(topics.len()));
    for (topic, partitions) in topics {
        let name = topic.as_bytes();
        out.extend_from_slice(&i16::try_from(name.len()).unwrap_or(i16::MAX).to_be_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&count(partitions.len()));
        for partition in partitions {
            out.extend_from_slice(&partition.to_be_bytes());
        }
    }
    out.extend_from_slice(&(-1i32).to_be_bytes());
    out
}

/// Group information container.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    name: String,
    members: Vec<GroupMemberInfo>,
    state: String,
    protocol: String,
}

impl GroupInfo {
    pub(crate) fn of(group: &GroupDescription) -> Self {
        GroupInfo {
            name: group.group_id.clone(),
            members: group.members.iter().map(GroupMemberInfo::of).collect(),
            state: group.state.name().to_string(),
            protocol: group.protocol.clone().unwrap_or_default(),
        }
    }

    /// Returns the name of the group.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the members of the group.
    pub fn members(&self) -> &[GroupMemberInfo] {
        &self.members
    }

    /// Returns the state of the group (Kafka's names: `Stable`, `Empty`, ...).
    pub fn state(&self) -> &str {
        &self.state
    }

    /// Returns the protocol of the group (the assignor in use).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Returns the protocol type of the group.
    pub fn protocol_type(&self) -> &str {
        "consumer"
    }
}

/// List of groups.
#[derive(Debug, Clone)]
pub struct GroupList(pub(crate) Vec<GroupInfo>);

impl GroupList {
    /// Returns all the groups in the list.
    pub fn groups(&self) -> &[GroupInfo] {
        &self.0
    }
}
