//! The contract between Kiln's two compilers and its runtime.
//!
//! Everything that generated code and the machinery around it must agree on lives here, defined
//! once: trap codes ([`TrapCode`]), the record a compiler hands to the code manager
//! ([`CompiledFunction`] with its relocations, trap sites and source positions) and the tiers
//! ([`Tier`]). The `VMContext` layout computed from a module, the calling convention as data and
//! the builtin ids join them with the runtime.

#![deny(missing_docs)]

mod compiled;
mod trap;

pub use compiled::{
    CompiledFunction, Relocation, RelocationTarget, SourcePosition, Tier, TrapSite,
};
pub use trap::TrapCode;
