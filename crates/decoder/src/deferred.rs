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
