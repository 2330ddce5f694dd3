//! Errors of compiling one function, shared by both tiers. They are values: malformed or
//! unsupported input never panics a compiler.

use std::fmt;

/// Why a function could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The body uses an operator the tier does not implement (SIMD, threads, exceptions, GC,
    /// memory64, ...). Callers fall back to another tier or report the module as unsupported.
    Unsupported {
        /// The operator's name as wasmparser spells it (e.g. `V128Load`).
        operator: String,
        /// Byte offset of the operator in the module's wire bytes.
        offset: u32,
    },
    /// The function index is out of range or names an imported function.
    NoBody {
        /// The function index asked for.
        func_index: u32,
    },
    /// The body could not be read (the module was not validated, or is corrupt).
    Malformed {
        /// The reader's message.
        message: String,
        /// Byte offset in the module's wire bytes.
        offset: u32,
    },
    /// The function exceeds a limit of this tier (frame larger than 1 GiB, more than 2^31
    /// operands...).
    TooLarge {
        /// What overflowed.
        what: &'static str,
    },
    /// The code generator rejected what the compiler asked of it (the assembler refused an
    /// instruction, Cranelift's verifier or register allocator failed): a bug in the compiler,
    /// reported instead of miscompiling.
    Internal(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unsupported { operator, offset } => {
                write!(f, "unsupported operator {operator} at offset {offset:#x}")
            }
            CompileError::NoBody { func_index } => {
                write!(f, "function {func_index} has no body in this module")
            }
            CompileError::Malformed { message, offset } => {
                write!(
                    f,
                    "malformed function body at offset {offset:#x}: {message}"
                )
            }
            CompileError::TooLarge { what } => write!(f, "function too large: {what}"),
            CompileError::Internal(e) => write!(f, "internal compiler error: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> CompileError {
        CompileError::Malformed {
            message: e.message().to_string(),
            offset: e.offset() as u32,
        }
    }
}
