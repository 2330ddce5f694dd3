//! Project automation, run as `cargo xtask <command>`.

mod spec;

const USAGE: &str = "usage: cargo xtask <test|spec> [ARGS...]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("spec") => spec::run(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

/// The project's test command: everything CI runs.
fn test() -> i32 {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .status()
        .expect("failed to run cargo");
    status.code().unwrap_or(1)
}
