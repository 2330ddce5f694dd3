//! The code manager: creates native modules and answers for the memory of all of them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};

use crate::native_module::ModuleShared;
use crate::{CodeError, FreedCode, MAX_CODE_SPACE, MemoryUsage, NativeModule};

/// How a [`CodeManager`] sets up native modules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeManagerConfig {
    /// Address space reserved per native module, in bytes (at most [`MAX_CODE_SPACE`]). The
    /// reservation costs address space only (twice: two views); memory is committed on use.
    pub code_space_per_module: usize,
    /// Address of the lazy-compile builtin that every lazy stub ends up in (see
    /// [`CodeManager::set_lazy_compile_builtin`]); `None` makes lazy calls trap on `ud2`.
    pub lazy_compile_builtin: Option<usize>,
}

impl Default for CodeManagerConfig {
    fn default() -> Self {
        CodeManagerConfig {
            code_space_per_module: MAX_CODE_SPACE,
            lazy_compile_builtin: None,
        }
    }
}

/// Owns the configuration shared by all native modules and tracks them for accounting, like
/// V8's `WasmCodeManager`. One per engine.
#[derive(Debug)]
pub struct CodeManager {
    code_space_per_module: usize,
    lazy_compile_builtin: AtomicUsize,
    modules: Mutex<Vec<Weak<ModuleShared>>>,
}

impl CodeManager {
    /// A code manager with `config`.
    pub fn new(config: CodeManagerConfig) -> CodeManager {
        CodeManager {
            code_space_per_module: config.code_space_per_module,
            lazy_compile_builtin: AtomicUsize::new(config.lazy_compile_builtin.unwrap_or(0)),
            modules: Mutex::new(Vec::new()),
        }
    }

    /// Registers the lazy-compile builtin for modules created from now on.
    ///
    /// The builtin is entered by a jump from a function's lazy stub, with the wasm function index
    /// in r11 ([`kiln_assembler_x64::patch::LAZY_STUB_INDEX_REGISTER`]), every parameter
    /// register as the caller set it and the caller's return address on top of the stack. It
    /// must compile the function, publish it, and jump to
    /// [`NativeModule::jump_table_slot`] (or the new code) with the registers restored. The
    /// runtime provides such a routine (`kiln_runtime::Runtime::lazy_compile_entry`).
    pub fn set_lazy_compile_builtin(&self, address: usize) {
        self.lazy_compile_builtin.store(address, Ordering::Relaxed);
    }

    /// Creates a native module with `imported` imported and `declared` declared functions,
    /// reserving [`CodeManagerConfig::code_space_per_module`] bytes. Cost: a handful of system
    /// calls and one page committed for the header (more for large jump tables).
    pub fn new_native_module(
        &self,
        imported: u32,
        declared: u32,
    ) -> Result<NativeModule, CodeError> {
        self.new_native_module_with_code_space(imported, declared, self.code_space_per_module)
    }

    /// Like [`CodeManager::new_native_module`] with an explicit reservation size in bytes.
    pub fn new_native_module_with_code_space(
        &self,
        imported: u32,
        declared: u32,
        code_space: usize,
    ) -> Result<NativeModule, CodeError> {
        let builtin = match self.lazy_compile_builtin.load(Ordering::Relaxed) {
            0 => None,
            address => Some(address),
        };
        let module = NativeModule::create(imported, declared, code_space, builtin)?;
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.retain(|m| m.strong_count() > 0);
        modules.push(module.downgrade());
        Ok(module)
    }

    /// Runs [`NativeModule::reclaim`] on every live module, and frees the remains of dropped
    /// modules (in the whole process) whose grace period has passed. Never waits.
    pub fn reclaim(&self) {
        crate::epoch::try_advance();
        crate::epoch::reclaim_orphans();
        for module in self.live_modules() {
            module.reclaim();
        }
    }

    /// Runs [`NativeModule::free_dead_code`] on every live module with the same stack report
    /// and sums what was freed. See there for what `on_stack` must contain.
    pub fn free_dead_code(&self, on_stack: &[usize]) -> FreedCode {
        let mut total = FreedCode::default();
        for module in self.live_modules() {
            total += module.free_dead_code(on_stack);
        }
        total
    }

    fn live_modules(&self) -> Vec<NativeModule> {
        let modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules
            .iter()
            .filter_map(|m| m.upgrade())
            .map(NativeModule::from_shared)
            .collect()
    }

    /// The memory use of every live module created by this manager, summed. Cost: one lock per
    /// module.
    pub fn memory_usage(&self) -> MemoryUsage {
        let mut total = MemoryUsage::default();
        for module in &self.live_modules() {
            total += module.memory_usage();
        }
        total
    }
}
