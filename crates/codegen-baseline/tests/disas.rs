//! Disassembly snapshots: each `tests/disas/*.wat` file holds a module, optional `;;!`
//! option lines, and the expected disassembly of every defined function as trailing `;;`
//! comments. Run with `KILN_BLESS=1` to rewrite the expectations after an intended change.
//!
//! Options: `;;! bounds_checks = explicit`, `;;! tier_up = true`. Code is generated for a
//! fixed CPU (SSE4.1 only) so the snapshots do not depend on the machine.

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use kiln_codegen_baseline::{BoundsChecks, CompileEnv, CompileOptions, CpuFeatures, DebugOptions};
use std::fmt::Write;
use std::path::Path;

const MARKER: &str = ";; ---- disassembly (KILN_BLESS=1 regenerates) ----";

fn disassemble(source: &str) -> String {
    let mut opts = CompileOptions {
        bounds_checks: BoundsChecks::Guard,
        tier_up: false,
        cpu: CpuFeatures {
            sse41: true,
            ..CpuFeatures::BASELINE
        },
        debug: None,
    };
    for line in source.lines().filter_map(|l| l.strip_prefix(";;! ")) {
        match line.trim() {
            "bounds_checks = explicit" => opts.bounds_checks = BoundsChecks::Explicit,
            "tier_up = true" => opts.tier_up = true,
            "debug = stepping" => opts.debug = Some(DebugOptions::stepping()),
            other => panic!("unknown option {other}"),
        }
    }
    let wasm = wat::parse_str(source).expect("valid wat");
    let module = kiln_decoder::decode(&wasm, &Default::default()).expect("valid module");
    let env = CompileEnv::new(&module);
    let mut out = String::new();
    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_first_operand_char_index(8);
    for i in module.num_imported_functions..module.functions.len() as u32 {
        let f = env.compile(i, &opts).expect("compiles");
        writeln!(out, ";; function {i}: frame {} bytes", f.frame_size).unwrap();
        let mut d = Decoder::with_ip(64, &f.code, 0, DecoderOptions::NONE);
        let mut text = String::new();
        for inst in d.iter() {
            text.clear();
            fmt.format(&inst, &mut text);
            let mut notes = Vec::new();
            if let Some(t) = f.trap_at(inst.ip() as u32) {
                notes.push(format!("trap: {t:?}"));
            }
            if f.relocations.iter().any(|r| {
                (r.offset as u64) >= inst.ip() && (r.offset as u64) < inst.ip() + inst.len() as u64
            }) {
                notes.push("reloc".to_string());
            }
            let note = if notes.is_empty() {
                String::new()
            } else {
                format!("  ; {}", notes.join(", "))
            };
            writeln!(out, ";;   {:4x}: {text}{note}", inst.ip()).unwrap();
        }
    }
    out
}

#[test]
fn disassembly_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/disas");
    let bless = std::env::var_os("KILN_BLESS").is_some_and(|v| v == "1");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 8, "snapshot files are present");
    let mut failures = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let (source, expected) = match text.split_once(MARKER) {
            Some((s, e)) => (s.trim_end().to_string(), e.trim().to_string()),
            None => (text.trim_end().to_string(), String::new()),
        };
        let actual = disassemble(&source);
        if bless {
            std::fs::write(&path, format!("{source}\n\n{MARKER}\n{actual}")).unwrap();
        } else if actual.trim() != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
