//! Control flow, calls, memory, globals and tables, executed.

mod common;
use common::*;

type V = *mut u8;

#[test]
fn nested_blocks_if_else_and_br_if() {
    let inst = instantiate(
        r#"(module
        (func (export "classify") (param i32) (result i32)
          (block $out (result i32)
            (block $neg
              (br_if $neg (i32.lt_s (local.get 0) (i32.const 0)))
              (if (result i32) (i32.eqz (local.get 0))
                (then (i32.const 100))
                (else (br $out (i32.const 200))))
              (br $out))
            (i32.const 300)))
        (func (export "abs") (param i32) (result i32)
          (if (i32.lt_s (local.get 0) (i32.const 0))
            (then (local.set 0 (i32.sub (i32.const 0) (local.get 0)))))
          (local.get 0)))"#,
    );
    let _s = scope();
    // SAFETY: (i32) -> i32.
    let f: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("classify") };
    assert_eq!(f(inst.vmctx_ptr(), -5), 300);
    assert_eq!(f(inst.vmctx_ptr(), 0), 100);
    assert_eq!(f(inst.vmctx_ptr(), 9), 200);
    // SAFETY: (i32) -> i32.
    let abs: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("abs") };
    assert_eq!(abs(inst.vmctx_ptr(), -5), 5);
    assert_eq!(abs(inst.vmctx_ptr(), 7), 7);
}

#[test]
fn loops_with_locals_in_registers_and_slots() {
    let inst = instantiate(
        r#"(module
        (func (export "sum") (param i32) (result i64) (local i64 i32 f64)
          (loop $l
            (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
            (local.set 3 (f64.add (local.get 3) (f64.const 0.5)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $l (local.get 0)))
          (i64.add (local.get 1) (i64.trunc_f64_s (local.get 3))))
        (func (export "fact") (param i64) (result i64) (local i64)
          (local.set 1 (i64.const 1))
          (block $done
            (loop $l
              (br_if $done (i64.eqz (local.get 0)))
              (local.set 1 (i64.mul (local.get 1) (local.get 0)))
              (local.set 0 (i64.sub (local.get 0) (i64.const 1)))
              (br $l)))
          (local.get 1)))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i32) -> i64 = inst.get("sum");
        assert_eq!(f(inst.vmctx_ptr(), 10), 55 + 5);
        let g: extern "sysv64" fn(V, i64) -> i64 = inst.get("fact");
        assert_eq!(g(inst.vmctx_ptr(), 20), 2432902008176640000);
    }
}

#[test]
fn br_table_picks_targets_and_default() {
    let inst = instantiate(
        r#"(module
        (func (export "switch") (param i32) (result i32)
          (block $d (block $c (block $b (block $a
            (br_table $a $b $c $a $d (local.get 0)))
            (return (i32.const 10)))
            (return (i32.const 20)))
            (return (i32.const 30)))
          (i32.const 40))
        (func (export "carry") (param i32) (result i32)
          (block $x (result i32) (block $y (result i32)
            (i32.const 7) (local.get 0) (br_table $x $y $x))
            (i32.const 100) (i32.add))))"#,
    );
    let _s = scope();
    // SAFETY: (i32) -> i32.
    let f: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("switch") };
    let got: Vec<i32> = [0, 1, 2, 3, 4, -1]
        .iter()
        .map(|&i| f(inst.vmctx_ptr(), i))
        .collect();
    // Targets $a $b $c $a, default $d.
    assert_eq!(got, [10, 20, 30, 10, 40, 40]);
    // SAFETY: (i32) -> i32.
    let g: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("carry") };
    assert_eq!(g(inst.vmctx_ptr(), 0), 7);
    assert_eq!(g(inst.vmctx_ptr(), 1), 107);
    assert_eq!(g(inst.vmctx_ptr(), 9), 7);
}

#[test]
fn multi_value_blocks_and_functions() {
    let inst = instantiate(
        r#"(module
        (func $divmod (param i32 i32) (result i32 i32)
          (i32.div_u (local.get 0) (local.get 1)) (i32.rem_u (local.get 0) (local.get 1)))
        (func $many (param i64) (result i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
          (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
          (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.add (local.get 0) (i64.const 9)))
        (func (export "use_divmod") (param i32 i32) (result i32)
          (call $divmod (local.get 0) (local.get 1)) (i32.const 1000) (i32.mul) (i32.add))
        (func (export "swap_block") (param i32 i32) (result i32)
          (local.get 0) (local.get 1)
          (block (param i32 i32) (result i32 i32) (local.set 0) (local.set 1) (local.get 0) (local.get 1))
          (i32.sub))
        (func (export "use_many") (param i64) (result i64)
          (call $many (local.get 0))
          (i64.mul (i64.const 1000)) (i64.add) (i64.add) (i64.add) (i64.add) (i64.add)
          (i64.add) (i64.add) (i64.add) (i64.add)))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i32, i32) -> i32 = inst.get("use_divmod");
        assert_eq!(f(inst.vmctx_ptr(), 47, 10), 7004);
        let g: extern "sysv64" fn(V, i32, i32) -> i32 = inst.get("swap_block");
        assert_eq!(g(inst.vmctx_ptr(), 10, 3), -7);
        let h: extern "sysv64" fn(V, i64) -> i64 = inst.get("use_many");
        assert_eq!(
            h(inst.vmctx_ptr(), 5),
            5 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 14 * 1000
        );
    }
}

#[test]
fn recursive_fib_through_the_jump_table() {
    let inst = instantiate(
        r#"(module
        (func $fib (export "fib") (param i32) (result i32)
          (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
            (then (local.get 0))
            (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                           (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    let f = inst.compiled_export("fib");
    assert_eq!(f.relocations.len(), 2);
    assert!(
        f.relocations
            .iter()
            .all(|r| r.target == kiln_abi::RelocationTarget::Function(0))
    );
    let _s = scope();
    // SAFETY: (i32) -> i32.
    let fib: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("fib") };
    assert_eq!(fib(inst.vmctx_ptr(), 20), 6765);
}

#[test]
fn calls_with_stack_arguments_and_mixed_types() {
    let inst = instantiate(
        r#"(module
        (func $wide (param i32 i64 f64 i32 i64 i32 i64 f32 i32 i64 f64) (result f64)
          (f64.add
            (f64.convert_i64_s
              (i64.add (i64.add (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1))
                                (i64.add (i64.extend_i32_s (local.get 3)) (local.get 4)))
                       (i64.add (i64.add (i64.extend_i32_s (local.get 5)) (local.get 6))
                                (i64.add (i64.extend_i32_s (local.get 8)) (local.get 9)))))
            (f64.add (f64.add (local.get 2) (f64.promote_f32 (local.get 7))) (local.get 10))))
        (func (export "call_wide") (param i32) (result f64)
          (call $wide (local.get 0) (i64.const 2) (f64.const 0.5) (i32.const 4) (i64.const 5)
                      (i32.const 6) (i64.const 7) (f32.const 0.25) (i32.const -9) (i64.const 10)
                      (f64.const 100))))"#,
    );
    let _s = scope();
    // SAFETY: (i32) -> f64.
    let f: extern "sysv64" fn(V, i32) -> f64 = unsafe { inst.get("call_wide") };
    assert_eq!(
        f(inst.vmctx_ptr(), 1),
        (1 + 2 + 4 + 5 + 6 + 7 - 9 + 10) as f64 + 100.75
    );
}

#[test]
fn values_survive_calls_and_register_pressure() {
    let inst = instantiate(
        r#"(module
        (func $id (param i32) (result i32) (local.get 0))
        (func (export "pressure") (param i32) (result i32)
          (local.get 0) (i32.const 1) (i32.add)
          (local.get 0) (i32.const 2) (i32.add)
          (local.get 0) (i32.const 3) (i32.add)
          (local.get 0) (i32.const 4) (i32.add)
          (local.get 0) (i32.const 5) (i32.add)
          (local.get 0) (i32.const 6) (i32.add)
          (local.get 0) (i32.const 7) (i32.add)
          (local.get 0) (i32.const 8) (i32.add)
          (local.get 0) (i32.const 9) (i32.add)
          (local.get 0) (i32.const 10) (i32.add)
          (call $id (local.get 0))
          (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)
          (i32.add) (i32.add) (i32.add) (i32.add) (i32.add)))"#,
    );
    let _s = scope();
    // SAFETY: (i32) -> i32.
    let f: extern "sysv64" fn(V, i32) -> i32 = unsafe { inst.get("pressure") };
    assert_eq!(f(inst.vmctx_ptr(), 100), 11 * 100 + 55);
}

#[test]
fn select_and_drop() {
    let inst = instantiate(
        r#"(module
        (func (export "sel") (param i32 i64 i64) (result i64)
          (select (local.get 1) (local.get 2) (local.get 0)))
        (func (export "fsel") (param f64 f64 i32) (result f64)
          (i32.const 5) (drop)
          (select (local.get 0) (local.get 1) (local.get 2))))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i32, i64, i64) -> i64 = inst.get("sel");
        assert_eq!(f(inst.vmctx_ptr(), 1, -3, 4), -3);
        assert_eq!(f(inst.vmctx_ptr(), 0, -3, 4), 4);
        let g: extern "sysv64" fn(V, f64, f64, i32) -> f64 = inst.get("fsel");
        assert_eq!(g(inst.vmctx_ptr(), 1.5, 2.5, 7), 1.5);
        assert_eq!(g(inst.vmctx_ptr(), 1.5, 2.5, 0), 2.5);
    }
}

const MEMORY: &str = r#"(module
  (memory 1)
  (data (i32.const 16) "\01\02\03\04\05\06\07\08\f0\ff\ff\ff\ff\ff\ff\ff")
  (func (export "load8_s") (param i32) (result i32) (i32.load8_s offset=8 (local.get 0)))
  (func (export "load8_u") (param i32) (result i32) (i32.load8_u offset=8 (local.get 0)))
  (func (export "load16_s") (param i32) (result i32) (i32.load16_s (local.get 0)))
  (func (export "load16_u") (param i32) (result i32) (i32.load16_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "l64_8s") (param i32) (result i64) (i64.load8_s (local.get 0)))
  (func (export "l64_16u") (param i32) (result i64) (i64.load16_u (local.get 0)))
  (func (export "l64_32s") (param i32) (result i64) (i64.load32_s (local.get 0)))
  (func (export "l64_32u") (param i32) (result i64) (i64.load32_u (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "const_addr") (result i64) (i64.load (i32.const 16)))
  (func (export "store_all") (param i32 i64)
    (i64.store (local.get 0) (local.get 1))
    (i32.store offset=8 (local.get 0) (i32.wrap_i64 (local.get 1)))
    (i64.store16 offset=12 (local.get 0) (local.get 1))
    (i32.store8 offset=14 (local.get 0) (i32.const 0x1ab))
    (f64.store offset=16 (local.get 0) (f64.const 2.5))
    (f32.store offset=24 (local.get 0) (f32.const -1))
    (i64.store32 offset=28 (local.get 0) (i64.const -1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn check_memory(inst: &Instance) {
    let _s = scope();
    let v = inst.vmctx_ptr();
    // SAFETY: the signatures match the exports.
    unsafe {
        let i32f = |n| -> extern "sysv64" fn(V, i32) -> i32 { inst.get(n) };
        let i64f = |n| -> extern "sysv64" fn(V, i32) -> i64 { inst.get(n) };
        assert_eq!(i32f("load8_s")(v, 16), -16);
        assert_eq!(i32f("load8_u")(v, 16), 0xf0);
        assert_eq!(i32f("load16_s")(v, 24), -16);
        assert_eq!(i32f("load16_u")(v, 24), 0xfff0);
        assert_eq!(i32f("load32")(v, 16), 0x04030201);
        assert_eq!(i64f("l64_8s")(v, 24), -16);
        assert_eq!(i64f("l64_16u")(v, 24), 0xfff0);
        assert_eq!(i64f("l64_32s")(v, 24), -16);
        assert_eq!(i64f("l64_32u")(v, 24), 0xffff_fff0);
        assert_eq!(i64f("load64")(v, 16), 0x0807060504030201);
        let c: extern "sysv64" fn(V) -> i64 = inst.get("const_addr");
        assert_eq!(c(v), 0x0807060504030201);
        let st: extern "sysv64" fn(V, i32, i64) = inst.get("store_all");
        st(v, 1000, 0x1122_3344_5566_7788);
        let m = &inst.memory;
        assert_eq!(&m[1000..1008], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(&m[1008..1012], &0x5566_7788u32.to_le_bytes());
        assert_eq!(&m[1012..1015], &[0x88, 0x77, 0xab]);
        assert_eq!(&m[1016..1024], &2.5f64.to_le_bytes());
        assert_eq!(&m[1024..1028], &(-1f32).to_le_bytes());
        assert_eq!(&m[1028..1032], &[0xff; 4]);
        assert_eq!(m[1032], 0);
        let size: extern "sysv64" fn(V) -> i32 = inst.get("size");
        let grow: extern "sysv64" fn(V, i32) -> i32 = inst.get("grow");
        assert_eq!(size(v), 1);
        assert_eq!(grow(v, 2), 1);
        assert_eq!(size(v), 3);
        assert_eq!(grow(v, MEMORY_PAGES as i32), -1);
    }
}

#[test]
fn memory_accesses_of_every_width_in_guard_mode() {
    check_memory(&instantiate(MEMORY));
}

#[test]
fn memory_accesses_of_every_width_with_explicit_checks() {
    let inst = instantiate_with(MEMORY, &explicit());
    check_memory(&inst);
    let f = inst.compiled_export("load32");
    assert!(
        f.trap_sites
            .iter()
            .any(|t| t.trap == kiln_abi::TrapCode::MemoryOutOfBounds)
    );
}

#[test]
fn globals_read_and_write() {
    let inst = instantiate(
        r#"(module
        (global $g (mut i64) (i64.const 40))
        (global $f (mut f32) (f32.const 1.5))
        (func (export "bump") (param i64) (result i64)
          (global.set $g (i64.add (global.get $g) (local.get 0)))
          (global.get $g))
        (func (export "fbump") (result f32)
          (global.set $f (f32.mul (global.get $f) (f32.const 2)))
          (global.get $f)))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i64) -> i64 = inst.get("bump");
        assert_eq!(f(inst.vmctx_ptr(), 2), 42);
        assert_eq!(f(inst.vmctx_ptr(), 8), 50);
        let g: extern "sysv64" fn(V) -> f32 = inst.get("fbump");
        assert_eq!(g(inst.vmctx_ptr()), 3.0);
        assert_eq!(g(inst.vmctx_ptr()), 6.0);
    }
}

#[test]
fn call_indirect_and_table_ops() {
    let inst = instantiate(
        r#"(module
        (type $bin (func (param i32 i32) (result i32)))
        (table $t 4 funcref)
        (elem (table $t) (i32.const 0) func $add $sub)
        (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
        (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
        (func (export "dispatch") (param i32 i32 i32) (result i32)
          (call_indirect (type $bin) (local.get 1) (local.get 2) (local.get 0)))
        (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
        (func (export "copy") (param i32 i32) (table.set $t (local.get 1) (table.get $t (local.get 0))))
        (func (export "size") (result i32) (table.size $t))
        (func (export "set_func") (param i32) (table.set $t (local.get 0) (ref.func $sub))))"#,
    );
    let _s = scope();
    let v = inst.vmctx_ptr();
    // SAFETY: the signatures match the exports.
    unsafe {
        let d: extern "sysv64" fn(V, i32, i32, i32) -> i32 = inst.get("dispatch");
        assert_eq!(d(v, 0, 7, 5), 12);
        assert_eq!(d(v, 1, 7, 5), 2);
        let is_null: extern "sysv64" fn(V, i32) -> i32 = inst.get("is_null");
        assert_eq!(is_null(v, 1), 0);
        assert_eq!(is_null(v, 2), 1);
        let copy: extern "sysv64" fn(V, i32, i32) = inst.get("copy");
        copy(v, 0, 3);
        assert_eq!(d(v, 3, 7, 5), 12);
        let set: extern "sysv64" fn(V, i32) = inst.get("set_func");
        set(v, 3);
        assert_eq!(d(v, 3, 7, 5), 2);
        let size: extern "sysv64" fn(V) -> i32 = inst.get("size");
        assert_eq!(size(v), 4);
    }
    let traps: Vec<_> = inst
        .compiled_export("dispatch")
        .trap_sites
        .iter()
        .map(|t| t.trap)
        .collect();
    for t in [
        kiln_abi::TrapCode::UndefinedElement,
        kiln_abi::TrapCode::IndirectCallToNull,
        kiln_abi::TrapCode::BadSignature,
    ] {
        assert!(traps.contains(&t), "{t:?} missing from {traps:?}");
    }
}

#[test]
fn tier_up_budget_calls_the_builtin_and_preserves_values() {
    let opts = kiln_codegen_baseline::CompileOptions {
        tier_up: true,
        ..options()
    };
    let inst = instantiate_with(
        r#"(module
        (func (export "spin") (param i32 f64) (result f64) (local f64)
          (loop $l
            (local.set 2 (f64.add (local.get 2) (local.get 1)))
            (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_if $l))
          (local.get 2)))"#,
        &opts,
    );
    let _s = scope();
    let before = TIER_UP_CALLS.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: (i32, f64) -> f64.
    let f: extern "sysv64" fn(V, i32, f64) -> f64 = unsafe { inst.get("spin") };
    assert_eq!(f(inst.vmctx_ptr(), 1000, 0.5), 500.0);
    let after = TIER_UP_CALLS.load(std::sync::atomic::Ordering::SeqCst);
    assert!(after > before, "budget of 1000 spent by 1000 iterations");
}

extern "sysv64" fn host_scale(vmctx: *mut u8, x: i64, y: f64) -> f64 {
    assert!(!vmctx.is_null());
    x as f64 * y
}

#[test]
fn imported_functions_are_called_through_their_import_record() {
    let inst = instantiate_with_imports(
        r#"(module
        (import "env" "scale" (func $scale (param i64 f64) (result f64)))
        (func (export "twice") (param i64) (result f64)
          (f64.add (call $scale (local.get 0) (f64.const 1.5))
                   (call $scale (i64.const 2) (f64.const 0.25)))))"#,
        &options(),
        &[host_scale as *const () as usize],
    );
    let _s = scope();
    // SAFETY: (i64) -> f64.
    let f: extern "sysv64" fn(V, i64) -> f64 = unsafe { inst.get("twice") };
    assert_eq!(f(inst.vmctx_ptr(), 4), 6.5);
    assert!(inst.compiled_export("twice").relocations.is_empty());
}

#[test]
fn float_values_across_merges_calls_and_stack_arguments() {
    let inst = instantiate(
        r#"(module
        (func $ten (param f64 f32 f64 f32 f64 f32 f64 f32 f64 f32) (result f64 f32)
          (f64.add (f64.add (f64.add (local.get 0) (local.get 2)) (f64.add (local.get 4) (local.get 6)))
                   (local.get 8))
          (f32.add (f32.add (f32.add (local.get 1) (local.get 3)) (f32.add (local.get 5) (local.get 7)))
                   (local.get 9)))
        (func (export "run") (param f64 i32) (result f64) (local f64 f32)
          (block $done
            (loop $l
              (br_if $done (i32.eqz (local.get 1)))
              (call $ten (local.get 0) (f32.const 1) (f64.const 2) (f32.const 3) (f64.const 4)
                         (f32.const 5) (f64.const 6) (f32.const 7) (f64.const 8) (f32.const 9))
              (local.set 3 (f32.add (local.get 3)))
              (local.set 2 (f64.add (local.get 2)))
              (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
              (br $l)))
          (f64.add (local.get 2) (f64.promote_f32 (local.get 3)))))"#,
    );
    let _s = scope();
    // SAFETY: (f64, i32) -> f64.
    let f: extern "sysv64" fn(V, f64, i32) -> f64 = unsafe { inst.get("run") };
    // Each iteration adds x + 20 to the f64 and 25 to the f32.
    assert_eq!(f(inst.vmctx_ptr(), 0.5, 3), 3.0 * 20.5 + 75.0);
}

#[test]
fn br_if_with_values_and_loops_with_parameters() {
    let inst = instantiate(
        r#"(module
        (func (export "pick") (param i32 i64) (result i64)
          (block $b (result i64)
            (br_if $b (local.get 1) (local.get 0))
            (drop)
            (i64.const 22)))
        (func (export "sum") (param i32) (result i32)
          (i32.const 0) (local.get 0)
          (loop $l (param i32 i32) (result i32)
            (local.set 0)
            (i32.add (local.get 0))
            (i32.sub (local.get 0) (i32.const 1))
            (local.tee 0)
            (br_if $l (local.get 0))
            (drop))))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i32, i64) -> i64 = inst.get("pick");
        assert_eq!(f(inst.vmctx_ptr(), 1, 5), 5);
        assert_eq!(f(inst.vmctx_ptr(), 0, 5), 22);
        let g: extern "sysv64" fn(V, i32) -> i32 = inst.get("sum");
        assert_eq!(g(inst.vmctx_ptr(), 100), 5050);
    }
}

#[test]
fn imported_memories_globals_and_tables_are_reached_through_pointers() {
    let inst = instantiate(
        r#"(module
        (import "env" "mem" (memory 1))
        (import "env" "g" (global $g (mut i64)))
        (import "env" "t" (table $t 2 funcref))
        (func $seven (result i32) (i32.const 7))
        (elem (table $t) (i32.const 1) func $seven)
        (func (export "run") (param i32) (result i64)
          (i64.store offset=8 (local.get 0) (i64.const 0x55))
          (global.set $g (i64.add (global.get $g) (i64.load offset=8 (local.get 0))))
          (global.get $g)
          (i64.extend_i32_u (call_indirect (result i32) (i32.const 1)))
          (i64.add)
          (i64.extend_i32_u (memory.size))
          (i64.add)
          (i64.extend_i32_u (table.size $t))
          (i64.add)))"#,
    );
    let _s = scope();
    // SAFETY: (i32) -> i64.
    let f: extern "sysv64" fn(V, i32) -> i64 = unsafe { inst.get("run") };
    assert_eq!(f(inst.vmctx_ptr(), 100), 0x55 + 7 + 1 + 2);
    assert_eq!(f(inst.vmctx_ptr(), 100), 2 * 0x55 + 7 + 1 + 2);
    assert_eq!(inst.memory[108], 0x55);
}

#[test]
fn declared_locals_read_zero_over_a_dirty_stack() {
    // `dirty` leaves its parameter in the slots of 24 locals (the call spills them); `clean5`
    // and `clean20` then run in the same stack memory and read their declared locals before
    // writing them: 5 locals take the unrolled zeroing path, 20 the loop.
    let sets: String = (1..=24)
        .map(|i| format!("(local.set {i} (local.get 0))"))
        .collect();
    let ors = |n: usize| -> String {
        (0..n).fold("(i64.const 0)".to_string(), |acc, i| {
            let read = match i % 4 {
                0 => format!("(local.get {i})"),
                1 => format!("(i64.extend_i32_u (local.get {i}))"),
                2 => format!("(i64.reinterpret_f64 (local.get {i}))"),
                _ => format!("(i64.extend_i32_u (i32.reinterpret_f32 (local.get {i})))"),
            };
            format!("(i64.or {acc} {read})")
        })
    };
    let kinds = |n: usize| -> String {
        (0..n)
            .map(|i| ["i64", "i32", "f64", "f32"][i % 4])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let inst = instantiate(&format!(
        r#"(module
        (func $nop)
        (func $dirty (param i64) (result i64) (local {dirty_locals})
          {sets} (call $nop) (local.get 24))
        (func $clean5 (result i64) (local {k5}) {or5})
        (func $clean20 (result i64) (local {k20}) {or20})
        (func (export "run5") (param i64) (result i64)
          (drop (call $dirty (local.get 0))) (call $clean5))
        (func (export "run20") (param i64) (result i64)
          (drop (call $dirty (local.get 0))) (call $clean20)))"#,
        dirty_locals = vec!["i64"; 24].join(" "),
        k5 = kinds(5),
        or5 = ors(5),
        k20 = kinds(20),
        or20 = ors(20),
    ));
    let _s = scope();
    // SAFETY: (i64) -> i64.
    unsafe {
        let run5: extern "sysv64" fn(V, i64) -> i64 = inst.get("run5");
        let run20: extern "sysv64" fn(V, i64) -> i64 = inst.get("run20");
        assert_eq!(run5(inst.vmctx_ptr(), -1), 0);
        assert_eq!(run20(inst.vmctx_ptr(), -1), 0);
    }
}
