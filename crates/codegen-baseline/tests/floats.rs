//! Float arithmetic, comparisons and conversions against Rust.

mod common;
use common::*;

type V = *mut u8;

const F64S: [f64; 14] = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    2.5,
    3.5,
    -2.5,
    1e300,
    -1e-300,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    4294967295.5,
    -9.3e18,
];

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn module(ty: &str, ops: &[&str], arity: usize) -> String {
    let mut s = String::from("(module\n");
    for op in ops {
        let (params, gets) = if arity == 2 {
            (format!("{ty} {ty}"), "local.get 0 local.get 1")
        } else {
            (ty.to_string(), "local.get 0")
        };
        s += &format!("(func (export \"{op}\") (param {params}) (result {ty}) {gets} {ty}.{op})\n");
    }
    s + ")"
}

#[test]
fn f64_binary_operators_follow_the_spec() {
    let ops = ["add", "sub", "mul", "div", "min", "max", "copysign"];
    let inst = instantiate(&module("f64", &ops, 2));
    let _s = scope();
    for op in ops {
        // SAFETY: (f64, f64) -> f64.
        let f: extern "sysv64" fn(V, f64, f64) -> f64 = unsafe { inst.get(op) };
        for a in F64S {
            for b in F64S {
                let want = match op {
                    "add" => a + b,
                    "sub" => a - b,
                    "mul" => a * b,
                    "div" => a / b,
                    "min" if a.is_nan() || b.is_nan() => f64::NAN,
                    "min" if a == 0.0 && b == 0.0 => {
                        if a.is_sign_negative() {
                            a
                        } else {
                            b
                        }
                    }
                    "min" => a.min(b),
                    "max" if a.is_nan() || b.is_nan() => f64::NAN,
                    "max" if a == 0.0 && b == 0.0 => {
                        if a.is_sign_positive() {
                            a
                        } else {
                            b
                        }
                    }
                    "max" => a.max(b),
                    _ => a.copysign(b),
                };
                let got = f(inst.vmctx_ptr(), a, b);
                assert!(same(got, want), "f64.{op} {a} {b}: {got} != {want}");
            }
        }
    }
}

#[test]
fn f32_unary_operators_follow_the_spec() {
    let ops = ["neg", "abs", "sqrt", "ceil", "floor", "trunc", "nearest"];
    let inst = instantiate(&module("f32", &ops, 1));
    let _s = scope();
    for op in ops {
        // SAFETY: f32 -> f32.
        let f: extern "sysv64" fn(V, f32) -> f32 = unsafe { inst.get(op) };
        for a in F64S {
            let a = a as f32;
            let want = match op {
                "neg" => -a,
                "abs" => a.abs(),
                "sqrt" => a.sqrt(),
                "ceil" => a.ceil(),
                "floor" => a.floor(),
                "trunc" => a.trunc(),
                _ => a.round_ties_even(),
            };
            let got = f(inst.vmctx_ptr(), a);
            assert!(
                same(got as f64, want as f64),
                "f32.{op} {a}: {got} != {want}"
            );
        }
    }
    // neg and abs only touch the sign bit, even of NaNs.
    // SAFETY: f32 -> f32.
    let neg: extern "sysv64" fn(V, f32) -> f32 = unsafe { inst.get("neg") };
    let nan = f32::from_bits(0x7fc0_1234);
    assert_eq!(neg(inst.vmctx_ptr(), nan).to_bits(), 0xffc0_1234);
}

#[test]
fn float_comparisons_are_false_on_nan_except_ne() {
    let ops = ["eq", "ne", "lt", "gt", "le", "ge"];
    let mut s = String::from("(module\n");
    for op in ops {
        s += &format!(
            "(func (export \"{op}\") (param f64 f64) (result i32) local.get 0 local.get 1 f64.{op})\n"
        );
        s += &format!(
            "(func (export \"32{op}\") (param f32 f32) (result i32) local.get 0 local.get 1 f32.{op})\n"
        );
    }
    let inst = instantiate(&(s + ")"));
    let _s = scope();
    for op in ops {
        // SAFETY: the signatures match the exports.
        let f: extern "sysv64" fn(V, f64, f64) -> i32 = unsafe { inst.get(op) };
        // SAFETY: as above.
        let g: extern "sysv64" fn(V, f32, f32) -> i32 = unsafe { inst.get(&format!("32{op}")) };
        for a in F64S {
            for b in F64S {
                let want = |a: f64, b: f64| match op {
                    "eq" => a == b,
                    "ne" => a != b,
                    "lt" => a < b,
                    "gt" => a > b,
                    "le" => a <= b,
                    _ => a >= b,
                } as i32;
                assert_eq!(f(inst.vmctx_ptr(), a, b), want(a, b), "f64.{op} {a} {b}");
                let (x, y) = (a as f32, b as f32);
                assert_eq!(
                    g(inst.vmctx_ptr(), x, y),
                    want(x as f64, y as f64),
                    "f32.{op} {x} {y}"
                );
            }
        }
    }
}

#[test]
fn conversions_match_rust() {
    let inst = instantiate(
        r#"(module
        (func (export "f64_u64") (param i64) (result f64) local.get 0 f64.convert_i64_u)
        (func (export "f32_u64") (param i64) (result f32) local.get 0 f32.convert_i64_u)
        (func (export "f64_s64") (param i64) (result f64) local.get 0 f64.convert_i64_s)
        (func (export "f32_u32") (param i32) (result f32) local.get 0 f32.convert_i32_u)
        (func (export "f64_s32") (param i32) (result f64) local.get 0 f64.convert_i32_s)
        (func (export "demote") (param f64) (result f32) local.get 0 f32.demote_f64)
        (func (export "promote") (param f32) (result f64) local.get 0 f64.promote_f32)
        (func (export "bits") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
        (func (export "from_bits") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
        (func (export "sat_s32") (param f64) (result i32) local.get 0 i32.trunc_sat_f64_s)
        (func (export "sat_u32") (param f32) (result i32) local.get 0 i32.trunc_sat_f32_u)
        (func (export "sat_s64") (param f32) (result i64) local.get 0 i64.trunc_sat_f32_s)
        (func (export "sat_u64") (param f64) (result i64) local.get 0 i64.trunc_sat_f64_u)
        (func (export "trunc_u64") (param f64) (result i64) local.get 0 i64.trunc_f64_u)
        (func (export "trunc_s32") (param f32) (result i32) local.get 0 i32.trunc_f32_s))"#,
    );
    let _s = scope();
    let v = inst.vmctx_ptr();
    let ints: [i64; 9] = [
        0,
        1,
        -1,
        i64::MAX,
        i64::MIN,
        0x1f_ffff_ffff_ffff,
        -(1 << 53) - 1,
        u32::MAX as i64,
        (1 << 63) + 1025,
    ];
    // SAFETY: the signatures match the exports.
    unsafe {
        let f: extern "sysv64" fn(V, i64) -> f64 = inst.get("f64_u64");
        let g: extern "sysv64" fn(V, i64) -> f32 = inst.get("f32_u64");
        let h: extern "sysv64" fn(V, i64) -> f64 = inst.get("f64_s64");
        let k: extern "sysv64" fn(V, i32) -> f32 = inst.get("f32_u32");
        let m: extern "sysv64" fn(V, i32) -> f64 = inst.get("f64_s32");
        for i in ints {
            assert_eq!(f(v, i), i as u64 as f64, "f64.convert_i64_u {i}");
            assert_eq!(g(v, i), i as u64 as f32, "f32.convert_i64_u {i}");
            assert_eq!(h(v, i), i as f64);
            assert_eq!(k(v, i as i32), i as i32 as u32 as f32);
            assert_eq!(m(v, i as i32), i as i32 as f64);
        }
        let demote: extern "sysv64" fn(V, f64) -> f32 = inst.get("demote");
        let promote: extern "sysv64" fn(V, f32) -> f64 = inst.get("promote");
        let bits: extern "sysv64" fn(V, f64) -> i64 = inst.get("bits");
        let from_bits: extern "sysv64" fn(V, i32) -> f32 = inst.get("from_bits");
        let sat_s32: extern "sysv64" fn(V, f64) -> i32 = inst.get("sat_s32");
        let sat_u32: extern "sysv64" fn(V, f32) -> i32 = inst.get("sat_u32");
        let sat_s64: extern "sysv64" fn(V, f32) -> i64 = inst.get("sat_s64");
        let sat_u64: extern "sysv64" fn(V, f64) -> i64 = inst.get("sat_u64");
        let trunc_u64: extern "sysv64" fn(V, f64) -> i64 = inst.get("trunc_u64");
        let trunc_s32: extern "sysv64" fn(V, f32) -> i32 = inst.get("trunc_s32");
        for x in F64S.iter().copied().chain([
            2147483647.9,
            -2147483648.9,
            1.8446744073709552e19,
            9.3e18,
            -0.9,
        ]) {
            assert!(same(demote(v, x) as f64, (x as f32) as f64));
            assert!(same(promote(v, x as f32), x as f32 as f64));
            assert_eq!(bits(v, x), x.to_bits() as i64);
            assert_eq!(sat_s32(v, x), x as i32, "i32.trunc_sat_f64_s {x}");
            assert_eq!(
                sat_u32(v, x as f32),
                (x as f32) as u32 as i32,
                "i32.trunc_sat_f32_u {x}"
            );
            assert_eq!(
                sat_s64(v, x as f32),
                (x as f32) as i64,
                "i64.trunc_sat_f32_s {x}"
            );
            assert_eq!(sat_u64(v, x), x as u64 as i64, "i64.trunc_sat_f64_u {x}");
            if x > -1.0 && x < 18446744073709551616.0 {
                assert_eq!(trunc_u64(v, x), x as u64 as i64, "i64.trunc_f64_u {x}");
            }
            let y = x as f32;
            if (-2147483648.0..2147483648.0).contains(&y) {
                assert_eq!(trunc_s32(v, y), y as i32, "i32.trunc_f32_s {y}");
            }
        }
        assert_eq!(from_bits(v, 0x3fc0_0000), 1.5);
    }
}

#[test]
fn trapping_conversions_record_their_trap_sites() {
    let inst = instantiate(
        r#"(module (func (export "t") (param f64) (result i32) local.get 0 i32.trunc_f64_s))"#,
    );
    let f = inst.compiled_export("t");
    let traps: Vec<_> = f.trap_sites.iter().map(|t| t.trap).collect();
    assert!(traps.contains(&kiln_abi::TrapCode::BadConversionToInteger));
    assert!(traps.contains(&kiln_abi::TrapCode::IntegerOverflow));
}

#[test]
fn f32_binary_and_f64_unary_operators_follow_the_spec() {
    let bin = ["add", "sub", "mul", "div", "min", "max", "copysign"];
    let inst = instantiate(&module("f32", &bin, 2));
    let _s = scope();
    for op in bin {
        // SAFETY: (f32, f32) -> f32.
        let f: extern "sysv64" fn(V, f32, f32) -> f32 = unsafe { inst.get(op) };
        for a in F64S.map(|x| x as f32) {
            for b in F64S.map(|x| x as f32) {
                let want = match op {
                    "add" => a + b,
                    "sub" => a - b,
                    "mul" => a * b,
                    "div" => a / b,
                    "min" if a.is_nan() || b.is_nan() => f32::NAN,
                    "min" if a == 0.0 && b == 0.0 => {
                        if a.is_sign_negative() {
                            a
                        } else {
                            b
                        }
                    }
                    "min" => a.min(b),
                    "max" if a.is_nan() || b.is_nan() => f32::NAN,
                    "max" if a == 0.0 && b == 0.0 => {
                        if a.is_sign_positive() {
                            a
                        } else {
                            b
                        }
                    }
                    "max" => a.max(b),
                    _ => a.copysign(b),
                };
                let got = f(inst.vmctx_ptr(), a, b);
                assert!(
                    same(got as f64, want as f64),
                    "f32.{op} {a} {b}: {got} != {want}"
                );
            }
        }
    }
    let un = ["neg", "abs", "sqrt", "ceil", "floor", "trunc", "nearest"];
    let inst = instantiate(&module("f64", &un, 1));
    for op in un {
        // SAFETY: f64 -> f64.
        let f: extern "sysv64" fn(V, f64) -> f64 = unsafe { inst.get(op) };
        for a in F64S
            .iter()
            .copied()
            .chain([0.5, -0.5, 1.5, -3.5, 4503599627370497.0])
        {
            let want = match op {
                "neg" => -a,
                "abs" => a.abs(),
                "sqrt" => a.sqrt(),
                "ceil" => a.ceil(),
                "floor" => a.floor(),
                "trunc" => a.trunc(),
                _ => a.round_ties_even(),
            };
            assert!(same(f(inst.vmctx_ptr(), a), want), "f64.{op} {a}");
        }
    }
}

#[test]
fn every_truncation_matches_rust() {
    let mut s = String::from("(module\n");
    for int in ["i32", "i64"] {
        for float in ["f32", "f64"] {
            for sign in ["s", "u"] {
                for sat in ["", "_sat"] {
                    s += &format!(
                        "(func (export \"{int}{sat}_{float}_{sign}\") (param {float}) (result {int}) local.get 0 {int}.trunc{sat}_{float}_{sign})\n"
                    );
                }
            }
        }
    }
    let inst = instantiate(&(s + ")"));
    let _s = scope();
    let v = inst.vmctx_ptr();
    let values = [
        0.0,
        -0.0,
        0.9,
        -0.9,
        1.5,
        -1.5,
        2147483647.0,
        2147483648.0,
        -2147483648.0,
        -2147483649.0,
        4294967295.0,
        4294967296.0,
        9223372036854775807.0,
        -9223372036854775808.0,
        18446744073709551615.0,
        1e20,
        -1e20,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        16777216.0,
        3e9,
        -3e9,
    ];
    // SAFETY: each export's signature is (float) -> int as named.
    unsafe {
        for x in values {
            let y = x as f32;
            macro_rules! case {
                ($name:literal, $ft:ty, $it:ty, $arg:expr, $conv:expr, $ok:expr) => {{
                    let f: extern "sysv64" fn(V, $ft) -> $it = inst.get($name);
                    let arg: $ft = $arg;
                    if $name.contains("_sat") || $ok(arg) {
                        assert_eq!(f(v, arg), $conv(arg), "{} {}", $name, arg);
                    }
                }};
            }
            // Saturating: Rust's `as` saturates and maps NaN to 0, like the spec.
            case!("i32_sat_f32_s", f32, i32, y, |a: f32| a as i32, |_| true);
            case!(
                "i32_sat_f32_u",
                f32,
                i32,
                y,
                |a: f32| a as u32 as i32,
                |_| true
            );
            case!("i32_sat_f64_s", f64, i32, x, |a: f64| a as i32, |_| true);
            case!(
                "i32_sat_f64_u",
                f64,
                i32,
                x,
                |a: f64| a as u32 as i32,
                |_| true
            );
            case!("i64_sat_f32_s", f32, i64, y, |a: f32| a as i64, |_| true);
            case!(
                "i64_sat_f32_u",
                f32,
                i64,
                y,
                |a: f32| a as u64 as i64,
                |_| true
            );
            case!("i64_sat_f64_s", f64, i64, x, |a: f64| a as i64, |_| true);
            case!(
                "i64_sat_f64_u",
                f64,
                i64,
                x,
                |a: f64| a as u64 as i64,
                |_| true
            );
            // Trapping ones, inside their range only (traps are tested in traps.rs).
            case!("i32_f32_s", f32, i32, y, |a: f32| a as i32, |a: f32| {
                (-2147483648.0..2147483648.0).contains(&a)
            });
            case!(
                "i32_f32_u",
                f32,
                i32,
                y,
                |a: f32| a as u32 as i32,
                |a: f32| a > -1.0 && a < 4294967296.0
            );
            case!("i32_f64_s", f64, i32, x, |a: f64| a as i32, |a: f64| a
                > -2147483649.0
                && a < 2147483648.0);
            case!(
                "i32_f64_u",
                f64,
                i32,
                x,
                |a: f64| a as u32 as i32,
                |a: f64| a > -1.0 && a < 4294967296.0
            );
            case!("i64_f32_s", f32, i64, y, |a: f32| a as i64, |a: f32| {
                (-9223372036854775808.0..9223372036854775808.0).contains(&a)
            });
            case!(
                "i64_f32_u",
                f32,
                i64,
                y,
                |a: f32| a as u64 as i64,
                |a: f32| a > -1.0 && a < 18446744073709551616.0
            );
            case!("i64_f64_s", f64, i64, x, |a: f64| a as i64, |a: f64| {
                (-9223372036854775808.0..9223372036854775808.0).contains(&a)
            });
            case!(
                "i64_f64_u",
                f64,
                i64,
                x,
                |a: f64| a as u64 as i64,
                |a: f64| a > -1.0 && a < 18446744073709551616.0
            );
        }
    }
}
