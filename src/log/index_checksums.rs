//! CRC-32C of each segment's index files, kept per partition in `index-checksums`.
//!
//! Kafka's index formats carry no checksum, so a flipped bit in an index could silently steer a
//! lookup to the wrong place. kafkalite records a checksum whenever it writes a segment's index
//! pair and compares it when it loads one; a missing, stale or mismatched entry only means the
//! index is rebuilt from the log. Because every inconsistency leads to a rebuild, the file
//! needs no sync of its own.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;
use crate::storage::Storage;

/// Name of the file in each partition directory.
pub const FILE_NAME: &str = "index-checksums";

/// The checksums of one partition's segments, loaded on first use.
#[derive(Debug)]
pub struct IndexChecksums {
    path: PathBuf,
    storage: Arc<dyn Storage>,
    entries: Mutex<Option<BTreeMap<i64, u32>>>,
}

impl IndexChecksums {
    /// Checksums stored in `dir`.
    pub fn new(storage: Arc<dyn Storage>, dir: &std::path::Path) -> Self {
        IndexChecksums {
            path: dir.join(FILE_NAME),
            storage,
            entries: Mutex::new(None),
        }
    }

    /// The checksum of an index pair `offsets ++ times`.
    pub fn compute(offsets: &[u8], times: &[u8]) -> u32 {
        crc32c::crc32c_append(crc32c::crc32c(offsets), times)
    }

    /// The recorded checksum of segment `base`, if any.
    pub fn get(&self, base: i64) -> Option<u32> {
        let mut entries = self.entries.lock();
        entries
            .get_or_insert_with(|| self.load())
            .get(&base)
            .copied()
    }

    /// Forgets deleted segments (written out with the next [`IndexChecksums::set`]).
    pub fn remove(&self, bases: &[i64]) {
        if let Some(map) = self.entries.lock().as_mut() {
            map.retain(|b, _| !bases.contains(b));
        }
    }

    /// Records the checksum of segment `base` and rewrites the file.
    pub fn set(&self, base: i64, crc: u32) -> Result<()> {
        let mut entries = self.entries.lock();
        let map = entries.get_or_insert_with(|| self.load());
        map.insert(base, crc);
        let mut text = format!("0\n{}\n", map.len());
        for (base, crc) in map.iter() {
            text.push_str(&format!("{base} {crc:08x}\n"));
        }
        // Any inconsistency only means a rebuild, so no sync (see the module doc).
        self.storage
            .replace_file(&self.path, text.as_bytes(), false)
    }

    /// Reads the file; anything unreadable counts as no entries (indexes are then rebuilt).
    fn load(&self) -> BTreeMap<i64, u32> {
        let read = || -> Option<BTreeMap<i64, u32>> {
            let text = String::from_utf8(self.storage.read_file(&self.path).ok()?).ok()?;
            let mut lines = text.lines();
            (lines.next()? == "0").then_some(())?;
            let count: usize = lines.next()?.parse().ok()?;
            let map: BTreeMap<i64, u32> = lines
                .map(|line| {
                    let (base, crc) = line.split_once(' ')?;
                    Some((base.parse().ok()?, u32::from_str_radix(crc, 16).ok()?))
                })
                .collect::<Option<_>>()?;
            (map.len() == count).then_some(map)
        };
        if self.storage.exists(&self.path) {
            read().unwrap_or_default()
        } else {
            BTreeMap::new()
        }
    }
}
