//! WebAssembly decoding and validation (in progress).

#![deny(missing_docs)]
