//! Baseline compile speed on one large function (about 200 KB of body: arithmetic, locals,
//! memory, nested blocks, branches and calls), in MB of wasm per second; normal code and
//! stepping debug code.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln_codegen_baseline::{CompileEnv, CompileOptions, DebugOptions};
use std::fmt::Write;
use std::hint::black_box;

fn large_function(blocks: usize) -> String {
    let mut body = String::new();
    for k in 0..blocks {
        write!(
            body,
            "(block $b{k}
               (local.set $a (i32.add (local.get $a) (i32.mul (local.get $n) (i32.const {k}))))
               (br_if $b{k} (i32.eqz (local.get $a)))
               (local.set $x (i64.add (local.get $x) (i64.extend_i32_u (local.get $a))))
               (i32.store offset=16 (i32.and (local.get $a) (i32.const 0xfff)) (local.get $n))
               (local.set $f (f64.add (local.get $f) (f64.convert_i32_s (local.get $a))))
               (if (i32.gt_u (local.get $a) (i32.const 1000))
                 (then (local.set $a (call $leaf (local.get $a))))))\n"
        )
        .unwrap();
    }
    format!(
        "(module (memory 1)
           (func $leaf (param i32) (result i32) (i32.shr_u (local.get 0) (i32.const 1)))
           (func (param $n i32) (result i32) (local $a i32) (local $x i64) (local $f f64)
             {body} (local.get $a)))"
    )
}

fn compile(c: &mut Criterion) {
    let wasm = wat::parse_str(large_function(2500)).expect("generated text is valid");
    let module = kiln_decoder::decode(&wasm, &Default::default()).unwrap();
    let body = module.function_body(1).unwrap().len();
    let env = CompileEnv::new(&module);
    let options = CompileOptions {
        tier_up: false,
        ..CompileOptions::default()
    };
    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Bytes(body as u64));
    group.sample_size(20);
    group.bench_function("compile one large function", |b| {
        b.iter(|| env.compile(black_box(1), &options).unwrap())
    });
    let stepping = CompileOptions {
        debug: Some(DebugOptions::stepping()),
        ..options.clone()
    };
    group.bench_function("compile one large function as stepping debug code", |b| {
        b.iter(|| env.compile(black_box(1), &stepping).unwrap())
    });
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
