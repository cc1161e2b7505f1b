//! rust-rdkafka's `mocking::MockCluster` on kafkalite: librdkafka's mock cluster
//! (rdkafka_mock.c) answers the next requests of an API key with the errors pushed for it,
//! first pushed first (`rd_kafka_mock_error_stack_next`), `NO_ERROR` letting one through,
//! until cleared; a topic made twice is `TOPIC_ALREADY_EXISTS`; a broker id it does not
//! have is `BROKER_NOT_AVAILABLE`. A partition without a leader and a topic error refuse the
//! topic's requests until lifted.
#![cfg(not(loom))]

use std::time::Duration;

use kafkalite::rdkafka;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::mocking::{MockCluster, MockCoordinator};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};

const WAIT: Duration = Duration::from_secs(10);

/// A producer of `mock`'s with these settings.
fn producer(
    mock: &MockCluster<'_, impl rdkafka::ClientContext>,
    settings: &[(&str, &str)],
) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("linger.ms", "0");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config.create().unwrap()
}

/// Sends one message to "t" and waits for its delivery: its offset, or the error.
fn send(producer: &FutureProducer, payload: &str) -> Result<i64, KafkaError> {
    let record = FutureRecord::<(), str>::to("t").payload(payload);
    match pollster::block_on(producer.send(record, WAIT)) {
        Ok(delivery) => Ok(delivery.offset),
        Err((error, _)) => Err(error),
    }
}

fn produced(code: RDKafkaErrorCode) -> Result<i64, KafkaError> {
    Err(KafkaError::MessageProduction(code))
}

#[test]
fn pushed_errors_answer_the_next_requests_in_turn() {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic("t", 1, 3).unwrap();
    let producer = producer(&mock, &[("message.send.max.retries", "2")]);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR,
        ],
    );
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    // The first attempt is refused as retriable, its retry as too large: failed.
    assert_eq!(
        send(&producer, "a"),
        produced(RDKafkaErrorCode::MessageSizeTooLarge)
    );
    // NO_ERROR lets one through; the next push answers after it.
    assert_eq!(send(&producer, "b"), Ok(0));
    assert_eq!(
        send(&producer, "c"),
        produced(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!(send(&producer, "d"), Ok(1));
}

#[test]
fn cleared_errors_answer_nothing() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("t", 1, 1).unwrap();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", "g")
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("t", 0, Offset::Offset(3))
        .unwrap();
    let denied = RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
    mock.request_errors(RDKafkaApiKey::OffsetCommit, &[denied, denied]);
    assert_eq!(
        consumer.commit(&offsets, CommitMode::Sync),
        Err(KafkaError::ConsumerCommit(
            RDKafkaErrorCode::GroupAuthorizationFailed
        ))
    );
    mock.clear_request_errors(RDKafkaApiKey::OffsetCommit);
    assert_eq!(consumer.commit(&offsets, CommitMode::Sync), Ok(()));
    let committed = consumer.committed_offsets(offsets.clone(), WAIT).unwrap();
    assert_eq!(committed.elements()[0].offset(), Offset::Offset(3));
}

/// `NOT_LEADER_FOR_PARTITION` is retried until the message times out (however short the
/// timeout, the message cannot be delivered meanwhile).
#[test]
fn a_partition_without_a_leader_refuses_produce_until_it_has_one() {
    let mock = MockCluster::new(2).unwrap();
    mock.create_topic("t", 1, 1).unwrap();
    mock.partition_leader("t", 0, None).unwrap();
    let short = producer(&mock, &[("message.timeout.ms", "100")]);
    assert_eq!(
        send(&short, "a"),
        produced(RDKafkaErrorCode::MessageTimedOut)
    );
    mock.partition_leader("t", 0, Some(2)).unwrap();
    assert_eq!(send(&producer(&mock, &[]), "b"), Ok(0));
    assert_eq!(
        mock.partition_leader("t", 1, Some(1)),
        Err(KafkaError::MockCluster(
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))
    );
}

#[test]
fn a_topic_error_answers_the_topics_requests_until_cleared() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("t", 1, 1).unwrap();
    let producer = producer(&mock, &[]);
    let denied = RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
    mock.topic_error("t", denied).unwrap();
    assert_eq!(
        send(&producer, "a"),
        produced(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!(
        send(&producer, "b"),
        produced(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    mock.topic_error("t", RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR)
        .unwrap();
    assert_eq!(send(&producer, "c"), Ok(0));
}

/// rdkafka_mock.c: a broker id it does not have is `BROKER_NOT_AVAILABLE` (-1 names them
/// all); followers and coordinators take any id; a replication factor is capped at the
/// broker count (`RD_MIN`), and one below 1 leaves the partitions without a leader.
#[test]
fn calls_naming_brokers_and_topics_check_them_as_librdkafka() {
    assert!(MockCluster::new(0).is_ok(), "a cluster without brokers");
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic("t", 2, 1).unwrap();
    let unavailable = Err(KafkaError::MockCluster(
        RDKafkaErrorCode::BrokerNotAvailable,
    ));
    assert_eq!(mock.broker_rack(4, "r"), unavailable);
    assert_eq!(mock.partition_leader("t", 0, Some(0)), unavailable);
    assert_eq!(mock.broker_rack(3, "r"), Ok(()));
    assert_eq!(mock.broker_rack(-1, "r"), Ok(()));
    assert_eq!(mock.partition_follower("t", 0, 7), Ok(()));
    assert_eq!(
        mock.coordinator(MockCoordinator::Group("g".into()), 9),
        Ok(())
    );
    assert_eq!(
        mock.create_topic("t", 1, 1),
        Err(KafkaError::MockCluster(
            RDKafkaErrorCode::TopicAlreadyExists
        ))
    );
    assert_eq!(mock.create_topic("u", 1, 4), Ok(()), "capped at 3");
    assert_eq!(
        mock.broker_down(1),
        Err(KafkaError::MockCluster(RDKafkaErrorCode::NotImplemented))
    );
    assert_eq!(
        mock.broker_round_trip_time(1, Duration::from_millis(5)),
        Err(KafkaError::MockCluster(RDKafkaErrorCode::NotImplemented))
    );
    // Without a leader: its messages wait, however many retries, until they time out.
    mock.create_topic("v", 1, 0).unwrap();
    let short = producer(&mock, &[("message.timeout.ms", "100")]);
    let record = FutureRecord::<(), str>::to("v").payload("x");
    let (error, _) = pollster::block_on(short.send(record, WAIT)).unwrap_err();
    assert_eq!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut)
    );
}

/// librdkafka's clients send nothing to a partition without a leader, so the errors pushed
/// meanwhile wait for the requests made once it has one; and the mock's own topic creation
/// takes no pushed `CreateTopics` error.
#[test]
fn a_missing_leader_answers_before_pushed_errors_which_the_mock_never_takes() {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic("t", 1, 1).unwrap();
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    mock.partition_leader("t", 0, None).unwrap();
    let short = producer(&mock, &[("message.timeout.ms", "100")]);
    assert_eq!(
        send(&short, "a"),
        produced(RDKafkaErrorCode::MessageTimedOut)
    );
    mock.partition_leader("t", 0, Some(1)).unwrap();
    let producer = producer(&mock, &[]);
    assert_eq!(
        send(&producer, "b"),
        produced(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    mock.request_errors(
        RDKafkaApiKey::CreateTopics,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_POLICY_VIOLATION],
    );
    mock.create_topic("u", 1, 1).unwrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    let topic = NewTopic::new("w", 1, TopicReplication::Fixed(1));
    let created = pollster::block_on(admin.create_topics([&topic], &AdminOptions::new()));
    assert_eq!(
        created.unwrap(),
        [Err(("w".to_string(), RDKafkaErrorCode::PolicyViolation))]
    );
}

/// `test.mock.num.brokers` makes a client a mock cluster of its own, whatever
/// `bootstrap.servers` says; `Client::mock_cluster` reaches it, and what its handles set
/// lasts as long as the client (librdkafka's `rd_kafka_handle_mock_cluster`).
#[test]
fn a_client_can_make_its_own_mock_cluster() {
    let producer: FutureProducer = ClientConfig::new()
        .set("test.mock.num.brokers", "3")
        .set("linger.ms", "0")
        .create()
        .unwrap();
    let mock = producer.client().mock_cluster().expect("a mock cluster");
    mock.create_topic("t", 1, 3).unwrap();
    // Through a handle dropped at once: the errors stay pushed.
    producer.client().mock_cluster().unwrap().request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED],
    );
    assert_eq!(
        send(&producer, "a"),
        produced(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!(send(&producer, "b"), Ok(0));
    // Other clients reach it through its bootstrap servers.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    assert_eq!(consumer.fetch_watermarks("t", 0, WAIT).unwrap(), (0, 1));
    assert!(consumer.client().mock_cluster().is_none(), "it made none");
    let too_many = ClientConfig::new()
        .set("test.mock.num.brokers", "10001")
        .create::<FutureProducer>();
    assert!(
        matches!(too_many, Err(KafkaError::ClientConfig(..))),
        "librdkafka's range is 0 to 10000"
    );
}
