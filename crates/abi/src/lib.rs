//! The contract between Kiln's two compilers and its runtime.
//!
//! Everything that generated code and the machinery around it must agree on is defined here,
//! once:
//! - [`calling_convention`]: where arguments and results live at every wasm call (Cranelift's
//!   `tail` convention on x86-64, reproduced by the baseline tier), as data from
//!   [`call_layout`];
//! - [`VMContextLayout`]: the per-instance block generated code reads memories, tables,
//!   globals, imports, signature ids, tier-up budgets and the stack limit from;
//! - [`BuiltinId`]: the runtime functions generated code may call;
//! - [`TrapCode`]: why code trapped, with the spec's messages;
//! - [`CompiledFunction`]: what a compiler hands the code manager (code, relocations, trap
//!   sites, source positions, frame size, debug side table), the [`Tier`] that made it, and
//!   the [`CompileError`] either tier reports.

#![deny(missing_docs)]

mod builtins;
pub mod calling_convention;
mod compile_error;
mod compiled;
mod source_positions;
mod trap;
mod vmcontext;

pub use builtins::BuiltinId;
pub use calling_convention::{CallLayout, Location, call_layout};
pub use compile_error::CompileError;
pub use compiled::{
    CompiledFunction, Relocation, RelocationTarget, SourcePosition, Tier, TrapSite,
};
pub use source_positions::SourcePositions;
pub use trap::TrapCode;
pub use vmcontext::{
    BoundsChecks, FUNCREF_SIZE, FUNCTION_IMPORT_SIZE, GLOBAL_SIZE, GUARD_SIZE,
    MEMORY_DEFINITION_SIZE, Place, TABLE_DEFINITION_SIZE, VMContextLayout, VMFuncRef,
    VMFunctionImport, VMGlobal, VMMemoryDefinition, VMTableDefinition,
};
