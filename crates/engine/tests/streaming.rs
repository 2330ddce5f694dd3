//! Streaming compilation: chunks of any size give the module a one-shot compile gives, for
//! every module of the spec testsuite, asynchronously and synchronously.

use std::sync::Arc;

use kiln_engine::runtime::{Imports, Value};
use kiln_engine::{Engine, EngineConfig, EngineError, JobOptions, NativeModule};
use kiln_spec_harness::Suite;

/// The same decoded module and, function by function, the same tier and code size.
fn assert_same(a: &NativeModule, b: &NativeModule, what: &str) {
    assert_eq!(**a.module(), **b.module(), "{what}");
    let m = a.module();
    for f in m.num_imported_functions..m.functions.len() as u32 {
        let (ca, cb) = (a.code().code(f), b.code().code(f));
        assert_eq!(
            ca.as_ref().map(|c| (c.kind(), c.instructions_len())),
            cb.as_ref().map(|c| (c.kind(), c.instructions_len())),
            "{what}: function {f}"
        );
    }
}

#[test]
fn streaming_with_random_splits_matches_sync_compile_on_spec_modules() {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let sync = Engine::new(EngineConfig::default());
    let streaming = Engine::new(EngineConfig {
        test_streaming: true,
        ..EngineConfig::default()
    });
    let (mut modules, mut compiled, mut rejected) = (0, 0, 0);
    for (what, wasm) in suite.modules(Some(&Suite::WASM2_GROUPS)) {
        modules += 1;
        let expected = sync.compile(&wasm);
        let actual = streaming.compile(&wasm);
        match (expected, actual) {
            (Ok(e), Ok(a)) => {
                assert_same(e.shared(), a.shared(), &what);
                compiled += 1;
            }
            (Err(EngineError::Decode(e)), Err(EngineError::Decode(a))) => {
                assert_eq!(e, a, "{what}");
                rejected += 1;
            }
            (
                Err(EngineError::Compile { func_index: e, .. }),
                Err(EngineError::Compile { func_index: a, .. }),
            ) => assert_eq!(e, a, "{what}"),
            (e, a) => panic!("{what}: sync {e:?}, streaming {a:?}"),
        }
    }
    println!("{modules} modules: {compiled} compiled, {rejected} rejected");
    assert!(compiled > 1000, "only {compiled} modules compiled");
}

fn big_module(functions: usize) -> Vec<u8> {
    let mut text = String::from("(module\n");
    for f in 0..functions {
        let mut body = String::from("(local.get 0)");
        for k in 0..(f % 40) {
            body = format!("(i32.add {body} (i32.const {k}))");
        }
        text.push_str(&format!(
            "(func (export \"f{f}\") (param i32) (result i32) {body})\n"
        ));
    }
    text.push(')');
    wat::parse_str(text).unwrap()
}

fn feed_in_chunks(
    isolate: &kiln_engine::Isolate,
    wasm: &[u8],
    chunk: usize,
    sync: bool,
) -> Result<kiln_engine::ModuleObject, EngineError> {
    let mut stream = isolate.start_streaming(
        JobOptions {
            source_url: Some("https://example.com/big.wasm".to_string()),
            ..JobOptions::default()
        },
        sync,
    );
    let mut buffer = vec![0u8; chunk];
    for piece in wasm.chunks(chunk) {
        // The same buffer for every chunk: the stream must have copied the previous one.
        buffer[..piece.len()].copy_from_slice(piece);
        stream.on_bytes_received(&buffer[..piece.len()])?;
        buffer.fill(0xff);
    }
    if sync {
        stream.finish_sync()
    } else {
        stream.finish().wait()
    }
}

#[test]
fn streaming_compiles_while_bytes_arrive_async_and_sync() {
    let wasm = big_module(2000);
    let reference = Engine::new(EngineConfig::default());
    let expected = reference.compile(&wasm).unwrap();
    for sync in [false, true] {
        let engine = Engine::new(EngineConfig::default());
        let isolate = engine.new_isolate();
        let module = feed_in_chunks(&isolate, &wasm, 7919, sync).unwrap();
        assert_same(expected.shared(), module.native_module(), "big module");
        assert_eq!(module.script().url, "https://example.com/big.wasm");
        let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
        let result = instance
            .get_func("f1999")
            .unwrap()
            .call(&[Value::I32(0)])
            .unwrap();
        assert_eq!(result, [Value::I32((0..39).sum())]);
        assert_eq!(engine.counters().baseline_functions, 2000);
        // A second compile of the same bytes comes from the cache.
        let again = isolate.compile(&wasm).unwrap();
        assert!(Arc::ptr_eq(again.native_module(), module.native_module()));
    }
}

#[test]
fn streaming_errors_and_abort() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let mut wasm = big_module(50);
    let at = wasm.len() - 3;
    wasm[at] = 0xff; // corrupt the last body
    let result = feed_in_chunks(&isolate, &wasm, 100, false);
    assert!(matches!(result, Err(EngineError::Decode(_))), "{result:?}");

    let before = engine.code_memory_usage();
    let good = big_module(500);
    let mut stream = isolate.start_streaming(JobOptions::default(), false);
    stream.on_bytes_received(&good[..good.len() / 2]).unwrap();
    assert!(isolate.has_running_compile_job());
    stream.abort();
    engine.wait_idle();
    assert!(!isolate.has_running_compile_job());
    assert_eq!(engine.code_memory_usage().modules, before.modules);
    assert!(engine.native_modules().is_empty());
}

#[test]
fn sync_streaming_finishes_while_every_worker_is_busy() {
    let engine = Engine::new(EngineConfig {
        worker_threads: 1,
        compile_threads: 1,
        ..EngineConfig::default()
    });
    let busy = engine.new_isolate();
    let isolate = engine.new_isolate();
    // Occupies the only worker for a while.
    let other = busy.compile_async(&big_module(3000), JobOptions::default());
    // Large enough that batches go to the (busy) worker while the bytes arrive.
    let wasm = big_module(2500);
    assert!(wasm.len() > 2 * 64 * 1024);
    let mut stream = isolate.start_streaming(JobOptions::default(), false);
    for piece in wasm.chunks(1 << 14) {
        stream.on_bytes_received(piece).unwrap();
    }
    let module = stream.finish_sync().unwrap();
    let native = module.native_module();
    for f in 0..2500 {
        assert!(native.code().code(f).is_some(), "function {f} has no code");
    }
    assert_eq!(
        native.code_size(),
        Engine::new(EngineConfig::default())
            .compile(&wasm)
            .unwrap()
            .code_size()
    );
    other.wait().unwrap();
}

/// A stream started while another stream of a module with the same start is running compiles
/// nothing while its bytes arrive: at the end it takes the first stream's module from the
/// cache (V8's streaming ownership). If it ends first, it compiles the module itself (it
/// never waits for a stream, which the waiting thread may be the one feeding) and the first
/// stream then returns that module.
#[test]
fn a_second_stream_of_the_same_module_waits_for_the_first_in_the_cache() {
    let wasm = big_module(2000);
    let start = |isolate: &kiln_engine::Isolate| {
        let mut stream = isolate.start_streaming(JobOptions::default(), true);
        for piece in wasm.chunks(4096) {
            stream.on_bytes_received(piece).unwrap();
        }
        stream
    };
    // The first stream ends first: the second compiled nothing.
    let engine = Engine::new(EngineConfig::default());
    let (a, b) = (engine.new_isolate(), engine.new_isolate());
    let (first, second) = (start(&a), start(&b));
    let compiled_while_streaming = engine.counters().baseline_functions;
    assert!(compiled_while_streaming > 0 && compiled_while_streaming < 2000);
    let first = first.finish_sync().unwrap();
    assert_eq!(engine.counters().baseline_functions, 2000);
    let second = second.finish_sync().unwrap();
    assert!(Arc::ptr_eq(first.native_module(), second.native_module()));
    assert_eq!(engine.counters().baseline_functions, 2000, "compiled once");
    assert_eq!(engine.counters().cache_hits, 1);
    let instance = b.instantiate(&second, &Imports::new()).unwrap();
    let f = instance.get_func("f1999").unwrap();
    assert_eq!(
        f.call(&[Value::I32(1)]).unwrap(),
        [Value::I32(1 + (0..39).sum::<i32>())]
    );
    drop((first, second, instance));

    // The second stream ends first: it compiles, and the first stream takes its module.
    let engine = Engine::new(EngineConfig::default());
    let (a, b) = (engine.new_isolate(), engine.new_isolate());
    let (first, second) = (start(&a), start(&b));
    let second = second.finish_sync().unwrap();
    let first = first.finish_sync().unwrap();
    assert!(Arc::ptr_eq(first.native_module(), second.native_module()));

    // A different module with the same start (same sections before the code, same code
    // section length) is compiled for what it is.
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let mut other = wasm.clone();
    // The last body's last `i32.const 38` becomes `i32.const 37`: same length, other code.
    let at = other.windows(2).rposition(|w| w == [0x41, 38]).unwrap();
    other[at + 1] = 37;
    let first = start(&isolate);
    let mut second = isolate.start_streaming(JobOptions::default(), true);
    second.on_bytes_received(&other).unwrap();
    let second = second.finish_sync().unwrap();
    let first = first.finish_sync().unwrap();
    assert!(!Arc::ptr_eq(first.native_module(), second.native_module()));
    let run = |m: &kiln_engine::ModuleObject| {
        let instance = isolate.instantiate(m, &Imports::new()).unwrap();
        let f = instance.get_func("f1999").unwrap();
        f.call(&[Value::I32(0)]).unwrap()
    };
    assert_eq!(run(&first), [Value::I32((0..39).sum())]);
    assert_eq!(run(&second), [Value::I32((0..39).sum::<i32>() - 1)]);
}
