//! What kafka-producer-perf-test sends: `--record-size` random letters, a random pick from the
//! payloads of `--payload-file` (split by the `--payload-delimiter` regex, chosen by Java's
//! `SplittableRandom` seeded with 0, as Kafka's, so both pick the same sequence), or
//! `--payload-monotonic` (the record's index as text).

use std::io::Write;
use std::path::Path;

/// Java's `java.util.SplittableRandom`, bit for bit (splitmix64 with the golden gamma).
pub struct SplittableRandom {
    seed: u64,
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl SplittableRandom {
    /// `new SplittableRandom(seed)`.
    pub fn new(seed: u64) -> Self {
        SplittableRandom { seed }
    }

    fn next_seed(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(GOLDEN_GAMMA);
        self.seed
    }

    fn mix32(z: u64) -> i32 {
        let z = (z ^ (z >> 33)).wrapping_mul(0x62a9_d9ed_7997_05f5);
        // Java's `(int)(... >>> 32)`: the high half, reinterpreted as signed.
        ((z ^ (z >> 28)).wrapping_mul(0xcb24_d0a5_c88c_35b3) >> 32) as u32 as i32
    }

    /// `nextInt(bound)`, `bound` positive: Java's rejection of over-represented values.
    pub fn next_int(&mut self, bound: i32) -> i32 {
        let mut r = Self::mix32(self.next_seed());
        let m = bound - 1;
        if bound & m == 0 {
            return r & m;
        }
        let mut u = (r.cast_unsigned() >> 1).cast_signed();
        loop {
            r = u % bound;
            if u.wrapping_add(m).wrapping_sub(r) >= 0 {
                return r;
            }
            u = (Self::mix32(self.next_seed()).cast_unsigned() >> 1).cast_signed();
        }
    }
}

/// The values a run sends.
pub enum Payloads {
    /// `--record-size`: this many random capital letters for each record, drawn as
    /// Kafka's tool draws them (`nextInt(26) + 65` from the run's one generator).
    Random(usize, SplittableRandom),
    /// `--payload-file`: one of these, at random.
    Picked(Vec<Vec<u8>>, SplittableRandom),
    /// `--payload-monotonic`: the record's index.
    Monotonic,
}

impl Payloads {
    /// The value of record number `index`.
    pub fn next(&mut self, index: u64) -> Vec<u8> {
        match self {
            Payloads::Random(size, random) => (0..*size)
                .map(|_| b'A' + u8::try_from(random.next_int(26)).unwrap_or(0))
                .collect(),
            Payloads::Picked(list, random) => {
                let bound = i32::try_from(list.len()).unwrap_or(i32::MAX);
                let at = usize::try_from(random.next_int(bound)).unwrap_or(0);
                list[at].clone()
            }
            Payloads::Monotonic => index.to_string().into_bytes(),
        }
    }
}

/// Kafka's `readPayloadFile`: announces the file, splits its text by `delimiter` (a
/// regular expression, as Java's `String.split`: trailing empty payloads dropped) and
/// announces the count.
pub fn read_payload_file(
    path: &Path,
    delimiter: &str,
    out: &mut dyn Write,
) -> Result<Vec<Vec<u8>>, Box<dyn std::error::Error>> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    writeln!(out, "Reading payloads from: {}", absolute.display())?;
    let text = match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => return Err("File does not exist or empty file provided.".into()),
    };
    let pattern = regex::Regex::new(delimiter).map_err(|e| {
        format!("--payload-delimiter '{delimiter}' is not a regular expression: {e}")
    })?;
    let mut payloads: Vec<Vec<u8>> = pattern
        .split(&text)
        .map(|p| p.as_bytes().to_vec())
        .collect();
    while payloads.last().is_some_and(Vec::is_empty) {
        payloads.pop();
    }
    writeln!(out, "Number of messages read: {}", payloads.len())?;
    if payloads.is_empty() {
        // Java's split of nothing but delimiters is empty; Kafka's tool then has nothing
        // to send.
        return Err(
            "no payload File Path or record Size or payload-monotonic option provided".into(),
        );
    }
    Ok(payloads)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Java 21's `new SplittableRandom(0)`, printed by a JVM: `nextInt` alternating bounds
    /// 10 and 7 gives 8,2,7,5,9,6,7,2,8,2,1,2; `nextInt(26) + 65` gives 89,81,72,72,78,
    /// 69,66,83.
    #[test]
    fn next_int_matches_java() {
        let mut random = SplittableRandom::new(0);
        let alternating: Vec<i32> = (0..12)
            .map(|i| random.next_int(if i % 2 == 0 { 10 } else { 7 }))
            .collect();
        assert_eq!(alternating, [8, 2, 7, 5, 9, 6, 7, 2, 8, 2, 1, 2]);
        let mut letters = SplittableRandom::new(0);
        let drawn: Vec<i32> = (0..8).map(|_| letters.next_int(26) + 65).collect();
        assert_eq!(drawn, [89, 81, 72, 72, 78, 69, 66, 83]);
    }

    #[test]
    fn payload_files_split_as_javas_string_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.txt");
        std::fs::write(&path, "a\nbb\n\nccc\n\n").unwrap();
        let mut out = Vec::new();
        let payloads = read_payload_file(&path, "\n", &mut out).unwrap();
        assert_eq!(
            payloads,
            [b"a".to_vec(), b"bb".to_vec(), Vec::new(), b"ccc".to_vec()]
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("Number of messages read: 4\n"), "{text}");
        std::fs::write(&path, "x|y").unwrap();
        let split = read_payload_file(&path, "\\|", &mut Vec::new()).unwrap();
        assert_eq!(split, [b"x".to_vec(), b"y".to_vec()]);
        std::fs::write(&path, "").unwrap();
        let empty = read_payload_file(&path, "\n", &mut Vec::new()).unwrap_err();
        assert_eq!(
            empty.to_string(),
            "File does not exist or empty file provided."
        );
    }
}
