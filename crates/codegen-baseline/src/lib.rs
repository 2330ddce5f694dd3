//! Kiln's baseline tier: a hand-written x86-64 assembler and a single-pass compiler in the
//! style of V8's Liftoff.
//!
//! The assembler (encodings described once, labels with automatic short/near jumps, a constant
//! pool, patchable jump-table slots) is usable on its own. The compiler will walk each function
//! body once with wasmparser's operator reader, keeping an abstract value stack of registers,
//! stack slots and constants, and emit a `kiln_abi::CompiledFunction`. Nothing is implemented
//! yet; see the project issues.

#![deny(missing_docs)]
