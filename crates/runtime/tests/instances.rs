//! Linking, constant expressions, segments with the spec's bounds semantics, exports, the
//! start function, and canonical signature ids across modules.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::*;
use kiln_abi::{TrapCode, VMContextLayout};
use kiln_assembler_x64::{RAX, Size};
use kiln_decoder::{FuncType, GlobalType, MemoryType, RefType, TableType, ValType};
use kiln_runtime::*;

fn mem_ty(initial: u64, maximum: Option<u64>) -> MemoryType {
    MemoryType {
        memory64: false,
        shared: false,
        initial,
        maximum,
        page_size_log2: None,
    }
}

fn table_ty(initial: u64, maximum: Option<u64>) -> TableType {
    TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        initial,
        maximum,
        shared: false,
    }
}

/// `mov eax, value; ret`.
fn constant(value: i32) -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.asm.mov_ri(Size::S32, RAX, value as i64);
    c.asm.ret();
    c.finish()
}

fn link_error(store: &Store, wat: &str, imports: &Imports) -> String {
    let module = module(wat);
    let native = native(&module);
    match Instance::new(store, &module, &native, imports) {
        Err(InstantiationError::Link(e)) => e.to_string(),
        Err(other) => panic!("expected a link error, got {other}"),
        Ok(_) => panic!("expected a link error"),
    }
}

#[test]
fn link_errors() {
    let store = Store::new(&Runtime::default());
    let mut imports = Imports::new();
    imports.define("env", "f", Func::wrap(&store, |a: i32| a));
    imports.define(
        "env",
        "mem",
        Memory::new(&store, mem_ty(1, Some(2))).unwrap(),
    );
    imports.define(
        "env",
        "nomax",
        Memory::new(&store, mem_ty(1, None)).unwrap(),
    );
    imports.define(
        "env",
        "table",
        Table::new(&store, table_ty(2, Some(5)), Value::FuncRef(None)).unwrap(),
    );
    let g = GlobalType {
        content_type: ValType::I32,
        mutable: false,
        shared: false,
    };
    imports.define("env", "g", Global::new(&store, g, Value::I32(1)).unwrap());

    assert_eq!(
        link_error(
            &store,
            r#"(module (import "env" "missing" (func)))"#,
            &imports
        ),
        r#"unknown import: "env" "missing""#
    );
    assert_eq!(
        link_error(
            &store,
            r#"(module (import "other" "f" (func (param i32) (result i32))))"#,
            &imports
        ),
        r#"unknown import: "other" "f""#
    );
    for wat in [
        // Wrong function type.
        r#"(module (import "env" "f" (func (param i64) (result i32))))"#,
        r#"(module (import "env" "f" (func (param i32))))"#,
        // Wrong kind.
        r#"(module (import "env" "mem" (func)))"#,
        r#"(module (import "env" "f" (memory 1)))"#,
        // Wrong limits.
        r#"(module (import "env" "mem" (memory 2)))"#,
        r#"(module (import "env" "mem" (memory 1 1)))"#,
        r#"(module (import "env" "nomax" (memory 1 10)))"#,
        r#"(module (import "env" "table" (table 3 funcref)))"#,
        r#"(module (import "env" "table" (table 1 4 funcref)))"#,
        r#"(module (import "env" "table" (table 1 externref)))"#,
        // Wrong global type or mutability.
        r#"(module (import "env" "g" (global i64)))"#,
        r#"(module (import "env" "g" (global (mut i32))))"#,
    ] {
        let message = link_error(&store, wat, &imports);
        assert!(
            message.starts_with("incompatible import type"),
            "{wat}: {message}"
        );
    }
    // The matching imports link.
    let module = module(
        r#"(module (import "env" "f" (func (param i32) (result i32))) (import "env" "mem" (memory 1 2))
            (import "env" "nomax" (memory 0)) (import "env" "table" (table 1 6 funcref))
            (import "env" "g" (global i32)))"#,
    );
    let native = native(&module);
    Instance::new(&store, &module, &native, &imports).unwrap();
}

#[test]
fn globals_constant_expressions_and_sharing() {
    let store = Store::new(&Runtime::default());
    let a_mod = module(
        r#"(module
            (import "env" "base" (global $base i32))
            (global $sum (export "sum") i32 (i32.add (global.get $base) (i32.mul (i32.const 10) (i32.const 3))))
            (global $wide (export "wide") i64 (i64.sub (i64.const 5) (i64.const 7)))
            (global $counter (export "counter") (mut i32) (i32.const 0))
            (global $f (export "fref") funcref (ref.func $seven))
            (global $null (export "null") funcref (ref.null func))
            (global $pi (export "pi") f64 (f64.const 3.5))
            (func $seven (export "seven") (result i32) unreachable))"#,
    );
    let a_native = native(&a_mod);
    publish(&a_native, 0, constant(7));
    let mut imports = Imports::new();
    let g = GlobalType {
        content_type: ValType::I32,
        mutable: false,
        shared: false,
    };
    imports.define(
        "env",
        "base",
        Global::new(&store, g, Value::I32(12)).unwrap(),
    );
    let a = Instance::new(&store, &a_mod, &a_native, &imports).unwrap();
    assert_eq!(a.get_global("sum").unwrap().get(), Value::I32(42));
    assert_eq!(a.get_global("wide").unwrap().get(), Value::I64(-2));
    assert_eq!(a.get_global("pi").unwrap().get().as_f64(), Some(3.5));
    assert_eq!(a.get_global("null").unwrap().get(), Value::FuncRef(None));
    let Value::FuncRef(Some(f)) = a.get_global("fref").unwrap().get() else {
        panic!("ref.func is not null")
    };
    assert_eq!(f.call(&[]).unwrap(), [Value::I32(7)]);
    assert_eq!(f.as_raw(), a.get_func("seven").unwrap().as_raw());
    assert!(a.get_global("sum").unwrap().set(Value::I32(1)).is_err());

    // B imports A's mutable global: both see one storage.
    let b_mod =
        module(r#"(module (import "a" "counter" (global $c (mut i32))) (export "c" (global $c)))"#);
    let b_native = native(&b_mod);
    let counter = a.get_global("counter").unwrap();
    counter.set(Value::I32(5)).unwrap();
    let mut imports = Imports::new();
    imports.define_instance("a", &a);
    let b = Instance::new(&store, &b_mod, &b_native, &imports).unwrap();
    assert_eq!(b.get_global("c").unwrap().get(), Value::I32(5));
    b.get_global("c").unwrap().set(Value::I32(99)).unwrap();
    assert_eq!(counter.get(), Value::I32(99));
    assert!(counter.set(Value::I64(1)).is_err());
}

#[test]
fn segments_apply_in_order_and_stop_at_the_first_failure() {
    let store = Store::new(&Runtime::default());
    let memory = Memory::new(&store, mem_ty(1, None)).unwrap();
    let table = Table::new(&store, table_ty(4, None), Value::FuncRef(None)).unwrap();
    let mut imports = Imports::new();
    imports.define("env", "mem", memory.clone());
    imports.define("env", "table", table.clone());

    // Elements: the first segment lands, the second is out of bounds; no data is written.
    let m = module(
        r#"(module (import "env" "mem" (memory 1)) (import "env" "table" (table 4 funcref))
            (func $one (result i32) unreachable)
            (elem (i32.const 1) $one $one)
            (elem (i32.const 3) $one $one)
            (data (i32.const 0) "never"))"#,
    );
    let n = native(&m);
    publish(&n, 0, constant(1));
    let Err(InstantiationError::Trap(trap)) = Instance::new(&store, &m, &n, &imports) else {
        panic!("element segment out of bounds")
    };
    assert_eq!(trap.message, "out of bounds table access");
    let Some(Value::FuncRef(Some(one))) = table.get(2) else {
        panic!("the first segment stays applied")
    };
    assert_eq!(one.call(&[]).unwrap(), [Value::I32(1)]);
    assert_eq!(table.get(3), Some(Value::FuncRef(None)));
    let mut buf = [0u8; 5];
    memory.read(0, &mut buf).unwrap();
    assert_eq!(buf, [0; 5]);

    // Data: the first segment lands, the second straddles the end and writes nothing.
    let m = module(
        r#"(module (import "env" "mem" (memory 1))
            (data (i32.const 10) "first")
            (data (i32.const 65534) "xyz")
            (data (i32.const 20) "third"))"#,
    );
    let n = native(&m);
    let Err(InstantiationError::Trap(trap)) = Instance::new(&store, &m, &n, &imports) else {
        panic!("data segment out of bounds")
    };
    assert_eq!(trap.code, TrapCode::MemoryOutOfBounds);
    assert_eq!(trap.message, "out of bounds memory access");
    memory.read(10, &mut buf).unwrap();
    assert_eq!(&buf, b"first");
    memory.read(20, &mut buf).unwrap();
    assert_eq!(buf, [0; 5]);
    memory.read(65531, &mut buf).unwrap();
    assert_eq!(buf, [0; 5]);

    // An empty segment exactly at the end is fine; one past the end traps.
    let ok = module(r#"(module (memory 1) (data (i32.const 65536) ""))"#);
    Instance::new(&store, &ok, &native(&ok), &Imports::new()).unwrap();
    let bad = module(r#"(module (memory 1) (data (i32.const 65537) ""))"#);
    assert!(matches!(
        Instance::new(&store, &bad, &native(&bad), &Imports::new()),
        Err(InstantiationError::Trap(_))
    ));
}

#[test]
fn start_function_and_table_exports() {
    let store = Store::new(&Runtime::default());
    let runs = Rc::new(Cell::new(0));
    let r = runs.clone();
    let mut imports = Imports::new();
    imports.define(
        "env",
        "tick",
        Func::wrap(&store, move || r.set(r.get() + 1)),
    );
    let m = module(
        r#"(module (import "env" "tick" (func $tick)) (start $tick)
            (table (export "t") 2 10 funcref)
            (func $f (export "f") (result i32) unreachable)
            (elem (i32.const 0) func $f))"#,
    );
    let n = native(&m);
    publish(&n, 1, constant(11));
    let instance = Instance::new(&store, &m, &n, &imports).unwrap();
    assert_eq!(runs.get(), 1);
    let t = instance.get_table("t").unwrap();
    assert_eq!(t.size(), 2);
    assert_eq!(t.grow(3, Value::FuncRef(None)), Some(2));
    assert_eq!(t.grow(6, Value::FuncRef(None)), None);
    let Some(Value::FuncRef(Some(f))) = t.get(0) else {
        panic!()
    };
    assert_eq!(f.call(&[]).unwrap(), [Value::I32(11)]);
    t.set(4, Value::FuncRef(Some(f.clone()))).unwrap();
    assert!(t.set(5, Value::FuncRef(None)).is_err());
    assert_eq!(t.get(4), Some(Value::FuncRef(Some(f))));
}

#[test]
fn signature_ids_are_canonical_across_modules() {
    let runtime = Runtime::default();
    let store = Store::new(&runtime);
    let a = module(r#"(module (type (func (param i32))) (type (func (result f64))))"#);
    let b =
        module(r#"(module (type (func (result f64))) (type (func)) (type (func (param i32))))"#);
    let ia = Instance::new(&store, &a, &native(&a), &Imports::new()).unwrap();
    let ib = Instance::new(&store, &b, &native(&b), &Imports::new()).unwrap();
    let id = |i: &Instance, m: &kiln_decoder::Module, t: u32| {
        let off = VMContextLayout::new(m).signature_id(t) as usize;
        // SAFETY: the offset is inside the instance's VMContext.
        unsafe { *(i.vmctx().add(off) as *const u32) }
    };
    assert_eq!(id(&ia, &a, 0), id(&ib, &b, 2));
    assert_eq!(id(&ia, &a, 1), id(&ib, &b, 0));
    assert_ne!(id(&ia, &a, 0), id(&ia, &a, 1));
    assert_eq!(
        id(&ia, &a, 1),
        runtime
            .signatures()
            .register(&FuncType::new([], [ValType::F64]))
    );
    // SAFETY: the header is inside every VMContext.
    let magic = unsafe { *(ia.vmctx() as *const u32) };
    assert_eq!(magic, VMContextLayout::MAGIC_VALUE);
}

#[test]
fn references_do_not_cross_stores() {
    let a = Store::new(&Runtime::default());
    let b = Store::new(&Runtime::default());
    let f = Func::wrap(&a, |x: i32| x);
    let table = Table::new(&b, table_ty(1, None), Value::FuncRef(None)).unwrap();
    assert!(table.set(0, Value::FuncRef(Some(f.clone()))).is_err());
    assert!(table.set(0, Value::ExternRef(1)).is_err());
    assert!(Table::new(&b, table_ty(1, None), Value::FuncRef(Some(f.clone()))).is_err());
    let takes_ref = Func::wrap(&b, |_: i32| {});
    assert!(takes_ref.call(&[Value::FuncRef(Some(f.clone()))]).is_err());
    // A function of another store does not link either.
    let module = module(r#"(module (import "env" "f" (func (param i32) (result i32))))"#);
    let mut imports = Imports::new();
    imports.define("env", "f", f.clone());
    assert!(matches!(
        Instance::new(&b, &module, &native(&module), &imports),
        Err(InstantiationError::Link(
            LinkError::IncompatibleImportType { .. }
        ))
    ));
    // Within the store everything is accepted.
    let own = Table::new(&a, table_ty(1, None), Value::FuncRef(None)).unwrap();
    own.set(0, Value::FuncRef(Some(f.clone()))).unwrap();
    let Some(Value::FuncRef(Some(g))) = own.get(0) else {
        panic!()
    };
    assert_eq!(g.call(&[Value::I32(5)]).unwrap(), [Value::I32(5)]);
}
