//! Stack overflow, backtraces through wasm, host and builtin frames, and recovery.

mod common;

use common::*;
use kiln_abi::{BuiltinId, Relocation, RelocationTarget, TrapCode, VMContextLayout};
use kiln_assembler_x64::{Cond, Mem, R8, RAX, RCX, RDI, RDX, RSI, RSP, Size};
use kiln_runtime::*;

/// `rec(n)`: recurses n times through its jump-table slot and returns n; the prologue checks
/// the stack limit.
fn recursive() -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    let overflow = c.asm.new_label();
    let done = c.asm.new_label();
    c.prologue();
    c.asm.lea(Size::S64, RAX, Mem::base(RSP, -16));
    c.asm.cmp_rm(
        Size::S64,
        RAX,
        Mem::base(RDI, VMContextLayout::STACK_LIMIT as i32),
    );
    c.asm.jcc(Cond::B, overflow);
    c.asm.sub_ri(Size::S64, RSP, 16);
    c.asm.mov_rr(Size::S32, RAX, RSI);
    c.asm.test_rr(Size::S32, RSI, RSI);
    c.asm.jcc(Cond::E, done);
    c.asm.mov_mr(Size::S64, Mem::base(RSP, 0), RDI);
    c.asm.dec_r(Size::S32, RSI);
    c.asm.call_rel32(0);
    let reloc = c.asm.pc_offset() as u32 - 4;
    c.asm.inc_r(Size::S32, RAX);
    c.asm.mov_rm(Size::S64, RDI, Mem::base(RSP, 0));
    c.asm.bind(done);
    c.epilogue();
    c.asm.bind(overflow);
    c.trap_here(TrapCode::StackOverflow);
    c.asm.ud2();
    let mut f = c.finish();
    f.relocations.push(Relocation {
        offset: reloc,
        target: RelocationTarget::Function(0),
        addend: 0,
    });
    f
}

fn recursion_instance(config: RuntimeConfig) -> (Store, Func) {
    let store = Store::new(&Runtime::new(config));
    let module = module(r#"(module (func (export "rec") (param i32) (result i32) unreachable))"#);
    let native = native(&module);
    publish(&native, 0, recursive());
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let f = instance.get_func("rec").unwrap();
    (store, f)
}

#[test]
fn deep_recursion_traps_and_the_store_recovers() {
    let (_store, rec) = recursion_instance(RuntimeConfig::default());
    assert_eq!(rec.call(&[Value::I32(1000)]).unwrap(), [Value::I32(1000)]);
    for _ in 0..5 {
        let trap = rec.call(&[Value::I32(100_000_000)]).unwrap_err();
        assert_eq!(trap.code, TrapCode::StackOverflow);
        assert_eq!(trap.message, "call stack exhausted");
        assert!(trap.backtrace.frames.len() > 100);
        assert_eq!(rec.call(&[Value::I32(100)]).unwrap(), [Value::I32(100)]);
    }
}

#[test]
fn the_wasm_stack_limit_is_configurable() {
    // Each frame is 32 bytes: 3000 frames need ~96 KiB.
    let (_s, small) = recursion_instance(RuntimeConfig {
        max_wasm_stack: 64 << 10,
        ..Default::default()
    });
    let (_t, large) = recursion_instance(RuntimeConfig::default());
    assert_eq!(
        small.call(&[Value::I32(3000)]).unwrap_err().code,
        TrapCode::StackOverflow
    );
    assert_eq!(small.call(&[Value::I32(1000)]).unwrap(), [Value::I32(1000)]);
    assert_eq!(large.call(&[Value::I32(3000)]).unwrap(), [Value::I32(3000)]);
}

const BACKTRACE_WAT: &str = r#"(module
    (import "env" "fail" (func $fail))
    (memory 1)
    (func $inner unreachable)
    (func $outer (export "outer") call $inner)
    (func $calls_host (export "calls_host") call $fail)
    (func $fills (export "fills") (param i32) unreachable)
    (func (export "anonymous") unreachable))"#;

#[test]
fn backtraces_name_functions_and_offsets() {
    let store = Store::new(&Runtime::default());
    let module = module(BACKTRACE_WAT);
    let native = native(&module);
    let body = |f: u32| module.functions[f as usize].body.clone().unwrap().start as u32;
    let (inner_at, outer_at, host_at, fill_at) =
        (body(1) + 1, body(2) + 1, body(3) + 1, body(4) + 3);

    // $inner: unreachable.
    let mut c = Code::new();
    c.prologue();
    c.position(inner_at);
    c.trap_here(TrapCode::Unreachable);
    c.asm.ud2();
    publish(&native, 1, c.finish());
    // $outer: call $inner through its slot.
    let mut c = Code::new();
    c.prologue();
    c.position(outer_at);
    c.asm.call_rel32(0);
    let reloc = c.asm.pc_offset() as u32 - 4;
    c.position(outer_at + 2);
    c.epilogue();
    let mut f = c.finish();
    f.relocations.push(Relocation {
        offset: reloc,
        target: RelocationTarget::Function(1),
        addend: 0,
    });
    publish(&native, 2, f);
    // $calls_host: call the import.
    let import = VMContextLayout::new(&module).imported_function(0) as i32;
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rm(Size::S64, RAX, Mem::base(RDI, import));
    c.asm.mov_rm(Size::S64, RDI, Mem::base(RDI, import + 8));
    c.position(host_at);
    c.asm.call_r(RAX);
    c.epilogue();
    publish(&native, 3, c.finish());
    // $fills: memory.fill(0, x, 1, 1 << 20) through the builtin table: out of bounds.
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rr(Size::S32, RDX, RSI);
    c.asm.xor_rr(Size::S32, RSI, RSI);
    c.asm.mov_ri(Size::S32, RCX, 1);
    c.asm.mov_ri(Size::S32, R8, 1 << 20);
    c.asm.mov_rm(
        Size::S64,
        RAX,
        Mem::base(RDI, VMContextLayout::BUILTINS as i32),
    );
    c.position(fill_at);
    c.asm
        .call_m(Mem::base(RAX, BuiltinId::MemoryFill.table_offset() as i32));
    c.epilogue();
    publish(&native, 4, c.finish());
    // Anonymous: no name, no source positions.
    let mut c = Code::new();
    c.prologue();
    c.trap_here(TrapCode::IntegerDivideByZero);
    c.asm.ud2();
    publish(&native, 5, c.finish());

    let fail = Func::wrap(&store, || -> Result<(), Trap> {
        Err(Trap::host("host says no"))
    });
    let mut imports = Imports::new();
    imports.define("env", "fail", fail);
    let instance = Instance::new(&store, &module, &native, &imports).unwrap();
    let hash8 = &format!("{:016x}", module.hash)[..8];

    let trap = instance.get_func("outer").unwrap().call(&[]).unwrap_err();
    assert_eq!(trap.code, TrapCode::Unreachable);
    let frames: Vec<_> = trap
        .backtrace
        .frames
        .iter()
        .map(|f| (f.func_index, f.wasm_offset))
        .collect();
    assert_eq!(frames, [(1, Some(inner_at)), (2, Some(outer_at))]);
    assert_eq!(
        trap.to_string(),
        format!(
            "unreachable\n    at inner (wasm://wasm/{hash8}:wasm-function[1]:{inner_at:#x})\n    at outer (wasm://wasm/{hash8}:wasm-function[2]:{outer_at:#x})"
        )
    );

    let trap = instance
        .get_func("calls_host")
        .unwrap()
        .call(&[])
        .unwrap_err();
    assert_eq!(trap.message, "host says no");
    assert_eq!(trap.backtrace.frames.len(), 1);
    assert_eq!(
        trap.backtrace.frames[0].func_name.as_deref(),
        Some("calls_host")
    );
    assert_eq!(trap.backtrace.frames[0].wasm_offset, Some(host_at));

    let fills = instance.get_func("fills").unwrap();
    let trap = fills.call(&[Value::I32(100)]).unwrap_err();
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    assert_eq!(trap.backtrace.frames.len(), 1);
    assert_eq!(trap.backtrace.frames[0].func_index, 4);
    assert_eq!(trap.backtrace.frames[0].wasm_offset, Some(fill_at));

    let trap = instance
        .get_func("anonymous")
        .unwrap()
        .call(&[])
        .unwrap_err();
    assert_eq!(trap.code, TrapCode::IntegerDivideByZero);
    assert_eq!(
        trap.backtrace.to_string(),
        format!("    at wasm://wasm/{hash8}:wasm-function[5]:0x0")
    );

    // Nothing was corrupted: a successful call after all that.
    let mut imports = Imports::new();
    imports.define("env", "fail", Func::wrap(&store, || {}));
    let ok = Instance::new(&store, &module, &native, &imports).unwrap();
    let trap = ok
        .get_func("fills")
        .unwrap()
        .call(&[Value::I32(65536)])
        .unwrap_err();
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    assert!(ok.get_func("calls_host").unwrap().call(&[]).is_ok());
}

#[test]
fn a_small_host_stack_caps_the_wasm_stack() {
    // The configured wasm stack (512 KiB) is larger than this thread's whole stack: the limit
    // must follow the real stack, so deep recursion traps instead of crashing.
    let t = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let (_store, rec) = recursion_instance(RuntimeConfig::default());
            let trap = rec.call(&[Value::I32(1_000_000)]).unwrap_err();
            assert_eq!(trap.code, TrapCode::StackOverflow);
            assert_eq!(rec.call(&[Value::I32(500)]).unwrap(), [Value::I32(500)]);
        })
        .unwrap();
    t.join().unwrap();
}

#[test]
fn calling_code_that_was_never_published_traps() {
    let store = Store::new(&Runtime::default());
    let module = module(
        r#"(module (func $caller (export "caller") call $missing) (func $missing unreachable))"#,
    );
    let native = native(&module);
    let mut c = Code::new();
    c.prologue();
    c.asm.call_rel32(0);
    let at = c.asm.pc_offset() as u32 - 4;
    c.epilogue();
    let mut f = c.finish();
    f.relocations.push(Relocation {
        offset: at,
        target: RelocationTarget::Function(1),
        addend: 0,
    });
    publish(&native, 0, f);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let caller = instance.get_func("caller").unwrap();
    for _ in 0..3 {
        let trap = caller.call(&[]).unwrap_err();
        assert_eq!(trap.code, TrapCode::Unreachable);
        assert_eq!(trap.backtrace.frames.len(), 1);
        assert_eq!(
            trap.backtrace.frames[0].func_name.as_deref(),
            Some("caller")
        );
    }
}

#[test]
fn running_into_the_stack_guard_page_is_a_stack_overflow() {
    // A function without a prologue check recurses until it hits the thread's guard page.
    fn unchecked() -> kiln_abi::CompiledFunction {
        let mut c = Code::new();
        c.prologue();
        c.asm.sub_ri(Size::S64, RSP, 48);
        c.asm.call_rel32(0);
        let at = c.asm.pc_offset() as u32 - 4;
        c.epilogue();
        let mut f = c.finish();
        f.relocations.push(Relocation {
            offset: at,
            target: RelocationTarget::Function(0),
            addend: 0,
        });
        f
    }
    let t = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(|| {
            let store = Store::new(&Runtime::default());
            let module = module(r#"(module (func (export "f") unreachable))"#);
            let native = native(&module);
            publish(&native, 0, unchecked());
            let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
            let f = instance.get_func("f").unwrap();
            for _ in 0..3 {
                let trap = f.call(&[]).unwrap_err();
                assert_eq!(trap.code, TrapCode::StackOverflow);
                assert_eq!(trap.backtrace.frames.len(), 256);
            }
        })
        .unwrap();
    t.join().unwrap();
}
