//! Executes baseline code and compares with Rust reference computations.

mod common;
use common::*;

type Vi32 = *mut u8;

const I32S: [i32; 12] = [
    0,
    1,
    -1,
    2,
    7,
    -7,
    31,
    32,
    33,
    i32::MAX,
    i32::MIN,
    0x1234_5678,
];
const I64S: [i64; 12] = [
    0,
    1,
    -1,
    3,
    63,
    64,
    65,
    -100,
    i64::MAX,
    i64::MIN,
    0x1234_5678_9abc_def0,
    u32::MAX as i64,
];

fn binops_module(ty: &str, ops: &[&str]) -> String {
    let mut s = String::from("(module\n");
    for op in ops {
        s += &format!(
            "(func (export \"{op}\") (param {ty} {ty}) (result {ty}) local.get 0 local.get 1 {ty}.{op})\n"
        );
    }
    s += ")";
    s
}

#[test]
fn i32_binops_match_rust() {
    let ops = [
        "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
    ];
    let inst = instantiate(&binops_module("i32", &ops));
    let _s = scope();
    type F = extern "sysv64" fn(Vi32, i32, i32) -> i32;
    let refs: [fn(i32, i32) -> i32; 11] = [
        i32::wrapping_add,
        i32::wrapping_sub,
        i32::wrapping_mul,
        |a, b| a & b,
        |a, b| a | b,
        |a, b| a ^ b,
        |a, b| a.wrapping_shl(b as u32),
        |a, b| a.wrapping_shr(b as u32),
        |a, b| (a as u32).wrapping_shr(b as u32) as i32,
        |a, b| a.rotate_left(b as u32 & 31),
        |a, b| a.rotate_right(b as u32 & 31),
    ];
    for (op, r) in ops.iter().zip(refs) {
        // SAFETY: (i32, i32) -> i32.
        let f: F = unsafe { inst.get(op) };
        for a in I32S {
            for b in I32S {
                assert_eq!(f(inst.vmctx_ptr(), a, b), r(a, b), "i32.{op} {a} {b}");
            }
        }
    }
}

#[test]
fn i64_binops_match_rust() {
    let ops = [
        "add", "sub", "mul", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr",
    ];
    let inst = instantiate(&binops_module("i64", &ops));
    let _s = scope();
    type F = extern "sysv64" fn(Vi32, i64, i64) -> i64;
    let refs: [fn(i64, i64) -> i64; 11] = [
        i64::wrapping_add,
        i64::wrapping_sub,
        i64::wrapping_mul,
        |a, b| a & b,
        |a, b| a | b,
        |a, b| a ^ b,
        |a, b| a.wrapping_shl(b as u32),
        |a, b| a.wrapping_shr(b as u32),
        |a, b| (a as u64).wrapping_shr(b as u32) as i64,
        |a, b| a.rotate_left((b & 63) as u32),
        |a, b| a.rotate_right((b & 63) as u32),
    ];
    for (op, r) in ops.iter().zip(refs) {
        // SAFETY: (i64, i64) -> i64.
        let f: F = unsafe { inst.get(op) };
        for a in I64S {
            for b in I64S {
                assert_eq!(f(inst.vmctx_ptr(), a, b), r(a, b), "i64.{op} {a} {b}");
            }
        }
    }
}

#[test]
fn constant_operands_fold_into_immediates_and_fold_entirely() {
    let inst = instantiate(
        r#"(module
        (func (export "addi") (param i32) (result i32) local.get 0 i32.const -5 i32.add)
        (func (export "shli") (param i64) (result i64) local.get 0 i64.const 67 i64.shl)
        (func (export "big") (param i64) (result i64) local.get 0 i64.const 0x123456789 i64.and)
        (func (export "folded") (result i32) i32.const 0x7fffffff i32.const 1 i32.add i32.const 3 i32.mul)
        (func (export "cmpi") (param i64) (result i32) local.get 0 i64.const -1 i64.lt_s)
        (func (export "muli") (param i32) (result i32) local.get 0 i32.const 1000 i32.mul))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(Vi32, i32) -> i32 = inst.get("addi");
        assert_eq!(f(inst.vmctx_ptr(), 3), -2);
        let f: extern "sysv64" fn(Vi32, i64) -> i64 = inst.get("shli");
        assert_eq!(f(inst.vmctx_ptr(), 1), 8);
        let f: extern "sysv64" fn(Vi32, i64) -> i64 = inst.get("big");
        assert_eq!(f(inst.vmctx_ptr(), -1), 0x123456789);
        let f: extern "sysv64" fn(Vi32) -> i32 = inst.get("folded");
        assert_eq!(f(inst.vmctx_ptr()), i32::MIN.wrapping_mul(3));
        let f: extern "sysv64" fn(Vi32, i64) -> i32 = inst.get("cmpi");
        assert_eq!(f(inst.vmctx_ptr(), -2), 1);
        assert_eq!(f(inst.vmctx_ptr(), -1), 0);
        let f: extern "sysv64" fn(Vi32, i32) -> i32 = inst.get("muli");
        assert_eq!(f(inst.vmctx_ptr(), -3), -3000);
    }
}

#[test]
fn division_and_remainder_match_rust_when_not_trapping() {
    let ops = ["div_s", "div_u", "rem_s", "rem_u"];
    let inst = instantiate(&binops_module("i32", &ops));
    let inst64 = instantiate(&binops_module("i64", &ops));
    let _s = scope();
    for op in ops {
        // SAFETY: binary operators on one type.
        let (f, g): (
            extern "sysv64" fn(Vi32, i32, i32) -> i32,
            extern "sysv64" fn(Vi32, i64, i64) -> i64,
        ) = unsafe { (inst.get(op), inst64.get(op)) };
        for a in I32S {
            for b in I32S {
                let want = match op {
                    "div_s" => a.checked_div(b),
                    "div_u" => (a as u32).checked_div(b as u32).map(|v| v as i32),
                    "rem_s" => (b != 0).then(|| a.wrapping_rem(b)),
                    _ => (a as u32).checked_rem(b as u32).map(|v| v as i32),
                };
                if let Some(w) = want {
                    assert_eq!(f(inst.vmctx_ptr(), a, b), w, "i32.{op} {a} {b}");
                }
            }
        }
        for a in I64S {
            for b in I64S {
                let want = match op {
                    "div_s" => a.checked_div(b),
                    "div_u" => (a as u64).checked_div(b as u64).map(|v| v as i64),
                    "rem_s" => (b != 0).then(|| a.wrapping_rem(b)),
                    _ => (a as u64).checked_rem(b as u64).map(|v| v as i64),
                };
                if let Some(w) = want {
                    assert_eq!(g(inst64.vmctx_ptr(), a, b), w, "i64.{op} {a} {b}");
                }
            }
        }
    }
}

#[test]
fn unary_integer_operators_match_rust() {
    let inst = instantiate(
        r#"(module
        (func (export "clz32") (param i32) (result i32) local.get 0 i32.clz)
        (func (export "ctz32") (param i32) (result i32) local.get 0 i32.ctz)
        (func (export "pop32") (param i32) (result i32) local.get 0 i32.popcnt)
        (func (export "clz64") (param i64) (result i64) local.get 0 i64.clz)
        (func (export "ctz64") (param i64) (result i64) local.get 0 i64.ctz)
        (func (export "pop64") (param i64) (result i64) local.get 0 i64.popcnt)
        (func (export "ext8") (param i32) (result i32) local.get 0 i32.extend8_s)
        (func (export "ext16") (param i32) (result i32) local.get 0 i32.extend16_s)
        (func (export "ext64_32") (param i64) (result i64) local.get 0 i64.extend32_s)
        (func (export "ext_s") (param i32) (result i64) local.get 0 i64.extend_i32_s)
        (func (export "ext_u") (param i32) (result i64) local.get 0 i64.extend_i32_u)
        (func (export "wrap") (param i64) (result i32) local.get 0 i32.wrap_i64)
        (func (export "eqz") (param i64) (result i32) local.get 0 i64.eqz))"#,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let u32f = |n| -> extern "sysv64" fn(Vi32, i32) -> i32 { inst.get(n) };
        let u64f = |n| -> extern "sysv64" fn(Vi32, i64) -> i64 { inst.get(n) };
        let v = inst.vmctx_ptr();
        for a in I32S {
            assert_eq!(u32f("clz32")(v, a), a.leading_zeros() as i32);
            assert_eq!(u32f("ctz32")(v, a), a.trailing_zeros() as i32);
            assert_eq!(u32f("pop32")(v, a), a.count_ones() as i32);
            assert_eq!(u32f("ext8")(v, a), a as i8 as i32);
            assert_eq!(u32f("ext16")(v, a), a as i16 as i32);
            let f: extern "sysv64" fn(Vi32, i32) -> i64 = inst.get("ext_s");
            assert_eq!(f(v, a), a as i64);
            let f: extern "sysv64" fn(Vi32, i32) -> i64 = inst.get("ext_u");
            assert_eq!(f(v, a), a as u32 as i64);
        }
        for a in I64S {
            assert_eq!(u64f("clz64")(v, a), a.leading_zeros() as i64);
            assert_eq!(u64f("ctz64")(v, a), a.trailing_zeros() as i64);
            assert_eq!(u64f("pop64")(v, a), a.count_ones() as i64);
            assert_eq!(u64f("ext64_32")(v, a), a as i32 as i64);
            let f: extern "sysv64" fn(Vi32, i64) -> i32 = inst.get("wrap");
            assert_eq!(f(v, a), a as i32);
            let f: extern "sysv64" fn(Vi32, i64) -> i32 = inst.get("eqz");
            assert_eq!(f(v, a), (a == 0) as i32);
        }
    }
}

#[test]
fn bit_counts_without_optional_instructions() {
    let opts = kiln_codegen_baseline::CompileOptions {
        cpu: kiln_codegen_baseline::CpuFeatures::BASELINE,
        ..options()
    };
    let inst = instantiate_with(
        r#"(module
        (func (export "clz") (param i64) (result i64) local.get 0 i64.clz)
        (func (export "ctz") (param i32) (result i32) local.get 0 i32.ctz)
        (func (export "pop") (param i64) (result i64) local.get 0 i64.popcnt))"#,
        &opts,
    );
    let _s = scope();
    // SAFETY: the signatures match the exports.
    unsafe {
        let v = inst.vmctx_ptr();
        let clz: extern "sysv64" fn(Vi32, i64) -> i64 = inst.get("clz");
        let ctz: extern "sysv64" fn(Vi32, i32) -> i32 = inst.get("ctz");
        let pop: extern "sysv64" fn(Vi32, i64) -> i64 = inst.get("pop");
        for a in I64S {
            assert_eq!(clz(v, a), a.leading_zeros() as i64);
            assert_eq!(pop(v, a), a.count_ones() as i64);
            assert_eq!(ctz(v, a as i32), (a as i32).trailing_zeros() as i32);
        }
    }
}

#[test]
fn integer_comparisons_match_rust() {
    let ops = [
        "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
    ];
    let mut s = String::from("(module\n");
    for op in ops {
        s += &format!(
            "(func (export \"32{op}\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.{op})\n"
        );
        s += &format!(
            "(func (export \"64{op}\") (param i64 i64) (result i32) local.get 0 local.get 1 i64.{op})\n"
        );
    }
    s += ")";
    let inst = instantiate(&s);
    let _s = scope();
    fn want<T: Ord + Copy, U: Ord + Copy>(op: &str, a: T, b: T, ua: U, ub: U) -> i32 {
        (match op {
            "eq" => a == b,
            "ne" => a != b,
            "lt_s" => a < b,
            "lt_u" => ua < ub,
            "gt_s" => a > b,
            "gt_u" => ua > ub,
            "le_s" => a <= b,
            "le_u" => ua <= ub,
            "ge_s" => a >= b,
            _ => ua >= ub,
        }) as i32
    }
    for op in ops {
        // SAFETY: the signatures match the exports.
        let (f, g): (
            extern "sysv64" fn(Vi32, i32, i32) -> i32,
            extern "sysv64" fn(Vi32, i64, i64) -> i32,
        ) = unsafe { (inst.get(&format!("32{op}")), inst.get(&format!("64{op}"))) };
        for a in I32S {
            for b in I32S {
                assert_eq!(
                    f(inst.vmctx_ptr(), a, b),
                    want(op, a, b, a as u32, b as u32),
                    "i32.{op} {a} {b}"
                );
            }
        }
        for a in I64S {
            for b in I64S {
                assert_eq!(
                    g(inst.vmctx_ptr(), a, b),
                    want(op, a, b, a as u64, b as u64),
                    "i64.{op} {a} {b}"
                );
            }
        }
    }
}
