//! pc -> code lookup for trap handlers, profilers and frame walkers: no lock, no allocation.
//!
//! Two levels:
//!
//! * A process-wide registry of [`MAX_NATIVE_MODULES`] fixed entries, each the code-space range
//!   of one live module and a pointer to that module's [`ModuleLookup`]. Writers (module creation
//!   and drop) serialize on a mutex and guard each entry with a sequence number (odd while being
//!   written); readers scan the entries and accept one only if its sequence number was even and
//!   unchanged around their reads, so a reader never acts on a torn entry.
//! * Per module, an immutable table of `(start, end, code)` sorted by start, covering every code
//!   object not yet freed (installed, replaced or removed but possibly still running). Publishing
//!   builds a new table and swaps it in with one atomic pointer store; readers binary-search the
//!   table they loaded.
//!
//! Why nothing a reader holds is freed under it: every lookup runs inside a lookup read
//! section (see the grace periods in `epoch`). A module unregisters its entry before retiring its
//! [`ModuleLookup`]; an old table is retired after the new one is swapped in; a code object is
//! taken out of the table before it is retired; and each retired thing is freed only after a
//! grace period, when every read section that could have seen it has ended.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Weak};

use kiln_abi::TrapCode;

use crate::epoch::LookupGuard;
use crate::native_module::ModuleShared;
use crate::{CodeError, NativeModule, WasmCode, WasmCodeRef};

/// Capacity of the process-wide module registry: at most this many native modules are alive at
/// once.
pub const MAX_NATIVE_MODULES: usize = 4096;

/// One code object's range in a lookup table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TableEntry {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) code: NonNull<WasmCode>,
}

// SAFETY: an entry is plain data; its code pointer is only dereferenced inside read sections,
// which keep the object alive, and code objects are themselves `Sync`.
unsafe impl Send for TableEntry {}
// SAFETY: as above.
unsafe impl Sync for TableEntry {}

/// An immutable table of a module's code: a large sorted `base`, shared between successive
/// tables, plus a small sorted `recent` part with code listed since the base was built. Each
/// code object is in exactly one of them.
///
/// Publishing copies only `recent` (and folds it into a new base once it outgrows
/// [`CodeTable::recent_limit`]), so listing code one function at a time costs O(sqrt n) per
/// publication, amortized, instead of O(n).
#[derive(Debug)]
pub(crate) struct CodeTable {
    pub(crate) base: Arc<[TableEntry]>,
    pub(crate) recent: Box<[TableEntry]>,
}

impl CodeTable {
    /// The most entries `recent` may hold over a base of `base_len` entries.
    pub(crate) fn recent_limit(base_len: usize) -> usize {
        base_len.isqrt().max(32)
    }

    fn find(&self, pc: usize) -> Option<NonNull<WasmCode>> {
        Self::find_in(&self.recent, pc).or_else(|| Self::find_in(&self.base, pc))
    }

    fn find_in(entries: &[TableEntry], pc: usize) -> Option<NonNull<WasmCode>> {
        let i = entries.partition_point(|e| e.start <= pc).checked_sub(1)?;
        let entry = entries[i];
        (pc < entry.end).then_some(entry.code)
    }
}

/// What a lookup needs of a module; owned by the module, retired when it drops.
#[derive(Debug)]
pub(crate) struct ModuleLookup {
    pub(crate) id: u64,
    pub(crate) table: AtomicPtr<CodeTable>,
    pub(crate) module: Weak<ModuleShared>,
}

impl Drop for ModuleLookup {
    fn drop(&mut self) {
        let table = self.table.load(SeqCst);
        if !table.is_null() {
            // SAFETY: the table came from `Box::into_raw` and, the module being retired past its
            // grace period, no reader holds it.
            drop(unsafe { Box::from_raw(table) });
        }
    }
}

struct RegistryEntry {
    seq: AtomicU64,
    start: AtomicUsize,
    end: AtomicUsize,
    module: AtomicPtr<ModuleLookup>,
}

static REGISTRY: [RegistryEntry; MAX_NATIVE_MODULES] = [const {
    RegistryEntry {
        seq: AtomicU64::new(0),
        start: AtomicUsize::new(0),
        end: AtomicUsize::new(0),
        module: AtomicPtr::new(std::ptr::null_mut()),
    }
}; MAX_NATIVE_MODULES];

/// Entries at or above this index were never used; readers stop there.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
static REGISTRY_WRITERS: Mutex<()> = Mutex::new(());

fn write_entry(index: usize, start: usize, end: usize, module: *mut ModuleLookup) {
    let entry = &REGISTRY[index];
    entry.seq.fetch_add(1, SeqCst);
    entry.start.store(start, SeqCst);
    entry.end.store(end, SeqCst);
    entry.module.store(module, SeqCst);
    entry.seq.fetch_add(1, SeqCst);
}

/// Registers `[start, end)` as `module`'s code space; returns the entry index.
pub(crate) fn register(
    start: usize,
    end: usize,
    module: NonNull<ModuleLookup>,
) -> Result<usize, CodeError> {
    let _writers = REGISTRY_WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    let index = REGISTRY
        .iter()
        .position(|e| e.module.load(SeqCst).is_null())
        .ok_or(CodeError::TooManyModules {
            capacity: MAX_NATIVE_MODULES,
        })?;
    write_entry(index, start, end, module.as_ptr());
    HIGH_WATER.fetch_max(index + 1, SeqCst);
    Ok(index)
}

/// Clears entry `index`; the module's lookup data must then be retired, not freed.
pub(crate) fn unregister(index: usize) {
    let _writers = REGISTRY_WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    write_entry(index, 0, 0, std::ptr::null_mut());
}

fn find_module(pc: usize) -> Option<NonNull<ModuleLookup>> {
    for entry in &REGISTRY[..HIGH_WATER.load(SeqCst)] {
        let seq = entry.seq.load(SeqCst);
        if seq & 1 != 0 {
            // Being written: the module is being created or dropped, so no code of it runs.
            continue;
        }
        let start = entry.start.load(SeqCst);
        let end = entry.end.load(SeqCst);
        let module = entry.module.load(SeqCst);
        if entry.seq.load(SeqCst) != seq || !(start..end).contains(&pc) {
            continue;
        }
        return NonNull::new(module);
    }
    None
}

/// Finds the code containing `pc` in any live native module.
///
/// Safe to call from a signal handler: no lock, no allocation, no syscall; correct while other
/// threads publish, remove and drop code. Finds installed code, stubs, and replaced or removed
/// code not yet freed (a frame may still be running it). Jump-table slots are not code objects.
/// Cost: a scan of the used registry entries plus a binary search in one module's table.
pub fn lookup(pc: usize) -> Option<CodeLookup> {
    let scope = LookupGuard::enter();
    let module = find_module(pc)?;
    // SAFETY: the entry was valid while we were in our read section, so the module's lookup data
    // is not freed before `scope` drops.
    let table = unsafe { module.as_ref() }.table.load(SeqCst);
    // SAFETY: a published table is freed only after a grace period that `scope` holds back.
    let code = unsafe { table.as_ref()? }.find(pc)?;
    Some(CodeLookup {
        _scope: scope,
        pc,
        code,
        module,
    })
}

/// The result of [`lookup`]: the code containing a pc and its module, valid while this value
/// lives (it holds a read section, so nothing it refers to is freed). Dropping it is
/// signal-safe.
#[derive(Debug)]
pub struct CodeLookup {
    _scope: LookupGuard,
    pc: usize,
    code: NonNull<WasmCode>,
    module: NonNull<ModuleLookup>,
}

impl CodeLookup {
    /// The code containing the pc.
    pub fn code(&self) -> &WasmCode {
        // SAFETY: the read section in `_scope` keeps the object alive.
        unsafe { self.code.as_ref() }
    }

    /// The pc that was looked up.
    pub fn pc(&self) -> usize {
        self.pc
    }

    /// The pc's offset from the code's first instruction.
    pub fn pc_offset(&self) -> u32 {
        (self.pc - self.code().instruction_start()) as u32
    }

    /// The trap recorded at exactly this pc, if any.
    pub fn trap_code(&self) -> Option<TrapCode> {
        self.code().trap_at(self.pc)
    }

    /// The wasm byte offset of the instruction this pc belongs to, if recorded.
    pub fn wasm_offset(&self) -> Option<u32> {
        self.code().wasm_offset_at(self.pc)
    }

    /// The id of the native module holding the code ([`NativeModule::id`]).
    pub fn module_id(&self) -> u64 {
        // SAFETY: the read section keeps the module's lookup data alive.
        unsafe { self.module.as_ref() }.id
    }

    /// The native module holding the code, if it is still alive. Not signal-safe (the handle's
    /// drop may free the module).
    pub fn native_module(&self) -> Option<NativeModule> {
        // SAFETY: as in `module_id`.
        let module = unsafe { self.module.as_ref() }.module.upgrade()?;
        Some(NativeModule::from_shared(module))
    }

    /// An owning reference to the code, unless it is already dying (its count reached zero).
    /// Not signal-safe.
    pub fn code_ref(&self) -> Option<WasmCodeRef> {
        // SAFETY: as in `module_id`.
        let module = unsafe { self.module.as_ref() }.module.upgrade()?;
        if !self.code().try_inc_ref() {
            return None;
        }
        // SAFETY: we just added the reference the handle owns; the code belongs to `module`.
        Some(unsafe { WasmCodeRef::from_counted(self.code, module) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_pcs_find_nothing() {
        assert!(lookup(0).is_none());
        assert!(lookup(unknown_pcs_find_nothing as fn() as usize).is_none());
    }
}
