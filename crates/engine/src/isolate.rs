//! Isolates: one execution context each, as V8's `Isolate` seen from its wasm engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln_runtime::{Imports, Instance, InstantiationError, Store};

use crate::code_logging::{self, CodeEventListener};
use crate::native_module::Breakpoint;
use crate::task_queue::TaskQueue;
use crate::{Engine, EngineError, ModuleObject, NativeModule, Script};

/// The part of an isolate the engine and its workers see (`Send + Sync`).
pub(crate) struct IsolateShared {
    pub id: u64,
    pub tasks: TaskQueue,
    /// The code-logging listener while logging is on.
    pub logger: Mutex<Option<Arc<dyn CodeEventListener>>>,
    pub debug: AtomicBool,
    /// Native modules this isolate uses, by id, with the URL of its first script for each.
    pub modules: Mutex<HashMap<u64, (Arc<NativeModule>, String)>>,
    pub scripts: Mutex<Vec<Arc<Script>>>,
}

impl IsolateShared {
    pub fn new(id: u64) -> IsolateShared {
        IsolateShared {
            id,
            tasks: TaskQueue::default(),
            logger: Mutex::new(None),
            debug: AtomicBool::new(false),
            modules: Mutex::new(HashMap::new()),
            scripts: Mutex::new(Vec::new()),
        }
    }

    pub fn logger(&self) -> Option<Arc<dyn CodeEventListener>> {
        self.logger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn lock_modules(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, (Arc<NativeModule>, String)>> {
        self.modules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The URL this isolate knows `native` by, if it uses it.
    pub fn url_of(&self, native: &NativeModule) -> Option<String> {
        self.lock_modules()
            .get(&native.id())
            .map(|(_, u)| u.clone())
    }
}

/// One execution context: its instances (in its [`Store`]), the native modules it uses, its
/// scripts, its code-logging and debug flags, and a queue of tasks the engine posts for it,
/// which the embedder runs on the isolate's thread ([`Isolate::run_pending_tasks`]).
///
/// Created with [`Engine::new_isolate`], which registers it; it belongs to the thread that
/// created it (its store is single-threaded). Dropping it cancels its compile jobs (and so the
/// initial compilation of modules only it was compiling), removes its breakpoints and debug
/// state, stops its code logging (a module stays logged only while some isolate that uses it
/// logs), and releases its references to native modules and scripts.
pub struct Isolate {
    pub(crate) shared: Arc<IsolateShared>,
    engine: Engine,
    store: Store,
}

impl std::fmt::Debug for Isolate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolate")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

impl Isolate {
    pub(crate) fn new(engine: &Engine, shared: Arc<IsolateShared>) -> Isolate {
        Isolate {
            store: Store::new(engine.runtime()),
            shared,
            engine: engine.clone(),
        }
    }

    /// The engine-wide id of this isolate (never reused).
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store that owns this isolate's instances, memories, tables and globals.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Compiles `wasm` on this thread (with helpers from the engine's workers) and returns
    /// this isolate's module object. A module with the same bytes and features that is alive
    /// anywhere in the engine is reused, not recompiled. The bytes are copied once.
    pub fn compile(&self, wasm: &[u8]) -> Result<ModuleObject, EngineError> {
        let native = self.engine.compile_native(wasm, Some(self.shared.id))?;
        Ok(self.engine.add_module(&self.shared, native, None))
    }

    /// Instantiates `module` in this isolate's store; the instance keeps the compiled module
    /// alive.
    pub fn instantiate(
        &self,
        module: &ModuleObject,
        imports: &Imports,
    ) -> Result<Instance, InstantiationError> {
        let instance = Instance::new(
            &self.store,
            &module.native.module,
            &module.native.code,
            imports,
        )?;
        // The instance keeps the native module alive: its functions may still compile lazily.
        instance.keep_alive(module.native.clone());
        Ok(instance)
    }

    /// Runs the tasks the engine posted for this isolate (compile results for resolvers,
    /// code-logging events, code-GC stack reports), and those they post, until none is left.
    /// Returns how many ran. A safepoint: call it regularly on the isolate's thread.
    pub fn run_pending_tasks(&self) -> usize {
        self.shared.tasks.run_pending()
    }

    /// Waits up to `timeout` for a task, then runs every pending one; returns how many ran.
    pub fn wait_for_tasks(&self, timeout: Duration) -> usize {
        self.shared.tasks.wait_and_run(timeout)
    }

    /// Tasks waiting to run.
    pub fn pending_tasks(&self) -> usize {
        self.shared.tasks.len()
    }

    /// Whether any compile job of this isolate is still running.
    pub fn has_running_compile_job(&self) -> bool {
        self.engine.has_running_compile_job(self)
    }

    /// Cancels every compile job of this isolate: their futures complete with
    /// [`EngineError::Cancelled`] and their resolvers are dropped uncalled.
    pub fn cancel_compile_jobs(&self) {
        self.engine
            .inner
            .cancel_jobs(|job| job.isolate == Some(self.shared.id));
    }

    /// Native modules this isolate uses.
    pub fn native_modules(&self) -> Vec<Arc<NativeModule>> {
        self.shared
            .lock_modules()
            .values()
            .map(|(m, _)| m.clone())
            .collect()
    }

    /// Scripts of this isolate, in creation order.
    pub fn scripts(&self) -> Vec<Arc<Script>> {
        self.shared
            .scripts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether code logging is on for this isolate.
    pub fn is_logging_code(&self) -> bool {
        self.shared.logger().is_some()
    }

    /// Turns code logging off for this isolate (a module stays logged while another isolate
    /// using it logs).
    pub fn disable_code_logging(&self) {
        code_logging::disable(&self.shared);
    }

    /// Turns debugging on or off for this isolate. While any isolate debugs a module,
    /// [`NativeModule::is_debugging`] is true. Turning it off removes this isolate's
    /// breakpoints.
    pub fn set_debugging(&self, on: bool) {
        self.shared.debug.store(on, Ordering::Release);
        for (module, _) in self.shared.lock_modules().values() {
            let mut debug = module.lock_debug();
            if on {
                debug.debugging.insert(self.shared.id);
            } else {
                debug.debugging.remove(&self.shared.id);
                debug.breakpoints.retain(|b| b.isolate != self.shared.id);
            }
        }
    }

    /// Whether debugging is on for this isolate.
    pub fn is_debugging(&self) -> bool {
        self.shared.debug.load(Ordering::Acquire)
    }

    /// Records a breakpoint at byte `offset` of function `func_index` of `module` for this
    /// isolate (bookkeeping; the debugger acts on it). Turns debugging on.
    pub fn set_breakpoint(&self, module: &ModuleObject, func_index: u32, offset: u32) {
        if !self.is_debugging() {
            self.set_debugging(true);
        }
        let mut debug = module.native.lock_debug();
        debug.debugging.insert(self.shared.id);
        debug.breakpoints.push(Breakpoint {
            isolate: self.shared.id,
            func_index,
            offset,
        });
    }

    /// This isolate's breakpoints in every module it uses.
    pub fn breakpoints(&self) -> Vec<Breakpoint> {
        self.native_modules()
            .iter()
            .flat_map(|m| m.breakpoints())
            .filter(|b| b.isolate == self.shared.id)
            .collect()
    }
}

impl Drop for Isolate {
    fn drop(&mut self) {
        let engine = self.engine.inner.clone();
        let id = self.shared.id;
        engine.cancel_jobs(|job| job.isolate == Some(id));
        self.shared.tasks.close();
        engine.unregister_isolate(id);
        code_logging::disable(&self.shared);
        let modules = std::mem::take(&mut *self.shared.lock_modules());
        for (module, _) in modules.values() {
            let mut debug = module.lock_debug();
            debug.debugging.remove(&id);
            debug.breakpoints.retain(|b| b.isolate != id);
        }
        self.shared
            .scripts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        engine.code_gc.isolate_gone(&engine, id);
        // The store (instances, memories) drops after this, then the modules: instances hold
        // their own handles to the code they run.
        drop(modules);
    }
}
