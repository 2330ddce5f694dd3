//! Calls between baseline and optimized code for every parameter and result shape: each
//! shape runs a chain baseline -> optimized -> baseline -> optimized in one native module, and
//! the results must be the parameters the innermost function picked.

mod common;

use kiln_abi::{BoundsChecks, Tier};
use kiln_runtime::{Imports, Instance, Store, Value};
use wasmparser::ValType;

fn wat_type(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        _ => unreachable!(),
    }
}

fn value_of(t: ValType, seed: u64) -> Value {
    match t {
        ValType::I32 => Value::I32(seed as i32 ^ 0x5a5a_0000),
        ValType::I64 => Value::I64((seed as i64) << 40 | 0x1234_5678_9abc),
        ValType::F32 => Value::F32((seed as f32 + 0.25).to_bits()),
        ValType::F64 => Value::F64((seed as f64 * 1e10 + 0.5).to_bits()),
        _ => unreachable!(),
    }
}

/// Parameter types of shape (n, m), and which parameter (or constant, for no parameters)
/// each result returns.
fn shape(n: usize, m: usize) -> (Vec<ValType>, Vec<Option<usize>>) {
    let kinds = [ValType::I32, ValType::F64, ValType::I64, ValType::F32];
    let params = (0..n)
        .map(|i| kinds[(i * 3 + n + m) % kinds.len()])
        .collect();
    let picks = (0..m).map(|j| (n > 0).then(|| (j * 5 + 3) % n)).collect();
    (params, picks)
}

fn chain_module(params: &[ValType], picks: &[Option<usize>]) -> String {
    let results: Vec<ValType> = picks
        .iter()
        .map(|p| p.map_or(ValType::I32, |i| params[i]))
        .collect();
    let p: Vec<&str> = params.iter().map(|&t| wat_type(t)).collect();
    let r: Vec<&str> = results.iter().map(|&t| wat_type(t)).collect();
    let sig = format!("(param {}) (result {})", p.join(" "), r.join(" "));
    let gets: String = (0..params.len())
        .map(|i| format!("local.get {i} "))
        .collect();
    let body: String = picks
        .iter()
        .enumerate()
        .map(|(j, p)| match p {
            Some(i) => format!("local.get {i} "),
            None => format!("i32.const {} ", 1000 + j),
        })
        .collect();
    // 0: baseline entry -> 1: optimized -> 2: baseline -> 3: optimized leaf.
    format!(
        "(module
           (func (export \"chain\") {sig} {gets} call 1)
           (func {sig} {gets} call 2)
           (func {sig} {gets} call 3)
           (func {sig} {body}))"
    )
}

fn tier(i: u32) -> Tier {
    if i.is_multiple_of(2) {
        Tier::Baseline
    } else {
        Tier::Optimized
    }
}

fn run_shapes(bounds_checks: BoundsChecks) {
    let runtime = common::runtime(bounds_checks);
    let store = Store::new(&runtime);
    let mut shapes = 0;
    for n in 0..=20usize {
        for m in 0..=10usize {
            let (params, picks) = shape(n, m);
            let module = common::module(&chain_module(&params, &picks));
            let native = common::compile(&module, bounds_checks, tier);
            let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
            let args: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(i, &t)| value_of(t, (i * 7 + n) as u64))
                .collect();
            let expected: Vec<Value> = picks
                .iter()
                .enumerate()
                .map(|(j, p)| match p {
                    Some(i) => args[*i].clone(),
                    None => Value::I32(1000 + j as i32),
                })
                .collect();
            let got = instance.get_func("chain").unwrap().call(&args).unwrap();
            assert_eq!(got, expected, "shape {params:?} picks {picks:?}");
            shapes += 1;
        }
    }
    assert_eq!(shapes, 21 * 11);
}

#[test]
fn every_shape_crosses_tiers_both_ways() {
    run_shapes(BoundsChecks::Guard);
}

/// Optimized code calling a baseline function that grows memory (explicit mode: the base may
/// move) and reading memory afterwards, and baseline code reading what optimized code stored.
#[test]
fn memory_seen_across_tiers_after_grow() {
    for bounds_checks in [BoundsChecks::Guard, BoundsChecks::Explicit] {
        let runtime = common::runtime(bounds_checks);
        let store = Store::new(&runtime);
        let module = common::module(
            r#"(module (memory 1)
              (func $grow (result i32) (memory.grow (i32.const 3)))
              (func (export "f") (param i32) (result i32)
                (i32.store (i32.const 16) (local.get 0))
                (drop (call $grow))
                (i32.store (i32.const 200000) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
                (i32.add (call 2) (memory.size)))
              (func (result i32) (i32.load (i32.const 200000))))"#,
        );
        let native = common::compile(&module, bounds_checks, |i| {
            if i == 1 {
                Tier::Optimized
            } else {
                Tier::Baseline
            }
        });
        let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
        let f = instance.get_func("f").unwrap();
        assert_eq!(f.call(&[Value::I32(41)]).unwrap(), [Value::I32(42 + 4)]);
    }
}
