//! Debug support for Kiln: breakpoints, stepping, and inspection of locals, the operand stack,
//! globals and memory, driven by the debug side tables the baseline tier emits in debug mode.
//!
//! Nothing is implemented yet; see the project issues.

#![deny(missing_docs)]
