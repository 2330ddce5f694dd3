//! Kiln's side of the benchmarks, called in-process.

use wasmparser::{Validator, WasmFeatures};

/// Whether `decode` below still stands in for Kiln's decoder with wasmparser.
pub const DECODER_IS_STAND_IN: bool = true;

/// Decodes and validates a module the way Kiln's engine does before compiling it.
pub fn decode(bytes: &[u8]) -> Result<(), String> {
    // TODO(decoder): once `kiln_decoder::decode` is on this branch, replace the two
    // lines below with this one and set `DECODER_IS_STAND_IN` to false:
    // kiln_decoder::decode(bytes, &kiln_decoder::Features::default()).map(drop).map_err(|e| e.to_string())
    let mut validator = Validator::new_with_features(WasmFeatures::WASM2);
    validator
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The reference the decoder is measured against: wasmparser's bare `Validator` with
/// the WebAssembly 2.0 feature set (which includes fixed-width SIMD).
pub fn reference_validate(bytes: &[u8]) -> Result<(), String> {
    let mut validator = Validator::new_with_features(WasmFeatures::WASM2);
    validator
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}
