//! Writes the fuzz targets' seed corpus (`fuzz/corpus/<target>/seed-*`): valid batches of
//! every shape (empty values, null keys, headers, lz4, many records, a control batch), whole
//! segments with and without their indexes, and operation scripts. Deterministic, so the
//! committed files change only when this program does.
//!
//! ```text
//! cargo run --example fuzz_corpus -- fuzz/corpus
//! ```

use std::path::{Path, PathBuf};

use kafkalite::{BatchBuilder, Compression, Header};

fn batch(first: usize, count: usize, value_bytes: usize, compression: Compression) -> Vec<u8> {
    let mut builder = BatchBuilder::new()
        .compression(compression)
        .base_offset(first as i64);
    for i in first..first + count {
        let key = format!("k{i}");
        let value = format!("v{i}").repeat(1 + value_bytes / 4);
        let header = Header {
            key: b"h",
            value: Some(key.as_bytes()),
        };
        let key = (i % 3 != 0).then_some(key.as_bytes());
        builder
            .append(
                1_700_000_000_000 + i as i64,
                key,
                Some(value.as_bytes()),
                &[header],
            )
            .expect("a valid record");
    }
    builder.build().expect("a valid batch")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );

    let decode = root.join("decode_batch");
    let shapes = [
        ("one", batch(0, 1, 0, Compression::None)),
        ("three", batch(5, 3, 20, Compression::None)),
        ("many", batch(0, 200, 3, Compression::None)),
        ("lz4", batch(0, 20, 40, Compression::Lz4)),
        ("control", {
            let mut builder = BatchBuilder::new().control(true).transactional(true);
            let marker = kafkalite::record::end_transaction_marker_value(0);
            builder
                .append(0, Some(&[0, 0, 0, 1]), Some(&marker), &[])
                .expect("a control record");
            builder.build().expect("a control batch")
        }),
    ];
    for (name, bytes) in &shapes {
        write(&decode, name, bytes)?;
    }
    let mut two = shapes[1].1.clone();
    two.extend_from_slice(&batch(8, 2, 10, Compression::Lz4));
    write(&decode, "two-batches", &two)?;
    write(&decode, "torn", &shapes[2].1[..shapes[2].1.len() / 2])?;

    // [flags, index length (u16 LE), index bytes, log bytes], as the target splits them.
    let recovery = root.join("segment_recovery");
    let mut log = Vec::new();
    for b in 0..6 {
        let compression = if b % 2 == 0 {
            Compression::None
        } else {
            Compression::Lz4
        };
        log.extend_from_slice(&batch(b * 3, 3, 30, compression));
    }
    for (name, flags, tail) in [
        ("crashed", 0u8, &[][..]),
        ("recovery-point", 2 | (6 << 2), &[][..]),
        ("clean", 4 | 2 | (18 << 2), &[][..]),
        ("torn-tail", 0, &[0xab; 40][..]),
        ("zero-tail", 0, &[0; 300][..]),
        ("truncate-corrupt", 8, &[7; 90][..]),
    ] {
        let mut input = vec![flags, 0, 0];
        input.extend_from_slice(&log);
        input.extend_from_slice(tail);
        write(&recovery, name, &input)?;
    }
    // With index bytes: a plausible offset index (relative offset, position) and time index.
    let mut index = Vec::new();
    for (relative, position) in [(2u32, 0u32), (8, 200), (14, 400)] {
        index.extend_from_slice(&relative.to_be_bytes());
        index.extend_from_slice(&position.to_be_bytes());
    }
    let mut times = Vec::new();
    times.extend_from_slice(&1_700_000_000_017i64.to_be_bytes());
    times.extend_from_slice(&17u32.to_be_bytes());
    let mut both = index.clone();
    both.extend_from_slice(&times[..]);
    both.truncate(index.len() * 2);
    let mut input = vec![1u8];
    let both_len = u16::try_from(both.len()).expect("an index pair of a few entries");
    input.extend_from_slice(&both_len.to_le_bytes());
    input.extend_from_slice(&both);
    input.extend_from_slice(&log);
    write(&recovery, "with-index", &input)?;

    // Operation scripts: [setup, ops...] (see fuzz/fuzz_targets/api_ops.rs).
    let ops = root.join("api_ops");
    let append = |partition: u8, records: u8| (records.min(3) << 4) | partition;
    let scripts: [(&str, Vec<u8>); 4] = [
        (
            "fsync-appends",
            vec![1, append(0, 1), append(1, 2), append(0, 3), append(1, 0)],
        ),
        (
            "buffered-sync-cut",
            vec![
                2,
                append(0, 2),
                append(0, 2),
                4 << 1,
                append(0, 1),
                6 << 1,
                3,
                9,
            ],
        ),
        (
            "cut-inside",
            vec![
                3,
                append(1, 3),
                5 << 1,
                2,
                append(1, 3),
                append(1, 1),
                7 << 1,
                5,
                1,
            ],
        ),
        (
            "rolls",
            [2u8]
                .into_iter()
                .chain((0..24).map(|i| append(i % 2, 3) | 0x40))
                .collect(),
        ),
    ];
    for (name, script) in &scripts {
        write(&ops, name, script)?;
    }
    Ok(())
}
