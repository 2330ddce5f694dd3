//! A hand-written x86-64 assembler for Kiln's baseline tier, its trampolines and its jump tables.
//!
//! It depends on nothing else in Kiln, so it can be used alone. The [`patch`] module holds the
//! code shapes the code manager patches at run time (jump-table slots, lazy-compile stubs).

#![deny(missing_docs)]

pub mod patch;
