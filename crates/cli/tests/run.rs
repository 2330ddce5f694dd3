//! `kiln run` and `kiln compile` end to end.

use std::process::Command;

fn kiln(args: &[&str], text: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("kiln-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // One file per call: tests run in parallel.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("m{n}.wat"));
    std::fs::write(&path, text).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command.arg(args[0]).arg(&path).args(&args[1..]);
    let out = command.output().unwrap();
    let _ = std::fs::remove_file(&path);
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

const MODULE: &str = r#"(module $m
    (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
    (func $inner (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func (export "div") (param i32) (result i32) (call $inner (local.get 0))))"#;

#[test]
fn prints_each_result_on_its_own_line() {
    let (code, out, err) = kiln(&["run", "--invoke", "swap", "-7", "2.5"], MODULE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "2.5\n-7\n");
}

#[test]
fn a_trap_prints_its_backtrace_and_fails() {
    let (code, out, err) = kiln(&["run", "--invoke", "div", "0"], MODULE);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("integer divide by zero"), "{err}");
    assert!(
        err.contains("wasm-function[1]") && err.contains("inner"),
        "{err}"
    );
    assert!(err.contains("wasm-function[2]"), "{err}");
}

#[test]
fn the_optimizing_tier_runs_traps_and_reports_statistics() {
    let args = ["run", "--invoke", "swap", "-7", "2.5", "--tier", "opt"];
    let (code, out, err) = kiln(&args, MODULE);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "2.5\n-7\n");
    let (code, _, err) = kiln(&["run", "--invoke", "div", "0", "--tier", "opt"], MODULE);
    assert_eq!(code, 1);
    assert!(err.contains("integer divide by zero"), "{err}");
    assert!(
        err.contains("wasm-function[1]") && err.contains("wasm-function[2]"),
        "{err}"
    );
    let (code, out, err) = kiln(&["compile", "--tier", "opt", "--stats"], MODULE);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("with the optimizing tier"), "{out}");
    assert!(out.contains("optimizing tier: 3 functions"), "{out}");
}

#[test]
fn bad_arguments_are_reported() {
    let (code, _, err) = kiln(&["run", "--invoke", "div", "x"], MODULE);
    assert_eq!(code, 1);
    assert!(err.contains("not a valid i32"), "{err}");
    let (code, _, err) = kiln(&["run", "--invoke", "nope"], MODULE);
    assert_eq!(code, 1);
    assert!(err.contains("no exported function `nope`"), "{err}");
}

#[test]
fn compile_reports_and_prints_code() {
    let (code, out, err) = kiln(&["compile", "--threads", "1", "--print-code"], MODULE);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("compiled 3 functions"), "{out}");
    assert!(out.contains("function 1 $inner:"), "{out}");
    assert!(out.contains("idiv"), "{out}");
    assert!(out.contains(";; wasm @0x"), "{out}");
}

#[test]
fn tiered_runs_a_hot_loop_with_dynamic_tier_up() {
    let text = r#"(module
        (func $step (param i32 i32) (result i32)
            (i32.add (i32.mul (local.get 0) (i32.const 31)) (local.get 1)))
        (func (export "run") (param i32) (result i32) (local i32 i32)
            (loop $l
                (local.set 1 (call $step (local.get 1) (local.get 2)))
                (local.set 2 (i32.add (local.get 2) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get 2) (local.get 0))))
            (local.get 1)))"#;
    let mut expected = 0i32;
    for i in 0..2_000_000 {
        expected = expected.wrapping_mul(31).wrapping_add(i);
    }
    for tier in ["tiered", "baseline"] {
        let args = ["run", "--invoke", "run", "2000000", "--tier", tier];
        let (code, out, err) = kiln(&args, text);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, format!("{expected}\n"), "{tier}");
    }
}
