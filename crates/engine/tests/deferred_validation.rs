//! Function bodies validated after decoding, on the compile threads: every module of the spec
//! testsuite's WebAssembly 2.0 groups is accepted or rejected exactly as the decoder's own
//! validation does it (same message, offset and function), eagerly and lazily compiled.

use std::sync::Arc;

use kiln_engine::decoder::{self, Features, ValidatorScratch};
use kiln_engine::{Engine, EngineConfig, EngineError};
use kiln_spec_harness::{Suite, script_modules};

#[test]
fn deferred_validation_reports_what_the_decoder_reports() {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let features = Features::default();
    let eager = Engine::new(EngineConfig::default());
    let lazy = Engine::new(EngineConfig {
        lazy_compilation: true,
        ..EngineConfig::default()
    });
    let (mut valid, mut invalid) = (0, 0);
    for file in suite.files(Some(&Suite::WASM2_GROUPS)) {
        let text = std::fs::read_to_string(&file.path).unwrap();
        let Ok(found) = script_modules(&text) else {
            continue;
        };
        for m in found {
            let what = format!("{}:{}", file.name, m.line);
            let expected = decoder::decode(&m.wasm, &features);
            // The decoder's deferred path, bodies validated in index order.
            let deferred = decoder::decode_deferred(Arc::from(&m.wasm[..]), &features).and_then(
                |(module, functions)| {
                    let mut scratch = ValidatorScratch::default();
                    for f in functions {
                        f.validate(&module, &mut scratch)?;
                    }
                    Ok(module)
                },
            );
            match (&expected, &deferred) {
                (Ok(e), Ok(d)) => assert_eq!(e, d, "{what}"),
                (Err(e), Err(d)) => assert_eq!(e, d, "{what}"),
                (e, d) => panic!("{what}: decode {e:?}, deferred {d:?}"),
            }
            // The engine's parallel validation, with and without compiling.
            for engine in [&eager, &lazy] {
                match (&expected, engine.compile(&m.wasm)) {
                    (Ok(_), Ok(_)) | (Ok(_), Err(EngineError::Compile { .. })) => {}
                    (Err(e), Err(EngineError::Decode(d))) => assert_eq!(*e, d, "{what}"),
                    (e, d) => panic!("{what}: decode {e:?}, engine {d:?}"),
                }
            }
            match expected {
                Ok(_) => valid += 1,
                Err(_) => invalid += 1,
            }
        }
    }
    assert!(
        valid > 1_000 && invalid > 2_000,
        "{valid} valid, {invalid} invalid"
    );
}
