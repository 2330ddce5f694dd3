//! Executed traps: each trapping call runs in a forked child whose signal handler maps the
//! faulting pc through the code manager's lookup table to a recorded trap site and exits
//! with that trap's code. The parent checks the exit status, so a trap that does not happen,
//! or happens at a pc that is not a recorded trap site, fails the test.
//!
//! This file holds a single test so the process has one test thread when it forks.

mod common;
use common::*;
use kiln_abi::TrapCode;
use kiln_codegen_baseline::CompileOptions;

type V = *mut u8;

const TRAPS: &str = r#"(module
  (type $v (func))
  (type $i (func (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) func $nop)
  (func $nop (type $v))
  (func (export "unreachable") (param i32) (result i32) unreachable)
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem64") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $i) (i32.const 0) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32) (i32.add (call $deep (local.get 0)) (i32.const 1))))"#;

type Fns = (
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32, i32) -> i32,
    extern "sysv64" fn(V, i64, i64) -> i64,
    extern "sysv64" fn(V, f64) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
);

/// Instantiates the module in a child process (code spaces are not inherited by `fork`) and
/// runs `f` there; returns the child's exit status.
fn run(opts: &CompileOptions, guard_memory: bool, f: impl Fn(V, Fns)) -> i32 {
    in_child(|| {
        let inst = instantiate_with(TRAPS, opts);
        let v = inst.vmctx_ptr();
        if guard_memory {
            inst.guard_memory();
        }
        let _s = scope();
        // SAFETY: the signatures match the exports.
        let fns = unsafe {
            (
                inst.get("unreachable"),
                inst.get("div"),
                inst.get("rem64"),
                inst.get("trunc"),
                inst.get("indirect"),
                inst.get("load"),
                inst.get("deep"),
            )
        };
        f(v, fns);
    })
}

fn check(opts: &CompileOptions, guard: bool) {
    let t = |code: TrapCode| code as i32;
    let r = |f: fn(V, Fns)| run(opts, guard, f);
    assert_eq!(
        r(|v, f| {
            f.0(v, 0);
        }),
        t(TrapCode::Unreachable)
    );
    assert_eq!(
        r(|v, f| {
            f.1(v, 1, 0);
        }),
        t(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        r(|v, f| {
            f.1(v, i32::MIN, -1);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(r(|v, f| assert_eq!(f.1(v, i32::MIN, 1), i32::MIN)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.2(v, 5, 0);
        }),
        t(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, f64::NAN);
        }),
        t(TrapCode::BadConversionToInteger)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, -1.0);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, 4294967296.0);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(r(|v, f| assert_eq!(f.3(v, 4294967295.9), -1)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.4(v, 0);
        }),
        t(TrapCode::BadSignature)
    );
    assert_eq!(
        r(|v, f| {
            f.4(v, 1);
        }),
        t(TrapCode::IndirectCallToNull)
    );
    assert_eq!(
        r(|v, f| {
            f.4(v, 2);
        }),
        t(TrapCode::UndefinedElement)
    );
    assert_eq!(
        r(|v, f| {
            f.6(v, 0);
        }),
        t(TrapCode::StackOverflow)
    );
    // The last in-bounds word (offset 4), then one byte further, then a wrapped index.
    assert_eq!(r(|v, f| assert_eq!(f.5(v, 65536 - 8), 0)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.5(v, 65536 - 7);
        }),
        t(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(
        r(|v, f| {
            f.5(v, -4);
        }),
        t(TrapCode::MemoryOutOfBounds)
    );
}

#[test]
fn trapping_code_faults_at_recorded_trap_sites() {
    check(&options(), true);
    check(&explicit(), false);
}
