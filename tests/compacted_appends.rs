//! What a compacted topic accepts. Kafka's `LogValidator.validateKey` refuses a record
//! without a key on a topic whose `cleanup.policy` holds `compact` (`InvalidRecordException`,
//! error code 87, INVALID_RECORD): the whole batch fails, nothing is written. Keyless records
//! written while the topic was not compacted stay until the cleaner drops them.

mod common;

use std::time::Duration;

use common::{cluster_with, records_of};
use kafkalite::{
    BatchBuilder, Cluster, Error, ErrorCode, NewTopic, ProducerConfig, ProducerRecord,
};

const WAIT: Duration = Duration::from_secs(30);

fn keyed_and_keyless() -> Vec<u8> {
    let mut batch = BatchBuilder::new();
    batch.append(1, Some(b"k"), Some(b"keyed"), &[]).unwrap();
    batch.append(2, None, Some(b"keyless"), &[]).unwrap();
    batch.build().unwrap()
}

#[test]
fn a_compacted_topic_refuses_a_batch_with_a_keyless_record_whole() {
    for policy in ["compact", "compact,delete", "delete,compact"] {
        let cluster = cluster_with(NewTopic::new("c", 1).config("cleanup.policy", policy));
        let log = cluster.partition("c", 0).unwrap();
        let refused = log.append(&keyed_and_keyless()).unwrap_err();
        assert!(
            matches!(refused, Error::InvalidRecord(_)),
            "{policy}: {refused}"
        );
        assert_eq!(refused.code(), Some(ErrorCode::InvalidRecord));
        assert_eq!(ErrorCode::InvalidRecord.as_i16(), 87);
        assert!(
            refused
                .to_string()
                .contains("without key in topic partition c-0"),
            "{refused}"
        );
        assert_eq!(log.log_end_offset(), 0, "{policy}: nothing written");
    }
    let cluster = cluster_with(NewTopic::new("d", 1).config("cleanup.policy", "delete"));
    let log = cluster.partition("d", 0).unwrap();
    log.append(&keyed_and_keyless()).unwrap();
    assert_eq!(
        log.log_end_offset(),
        2,
        "a topic that is not compacted takes both"
    );
}

#[test]
fn the_producer_reports_a_keyless_send_to_a_compacted_topic_as_invalid_record() {
    let cluster = cluster_with(NewTopic::new("c", 1).config("cleanup.policy", "compact"));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let keyless = producer
        .send(ProducerRecord::to("c").value("v"))
        .unwrap()
        .wait_timeout(WAIT)
        .expect("delivered or failed");
    let error = keyless.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidRecord), "{error}");
    let keyed = producer
        .send(ProducerRecord::to("c").key("k").value("v"))
        .unwrap()
        .wait_timeout(WAIT)
        .expect("delivered or failed")
        .unwrap();
    assert_eq!(keyed.offset, 0, "the refused record took no offset");
}

#[test]
fn keyless_records_from_before_the_topic_was_compacted_go_at_the_next_cleaning() {
    let cluster: Cluster = cluster_with(NewTopic::new("c", 1).config("cleanup.policy", "delete"));
    let log = cluster.partition("c", 0).unwrap();
    log.append(&keyed_and_keyless()).unwrap();
    let mut later = BatchBuilder::new();
    later.append(3, Some(b"k"), Some(b"latest"), &[]).unwrap();
    log.append(&later.build().unwrap()).unwrap();
    log.roll().unwrap();
    cluster
        .alter_topic_config("c", &[("cleanup.policy", "compact")], &[])
        .unwrap();
    cluster.compact(Some("c")).unwrap();
    assert_eq!(
        records_of(&log),
        vec![(2, Some(b"k".to_vec()), Some(b"latest".to_vec()))],
        "the keyless record and the older value of k are gone"
    );
}
