//! Executable memory for generated WebAssembly code, in the manner of V8's `WasmCodeManager`
//! and `NativeModule`.
//!
//! This crate will own every byte of generated code: it reserves code space per native module
//! (close enough that calls within a module reach with rel32), commits pages as code arrives and
//! keeps W^X; it holds one `WasmCode` object per compiled function or stub with an atomic
//! reference count, so replaced code lives on while a frame may return into it; it keeps a jump
//! table per native module whose slots start at lazy-compile stubs and are patched atomically when
//! code is published; and it answers pc -> code lookups from a signal handler without locks.
//! Nothing is implemented yet; see the project issues.

#![deny(missing_docs)]
