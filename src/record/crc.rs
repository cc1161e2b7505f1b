//! CRC-32C (Castagnoli) of a batch's checked bytes.

/// CRC-32C of `data`, through the fastest implementation compiled in.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    #[cfg(feature = "simd-crc")]
    {
        // CRC-32C is 32 bits wide; crc_fast returns every width in a u64.
        #[allow(clippy::cast_possible_truncation)]
        let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32;
        crc
    }
    #[cfg(not(feature = "simd-crc"))]
    {
        ::crc32c::crc32c(data)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    #[test]
    fn check_value() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(super::crc32c(b""), 0);
    }

    proptest! {
        #[test]
        fn agrees_with_the_reference(data in proptest::collection::vec(any::<u8>(), 0..5000), start in 0usize..64) {
            let data = &data[start.min(data.len())..];
            prop_assert_eq!(super::crc32c(data), ::crc32c::crc32c(data));
        }
    }
}
