//! rust-rdkafka's `mocking` module (librdkafka's mock cluster) on a kafkalite cluster:
//! [`MockCluster::new`] makes a temporary cluster that clients reach through
//! [`MockCluster::bootstrap_servers`], and the calls tests make to break it become
//! kafkalite's fault rules (the test kit, `Cluster::testing`): errors pushed for a request
//! kind answer its next requests in turn; a partition without a leader, and a topic with an
//! error, refuse the produce and fetch requests on them, ahead of any pushed error (as
//! librdkafka's clients send no request there).
//!
//! One process holds one copy of each partition, so the calls that shape replicas (a
//! partition's followers and their watermarks, racks, coordinators, API versions) check
//! their arguments and change nothing, and those that take brokers down or slow them are
//! not modelled. The README's "Testing code written for rdkafka" lists what differs from
//! librdkafka's mock cluster.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::client::ClientContext;
use super::error::{code_of, KafkaError, KafkaResult, RDKafkaErrorCode};
use super::producer::DefaultProducerContext;
use super::types::RDKafkaRespErr;
use crate::cluster::Cluster;
use crate::error::ErrorCode;
use crate::group::TopicPartition;
use crate::testing::{FaultGuard, Op};

/// librdkafka's protocol request kinds (Kafka's API keys), as rdkafka-sys's `RDKafkaApiKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i16)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum RDKafkaApiKey {
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    LeaderAndIsr = 4,
    StopReplica = 5,
    UpdateMetadata = 6,
    ControlledShutdown = 7,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    DescribeGroups = 15,
    ListGroups = 16,
    SaslHandshake = 17,
    ApiVersion = 18,
    CreateTopics = 19,
    DeleteTopics = 20,
    DeleteRecords = 21,
    InitProducerId = 22,
    OffsetForLeaderEpoch = 23,
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
    WriteTxnMarkers = 27,
    TxnOffsetCommit = 28,
    DescribeAcls = 29,
    CreateAcls = 30,
    DeleteAcls = 31,
    DescribeConfigs = 32,
    AlterConfigs = 33,
    AlterReplicaLogDirs = 34,
    DescribeLogDirs = 35,
    SaslAuthenticate = 36,
    CreatePartitions = 37,
    CreateDelegationToken = 38,
    RenewDelegationToken = 39,
    ExpireDelegationToken = 40,
    DescribeDelegationToken = 41,
    DeleteGroups = 42,
    ElectLeaders = 43,
    IncrementalAlterConfigs = 44,
    AlterPartitionReassignments = 45,
    ListPartitionReassignments = 46,
    OffsetDelete = 47,
    DescribeClientQuotas = 48,
    AlterClientQuotas = 49,
    DescribeUserScramCredentials = 50,
    AlterUserScramCredentials = 51,
    Vote = 52,
    BeginQuorumEpoch = 53,
    EndQuorumEpoch = 54,
    DescribeQuorum = 55,
    AlterIsr = 56,
    UpdateFeatures = 57,
    Envelope = 58,
}

impl From<RDKafkaApiKey> for i16 {
    fn from(key: RDKafkaApiKey) -> i16 {
        key as i16
    }
}

impl RDKafkaApiKey {
    /// The kafkalite operation that stands for requests of this kind, if one does.
    fn op(self) -> Option<Op> {
        Some(match self {
            RDKafkaApiKey::Produce => Op::Produce,
            RDKafkaApiKey::Fetch => Op::Fetch,
            RDKafkaApiKey::OffsetCommit => Op::Commit,
            RDKafkaApiKey::JoinGroup => Op::JoinGroup,
            RDKafkaApiKey::CreateTopics => Op::CreateTopics,
            RDKafkaApiKey::InitProducerId => Op::InitTransactions,
            RDKafkaApiKey::EndTxn => Op::EndTxn,
            _ => return None,
        })
    }
}

/// The coordinator a [`MockCluster::coordinator`] call names.
pub enum MockCoordinator {
    /// The coordinator of a transactional id.
    Transaction(String),
    /// The coordinator of a consumer group.
    Group(String),
}

/// A mock cluster: a temporary kafkalite cluster, with `broker_count` brokers as far as the
/// calls that name one are concerned, and its fault rules. One made by [`MockCluster::new`]
/// removes them when dropped (the cluster itself lasts while a client still uses it); one
/// a client made (`test.mock.num.brokers`, [`Client::mock_cluster`](super::client::Client::mock_cluster))
/// keeps them while the client lives, as librdkafka's.
pub struct MockCluster<'c, C: ClientContext> {
    /// First: its rules go before the cluster handle.
    state: Arc<MockState>,
    cluster: Cluster,
    servers: String,
    _client: PhantomData<&'c C>,
}

/// A mock cluster's broker count and fault rules, shared by the handles to it.
pub(crate) struct MockState {
    brokers: i32,
    rules: Mutex<Rules>,
}

impl MockState {
    pub(crate) fn new(brokers: i32) -> MockState {
        MockState {
            brokers,
            rules: Mutex::new(Rules::default()),
        }
    }
}

/// The fault rules a mock cluster has made, by what made them.
#[derive(Default)]
struct Rules {
    /// Each request kind's pushed errors: a `fail_in_turn` rule per push, answered in order.
    pushed: HashMap<RDKafkaApiKey, Vec<FaultGuard>>,
    /// Partitions without a leader.
    leaderless: HashMap<TopicPartition, Vec<FaultGuard>>,
    /// Topics with an error.
    topic_errors: HashMap<String, Vec<FaultGuard>>,
}

impl MockCluster<'static, DefaultProducerContext> {
    /// A new mock cluster of `broker_count` brokers (ids 1 to `broker_count`; with none,
    /// its clients still reach it).
    pub fn new(broker_count: i32) -> KafkaResult<Self> {
        let cluster = Cluster::temporary()
            .map_err(|error| KafkaError::ClientCreation(format!("mock cluster: {error}")))?;
        let servers = super::connect::bootstrap_servers(&cluster);
        Ok(MockCluster {
            cluster,
            servers,
            state: Arc::new(MockState::new(broker_count)),
            _client: PhantomData,
        })
    }
}

impl<'c, C: ClientContext> MockCluster<'c, C> {
    /// A handle to the mock cluster a client made for itself.
    pub(crate) fn of_client(cluster: &Cluster, state: &Arc<MockState>) -> MockCluster<'c, C> {
        MockCluster {
            cluster: cluster.clone(),
            servers: super::connect::bootstrap_servers(cluster),
            state: Arc::clone(state),
            _client: PhantomData,
        }
    }
}

impl<C: ClientContext> MockCluster<'_, C> {
    /// The `bootstrap.servers` value that reaches the cluster.
    pub fn bootstrap_servers(&self) -> String {
        self.servers.clone()
    }

    /// Forgets the errors pushed for `api_key` that have not answered yet.
    pub fn clear_request_errors(&self, api_key: RDKafkaApiKey) {
        self.state.rules.lock().pushed.remove(&api_key);
    }

    /// Answers the next requests of kind `api_key` with `errors`, one each, in order, after
    /// those pushed before (`NO_ERROR` lets one through). Requests kafkalite has no
    /// operation for (metadata, heartbeats, offset fetches, ...), librdkafka's local error
    /// codes (below -1), which no broker sends, and codes kafkalite has no error for cannot
    /// be injected: they are logged as warnings and pass.
    pub fn request_errors(&self, api_key: RDKafkaApiKey, errors: &[RDKafkaRespErr]) {
        let Some(op) = api_key.op() else {
            tracing::warn!(
                target: "kafkalite::rdkafka",
                "mock cluster: {api_key:?} requests are not modelled; the {} error(s) pushed \
                 for them are ignored",
                errors.len()
            );
            return;
        };
        let turns: Vec<Option<ErrorCode>> = errors.iter().map(|&err| broker_error(err)).collect();
        if turns.is_empty() {
            return;
        }
        match self.cluster.testing().faults().on(op).fail_in_turn(turns) {
            Ok(guard) => self
                .state
                .rules
                .lock()
                .pushed
                .entry(api_key)
                .or_default()
                .push(guard),
            Err(error) => tracing::warn!(
                target: "kafkalite::rdkafka",
                "mock cluster: pushing {api_key:?} errors: {error}"
            ),
        }
    }

    /// Answers every produce and fetch request on `topic` with `error`, until it is set to
    /// `NO_ERROR`. (librdkafka's mock answers the topic's metadata requests with it, from
    /// which its clients fail the topic's messages or stop fetching it.)
    pub fn topic_error(&self, topic: &str, error: RDKafkaRespErr) -> KafkaResult<()> {
        let mut guards = Vec::new();
        if let Some(code) = broker_error(error) {
            for op in [Op::Produce, Op::Fetch] {
                let rule = self.cluster.testing().faults().on(op).topic(topic).ahead();
                guards.push(rule.fail_always(code).map_err(mock_error)?);
            }
        }
        let mut rules = self.state.rules.lock();
        match guards.is_empty() {
            true => rules.topic_errors.remove(topic),
            false => rules.topic_errors.insert(topic.to_string(), guards),
        };
        Ok(())
    }

    /// Creates `topic` with `partition_count` partitions (at least one). A replication
    /// factor above the broker count is capped, as librdkafka's; below one, the partitions
    /// have no leader ([`MockCluster::partition_leader`]). Fault rules do not see it.
    pub fn create_topic(
        &self,
        topic: &str,
        partition_count: i32,
        replication_factor: i32,
    ) -> KafkaResult<()> {
        let new = crate::NewTopic::new(topic, partition_count);
        crate::testing::bypassing(|| self.cluster.create_topic(new)).map_err(mock_error)?;
        if replication_factor < 1 {
            for partition in 0..partition_count {
                self.partition_leader(topic, partition, None)?;
            }
        }
        Ok(())
    }

    /// Makes `broker_id` the partition's leader, or leaves it without one (`None`): its
    /// produce and fetch requests are then refused with `NOT_LEADER_FOR_PARTITION` (which
    /// clients retry), ahead of any pushed error, until it has a leader again.
    pub fn partition_leader(
        &self,
        topic: &str,
        partition: i32,
        broker_id: Option<i32>,
    ) -> KafkaResult<()> {
        let tp = self.partition(topic, partition)?;
        if let Some(broker_id) = broker_id {
            self.broker(broker_id)?;
            self.state.rules.lock().leaderless.remove(&tp);
            return Ok(());
        }
        let mut guards = Vec::new();
        for op in [Op::Produce, Op::Fetch] {
            let rule = self
                .cluster
                .testing()
                .faults()
                .on(op)
                .partition(&tp)
                .ahead();
            guards.push(
                rule.fail_always(ErrorCode::NotLeaderOrFollower)
                    .map_err(mock_error)?,
            );
        }
        self.state.rules.lock().leaderless.insert(tp, guards);
        Ok(())
    }

    /// Names the partition's preferred follower (checked; one copy, so no change).
    pub fn partition_follower(
        &self,
        topic: &str,
        partition: i32,
        broker_id: i32,
    ) -> KafkaResult<()> {
        let _ = broker_id;
        self.partition(topic, partition).map(drop)
    }

    /// Sets a follower's watermarks (checked; one copy, so no change).
    pub fn follower_watermarks(
        &self,
        topic: &str,
        partition: i32,
        low_watermark: Option<i64>,
        high_watermark: Option<i64>,
    ) -> KafkaResult<()> {
        let _ = (low_watermark, high_watermark);
        self.partition(topic, partition).map(drop)
    }

    /// Takes a broker down: not modelled (`NotImplemented`), as kafkalite has no broker
    /// to lose; partitions without a leader ([`MockCluster::partition_leader`]) are.
    pub fn broker_down(&self, broker_id: i32) -> KafkaResult<()> {
        self.broker(broker_id)?;
        Err(KafkaError::MockCluster(RDKafkaErrorCode::NotImplemented))
    }

    /// Brings a broker back up: not modelled, as [`MockCluster::broker_down`].
    pub fn broker_up(&self, broker_id: i32) -> KafkaResult<()> {
        self.broker(broker_id)?;
        Err(KafkaError::MockCluster(RDKafkaErrorCode::NotImplemented))
    }

    /// Sets a broker's round-trip time (`-1`: every broker's): not modelled
    /// (`NotImplemented`), as kafkalite's requests make no round trip; the test kit's
    /// `delay` rules slow operations on the cluster clock.
    pub fn broker_round_trip_time(&self, broker_id: i32, delay: Duration) -> KafkaResult<()> {
        let _ = delay;
        self.broker(broker_id)?;
        Err(KafkaError::MockCluster(RDKafkaErrorCode::NotImplemented))
    }

    /// Sets a broker's rack (checked; one copy, so no change).
    pub fn broker_rack(&self, broker_id: i32, rack: &str) -> KafkaResult<()> {
        let _ = rack;
        self.broker(broker_id)
    }

    /// Makes `broker_id` the coordinator of a group or transactional id (accepted; the
    /// cluster coordinates them all).
    pub fn coordinator(&self, coordinator: MockCoordinator, broker_id: i32) -> KafkaResult<()> {
        let _ = (coordinator, broker_id);
        Ok(())
    }

    /// Limits the versions of a request kind (accepted; kafkalite speaks no protocol).
    pub fn apiversion(
        &self,
        api_key: RDKafkaApiKey,
        min_version: Option<i16>,
        max_version: Option<i16>,
    ) -> KafkaResult<()> {
        let _ = (api_key, min_version, max_version);
        Ok(())
    }

    /// A broker id of this cluster (1 to the broker count, or -1 for all), or librdkafka's
    /// `BROKER_NOT_AVAILABLE`.
    fn broker(&self, broker_id: i32) -> KafkaResult<()> {
        match broker_id == -1 || (1..=self.state.brokers).contains(&broker_id) {
            true => Ok(()),
            false => Err(KafkaError::MockCluster(
                RDKafkaErrorCode::BrokerNotAvailable,
            )),
        }
    }

    /// A partition of this cluster, or `UNKNOWN_TOPIC_OR_PARTITION`.
    fn partition(&self, topic: &str, partition: i32) -> KafkaResult<TopicPartition> {
        let topic_partitions = self.cluster.describe_topic(topic).map_err(mock_error)?;
        let count = i32::try_from(topic_partitions.partitions.len()).unwrap_or(i32::MAX);
        match (0..count).contains(&partition) {
            true => Ok(TopicPartition::new(topic, partition)),
            false => Err(KafkaError::MockCluster(
                RDKafkaErrorCode::UnknownTopicOrPartition,
            )),
        }
    }
}

/// The broker error `err` stands for: `None` for `NO_ERROR`, and for what kafkalite cannot
/// send (a local error below -1, a code it has no error for), with a warning.
fn broker_error(err: RDKafkaRespErr) -> Option<ErrorCode> {
    let number = err as i32;
    if number == 0 {
        return None;
    }
    let code = i16::try_from(number).ok().and_then(ErrorCode::from_i16);
    if code.is_none() {
        tracing::warn!(
            target: "kafkalite::rdkafka",
            "mock cluster: {err:?} cannot be injected (not an error a broker sends, or one \
             kafkalite does not have); the request it would answer passes"
        );
    }
    code
}

fn mock_error(error: crate::error::Error) -> KafkaError {
    KafkaError::MockCluster(code_of(&error))
}
