//! Four isolates on four threads compile, instantiate, run, tier up, flush and are dropped
//! for a bounded time; results are checked, and at the end reservations and code space are
//! back to their starting size.

use std::time::{Duration, Instant};

use kiln_engine::runtime::{Imports, Value, live_memory_reservations};
use kiln_engine::{Engine, EngineConfig, JobOptions, live_code_reservations};

fn module(variant: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (memory 1)
            (func $step (param i32 i32) (result i32)
                (i32.add (i32.mul (local.get 0) (i32.const {m})) (local.get 1)))
            (func (export "run") (param i32) (result i32) (local i32 i32)
                (loop $l
                    (local.set 1 (call $step (local.get 1) (local.get 2)))
                    (i32.store (i32.const 0) (local.get 1))
                    (local.set 2 (i32.add (local.get 2) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 2) (local.get 0))))
                (i32.load (i32.const 0))))"#,
        m = 31 + variant
    ))
    .unwrap()
}

fn expected(variant: u32, n: i32) -> i32 {
    let mut acc = 0i32;
    for i in 0..n.max(1) {
        acc = acc.wrapping_mul(31 + variant as i32).wrapping_add(i);
    }
    acc
}

#[test]
fn four_isolates_compile_run_tier_flush_and_drop() {
    let engine = Engine::new(EngineConfig {
        dynamic_tiering: true,
        tier_up_budget: 5_000,
        compile_threads: 2,
        ..EngineConfig::default()
    });
    // Warm up: the process-wide trampolines of the signatures used are built once, for good.
    {
        let isolate = engine.new_isolate();
        let module = isolate.compile(&module(99)).unwrap();
        let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
        instance
            .get_func("run")
            .unwrap()
            .call(&[Value::I32(1)])
            .unwrap();
    }
    engine.wait_idle();
    engine.collect_code_garbage();
    let code_before = engine.code_memory_usage();
    let memories_before = live_memory_reservations();
    let reservations_before = live_code_reservations();
    let deadline = Instant::now() + Duration::from_secs(3);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let engine = &engine;
            s.spawn(move || {
                let mut round = 0u32;
                while Instant::now() < deadline {
                    let isolate = engine.new_isolate();
                    // Two variants shared by all threads (module cache), one of this thread.
                    for variant in [round % 2, 2 + t] {
                        let wasm = module(variant);
                        let module = if round.is_multiple_of(3) {
                            isolate.compile_async(&wasm, JobOptions::default()).wait()
                        } else {
                            isolate.compile(&wasm)
                        }
                        .unwrap();
                        let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
                        for n in [10, 500, 2000] {
                            let got = instance.get_func("run").unwrap().call(&[Value::I32(n)]);
                            assert_eq!(got.unwrap(), [Value::I32(expected(variant, n))]);
                        }
                        isolate.run_pending_tasks();
                    }
                    if (round + t).is_multiple_of(4) {
                        engine.flush_baseline_code();
                        engine.collect_code_garbage();
                    }
                    isolate.run_pending_tasks();
                    round += 1;
                }
            });
        }
    });
    engine.wait_idle();
    assert_eq!(engine.isolate_count(), 0);
    // No isolate is left to report a stack: one round releases every replaced code.
    assert!(engine.collect_code_garbage());
    assert_eq!(engine.code_gc_status().potentially_dead, 0);
    assert!(engine.native_modules().is_empty());
    assert_eq!(engine.module_cache_entries(), 0);
    let after = engine.code_memory_usage();
    assert_eq!(after.modules, code_before.modules);
    assert_eq!(after.reserved_bytes, code_before.reserved_bytes);
    assert_eq!(after.committed_bytes, code_before.committed_bytes);
    assert_eq!(live_memory_reservations(), memories_before);
    // Dropped modules' reservations return after their grace period.
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_code_reservations() != reservations_before && Instant::now() < deadline {
        engine.code_memory_usage();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(live_code_reservations(), reservations_before);
    let counters = engine.counters();
    assert!(counters.tier_ups_published > 0, "{counters:?}");
    assert!(
        counters.flushes > 0 && counters.cache_hits > 0,
        "{counters:?}"
    );
}
