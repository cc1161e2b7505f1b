//! Cluster metadata (`rdkafka::metadata`), as `fetch_metadata` returns it: kafkalite is one
//! broker, id 0, which leads every partition and is its only replica.

use super::error::RDKafkaErrorCode;

/// Broker metadata information.
#[derive(Debug, Clone)]
pub struct MetadataBroker {
    pub(crate) id: i32,
    pub(crate) host: String,
    pub(crate) port: i32,
}

impl MetadataBroker {
    /// The one broker a kafkalite cluster is: id 0, its data directory as the host, port 0.
    pub(crate) fn of(cluster: &crate::Cluster) -> MetadataBroker {
        MetadataBroker {
            id: 0,
            host: cluster.dir().display().to_string(),
            port: 0,
        }
    }

    /// Returns the id of the broker.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Returns the host name of the broker (the cluster's data directory).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Returns the port of the broker (0: there is no network).
    pub fn port(&self) -> i32 {
        self.port
    }
}

/// Partition metadata information.
#[derive(Debug, Clone)]
pub struct MetadataPartition {
    pub(crate) id: i32,
    pub(crate) leader: i32,
    pub(crate) error: Option<RDKafkaErrorCode>,
    pub(crate) replicas: Vec<i32>,
    pub(crate) isr: Vec<i32>,
}

impl MetadataPartition {
    /// Returns the id of the partition.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Returns the broker id of the leader broker for the partition.
    pub fn leader(&self) -> i32 {
        self.leader
    }

    /// Returns the metadata error for the partition, or `None` if there is no error.
    pub fn error(&self) -> Option<RDKafkaErrorCode> {
        self.error
    }

    /// Returns the broker IDs of the replicas.
    pub fn replicas(&self) -> &[i32] {
        &self.replicas
    }

    /// Returns the broker IDs of the in-sync replicas.
    pub fn isr(&self) -> &[i32] {
        &self.isr
    }
}

/// Topic metadata information.
#[derive(Debug, Clone)]
pub struct MetadataTopic {
    pub(crate) name: String,
    pub(crate) partitions: Vec<MetadataPartition>,
    pub(crate) error: Option<RDKafkaErrorCode>,
}

impl MetadataTopic {
    /// Returns the name of the topic.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the partition metadata information for all the partitions.
    pub fn partitions(&self) -> &[MetadataPartition] {
        &self.partitions
    }

    /// Returns the metadata error for the topic, or `None` if there was no error.
    pub fn error(&self) -> Option<RDKafkaErrorCode> {
        self.error
    }
}

/// Metadata container, as returned by `fetch_metadata`.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub(crate) broker: MetadataBroker,
    pub(crate) topics: Vec<MetadataTopic>,
}

impl Metadata {
    /// Returns the ID of the broker originating this metadata.
    pub fn orig_broker_id(&self) -> i32 {
        self.broker.id
    }

    /// Returns the hostname of the broker originating this metadata.
    pub fn orig_broker_name(&self) -> &str {
        &self.broker.host
    }

    /// Returns the metadata information for all the brokers in the cluster.
    pub fn brokers(&self) -> &[MetadataBroker] {
        std::slice::from_ref(&self.broker)
    }

    /// Returns the metadata information for all the topics in the cluster.
    pub fn topics(&self) -> &[MetadataTopic] {
        &self.topics
    }
}
