//! The spec testsuite's WebAssembly 2.0 groups (`core`, `bulk-memory`) run on the baseline
//! tier, in both bounds-check modes: every directive passes, or is unsupported because it
//! needs a proposal beyond 2.0. An operator the tier cannot compile would show up as an
//! unsupported reason naming the mode, and fails this test.

use kiln_engine::EngineConfig;
use kiln_engine::runtime::BoundsChecks;
use kiln_spec_harness::{EngineBackend, ExpectedFailures, Suite, Summary, run_file};

fn run_wasm2(mode: &str, bounds_checks: BoundsChecks) {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in suite.files(Some(&Suite::WASM2_GROUPS)) {
        let config = EngineConfig {
            bounds_checks,
            ..EngineConfig::default()
        };
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
    run_wasm2("baseline", BoundsChecks::Guard);
}

#[test]
fn baseline_with_explicit_bounds_checks() {
    run_wasm2("baseline", BoundsChecks::Explicit);
}
