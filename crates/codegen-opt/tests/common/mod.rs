//! Helpers of the integration tests: modules compiled with a chosen tier per function,
//! published into one native module and instantiated.
#![allow(dead_code)]

use kiln_abi::{BoundsChecks, Tier};
use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, NativeModule};
use kiln_decoder::Module;
use kiln_runtime::{Imports, Instance, Runtime, RuntimeConfig, Store};
use std::sync::{Arc, OnceLock};

pub fn code_manager() -> &'static CodeManager {
    static M: OnceLock<CodeManager> = OnceLock::new();
    M.get_or_init(|| CodeManager::new(CodeManagerConfig::default()))
}

pub fn runtime(bounds_checks: BoundsChecks) -> Runtime {
    Runtime::new(RuntimeConfig {
        bounds_checks,
        ..RuntimeConfig::default()
    })
}

pub fn module(wat: &str) -> Arc<Module> {
    let bytes = wat::parse_str(wat).expect("valid wat");
    Arc::new(kiln_decoder::decode(&bytes, &Default::default()).expect("valid module"))
}

/// Compiles every defined function of `module` with the tier `tier_of` picks for it and
/// publishes them into one native module.
pub fn compile(
    module: &Module,
    bounds_checks: BoundsChecks,
    tier_of: impl Fn(u32) -> Tier,
) -> NativeModule {
    let opt_opts = kiln_codegen_opt::CompileOptions {
        bounds_checks,
        verify: true,
        ..Default::default()
    };
    compile_with(module, &opt_opts, tier_of)
}

/// [`compile`] with the optimizing tier's options given.
pub fn compile_with(
    module: &Module,
    opt_opts: &kiln_codegen_opt::CompileOptions,
    tier_of: impl Fn(u32) -> Tier,
) -> NativeModule {
    let bounds_checks = opt_opts.bounds_checks;
    let native = code_manager()
        .new_native_module(
            module.num_imported_functions,
            module.num_defined_functions(),
        )
        .expect("native module");
    let base = kiln_codegen_baseline::CompileEnv::new(module);
    let base_opts = kiln_codegen_baseline::CompileOptions {
        bounds_checks,
        tier_up: false,
        ..Default::default()
    };
    let opt = kiln_codegen_opt::CompileEnv::new(module);
    for i in module.num_imported_functions..module.functions.len() as u32 {
        let (f, kind) = match tier_of(i) {
            Tier::Baseline => (base.compile(i, &base_opts).unwrap(), CodeKind::Baseline),
            Tier::Optimized => (opt.compile(i, opt_opts).unwrap(), CodeKind::Optimized),
        };
        native.publish(i, kind, &f).expect("publish");
    }
    native
}

/// Compiles `wat` with the optimizing tier only and instantiates it without imports.
pub fn instantiate_opt(store: &Store, wat: &str, bounds_checks: BoundsChecks) -> Instance {
    let module = module(wat);
    let native = compile(&module, bounds_checks, |_| Tier::Optimized);
    Instance::new(store, &module, &native, &Imports::new()).expect("instantiate")
}
