//! `kiln validate` on good, truncated and garbage input.

use std::process::Command;

fn kiln_validate(name: &str, bytes: &[u8]) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("kiln-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

const TEXT: &str = r#"(module $demo
    (import "env" "log" (func (param i32)))
    (memory 1)
    (func (export "main") (result i32) i32.const 42)
    (data (i32.const 0) "hi"))"#;

#[test]
fn summarizes_a_valid_module_in_text_and_binary() {
    let (code, out, err) = kiln_validate("demo.wat", TEXT.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("functions: 2 (1 imported, 1 defined)"),
        "{out}"
    );
    assert!(out.contains("imports (1): env.log"), "{out}");
    assert!(out.contains("exports (1): main"), "{out}");
    assert!(out.contains("code 6"), "{out}");
    let wasm = wat::parse_str(TEXT).unwrap();
    let (code, out, _) = kiln_validate("demo.wasm", &wasm);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{} bytes", wasm.len())), "{out}");
}

#[test]
fn truncated_module_fails_with_offset() {
    let wasm = wat::parse_str(TEXT).unwrap();
    let (code, out, err) = kiln_validate("truncated.wasm", &wasm[..wasm.len() - 5]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("invalid module") && err.contains("byte offset 0x"),
        "{err}"
    );
}

#[test]
fn garbage_fails_with_offset() {
    let (code, _, err) = kiln_validate("garbage.wasm", b"\x7fELF this is not a module");
    assert_eq!(code, 1);
    assert!(
        err.contains("magic") && err.contains("byte offset 0x0"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn names_needed_proposals() {
    let (code, out, _) = kiln_validate("tail.wat", b"(module (func (return_call 0)))");
    assert_eq!(code, 0);
    assert!(
        out.contains("features beyond WebAssembly 2.0: tail-call"),
        "{out}"
    );
}
