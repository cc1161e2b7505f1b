//! The consumer: Kafka's `KafkaConsumer` in process, reading straight from the mapped
//! segments, alone or in a consumer group.

mod assignment;
mod builder;
mod client;
mod commits;
mod committer;
mod fetch;
mod interceptor;
mod listener;
mod manual;
mod membership;
mod offset;
mod positions;
mod receive;
mod records;
#[cfg(feature = "rdkafka-api")]
mod split;
mod state;
mod subscription;
mod typed;

pub use builder::ConsumerBuilder;
pub use client::{Consumer, ConsumerWaker};
pub use commits::CommitMode;
pub use committer::Committer;
pub use interceptor::ConsumerInterceptor;
pub use listener::{RebalanceContext, RebalanceListener};
pub use offset::Offset;
#[cfg(feature = "rdkafka-api")]
pub(crate) use receive::Received;
pub use receive::{RecordStream, Recv};
pub use records::{ConsumerRecord, RecordView, Records};
pub use typed::{
    BytesDeserializer, DecodeError, Deserializer, LongDeserializer, StringDeserializer,
    TypedConsumer, TypedConsumerRecord,
};
