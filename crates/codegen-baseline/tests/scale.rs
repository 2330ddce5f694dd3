//! Compile time grows linearly with the body: a body ten times larger takes at most about
//! ten times longer (generous bound, to stay robust on a loaded machine).

use kiln_codegen_baseline::{CompileOptions, compile_function};
use std::time::{Duration, Instant};

fn body(blocks: usize) -> String {
    let mut s = String::from(
        "(module (memory 1) (func $g (param i32) (result i32) (local.get 0))\n(func (param i32 i64) (result i32) (local i32 i64 f64)\n",
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

fn time(blocks: usize) -> Duration {
    let wasm = wat::parse_str(body(blocks)).unwrap();
    let module = kiln_decoder::decode(&wasm, &Default::default()).unwrap();
    let opts = CompileOptions::default();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let f = compile_function(&module, 1, &opts).unwrap();
        best = best.min(t.elapsed());
        assert!(f.code.len() > blocks * 20);
    }
    best
}

#[test]
fn compile_time_is_linear_in_body_size() {
    let small = time(500);
    let large = time(5000);
    eprintln!("500 blocks: {small:?}, 5000 blocks: {large:?}");
    assert!(
        large < small * 25,
        "500 blocks: {small:?}, 5000 blocks: {large:?}"
    );
}
