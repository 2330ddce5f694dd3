//! Compiling on several threads gives the same code as on one, and reports the failing
//! function.

use kiln_engine::{CompileError, Engine, EngineConfig, EngineError};
use std::fmt::Write;

fn module(functions: usize, simd_at: Option<usize>) -> Vec<u8> {
    let mut text = String::from("(module\n");
    for f in 0..functions {
        // Bodies of different sizes, so the queue order differs from the index order.
        let mut body = String::from("(local.get 0)");
        for k in 0..(f * 7) % 23 {
            body = format!("(i32.add {body} (i32.const {k}))");
        }
        if simd_at == Some(f) {
            body = format!("(drop (v128.const i64x2 0 0)) {body}");
        }
        writeln!(
            text,
            "(func (export \"f{f}\") (param i32) (result i32) {body})"
        )
        .unwrap();
    }
    text.push(')');
    wat::parse_str(text).unwrap()
}

fn engine(threads: usize) -> Engine {
    Engine::new(EngineConfig {
        compile_threads: threads,
        ..EngineConfig::default()
    })
}

#[test]
fn threads_produce_the_same_code() {
    let wasm = module(200, None);
    let one = engine(1).compile(&wasm).unwrap();
    let four = engine(4).compile(&wasm).unwrap();
    assert_eq!(one.code_size(), four.code_size());
    for i in 0..200 {
        let a = one.native_module().code(i).unwrap();
        let b = four.native_module().code(i).unwrap();
        assert_eq!(a.instructions(), b.instructions(), "function {i}");
    }
}

#[test]
fn the_failing_function_is_named() {
    let wasm = module(200, Some(137));
    match engine(4).compile(&wasm) {
        Err(EngineError::Compile {
            func_index: 137,
            error: CompileError::Unsupported { .. },
        }) => {}
        other => panic!("expected function 137 to be unsupported, got {other:?}"),
    }
}
