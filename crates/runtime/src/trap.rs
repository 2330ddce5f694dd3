//! [`Trap`]: why a call into wasm failed, with the wasm backtrace.

use std::fmt;

use kiln_abi::TrapCode;

use crate::Backtrace;

/// A trap: a wasm computation stopped, or a host function reported an error.
#[derive(Clone, Debug)]
pub struct Trap {
    /// The trap code ([`TrapCode::HostError`] for host errors and panics).
    pub code: TrapCode,
    /// The message: the spec's text for the code, or the host's error message.
    pub message: String,
    /// The wasm frames active when it happened, innermost first.
    pub backtrace: Backtrace,
}

impl Trap {
    /// A trap with `code`, its spec message and no frames.
    pub fn from_code(code: TrapCode) -> Trap {
        Trap {
            code,
            message: code.message().to_string(),
            backtrace: Backtrace::default(),
        }
    }

    /// A host error with `message` (what host functions return to make the caller trap).
    pub fn host(message: impl Into<String>) -> Trap {
        Trap {
            code: TrapCode::HostError,
            message: message.into(),
            backtrace: Backtrace::default(),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.backtrace.frames.is_empty() {
            write!(f, "\n{}", self.backtrace)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}
