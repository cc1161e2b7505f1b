//! A small seedable generator (SplitMix64) for the draws kafkalite makes itself: the sticky
//! partitioner's partition choice and the simulated storage's power-loss outcomes. Not for
//! anything that needs unpredictability. And Kafka's random UUIDs (cluster, directory and
//! topic ids, names of directories set aside), seeded from the operating system.

/// SplitMix64: one `u64` of state, good statistical quality, replayable from its seed.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    /// The next value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (0 when `n` is 0).
    #[cfg(any(test, feature = "sim"))]
    pub(crate) fn index(&mut self, n: usize) -> usize {
        // The value is below `n`, which is a usize.
        #[allow(clippy::cast_possible_truncation)]
        let index = self.below(n as u64) as usize;
        index
    }

    /// A value in `[0, n)` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// A fair coin.
    #[cfg(any(test, feature = "sim"))]
    pub(crate) fn chance(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// A random UUID as Kafka prints one (`Uuid.randomUuid().toString()`): 16 bytes in URL-safe
/// base64 without padding, 22 characters, never starting with `-` (Kafka redraws those, so
/// that ids are never taken for command-line options) and never all zeros (Kafka's
/// `Uuid.ZERO_UUID`).
pub(crate) fn uuid() -> String {
    loop {
        let id = encode_uuid(random_bytes());
        if !id.starts_with('-') && id != "AAAAAAAAAAAAAAAAAAAAAA" {
            return id;
        }
    }
}

pub(crate) fn random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the operating system's randomness once per process; the
    // draw counter and the time make every call different.
    let state = std::collections::hash_map::RandomState::new();
    let draw = DRAWS.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // A forked child continues its parent's hasher keys and draw counter: its process id
    // keeps its draws apart (one `getpid` a call: appends draw an event id each).
    let process = std::process::id();
    let mut bytes = [0u8; 16];
    for (half, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_usize(half);
        hasher.write_u64(draw);
        hasher.write_u128(nanos);
        hasher.write_u32(process);
        chunk.copy_from_slice(&hasher.finish().to_be_bytes());
    }
    bytes
}

pub(crate) fn encode_uuid(bytes: [u8; 16]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in bytes {
        bits = (bits << 8) | u32::from(byte);
        count += 8;
        while count >= 6 {
            count -= 6;
            out.push(char::from(ALPHABET[((bits >> count) & 0x3f) as usize]));
        }
    }
    if count > 0 {
        out.push(char::from(
            ALPHABET[((bits << (6 - count)) & 0x3f) as usize],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn matches_the_reference_sequence() {
        // The first outputs for seed 0 from the reference implementation (Vigna).
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }
}
