//! Linear memories: reservations, guard regions, growth.
//!
//! In [`BoundsChecks::Guard`] mode a 32-bit memory reserves [`GUARD_RESERVATION`] bytes of
//! address space: 4 GiB for every possible 32-bit address plus a 2 GiB guard, so
//! `address + offset + access size` stays inside the reservation for every static offset below
//! 2 GiB (code must bounds-check accesses with larger static offsets explicitly). Only the
//! current pages are accessible, growth makes more of them read-write in place and the base
//! never moves. In [`BoundsChecks::Explicit`] mode (and for 64-bit memories) the reservation
//! is the declared maximum, or the current size when there is none, and growing beyond it
//! moves the memory to a new mapping. Reservations are released when the owning store drops.
//!
//! Every reservation is listed for the fault handler, so a fault inside one is reported as
//! `out of bounds memory access`.

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln_abi::{TrapCode, VMMemoryDefinition};
use kiln_decoder::MemoryType;

use crate::store::StoreInner;
use crate::{Store, Trap, traphandler};
use kiln_abi::BoundsChecks;

/// Bytes per wasm page.
pub const WASM_PAGE_SIZE: u64 = 64 << 10;
/// Most pages of a memory this runtime supports (4 GiB).
pub const MAX_PAGES: u64 = 1 << 16;
/// Address space reserved per 32-bit memory in guard mode: 4 GiB + [`kiln_abi::GUARD_SIZE`].
pub const GUARD_RESERVATION: usize = (4 << 30) + kiln_abi::GUARD_SIZE as usize;

static LIVE_RESERVATIONS: AtomicUsize = AtomicUsize::new(0);

/// Number of linear-memory reservations currently mapped in the process (for leak checks).
pub fn live_memory_reservations() -> usize {
    LIVE_RESERVATIONS.load(Ordering::SeqCst)
}

/// The runtime's record of one linear memory. Lives in a store at a stable address.
pub(crate) struct MemoryData {
    pub ty: MemoryType,
    base: *mut u8,
    reserved: usize,
    max_pages: u64,
    /// The definition importers point to.
    pub def: Box<VMMemoryDefinition>,
    /// The defining instance's inline copy, kept equal to `def`; null if none.
    pub mirror: *mut VMMemoryDefinition,
    registry_slot: Option<usize>,
}

fn map_none(len: usize) -> Result<*mut u8, String> {
    // SAFETY: a fresh anonymous, inaccessible mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(format!("cannot reserve {len} bytes for a linear memory"))
    } else {
        Ok(p.cast())
    }
}

fn make_accessible(base: *mut u8, from: usize, to: usize) -> Result<(), String> {
    if to <= from {
        return Ok(());
    }
    // SAFETY: `[from, to)` lies inside the reservation at `base` (checked by callers).
    let rc = unsafe {
        libc::mprotect(
            base.add(from).cast(),
            to - from,
            libc::PROT_READ | libc::PROT_WRITE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err("cannot commit linear memory pages".to_string())
    }
}

impl MemoryData {
    pub(crate) fn new(ty: MemoryType, mode: BoundsChecks) -> Result<MemoryData, String> {
        let max_pages = ty.maximum.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        if ty.initial > max_pages {
            return Err(format!(
                "memory of {} pages exceeds the limit of {max_pages}",
                ty.initial
            ));
        }
        let bytes = (ty.initial * WASM_PAGE_SIZE) as usize;
        let page = traphandler::page_size();
        let reserved = if mode == BoundsChecks::Guard && !ty.memory64 {
            GUARD_RESERVATION
        } else if ty.maximum.is_some() {
            ((max_pages * WASM_PAGE_SIZE) as usize).max(page)
        } else {
            bytes.max(page)
        };
        let base = map_none(reserved)?;
        LIVE_RESERVATIONS.fetch_add(1, Ordering::SeqCst);
        let registry_slot =
            traphandler::register_reservation(base as usize, base as usize + reserved);
        let mut data = MemoryData {
            ty,
            base,
            reserved,
            max_pages,
            def: Box::new(VMMemoryDefinition {
                base,
                length: bytes,
            }),
            mirror: std::ptr::null_mut(),
            registry_slot,
        };
        if data.registry_slot.is_none() {
            return Err(format!(
                "too many linear memories (at most {})",
                traphandler::MAX_RESERVATIONS
            ));
        }
        make_accessible(base, 0, bytes)?;
        data.sync();
        Ok(data)
    }

    fn sync(&mut self) {
        self.def.base = self.base;
        if !self.mirror.is_null() {
            // SAFETY: the mirror is the defining instance's inline definition, which lives as
            // long as the store, like this memory.
            unsafe {
                (*self.mirror).base = self.def.base;
                (*self.mirror).length = self.def.length;
            }
        }
    }

    /// Sets the defining instance's inline definition and fills it.
    pub(crate) fn set_mirror(&mut self, mirror: *mut VMMemoryDefinition) {
        self.mirror = mirror;
        self.sync();
    }

    pub(crate) fn byte_len(&self) -> usize {
        self.def.length
    }

    pub(crate) fn pages(&self) -> u64 {
        self.def.length as u64 / WASM_PAGE_SIZE
    }

    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// `memory.grow`: the previous size in pages, or `None` if it cannot grow by `delta`.
    pub(crate) fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta).filter(|&n| n <= self.max_pages)?;
        let old_bytes = self.def.length;
        let new_bytes = (new * WASM_PAGE_SIZE) as usize;
        if new_bytes <= self.reserved {
            make_accessible(self.base, old_bytes, new_bytes).ok()?;
        } else {
            let base = map_none(new_bytes).ok()?;
            if make_accessible(base, 0, new_bytes).is_err() {
                // SAFETY: unmapping the mapping just created.
                unsafe { libc::munmap(base.cast(), new_bytes) };
                return None;
            }
            // SAFETY: both ranges are accessible and distinct mappings.
            unsafe { std::ptr::copy_nonoverlapping(self.base, base, old_bytes) };
            self.release();
            LIVE_RESERVATIONS.fetch_add(1, Ordering::SeqCst);
            self.base = base;
            self.reserved = new_bytes;
            self.registry_slot =
                traphandler::register_reservation(base as usize, base as usize + new_bytes);
            // Moving happens only in explicit mode, whose code checks bounds itself: the
            // registry only classifies faults, so a full registry is harmless here.
        }
        self.def.length = new_bytes;
        self.sync();
        Some(old)
    }

    /// The bytes `[offset, offset + len)`, or `None` if out of bounds.
    pub(crate) fn slice_mut(&mut self, offset: u64, len: u64) -> Option<&mut [u8]> {
        let end = offset.checked_add(len)?;
        if end > self.def.length as u64 {
            return None;
        }
        // SAFETY: the range is inside the accessible part of the memory. Wasm memories are
        // plain bytes shared with generated code; callers do not keep the slice across calls.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.base.add(offset as usize), len as usize)
        })
    }

    fn release(&mut self) {
        if let Some(slot) = self.registry_slot.take() {
            traphandler::unregister_reservation(slot);
        }
        // SAFETY: unmapping the reservation this record owns; nothing refers to it any more.
        unsafe { libc::munmap(self.base.cast(), self.reserved) };
        LIVE_RESERVATIONS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for MemoryData {
    fn drop(&mut self) {
        self.release();
    }
}

/// A handle to a linear memory of a store.
#[derive(Clone)]
pub struct Memory {
    pub(crate) store: Rc<StoreInner>,
    pub(crate) data: *mut MemoryData,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("ty", &self.ty())
            .field("pages", &self.size())
            .finish()
    }
}

impl Memory {
    /// A new memory of type `ty` owned by `store` (to be imported by instances).
    pub fn new(store: &Store, ty: MemoryType) -> Result<Memory, String> {
        let data = MemoryData::new(ty, store.inner.runtime.config().bounds_checks)?;
        let data = store.inner.add_memory(data);
        Ok(Memory {
            store: store.inner.clone(),
            data,
        })
    }

    /// The store owning the memory.
    pub fn store(&self) -> Store {
        Store::from_inner(&self.store)
    }

    fn get(&self) -> &MemoryData {
        // SAFETY: memories live as long as their store, which `self.store` keeps alive.
        unsafe { &*self.data }
    }

    #[allow(
        clippy::mut_from_ref,
        reason = "the record is owned by the single-threaded store and the reference does not \
                  outlive the calling method"
    )]
    fn get_mut(&self) -> &mut MemoryData {
        // SAFETY: as in `get`; no other reference to the record is live during the call.
        unsafe { &mut *self.data }
    }

    /// The memory's type (its declared limits).
    pub fn ty(&self) -> MemoryType {
        self.get().ty
    }

    /// Current size in pages.
    pub fn size(&self) -> u64 {
        self.get().pages()
    }

    /// Current size in bytes.
    pub fn data_size(&self) -> usize {
        self.get().byte_len()
    }

    /// Address of byte 0 (valid until the memory grows in explicit mode).
    pub fn data_ptr(&self) -> *mut u8 {
        self.get().base()
    }

    /// Grows by `delta` pages: the previous size, or `None` (the memory is unchanged).
    pub fn grow(&self, delta: u64) -> Option<u64> {
        self.get_mut().grow(delta)
    }

    /// Copies bytes at `offset` into `buf`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Trap> {
        let src = self
            .get_mut()
            .slice_mut(offset, buf.len() as u64)
            .ok_or_else(|| Trap::from_code(TrapCode::MemoryOutOfBounds))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copies `bytes` to `offset`.
    pub fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), Trap> {
        let dst = self
            .get_mut()
            .slice_mut(offset, bytes.len() as u64)
            .ok_or_else(|| Trap::from_code(TrapCode::MemoryOutOfBounds))?;
        dst.copy_from_slice(bytes);
        Ok(())
    }
}
