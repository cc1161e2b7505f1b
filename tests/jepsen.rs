//! A Jepsen-style check of a real-thread run: producer threads send uniquely numbered
//! records to a topic while reader threads poll it, and the whole history (every send's
//! outcome, every record every poll returned, and the final log) goes to a checker that
//! looks for the anomalies of Jepsen's queue checkers:
//!
//! - *lost write*: an acknowledged record is not in the final log at its offset;
//! - *phantom*: the log holds a value no producer sent;
//! - *duplicate*: a value appears twice in the log;
//! - *inconsistent offset*: a record read at an offset other than the one its send was told,
//!   or two reads of one offset that disagree;
//! - *non-monotonic poll*: a reader's offsets in a partition go backwards;
//! - *poll skip*: a reader's offsets in a partition jump over one (nothing here deletes);
//! - *unseen at end*: a reader that drained every partition missed an acknowledged record.
//!
//! Each mode (default durability, and `flush.messages=1`) runs a fixed number of sends, not
//! a fixed time: 4 producers × 10,000 (`JEPSEN_SENDS` per producer), 3 readers, 64 KiB
//! segments so that reads race rolls. The checker itself is tested on histories with each
//! anomaly planted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkalite::{Cluster, ConsumerConfig, NewTopic, Offset, ProducerRecord, TopicPartition};

/// A send and what it was told.
#[derive(Debug, Clone, Copy)]
struct Write {
    value: u64,
    partition: i32,
    /// The acknowledged offset, or `None` if the send failed or never completed.
    offset: Option<i64>,
}

/// One record one poll returned.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Read {
    partition: i32,
    offset: i64,
    value: u64,
}

#[derive(Debug, Default)]
struct History {
    writes: Vec<Write>,
    /// Per reader, every record in the order its polls returned them.
    reads: Vec<Vec<Read>>,
    /// Per partition, the values at offsets 0, 1, 2, ... once everything was sent.
    log: BTreeMap<i32, Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Anomaly {
    LostWrite {
        value: u64,
        partition: i32,
        offset: i64,
    },
    Phantom {
        partition: i32,
        offset: i64,
        value: u64,
    },
    Duplicate {
        value: u64,
    },
    InconsistentOffset {
        value: u64,
        told: i64,
        found: i64,
    },
    ReadsDisagree {
        partition: i32,
        offset: i64,
    },
    NonMonotonicPoll {
        reader: usize,
        partition: i32,
        after: i64,
        offset: i64,
    },
    PollSkip {
        reader: usize,
        partition: i32,
        after: i64,
        offset: i64,
    },
    UnseenAtEnd {
        reader: usize,
        value: u64,
    },
}

fn check(history: &History) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    let sent: HashMap<u64, &Write> = history.writes.iter().map(|w| (w.value, w)).collect();
    // Where each value is in the final log.
    let mut found: HashMap<u64, (i32, i64)> = HashMap::new();
    for (&partition, values) in &history.log {
        for (offset, &value) in values.iter().enumerate() {
            let offset = offset as i64;
            match sent.get(&value) {
                Some(w) if w.partition == partition => {}
                _ => anomalies.push(Anomaly::Phantom {
                    partition,
                    offset,
                    value,
                }),
            }
            if found.insert(value, (partition, offset)).is_some() {
                anomalies.push(Anomaly::Duplicate { value });
            }
        }
    }
    for w in &history.writes {
        let Some(told) = w.offset else { continue };
        match found.get(&w.value) {
            None => anomalies.push(Anomaly::LostWrite {
                value: w.value,
                partition: w.partition,
                offset: told,
            }),
            Some(&(_, at)) if at != told => anomalies.push(Anomaly::InconsistentOffset {
                value: w.value,
                told,
                found: at,
            }),
            Some(_) => {}
        }
    }
    let mut at_offset: HashMap<(i32, i64), u64> = HashMap::new();
    for (reader, reads) in history.reads.iter().enumerate() {
        let mut last: HashMap<i32, i64> = HashMap::new();
        let mut seen = HashSet::new();
        for read in reads {
            seen.insert(read.value);
            if *at_offset
                .entry((read.partition, read.offset))
                .or_insert(read.value)
                != read.value
            {
                anomalies.push(Anomaly::ReadsDisagree {
                    partition: read.partition,
                    offset: read.offset,
                });
            }
            let after = last.get(&read.partition).copied().unwrap_or(-1);
            if read.offset <= after {
                anomalies.push(Anomaly::NonMonotonicPoll {
                    reader,
                    partition: read.partition,
                    after,
                    offset: read.offset,
                });
            } else if read.offset > after + 1 {
                anomalies.push(Anomaly::PollSkip {
                    reader,
                    partition: read.partition,
                    after,
                    offset: read.offset,
                });
            }
            last.insert(read.partition, read.offset);
        }
        for w in history.writes.iter().filter(|w| w.offset.is_some()) {
            if !seen.contains(&w.value) {
                anomalies.push(Anomaly::UnseenAtEnd {
                    reader,
                    value: w.value,
                });
            }
        }
    }
    // Reads against the log: a read is a claim about the log.
    for (&(partition, offset), &value) in &at_offset {
        let in_log = history
            .log
            .get(&partition)
            .and_then(|values| values.get(usize::try_from(offset).ok()?));
        if in_log != Some(&value) {
            anomalies.push(Anomaly::ReadsDisagree { partition, offset });
        }
    }
    anomalies
}

const PARTITIONS: i32 = 4;
const PRODUCERS: u64 = 4;
/// Sends per producer thread; `JEPSEN_SENDS` raises it for a soak.
fn sends() -> u64 {
    std::env::var("JEPSEN_SENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}
const READERS: usize = 3;

/// Runs producers and readers on real threads over `topic`; returns the history.
fn run(cluster: &Cluster, topic: &str) -> History {
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let cluster = cluster.clone();
            let topic = topic.to_string();
            let done = Arc::clone(&done);
            std::thread::spawn(move || read_until_done(&cluster, &topic, &done))
        })
        .collect();
    let writes = Arc::new(Mutex::new(Vec::new()));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let cluster = cluster.clone();
            let topic = topic.to_string();
            let writes = Arc::clone(&writes);
            std::thread::spawn(move || {
                let linger = (p % 2).to_string();
                let producer = cluster
                    .producer(&[("linger.ms", linger.as_str())][..])
                    .unwrap();
                let mut mine = Vec::new();
                let mut handles = Vec::new();
                for seq in 0..sends() {
                    let value = p << 32 | seq;
                    let partition = i32::try_from(value % PARTITIONS as u64).unwrap();
                    let record = ProducerRecord::to(&topic)
                        .partition(partition)
                        .value(value.to_be_bytes().to_vec());
                    match producer.send(record) {
                        Ok(handle) => handles.push((value, partition, handle)),
                        Err(_) => mine.push(Write {
                            value,
                            partition,
                            offset: None,
                        }),
                    }
                    // Some sends wait for their acknowledgement, most do not.
                    if seq % 97 == 0 {
                        if let Some((value, partition, handle)) = handles.pop() {
                            let offset = handle.wait().ok().map(|m| m.offset);
                            mine.push(Write {
                                value,
                                partition,
                                offset,
                            });
                        }
                    }
                }
                producer.flush(Duration::from_secs(60)).unwrap();
                for (value, partition, handle) in handles {
                    let offset = handle.wait().ok().map(|m| m.offset);
                    mine.push(Write {
                        value,
                        partition,
                        offset,
                    });
                }
                writes.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let reads = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let log = (0..PARTITIONS)
        .map(|p| {
            let log = cluster.partition(topic, p).unwrap();
            let mut values = Vec::new();
            let mut offset = 0;
            while offset < log.high_watermark() {
                let data = log.read(offset, 1 << 20).unwrap();
                for batch in data.batches() {
                    let batch = batch.unwrap();
                    for record in batch.records().unwrap().iter() {
                        let record = record.unwrap();
                        values.push(u64::from_be_bytes(
                            record.value.unwrap().try_into().unwrap(),
                        ));
                    }
                    offset = batch.next_offset();
                }
            }
            (p, values)
        })
        .collect();
    let writes = std::mem::take(&mut *writes.lock().unwrap());
    History { writes, reads, log }
}

/// Polls every partition from the beginning until the producers are done and the reader is
/// at every partition's end. Polls block on the cluster's append notification.
fn read_until_done(cluster: &Cluster, topic: &str, done: &AtomicBool) -> Vec<Read> {
    let consumer = cluster
        .consumer(ConsumerConfig::new().max_poll_records(173))
        .unwrap();
    let partitions: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    let assignment: Vec<_> = partitions
        .iter()
        .map(|tp| (tp.clone(), Offset::Beginning))
        .collect();
    consumer.assign(&assignment).unwrap();
    let mut reads = Vec::new();
    loop {
        // Read before polling: once done, one more poll reaches everything acknowledged.
        let finished = done.load(Ordering::SeqCst);
        let records = consumer.poll(Duration::from_millis(20)).unwrap();
        assert!(records.errors().is_empty(), "{:?}", records.errors());
        for record in records.iter() {
            reads.push(Read {
                partition: record.partition(),
                offset: record.offset(),
                value: u64::from_be_bytes(record.value().unwrap().try_into().unwrap()),
            });
        }
        let at_end = partitions.iter().all(|tp| {
            let end = cluster
                .partition(topic, tp.partition)
                .unwrap()
                .high_watermark();
            consumer.position(tp).unwrap() >= end
        });
        if finished && at_end {
            return reads;
        }
    }
}

fn run_mode(name: &str, topic: NewTopic) {
    let cluster = Cluster::temporary().unwrap();
    let topic_name = topic.name.clone();
    cluster.create_topic(topic).unwrap();
    let history = run(&cluster, &topic_name);
    let acked = history.writes.iter().filter(|w| w.offset.is_some()).count();
    let reads: usize = history.reads.iter().map(Vec::len).sum();
    let anomalies = check(&history);
    eprintln!(
        "{name}: {} sends ({acked} acknowledged), {reads} records read by {READERS} readers, {} anomalies",
        history.writes.len(),
        anomalies.len()
    );
    assert_eq!(history.writes.len() as u64, PRODUCERS * sends());
    assert_eq!(
        acked as u64,
        PRODUCERS * sends(),
        "{name}: nothing here fails a send"
    );
    assert!(
        anomalies.is_empty(),
        "{name}: {:?}",
        &anomalies[..anomalies.len().min(10)]
    );
}

#[test]
fn concurrent_producers_and_readers_show_no_anomaly() {
    // Small segments, so that readers race rolls (the segment list swaps under them).
    run_mode(
        "default durability",
        NewTopic::new("j", PARTITIONS).config("segment.bytes", "65536"),
    );
    run_mode(
        "flush.messages=1",
        NewTopic::new("j", PARTITIONS)
            .config("flush.messages", "1")
            .config("segment.bytes", "65536"),
    );
}

/// A clean history of two writes to partition 0, read by one reader.
fn clean() -> History {
    History {
        writes: vec![
            Write {
                value: 10,
                partition: 0,
                offset: Some(0),
            },
            Write {
                value: 11,
                partition: 0,
                offset: Some(1),
            },
        ],
        reads: vec![vec![
            Read {
                partition: 0,
                offset: 0,
                value: 10,
            },
            Read {
                partition: 0,
                offset: 1,
                value: 11,
            },
        ]],
        log: BTreeMap::from([(0, vec![10, 11])]),
    }
}

#[test]
fn the_checker_finds_each_planted_anomaly() {
    assert_eq!(check(&clean()), vec![]);

    let mut h = clean();
    h.log.insert(0, vec![10]);
    h.reads[0].pop();
    let found = check(&h);
    assert!(
        found.contains(&Anomaly::LostWrite {
            value: 11,
            partition: 0,
            offset: 1
        }),
        "{found:?}"
    );

    let mut h = clean();
    h.log.get_mut(&0).unwrap().push(99);
    assert!(check(&h).contains(&Anomaly::Phantom {
        partition: 0,
        offset: 2,
        value: 99
    }));

    let mut h = clean();
    h.log.get_mut(&0).unwrap().push(11);
    assert!(check(&h).contains(&Anomaly::Duplicate { value: 11 }));

    let mut h = clean();
    h.writes[1].offset = Some(5);
    assert!(check(&h).contains(&Anomaly::InconsistentOffset {
        value: 11,
        told: 5,
        found: 1
    }));

    let mut h = clean();
    h.reads.push(vec![Read {
        partition: 0,
        offset: 0,
        value: 11,
    }]);
    assert!(check(&h).contains(&Anomaly::ReadsDisagree {
        partition: 0,
        offset: 0
    }));

    let mut h = clean();
    h.reads[0].push(Read {
        partition: 0,
        offset: 0,
        value: 10,
    });
    assert!(check(&h).contains(&Anomaly::NonMonotonicPoll {
        reader: 0,
        partition: 0,
        after: 1,
        offset: 0
    }));

    let mut h = clean();
    h.reads[0].remove(0);
    let found = check(&h);
    assert!(found.contains(&Anomaly::PollSkip {
        reader: 0,
        partition: 0,
        after: -1,
        offset: 1
    }));
    assert!(found.contains(&Anomaly::UnseenAtEnd {
        reader: 0,
        value: 10
    }));
}
