//! Kiln's runtime: the machinery that runs compiled code.
//!
//! - [`Runtime`] ([`runtime`]): configuration ([`RuntimeConfig`]: bounds-check mode, wasm stack
//!   size), the engine-wide [`SignatureRegistry`] and the [`EngineHooks`]. Shared by all
//!   threads. Trampolines (one pair per signature, built lazily) and the builtin table are
//!   shared by every runtime of the process.
//! - [`Store`] ([`store`]): owns instances, memories, tables, globals and host functions of one
//!   thread; everything lives until the store is dropped.
//! - [`Instance`] ([`instance`]): links [`Imports`], builds the `VMContext`, applies segments,
//!   runs the start function; exports are [`Extern`]s.
//! - [`Memory`], [`Table`], [`Global`], [`Func`] (with host functions from [`Func::wrap`] and
//!   [`Func::new`]), [`Value`], and [`Trap`] with a [`Backtrace`].
//!
//! # The ABI
//!
//! Everything generated code and this runtime agree on is defined in `kiln-abi`: the calling
//! convention (Cranelift `tail` on x86-64, `kiln_abi::call_layout`), the `VMContext` layout
//! (`kiln_abi::VMContextLayout`), builtin ids and calling rules (`kiln_abi::BuiltinId`) and
//! trap codes. This crate adds only conventions of its own side: trampolines pass values in
//! 16-byte slots ([`trampoline`]); builtins are reached through shims that add a frame
//! pointer ([`builtins`]); a host function's `VMContext` is a host call context
//! ([`host_func`]).
//!
//! # Running code
//!
//! ```text
//! let runtime = Runtime::new(RuntimeConfig::default());
//! let store = Store::new(&runtime);
//! // the engine decodes `module`, creates `native` with the code manager and publishes code
//! let instance = Instance::new(&store, &module, &native, &imports)?;
//! let results = instance.get_func("run").unwrap().call(&[Value::I32(7)])?;
//! ```
//!
//! # Engine support
//!
//! - Lazy compilation: [`Runtime::lazy_compile_entry`] is the code managers' lazy-compile
//!   builtin; it calls [`EngineHooks::lazy_compile`] ([`lazy_compile`]).
//! - Tier-up: [`EngineHooks::tier_up`], after which the budget is refilled ([`builtins`]).
//! - Code GC: [`wasm_pcs_on_stack`] reports the wasm frames of the calling thread.
//! - Code logging: [`Runtime::published_code`] and [`EngineHooks::code_created`].
//!
//! # Traps
//!
//! Traps never unwind through generated code. An entry trampoline records its stack pointer
//! in a thread-local activation; a fault in wasm code (signal handler), a failing builtin or a
//! failing host function records the wasm frames and resumes at the trampoline's landing,
//! which returns the trap code to [`Func::call`]. Faults are classified with the code
//! manager's lock-free `lookup` and the trap sites compilers record; stack overflow is caught
//! by the prologue check against the `VMContext` stack limit. See [`traphandler`] for details.

#![deny(missing_docs)]

pub mod backtrace;
pub mod builtins;
pub mod func;
pub mod global;
pub mod host_func;
pub mod instance;
pub mod lazy_compile;
pub mod memory;
pub mod runtime;
pub mod signature_registry;
pub mod store;
pub mod table;
pub mod trampoline;
pub mod trap;
pub mod traphandler;
pub mod value;
mod vmcontext;

pub use backtrace::{Backtrace, FrameInfo};
pub use func::Func;
pub use global::Global;
pub use host_func::{Caller, HostCallback, IntoFunc, WasmResults, WasmTy, WithCaller};
pub use instance::{Extern, Imports, Instance, InstantiationError, LinkError};
pub use memory::{Memory, live_memory_reservations};
pub use runtime::{BoundsChecks, EngineHooks, PublishedCode, Runtime, RuntimeConfig};
pub use signature_registry::SignatureRegistry;
pub use store::Store;
pub use table::Table;
pub use trap::Trap;
pub use traphandler::wasm_pcs_on_stack;
pub use value::Value;

pub use kiln_abi::TrapCode;
