//! The [`Engine`]: what all isolates share, as V8's `WasmEngine`: the code manager, the
//! runtime, the worker threads, the module cache, and the registries of isolates, native
//! modules and compile jobs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use kiln_code_manager::{CodeManager, CodeManagerConfig, MemoryUsage};
use kiln_runtime::{EngineHooks, Runtime, RuntimeConfig};

use crate::code_gc::CodeGc;
use crate::code_logging::{self, CodeEventListener};
use crate::isolate::IsolateShared;
use crate::module_cache::ModuleCache;
use crate::statistics::{CodeTracer, Statistics};
use crate::worker_pool::WorkerPool;
use crate::{EngineConfig, Isolate, ModuleObject, NativeModule, Script};

/// A running compile job, as the registry sees it.
pub(crate) struct JobState {
    pub id: u64,
    /// The isolate that started it (`None` for [`Engine::compile`]).
    pub isolate: Option<u64>,
    /// The embedder's context tag.
    pub context: u64,
    pub cancelled: AtomicBool,
}

impl JobState {
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

pub(crate) struct EngineInner {
    pub config: EngineConfig,
    pub code_manager: CodeManager,
    pub runtime: Runtime,
    pub pool: WorkerPool,
    /// Every native module alive, by code-manager id (weak; pruned when dead).
    pub modules: Mutex<HashMap<u64, Weak<NativeModule>>>,
    pub cache: ModuleCache,
    pub isolates: Mutex<HashMap<u64, Arc<IsolateShared>>>,
    pub jobs: Mutex<HashMap<u64, Arc<JobState>>>,
    next_id: AtomicU64,
    next_script_id: AtomicU32,
    pub code_gc: CodeGc,
    pub stats: Statistics,
    pub tracer: Mutex<Option<CodeTracer>>,
    /// State of the test-streaming split generator.
    pub split_seed: AtomicU64,
}

/// The engine: compiles modules and shares them among [`Isolate`]s. A cheap handle
/// (`Clone`, `Send + Sync`); the engine lives until the last handle and isolate go.
///
/// Owns the code manager (every module's code), the runtime (signatures, trampolines, hooks),
/// a pool of [`EngineConfig::worker_threads`] worker threads for asynchronous, streaming and
/// tier-up compiles, the module cache, and registries of isolates, native modules and compile
/// jobs.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What the runtime calls back into: lazy compiles, tier-up requests, new trampolines.
struct Hooks {
    engine: Weak<EngineInner>,
}

impl EngineHooks for Hooks {
    fn tier_up(&self, module_id: u64, func_index: u32) {
        if let Some(engine) = self.engine.upgrade() {
            crate::tiering::request_tier_up(&engine, module_id, func_index);
        }
    }

    fn lazy_compile(&self, module_id: u64, func_index: u32) -> Option<usize> {
        let engine = self.engine.upgrade()?;
        crate::tiering::lazy_compile(&engine, module_id, func_index)
    }

    fn code_created(&self, name: &str, address: usize, size: usize) {
        if let Some(engine) = self.engine.upgrade() {
            code_logging::trampoline_created(&engine, name, address, size);
        }
    }
}

impl Engine {
    /// An engine with `config`: starts its worker threads and registers its hooks with its
    /// runtime. Cost: thread creation, plus the process's trampolines on first use.
    pub fn new(config: EngineConfig) -> Engine {
        let runtime = Runtime::new(RuntimeConfig {
            bounds_checks: config.bounds_checks,
            max_wasm_stack: config.max_wasm_stack,
            tier_up_budget: config.tier_up_budget,
        });
        let code_manager = CodeManager::new(CodeManagerConfig {
            lazy_compile_builtin: Some(runtime.lazy_compile_entry()),
            ..CodeManagerConfig::default()
        });
        let inner = Arc::new(EngineInner {
            config,
            code_manager,
            pool: WorkerPool::new(config.worker_threads),
            runtime: runtime.clone(),
            modules: Mutex::new(HashMap::new()),
            cache: ModuleCache::default(),
            isolates: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            next_script_id: AtomicU32::new(1),
            code_gc: CodeGc::default(),
            stats: Statistics::default(),
            tracer: Mutex::new(None),
            split_seed: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        });
        runtime.set_engine_hooks(Arc::new(Hooks {
            engine: Arc::downgrade(&inner),
        }));
        Engine { inner }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The runtime instances of this engine's modules run in.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// A new isolate, registered with the engine. Use it on the thread that created it.
    pub fn new_isolate(&self) -> Isolate {
        let id = self.inner.next_id();
        let shared = Arc::new(IsolateShared::new(id));
        self.inner.lock_isolates().insert(id, shared.clone());
        Isolate::new(self, shared)
    }

    /// Number of isolates alive.
    pub fn isolate_count(&self) -> usize {
        self.inner.lock_isolates().len()
    }

    /// Shares `native_module`, compiled for another isolate, with `isolate`, without
    /// recompiling: a new script with `source_url` (or the default URL) and module object.
    pub fn import_native_module(
        &self,
        isolate: &Isolate,
        native_module: Arc<NativeModule>,
        source_url: Option<&str>,
    ) -> ModuleObject {
        self.add_module(
            &isolate.shared,
            native_module,
            source_url.map(str::to_string),
        )
    }

    /// Whether `isolate` has a compile job that has not ended.
    pub fn has_running_compile_job(&self, isolate: &Isolate) -> bool {
        self.inner
            .lock_jobs()
            .values()
            .any(|j| j.isolate == Some(isolate.id()))
    }

    /// Cancels every compile job started with context tag `context` (see
    /// [`crate::JobOptions::context`]), in any isolate. Returns how many were cancelled.
    pub fn cancel_context(&self, context: u64) -> usize {
        self.inner.cancel_jobs(|job| job.context == context)
    }

    /// Compile jobs that have not ended, in all isolates.
    pub fn running_compile_jobs(&self) -> usize {
        self.inner.lock_jobs().len()
    }

    /// Blocks until the workers are idle: no compile job, helper or background tier-up
    /// compile queued or running. Must not be called from a task running on a worker.
    pub fn wait_idle(&self) {
        self.inner.pool.wait_idle();
    }

    /// Modules and running compiles the module cache lists.
    pub fn module_cache_entries(&self) -> usize {
        self.inner.cache.len()
    }

    /// Every native module alive.
    pub fn native_modules(&self) -> Vec<Arc<NativeModule>> {
        self.inner.live_modules()
    }

    /// The memory of every native module's code, summed (the code manager's accounting).
    pub fn code_memory_usage(&self) -> MemoryUsage {
        self.inner.code_manager.memory_usage()
    }

    /// Turns code logging on for `isolate`, reporting to `listener`: every existing code object
    /// of the modules the isolate uses, every trampoline, and from now on every new one
    /// (including modules it starts using). Events are delivered as tasks on the isolate's
    /// queue, never under an engine lock.
    pub fn enable_code_logging(&self, isolate: &Isolate, listener: Arc<dyn CodeEventListener>) {
        code_logging::enable(&self.inner, &isolate.shared, listener);
    }

    /// The module object for `native` in `isolate`: creates its script, and starts logging
    /// the module's code if the isolate logs and did not use it yet.
    pub(crate) fn add_module(
        &self,
        isolate: &Arc<IsolateShared>,
        native: Arc<NativeModule>,
        source_url: Option<String>,
    ) -> ModuleObject {
        self.inner.add_module(isolate, native, source_url)
    }
}

impl EngineInner {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn lock_isolates(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<IsolateShared>>> {
        self.isolates.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lock_jobs(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<JobState>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn unregister_isolate(&self, id: u64) {
        let gone = self.lock_isolates().remove(&id);
        drop(gone);
    }

    /// Registers a job; it stays listed until [`EngineInner::end_job`].
    pub fn start_job(&self, isolate: Option<u64>, context: u64) -> Arc<JobState> {
        let job = Arc::new(JobState {
            id: self.next_id(),
            isolate,
            context,
            cancelled: AtomicBool::new(false),
        });
        self.lock_jobs().insert(job.id, job.clone());
        job
    }

    pub fn end_job(&self, id: u64) {
        let gone = self.lock_jobs().remove(&id);
        drop(gone);
    }

    /// Flags every job matching `filter` as cancelled; returns how many.
    pub fn cancel_jobs(&self, filter: impl Fn(&JobState) -> bool) -> usize {
        let jobs = self.lock_jobs();
        let mut n = 0;
        for job in jobs.values().filter(|j| filter(j)) {
            job.cancelled.store(true, Ordering::Release);
            n += 1;
        }
        drop(jobs);
        self.cache.notify_all();
        n
    }

    /// Lists `native` in the registry (for hooks and flushing).
    pub fn register_module(&self, native: &Arc<NativeModule>) {
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.retain(|_, m| m.strong_count() > 0);
        modules.insert(native.id(), Arc::downgrade(native));
    }

    pub fn module_by_id(&self, id: u64) -> Option<Arc<NativeModule>> {
        let modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.get(&id).and_then(Weak::upgrade)
    }

    pub fn live_modules(&self) -> Vec<Arc<NativeModule>> {
        let modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.values().filter_map(Weak::upgrade).collect()
    }

    pub fn add_module(
        &self,
        isolate: &Arc<IsolateShared>,
        native: Arc<NativeModule>,
        source_url: Option<String>,
    ) -> ModuleObject {
        let url = source_url.unwrap_or_else(|| native.default_url());
        let script = Arc::new(Script {
            id: self.next_script_id.fetch_add(1, Ordering::Relaxed),
            url: url.clone(),
            source_map_url: native.module.source_mapping_url.clone(),
            memory_estimate: native.memory_estimate(),
        });
        isolate
            .scripts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(script.clone());
        // Counted under the modules lock, as code logging and debugging change their flags
        // under it too.
        let newly_used = {
            let mut modules = isolate.lock_modules();
            // An isolate being dropped (queue closed before its modules are released) takes
            // no new module, so nothing is left registered for it.
            if isolate.tasks.is_closed() {
                None
            } else {
                match modules.entry(native.id()) {
                    std::collections::hash_map::Entry::Occupied(_) => None,
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert((native.clone(), url));
                        if isolate.debug.load(Ordering::Acquire) {
                            native.lock_debug().debugging.insert(isolate.id);
                        }
                        let listener = isolate.logger();
                        if listener.is_some() {
                            native.logging_isolates.fetch_add(1, Ordering::AcqRel);
                        }
                        Some(listener)
                    }
                }
            }
        };
        if let Some(Some(listener)) = newly_used {
            code_logging::start_logging_module(isolate, &native, listener);
        }
        ModuleObject {
            native,
            script,
            isolate: isolate.id,
        }
    }
}
