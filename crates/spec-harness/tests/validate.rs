//! The validation directives of WebAssembly 2.0 (groups `core` and `bulk-memory`) all pass in
//! validate mode, and every directive of every file is accounted for.

use kiln_spec_harness::*;
use std::collections::HashMap;

/// Directive counts per file from the testsuite's INVENTORY.tsv.
fn inventory(suite: &Suite) -> HashMap<String, usize> {
    let text = std::fs::read_to_string(suite.root().join("INVENTORY.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let counted = [
        "module",
        "assert_return",
        "assert_trap",
        "assert_invalid",
        "assert_malformed",
        "assert_exhaustion",
        "assert_unlinkable",
        "register",
        "invoke",
        "assert_exception",
        "others",
    ];
    let columns: Vec<usize> = counted
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let total = columns
                .iter()
                .map(|&i| fields[i].parse::<usize>().unwrap())
                .sum();
            (fields[0].to_string(), total)
        })
        .collect()
}

#[test]
fn wasm2_validation_directives_pass() {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let inventory = inventory(&suite);
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in suite.files(Some(&Suite::WASM2_GROUPS)) {
        let report = run_file(&file, &mut ValidateBackend::default(), &expected);
        println!("{report}");
        let c = report.counts;
        let seen = c.passed + c.failed + c.unsupported + c.expected_failures;
        if let Some(&listed) = inventory.get(&file.name) {
            assert_eq!(seen, listed, "{}: directives miscounted", file.name);
        }
        summary.add(report);
    }
    println!("{}", summary.footer());
    assert_eq!(summary.counts.failed, 0, "{}", summary.total_line());
    // Every module/assert_invalid/assert_malformed is judged; only execution and later
    // proposals may be unsupported.
    for reason in summary.unsupported.keys() {
        let allowed = reason == "execution"
            || reason
                .split('+')
                .all(|p| kiln_decoder::Proposal::ALL.iter().any(|q| q.name() == p));
        assert!(allowed, "unexpected unsupported reason `{reason}`");
    }
    // The two groups hold about 4,250 validation directives; a few hundred need later proposals.
    assert!(summary.counts.passed > 4000, "{}", summary.total_line());
}

#[test]
fn later_proposals_are_named_when_unsupported() {
    let Some(suite) = Suite::locate() else { return };
    let file = suite
        .file("return_call.wast")
        .expect("return_call.wast in the suite");
    let report = run_file(
        &file,
        &mut ValidateBackend::default(),
        &ExpectedFailures::default(),
    );
    assert!(
        report.unsupported.get("tail-call").is_some_and(|&n| n > 0),
        "{report:?}"
    );
    // With the proposal on, the same modules validate.
    let features = kiln_decoder::Features::default().with(kiln_decoder::Proposal::TailCall);
    let report = run_file(
        &file,
        &mut ValidateBackend { features },
        &ExpectedFailures::default(),
    );
    assert!(!report.unsupported.contains_key("tail-call"), "{report:?}");
    assert_eq!(report.counts.failed, 0, "{report}");
}

#[test]
fn every_group_has_only_listed_failures() {
    let Some(suite) = Suite::locate() else { return };
    let expected = ExpectedFailures::builtin();
    let mut summary = Summary::default();
    for file in suite.files(None) {
        summary.add(run_file(&file, &mut ValidateBackend::default(), &expected));
    }
    let failures: Vec<String> = summary
        .files
        .iter()
        .filter(|f| f.counts.failed > 0)
        .map(|f| f.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every listed failure still fails (a passing one is reported as a failure above).
    assert_eq!(summary.counts.expected_failures, expected.len());
}
