//! Runs the WebAssembly spec testsuite's `.wast` scripts against a pluggable Kiln back end.
//!
//! [`Suite`] finds the testsuite (`KILN_SPEC_TESTSUITE`, else `../shared/spec-testsuite` beside
//! the workspace) and its feature groups (`GROUPS.tsv`). [`run_file`] runs one script's
//! directives against a [`Backend`] and classifies each as passed, failed or unsupported:
//! unsupported is never counted as passed, and says why (the proposal a module needs, or that
//! the back end does not execute code). The [`ExpectedFailures`] list names the failures the
//! project knows about, each with a reason; a listed failure that starts passing is reported
//! so the list cannot rot.
//!
//! The `engine` tests and `cargo xtask spec` share this crate. Two back ends: [`ValidateBackend`]
//! decodes and validates modules without running them; [`EngineBackend`] compiles and runs
//! them on a Kiln engine.

#![deny(missing_docs)]

mod backend;
mod engine_backend;
mod expected;
mod modules;
mod report;
mod runner;
mod suite;
mod value;

pub use backend::{Backend, ExecError, InstanceId, ValidateBackend};
pub use engine_backend::EngineBackend;
pub use expected::ExpectedFailures;
pub use modules::{ScriptModule, script_modules};
pub use report::{Counts, FileReport, Outcome, Summary};
pub use runner::run_file;
pub use suite::{SpecFile, Suite};
pub use value::{Expected, Value};
