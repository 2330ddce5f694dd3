//! Code GC by stack scan: `wasm_pcs_on_stack` reports the wasm frames of every activation, and
//! the code manager frees removed code that no frame uses, even from inside a wasm call.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use kiln_code_manager::{CodeKind, NativeModule, RemoveFilter, lookup};
use kiln_codegen_baseline::{CompileOptions, compile_function};
use kiln_runtime::*;

const WAT: &str = r#"(module
    (import "host" "remove" (func $remove))
    (import "host" "nested" (func $nested))
    (import "host" "scan" (func $scan))
    (func $run (export "run") (result i32) call $remove i32.const 42)
    (func $other (export "other") (result i32) i32.const 7)
    (func $outer (export "outer") (result i32) call $nested i32.const 1)
    (func $inner (export "inner") call $scan))"#;

/// The code of each defined function, published with the baseline tier.
fn publish_all(module: &kiln_decoder::Module, native: &NativeModule) -> Vec<(usize, usize)> {
    let options = CompileOptions {
        tier_up: false,
        ..Default::default()
    };
    let first = module.num_imported_functions;
    (first..first + module.num_defined_functions())
        .map(|f| {
            let compiled = compile_function(module, f, &options).unwrap();
            let code = native.publish(f, CodeKind::Baseline, &compiled).unwrap();
            (code.instruction_start(), code.instructions_len())
        })
        .collect()
}

fn within(pc: usize, (start, len): (usize, usize)) -> bool {
    (start..start + len).contains(&pc)
}

/// Reclaims until `dead` bytes of dead code are left (lookups in progress elsewhere may delay
/// the last step for a moment).
fn reclaim_until(native: &NativeModule, dead: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while native.memory_usage().dead_code_bytes != dead && std::time::Instant::now() < deadline {
        native.reclaim();
        std::thread::yield_now();
    }
    assert_eq!(native.memory_usage().dead_code_bytes, dead);
}

#[derive(Default)]
struct Seen {
    scans: Vec<Vec<usize>>,
    freed: Vec<kiln_code_manager::FreedCode>,
}

#[test]
fn removed_code_is_kept_while_a_frame_uses_it_and_freed_after() {
    let runtime = Runtime::default();
    let store = Store::new(&runtime);
    let module = common::module(WAT);
    let native = common::native(&module);
    let code = publish_all(&module, &native);
    let (run, other, outer, inner) = (code[0], code[1], code[2], code[3]);
    let seen = Rc::new(RefCell::new(Seen::default()));

    let mut imports = Imports::new();
    {
        let (native, seen) = (native.clone(), seen.clone());
        imports.define(
            "host",
            "remove",
            Func::wrap(&store, move || {
                // The engine flushes the module while `run` waits for this host call, then
                // this thread reports its stack at a safepoint (here) and code GC runs.
                native.remove_compiled_code(RemoveFilter::Baseline);
                let mut pcs = Vec::new();
                wasm_pcs_on_stack(&mut pcs);
                let freed = native.free_dead_code(&pcs);
                let mut seen = seen.borrow_mut();
                seen.scans.push(pcs);
                seen.freed.push(freed);
            }),
        );
    }
    {
        let seen = seen.clone();
        imports.define(
            "host",
            "scan",
            Func::wrap(&store, move || {
                let mut pcs = Vec::new();
                wasm_pcs_on_stack(&mut pcs);
                seen.borrow_mut().scans.push(pcs);
            }),
        );
    }
    imports.define(
        "host",
        "nested",
        Func::wrap(&store, |caller: &Caller<'_>| -> Result<(), Trap> {
            let Some(Extern::Func(inner)) = caller.get_export("inner") else {
                panic!("inner is exported")
            };
            inner.call(&[]).map(drop)
        }),
    );
    let instance = Instance::new(&store, &module, &native, &imports).unwrap();

    // Outside wasm there is nothing on the stack.
    let mut pcs = Vec::new();
    wasm_pcs_on_stack(&mut pcs);
    assert!(pcs.is_empty());

    // Two activations: outer -> host -> inner -> host.
    let r = instance.get_func("outer").unwrap().call(&[]).unwrap();
    assert_eq!(r[0].as_i32(), Some(1));
    let scan = seen.borrow_mut().scans.pop().unwrap();
    assert_eq!(scan.len(), 2, "{scan:x?}");
    assert!(within(scan[0], inner), "innermost first");
    assert!(within(scan[1], outer));

    // Removal and code GC while `run` is on the stack, inside its execution scope.
    let r = instance.get_func("run").unwrap().call(&[]).unwrap();
    assert_eq!(
        r[0].as_i32(),
        Some(42),
        "returned into the removed but kept code"
    );
    let seen = seen.borrow();
    assert_eq!(seen.scans.len(), 1);
    assert_eq!(seen.scans[0].len(), 1);
    assert!(within(seen.scans[0][0], run));
    assert_eq!(seen.freed[0].codes, 3, "other, outer and inner were freed");
    assert_eq!(seen.freed[0].kept_on_stack, 1, "run was kept");
    assert_eq!(seen.freed[0].code_bytes, other.1 + outer.1 + inner.1);
    assert!(lookup(other.0).is_none());
    reclaim_until(&native, run.1);

    // The frame is gone: the next scan is empty and the last removed code goes.
    let mut pcs = Vec::new();
    wasm_pcs_on_stack(&mut pcs);
    assert!(pcs.is_empty());
    let freed = native.free_dead_code(&pcs);
    assert_eq!((freed.codes, freed.code_bytes), (1, run.1));
    reclaim_until(&native, 0);
    assert_eq!(native.memory_usage().code_bytes_of(CodeKind::Baseline), 0);
    assert!(lookup(run.0).is_none());
}
