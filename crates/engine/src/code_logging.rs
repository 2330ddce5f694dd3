//! Code logging, as V8's `WasmEngine::EnableCodeLogging` and `LogOutstandingCodesForIsolate`:
//! an isolate that logs is told about every code object of the modules it uses and every
//! trampoline, existing and future, with the function's name and its script's URL. Events are
//! posted as tasks on the isolate's queue, so listeners run on the isolate's thread and never
//! under an engine lock.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use kiln_abi::Tier;
use kiln_code_manager::WasmCodeRef;

use crate::NativeModule;
use crate::engine::EngineInner;
use crate::isolate::IsolateShared;

/// What a code event describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeEventKind {
    /// A wasm function's code of `tier`.
    Function(Tier),
    /// A trampoline, builtin shim or the lazy-compile entry (shared by the process).
    Trampoline,
}

/// One piece of generated code, as reported to a [`CodeEventListener`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeEvent {
    /// What it is.
    pub kind: CodeEventKind,
    /// The function's name (name section, else `wasm-function[i]`) or the trampoline's.
    pub name: String,
    /// The function index, for functions.
    pub func_index: Option<u32>,
    /// The script URL (the isolate's for this module), for functions.
    pub script_url: Option<String>,
    /// Address of the first instruction.
    pub address: usize,
    /// A copy of the instructions.
    pub code: Vec<u8>,
}

impl CodeEvent {
    /// Length of the code in bytes.
    pub fn size(&self) -> usize {
        self.code.len()
    }

    /// The symbol profilers show: `name [tier] url` for functions, the name for trampolines.
    pub fn symbol(&self) -> String {
        match (&self.kind, &self.script_url) {
            (CodeEventKind::Function(tier), Some(url)) => {
                format!("{} [{}] {url}", self.name, tier_name(*tier))
            }
            (CodeEventKind::Function(tier), None) => {
                format!("{} [{}]", self.name, tier_name(*tier))
            }
            (CodeEventKind::Trampoline, _) => format!("kiln: {}", self.name),
        }
    }
}

fn tier_name(tier: Tier) -> &'static str {
    match tier {
        Tier::Baseline => "baseline",
        Tier::Optimized => "optimized",
    }
}

/// Receives code events, on the isolate's thread. Built in: [`crate::PerfMapListener`] and
/// [`crate::JitDumpListener`].
pub trait CodeEventListener: Send + Sync {
    /// `event`'s code was created (or existed when logging started).
    fn code_created(&self, event: &CodeEvent);
}

/// Turns logging on for `isolate`: logs what exists, then new code as it comes.
pub(crate) fn enable(
    engine: &Arc<EngineInner>,
    isolate: &Arc<IsolateShared>,
    listener: Arc<dyn CodeEventListener>,
) {
    // The modules lock is held while the logger and the counts change, so a module added
    // concurrently is counted exactly once.
    let modules: Vec<Arc<NativeModule>> = {
        let modules = isolate.lock_modules();
        let was_logging = isolate
            .logger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(listener.clone())
            .is_some();
        if !was_logging {
            for (native, _) in modules.values() {
                native.logging_isolates.fetch_add(1, Ordering::AcqRel);
            }
        }
        modules.values().map(|(m, _)| m.clone()).collect()
    };
    for native in &modules {
        post_module_code(isolate, native, &listener);
    }
    let trampolines: Vec<CodeEvent> = engine
        .runtime
        .published_code()
        .into_iter()
        .map(|c| trampoline_event(&c.name, c.address, c.size))
        .collect();
    post(isolate, listener, trampolines);
}

/// Turns logging off for `isolate`.
pub(crate) fn disable(isolate: &IsolateShared) {
    let modules = isolate.lock_modules();
    let was = isolate
        .logger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if was.is_some() {
        for (native, _) in modules.values() {
            native.logging_isolates.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A logging isolate started using `native` (already counted): logs the module's code.
pub(crate) fn start_logging_module(
    isolate: &Arc<IsolateShared>,
    native: &Arc<NativeModule>,
    listener: Arc<dyn CodeEventListener>,
) {
    post_module_code(isolate, native, &listener);
}

fn post_module_code(
    isolate: &IsolateShared,
    native: &NativeModule,
    listener: &Arc<dyn CodeEventListener>,
) {
    let url = isolate.url_of(native);
    let first = native.module.num_imported_functions;
    let events = (first..first + native.module.num_defined_functions())
        .filter_map(|i| native.code.code(i))
        .map(|code| function_event(native, &code, url.clone()))
        .collect();
    post(isolate, listener.clone(), events);
}

fn post(isolate: &IsolateShared, listener: Arc<dyn CodeEventListener>, events: Vec<CodeEvent>) {
    if events.is_empty() {
        return;
    }
    isolate.tasks.post(Box::new(move || {
        for event in &events {
            listener.code_created(event);
        }
    }));
}

fn function_event(native: &NativeModule, code: &WasmCodeRef, url: Option<String>) -> CodeEvent {
    let func_index = code.index();
    CodeEvent {
        kind: CodeEventKind::Function(code.tier().unwrap_or(Tier::Baseline)),
        name: func_index.map_or_else(|| "wasm-code".to_string(), |i| native.function_name(i)),
        func_index,
        script_url: url,
        address: code.instruction_start(),
        code: code.instructions().to_vec(),
    }
}

fn trampoline_event(name: &str, address: usize, size: usize) -> CodeEvent {
    // SAFETY: the runtime's trampolines and shims are published once per process and never
    // removed; their executable view is readable (r-x) for `size` bytes from `address`.
    let code = unsafe { std::slice::from_raw_parts(address as *const u8, size) }.to_vec();
    CodeEvent {
        kind: CodeEventKind::Trampoline,
        name: name.to_string(),
        func_index: None,
        script_url: None,
        address,
        code,
    }
}

/// New function code in `native`: posts events to every logging isolate that uses it.
pub(crate) fn code_published(engine: &EngineInner, native: &NativeModule, codes: &[WasmCodeRef]) {
    if !native.log_code() {
        return;
    }
    let isolates: Vec<_> = engine.lock_isolates().values().cloned().collect();
    for isolate in isolates {
        let Some(listener) = isolate.logger() else {
            continue;
        };
        let Some(url) = isolate.url_of(native) else {
            continue;
        };
        let events = codes
            .iter()
            .map(|c| function_event(native, c, Some(url.clone())))
            .collect();
        post(&isolate, listener, events);
    }
}

/// The runtime published a trampoline: posts it to every logging isolate.
pub(crate) fn trampoline_created(engine: &EngineInner, name: &str, address: usize, size: usize) {
    let isolates: Vec<_> = engine.lock_isolates().values().cloned().collect();
    for isolate in isolates {
        if let Some(listener) = isolate.logger() {
            post(
                &isolate,
                listener,
                vec![trampoline_event(name, address, size)],
            );
        }
    }
}
