//! Decoding with function-body validation deferred, so the bodies can be validated in
//! parallel (or right before each is compiled) instead of serially inside the decoder.

use crate::error::{DecodeError, SectionId};
use crate::{Features, Module};
use std::ops::Range;
use std::sync::Arc;
use wasmparser::{BinaryReader, FuncToValidate, FunctionBody, ValidatorResources};

/// One function body whose validation [`decode_deferred`] left for later. `Send`: validate it
/// on any thread. Validating gives exactly the error [`crate::decode`] would report for it.
#[derive(Debug)]
pub struct DeferredFunction {
    pub(crate) func: FuncToValidate<ValidatorResources>,
    pub(crate) index: u32,
    pub(crate) body: Range<usize>,
}

/// Scratch memory of the function validator, reused across [`DeferredFunction::validate`]
/// calls on one thread.
#[derive(Default)]
pub struct ValidatorScratch {
    wasmparser: Option<wasmparser::FuncValidatorAllocations>,
    fast: crate::func_validator::Scratch,
}

impl std::fmt::Debug for ValidatorScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValidatorScratch")
    }
}

impl DeferredFunction {
    /// The function's index in the module's function index space.
    pub fn func_index(&self) -> u32 {
        self.index
    }

    /// Validates the body against `module` (the module this function was decoded with).
    /// Cost: one pass over the body (the decoder's fast validator), two when the body is
    /// invalid or outside its subset (then wasmparser's).
    pub fn validate(
        self,
        module: &Module,
        scratch: &mut ValidatorScratch,
    ) -> Result<(), DecodeError> {
        let body = &module.wire_bytes[self.body.clone()];
        if crate::func_validator::validate(module, self.index, body, &mut scratch.fast) {
            return Ok(());
        }
        self.validate_in(&module.wire_bytes, scratch)
    }

    fn validate_in(
        self,
        wire_bytes: &[u8],
        scratch: &mut ValidatorScratch,
    ) -> Result<(), DecodeError> {
        let bytes = &wire_bytes[self.body.clone()];
        // Read with the module's features, as the parser reads bodies it validates itself.
        let reader = BinaryReader::new_features(bytes, self.body.start as u64, self.func.features);
        let body = FunctionBody::new(reader);
        let mut validator = self
            .func
            .into_validator(scratch.wasmparser.take().unwrap_or_default());
        let result = validator.validate(&body);
        scratch.wasmparser = Some(validator.into_allocations());
        result
            .map_err(|e| DecodeError::from_wasmparser(&e, Some(SectionId::Code), Some(self.index)))
    }
}

/// Like [`crate::decode_shared`], except that function bodies are checked only for framing:
/// their validation is returned, one [`DeferredFunction`] per defined function in index
/// order, for the caller to run (every one of them must pass before the module is used).
/// When the module itself is malformed, the bodies before the error are validated here so
/// the error is the one [`crate::decode`] reports.
pub fn decode_deferred(
    bytes: Arc<[u8]>,
    features: &Features,
) -> Result<(Module, Vec<DeferredFunction>), DecodeError> {
    let hash = crate::hash_bytes(&bytes);
    decode_deferred_hashed(bytes, hash, features)
}

/// [`decode_deferred`] for a caller that has already hashed the bytes with
/// [`crate::hash_bytes`] (a module cache does, to look them up): `hash` becomes
/// [`Module::hash`] instead of a second pass over the bytes.
pub fn decode_deferred_hashed(
    bytes: Arc<[u8]>,
    hash: u64,
    features: &Features,
) -> Result<(Module, Vec<DeferredFunction>), DecodeError> {
    debug_assert_eq!(hash, crate::hash_bytes(&bytes));
    let mut builder = crate::builder::ModuleBuilder::deferring(features);
    let fed = builder.feed(&bytes, 0, true, &mut ());
    let deferred = builder.take_deferred();
    let error = match fed.and_then(|_| builder.finish_hashed(bytes.clone(), hash)) {
        Ok(module) => return Ok((module, deferred)),
        Err(e) => e,
    };
    // The bodies seen so far all precede the error; the first invalid one comes first.
    let mut scratch = ValidatorScratch::default();
    for f in deferred {
        f.validate_in(&bytes, &mut scratch)?;
    }
    Err(error)
}

/// The end offset of the code section, found by walking the section headers (id, LEB128
/// size), or `None` when there is no code section or the headers are malformed.
fn code_section_end(bytes: &[u8]) -> Option<usize> {
    let mut r = crate::reader::Reader::new(bytes);
    r.skip(8)?; // magic and version
    while !r.at_end() {
        let id = r.byte()?;
        let size = r.u32()? as usize;
        r.skip(size)?;
        if id == 10 {
            return Some(r.pos);
        }
    }
    None
}

/// [`decode_deferred_hashed`] that hands the bodies out early: as soon as the code section is
/// decoded, `early` gets a snapshot of the module as it stands then (every section up to the
/// code section, body ranges, wire bytes and hash; no data segments yet) and every body's
/// deferred validation, so they can be validated while the sections after the code section
/// (data segments: 100,000 in Go modules) are decoded. Returns the module and the bodies not
/// handed out (all of them when `early` was not called: no code section).
///
/// When decoding fails after `early` was called, the caller must validate what it was given
/// first: an invalid body precedes the sections after it, so its error is the one
/// [`crate::decode`] reports.
pub fn decode_deferred_early(
    bytes: Arc<[u8]>,
    hash: u64,
    features: &Features,
    early: impl FnOnce(Arc<Module>, Vec<DeferredFunction>),
) -> Result<(Module, Vec<DeferredFunction>), DecodeError> {
    let Some(code_end) = code_section_end(&bytes) else {
        return decode_deferred_hashed(bytes, hash, features);
    };
    let mut builder = crate::builder::ModuleBuilder::deferring(features);
    let fed = builder.feed(&bytes[..code_end], 0, false, &mut ());
    match fed {
        Ok(consumed) if consumed == code_end => {
            let mut snapshot = builder.module().clone();
            snapshot.wire_bytes = bytes.clone();
            snapshot.hash = hash;
            early(Arc::new(snapshot), builder.take_deferred());
        }
        // A malformed module: the ordinary path finds the error and ranks it.
        _ => return decode_deferred_hashed(bytes, hash, features),
    }
    builder.feed(&bytes[code_end..], code_end, true, &mut ())?;
    let module = builder.finish_hashed(bytes, hash)?;
    Ok((module, Vec::new()))
}
