//! A simulated file's contents: a fixed-address volatile buffer that mappings read, the
//! durable bytes, the pages written since the last sync, and what a power cut leaves.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{PowerLoss, SIM_PAGE_BYTES};
use crate::random::SplitMix64;

/// Granularity of torn writes in [`PowerLoss::TornSectors`].
pub(super) const SECTOR_BYTES: usize = 512;

/// A fixed-address, zeroed byte buffer: mappings point into it, so it never moves; a larger
/// one replaces it, and the old one is kept until the file goes.
pub(super) struct Buffer {
    pub(super) ptr: std::ptr::NonNull<u8>,
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
pub(super) struct Contents {
    pub(super) buf: Buffer,
    /// Earlier buffers that mappings may still point into.
    pub(super) retired: Vec<Buffer>,
    pub(super) len: usize,
    /// The buffer holds zeros from here on.
    pub(super) high: usize,
    pub(super) durable: Vec<u8>,
    pub(super) durable_len: usize,
    /// Pages written since the last sync.
    pub(super) dirty: BTreeSet<usize>,
}

impl Contents {
    pub(super) fn new(bytes: &[u8], len: usize) -> Contents {
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

    pub(super) fn bytes(&self, range: std::ops::Range<usize>) -> Vec<u8> {
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

    pub(super) fn reserve(&mut self, cap: usize) {
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
    pub(super) fn copy_in(&mut self, at: usize, bytes: &[u8]) {
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

    pub(super) fn write(&mut self, at: usize, bytes: &[u8]) {
        self.copy_in(at, bytes);
        self.len = self.len.max(at + bytes.len());
        self.mark(at, at + bytes.len());
    }

    pub(super) fn set_len(&mut self, len: usize) {
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

    pub(super) fn mark(&mut self, from: usize, to: usize) {
        if from < to {
            self.dirty
                .extend(from / SIM_PAGE_BYTES..to.div_ceil(SIM_PAGE_BYTES));
        }
    }

    pub(super) fn sync(&mut self) {
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
    pub(super) fn after_power_loss(
        &self,
        how: PowerLoss,
        rng: &mut SplitMix64,
    ) -> (Vec<u8>, usize) {
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
                    start + SECTOR_BYTES * rng.index((end - start).div_ceil(SECTOR_BYTES))
                }
                PowerLoss::TornBytes | PowerLoss::Chaos if rng.chance() => {
                    start + rng.index(end - start)
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
pub(super) struct Inode {
    pub(super) contents: Mutex<Contents>,
}

impl Inode {
    /// A file holding `bytes` then zeros up to `len`, all of it durable.
    pub(super) fn new(bytes: &[u8], len: usize) -> Arc<Inode> {
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
