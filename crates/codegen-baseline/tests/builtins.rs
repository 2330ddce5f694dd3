//! Bulk memory and table operators call builtins with their immediates and operands in the
//! documented order, keep values live across the call, and zero-extend i32 operands.

mod common;
use common::*;
use kiln_abi::BuiltinId;

#[test]
fn bulk_operators_pass_their_operands_in_order() {
    let inst = instantiate(
        r#"(module
        (memory 1)
        (table $t0 1 funcref)
        (table $t1 2 funcref)
        (data $d "abc")
        (elem $e func $f)
        (func $f)
        (func (export "run") (param i32 i64) (result i64)
          (memory.copy (i32.const 1) (local.get 0) (i32.const 3))
          (memory.fill (i32.const -1) (i32.const 0xab) (i32.const 5))
          (memory.init $d (i32.const 7) (i32.const 8) (i32.const 9))
          (data.drop $d)
          (table.fill $t1 (i32.const 1) (ref.null func) (i32.const 1))
          (table.copy $t1 $t0 (i32.const 0) (i32.const 0) (i32.const 1))
          (table.init $t1 $e (i32.const 1) (i32.const 0) (i32.const 1))
          (elem.drop $e)
          (i64.add (local.get 1)
            (i64.extend_i32_u (table.grow $t0 (ref.null func) (local.get 0))))))"#,
    );
    BUILTIN_CALLS.lock().unwrap().clear();
    let _s = scope();
    // SAFETY: (i32, i64) -> i64.
    let f: extern "sysv64" fn(*mut u8, i32, i64) -> i64 = unsafe { inst.get("run") };
    assert_eq!(f(inst.vmctx_ptr(), 42, 1000), 1077);
    let calls = BUILTIN_CALLS.lock().unwrap().clone();
    let expected: Vec<(BuiltinId, Vec<u64>)> = vec![
        (BuiltinId::MemoryCopy, vec![0, 0, 1, 42, 3]),
        (BuiltinId::MemoryFill, vec![0, 0xffff_ffff, 0xab, 5]),
        (BuiltinId::MemoryInit, vec![0, 0, 7, 8, 9]),
        (BuiltinId::DataDrop, vec![0]),
        (BuiltinId::TableFill, vec![1, 1, 0, 1]),
        (BuiltinId::TableCopy, vec![1, 0, 0, 0, 1]),
        (BuiltinId::TableInit, vec![1, 0, 1, 0, 1]),
        (BuiltinId::ElemDrop, vec![0]),
        (BuiltinId::TableGrow, vec![0, 0, 42]),
    ];
    assert_eq!(calls, expected);
}

#[test]
fn i32_parameters_ignore_the_upper_half_of_their_register() {
    let inst = instantiate(
        r#"(module
        (memory 1)
        (func (export "ext") (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
        (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#,
    );
    let _s = scope();
    // SAFETY: an i32 parameter passed in a 64-bit register with garbage above bit 31, as a
    // caller is allowed to.
    unsafe {
        let f: extern "sysv64" fn(*mut u8, i64) -> i64 = inst.get("ext");
        assert_eq!(f(inst.vmctx_ptr(), 0x7777_0000_0000_0005), 5);
        let g: extern "sysv64" fn(*mut u8, i64) -> i32 = inst.get("load");
        assert_eq!(g(inst.vmctx_ptr(), 0x7fff_ffff_0000_0000), 0);
    }
}
