//! Zig-zag base-128 varints as Kafka's `ByteUtils` writes them.

/// Most bytes a 32-bit varint may take.
pub const VARINT_BYTES_MAX: usize = 5;
/// Most bytes a 64-bit varlong may take.
pub const VARLONG_BYTES_MAX: usize = 10;

/// Appends `value` as a zig-zag varint.
pub fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned(
        out,
        u64::from(((value << 1) ^ (value >> 31)).cast_unsigned()),
    );
}

/// Appends `value` as a zig-zag varlong.
pub fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)).cast_unsigned());
}

// Each byte carries the low seven bits of what is left: dropping the rest is the encoding.
#[allow(clippy::cast_possible_truncation)]
fn put_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Number of bytes `put_varint(value)` writes.
pub fn varint_len(value: i32) -> usize {
    unsigned_len(u64::from(((value << 1) ^ (value >> 31)).cast_unsigned()))
}

/// Number of bytes `put_varlong(value)` writes.
pub fn varlong_len(value: i64) -> usize {
    unsigned_len(((value << 1) ^ (value >> 63)).cast_unsigned())
}

fn unsigned_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads a zig-zag varint from the front of `input`, returning it and the bytes consumed, or
/// `None` when the input ends early or the encoding is longer than five bytes.
pub fn read_varint(input: &[u8]) -> Option<(i32, usize)> {
    let (raw, used) = read_unsigned(input, VARINT_BYTES_MAX)?;
    let raw = u32::try_from(raw).ok()?;
    Some((((raw >> 1) as i32) ^ -((raw & 1) as i32), used))
}

/// Reads a zig-zag varlong from the front of `input` (at most ten bytes).
pub fn read_varlong(input: &[u8]) -> Option<(i64, usize)> {
    let (raw, used) = read_unsigned(input, VARLONG_BYTES_MAX)?;
    Some((((raw >> 1) as i64) ^ -((raw & 1) as i64), used))
}

fn read_unsigned(input: &[u8], bytes_max: usize) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().take(bytes_max).enumerate() {
        // `i` < `bytes_max` ≤ 10.
        #[allow(clippy::cast_possible_truncation)]
        let shift = 7 * i as u32;
        let bits = (byte & 0x7f) as u64;
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kafka_examples() {
        let cases: [(i32, &[u8]); 8] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (2, &[0x04]),
            (5, &[0x0a]),
            (63, &[0x7e]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(read_varint(bytes), Some((value, bytes.len())));
            assert_eq!(varint_len(value), bytes.len());
        }
    }

    #[test]
    fn rejects_overlong_and_truncated() {
        assert_eq!(read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), None);
        assert_eq!(read_varint(&[0x80]), None);
        assert_eq!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x7f]), None);
        assert_eq!(read_varlong(&[0xff; 11]), None);
        assert_eq!(read_varlong(&[]), None);
    }

    proptest! {
        #[test]
        fn varint_round_trip(value in any::<i32>()) {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            prop_assert_eq!(out.len(), varint_len(value));
            prop_assert_eq!(read_varint(&out), Some((value, out.len())));
        }

        #[test]
        fn varlong_round_trip(value in any::<i64>()) {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            prop_assert_eq!(out.len(), varlong_len(value));
            prop_assert_eq!(read_varlong(&out), Some((value, out.len())));
        }
    }
}
