//! `kafkalite demo`: an end-to-end tour on a local data directory: a topic, a producer, a
//! consumer group of two (with a custom assignor weighting its members), commits, a restart,
//! a consumer (with an interceptor auditing what it reads and commits) resuming from the
//! commits, a compacted topic of balances cleaned down to one record per customer, and
//! exactly-once building blocks: an idempotent retry answered without a second write, and a
//! `read_committed` consumer that never sees an aborted transaction; then an event store
//! (`demo_events`): a conflict on an expected version, an idempotent retry, a subscription.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkalite::assignor::{
    AssignError, Assignment, ClusterMetadata, GroupAssignment, GroupSubscription,
};
use kafkalite::{
    AutoOffsetReset, BatchBuilder, Cluster, CommitMode, Consumer, ConsumerConfig,
    ConsumerInterceptor, ConsumerPartitionAssignor, IsolationLevel, NewTopic, Offset, Offsets,
    ProducerConfig, ProducerRecord, RebalanceContext, RebalanceListener, Records, TopicPartition,
};

use super::CliResult;

const TOPIC: &str = "demo-orders";
const GROUP: &str = "demo-billing";
const PARTITIONS: i32 = 3;
const ORDERS: usize = 3_000;
const BALANCES: &str = "demo-balances";
const PAYMENTS: &str = "demo-payments";

/// Prints a member's rebalance callbacks.
struct Announce(&'static str);

impl RebalanceListener for Announce {
    fn on_partitions_revoked(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
        if !tps.is_empty() {
            println!("   {} gives up {}", self.0, list(tps));
        }
    }
    fn on_partitions_assigned(&mut self, _: &mut RebalanceContext<'_>, tps: &[TopicPartition]) {
        println!("   {} now owns {}", self.0, list(tps));
    }
}

fn list(tps: &[TopicPartition]) -> String {
    let names: Vec<String> = tps.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

/// Counts what a consumer's polls return and what it commits (Kafka's `ConsumerInterceptor`).
#[derive(Default)]
struct Audit {
    records: AtomicU64,
    commits: AtomicU64,
}

impl ConsumerInterceptor for Audit {
    fn on_consume(&self, records: Records) -> Records {
        self.records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        records
    }
    fn on_commit(&self, _: &Offsets) {
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
}

/// A custom assignor (Kafka's `ConsumerPartitionAssignor`): each member sends its capacity as
/// subscription user data, and the leader deals partitions in proportion to it.
struct Weighted(u8);

impl ConsumerPartitionAssignor for Weighted {
    fn name(&self) -> &str {
        "weighted"
    }

    fn subscription_user_data(&self, _topics: &BTreeSet<String>) -> Option<Vec<u8>> {
        Some(vec![self.0])
    }

    fn assign(
        &self,
        metadata: &ClusterMetadata,
        group: &GroupSubscription,
    ) -> Result<GroupAssignment, AssignError> {
        // Each member takes one seat per unit of capacity; partitions are dealt to the seats.
        let mut seats: Vec<&String> = Vec::new();
        let mut result = GroupAssignment::default();
        for (member, subscription) in &group.subscriptions {
            let capacity = subscription.user_data.as_deref().and_then(|d| d.first());
            seats.extend(std::iter::repeat_n(
                member,
                usize::from(*capacity.unwrap_or(&1)).max(1),
            ));
            result
                .assignments
                .insert(member.clone(), Assignment::default());
        }
        for (topic, count) in metadata.topics() {
            for (p, member) in (0..count).zip(seats.iter().cycle()) {
                if let Some(share) = result.assignments.get_mut(*member) {
                    share.partitions.push(TopicPartition::new(topic, p));
                }
            }
        }
        Ok(result)
    }
}

fn member(
    cluster: &Cluster,
    name: &'static str,
    capacity: u8,
    audit: Option<Arc<Audit>>,
) -> kafkalite::Result<Consumer> {
    let config = ConsumerConfig::with_group(GROUP)
        .client_id(name)
        .auto_offset_reset(AutoOffsetReset::Earliest)
        .enable_auto_commit(false)
        .max_poll_records(250)
        .set("partition.assignment.strategy", "weighted")?;
    let mut builder = cluster
        .consumer_builder(config)
        .assignor(Arc::new(Weighted(capacity)));
    if let Some(audit) = audit {
        builder = builder.interceptor(audit);
    }
    let consumer = builder.build()?;
    consumer.subscribe_with(&[TOPIC], Announce(name))?;
    Ok(consumer)
}

/// Polls once, records the order numbers seen, and commits them.
fn consume_once(consumer: &Consumer, seen: &mut Vec<u64>) -> kafkalite::Result<usize> {
    let records = consumer.poll(Duration::from_millis(10))?;
    for record in records.iter() {
        let value = String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned();
        if let Some(order) = value
            .strip_prefix("{\"order\":")
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
        {
            seen.push(order);
        }
    }
    consumer.commit_records(&records, CommitMode::Sync)?;
    Ok(records.len())
}

/// Runs the tour; every step prints what it did.
pub fn run(data_dir: &Path, out: &mut dyn Write) -> CliResult {
    writeln!(out, "== kafkalite demo in {}", data_dir.display())?;
    let cluster = Cluster::open(data_dir)?;
    if cluster.list_topics()?.iter().any(|t| t == TOPIC) {
        writeln!(
            out,
            "-- removing {TOPIC} and group {GROUP} from an earlier run"
        )?;
        cluster.delete_topic(TOPIC)?;
        if cluster.list_groups()?.iter().any(|g| g == GROUP) {
            cluster.delete_group(GROUP)?;
        }
    }
    cluster.create_topic(NewTopic::new(TOPIC, PARTITIONS).config("segment.bytes", "65536"))?;
    writeln!(out, "-- created topic {TOPIC} with {PARTITIONS} partitions")?;
    produce_orders(&cluster, out)?;
    let mut seen = Vec::new();
    read_half_in_a_group(&cluster, &mut seen, out)?;

    writeln!(out, "-- closing the cluster and reopening it (a restart)")?;
    cluster.close()?;
    let reopened = Instant::now();
    let cluster = Cluster::open(data_dir)?;
    writeln!(out, "   reopened in {:?}", reopened.elapsed())?;
    resume_from_the_commits(&cluster, &mut seen, out)?;
    super::demo_async::run(&cluster, TOPIC, out)?;
    compact_balances(&cluster, out)?;
    retries_and_transactions(&cluster, out)?;
    super::demo_events::run(&cluster, out)?;
    #[cfg(feature = "rdkafka-api")]
    super::demo_rdkafka::run(&cluster, out)?;
    #[cfg(not(feature = "rdkafka-api"))]
    writeln!(
        out,
        "-- rdkafka: code written for the rdkafka crate runs here unchanged through \
         kafkalite::rdkafka; see it with `cargo run --release --features rdkafka-api -- demo`"
    )?;
    #[cfg(feature = "testing")]
    super::demo_testing::run(out)?;
    #[cfg(not(feature = "testing"))]
    writeln!(
        out,
        "-- test kit: fault rules, forced rebalances and crashes for tests; see it with \
         `cargo run --release --features testing -- demo`"
    )?;
    cluster.close()?;
    let dir = data_dir.display();
    writeln!(
        out,
        "== done. Next, try (with the tool installed by `cargo install --path .`, or as \
         ./target/release/kafkalite):"
    )?;
    writeln!(
        out,
        "   kafkalite --data-dir {dir} groups --describe --group {GROUP}"
    )?;
    writeln!(out, "   kafkalite --data-dir {dir} consume --topic {TOPIC} --from-beginning --max-messages 5 --property print.key=true")?;
    writeln!(
        out,
        "   kafkalite --data-dir {dir} topics --describe --topic {BALANCES}"
    )?;
    writeln!(
        out,
        "   kafkalite --data-dir {dir} configs --describe --topic {BALANCES}"
    )?;
    writeln!(out, "   kafkalite --data-dir {dir} dump-log --files {dir}/{TOPIC}-0/00000000000000000000.log --print-data-log")?;
    writeln!(out, "   kafkalite --data-dir {dir} dump-log --offsets-decoder --files {dir}/__consumer_offsets-0/00000000000000000000.log")?;
    writeln!(
        out,
        "   kafkalite --data-dir {dir} get-offsets --topic {TOPIC},{BALANCES} --time earliest"
    )?;
    Ok(())
}

/// A compacted topic of balances: 2,000 updates of 17 customers and one closed account (a
/// tombstone), cleaned down to the latest balance of each.
fn compact_balances(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    if cluster.list_topics()?.iter().any(|t| t == BALANCES) {
        cluster.delete_topic(BALANCES)?;
    }
    cluster.create_topic(
        NewTopic::new(BALANCES, 1)
            .config("cleanup.policy", "compact")
            .config("segment.bytes", "16384"),
    )?;
    let producer = cluster.producer(ProducerConfig::new())?;
    let mut handles = Vec::new();
    for update in 0..2_000 {
        let record = ProducerRecord::to(BALANCES)
            .key(format!("customer-{}", update % 17))
            .value(format!("{}", update * 37 % 1000));
        handles.push(producer.send(record)?);
    }
    // No value: a tombstone, which compaction keeps for delete.retention.ms, then drops.
    handles.push(producer.send(ProducerRecord::to(BALANCES).key("customer-16"))?);
    producer.close(Duration::from_secs(30))?;
    for handle in handles {
        handle.wait()?;
    }
    let log = cluster.partition(BALANCES, 0)?;
    // The cleaner never touches the active segment: roll so that every update is cleanable.
    log.roll()?;
    let before = log.size_bytes();
    let (mut kept, mut total) = (0, 0);
    for report in cluster.compact(Some(BALANCES))? {
        let stats = report.outcome?;
        kept += stats.records_kept;
        total += stats.records_kept + stats.records_removed;
    }
    writeln!(
        out,
        "-- compacted {BALANCES}: kept {kept} of {total} records ({before} bytes became {}): each customer's latest balance, and customer-16's tombstone until delete.retention.ms passes",
        log.size_bytes()
    )?;
    Ok(())
}

/// Idempotence and `read_committed`: a batch appended twice is stored once, and a consumer
/// reading committed data skips an aborted transaction.
fn retries_and_transactions(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    if cluster.list_topics()?.iter().any(|t| t == PAYMENTS) {
        cluster.delete_topic(PAYMENTS)?;
    }
    cluster.create_topic(NewTopic::new(PAYMENTS, 1))?;
    let orders = cluster.partition(TOPIC, 0)?;
    if let Some(state) = orders.producer_states().first() {
        writeln!(
            out,
            "-- {TOPIC}-0 knows the producer that wrote it: id {}, epoch {}, last sequence {} (idempotence is on by default)",
            state.producer_id, state.epoch, state.last_sequence
        )?;
    }
    let log = cluster.partition(PAYMENTS, 0)?;
    let id = cluster.allocate_producer_id()?;
    let batch = |value: &str| -> kafkalite::Result<Vec<u8>> {
        let mut builder = BatchBuilder::new().producer(id, 0, 0);
        builder.append(0, Some(b"card-1"), Some(value.as_bytes()), &[])?;
        builder.build()
    };
    let first = log.append(&batch("paid 10")?)?;
    let retry = log.append(&batch("paid 10")?)?;
    writeln!(
        out,
        "-- a retried batch (producer {id}, sequence 0) was answered with offset {} again and stored once: {} record(s) in {PAYMENTS}",
        retry.first_offset,
        log.log_end_offset() - first.first_offset
    )?;
    let wait = Duration::from_secs(30);
    let send = |producer: &kafkalite::Producer, value: &str| -> CliResult {
        let record = ProducerRecord::to(PAYMENTS)
            .key("card-1")
            .value(value.to_string());
        producer.send(record)?;
        producer.flush(wait)?;
        Ok(())
    };
    let payments = cluster.producer(ProducerConfig::new().transactional_id("payments"))?;
    payments.init_transactions(wait)?;
    payments.begin_transaction()?;
    send(&payments, "refund 10 (aborted)")?;
    payments.abort_transaction(wait)?;
    payments.begin_transaction()?;
    send(&payments, "paid 20")?;
    payments.commit_transaction(wait)?;
    let metrics = payments.metrics();
    writeln!(
        out,
        "-- its metrics, by Kafka's names: txn-commit-time-ns-total {}, txn-abort-time-ns-total {}, flush-time-ns-total {}",
        metrics.txn_commit_time_ns_total,
        metrics.txn_abort_time_ns_total,
        metrics.flush_time_ns_total
    )?;
    // A second instance with the same transactional.id fences the first (Kafka's zombie
    // fencing): its next transaction fails with ProducerFenced.
    let successor = cluster.producer(ProducerConfig::new().transactional_id("payments"))?;
    successor.init_transactions(wait)?;
    payments.begin_transaction()?;
    send(&payments, "paid twice (zombie)")?;
    let fenced = payments.commit_transaction(wait).err();
    writeln!(
        out,
        "-- transactional.id \"payments\": a newer instance fenced the old one, whose commit failed: {}",
        fenced.map_or_else(|| "no error (unexpected)".to_string(), |e| e.to_string())
    )?;
    let committed: Vec<String> = read_all(cluster, IsolationLevel::ReadCommitted)?;
    let everything = read_all(cluster, IsolationLevel::ReadUncommitted)?;
    writeln!(
        out,
        "-- read_committed sees {committed:?}; read_uncommitted also the aborted refund: {everything:?}"
    )?;
    Ok(())
}

/// Every value of `PAYMENTS` a consumer at `level` reads.
fn read_all(cluster: &Cluster, level: IsolationLevel) -> kafkalite::Result<Vec<String>> {
    let consumer = cluster.consumer(ConsumerConfig::new().isolation_level(level))?;
    consumer.assign(&[(TopicPartition::new(PAYMENTS, 0), Offset::Beginning)])?;
    let mut values = Vec::new();
    loop {
        let records = consumer.poll(Duration::from_millis(100))?;
        if records.is_empty() {
            return Ok(values);
        }
        for record in records.iter() {
            values.push(String::from_utf8_lossy(record.value().unwrap_or_default()).into_owned());
        }
    }
}

/// Sends the orders, keyed by customer, and checks every delivery.
fn produce_orders(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    let producer = cluster.producer(ProducerConfig::new().linger(Duration::from_millis(5)))?;
    let started = Instant::now();
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for order in 0..ORDERS {
        let record = ProducerRecord::to(TOPIC)
            .key(format!("customer-{}", order % 17))
            .value(format!(
                "{{\"order\":{order},\"amount\":{}}}",
                order * 7 % 1000
            ))
            .header("source", "demo");
        let handle = producer.send(record)?;
        if order < 3 {
            first.push((order, handle));
        } else {
            rest.push(handle);
        }
    }
    for (order, handle) in first {
        let meta = handle.wait()?;
        writeln!(
            out,
            "   order {order} (key customer-{}) went to partition {} at offset {} (murmur2, as Kafka)",
            order % 17,
            meta.partition,
            meta.offset
        )?;
    }
    // flush only waits: each record's handle says whether it was stored.
    producer.flush(Duration::from_secs(30))?;
    for handle in rest {
        handle.wait()?;
    }
    writeln!(
        out,
        "-- produced {ORDERS} orders in {:?}, every delivery checked",
        started.elapsed()
    )?;
    producer.close(Duration::from_secs(30))?;
    Ok(())
}

/// Two members share the topic and read (and commit) half the orders.
fn read_half_in_a_group(cluster: &Cluster, seen: &mut Vec<u64>, out: &mut dyn Write) -> CliResult {
    writeln!(
        out,
        "-- a consumer group '{GROUP}' of two members; a custom assignor gives alice (capacity 2)"
    )?;
    writeln!(out, "   twice bob's share (capacity 1):")?;
    out.flush()?;
    let (alice, bob) = (
        member(cluster, "alice", 2, None)?,
        member(cluster, "bob", 1, None)?,
    );
    // Each poll joins, rebalances and reads; stop halfway, with everything read committed.
    while seen.len() < ORDERS / 2 {
        consume_once(&alice, seen)?;
        consume_once(&bob, seen)?;
    }
    writeln!(
        out,
        "-- the two members read and committed {} orders; the group's lag now:",
        seen.len()
    )?;
    for p in cluster.describe_group_offsets(GROUP)? {
        writeln!(
            out,
            "   {}: committed {} of {} (lag {})",
            p.partition,
            p.committed.unwrap_or(0),
            p.log_end_offset,
            p.lag.unwrap_or(0)
        )?;
    }
    Ok(())
}

/// After the restart, a new member reads the rest from the committed offsets.
fn resume_from_the_commits(
    cluster: &Cluster,
    seen: &mut Vec<u64>,
    out: &mut dyn Write,
) -> CliResult {
    let audit = Arc::new(Audit::default());
    let carol = member(cluster, "carol", 1, Some(Arc::clone(&audit)))?;
    let before = seen.len();
    let mut idle = 0;
    while idle < 3 {
        if consume_once(&carol, seen)? == 0 {
            idle += 1;
        }
    }
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    writeln!(
        out,
        "-- carol resumed from the committed offsets and read the other {} orders",
        seen.len() - before
    )?;
    writeln!(
        out,
        "   her interceptor saw {} records in her polls and {} commits",
        audit.records.load(Ordering::Relaxed),
        audit.commits.load(Ordering::Relaxed)
    )?;
    writeln!(
        out,
        "   in all: {} orders read, {} distinct, none missing: {}",
        seen.len(),
        unique.len(),
        unique.len() == ORDERS && seen.len() == ORDERS
    )?;
    Ok(())
}
