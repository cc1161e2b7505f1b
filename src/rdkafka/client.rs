//! rust-rdkafka's client layer (`rdkafka::client`): the [`ClientContext`] callbacks every
//! client carries, and [`Client`], what producers and consumers share (metadata and
//! watermarks).

use std::sync::Arc;

use super::config::RDKafkaLogLevel;
use super::error::{code_of, KafkaError, KafkaResult, RDKafkaErrorCode};
use super::groups::{GroupInfo, GroupList};
use super::metadata::{Metadata, MetadataBroker, MetadataPartition, MetadataTopic};
use super::statistics::Statistics;
use super::util::Timeout;
use crate::cluster::{Cluster, NewTopic};
use crate::error::Error;

/// Client-level context: the callbacks of every client. Implement it to hear of errors and
/// log lines; all methods have defaults.
pub trait ClientContext: Send + Sync {
    /// Whether to refresh OAuth tokens (kept for compatibility: there is no network).
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = false;

    /// Receives log lines. By default, logs through `tracing` at the matching level.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", "librdkafka: {fac} {log_message}")
            }
        }
    }

    /// Receives the decoded statistics, every `statistics.interval.ms` (0, the default:
    /// never). By default, logs them.
    fn stats(&self, statistics: Statistics) {
        tracing::info!(target: "librdkafka", "Client stats: {statistics:?}");
    }

    /// Receives the statistics as JSON. By default, decodes them and calls
    /// [`stats`](ClientContext::stats), logging an error if they do not decode.
    fn stats_raw(&self, statistics: &[u8]) {
        match serde_json::from_slice(statistics) {
            Ok(statistics) => self.stats(statistics),
            Err(error) => {
                tracing::error!(target: "librdkafka", "Could not parse statistics JSON: {error}")
            }
        }
    }

    /// Receives global errors. By default, logs them.
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(target: "librdkafka", "librdkafka: {error}: {reason}");
    }
}

/// An empty [`ClientContext`] that can be used when no customizations are needed.
#[derive(Clone, Debug, Default)]
pub struct DefaultClientContext;

impl ClientContext for DefaultClientContext {}

/// What every client holds: the cluster it talks to and its context.
pub struct Client<C: ClientContext = DefaultClientContext> {
    cluster: Cluster,
    context: Arc<C>,
    /// Producers may auto-create the topic whose metadata they ask for (librdkafka's
    /// `allow.auto.create.topics` defaults to true for producers only).
    auto_create: bool,
    /// `isolation.level=read_committed` (librdkafka's default, for every client): the
    /// high watermark this client reports is the last stable offset.
    read_committed: bool,
    /// With `test.mock.num.brokers`: the mock cluster the client made for itself.
    #[cfg(feature = "testing")]
    mock: Option<Arc<super::mocking::MockState>>,
}

impl<C: ClientContext> Client<C> {
    pub(crate) fn new(cluster: Cluster, context: Arc<C>, auto_create: bool) -> Client<C> {
        Client {
            cluster,
            context,
            auto_create,
            read_committed: true,
            #[cfg(feature = "testing")]
            mock: None,
        }
    }

    /// A client that made its cluster as a mock cluster of `brokers` brokers
    /// (`test.mock.num.brokers`; without the `testing` feature, no `mock_cluster`).
    #[cfg_attr(not(feature = "testing"), allow(unused_mut))]
    pub(crate) fn mock_brokers(mut self, brokers: Option<i32>) -> Client<C> {
        #[cfg(feature = "testing")]
        {
            self.mock = brokers.map(|brokers| Arc::new(super::mocking::MockState::new(brokers)));
        }
        #[cfg(not(feature = "testing"))]
        let _ = brokers;
        self
    }

    /// The mock cluster this client made for itself under `test.mock.num.brokers`, if it
    /// did (the fault rules its handles make last as long as the client).
    #[cfg(feature = "testing")]
    pub fn mock_cluster(&self) -> Option<super::mocking::MockCluster<'_, C>> {
        let state = self.mock.as_ref()?;
        Some(super::mocking::MockCluster::of_client(&self.cluster, state))
    }

    /// A consumer's client, with its `isolation.level`.
    pub(crate) fn read_committed(mut self, read_committed: bool) -> Client<C> {
        self.read_committed = read_committed;
        self
    }

    pub(crate) fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Returns a reference to the context.
    pub fn context(&self) -> &Arc<C> {
        &self.context
    }

    /// Gets metadata from the cluster: one topic, or all of them (internal ones included,
    /// as a broker lists them).
    pub fn fetch_metadata<T: Into<Timeout>>(
        &self,
        topic: Option<&str>,
        timeout: T,
    ) -> KafkaResult<Metadata> {
        let _ = timeout.into();
        let fetch_error = |error: Error| KafkaError::MetadataFetch(code_of(&error));
        let names = match topic {
            Some(name) => {
                self.maybe_create(name).map_err(fetch_error)?;
                vec![name.to_string()]
            }
            None => self.cluster.list_topics().map_err(fetch_error)?,
        };
        let mut topics = Vec::with_capacity(names.len());
        for name in names {
            topics.push(match self.cluster.describe_topic(&name) {
                Ok(description) => MetadataTopic {
                    name,
                    partitions: description
                        .partitions
                        .iter()
                        .map(|p| MetadataPartition {
                            id: p.partition,
                            leader: 0,
                            error: None,
                            replicas: vec![0],
                            isr: vec![0],
                        })
                        .collect(),
                    error: None,
                },
                Err(Error::UnknownTopicOrPartition(_)) => MetadataTopic {
                    name,
                    partitions: Vec::new(),
                    error: Some(RDKafkaErrorCode::UnknownTopicOrPartition),
                },
                Err(error) => return Err(fetch_error(error)),
            });
        }
        Ok(Metadata {
            broker: MetadataBroker::of(&self.cluster),
            topics,
        })
    }

    /// Creates `topic` if it does not exist and this client may auto-create it.
    fn maybe_create(&self, topic: &str) -> crate::error::Result<()> {
        if !self.auto_create || self.cluster.describe_topic(topic).is_ok() {
            return Ok(());
        }
        let Some(partitions) = self.cluster.auto_create_topics() else {
            return Ok(());
        };
        match self
            .cluster
            .auto_create_topic(NewTopic::new(topic, partitions))
        {
            Ok(()) | Err(Error::TopicAlreadyExists(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Returns the low and high watermarks for a specific topic and partition: the log
    /// start offset and, as librdkafka asks with the client's `isolation.level`, the last
    /// stable offset (`read_committed`, the default) or the high watermark.
    pub fn fetch_watermarks<T: Into<Timeout>>(
        &self,
        topic: &str,
        partition: i32,
        timeout: T,
    ) -> KafkaResult<(i64, i64)> {
        let _ = timeout.into();
        let log = self
            .cluster
            .partition(topic, partition)
            .map_err(|error| KafkaError::MetadataFetch(watermark_code(&error)))?;
        let high = if self.read_committed {
            log.last_stable_offset()
        } else {
            log.high_watermark()
        };
        Ok((log.log_start_offset(), high))
    }

    /// Returns the groups of the cluster (or the one named) with their members.
    pub fn fetch_group_list<T: Into<Timeout>>(
        &self,
        group: Option<&str>,
        timeout: T,
    ) -> KafkaResult<GroupList> {
        let _ = timeout.into();
        let fetch_error = |error: Error| KafkaError::GroupListFetch(code_of(&error));
        let names = match group {
            Some(name) => vec![name.to_string()],
            None => self.cluster.list_groups().map_err(fetch_error)?,
        };
        let mut groups = Vec::with_capacity(names.len());
        for name in names {
            match self.cluster.describe_group(&name) {
                Ok(description) => groups.push(GroupInfo::of(&description)),
                // librdkafka lists a group the coordinator does not know as Dead.
                Err(Error::GroupIdNotFound(_)) => {
                    groups.push(GroupInfo::of(&crate::group::GroupDescription {
                        group_id: name,
                        state: crate::group::GroupState::Dead,
                        protocol: None,
                        generation: -1,
                        members: Vec::new(),
                    }))
                }
                Err(error) => return Err(fetch_error(error)),
            }
        }
        Ok(GroupList(groups))
    }

    /// Returns the cluster identifier (the `cluster.id` of `meta.properties`).
    pub fn fetch_cluster_id<T: Into<Timeout>>(&self, timeout: T) -> Option<String> {
        let _ = timeout.into();
        Some(self.cluster.cluster_id().to_string())
    }

    /// Returns the first fatal error set on this client instance, or `None` if no fatal
    /// error has occurred (fatal producer errors reach the transactional calls instead).
    pub fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        None
    }
}

/// librdkafka's answer for watermarks of a partition that does not exist.
fn watermark_code(error: &Error) -> RDKafkaErrorCode {
    match error {
        Error::UnknownTopicOrPartition(_) => RDKafkaErrorCode::UnknownPartition,
        _ => code_of(error),
    }
}
