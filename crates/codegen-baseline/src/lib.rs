//! Kiln's baseline tier: a single-pass compiler from WebAssembly to x86-64 in the style of
//! V8's Liftoff and Wasmtime's Winch.
//!
//! [`compile_function`] walks one function body once with wasmparser's operator reader, with
//! no intermediate representation. It keeps an abstract value stack whose entries are a
//! register, a frame slot or a constant ([`value_stack`]), a register cache with use counts
//! that spills only when it runs out ([`regalloc`]), and merge states computed once per
//! control-flow join and reached with parallel moves ([`control`]). Code follows
//! [`kiln_abi::calling_convention`] exactly, so baseline and optimized functions call each
//! other, and is returned as a [`kiln_abi::CompiledFunction`] ready for the code manager.
//!
//! ```
//! let wasm = wat::parse_str("(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))").unwrap();
//! let module = kiln_decoder::decode(&wasm, &Default::default()).unwrap();
//! let options = kiln_codegen_baseline::CompileOptions::default();
//! let compiled = kiln_codegen_baseline::compile_function(&module, 0, &options).unwrap();
//! assert!(!compiled.code.is_empty());
//! ```
//!
//! Functions compile independently and the compiler holds no global state (each thread keeps
//! its last code buffer and value-stack vectors to reuse for its next function): compile
//! them on as many threads as wanted, sharing one [`CompileEnv`] per module.
//!
//! Debug code ([`CompileOptions::debug`], [`DebugOptions`]) keeps every value where a
//! debugger can find it at each instruction boundary, calls `BuiltinId::DebugBreak` where
//! asked, and describes its frames in a [`DebugSideTable`].

#![deny(missing_docs)]

mod compiler;
pub mod control;
pub mod debug_side_table;
mod error;
pub mod frame;
pub mod masm;
pub mod regalloc;
pub mod value_stack;

pub use debug_side_table::{
    DebugEntry, DebugLocation, DebugSideTable, DebugSideTableBuilder, DebugValue, EntryKind,
};
pub use error::CompileError;
pub use kiln_abi::BoundsChecks;
pub use kiln_assembler_x64::CpuFeatures;

use kiln_abi::{CallLayout, CompiledFunction, VMContextLayout, call_layout};
use kiln_decoder::Module;

/// Options of one compilation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CompileOptions {
    /// Bounds-check strategy.
    pub bounds_checks: BoundsChecks,
    /// Charge the tier-up budget at function entry and loop back edges, calling
    /// `BuiltinId::TierUp` when it runs out.
    pub tier_up: bool,
    /// Instruction-set extensions the code may use.
    pub cpu: CpuFeatures,
    /// Compile debug code ([`DebugOptions`]): slower and larger, with a debug side table.
    pub debug: Option<DebugOptions>,
}

/// What debug code checks. Debug code keeps every local in its frame slot and every operand
/// in its slot or as a constant at each instruction boundary (no register caching across
/// instructions), and records where each value is in a [`DebugSideTable`]
/// (`CompiledFunction::debug_side_table`) at every check and every wasm call site, so a
/// debugger can read and write them from the frame.
///
/// A check is an unconditional call to `BuiltinId::DebugBreak` (function index, wasm
/// offset): a debugger recompiles a function to add or remove them, as V8 does with Liftoff's
/// debug code. With no checks at all, the code still has call-site entries for inspecting
/// frames below the top of the stack.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DebugOptions {
    /// Wasm byte offsets (in the module) of instructions with a breakpoint; sorted, no
    /// duplicates. Offsets outside the function, or of unreachable code, never fire.
    breakpoints: Vec<u32>,
    /// Check before every reachable instruction (single stepping).
    pub every_instruction: bool,
    /// Check once on entry, after the prologue, at the wasm offset of the function body
    /// (stepping into a call).
    pub function_entry: bool,
}

impl DebugOptions {
    /// Checks at these wasm offsets only (in any order; duplicates are ignored).
    pub fn breakpoints(offsets: impl IntoIterator<Item = u32>) -> DebugOptions {
        let mut breakpoints: Vec<u32> = offsets.into_iter().collect();
        breakpoints.sort_unstable();
        breakpoints.dedup();
        DebugOptions {
            breakpoints,
            ..DebugOptions::default()
        }
    }

    /// Checks on entry and before every instruction: code for single stepping (V8 "floods"
    /// a function with breakpoints the same way).
    pub fn stepping() -> DebugOptions {
        DebugOptions {
            every_instruction: true,
            function_entry: true,
            ..DebugOptions::default()
        }
    }

    /// The breakpoint offsets, sorted.
    pub fn breakpoint_offsets(&self) -> &[u32] {
        &self.breakpoints
    }

    /// Whether there is a check before the instruction at `wasm_offset`. O(log breakpoints).
    pub fn checks(&self, wasm_offset: u32) -> bool {
        self.every_instruction || self.breakpoints.binary_search(&wasm_offset).is_ok()
    }
}

impl Default for CompileOptions {
    /// Guard regions, tier-up on, the running CPU's features, no debug code.
    fn default() -> CompileOptions {
        CompileOptions {
            bounds_checks: BoundsChecks::Guard,
            tier_up: true,
            cpu: CpuFeatures::detect(),
            debug: None,
        }
    }
}

/// What compiling any function of one module needs, computed once per module.
#[derive(Debug)]
pub struct CompileEnv<'m> {
    module: &'m Module,
    layout: VMContextLayout,
    /// The call layout of each function type, by type index (`None` for other types).
    call_layouts: Vec<Option<CallLayout>>,
}

impl<'m> CompileEnv<'m> {
    /// The environment for `module`. Cost: O(module index spaces and types), once.
    pub fn new(module: &'m Module) -> CompileEnv<'m> {
        let call_layouts = (0..module.types.len() as u32)
            .map(|i| {
                module
                    .func_type(i)
                    .map(|t| call_layout(t.params(), t.results()))
            })
            .collect();
        CompileEnv {
            module,
            layout: VMContextLayout::new(module),
            call_layouts,
        }
    }

    /// The `VMContext` layout generated code assumes.
    pub fn layout(&self) -> &VMContextLayout {
        &self.layout
    }

    /// Compiles defined function `func_index` (an index in the module's function index
    /// space). Cost: linear in the body size, plus the locals at each control-flow join.
    pub fn compile(
        &self,
        func_index: u32,
        options: &CompileOptions,
    ) -> Result<CompiledFunction, CompileError> {
        compiler::FuncCompiler::new(self, options, func_index)?.compile()
    }
}

/// Compiles defined function `func_index` of a validated `module`. To compile many functions
/// of one module, build a [`CompileEnv`] once instead.
pub fn compile_function(
    module: &Module,
    func_index: u32,
    options: &CompileOptions,
) -> Result<CompiledFunction, CompileError> {
    CompileEnv::new(module).compile(func_index, options)
}
