//! Batch compression codecs. kafkalite writes `none` and `lz4` (Kafka's LZ4 frame layout) and
//! reports any other codec as unsupported.

use std::io::{Read, Write};

pub use crate::config::Compression;
use crate::error::{Error, Result};

/// Refuses the codecs this build cannot read or write.
fn ensure_supported(codec: Compression) -> Result<()> {
    match codec {
        Compression::None | Compression::Lz4 => Ok(()),
        other => Err(Error::UnsupportedCompressionType(other.name().to_string())),
    }
}

/// Compresses a records section with `codec`.
pub fn compress(codec: Compression, records: &[u8]) -> Result<Vec<u8>> {
    ensure_supported(codec)?;
    match codec {
        Compression::Lz4 => lz4_compress(records),
        _ => Ok(records.to_vec()),
    }
}

/// Decompresses a records section, refusing to produce more than `output_bytes_max` bytes.
pub fn decompress(codec: Compression, data: &[u8], output_bytes_max: usize) -> Result<Vec<u8>> {
    ensure_supported(codec)?;
    match codec {
        Compression::Lz4 => lz4_decompress(data, output_bytes_max),
        _ => Ok(data.to_vec()),
    }
}

fn lz4_frame_info() -> lz4_flex::frame::FrameInfo {
    // Kafka's reader rejects linked blocks and 8 MiB blocks; these settings give exactly the
    // frame header Kafka writes: 04 22 4D 18 60 40 82.
    lz4_flex::frame::FrameInfo::new()
        .block_size(lz4_flex::frame::BlockSize::Max64KB)
        .block_mode(lz4_flex::frame::BlockMode::Independent)
        .block_checksums(false)
        .content_checksum(false)
        .content_size(None)
}

fn lz4_compress(records: &[u8]) -> Result<Vec<u8>> {
    let out = Vec::with_capacity(records.len() / 2 + 64);
    let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(lz4_frame_info(), out);
    encoder
        .write_all(records)
        .and_then(|_| encoder.finish().map_err(std::io::Error::other))
        .map_err(|e| Error::CorruptRecord(format!("lz4 compression failed: {e}")))
}

fn lz4_decompress(data: &[u8], output_bytes_max: usize) -> Result<Vec<u8>> {
    check_kafka_lz4_header(data)?;
    check_end_mark(data)?;
    let mut input = data;
    let decoder = lz4_flex::frame::FrameDecoder::new(&mut input);
    let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(output_bytes_max));
    // Read one byte past the cap so that an oversized stream is detected, not silently cut.
    let limit = (output_bytes_max as u64).saturating_add(1);
    decoder
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::CorruptRecord(format!("invalid lz4 frame: {e}")))?;
    if out.len() > output_bytes_max {
        return Err(Error::CorruptRecord(format!(
            "lz4 records section decompresses to more than {output_bytes_max} bytes"
        )));
    }
    if !input.is_empty() {
        return Err(Error::CorruptRecord(format!(
            "{} bytes follow the lz4 frame",
            input.len()
        )));
    }
    Ok(out)
}

/// A frame cut short can look like a shorter valid stream to a streaming decoder; a whole frame
/// ends with a zero end mark (followed by a content checksum when the header announces one).
fn check_end_mark(data: &[u8]) -> Result<()> {
    let trailer = if data[4] & 0x04 != 0 { 8 } else { 4 };
    let end = data.len().checked_sub(trailer).filter(|&at| at >= 7);
    match end {
        Some(at) if data[at..at + 4] == [0, 0, 0, 0] => Ok(()),
        _ => Err(Error::CorruptRecord(
            "lz4 frame is truncated: no end mark".into(),
        )),
    }
}

/// Kafka's reader refuses frames with dependent blocks or a dictionary id; so do we, so that a
/// batch kafkalite accepts is one every Kafka client accepts.
fn check_kafka_lz4_header(data: &[u8]) -> Result<()> {
    const MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];
    if data.len() < 7 || data[..4] != MAGIC {
        return Err(Error::CorruptRecord(
            "lz4 records section does not start with the LZ4 frame magic 04 22 4d 18".into(),
        ));
    }
    let flg = data[4];
    if flg & 0x20 == 0 {
        return Err(Error::CorruptRecord(
            "lz4 frame uses linked blocks, which Kafka does not accept".into(),
        ));
    }
    if flg & 0x01 != 0 {
        return Err(Error::CorruptRecord(
            "lz4 frame names a dictionary, which Kafka does not accept".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_frame_header_matches_kafka() {
        let frame = compress(Compression::Lz4, b"hello hello hello hello").unwrap();
        assert_eq!(&frame[..7], &[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
        assert_eq!(&frame[frame.len() - 4..], &[0, 0, 0, 0]);
        let back = decompress(Compression::Lz4, &frame, 1 << 20).unwrap();
        assert_eq!(back, b"hello hello hello hello");
    }

    #[test]
    fn lz4_respects_the_output_cap() {
        let big = vec![7u8; 100_000];
        let frame = compress(Compression::Lz4, &big).unwrap();
        assert!(frame.len() < 2_000, "repetitive data compresses");
        let err = decompress(Compression::Lz4, &frame, 50_000).unwrap_err();
        assert!(matches!(err, Error::CorruptRecord(ref m) if m.contains("more than 50000")));
        assert_eq!(decompress(Compression::Lz4, &frame, 100_000).unwrap(), big);
    }

    #[test]
    fn other_codecs_are_unsupported() {
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Zstd] {
            let err = decompress(codec, b"x", 10).unwrap_err();
            assert!(matches!(err, Error::UnsupportedCompressionType(ref n) if n == codec.name()));
        }
        assert!(matches!(
            Compression::from_id(5),
            Err(Error::UnsupportedCompressionType(_))
        ));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for data in [
            &b""[..],
            b"\x04\x22\x4d\x18",
            b"\x04\x22\x4d\x18\x60\x40\x82\xff\xff",
        ] {
            assert!(decompress(Compression::Lz4, data, 1000).is_err());
        }
    }
}
