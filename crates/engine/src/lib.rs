//! The Kiln WebAssembly engine: the coordinator embedders use, shaped like V8's `WasmEngine`.
//!
//! - An [`Engine`] (shared, `Send + Sync`) owns the code manager, the runtime, a small pool of
//!   worker threads, the module cache and the registries of isolates, native modules and
//!   compile jobs.
//! - An [`Isolate`] is one execution context on one thread: its store of instances, the
//!   [`NativeModule`]s it uses with a [`Script`] each, its code-logging and debug flags, and a
//!   queue of tasks the engine posts for it (the embedder runs them with
//!   [`Isolate::run_pending_tasks`]).
//! - A [`NativeModule`] is a compiled module shared by all isolates; a [`ModuleObject`] is an
//!   isolate's handle to one, with its script.
//!
//! # Compiling and running
//!
//! ```
//! use kiln_engine::{Engine, EngineConfig, runtime::{Imports, Value}};
//!
//! let engine = Engine::new(EngineConfig::default());
//! let isolate = engine.new_isolate();
//! let wasm = wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let module = isolate.compile(&wasm)?;
//! let instance = isolate.instantiate(&module, &Imports::new())?;
//! let sum = instance.get_func("add").unwrap().call(&[Value::I32(2), Value::I32(40)])?;
//! assert_eq!(sum, [Value::I32(42)]);
//! assert!(module.script().url.starts_with("wasm://wasm/"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Compile jobs: [`Isolate::compile`] (synchronous, the calling thread plus worker helpers),
//! [`Isolate::compile_async`] (a [`CompileFuture`] and, optionally, a
//! [`CompilationResultResolver`] called on the isolate's task queue) and
//! [`Isolate::start_streaming`] (functions compile while bytes arrive). Jobs can be cancelled
//! per isolate ([`Isolate::cancel_compile_jobs`], or by dropping the isolate) or per
//! embedder context tag ([`Engine::cancel_context`]). Compiling bytes an alive module holds
//! returns that module, in any isolate ([`Engine::import_native_module`] shares one
//! explicitly).
//!
//! Strategy ([`EngineConfig`]): eager or lazy baseline or optimizing compilation, and dynamic
//! tiering (hot baseline functions are optimized in the background and their jump-table slot
//! patched). [`Engine::flush_baseline_code`] drops baseline code (functions recompile lazily).
//! Replaced code is freed by code GC once no isolate's stack holds it. Code logging
//! ([`Engine::enable_code_logging`]) reports code to a [`CodeEventListener`] such as the
//! [`PerfMapListener`] or [`JitDumpListener`]. See the crate README for the full picture.

#![deny(missing_docs)]

mod code_gc;
mod code_logging;
mod compile_job;
mod config;
mod engine;
mod error;
mod flushing;
mod future;
mod isolate;
mod jitdump;
mod module_cache;
mod module_object;
mod native_module;
mod perf_map;
mod statistics;
mod streaming;
mod task_queue;
mod tiering;
mod worker_pool;

pub use code_gc::CodeGcStatus;
pub use code_logging::{CodeEvent, CodeEventKind, CodeEventListener};
pub use compile_job::{CompilationResultResolver, CompiledModule, JobOptions};
pub use config::EngineConfig;
pub use engine::Engine;
pub use error::EngineError;
pub use future::CompileFuture;
pub use isolate::Isolate;
pub use jitdump::JitDumpListener;
pub use kiln_abi::{CompileError, Tier};
pub use kiln_code_manager::{CodeKind, MemoryUsage, live_code_reservations};
pub use kiln_codegen_baseline::CpuFeatures;
pub use kiln_codegen_opt::{StatsSnapshot as OptStatistics, statistics as opt_statistics};
pub use kiln_decoder as decoder;
pub use kiln_runtime as runtime;
pub use module_object::{ModuleObject, Script};
pub use native_module::{Breakpoint, NativeModule, TierUpState};
pub use perf_map::PerfMapListener;
pub use statistics::{CodeSizeHistory, CodeSizeSample, EngineCounters, OptimizingStatistics};
pub use streaming::StreamingCompile;
