//! Calls of every shape: 0..20 parameters of mixed types (registers and stack arguments) and
//! 0..10 results (registers and the return area), wasm to wasm, checked against Rust.

mod common;
use common::*;

const TYPES: [&str; 4] = ["i32", "i64", "f32", "f64"];

fn to_f64(ty: &str) -> &'static str {
    match ty {
        "i32" => "f64.convert_i32_s",
        "i64" => "f64.convert_i64_s",
        "f32" => "f64.promote_f32",
        _ => "",
    }
}

fn from_f64(ty: &str) -> &'static str {
    match ty {
        "i32" => "i32.trunc_f64_s",
        "i64" => "i64.trunc_f64_s",
        "f32" => "f32.demote_f64",
        _ => "",
    }
}

fn from_i64(ty: &str) -> &'static str {
    match ty {
        "i32" => "i32.wrap_i64",
        "i64" => "",
        "f32" => "f32.convert_i64_s",
        _ => "f64.convert_i64_s",
    }
}

/// `(op expr)`, or `expr` for the identity conversion.
fn apply(op: &str, expr: String) -> String {
    if op.is_empty() {
        expr
    } else {
        format!("({op} {expr})")
    }
}

#[test]
fn every_call_shape_moves_arguments_and_results() {
    for n in [0usize, 1, 5, 6, 7, 9, 13, 20] {
        for m in [0usize, 1, 2, 8, 9, 10] {
            let params: Vec<&str> = (0..n).map(|i| TYPES[(i * 3 + m) % 4]).collect();
            let results: Vec<&str> = (0..m).map(|j| TYPES[(j + n) % 4]).collect();
            let mut callee = format!(
                "(func $callee (param {}) (result {})\n",
                params.join(" "),
                results.join(" ")
            );
            for (j, r) in results.iter().enumerate() {
                let src = if n == 0 {
                    "(f64.const 0)".to_string()
                } else {
                    let p = (j * 7) % n;
                    apply(to_f64(params[p]), format!("(local.get {p})"))
                };
                callee += &apply(from_f64(r), format!("(f64.add {src} (f64.const {j}))"));
                callee += "\n";
            }
            callee += ")";
            let mut caller = format!(
                "(func (export \"run\") (param i64) (result f64) (local {} f64)\n",
                if m == 0 {
                    String::new()
                } else {
                    results.join(" ")
                }
            );
            for (i, p) in params.iter().enumerate() {
                caller += &apply(
                    from_i64(p),
                    format!("(i64.add (local.get 0) (i64.const {i}))"),
                );
                caller += "\n";
            }
            caller += "(call $callee)\n";
            for j in (0..m).rev() {
                caller += &format!("(local.set {})\n", j + 1);
            }
            let acc = m + 1;
            for (j, r) in results.iter().enumerate() {
                let v = apply(to_f64(r), format!("(local.get {})", j + 1));
                caller += &format!(
                    "(local.set {acc} (f64.add (local.get {acc}) (f64.mul (f64.const {}) {v})))\n",
                    j + 1
                );
            }
            caller += &format!("(local.get {acc}))");
            let wat = format!("(module {callee}\n{caller})");
            let inst = instantiate(&wat);
            let _s = scope();
            // SAFETY: (i64) -> f64.
            let f: extern "sysv64" fn(*mut u8, i64) -> f64 = unsafe { inst.get("run") };
            let x = 100i64;
            let want: f64 = (0..m)
                .map(|j| {
                    let v = if n == 0 {
                        0.0
                    } else {
                        (x + ((j * 7) % n) as i64) as f64
                    };
                    (j + 1) as f64 * (v + j as f64)
                })
                .sum();
            assert_eq!(
                f(inst.vmctx_ptr(), x),
                want,
                "{n} params, {m} results:\n{wat}"
            );
        }
    }
}
