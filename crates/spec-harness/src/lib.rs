//! Runs the spec testsuite (in progress).

#![deny(missing_docs)]
