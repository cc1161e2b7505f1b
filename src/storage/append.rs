//! An append-only file read through a shared mapping: the segment file's home.

use std::ops::{Deref, Range};
use std::sync::Arc;

use super::{Mapping, StorageFile};
use crate::error::{Error, Result};
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// An append-only file. One writer appends with positioned writes (one copy, into the page
/// cache); any number of readers read the published prefix through a shared mapping, without
/// locks. Blocks are allocated ahead of the writer in steps, so the file is never sparse.
#[derive(Debug)]
pub struct AppendFile {
    file: Box<dyn StorageFile>,
    map: Mapping,
    /// Bytes `[0, readable)` are written and allocated: safe to read through `map`.
    readable: AtomicUsize,
    writer: Mutex<WriterState>,
    allocation_step_bytes: u64,
}

#[derive(Debug)]
struct WriterState {
    written: u64,
    allocated: u64,
    /// Bytes `[written, zeroed)` were written as zeros ahead of the writer
    /// ([`AppendFile::append`]).
    zeroed: u64,
}

impl AppendFile {
    /// Takes over `file`, whose whole current length counts as written. `capacity_bytes` is
    /// how large the file may grow (the mapping's reserved length).
    pub fn new(
        file: Box<dyn StorageFile>,
        capacity_bytes: usize,
        allocation_step_bytes: u64,
    ) -> Result<Self> {
        let len = file.len()?;
        let len_usize = usize::try_from(len)
            .map_err(|_| Error::corruption(file.path(), 0, "file too large to map"))?;
        let capacity = capacity_bytes.max(len_usize);
        let map = file.map(capacity)?;
        if map.len() < capacity {
            return Err(Error::corruption(
                file.path(),
                0,
                format!("the storage mapped {} of {capacity} bytes", map.len()),
            ));
        }
        Ok(AppendFile {
            file,
            map,
            readable: AtomicUsize::new(len_usize),
            writer: Mutex::new(WriterState {
                written: len,
                allocated: len,
                zeroed: len,
            }),
            allocation_step_bytes: allocation_step_bytes.max(4096),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }

    /// Published length: bytes that are written and may be read.
    pub fn len(&self) -> usize {
        self.readable.load(Ordering::Acquire)
    }

    /// Whether nothing is published.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most bytes the file can hold.
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// The published bytes.
    pub fn bytes(&self) -> &[u8] {
        let len = self.len();
        if len == 0 {
            return &[];
        }
        // SAFETY: safety model invariants 2 and 3: `[0, len)` was written and allocated before
        // `readable` was raised to `len` (release/acquire), the file is never shrunk below
        // `readable` while `&self` is borrowed, and `len <= map.len()` (checked in `append`).
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.map.ptr, len)
        }
    }

    /// A reference-counted slice of published bytes, or `None` if `range` is not published.
    pub fn slice(self: &Arc<Self>, range: Range<usize>) -> Option<FileSlice> {
        (range.start <= range.end && range.end <= self.len()).then(|| FileSlice {
            file: Arc::clone(self),
            range,
        })
    }

    /// Appends `bufs` back to back and publishes them; returns the position of the first
    /// byte. Then, with `zero_ahead` set and the write past the bytes zeroed ahead before,
    /// the next `zero_ahead` allocated bytes after it are written as zeros
    /// ([`StorageFile::zero_ahead`]: the file's data does not change), so that the next
    /// appends land in pages the page cache already holds. For files not synced while they
    /// are written: a sync would write those zeros to disk as well. A failed zeroing is
    /// reported (tracing) and zeroing stops for the file; the append itself succeeded.
    pub fn append(&self, bufs: &[&[u8]], zero_ahead: u64) -> Result<u64> {
        let total: u64 = bufs.iter().map(|b| b.len() as u64).sum();
        let mut writer = self.writer.lock();
        let start = writer.written;
        let end = start + total;
        if end > self.map.len() as u64 {
            return Err(Error::io(
                "append",
                self.path(),
                std::io::Error::other(format!(
                    "append of {total} bytes at {start} exceeds the file's capacity {}",
                    self.map.len()
                )),
            ));
        }
        if end > writer.allocated {
            let step_end = writer.allocated.saturating_add(self.allocation_step_bytes);
            let target = end.max(step_end).min(self.map.len() as u64);
            // Near a full disk, a whole step may not fit where this append does.
            let allocated = match self.file.allocate(target) {
                Err(e) if target > end && is_no_space(&e) => {
                    self.file.allocate(end)?;
                    end
                }
                other => other.map(|()| target)?,
            };
            writer.allocated = allocated;
        }
        self.file.write_at(bufs, start)?;
        writer.written = end;
        // `end` is at most `map.len()`, a usize (checked above).
        #[allow(clippy::cast_possible_truncation)]
        self.readable.store(end as usize, Ordering::Release);
        if zero_ahead > 0 && end > writer.zeroed {
            // From the end just written, never below it, and within the allocation.
            let to = end.saturating_add(zero_ahead).min(writer.allocated);
            let zeroed = if to > end {
                self.file.zero_ahead(end, to - end)
            } else {
                Ok(())
            };
            writer.zeroed = match zeroed {
                Ok(()) => to,
                Err(error) => {
                    tracing::warn!(
                        target: "kafkalite::storage",
                        "zeroing ahead of the writer stopped: {error}"
                    );
                    u64::MAX
                }
            };
        }
        Ok(start)
    }

    /// Cuts preallocated space past the written bytes (on roll and clean close).
    pub fn trim(&self) -> Result<()> {
        let mut writer = self.writer.lock();
        if writer.allocated > writer.written || self.file.len()? > writer.written {
            self.file.set_len(writer.written)?;
            writer.allocated = writer.written;
            writer.zeroed = writer.zeroed.min(writer.written);
        }
        Ok(())
    }

    /// Cuts the file to `len` bytes (recovery of a torn tail). `&mut self` proves that nobody
    /// holds a slice of the bytes being removed.
    pub fn truncate(&mut self, len: u64) -> Result<()> {
        let writer = self.writer.get_mut();
        self.file.set_len(len)?;
        writer.written = writer.written.min(len);
        writer.allocated = len;
        writer.zeroed = writer.written;
        // `written` never passes `map.len()`, a usize (`append` checks it).
        #[allow(clippy::cast_possible_truncation)]
        self.readable
            .store(writer.written as usize, Ordering::Release);
        Ok(())
    }

    /// Writes the published bytes from `position` on again, over themselves, so that the
    /// next `AppendFile::sync` writes them to disk even if the page cache holds them as
    /// clean after a failed sync dropped them (recovery; see `log::recovery`).
    pub(crate) fn rewrite_from(&self, position: usize) -> Result<()> {
        const CHUNK_BYTES: usize = 1 << 20;
        let _writer = self.writer.lock();
        let bytes = self.bytes();
        let mut at = position.min(bytes.len());
        let mut chunk = Vec::with_capacity(CHUNK_BYTES.min(bytes.len() - at));
        while at < bytes.len() {
            let to = (at + CHUNK_BYTES).min(bytes.len());
            chunk.clear();
            chunk.extend_from_slice(&bytes[at..to]);
            self.file.write_at(&[&chunk], at as u64)?;
            at = to;
        }
        Ok(())
    }

    /// Makes every appended byte durable.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data()
    }
}

fn is_no_space(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC))
}

/// Published bytes of an `AppendFile`, kept alive (and mapped) by an `Arc`: zero-copy and
/// `'static`, even if retention unlinks the file meanwhile.
#[derive(Clone)]
pub struct FileSlice {
    file: Arc<AppendFile>,
    range: Range<usize>,
}

impl FileSlice {
    /// Byte range within the file.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// The file's path (for messages about these bytes).
    pub fn path(&self) -> &std::path::Path {
        self.file.path()
    }
}

impl std::fmt::Debug for FileSlice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSlice")
            .field("path", &self.file.path())
            .field("range", &self.range)
            .finish()
    }
}

impl Deref for FileSlice {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // `range.end` was published when the slice was made and stays published while the
        // `Arc` lives (invariant 3), so `bytes()` covers it.
        &self.file.bytes()[self.range.clone()]
    }
}

impl AsRef<[u8]> for FileSlice {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::AppendFile;
    use crate::error::Result;
    use crate::storage::{Mapping, OpenMode, SimStorage, Storage, StorageFile};

    /// A file that writes the zeros it is asked to write ahead, and records where.
    #[derive(Debug)]
    struct Recording {
        file: Box<dyn StorageFile>,
        zeroed: Arc<std::sync::Mutex<Vec<(u64, u64)>>>,
    }

    // SAFETY: every answer is the wrapped file's, whose contract holds.
    #[allow(unsafe_code)]
    unsafe impl StorageFile for Recording {
        fn path(&self) -> &Path {
            self.file.path()
        }
        fn len(&self) -> Result<u64> {
            self.file.len()
        }
        fn read_at(&self, buf: &mut [u8], position: u64) -> Result<()> {
            self.file.read_at(buf, position)
        }
        fn write_at(&self, bufs: &[&[u8]], position: u64) -> Result<()> {
            self.file.write_at(bufs, position)
        }
        fn allocate(&self, len: u64) -> Result<()> {
            self.file.allocate(len)
        }
        fn zero_ahead(&self, position: u64, len: u64) -> Result<()> {
            self.zeroed.lock().unwrap().push((position, len));
            let zeros = vec![0; usize::try_from(len).unwrap()];
            self.file.write_at(&[&zeros], position)
        }
        fn set_len(&self, len: u64) -> Result<()> {
            self.file.set_len(len)
        }
        fn sync_data(&self) -> Result<()> {
            self.file.sync_data()
        }
        fn map(&self, len: usize) -> Result<Mapping> {
            self.file.map(len)
        }
    }

    /// Zeros go right after each write that passed the ones before, never over written
    /// bytes and never past the allocation (a 64 KiB step here), so the file's data and
    /// length are what they would be without them.
    #[test]
    fn zeros_ahead_follow_the_writer_inside_the_allocation() {
        let sim = SimStorage::new(Path::new("/sim"));
        let zeroed = Arc::new(std::sync::Mutex::new(Vec::new()));
        let file = Recording {
            file: sim.open(Path::new("/sim/f"), OpenMode::Create).unwrap(),
            zeroed: Arc::clone(&zeroed),
        };
        let append = AppendFile::new(Box::new(file), 1 << 20, 64 * 1024).unwrap();
        let data = [0xab; 5000];
        append.append(&[&data], 8192).unwrap(); // ends at 5,000: zeros to 13,192
        append.append(&[&data], 8192).unwrap(); // 10,000: still inside them
        append.append(&[&data], 8192).unwrap(); // 15,000: zeros to 23,192
        append.append(&[&data], 0).unwrap(); // 20,000: none asked
        for _ in 0..10 {
            append.append(&[&data], 8192).unwrap(); // 25,000 to 70,000
        }
        let expected = [
            (5000, 8192),
            (15000, 8192),
            (25000, 8192),
            (35000, 8192),
            (45000, 8192),
            (55000, 8192),
            (65000, 536), // up to the first step's end, 65,536
            (70000, 8192),
        ];
        assert_eq!(*zeroed.lock().unwrap(), expected);
        let bytes = append.bytes();
        assert_eq!(bytes.len(), 70_000);
        assert!(
            bytes.iter().all(|&b| b == 0xab),
            "a written byte was zeroed"
        );
        let reopened = sim.open(Path::new("/sim/f"), OpenMode::Existing).unwrap();
        assert_eq!(
            reopened.len().unwrap(),
            2 * 64 * 1024,
            "the allocation, no more"
        );
    }
}
