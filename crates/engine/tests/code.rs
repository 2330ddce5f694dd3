//! Lazy compilation, flushing, code GC, code logging, statistics and dynamic tiering.

use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiln_engine::runtime::{Func, Imports, Value};
use kiln_engine::{
    CodeEvent, CodeEventKind, CodeEventListener, Engine, EngineConfig, Isolate, JitDumpListener,
    PerfMapListener, Tier, TierUpState,
};

mod common;
use common::module;

fn call1(instance: &kiln_engine::runtime::Instance, name: &str, x: i32) -> i32 {
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

#[derive(Default)]
struct Recorder(Mutex<Vec<CodeEvent>>, Mutex<Option<std::thread::ThreadId>>);

impl CodeEventListener for Recorder {
    fn code_created(&self, event: &CodeEvent) {
        *self.1.lock().unwrap() = Some(std::thread::current().id());
        self.0.lock().unwrap().push(event.clone());
    }
}

#[test]
fn lazy_compilation_compiles_on_first_call() {
    let engine = Engine::new(EngineConfig {
        lazy_compilation: true,
        ..EngineConfig::default()
    });
    let isolate = engine.new_isolate();
    let module = isolate.compile(&module(10, Some("logged"))).unwrap();
    let native = module.native_module();
    assert!(native.is_lazy());
    assert_eq!(native.code_size(), 0);
    assert_eq!(native.installed_tier(3), None);
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "f3", 4), 7);
    assert_eq!(call1(&instance, "f3", 5), 8);
    assert_eq!(native.installed_tier(3), Some(Tier::Baseline));
    assert_eq!(native.installed_tier(4), None);
    assert_eq!(engine.counters().lazy_compiles, 1);
}

#[test]
fn an_instance_keeps_its_lazily_compiled_module_alive() {
    let engine = Engine::new(EngineConfig {
        lazy_compilation: true,
        ..EngineConfig::default()
    });
    let store = kiln_engine::runtime::Store::new(engine.runtime());
    let compiled = engine.compile(&module(10, None)).unwrap();
    let instance = compiled.instantiate(&store, &Imports::new()).unwrap();
    drop(compiled);
    // Nothing is compiled yet: the first calls compile through the module the instance holds.
    assert_eq!(call1(&instance, "f3", 4), 7);
    assert_eq!(call1(&instance, "f5", 1), 6);
    assert_eq!(engine.counters().lazy_compiles, 2);
}

#[test]
fn flushing_frees_baseline_code_and_the_module_still_runs() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let module = isolate.compile(&module(50, Some("logged"))).unwrap();
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "f10", 1), 11);
    let size = engine.baseline_code_size();
    assert!(size > 0);
    let (code, metadata) = engine.flush_baseline_code();
    assert_eq!(code, size);
    assert!(metadata > 0);
    assert_eq!(engine.baseline_code_size(), 0);
    // Functions fall back to lazy compilation.
    assert_eq!(call1(&instance, "f10", 2), 12);
    assert_eq!(call1(&instance, "f49", 2), 51);
    assert_eq!(engine.counters().lazy_compiles, 2);
    assert!(engine.baseline_code_size() > 0 && engine.baseline_code_size() < size);
    // Code GC releases the flushed code once the isolate reported an empty stack.
    assert!(engine.collect_code_garbage());
    isolate.run_pending_tasks();
    let status = engine.code_gc_status();
    assert!(!status.round_in_progress);
    assert_eq!(status.potentially_dead, 0);
    assert_eq!(status.freed_code_objects, 50);
    assert_eq!(status.freed_code_bytes as usize, size);
}

#[test]
fn code_gc_keeps_code_a_stack_returns_into() {
    let engine = Engine::new(EngineConfig::default());
    let isolate = Rc::new(engine.new_isolate());
    let wasm = wat::parse_str(
        r#"(module
            (import "host" "flush" (func $flush))
            (func (export "run") (param i32) (result i32)
                call $flush
                (i32.mul (local.get 0) (i32.const 3))))"#,
    )
    .unwrap();
    let module = isolate.compile(&wasm).unwrap();
    let native = module.native_module().clone();
    let run_code = native.code().code(1).unwrap().instruction_start();
    let weak: Weak<Isolate> = Rc::downgrade(&isolate);
    let held = Rc::new(std::cell::Cell::new(false));
    let h = held.clone();
    let flush = Func::wrap(isolate.store(), move || {
        let isolate = weak.upgrade().unwrap();
        let engine = isolate.engine();
        engine.flush_baseline_code();
        assert!(engine.collect_code_garbage());
        // A safepoint: the isolate reports its stack, which returns into `run`.
        isolate.run_pending_tasks();
        h.set(engine.code_gc_holds(run_code));
    });
    let mut imports = Imports::new();
    imports.define("host", "flush", flush);
    let instance = isolate.instantiate(&module, &imports).unwrap();
    assert_eq!(call1(&instance, "run", 14), 42);
    assert!(held.get(), "code on the stack was released");
    assert_eq!(engine.code_gc_status().potentially_dead, 1);
    // Back outside wasm: the next round frees it.
    assert!(engine.collect_code_garbage());
    isolate.run_pending_tasks();
    assert!(!engine.code_gc_holds(run_code));
    assert_eq!(engine.code_gc_status().potentially_dead, 0);
    // It runs again, recompiled lazily.
    assert_eq!(call1(&instance, "run", 2), 6);
}

#[test]
fn perf_map_lists_every_function_with_its_url() {
    let dir = std::env::temp_dir().join(format!("kiln-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("perf.map");
    let _ = std::fs::remove_file(&path);
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let module = isolate.compile(&module(12, Some("logged"))).unwrap();
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "f0", 1), 1);
    let listener = Arc::new(PerfMapListener::with_path(&path).unwrap());
    engine.enable_code_logging(&isolate, listener.clone());
    assert!(isolate.is_logging_code());
    assert!(module.native_module().log_code());
    isolate.run_pending_tasks();
    let map = std::fs::read_to_string(&path).unwrap();
    let url = &module.script().url;
    for f in 0..12 {
        let wanted = format!("fn{f} [baseline] {url}");
        let line = map
            .lines()
            .find(|l| l.ends_with(&wanted))
            .unwrap_or_else(|| panic!("no line for fn{f} in\n{map}"));
        let mut parts = line.splitn(3, ' ');
        let start = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let size = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
        let code = module.native_module().code().code(f).unwrap();
        assert_eq!(
            (start, size),
            (code.instruction_start(), code.instructions_len())
        );
    }
    assert!(map.contains("kiln: entry trampoline (i32) -> i32"), "{map}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logging_covers_new_code_runs_on_the_isolate_thread_and_stops_with_the_last_isolate() {
    let engine = Engine::new(EngineConfig {
        lazy_compilation: true,
        ..EngineConfig::default()
    });
    let isolate = engine.new_isolate();
    let recorder = Arc::new(Recorder::default());
    engine.enable_code_logging(&isolate, recorder.clone());
    let module = isolate.compile(&module(3, Some("logged"))).unwrap();
    let native = module.native_module().clone();
    assert!(native.log_code());
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "f2", 1), 3);
    let logged_before_tasks = recorder.0.lock().unwrap().len();
    assert_eq!(logged_before_tasks, 0, "logged outside the task queue");
    isolate.run_pending_tasks();
    let events = recorder.0.lock().unwrap().clone();
    assert_eq!(
        *recorder.1.lock().unwrap(),
        Some(std::thread::current().id())
    );
    let f2: Vec<_> = events.iter().filter(|e| e.func_index == Some(2)).collect();
    assert_eq!(f2.len(), 1, "{events:?}");
    assert_eq!(f2[0].kind, CodeEventKind::Function(Tier::Baseline));
    assert_eq!(f2[0].name, "fn2");
    assert_eq!(
        f2[0].script_url.as_deref(),
        Some(module.script().url.as_str())
    );
    assert!(events.iter().any(|e| e.kind == CodeEventKind::Trampoline));
    drop(instance);
    drop(module);
    drop(isolate);
    assert!(!native.log_code());
}

#[test]
fn jitdump_has_a_header_and_one_record_per_code() {
    let dir = std::env::temp_dir().join(format!("kiln-jitdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let engine = Engine::new(EngineConfig::default());
    let isolate = engine.new_isolate();
    let _module = isolate.compile(&module(5, Some("logged"))).unwrap();
    let listener = Arc::new(JitDumpListener::new(&dir).unwrap());
    engine.enable_code_logging(&isolate, listener.clone());
    isolate.run_pending_tasks();
    let bytes = std::fs::read(listener.path()).unwrap();
    assert_eq!(&bytes[0..4], &0x4A69_5444u32.to_ne_bytes());
    let mut at = 40;
    let mut names = Vec::new();
    while at < bytes.len() {
        let id = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        let size = u32::from_ne_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        assert_eq!(id, 0);
        let code_size = u64::from_ne_bytes(bytes[at + 40..at + 48].try_into().unwrap()) as usize;
        let name_end = bytes[at + 56..].iter().position(|&b| b == 0).unwrap() + at + 56;
        names.push(String::from_utf8(bytes[at + 56..name_end].to_vec()).unwrap());
        assert_eq!(name_end + 1 + code_size, at + size);
        at += size;
    }
    assert_eq!(at, bytes.len());
    for f in 0..5 {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("fn{f} [baseline]")))
        );
    }
    drop(listener);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn statistics_tracer_and_memory() {
    let dir = std::env::temp_dir().join(format!("kiln-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("code.txt");
    let engine = Engine::new(EngineConfig::default());
    assert_eq!(engine.dump_optimizing_statistics(), None);
    assert_eq!(engine.get_or_create_optimizing_statistics().functions, 0);
    assert!(
        engine
            .dump_optimizing_statistics()
            .unwrap()
            .contains("functions compiled  0")
    );
    engine.set_code_tracer(Some(&trace)).unwrap();
    let empty = engine.estimate_memory_consumption();
    let isolate = engine.new_isolate();
    let module = isolate.compile(&module(8, Some("logged"))).unwrap();
    engine.set_code_tracer(None).unwrap();
    let text = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(text.matches("--- module").count(), 8, "{text}");
    assert!(text.contains("fn7 (Baseline)"));
    let sample = engine.sample_code_size();
    let installed = module.native_module().code_size();
    assert_eq!(
        engine
            .code_memory_usage()
            .code_bytes_of(kiln_engine::CodeKind::Baseline),
        installed
    );
    assert!(sample.code_bytes >= installed && sample.committed_bytes >= sample.code_bytes);
    assert!(sample.engine_metadata_bytes >= module.module().wire_bytes.len());
    assert_eq!(engine.code_size_history().samples, 1);
    let full = engine.estimate_memory_consumption();
    assert!(full > empty);
    drop(module);
    drop(isolate);
    engine.wait_idle();
    assert_eq!(engine.estimate_memory_consumption(), empty);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module whose `run(n)` loops `n` times over arithmetic, hot enough to tier up.
fn hot_module() -> Vec<u8> {
    wat::parse_str(
        r#"(module
            (func $step (param i32 i32) (result i32)
                (i32.add (i32.mul (local.get 0) (i32.const 31)) (local.get 1)))
            (func (export "run") (param i32) (result i32) (local i32 i32)
                (loop $l
                    (local.set 1 (call $step (local.get 1) (local.get 2)))
                    (local.set 2 (i32.add (local.get 2) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get 2) (local.get 0))))
                (local.get 1)))"#,
    )
    .unwrap()
}

fn expected_run(n: i32) -> i32 {
    let mut acc = 0i32;
    for i in 0..n.max(1) {
        acc = acc.wrapping_mul(31).wrapping_add(i);
    }
    acc
}

#[test]
fn dynamic_tiering_replaces_hot_baseline_code() {
    let engine = Engine::new(EngineConfig {
        dynamic_tiering: true,
        tier_up_budget: 2_000,
        ..EngineConfig::default()
    });
    let isolate = engine.new_isolate();
    let module = isolate.compile(&hot_module()).unwrap();
    let native = module.native_module().clone();
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    engine.get_or_create_optimizing_statistics();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut runs = 0;
    loop {
        assert_eq!(call1(&instance, "run", 1000), expected_run(1000));
        runs += 1;
        let settled = (0..2).all(|f| {
            matches!(
                native.tier_up_state(f),
                Some(TierUpState::Optimized | TierUpState::Failed)
            )
        });
        if settled || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let counters = engine.counters();
    println!("{counters:?} after {runs} runs");
    assert!(
        counters.tier_up_requests >= 2,
        "{counters:?} after {runs} runs"
    );
    // Each hot function was optimized once, in the background, and its slot patched.
    assert_eq!(counters.tier_ups_published, 2, "{counters:?}");
    assert_eq!(counters.tier_up_failures, 0, "{counters:?}");
    assert_eq!(native.installed_tier(0), Some(Tier::Optimized));
    assert_eq!(native.installed_tier(1), Some(Tier::Optimized));
    assert_eq!(native.tier_up_state(1), Some(TierUpState::Optimized));
    assert_eq!(engine.get_or_create_optimizing_statistics().functions, 2);
    let dump = engine.dump_and_reset_optimizing_statistics().unwrap();
    assert!(dump.contains("functions compiled  2"), "{dump}");
    assert_eq!(engine.get_or_create_optimizing_statistics().functions, 0);
    // The replaced baseline code waits for code GC; the isolate's report frees it.
    assert_eq!(engine.code_gc_status().potentially_dead, 2);
    engine.collect_code_garbage();
    isolate.run_pending_tasks();
    assert_eq!(engine.code_gc_status().freed_code_objects, 2);
    // Results stay identical after the switch.
    for n in [0, 1, 7, 5000] {
        assert_eq!(call1(&instance, "run", n), expected_run(n));
    }
}

#[test]
fn optimizing_only_and_one_off_compiles() {
    let engine = Engine::new(EngineConfig {
        tier: Tier::Optimized,
        ..EngineConfig::default()
    });
    let isolate = engine.new_isolate();
    let module = isolate.compile(&hot_module()).unwrap();
    let native = module.native_module();
    assert_eq!(native.installed_tier(0), Some(Tier::Optimized));
    assert_eq!(native.installed_tier(1), Some(Tier::Optimized));
    let instance = isolate.instantiate(&module, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "run", 300), expected_run(300));
    assert_eq!(engine.counters().baseline_functions, 0);

    // One-off compiles: a baseline module gets optimized code for one function; a lower tier
    // does not replace a higher one.
    let baseline = Engine::new(EngineConfig::default());
    let module = baseline.compile(&hot_module()).unwrap();
    let native = module.shared();
    assert_eq!(native.installed_tier(1), Some(Tier::Baseline));
    assert_eq!(
        baseline
            .compile_function(native, 1, Tier::Optimized)
            .unwrap(),
        Some(Tier::Optimized)
    );
    assert_eq!(native.installed_tier(0), Some(Tier::Baseline));
    assert_eq!(
        baseline
            .compile_function(native, 1, Tier::Baseline)
            .unwrap(),
        Some(Tier::Optimized)
    );
    let store = kiln_engine::runtime::Store::new(baseline.runtime());
    let instance = module.instantiate(&store, &Imports::new()).unwrap();
    assert_eq!(call1(&instance, "run", 77), expected_run(77));
}
