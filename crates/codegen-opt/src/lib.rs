//! Kiln's optimizing tier: WebAssembly function bodies translated to Cranelift IR with
//! `cranelift-frontend` and compiled with `cranelift-codegen` for the host.
//!
//! It emits the same [`kiln_abi::CompiledFunction`] as the baseline tier, under the same calling
//! convention ([`kiln_abi::calling_convention`], which is Cranelift's `tail` convention), so
//! code of both tiers calls each other and tier-up can swap code under a running program. The
//! interface mirrors the baseline tier's: a [`CompileEnv`] per module, shared by the compile
//! threads, and one [`CompileEnv::compile`] call per function.
//!
//! The translation ([`translate`]) is one pass over the operators, linear in the body size:
//! locals are Cranelift variables (SSA values after construction), the operand stack holds SSA
//! values, control frames map to Cranelift blocks. Memory accesses rely on the guard region in
//! [`BoundsChecks::Guard`] mode (no check when the static offset is covered, the access itself
//! is the trap site) and compare with the memory's length in [`BoundsChecks::Explicit`] mode;
//! the memory base is loaded once per function when the memory cannot move (guard mode) and
//! reloaded after calls otherwise. Direct calls are `call rel32` to the callee's jump-table
//! slot. Every phase is measured in [`statistics`].
//!
//! ```
//! let wasm = wat::parse_str("(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))").unwrap();
//! let module = kiln_decoder::decode(&wasm, &Default::default()).unwrap();
//! let env = kiln_codegen_opt::CompileEnv::new(&module);
//! let compiled = env.compile(0, &Default::default()).unwrap();
//! assert!(!compiled.code.is_empty());
//! ```

#![deny(missing_docs)]

mod finish;
mod stats;
pub mod translate;

pub use stats::{Statistics, StatsSnapshot, statistics};

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{Context, control::ControlPlane};
use cranelift_frontend::FunctionBuilderContext;
use kiln_abi::{BoundsChecks, CompileError, CompiledFunction, VMContextLayout};
use kiln_decoder::Module;
use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Instant;

/// How the optimizing tier compiles a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// Guard regions or explicit checks; must match the instance's memories.
    pub bounds_checks: BoundsChecks,
    /// Run Cranelift's IR verifier before compiling (catches translator bugs as
    /// [`CompileError::Internal`]; costs roughly a tenth of compile time).
    pub verify: bool,
    /// Bodies larger than this many bytes get Cranelift's single-pass register allocator
    /// instead of the backtracking one, whose time grows faster than linearly with the
    /// function (a 576 KB function took 13 s in register allocation alone).
    pub large_function_bytes: usize,
}

impl Default for CompileOptions {
    /// Guard regions; the verifier in debug builds only; single-pass register allocation
    /// above 128 KiB of body.
    fn default() -> CompileOptions {
        CompileOptions {
            bounds_checks: BoundsChecks::Guard,
            verify: cfg!(debug_assertions),
            large_function_bytes: 128 << 10,
        }
    }
}

/// Per-module state of the optimizing tier, shared by every thread compiling the module's
/// functions: the module and its `VMContext` layout. Cheap to create (the engine makes one
/// per lazy compile and per tier-up); the host ISAs are built once per process
/// ([`host_isas`]). Holds no global state besides [`statistics`] and those ISAs.
pub struct CompileEnv<'m> {
    module: &'m Module,
    layout: VMContextLayout,
}

impl std::fmt::Debug for CompileEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileEnv")
            .field("functions", &self.module.functions.len())
            .finish_non_exhaustive()
    }
}

/// The host ISA with the flags every Kiln function needs.
fn host_isa(verify: bool, large: bool) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, name: &str, value: &str| {
        flags
            .set(name, value)
            .map_err(|e| format!("Cranelift setting {name}={value}: {e}"))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "preserve_frame_pointers", "true")?;
    set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
    set(&mut flags, "unwind_info", "false")?;
    set(
        &mut flags,
        "enable_verifier",
        if verify { "true" } else { "false" },
    )?;
    set(&mut flags, "enable_probestack", "false")?;
    let regalloc = if large { "single_pass" } else { "backtracking" };
    set(&mut flags, "regalloc_algorithm", regalloc)?;
    let isa = cranelift_native::builder()?;
    isa.finish(settings::Flags::new(flags))
        .map_err(|e| format!("Cranelift ISA: {e}"))
}

/// The host ISAs every function is compiled for, built on first use: indexed by
/// `verify as usize * 2 + large as usize` (with and without Cranelift's verifier, with the
/// backtracking or the single-pass register allocator). They depend only on this CPU.
fn host_isas() -> Result<&'static [OwnedTargetIsa], &'static str> {
    static ISAS: OnceLock<Result<Vec<OwnedTargetIsa>, String>> = OnceLock::new();
    ISAS.get_or_init(|| {
        [(false, false), (false, true), (true, false), (true, true)]
            .into_iter()
            .map(|(verify, large)| host_isa(verify, large))
            .collect()
    })
    .as_deref()
    .map_err(String::as_str)
}

/// Reused per compile thread: Cranelift's context and the frontend's SSA tables keep their
/// allocations from one function to the next.
struct ThreadState {
    ctx: Context,
    builder: FunctionBuilderContext,
}

thread_local! {
    static STATE: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
}

impl<'m> CompileEnv<'m> {
    /// The environment for compiling `module`'s functions. Cost: O(module index spaces) plus
    /// building the host ISA description, once.
    pub fn new(module: &'m Module) -> CompileEnv<'m> {
        CompileEnv {
            module,
            layout: VMContextLayout::new(module),
        }
    }

    /// The `VMContext` layout generated code assumes.
    pub fn layout(&self) -> &VMContextLayout {
        &self.layout
    }

    /// Compiles defined function `func_index` (an index in the whole function space). Cost:
    /// linear in the body size for the translation, plus Cranelift's passes (near-linear in
    /// practice).
    pub fn compile(
        &self,
        func_index: u32,
        options: &CompileOptions,
    ) -> Result<CompiledFunction, CompileError> {
        let body = self
            .module
            .functions
            .get(func_index as usize)
            .and_then(|f| f.body.clone())
            .ok_or(CompileError::NoBody { func_index })?;
        let isas = host_isas().map_err(|e| CompileError::Internal(e.to_string()))?;
        let large = body.len() > options.large_function_bytes;
        let isa = &*isas[usize::from(options.verify) * 2 + usize::from(large)];
        STATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let state = slot.get_or_insert_with(|| ThreadState {
                ctx: Context::new(),
                builder: FunctionBuilderContext::new(),
            });
            state.ctx.clear();
            let start = Instant::now();
            translate::translate(
                self.module,
                &self.layout,
                options,
                isa,
                func_index,
                &mut state.ctx.func,
                &mut state.builder,
            )?;
            let translated = Instant::now();
            // Drop any pass times left on this thread by others so ours are Cranelift's alone.
            let _ = cranelift_codegen::timing::take_current();
            state
                .ctx
                .compile(isa, &mut ControlPlane::default())
                .map_err(|e| CompileError::Internal(format!("Cranelift: {:?}", e.inner)))?;
            let code = state
                .ctx
                .compiled_code()
                .ok_or_else(|| CompileError::Internal("no compiled code".into()))?;
            let compiled = Instant::now();
            let passes = cranelift_codegen::timing::take_current();
            let function = finish::finish(code, &state.ctx.func, body.start as u32)?;
            let done = Instant::now();
            statistics().add(stats::FunctionStats {
                wasm_bytes: body.len(),
                code_bytes: function.code.len(),
                translation: translated - start,
                cranelift: compiled - translated,
                finish: done - compiled,
                passes,
            });
            Ok(function)
        })
    }
}
