//! Compile time grows linearly with the body: a body ten times larger takes at most about
//! ten times longer (generous bound, to stay robust on a loaded machine).

use kiln_abi::CompiledFunction;
use kiln_codegen_baseline::{CompileOptions, compile_function};
use std::time::{Duration, Instant};

/// `blocks` blocks with loads, branches, calls and ifs, in a function with `extra` more
/// locals (which every merge state carries).
fn body_with_locals(blocks: usize, extra: usize) -> String {
    let mut s = format!(
        "(module (memory 1) (func $g (param i32) (result i32) (local.get 0))\n(func (param i32 i64) (result i32) (local i32 i64 f64) (local{})\n",
        " i64".repeat(extra)
    );
    for i in 0..blocks {
        s += &format!(
            "(block (local.set 2 (i32.add (local.get 2) (i32.load offset={o} (local.get 0))))
               (br_if 0 (i32.eqz (local.get 2)))
               (local.set 4 (f64.add (local.get 4) (f64.convert_i32_s (call $g (local.get 2)))))
               (if (i64.lt_s (local.get 1) (i64.const {i})) (then (local.set 3 (i64.mul (local.get 3) (local.get 1))))))\n",
            o = i % 1000 * 4
        );
    }
    s + "(local.get 2)))"
}

/// Compiles function `func` of the module `wat` `reps` times; returns the best time and the
/// last result.
fn best_compile(
    wat: &str,
    func: u32,
    opts: &CompileOptions,
    reps: usize,
) -> (Duration, CompiledFunction) {
    let wasm = wat::parse_str(wat).unwrap();
    let module = kiln_decoder::decode(&wasm, &Default::default()).unwrap();
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let f = compile_function(&module, func, opts).unwrap();
        best = best.min(t.elapsed());
        last = Some(f);
    }
    (best, last.expect("at least one repetition"))
}

fn time(blocks: usize) -> Duration {
    time_with_locals(blocks, 0)
}

fn time_with_locals(blocks: usize, extra: usize) -> Duration {
    let body = body_with_locals(blocks, extra);
    let (best, f) = best_compile(&body, 1, &CompileOptions::default(), 3);
    assert!(f.code.len() > blocks * 20);
    best
}

/// Ten times the input may cost at most this many times the time: linear is 10, quadratic
/// 100; the margin absorbs a loaded machine (best-of-several timings already help).
const LINEAR_LIMIT: u32 = 40;

#[test]
fn compile_time_is_linear_in_body_size() {
    let small = time(500);
    let large = time(5000);
    eprintln!("500 blocks: {small:?}, 5000 blocks: {large:?}");
    assert!(
        large < small * LINEAR_LIMIT,
        "500 blocks: {small:?}, 5000 blocks: {large:?}"
    );
}

/// With many locals too, the cost of each block stays fixed as the body grows (merge
/// states cost the locals once per join, nothing more).
#[test]
fn compile_time_is_linear_in_body_size_with_many_locals() {
    let small = time_with_locals(300, 200);
    let large = time_with_locals(3000, 200);
    eprintln!("300 blocks: {small:?}, 3000 blocks: {large:?}");
    assert!(
        large < small * LINEAR_LIMIT,
        "300 blocks: {small:?}, 3000 blocks: {large:?}"
    );
}

/// A function with `n` locals whose body updates each of them once and calls a function
/// every 16 locals: registers run out after a few locals, so most instructions spill, and
/// every call spills all registers.
fn locals_body(n: usize) -> String {
    let mut s = format!(
        "(module (func $g (param i32) (result i32) (local.get 0))
         (func (param i32) (result i32) (local i32 i64) (local{})\n",
        " i32".repeat(n)
    );
    for k in 0..n {
        let l = 3 + k;
        s += &format!(
            "(local.set {l} (i32.add (local.get 0) (i32.const {k})))
             (local.set 1 (i32.add (local.get 1) (local.get {l})))\n"
        );
        if k % 16 == 15 {
            s += &format!("(local.set 1 (call $g (local.get {l})))\n");
        }
    }
    s + "(local.get 1)))"
}

fn locals_time(n: usize) -> Duration {
    let (best, f) = best_compile(&locals_body(n), 1, &CompileOptions::default(), 3);
    assert!(f.code.len() > n * 10);
    best
}

/// Normal code costs no more per instruction in a function with many locals: spilling a
/// register, or all of them around a call, must not visit every local (that would make this
/// quadratic: 10,000 locals took 300 ms, 30,000 took 3 s).
#[test]
fn compile_time_is_linear_with_many_locals() {
    let small = locals_time(1000);
    let large = locals_time(10000);
    eprintln!("1000 locals: {small:?}, 10000 locals: {large:?}");
    assert!(
        large < small * LINEAR_LIMIT,
        "1000: {small:?}, 10000: {large:?}"
    );
}

/// A function with `n` locals whose body updates each of them once, as stepping debug code.
fn debug_body(n: usize) -> String {
    let mut s = format!(
        "(module (func (param i32) (result i32) (local i32 i64) (local{})\n",
        " i32".repeat(n)
    );
    for k in 0..n {
        let l = 3 + k;
        s += &format!(
            "(local.set {l} (i32.add (local.get 0) (i32.const {k})))
             (local.set 1 (i32.add (local.get 1) (local.get {l})))\n"
        );
    }
    s + "(local.get 1)))"
}

fn debug_time(n: usize) -> (Duration, usize, usize) {
    use kiln_codegen_baseline::{DebugOptions, DebugSideTable};
    let opts = CompileOptions {
        debug: Some(DebugOptions::stepping()),
        ..CompileOptions::default()
    };
    let (best, f) = best_compile(&debug_body(n), 0, &opts, 2);
    let table = f.debug_side_table.unwrap();
    let entries = DebugSideTable::decode(&table).unwrap().len();
    (best, table.len(), entries)
}

/// Debug code costs no more per instruction in a function with many locals: compile time
/// and side-table size stay linear when locals and body grow together (a side table that
/// stored every local at every entry, or boundaries that visited every local, would be
/// quadratic here).
#[test]
fn debug_code_is_linear_with_many_locals() {
    let (small, small_bytes, small_entries) = debug_time(500);
    let (large, large_bytes, large_entries) = debug_time(5000);
    eprintln!("500 locals: {small:?} {small_bytes} B, 5000 locals: {large:?} {large_bytes} B");
    assert!(
        large < small * LINEAR_LIMIT,
        "500: {small:?}, 5000: {large:?}"
    );
    // The entry check, 8 instructions per local, and the final two.
    assert_eq!(small_entries, 8 * 500 + 3);
    assert_eq!(large_entries, 8 * 5000 + 3);
    // The locals once (one byte each), then a few bytes per entry.
    assert!(large_bytes < 5000 + 8 * large_entries, "{large_bytes} B");
    assert!(
        large_bytes < 11 * small_bytes,
        "{small_bytes} B, {large_bytes} B"
    );
}
