//! The records of `__transaction_state` in Kafka's schemas (`TransactionLogKey` v0,
//! `TransactionLogValue` v0, both version-prefixed as Kafka's `MessageUtil` writes them), so
//! that Kafka's tools read the topic: one record per state change of a transactional id, the
//! latest one wins, a null value (a tombstone) forgets the id.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// The topic's name.
pub(crate) const STATE_TOPIC: &str = "__transaction_state";
/// The longest string Kafka's non-flexible schemas hold (the length is an `i16`).
pub(crate) const STRING_MAX_BYTES: usize = 32_767;

/// Kafka's `TransactionState`, with the ids its records store (`TransactionStatus int8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransactionState {
    /// No transaction open: after `init_transactions`, or an id with nothing written yet.
    Empty,
    /// Partitions (or a group's offsets) have been added: data may be written.
    Ongoing,
    /// Commit decided; COMMIT markers are being written.
    PrepareCommit,
    /// Abort decided; ABORT markers are being written.
    PrepareAbort,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted.
    CompleteAbort,
    /// The id is being removed.
    Dead,
    /// The epoch was bumped to fence an older producer; its open transaction is aborting.
    PrepareEpochFence,
}

impl TransactionState {
    /// The id Kafka stores for the state.
    pub fn id(self) -> i8 {
        match self {
            TransactionState::Empty => 0,
            TransactionState::Ongoing => 1,
            TransactionState::PrepareCommit => 2,
            TransactionState::PrepareAbort => 3,
            TransactionState::CompleteCommit => 4,
            TransactionState::CompleteAbort => 5,
            TransactionState::Dead => 6,
            TransactionState::PrepareEpochFence => 7,
        }
    }

    fn from_id(id: i8) -> Option<TransactionState> {
        Some(match id {
            0 => TransactionState::Empty,
            1 => TransactionState::Ongoing,
            2 => TransactionState::PrepareCommit,
            3 => TransactionState::PrepareAbort,
            4 => TransactionState::CompleteCommit,
            5 => TransactionState::CompleteAbort,
            6 => TransactionState::Dead,
            7 => TransactionState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// Kafka's name, as `kafka-transactions.sh` prints it.
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Empty => "Empty",
            TransactionState::Ongoing => "Ongoing",
            TransactionState::PrepareCommit => "PrepareCommit",
            TransactionState::PrepareAbort => "PrepareAbort",
            TransactionState::CompleteCommit => "CompleteCommit",
            TransactionState::CompleteAbort => "CompleteAbort",
            TransactionState::Dead => "Dead",
            TransactionState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

impl std::fmt::Display for TransactionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One transactional id's state, as a `TransactionLogValue` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnMetadata {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) timeout_ms: i32,
    pub(crate) state: TransactionState,
    /// The partitions of the open (or completing) transaction.
    pub(crate) partitions: BTreeSet<(String, i32)>,
    pub(crate) last_update_ms: i64,
    /// When the first partition was added; −1 with no transaction open.
    pub(crate) start_ms: i64,
}

/// Writes `s` after its length as an `i16`.
fn put_string(out: &mut Vec<u8>, s: &str, what: &str) -> Result<()> {
    let len = i16::try_from(s.len()).map_err(|_| Error::InvalidConfig {
        key: "transactional.id".into(),
        message: format!(
            "the {what} is {} bytes long, more than the {STRING_MAX_BYTES} bytes a Kafka \
                 string field holds",
            s.len()
        ),
        suggestion: None,
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The record key for `transactional_id`: version 0, then the id.
pub(crate) fn encode_key(transactional_id: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(4 + transactional_id.len());
    out.extend_from_slice(&0i16.to_be_bytes());
    put_string(&mut out, transactional_id, "transactional id")?;
    Ok(out)
}

/// The record value for `meta`: version 0. An `Empty` state stores no partition list (null),
/// as Kafka's `TransactionLog.valueToBytes` does.
pub(crate) fn encode_value(meta: &TxnMetadata) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(40);
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&meta.producer_id.to_be_bytes());
    out.extend_from_slice(&meta.epoch.to_be_bytes());
    out.extend_from_slice(&meta.timeout_ms.to_be_bytes());
    out.extend_from_slice(&meta.state.id().to_be_bytes());
    if meta.state == TransactionState::Empty {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    } else {
        let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
        for (topic, partition) in &meta.partitions {
            match topics.last_mut() {
                Some((last, ids)) if *last == topic.as_str() => ids.push(*partition),
                _ => topics.push((topic, vec![*partition])),
            }
        }
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX).to_be_bytes();
        out.extend_from_slice(&count(topics.len()));
        for (topic, ids) in topics {
            put_string(&mut out, topic, "topic name")?;
            out.extend_from_slice(&count(ids.len()));
            for id in ids {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
    out.extend_from_slice(&meta.last_update_ms.to_be_bytes());
    out.extend_from_slice(&meta.start_ms.to_be_bytes());
    Ok(out)
}

/// Reads big-endian fields off the front of a record.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(i16::from_be_bytes(self.take()?)).ok()?;
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }
}

/// The transactional id of a key, or `None` if it is not a version-0 key.
pub(crate) fn decode_key(key: &[u8]) -> Option<String> {
    let mut r = Reader(key);
    if i16::from_be_bytes(r.take()?) != 0 {
        return None;
    }
    r.string()
}

/// The value of a `__transaction_state` record (`TransactionLogValue`, version 0), for
/// tools that print the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionLogValue {
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// The transaction's state.
    pub state: TransactionState,
    /// Its partitions, by topic; `None` for Kafka's null list (an `Empty` state).
    pub partitions: Option<Vec<(String, Vec<i32>)>>,
    /// When the state last changed, in epoch milliseconds.
    pub last_update_ms: i64,
    /// When the transaction started, in epoch milliseconds.
    pub start_ms: i64,
}

/// Decodes the key of a `__transaction_state` record: its transactional id, or `None` when
/// it is malformed or not of version 0.
pub fn decode_transaction_log_key(key: &[u8]) -> Option<String> {
    decode_key(key)
}

/// Decodes the value of a `__transaction_state` record; `None` when it is malformed or not
/// of version 0 (version 1 is flexible, with compact strings and arrays, and not written by
/// kafkalite).
pub fn decode_transaction_log_value(value: &[u8]) -> Option<TransactionLogValue> {
    let mut r = Reader(value);
    if i16::from_be_bytes(r.take()?) != 0 {
        return None;
    }
    let producer_id = i64::from_be_bytes(r.take()?);
    let producer_epoch = i16::from_be_bytes(r.take()?);
    let timeout_ms = i32::from_be_bytes(r.take()?);
    let state = TransactionState::from_id(i8::from_be_bytes(r.take()?))?;
    let topics = i32::from_be_bytes(r.take()?);
    let partitions = if topics < 0 {
        None
    } else {
        let mut list = Vec::new();
        for _ in 0..topics {
            let topic = r.string()?;
            let ids = i32::from_be_bytes(r.take()?);
            let mut partitions = Vec::new();
            for _ in 0..ids.max(0) {
                partitions.push(i32::from_be_bytes(r.take()?));
            }
            list.push((topic, partitions));
        }
        Some(list)
    };
    Some(TransactionLogValue {
        producer_id,
        producer_epoch,
        timeout_ms,
        state,
        partitions,
        last_update_ms: i64::from_be_bytes(r.take()?),
        start_ms: i64::from_be_bytes(r.take()?),
    })
}

/// A value as the coordinator keeps it.
pub(crate) fn decode_value(value: &[u8]) -> Option<TxnMetadata> {
    let value = decode_transaction_log_value(value)?;
    let partitions = value
        .partitions
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(topic, ids)| ids.into_iter().map(move |id| (topic.clone(), id)))
        .collect();
    Some(TxnMetadata {
        producer_id: value.producer_id,
        epoch: value.producer_epoch,
        timeout_ms: value.timeout_ms,
        state: value.state,
        partitions,
        last_update_ms: value.last_update_ms,
        start_ms: value.start_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte layout, field by field, from `TransactionLogKey.json` and
    /// `TransactionLogValue.json` (version 0: `int16` string lengths, `int32` array counts,
    /// `-1` for a null array).
    #[test]
    fn keys_and_values_use_kafkas_schemas() {
        assert_eq!(encode_key("tx").unwrap(), [0, 0, 0, 2, b't', b'x']);
        let meta = TxnMetadata {
            producer_id: 0x0102,
            epoch: 3,
            timeout_ms: 60_000,
            state: TransactionState::Ongoing,
            partitions: [("a".into(), 0), ("a".into(), 2), ("b".into(), 1)].into(),
            last_update_ms: 7,
            start_ms: 5,
        };
        let mut want = vec![0, 0]; // version
        want.extend_from_slice(&0x0102i64.to_be_bytes());
        want.extend_from_slice(&3i16.to_be_bytes());
        want.extend_from_slice(&60_000i32.to_be_bytes());
        want.push(1); // Ongoing
        want.extend_from_slice(&2i32.to_be_bytes()); // two topics
        want.extend_from_slice(&[0, 1, b'a', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        want.extend_from_slice(&[0, 1, b'b', 0, 0, 0, 1, 0, 0, 0, 1]);
        want.extend_from_slice(&7i64.to_be_bytes());
        want.extend_from_slice(&5i64.to_be_bytes());
        let bytes = encode_value(&meta).unwrap();
        assert_eq!(bytes, want);
        assert_eq!(decode_value(&bytes), Some(meta.clone()));

        let empty = TxnMetadata {
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            ..meta
        };
        let bytes = encode_value(&empty).unwrap();
        assert_eq!(
            &bytes[17..21],
            &(-1i32).to_be_bytes(),
            "a null partition list"
        );
        assert_eq!(decode_value(&bytes), Some(empty));
        assert_eq!(
            decode_key(&encode_key("tx").unwrap()).as_deref(),
            Some("tx")
        );
    }

    #[test]
    fn truncated_or_unknown_values_do_not_decode() {
        let meta = TxnMetadata {
            producer_id: 1,
            epoch: 0,
            timeout_ms: 1,
            state: TransactionState::CompleteCommit,
            partitions: BTreeSet::new(),
            last_update_ms: 1,
            start_ms: 1,
        };
        let bytes = encode_value(&meta).unwrap();
        for cut in 0..bytes.len() {
            assert_eq!(decode_value(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut bad_state = bytes.clone();
        bad_state[16] = 9;
        assert_eq!(decode_value(&bad_state), None);
        assert_eq!(decode_key(&[0, 1, 0, 0]), None, "key version 1");
    }
}
