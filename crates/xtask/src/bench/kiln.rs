//! Kiln's side of the benchmarks. Everything here runs in-process inside an optimized
//! child build of the xtask binary (see [`optimized_child`]), never in the dev build
//! that `cargo xtask` itself runs in.
//!
//! A tier is measured once `engine_config` knows it (today `baseline`, `baseline-1t`, `opt`,
//! `opt-1t` and `tiered`); the others show as "not yet implemented".

use std::process::Command;
use std::time::{Duration, Instant};

use kiln_engine::runtime::{Extern, Func, Global, Imports, Memory, Store, Table, Trap, Value};
use kiln_engine::{CompiledModule, Engine, EngineConfig, Tier};
use wasmparser::{Validator, WasmFeatures};

/// Whether `decode` below still stands in for Kiln's decoder with wasmparser.
pub const DECODER_IS_STAND_IN: bool = false;

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
    kiln_decoder::decode(bytes, &kiln_decoder::Features::default())
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

/// Whether Kiln's `tier` exists yet: `baseline` (all cores), `baseline-1t` (one compile
/// thread), `opt` (the optimizing tier, all cores), `opt-1t`, `tiered` (Kiln's default
/// strategy for start-up: lazy baseline compilation with dynamic tier-up of hot functions).
pub fn tier_available(tier: &str) -> bool {
    engine_config(tier).is_some()
}

/// The engine configuration measuring `tier`, if that tier exists.
fn engine_config(tier: &str) -> Option<EngineConfig> {
    match tier {
        "baseline" => Some(EngineConfig::default()),
        "baseline-1t" => Some(EngineConfig {
            compile_threads: 1,
            ..EngineConfig::default()
        }),
        "opt" => Some(EngineConfig {
            tier: Tier::Optimized,
            ..EngineConfig::default()
        }),
        "opt-1t" => Some(EngineConfig {
            tier: Tier::Optimized,
            compile_threads: 1,
            ..EngineConfig::default()
        }),
        "tiered" => Some(EngineConfig {
            lazy_compilation: true,
            dynamic_tiering: true,
            ..EngineConfig::default()
        }),
        _ => None,
    }
}

fn engine(tier: &str) -> Result<Engine, String> {
    engine_config(tier)
        .map(Engine::new)
        .ok_or_else(|| format!("not yet implemented: tier {tier}"))
}

/// Compiles `bytes` with `tier`; returns the time the compilation took (decoding included,
/// as the peers' `new WebAssembly.Module` and `wasmtime.Module` include it).
pub fn compile(tier: &str, bytes: &[u8]) -> Result<Duration, String> {
    let engine = engine(tier)?;
    let start = Instant::now();
    let module = engine.compile(bytes).map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    drop(module);
    Ok(elapsed)
}

/// The outcome of compiling a module for its code size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSize {
    /// Bytes of machine code of all defined functions.
    Bytes(u64),
    /// The tier does not implement an operator or type the module uses (e.g. SIMD).
    Unsupported(String),
}

/// Compiles `bytes` with `tier` and returns the size of the machine code of all defined
/// functions, or what the tier does not support yet. Other errors are errors.
pub fn code_size(tier: &str, bytes: &[u8]) -> Result<CodeSize, String> {
    use kiln_engine::{CompileError, EngineError};
    match engine(tier)?.compile(bytes) {
        Ok(module) => Ok(CodeSize::Bytes(module.code_size() as u64)),
        Err(EngineError::Compile {
            func_index,
            error: CompileError::Unsupported { operator, .. },
        }) => Ok(CodeSize::Unsupported(format!(
            "{operator} in function #{func_index}"
        ))),
        Err(e) => Err(e.to_string()),
    }
}

/// Every import of `module` defined as a stub: functions trap if called, memories, tables
/// and globals are fresh ones of the imported type.
fn stub_imports(store: &Store, module: &CompiledModule) -> Result<Imports, String> {
    use kiln_decoder::ImportType;
    let mut imports = Imports::new();
    for import in &module.module().imports {
        let item: Extern = match import.ty {
            ImportType::Func(ty) => {
                let ty = module
                    .module()
                    .func_type(ty)
                    .ok_or("import of a non-function type")?;
                let name = format!("{}.{}", import.module, import.name);
                Func::new(store, ty.clone(), move |_, _, _| {
                    Err(Trap::host(format!("stub import {name} called")))
                })
                .into()
            }
            ImportType::Memory(ty) => Memory::new(store, ty)?.into(),
            ImportType::Table(ty) => {
                Table::new(store, ty, Value::default_for(ty.element_type.into()))?.into()
            }
            ImportType::Global(ty) => {
                Global::new(store, ty, Value::default_for(ty.content_type))?.into()
            }
            ImportType::Tag(_) => return Err("tag imports are not supported".into()),
        };
        imports.define(&import.module, &import.name, item);
    }
    Ok(imports)
}

/// Calls of `run(arg)` before the timed one under the `tiered` strategy.
const TIERED_WARM_UP_CALLS: usize = 3;

/// Compiles and instantiates `bytes` with `tier`, then times one call of `run(arg)` (for
/// `tiered`, after warm-up calls); returns the call's time and result.
pub fn run(tier: &str, bytes: &[u8], arg: i32) -> Result<(Duration, i32), String> {
    let engine = engine(tier)?;
    let module = engine.compile(bytes).map_err(|e| e.to_string())?;
    let store = Store::new(engine.runtime());
    let instance = module
        .instantiate(&store, &stub_imports(&store, &module)?)
        .map_err(|e| e.to_string())?;
    let func = instance.get_func("run").ok_or("no export `run`")?;
    if tier == "tiered" {
        // Peak performance under dynamic tiering: warm up until the hot functions' optimized
        // code is published (each call spends tier-up budgets; background compiles finish
        // before the next call), then time one call as for the other tiers.
        for _ in 0..TIERED_WARM_UP_CALLS {
            func.call(&[Value::I32(arg)]).map_err(|t| t.to_string())?;
            engine.wait_idle();
        }
    }
    let start = Instant::now();
    let results = func.call(&[Value::I32(arg)]).map_err(|t| t.to_string())?;
    let elapsed = start.elapsed();
    match results.as_slice() {
        [Value::I32(checksum)] => Ok((elapsed, *checksum)),
        other => Err(format!("`run` returned {other:?}, expected one i32")),
    }
}

/// Times bytes to first result: compile with `tier`, instantiate with every imported
/// function stubbed (trapping if called), and call the export `call` if given.
pub fn startup(
    tier: &str,
    bytes: &[u8],
    call: Option<&str>,
) -> Result<(Duration, Option<i32>), String> {
    let engine = engine(tier)?;
    let start = Instant::now();
    let module = engine.compile(bytes).map_err(|e| e.to_string())?;
    let store = Store::new(engine.runtime());
    let instance = module
        .instantiate(&store, &stub_imports(&store, &module)?)
        .map_err(|e| e.to_string())?;
    let result = match call {
        Some(name) => {
            let func = instance
                .get_func(name)
                .ok_or_else(|| format!("no export `{name}`"))?;
            let args: Vec<Value> = func
                .ty()
                .params()
                .iter()
                .map(|&t| Value::default_for(t))
                .collect();
            match func.call(&args).map_err(|t| t.to_string())?.as_slice() {
                [Value::I32(v)] => Some(*v),
                _ => None,
            }
        }
        None => None,
    };
    Ok((start.elapsed(), result))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module of one function `() -> ()` whose body is `locals` then `end`.
    fn module(locals: &[u8]) -> Vec<u8> {
        let mut body = locals.to_vec();
        body.push(0x0b);
        let mut code = vec![0x01, body.len() as u8];
        code.extend(body);
        let mut m = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        m.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type () -> ()
        m.extend([0x03, 0x02, 0x01, 0x00]); // one function of type 0
        m.extend([0x0a, code.len() as u8]);
        m.extend(code);
        m
    }

    #[test]
    fn code_size_measures_or_names_what_is_unsupported() {
        match code_size("baseline", &module(&[0x00])) {
            Ok(CodeSize::Bytes(n)) => assert!(n > 0),
            other => panic!("{other:?}"),
        }
        // One v128 local: SIMD, which the baseline tier does not do yet.
        match code_size("baseline", &module(&[0x01, 0x01, 0x7b])) {
            Ok(CodeSize::Unsupported(why)) => assert!(why.contains("v128"), "{why}"),
            other => panic!("{other:?}"),
        }
        match code_size("opt", &module(&[0x00])) {
            Ok(CodeSize::Bytes(n)) => assert!(n > 0),
            other => panic!("{other:?}"),
        }
        assert!(code_size("no-such-tier", &module(&[0x00])).is_err());
    }
}
