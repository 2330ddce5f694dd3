//! Traps from optimized code: every trap code the tier emits, in both bounds-check modes,
//! with backtraces naming the right wasm offsets; stack overflow from deep recursion.

mod common;

use kiln_abi::{BoundsChecks, TrapCode};
use kiln_runtime::{Instance, Store, Trap, Value};
use wasmparser::{BinaryReader, FunctionBody, Operator};

const WAT: &str = r#"(module
  (type $v (func))
  (type $i (func (param i32) (result i32)))
  (memory 1)
  (table 4 funcref)
  (elem (i32.const 1) $nop $inner)
  (func $nop)
  (func $inner (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "load") (param i32) (result i32)
    (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func (export "store_far") (param i32)
    (i32.store offset=0xfffffff0 (local.get 0) (i32.const 1)))
  (func (export "unreachable") unreachable)
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_u") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "call_indirect") (param i32) (result i32)
    (call_indirect (type $i) (i32.const 7) (local.get 0)))
  (func (export "table_get") (param i32) (result funcref) (table.get (local.get 0)))
  (func (export "fill") (param i32 i32) (memory.fill (local.get 0) (i32.const 0) (local.get 1)))
  (func $rec (export "rec") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (i32.const 0)))))"#;

/// The wire offset of the `nth` operator of function `func`.
fn op_offset(module: &kiln_decoder::Module, func: u32, nth: usize) -> u32 {
    let range = module.functions[func as usize].body.clone().unwrap();
    let body = FunctionBody::new(BinaryReader::new(
        &module.wire_bytes[range.clone()],
        range.start as u64,
    ));
    let mut ops = body.get_operators_reader().unwrap();
    let mut at = 0;
    for _ in 0..=nth {
        let (_, offset): (Operator, u64) = ops.read_with_offset().unwrap();
        at = offset;
    }
    at as u32
}

fn trap(instance: &Instance, name: &str, args: &[Value]) -> Trap {
    instance.get_func(name).unwrap().call(args).unwrap_err()
}

fn code(instance: &Instance, name: &str, args: &[Value]) -> TrapCode {
    trap(instance, name, args).code
}

#[test]
fn trap_codes_and_backtraces() {
    for bc in [BoundsChecks::Guard, BoundsChecks::Explicit] {
        let runtime = common::runtime(bc);
        let store = Store::new(&runtime);
        let module = common::module(WAT);
        let instance = common::instantiate_opt(&store, WAT, bc);
        let call = |name: &str, args: &[Value]| instance.get_func(name).unwrap().call(args);
        use Value::*;

        assert_eq!(call("load", &[I32(8)]).unwrap(), [I32(1)]);
        let t = trap(&instance, "load", &[I32(65534)]);
        assert_eq!(t.code, TrapCode::MemoryOutOfBounds, "{bc:?}");
        let frames = &t.backtrace.frames;
        assert_eq!(frames.len(), 2, "{t:?}");
        assert_eq!(frames[0].func_index, 1);
        // $inner: local.get 0, i32.load.
        assert_eq!(frames[0].wasm_offset, Some(op_offset(&module, 1, 1)));
        // "load": local.get 0, call $inner.
        assert_eq!(frames[1].func_index, 2);
        assert_eq!(frames[1].wasm_offset, Some(op_offset(&module, 2, 1)));
        assert_eq!(
            code(&instance, "load", &[I32(-1)]),
            TrapCode::MemoryOutOfBounds
        );
        assert_eq!(
            code(&instance, "store_far", &[I32(0)]),
            TrapCode::MemoryOutOfBounds
        );

        let t = trap(&instance, "unreachable", &[]);
        assert_eq!(t.code, TrapCode::Unreachable);
        assert_eq!(
            t.backtrace.frames[0].wasm_offset,
            Some(op_offset(&module, 4, 0))
        );

        assert_eq!(call("div_s", &[I32(-7), I32(2)]).unwrap(), [I32(-3)]);
        assert_eq!(
            code(&instance, "div_s", &[I32(1), I32(0)]),
            TrapCode::IntegerDivideByZero
        );
        assert_eq!(
            code(&instance, "div_s", &[I32(i32::MIN), I32(-1)]),
            TrapCode::IntegerOverflow
        );
        assert_eq!(call("rem_s", &[I32(i32::MIN), I32(-1)]).unwrap(), [I32(0)]);
        assert_eq!(
            code(&instance, "rem_u", &[I64(1), I64(0)]),
            TrapCode::IntegerDivideByZero
        );
        assert_eq!(
            code(&instance, "trunc", &[F64(f64::NAN.to_bits())]),
            TrapCode::BadConversionToInteger
        );
        assert_eq!(
            code(&instance, "trunc", &[F64(3e9f64.to_bits())]),
            TrapCode::IntegerOverflow
        );
        assert_eq!(
            call("trunc", &[F64((-2.9f64).to_bits())]).unwrap(),
            [I32(-2)]
        );

        assert_eq!(call("call_indirect", &[I32(2)]).unwrap(), [I32(0)]);
        assert_eq!(
            code(&instance, "call_indirect", &[I32(4)]),
            TrapCode::UndefinedElement
        );
        assert_eq!(
            code(&instance, "call_indirect", &[I32(0)]),
            TrapCode::IndirectCallToNull
        );
        assert_eq!(
            code(&instance, "call_indirect", &[I32(1)]),
            TrapCode::BadSignature
        );
        assert_eq!(
            code(&instance, "table_get", &[I32(4)]),
            TrapCode::TableOutOfBounds
        );
        assert_eq!(
            code(&instance, "fill", &[I32(65000), I32(1000)]),
            TrapCode::MemoryOutOfBounds
        );
        call("fill", &[I32(65000), I32(536)]).unwrap();
    }
}

#[test]
fn deep_recursion_overflows_the_stack_and_recovers() {
    let runtime = common::runtime(BoundsChecks::Guard);
    let store = Store::new(&runtime);
    let instance = common::instantiate_opt(&store, WAT, BoundsChecks::Guard);
    let rec = instance.get_func("rec").unwrap();
    assert_eq!(rec.call(&[Value::I32(1000)]).unwrap(), [Value::I32(1000)]);
    for _ in 0..3 {
        let t = rec.call(&[Value::I32(100_000_000)]).unwrap_err();
        assert_eq!(t.code, TrapCode::StackOverflow);
        assert!(t.backtrace.frames.len() > 100);
        assert!(t.backtrace.frames.iter().all(|f| f.func_index == 12));
        assert_eq!(rec.call(&[Value::I32(100)]).unwrap(), [Value::I32(100)]);
    }
}

/// Functions above `large_function_bytes` use Cranelift's single-pass register allocator: the
/// same module, every function forced onto it, computes and traps the same.
#[test]
fn single_pass_register_allocation_computes_and_traps_the_same() {
    let runtime = common::runtime(BoundsChecks::Guard);
    let store = Store::new(&runtime);
    let module = common::module(WAT);
    let options = kiln_codegen_opt::CompileOptions {
        large_function_bytes: 0,
        verify: true,
        ..Default::default()
    };
    let native = common::compile_with(&module, &options, |_| kiln_abi::Tier::Optimized);
    let instance = Instance::new(&store, &module, &native, &Default::default()).unwrap();
    let call = |name: &str, args: &[Value]| instance.get_func(name).unwrap().call(args);
    assert_eq!(
        call("rec", &[Value::I32(1000)]).unwrap(),
        [Value::I32(1000)]
    );
    assert_eq!(call("load", &[Value::I32(8)]).unwrap(), [Value::I32(1)]);
    assert_eq!(
        code(&instance, "load", &[Value::I32(65534)]),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        call("div_s", &[Value::I32(-7), Value::I32(2)]).unwrap(),
        [Value::I32(-3)]
    );
    assert_eq!(
        code(&instance, "call_indirect", &[Value::I32(1)]),
        TrapCode::BadSignature
    );
}
