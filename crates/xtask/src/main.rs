//! Project automation, run as `cargo xtask <command>`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        _ => {
            eprintln!("usage: cargo xtask test");
            std::process::exit(2);
        }
    }
}

/// The project's test command: everything CI runs.
fn test() {
    let status = std::process::Command::new(env!("CARGO"))
        .args(["test", "--workspace"])
        .status()
        .expect("failed to run cargo");
    std::process::exit(status.code().unwrap_or(1));
}
