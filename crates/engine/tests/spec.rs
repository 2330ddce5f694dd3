//! The spec testsuite's WebAssembly 2.0 groups (`core`, `bulk-memory`) run on the baseline
//! tier, in both bounds-check modes: every directive passes, or is unsupported because it
//! needs a proposal beyond 2.0. An operator the tier cannot compile would show up as an
//! unsupported reason naming the mode, and fails this test. Debug code for stepping runs a
//! subset of the scripts.

use kiln_engine::runtime::BoundsChecks;
use kiln_engine::{CpuFeatures, Engine, EngineConfig, Tier};
use kiln_spec_harness::{EngineBackend, ExpectedFailures, Suite, Summary, run_file};

/// Runs every WebAssembly 2.0 script; returns false when the suite is not on this machine.
fn run_wasm2(mode: &str, config: EngineConfig) -> bool {
    let Some(summary) = run_files(mode, config, |_| true) else {
        return false;
    };
    // About 28,700 directives; under 800 need later proposals.
    assert!(summary.counts.passed > 27_500, "{}", summary.total_line());
    true
}

/// Runs the WebAssembly 2.0 scripts whose names pass `select`; checks that none fails and
/// that nothing is unsupported except for a later proposal. `None` when the suite is not on
/// this machine (the test says so and skips).
fn run_files(mode: &str, config: EngineConfig, select: impl Fn(&str) -> bool) -> Option<Summary> {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return None;
    };
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in suite.files(Some(&Suite::WASM2_GROUPS)) {
        if !select(&file.name) {
            continue;
        }
        let mut backend = EngineBackend::new(mode, config);
        let report = run_file(&file, &mut backend, &expected);
        if report.counts.failed > 0 {
            println!("{report}");
        }
        summary.add(report);
    }
    println!("{}", summary.footer());
    assert_eq!(summary.counts.failed, 0, "{}", summary.total_line());
    for reason in summary.unsupported.keys() {
        let proposal = reason
            .split('+')
            .all(|p| kiln_decoder::Proposal::ALL.iter().any(|q| q.name() == p));
        assert!(
            proposal,
            "unsupported for a reason other than a later proposal: `{reason}`"
        );
    }
    Some(summary)
}

#[test]
fn baseline_with_guard_regions() {
    run_wasm2("baseline", EngineConfig::default());
}

#[test]
fn baseline_with_explicit_bounds_checks() {
    let config = EngineConfig {
        bounds_checks: BoundsChecks::Explicit,
        ..EngineConfig::default()
    };
    run_wasm2("baseline", config);
}

/// Code for a CPU with SSE4.1 but without popcnt/lzcnt/tzcnt/AVX (the fallback sequences), and
/// with tier-up checks at every entry and loop back edge.
#[test]
fn baseline_for_an_older_cpu_with_tier_up_checks() {
    let cpu = CpuFeatures {
        sse41: true,
        ..CpuFeatures::BASELINE
    };
    let config = EngineConfig {
        cpu,
        tier_up_checks: true,
        ..EngineConfig::default()
    };
    run_wasm2("baseline", config);
}

/// Debug code for stepping (a `DebugBreak` check on entry and before every instruction,
/// every value in its slot at each boundary) on scripts covering control flow, calls, locals,
/// memory, conversions and floats: it gives the same results as normal code.
#[test]
fn baseline_debug_code_for_stepping() {
    const SCRIPTS: [&str; 21] = [
        "block.wast",
        "i32.wast",
        "i64.wast",
        "left-to-right.wast",
        "nop.wast",
        "stack.wast",
        "switch.wast",
        "unwind.wast",
        "br_if.wast",
        "br_table.wast",
        "call.wast",
        "call_indirect.wast",
        "conversions.wast",
        "f64.wast",
        "fac.wast",
        "if.wast",
        "local_tee.wast",
        "loop.wast",
        "memory.wast",
        "return.wast",
        "select.wast",
    ];
    let config = EngineConfig {
        debug_stepping: true,
        ..EngineConfig::default()
    };
    // The engine does compile debug code in this configuration.
    let wasm = wat::parse_str("(module (func (param i32) (result i32) local.get 0))").unwrap();
    let size = |config| Engine::new(config).compile(&wasm).unwrap().code_size();
    assert!(size(config) > size(EngineConfig::default()) + 20);
    if let Some(summary) = run_files("baseline-debug", config, |name| SCRIPTS.contains(&name)) {
        assert!(summary.counts.passed > 5_500, "{}", summary.total_line());
    }
}

#[test]
fn opt_with_guard_regions() {
    let config = EngineConfig {
        tier: Tier::Optimized,
        ..EngineConfig::default()
    };
    if run_wasm2("opt", config) {
        opt_statistics();
    }
}

#[test]
fn opt_with_explicit_bounds_checks() {
    let config = EngineConfig {
        tier: Tier::Optimized,
        bounds_checks: BoundsChecks::Explicit,
        ..EngineConfig::default()
    };
    if run_wasm2("opt", config) {
        opt_statistics();
    }
}

/// The optimizing tier really compiled the scripts' functions: its statistics say so.
fn opt_statistics() {
    let stats = kiln_codegen_opt::statistics().snapshot();
    println!("{stats}");
    assert!(stats.functions > 4_000, "{stats:?}");
}
