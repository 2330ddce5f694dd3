//! WebAssembly decoding and validation for Kiln, on wasmparser.
//!
//! [`decode`] turns wire bytes into a validated [`Module`]: every section checked against the
//! enabled [`Features`], every function body validated, and the module's tables (types with
//! canonical signature ids, imports, functions with their body ranges, tables, memories,
//! globals, exports, segments, names, custom sections) recorded for the compilers and the
//! runtime. [`StreamingDecoder`] does the same for bytes that arrive in chunks, reporting each
//! function body as soon as it is complete so compilation can overlap the download; both share
//! one code path, so they accept the same modules and fail with the same [`DecodeError`].
//!
//! ```
//! let wasm = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
//! let module = kiln_decoder::decode(&wasm, &kiln_decoder::Features::default()).unwrap();
//! assert!(module.functions.is_empty());
//!
//! let err = kiln_decoder::decode(&wasm[..6], &Default::default()).unwrap_err();
//! assert_eq!(err.offset(), 4);
//! ```
//!
//! Cost: one pass over the bytes; function bodies are validated once and not stored apart from
//! their ranges in the shared wire bytes.

#![deny(missing_docs)]

mod builder;
mod const_expr;
mod data_section;
mod deferred;
mod error;
mod features;
mod func_validator;
mod hash;
mod module;
mod names;
mod prefault;
mod reader;
mod streaming;
#[cfg(test)]
mod test_rng;

pub use const_expr::{ConstExpr, ConstOp};
pub use deferred::{
    DeferredFunction, ValidatorScratch, decode_deferred, decode_deferred_early,
    decode_deferred_hashed,
};
pub use error::{DecodeError, SectionId};
pub use features::{Features, Proposal};
pub use hash::{copy_and_hash, hash_bytes};
pub use module::{
    CustomSection, DataKind, DataSegment, ElementItems, ElementKind, ElementSegment, Export,
    ExternKind, Function, Global, Import, ImportType, Module, Table,
};
pub use names::Names;
pub use reader::Reader;
pub use streaming::{StreamingDecoder, StreamingProcessor};

/// Types from wasmparser that appear in [`Module`], re-exported so users need not depend on
/// wasmparser themselves.
pub use wasmparser::{
    FuncType, GlobalType, HeapType, MemoryType, RefType, SubType, TableType, TagType, ValType,
};

/// Decodes and fully validates a WebAssembly module.
///
/// Returns the module, or the first error with its byte offset, section and function index.
/// Malformed input never panics, and nothing is allocated in proportion to a count the bytes
/// claim but do not contain. The wire bytes are copied once into [`Module::wire_bytes`].
pub fn decode(bytes: &[u8], features: &Features) -> Result<Module, DecodeError> {
    let mut builder = builder::ModuleBuilder::new(features);
    builder.feed(bytes, 0, true, &mut ())?;
    builder.finish(bytes.into())
}

/// Like [`decode`], taking bytes the caller already shares: they become
/// [`Module::wire_bytes`] without a copy.
pub fn decode_shared(
    bytes: std::sync::Arc<[u8]>,
    features: &Features,
) -> Result<Module, DecodeError> {
    let mut builder = builder::ModuleBuilder::new(features);
    builder.feed(&bytes, 0, true, &mut ())?;
    builder.finish(bytes)
}

/// The proposals beyond `base` that `bytes` needs to be valid: the smallest set found by
/// switching proposals off one at a time from all of them. `Some(empty)` when the module is
/// valid under `base`; `None` when it is invalid even with every proposal. Cost: up to
/// `Proposal::ALL.len() + 2` decodes.
pub fn proposals_needed(bytes: &[u8], base: &Features) -> Option<Vec<Proposal>> {
    if decode(bytes, base).is_ok() {
        return Some(Vec::new());
    }
    decode(bytes, &Features::all()).ok()?;
    let mut features = Features::all();
    for p in Proposal::ALL {
        if !base.has(p) && decode(bytes, &features.without(p)).is_ok() {
            features = features.without(p);
        }
    }
    Some(features.proposals().filter(|p| !base.has(*p)).collect())
}
