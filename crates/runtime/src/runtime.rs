//! The [`Runtime`]: configuration and the state shared by every store of an engine
//! (signature registry, engine hooks), and the process-wide trampolines and builtin table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use kiln_abi::BuiltinId;
use kiln_code_manager::{CodeManager, CodeManagerConfig, NativeModule, WasmCodeRef};
use kiln_decoder::FuncType;

use crate::SignatureRegistry;
use crate::trampoline;
use crate::traphandler;

pub use kiln_abi::BoundsChecks;

/// Default for [`RuntimeConfig::max_wasm_stack`]: 512 KiB.
pub const DEFAULT_MAX_WASM_STACK: usize = 512 << 10;

/// Runtime configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The bounds-check strategy generated code is compiled for.
    pub bounds_checks: BoundsChecks,
    /// Bytes of stack wasm may use below the host frame that first enters it (default
    /// [`DEFAULT_MAX_WASM_STACK`]); always capped so that
    /// [`traphandler::HOST_STACK_RESERVE`] bytes of the thread's stack stay free.
    pub max_wasm_stack: usize,
    /// The initial tier-up budget of every defined function.
    pub tier_up_budget: i32,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            bounds_checks: BoundsChecks::Guard,
            max_wasm_stack: DEFAULT_MAX_WASM_STACK,
            tier_up_budget: i32::MAX,
        }
    }
}

/// What the engine does when generated code asks for it (the `TierUp`, `LazyCompile` and
/// `DebugBreak` builtins). Without hooks, `TierUp` and `DebugBreak` do nothing and a lazy
/// compile request traps with `Unreachable`.
pub trait EngineHooks: Send + Sync {
    /// Function `func_index` of native module `module_id` used up its tier-up budget.
    fn tier_up(&self, module_id: u64, func_index: u32) {
        let _ = (module_id, func_index);
    }
    /// Compile function `func_index` of native module `module_id` now; return its code
    /// address, or `None` to trap.
    fn lazy_compile(&self, module_id: u64, func_index: u32) -> Option<usize> {
        let _ = (module_id, func_index);
        None
    }
    /// A debug check fired at `wasm_offset` in function `func_index`. `frame_pointer` is the
    /// `rbp` of that function's frame: the function's debug side table says which values are
    /// at which offsets from it. The hook may read and write those slots while it runs.
    fn debug_break(&self, module_id: u64, func_index: u32, wasm_offset: u32, frame_pointer: usize) {
        let _ = (module_id, func_index, wasm_offset, frame_pointer);
    }
}

/// Entry and exit trampolines for one signature.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trampolines {
    pub entry: usize,
    pub landing: usize,
    pub exit: usize,
}

/// Where trampolines and shims are published: native modules of this runtime's own code
/// manager that hold no functions, only `CodeKind::Trampoline` code.
struct CodeSpace {
    modules: Vec<NativeModule>,
    code: Vec<WasmCodeRef>,
}

impl CodeSpace {
    fn publish(&mut self, manager: &CodeManager, code: Vec<u8>) -> usize {
        let placed = match self.modules.last().map(|m| m.publish_trampoline(&code)) {
            Some(Ok(placed)) => placed,
            // No space yet, or the last one is full: start another.
            _ => {
                let module = manager
                    .new_native_module_with_code_space(0, 0, 32 << 20)
                    .expect("cannot reserve a code space for trampolines");
                let placed = module
                    .publish_trampoline(&code)
                    .expect("cannot publish a trampoline");
                self.modules.push(module);
                placed
            }
        };
        let start = placed.instruction_start();
        self.code.push(placed);
        start
    }
}

/// Trampolines and builtin shims depend on nothing but the signature, so one set serves every
/// runtime of the process.
struct SharedCode {
    manager: CodeManager,
    space: Mutex<CodeSpace>,
    trampolines: Mutex<HashMap<FuncType, Trampolines>>,
    builtins: Box<[usize; BuiltinId::COUNT]>,
}

fn shared_code() -> &'static SharedCode {
    static SHARED: OnceLock<SharedCode> = OnceLock::new();
    SHARED.get_or_init(|| {
        let manager = CodeManager::new(CodeManagerConfig {
            code_space_per_module: 32 << 20,
            lazy_compile_builtin: None,
        });
        let mut space = CodeSpace {
            modules: Vec::new(),
            code: Vec::new(),
        };
        let mut builtins = Box::new([0usize; BuiltinId::COUNT]);
        for id in BuiltinId::ALL {
            let target = crate::builtins::implementation(id);
            builtins[id as usize] = space.publish(&manager, trampoline::builtin_shim(target));
        }
        SharedCode {
            manager,
            space: Mutex::new(space),
            trampolines: Mutex::new(HashMap::new()),
            builtins,
        }
    })
}

pub(crate) struct RuntimeInner {
    pub config: RuntimeConfig,
    pub signatures: SignatureRegistry,
    pub hooks: Mutex<Option<Arc<dyn EngineHooks>>>,
}

/// Configuration and engine-wide runtime state: the signature registry and the engine hooks.
/// Trampolines and the builtin table are shared by every runtime of the process. Cheap to clone
/// (shared); `Send + Sync`.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with `config`. Installs the process's fault handlers (once).
    pub fn new(config: RuntimeConfig) -> Runtime {
        traphandler::install_handlers();
        shared_code();
        Runtime {
            inner: Arc::new(RuntimeInner {
                config,
                signatures: SignatureRegistry::new(),
                hooks: Mutex::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// The engine-wide signature registry.
    pub fn signatures(&self) -> &SignatureRegistry {
        &self.inner.signatures
    }

    /// Installs the hooks the `TierUp`, `LazyCompile` and `DebugBreak` builtins call.
    pub fn set_engine_hooks(&self, hooks: Arc<dyn EngineHooks>) {
        *self.inner.hooks.lock().unwrap_or_else(|e| e.into_inner()) = Some(hooks);
    }

    /// Address of the builtin table (`[fn; BuiltinId::COUNT]`) stored at
    /// [`kiln_abi::VMContextLayout::BUILTINS`]: each entry is a shim that follows the builtin
    /// calling rules of [`kiln_abi::BuiltinId`].
    pub fn builtin_table(&self) -> *const usize {
        shared_code().builtins.as_ptr()
    }

    /// The canonical id of `ty` and its trampolines, built on first use and shared by every
    /// function of that signature.
    pub(crate) fn trampolines(&self, ty: &FuncType) -> (u32, Trampolines) {
        let id = self.inner.signatures.register(ty);
        let shared = shared_code();
        let mut map = shared.trampolines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = map.get(ty) {
            return (id, *t);
        }
        let entry = trampoline::entry(ty);
        let exit = trampoline::exit(ty, crate::host_func::dispatch_address());
        let mut space = shared.space.lock().unwrap_or_else(|e| e.into_inner());
        let entry_addr = space.publish(&shared.manager, entry.code);
        let exit_addr = space.publish(&shared.manager, exit);
        let t = Trampolines {
            entry: entry_addr,
            landing: entry_addr + entry.landing,
            exit: exit_addr,
        };
        map.insert(ty.clone(), t);
        (id, t)
    }

    /// Address of the entry trampoline for `ty` (built on first use):
    /// `extern "sysv64" fn(vmctx, code, values: *mut [u128], entry_sp_out: *mut usize) -> u64`
    /// (see [`crate::trampoline`]). The same address for every runtime of the process.
    pub fn entry_trampoline(&self, ty: &FuncType) -> usize {
        self.trampolines(ty).1.entry
    }

    /// Number of signatures whose trampolines have been built in this process.
    pub fn trampoline_count() -> usize {
        shared_code()
            .trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(RuntimeConfig::default())
    }
}
