//! Project automation, run as `cargo xtask <command>`.
//!
//! This file only dispatches; each command lives in its own module.

mod bench;
mod spec;

const USAGE: &str = "usage: cargo xtask test
       cargo xtask spec [--mode validate|baseline] [--group G,...|all] [--bounds-checks guard|explicit] [FILE...]
       cargo xtask bench --help";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("spec") => spec::run(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

/// The project's test command: everything CI runs (the workspace tests, then a quick
/// benchmark smoke run that fails on checksum disagreement or a crashing peer).
fn test() -> i32 {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .status()
        .expect("failed to run cargo");
    if !status.success() {
        return status.code().unwrap_or(1);
    }
    bench::main(&["all".to_string(), "--quick".to_string()])
}
