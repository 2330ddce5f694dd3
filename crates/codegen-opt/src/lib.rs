//! Kiln's optimizing tier: WebAssembly function bodies translated to Cranelift IR with
//! `cranelift-frontend` and compiled with `cranelift-codegen` for the host.
//!
//! It will emit the same `kiln_abi::CompiledFunction` as the baseline tier, under the same calling
//! convention, so tier-up can swap code under a running program. Nothing is implemented yet; see
//! the project issues.

#![deny(missing_docs)]
