//! `kiln`: the command line of the Kiln WebAssembly engine.
//!
//! `kiln validate FILE` decodes and validates a binary `.wasm` or text `.wat`/`.wast` module
//! and prints a one-screen summary, or the error with its byte offset (exit status 1).

mod validate;

const USAGE: &str = "usage: kiln validate FILE";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
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
