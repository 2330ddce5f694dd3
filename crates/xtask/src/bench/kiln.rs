//! Kiln's side of the benchmarks. Everything here runs in-process inside an optimized
//! child build of the xtask binary (see [`optimized_child`]), never in the dev build
//! that `cargo xtask` itself runs in.
//!
//! As tiers land, make [`tier_available`] return true for them and fill in
//! [`compile`], [`run`] and [`startup`]; the tables then show measured Kiln rows
//! instead of "not yet implemented".

use std::process::Command;
use std::time::{Duration, Instant};

use wasmparser::{Validator, WasmFeatures};

/// Whether `decode` below still stands in for Kiln's decoder with wasmparser.
pub const DECODER_IS_STAND_IN: bool = true;

/// Profile overrides for the child build: Kiln's crates and wasmparser fully
/// optimized, without debug assertions or overflow checks, as they ship.
const OPTIMIZED_PACKAGES: &[&str] = &[
    "wasmparser",
    "kiln-decoder",
    "kiln-abi",
    "kiln-assembler-x64",
    "kiln-code-manager",
    "kiln-codegen-baseline",
    "kiln-codegen-opt",
    "kiln-runtime",
    "kiln-engine",
];

/// `cargo run` of this binary with Kiln and wasmparser optimized, ready for the
/// arguments after `cargo xtask`. The first use rebuilds those crates (once).
pub fn optimized_child() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "--quiet", "--package", "kiln-xtask"]);
    for package in OPTIMIZED_PACKAGES {
        for setting in [
            "opt-level=3",
            "debug-assertions=false",
            "overflow-checks=false",
        ] {
            cmd.arg("--config")
                .arg(format!("profile.dev.package.{package}.{setting}"));
        }
    }
    cmd.arg("--");
    cmd
}

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

/// Whether Kiln's `tier` ("baseline" or "opt") exists yet.
pub fn tier_available(tier: &str) -> bool {
    // TODO(tiers): return true for each tier once it compiles and runs modules.
    let _ = tier;
    false
}

fn not_yet(tier: &str) -> String {
    format!("not yet implemented: tier {tier}")
}

/// Compiles `bytes` with `tier`; returns the time the compilation took.
pub fn compile(tier: &str, bytes: &[u8]) -> Result<Duration, String> {
    // TODO(tiers): time `kiln_engine` compiling `bytes` with `tier` here.
    let _ = (Instant::now(), bytes);
    Err(not_yet(tier))
}

/// Compiles and instantiates `bytes` with `tier`, then times one call of `run(arg)`;
/// returns the call's time and result.
pub fn run(tier: &str, bytes: &[u8], arg: i32) -> Result<(Duration, i32), String> {
    // TODO(tiers): instantiate with `kiln_engine`, time only the call of `run(arg)`.
    let _ = (bytes, arg);
    Err(not_yet(tier))
}

/// Times bytes to first result: compile with `tier`, instantiate with every imported
/// function stubbed (trapping if called), and call the export `call` if given.
pub fn startup(
    tier: &str,
    bytes: &[u8],
    call: Option<&str>,
) -> Result<(Duration, Option<i32>), String> {
    // TODO(tiers): time compile + instantiate + the call with `kiln_engine`.
    let _ = (bytes, call);
    Err(not_yet(tier))
}
