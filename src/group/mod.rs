//! Consumer groups: Kafka's assignors, an in-process group coordinator, and committed offsets
//! kept in the internal topic `__consumer_offsets`.

mod admin;
pub mod assignor;
mod coordinator;
mod initial_delay;
mod offsets;
mod offsets_schema;
mod protocol;
mod rebalance;
mod types;

pub use admin::{GroupPartitionOffsets, OffsetReset};
pub(crate) use coordinator::Coordinator;
pub(crate) use offsets::{check_group_id, split_missing, OFFSETS_TOPIC};
pub use offsets_schema::{
    decode_offset_commit_value, decode_offsets_key, OffsetCommitValue, OffsetsTopicKey,
};
pub(crate) use protocol::{CheckIn, Handout, JoinProtocol, JoinRequest, Missed};
pub use protocol::{GroupDescription, GroupState, MemberDescription};
pub use types::{
    ConsumerGroupMetadata, Message, OffsetAndMetadata, OffsetAndTimestamp, Offsets, TopicPartition,
};
