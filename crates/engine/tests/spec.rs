//! The spec testsuite's WebAssembly 2.0 groups (`core`, `bulk-memory`) run on the baseline
//! tier, in both bounds-check modes: every directive passes, or is unsupported because it
//! needs a proposal beyond 2.0. An operator the tier cannot compile would show up as an
//! unsupported reason naming the mode, and fails this test.

use kiln_engine::runtime::BoundsChecks;
use kiln_engine::{CpuFeatures, EngineConfig, Tier};
use kiln_spec_harness::{EngineBackend, ExpectedFailures, Suite, Summary, run_file};

fn run_wasm2(mode: &str, config: EngineConfig) {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in suite.files(Some(&Suite::WASM2_GROUPS)) {
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
    // About 28,700 directives; under 800 need later proposals.
    assert!(summary.counts.passed > 27_500, "{}", summary.total_line());
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

#[test]
fn opt_with_guard_regions() {
    let config = EngineConfig {
        tier: Tier::Optimized,
        ..EngineConfig::default()
    };
    run_wasm2("opt", config);
    opt_statistics();
}

#[test]
fn opt_with_explicit_bounds_checks() {
    let config = EngineConfig {
        tier: Tier::Optimized,
        bounds_checks: BoundsChecks::Explicit,
        ..EngineConfig::default()
    };
    run_wasm2("opt", config);
    opt_statistics();
}

/// The optimizing tier really compiled the scripts' functions: its statistics say so.
fn opt_statistics() {
    let stats = kiln_codegen_opt::statistics().snapshot();
    println!("{stats}");
    assert!(stats.functions > 4_000, "{stats:?}");
}
