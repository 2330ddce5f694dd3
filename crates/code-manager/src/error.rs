//! The one error type of the code manager.

use std::fmt;

/// Why the code manager refused or failed an operation. Every variant names the sizes or indices
/// involved so the message alone explains the failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeError {
    /// A module's code space has no free range large enough for a new allocation.
    OutOfCodeSpace {
        /// Bytes the allocation needed (after rounding up to the code alignment).
        requested: usize,
        /// The largest contiguous free range left, in bytes.
        largest_free: usize,
        /// The size of the module's reservation, in bytes.
        reserved: usize,
    },
    /// A code-space size of zero or above [`crate::MAX_CODE_SPACE`] was requested.
    InvalidCodeSpaceSize {
        /// The requested reservation size, in bytes.
        requested: usize,
        /// The largest reservation the code manager allows, in bytes.
        max: usize,
    },
    /// The module's fixed header (trampoline, lazy stubs, jump table) does not fit in its
    /// reservation.
    TooManyFunctions {
        /// Declared functions requested.
        functions: u32,
        /// Bytes the header would need.
        header_bytes: usize,
        /// The size of the reservation, in bytes.
        reserved: usize,
    },
    /// The process-wide lookup registry holds [`crate::MAX_NATIVE_MODULES`] modules already.
    TooManyModules {
        /// The registry's capacity.
        capacity: usize,
    },
    /// A function index outside the module's declared functions.
    FunctionIndexOutOfRange {
        /// The index given.
        index: u32,
        /// Imported functions (indices below are imports, which have no slot).
        imported: u32,
        /// Declared functions.
        declared: u32,
    },
    /// `publish` was given a kind that is not function code (stubs are created by the manager).
    NotFunctionCode {
        /// The kind given.
        kind: crate::CodeKind,
    },
    /// A relocation, trap site or source position lies outside the function's code.
    MetadataOutOfBounds {
        /// What was out of bounds: "relocation", "trap site" or "source position".
        what: &'static str,
        /// Its offset from the start of the code.
        offset: u32,
        /// The length of the code, in bytes.
        code_len: usize,
    },
    /// A rel32 displacement does not fit (cannot happen inside one reservation; kept for
    /// addends that push it out).
    RelocationOutOfRange {
        /// Offset of the field in the function's code.
        offset: u32,
    },
    /// An operating-system call failed.
    Os {
        /// The call that failed.
        call: &'static str,
        /// The OS error number.
        errno: i32,
    },
}

impl CodeError {
    pub(crate) fn last_os_error(call: &'static str) -> CodeError {
        CodeError::Os {
            call,
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }
    }
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::OutOfCodeSpace {
                requested,
                largest_free,
                reserved,
            } => write!(
                f,
                "out of code space: need {requested} bytes, but the largest free range of the \
                 module's {reserved}-byte code space is {largest_free} bytes"
            ),
            CodeError::InvalidCodeSpaceSize { requested, max } => write!(
                f,
                "invalid code space size {requested} bytes: must be between 1 and {max} bytes"
            ),
            CodeError::TooManyFunctions {
                functions,
                header_bytes,
                reserved,
            } => write!(
                f,
                "{functions} functions need a {header_bytes}-byte jump table, which does not fit \
                 in a {reserved}-byte code space"
            ),
            CodeError::TooManyModules { capacity } => {
                write!(
                    f,
                    "too many live native modules: the lookup registry holds {capacity}"
                )
            }
            CodeError::FunctionIndexOutOfRange {
                index,
                imported,
                declared,
            } => write!(
                f,
                "function index {index} is not a declared function (imported: {imported}, \
                 declared: {declared})"
            ),
            CodeError::NotFunctionCode { kind } => {
                write!(
                    f,
                    "cannot publish code of kind {kind:?}: only function code is published"
                )
            }
            CodeError::MetadataOutOfBounds {
                what,
                offset,
                code_len,
            } => {
                write!(
                    f,
                    "{what} at offset {offset} lies outside the {code_len}-byte code"
                )
            }
            CodeError::RelocationOutOfRange { offset } => {
                write!(f, "relocation at offset {offset} does not fit in rel32")
            }
            CodeError::Os { call, errno } => write!(
                f,
                "{call} failed: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl std::error::Error for CodeError {}
