//! Every module of every spec testsuite script that decodes (all proposals enabled) compiles:
//! each function either succeeds, with consistent metadata, or is rejected as `Unsupported`;
//! no other error and no panic. Debug code (stepping) compiles too, with a side table that
//! decodes, has an entry per check and call, and lies inside the code; a debug build of the
//! compiler also asserts at every boundary that no value is left in a register.

use kiln_codegen_baseline::{
    BoundsChecks, CompileEnv, CompileError, CompileOptions, DebugOptions, DebugSideTable,
};
use kiln_spec_harness::Suite;

mod common;

#[test]
fn every_spec_module_compiles_or_is_unsupported() {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let features = kiln_decoder::Features::all();
    let (mut ok, mut unsupported) = (0usize, 0usize);
    let options = [
        CompileOptions::default(),
        CompileOptions {
            bounds_checks: BoundsChecks::Explicit,
            ..CompileOptions::default()
        },
        CompileOptions {
            debug: Some(DebugOptions::stepping()),
            ..CompileOptions::default()
        },
    ];
    for (what, wasm) in suite.modules(None) {
        let Ok(module) = kiln_decoder::decode(&wasm, &features) else {
            continue;
        };
        let env = CompileEnv::new(&module);
        for i in module.num_imported_functions..module.functions.len() as u32 {
            for opts in &options {
                match env.compile(i, opts) {
                    Ok(f) => {
                        ok += 1;
                        let len = f.code.len() as u32;
                        common::check_invariants(&f);
                        assert_eq!(f.debug_side_table.is_some(), opts.debug.is_some());
                        if let Some(bytes) = &f.debug_side_table {
                            let t = DebugSideTable::decode(bytes).unwrap();
                            // The entry check, and one per reachable instruction.
                            assert!(t.len() >= 2, "{what}: function {i}");
                            assert!(t.entries().all(|e| e.pc_offset <= len));
                        }
                    }
                    Err(CompileError::Unsupported { .. }) => unsupported += 1,
                    Err(e) => panic!("{what}: function {i}: {e}"),
                }
            }
        }
    }
    eprintln!("{ok} functions compiled, {unsupported} unsupported");
    assert!(ok > 10_000, "only {ok} functions compiled");
}
