//! Compile jobs: synchronous and asynchronous compiles of whole modules, the compilation units
//! they share out among threads, and the one-off [`Engine::compile_function`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kiln_abi::{CompileError, CompiledFunction, Tier};
use kiln_code_manager::{CodeKind, PublishMode, PublishRequest, WasmCodeRef};
use kiln_codegen_baseline::DebugOptions;
use kiln_decoder::{DeferredFunction, Module, ValidatorScratch};
use kiln_runtime::{Imports, Instance, InstantiationError, Store};

use crate::engine::{EngineInner, JobState};
use crate::future::{CompileFuture, Completion};
use crate::isolate::IsolateShared;
use crate::module_cache::Lookup;
use crate::worker_pool::Priority;
use crate::{Engine, EngineConfig, EngineError, Isolate, ModuleObject, NativeModule};

/// Receives the result of an asynchronous compile, V8-style; called on the isolate's thread
/// (from its task queue), exactly once, unless the job is cancelled (then it is dropped).
pub trait CompilationResultResolver: Send {
    /// The module compiled.
    fn on_compilation_succeeded(self: Box<Self>, module: ModuleObject);
    /// It did not: `error` is the message, prefixed by the API name
    /// (`WebAssembly.compile(): invalid module: ...`).
    fn on_compilation_failed(self: Box<Self>, error: String);
}

/// Any `FnOnce(Result<ModuleObject, String>)` is a resolver.
impl<F: FnOnce(Result<ModuleObject, String>) + Send> CompilationResultResolver for F {
    fn on_compilation_succeeded(self: Box<Self>, module: ModuleObject) {
        (*self)(Ok(module))
    }
    fn on_compilation_failed(self: Box<Self>, error: String) {
        (*self)(Err(error))
    }
}

/// Options of an asynchronous or streaming compile job.
pub struct JobOptions {
    /// The API that started the job, prefixed to error messages (default
    /// `WebAssembly.compile()`).
    pub api_name: String,
    /// An embedder-defined context tag; [`Engine::cancel_context`] cancels every job with it.
    pub context: u64,
    /// The script URL (a streaming source URL); default `wasm://wasm/...`.
    pub source_url: Option<String>,
    /// Called with the result on the isolate's task queue.
    pub resolver: Option<Box<dyn CompilationResultResolver>>,
}

impl Default for JobOptions {
    fn default() -> JobOptions {
        JobOptions {
            api_name: "WebAssembly.compile()".to_string(),
            context: 0,
            source_url: None,
            resolver: None,
        }
    }
}

impl std::fmt::Debug for JobOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobOptions")
            .field("api_name", &self.api_name)
            .field("context", &self.context)
            .field("source_url", &self.source_url)
            .field("resolver", &self.resolver.is_some())
            .finish()
    }
}

/// One tier's per-module compiler with its options: what every compile thread calls.
pub(crate) enum TierCompiler<'m> {
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
    pub fn new(module: &'m Module, config: &EngineConfig, tier: Tier) -> TierCompiler<'m> {
        match tier {
            Tier::Baseline => TierCompiler::Baseline(
                kiln_codegen_baseline::CompileEnv::new(module),
                kiln_codegen_baseline::CompileOptions {
                    bounds_checks: config.bounds_checks,
                    tier_up: config.emits_tier_up_checks(),
                    cpu: config.cpu,
                    debug: config.debug_stepping.then(DebugOptions::stepping),
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

    pub fn compile(&self, func_index: u32) -> Result<CompiledFunction, CompileError> {
        match self {
            TierCompiler::Baseline(env, options) => env.compile(func_index, options),
            TierCompiler::Optimized(env, options) => env.compile(func_index, options),
        }
    }
}

/// The kind code of `tier` is published as under `config`.
pub(crate) fn code_kind(tier: Tier, config: &EngineConfig) -> CodeKind {
    match tier {
        Tier::Baseline if config.debug_stepping => CodeKind::BaselineDebug,
        Tier::Baseline => CodeKind::Baseline,
        Tier::Optimized => CodeKind::Optimized,
    }
}

/// Compiles one function with `tier` and publishes it (after noting the code it replaces for
/// code GC), with statistics, tracing and logging. Returns the published code.
pub(crate) fn compile_and_publish(
    engine: &Arc<EngineInner>,
    native: &NativeModule,
    func_index: u32,
    tier: Tier,
    mode: PublishMode,
) -> Result<WasmCodeRef, EngineError> {
    let start = Instant::now();
    let compiler = TierCompiler::new(&native.module, &engine.config, tier);
    let function = compiler
        .compile(func_index)
        .map_err(|error| EngineError::Compile { func_index, error })?;
    let elapsed = start.elapsed();
    engine
        .stats
        .record_compile(tier, &native.module, func_index, &function, elapsed);
    let old = native.code.code(func_index);
    let code = native
        .code
        .publish_with(func_index, code_kind(tier, &engine.config), &function, mode)
        .map_err(EngineError::Code)?;
    if let Some(old) = old
        && old.instruction_start() != code.instruction_start()
    {
        engine.code_gc.add_potentially_dead(engine, old);
    }
    engine.after_publish(native, std::slice::from_ref(&code));
    Ok(code)
}

/// `queue` with larger bodies (`len`) first, by their length's power of two, queue order
/// within one: close enough to largest-first to keep the last worker from finishing long
/// after the others, and a counting sort (linear) where a comparison sort of tens of
/// thousands of functions delayed every worker's start.
fn larger_first(queue: &[u32], len: impl Fn(u32) -> usize) -> Vec<u32> {
    // 0 for lengths of 2^31 and more, 32 for empty bodies.
    let rank = |i: u32| u32::try_from(len(i)).unwrap_or(u32::MAX).leading_zeros() as usize;
    let mut starts = [0usize; 33];
    for &i in queue {
        starts[rank(i)] += 1;
    }
    let mut total = 0;
    for start in &mut starts {
        (*start, total) = (total, total + *start);
    }
    let mut sorted = vec![0; queue.len()];
    for &i in queue {
        let slot = &mut starts[rank(i)];
        sorted[*slot] = i;
        *slot += 1;
    }
    sorted
}

/// Functions of one module shared out among threads: each takes the next index (largest
/// bodies first), validates its body if the decoder left that for later
/// ([`kiln_decoder::decode_deferred`]), compiles it (unless compiling lazily) and publishes in
/// small batches. The thread that started the compile works too, so progress never depends
/// on a free worker.
pub(crate) struct Units {
    engine: Arc<EngineInner>,
    module: Arc<Module>,
    /// Where compiled functions are published; `None`: taken functions are validated only
    /// (lazy compilation), so no code space need exist yet.
    code: Option<kiln_code_manager::NativeModule>,
    tier: Tier,
    queue: Vec<u32>,
    /// Deferred body validations, by defined-function index (empty when the decoder
    /// validated the bodies itself).
    /// One lock for all: each is taken once, and wrapping each in a lock of its own cost a
    /// fresh allocation (page faults) before any worker could start.
    validations: Mutex<Vec<Option<DeferredFunction>>>,
    next: AtomicUsize,
    failed: AtomicBool,
    error: Mutex<Option<EngineError>>,
    job: Option<Arc<JobState>>,
    /// Functions taken but not yet published (or dropped after a failure).
    in_flight: Mutex<usize>,
    settled: Condvar,
}

impl Units {
    pub fn new(
        engine: &Arc<EngineInner>,
        module: Arc<Module>,
        code: kiln_code_manager::NativeModule,
        queue: Vec<u32>,
        job: Option<Arc<JobState>>,
    ) -> Arc<Units> {
        Units::with_validations(engine, module, Some(code), queue, job, Vec::new())
    }

    /// Units for every defined function of `module`, running `validations` (one per defined
    /// function, in index order, or none); without `code` they only validate.
    pub fn for_module(
        engine: &Arc<EngineInner>,
        module: Arc<Module>,
        code: Option<kiln_code_manager::NativeModule>,
        job: Option<Arc<JobState>>,
        validations: Vec<DeferredFunction>,
    ) -> Arc<Units> {
        let queue = (module.num_imported_functions..module.functions.len() as u32).collect();
        Units::with_validations(engine, module, code, queue, job, validations)
    }

    /// Units that also run `validations` (one per defined function, in index order, or
    /// none); without `code` they only validate.
    pub fn with_validations(
        engine: &Arc<EngineInner>,
        module: Arc<Module>,
        code: Option<kiln_code_manager::NativeModule>,
        queue: Vec<u32>,
        job: Option<Arc<JobState>>,
        validations: Vec<DeferredFunction>,
    ) -> Arc<Units> {
        let queue = larger_first(&queue, |i| {
            module.functions[i as usize]
                .body
                .as_ref()
                .map_or(0, |b| b.len())
        });
        Arc::new(Units {
            engine: engine.clone(),
            tier: engine.config.tier,
            module,
            code,
            queue,
            // In place: `Option` uses the function's niche.
            validations: Mutex::new(validations.into_iter().map(Some).collect()),
            next: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
            job,
            in_flight: Mutex::new(0),
            settled: Condvar::new(),
        })
    }

    fn stopped(&self) -> bool {
        self.failed.load(Ordering::Relaxed) || self.job.as_ref().is_some_and(|j| j.is_cancelled())
    }

    fn take(&self) -> Option<u32> {
        if self.stopped() {
            return None;
        }
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let i = *self.queue.get(self.next.fetch_add(1, Ordering::Relaxed))?;
        *in_flight += 1;
        Some(i)
    }

    fn settle(&self, n: usize) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        *in_flight -= n;
        drop(in_flight);
        self.settled.notify_all();
    }

    fn fail(&self, error: EngineError) {
        self.failed.store(true, Ordering::Relaxed);
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        // Keep an invalid body's error before any compile error (the decoder would have
        // reported it before compiling anything), then the lowest function index, so the
        // message does not depend on thread timing.
        let rank = |e: &EngineError| match e {
            EngineError::Decode(d) => (0, d.function_index().unwrap_or(0)),
            EngineError::Compile { func_index, .. } => (1, *func_index),
            _ => (2, 0),
        };
        if slot.as_ref().is_none_or(|old| rank(&error) < rank(old)) {
            *slot = Some(error);
        }
    }

    /// Validates function `i`'s body if that is still pending.
    fn validate(&self, i: u32, scratch: &mut ValidatorScratch) -> Result<(), EngineError> {
        let defined = (i - self.module.num_imported_functions) as usize;
        let pending = self
            .validations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(defined)
            .and_then(Option::take);
        match pending {
            Some(v) => v
                .validate(&self.module, scratch)
                .map_err(EngineError::Decode),
            None => Ok(()),
        }
    }

    /// Compiles functions until none is left (or the job stops).
    pub fn work(&self) {
        const BATCH: usize = 8;
        let compiler = TierCompiler::new(&self.module, &self.engine.config, self.tier);
        let mut scratch = ValidatorScratch::default();
        let mut batch: Vec<(u32, CompiledFunction)> = Vec::new();
        loop {
            let next = self.take();
            if let Some(i) = next {
                let start = Instant::now();
                let compiled = match self.validate(i, &mut scratch) {
                    Err(error) => Err(error),
                    Ok(()) if self.code.is_none() => {
                        self.settle(1);
                        continue;
                    }
                    Ok(()) => compiler.compile(i).map_err(|error| EngineError::Compile {
                        func_index: i,
                        error,
                    }),
                };
                match compiled {
                    Ok(f) => {
                        self.engine.stats.record_compile(
                            self.tier,
                            &self.module,
                            i,
                            &f,
                            start.elapsed(),
                        );
                        batch.push((i, f));
                    }
                    Err(error) => {
                        self.fail(error);
                        self.settle(1);
                    }
                }
            }
            if !batch.is_empty() && (next.is_none() || batch.len() >= BATCH) {
                let n = batch.len();
                if !self.stopped() {
                    self.publish(&batch);
                }
                batch.clear();
                self.settle(n);
            }
            if next.is_none() {
                return;
            }
        }
    }

    fn publish(&self, batch: &[(u32, CompiledFunction)]) {
        let requests: Vec<PublishRequest<'_>> = batch
            .iter()
            .map(|(func_index, function)| PublishRequest {
                func_index: *func_index,
                kind: code_kind(self.tier, &self.engine.config),
                function,
                mode: PublishMode::Normal,
            })
            .collect();
        let code = self
            .code
            .as_ref()
            .expect("only units with code compile and publish");
        if let Err(e) = code.publish_batch(&requests) {
            self.fail(EngineError::Code(e));
            return;
        }
        self.engine
            .trace_batch(&self.module, code.id(), batch, self.tier);
    }

    /// Runs the units on this thread with up to `helpers` workers helping, and waits until all
    /// are published. Returns the first error (by function index), or `Cancelled`.
    pub fn run(self: &Arc<Units>, helpers: usize) -> Result<(), EngineError> {
        self.start_helpers(helpers);
        self.work();
        self.wait()
    }

    /// Puts up to `helpers` workers on the units (fewer when there are fewer units).
    pub fn start_helpers(self: &Arc<Units>, helpers: usize) {
        let helpers = helpers.min(self.queue.len().saturating_sub(1));
        for _ in 0..helpers {
            // Weak: a helper that starts after the compile ended finds nothing to do and
            // must not keep the module's code alive while it waits in the queue.
            let units = Arc::downgrade(self);
            self.engine.pool.submit(
                Priority::UserVisible,
                Box::new(move || {
                    if let Some(units) = units.upgrade() {
                        units.work();
                    }
                }),
            );
        }
    }

    /// Waits until every function taken is settled; returns the outcome.
    pub fn wait(&self) -> Result<(), EngineError> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        while *in_flight > 0 {
            in_flight = self
                .settled
                .wait(in_flight)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(in_flight);
        if self.failed.load(Ordering::Relaxed) {
            // A compile error stopped the others: bodies never validated may hold an
            // earlier-reported (decode) error.
            let mut scratch = ValidatorScratch::default();
            for i in self.module.num_imported_functions..self.module.functions.len() as u32 {
                if let Err(e) = self.validate(i, &mut scratch) {
                    self.fail(e);
                    break;
                }
            }
        }
        if let Some(e) = self.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(e);
        }
        if self.job.as_ref().is_some_and(|j| j.is_cancelled()) {
            return Err(EngineError::Cancelled);
        }
        Ok(())
    }
}

/// Creates the code space of `module` and, unless compiling lazily, compiles every function
/// with the configured tier; returns the registered native module.
pub(crate) fn compile_decoded(
    engine: &Arc<EngineInner>,
    module: Arc<Module>,
    validations: Vec<DeferredFunction>,
    job: Option<&Arc<JobState>>,
    helpers: usize,
    start: Instant,
) -> Result<Arc<NativeModule>, EngineError> {
    let code = engine
        .code_manager
        .new_native_module(
            module.num_imported_functions,
            module.num_defined_functions(),
        )
        .map_err(EngineError::Code)?;
    let lazy = engine.config.lazy_compilation;
    if !lazy || !validations.is_empty() {
        Units::for_module(
            engine,
            module.clone(),
            (!lazy).then(|| code.clone()),
            job.cloned(),
            validations,
        )
        .run(helpers)?;
    }
    Ok(engine.finish_module(module, code, lazy, start.elapsed()))
}

impl EngineInner {
    /// Wraps compiled code into a registered [`NativeModule`].
    pub fn finish_module(
        &self,
        module: Arc<Module>,
        code: kiln_code_manager::NativeModule,
        lazy: bool,
        compile_time: Duration,
    ) -> Arc<NativeModule> {
        let native = Arc::new(NativeModule::new(
            module,
            code,
            self.config.features,
            lazy,
            compile_time,
        ));
        self.register_module(&native);
        native
    }

    /// The native module for `bytes` (whose [`kiln_decoder::hash_bytes`] is `hash`): from the
    /// cache, or compiled (through the streaming decoder in test-streaming mode). Concurrent
    /// compiles of the same bytes compile once.
    pub fn get_or_compile(
        self: &Arc<Self>,
        bytes: Arc<[u8]>,
        hash: u64,
        job: Option<&Arc<JobState>>,
        helpers: usize,
    ) -> Result<Arc<NativeModule>, EngineError> {
        let start = Instant::now();
        let owner = job.map_or_else(|| self.next_id(), |j| j.id);
        let reservation =
            match self
                .cache
                .lookup(&bytes, hash, self.config.features, owner, job.map(|j| &**j))
            {
                None => return Err(EngineError::Cancelled),
                Some(Lookup::Hit(native)) => {
                    self.stats.note_cache_hit();
                    return Ok(native);
                }
                Some(Lookup::Miss(reservation)) => reservation,
            };
        let native = if self.config.test_streaming {
            crate::streaming::compile_split(self, &bytes, job, start)?
        } else if self.config.lazy_compilation {
            self.validate_early(bytes, hash, job, helpers, start)?
        } else {
            // Bodies are validated on the compile threads, in parallel, each right before it
            // is compiled.
            let (module, validations) =
                kiln_decoder::decode_deferred_hashed(bytes, hash, &self.config.features)
                    .map_err(EngineError::Decode)?;
            compile_decoded(self, Arc::new(module), validations, job, helpers, start)?
        };
        reservation.fulfil(&native);
        Ok(native)
    }

    /// Lazy compilation: decodes `bytes` with their bodies validated on the workers from the
    /// end of the code section on, while this thread decodes the sections after it and
    /// creates the code space (then joins the validation). Errors rank as
    /// [`kiln_decoder::decode`] ranks them: an invalid body before any error after the code
    /// section; a failure to create the code space comes last.
    fn validate_early(
        self: &Arc<Self>,
        bytes: Arc<[u8]>,
        hash: u64,
        job: Option<&Arc<JobState>>,
        helpers: usize,
        start: Instant,
    ) -> Result<Arc<NativeModule>, EngineError> {
        let mut early = None;
        let decoded = kiln_decoder::decode_deferred_early(
            bytes,
            hash,
            &self.config.features,
            |snapshot, validations| {
                // Validating needs no code space: the workers start at once.
                let units = Units::for_module(self, snapshot, None, job.cloned(), validations);
                units.start_helpers(helpers);
                early = Some(units);
            },
        );
        let Some(units) = early else {
            // No code section, or a module malformed before its end: the ordinary path.
            let (module, validations) = decoded.map_err(EngineError::Decode)?;
            return compile_decoded(self, Arc::new(module), validations, job, helpers, start);
        };
        // The code space (its jump table and lazy stubs take milliseconds for tens of
        // thousands of functions), while the workers validate.
        let code = decoded.as_ref().ok().map(|(module, _)| {
            self.code_manager.new_native_module(
                module.num_imported_functions,
                module.num_defined_functions(),
            )
        });
        units.work();
        units.wait()?;
        let (module, _) = decoded.map_err(EngineError::Decode)?;
        let code = code
            .expect("created for a decoded module")
            .map_err(EngineError::Code)?;
        Ok(self.finish_module(Arc::new(module), code, true, start.elapsed()))
    }

    /// Runs an asynchronous compile job to its end on a worker and delivers the result.
    pub fn run_async_job(
        self: &Arc<Self>,
        isolate: &Arc<IsolateShared>,
        job: &Arc<JobState>,
        options: JobOptions,
        completion: &Completion<Result<ModuleObject, EngineError>>,
        compile: impl FnOnce() -> Result<Arc<NativeModule>, EngineError>,
    ) {
        let result = if job.is_cancelled() {
            Err(EngineError::Cancelled)
        } else {
            compile()
        };
        self.deliver(isolate, job, options, completion, result);
    }

    /// Ends `job`: completes its future and posts its resolver to the isolate, unless the job
    /// was cancelled (then the future gets `Cancelled` and the resolver is dropped).
    pub fn deliver(
        &self,
        isolate: &Arc<IsolateShared>,
        job: &Arc<JobState>,
        options: JobOptions,
        completion: &Completion<Result<ModuleObject, EngineError>>,
        result: Result<Arc<NativeModule>, EngineError>,
    ) {
        let JobOptions {
            api_name,
            source_url,
            resolver,
            ..
        } = options;
        let result = match result {
            _ if job.is_cancelled() => Err(EngineError::Cancelled),
            Ok(native) => Ok(self.add_module(isolate, native, source_url)),
            Err(e) => Err(e),
        };
        self.end_job(job.id);
        match (&result, resolver) {
            (Err(EngineError::Cancelled), _) | (_, None) => {}
            (Ok(module), Some(resolver)) => {
                let module = module.clone();
                isolate
                    .tasks
                    .post(Box::new(move || resolver.on_compilation_succeeded(module)));
            }
            (Err(e), Some(resolver)) => {
                let message = format!("{api_name}: {e}");
                isolate
                    .tasks
                    .post(Box::new(move || resolver.on_compilation_failed(message)));
            }
        }
        completion.complete(result);
    }
}

impl Engine {
    /// The native module for `wasm` (cached or compiled), for isolate `isolate` if any.
    pub(crate) fn compile_native(
        &self,
        wasm: &[u8],
        isolate: Option<u64>,
    ) -> Result<Arc<NativeModule>, EngineError> {
        let job = self.inner.start_job(isolate, 0);
        let helpers = self.inner.config.compile_threads.saturating_sub(1);
        let (bytes, hash) = kiln_decoder::copy_and_hash(wasm, helpers > 0);
        let result = self.inner.get_or_compile(bytes, hash, Some(&job), helpers);
        self.inner.end_job(job.id);
        result
    }

    /// Decodes, validates and compiles `wasm` with the configured strategy, outside any
    /// isolate, on this thread with [`EngineConfig::compile_threads`]` - 1` workers helping.
    /// Alive modules with the same bytes are reused (module cache).
    pub fn compile(&self, wasm: &[u8]) -> Result<CompiledModule, EngineError> {
        let start = Instant::now();
        let native = self.compile_native(wasm, None)?;
        Ok(CompiledModule {
            code_size: native.code_size(),
            compile_time: start.elapsed(),
            native,
        })
    }

    /// Compiles function `func_index` of `native_module` with `tier` now, on this thread, and
    /// publishes it (it replaces code of the same or a lower tier). Returns the tier installed
    /// afterwards.
    pub fn compile_function(
        &self,
        native_module: &NativeModule,
        func_index: u32,
        tier: Tier,
    ) -> Result<Option<Tier>, EngineError> {
        compile_and_publish(
            &self.inner,
            native_module,
            func_index,
            tier,
            PublishMode::Normal,
        )?;
        Ok(native_module.installed_tier(func_index))
    }
}

impl Isolate {
    /// Starts compiling `wasm` on the engine's workers and returns at once (the bytes are
    /// copied first, so the caller may reuse its buffer). The result comes both as the
    /// returned future and, if given, through `options.resolver` on this isolate's task
    /// queue.
    pub fn compile_async(&self, wasm: &[u8], options: JobOptions) -> CompileFuture {
        let engine = self.engine().inner.clone();
        let job = engine.start_job(Some(self.id()), options.context);
        let completion = Completion::new();
        let future = CompileFuture {
            completion: completion.clone(),
            job_id: job.id,
        };
        let helpers = engine.config.compile_threads.saturating_sub(1);
        let (bytes, hash) = kiln_decoder::copy_and_hash(wasm, helpers > 0);
        let isolate = self.shared.clone();
        let worker_engine = engine.clone();
        engine.pool.submit(
            Priority::UserVisible,
            Box::new(move || {
                let e = &worker_engine;
                e.run_async_job(&isolate, &job, options, &completion, || {
                    e.get_or_compile(bytes, hash, Some(&job), helpers)
                });
            }),
        );
        future
    }
}

/// A module compiled by [`Engine::compile`], outside any isolate.
#[derive(Debug)]
pub struct CompiledModule {
    native: Arc<NativeModule>,
    compile_time: Duration,
    code_size: usize,
}

impl CompiledModule {
    /// The decoded module.
    pub fn module(&self) -> &Arc<Module> {
        &self.native.module
    }

    /// The published code: jump table, functions, metadata.
    pub fn native_module(&self) -> &kiln_code_manager::NativeModule {
        &self.native.code
    }

    /// The engine's shared native module.
    pub fn shared(&self) -> &Arc<NativeModule> {
        &self.native
    }

    /// Wall time from bytes to published code (or to the cache hit).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Bytes of machine code installed for the module's functions when compiled (zero for
    /// lazy compilation).
    pub fn code_size(&self) -> usize {
        self.code_size
    }

    /// Instantiates the module in `store` with `imports`. The instance keeps the compiled
    /// module alive (its functions may still compile lazily, or again after flushing).
    pub fn instantiate(
        &self,
        store: &Store,
        imports: &Imports,
    ) -> Result<Instance, InstantiationError> {
        let instance = Instance::new(store, &self.native.module, &self.native.code, imports)?;
        instance.keep_alive(self.native.clone());
        Ok(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::larger_first;

    #[test]
    fn larger_bodies_go_first_by_power_of_two_in_queue_order() {
        let lens = [5, 100, 0, 64, 70, 3000, 6, usize::MAX];
        let queue: Vec<u32> = (0..lens.len() as u32).collect();
        // 2^64-1 counts as 2^32-1; then 3000; 64..127 in queue order; 4..7; the empty body.
        assert_eq!(
            larger_first(&queue, |i| lens[i as usize]),
            [7, 5, 1, 3, 4, 0, 6, 2]
        );
        // Any order of the queue is kept within a class.
        assert_eq!(
            larger_first(&[6, 0, 4, 1], |i| lens[i as usize]),
            [4, 1, 6, 0]
        );
        assert!(larger_first(&[], |_| 0).is_empty());
    }
}
