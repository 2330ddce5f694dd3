//! A native module: one code space, its header (trampoline, lazy stubs, jump table), and every
//! code object placed in it, with publication, removal and reclamation.
//!
//! Life of a code object: `publish` copies the compiled function into the code space, applies its
//! relocations, lists it in the lookup table and then patches its jump-table slot (so it can be
//! found before it can be reached). The slot holds one reference; the caller gets another
//! ([`WasmCodeRef`]). When the last reference goes (replaced or removed, and no handle left) the
//! code is *dead*: still listed and mapped, since frames may still run it. After a grace period it
//! is taken out of the lookup table; after a second one its object and memory are freed.

use std::collections::BTreeMap;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard};

use kiln_abi::{CompiledFunction, RelocationTarget, Tier};
use kiln_assembler_x64::patch::{JUMP_SLOT_SIZE, jump_slot, rel32, write_jump_slot};

use crate::code_space::CodeSpace;
use crate::epoch::{self, Tag};
use crate::jump_table::{HeaderLayout, TRAMPOLINE_SIZE};
use crate::lookup::{self, CodeTable, ModuleLookup, TableEntry};
use crate::{CodeError, CodeKind, MemoryUsage, WasmCode, WasmCodeRef};

/// Whether a publication may replace code of a higher tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PublishMode {
    /// Install unless the slot holds code of a higher tier (equal tiers replace).
    #[default]
    Normal,
    /// Install whatever the slot holds (debugging: baseline debug code replaces optimized code).
    ForceReplace,
}

/// Which installed function code [`NativeModule::remove_compiled_code`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoveFilter {
    /// All baseline code, debug or not.
    Baseline,
    /// Baseline debug code only.
    Debug,
    /// All code that is not debug code (baseline and optimized).
    NonDebug,
}

impl RemoveFilter {
    fn matches(self, kind: CodeKind) -> bool {
        match self {
            RemoveFilter::Baseline => matches!(kind, CodeKind::Baseline | CodeKind::BaselineDebug),
            RemoveFilter::Debug => kind == CodeKind::BaselineDebug,
            RemoveFilter::NonDebug => matches!(kind, CodeKind::Baseline | CodeKind::Optimized),
        }
    }
}

/// What [`NativeModule::remove_compiled_code`] took out of the jump table.
///
/// The bytes are those of the code unlinked by the call, reported at once; the memory itself is
/// returned later, once the last reference to each code drops and a grace period passes
/// ([`MemoryUsage::dead_code_bytes`] shows what is still waiting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RemovedCode {
    /// Functions whose slot went back to the lazy stub.
    pub functions: usize,
    /// Instruction bytes unlinked.
    pub code_bytes: usize,
    /// Metadata bytes of the unlinked code.
    pub metadata_bytes: usize,
}

/// What [`NativeModule::free_dead_code`] (or [`crate::CodeManager::free_dead_code`]) took
/// out of use: dead code on no stack, whose memory is returned as soon as no lookup can see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FreedCode {
    /// Code objects freed.
    pub codes: usize,
    /// Their instruction bytes.
    pub code_bytes: usize,
    /// Their metadata bytes.
    pub metadata_bytes: usize,
    /// Dead code objects kept because a reported pc lies in them.
    pub kept_on_stack: usize,
}

impl std::ops::AddAssign for FreedCode {
    fn add_assign(&mut self, other: FreedCode) {
        self.codes += other.codes;
        self.code_bytes += other.code_bytes;
        self.metadata_bytes += other.metadata_bytes;
        self.kept_on_stack += other.kept_on_stack;
    }
}

/// One function to publish in a batch.
#[derive(Clone, Copy, Debug)]
pub struct PublishRequest<'a> {
    /// The wasm function index (imports included in the index space).
    pub func_index: u32,
    /// [`CodeKind::Baseline`], [`CodeKind::BaselineDebug`] or [`CodeKind::Optimized`].
    pub kind: CodeKind,
    /// The compiled code and its metadata.
    pub function: &'a CompiledFunction,
    /// Whether it may replace higher-tier code.
    pub mode: PublishMode,
}

/// A pointer to a code object owned by a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CodePtr(NonNull<WasmCode>);

// SAFETY: code objects are immutable but for an atomic count, and are freed only under the
// module's lock after their grace period.
unsafe impl Send for CodePtr {}

impl CodePtr {
    fn get(&self) -> &WasmCode {
        // SAFETY: a `CodePtr` held by a module's state points to an object the state has not
        // freed yet.
        unsafe { self.0.as_ref() }
    }
}

#[derive(Debug)]
struct ModuleState {
    space: CodeSpace,
    /// Installed code per declared function; each holds one reference.
    slots: Vec<Option<CodePtr>>,
    /// Every code object still listed in the lookup table, by start address.
    listed: BTreeMap<usize, CodePtr>,
    /// The current table's levels and the entries listed since it was built (unsorted);
    /// `table_stale` once code left `listed`, so the next table is rebuilt from it.
    table_levels: Vec<Arc<[TableEntry]>>,
    table_added: Vec<TableEntry>,
    table_stale: bool,
    /// Listed code whose count reached zero, with its retirement tag.
    dead: Vec<(Tag, CodePtr)>,
    /// Code taken out of the lookup table, with the tag it was taken out at.
    unlisted: Vec<(Tag, CodePtr)>,
    /// Replaced lookup tables, with their retirement tag.
    old_tables: Vec<(Tag, Box<CodeTable>)>,
    code_bytes: [usize; CodeKind::COUNT],
    metadata_bytes: usize,
    dead_code_bytes: usize,
}

/// The state shared by a module's handles and its code references.
#[derive(Debug)]
pub(crate) struct ModuleShared {
    id: u64,
    imported: u32,
    declared: u32,
    exec_base: usize,
    reserved: usize,
    header: HeaderLayout,
    lookup: NonNull<ModuleLookup>,
    registry_index: AtomicUsize,
    /// Taken out in `drop`, hence `ManuallyDrop`.
    state: ManuallyDrop<Mutex<ModuleState>>,
}

// SAFETY: `lookup` is owned by this value and only read through atomics; everything else is
// behind the mutex or immutable.
unsafe impl Send for ModuleShared {}
// SAFETY: as above.
unsafe impl Sync for ModuleShared {}

/// What is left of a dropped module, kept for one grace period. The objects stay boxed: readers
/// may still hold pointers to them, so they must not move.
#[expect(clippy::vec_box, reason = "boxed objects must keep their addresses")]
struct ModuleRemains {
    _lookup: Box<ModuleLookup>,
    _tables: Vec<Box<CodeTable>>,
    _codes: Vec<Box<WasmCode>>,
    _space: CodeSpace,
}

static NEXT_MODULE_ID: AtomicUsize = AtomicUsize::new(1);

/// The code of one wasm module: a code space holding a jump table with one slot per declared
/// function, the lazy stubs the slots start at, and every published function.
///
/// A cheap handle (`Clone` shares it). Publication, removal and reclamation take the module's
/// lock; calls through the jump table and [`crate::lookup`] take none. The code space is
/// unmapped once the last handle and the last [`WasmCodeRef`] are gone and a grace period passed.
#[derive(Clone, Debug)]
pub struct NativeModule {
    shared: Arc<ModuleShared>,
}

impl NativeModule {
    pub(crate) fn create(
        imported: u32,
        declared: u32,
        code_space: usize,
        builtin: Option<usize>,
    ) -> Result<NativeModule, CodeError> {
        let mut space = CodeSpace::reserve(code_space)?;
        let header = HeaderLayout { slots: declared };
        if header.size() > space.size() {
            return Err(CodeError::TooManyFunctions {
                functions: declared,
                header_bytes: header.size(),
                reserved: space.size(),
            });
        }
        let offset = space.allocate(header.size())?;
        debug_assert_eq!(offset, 0, "the header comes first");
        let exec_base = space.exec_base();
        let bytes = header.encode(exec_base, imported, builtin)?;
        // SAFETY: the header's range was just allocated (so committed and writable in the
        // writable view) and no one else knows of the code space yet.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), space.write_ptr(0), bytes.len()) };

        let mut state = ModuleState {
            space,
            slots: vec![None; declared as usize],
            listed: BTreeMap::new(),
            table_levels: Vec::new(),
            table_added: Vec::new(),
            table_stale: false,
            dead: Vec::new(),
            unlisted: Vec::new(),
            old_tables: Vec::new(),
            code_bytes: [0; CodeKind::COUNT],
            metadata_bytes: 0,
            dead_code_bytes: 0,
        };
        state.add_code(new_code(
            exec_base,
            0,
            TRAMPOLINE_SIZE,
            CodeKind::LazyStub,
            None,
            None,
        ));
        if declared > 0 {
            let start = header.stub_offset(0);
            let len = header.table_offset() - start;
            state.add_code(new_code(
                exec_base,
                start,
                len,
                CodeKind::LazyStub,
                None,
                None,
            ));
        }
        let table = Box::into_raw(Box::new(state.build_table()));

        let id = NEXT_MODULE_ID.fetch_add(1, Ordering::Relaxed) as u64;
        let reserved = state.space.size();
        let shared = Arc::new_cyclic(|weak| ModuleShared {
            id,
            imported,
            declared,
            exec_base,
            reserved,
            header,
            lookup: NonNull::from(Box::leak(Box::new(ModuleLookup {
                id,
                table: AtomicPtr::new(table),
                module: weak.clone(),
            }))),
            registry_index: AtomicUsize::new(usize::MAX),
            state: ManuallyDrop::new(Mutex::new(state)),
        });
        let index = lookup::register(exec_base, exec_base + reserved, shared.lookup)?;
        shared.registry_index.store(index, Ordering::Relaxed);
        Ok(NativeModule { shared })
    }

    pub(crate) fn from_shared(shared: Arc<ModuleShared>) -> NativeModule {
        NativeModule { shared }
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<ModuleShared> {
        Arc::downgrade(&self.shared)
    }

    /// A process-unique id, also reported by [`crate::CodeLookup::module_id`].
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// Number of imported functions (they have no slot).
    pub fn imported_functions(&self) -> u32 {
        self.shared.imported
    }

    /// Number of declared functions (one slot each).
    pub fn declared_functions(&self) -> u32 {
        self.shared.declared
    }

    /// The executable address range of the module's code space.
    pub fn code_space(&self) -> std::ops::Range<usize> {
        self.shared.exec_base..self.shared.exec_base + self.shared.reserved
    }

    /// Address of the jump-table slot of declared function `func_index`: call it to call the
    /// function's current code (or its lazy stub).
    pub fn jump_table_slot(&self, func_index: u32) -> Result<usize, CodeError> {
        let slot = self.shared.slot_of(func_index)?;
        Ok(self.shared.exec_base + self.shared.header.slot_offset(slot))
    }

    /// Address of the lazy-compile stub of declared function `func_index`.
    pub fn lazy_stub(&self, func_index: u32) -> Result<usize, CodeError> {
        let slot = self.shared.slot_of(func_index)?;
        Ok(self.shared.exec_base + self.shared.header.stub_offset(slot))
    }

    /// The code installed for `func_index`, or `None` while the slot points to its lazy stub.
    pub fn code(&self, func_index: u32) -> Option<WasmCodeRef> {
        let slot = self.shared.slot_of(func_index).ok()?;
        let state = self.shared.lock();
        let code = state.slots[slot as usize]?;
        code.get().ref_count.fetch_add(1, Ordering::Relaxed);
        // SAFETY: we just added the reference the handle owns, under the lock that keeps the
        // installed code alive.
        Some(unsafe { WasmCodeRef::from_counted(code.0, self.shared.clone()) })
    }

    /// Publishes one function in [`PublishMode::Normal`]. See [`NativeModule::publish_batch`].
    pub fn publish(
        &self,
        func_index: u32,
        kind: CodeKind,
        function: &CompiledFunction,
    ) -> Result<WasmCodeRef, CodeError> {
        self.publish_with(func_index, kind, function, PublishMode::Normal)
    }

    /// Publishes one function with an explicit mode. See [`NativeModule::publish_batch`].
    pub fn publish_with(
        &self,
        func_index: u32,
        kind: CodeKind,
        function: &CompiledFunction,
        mode: PublishMode,
    ) -> Result<WasmCodeRef, CodeError> {
        let mut codes = self.publish_batch(&[PublishRequest {
            func_index,
            kind,
            function,
            mode,
        }])?;
        Ok(codes.pop().expect("one request, one code"))
    }

    /// Places glue code that belongs to no function (an entry or exit trampoline, a builtin
    /// shim): position-independent `code`, listed for [`crate::lookup`] as
    /// [`CodeKind::Trampoline`], reachable only through the returned reference's address.
    /// Cost: the copy and one rebuild of the lookup table.
    pub fn publish_trampoline(&self, code: &[u8]) -> Result<WasmCodeRef, CodeError> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        let offset = state.space.allocate(code.len())?;
        // SAFETY: `[offset, offset + len)` was just allocated: committed, writable in the
        // writable view, and not yet reachable by any other thread.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), state.space.write_ptr(offset), code.len())
        };
        let placed = new_code(
            shared.exec_base,
            offset,
            code.len(),
            CodeKind::Trampoline,
            None,
            None,
        );
        state.add_code(placed);
        shared.swap_table(&mut state);
        drop(state);
        // SAFETY: the code was created with the one reference this handle now owns.
        Ok(unsafe { WasmCodeRef::from_counted(placed.0, self.shared.clone()) })
    }

    /// Places each function in the code space, applies its relocations (`Function(i)` resolves
    /// to slot `i`), lists it for lookup and, unless the slot holds a higher tier (and the mode
    /// is [`PublishMode::Normal`]), patches its slot with one atomic store: a thread calling
    /// through the slot meanwhile runs either the old or the new target. Later requests for the
    /// same function win over earlier ones of equal tier.
    ///
    /// Returns one reference per request, in order (check [`NativeModule::code`] to see whether
    /// it was installed; code that was not installed dies with its last reference). All or
    /// nothing: on error nothing is published. Cost: the copy, one allocation per function, and
    /// one new lookup table per batch (O(log n) levels, merges amortized): publish in batches.
    pub fn publish_batch(
        &self,
        requests: &[PublishRequest<'_>],
    ) -> Result<Vec<WasmCodeRef>, CodeError> {
        let shared = &*self.shared;
        for request in requests {
            shared.validate(request)?;
        }
        let mut state = shared.lock();
        let mut offsets = Vec::with_capacity(requests.len());
        for request in requests {
            match state.space.allocate(request.function.code.len()) {
                Ok(offset) => offsets.push(offset),
                Err(e) => {
                    for (offset, done) in offsets.iter().zip(requests) {
                        state.space.free(*offset, done.function.code.len());
                    }
                    return Err(e);
                }
            }
        }
        for (request, &offset) in requests.iter().zip(&offsets) {
            if let Err(e) = shared.place(&state.space, request.function, offset) {
                for (offset, done) in offsets.iter().zip(requests) {
                    state.space.free(*offset, done.function.code.len());
                }
                return Err(e);
            }
        }
        let mut codes = Vec::with_capacity(requests.len());
        for (request, &offset) in requests.iter().zip(&offsets) {
            let f = request.function;
            let code = new_code(
                shared.exec_base,
                offset,
                f.code.len(),
                request.kind,
                Some(request.func_index),
                Some(f),
            );
            state.add_code(code);
            codes.push(code);
        }
        // Listed before reachable: a trap in the new code always finds it.
        shared.swap_table(&mut state);
        for (request, code) in requests.iter().zip(&codes) {
            let slot = shared.slot_of(request.func_index)? as usize;
            let install = match (request.mode, state.slots[slot]) {
                (PublishMode::ForceReplace, _) | (_, None) => true,
                (PublishMode::Normal, Some(old)) => tier(code) >= tier(&old),
            };
            if install {
                code.get().ref_count.fetch_add(1, Ordering::Relaxed);
                shared.patch_slot(&state, slot as u32, code.get().instruction_start);
                if let Some(old) = state.slots[slot].replace(*code) {
                    state.release(old);
                }
            }
        }
        drop(state);
        let refs = codes
            .into_iter()
            // SAFETY: each code was created with the one reference this handle now owns.
            .map(|code| unsafe { WasmCodeRef::from_counted(code.0, self.shared.clone()) })
            .collect();
        self.reclaim();
        Ok(refs)
    }

    /// Sends every installed function code matching `filter` back to its lazy stub. The code
    /// stays mapped while referenced or possibly running, and is freed later; see
    /// [`RemovedCode`] for what is reported.
    pub fn remove_compiled_code(&self, filter: RemoveFilter) -> RemovedCode {
        let shared = &*self.shared;
        let mut removed = RemovedCode::default();
        let mut state = shared.lock();
        for slot in 0..shared.declared {
            let Some(code) = state.slots[slot as usize] else {
                continue;
            };
            if !filter.matches(code.get().kind) {
                continue;
            }
            let stub = shared.exec_base + shared.header.stub_offset(slot);
            shared.patch_slot(&state, slot, stub);
            state.slots[slot as usize] = None;
            removed.functions += 1;
            removed.code_bytes += code.get().instructions_len;
            removed.metadata_bytes += code.get().metadata_size();
            state.release(code);
        }
        drop(state);
        self.reclaim();
        removed
    }

    /// Frees what the grace periods allow: dead code that no execution scope can still be
    /// running leaves the lookup table; code out of the table that no lookup can still see is
    /// freed with its memory; old lookup tables and dropped modules' remains are freed. Never
    /// waits. Publication and removal call it; the engine may call it when idle.
    pub fn reclaim(&self) {
        epoch::try_advance();
        epoch::reclaim_orphans();
        let shared = &*self.shared;
        let mut state = shared.lock();
        let state = &mut *state;
        state.free_unlisted();
        let (ready, waiting): (Vec<_>, Vec<_>) = state
            .dead
            .drain(..)
            .partition(|(tag, _)| tag.unseen_by_execution());
        state.dead = waiting;
        shared.unlist(state, ready.into_iter().map(|(_, code)| code).collect());
        state.old_tables.retain(|(tag, _)| !tag.unseen_by_lookups());
    }

    /// Code GC by stack scan, like V8's: frees every dead code object of this module (replaced
    /// or removed, with no [`WasmCodeRef`] left) that contains none of `on_stack`, without
    /// waiting for [`crate::ExecutionScope`]s, so code is reclaimed even while some thread is
    /// inside a long wasm call that does not use it.
    ///
    /// `on_stack` must hold, for every thread that may have wasm frames of this module, every
    /// code address of those frames (the runtime's `wasm_pcs_on_stack`), each reported at a
    /// safepoint the thread reached *after* the code died (after the `publish` or
    /// [`NativeModule::remove_compiled_code`] that replaced it). Dead code cannot be entered
    /// any more (slots and references go elsewhere), so a frame running it must have existed at
    /// that point and is in the report; code in no report can be freed. Threads without wasm
    /// frames report nothing. Unsorted, duplicates allowed.
    ///
    /// The code leaves the lookup table at once; its object and memory are freed as soon as no
    /// lookup that could have found it is in progress (normally before this returns, otherwise
    /// at the next [`NativeModule::reclaim`]). Cost: O((dead codes + pcs) log pcs) plus one
    /// lookup-table rebuild if anything is freed.
    pub fn free_dead_code(&self, on_stack: &[usize]) -> FreedCode {
        let mut pcs = on_stack.to_vec();
        pcs.sort_unstable();
        let shared = &*self.shared;
        let mut freed = FreedCode::default();
        {
            let mut state = shared.lock();
            let state = &mut *state;
            let (used, unused): (Vec<_>, Vec<_>) = state.dead.drain(..).partition(|(_, code)| {
                let c = code.get();
                let i = pcs.partition_point(|&pc| pc < c.instruction_start);
                pcs.get(i).is_some_and(|&pc| c.contains(pc))
            });
            state.dead = used;
            freed.kept_on_stack = state.dead.len();
            for (_, code) in &unused {
                let c = code.get();
                freed.codes += 1;
                freed.code_bytes += c.instructions_len;
                freed.metadata_bytes += c.metadata_size();
            }
            shared.unlist(state, unused.into_iter().map(|(_, code)| code).collect());
        }
        self.reclaim();
        freed
    }

    /// A snapshot of this module's memory use.
    pub fn memory_usage(&self) -> MemoryUsage {
        let state = self.shared.lock();
        // Old tables share levels with the current one; count each level once.
        let current = &state.table_levels;
        let tables: usize = state
            .old_tables
            .iter()
            .flat_map(|(_, t)| t.levels.iter())
            .filter(|level| !current.iter().any(|c| Arc::ptr_eq(c, level)))
            .map(|level| level.len())
            .sum::<usize>()
            + current.iter().map(|level| level.len()).sum::<usize>()
            + state.table_added.len();
        MemoryUsage {
            reserved_bytes: state.space.size(),
            committed_bytes: state.space.committed_bytes(),
            code_bytes: state.code_bytes,
            metadata_bytes: state.metadata_bytes + tables * size_of::<TableEntry>(),
            dead_code_bytes: state.dead_code_bytes,
            modules: 1,
        }
    }
}

impl ModuleShared {
    fn lock(&self) -> MutexGuard<'_, ModuleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lookup(&self) -> &ModuleLookup {
        // SAFETY: owned by `self` until `drop`.
        unsafe { self.lookup.as_ref() }
    }

    fn slot_of(&self, func_index: u32) -> Result<u32, CodeError> {
        func_index
            .checked_sub(self.imported)
            .filter(|&slot| slot < self.declared)
            .ok_or(CodeError::FunctionIndexOutOfRange {
                index: func_index,
                imported: self.imported,
                declared: self.declared,
            })
    }

    fn validate(&self, request: &PublishRequest<'_>) -> Result<(), CodeError> {
        if !request.kind.is_function() {
            return Err(CodeError::NotFunctionCode { kind: request.kind });
        }
        self.slot_of(request.func_index)?;
        let f = request.function;
        let len = f.code.len();
        let out = |what, offset| CodeError::MetadataOutOfBounds {
            what,
            offset,
            code_len: len,
        };
        for r in &f.relocations {
            if r.offset as usize + 4 > len {
                return Err(out("relocation", r.offset));
            }
            let RelocationTarget::Function(target) = r.target;
            self.slot_of(target)?;
        }
        // Both tables are sorted (an invariant of `CompiledFunction`, checked in debug builds
        // here and in `SourcePositions::new`): their last entries bound them.
        debug_assert!(f.trap_sites.is_sorted_by_key(|s| s.pc_offset));
        if let Some(site) = f.trap_sites.last().filter(|s| s.pc_offset as usize >= len) {
            return Err(out("trap site", site.pc_offset));
        }
        if let Some(pc) = f.source_positions.last_pc().filter(|&pc| pc as usize > len) {
            return Err(out("source position", pc));
        }
        Ok(())
    }

    /// Copies the function's code into the writable view at `offset`, then applies every
    /// relocation in place for execution at `exec_base + offset`. One copy, no allocation.
    /// `f` must have passed [`ModuleShared::validate`] and `[offset, offset + code len)` must be
    /// freshly allocated in `space` (on error its content is unspecified: the caller frees it).
    fn place(
        &self,
        space: &CodeSpace,
        f: &CompiledFunction,
        offset: usize,
    ) -> Result<(), CodeError> {
        let dst = space.write_ptr(offset);
        // SAFETY: `[offset, offset + len)` was just allocated: committed, writable in the
        // writable view, and not yet reachable by any other thread or by executing code.
        unsafe { std::ptr::copy_nonoverlapping(f.code.as_ptr(), dst, f.code.len()) };
        let start = self.exec_base + offset;
        for r in &f.relocations {
            let RelocationTarget::Function(target) = r.target;
            let slot = self.exec_base + self.header.slot_offset(self.slot_of(target)?);
            let field = start + r.offset as usize;
            let out = CodeError::RelocationOutOfRange { offset: r.offset };
            let disp = rel32(field as u64 + 4, slot as u64).map_err(|_| out.clone())?;
            let value = disp.checked_add(r.addend).ok_or(out)?;
            // SAFETY: `validate` checked `r.offset + 4 <= len`, so the field lies in the range
            // written just above; it may be unaligned.
            unsafe {
                dst.add(r.offset as usize)
                    .cast::<[u8; 4]>()
                    .write_unaligned(value.to_le_bytes())
            };
        }
        Ok(())
    }

    /// Points slot `slot` at `target` with one atomic store. Called with the lock held.
    fn patch_slot(&self, state: &ModuleState, slot: u32, target: usize) {
        let offset = self.header.slot_offset(slot);
        let bytes = jump_slot((self.exec_base + offset) as u64, target as u64)
            .expect("targets inside one reservation are within rel32 reach");
        debug_assert_eq!(offset % JUMP_SLOT_SIZE, 0);
        // SAFETY: the slot lies in the committed header, is 8-byte aligned (the header starts
        // page aligned and slots are 8-byte aligned within it), and slots are only written here
        // under the module's lock; executing threads only fetch it as instructions.
        unsafe { write_jump_slot(state.space.write_ptr(offset), bytes) };
    }

    /// Takes `codes` (dead, not installed) out of the lookup table; they are freed once no
    /// lookup can still see them.
    fn unlist(&self, state: &mut ModuleState, codes: Vec<CodePtr>) {
        if codes.is_empty() {
            return;
        }
        for code in &codes {
            state.listed.remove(&code.get().instruction_start);
        }
        state.table_stale = true;
        self.swap_table(state);
        let tag = epoch::retire_epoch();
        state
            .unlisted
            .extend(codes.into_iter().map(|code| (tag, code)));
    }

    /// Replaces the lookup table with one built from `state.listed`; retires the old one.
    fn swap_table(&self, state: &mut ModuleState) {
        let table = Box::into_raw(Box::new(state.build_table()));
        let old = self.lookup().table.swap(table, Ordering::SeqCst);
        let tag = epoch::retire_epoch();
        // SAFETY: `old` came from `Box::into_raw` and is no longer reachable from the module;
        // readers that loaded it are covered by the grace period of `tag`.
        state.old_tables.push((tag, unsafe { Box::from_raw(old) }));
    }

    /// Drops one reference (from a [`WasmCodeRef`]); retires the code if it was the last.
    pub(crate) fn dec_ref(&self, code: NonNull<WasmCode>) {
        // SAFETY: the caller owns one reference, which keeps the object alive until here.
        if unsafe { code.as_ref() }
            .ref_count
            .fetch_sub(1, Ordering::Release)
            == 1
        {
            fence(Ordering::Acquire);
            self.lock().mark_dead(CodePtr(code));
        }
    }
}

impl ModuleState {
    fn add_code(&mut self, code: CodePtr) {
        let c = code.get();
        self.code_bytes[c.kind.index()] += c.instructions_len;
        self.metadata_bytes += c.metadata_size();
        self.listed.insert(c.instruction_start, code);
        self.table_added.push(entry_of(&code));
    }

    /// The next lookup table: the current levels plus the entries added since, or one level
    /// rebuilt from `listed` if entries were removed. Cost: O(log n) plus the merges (O(n log n)
    /// over all additions), or O(listed) on a rebuild.
    fn build_table(&mut self) -> CodeTable {
        if self.table_stale {
            self.table_levels.clear();
            self.table_added.clear();
            let all: Vec<TableEntry> = self.listed.values().map(entry_of).collect();
            CodeTable::add_level(&mut self.table_levels, all);
            self.table_stale = false;
        } else {
            let added = std::mem::take(&mut self.table_added);
            CodeTable::add_level(&mut self.table_levels, added);
        }
        CodeTable {
            levels: self.table_levels.clone().into(),
        }
    }

    /// Drops the reference a slot held.
    fn release(&mut self, code: CodePtr) {
        if code.get().ref_count.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            self.mark_dead(code);
        }
    }

    /// Frees the unlisted code no lookup can still see, with its memory.
    fn free_unlisted(&mut self) {
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .unlisted
            .drain(..)
            .partition(|(tag, _)| tag.unseen_by_lookups());
        self.unlisted = waiting;
        for (_, code) in ready {
            let c = code.get();
            self.space.free(c.alloc_offset, c.instructions_len);
            self.code_bytes[c.kind.index()] -= c.instructions_len;
            self.metadata_bytes -= c.metadata_size();
            self.dead_code_bytes -= c.instructions_len;
            // SAFETY: the code is out of the lookup table since before every lookup in progress
            // began, its count is zero and it is not installed, and no frame runs it (an
            // execution grace period passed, or a stack scan proved it): nothing refers to it
            // any more. It came from `Box::into_raw` in `new_code`.
            drop(unsafe { Box::from_raw(code.0.as_ptr()) });
        }
    }

    fn mark_dead(&mut self, code: CodePtr) {
        self.dead_code_bytes += code.get().instructions_len;
        self.dead.push((epoch::retire_epoch(), code));
    }
}

impl Drop for ModuleShared {
    fn drop(&mut self) {
        let index = *self.registry_index.get_mut();
        if index != usize::MAX {
            lookup::unregister(index);
        }
        // SAFETY: `state` is taken exactly once, here, and not used afterwards.
        let state = unsafe { ManuallyDrop::take(&mut self.state) };
        let mut state = state.into_inner().unwrap_or_else(|e| e.into_inner());
        let codes = std::mem::take(&mut state.listed)
            .into_values()
            .chain(state.unlisted.drain(..).map(|(_, code)| code))
            // SAFETY: no handle or reference to the module is left, so no code of it is
            // installed or referenced; each came from `Box::into_raw` and is freed once.
            .map(|code| unsafe { Box::from_raw(code.0.as_ptr()) })
            .collect();
        let remains = ModuleRemains {
            // SAFETY: `lookup` came from `Box::leak` in `create` and is freed only here.
            _lookup: unsafe { Box::from_raw(self.lookup.as_ptr()) },
            _tables: state.old_tables.drain(..).map(|(_, table)| table).collect(),
            _codes: codes,
            _space: state.space,
        };
        // Readers that found the registry entry may still look at the tables and codes.
        epoch::retire_orphan(epoch::retire_epoch(), Box::new(remains));
        // Free them now if no reader is inside (the usual case), so dropping the last module
        // returns its reservation without waiting for some later reclaim.
        epoch::try_advance();
        epoch::reclaim_orphans();
    }
}

fn entry_of(code: &CodePtr) -> TableEntry {
    let c = code.get();
    TableEntry {
        start: c.instruction_start,
        end: c.instruction_start + c.instructions_len,
        code: code.0,
    }
}

fn tier(code: &CodePtr) -> Tier {
    code.get().kind.tier().expect("slots hold function code")
}

/// Creates a code object for `[offset, offset + len)` with one reference.
fn new_code(
    exec_base: usize,
    offset: usize,
    len: usize,
    kind: CodeKind,
    index: Option<u32>,
    function: Option<&CompiledFunction>,
) -> CodePtr {
    let code = WasmCode {
        instruction_start: exec_base + offset,
        instructions_len: len,
        alloc_offset: offset,
        kind,
        index,
        trap_sites: function
            .map(|f| f.trap_sites.clone().into())
            .unwrap_or_default(),
        source_positions: function
            .map(|f| f.source_positions.clone())
            .unwrap_or_default(),
        frame_size: function.map_or(0, |f| f.frame_size),
        debug_side_table: function.and_then(|f| f.debug_side_table.clone().map(Into::into)),
        ref_count: AtomicUsize::new(1),
    };
    CodePtr(NonNull::from(Box::leak(Box::new(code))))
}
