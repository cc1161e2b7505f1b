//! An event-sourced bank account on kafkalite's event store: four tellers deposit and
//! withdraw concurrently on the same accounts. Each loads an account (replays its stream),
//! decides against the balance (no overdraft), and appends with the version it loaded; a
//! conflict means another teller got there first, so it reloads and decides again. A
//! projection of every balance is kept by a catch-up subscription. At the end the
//! projection, the replayed streams and the tellers' own tallies must agree.
//!
//! ```text
//! cargo run --release --example bank_account -- ./bank-data
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use kafkalite::eventstore::{
    AllStart, Direction, EventData, EventStore, EventStoreConfig, Name, RecordedEvent,
    StreamPosition, SubscriptionFilter, SubscriptionMessage,
};
use kafkalite::{Cluster, Error, ExpectedVersion, Result};

const ACCOUNTS: u32 = 3;
const TELLERS: u32 = 4;
const OPERATIONS: u32 = 200;

/// The amount an event moves (deposits positive, withdrawals negative).
fn amount(event: &RecordedEvent) -> i64 {
    let n: i64 = std::str::from_utf8(&event.data)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match event.event_type.as_str() {
        "Withdrawn" => -n,
        _ => n,
    }
}

/// Replays an account: its balance and the version to expect when appending.
fn load(store: &EventStore, account: &str) -> Result<(i64, ExpectedVersion)> {
    let events = store
        .read_stream(
            account,
            StreamPosition::Start,
            Direction::Forwards,
            usize::MAX,
        )?
        .into_events();
    let balance = events.iter().map(amount).sum();
    let expected = events.last().map_or(ExpectedVersion::NoStream, |e| {
        ExpectedVersion::Exact(e.version)
    });
    Ok((balance, expected))
}

/// One teller: `OPERATIONS` attempts at a deposit or withdrawal, each retried on conflict.
/// Returns (net amount moved, conflicts met, withdrawals refused).
fn teller(store: &EventStore, id: u32) -> Result<(i64, u32, u32)> {
    let (mut moved, mut conflicts, mut refused) = (0, 0, 0);
    for op in 0..OPERATIONS {
        let account = format!("account-{}", (id + op) % ACCOUNTS);
        let amount = i64::from((id * 7 + op * 13) % 50 + 1);
        let withdraw = op % 3 == 2;
        loop {
            let (balance, expected) = load(store, &account)?;
            if withdraw && balance < amount {
                refused += 1;
                break;
            }
            let kind = if withdraw { "Withdrawn" } else { "Deposited" };
            let event = EventData::new(kind, amount.to_string()).content_type("text/plain");
            match store.append(&account, expected, [event]) {
                Ok(_) => {
                    moved += if withdraw { -amount } else { amount };
                    break;
                }
                Err(Error::WrongExpectedVersion { .. }) => conflicts += 1,
                Err(other) => return Err(other),
            }
        }
    }
    Ok((moved, conflicts, refused))
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bank-data".to_string());
    let cluster = Cluster::open(&dir)?;
    if cluster.list_topics()?.iter().any(|t| t == "bank") {
        cluster.delete_topic("bank")?;
    }
    let store = cluster.event_store("bank", EventStoreConfig::new().partitions(2))?;

    // The projection: every balance, from a subscription to all events.
    let mut subscription =
        store.subscribe_to_all(AllStart::Start, SubscriptionFilter::default())?;
    let mut projection: BTreeMap<Name, i64> = BTreeMap::new();

    let tellers: Vec<_> = (0..TELLERS)
        .map(|id| {
            let store = store.clone();
            std::thread::spawn(move || teller(&store, id))
        })
        .collect();
    let (mut moved, mut conflicts, mut refused) = (0, 0, 0);
    for handle in tellers {
        let (m, c, r) = handle.join().expect("a teller panicked")?;
        moved += m;
        conflicts += c;
        refused += r;
    }
    // Catch up with everything appended.
    while let Some(message) = subscription.next(Duration::ZERO)? {
        if let SubscriptionMessage::Event(event) = message {
            *projection.entry(event.stream.clone()).or_default() += amount(&event);
        }
    }

    println!(
        "{TELLERS} tellers, {} operations: {conflicts} conflicts retried, {refused} withdrawals refused",
        TELLERS * OPERATIONS
    );
    let mut total = 0;
    for account in 0..ACCOUNTS {
        let name = format!("account-{account}");
        let (balance, expected) = load(&store, &name)?;
        let projected = projection.get(name.as_str()).copied().unwrap_or(0);
        println!("{name}: balance {balance} at {expected}, projection {projected}");
        assert!(balance >= 0, "no overdraft, ever");
        assert_eq!(balance, projected, "the projection agrees with the stream");
        total += balance;
    }
    assert_eq!(total, moved, "every successful append is counted once");
    println!("total {total} = what the tellers moved");
    cluster.close()
}
