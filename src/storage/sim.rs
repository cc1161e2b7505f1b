//! A simulated file system for power-loss and I/O-fault tests: files live in memory with a
//! volatile plane (what reads see) and a durable plane (what survives a power cut).
//!
//! - Writes, allocations and length changes touch the volatile plane and mark pages dirty;
//!   `sync_data` copies the dirty pages and the length to the durable plane.
//! - Directory operations (create, rename, remove) change the visible namespace at once and are
//!   logged per directory; `sync_dir` makes a directory's entries durable.
//! - A [`FaultPlan`] cuts the power at the k-th mutating operation (that operation and every
//!   later one fails), or fails the n-th operation of one kind with EIO, ENOSPC, a short write,
//!   or an fsync that reports an error after dropping the dirty pages (as Linux does).
//! - [`SimStorage::after_power_loss`] resolves what a power cut leaves: per unsynced page keep,
//!   drop or tear (at a 512-byte or any byte boundary), the length old or new, and per
//!   directory a prefix of the operations since its last `sync_dir`. All randomness comes from
//!   one seed, so a failing case replays exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{DirEntry, LockGuard, Mapping, OpenMode, Storage, StorageFile};
use crate::error::{Error, Result};
use crate::random::SplitMix64;

/// Granularity of dirty tracking and of what a power cut keeps or drops.
pub const SIM_PAGE_BYTES: usize = 4096;
const SECTOR_BYTES: usize = 512;

/// Kinds of mutating operations, as a [`FaultPlan`] names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimOp {
    /// `write_at`.
    Write,
    /// `allocate` (fallocate).
    Allocate,
    /// `set_len`.
    SetLen,
    /// `sync_data`.
    Sync,
    /// `sync_dir`.
    SyncDir,
    /// Creating a file or directory.
    Create,
    /// `rename`.
    Rename,
    /// `remove_file` or `remove_dir_all`.
    Remove,
}

/// How an injected failure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFailure {
    /// EIO; nothing changes.
    Eio,
    /// ENOSPC; nothing changes.
    NoSpace,
    /// A write that stores its first half and then reports EIO.
    ShortWrite,
    /// An fsync that reports EIO after the kernel dropped the dirty pages: they stay visible
    /// until a power cut, which loses them.
    SyncDropsPages,
}

/// What goes wrong, and when (operations are counted from 1, mutating ones only).
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultPlan {
    /// Cut the power just before this operation: it and every later one fail.
    pub power_cut_at: Option<u64>,
    /// Fail the n-th operation of a kind (counted per kind, from 1).
    pub fail: Option<(SimOp, u64, SimFailure)>,
}

/// How a power cut treats unsynced data ([`SimStorage::after_power_loss`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLoss {
    /// Every unsynced page and directory operation reached the disk (as after a process kill).
    KeepAll,
    /// Nothing unsynced survives.
    DropAll,
    /// Each unsynced page survives or not; lengths and directory prefixes at random.
    RandomPages,
    /// As `RandomPages`, and surviving pages may be torn at a 512-byte boundary.
    TornSectors,
    /// As `RandomPages`, and surviving pages may be torn at any byte.
    TornBytes,
    /// Data as `RandomPages`; no directory operation after the last `sync_dir` survives.
    DropDirOps,
    /// Data dropped; every directory operation survives.
    KeepDirOpsOnly,
    /// Each page, length and directory independently at random, tears at any byte included.
    Chaos,
}

impl PowerLoss {
    /// Every way, for sweeping each cut point.
    pub const ALL: [PowerLoss; 8] = [
        PowerLoss::KeepAll,
        PowerLoss::DropAll,
        PowerLoss::RandomPages,
        PowerLoss::TornSectors,
        PowerLoss::TornBytes,
        PowerLoss::DropDirOps,
        PowerLoss::KeepDirOpsOnly,
        PowerLoss::Chaos,
    ];
}

/// A fixed-address, zeroed byte buffer: mappings point into it, so it never moves; a larger
/// one replaces it, and the old one is kept until the file goes.
struct Buffer {
    ptr: std::ptr::NonNull<u8>,
    cap: usize,
}

impl Buffer {
    fn zeroed(cap: usize) -> Buffer {
        let cap = cap.max(1);
        let layout = std::alloc::Layout::array::<u8>(cap).expect("buffer size fits a layout");
        // SAFETY: the layout has a non-zero size.
        #[allow(unsafe_code)]
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        Buffer { ptr, cap }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::array::<u8>(self.cap).expect("as allocated");
        // SAFETY: allocated in `zeroed` with this layout, freed once.
        #[allow(unsafe_code)]
        unsafe {
            std::alloc::dealloc(self.ptr.as_ptr(), layout)
        }
    }
}

// SAFETY: the buffer is plain memory; writes happen under the inode's mutex, and readers
// outside it only read bytes that the storage safety model says are no longer written.
#[allow(unsafe_code)]
unsafe impl Send for Buffer {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl Sync for Buffer {}

/// A file's two planes. Both are sparse at the end: the volatile buffer is zero from
/// `high` on, the durable bytes are zero from `durable.len()` up to `durable_len`, so that
/// preallocated space costs nothing to sync or resolve.
struct Contents {
    buf: Buffer,
    /// Earlier buffers that mappings may still point into.
    retired: Vec<Buffer>,
    len: usize,
    /// The buffer holds zeros from here on.
    high: usize,
    durable: Vec<u8>,
    durable_len: usize,
    /// Pages written since the last sync.
    dirty: BTreeSet<usize>,
}

impl Contents {
    fn new(bytes: &[u8], len: usize) -> Contents {
        let mut contents = Contents {
            buf: Buffer::zeroed(len),
            retired: Vec::new(),
            len,
            high: 0,
            durable: bytes.to_vec(),
            durable_len: len,
            dirty: BTreeSet::new(),
        };
        contents.copy_in(0, bytes);
        contents
    }

    fn bytes(&self, range: std::ops::Range<usize>) -> Vec<u8> {
        let mut out = vec![0u8; range.len()];
        // SAFETY: `range.end <= len <= cap`; the mutex is held, so no write is in progress.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.buf.ptr.as_ptr().add(range.start),
                out.as_mut_ptr(),
                range.len(),
            )
        };
        out
    }

    fn reserve(&mut self, cap: usize) {
        if cap <= self.buf.cap {
            return;
        }
        let bigger = Buffer::zeroed(cap.max(self.buf.cap * 2));
        // SAFETY: both buffers hold at least `high` bytes and do not overlap.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(self.buf.ptr.as_ptr(), bigger.ptr.as_ptr(), self.high)
        };
        let old = std::mem::replace(&mut self.buf, bigger);
        self.retired.push(old);
    }

    /// Copies `bytes` into the buffer at `at` (no length or dirty bookkeeping).
    fn copy_in(&mut self, at: usize, bytes: &[u8]) {
        self.reserve(at + bytes.len());
        // SAFETY: reserved above; the bytes written are not published to any reader (the
        // storage safety model: readers only read bytes that are already written).
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.buf.ptr.as_ptr().add(at),
                bytes.len(),
            )
        };
        self.high = self.high.max(at + bytes.len());
    }

    fn write(&mut self, at: usize, bytes: &[u8]) {
        self.copy_in(at, bytes);
        self.len = self.len.max(at + bytes.len());
        self.mark(at, at + bytes.len());
    }

    fn set_len(&mut self, len: usize) {
        if len < self.len {
            // Zero what is cut (so that growing again reads zeros), and mark what the durable
            // plane still holds there.
            if len < self.high {
                let zeros = vec![0u8; self.high - len];
                self.copy_in(len, &zeros);
                self.high = len;
            }
            self.mark(len, self.len.min(self.durable.len()));
        } else {
            self.reserve(len);
        }
        self.len = len;
    }

    fn mark(&mut self, from: usize, to: usize) {
        if from < to {
            self.dirty
                .extend(from / SIM_PAGE_BYTES..to.div_ceil(SIM_PAGE_BYTES));
        }
    }

    fn sync(&mut self) {
        self.durable_len = self.len;
        self.durable.truncate(self.len);
        let dirty = std::mem::take(&mut self.dirty);
        for page in dirty {
            let start = page * SIM_PAGE_BYTES;
            let end = (start + SIM_PAGE_BYTES).min(self.len);
            if start < end {
                let bytes = self.bytes(start..end);
                if self.durable.len() < end {
                    self.durable.resize(end, 0);
                }
                self.durable[start..end].copy_from_slice(&bytes);
            }
        }
    }

    /// What a power cut leaves of this file: its leading bytes (zeros after) and length.
    fn after_power_loss(&self, how: PowerLoss, rng: &mut SplitMix64) -> (Vec<u8>, usize) {
        let keep_all = how == PowerLoss::KeepAll;
        let drop_all = matches!(how, PowerLoss::DropAll | PowerLoss::KeepDirOpsOnly);
        let len = if keep_all || (!drop_all && rng.chance()) {
            self.len
        } else {
            self.durable_len
        };
        let mut out = self.durable.clone();
        out.truncate(len);
        if drop_all {
            return (out, len);
        }
        for &page in &self.dirty {
            let start = page * SIM_PAGE_BYTES;
            let end = (start + SIM_PAGE_BYTES).min(len).min(self.len);
            if start >= end || !(keep_all || rng.chance()) {
                continue;
            }
            let new = self.bytes(start..end);
            let cut = match how {
                PowerLoss::TornSectors if rng.chance() => {
                    start
                        + SECTOR_BYTES
                            * rng.below((end - start).div_ceil(SECTOR_BYTES) as u64) as usize
                }
                PowerLoss::TornBytes | PowerLoss::Chaos if rng.chance() => {
                    start + rng.below((end - start) as u64) as usize
                }
                _ => end,
            }
            .min(end);
            if out.len() < cut {
                out.resize(cut, 0);
            }
            out[start..cut].copy_from_slice(&new[..cut - start]);
        }
        (out, len)
    }
}

/// A file's contents, shared by every handle and name.
struct Inode {
    contents: Mutex<Contents>,
}

impl Inode {
    /// A file holding `bytes` then zeros up to `len`, all of it durable.
    fn new(bytes: &[u8], len: usize) -> Arc<Inode> {
        Arc::new(Inode {
            contents: Mutex::new(Contents::new(bytes, len)),
        })
    }
}

impl std::fmt::Debug for Inode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inode").finish_non_exhaustive()
    }
}

/// A directory's identity: it survives renames, as an inode number does.
type DirId = u64;

#[derive(Clone, Debug)]
enum Node {
    File(Arc<Inode>),
    Dir(DirId),
}

/// One logged change to a directory's entries.
#[derive(Clone, Debug)]
enum DirOp {
    Link(String, Node),
    Unlink(String),
    Rename(String, String),
}

#[derive(Debug, Default)]
struct State {
    /// What every call sees now.
    files: BTreeMap<PathBuf, Arc<Inode>>,
    dirs: BTreeMap<PathBuf, DirId>,
    next_dir: DirId,
    /// Per directory: its entries as of its last `sync_dir`, and the changes since.
    durable: HashMap<DirId, BTreeMap<String, Node>>,
    pending: HashMap<DirId, Vec<DirOp>>,
    locks: BTreeSet<PathBuf>,
    plan: FaultPlan,
    ops: u64,
    per_kind: HashMap<SimOp, u64>,
    powered_off: bool,
}

/// A simulated file system (see the module documentation). Cheap to clone: clones share it.
#[derive(Clone, Debug, Default)]
pub struct SimStorage {
    state: Arc<Mutex<State>>,
}

fn os_error(code: i32, why: &str) -> std::io::Error {
    let base = std::io::Error::from_raw_os_error(code);
    std::io::Error::new(base.kind(), format!("{base} (simulated: {why})"))
}

fn split(path: &Path) -> (PathBuf, String) {
    let parent = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, name)
}

impl SimStorage {
    /// An empty file system whose `root` (and its parents) exist durably.
    pub fn new(root: &Path) -> SimStorage {
        let sim = SimStorage::default();
        {
            let mut state = sim.state.lock();
            state.dirs.insert(PathBuf::from("/"), 0);
            state.next_dir = 1;
            let mut dir = PathBuf::from("/");
            for part in root.components().skip(1) {
                let parent = state.dirs[&dir];
                dir.push(part);
                let id = state.next_dir;
                state.next_dir += 1;
                state.dirs.insert(dir.clone(), id);
                let name = part.as_os_str().to_string_lossy().into_owned();
                state
                    .durable
                    .entry(parent)
                    .or_default()
                    .insert(name, Node::Dir(id));
            }
        }
        sim
    }

    /// Sets what will go wrong (operation counts start again from here).
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.state.lock();
        state.plan = plan;
        state.ops = 0;
        state.per_kind.clear();
    }

    /// Mutating operations counted since the plan was set.
    pub fn operations(&self) -> u64 {
        self.state.lock().ops
    }

    /// Whether the planned power cut has happened.
    pub fn is_powered_off(&self) -> bool {
        self.state.lock().powered_off
    }

    /// What the disk holds after a power cut now, resolved `how`, with choices from `seed`:
    /// a new file system in which every surviving byte is durable.
    pub fn after_power_loss(&self, how: PowerLoss, seed: u64) -> SimStorage {
        let state = self.state.lock();
        let mut rng = SplitMix64(seed);
        let mut resolved: HashMap<*const Inode, Arc<Inode>> = HashMap::new();
        let next = SimStorage::default();
        let mut out = next.state.lock();
        // Walk from the root: a directory exists if its parent's surviving entries name it.
        out.next_dir = state.next_dir;
        let mut stack = vec![(PathBuf::from("/"), 0)];
        while let Some((dir, id)) = stack.pop() {
            out.dirs.insert(dir.clone(), id);
            let mut entries = state.durable.get(&id).cloned().unwrap_or_default();
            let pending = state.pending.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            let survive = match how {
                PowerLoss::KeepAll | PowerLoss::KeepDirOpsOnly => pending.len(),
                PowerLoss::DropAll | PowerLoss::DropDirOps => 0,
                _ => rng.below(pending.len() as u64 + 1) as usize,
            };
            for op in &pending[..survive] {
                match op {
                    DirOp::Link(name, node) => {
                        entries.insert(name.clone(), node.clone());
                    }
                    DirOp::Unlink(name) => {
                        entries.remove(name);
                    }
                    DirOp::Rename(from, to) => {
                        if let Some(node) = entries.remove(from) {
                            entries.insert(to.clone(), node);
                        }
                    }
                }
            }
            for (name, node) in &entries {
                let path = dir.join(name);
                match node {
                    Node::Dir(child) => stack.push((path, *child)),
                    Node::File(inode) => {
                        let key = Arc::as_ptr(inode);
                        let file = resolved
                            .entry(key)
                            .or_insert_with(|| {
                                let (bytes, len) =
                                    inode.contents.lock().after_power_loss(how, &mut rng);
                                Inode::new(&bytes, len)
                            })
                            .clone();
                        out.files.insert(path, file);
                    }
                }
            }
            let durable: BTreeMap<String, Node> = entries
                .into_iter()
                .map(|(name, node)| {
                    let node = match node {
                        Node::File(inode) => Node::File(resolved[&Arc::as_ptr(&inode)].clone()),
                        dir @ Node::Dir(_) => dir,
                    };
                    (name, node)
                })
                .collect();
            out.durable.insert(id, durable);
        }
        drop(out);
        next
    }

    /// Counts a mutating operation; fails it if the plan says so.
    fn begin(&self, state: &mut State, op: SimOp, path: &Path) -> Result<Option<SimFailure>> {
        if state.powered_off {
            return Err(Error::io(
                "simulated operation",
                path,
                os_error(libc::EIO, "the power is off"),
            ));
        }
        state.ops += 1;
        if state.plan.power_cut_at == Some(state.ops) {
            state.powered_off = true;
            return Err(Error::io(
                "simulated operation",
                path,
                os_error(libc::EIO, "power cut"),
            ));
        }
        let count = state.per_kind.entry(op).or_default();
        *count += 1;
        match state.plan.fail {
            Some((kind, n, failure)) if kind == op && n == *count => Ok(Some(failure)),
            _ => Ok(None),
        }
    }

    fn log(state: &mut State, dir: &Path, op: DirOp) {
        let id = state.dirs[dir];
        state.pending.entry(id).or_default().push(op);
    }

    fn check_on(state: &State, path: &Path) -> Result<()> {
        if state.powered_off {
            return Err(Error::io(
                "simulated operation",
                path,
                os_error(libc::EIO, "the power is off"),
            ));
        }
        Ok(())
    }
}

fn injected(op: &'static str, path: &Path, failure: SimFailure) -> Error {
    let code = match failure {
        SimFailure::NoSpace => libc::ENOSPC,
        _ => libc::EIO,
    };
    Error::io(op, path, os_error(code, "injected"))
}

impl Storage for SimStorage {
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        let mut state = self.state.lock();
        let mut dir = PathBuf::new();
        for part in path.components() {
            dir.push(part);
            if state.dirs.contains_key(&dir) {
                continue;
            }
            if let Some(failure) = self.begin(&mut state, SimOp::Create, &dir)? {
                return Err(injected("create directory", &dir, failure));
            }
            let id = state.next_dir;
            state.next_dir += 1;
            state.dirs.insert(dir.clone(), id);
            let (parent, name) = split(&dir);
            Self::log(&mut state, &parent, DirOp::Link(name, Node::Dir(id)));
        }
        Ok(())
    }

    fn open(&self, path: &Path, mode: OpenMode) -> Result<Box<dyn StorageFile>> {
        let mut state = self.state.lock();
        Self::check_on(&state, path)?;
        let inode = match state.files.get(path) {
            Some(inode) => Arc::clone(inode),
            None if mode == OpenMode::Create => {
                let (parent, name) = split(path);
                if !state.dirs.contains_key(&parent) {
                    return Err(Error::io(
                        "open",
                        path,
                        os_error(libc::ENOENT, "no such directory"),
                    ));
                }
                if let Some(failure) = self.begin(&mut state, SimOp::Create, path)? {
                    return Err(injected("open", path, failure));
                }
                let inode = Inode::new(&[], 0);
                state.files.insert(path.to_path_buf(), Arc::clone(&inode));
                Self::log(
                    &mut state,
                    &parent,
                    DirOp::Link(name, Node::File(Arc::clone(&inode))),
                );
                inode
            }
            None => {
                return Err(Error::io(
                    "open",
                    path,
                    os_error(libc::ENOENT, "no such file"),
                ))
            }
        };
        Ok(Box::new(SimFile {
            sim: self.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn list(&self, dir: &Path) -> Result<Vec<DirEntry>> {
        let state = self.state.lock();
        Self::check_on(&state, dir)?;
        if !state.dirs.contains_key(dir) {
            return Err(Error::io(
                "list directory",
                dir,
                os_error(libc::ENOENT, "no such directory"),
            ));
        }
        let direct = |p: &&PathBuf| p.parent() == Some(dir);
        let mut entries: Vec<DirEntry> = state
            .files
            .keys()
            .filter(direct)
            .map(|p| DirEntry {
                name: split(p).1,
                is_dir: false,
            })
            .chain(state.dirs.keys().filter(direct).map(|p| DirEntry {
                name: split(p).1,
                is_dir: true,
            }))
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.state.lock();
        state.files.contains_key(path) || state.dirs.contains_key(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(failure) = self.begin(&mut state, SimOp::Rename, from)? {
            return Err(injected("rename", from, failure));
        }
        if !state.dirs.contains_key(&split(to).0) {
            return Err(Error::io(
                "rename",
                to,
                os_error(libc::ENOENT, "no such directory"),
            ));
        }
        let node = if let Some(inode) = state.files.remove(from) {
            state.files.insert(to.to_path_buf(), Arc::clone(&inode));
            Node::File(inode)
        } else if let Some(&id) = state.dirs.get(from) {
            // The directory and everything under it move; identities stay.
            let to_new = |p: &Path| to.join(p.strip_prefix(from).expect("under `from`"));
            let files: Vec<PathBuf> = state
                .files
                .keys()
                .filter(|p| p.starts_with(from))
                .cloned()
                .collect();
            for path in files {
                let inode = state.files.remove(&path).expect("listed");
                state.files.insert(to_new(&path), inode);
            }
            let dirs: Vec<PathBuf> = state
                .dirs
                .keys()
                .filter(|p| p.starts_with(from))
                .cloned()
                .collect();
            for path in dirs {
                let dir = state.dirs.remove(&path).expect("listed");
                state.dirs.insert(to_new(&path), dir);
            }
            Node::Dir(id)
        } else {
            return Err(Error::io(
                "rename",
                from,
                os_error(libc::ENOENT, "no such file"),
            ));
        };
        let ((from_dir, from_name), (to_dir, to_name)) = (split(from), split(to));
        if from_dir == to_dir {
            Self::log(&mut state, &from_dir, DirOp::Rename(from_name, to_name));
        } else {
            Self::log(&mut state, &from_dir, DirOp::Unlink(from_name));
            Self::log(&mut state, &to_dir, DirOp::Link(to_name, node));
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(failure) = self.begin(&mut state, SimOp::Remove, path)? {
            return Err(injected("remove", path, failure));
        }
        state
            .files
            .remove(path)
            .ok_or_else(|| Error::io("remove", path, os_error(libc::ENOENT, "no such file")))?;
        let (parent, name) = split(path);
        Self::log(&mut state, &parent, DirOp::Unlink(name));
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(failure) = self.begin(&mut state, SimOp::Remove, path)? {
            return Err(injected("remove directory", path, failure));
        }
        if !state.dirs.contains_key(path) {
            return Err(Error::io(
                "remove directory",
                path,
                os_error(libc::ENOENT, "no such directory"),
            ));
        }
        state.files.retain(|p, _| !p.starts_with(path));
        state.dirs.retain(|p, _| !p.starts_with(path));
        let (parent, name) = split(path);
        Self::log(&mut state, &parent, DirOp::Unlink(name));
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(failure) = self.begin(&mut state, SimOp::SyncDir, path)? {
            return Err(injected("fsync directory", path, failure));
        }
        let Some(&id) = state.dirs.get(path) else {
            return Err(Error::io(
                "fsync directory",
                path,
                os_error(libc::ENOENT, "no such directory"),
            ));
        };
        let mut entries = BTreeMap::new();
        for (file, inode) in state.files.iter().filter(|(p, _)| p.parent() == Some(path)) {
            entries.insert(split(file).1, Node::File(Arc::clone(inode)));
        }
        for (dir, &child) in state.dirs.iter().filter(|(p, _)| p.parent() == Some(path)) {
            entries.insert(split(dir).1, Node::Dir(child));
        }
        state.durable.insert(id, entries);
        state.pending.remove(&id);
        Ok(())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>> {
        let mut state = self.state.lock();
        Self::check_on(&state, path)?;
        if !state.locks.insert(path.to_path_buf()) {
            return Err(Error::Locked {
                path: path.parent().unwrap_or(path).to_path_buf(),
            });
        }
        Ok(Box::new(SimLock {
            sim: self.clone(),
            path: path.to_path_buf(),
        }))
    }
}

#[derive(Debug)]
struct SimLock {
    sim: SimStorage,
    path: PathBuf,
}

impl LockGuard for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.sim.state.lock().locks.remove(&self.path);
    }
}

#[derive(Debug)]
struct SimFile {
    sim: SimStorage,
    inode: Arc<Inode>,
    path: PathBuf,
}

impl SimFile {
    fn begin(&self, op: SimOp) -> Result<Option<SimFailure>> {
        let mut state = self.sim.state.lock();
        self.sim.begin(&mut state, op, &self.path)
    }
}

impl StorageFile for SimFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn len(&self) -> Result<u64> {
        SimStorage::check_on(&self.sim.state.lock(), &self.path)?;
        Ok(self.inode.contents.lock().len as u64)
    }

    fn read_at(&self, buf: &mut [u8], position: u64) -> Result<()> {
        SimStorage::check_on(&self.sim.state.lock(), &self.path)?;
        let contents = self.inode.contents.lock();
        let start = usize::try_from(position).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        if end > contents.len {
            return Err(Error::io(
                "read",
                &self.path,
                os_error(libc::EIO, "read past the end"),
            ));
        }
        buf.copy_from_slice(&contents.bytes(start..end));
        Ok(())
    }

    fn write_at(&self, bufs: &[&[u8]], position: u64) -> Result<()> {
        let failure = self.begin(SimOp::Write)?;
        let mut contents = self.inode.contents.lock();
        let data = bufs.concat();
        let at = position as usize;
        match failure {
            None => {
                contents.write(at, &data);
                Ok(())
            }
            Some(SimFailure::ShortWrite) => {
                contents.write(at, &data[..data.len() / 2]);
                Err(injected("write", &self.path, SimFailure::Eio))
            }
            Some(failure) => Err(injected("write", &self.path, failure)),
        }
    }

    fn allocate(&self, len: u64) -> Result<()> {
        if let Some(failure) = self.begin(SimOp::Allocate)? {
            return Err(injected("fallocate", &self.path, failure));
        }
        let mut contents = self.inode.contents.lock();
        if len as usize > contents.len {
            contents.set_len(len as usize);
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        if let Some(failure) = self.begin(SimOp::SetLen)? {
            return Err(injected("truncate", &self.path, failure));
        }
        self.inode.contents.lock().set_len(len as usize);
        Ok(())
    }

    fn sync_data(&self) -> Result<()> {
        let failure = self.begin(SimOp::Sync)?;
        let mut contents = self.inode.contents.lock();
        match failure {
            None => {
                contents.sync();
                Ok(())
            }
            Some(SimFailure::SyncDropsPages) => {
                // The kernel marked the pages clean without writing them: a power cut now
                // loses them, though reads still see them.
                contents.dirty.clear();
                Err(injected("fdatasync", &self.path, SimFailure::Eio))
            }
            Some(failure) => Err(injected("fdatasync", &self.path, failure)),
        }
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        SimStorage::check_on(&self.sim.state.lock(), &self.path)?;
        let mut contents = self.inode.contents.lock();
        contents.reserve(len);
        let ptr = contents.buf.ptr.as_ptr() as *const u8;
        // SAFETY: the buffer holds at least `len` bytes and never moves; the inode (owner)
        // keeps it alive, and a later, larger buffer keeps this one in `retired`. Writes to
        // it happen only for bytes no reader reads yet (the storage safety model).
        #[allow(unsafe_code)]
        Ok(unsafe { Mapping::from_raw(ptr, len, Box::new(Arc::clone(&self.inode))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (SimStorage, PathBuf) {
        (SimStorage::new(Path::new("/r")), PathBuf::from("/r"))
    }

    fn contents(sim: &SimStorage, path: &Path) -> Option<Vec<u8>> {
        sim.exists(path).then(|| sim.read_file(path).unwrap())
    }

    #[test]
    fn synced_data_survives_and_unsynced_data_may_not() {
        let (sim, root) = root();
        let path = root.join("f");
        let file = sim.open(&path, OpenMode::Create).unwrap();
        sim.sync_dir(&root).unwrap();
        file.write_at(&[b"durable"], 0).unwrap();
        file.sync_data().unwrap();
        file.write_at(&[b"+volatile"], 7).unwrap();
        assert_eq!(
            contents(&sim.after_power_loss(PowerLoss::DropAll, 1), &path).unwrap(),
            b"durable"
        );
        assert_eq!(
            contents(&sim.after_power_loss(PowerLoss::KeepAll, 1), &path).unwrap(),
            b"durable+volatile"
        );
        for how in PowerLoss::ALL {
            for seed in 0..20 {
                let after = contents(&sim.after_power_loss(how, seed), &path).unwrap();
                assert!(after.starts_with(b"durable"), "{how:?} {seed}: {after:?}");
                assert!(after.len() <= 16, "{how:?} {seed}");
            }
        }
    }

    #[test]
    fn directory_operations_need_a_directory_sync() {
        let (sim, root) = root();
        let (tmp, fin) = (root.join("a.tmp"), root.join("a"));
        let file = sim.open(&tmp, OpenMode::Create).unwrap();
        file.write_at(&[b"x"], 0).unwrap();
        file.sync_data().unwrap();
        sim.rename(&tmp, &fin).unwrap();
        let dropped = sim.after_power_loss(PowerLoss::DropDirOps, 1);
        assert!(
            !dropped.exists(&fin) && !dropped.exists(&tmp),
            "never named durably"
        );
        let kept = sim.after_power_loss(PowerLoss::KeepDirOpsOnly, 1);
        assert_eq!(contents(&kept, &fin).unwrap(), b"x");
        sim.sync_dir(&root).unwrap();
        for how in PowerLoss::ALL {
            let after = sim.after_power_loss(how, 7);
            assert_eq!(contents(&after, &fin).unwrap(), b"x", "{how:?}");
            assert!(!after.exists(&tmp));
        }
    }

    #[test]
    fn torn_pages_mix_old_and_new_at_sector_boundaries() {
        let (sim, root) = root();
        let path = root.join("f");
        let file = sim.open(&path, OpenMode::Create).unwrap();
        sim.sync_dir(&root).unwrap();
        file.write_at(&[&[1u8; SIM_PAGE_BYTES]], 0).unwrap();
        file.sync_data().unwrap();
        file.write_at(&[&[2u8; SIM_PAGE_BYTES]], 0).unwrap();
        let mut torn = 0;
        for seed in 0..200 {
            let after =
                contents(&sim.after_power_loss(PowerLoss::TornSectors, seed), &path).unwrap();
            let new = after.iter().take_while(|&&b| b == 2).count();
            assert!(after[new..].iter().all(|&b| b == 1), "new bytes, then old");
            assert_eq!(new % SECTOR_BYTES, 0, "cut at a sector boundary");
            torn += usize::from(new > 0 && new < SIM_PAGE_BYTES);
        }
        assert!(torn > 0, "some pages were torn");
    }

    #[test]
    fn a_power_cut_fails_that_operation_and_every_later_one() {
        let (sim, root) = root();
        let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
        sim.set_plan(FaultPlan {
            power_cut_at: Some(2),
            fail: None,
        });
        file.write_at(&[b"one"], 0).unwrap();
        assert!(file.write_at(&[b"two"], 3).is_err());
        assert!(sim.is_powered_off());
        assert!(file.sync_data().is_err());
        assert!(file.len().is_err());
        assert_eq!(sim.operations(), 2, "nothing counted after the cut");
    }

    #[test]
    fn injected_failures_hit_the_nth_operation_of_their_kind() {
        let (sim, root) = root();
        let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
        sim.set_plan(FaultPlan {
            power_cut_at: None,
            fail: Some((SimOp::Allocate, 2, SimFailure::NoSpace)),
        });
        file.allocate(10).unwrap();
        let err = file.allocate(20).unwrap_err();
        assert!(err.to_string().contains("No space"), "{err}");
        assert_eq!(file.len().unwrap(), 10, "nothing changed");
        file.allocate(20).unwrap();

        sim.set_plan(FaultPlan {
            power_cut_at: None,
            fail: Some((SimOp::Write, 1, SimFailure::ShortWrite)),
        });
        assert!(file.write_at(&[b"abcd"], 0).is_err());
        let mut two = [0u8; 4];
        file.read_at(&mut two, 0).unwrap();
        assert_eq!(&two, b"ab\0\0", "half written");

        sim.set_plan(FaultPlan {
            power_cut_at: None,
            fail: Some((SimOp::Sync, 1, SimFailure::SyncDropsPages)),
        });
        sim.sync_dir(&root).unwrap();
        assert!(file.sync_data().is_err());
        let after = sim.after_power_loss(PowerLoss::KeepAll, 1);
        assert!(
            contents(&after, &root.join("f"))
                .unwrap()
                .iter()
                .all(|&b| b == 0),
            "the dropped pages are gone after a power cut"
        );
    }

    #[test]
    fn a_mapping_sees_later_writes() {
        let (sim, root) = root();
        let file = sim.open(&root.join("f"), OpenMode::Create).unwrap();
        let map = file.map(64).unwrap();
        file.write_at(&[b"hello"], 0).unwrap();
        // SAFETY: five bytes were written; the mapping covers 64.
        #[allow(unsafe_code)]
        let seen = unsafe { std::slice::from_raw_parts(map.ptr, 5) };
        assert_eq!(seen, b"hello");
    }
}
