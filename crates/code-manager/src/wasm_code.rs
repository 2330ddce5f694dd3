//! Code objects: one per compiled function or stub, with metadata and a reference count.

use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln_abi::{SourcePositions, Tier, TrapCode, TrapSite};

use crate::native_module::ModuleShared;

/// What a piece of code in a code space is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// A function compiled by the baseline tier.
    Baseline,
    /// A function compiled by the baseline tier in debug mode (with a debug side table).
    BaselineDebug,
    /// A function compiled by the optimizing tier.
    Optimized,
    /// The module's lazy-compile path: its stubs and the far jump to the lazy-compile builtin.
    LazyStub,
    /// Glue that is not a wasm function: entry and exit trampolines, builtin shims
    /// ([`crate::NativeModule::publish_trampoline`]).
    Trampoline,
}

impl CodeKind {
    /// Number of kinds; [`CodeKind::index`] is below it.
    pub const COUNT: usize = 5;

    /// Every kind, in [`CodeKind::index`] order.
    pub const ALL: [CodeKind; CodeKind::COUNT] = [
        CodeKind::Baseline,
        CodeKind::BaselineDebug,
        CodeKind::Optimized,
        CodeKind::LazyStub,
        CodeKind::Trampoline,
    ];

    /// A dense index, for per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The tier of function code; `None` for stubs.
    pub fn tier(self) -> Option<Tier> {
        match self {
            CodeKind::Baseline | CodeKind::BaselineDebug => Some(Tier::Baseline),
            CodeKind::Optimized => Some(Tier::Optimized),
            CodeKind::LazyStub | CodeKind::Trampoline => None,
        }
    }

    /// Whether this is code for a wasm function (as opposed to a stub).
    pub fn is_function(self) -> bool {
        self.tier().is_some()
    }
}

/// One piece of placed code: its instructions in the executable view and its metadata.
///
/// Immutable once created, except for the reference count. Lives at a stable address from
/// publication until it is freed, which happens only after (1) its reference count dropped to
/// zero (the jump table's reference is gone and no [`WasmCodeRef`] is left) and (2) no thread
/// can be running it (see [`crate::ExecutionScope`] and [`crate::NativeModule::free_dead_code`])
/// and no lookup can still see it. Obtain one through a [`WasmCodeRef`] or a
/// [`crate::CodeLookup`].
pub struct WasmCode {
    pub(crate) instruction_start: usize,
    pub(crate) instructions_len: usize,
    /// Offset and length of the allocation in the code space.
    pub(crate) alloc_offset: usize,
    pub(crate) kind: CodeKind,
    pub(crate) index: Option<u32>,
    pub(crate) trap_sites: Box<[TrapSite]>,
    pub(crate) source_positions: SourcePositions,
    pub(crate) frame_size: u32,
    pub(crate) debug_side_table: Option<Box<[u8]>>,
    /// References: one from the jump table while installed, one per [`WasmCodeRef`].
    pub(crate) ref_count: AtomicUsize,
}

impl WasmCode {
    /// Executable address of the first instruction.
    pub fn instruction_start(&self) -> usize {
        self.instruction_start
    }

    /// Length of the instructions in bytes.
    pub fn instructions_len(&self) -> usize {
        self.instructions_len
    }

    /// The instructions, read from the executable view. They never change after publication.
    pub fn instructions(&self) -> &[u8] {
        // SAFETY: the range lies in a committed, readable page of the executable view for as
        // long as `self` is alive (freeing the code frees this object too), and no one writes it
        // after publication (function code and stubs are never patched in place).
        unsafe {
            std::slice::from_raw_parts(self.instruction_start as *const u8, self.instructions_len)
        }
    }

    /// Whether `pc` lies within the instructions.
    pub fn contains(&self, pc: usize) -> bool {
        pc.wrapping_sub(self.instruction_start) < self.instructions_len
    }

    /// What this code is.
    pub fn kind(&self) -> CodeKind {
        self.kind
    }

    /// The wasm function index (imports included in the index space); `None` for stubs.
    pub fn index(&self) -> Option<u32> {
        self.index
    }

    /// The tier that compiled it; `None` for stubs.
    pub fn tier(&self) -> Option<Tier> {
        self.kind.tier()
    }

    /// Whether this is baseline debug code.
    pub fn for_debugging(&self) -> bool {
        self.kind == CodeKind::BaselineDebug
    }

    /// Trapping instructions, sorted by pc offset.
    pub fn trap_sites(&self) -> &[TrapSite] {
        &self.trap_sites
    }

    /// pc offset -> wasm byte offset, sorted by pc offset.
    pub fn source_positions(&self) -> &SourcePositions {
        &self.source_positions
    }

    /// Bytes of stack the function's frame uses below the saved frame pointer.
    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// The debug side table of baseline debug code.
    pub fn debug_side_table(&self) -> Option<&[u8]> {
        self.debug_side_table.as_deref()
    }

    /// The trap recorded at exactly `pc` (an executable address), if any. O(log n); allocation
    /// free, so usable in a signal handler.
    pub fn trap_at(&self, pc: usize) -> Option<TrapCode> {
        let offset = u32::try_from(pc.checked_sub(self.instruction_start)?).ok()?;
        let i = self
            .trap_sites
            .binary_search_by_key(&offset, |s| s.pc_offset)
            .ok()?;
        Some(self.trap_sites[i].trap)
    }

    /// The wasm byte offset of the instruction covering `pc`: the last source position at or
    /// before it. O(n) in the function's positions (see [`SourcePositions::wasm_offset_at`]);
    /// allocation free.
    pub fn wasm_offset_at(&self, pc: usize) -> Option<u32> {
        let offset = u32::try_from(pc.checked_sub(self.instruction_start)?).ok()?;
        self.source_positions.wasm_offset_at(offset)
    }

    /// Bytes of metadata held for this code outside the code space (this object included).
    pub fn metadata_size(&self) -> usize {
        size_of::<WasmCode>()
            + size_of_val::<[TrapSite]>(&self.trap_sites)
            + self.source_positions.encoded_len()
            + self.debug_side_table.as_ref().map_or(0, |t| t.len())
    }

    /// Estimated memory held by this code: instructions plus metadata.
    pub fn size_estimate(&self) -> usize {
        self.instructions_len + self.metadata_size()
    }

    /// The current reference count (racy; for diagnostics and tests).
    pub fn ref_count(&self) -> usize {
        self.ref_count.load(Ordering::Relaxed)
    }

    /// Adds a reference unless the count already reached zero (the code is dying).
    pub(crate) fn try_inc_ref(&self) -> bool {
        let mut count = self.ref_count.load(Ordering::Relaxed);
        loop {
            if count == 0 {
                return false;
            }
            match self.ref_count.compare_exchange_weak(
                count,
                count + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => count = now,
            }
        }
    }
}

impl fmt::Debug for WasmCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmCode")
            .field("kind", &self.kind)
            .field("index", &self.index)
            .field("start", &format_args!("{:#x}", self.instruction_start))
            .field("len", &self.instructions_len)
            .field("ref_count", &self.ref_count())
            .finish_non_exhaustive()
    }
}

/// An owning reference to a [`WasmCode`]: while it lives, the code stays mapped, executable and
/// its metadata readable, even if the code was replaced or removed. Also keeps the module's code
/// space alive. Clone adds a reference; drop removes it (and may retire the code, which takes the
/// module's lock: do not drop one in a signal handler).
pub struct WasmCodeRef {
    code: NonNull<WasmCode>,
    module: Arc<ModuleShared>,
}

// SAFETY: `WasmCode` is immutable but for its atomic count, and the reference count keeps it
// alive wherever the handle goes.
unsafe impl Send for WasmCodeRef {}
// SAFETY: as above; `&WasmCodeRef` only gives `&WasmCode`.
unsafe impl Sync for WasmCodeRef {}

impl WasmCodeRef {
    /// Wraps a reference the caller already added to `code`'s count.
    ///
    /// # Safety
    /// `code` must point to a live code object of `module` whose count includes one reference
    /// that this handle now owns.
    pub(crate) unsafe fn from_counted(code: NonNull<WasmCode>, module: Arc<ModuleShared>) -> Self {
        WasmCodeRef { code, module }
    }
}

impl std::ops::Deref for WasmCodeRef {
    type Target = WasmCode;
    fn deref(&self) -> &WasmCode {
        // SAFETY: the reference this handle owns keeps the object alive.
        unsafe { self.code.as_ref() }
    }
}

impl Clone for WasmCodeRef {
    fn clone(&self) -> Self {
        self.ref_count.fetch_add(1, Ordering::Relaxed);
        WasmCodeRef {
            code: self.code,
            module: self.module.clone(),
        }
    }
}

impl Drop for WasmCodeRef {
    fn drop(&mut self) {
        self.module.dec_ref(self.code);
    }
}

impl fmt::Debug for WasmCodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Keeps every code it is handed alive until the scope drops, like V8's `WasmCodeRefScope`.
///
/// The runtime opens one around work that holds raw code pointers beyond an
/// [`crate::ExecutionScope`]: walking another thread's frames, building a stack trace, stepping
/// in the debugger. Cost: one atomic increment per code added, one decrement per code at drop.
#[derive(Debug, Default)]
pub struct CodeRefScope {
    refs: Vec<WasmCodeRef>,
}

impl CodeRefScope {
    /// An empty scope.
    pub fn new() -> CodeRefScope {
        CodeRefScope::default()
    }

    /// Keeps `code` alive until the scope drops and returns it.
    pub fn add(&mut self, code: WasmCodeRef) -> &WasmCode {
        self.refs.push(code);
        self.refs.last().expect("just pushed")
    }

    /// Looks up `pc` ([`crate::lookup`]) and keeps the code containing it alive until the scope
    /// drops: what a frame walker does for each frame. `None` if no live code contains `pc`.
    /// Not signal-safe (it may allocate).
    pub fn add_pc(&mut self, pc: usize) -> Option<&WasmCode> {
        let code = crate::lookup(pc)?.code_ref()?;
        Some(self.add(code))
    }

    /// Number of references held.
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    /// Whether the scope holds no reference.
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}
