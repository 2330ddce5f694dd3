//! Synchronous compilation with one tier, on several threads.

use crate::EngineError;
use kiln_abi::{CompileError, CompiledFunction, Tier};
use kiln_code_manager::{
    CodeKind, CodeManager, CodeManagerConfig, NativeModule, PublishMode, PublishRequest,
};
use kiln_codegen_baseline::CpuFeatures;
use kiln_decoder::{Features, Module};
use kiln_runtime::{
    BoundsChecks, Imports, Instance, InstantiationError, Runtime, RuntimeConfig, Store,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How the engine compiles and runs code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Proposals accepted beyond WebAssembly 2.0.
    pub features: Features,
    /// Guard regions or explicit checks; compiled code and memories must agree.
    pub bounds_checks: BoundsChecks,
    /// Threads compiling one module's functions (at least 1).
    pub compile_threads: usize,
    /// Bytes of stack wasm may use below the host frame that enters it.
    pub max_wasm_stack: usize,
    /// Instruction-set extensions generated code may use (tests turn them off to exercise
    /// the fallback sequences).
    pub cpu: CpuFeatures,
    /// Whether baseline code counts a tier-up budget at entries and loop back edges. Off
    /// until dynamic tiering lands, since nothing would consume the requests.
    pub tier_up_checks: bool,
    /// The tier that compiles every function.
    pub tier: Tier,
}

impl Default for EngineConfig {
    /// WebAssembly 2.0, guard regions, one compile thread per core, the runtime's default
    /// stack, this CPU's features, no tier-up checks, the baseline tier.
    fn default() -> EngineConfig {
        EngineConfig {
            features: Features::default(),
            bounds_checks: BoundsChecks::Guard,
            compile_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_wasm_stack: RuntimeConfig::default().max_wasm_stack,
            cpu: CpuFeatures::detect(),
            tier_up_checks: false,
            tier: Tier::Baseline,
        }
    }
}

/// Compiles modules and owns what their code needs: the code manager and the runtime.
/// Shared by reference across threads.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    code_manager: CodeManager,
    runtime: Runtime,
}

/// A module compiled by an [`Engine`]: the decoded module and its published code.
#[derive(Debug)]
pub struct CompiledModule {
    module: Arc<Module>,
    native: NativeModule,
    compile_time: Duration,
    code_size: usize,
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: EngineConfig) -> Engine {
        let runtime = Runtime::new(RuntimeConfig {
            bounds_checks: config.bounds_checks,
            max_wasm_stack: config.max_wasm_stack,
            // Large enough that tier-up checks, when on, run their fast path almost always.
            tier_up_budget: 100_000,
        });
        let code_manager = CodeManager::new(CodeManagerConfig::default());
        Engine {
            config,
            code_manager,
            runtime,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The runtime instances of this engine's modules run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Decodes, validates and compiles every function of `wasm` with the configured tier, then
    /// publishes the code in one batch. Cost: decoding plus compilation, divided over
    /// [`EngineConfig::compile_threads`] threads.
    pub fn compile(&self, wasm: &[u8]) -> Result<CompiledModule, EngineError> {
        let start = Instant::now();
        let module = Arc::new(
            kiln_decoder::decode(wasm, &self.config.features).map_err(EngineError::Decode)?,
        );
        let native = self
            .code_manager
            .new_native_module(
                module.num_imported_functions,
                module.num_defined_functions(),
            )
            .map_err(EngineError::Code)?;
        let compiled = self.compile_functions(&module)?;
        let requests: Vec<PublishRequest<'_>> = compiled
            .iter()
            .map(|(func_index, function)| PublishRequest {
                func_index: *func_index,
                kind: match self.config.tier {
                    Tier::Baseline => CodeKind::Baseline,
                    Tier::Optimized => CodeKind::Optimized,
                },
                function,
                mode: PublishMode::Normal,
            })
            .collect();
        native.publish_batch(&requests).map_err(EngineError::Code)?;
        let code_size = compiled.iter().map(|(_, f)| f.code.len()).sum();
        Ok(CompiledModule {
            module,
            native,
            compile_time: start.elapsed(),
            code_size,
        })
    }

    /// Compiles every defined function on the compile threads. Threads take functions from a
    /// shared queue, largest body first, so one huge function does not leave the other
    /// threads idle at the end. Results come back in function-index order.
    fn compile_functions(
        &self,
        module: &Module,
    ) -> Result<Vec<(u32, CompiledFunction)>, EngineError> {
        let compiler = TierCompiler::new(module, &self.config);
        let body_len = |i: u32| {
            module.functions[i as usize]
                .body
                .as_ref()
                .map_or(0, |b| b.len())
        };
        let mut queue: Vec<u32> =
            (module.num_imported_functions..module.functions.len() as u32).collect();
        queue.sort_by_key(|&i| std::cmp::Reverse(body_len(i)));
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let work = || {
            let mut done = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let Some(&i) = queue.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                match compiler.compile(i) {
                    Ok(f) => done.push((i, f)),
                    Err(error) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(EngineError::Compile {
                            func_index: i,
                            error,
                        });
                    }
                }
            }
            Ok(done)
        };
        let threads = self.config.compile_threads.clamp(1, queue.len().max(1));
        let mut all = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for helper in helpers {
                let done = helper.join().expect("a compile thread panicked");
                match (&mut all, done) {
                    (Ok(all), Ok(done)) => all.extend(done),
                    (Ok(_), Err(e)) => all = Err(e),
                    (Err(_), _) => {}
                }
            }
            all
        })?;
        all.sort_unstable_by_key(|(i, _)| *i);
        Ok(all)
    }
}

/// One tier's per-module compiler with its options: what every compile thread calls.
enum TierCompiler<'m> {
    Baseline(
        kiln_codegen_baseline::CompileEnv<'m>,
        kiln_codegen_baseline::CompileOptions,
    ),
    Optimized(
        kiln_codegen_opt::CompileEnv<'m>,
        kiln_codegen_opt::CompileOptions,
    ),
}

impl<'m> TierCompiler<'m> {
    fn new(module: &'m Module, config: &EngineConfig) -> TierCompiler<'m> {
        match config.tier {
            Tier::Baseline => TierCompiler::Baseline(
                kiln_codegen_baseline::CompileEnv::new(module),
                kiln_codegen_baseline::CompileOptions {
                    bounds_checks: config.bounds_checks,
                    tier_up: config.tier_up_checks,
                    cpu: config.cpu,
                },
            ),
            Tier::Optimized => TierCompiler::Optimized(
                kiln_codegen_opt::CompileEnv::new(module),
                kiln_codegen_opt::CompileOptions {
                    bounds_checks: config.bounds_checks,
                    ..kiln_codegen_opt::CompileOptions::default()
                },
            ),
        }
    }

    fn compile(&self, func_index: u32) -> Result<CompiledFunction, CompileError> {
        match self {
            TierCompiler::Baseline(env, options) => env.compile(func_index, options),
            TierCompiler::Optimized(env, options) => env.compile(func_index, options),
        }
    }
}

impl CompiledModule {
    /// The decoded module.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The published code: jump table, functions, metadata.
    pub fn native_module(&self) -> &NativeModule {
        &self.native
    }

    /// Wall time from bytes to published code.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Bytes of machine code generated for the module's functions.
    pub fn code_size(&self) -> usize {
        self.code_size
    }

    /// Instantiates the module in `store` with `imports`.
    pub fn instantiate(
        &self,
        store: &Store,
        imports: &Imports,
    ) -> Result<Instance, InstantiationError> {
        Instance::new(store, &self.module, &self.native, imports)
    }
}
