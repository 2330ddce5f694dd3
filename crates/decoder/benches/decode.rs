//! Decoding throughput: `kiln_decoder::decode` against wasmparser's bare validator on the same
//! generated module (2,000 functions of loops, arithmetic, locals, memory and calls).
//! `cargo xtask bench decode` compares the two on real-world modules.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;

fn module_text(functions: usize) -> String {
    let mut text = String::from("(module (memory 1) (global $g (mut i32) (i32.const 0))\n");
    for f in 0..functions {
        let callee = if f == 0 { 0 } else { f - 1 };
        write!(
            text,
            "(func $f{f} (param $n i32) (result i32) (local $acc i32) (local $x i64)
               (block $out (loop $top
                 (br_if $out (i32.eqz (local.get $n)))
                 (local.set $acc (i32.add (local.get $acc) (i32.mul (local.get $n) (i32.const {f}))))
                 (local.set $x (i64.add (local.get $x) (i64.extend_i32_u (local.get $acc))))
                 (i32.store offset=8 (i32.and (local.get $n) (i32.const 0xff)) (local.get $acc))
                 (global.set $g (i32.xor (global.get $g) (i32.load (i32.const 16))))
                 (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                 (br $top)))
               (if (result i32) (i64.gt_u (local.get $x) (i64.const 100))
                 (then (call $f{callee} (i32.const 0)))
                 (else (i32.wrap_i64 (local.get $x)))))\n"
        )
        .unwrap();
    }
    text.push(')');
    text
}

fn decode(c: &mut Criterion) {
    let wasm = wat::parse_str(module_text(2000)).expect("generated text is valid");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(wasm.len() as u64));
    let features = kiln_decoder::Features::default();
    group.bench_function("kiln_decoder::decode", |b| {
        b.iter(|| kiln_decoder::decode(black_box(&wasm), &features).unwrap())
    });
    group.bench_function("wasmparser::Validator", |b| {
        b.iter(|| {
            let mut validator = wasmparser::Validator::new_with_features(features.wasm_features());
            validator.validate_all(black_box(&wasm)).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
