//! The `kiln` command line (in progress).

fn main() {}
