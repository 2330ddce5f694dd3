//! The engine's native module: one compiled module shared by every isolate that uses it, as
//! V8's `NativeModule` (decoded module, wire bytes, code and jump table, compilation state,
//! debug state, code-logging flag).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiln_abi::Tier;
use kiln_code_manager::CodeKind;
use kiln_decoder::{Features, Module};

/// Where a function stands in dynamic tiering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierUpState {
    /// Not requested.
    None,
    /// An optimizing compile is queued or running.
    InProgress,
    /// Optimized code was published.
    Optimized,
    /// The optimizing tier could not compile it; it stays on its current tier.
    Failed,
}

impl TierUpState {
    fn from_u8(v: u8) -> TierUpState {
        match v {
            1 => TierUpState::InProgress,
            2 => TierUpState::Optimized,
            3 => TierUpState::Failed,
            _ => TierUpState::None,
        }
    }
}

/// A breakpoint an isolate set in a module (bookkeeping for the debugger).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breakpoint {
    /// The isolate that set it.
    pub isolate: u64,
    /// Function index (imports included).
    pub func_index: u32,
    /// Byte offset in the module.
    pub offset: u32,
}

#[derive(Debug, Default)]
pub(crate) struct DebugState {
    /// Isolates that debug this module.
    pub debugging: HashSet<u64>,
    pub breakpoints: Vec<Breakpoint>,
}

/// A compiled module shared across isolates: the decoded [`Module`] with its wire bytes, the
/// code manager's native module (code space, jump table, code objects) and the state the
/// engine keeps about it. Held by [`crate::ModuleObject`]s (through `Arc`), by the isolates
/// that use it and by running compile jobs; the engine's registry and module cache only hold
/// weak references, so it is freed when the last user goes.
#[derive(Debug)]
pub struct NativeModule {
    pub(crate) module: Arc<Module>,
    pub(crate) code: kiln_code_manager::NativeModule,
    pub(crate) features: Features,
    /// Per declared function: a [`TierUpState`] as `u8`.
    tier_up: Box<[AtomicU8]>,
    /// Isolates that log code and use this module.
    pub(crate) logging_isolates: AtomicUsize,
    pub(crate) debug: Mutex<DebugState>,
    pub(crate) lazy: bool,
    pub(crate) compile_time: Duration,
}

impl NativeModule {
    pub(crate) fn new(
        module: Arc<Module>,
        code: kiln_code_manager::NativeModule,
        features: Features,
        lazy: bool,
        compile_time: Duration,
    ) -> NativeModule {
        let tier_up = (0..module.num_defined_functions())
            .map(|_| AtomicU8::new(0))
            .collect();
        NativeModule {
            module,
            code,
            features,
            tier_up,
            logging_isolates: AtomicUsize::new(0),
            debug: Mutex::new(DebugState::default()),
            lazy,
            compile_time,
        }
    }

    /// The code manager's id of this module (what engine hooks and code lookups report).
    pub fn id(&self) -> u64 {
        self.code.id()
    }

    /// The decoded module.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The module's bytes, copied once when compilation started.
    pub fn wire_bytes(&self) -> &[u8] {
        &self.module.wire_bytes
    }

    /// The code: jump table, code objects, accounting.
    pub fn code(&self) -> &kiln_code_manager::NativeModule {
        &self.code
    }

    /// The proposals the module was decoded with (part of its module-cache key).
    pub fn features(&self) -> Features {
        self.features
    }

    /// Whether functions were left to compile on their first call.
    pub fn is_lazy(&self) -> bool {
        self.lazy
    }

    /// Wall time of the initial compilation (decode + compile + publish; zero for lazy
    /// modules' function bodies, which compile later).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Whether any isolate that uses the module logs code.
    pub fn log_code(&self) -> bool {
        self.logging_isolates.load(Ordering::Acquire) > 0
    }

    /// Whether any isolate debugs the module.
    pub fn is_debugging(&self) -> bool {
        !self.lock_debug().debugging.is_empty()
    }

    /// The breakpoints set in the module by all isolates.
    pub fn breakpoints(&self) -> Vec<Breakpoint> {
        self.lock_debug().breakpoints.clone()
    }

    pub(crate) fn lock_debug(&self) -> std::sync::MutexGuard<'_, DebugState> {
        self.debug.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tier of the code installed for `func_index`, or `None` (lazy stub, or an import).
    pub fn installed_tier(&self, func_index: u32) -> Option<Tier> {
        self.code.code(func_index).and_then(|c| c.tier())
    }

    /// Where `func_index` stands in dynamic tiering (`None` for imports).
    pub fn tier_up_state(&self, func_index: u32) -> Option<TierUpState> {
        let cell = self.tier_up_cell(func_index)?;
        Some(TierUpState::from_u8(cell.load(Ordering::Acquire)))
    }

    fn tier_up_cell(&self, func_index: u32) -> Option<&AtomicU8> {
        let defined = func_index.checked_sub(self.module.num_imported_functions)?;
        self.tier_up.get(defined as usize)
    }

    /// Moves `func_index` from `from` to `to`; false if it was not in `from`.
    pub(crate) fn transition_tier_up(
        &self,
        func_index: u32,
        from: TierUpState,
        to: TierUpState,
    ) -> bool {
        self.tier_up_cell(func_index).is_some_and(|cell| {
            cell.compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    /// Bytes of baseline code installed in the jump table now.
    pub fn baseline_code_size(&self) -> usize {
        self.installed_code_size(|k| matches!(k, CodeKind::Baseline | CodeKind::BaselineDebug))
    }

    /// Bytes of code of any tier installed in the jump table now.
    pub fn code_size(&self) -> usize {
        self.installed_code_size(|_| true)
    }

    fn installed_code_size(&self, filter: impl Fn(CodeKind) -> bool) -> usize {
        let first = self.module.num_imported_functions;
        (first..first + self.module.num_defined_functions())
            .filter_map(|i| self.code.code(i))
            .filter(|c| filter(c.kind()))
            .map(|c| c.instructions_len())
            .sum()
    }

    /// Estimated bytes this module costs: wire bytes, the decoded module's tables, and the code
    /// manager's committed code and metadata.
    pub fn memory_estimate(&self) -> usize {
        let m = &self.module;
        let decoded = m.functions.len() * std::mem::size_of::<kiln_decoder::Function>()
            + m.types.len() * 64
            + (m.imports.len() + m.exports.len()) * 64
            + m.data.len() * std::mem::size_of::<kiln_decoder::DataSegment>()
            + m.elements.len() * std::mem::size_of::<kiln_decoder::ElementSegment>();
        m.wire_bytes.len() + decoded + self.code.memory_usage().estimate()
    }

    /// The function's display name: its name-section name, else `wasm-function[i]`.
    pub fn function_name(&self, func_index: u32) -> String {
        match self.module.function_name(func_index) {
            Some(name) => name.to_string(),
            None => format!("wasm-function[{func_index}]"),
        }
    }

    /// The module's default script URL: `wasm://wasm/<module name>-<hash8>`, or
    /// `wasm://wasm/<hash8>` without a module name.
    pub fn default_url(&self) -> String {
        let hash = self.module.hash as u32;
        match self.module.module_name() {
            Some(name) => format!("wasm://wasm/{name}-{hash:08x}"),
            None => format!("wasm://wasm/{hash:08x}"),
        }
    }
}
