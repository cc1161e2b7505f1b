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
    /// The record `raw` (read by [`next_validated`]) of the batch whose base offset is
    /// `base_offset`, at `timestamp` (see `Records::timestamp_of`).
    pub(crate) fn from_raw(raw: RawRecord<'a>, base_offset: i64, timestamp: i64) -> Record<'a> {
        Record {
            offset: base_offset.wrapping_add(i64::from(raw.offset_delta)),
            offset_delta: raw.offset_delta,
            timestamp,
            attributes: raw.attributes,
            key: raw.key,
            value: raw.value,
            headers: HeaderIter::counted(raw.headers),
        }
    }

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
    /// The headers of a record's tail as stored: the header count, then the headers (read
    /// only when asked for). A malformed count yields no headers.
    pub(crate) fn counted(tail: &'a [u8]) -> Self {
        let mut pos = 0;
        let count = varint(tail, &mut pos).unwrap_or(0).max(0);
        HeaderIter {
            buf: &tail[pos..],
            remaining: count,
        }
    }

    /// Number of headers not yet yielded.
    pub fn len(&self) -> usize {
        usize::try_from(self.remaining).unwrap_or(0)
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
        let mut pos = 0;
        let key = field(self.buf, &mut pos).ok()??;
        let value = field(self.buf, &mut pos).ok()?;
        self.buf = &self.buf[pos..];
        self.remaining -= 1;
        Some(Header { key, value })
    }
}

/// The unsigned base-128 value at `*pos` when it is one or two bytes long (nearly every length,
/// delta and count in a batch), advancing `*pos`.
#[inline(always)]
fn short_unsigned(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *buf.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(first as u64);
    }
    let second = *buf.get(*pos + 1)?;
    if second < 0x80 {
        *pos += 2;
        return Some((first & 0x7f) as u64 | (second as u64) << 7);
    }
    None
}

/// A zig-zag varint at `*pos`, advancing it.
#[inline(always)]
fn varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    if let Some(raw) = short_unsigned(buf, pos) {
        // Two varint bytes hold at most 14 bits.
        #[allow(clippy::cast_possible_truncation)]
        let raw = raw as u32;
        return Some(((raw >> 1) as i32) ^ -((raw & 1) as i32));
    }
    let (value, used) = read_varint(buf.get(*pos..)?)?;
    *pos += used;
    Some(value)
}

/// A zig-zag varlong at `*pos`, advancing it.
#[inline(always)]
fn varlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    if let Some(raw) = short_unsigned(buf, pos) {
        return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
    }
    let (value, used) = read_varlong(buf.get(*pos..)?)?;
    *pos += used;
    Some(value)
}

/// A varint length then that many bytes at `*pos`; length −1 is null.
#[inline(always)]
fn field<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, &'static str> {
    match varint(buf, pos).ok_or("bad or truncated length varint")? {
        -1 => Ok(None),
        len => {
            let len = usize::try_from(len).map_err(|_| "negative length")?;
            let end = *pos + len;
            let bytes = buf
                .get(*pos..end)
                .ok_or("a field runs past the end of its record")?;
            *pos = end;
            Ok(Some(bytes))
        }
    }
}

#[cold]
fn corrupt(why: &str) -> Error {
    Error::CorruptRecord(format!("malformed record: {why}"))
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
    #[inline]
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

    #[inline]
    fn decode_one(&mut self) -> Result<Record<'a>, &'static str> {
        let mut pos = 0;
        let length = varint(self.buf, &mut pos).ok_or("bad or truncated record length")?;
        let length = usize::try_from(length).map_err(|_| "negative record length")?;
        let (body, rest) = self
            .buf
            .split_at_checked(pos + length)
            .ok_or("the record runs past the end of the batch")?;
        self.buf = rest;
        let attributes = *body.get(pos).ok_or("no attributes byte")? as i8;
        pos += 1;
        let timestamp_delta = varlong(body, &mut pos).ok_or("bad timestamp delta")?;
        let offset_delta = varint(body, &mut pos).ok_or("bad offset delta")?;
        let key = field(body, &mut pos)?;
        let value = field(body, &mut pos)?;
        let header_count = varint(body, &mut pos).ok_or("bad header count")?;
        if header_count < 0 {
            return Err("negative header count");
        }
        let headers_start = pos;
        for _ in 0..header_count {
            if field(body, &mut pos)?.is_none() {
                return Err("null header key");
            }
            field(body, &mut pos)?;
        }
        if pos != body.len() {
            return Err("bytes left over at the end of a record");
        }
        let timestamp = match self.log_append_time {
            Some(time) => time,
            None => self.base_timestamp.wrapping_add(timestamp_delta),
        };
        Ok(Record {
            offset: self.base_offset.wrapping_add(offset_delta as i64),
            offset_delta,
            timestamp,
            attributes,
            key,
            value,
            headers: HeaderIter {
                buf: &body[headers_start..],
                remaining: header_count,
            },
        })
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<Record<'a>>;

    #[inline]
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
        let item = self.decode_one().map_err(corrupt);
        self.failed = item.is_err();
        Some(item)
    }
}

/// One record's fields as [`next_validated`] reads them: offset and timestamp as deltas from
/// the batch's bases, headers still encoded (with their count).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord<'a> {
    pub(crate) attributes: i8,
    pub(crate) offset_delta: i32,
    pub(crate) timestamp_delta: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// The header count and headers, still encoded (see [`HeaderIter::counted`]).
    pub(crate) headers: &'a [u8],
}

/// Reads the record at the front of `buf` and advances past it, for a records section that
/// was validated when it was appended (every record decodes, offset deltas run 0, 1, 2 ...):
/// the header fields are not walked and the record's end is taken from its length. Still
/// never reads out of bounds: damage the append-time validation could not have let through
/// (a file changed behind kafkalite's back with a matching CRC) gives `None`.
#[inline(always)]
pub(crate) fn next_validated<'a>(buf: &mut &'a [u8]) -> Option<RawRecord<'a>> {
    let mut pos = 0;
    let length = varint(buf, &mut pos)?;
    let (body, rest) = buf.split_at_checked(pos.checked_add(usize::try_from(length).ok()?)?)?;
    let body = &body[pos..];
    let attributes = *body.first()? as i8;
    let mut pos = 1;
    let timestamp_delta = varlong(body, &mut pos)?;
    let offset_delta = varint(body, &mut pos)?;
    let key = field(body, &mut pos).ok()?;
    let value = field(body, &mut pos).ok()?;
    *buf = rest;
    Some(RawRecord {
        attributes,
        offset_delta,
        timestamp_delta,
        key,
        value,
        headers: body.get(pos..)?,
    })
}

/// The offset delta and key of the record at the front of `buf`, stepping over it, as
/// [`next_validated`] reads them but without decoding the rest (the cleaner's map pass).
#[inline(always)]
pub(crate) fn next_key<'a>(buf: &mut &'a [u8]) -> Option<(i32, Option<&'a [u8]>)> {
    let mut pos = 0;
    let length = varint(buf, &mut pos)?;
    let (body, rest) = buf.split_at_checked(pos.checked_add(usize::try_from(length).ok()?)?)?;
    let body = &body[pos..];
    // The attributes byte, then the timestamp delta stepped over.
    let mut pos = 1 + body.get(1..)?.iter().take(10).position(|&b| b < 0x80)? + 1;
    let offset_delta = varint(body, &mut pos)?;
    let key = field(body, &mut pos).ok()?;
    *buf = rest;
    Some((offset_delta, key))
}

/// Steps over the record at the front of `buf` (reading only its length); `None` when the
/// length runs past the end.
#[inline]
pub(crate) fn skip_validated(buf: &mut &[u8]) -> Option<()> {
    let mut pos = 0;
    let length = varint(buf, &mut pos)?;
    *buf = buf.get(pos.checked_add(usize::try_from(length).ok()?)?..)?;
    Some(())
}
