//! Consumer interceptors, as Kafka's `ConsumerInterceptor`: `on_consume` may replace what a
//! poll returns, `on_commit` hears every successful commit, and a panic in either is caught,
//! counted and ignored.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cluster_with;
use kafkalite::{
    CommitMode, ConsumerConfig, ConsumerInterceptor, ConsumerRecord, NewTopic, OffsetAndMetadata,
    Offsets, ProducerConfig, ProducerRecord, Records, TopicPartition,
};

const NO_WAIT: Duration = Duration::ZERO;
const WAIT: Duration = Duration::from_secs(30);

/// Drops records keyed "skip", upper-cases the rest, and notes every commit.
#[derive(Default)]
struct Shouting {
    commits: Mutex<Vec<Offsets>>,
}

impl ConsumerInterceptor for Shouting {
    fn on_consume(&self, records: Records) -> Records {
        let kept: Vec<ConsumerRecord> = records
            .iter()
            .filter(|r| r.key() != Some(b"skip"))
            .map(|r| {
                let mut owned = r.to_owned();
                owned.value = owned.value.map(|v| v.to_ascii_uppercase());
                owned
            })
            .collect();
        records.replaced(kept).unwrap()
    }
    fn on_commit(&self, offsets: &Offsets) {
        self.commits.lock().unwrap().push(offsets.clone());
    }
}

/// Panics in both calls.
struct Broken;

impl ConsumerInterceptor for Broken {
    fn on_consume(&self, _: Records) -> Records {
        panic!("on_consume fails")
    }
    fn on_commit(&self, _: &Offsets) {
        panic!("on_commit fails")
    }
}

fn produce(cluster: &kafkalite::Cluster, records: &[(&str, &str)]) {
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::ZERO))
        .unwrap();
    let records: Vec<ProducerRecord> = records
        .iter()
        .map(|(k, v)| ProducerRecord::to("t").partition(0).key(*k).value(*v))
        .collect();
    for result in producer.send_all(records, WAIT) {
        result.unwrap();
    }
}

fn values(records: &Records) -> Vec<(i64, String)> {
    records
        .iter()
        .map(|r| {
            let value = String::from_utf8(r.value().unwrap().to_vec()).unwrap();
            (r.offset(), value)
        })
        .collect()
}

#[test]
fn on_consume_replaces_what_poll_returns_and_on_commit_hears_commits() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&cluster, &[("a", "one"), ("skip", "two"), ("c", "three")]);
    let shouting = Arc::new(Shouting::default());
    let consumer = cluster
        .consumer_builder(ConsumerConfig::with_group("g").enable_auto_commit(false))
        .interceptor(shouting.clone())
        .build()
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer
        .assign(&[(tp.clone(), kafkalite::Offset::Beginning)])
        .unwrap();
    let records = consumer.poll(WAIT).unwrap();
    assert_eq!(values(&records), [(0, "ONE".into()), (2, "THREE".into())]);
    assert_eq!(records.len(), 2);
    assert_eq!(records.next_offsets()[&tp].offset, 3);
    // The position moved past every record read, whatever the interceptor returned.
    produce(&cluster, &[("d", "four")]);
    assert_eq!(values(&consumer.poll(WAIT).unwrap()), [(3, "FOUR".into())]);

    consumer.commit(CommitMode::Sync).unwrap();
    let mut explicit = Offsets::new();
    explicit.insert(tp.clone(), OffsetAndMetadata::new(2));
    consumer
        .commit_offsets(&explicit, CommitMode::Sync)
        .unwrap();
    consumer
        .committer()
        .unwrap()
        .commit_offsets(&explicit)
        .unwrap();
    let commits = shouting.commits.lock().unwrap().clone();
    let heard: Vec<i64> = commits.iter().map(|o| o[&tp].offset).collect();
    assert_eq!(heard, [4, 2, 2], "every successful commit, in order");
    assert_eq!(consumer.interceptor_panics(), 0);
}

#[test]
fn a_failed_commit_is_not_reported_to_on_commit() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let shouting = Arc::new(Shouting::default());
    let member = cluster
        .consumer_builder(ConsumerConfig::with_group("g").enable_auto_commit(false))
        .interceptor(shouting.clone())
        .build()
        .unwrap();
    member.subscribe(&["t"]).unwrap();
    member.poll(NO_WAIT).unwrap();
    // A partition that does not exist (Kafka's UNKNOWN_TOPIC_OR_PARTITION), and metadata
    // past offset.metadata.max.bytes (4096): both commits are refused.
    let mut missing = Offsets::new();
    missing.insert(TopicPartition::new("t", 1), OffsetAndMetadata::new(0));
    let refused = member.commit_offsets(&missing, CommitMode::Sync);
    assert!(
        matches!(refused, Err(kafkalite::Error::UnknownTopicOrPartition(_))),
        "{refused:?}"
    );
    let mut wrong = Offsets::new();
    let metadata = "m".repeat(4097);
    wrong.insert(
        TopicPartition::new("t", 0),
        OffsetAndMetadata::new(0).with_metadata(metadata),
    );
    let refused = member.commit_offsets(&wrong, CommitMode::Sync);
    assert!(
        matches!(
            refused,
            Err(kafkalite::Error::OffsetMetadataTooLarge { .. })
        ),
        "{refused:?}"
    );
    assert!(shouting.commits.lock().unwrap().is_empty());
}

#[test]
fn interceptor_panics_are_caught_counted_and_change_nothing() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&cluster, &[("a", "one"), ("skip", "two")]);
    let shouting = Arc::new(Shouting::default());
    let consumer = cluster
        .consumer_builder(ConsumerConfig::with_group("g").enable_auto_commit(false))
        .interceptor(Arc::new(Broken))
        .interceptor(shouting.clone())
        .build()
        .unwrap();
    let tp = TopicPartition::new("t", 0);
    consumer
        .assign(&[(tp.clone(), kafkalite::Offset::Beginning)])
        .unwrap();
    // Broken's panic leaves the records as they were; Shouting, next in line, still runs.
    assert_eq!(values(&consumer.poll(WAIT).unwrap()), [(0, "ONE".into())]);
    consumer.commit(CommitMode::Sync).unwrap();
    assert_eq!(shouting.commits.lock().unwrap().len(), 1);
    assert_eq!(consumer.interceptor_panics(), 2);
    let committed = consumer.committed(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(committed[&tp].as_ref().map(|o| o.offset), Some(2));
}

/// Calls back into its consumer from both hooks.
#[derive(Default)]
struct Reentrant {
    consumer: std::sync::OnceLock<std::sync::Weak<kafkalite::Consumer>>,
    seen: Mutex<Vec<(&'static str, usize)>>,
}

impl Reentrant {
    fn note(&self, hook: &'static str) {
        if let Some(consumer) = self.consumer.get().and_then(|w| w.upgrade()) {
            let assigned = consumer.assignment().len();
            self.seen.lock().unwrap().push((hook, assigned));
        }
    }
}

impl ConsumerInterceptor for Reentrant {
    fn on_consume(&self, records: Records) -> Records {
        self.note("consume");
        records
    }
    fn on_commit(&self, _: &Offsets) {
        self.note("commit");
    }
}

#[test]
fn an_interceptor_may_call_its_consumer() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    produce(&cluster, &[("a", "one")]);
    let reentrant = Arc::new(Reentrant::default());
    let consumer = Arc::new(
        cluster
            .consumer_builder(
                ConsumerConfig::with_group("g")
                    .enable_auto_commit(false)
                    .auto_offset_reset(kafkalite::AutoOffsetReset::Earliest),
            )
            .interceptor(reentrant.clone())
            .build()
            .unwrap(),
    );
    reentrant.consumer.set(Arc::downgrade(&consumer)).unwrap();
    consumer.subscribe(&["t"]).unwrap();
    // Run on another thread: a consumer locked against its own interceptor would hang.
    let (done, finished) = std::sync::mpsc::channel();
    let worker = Arc::clone(&consumer);
    std::thread::spawn(move || {
        let polled = worker.poll(WAIT).map(|r| r.len());
        let committed = worker.commit(CommitMode::Sync);
        done.send((polled, committed)).unwrap();
    });
    let (polled, committed) = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the interceptor's calls into the consumer did not deadlock");
    assert_eq!(polled.unwrap(), 1);
    committed.unwrap();
    assert_eq!(
        *reentrant.seen.lock().unwrap(),
        [("consume", 1), ("commit", 1)]
    );
}
