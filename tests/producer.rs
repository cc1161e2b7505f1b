//! The producer: delivery and offsets, Kafka's partitioning, order per partition, flush and
//! close, acks, callbacks (including panicking ones), the buffer.memory bound with a
//! deliberately stalled appender, size limits, unknown topics, compression and timestamps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{cluster_with, read_all, temporary_on};
use kafkalite::{
    partition_for_key, Acks, Clock, Cluster, Compression, Error, ErrorCode, MockClock, NewTopic,
    ProducerConfig, ProducerRecord, RecordBatch, SizeLimit, TimestampType,
};

const WAIT: Duration = Duration::from_secs(30);

fn quick() -> ProducerConfig {
    ProducerConfig::new().linger(Duration::ZERO)
}

#[test]
fn keyed_records_land_where_kafka_puts_them_in_order() {
    let cluster = cluster_with(NewTopic::new("t", 6));
    let producer = cluster.producer(quick()).unwrap();
    let mut handles = Vec::new();
    for i in 0..300 {
        let key = format!("key-{}", i % 10);
        let record = ProducerRecord::to("t")
            .key(key.clone())
            .value(format!("v{i}"));
        handles.push((key, producer.send(record).unwrap()));
    }
    let mut last_offset = [-1i64; 6];
    for (key, handle) in handles {
        let meta = handle.wait().unwrap();
        assert_eq!(
            meta.partition,
            partition_for_key(key.as_bytes(), 6),
            "{key}"
        );
        assert!(
            meta.offset > last_offset[usize::try_from(meta.partition).unwrap()],
            "offsets grow in send order"
        );
        last_offset[usize::try_from(meta.partition).unwrap()] = meta.offset;
        assert_eq!(
            (meta.serialized_key_size, &*meta.topic),
            (key.len() as i64, "t")
        );
    }
    let total: usize = (0..6)
        .map(|p| read_all(&cluster.partition("t", p).unwrap()).len())
        .sum();
    assert_eq!(total, 300);
    let metrics = producer.metrics();
    assert_eq!(metrics.record_send_total, 300);
    assert!(metrics.records_per_request_avg >= 1.0);
}

#[test]
fn explicit_partitions_and_keyless_records() {
    let cluster = cluster_with(NewTopic::new("t", 4));
    let producer = cluster.producer(quick()).unwrap();
    let meta = producer
        .send(ProducerRecord::to("t").partition(3).value("x"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!((meta.partition, meta.offset), (3, 0));
    let err = producer
        .send(ProducerRecord::to("t").partition(4).value("x"))
        .unwrap_err();
    assert!(
        matches!(err.error, Error::UnknownTopicOrPartition(_)),
        "{}",
        err.error
    );
    assert_eq!(
        err.record.value.as_deref(),
        Some(&b"x"[..]),
        "the record comes back"
    );
    let handles: Vec<_> = (0..50)
        .map(|_| producer.send(ProducerRecord::to("t").value("v")).unwrap())
        .collect();
    for handle in handles {
        let meta = handle.wait().unwrap();
        assert!((0..4).contains(&meta.partition));
        assert_eq!(meta.serialized_key_size, -1);
    }
}

#[test]
fn flush_delivers_everything_sent_before_it() {
    let cluster = cluster_with(NewTopic::new("t", 2));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let mut handles: Vec<_> = (0..20)
        .map(|i| {
            producer
                .send(ProducerRecord::to("t").key(vec![i]).value("v"))
                .unwrap()
        })
        .collect();
    assert!(
        handles.iter_mut().all(|h| h.try_get().is_none()),
        "lingering for an hour"
    );
    producer.flush(WAIT).unwrap();
    assert!(handles
        .iter_mut()
        .all(|h| matches!(h.try_get(), Some(Ok(_)))));
}

#[test]
fn linger_follows_the_cluster_clock() {
    let clock = MockClock::new(1_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 1)).unwrap();
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_millis(50)))
        .unwrap();
    let mut handle = producer.send(ProducerRecord::to("t").value("v")).unwrap();
    assert!(
        handle.wait_timeout(Duration::from_millis(200)).is_none(),
        "the mock clock has not moved"
    );
    // The jump wakes the appender: on a mock clock it has no real-time timer to fall back on.
    clock.advance_ms(50);
    let meta = handle
        .wait_timeout(WAIT)
        .expect("advancing the clock woke the appender")
        .unwrap();
    assert_eq!((meta.offset, meta.timestamp), (0, 1_000));
}

#[test]
fn acks_zero_resolves_at_enqueue_and_still_delivers() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(quick().acks(Acks::None)).unwrap();
    let mut handle = producer.send(ProducerRecord::to("t").value("v")).unwrap();
    let meta = handle.try_get().expect("resolved at once").unwrap();
    assert_eq!(meta.offset, -1);
    producer.flush(WAIT).unwrap();
    assert_eq!(read_all(&cluster.partition("t", 0).unwrap()).len(), 1);
}

#[test]
fn acks_all_on_an_fsync_topic_waits_for_the_sync() {
    let cluster = cluster_with(NewTopic::new("t", 1).config("flush.messages", "1"));
    let producer = cluster.producer(quick()).unwrap();
    let meta = producer
        .send(ProducerRecord::to("t").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    assert!(cluster.partition("t", 0).unwrap().durable_offset() > meta.offset);
}

#[test]
fn callbacks_run_in_order_and_a_panicking_one_is_contained() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(quick()).unwrap();
    let (tx, rx) = crossbeam::channel::unbounded();
    for i in 0..100i64 {
        let tx = tx.clone();
        producer
            .send_with_callback(ProducerRecord::to("t").value("v"), move |result| {
                // Recorded, not asserted: the appender catches a callback's panics.
                tx.send((i, result.map(|meta| meta.offset).map_err(|e| e.to_string())))
                    .unwrap();
                if i == 10 {
                    panic!("a callback that panics");
                }
            })
            .unwrap();
    }
    producer.flush(WAIT).unwrap();
    drop(tx);
    let seen: Vec<(i64, Result<i64, String>)> = rx.iter().collect();
    let expected: Vec<(i64, Result<i64, String>)> = (0..100).map(|i| (i, Ok(i))).collect();
    assert_eq!(seen, expected, "callback i sees offset i, in order");
    assert_eq!(producer.metrics().callback_panics_total, 1);
    let after = producer
        .send(ProducerRecord::to("t").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(after.offset, 100, "the producer keeps working");
}

#[test]
fn buffer_memory_bounds_what_is_held_and_send_times_out() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let config = quick()
        .batch_size(1000)
        .buffer_memory(10_000)
        .max_block(Duration::from_millis(50));
    let producer = cluster.producer(config).unwrap();
    let release = common::stall_appender(&producer, "t", 900);
    let mut accepted = 0;
    let timeout = loop {
        match producer.send(ProducerRecord::to("t").value(vec![2; 900])) {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(producer.metrics().buffer_available_bytes <= 10_000);
        assert!(accepted < 20, "more buffered than buffer.memory allows");
    };
    assert!(
        matches!(timeout.error, Error::Timeout(_)),
        "{}",
        timeout.error
    );
    assert_eq!(
        timeout.record.value.as_ref().map(Vec::len),
        Some(900),
        "record handed back"
    );
    let err = producer
        .try_send(ProducerRecord::to("t").value(vec![3; 900]))
        .unwrap_err();
    assert!(matches!(err.error, Error::QueueFull(_)));
    release.send(()).unwrap();
    producer.flush(WAIT).unwrap();
    assert_eq!(
        read_all(&cluster.partition("t", 0).unwrap()).len(),
        1 + accepted
    );
    assert_eq!(
        producer.metrics().buffer_available_bytes,
        10_000,
        "all memory returned"
    );
}

#[test]
fn records_too_large_are_refused_before_buffering() {
    let cluster = cluster_with(NewTopic::new("t", 1).config("max.message.bytes", "2000"));
    let producer = cluster.producer(quick()).unwrap();
    let err = producer
        .send(ProducerRecord::to("t").value(vec![0; 3000]))
        .unwrap_err();
    assert!(
        matches!(
            err.error,
            Error::RecordTooLarge {
                max: 2000,
                limit: SizeLimit::MaxMessageBytes,
                ..
            }
        ),
        "{}",
        err.error
    );
    let small_requests = cluster
        .producer(quick().set("max.request.size", "500").unwrap())
        .unwrap();
    let err = small_requests
        .send(ProducerRecord::to("t").value(vec![0; 600]))
        .unwrap_err();
    assert!(
        matches!(
            err.error,
            Error::RecordTooLarge {
                max: 500,
                limit: SizeLimit::MaxRequestSize,
                ..
            }
        ),
        "{}",
        err.error
    );
    let small_buffer = cluster.producer(quick().buffer_memory(1000)).unwrap();
    let err = small_buffer
        .send(ProducerRecord::to("t").value(vec![0; 1500]))
        .unwrap_err();
    assert!(
        matches!(
            err.error,
            Error::RecordTooLarge {
                max: 1000,
                limit: SizeLimit::BufferMemory,
                ..
            }
        ),
        "{}",
        err.error
    );
    assert_eq!(cluster.partition("t", 0).unwrap().log_end_offset(), 0);
}

/// Each `RecordTooLarge` message names the limit exceeded and where to raise it.
#[test]
fn record_too_large_says_which_limit_to_raise() {
    let cluster = cluster_with(NewTopic::new("t", 1).config("max.message.bytes", "2000"));
    let cases = [
        (
            quick(),
            3000,
            "larger than the topic's max.message.bytes (2000); raise max.message.bytes in the \
             topic's config",
        ),
        (
            quick().set("max.request.size", "500").unwrap(),
            600,
            "larger than the producer's max.request.size (500); raise max.request.size in the \
             producer's config",
        ),
        (
            quick().buffer_memory(1000),
            1500,
            "larger than the producer's buffer.memory (1000); raise buffer.memory in the \
             producer's config",
        ),
    ];
    for (config, size, expected) in cases {
        let producer = cluster.producer(config).unwrap();
        let err = producer
            .send(ProducerRecord::to("t").value(vec![0; size]))
            .unwrap_err();
        assert!(err.error.to_string().contains(expected), "{}", err.error);
        assert_eq!(err.error.code(), Some(ErrorCode::MessageTooLarge));
    }
}

#[test]
fn unknown_topics_are_waited_for_then_time_out_like_kafka() {
    // Without auto-creation Kafka's producer waits up to max.block.ms for the topic to
    // appear in metadata (`KafkaProducer.waitOnMetadata`), on the cluster clock here.
    let clock = MockClock::new(0);
    let strict = common::without_auto_creation(&clock);
    let producer = strict
        .producer(quick().max_block(Duration::from_millis(5_000)))
        .unwrap();
    std::thread::scope(|s| {
        let sending = s.spawn(|| producer.send(ProducerRecord::to("missing").value("v")));
        common::wait_until_a_poll_blocks(&strict);
        clock.advance_ms(4_999);
        common::wait_until_a_poll_blocks(&strict);
        assert!(!sending.is_finished(), "1 ms of max.block.ms is left");
        clock.advance_ms(1);
        let err = sending.join().unwrap().unwrap_err();
        assert!(matches!(err.error, Error::Timeout(_)), "{}", err.error);
        assert!(
            err.error
                .to_string()
                .ends_with("Topic missing not present in metadata after 5000 ms."),
            "{}",
            err.error
        );
        assert_eq!(err.record.topic, "missing", "the record comes back");
    });
    // A topic created while a send waits is used.
    std::thread::scope(|s| {
        let sending = s.spawn(|| {
            let handle = producer.send(ProducerRecord::to("later").value("v"));
            handle.map_err(|e| e.error).and_then(|h| h.wait())
        });
        common::wait_until_a_poll_blocks(&strict);
        strict.create_topic(NewTopic::new("later", 1)).unwrap();
        let delivered = sending.join().unwrap().unwrap();
        assert_eq!((delivered.partition, delivered.offset), (0, 0));
    });
    // partitions_for waits the same way; try_send never blocks.
    std::thread::scope(|s| {
        let listing = s.spawn(|| producer.partitions_for("missing"));
        common::wait_until_a_poll_blocks(&strict);
        clock.advance_ms(5_000);
        let err = listing.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err}");
    });
    let err = producer
        .try_send(ProducerRecord::to("missing").value("v"))
        .unwrap_err();
    assert!(
        matches!(err.error, Error::UnknownTopicOrPartition(_)),
        "{}",
        err.error
    );
    // Closing the producer ends a wait, with Closed (Kafka's close wakes it too).
    let (done, finished) = std::sync::mpsc::channel();
    let sender = producer.clone();
    std::thread::spawn(move || {
        let sent = sender.send(ProducerRecord::to("missing").value("v"));
        done.send(sent.map(|_| ()).map_err(|e| e.error)).unwrap();
    });
    common::wait_until_a_poll_blocks(&strict);
    producer.close(Duration::from_secs(5)).unwrap();
    let sent = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("close woke the waiting send");
    assert!(matches!(sent, Err(Error::Closed)), "{sent:?}");
}

#[test]
fn unknown_topics_are_created_like_kafka() {
    let lenient = Cluster::builder()
        .background(false)
        .num_partitions(3)
        .temporary()
        .unwrap();
    let producer = lenient.producer(quick()).unwrap();
    producer
        .send(ProducerRecord::to("fresh").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(lenient.describe_topic("fresh").unwrap().partitions.len(), 3);
}

#[test]
fn send_after_close_fails_and_close_delivers_first() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let handle = producer.send(ProducerRecord::to("t").value("v")).unwrap();
    let clone = producer.clone();
    producer.close(WAIT).unwrap();
    assert_eq!(handle.wait().unwrap().offset, 0, "close flushed it");
    let err = clone.send(ProducerRecord::to("t").value("v")).unwrap_err();
    assert!(matches!(err.error, Error::Closed));
}

#[test]
fn dropping_the_last_handle_delivers_buffered_records() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let handle = producer.send(ProducerRecord::to("t").value("v")).unwrap();
    drop(producer);
    assert_eq!(handle.wait().unwrap().offset, 0);
}

#[test]
fn lz4_headers_and_log_append_time() {
    let clock = MockClock::new(42_000);
    let cluster = temporary_on(&clock);
    cluster
        .create_topic(NewTopic::new("t", 1).config("message.timestamp.type", "LogAppendTime"))
        .unwrap();
    let producer = cluster
        .producer(
            quick()
                .compression(Compression::Lz4)
                .set("batch.size", "100000")
                .unwrap(),
        )
        .unwrap();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            producer
                .send(
                    ProducerRecord::to("t")
                        .value(vec![b'x'; 200])
                        .header("n", format!("{i}"))
                        .timestamp(5),
                )
                .unwrap()
        })
        .collect();
    producer.flush(WAIT).unwrap();
    for handle in handles {
        let meta = handle.wait().unwrap();
        assert_eq!(
            (meta.timestamp, meta.timestamp_type),
            (42_000, TimestampType::LogAppendTime)
        );
    }
    let log = cluster.partition("t", 0).unwrap();
    let data = log.read(0, 1 << 20).unwrap();
    let batch: RecordBatch<'_> = data.batches().next().unwrap().unwrap();
    assert_eq!(batch.compression().unwrap(), Compression::Lz4);
    assert!(batch.size() < 50 * 200, "compressed");
    let records = batch.records().unwrap();
    let first = records.iter().next().unwrap().unwrap();
    assert_eq!(first.headers().next().unwrap().value, Some(&b"0"[..]));
    assert_eq!(clock.now_ms(), 42_000);
}

#[test]
fn many_threads_keep_each_threads_order_per_partition() {
    let cluster = cluster_with(NewTopic::new("t", 4));
    let producer = cluster
        .producer(ProducerConfig::new().batch_size(500))
        .unwrap();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let producer = producer.clone();
            std::thread::spawn(move || {
                for i in 0..500u32 {
                    let record = ProducerRecord::to("t")
                        .key(vec![t])
                        .value(i.to_be_bytes().to_vec());
                    producer.send(record).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    producer.flush(WAIT).unwrap();
    for t in 0..4u8 {
        let partition = partition_for_key(&[t], 4);
        let values: Vec<u32> = read_all(&cluster.partition("t", partition).unwrap())
            .into_iter()
            .filter(|(_, key, _)| key == &[t])
            .map(|(_, _, v)| u32::from_be_bytes(v.try_into().unwrap()))
            .collect();
        assert_eq!(values, (0..500).collect::<Vec<_>>(), "thread {t}");
    }
}

#[test]
fn delivery_handles_are_futures() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(quick()).unwrap();
    let handle = producer.send(ProducerRecord::to("t").value("v")).unwrap();
    let meta = block_on(handle).unwrap();
    assert_eq!(meta.offset, 0);
}

/// A minimal executor: polls until ready, parking the thread between wake-ups.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct ThreadWaker(std::thread::Thread);
    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

#[derive(Debug)]
struct AlwaysLast;

impl kafkalite::Partitioner for AlwaysLast {
    fn partition(&self, _topic: &str, _key: Option<&[u8]>, partitions: i32) -> i32 {
        partitions - 1
    }
}

#[test]
fn a_custom_partitioner_places_records() {
    let cluster = cluster_with(NewTopic::new("t", 5));
    let producer = cluster
        .producer_builder(quick())
        .partitioner(Arc::new(AlwaysLast))
        .build()
        .unwrap();
    let meta = producer
        .send(ProducerRecord::to("t").key("k").value("v"))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(meta.partition, 4);
}

/// Sends an audit record to topic "audit" (through the same producer) for every record it
/// places: a send from inside a send, on the same thread.
#[derive(Debug, Default)]
struct Auditing {
    producer: std::sync::OnceLock<kafkalite::Producer>,
}

impl kafkalite::Partitioner for Auditing {
    fn partition(&self, _topic: &str, key: Option<&[u8]>, partitions: i32) -> i32 {
        let producer = self.producer.get().expect("set after build");
        producer
            .send(
                ProducerRecord::to("audit")
                    .partition(0)
                    .value(key.unwrap_or_default().to_vec()),
            )
            .expect("nested send");
        partitions - 1
    }
}

#[test]
fn a_partitioner_may_send_from_inside_a_send() {
    let cluster = cluster_with(NewTopic::new("t", 3));
    cluster.create_topic(NewTopic::new("audit", 1)).unwrap();
    let auditing = Arc::new(Auditing::default());
    let producer = cluster
        .producer_builder(quick())
        .partitioner(auditing.clone())
        .build()
        .unwrap();
    auditing.producer.set(producer.clone()).unwrap();
    for key in ["a", "b"] {
        let meta = producer
            .send(ProducerRecord::to("t").key(key))
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!((&*meta.topic, meta.partition), ("t", 2));
    }
    producer.flush(WAIT).unwrap();
    let audit: Vec<Vec<u8>> = read_all(&cluster.partition("audit", 0).unwrap())
        .into_iter()
        .map(|(_, _, value)| value)
        .collect();
    assert_eq!(audit, [b"a".to_vec(), b"b".to_vec()]);
    // The partitioner holds a clone of the producer, which holds the cluster: a cycle that
    // never drops, so close both explicitly (the temporary directory goes with the close).
    producer.close(WAIT).unwrap();
    let dir = cluster.dir().to_path_buf();
    cluster.close().unwrap();
    assert!(
        !dir.exists(),
        "a temporary cluster's directory is removed when it closes"
    );
}

/// Upper-cases values, counts acknowledgements, records the errors it is told of, and
/// panics on a value of "boom".
#[derive(Default)]
struct Shouting {
    acknowledged: std::sync::atomic::AtomicUsize,
    refused: parking_lot::Mutex<Vec<Option<kafkalite::ErrorCode>>>,
}

impl kafkalite::ProducerInterceptor for Shouting {
    fn on_send(&self, mut record: ProducerRecord) -> ProducerRecord {
        if record.value.as_deref() == Some(&b"boom"[..]) {
            panic!("an interceptor that panics");
        }
        record.value = record.value.map(|v| v.to_ascii_uppercase());
        record
    }
    fn on_acknowledgement(&self, result: Result<&kafkalite::RecordMetadata, &Error>) {
        // Recorded, not asserted: the producer catches an interceptor's panics.
        match result {
            Ok(_) => {
                self.acknowledged
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            Err(error) => self.refused.lock().push(error.code()),
        }
    }
}

#[test]
fn interceptors_see_sends_and_acknowledgements_and_panics_are_ignored() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let shouting = Arc::new(Shouting::default());
    let producer = cluster
        .producer_builder(quick())
        .interceptor(shouting.clone())
        .build()
        .unwrap();
    producer
        .send(ProducerRecord::to("t").value("hello"))
        .unwrap();
    producer
        .send(ProducerRecord::to("t").value("boom"))
        .unwrap();
    let (bye_tx, bye_rx) = crossbeam::channel::unbounded();
    producer
        .send_with_callback(ProducerRecord::to("t").value("bye"), move |result| {
            bye_tx
                .send(result.map(|meta| meta.offset).map_err(|e| e.to_string()))
                .unwrap();
        })
        .unwrap();
    let refused = producer.send(ProducerRecord::to("t").partition(7).value("lost"));
    assert_eq!(
        refused.unwrap_err().record.value.as_deref(),
        Some(&b"LOST"[..]),
        "the intercepted record comes back"
    );
    producer.flush(WAIT).unwrap();
    assert_eq!(
        bye_rx.try_iter().collect::<Vec<_>>(),
        [Ok(2)],
        "the callback saw its record delivered"
    );
    let values: Vec<Vec<u8>> = read_all(&cluster.partition("t", 0).unwrap())
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(
        values,
        vec![b"HELLO".to_vec(), b"boom".to_vec(), b"BYE".to_vec()],
        "a panicking on_send passes the record on"
    );
    assert_eq!(
        shouting
            .acknowledged
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    assert_eq!(
        *shouting.refused.lock(),
        [Some(kafkalite::ErrorCode::UnknownTopicOrPartition)],
        "a refused send reaches on_acknowledgement with its error (Kafka's onSendError)"
    );
    assert_eq!(producer.metrics().interceptor_panics_total, 1);
}

struct Failing;

impl kafkalite::Serializer<u32> for Failing {
    fn serialize(&self, _topic: &str, data: &u32) -> kafkalite::Result<Vec<u8>> {
        if *data == 13 {
            return Err(Error::Serialization("13 is unlucky".into()));
        }
        Ok(data.to_be_bytes().to_vec())
    }
}

#[test]
fn typed_producers_serialize_keys_and_values() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let typed = kafkalite::TypedProducer::new(
        cluster.producer(quick()).unwrap(),
        kafkalite::StringSerializer,
        kafkalite::LongSerializer,
    );
    let record = kafkalite::TypedRecord::new("t", Some("user".to_string()), Some(42i64));
    let meta = typed.send(record).unwrap().wait().unwrap();
    assert_eq!(
        (meta.serialized_key_size, meta.serialized_value_size),
        (4, 8)
    );
    let stored = read_all(&cluster.partition("t", 0).unwrap());
    assert_eq!(
        (stored[0].1.as_slice(), stored[0].2.as_slice()),
        (&b"user"[..], &42i64.to_be_bytes()[..])
    );

    let failing: kafkalite::TypedProducer<String, u32> = kafkalite::TypedProducer::new(
        cluster.producer(quick()).unwrap(),
        kafkalite::StringSerializer,
        Failing,
    );
    let err = failing
        .send(kafkalite::TypedRecord::new("t", None, Some(13)))
        .unwrap_err();
    assert!(matches!(err.error, Error::Serialization(_)));
    assert_eq!(err.record.value, Some(13), "the record comes back");
}

#[test]
fn metrics_report_delivery_latency() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(quick()).unwrap();
    for _ in 0..100 {
        producer
            .send(ProducerRecord::to("t").value("v"))
            .unwrap()
            .wait()
            .unwrap();
    }
    let m = producer.metrics();
    assert_eq!(m.record_send_total, 100);
    assert!(m.delivery_latency_p50_ms <= m.delivery_latency_p99_ms);
    assert!(m.delivery_latency_p99_ms <= m.delivery_latency_max_ms);
    assert!(m.delivery_latency_avg_ms > 0.0);
    assert_eq!(m.record_error_total, 0);
}

#[test]
fn successive_producers_on_one_thread_never_share_a_topic_cache() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    for round in 0..20 {
        let producer = cluster.producer(quick()).unwrap();
        let meta = producer
            .send(ProducerRecord::to("t").value("v"))
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(
            meta.offset, round,
            "each producer delivers through its own appender"
        );
    }
}

#[test]
fn blocking_calls_from_a_callback_fail_fast_instead_of_deadlocking() {
    let cluster = cluster_with(NewTopic::new("t", 2));
    // A record that lingers for an hour in another producer.
    let slow = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let lingering = slow
        .send(ProducerRecord::to("t").partition(1).value("later"))
        .unwrap();
    let held = Arc::new(parking_lot::Mutex::new(Some(lingering)));
    let producer = cluster.producer(quick()).unwrap();
    let (inside, in_callback) = (producer.clone(), Arc::clone(&held));
    let (tx, rx) = crossbeam::channel::unbounded();
    producer
        .send_with_callback(
            ProducerRecord::to("t").partition(0).value("v"),
            move |result| {
                let flushed = inside.flush(Duration::from_secs(1));
                let waited = in_callback.lock().take().map(|handle| handle.wait());
                tx.send((result.map(|meta| meta.offset), flushed, waited))
                    .unwrap();
            },
        )
        .unwrap();
    let (delivered, flushed, waited) = rx.recv().unwrap();
    assert!(matches!(delivered, Ok(0)), "{delivered:?}");
    let waited = waited.expect("the lingering handle was there to take");
    assert!(
        matches!(flushed, Err(Error::WouldDeadlock(_))),
        "{flushed:?}"
    );
    assert!(matches!(waited, Err(Error::WouldDeadlock(_))), "{waited:?}");
    slow.flush(WAIT).unwrap();
}

#[test]
fn dropping_the_last_producer_inside_a_callback_does_not_hang() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster.producer(quick()).unwrap();
    let slot = Arc::new(parking_lot::Mutex::new(Some(producer)));
    let inside = Arc::clone(&slot);
    let (tx, rx) = crossbeam::channel::unbounded();
    let sender = slot.lock().as_ref().unwrap().clone();
    sender
        .send_with_callback(ProducerRecord::to("t").value("v"), move |result| {
            // The last handles go away on the appender thread: close acts as close(0).
            inside.lock().take();
            tx.send(result.map(|meta| meta.offset)).unwrap();
        })
        .unwrap();
    drop(sender);
    let delivered = rx.recv().unwrap();
    assert!(matches!(delivered, Ok(0)), "{delivered:?}");
    assert!(slot.lock().is_none());
    assert_eq!(read_all(&cluster.partition("t", 0).unwrap()).len(), 1);
}

#[test]
fn send_all_skips_linger_and_reports_each_record() {
    // A linger that never passes on the mock clock: only send_all's own sealing delivers.
    let clock = MockClock::new(1_000);
    let cluster = temporary_on(&clock);
    cluster.create_topic(NewTopic::new("t", 2)).unwrap();
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let results = producer.send_all(
        [
            ProducerRecord::to("t").partition(1).value("a"),
            ProducerRecord::to("t").partition(9).value("nowhere"),
            ProducerRecord::to("t").partition(1).value("b"),
            ProducerRecord::to("t").partition(0).value("c"),
        ],
        WAIT,
    );
    let placed: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().map(|m| (m.partition, m.offset)))
        .collect();
    assert!(matches!(placed[0], Ok((1, 0))), "{:?}", placed[0]);
    assert!(matches!(placed[1], Err(Error::UnknownTopicOrPartition(_))));
    assert!(matches!(placed[2], Ok((1, 1))), "{:?}", placed[2]);
    assert!(matches!(placed[3], Ok((0, 0))), "{:?}", placed[3]);
}

#[test]
fn partitions_for_lists_a_topics_partitions_and_auto_creates() {
    let cluster = cluster_with(NewTopic::new("t", 3));
    let producer = cluster.producer(quick()).unwrap();
    let partitions = producer.partitions_for("t").unwrap();
    let numbers: Vec<i32> = partitions.iter().map(|p| p.partition).collect();
    assert_eq!(numbers, [0, 1, 2]);
    assert!(partitions
        .iter()
        .all(|p| &*p.topic == "t" && p.leader == 0 && p.in_sync_replicas == [0]));
    // Auto-creation is on by default, as in Kafka, with the cluster's num.partitions.
    assert_eq!(producer.partitions_for("fresh").unwrap().len(), 1);
    assert!(cluster.describe_topic("fresh").is_ok());
    // Without auto-creation: see unknown_topics_are_waited_for_then_time_out_like_kafka.
}

/// Values of `count` records of `bytes` bytes each: "v<i>" padded with dots.
fn padded_values(count: usize, bytes: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut value = format!("v{i}-").into_bytes();
            value.resize(bytes, b'.');
            value
        })
        .collect()
}

#[test]
fn a_batch_too_large_for_the_log_is_split_and_every_record_that_fits_lands() {
    // segment.bytes (2 KiB) is below batch.size (16 KiB): Kafka's producer splits a batch
    // the broker refuses as too large (KIP-126) until each part fits; only a record that can
    // never fit fails.
    let cluster = cluster_with(NewTopic::new("t", 1).config("segment.bytes", "2048"));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let mut values = padded_values(30, 200);
    values.insert(17, vec![b'x'; 4096]);
    let records: Vec<ProducerRecord> = values
        .iter()
        .map(|v| ProducerRecord::to("t").value(v.clone()))
        .collect();
    let results = producer.send_all(records, WAIT);
    for (i, result) in results.iter().enumerate() {
        if i == 17 {
            let err = result.as_ref().unwrap_err();
            assert!(
                matches!(err, Error::RecordBatchTooLarge { .. }),
                "the record that can never fit: {err}"
            );
        } else {
            let expected = if i < 17 { i } else { i - 1 } as i64;
            assert_eq!(result.as_ref().unwrap().offset, expected, "record {i}");
        }
    }
    values.remove(17);
    let stored: Vec<Vec<u8>> = read_all(&cluster.partition("t", 0).unwrap())
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(stored, values, "every other record, in order");
    assert!(producer.metrics().batch_split_total >= 2);
}

#[test]
fn a_batch_refused_after_max_message_bytes_was_lowered_is_split() {
    let cluster = cluster_with(NewTopic::new("t", 1));
    let producer = cluster
        .producer(ProducerConfig::new().linger(Duration::from_secs(3600)))
        .unwrap();
    let values = padded_values(20, 300);
    let handles: Vec<_> = values
        .iter()
        .map(|v| {
            producer
                .send(ProducerRecord::to("t").value(v.clone()))
                .unwrap()
        })
        .collect();
    // The open batch was made for the old limit.
    cluster
        .alter_topic_config("t", &[("max.message.bytes", "1500")], &[])
        .unwrap();
    producer.flush(WAIT).unwrap();
    let offsets: Vec<i64> = handles
        .into_iter()
        .map(|h| h.wait().unwrap().offset)
        .collect();
    assert_eq!(offsets, (0..20).collect::<Vec<i64>>());
    let log = cluster.partition("t", 0).unwrap();
    let stored: Vec<Vec<u8>> = read_all(&log).into_iter().map(|r| r.2).collect();
    assert_eq!(stored, values);
    let data = log.read(0, 1 << 20).unwrap();
    for batch in data.batches() {
        assert!(batch.unwrap().size() <= 1500);
    }
}
