//! The values of record-format settings (`compression.type`, `message.timestamp.type`) and of
//! the batch attributes that carry them. Plain enums at the bottom layer, so that typed
//! configurations can name them without depending on the record codec above.

use crate::error::{Error, Result};

/// The codec in bits 0-2 of a batch's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Records stored as they are.
    #[default]
    None,
    /// Codec 1 (read and write unsupported).
    Gzip,
    /// Codec 2 (read and write unsupported).
    Snappy,
    /// Codec 3: the LZ4 frame format with Kafka's settings (64 KiB independent blocks, no checksums).
    Lz4,
    /// Codec 4 (read and write unsupported).
    Zstd,
}

impl Compression {
    /// The codec for attribute bits 0-2, or an error naming the unknown number.
    pub fn from_id(id: u8) -> Result<Compression> {
        Ok(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => return Err(Error::UnsupportedCompressionType(format!("id {other}"))),
        })
    }

    /// The value of attribute bits 0-2.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name (`none`, `gzip`, `snappy`, `lz4`, `zstd`), as `compresscodec` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Which clock a batch's timestamps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer.
    #[default]
    CreateTime,
    /// Set by the log when the batch was appended (the batch's `maxTimestamp`).
    LogAppendTime,
}

impl TimestampType {
    /// Kafka's spelling, as `kafka-dump-log` prints it.
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}
