//! Entry and exit trampolines across signature shapes; host functions typed and untyped,
//! reading the caller's memory; host errors and panics as traps.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use kiln_abi::{Location, TrapCode, VMContextLayout, call_layout};
use kiln_assembler_x64::{FloatSize, Gpr, Mem, R11, RAX, RBP, RSP, Size, Xmm};
use kiln_decoder::{FuncType, ValType};
use kiln_runtime::*;

fn gpr(n: u8) -> Gpr {
    Gpr::new(n).unwrap()
}
fn xmm(n: u8) -> Xmm {
    Xmm::new(n).unwrap()
}

fn wat_type(t: ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        ValType::V128 => "v128",
        _ => unreachable!(),
    }
}

/// A wasm-convention function returning its parameters in reverse order, built from
/// `call_layout` (results = reversed params' first `m`).
fn reverse_echo(params: &[ValType], m: usize) -> kiln_abi::CompiledFunction {
    let results: Vec<ValType> = params.iter().rev().take(m).copied().collect();
    let layout = call_layout(params, &results);
    let n = params.len();
    let mut c = Code::new();
    c.prologue();
    if let Some(Location::Gpr(r)) = layout.ret_area_pointer {
        c.asm.mov_rr(Size::S64, R11, gpr(r));
    }
    let area = (16 * m as i32 + 15) & !15;
    if area > 0 {
        c.asm.sub_ri(Size::S64, RSP, area);
    }
    let scratch = xmm(15);
    // Copies one value between memory operands: 16 bytes for v128, else 8.
    let copy = |c: &mut Code, ty: ValType, dst: Mem, src: Mem| {
        if ty == ValType::V128 {
            c.asm.movup_rm(FloatSize::F32, scratch, src);
            c.asm.movup_mr(FloatSize::F32, dst, scratch);
        } else {
            c.asm.mov_rm(Size::S64, RAX, src);
            c.asm.mov_mr(Size::S64, dst, RAX);
        }
    };
    for (j, &ty) in results.iter().enumerate() {
        let dst = Mem::base(RSP, 16 * j as i32);
        match layout.params[n - 1 - j] {
            Location::Gpr(r) => c.asm.mov_mr(Size::S64, dst, gpr(r)),
            Location::Xmm(x) => c.asm.movup_mr(FloatSize::F32, dst, xmm(x)),
            Location::Stack(off) => copy(&mut c, ty, dst, Mem::base(RBP, 16 + off as i32)),
            Location::RetArea(_) => unreachable!(),
        }
    }
    for (j, loc) in layout.results.iter().enumerate() {
        if let Location::RetArea(off) = *loc {
            copy(
                &mut c,
                results[j],
                Mem::base(R11, off as i32),
                Mem::base(RSP, 16 * j as i32),
            );
        }
    }
    for (j, loc) in layout.results.iter().enumerate() {
        let src = Mem::base(RSP, 16 * j as i32);
        match *loc {
            Location::Gpr(r) => c.asm.mov_rm(Size::S64, gpr(r), src),
            Location::Xmm(x) => c.asm.movup_rm(FloatSize::F32, xmm(x), src),
            _ => {}
        }
    }
    c.asm.mov_rr(Size::S64, RSP, RBP);
    c.asm.pop_r(RBP);
    if layout.stack_args_size > 0 {
        c.asm.ret_imm(layout.stack_args_size as u16);
    } else {
        c.asm.ret();
    }
    c.finish()
}

/// A wasm function that tail-calls imported function 0 with its own arguments.
fn forward_to_import(module: &kiln_decoder::Module, ty: &FuncType) -> kiln_abi::CompiledFunction {
    let layout = call_layout(ty.params(), ty.results());
    let Location::Gpr(v) = layout.vmctx else {
        unreachable!()
    };
    let off = VMContextLayout::new(module).imported_function(0) as i32;
    let mut c = Code::new();
    c.asm.mov_rm(Size::S64, RAX, Mem::base(gpr(v), off + 8));
    c.asm.mov_rm(Size::S64, R11, Mem::base(gpr(v), off));
    c.asm.mov_rr(Size::S64, gpr(v), RAX);
    c.asm.jmp_r(R11);
    c.finish()
}

fn value_of(t: ValType, seed: u64) -> Value {
    match t {
        ValType::I32 => Value::I32(seed as i32 ^ 0x5a5a_0000),
        ValType::I64 => Value::I64((seed as i64) << 40 | 0x1234_5678_9abc),
        ValType::F32 => Value::F32((seed as f32 + 0.25).to_bits()),
        ValType::F64 => Value::F64((seed as f64 * 1e10 + 0.5).to_bits()),
        ValType::V128 => Value::V128(u128::from(seed) << 96 | 0xfeed_0000_0000_beef),
        _ => unreachable!(),
    }
}

fn shape(n: usize, m: usize) -> (Vec<ValType>, Vec<ValType>) {
    let kinds = [
        ValType::I32,
        ValType::F64,
        ValType::I64,
        ValType::F32,
        ValType::V128,
    ];
    let params: Vec<ValType> = (0..n)
        .map(|i| kinds[(i * 3 + n + m) % kinds.len()])
        .collect();
    let results = params.iter().rev().take(m).copied().collect();
    (params, results)
}

fn sig_wat(params: &[ValType], results: &[ValType]) -> String {
    let p: Vec<&str> = params.iter().map(|&t| wat_type(t)).collect();
    let r: Vec<&str> = results.iter().map(|&t| wat_type(t)).collect();
    format!("(param {}) (result {})", p.join(" "), r.join(" "))
}

#[test]
fn entry_trampolines_for_many_shapes() {
    let runtime = Runtime::default();
    let store = Store::new(&runtime);
    let mut calls = 0;
    for n in 0..=20usize {
        for m in 0..=10usize.min(n) {
            let (params, results) = shape(n, m);
            let wat = format!(
                "(module (func (export \"f\") {} unreachable))",
                sig_wat(&params, &results)
            );
            let module = module(&wat);
            let native = native(&module);
            publish(&native, 0, reverse_echo(&params, m));
            let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
            let f = instance.get_func("f").unwrap();
            let args: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(i, &t)| value_of(t, (i * 7 + n) as u64))
                .collect();
            let expected: Vec<Value> = args.iter().rev().take(m).cloned().collect();
            assert_eq!(
                f.call(&args).unwrap(),
                expected,
                "shape {params:?} -> {results:?}"
            );
            calls += 1;
        }
    }
    assert!(calls > 100);
    // Every shape has one entry trampoline, shared by all runtimes of the process.
    let other = Runtime::default();
    for n in 0..=20usize {
        for m in 0..=10usize.min(n) {
            let (params, results) = shape(n, m);
            let ty = FuncType::new(params, results);
            assert_eq!(runtime.entry_trampoline(&ty), other.entry_trampoline(&ty));
        }
    }
}

#[test]
fn exit_trampolines_for_many_shapes() {
    let runtime = Runtime::default();
    let store = Store::new(&runtime);
    for n in 0..=20usize {
        for m in 0..=10usize.min(n) {
            let (params, results) = shape(n, m);
            let ty = FuncType::new(params.clone(), results.clone());
            let wat = format!(
                "(module (type $t (func {sig})) (import \"env\" \"h\" (func (type $t)))
                  (func (export \"f\") (type $t) unreachable))",
                sig = sig_wat(&params, &results)
            );
            let module = module(&wat);
            let native = native(&module);
            publish(&native, 1, forward_to_import(&module, &ty));
            let seen = Rc::new(RefCell::new(Vec::new()));
            let seen2 = seen.clone();
            let host = Func::new(&store, ty.clone(), move |_caller, args, out| {
                *seen2.borrow_mut() = args.to_vec();
                for (j, slot) in out.iter_mut().enumerate() {
                    *slot = args[args.len() - 1 - j].clone();
                }
                Ok(())
            });
            let mut imports = Imports::new();
            imports.define("env", "h", host.clone());
            let instance = Instance::new(&store, &module, &native, &imports).unwrap();
            let args: Vec<Value> = params
                .iter()
                .enumerate()
                .map(|(i, &t)| value_of(t, (i * 5 + m) as u64))
                .collect();
            let expected: Vec<Value> = args.iter().rev().take(m).cloned().collect();
            // Wasm -> host through the import, and host -> host through the funcref.
            let f = instance.get_func("f").unwrap();
            assert_eq!(
                f.call(&args).unwrap(),
                expected,
                "{params:?} -> {results:?}"
            );
            assert_eq!(*seen.borrow(), args);
            assert_eq!(host.call(&args).unwrap(), expected);
        }
    }
}

const MEMORY_WAT: &str = r#"(module
    (import "env" "sum" (func $sum (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 8) "hello")
    (func (export "run") (param i32 i32) (result i32) unreachable))"#;

fn memory_instance(store: &Store, host: Func) -> Instance {
    let module = module(MEMORY_WAT);
    let native = native(&module);
    let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    publish(&native, 1, forward_to_import(&module, &ty));
    let mut imports = Imports::new();
    imports.define("env", "sum", host);
    Instance::new(store, &module, &native, &imports).unwrap()
}

#[test]
fn typed_host_function_reads_caller_memory() {
    let store = Store::new(&Runtime::default());
    let host = Func::wrap(
        &store,
        |caller: &Caller<'_>, ptr: i32, len: i32| -> Result<i32, Trap> {
            let memory = caller.memory(0).ok_or_else(|| Trap::host("no memory"))?;
            let mut buf = vec![0; len as usize];
            memory.read(ptr as u64, &mut buf)?;
            assert_eq!(&buf, b"hello");
            let exported = caller.get_export("memory").is_some();
            Ok(buf.iter().map(|&b| b as i32).sum::<i32>() + exported as i32 * 1000)
        },
    );
    let instance = memory_instance(&store, host);
    let run = instance.get_func("run").unwrap();
    let expected = b"hello".iter().map(|&b| b as i32).sum::<i32>() + 1000;
    assert_eq!(
        run.call(&[Value::I32(8), Value::I32(5)]).unwrap(),
        [Value::I32(expected)]
    );
    // Out of bounds in the host becomes a trap in the caller.
    let trap = run.call(&[Value::I32(65534), Value::I32(5)]).unwrap_err();
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
}

#[test]
fn untyped_host_function_and_plain_closures() {
    let store = Store::new(&Runtime::default());
    let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    let host = Func::new(&store, ty, |caller, args, out| {
        let memory = caller.memory(0).unwrap();
        let (ptr, len) = (args[0].as_i32().unwrap(), args[1].as_i32().unwrap());
        let mut buf = vec![0; len as usize];
        memory.read(ptr as u64, &mut buf)?;
        out[0] = Value::I32(buf.len() as i32 * 10 + buf[0] as i32);
        Ok(())
    });
    let instance = memory_instance(&store, host);
    let run = instance.get_func("run").unwrap();
    assert_eq!(
        run.call(&[Value::I32(8), Value::I32(3)]).unwrap(),
        [Value::I32(30 + b'h' as i32)]
    );

    // Typed closures without a caller, with several results, called from the host.
    let add = Func::wrap(&store, |a: i32, b: i64, c: f64| (a as i64 + b, c * 2.0));
    assert_eq!(
        add.ty().params(),
        [ValType::I32, ValType::I64, ValType::F64]
    );
    assert_eq!(
        add.call(&[Value::I32(2), Value::I64(40), Value::F64(1.5f64.to_bits())])
            .unwrap(),
        [Value::I64(42), Value::F64(3.0f64.to_bits())]
    );
    let unit = Func::wrap(&store, || {});
    assert_eq!(unit.call(&[]).unwrap(), []);
    let err = add.call(&[Value::I32(1)]).unwrap_err();
    assert!(err.message.contains("argument mismatch"), "{err}");
}

#[test]
fn host_errors_and_panics_trap_and_the_store_recovers() {
    let store = Store::new(&Runtime::default());
    let host = Func::wrap(&store, |ptr: i32, len: i32| -> Result<i32, Trap> {
        match ptr {
            1 => Err(Trap::host("boom")),
            2 => panic!("host panic {len}"),
            _ => Ok(ptr + len),
        }
    });
    let instance = memory_instance(&store, host);
    let run = instance.get_func("run").unwrap();
    for round in 0..20 {
        let trap = run.call(&[Value::I32(1), Value::I32(round)]).unwrap_err();
        assert_eq!(
            (trap.code, trap.message.as_str()),
            (TrapCode::HostError, "boom")
        );
        let trap = run.call(&[Value::I32(2), Value::I32(round)]).unwrap_err();
        assert_eq!(trap.code, TrapCode::HostError);
        assert_eq!(
            trap.message,
            format!("host function panicked: host panic {round}")
        );
        assert_eq!(
            run.call(&[Value::I32(3), Value::I32(round)]).unwrap(),
            [Value::I32(3 + round)]
        );
    }
}

#[test]
fn host_functions_reenter_wasm_and_catch_its_traps() {
    let store = Store::new(&Runtime::default());
    let wat = r#"(module
        (import "env" "reenter" (func (param i32 i32) (result i32)))
        (func (export "run") (param i32 i32) (result i32) unreachable)
        (func (export "boom") (param i32 i32) (result i32) unreachable)
        (func (export "double") (param i32 i32) (result i32) unreachable))"#;
    let m = module(wat);
    let n = native(&m);
    let ty = FuncType::new([ValType::I32, ValType::I32], [ValType::I32]);
    publish(&n, 1, forward_to_import(&m, &ty));
    let mut c = Code::new();
    c.prologue();
    c.trap_here(TrapCode::Unreachable);
    c.asm.ud2();
    publish(&n, 2, c.finish());
    let mut c = Code::new();
    c.asm.lea(
        Size::S32,
        RAX,
        Mem::base_index(
            kiln_assembler_x64::RSI,
            kiln_assembler_x64::RSI,
            kiln_assembler_x64::Scale::One,
            0,
        ),
    );
    c.asm.ret();
    publish(&n, 3, c.finish());
    let host = Func::wrap(
        &store,
        |caller: &Caller<'_>, mode: i32, depth: i32| -> Result<i32, Trap> {
            let Some(Extern::Func(boom)) = caller.get_export("boom") else {
                panic!()
            };
            let Some(Extern::Func(run)) = caller.get_export("run") else {
                panic!()
            };
            let Some(Extern::Func(double)) = caller.get_export("double") else {
                panic!()
            };
            if depth > 0 {
                // Nest host -> wasm -> host -> wasm several levels deep.
                let r = run.call(&[Value::I32(mode), Value::I32(depth - 1)])?;
                return Ok(r[0].as_i32().unwrap() + 1);
            }
            let inner = boom.call(&[Value::I32(0), Value::I32(0)]);
            match mode {
                0 => {
                    assert_eq!(inner.unwrap_err().code, TrapCode::Unreachable);
                    Ok(double.call(&[Value::I32(21), Value::I32(0)])?[0]
                        .as_i32()
                        .unwrap())
                }
                _ => inner.map(|_| 0),
            }
        },
    );
    let mut imports = Imports::new();
    imports.define("env", "reenter", host);
    let instance = Instance::new(&store, &m, &n, &imports).unwrap();
    let run = instance.get_func("run").unwrap();
    assert_eq!(
        run.call(&[Value::I32(0), Value::I32(0)]).unwrap(),
        [Value::I32(42)]
    );
    assert_eq!(
        run.call(&[Value::I32(0), Value::I32(5)]).unwrap(),
        [Value::I32(47)]
    );
    let trap = run.call(&[Value::I32(1), Value::I32(3)]).unwrap_err();
    assert_eq!(trap.code, TrapCode::Unreachable);
    assert_eq!(
        run.call(&[Value::I32(0), Value::I32(2)]).unwrap(),
        [Value::I32(44)]
    );
}
