//! The code size benchmark's measurements: the function bodies of a module, and the
//! sizes of the code V8 reports for them.
//!
//! V8 (node 20 release builds) prints one line per compiled function under
//! `--trace-wasm-compilation-times`:
//!
//! ```text
//! Compiled function 0x32471310#2 using Liftoff, took 0 ms and 16272 bytes; bodysize 61 codesize 172
//! ```
//!
//! `0x32471310` identifies the module, `2` is the function index (imports included),
//! `codesize` is the size of the code V8 generated for the body (`CodeDesc::body_size()`:
//! instructions plus the tables V8 keeps behind them). Import and export wrappers print
//! other lines ("Compiled WasmToJS wrapper ...") and are not counted.

use std::collections::BTreeMap;

use wasmparser::{Parser, Payload};

/// Functions of a module, from its import and code sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Functions {
    /// Imported functions (they come first in the index space).
    pub imported: u32,
    /// Functions with a body.
    pub defined: u32,
    /// Bytes of all function bodies (locals and code), the code section without its
    /// entry-size prefixes.
    pub body_bytes: u64,
}

/// Counts the imported and defined functions of `bytes` and their bodies' size,
/// without validating the module.
pub fn functions(bytes: &[u8]) -> Result<Functions, String> {
    let mut out = Functions {
        imported: 0,
        defined: 0,
        body_bytes: 0,
    };
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    if matches!(
                        import.ty,
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)
                    ) {
                        out.imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                out.defined += 1;
                let range = body.range();
                out.body_bytes += range.end - range.start;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// One "Compiled function" line of V8's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedFunction {
    /// The module's address as V8 prints it.
    pub module: String,
    /// Function index, imports included.
    pub index: u32,
    /// "Liftoff" or "TurboFan".
    pub tier: String,
    /// Bytes of generated code.
    pub code_bytes: u64,
}

/// Parses one line of `--trace-wasm-compilation-times`; `None` for any other line
/// (wrappers, the driver's reply).
pub fn parse_trace_line(line: &str) -> Option<TracedFunction> {
    let rest = line.trim().strip_prefix("Compiled function ")?;
    let (module, rest) = rest.split_once('#')?;
    let (index, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix("using ")?;
    let (tier, rest) = rest.split_once(',')?;
    let (_, size) = rest.rsplit_once(" codesize ")?;
    Some(TracedFunction {
        module: module.to_string(),
        index: index.parse().ok()?,
        tier: tier.to_string(),
        code_bytes: size.trim().parse().ok()?,
    })
}

/// Sums the code V8 generated for the defined functions of one module from the trace
/// in `stdout`; checks that exactly those functions were compiled, each once, by Liftoff.
pub fn liftoff_code_bytes(stdout: &str, functions: &Functions) -> Result<u64, String> {
    let traced: Vec<TracedFunction> = stdout.lines().filter_map(parse_trace_line).collect();
    let mut by_module: BTreeMap<&str, BTreeMap<u32, u64>> = BTreeMap::new();
    for f in &traced {
        if f.tier != "Liftoff" {
            return Err(format!("function #{} compiled by {}", f.index, f.tier));
        }
        let seen = by_module.entry(&f.module).or_default();
        if seen.insert(f.index, f.code_bytes).is_some() {
            return Err(format!("function #{} compiled twice", f.index));
        }
    }
    let sizes = match by_module.len() {
        0 if functions.defined == 0 => return Ok(0),
        1 => by_module.into_values().next().expect("one module"),
        n => {
            return Err(format!(
                "trace shows {n} modules with functions, expected 1"
            ));
        }
    };
    let first = functions.imported;
    let end = u64::from(first) + u64::from(functions.defined);
    if let Some(i) = sizes.keys().find(|&&i| i < first || u64::from(i) >= end) {
        return Err(format!(
            "trace names function #{i}, outside the defined functions #{first}..#{end}"
        ));
    }
    if sizes.len() != functions.defined as usize {
        return Err(format!(
            "trace shows {} compiled functions, the module defines {} (is \
             --trace-wasm-compilation-times still supported?)",
            sizes.len(),
            functions.defined
        ));
    }
    Ok(sizes.values().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "\
Compiled function 0x32471310#2 using Liftoff, took 0 ms and 16272 bytes; bodysize 61 codesize 172
Compiled function 0x32471310#3 using Liftoff, took 0 ms and 16352 bytes; bodysize 19 codesize 92
Compiled function 0x32471310#1 using Liftoff, took 0 ms and 16168 bytes; bodysize 16 codesize 96
Compiled WasmToJS wrapper wasm-to-js-5-i-i, took 0 ms; codesize 148
{\"ms\":1.2,\"ok\":true}
";

    const FUNCS: Functions = Functions {
        imported: 1,
        defined: 3,
        body_bytes: 96,
    };

    #[test]
    fn parses_function_lines_only() {
        let f = parse_trace_line(TRACE.lines().next().unwrap()).unwrap();
        assert_eq!(
            f,
            TracedFunction {
                module: "0x32471310".into(),
                index: 2,
                tier: "Liftoff".into(),
                code_bytes: 172,
            }
        );
        assert_eq!(parse_trace_line(TRACE.lines().nth(3).unwrap()), None);
        assert_eq!(parse_trace_line("{\"ok\":true}"), None);
        assert_eq!(
            parse_trace_line("Compiled function 0x1#x using Liftoff, codesize 1"),
            None
        );
    }

    #[test]
    fn sums_the_defined_functions() {
        assert_eq!(liftoff_code_bytes(TRACE, &FUNCS), Ok(172 + 92 + 96));
    }

    #[test]
    fn rejects_missing_duplicate_or_foreign_functions() {
        let missing: String = TRACE.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert!(liftoff_code_bytes(&missing, &FUNCS).is_err());
        let twice = format!("{TRACE}{}\n", TRACE.lines().next().unwrap());
        assert!(liftoff_code_bytes(&twice, &FUNCS).is_err());
        let turbofan = TRACE.replacen("using Liftoff", "using TurboFan", 1);
        assert!(liftoff_code_bytes(&turbofan, &FUNCS).is_err());
        let import = TRACE.replacen("#1 ", "#0 ", 1);
        assert!(liftoff_code_bytes(&import, &FUNCS).is_err());
        let other_module = TRACE.replacen("0x32471310#1", "0x99#1", 1);
        assert!(liftoff_code_bytes(&other_module, &FUNCS).is_err());
        let empty = Functions {
            imported: 0,
            defined: 0,
            body_bytes: 0,
        };
        assert_eq!(liftoff_code_bytes("", &empty), Ok(0));
    }

    #[test]
    fn counts_functions_of_a_module() {
        // (import "env" "f" (func)) (func) (func (nop))
        let wasm = [
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
            0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
            0x02, 0x09, 0x01, 0x03, b'e', b'n', b'v', 0x01, b'f', 0x00, 0x00, // import
            0x03, 0x03, 0x02, 0x00, 0x00, // function section
            0x0a, 0x08, 0x02, 0x02, 0x00, 0x0b, 0x03, 0x00, 0x01, 0x0b, // code section
        ];
        assert_eq!(
            functions(&wasm),
            Ok(Functions {
                imported: 1,
                defined: 2,
                body_bytes: 5,
            })
        );
    }
}
