//! Errors of compiling and instantiating through the engine.

use std::fmt;

/// Why the engine could not compile a module.
#[derive(Clone, Debug)]
pub enum EngineError {
    /// The bytes are not a valid module.
    Decode(kiln_decoder::DecodeError),
    /// A function could not be compiled by the selected tier (for example an operator the
    /// tier does not support yet).
    Compile {
        /// The function index.
        func_index: u32,
        /// The compiler's reason.
        error: kiln_abi::CompileError,
    },
    /// The code manager could not place the code (out of code space).
    Code(kiln_code_manager::CodeError),
    /// The compile job was cancelled (its isolate or context went away, or the embedder
    /// cancelled it).
    Cancelled,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Decode(e) => write!(f, "invalid module: {e}"),
            EngineError::Compile { func_index, error } => {
                write!(f, "compiling function #{func_index} failed: {error}")
            }
            EngineError::Code(e) => write!(f, "cannot place code: {e}"),
            EngineError::Cancelled => f.write_str("compilation cancelled"),
        }
    }
}

impl std::error::Error for EngineError {}
