//! The `VMContext`: the per-instance block of memory generated code reads its world from.
//!
//! Every wasm function receives its instance's `VMContext` pointer as its first argument (see
//! [`crate::calling_convention`]). The block starts with a fixed header and continues with
//! arrays whose sizes depend on the module; [`VMContextLayout::new`] computes their offsets once
//! per module, and both tiers and the runtime read offsets only from it.
//!
//! ```text
//! offset  field                                         size
//! 0       magic "KILN"                                  4 (+4 padding)
//! 8       stack limit: lowest rsp wasm may use          8
//! 16      builtins: *const [fn; BuiltinId::COUNT]       8
//! 24      instance: the runtime's owner of this block   8
//! 32      signature ids  [u32; types]                   engine-wide canonical id per type index
//! ..      tier-up budgets [i32; defined functions]
//! ..      imported functions [VMFunctionImport; n]      (code, vmctx) pairs
//! ..      imported memories [*mut VMMemoryDefinition; n]
//! ..      defined memories [VMMemoryDefinition; n]      (base, length in bytes)
//! ..      imported tables [*mut VMTableDefinition; n]
//! ..      defined tables [VMTableDefinition; n]         (elements, length)
//! ..      imported globals [*mut VMGlobal; n]
//! ..      defined globals [VMGlobal; n]                 16 bytes each, 16-aligned
//! ..      funcrefs [VMFuncRef; functions]               what ref.func and tables point to
//! ```
//!
//! Imported memories, tables and globals are reached through a pointer to the exporter's
//! definition, so growth and writes are seen by every importer; defined ones live inline.

use kiln_decoder::Module;

/// How generated code keeps memory accesses inside their memory; compiled code and the
/// runtime's memories must agree on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BoundsChecks {
    /// 32-bit memories reserve 4 GiB plus a [`GUARD_SIZE`] guard region, so any 32-bit address
    /// plus any static offset below [`GUARD_SIZE`] lands in the reservation; code does no
    /// checks (larger offsets are checked explicitly), an out-of-bounds access faults in
    /// inaccessible pages, and that instruction is a recorded trap site. The base never moves.
    #[default]
    Guard,
    /// Memories reserve only what they need and code compares every access with
    /// [`VMMemoryDefinition::length`], trapping out of line. The base may move on grow, so code
    /// reloads it after calls.
    Explicit,
}

/// Bytes of inaccessible guard region after the 4 GiB of a guard-mode 32-bit memory.
pub const GUARD_SIZE: u64 = 2 << 30;

/// A linear memory as generated code sees it. `base` never changes while code runs between
/// calls (a call may grow the memory and move it, so code reloads after calls).
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Address of byte 0.
    pub base: *mut u8,
    /// Current length in bytes (a multiple of the page size).
    pub length: usize,
}

/// A table as generated code sees it: `length` pointer-sized elements at `base`. A funcref
/// element is a `*const VMFuncRef` (null for `ref.null`); an externref element is the host's
/// handle (0 for null).
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// Address of element 0.
    pub base: *mut usize,
    /// Number of elements.
    pub length: u32,
    /// Padding to 16 bytes.
    pub _pad: u32,
}

/// An imported function: its code (entered with the calling convention) and the `VMContext` to
/// pass it (the exporter's, or the host function's context).
#[repr(C)]
#[derive(Debug)]
pub struct VMFunctionImport {
    /// Entry point.
    pub code: *const u8,
    /// First argument for the call.
    pub vmctx: *mut u8,
}

/// A function reference: what `ref.func` produces and funcref tables hold pointers to.
/// `call_indirect` compares `type_id` with the expected signature's canonical id, then calls
/// `code` with `vmctx`. For a function defined in a module, `code` is its jump-table slot, so
/// tier-up reaches callers through references too.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Entry point.
    pub code: *const u8,
    /// Engine-wide canonical signature id.
    pub type_id: u32,
    /// Padding.
    pub _pad: u32,
    /// First argument for the call.
    pub vmctx: *mut u8,
}

/// Storage of one global: 16 bytes, enough for a `v128`; smaller values use the low bytes
/// (little-endian), references are pointer-sized.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobal(pub [u8; 16]);

/// Where an entity's definition is, relative to the `VMContext`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The definition itself is at this offset.
    Inline(u32),
    /// A pointer to the (exporter's) definition is at this offset.
    Imported(u32),
}

/// Offsets of everything in one module's `VMContext`. Computed once per module in
/// O(number of index-space entries); every query is O(1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMContextLayout {
    num_types: u32,
    num_imported_functions: u32,
    num_defined_functions: u32,
    num_imported_memories: u32,
    num_defined_memories: u32,
    num_imported_tables: u32,
    num_defined_tables: u32,
    num_imported_globals: u32,
    num_defined_globals: u32,
    signature_ids: u32,
    tier_up_budgets: u32,
    imported_functions: u32,
    imported_memories: u32,
    defined_memories: u32,
    imported_tables: u32,
    defined_tables: u32,
    imported_globals: u32,
    defined_globals: u32,
    funcrefs: u32,
    size: u32,
}

/// Bytes of [`VMFunctionImport`].
pub const FUNCTION_IMPORT_SIZE: u32 = 16;
/// Bytes of [`VMMemoryDefinition`].
pub const MEMORY_DEFINITION_SIZE: u32 = 16;
/// Bytes of [`VMTableDefinition`].
pub const TABLE_DEFINITION_SIZE: u32 = 16;
/// Bytes of [`VMGlobal`].
pub const GLOBAL_SIZE: u32 = 16;
/// Bytes of [`VMFuncRef`].
pub const FUNCREF_SIZE: u32 = 24;

impl VMContextLayout {
    /// Offset of the magic number [`VMContextLayout::MAGIC_VALUE`].
    pub const MAGIC: u32 = 0;
    /// The magic number, `"KILN"` little-endian, for sanity checks in debug builds and dumps.
    pub const MAGIC_VALUE: u32 = u32::from_le_bytes(*b"KILN");
    /// Offset of the stack limit: every prologue traps with `StackOverflow` if its frame would
    /// take `rsp` below this address.
    pub const STACK_LIMIT: u32 = 8;
    /// Offset of the pointer to the builtin function table, indexed by `BuiltinId as usize`.
    pub const BUILTINS: u32 = 16;
    /// Offset of the runtime's pointer to the instance owning this block.
    pub const INSTANCE: u32 = 24;
    const HEADER_SIZE: u32 = 32;

    /// The layout for instances of `module`.
    pub fn new(module: &Module) -> VMContextLayout {
        let count = |n: usize| u32::try_from(n).expect("validated module counts fit in u32");
        let num_types = count(module.types.len());
        let num_imported_functions = module.num_imported_functions;
        let num_defined_functions = count(module.functions.len()) - num_imported_functions;
        let num_imported_memories = module.num_imported_memories;
        let num_defined_memories = count(module.memories.len()) - num_imported_memories;
        let num_imported_tables = module.num_imported_tables;
        let num_defined_tables = count(module.tables.len()) - num_imported_tables;
        let num_imported_globals = module.num_imported_globals;
        let num_defined_globals = count(module.globals.len()) - num_imported_globals;

        let mut next = Self::HEADER_SIZE;
        let mut region = |len: u32, size: u32, align: u32| {
            let start = next.next_multiple_of(align);
            next = start + len * size;
            start
        };
        let signature_ids = region(num_types, 4, 8);
        let tier_up_budgets = region(num_defined_functions, 4, 8);
        let imported_functions = region(num_imported_functions, FUNCTION_IMPORT_SIZE, 8);
        let imported_memories = region(num_imported_memories, 8, 8);
        let defined_memories = region(num_defined_memories, MEMORY_DEFINITION_SIZE, 8);
        let imported_tables = region(num_imported_tables, 8, 8);
        let defined_tables = region(num_defined_tables, TABLE_DEFINITION_SIZE, 8);
        let imported_globals = region(num_imported_globals, 8, 8);
        let defined_globals = region(num_defined_globals, GLOBAL_SIZE, 16);
        let funcrefs = region(
            num_imported_functions + num_defined_functions,
            FUNCREF_SIZE,
            8,
        );
        let size = next.next_multiple_of(16);
        VMContextLayout {
            num_types,
            num_imported_functions,
            num_defined_functions,
            num_imported_memories,
            num_defined_memories,
            num_imported_tables,
            num_defined_tables,
            num_imported_globals,
            num_defined_globals,
            signature_ids,
            tier_up_budgets,
            imported_functions,
            imported_memories,
            defined_memories,
            imported_tables,
            defined_tables,
            imported_globals,
            defined_globals,
            funcrefs,
            size,
        }
    }

    /// Total bytes of the block (a multiple of 16; allocate it 16-aligned).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the canonical signature id (`u32`) of type index `type_index`.
    pub fn signature_id(&self, type_index: u32) -> u32 {
        debug_assert!(type_index < self.num_types);
        self.signature_ids + 4 * type_index
    }

    /// Offset of the tier-up budget (`i32`) of the `defined_index`-th defined function
    /// (function index minus the number of imported functions).
    pub fn tier_up_budget(&self, defined_index: u32) -> u32 {
        debug_assert!(defined_index < self.num_defined_functions);
        self.tier_up_budgets + 4 * defined_index
    }

    /// Offset of the [`VMFunctionImport`] of imported function `func_index`.
    pub fn imported_function(&self, func_index: u32) -> u32 {
        debug_assert!(func_index < self.num_imported_functions);
        self.imported_functions + FUNCTION_IMPORT_SIZE * func_index
    }

    /// Where memory `index`'s [`VMMemoryDefinition`] is.
    pub fn memory(&self, index: u32) -> Place {
        if index < self.num_imported_memories {
            Place::Imported(self.imported_memories + 8 * index)
        } else {
            let defined = index - self.num_imported_memories;
            debug_assert!(defined < self.num_defined_memories);
            Place::Inline(self.defined_memories + MEMORY_DEFINITION_SIZE * defined)
        }
    }

    /// Where table `index`'s [`VMTableDefinition`] is.
    pub fn table(&self, index: u32) -> Place {
        if index < self.num_imported_tables {
            Place::Imported(self.imported_tables + 8 * index)
        } else {
            let defined = index - self.num_imported_tables;
            debug_assert!(defined < self.num_defined_tables);
            Place::Inline(self.defined_tables + TABLE_DEFINITION_SIZE * defined)
        }
    }

    /// Where global `index`'s [`VMGlobal`] is.
    pub fn global(&self, index: u32) -> Place {
        if index < self.num_imported_globals {
            Place::Imported(self.imported_globals + 8 * index)
        } else {
            let defined = index - self.num_imported_globals;
            debug_assert!(defined < self.num_defined_globals);
            Place::Inline(self.defined_globals + GLOBAL_SIZE * defined)
        }
    }

    /// Offset of function `func_index`'s [`VMFuncRef`].
    pub fn funcref(&self, func_index: u32) -> u32 {
        debug_assert!(func_index < self.num_imported_functions + self.num_defined_functions);
        self.funcrefs + FUNCREF_SIZE * func_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    #[test]
    fn record_sizes_match_the_constants() {
        assert_eq!(size_of::<VMFunctionImport>() as u32, FUNCTION_IMPORT_SIZE);
        assert_eq!(
            size_of::<VMMemoryDefinition>() as u32,
            MEMORY_DEFINITION_SIZE
        );
        assert_eq!(size_of::<VMTableDefinition>() as u32, TABLE_DEFINITION_SIZE);
        assert_eq!(size_of::<VMGlobal>() as u32, GLOBAL_SIZE);
        assert_eq!(align_of::<VMGlobal>(), 16);
        assert_eq!(size_of::<VMFuncRef>() as u32, FUNCREF_SIZE);
        assert_eq!(std::mem::offset_of!(VMFuncRef, type_id), 8);
        assert_eq!(std::mem::offset_of!(VMFuncRef, vmctx), 16);
    }

    #[test]
    fn regions_are_disjoint_aligned_and_inside() {
        let wasm = r#"(module
            (type (func)) (type (func (param i32)))
            (import "m" "f" (func (type 0))) (import "m" "g" (func (type 1)))
            (import "m" "mem" (memory 1)) (import "m" "t" (table 1 funcref))
            (import "m" "glob" (global (mut i64)))
            (table 2 externref) (table 3 funcref)
            (global f64 (f64.const 1)) (global (mut i32) (i32.const 2)) (global v128 (v128.const i64x2 0 0))
            (func) (func) (func))"#;
        let features = kiln_decoder::Features::default().with(kiln_decoder::Proposal::MultiMemory);
        let module = kiln_decoder::decode(&wat::parse_str(wasm).unwrap(), &features).unwrap();
        let l = VMContextLayout::new(&module);
        let mut ranges = vec![(0, VMContextLayout::HEADER_SIZE)];
        ranges.extend((0..2).map(|t| (l.signature_id(t), 4)));
        ranges.extend((0..3).map(|f| (l.tier_up_budget(f), 4)));
        ranges.extend((0..2).map(|f| (l.imported_function(f), FUNCTION_IMPORT_SIZE)));
        let size_of_place = |p: Place, inline: u32| match p {
            Place::Inline(o) => (o, inline),
            Place::Imported(o) => (o, 8),
        };
        ranges.push(size_of_place(l.memory(0), MEMORY_DEFINITION_SIZE));
        assert!(matches!(l.memory(0), Place::Imported(_)));
        ranges.extend((0..3).map(|t| size_of_place(l.table(t), TABLE_DEFINITION_SIZE)));
        assert!(matches!(l.table(1), Place::Inline(_)));
        ranges.extend((0..4).map(|g| size_of_place(l.global(g), GLOBAL_SIZE)));
        for g in 1..4 {
            let Place::Inline(off) = l.global(g) else {
                panic!("defined global is inline")
            };
            assert_eq!(off % 16, 0);
        }
        ranges.extend((0..5).map(|f| (l.funcref(f), FUNCREF_SIZE)));
        ranges.sort();
        for pair in ranges.windows(2) {
            assert!(pair[0].0 + pair[0].1 <= pair[1].0, "overlap: {pair:?}");
        }
        let (last, len) = *ranges.last().unwrap();
        assert!(last + len <= l.size());
        assert_eq!(l.size() % 16, 0);
    }
}
