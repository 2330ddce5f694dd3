//! The Kiln WebAssembly engine: the facade embedders depend on.
//!
//! It will coordinate the crates below it the way V8's `WasmEngine` does: an `Engine` shared by
//! `Isolate`s, native modules shared across isolates, synchronous, asynchronous and streaming
//! compile jobs, the module cache, lazy compilation, dynamic tier-up, code flushing, code logging
//! and statistics. Today it re-exports the decoder, the only layer that has landed.

#![deny(missing_docs)]

pub use kiln_decoder as decoder;
