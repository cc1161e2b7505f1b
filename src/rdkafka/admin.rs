//! rust-rdkafka's `AdminClient` (`rdkafka::admin`): topics, partitions, records, groups and
//! configs, with per-item results carrying Kafka's error codes. Each call is carried out
//! when it is made; the returned future is already complete.

use std::collections::BTreeMap;
use std::future::{ready, Future};
use std::sync::Arc;

use super::client::{Client, ClientContext, DefaultClientContext};
use super::config::{ClientConfig, FromClientConfig, FromClientConfigAndContext};
use super::connect::connect_client;
use super::error::{code_of, KafkaResult, RDKafkaErrorCode};
use super::topic_partition_list::{Offset, TopicPartitionList};
use crate::cluster::Cluster;
use crate::config::TopicConfig;
use crate::error::Error;

mod types;

pub use types::{
    AdminOptions, AlterConfig, AlterConfigsResult, ConfigEntry, ConfigResource,
    ConfigResourceResult, ConfigSource, NewPartitions, NewTopic, OwnedResourceSpecifier,
    PartitionAssignment, ResourceSpecifier, TopicReplication,
};

/// A client for the administrative API of the cluster.
pub struct AdminClient<C: ClientContext = DefaultClientContext> {
    client: Client<C>,
}

impl<C: ClientContext> std::fmt::Debug for AdminClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").finish_non_exhaustive()
    }
}

impl FromClientConfig for AdminClient<DefaultClientContext> {
    fn from_config(config: &ClientConfig) -> KafkaResult<AdminClient<DefaultClientContext>> {
        AdminClient::from_config_and_context(config, DefaultClientContext)
    }
}

impl<C: ClientContext> FromClientConfigAndContext<C> for AdminClient<C> {
    fn from_config_and_context(config: &ClientConfig, context: C) -> KafkaResult<AdminClient<C>> {
        config.check()?;
        let (cluster, mock_brokers) = connect_client(config)?;
        Ok(AdminClient {
            client: Client::new(cluster, Arc::new(context), false).mock_brokers(mock_brokers),
        })
    }
}

/// The result of an operation on one topic: its name, or its name and the error.
pub type TopicResult = Result<String, (String, RDKafkaErrorCode)>;

/// The result of an operation on one group: its name, or its name and the error.
pub type GroupResult = Result<String, (String, RDKafkaErrorCode)>;

impl<C: ClientContext> AdminClient<C> {
    fn cluster(&self) -> &Cluster {
        self.client.cluster()
    }

    /// Creates new topics; each has its own result (the operation is not atomic).
    pub fn create_topics<'a, I>(
        &self,
        topics: I,
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<TopicResult>>>
    where
        I: IntoIterator<Item = &'a NewTopic<'a>>,
    {
        let results = topics
            .into_iter()
            .map(|topic| {
                self.create_topic(topic, opts.validate_only)
                    .map(|()| topic.name.to_string())
                    .map_err(|code| (topic.name.to_string(), code))
            })
            .collect();
        ready(Ok(results))
    }

    fn create_topic(
        &self,
        topic: &NewTopic<'_>,
        validate_only: bool,
    ) -> Result<(), RDKafkaErrorCode> {
        let replication = match topic.replication {
            TopicReplication::Fixed(factor) => factor,
            TopicReplication::Variable(assignment) => {
                if assignment.len() != usize::try_from(topic.num_partitions).unwrap_or(0) {
                    return Err(RDKafkaErrorCode::InvalidReplicaAssignment);
                }
                // The one broker, id 0, is every replica there is.
                if assignment.iter().any(|replicas| replicas != &[0]) {
                    return Err(RDKafkaErrorCode::InvalidReplicaAssignment);
                }
                1
            }
        };
        // -1: the broker's default (KIP-464): one replica, `num.partitions` partitions.
        let replication = match replication {
            -1 => 1,
            factor => {
                i16::try_from(factor).map_err(|_| RDKafkaErrorCode::InvalidReplicationFactor)?
            }
        };
        let partitions = match topic.num_partitions {
            -1 => self.cluster().default_partitions(),
            count => count,
        };
        let mut new =
            crate::cluster::NewTopic::new(topic.name, partitions).replication_factor(replication);
        for (key, value) in &topic.config {
            new = new.config(*key, *value);
        }
        if validate_only {
            return self.validate(topic, replication);
        }
        self.cluster()
            .create_topic(new)
            .map_err(|error| code_of(&error))
    }

    /// `validate_only`: the checks a creation makes, without creating.
    fn validate(&self, topic: &NewTopic<'_>, replication: i16) -> Result<(), RDKafkaErrorCode> {
        crate::cluster::validate_topic_name(topic.name).map_err(|error| code_of(&error))?;
        if self.cluster().describe_topic(topic.name).is_ok() {
            return Err(RDKafkaErrorCode::TopicAlreadyExists);
        }
        if topic.num_partitions < 1 && topic.num_partitions != -1 {
            return Err(RDKafkaErrorCode::InvalidPartitions);
        }
        if replication != 1 {
            return Err(RDKafkaErrorCode::InvalidReplicationFactor);
        }
        TopicConfig::from_overrides(topic.config.iter().copied())
            .map(|_| ())
            .map_err(|error| code_of(&error))
    }

    /// Deletes the named topics; each has its own result.
    pub fn delete_topics(
        &self,
        topic_names: &[&str],
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<TopicResult>>> {
        let _ = opts;
        let results = topic_names
            .iter()
            .map(|name| {
                self.cluster()
                    .delete_topic(name)
                    .map(|()| name.to_string())
                    .map_err(|error| (name.to_string(), code_of(&error)))
            })
            .collect();
        ready(Ok(results))
    }

    /// Deletes the named groups (they must have no active members); each has its own result.
    pub fn delete_groups(
        &self,
        group_names: &[&str],
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<GroupResult>>> {
        let _ = opts;
        let results = group_names
            .iter()
            .map(|name| {
                self.cluster()
                    .delete_group(name)
                    .map(|()| name.to_string())
                    .map_err(|error| (name.to_string(), code_of(&error)))
            })
            .collect();
        ready(Ok(results))
    }

    /// Adds partitions to existing topics; each has its own result.
    pub fn create_partitions<'a, I>(
        &self,
        partitions: I,
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<TopicResult>>>
    where
        I: IntoIterator<Item = &'a NewPartitions<'a>>,
    {
        let results = partitions
            .into_iter()
            .map(|request| {
                let name = request.topic_name.to_string();
                self.create_partitions_of(request, opts.validate_only)
                    .map(|()| name.clone())
                    .map_err(|code| (name, code))
            })
            .collect();
        ready(Ok(results))
    }

    fn create_partitions_of(
        &self,
        request: &NewPartitions<'_>,
        validate_only: bool,
    ) -> Result<(), RDKafkaErrorCode> {
        let total = i32::try_from(request.new_partition_count)
            .map_err(|_| RDKafkaErrorCode::InvalidPartitions)?;
        if let Some(assignment) = request.assignment {
            if assignment.iter().any(|replicas| replicas != &[0]) {
                return Err(RDKafkaErrorCode::InvalidReplicaAssignment);
            }
        }
        if validate_only {
            let current = self
                .cluster()
                .describe_topic(request.topic_name)
                .map_err(|error| code_of(&error))?
                .partitions
                .len();
            return if usize::try_from(total).unwrap_or(0) > current {
                Ok(())
            } else {
                Err(RDKafkaErrorCode::InvalidPartitions)
            };
        }
        self.cluster()
            .create_partitions(request.topic_name, total)
            .map_err(|error| code_of(&error))
    }

    /// Deletes the records below each element's offset (`Offset::End`: all of them). The
    /// answer lists each partition's new low watermark, or its error.
    pub fn delete_records(
        &self,
        offsets: &TopicPartitionList,
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<TopicPartitionList>> {
        let _ = opts;
        let mut answer = TopicPartitionList::with_capacity(offsets.count());
        for (topic, partition, raw, _) in offsets.raw_entries() {
            let target = match Offset::from_raw(raw) {
                Offset::End => self
                    .cluster()
                    .partition(topic, partition)
                    .map(|log| log.high_watermark()),
                Offset::Offset(offset) => Ok(offset),
                _ => Err(Error::OffsetOutOfRange {
                    partition: format!("{topic}-{partition}"),
                    offset: raw,
                    log_start: -1,
                    log_end: -1,
                }),
            };
            let deleted =
                target.and_then(|offset| self.cluster().delete_records(topic, partition, offset));
            let mut elem = answer.add_partition(topic, partition);
            match deleted {
                Ok(low) => {
                    let _ = elem.set_offset(Offset::Offset(low));
                }
                Err(error) => {
                    drop(elem);
                    answer.set_error(topic, partition, code_of(&error));
                }
            }
        }
        ready(Ok(answer))
    }

    /// Retrieves the configuration of topics (every key, its value and source) and of the
    /// broker (none: kafkalite's cluster settings are not broker configs).
    pub fn describe_configs<'a, I>(
        &self,
        configs: I,
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<ConfigResourceResult>>>
    where
        I: IntoIterator<Item = &'a ResourceSpecifier<'a>>,
    {
        let _ = opts;
        let results = configs
            .into_iter()
            .map(|specifier| self.describe(specifier))
            .collect();
        ready(Ok(results))
    }

    fn describe(&self, specifier: &ResourceSpecifier<'_>) -> ConfigResourceResult {
        match *specifier {
            ResourceSpecifier::Topic(name) => {
                let config = self
                    .cluster()
                    .topic_config(name)
                    .map_err(|error| code_of(&error))?;
                let overrides = config.overrides();
                let entries = config
                    .entries()
                    .into_iter()
                    .map(|(key, value)| {
                        let set = overrides.contains_key(key);
                        ConfigEntry {
                            name: key.to_string(),
                            value: Some(value),
                            source: if set {
                                ConfigSource::DynamicTopic
                            } else {
                                ConfigSource::Default
                            },
                            is_read_only: false,
                            is_default: !set,
                            is_sensitive: false,
                        }
                    })
                    .collect();
                Ok(ConfigResource {
                    specifier: OwnedResourceSpecifier::Topic(name.to_string()),
                    entries,
                })
            }
            ResourceSpecifier::Broker(0) => Ok(ConfigResource {
                specifier: OwnedResourceSpecifier::Broker(0),
                entries: Vec::new(),
            }),
            ResourceSpecifier::Broker(_) => Err(RDKafkaErrorCode::BrokerNotAvailable),
            ResourceSpecifier::Group(_) => Err(RDKafkaErrorCode::InvalidRequest),
        }
    }

    /// Replaces the configuration of topics (Kafka's non-incremental `AlterConfigs`, as
    /// librdkafka's: a key not given returns to its default).
    pub fn alter_configs<'a, I>(
        &self,
        configs: I,
        opts: &AdminOptions,
    ) -> impl Future<Output = KafkaResult<Vec<AlterConfigsResult>>>
    where
        I: IntoIterator<Item = &'a AlterConfig<'a>>,
    {
        let results = configs
            .into_iter()
            .map(|alter| {
                let owned = OwnedResourceSpecifier::of(&alter.specifier);
                match self.alter(alter, opts.validate_only) {
                    Ok(()) => Ok(owned),
                    Err(code) => Err((owned, code)),
                }
            })
            .collect();
        ready(Ok(results))
    }

    fn alter(&self, alter: &AlterConfig<'_>, validate_only: bool) -> Result<(), RDKafkaErrorCode> {
        let ResourceSpecifier::Topic(name) = alter.specifier else {
            return Err(RDKafkaErrorCode::InvalidRequest);
        };
        let current = self
            .cluster()
            .topic_config(name)
            .map_err(|error| code_of(&error))?;
        let set: BTreeMap<&str, &str> = alter.entries.iter().map(|(k, v)| (*k, *v)).collect();
        if validate_only {
            return TopicConfig::from_overrides(set.iter().map(|(k, v)| (*k, *v)))
                .map(|_| ())
                .map_err(|error| code_of(&error));
        }
        let delete: Vec<&str> = current
            .overrides()
            .keys()
            .map(String::as_str)
            .filter(|key| !set.contains_key(key))
            .collect();
        let set: Vec<(&str, &str)> = set.into_iter().collect();
        self.cluster()
            .alter_topic_config(name, &set, &delete)
            .map_err(|error| code_of(&error))
    }

    /// Returns the client underlying this admin client.
    pub fn inner(&self) -> &Client<C> {
        &self.client
    }
}
