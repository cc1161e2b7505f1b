//! One record inside a batch: zero-copy key, value and headers.

use super::varint::{read_varint, read_varlong};
use crate::error::{Error, Result};

/// A decoded record. Key, value and header bytes borrow the batch (or its decompressed
/// section); nothing is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Absolute offset (`baseOffset + offsetDelta`).
    pub offset: i64,
    /// Offset minus the batch's base offset.
    pub offset_delta: i32,
    /// Timestamp in epoch milliseconds (the batch's append time under LogAppendTime).
    pub timestamp: i64,
    /// The record's own attributes byte (unused by Kafka, always 0 when written).
    pub attributes: i8,
    /// The key, `None` for a null key.
    pub key: Option<&'a [u8]>,
    /// The value, `None` for a null value (a tombstone on compacted topics).
    pub value: Option<&'a [u8]>,
    headers: HeaderIter<'a>,
}

impl<'a> Record<'a> {
    /// The headers, in the order they were written; keys may repeat.
    pub fn headers(&self) -> HeaderIter<'a> {
        self.headers
    }
}

/// One header: a UTF-8 key (stored bytes, not validated) and a nullable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Header key bytes.
    pub key: &'a [u8],
    /// Header value, `None` for null.
    pub value: Option<&'a [u8]>,
}

/// Iterates a record's headers. Created only after the headers were validated, so it never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderIter<'a> {
    buf: &'a [u8],
    remaining: i32,
}

impl<'a> HeaderIter<'a> {
    /// Number of headers not yet yielded.
    pub fn len(&self) -> usize {
        self.remaining as usize
    }
    /// Whether no headers remain.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        if self.remaining <= 0 {
            return None;
        }
        let mut cursor = Cursor::new(self.buf);
        let key = cursor.bytes().ok()??;
        let value = cursor.bytes().ok()?;
        self.buf = cursor.rest();
        self.remaining -= 1;
        Some(Header { key, value })
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }
    fn rest(&self) -> &'a [u8] {
        self.buf
    }
    fn varint(&mut self, field: &str) -> Result<i32> {
        let (value, used) = read_varint(self.buf)
            .ok_or_else(|| Error::CorruptRecord(format!("bad or truncated varint in {field}")))?;
        self.buf = &self.buf[used..];
        Ok(value)
    }
    fn varlong(&mut self, field: &str) -> Result<i64> {
        let (value, used) = read_varlong(self.buf)
            .ok_or_else(|| Error::CorruptRecord(format!("bad or truncated varlong in {field}")))?;
        self.buf = &self.buf[used..];
        Ok(value)
    }
    fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8]> {
        if len > self.buf.len() {
            return Err(Error::CorruptRecord(format!(
                "{field} of {len} bytes runs past the end of its record"
            )));
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }
    /// A varint length then that many bytes; −1 means null.
    fn bytes(&mut self) -> Result<Option<&'a [u8]>> {
        match self.varint("length")? {
            -1 => Ok(None),
            len if len < 0 => Err(Error::CorruptRecord(format!("negative length {len}"))),
            len => self.take(len as usize, "field").map(Some),
        }
    }
}

/// Iterates the records of one batch's (decompressed) records section.
#[derive(Debug)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    remaining: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    failed: bool,
}

impl<'a> RecordIter<'a> {
    pub(crate) fn new(
        buf: &'a [u8],
        count: i32,
        base_offset: i64,
        base_timestamp: i64,
        log_append_time: Option<i64>,
    ) -> Self {
        RecordIter {
            buf,
            remaining: count,
            base_offset,
            base_timestamp,
            log_append_time,
            failed: false,
        }
    }

    fn decode_one(&mut self) -> Result<Record<'a>> {
        let mut outer = Cursor::new(self.buf);
        let length = outer.varint("record length")?;
        if length < 0 {
            return Err(Error::CorruptRecord(format!(
                "negative record length {length}"
            )));
        }
        let body = outer.take(length as usize, "record")?;
        self.buf = outer.rest();
        let mut cursor = Cursor::new(body);
        let attributes = cursor.take(1, "record attributes")?[0] as i8;
        let timestamp_delta = cursor.varlong("timestamp delta")?;
        let offset_delta = cursor.varint("offset delta")?;
        let key = cursor.bytes()?;
        let value = cursor.bytes()?;
        let header_count = cursor.varint("header count")?;
        if header_count < 0 {
            return Err(Error::CorruptRecord(format!(
                "negative header count {header_count}"
            )));
        }
        let headers_start = cursor.rest();
        for _ in 0..header_count {
            if cursor.bytes()?.is_none() {
                return Err(Error::CorruptRecord("null header key".into()));
            }
            cursor.bytes()?;
        }
        if !cursor.rest().is_empty() {
            return Err(Error::CorruptRecord(format!(
                "{} bytes left over at the end of a record",
                cursor.rest().len()
            )));
        }
        let timestamp = self
            .log_append_time
            .unwrap_or_else(|| self.base_timestamp.wrapping_add(timestamp_delta));
        Ok(Record {
            offset: self.base_offset.wrapping_add(offset_delta as i64),
            offset_delta,
            timestamp,
            attributes,
            key,
            value,
            headers: HeaderIter {
                buf: headers_start,
                remaining: header_count,
            },
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.remaining <= 0 {
            if self.buf.is_empty() {
                return None;
            }
            self.failed = true;
            return Some(Err(Error::CorruptRecord(format!(
                "{} bytes follow the last record the batch header counts",
                self.buf.len()
            ))));
        }
        if self.buf.is_empty() {
            self.failed = true;
            return Some(Err(Error::CorruptRecord(format!(
                "batch ends {} records short of its record count",
                self.remaining
            ))));
        }
        self.remaining -= 1;
        let item = self.decode_one();
        self.failed = item.is_err();
        Some(item)
    }
}
