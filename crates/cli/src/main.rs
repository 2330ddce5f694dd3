//! `kiln`: the command line of the Kiln WebAssembly engine.
//!
//! - `kiln run FILE --invoke NAME [ARGS...] [--tier baseline|opt|tiered]` compiles the module,
//!   calls one export with the arguments and prints its results, one per line; a trap is printed
//!   with its backtrace and exits with status 1. `tiered` starts on the baseline tier and moves
//!   hot functions to the optimizing tier while the program runs.
//! - `kiln compile FILE [--tier baseline|opt] [--threads N] [--print-code] [--stats]` compiles
//!   every function eagerly and prints the time, the number of functions and the code size;
//!   `--print-code` disassembles each function with its wasm byte offsets, `--stats` prints the
//!   optimizing tier's per-phase statistics.
//! - `kiln validate FILE` decodes and validates a binary `.wasm` or text `.wat`/`.wast` module
//!   and prints a one-screen summary, or the error with its byte offset (exit status 1).

mod compile;
mod input;
mod run;
mod validate;

const USAGE: &str = "usage:
  kiln run FILE --invoke NAME [ARGS...] [--tier baseline|opt|tiered]
  kiln compile FILE [--tier baseline|opt] [--threads N] [--print-code] [--stats]
  kiln validate FILE";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("compile") => compile::run(&args[1..]),
        Some("validate") if args.len() == 2 => validate::run(&args[1]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            0
        }
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}
