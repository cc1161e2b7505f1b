//! The real backend: std files, `fallocate`, `fdatasync`, directory fsync, memmap2, flock.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{DirEntry, LockGuard, Mapping, OpenMode, Storage, StorageFile};
use crate::error::{Error, Result};

/// Files on the local file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealStorage;

#[derive(Debug)]
struct RealLock {
    _file: File,
}

impl LockGuard for RealLock {}

// SAFETY: locks are `flock`s, exclusive across processes and file descriptions; files are
// the operating system's, whose lengths and mappings are what `RealFile` reports.
#[allow(unsafe_code)]
unsafe impl Storage for RealStorage {
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))
    }

    fn open(&self, path: &Path, mode: OpenMode) -> Result<Box<dyn StorageFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode == OpenMode::Create)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        Ok(Box::new(RealFile {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn list(&self, dir: &Path) -> Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        let read = std::fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))?;
        for entry in read {
            let entry = entry.map_err(|e| Error::io("list directory", dir, e))?;
            let is_dir = entry
                .file_type()
                .map_err(|e| Error::io("stat", entry.path(), e))?
                .is_dir();
            // A name that is not UTF-8 is never one kafkalite wrote; it is listed (lossily)
            // so that ownership checks see it.
            let name = entry.file_name().to_string_lossy().into_owned();
            entries.push(DirEntry { name, is_dir });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        std::fs::rename(from, to).map_err(|e| Error::io("rename", from, e))
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        std::fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
    }

    fn remove_dir(&self, path: &Path) -> Result<()> {
        std::fs::remove_dir(path).map_err(|e| Error::io("remove directory", path, e))
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let dir = File::open(path).map_err(|e| Error::io("open directory", path, e))?;
        dir.sync_all()
            .map_err(|e| Error::io("fsync directory", path, e))
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open lock file", path, e))?;
        let mut wait = Duration::from_millis(1);
        let mut waited = Duration::ZERO;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Box::new(RealLock { _file: file })),
                Err(std::fs::TryLockError::WouldBlock) if waited < LOCK_PATIENCE => {
                    std::thread::sleep(wait);
                    waited += wait;
                    wait = (wait * 2).min(LOCK_PATIENCE.saturating_sub(waited));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Locked {
                        path: path.parent().unwrap_or(path).to_path_buf(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
            }
        }
    }
}

/// How long a contended lock is retried before [`Error::Locked`]. An `flock` belongs to the
/// open file description, and a child process being spawned holds a duplicate of every
/// descriptor until its `exec` closes them (close-on-exec): for that moment a lock just
/// released by this process still looks held. A real holder is reported after this wait.
const LOCK_PATIENCE: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct RealFile {
    file: File,
    path: PathBuf,
}

// SAFETY: `len` is `fstat`'s length; `allocate` is `fallocate` (never sparse) and `write_at`
// is `pwritev`, both extending the file; `map` maps exactly `len` bytes of the file.
#[allow(unsafe_code)]
unsafe impl StorageFile for RealFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn len(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| Error::io("stat", &self.path, e))
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> Result<()> {
        self.file
            .read_exact_at(buf, position)
            .map_err(|e| Error::io("read", &self.path, e))
    }

    fn write_at(&self, bufs: &[&[u8]], position: u64) -> Result<()> {
        let mut position = position;
        for chunk in bufs.chunks(64) {
            let total: usize = chunk.iter().map(|b| b.len()).sum();
            let written = pwritev(&self.file, chunk, position)
                .map_err(|e| Error::io("write", &self.path, e))?;
            if written < total {
                // A short vectored write: finish the rest buffer by buffer.
                let mut skip = written;
                let mut at = position + written as u64;
                for buf in chunk {
                    if skip >= buf.len() {
                        skip -= buf.len();
                        continue;
                    }
                    self.file
                        .write_all_at(&buf[skip..], at)
                        .map_err(|e| Error::io("write", &self.path, e))?;
                    at += (buf.len() - skip) as u64;
                    skip = 0;
                }
            }
            position += total as u64;
        }
        Ok(())
    }

    fn allocate(&self, len: u64) -> Result<()> {
        let current = self.len()?;
        if len <= current {
            return Ok(());
        }
        fallocate(&self.file, current, len - current)
            .map_err(|e| Error::io("fallocate", &self.path, e))
    }

    fn zero_ahead(&self, position: u64, len: u64) -> Result<()> {
        let end = position.saturating_add(len);
        if end > self.len()? {
            return Err(Error::io(
                "zero ahead",
                &self.path,
                std::io::Error::other(format!(
                    "zeros up to {end} would grow the file past its length"
                )),
            ));
        }
        zero_fill(&self.file, position, len).map_err(|e| Error::io("zero ahead", &self.path, e))
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| Error::io("truncate", &self.path, e))
    }

    fn sync_data(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, e))
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        if len == 0 {
            // SAFETY: an empty mapping is never dereferenced; the dangling pointer is never read.
            #[allow(unsafe_code)]
            return Ok(unsafe {
                Mapping::from_raw(std::ptr::NonNull::dangling().as_ptr(), 0, Box::new(()))
            });
        }
        // A raw mapping hands out pointers only; reads through it follow invariants 1-3 of the
        // module's safety model (the directory is locked; only written, published bytes are read).
        let map = memmap2::MmapOptions::new()
            .len(len)
            .map_raw_read_only(&self.file)
            .map_err(|e| Error::io("mmap", &self.path, e))?;
        let ptr = map.as_ptr();
        // SAFETY: `map` is moved into the owner box, which keeps the region mapped; moving an
        // `MmapRaw` does not move the mapped memory.
        #[allow(unsafe_code)]
        Ok(unsafe { Mapping::from_raw(ptr, len, Box::new(map)) })
    }
}

#[allow(unsafe_code)]
fn pwritev(file: &File, bufs: &[&[u8]], position: u64) -> std::io::Result<usize> {
    let iov: Vec<libc::iovec> = bufs
        .iter()
        .map(|b| libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    let iov_count = libc::c_int::try_from(iov.len()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "too many buffers for pwritev",
        )
    })?;
    loop {
        // SAFETY: every iovec points at a live, borrowed buffer of the stated length, and the
        // kernel only reads from them; the fd is open for writing.
        let n = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                iov.as_ptr(),
                iov_count,
                position as libc::off_t,
            )
        };
        if let Ok(written) = usize::try_from(n) {
            return Ok(written);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

#[allow(unsafe_code)]
fn fallocate(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    loop {
        // SAFETY: plain system call on an open fd with integer arguments.
        let rc = unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                0,
                offset as libc::off_t,
                len as libc::off_t,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            // File systems without fallocate (some tmpfs versions, network fs): write zeros, so
            // the blocks exist all the same.
            Some(libc::EOPNOTSUPP) => return zero_fill(file, offset, len),
            _ => return Err(err),
        }
    }
}

fn zero_fill(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    static ZEROS: [u8; 128 * 1024] = [0; 128 * 1024];
    let mut at = offset;
    let end = offset + len;
    while at < end {
        let n = usize::try_from(end - at).map_or(ZEROS.len(), |left| left.min(ZEROS.len()));
        file.write_all_at(&ZEROS[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RealStorage;
    use crate::storage::{OpenMode, Storage};

    /// Zeros ahead stay inside the file: the allocated range is zeroed, the bytes before it
    /// kept, and a range past the length is refused without growing the file.
    #[test]
    fn zeros_ahead_never_grow_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = RealStorage
            .open(&dir.path().join("f"), OpenMode::Create)
            .unwrap();
        file.write_at(&[b"abc"], 0).unwrap();
        file.allocate(200_000).unwrap();
        file.zero_ahead(3, 199_997).unwrap();
        assert!(file.zero_ahead(100_000, 100_001).is_err());
        assert_eq!(file.len().unwrap(), 200_000);
        let mut bytes = vec![1u8; 200_000];
        file.read_at(&mut bytes, 0).unwrap();
        assert_eq!(&bytes[..3], b"abc");
        assert!(bytes[3..].iter().all(|&b| b == 0));
    }
}
