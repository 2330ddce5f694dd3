//! `cargo xtask spec`: runs the spec testsuite against one Kiln configuration.

use kiln_engine::runtime::BoundsChecks;
use kiln_engine::{EngineConfig, Tier};
use kiln_spec_harness::{
    Backend, EngineBackend, ExpectedFailures, Suite, Summary, ValidateBackend, run_file,
};

const USAGE: &str = "usage: cargo xtask spec [--mode validate|baseline|opt|tiered] \
[--group core,bulk-memory,...|all] [--bounds-checks guard|explicit] [FILE...]";

/// Parsed command line.
struct Options {
    mode: String,
    groups: Vec<String>,
    bounds_checks: String,
    files: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        mode: "validate".into(),
        groups: Suite::WASM2_GROUPS.iter().map(|g| g.to_string()).collect(),
        bounds_checks: "guard".into(),
        files: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--mode" => options.mode = value()?,
            "--group" => options.groups = value()?.split(',').map(str::to_string).collect(),
            "--bounds-checks" => options.bounds_checks = value()?,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            file => options.files.push(file.to_string()),
        }
    }
    if !matches!(options.bounds_checks.as_str(), "guard" | "explicit") {
        return Err(format!(
            "unknown bounds-check mode {}",
            options.bounds_checks
        ));
    }
    Ok(options)
}

/// The back end for a mode, or why it is not available.
fn backend(mode: &str, bounds_checks: &str) -> Result<Box<dyn Backend>, String> {
    let bounds_checks = match bounds_checks {
        "explicit" => BoundsChecks::Explicit,
        _ => BoundsChecks::Guard,
    };
    match mode {
        "validate" => Ok(Box::new(ValidateBackend::default())),
        "baseline" | "opt" | "tiered" => {
            let config = EngineConfig {
                bounds_checks,
                tier: if mode == "opt" {
                    Tier::Optimized
                } else {
                    Tier::Baseline
                },
                // Tiered: every function asks for tier-up on its first entry, so scripts run
                // a mix of baseline and optimized code switched while they run.
                dynamic_tiering: mode == "tiered",
                tier_up_budget: if mode == "tiered" {
                    1
                } else {
                    EngineConfig::default().tier_up_budget
                },
                ..EngineConfig::default()
            };
            Ok(Box::new(EngineBackend::new(mode, config)))
        }
        other => Err(format!("unknown mode `{other}`")),
    }
}

/// Runs the command; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return 2;
        }
    };
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found: set KILN_SPEC_TESTSUITE to its folder");
        return 2;
    };
    if let Err(e) = backend(&options.mode, &options.bounds_checks) {
        eprintln!("{e}");
        return 2;
    }
    let files = if options.files.is_empty() {
        let groups: Vec<&str> = options.groups.iter().map(String::as_str).collect();
        suite.files(if groups == ["all"] {
            None
        } else {
            Some(&groups)
        })
    } else {
        let mut files = Vec::new();
        for name in &options.files {
            let name = name
                .strip_prefix(&format!("{}/", suite.root().display()))
                .unwrap_or(name);
            match suite.file(name) {
                Some(f) => files.push(f),
                None => {
                    eprintln!("no file `{name}` in the testsuite");
                    return 2;
                }
            }
        }
        files
    };
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in &files {
        // Each script gets a fresh back end: its own `spectest` instance and registrations.
        let mut backend = backend(&options.mode, &options.bounds_checks).expect("checked above");
        let report = run_file(file, backend.as_mut(), &expected);
        println!("{report}");
        summary.add(report);
    }
    println!("{}", summary.footer());
    if summary.counts.failed > 0 { 1 } else { 0 }
}
