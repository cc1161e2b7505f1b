//! Making consumers: [`Cluster::consumer`] and the [`ConsumerBuilder`] for interceptors and
//! custom assignors.

use std::sync::Arc;

use super::assignment::resolve_assignors;
use super::client::Consumer;
use super::interceptor::{ConsumerInterceptor, Interceptors};
use crate::cluster::Cluster;
use crate::config::{ConsumerConfig, IntoConsumerConfig};
use crate::error::Result;
use crate::group::assignor::ConsumerPartitionAssignor;

impl Cluster {
    /// A consumer configured from a [`ConsumerConfig`], `&Properties` or `&[(&str, &str)]`.
    /// Fails with [`Error::InvalidGroupId`](crate::Error::InvalidGroupId) for a `group.id`
    /// longer than the 32767 bytes of a Kafka string field, which its commits could not be
    /// stored under, and with [`Error::InvalidConfig`](crate::Error::InvalidConfig) when
    /// `partition.assignment.strategy` names an assignor that is not built in (custom ones
    /// need [`Cluster::consumer_builder`]).
    pub fn consumer(&self, config: impl IntoConsumerConfig) -> Result<Consumer> {
        self.consumer_builder(config).build()
    }

    /// A consumer with interceptors or custom assignors.
    pub fn consumer_builder(&self, config: impl IntoConsumerConfig) -> ConsumerBuilder {
        ConsumerBuilder {
            cluster: self.clone(),
            config: config.into_config(),
            interceptors: Vec::new(),
            assignors: Vec::new(),
        }
    }
}

/// Options of a consumer beyond its properties. Made by [`Cluster::consumer_builder`].
pub struct ConsumerBuilder {
    cluster: Cluster,
    config: Result<ConsumerConfig>,
    interceptors: Vec<Arc<dyn ConsumerInterceptor>>,
    assignors: Vec<Arc<dyn ConsumerPartitionAssignor>>,
}

impl std::fmt::Debug for ConsumerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.assignors.iter().map(|a| a.name()).collect();
        f.debug_struct("ConsumerBuilder")
            .field("config", &self.config)
            .field("interceptors", &self.interceptors.len())
            .field("assignors", &names)
            .finish_non_exhaustive()
    }
}

impl ConsumerBuilder {
    /// Adds an interceptor (Kafka's `interceptor.classes`); they run in the order added.
    pub fn interceptor(mut self, interceptor: Arc<dyn ConsumerInterceptor>) -> Self {
        self.interceptors.push(interceptor);
        self
    }

    /// Adds a custom assignor, used when `partition.assignment.strategy` names it (by its
    /// [`name`](ConsumerPartitionAssignor::name)) and the group agrees on it. Give each
    /// consumer its own instance, as Kafka does: assignors may keep state between rebalances.
    pub fn assignor(mut self, assignor: Arc<dyn ConsumerPartitionAssignor>) -> Self {
        self.assignors.push(assignor);
        self
    }

    /// Makes the consumer. Fails with [`Error::InvalidConfig`](crate::Error::InvalidConfig)
    /// when `partition.assignment.strategy` names an assignor that is neither built in nor
    /// added here, or an added assignor is not named there, or two have one name.
    pub fn build(self) -> Result<Consumer> {
        let config = self.config?;
        let assignors = resolve_assignors(
            &config.assignment_strategy,
            self.assignors,
            config.librdkafka_member,
        )?;
        let interceptors = Interceptors::new(self.interceptors);
        Consumer::new(&self.cluster, config, interceptors, assignors)
    }
}
