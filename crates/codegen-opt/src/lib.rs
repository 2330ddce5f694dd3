//! Kiln's optimizing tier: WebAssembly function bodies translated to Cranelift IR with
//! `cranelift-frontend` and compiled with `cranelift-codegen` for the host.
//!
//! It emits the same [`kiln_abi::CompiledFunction`] as the baseline tier, under the same calling
//! convention, so tier-up can swap code under a running program. The interface mirrors the
//! baseline tier's: a [`CompileEnv`] per module, shared by the compile threads, and one
//! [`CompileEnv::compile`] call per function.

#![deny(missing_docs)]

use kiln_abi::{BoundsChecks, CompileError, CompiledFunction};
use kiln_decoder::Module;

/// How the optimizing tier compiles a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// Guard regions or explicit checks; must match the instance's memories.
    pub bounds_checks: BoundsChecks,
}

impl Default for CompileOptions {
    /// Guard regions.
    fn default() -> CompileOptions {
        CompileOptions {
            bounds_checks: BoundsChecks::Guard,
        }
    }
}

/// Per-module state of the optimizing tier, shared by every thread compiling the module's
/// functions. Holds no global state.
#[derive(Debug)]
pub struct CompileEnv<'m> {
    module: &'m Module,
}

impl<'m> CompileEnv<'m> {
    /// The environment for compiling `module`'s functions.
    pub fn new(module: &'m Module) -> CompileEnv<'m> {
        CompileEnv { module }
    }

    /// Compiles defined function `func_index` (an index in the whole function space).
    pub fn compile(
        &self,
        func_index: u32,
        options: &CompileOptions,
    ) -> Result<CompiledFunction, CompileError> {
        let _ = options;
        let body = self
            .module
            .functions
            .get(func_index as usize)
            .and_then(|f| f.body.as_ref())
            .ok_or(CompileError::NoBody { func_index })?;
        Err(CompileError::Unsupported {
            operator: "(the optimizing tier is not implemented yet)".to_string(),
            offset: body.start as u32,
        })
    }
}
