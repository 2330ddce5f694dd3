//! What an isolate sees of a compiled module: a [`ModuleObject`] and its [`Script`].

use std::sync::Arc;

use kiln_decoder::Module;

use crate::NativeModule;

/// An isolate's script for a module, as V8's wasm `Script`: what debuggers and profilers show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    /// Engine-wide unique id (never reused).
    pub id: u32,
    /// The streaming source URL when one was given, else `wasm://wasm/<module name>-<hash8>`
    /// or `wasm://wasm/<hash8>` (the low 32 bits of the wire-bytes hash, in hex).
    pub url: String,
    /// The URL in the module's `sourceMappingURL` custom section, if any.
    pub source_map_url: Option<String>,
    /// Estimated bytes of the module (wire bytes, decoded module, code) when the script was
    /// created.
    pub memory_estimate: usize,
}

/// A module as one isolate holds it: a shared [`NativeModule`] and this isolate's
/// [`Script`]. Cheap to clone. Instantiate it with [`crate::Isolate::instantiate`].
#[derive(Clone, Debug)]
pub struct ModuleObject {
    pub(crate) native: Arc<NativeModule>,
    pub(crate) script: Arc<Script>,
    pub(crate) isolate: u64,
}

impl ModuleObject {
    /// The shared compiled module.
    pub fn native_module(&self) -> &Arc<NativeModule> {
        &self.native
    }

    /// The decoded module.
    pub fn module(&self) -> &Arc<Module> {
        &self.native.module
    }

    /// This isolate's script for the module.
    pub fn script(&self) -> &Arc<Script> {
        &self.script
    }

    /// The id of the isolate that owns this object.
    pub fn isolate_id(&self) -> u64 {
        self.isolate
    }
}
