//! Every module of every spec testsuite script that decodes (all proposals enabled) compiles:
//! each function either succeeds, with consistent metadata, or is rejected as `Unsupported`;
//! no other error and no panic.

use kiln_codegen_baseline::{BoundsChecks, CompileEnv, CompileError, CompileOptions};
use std::path::PathBuf;

fn suite() -> PathBuf {
    match std::env::var_os("KILN_SPEC_TESTSUITE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec-testsuite"),
    }
}

#[test]
fn every_spec_module_compiles_or_is_unsupported() {
    let features = kiln_decoder::Features::all();
    let mut scripts: Vec<_> = std::fs::read_dir(suite())
        .expect("spec testsuite (set KILN_SPEC_TESTSUITE)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    scripts.sort();
    let (mut ok, mut unsupported) = (0usize, 0usize);
    let options = [
        CompileOptions::default(),
        CompileOptions {
            bounds_checks: BoundsChecks::Explicit,
            ..CompileOptions::default()
        },
    ];
    for path in scripts {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(buf) = wast::parser::ParseBuffer::new(&text) else {
            continue;
        };
        let Ok(script) = wast::parser::parse::<wast::Wast>(&buf) else {
            continue;
        };
        for directive in script.directives {
            let wast::WastDirective::Module(mut quote) = directive else {
                continue;
            };
            let Ok(wasm) = quote.encode() else { continue };
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
                            assert!(
                                f.trap_sites
                                    .windows(2)
                                    .all(|w| w[0].pc_offset < w[1].pc_offset)
                            );
                            assert!(
                                f.source_positions
                                    .windows(2)
                                    .all(|w| w[0].pc_offset < w[1].pc_offset)
                            );
                            assert!(f.trap_sites.iter().all(|t| t.pc_offset < len));
                            assert!(f.relocations.iter().all(|r| r.offset + 4 <= len));
                        }
                        Err(CompileError::Unsupported { .. }) => unsupported += 1,
                        Err(e) => panic!("{}: function {i}: {e}", path.display()),
                    }
                }
            }
        }
    }
    eprintln!("{ok} functions compiled, {unsupported} unsupported");
    assert!(ok > 10_000, "only {ok} functions compiled");
}
