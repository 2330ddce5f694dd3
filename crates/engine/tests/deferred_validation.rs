//! Function bodies validated after decoding, on the compile threads: every module of the spec
//! testsuite's WebAssembly 2.0 groups is accepted or rejected exactly as the decoder's own
//! validation does it (same message, offset and function), eagerly and lazily compiled.

use std::sync::Arc;

use kiln_engine::decoder::{self, Features, ValidatorScratch};
use kiln_engine::{Engine, EngineConfig, EngineError};
use kiln_spec_harness::Suite;

/// `decode_deferred_early`, validating what it hands out (in index order) before looking at
/// the rest, as the engine ranks errors.
fn early_decode(wasm: &[u8], features: &Features) -> Result<decoder::Module, decoder::DecodeError> {
    let mut given = None;
    let decoded = decoder::decode_deferred_early(
        Arc::from(wasm),
        decoder::hash_bytes(wasm),
        features,
        |snapshot, functions| given = Some((snapshot, functions)),
    );
    if let Some((snapshot, functions)) = given {
        let mut scratch = ValidatorScratch::default();
        for f in functions {
            f.validate(&snapshot, &mut scratch)?;
        }
    }
    let (module, rest) = decoded?;
    let mut scratch = ValidatorScratch::default();
    for f in rest {
        f.validate(&module, &mut scratch)?;
    }
    Ok(module)
}

/// An invalid body comes before a malformed data section: both the decoder and the lazy
/// engine (which validates bodies while it decodes the data section) report the body.
#[test]
fn an_invalid_body_is_reported_before_a_later_malformed_section() {
    let wasm: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type () -> ()
        0x03, 0x02, 0x01, 0x00, // one function
        0x05, 0x03, 0x01, 0x00, 0x01, // one memory
        0x0a, 0x05, 0x01, 0x03, 0x00, 0x6a, 0x0b, // body: i32.add on an empty stack
        0x0b, 0x02, 0x01, 0x07, // data: one segment with flags 7 (malformed)
    ];
    let features = Features::default();
    let expected = decoder::decode(wasm, &features).unwrap_err();
    assert_eq!(expected.function_index(), Some(0), "{expected}");
    assert_eq!(early_decode(wasm, &features).unwrap_err(), expected);
    let lazy = Engine::new(EngineConfig {
        lazy_compilation: true,
        ..EngineConfig::default()
    });
    match lazy.compile(wasm) {
        Err(EngineError::Decode(d)) => assert_eq!(d, expected),
        other => panic!("{other:?}"),
    }
    // With a valid body, the data section's error.
    let mut fixed = wasm.to_vec();
    fixed[28] = 0x01; // nop
    let expected = decoder::decode(&fixed, &features).unwrap_err();
    assert_eq!(expected.function_index(), None, "{expected}");
    match lazy.compile(&fixed) {
        Err(EngineError::Decode(d)) => assert_eq!(d, expected),
        other => panic!("{other:?}"),
    }
}

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
    for (what, wasm) in suite.modules(Some(&Suite::WASM2_GROUPS)) {
        let expected = decoder::decode(&wasm, &features);
        // The decoder's deferred path, bodies validated in index order.
        let deferred = decoder::decode_deferred(Arc::from(&wasm[..]), &features).and_then(
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
        // Bodies handed out at the end of the code section, validated first.
        let early = early_decode(&wasm, &features);
        match (&expected, &early) {
            (Ok(e), Ok(d)) => assert_eq!(e, d, "{what}"),
            (Err(e), Err(d)) => assert_eq!(e, d, "{what}"),
            (e, d) => panic!("{what}: decode {e:?}, early {d:?}"),
        }
        // The engine's parallel validation, with and without compiling.
        for engine in [&eager, &lazy] {
            match (&expected, engine.compile(&wasm)) {
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
    assert!(
        valid > 1_000 && invalid > 2_000,
        "{valid} valid, {invalid} invalid"
    );
}
