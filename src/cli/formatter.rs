//! The console consumer's `--formatter`s: Kafka's `DefaultMessageFormatter` with its
//! `--property` settings and deserializers, `LoggingMessageFormatter`,
//! `NoOpMessageFormatter`, and the internal topics' `OffsetsMessageFormatter`,
//! `GroupMetadataMessageFormatter` and `TransactionLogMessageFormatter`.

use kafkalite::{RecordView, TimestampType};

use super::internal_records;

/// Which formatter prints records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Default,
    Logging,
    NoOp,
    Offsets,
    GroupMetadata,
    TransactionLog,
}

/// How `print.key`-style values are turned into text (Kafka's `Deserializer`s; without one,
/// the bytes as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deserializer {
    Bytes,
    Text,
    Long,
    Integer,
    Short,
    Double,
    Float,
    Uuid,
}

impl Deserializer {
    /// A Kafka deserializer class name (full, or its simple name).
    fn named(class: &str) -> Result<Deserializer, String> {
        let simple = class.rsplit('.').next().unwrap_or(class);
        Ok(match simple {
            "StringDeserializer" => Deserializer::Text,
            "ByteArrayDeserializer" | "BytesDeserializer" | "ByteBufferDeserializer" => {
                Deserializer::Bytes
            }
            "LongDeserializer" => Deserializer::Long,
            "IntegerDeserializer" => Deserializer::Integer,
            "ShortDeserializer" => Deserializer::Short,
            "DoubleDeserializer" => Deserializer::Double,
            "FloatDeserializer" => Deserializer::Float,
            "UUIDDeserializer" => Deserializer::Uuid,
            _ => {
                return Err(format!(
                    "deserializer '{class}' is not one kafkalite knows: String, ByteArray, Bytes, \
                     ByteBuffer, Long, Integer, Short, Double, Float or UUID (Deserializer)"
                ))
            }
        })
    }

    fn apply(self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let fixed = |n: usize, name: &str| -> Result<&[u8], String> {
            if bytes.len() == n {
                Ok(bytes)
            } else {
                Err(format!(
                    "Size of data received by {name}Deserializer is not {n}"
                ))
            }
        };
        Ok(match self {
            Deserializer::Bytes => bytes.to_vec(),
            Deserializer::Long => {
                i64::from_be_bytes(fixed(8, "Long")?.try_into().unwrap_or_default())
                    .to_string()
                    .into_bytes()
            }
            Deserializer::Integer => {
                i32::from_be_bytes(fixed(4, "Integer")?.try_into().unwrap_or_default())
                    .to_string()
                    .into_bytes()
            }
            Deserializer::Short => {
                i16::from_be_bytes(fixed(2, "Short")?.try_into().unwrap_or_default())
                    .to_string()
                    .into_bytes()
            }
            Deserializer::Double => java_double(f64::from_be_bytes(
                fixed(8, "Double")?.try_into().unwrap_or_default(),
            ))
            .into_bytes(),
            Deserializer::Float => java_float(f32::from_be_bytes(
                fixed(4, "Float")?.try_into().unwrap_or_default(),
            ))
            .into_bytes(),
            Deserializer::Text => String::from_utf8_lossy(bytes).into_owned().into_bytes(),
            Deserializer::Uuid => bytes.to_vec(),
        })
    }
}

/// `Double.toString`.
fn java_double(v: f64) -> String {
    java_decimal(
        v.is_nan(),
        v.is_infinite(),
        v.abs(),
        &v.to_string(),
        &format!("{v:e}"),
    )
}

/// `Float.toString`.
fn java_float(v: f32) -> String {
    let abs = f64::from(v.abs());
    java_decimal(
        v.is_nan(),
        v.is_infinite(),
        abs,
        &v.to_string(),
        &format!("{v:e}"),
    )
}

/// A float or double as Java's `Float.toString`/`Double.toString` prints it, from Rust's
/// shortest round-trip text of the value (`plain`, `{}`) and its exponent form (`exp`,
/// `{:e}`), both of which have the digits Java's shortest-digit conversion picks: plain
/// with at least one decimal from 10^-3 up to 10^7, else `d.dddE±n`.
fn java_decimal(nan: bool, infinite: bool, abs: f64, plain: &str, exp: &str) -> String {
    let with_decimal = |digits: &str| {
        if digits.contains('.') {
            digits.to_string()
        } else {
            format!("{digits}.0")
        }
    };
    if nan {
        "NaN".into()
    } else if infinite {
        if plain.starts_with('-') {
            "-Infinity"
        } else {
            "Infinity"
        }
        .into()
    } else if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        with_decimal(plain)
    } else {
        let (mantissa, exponent) = exp.split_once('e').unwrap_or((exp, "0"));
        format!("{}E{exponent}", with_decimal(mantissa))
    }
}

/// Kafka's console-consumer formatter, as `--formatter`, `--formatter-config` and
/// `--property` set it.
pub struct Formatter {
    kind: Kind,
    timestamp: bool,
    partition: bool,
    offset: bool,
    delivery: bool,
    epoch: bool,
    headers: bool,
    key: bool,
    value: bool,
    separator: Vec<u8>,
    line_separator: Vec<u8>,
    headers_separator: Vec<u8>,
    null_literal: Vec<u8>,
    key_deserializer: Option<Deserializer>,
    value_deserializer: Option<Deserializer>,
    headers_deserializer: Option<Deserializer>,
}

impl Formatter {
    /// The formatter of class `class` (Kafka's `org.apache.kafka.tools.consumer.` names, the
    /// pre-4.0 `kafka.tools.`/`kafka.coordinator.` ones, or simple names) configured by
    /// `properties` (later settings win).
    pub fn new(class: &str, properties: &[(String, String)]) -> Result<Formatter, String> {
        let simple = class.rsplit(['.', '$']).next().unwrap_or(class);
        let kind = match simple {
            "DefaultMessageFormatter" => Kind::Default,
            "LoggingMessageFormatter" => Kind::Logging,
            "NoOpMessageFormatter" => Kind::NoOp,
            "OffsetsMessageFormatter" => Kind::Offsets,
            "GroupMetadataMessageFormatter" => Kind::GroupMetadata,
            "TransactionLogMessageFormatter" => Kind::TransactionLog,
            _ => {
                return Err(format!(
                    "--formatter '{class}' is not one of Kafka's: DefaultMessageFormatter, \
                     LoggingMessageFormatter, NoOpMessageFormatter, OffsetsMessageFormatter, \
                     GroupMetadataMessageFormatter, TransactionLogMessageFormatter"
                ))
            }
        };
        let mut f = Formatter {
            kind,
            timestamp: false,
            partition: false,
            offset: false,
            delivery: false,
            epoch: false,
            headers: false,
            key: false,
            value: true,
            separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
            key_deserializer: None,
            value_deserializer: None,
            headers_deserializer: None,
        };
        for (key, value) in properties {
            f.set(key, value)?;
        }
        Ok(f)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        // Kafka's `getBoolProperty`: trimmed, case-insensitive "true".
        let on = value.trim().eq_ignore_ascii_case("true");
        match key {
            "print.timestamp" => self.timestamp = on,
            "print.partition" => self.partition = on,
            "print.offset" => self.offset = on,
            "print.delivery" => self.delivery = on,
            "print.epoch" => self.epoch = on,
            "print.headers" => self.headers = on,
            "print.key" => self.key = on,
            "print.value" => self.value = on,
            "key.separator" => self.separator = value.as_bytes().to_vec(),
            "line.separator" => self.line_separator = value.as_bytes().to_vec(),
            "headers.separator" => self.headers_separator = value.as_bytes().to_vec(),
            "null.literal" => self.null_literal = value.as_bytes().to_vec(),
            "key.deserializer" => self.key_deserializer = Some(Deserializer::named(value)?),
            "value.deserializer" => self.value_deserializer = Some(Deserializer::named(value)?),
            "headers.deserializer" | "header.deserializer" => {
                self.headers_deserializer = Some(Deserializer::named(value)?)
            }
            // A deserializer's own settings (`key.deserializer.encoding`, ...).
            other
                if other.starts_with("key.deserializer.")
                    || other.starts_with("value.deserializer.")
                    || other.starts_with("headers.deserializer.") => {}
            other => return Err(format!("unknown --property '{other}'")),
        }
        Ok(())
    }

    /// `bytes` through `deserializer`, or the null literal.
    fn field(
        &self,
        bytes: Option<&[u8]>,
        deserializer: Option<Deserializer>,
    ) -> Result<Vec<u8>, String> {
        // As Kafka's: a null becomes the null literal, which a deserializer then reads.
        let bytes = bytes.unwrap_or(&self.null_literal);
        match deserializer {
            None => Ok(bytes.to_vec()),
            Some(d) => d.apply(bytes),
        }
    }

    /// The bytes `record` prints as; a value a deserializer refuses is an error.
    pub fn format(&self, record: &RecordView<'_>) -> Result<Vec<u8>, String> {
        match self.kind {
            Kind::NoOp => Ok(Vec::new()),
            Kind::Offsets => Ok(
                internal_records::offsets_message(record.key(), record.value())
                    .unwrap_or_default()
                    .into_bytes(),
            ),
            // kafkalite writes no group-metadata records: every record is skipped, as
            // Kafka's formatter skips offset commits.
            Kind::GroupMetadata => Ok(Vec::new()),
            Kind::TransactionLog => Ok(internal_records::transaction_log_message(
                record.key(),
                record.value(),
            )
            .unwrap_or_default()
            .into_bytes()),
            Kind::Default | Kind::Logging => {
                let line = self.default_format(record)?;
                if self.kind == Kind::Logging {
                    self.log(record);
                }
                Ok(line)
            }
        }
    }

    /// `LoggingMessageFormatter`'s log line, at INFO as Kafka's (shown with `RUST_LOG=info`).
    fn log(&self, record: &RecordView<'_>) {
        let timestamp = format!("{}:{}, ", timestamp_type(record), record.timestamp());
        let key = record.key().map_or("null ".to_string(), |k| {
            format!("{}, ", String::from_utf8_lossy(k))
        });
        let value = record
            .value()
            .map_or("null".into(), |v| String::from_utf8_lossy(v).into_owned());
        tracing::info!("{timestamp}key:{key}value:{value}");
    }

    /// `DefaultMessageFormatter.writeTo`: the enabled fields in Kafka's order, each followed
    /// by the key separator, the last by the line separator.
    fn default_format(&self, record: &RecordView<'_>) -> Result<Vec<u8>, String> {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        if self.timestamp {
            fields.push(format!("{}:{}", timestamp_type(record), record.timestamp()).into_bytes());
        }
        if self.partition {
            fields.push(format!("Partition:{}", record.partition()).into_bytes());
        }
        if self.offset {
            fields.push(format!("Offset:{}", record.offset()).into_bytes());
        }
        if self.delivery {
            // Share groups' delivery count: never present for a consumer group.
            fields.push(b"Delivery:NOT_PRESENT".to_vec());
        }
        if self.epoch {
            // Kafka's console consumer rebuilds each record without its leader epoch.
            fields.push(b"Epoch:NOT_PRESENT".to_vec());
        }
        if self.headers {
            let mut text = Vec::new();
            for (i, h) in record.headers().enumerate() {
                if i > 0 {
                    text.extend_from_slice(&self.headers_separator);
                }
                text.extend_from_slice(h.key);
                text.push(b':');
                text.extend(self.field(h.value, self.headers_deserializer)?);
            }
            fields.push(if text.is_empty() {
                b"NO_HEADERS".to_vec()
            } else {
                text
            });
        }
        if self.key {
            fields.push(self.field(record.key(), self.key_deserializer)?);
        }
        if self.value {
            fields.push(self.field(record.value(), self.value_deserializer)?);
        }
        let mut line = Vec::new();
        let count = fields.len();
        for (i, field) in fields.into_iter().enumerate() {
            line.extend(field);
            line.extend_from_slice(if i + 1 < count {
                &self.separator
            } else {
                &self.line_separator
            });
        }
        Ok(line)
    }
}

fn timestamp_type(record: &RecordView<'_>) -> &'static str {
    match record.timestamp_type() {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java's `Double.toString`/`Float.toString` (JDK 21, printed by a JVM): 1.0, 0.1,
    /// 1.0E7, 1.0E-4, 123.456, -0.0, 1.7976931348623157E308, 0.001, 9999999.0, NaN,
    /// -Infinity; floats 0.1, 1.0E10, 3.4028235E38.
    #[test]
    fn decimals_print_as_java_prints_them() {
        let doubles = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e7, "1.0E7"),
            (1e-4, "1.0E-4"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (f64::MAX, "1.7976931348623157E308"),
            (0.001, "0.001"),
            (9_999_999.0, "9999999.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, java) in doubles {
            assert_eq!(java_double(value), java, "{value}");
        }
        for (value, java) in [
            (0.1f32, "0.1"),
            (1e10f32, "1.0E10"),
            (f32::MAX, "3.4028235E38"),
        ] {
            assert_eq!(java_float(value), java, "{value}");
        }
    }
}
