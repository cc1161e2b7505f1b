//! Events as records: what an append takes, what a read returns, and the headers that carry
//! an event's facts (so that every Kafka tool and consumer still reads them).

use std::fmt;
use std::str::FromStr;

use super::name::{Name, Names};
use crate::error::{Error, Result};
use crate::record::{Header, Record};

/// Header holding the event type.
pub const TYPE_HEADER: &str = "event.type";
/// Header holding the event id, as a UUID in its 36-character text form.
pub const ID_HEADER: &str = "event.id";
/// Header holding the content type of the data (`application/json` by default).
pub const CONTENT_TYPE_HEADER: &str = "event.content-type";
/// Header holding the user's metadata bytes (absent when there are none).
pub const METADATA_HEADER: &str = "event.metadata";
/// Header holding the event's version in its stream, in decimal.
pub const VERSION_HEADER: &str = "event.version";

/// An event's unique id: a 128-bit UUID, the key of idempotent appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u128);

impl EventId {
    /// A new random id (a version 4 UUID).
    pub fn random() -> EventId {
        let bytes = crate::random::random_bytes();
        let raw = u128::from_be_bytes(bytes);
        // Version 4, variant 10xx, as RFC 9562 lays them out.
        let raw = (raw & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        EventId(raw)
    }

    /// The id with these 128 bits.
    pub const fn from_u128(raw: u128) -> EventId {
        EventId(raw)
    }

    /// The id's 128 bits.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

impl FromStr for EventId {
    type Err = Error;

    /// Parses the 36-character form (`8-4-4-4-12` hex digits) or 32 bare hex digits.
    fn from_str(text: &str) -> Result<EventId> {
        EventId::parse_ascii(text.as_bytes()).ok_or_else(|| {
            Error::InvalidRecord(format!(
                "'{text}' is not an event id: write a UUID as 8-4-4-4-12 hex digits"
            ))
        })
    }
}

impl EventId {
    /// The id `bytes` spell (as `from_str` reads it), without a UTF-8 check first: any
    /// byte that is not a hex digit (or a dash in its place) makes it `None`.
    fn parse_ascii(bytes: &[u8]) -> Option<EventId> {
        let mut digits = [0u8; 32];
        match bytes.len() {
            // 8-4-4-4-12 digits.
            36 if [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-') => {
                digits[..8].copy_from_slice(&bytes[..8]);
                digits[8..12].copy_from_slice(&bytes[9..13]);
                digits[12..16].copy_from_slice(&bytes[14..18]);
                digits[16..20].copy_from_slice(&bytes[19..23]);
                digits[20..].copy_from_slice(&bytes[24..]);
            }
            32 => digits.copy_from_slice(bytes),
            _ => return None,
        }
        // Eight digits at a time, branch-free: reads parse one id per event, and ids are
        // random, so a branch per digit would mispredict every other one.
        let mut raw = 0u128;
        for eight in digits.chunks_exact(8) {
            let word = u64::from_be_bytes(eight.try_into().ok()?);
            raw = (raw << 32) | u128::from(hex_word(word)?);
        }
        Some(EventId(raw))
    }
}

/// The value of the eight hex digits in `word` (as ASCII, the first in the high byte), or
/// `None` if any byte is not a hex digit. Each byte's check and value are computed in all
/// eight lanes at once (no carry crosses a lane: every byte is below 0x80 when it matters).
fn hex_word(word: u64) -> Option<u32> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether each byte (below 0x80) lies in `lo..=hi`: its high bit, in every lane.
    let between = |x: u64, lo: u8, hi: u8| {
        let at_least = x.wrapping_add(ONES * u64::from(0x80 - lo));
        let above = x.wrapping_add(ONES * u64::from(0x7f - hi));
        at_least & !above & HIGH
    };
    let is_digit = between(word, b'0', b'9');
    let is_letter = between(word | (ONES * 0x20), b'a', b'f');
    if word & HIGH != 0 || (is_digit | is_letter) != HIGH {
        return None;
    }
    // '0'..='9' keep their low nibble; 'a'..='f' and 'A'..='F' (bit 6 set) add 9 to it.
    let letters = (word >> 6) & ONES;
    let nibbles = (word & (ONES * 0x0f)) + letters * 9;
    // Pairs of nibbles into bytes, bytes into 16-bit lanes, lanes into the 32-bit value.
    let bytes = ((nibbles >> 4) | nibbles) & 0x00ff_00ff_00ff_00ff;
    let pairs = ((bytes >> 8) | bytes) & 0x0000_ffff_0000_ffff;
    u32::try_from(((pairs >> 16) | pairs) & 0xffff_ffff).ok()
}

/// An event to append: its id (random unless given), type, data, content type and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventData {
    /// The id that makes a retried append idempotent.
    pub id: EventId,
    /// The event type, such as `AccountOpened`.
    pub event_type: String,
    /// The payload (the record's value).
    pub data: Vec<u8>,
    /// The payload's content type.
    pub content_type: String,
    /// Free-form metadata (correlation ids and the like).
    pub metadata: Vec<u8>,
}

impl EventData {
    /// An event of `event_type` with `data` (JSON by content type), a random id and no
    /// metadata.
    pub fn new(event_type: impl Into<String>, data: impl Into<Vec<u8>>) -> EventData {
        EventData {
            id: EventId::random(),
            event_type: event_type.into(),
            data: data.into(),
            content_type: "application/json".to_string(),
            metadata: Vec::new(),
        }
    }

    /// Sets the id (keep the same id when retrying an append).
    pub fn id(mut self, id: EventId) -> EventData {
        self.id = id;
        self
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> EventData {
        self.content_type = content_type.into();
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: impl Into<Vec<u8>>) -> EventData {
        self.metadata = metadata.into();
        self
    }

    /// The record headers that carry this event's facts: `id` and `version` in their text
    /// forms.
    pub(super) fn headers<'a>(&'a self, id: &'a str, version: &'a str) -> Vec<Header<'a>> {
        let header = |key: &'a str, value: &'a [u8]| Header {
            key: key.as_bytes(),
            value: Some(value),
        };
        let mut headers = vec![
            header(TYPE_HEADER, self.event_type.as_bytes()),
            header(ID_HEADER, id.as_bytes()),
            header(VERSION_HEADER, version.as_bytes()),
            header(CONTENT_TYPE_HEADER, self.content_type.as_bytes()),
        ];
        if !self.metadata.is_empty() {
            headers.push(header(METADATA_HEADER, &self.metadata));
        }
        headers
    }
}

/// Where an event is in the log: its partition and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// The partition of the store's topic.
    pub partition: i32,
    /// The record's offset in that partition.
    pub offset: i64,
}

/// An event read back: its stream, version and position, and what was appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The stream (the record's key).
    pub stream: Name,
    /// The event's version in its stream (0 for the first).
    pub version: u64,
    /// Where the event is in the log.
    pub position: Position,
    /// The record's timestamp (epoch milliseconds).
    pub timestamp: i64,
    /// The event id; `None` for a record written without one (by a plain producer).
    pub id: Option<EventId>,
    /// The event type (empty for a record written without one).
    pub event_type: Name,
    /// The content type (empty for a record written without one).
    pub content_type: Name,
    /// The payload (empty for a record with a null value).
    pub data: Vec<u8>,
    /// The metadata (empty if none).
    pub metadata: Vec<u8>,
}

impl RecordedEvent {
    /// The event that `record` of `partition` holds, at `version` of `stream`; its type and
    /// content type from `names` when seen before.
    pub(super) fn from_record(
        record: &Record<'_>,
        stream: &Name,
        version: u64,
        partition: i32,
        names: &mut Names,
    ) -> RecordedEvent {
        let position = Position {
            partition,
            offset: record.offset,
        };
        let data = record.value.unwrap_or_default();
        RecordedEvent::from_parts(
            stream,
            version,
            position,
            record.timestamp,
            data,
            record.headers(),
            names,
        )
    }

    /// The event of `stream` at `version` and `position`, from its record's timestamp, value
    /// and headers; its type and content type from `names` when seen before.
    pub(super) fn from_parts<'a>(
        stream: &Name,
        version: u64,
        position: Position,
        timestamp: i64,
        data: &[u8],
        headers: impl Iterator<Item = Header<'a>>,
        names: &mut Names,
    ) -> RecordedEvent {
        let (mut event_type, mut content_type): (&[u8], &[u8]) = (b"", b"");
        let (mut id, mut metadata) = (None, Vec::new());
        for header in headers {
            let value = header.value.unwrap_or_default();
            let key = header.key;
            if is(key, TYPE_KEY) {
                event_type = value;
            } else if is(key, ID_KEY) {
                id = EventId::parse_ascii(value);
            } else if is(key, CONTENT_TYPE_KEY) {
                content_type = value;
            } else if is(key, METADATA_KEY) {
                metadata = value.to_vec();
            }
        }
        RecordedEvent {
            stream: stream.clone(),
            version,
            position,
            timestamp,
            id,
            event_type: names.get(event_type),
            content_type: names.get(content_type),
            data: data.to_vec(),
            metadata,
        }
    }
}

/// The header names as arrays, so that comparing a key with one is a length check and a
/// few fixed-size loads (a read compares every header of every event).
const TYPE_KEY: &[u8; TYPE_HEADER.len()] = &key(TYPE_HEADER);
const ID_KEY: &[u8; ID_HEADER.len()] = &key(ID_HEADER);
const CONTENT_TYPE_KEY: &[u8; CONTENT_TYPE_HEADER.len()] = &key(CONTENT_TYPE_HEADER);
const METADATA_KEY: &[u8; METADATA_HEADER.len()] = &key(METADATA_HEADER);

/// The bytes of `name` as an array of its length.
const fn key<const N: usize>(name: &str) -> [u8; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        out[i] = name.as_bytes()[i];
        i += 1;
    }
    out
}

/// Whether header key `key` is `name`.
#[inline(always)]
fn is<const N: usize>(key: &[u8], name: &[u8; N]) -> bool {
    <&[u8; N]>::try_from(key).is_ok_and(|key| key == name)
}

/// The event id a record carries, if any (read without decoding the rest).
pub(super) fn record_event_id(record: &Record<'_>) -> Option<EventId> {
    header_value(record, ID_HEADER).and_then(EventId::parse_ascii)
}

/// The version a record carries, if any.
pub(super) fn record_version(record: &Record<'_>) -> Option<u64> {
    header_text(record, VERSION_HEADER).and_then(|t| t.parse().ok())
}

fn header_text<'a>(record: &Record<'a>, key: &str) -> Option<&'a str> {
    header_value(record, key).and_then(|v| std::str::from_utf8(v).ok())
}

/// The value of the header named `key`, if present and not null.
fn header_value<'a>(record: &Record<'a>, key: &str) -> Option<&'a [u8]> {
    record
        .headers()
        .find(|h| h.key == key.as_bytes())
        .and_then(|h| h.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `parse_ascii` must do, the slow way: 32 hex digits, or 36 with dashes at 8, 13,
    /// 18 and 23 and hex digits elsewhere.
    fn model_parse(bytes: &[u8]) -> Option<u128> {
        let digits: Vec<u8> = match bytes.len() {
            36 if [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-') => bytes
                .iter()
                .enumerate()
                .filter(|(i, _)| ![8, 13, 18, 23].contains(i))
                .map(|(_, &b)| b)
                .collect(),
            32 => bytes.to_vec(),
            _ => return None,
        };
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u128::from_str_radix(std::str::from_utf8(&digits).ok()?, 16).ok()
    }

    proptest! {
        /// Any 32 or 36 bytes, mostly hex digits and dashes in place with a few arbitrary
        /// bytes among them, parse as the model parses them.
        #[test]
        fn ids_parse_as_the_model(
            raw in any::<u128>(),
            dashed in any::<bool>(),
            upper in any::<bool>(),
            breaks in proptest::collection::vec((0usize..36, any::<u8>()), 0..3),
        ) {
            let text = if dashed {
                EventId::from_u128(raw).to_string()
            } else {
                format!("{raw:032x}")
            };
            let text = if upper { text.to_uppercase() } else { text };
            let mut bytes = text.into_bytes();
            for (at, byte) in breaks {
                let len = bytes.len();
                bytes[at % len] = byte;
            }
            let parsed = EventId::parse_ascii(&bytes).map(EventId::as_u128);
            prop_assert_eq!(parsed, model_parse(&bytes));
        }

        /// Any id reads back from its text, dashed, bare or upper case; a text with one
        /// byte that is not a hex digit (in place of a digit) is refused.
        #[test]
        fn ids_read_back_and_bad_digits_are_refused(raw in any::<u128>(), at in 0usize..32, bad in any::<u8>()) {
            let id = EventId::from_u128(raw);
            let text = id.to_string();
            prop_assert_eq!(text.parse::<EventId>().unwrap(), id);
            prop_assert_eq!(text.to_uppercase().parse::<EventId>().unwrap(), id);
            let bare = format!("{raw:032x}");
            prop_assert_eq!(bare.parse::<EventId>().unwrap(), id);
            let mut broken = bare.into_bytes();
            broken[at] = bad;
            let is_digit = bad.is_ascii_hexdigit();
            match std::str::from_utf8(&broken) {
                Ok(text) => prop_assert_eq!(text.parse::<EventId>().is_ok(), is_digit),
                Err(_) => prop_assert!(!is_digit),
            }
        }
    }
}
