//! The only code that touches files. Everything above talks to a [`Storage`] and the files it
//! opens; the real backend is [`RealStorage`]; a simulated one (for power-loss tests) implements
//! the same two traits (`SimStorage`: power cuts and injected I/O faults, in memory; for
//! users' own fault-injection tests behind the `sim` cargo feature).
//!
//! # Safety model
//!
//! Segment bytes (and the event store's index tables) are read through shared read-only
//! mappings ([`Mapping`]) and written with positioned writes. Reading a mapped page past the
//! end of its file raises SIGBUS, so the `unsafe` code here relies on these invariants:
//!
//! 1. **Exclusive directory.** A `Cluster` holds an exclusive lock on its data directory for its
//!    whole life, so no other kafkalite handle writes or truncates these files. Foreign tools
//!    that truncate a mapped file void every promise (documented in the README).
//! 2. **Published bytes exist.** An `AppendFile` only hands out bytes below its published
//!    `readable` length, which is raised (release store) only after the bytes were written and
//!    the file allocated at least that far.
//! 3. **No shrinking below what may be read.** `readable` only decreases through
//!    `AppendFile::truncate`, which takes `&mut self`: no borrowed slice and no other `Arc`
//!    holder can exist then. `AppendFile::trim` shrinks the file to the written length, which
//!    equals `readable`. A handle that was closed releases the lock while its readers may
//!    still map the files, so an open that comes after it must not cut bytes that handle
//!    published either: recovery cuts a file in place only at a batch that fails the checks
//!    every append passed before it was published (a torn tail, preallocated zeros), and a
//!    repair, whose checks are stricter, never shrinks a file: it writes the bytes it keeps
//!    to a new file and renames that over the old one, whose pages stay valid for as long as
//!    they are mapped (`log::recovery`). Only bytes changed behind kafkalite's back (a
//!    foreign write, a disk returning other bytes than were written) can make an open cut a
//!    published batch in place.
//! 4. **The mapping outlives every slice.** [`FileSlice`] holds an `Arc` of the file and its
//!    mapping; unlinking the file (retention) leaves the mapped pages valid until the last holder
//!    drops.
//! 5. **Mapped bytes are hostile.** Callers bounds-check and CRC-check everything they read.
//!
//! # The sealed boundary
//!
//! No safe public call can make a mapped read fault:
//!
//! - [`Storage`] and [`StorageFile`] are `unsafe trait`s. The unsafe code trusts what an
//!   implementation reports (a file's length, a mapping's extent, a lock's exclusivity), so
//!   implementing them is a promise, written down on each trait; [`RealStorage`] and
//!   `SimStorage` keep it. A wrapper that delegates every call to one of them keeps it too.
//! - What maps a file is not public: `AppendFile` is the crate's own, hands out no file
//!   handle, and only `AppendFile::truncate` (with `&mut self`) and `AppendFile::trim` (never
//!   below the published length) shrink a file it maps.
//! - [`crate::Log::open`], the one public way to open a log outside a cluster, takes the
//!   directory's lock (and the data directory's, when the log is one of a cluster's
//!   partitions), so that no second handle can trim files under the first one's readers.
//!
//! What stays outside any library's reach: another program (or this one through `std::fs`)
//! truncating a segment file (or an index table) that kafkalite has mapped. The lock keeps kafkalite's own
//! handles apart; it cannot stop a tool that ignores it, and the README says so.

mod append;
mod real;
#[cfg(any(test, feature = "sim"))]
mod sim;

use std::fmt;
use std::path::Path;

pub(crate) use append::AppendFile;
pub use append::FileSlice;
pub use real::RealStorage;
#[cfg(any(test, feature = "sim"))]
pub use sim::{FaultPlan, PowerLoss, SimFailure, SimOp, SimStorage, SIM_PAGE_BYTES};

use crate::error::{Error, Result};

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// File or directory name (not the full path).
    pub name: String,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// Opening mode for [`Storage::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The file must exist.
    Existing,
    /// Create the file if missing.
    Create,
}

/// A file system: the narrow set of operations kafkalite needs.
///
/// # Safety
///
/// kafkalite reads segment files (and the event store's index tables) through mappings that
/// this trait's files hand out, and
/// trusts the answers it gets. An implementation must ensure that:
///
/// - [`Storage::lock`] is exclusive: while a guard for a path lives, every other `lock` of
///   that path, through any `Storage` handle in any process, fails with
///   [`crate::Error::Locked`];
/// - [`Storage::open`] returns files that keep the [`StorageFile`] contract;
/// - no file that kafkalite has open is shortened by anything but kafkalite's own calls to
///   [`StorageFile::set_len`] on it.
#[allow(unsafe_code)] // the contract above: implementing it is a promise
pub unsafe trait Storage: Send + Sync + fmt::Debug + 'static {
    /// The storage as `Any`, for callers that need its concrete type (the test kit finds a
    /// `SimStorage` this way to cut its power). `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> Result<()>;
    /// Opens (or creates) a file for reading and writing.
    fn open(&self, path: &Path, mode: OpenMode) -> Result<Box<dyn StorageFile>>;
    /// Lists a directory, sorted by name.
    fn list(&self, dir: &Path) -> Result<Vec<DirEntry>>;
    /// Whether a file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    /// Renames atomically, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> Result<()>;
    /// Removes an empty directory (kafkalite removes a directory's files one by one, only
    /// those it wrote, so that it never deletes what it did not create).
    fn remove_dir(&self, path: &Path) -> Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> Result<()>;
    /// Takes an exclusive lock on `path` (created if missing), held until the guard drops.
    /// Fails with [`crate::Error::Locked`] if any other handle holds it.
    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>>;

    /// Creates a directory and its missing parents so that they survive a power cut: each
    /// new directory's entry is synced in its parent (a directory fsync of the new directory
    /// alone does not make its name durable).
    fn create_dir_all_durable(&self, path: &Path) -> Result<()> {
        let missing: Vec<&Path> = path
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && !self.exists(dir))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        self.create_dir_all(path)?;
        for dir in missing.iter().rev() {
            match dir.parent() {
                Some(parent) if parent.as_os_str().is_empty() => self.sync_dir(Path::new("."))?,
                Some(parent) => self.sync_dir(parent)?,
                None => {}
            }
        }
        Ok(())
    }

    /// The whole contents of the file at `path`.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        let file = self.open(path, OpenMode::Existing)?;
        let len = usize::try_from(file.len()?)
            .map_err(|_| Error::corruption(path, 0, "file too large to read into memory"))?;
        let mut bytes = vec![0u8; len];
        file.read_at(&mut bytes, 0)?;
        Ok(bytes)
    }

    /// Replaces the file at `path` with `bytes` atomically: written to `<path>.tmp` (the
    /// whole name, then `.tmp`, as Kafka names its temporary files), then renamed over it.
    /// With `durable`, the data is synced before the rename and the directory after it, so
    /// the new contents survive a power loss once this returns.
    fn replace_file(&self, path: &Path, bytes: &[u8], durable: bool) -> Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let file = self.open(&tmp, OpenMode::Create)?;
        file.set_len(0)?;
        file.write_at(&[bytes], 0)?;
        if durable {
            file.sync_data()?;
        }
        drop(file);
        self.rename(&tmp, path)?;
        match path.parent() {
            Some(dir) if durable => self.sync_dir(dir),
            _ => Ok(()),
        }
    }
}

/// Keeps a lock from [`Storage::lock`] held while alive.
pub trait LockGuard: Send + Sync + fmt::Debug {}

/// An open file.
///
/// # Safety
///
/// kafkalite's mapped reads rely on these answers being true:
///
/// - [`StorageFile::len`] is the file's real length: every byte below it can be read through
///   a mapping from [`StorageFile::map`] without a fault;
/// - after [`StorageFile::write_at`] or [`StorageFile::allocate`] returns `Ok`, the file is
///   at least that long, and stays so until [`StorageFile::set_len`] shortens it;
/// - [`StorageFile::map`] returns a [`Mapping`] of exactly `len` bytes of address space,
///   valid for as long as the mapping lives, whose bytes are the file's below its length.
#[allow(unsafe_code)] // the contract above: implementing it is a promise
pub unsafe trait StorageFile: Send + Sync + fmt::Debug {
    /// The path the file was opened at.
    fn path(&self) -> &Path;
    /// Current length in bytes.
    fn len(&self) -> Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fills `buf` from `position`; reading past the end is an error.
    fn read_at(&self, buf: &mut [u8], position: u64) -> Result<()>;
    /// Writes all of `bufs`, back to back, starting at `position`.
    fn write_at(&self, bufs: &[&[u8]], position: u64) -> Result<()>;
    /// Allocates blocks for `[0, len)` (extending the length to `len` if shorter) so that
    /// later writes below `len` cannot fail for lack of space. Never leaves the file sparse.
    fn allocate(&self, len: u64) -> Result<()>;
    /// Writes zeros over `[position, position + len)`, a range below the file's length and
    /// past every byte published, which holds no data (zeros allocated ahead of the writer,
    /// or what a failed write left). It tells the storage that appends will reach the range
    /// soon; a page-cache file system gets the pages made in one large write, after which
    /// small appends into them cost about half as much, the zeros counted (ext4 on the
    /// benchmark machine: a 4,400-byte `pwrite` into new pages 4.1–5.2 µs, into cached ones
    /// 1.5 µs, 2.3–3.1 µs with the zeros' share). The default does nothing.
    fn zero_ahead(&self, position: u64, len: u64) -> Result<()> {
        let _ = (position, len);
        Ok(())
    }
    /// Sets the length, cutting or zero-extending.
    fn set_len(&self, len: u64) -> Result<()>;
    /// Makes the file's data (and the size, if it changed) durable.
    fn sync_data(&self) -> Result<()>;
    /// Maps `len` bytes from the start of the file for reading. `len` may exceed the file's
    /// length; bytes past the end must not be touched (see the safety model).
    fn map(&self, len: usize) -> Result<Mapping>;
}

/// A read-only shared mapping of a file's first `len` bytes. It hands out no bytes itself:
/// only `AppendFile`, which knows how far the file is written, reads through it.
pub struct Mapping {
    ptr: *const u8,
    len: usize,
    _owner: Box<dyn Send + Sync>,
}

// SAFETY: the mapping is read-only shared memory owned by `_owner` (which is Send + Sync); the
// raw pointer is only dereferenced for ranges the safety model allows, from any thread.
#[allow(unsafe_code)]
unsafe impl Send for Mapping {}
// SAFETY: as above; shared reads of immutable-after-publication bytes are data-race free.
#[allow(unsafe_code)]
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Wraps a region that `owner` keeps mapped at `ptr` for `len` bytes.
    ///
    /// # Safety
    /// `ptr..ptr + len` must stay mapped (readable where the file has bytes) for as long as
    /// `owner` lives, and `owner` must not be moved out of the mapping.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn from_raw(ptr: *const u8, len: usize, owner: Box<dyn Send + Sync>) -> Self {
        Mapping {
            ptr,
            len,
            _owner: owner,
        }
    }

    /// Length of the mapped range.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len).finish()
    }
}
