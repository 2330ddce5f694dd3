//! Kiln's baseline tier: a single-pass compiler in the style of V8's Liftoff.
//!
//! It will walk each function body once with wasmparser's operator reader, keeping an abstract
//! value stack of registers, stack slots and constants, emit x86-64 through
//! `kiln-assembler-x64`, and produce a `kiln_abi::CompiledFunction`. Nothing is implemented
//! yet; see the project issues.

#![deny(missing_docs)]
