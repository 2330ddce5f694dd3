//! The Kiln WebAssembly engine: the facade embedders use.
//!
//! Today it compiles a module eagerly with the baseline tier on several threads, publishes the
//! code through the code manager and hands it to the runtime to instantiate and run:
//!
//! ```
//! use kiln_engine::{Engine, EngineConfig, runtime::{Imports, Store, Value}};
//!
//! let engine = Engine::new(EngineConfig::default());
//! let wasm = wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let module = engine.compile(&wasm)?;
//! let store = Store::new(engine.runtime());
//! let instance = module.instantiate(&store, &Imports::new())?;
//! let sum = instance.get_func("add").unwrap().call(&[Value::I32(2), Value::I32(40)])?;
//! assert_eq!(sum, [Value::I32(42)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! It will grow into the coordinator of the blueprint, as V8's `WasmEngine` is: isolates,
//! native modules shared across isolates, asynchronous and streaming compile jobs, the module
//! cache, lazy compilation, dynamic tier-up, code flushing, code logging and statistics.

#![deny(missing_docs)]

mod compile;
mod error;

pub use compile::{CompiledModule, Engine, EngineConfig};
pub use error::EngineError;
pub use kiln_abi::{CompileError, Tier};
pub use kiln_codegen_baseline::CpuFeatures;
pub use kiln_codegen_opt::{StatsSnapshot as OptStatistics, statistics as opt_statistics};
pub use kiln_decoder as decoder;
pub use kiln_runtime as runtime;
