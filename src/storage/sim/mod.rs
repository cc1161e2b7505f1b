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
//!   directory a prefix of the operations since its last `sync_dir`. A rename between two
//!   directories survives on both sides or on neither (a journaling file system commits it
//!   as one transaction), and a `sync_dir` of either side makes all of it durable. All
//!   randomness comes from one seed, so a failing case replays exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{DirEntry, LockGuard, OpenMode, Storage, StorageFile};
use crate::error::{Error, Result};
use crate::random::SplitMix64;

mod contents;
mod file;

/// Re-keys every entry of `map` at or under `from` to the same place under `to`.
fn move_under<V>(map: &mut BTreeMap<PathBuf, V>, from: &Path, to: &Path) {
    let moved: Vec<PathBuf> = map
        .keys()
        .filter(|p| p.starts_with(from))
        .cloned()
        .collect();
    for path in moved {
        let value = map.remove(&path).expect("listed");
        map.insert(
            to.join(path.strip_prefix(from).expect("under `from`")),
            value,
        );
    }
}
#[cfg(test)]
mod tests;

use contents::Inode;
use file::SimFile;

/// Granularity of dirty tracking and of what a power cut keeps or drops.
pub const SIM_PAGE_BYTES: usize = 4096;

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
    /// `remove_file` or `remove_dir`.
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
    /// This directory's side of a rename from or to another directory.
    Move(Move),
}

/// One side of a rename between directories: `name` leaves this directory (`node` is `None`)
/// or arrives in it.
#[derive(Clone, Debug)]
struct Move {
    id: u64,
    name: String,
    node: Option<Node>,
    /// The directory on the other side.
    partner: DirId,
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
    next_move: u64,
    locks: BTreeSet<PathBuf>,
    plan: FaultPlan,
    ops: u64,
    per_kind: HashMap<SimOp, u64>,
    powered_off: bool,
}

/// Applies one directory operation to a directory's entries.
fn apply(entries: &mut BTreeMap<String, Node>, op: DirOp) {
    match op {
        DirOp::Link(name, node) => {
            entries.insert(name, node);
        }
        DirOp::Unlink(name) => {
            entries.remove(&name);
        }
        DirOp::Rename(from, to) => {
            if let Some(node) = entries.remove(&from) {
                entries.insert(to, node);
            }
        }
        DirOp::Move(side) => match side.node {
            Some(node) => {
                entries.insert(side.name, node);
            }
            None => {
                entries.remove(&side.name);
            }
        },
    }
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

    /// Operations of one kind counted since the plan was set.
    pub fn operations_of(&self, op: SimOp) -> u64 {
        self.state.lock().per_kind.get(&op).copied().unwrap_or(0)
    }

    /// Cuts the power now: every later mutating operation fails, as after a planned cut.
    pub fn power_off(&self) {
        self.state.lock().powered_off = true;
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
        out.next_move = state.next_move;
        let moves = Self::resolve_moves(&state, how, &mut rng);
        let mut stack = vec![(PathBuf::from("/"), 0)];
        while let Some((dir, id)) = stack.pop() {
            out.dirs.insert(dir.clone(), id);
            let mut entries = state.durable.get(&id).cloned().unwrap_or_default();
            let pending = state.pending.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            let survive = match how {
                PowerLoss::KeepAll | PowerLoss::KeepDirOpsOnly => pending.len(),
                PowerLoss::DropAll | PowerLoss::DropDirOps => 0,
                _ => rng.index(pending.len() + 1),
            };
            for (i, op) in pending.iter().enumerate() {
                let kept = match op {
                    // Both sides of a rename between directories, or neither.
                    DirOp::Move(side) => moves.contains(&side.id),
                    _ => i < survive,
                };
                if kept {
                    apply(&mut entries, op.clone());
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

    /// Which unsynced renames between directories a power cut keeps (both sides together).
    fn resolve_moves(state: &State, how: PowerLoss, rng: &mut SplitMix64) -> BTreeSet<u64> {
        let ids: BTreeSet<u64> = state
            .pending
            .values()
            .flatten()
            .filter_map(|op| match op {
                DirOp::Move(side) => Some(side.id),
                _ => None,
            })
            .collect();
        ids.into_iter()
            .filter(|_| match how {
                PowerLoss::KeepAll | PowerLoss::KeepDirOpsOnly => true,
                PowerLoss::DropAll | PowerLoss::DropDirOps => false,
                _ => rng.chance(),
            })
            .collect()
    }

    /// Counts a mutating operation; fails it if the plan says so.
    fn begin(&self, state: &mut State, op: SimOp, path: &Path) -> Result<Option<SimFailure>> {
        Self::check_on(state, path)?;
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

    /// Makes the other side of a rename between directories durable with this one, with the
    /// other directory's earlier operations (a journal commits in order); earlier sides of
    /// other renames stay pending with their partners.
    fn commit_partner(state: &mut State, side: &Move) {
        let partner = state.pending.entry(side.partner).or_default();
        let Some(at) = partner
            .iter()
            .position(|op| matches!(op, DirOp::Move(other) if other.id == side.id))
        else {
            return;
        };
        let later = partner.split_off(at + 1);
        let earlier = std::mem::take(partner);
        let (moves, committed): (Vec<DirOp>, Vec<DirOp>) = earlier
            .into_iter()
            .partition(|op| matches!(op, DirOp::Move(other) if other.id != side.id));
        *partner = moves;
        partner.extend(later);
        let entries = state.durable.entry(side.partner).or_default();
        for op in committed {
            apply(entries, op);
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

// SAFETY: locks are kept in the shared state, exclusive across every clone; files are
// `SimFile`s, which keep the `StorageFile` contract.
#[allow(unsafe_code)]
unsafe impl Storage for SimStorage {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

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
        if state.files.contains_key(dir) {
            return Err(Error::io(
                "list directory",
                dir,
                os_error(libc::ENOTDIR, "not a directory"),
            ));
        }
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
            move_under(&mut state.files, from, to);
            move_under(&mut state.dirs, from, to);
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
            let id = state.next_move;
            state.next_move += 1;
            let (from_id, to_id) = (state.dirs[&from_dir], state.dirs[&to_dir]);
            let out = Move {
                id,
                name: from_name,
                node: None,
                partner: to_id,
            };
            let arrival = Move {
                id,
                name: to_name,
                node: Some(node),
                partner: from_id,
            };
            Self::log(&mut state, &from_dir, DirOp::Move(out));
            Self::log(&mut state, &to_dir, DirOp::Move(arrival));
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

    fn remove_dir(&self, path: &Path) -> Result<()> {
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
        let inside = |p: &PathBuf| p.starts_with(path) && p != path;
        if state.files.keys().any(inside) || state.dirs.keys().any(inside) {
            return Err(Error::io(
                "remove directory",
                path,
                os_error(libc::ENOTEMPTY, "directory not empty"),
            ));
        }
        state.dirs.remove(path);
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
        for op in state.pending.remove(&id).unwrap_or_default() {
            if let DirOp::Move(side) = op {
                Self::commit_partner(&mut state, &side);
            }
        }
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
