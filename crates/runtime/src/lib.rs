//! Kiln's runtime: the machinery that runs compiled code.
//!
//! It will own instances (import resolution, exports, constant expressions, segments, the start
//! function), linear memories with guard regions, tables, globals, host functions, the entry and
//! exit trampolines, the signal handlers that turn faults in generated code into traps, and frame
//! walking for wasm backtraces. Nothing is implemented yet; see the project issues.

#![deny(missing_docs)]
