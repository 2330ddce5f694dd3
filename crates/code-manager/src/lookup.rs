//! pc -> code lookup for trap handlers, profilers and frame walkers: no lock, no allocation.
//!
//! Two levels:
//!
//! * A process-wide registry of [`MAX_NATIVE_MODULES`] fixed entries, each the code-space range
//!   of one live module and a pointer to that module's [`ModuleLookup`]. Writers (module creation
//!   and drop) serialize on a mutex and guard each entry with a sequence number (odd while being
//!   written); readers scan the entries and accept one only if its sequence number was even and
//!   unchanged around their reads, so a reader never acts on a torn entry.
//! * Per module, an immutable table of `(start, end, code)` in a few sorted runs ([`CodeTable`]),
//!   covering every code object not yet freed (installed, replaced or removed but possibly still
//!   running). Publishing builds a new table and swaps it in with one atomic pointer store;
//!   readers binary-search the runs of the table they loaded.
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

/// An immutable table of a module's code: sorted runs ("levels") of entries, each shared with
/// the tables before and after it; every code object is in exactly one level, and no two
/// entries overlap.
///
/// Publishing adds the new entries as one more level and merges it with the newest levels
/// while they are no larger, as a binary counter carries (the logarithmic method): listing n
/// code objects in batches costs O(n log n) in all, and a table holds O(log n) levels, each
/// binary-searched by a lookup.
#[derive(Debug)]
pub(crate) struct CodeTable {
    pub(crate) levels: Box<[Arc<[TableEntry]>]>,
}

impl CodeTable {
    fn find(&self, pc: usize) -> Option<NonNull<WasmCode>> {
        self.levels
            .iter()
            .find_map(|level| Self::find_in(level, pc))
    }

    fn find_in(entries: &[TableEntry], pc: usize) -> Option<NonNull<WasmCode>> {
        let i = entries.partition_point(|e| e.start <= pc).checked_sub(1)?;
        let entry = entries[i];
        (pc < entry.end).then_some(entry.code)
    }

    /// `levels` with `added` (unsorted) as a new level, merged with the newest levels while
    /// they are no larger than it.
    pub(crate) fn add_level(levels: &mut Vec<Arc<[TableEntry]>>, mut added: Vec<TableEntry>) {
        if added.is_empty() {
            return;
        }
        added.sort_unstable_by_key(|e| e.start);
        while let Some(newest) = levels.last()
            && newest.len() <= added.len()
        {
            added = merge(newest, &added);
            levels.pop();
        }
        levels.push(added.into());
    }
}

/// The entries of two sorted runs, sorted.
fn merge(a: &[TableEntry], b: &[TableEntry]) -> Vec<TableEntry> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].start < b[j].start {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
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

    /// An entry for `[start, start + 10)` whose code pointer is `start` (never dereferenced).
    fn entry(start: usize) -> TableEntry {
        TableEntry {
            start,
            end: start + 10,
            code: NonNull::new(start as *mut WasmCode).unwrap(),
        }
    }

    #[test]
    fn levels_stay_few_sorted_and_complete() {
        let mut levels = Vec::new();
        let mut all = Vec::new();
        // Batches of varying sizes at scattered addresses, as workers publish them.
        let mut next = 7usize;
        for batch in 0..500 {
            let added: Vec<TableEntry> = (0..1 + batch % 9)
                .map(|_| {
                    next = (next * 7919 + 13) % 1_000_003;
                    entry(100 + next * 16)
                })
                .collect();
            all.extend(added.iter().map(|e| e.start));
            CodeTable::add_level(&mut levels, added);
            let n: usize = levels.iter().map(|l| l.len()).sum();
            assert_eq!(n, all.len());
            assert!(
                levels.len() <= n.ilog2() as usize + 1,
                "{} levels",
                levels.len()
            );
            for level in &levels {
                assert!(level.windows(2).all(|w| w[0].start < w[1].start));
            }
        }
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            all.len(),
            "the test's addresses must not repeat"
        );
        let table = CodeTable {
            levels: levels.into(),
        };
        for &start in &all {
            let found = table.find(start + 9).map(|c| c.as_ptr() as usize);
            assert_eq!(found, Some(start));
            // Entries are 16 bytes apart and 10 long: the rest is a gap.
            assert!(table.find(start + 12).is_none());
        }
        assert!(table.find(99).is_none());
    }

    #[test]
    fn unknown_pcs_find_nothing() {
        assert!(lookup(0).is_none());
        assert!(lookup(unknown_pcs_find_nothing as fn() as usize).is_none());
    }
}
