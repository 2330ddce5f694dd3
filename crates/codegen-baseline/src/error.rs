//! The compile error both tiers share, and this crate's result shorthand.

pub use kiln_abi::CompileError;

/// Shorthand for results of this crate.
pub type Result<T, E = CompileError> = std::result::Result<T, E>;
