//! Typed events (the `serde` feature, which the tests always build with): values of the
//! application's types written as JSON and read back, and typed errors for data that does
//! not read as the type asked for.

use kafkalite::eventstore::{EventData, EventStoreConfig};
use kafkalite::{Cluster, Error, ExpectedVersion};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum AccountEvent {
    Opened { owner: String },
    Deposited { amount: u64 },
}

#[test]
fn typed_events_round_trip_as_json() {
    let cluster = Cluster::temporary().unwrap();
    let store = cluster
        .event_store("typed", EventStoreConfig::new())
        .unwrap();
    let opened = AccountEvent::Opened {
        owner: "ada".into(),
    };
    let deposited = AccountEvent::Deposited { amount: 50 };
    store
        .append_typed(
            "account-1",
            ExpectedVersion::NoStream,
            [("Opened", &opened), ("Deposited", &deposited)],
        )
        .unwrap();
    let read: Vec<(u64, AccountEvent)> = store.read_typed("account-1").unwrap();
    assert_eq!(read, [(0, opened), (1, deposited.clone())]);
    assert!(store
        .read_typed::<AccountEvent>("nobody")
        .unwrap()
        .is_empty());

    // The data is plain JSON, as any consumer reads it.
    let event = EventData::json("Deposited", &deposited).unwrap();
    assert_eq!(event.data, br#"{"kind":"Deposited","amount":50}"#);
    assert_eq!(event.content_type, "application/json");

    // Bytes that are not an AccountEvent: a Serialization error naming the event.
    store
        .append(
            "account-1",
            ExpectedVersion::Exact(1),
            [EventData::new("Noise", "not json")],
        )
        .unwrap();
    let err = store.read_typed::<AccountEvent>("account-1").unwrap_err();
    assert!(
        matches!(&err, Error::Serialization(m) if m.contains("event 2 of stream 'account-1' (type 'Noise')")),
        "{err}"
    );
}
