//! Isolates, module objects, scripts, compile jobs, the module cache and debug bookkeeping.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use kiln_engine::runtime::{Imports, Value};
use kiln_engine::{Engine, EngineConfig, EngineError, JobOptions, ModuleObject};

mod common;
use common::module;

/// A minimal executor: polls on this thread, parking until woken.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn call(isolate: &kiln_engine::Isolate, module: &ModuleObject, name: &str, x: i32) -> i32 {
    let instance = isolate.instantiate(module, &Imports::new()).unwrap();
    match instance
        .get_func(name)
        .unwrap()
        .call(&[Value::I32(x)])
        .unwrap()[..]
    {
        [Value::I32(v)] => v,
        ref other => panic!("unexpected results {other:?}"),
    }
}

#[test]
fn dropping_an_isolate_releases_everything() {
    let engine = Engine::new(EngineConfig::default());
    let before = engine.code_memory_usage();
    let isolate = engine.new_isolate();
    assert_eq!(engine.isolate_count(), 1);
    let module = isolate.compile(&module(5, Some("m"))).unwrap();
    assert_eq!(call(&isolate, &module, "f3", 10), 13);
    assert_eq!(engine.native_modules().len(), 1);
    assert_eq!(isolate.native_modules().len(), 1);
    assert_eq!(isolate.scripts().len(), 1);
    assert_eq!(engine.code_memory_usage().modules, before.modules + 1);
    let weak = Arc::downgrade(module.native_module());
    drop(module);
    drop(isolate);
    // Helpers a worker may still be finishing hold the code space for a moment.
    engine.wait_idle();
    assert_eq!(engine.isolate_count(), 0);
    assert!(
        weak.upgrade().is_none(),
        "the native module outlived its isolate"
    );
    assert!(engine.native_modules().is_empty());
    assert_eq!(engine.module_cache_entries(), 0);
    let after = engine.code_memory_usage();
    assert_eq!(after.modules, before.modules);
    assert_eq!(after.reserved_bytes, before.reserved_bytes);
}

#[test]
fn scripts_have_ids_urls_and_source_maps() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let named = isolate.compile(&module(1, Some("calc"))).unwrap();
    let hash = named.module().hash as u32;
    assert_eq!(named.script().url, format!("wasm://wasm/calc-{hash:08x}"));
    let anonymous = isolate.compile(&module(2, None)).unwrap();
    let hash = anonymous.module().hash as u32;
    assert_eq!(anonymous.script().url, format!("wasm://wasm/{hash:08x}"));
    assert_ne!(named.script().id, anonymous.script().id);
    assert!(named.script().memory_estimate >= named.module().wire_bytes.len());

    // A sourceMappingURL custom section: its payload is a length-prefixed string.
    let mut wasm = module(1, None);
    let url = b"http://example.com/m.wasm.map";
    let name = b"sourceMappingURL";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.push(url.len() as u8);
    payload.extend_from_slice(url);
    wasm.push(0);
    wasm.push(payload.len() as u8);
    wasm.extend_from_slice(&payload);
    let mapped = isolate.compile(&wasm).unwrap();
    assert_eq!(
        mapped.script().source_map_url.as_deref(),
        Some("http://example.com/m.wasm.map")
    );
}

#[test]
fn a_module_compiled_in_two_isolates_is_compiled_once() {
    let engine = Engine::new(EngineConfig::default());
    let wasm = module(300, None);
    let barrier = Barrier::new(2);
    let natives: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let isolate = engine.new_isolate();
                    barrier.wait();
                    let module = isolate.compile(&wasm).unwrap();
                    assert_eq!(call(&isolate, &module, "f299", 1), 300);
                    module.native_module().clone()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(Arc::ptr_eq(&natives[0], &natives[1]));
    let counters = engine.counters();
    assert_eq!(counters.baseline_functions, 300, "{counters:?}");
    assert_eq!(counters.cache_hits, 1);
    // Different features make a different module.
    drop(natives);
    assert_eq!(engine.module_cache_entries(), 0);
}

#[test]
fn import_native_module_shares_without_recompiling() {
    let engine = Engine::new(EngineConfig::default());
    let a = engine.new_isolate();
    let b = engine.new_isolate();
    let module = a.compile(&module(4, Some("shared"))).unwrap();
    let compiled = engine.counters().baseline_functions;
    let imported = engine.import_native_module(
        &b,
        module.native_module().clone(),
        Some("https://example.com/app.wasm"),
    );
    assert_eq!(engine.counters().baseline_functions, compiled);
    assert!(Arc::ptr_eq(
        module.native_module(),
        imported.native_module()
    ));
    assert_eq!(imported.script().url, "https://example.com/app.wasm");
    assert_eq!(imported.isolate_id(), b.id());
    assert_eq!(call(&b, &imported, "f2", 5), 7);
    drop(a);
    drop(module);
    // Still used by `b`.
    assert_eq!(call(&b, &imported, "f1", 5), 6);
}

#[test]
fn async_compile_resolves_future_and_resolver() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let mut wasm = module(20, None);
    let resolved = Arc::new(Mutex::new(None));
    let r = resolved.clone();
    let future = isolate.compile_async(
        &wasm,
        JobOptions {
            resolver: Some(Box::new(move |result: Result<ModuleObject, String>| {
                *r.lock().unwrap() = Some(result.map(|m| m.script().id));
            })),
            ..JobOptions::default()
        },
    );
    // The bytes were copied: the caller may reuse its buffer at once.
    wasm.iter_mut().for_each(|b| *b = 0);
    let module = block_on(future).unwrap();
    assert_eq!(call(&isolate, &module, "f19", 1), 20);
    assert!(
        resolved.lock().unwrap().is_none(),
        "delivered off the isolate's thread"
    );
    while resolved.lock().unwrap().is_none() {
        isolate.wait_for_tasks(Duration::from_millis(100));
    }
    assert_eq!(
        resolved.lock().unwrap().clone().unwrap(),
        Ok(module.script().id)
    );
    assert!(!isolate.has_running_compile_job());
}

#[test]
fn async_compile_failure_is_prefixed_by_the_api_name() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let message = Arc::new(Mutex::new(None));
    let m = message.clone();
    let future = isolate.compile_async(
        b"\0asm\x01\0\0\0\x7f",
        JobOptions {
            api_name: "WebAssembly.instantiate()".to_string(),
            resolver: Some(Box::new(move |result: Result<ModuleObject, String>| {
                *m.lock().unwrap() = Some(result.err().unwrap());
            })),
            ..JobOptions::default()
        },
    );
    assert!(matches!(future.wait(), Err(EngineError::Decode(_))));
    while message.lock().unwrap().is_none() {
        isolate.wait_for_tasks(Duration::from_millis(100));
    }
    let message = message.lock().unwrap().clone().unwrap();
    assert!(
        message.starts_with("WebAssembly.instantiate(): invalid module"),
        "{message}"
    );
}

#[test]
fn an_async_compile_cancelled_by_dropping_its_isolate_leaves_nothing() {
    let engine = Engine::new(EngineConfig {
        compile_threads: 1,
        ..EngineConfig::default()
    });
    let before = engine.code_memory_usage();
    let wasm = module(6000, None);
    let called = Arc::new(AtomicUsize::new(0));
    let isolate = engine.new_isolate();
    let c = called.clone();
    let future = isolate.compile_async(
        &wasm,
        JobOptions {
            resolver: Some(Box::new(move |_: Result<ModuleObject, String>| {
                c.fetch_add(1, Ordering::SeqCst);
            })),
            ..JobOptions::default()
        },
    );
    std::thread::sleep(Duration::from_millis(1));
    drop(isolate);
    let result = future.wait();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    engine.wait_idle();
    assert_eq!(
        called.load(Ordering::SeqCst),
        0,
        "a cancelled job's resolver ran"
    );
    assert_eq!(engine.running_compile_jobs(), 0);
    assert!(engine.native_modules().is_empty());
    assert_eq!(engine.module_cache_entries(), 0);
    let after = engine.code_memory_usage();
    assert_eq!(after.modules, before.modules);
    assert_eq!(after.reserved_bytes, before.reserved_bytes);
    // Not every function was compiled: the cancellation stopped the job.
    assert!(engine.counters().baseline_functions < 6000);
}

#[test]
fn cancelling_a_context_cancels_only_its_jobs() {
    let engine = Engine::new(EngineConfig {
        compile_threads: 1,
        ..EngineConfig::default()
    });
    let isolate = engine.new_isolate();
    let big = module(3000, None);
    let small = module(3, None);
    let cancelled = isolate.compile_async(
        &big,
        JobOptions {
            context: 7,
            ..JobOptions::default()
        },
    );
    let kept = isolate.compile_async(
        &small,
        JobOptions {
            context: 8,
            ..JobOptions::default()
        },
    );
    assert!(isolate.has_running_compile_job());
    assert!(engine.cancel_context(7) <= 1);
    assert!(matches!(cancelled.wait(), Err(EngineError::Cancelled)));
    let module = kept.wait().unwrap();
    assert_eq!(call(&isolate, &module, "f2", 0), 2);
    engine.wait_idle();
    assert!(!isolate.has_running_compile_job());
}

#[test]
fn concurrent_compiles_wait_for_a_cancelled_owner_and_take_over() {
    let engine = Engine::new(EngineConfig {
        compile_threads: 1,
        ..EngineConfig::default()
    });
    let wasm = module(4000, None);
    let a = engine.new_isolate();
    let b = engine.new_isolate();
    let first = a.compile_async(&wasm, JobOptions::default());
    std::thread::sleep(Duration::from_millis(2));
    let second = b.compile_async(&wasm, JobOptions::default());
    drop(a);
    assert!(matches!(first.wait(), Err(EngineError::Cancelled)));
    let module = second.wait().unwrap();
    assert_eq!(call(&b, &module, "f3999", 1), 4000);
}

#[test]
fn debug_state_is_removed_with_the_isolate() {
    let engine = Engine::new(EngineConfig::default());
    let a = engine.new_isolate();
    let b = engine.new_isolate();
    let wasm = module(3, None);
    let ma = a.compile(&wasm).unwrap();
    let mb = b.compile(&wasm).unwrap();
    let native = ma.native_module().clone();
    a.set_breakpoint(&ma, 1, 40);
    b.set_breakpoint(&mb, 2, 50);
    assert!(a.is_debugging() && native.is_debugging());
    assert_eq!(native.breakpoints().len(), 2);
    assert_eq!(a.breakpoints().len(), 1);
    drop(ma);
    drop(a);
    assert_eq!(native.breakpoints().len(), 1);
    assert_eq!(native.breakpoints()[0].isolate, b.id());
    assert!(native.is_debugging());
    b.set_debugging(false);
    assert!(!native.is_debugging());
    assert!(native.breakpoints().is_empty());
}
