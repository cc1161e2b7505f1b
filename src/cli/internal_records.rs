//! Kafka's renderings of the internal topics' records: the JSON of the console consumer's
//! `OffsetsMessageFormatter` and `TransactionLogMessageFormatter` (`ApiMessageFormatter`),
//! and the key and payload text of kafka-dump-log's `--offsets-decoder` and
//! `--transaction-log-decoder`.

use std::fmt::Write as _;

use kafkalite::internal_topics::{
    decode_offset_commit_value, decode_offsets_key, decode_transaction_log_key,
    decode_transaction_log_value, OffsetCommitValue, OffsetsTopicKey, TransactionLogValue,
};

/// `text` as a JSON string.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Jackson's escapes: upper-case hex.
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `data` object of an offset-commit key.
fn offset_key_data(group: &str, topic: &str, partition: i32) -> String {
    format!(
        "{{\"group\":{},\"topic\":{},\"partition\":{partition}}}",
        json_string(group),
        json_string(topic)
    )
}

/// The `data` object of an offset-commit value, its fields as its version has them.
fn offset_value_data(value: &OffsetCommitValue) -> String {
    let mut data = format!("{{\"offset\":{}", value.offset);
    if let Some(epoch) = value.leader_epoch {
        let _ = write!(data, ",\"leaderEpoch\":{epoch}");
    }
    let _ = write!(
        data,
        ",\"metadata\":{},\"commitTimestamp\":{}",
        json_string(&value.metadata),
        value.commit_timestamp
    );
    if let Some(expire) = value.expire_timestamp {
        let _ = write!(data, ",\"expireTimestamp\":{expire}");
    }
    data.push('}');
    data
}

/// The `data` object of a transaction-log value.
fn transaction_value_data(value: &TransactionLogValue) -> String {
    let partitions = value
        .partitions
        .as_ref()
        .map_or("null".to_string(), |list| {
            let topics: Vec<String> = list
                .iter()
                .map(|(topic, ids)| {
                    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
                    format!(
                        "{{\"topic\":{},\"partitionIds\":[{}]}}",
                        json_string(topic),
                        ids.join(",")
                    )
                })
                .collect();
            format!("[{}]", topics.join(","))
        });
    format!(
        "{{\"producerId\":{},\"producerEpoch\":{},\"transactionTimeoutMs\":{},\"transactionStatus\":{},\"transactionPartitions\":{partitions},\"transactionLastUpdateTimestampMs\":{},\"transactionStartTimestampMs\":{}}}",
        value.producer_id,
        value.producer_epoch,
        value.timeout_ms,
        value.state.id(),
        value.last_update_ms,
        value.start_ms
    )
}

/// The version prefix of a record key or value.
fn version(bytes: &[u8]) -> Option<i16> {
    Some(i16::from_be_bytes(bytes.get(..2)?.try_into().ok()?))
}

/// `{"version":N,"data":…}`, `"data":"unknown"` when the bytes do not decode.
fn versioned(bytes: &[u8], data: Option<String>) -> String {
    format!(
        "{{\"version\":{},\"data\":{}}}",
        version(bytes).unwrap_or(-1),
        data.unwrap_or_else(|| "\"unknown\"".into())
    )
}

/// `ApiMessageFormatter`'s object: `{"key":…,"value":…}`, each `{"version":N,"data":…}`
/// (`"unknown"` data where the bytes do not decode; a null value is `null`).
fn api_message(
    key: &[u8],
    key_data: Option<String>,
    value: Option<(&[u8], Option<String>)>,
) -> String {
    let value = value.map_or("null".to_string(), |(bytes, data)| versioned(bytes, data));
    format!("{{\"key\":{},\"value\":{value}}}", versioned(key, key_data))
}

/// The console consumer's `OffsetsMessageFormatter`: one JSON object, no newline (as
/// Kafka's); `None` (nothing printed) for records that are not offset commits.
pub fn offsets_message(key: Option<&[u8]>, value: Option<&[u8]>) -> Option<String> {
    let key = key?;
    let data = match decode_offsets_key(key) {
        Some(OffsetsTopicKey::OffsetCommit {
            group,
            topic,
            partition,
            ..
        }) => Some(offset_key_data(&group, &topic, partition)),
        Some(OffsetsTopicKey::GroupMetadata { .. }) => return None,
        _ => None,
    };
    let value = value.map(|v| {
        (
            v,
            decode_offset_commit_value(v).map(|v| offset_value_data(&v)),
        )
    });
    Some(api_message(key, data, value))
}

/// The console consumer's `TransactionLogMessageFormatter`: one JSON object, no newline.
pub fn transaction_log_message(key: Option<&[u8]>, value: Option<&[u8]>) -> Option<String> {
    let key = key?;
    let data = decode_transaction_log_key(key)
        .map(|id| format!("{{\"transactionalId\":{}}}", json_string(&id)));
    let value = value.map(|v| {
        (
            v,
            decode_transaction_log_value(v).map(|v| transaction_value_data(&v)),
        )
    });
    Some(api_message(key, data, value))
}

/// kafka-dump-log's `--offsets-decoder`: ` key: … payload: …` after a record's line, the
/// key's version under `"type"` and both versions as strings, as Kafka's
/// `OffsetsMessageParser` prints them.
pub fn offsets_decoded(offset: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> String {
    let Some(key) = key else {
        return format!(
            " Failed to decode message at offset {offset} using offset topic decoder (message had a missing key)"
        );
    };
    let (data, commit) = match decode_offsets_key(key) {
        Some(OffsetsTopicKey::OffsetCommit {
            group,
            topic,
            partition,
            ..
        }) => (offset_key_data(&group, &topic, partition), true),
        // A group's metadata (never written by kafkalite): its value is not decoded.
        Some(OffsetsTopicKey::GroupMetadata { group }) => {
            (format!("{{\"group\":{}}}", json_string(&group)), false)
        }
        Some(_) => {
            let version = version(key).unwrap_or(-1);
            return format!(" key: Unknown record type {version} at offset {offset}, skipping.");
        }
        None => return format!(" key: Error at offset {offset}, skipping. malformed key"),
    };
    let key = format!(
        "{{\"type\":\"{}\",\"data\":{data}}}",
        version(key).unwrap_or(-1)
    );
    let payload = match value {
        None => "<DELETE>".to_string(),
        Some(v) if !commit => format!(
            "{{\"version\":\"{}\",\"data\":\"unknown\"}}",
            version(v).unwrap_or(-1)
        ),
        Some(v) => match decode_offset_commit_value(v) {
            Some(decoded) => format!(
                "{{\"version\":\"{}\",\"data\":{}}}",
                decoded.version,
                offset_value_data(&decoded)
            ),
            None => format!("Error at offset {offset}, skipping. malformed value"),
        },
    };
    format!(" key: {key} payload: {payload}")
}

/// kafka-dump-log's `--transaction-log-decoder`: Kafka's `TransactionLog` text form.
pub fn transaction_log_decoded(key: Option<&[u8]>, value: Option<&[u8]>) -> String {
    let Some(id) = key.and_then(decode_transaction_log_key) else {
        let version = key.and_then(version).unwrap_or(-1);
        return format!(" key: unknown::version={version}");
    };
    let payload = match value {
        None => "<DELETE>".to_string(),
        Some(v) => match decode_transaction_log_value(v) {
            Some(v) => {
                let partitions: Vec<String> = v
                    .partitions
                    .iter()
                    .flatten()
                    .flat_map(|(topic, ids)| ids.iter().map(move |p| format!("{topic}-{p}")))
                    .collect();
                format!(
                    "producerId:{},producerEpoch:{},state={},partitions=[{}],txnLastUpdateTimestamp={},txnTimeoutMs={}",
                    v.producer_id,
                    v.producer_epoch,
                    v.state,
                    partitions.join(","),
                    v.last_update_ms,
                    v.timeout_ms
                )
            }
            None => "unknown".to_string(),
        },
    };
    format!(" key: transaction_metadata::transactionalId={id} payload: {payload}")
}
