//! An open simulated file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::contents::Inode;
use super::{injected, os_error, SimFailure, SimOp, SimStorage};
use crate::error::{Error, Result};
use crate::storage::{Mapping, StorageFile};

#[derive(Debug)]
pub(super) struct SimFile {
    pub(super) sim: SimStorage,
    pub(super) inode: Arc<Inode>,
    pub(super) path: PathBuf,
}

impl SimFile {
    fn begin(&self, op: SimOp) -> Result<Option<SimFailure>> {
        let mut state = self.sim.state.lock();
        self.sim.begin(&mut state, op, &self.path)
    }
}

// SAFETY: a simulated file lives in memory: its mapping is a buffer of at least the mapped
// length that never moves or shrinks while mapped, so no read through it can fault, whatever
// the file's length.
#[allow(unsafe_code)]
unsafe impl StorageFile for SimFile {
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
        let at = in_memory(position);
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
        if in_memory(len) > contents.len {
            contents.set_len(in_memory(len));
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        if let Some(failure) = self.begin(SimOp::SetLen)? {
            return Err(injected("truncate", &self.path, failure));
        }
        self.inode.contents.lock().set_len(in_memory(len));
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

/// A position or length in a simulated file, whose bytes live in memory: one past what memory
/// could hold saturates, and the allocation then fails as it would have.
fn in_memory(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}
