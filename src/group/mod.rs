//! Consumer groups: Kafka's assignors, an in-process group coordinator, and committed offsets
//! kept in the internal topic `__consumer_offsets`.

mod admin;
mod assignor;
mod coordinator;
mod initial_delay;
mod offsets;
mod types;

pub use admin::{GroupPartitionOffsets, OffsetReset};
pub(crate) use coordinator::{CheckIn, Coordinator, JoinRequest};
pub use coordinator::{GroupDescription, GroupState, MemberDescription};
pub(crate) use offsets::check_group_id;
pub use types::{
    ConsumerGroupMetadata, Message, OffsetAndMetadata, OffsetAndTimestamp, Offsets, TopicPartition,
};
