//! The [`Runtime`]: configuration and the state shared by every store of an engine
//! (signature registry, engine hooks), and the process-wide trampolines and builtin table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

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
/// `DebugBreak` builtins and the lazy-compile entry), and what it is told about the runtime's
/// own code. Without hooks, `TierUp` and `DebugBreak` do nothing and a lazy compile request
/// traps with a host error ("function N could not be compiled").
///
/// Hooks called from wasm (`tier_up`, `lazy_compile`, `debug_break`) run on the wasm thread,
/// inside its activation, with at least [`traphandler::HOST_STACK_RESERVE`] bytes of stack;
/// they are safepoints for [`crate::wasm_pcs_on_stack`].
pub trait EngineHooks: Send + Sync {
    /// Function `func_index` of native module `module_id` used up its tier-up budget. After
    /// it returns, the runtime refills that function's budget in the calling instance to
    /// [`RuntimeConfig::tier_up_budget`], so a function that stays hot (still running its
    /// baseline code, e.g. in a long loop) asks again once per budget: ignore requests for a
    /// function already being optimized.
    fn tier_up(&self, module_id: u64, func_index: u32) {
        let _ = (module_id, func_index);
    }
    /// Compile function `func_index` of native module `module_id` now; return its code
    /// address (its new code or its jump-table slot, after publishing it so later calls do
    /// not come here), or `None` to make the call trap with a host error "function N could
    /// not be compiled". Called by [`Runtime::lazy_compile_entry`] on the first call through a
    /// lazy stub, possibly by several threads at once for one function.
    fn lazy_compile(&self, module_id: u64, func_index: u32) -> Option<usize> {
        let _ = (module_id, func_index);
        None
    }
    /// A breakpoint fired at `wasm_offset` in function `func_index`.
    fn debug_break(&self, module_id: u64, func_index: u32, wasm_offset: u32) {
        let _ = (module_id, func_index, wasm_offset);
    }
    /// The runtime published a new trampoline or shim (see [`Runtime::published_code`]):
    /// `size` bytes of code at `address`, named `name`. Called on the thread that needed it,
    /// after publication and with no runtime lock held, on the hooks of every live runtime of
    /// the process (trampolines are shared by all of them).
    fn code_created(&self, name: &str, address: usize, size: usize) {
        let _ = (name, address, size);
    }
}

/// One piece of glue code the runtime published: a trampoline or a builtin shim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedCode {
    /// What it is, e.g. `entry trampoline (i32, f64) -> i64`, `exit trampoline () -> ()`,
    /// `builtin shim MemoryGrow`, `lazy compile entry`.
    pub name: String,
    /// Address of its first instruction.
    pub address: usize,
    /// Length of its instructions in bytes.
    pub size: usize,
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
    /// Everything published, in order.
    catalog: Vec<PublishedCode>,
}

impl CodeSpace {
    fn publish(&mut self, manager: &CodeManager, name: String, code: Vec<u8>) -> PublishedCode {
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
        let published = PublishedCode {
            name,
            address: placed.instruction_start(),
            size: placed.instructions_len(),
        };
        self.code.push(placed);
        self.catalog.push(published.clone());
        published
    }
}

/// Trampolines and builtin shims depend on nothing but the signature, so one set serves every
/// runtime of the process.
struct SharedCode {
    manager: CodeManager,
    space: Mutex<CodeSpace>,
    trampolines: Mutex<HashMap<FuncType, Trampolines>>,
    builtins: Box<[usize; BuiltinId::COUNT]>,
    lazy_compile_entry: usize,
    /// Every runtime created, for [`EngineHooks::code_created`].
    runtimes: Mutex<Vec<Weak<RuntimeInner>>>,
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
            catalog: Vec::new(),
        };
        let mut builtins = Box::new([0usize; BuiltinId::COUNT]);
        for id in BuiltinId::ALL {
            let target = crate::builtins::implementation(id);
            let name = format!("builtin shim {id:?}");
            builtins[id as usize] = space
                .publish(&manager, name, trampoline::builtin_shim(target))
                .address;
        }
        let lazy = trampoline::lazy_compile_entry(crate::lazy_compile::implementation());
        let lazy_compile_entry = space
            .publish(&manager, "lazy compile entry".to_string(), lazy)
            .address;
        SharedCode {
            manager,
            space: Mutex::new(space),
            trampolines: Mutex::new(HashMap::new()),
            builtins,
            lazy_compile_entry,
            runtimes: Mutex::new(Vec::new()),
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
        let shared = shared_code();
        let inner = Arc::new(RuntimeInner {
            config,
            signatures: SignatureRegistry::new(),
            hooks: Mutex::new(None),
        });
        let mut runtimes = shared.runtimes.lock().unwrap_or_else(|e| e.into_inner());
        runtimes.retain(|r| r.strong_count() > 0);
        runtimes.push(Arc::downgrade(&inner));
        drop(runtimes);
        Runtime { inner }
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

    /// Address of the lazy-compile entry: the routine every lazy stub should reach, for
    /// [`CodeManagerConfig::lazy_compile_builtin`] or
    /// [`CodeManager::set_lazy_compile_builtin`]. Entered by a jump with the function index in
    /// `r11`, it keeps every argument register, asks [`EngineHooks::lazy_compile`] for the
    /// code and jumps to it; without hooks, or if the hook returns `None`, the call traps with
    /// a host error "function N could not be compiled". See [`crate::lazy_compile`]. The same
    /// address for every runtime of the process; the hooks used are those of the runtime of
    /// the callee's instance.
    pub fn lazy_compile_entry(&self) -> usize {
        shared_code().lazy_compile_entry
    }

    /// Every trampoline and shim published so far in this process (shared by all runtimes),
    /// in publication order: for code logging. Install the hooks first, then enumerate, and
    /// nothing is missed ([`EngineHooks::code_created`] reports later ones; one published in
    /// between may be reported twice). Cost: a copy of the list.
    pub fn published_code(&self) -> Vec<PublishedCode> {
        let space = shared_code()
            .space
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        space.catalog.clone()
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
        let sig = signature_text(ty);
        let entry_code = space.publish(
            &shared.manager,
            format!("entry trampoline {sig}"),
            entry.code,
        );
        let exit_code = space.publish(&shared.manager, format!("exit trampoline {sig}"), exit);
        drop(space);
        let t = Trampolines {
            entry: entry_code.address,
            landing: entry_code.address + entry.landing,
            exit: exit_code.address,
        };
        map.insert(ty.clone(), t);
        drop(map);
        notify_code_created(&[entry_code, exit_code]);
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

/// `(i32, f64) -> i64`, `() -> ()`, `(i32) -> (i32, i32)`.
fn signature_text(ty: &FuncType) -> String {
    let list = |types: &[kiln_decoder::ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let results = match ty.results() {
        [one] => one.to_string(),
        many => format!("({})", list(many)),
    };
    format!("({}) -> {results}", list(ty.params()))
}

/// Tells the hooks of every live runtime about newly published code. Called with no lock held.
fn notify_code_created(code: &[PublishedCode]) {
    let runtimes: Vec<Arc<RuntimeInner>> = shared_code()
        .runtimes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for runtime in runtimes {
        let hooks = runtime
            .hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(hooks) = hooks {
            for c in code {
                hooks.code_created(&c.name, c.address, c.size);
            }
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new(RuntimeConfig::default())
    }
}
