//! The demo's event-sourcing step: an account stream with an expected-version conflict, a
//! retried append answered without a second write, a read backwards, the stream index's
//! table files, a subscription that catches up and then sees a live event, and a transfer
//! between accounts in two partitions (one transaction).

use std::io::Write;
use std::time::Duration;

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventStoreConfig, StreamAppend, StreamPosition,
    SubscriptionFilter, SubscriptionMessage,
};
use kafkalite::{Cluster, Error, ExpectedVersion};

use super::CliResult;

const STORE: &str = "demo-accounts";
const TRANSFERS: &str = "demo-transfers";

/// Runs the step on `cluster`.
pub fn run(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    if cluster.list_topics()?.iter().any(|t| t == STORE) {
        cluster.delete_topic(STORE)?;
    }
    // A table file every two events (the default is 262,144), to show one.
    let store = cluster.event_store(STORE, EventStoreConfig::new().index_table_events(2))?;
    let opened = EventData::new("AccountOpened", r#"{"owner":"ada"}"#);
    store.append("account-7", ExpectedVersion::NoStream, [opened.clone()])?;
    store.append(
        "account-7",
        ExpectedVersion::Exact(0),
        [EventData::new("Deposited", r#"{"amount":50}"#)],
    )?;
    let conflict = store.append(
        "account-7",
        ExpectedVersion::Exact(0),
        [EventData::new("Withdrawn", r#"{"amount":80}"#)],
    );
    let conflict = match conflict {
        Err(error @ Error::WrongExpectedVersion { .. }) => error.to_string(),
        other => format!("no conflict (unexpected): {other:?}"),
    };
    writeln!(
        out,
        "-- event store {STORE}: a stale writer was refused: {conflict}"
    )?;
    let retry = store.append("account-7", ExpectedVersion::NoStream, [opened])?;
    writeln!(
        out,
        "-- a retried append (same event id) returned version {} at offset {} again; the log still ends at {}",
        retry.next_expected_version,
        retry.position.offset,
        cluster.partition(STORE, 0)?.log_end_offset()
    )?;
    let newest = store.read_stream("account-7", StreamPosition::End, Direction::Backwards, 10)?;
    let types: Vec<String> = newest
        .into_events()
        .into_iter()
        .map(|e| format!("{}@{}", e.event_type, e.version))
        .collect();
    writeln!(out, "-- account-7 read backwards: {}", types.join(", "))?;
    let index = store.index_stats(0)?;
    writeln!(
        out,
        "-- its stream index: {} events in {} table file(s) beside the segments, {} in memory",
        index.table_events,
        index.tables.len(),
        index.memory_events
    )?;

    let mut subscription =
        store.subscribe_to_all(AllStart::Start, SubscriptionFilter::default())?;
    let mut history = 0;
    while let Some(SubscriptionMessage::Event(_)) = subscription.next(Duration::ZERO)? {
        history += 1;
    }
    store.append(
        "account-8",
        ExpectedVersion::NoStream,
        [EventData::new("AccountOpened", r#"{"owner":"grace"}"#)],
    )?;
    let live = match subscription.next(Duration::from_secs(5))? {
        Some(SubscriptionMessage::Event(e)) => format!("{} {}", e.stream, e.event_type),
        other => format!("{other:?}"),
    };
    writeln!(
        out,
        "-- a subscription delivered {history} stored events, then CaughtUp, then the live one: {live}"
    )?;
    transfer(cluster, out)
}

/// A transfer between accounts in two partitions of a second store: one transaction.
fn transfer(cluster: &Cluster, out: &mut dyn Write) -> CliResult {
    if cluster.list_topics()?.iter().any(|t| t == TRANSFERS) {
        cluster.delete_topic(TRANSFERS)?;
    }
    let store = cluster.event_store(TRANSFERS, EventStoreConfig::new().partitions(2))?;
    let from = "account-1";
    let to = (2..)
        .map(|n| format!("account-{n}"))
        .find(|s| store.partition_of(s) != store.partition_of(from))
        .expect("a stream lands in each partition");
    let opened = |owner: &str| EventData::new("AccountOpened", format!(r#"{{"owner":"{owner}"}}"#));
    store.append(from, ExpectedVersion::NoStream, [opened("ada")])?;
    store.append(&to, ExpectedVersion::NoStream, [opened("grace")])?;
    let moved = store.append_to_streams([
        StreamAppend::new(
            from,
            ExpectedVersion::Exact(0),
            [EventData::new("Sent", r#"{"amount":30}"#)],
        ),
        StreamAppend::new(
            &to,
            ExpectedVersion::Exact(0),
            [EventData::new("Received", r#"{"amount":30}"#)],
        ),
    ])?;
    let at: Vec<String> = moved
        .iter()
        .map(|r| {
            format!(
                "partition {} offset {}",
                r.position.partition, r.position.offset
            )
        })
        .collect();
    writeln!(
        out,
        "-- a transfer {from} -> {to} across partitions went in as one transaction of '{}' ({})",
        store.transactional_id(),
        at.join(" and ")
    )?;
    Ok(())
}
