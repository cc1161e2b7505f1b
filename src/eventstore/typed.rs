//! Typed events (the `serde` feature): events as values of the application's types,
//! written and read as JSON through serde_json.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::append::AppendResult;
use super::event::{EventData, RecordedEvent};
use super::read::{Direction, StreamPosition};
use super::EventStore;
use crate::error::{Error, ExpectedVersion, Result};

impl EventData {
    /// An event of `event_type` whose data is `value` as JSON (content type
    /// `application/json`).
    pub fn json(event_type: impl Into<String>, value: &impl Serialize) -> Result<EventData> {
        let event_type = event_type.into();
        let data = serde_json::to_vec(value).map_err(|e| {
            Error::Serialization(format!("event of type '{event_type}' as JSON: {e}"))
        })?;
        Ok(EventData::new(event_type, data))
    }
}

impl RecordedEvent {
    /// The event's data as a `T`, read from JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.data).map_err(|e| {
            Error::Serialization(format!(
                "event {} of stream '{}' (type '{}') as JSON: {e}",
                self.version, self.stream, self.event_type
            ))
        })
    }
}

impl EventStore {
    /// [`EventStore::append`] of typed events: each `(event type, value)` written as JSON.
    pub fn append_typed<'a, T: Serialize + 'a>(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: impl IntoIterator<Item = (&'a str, &'a T)>,
    ) -> Result<AppendResult> {
        let events = events
            .into_iter()
            .map(|(event_type, value)| EventData::json(event_type, value))
            .collect::<Result<Vec<_>>>()?;
        self.append(stream, expected, events)
    }

    /// Every event of `stream`, oldest first, read as `T`s with their versions (empty if the
    /// stream does not exist). A value that does not read as `T` is a `Serialization` error
    /// naming its stream, version and type.
    pub fn read_typed<T: DeserializeOwned>(&self, stream: &str) -> Result<Vec<(u64, T)>> {
        self.read_stream(
            stream,
            StreamPosition::Start,
            Direction::Forwards,
            usize::MAX,
        )?
        .into_events()
        .iter()
        .map(|event| Ok((event.version, event.json()?)))
        .collect()
    }
}
