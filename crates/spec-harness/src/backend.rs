//! The interface a Kiln configuration implements to be judged by the testsuite.

use crate::Value;
use kiln_decoder::Features;

/// An instance created by a back end, numbered by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstanceId(pub u32);

/// Why a back end could not do what a directive asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// The code trapped; the message is the trap's (e.g. `integer divide by zero`).
    Trap(String),
    /// The call stack was exhausted.
    Exhaustion(String),
    /// Instantiation failed to link imports (unknown import, incompatible type).
    Link(String),
    /// The back end rejected a module the decoder accepted (e.g. a compile error).
    Compile(String),
    /// The back end does not support what was asked; the reason names it (e.g. `simd`).
    Unsupported(String),
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExecError::Trap(m) => write!(f, "trap: {m}"),
            ExecError::Exhaustion(m) => write!(f, "exhaustion: {m}"),
            ExecError::Link(m) => write!(f, "link error: {m}"),
            ExecError::Compile(m) => write!(f, "compile error: {m}"),
            ExecError::Unsupported(m) => write!(f, "unsupported: {m}"),
        }
    }
}

/// A Kiln configuration under test: a tier (or none) and the features it supports.
///
/// The harness validates every module with `kiln_decoder` under [`Backend::features`] before
/// handing it over, so back ends only see valid modules. Two implementations: the
/// [`ValidateBackend`] here, and the engine's executing back ends.
pub trait Backend {
    /// A short name for reports, e.g. `validate` or `baseline`.
    fn name(&self) -> &str;

    /// The proposals beyond WebAssembly 2.0 this back end accepts.
    fn features(&self) -> Features;

    /// Whether this back end runs code. When false, every directive that needs execution is
    /// reported unsupported and `instantiate`/`invoke`/`get_global` are never called.
    fn executes(&self) -> bool;

    /// Compiles and instantiates a valid module, resolving imports from the `spectest` module
    /// and from instances registered under their names.
    fn instantiate(&mut self, wasm: &[u8]) -> Result<InstanceId, ExecError>;

    /// Makes `instance`'s exports importable under the module name `name`.
    fn register(&mut self, name: &str, instance: InstanceId);

    /// Calls the exported function `name` of `instance`.
    fn invoke(
        &mut self,
        instance: InstanceId,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, ExecError>;

    /// Reads the exported global `name` of `instance`.
    fn get_global(&mut self, instance: InstanceId, name: &str) -> Result<Value, ExecError>;
}

/// The back end that only decodes and validates: `cargo xtask spec --mode validate`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateBackend {
    /// The features modules are validated against.
    pub features: Features,
}

impl Backend for ValidateBackend {
    fn name(&self) -> &str {
        "validate"
    }

    fn features(&self) -> Features {
        self.features
    }

    fn executes(&self) -> bool {
        false
    }

    fn instantiate(&mut self, _wasm: &[u8]) -> Result<InstanceId, ExecError> {
        Err(ExecError::Unsupported("execution".into()))
    }

    fn register(&mut self, _name: &str, _instance: InstanceId) {}

    fn invoke(&mut self, _: InstanceId, _: &str, _: &[Value]) -> Result<Vec<Value>, ExecError> {
        Err(ExecError::Unsupported("execution".into()))
    }

    fn get_global(&mut self, _: InstanceId, _: &str) -> Result<Value, ExecError> {
        Err(ExecError::Unsupported("execution".into()))
    }
}
