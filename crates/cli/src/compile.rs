//! `kiln compile FILE [--tier baseline|opt] [--threads N] [--print-code] [--stats]`.

use kiln_engine::{Engine, EngineConfig, Tier};
use std::path::Path;

/// Runs the command; returns the exit status.
pub fn run(args: &[String]) -> i32 {
    match try_run(args) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

fn try_run(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut config = EngineConfig::default();
    let mut print_code = false;
    let mut stats = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--print-code" => print_code = true,
            "--stats" => stats = true,
            "--threads" => {
                let n = args.next().ok_or("--threads needs a number")?;
                config.compile_threads = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("bad thread count {n}"))?;
            }
            "--tier" => match args.next().map(String::as_str) {
                Some("baseline") => config.tier = Tier::Baseline,
                Some("opt") => config.tier = Tier::Optimized,
                other => return Err(format!("unknown tier {other:?}: expected baseline or opt")),
            },
            _ if file.is_none() => file = Some(arg.clone()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let file = file.ok_or("missing FILE")?;
    let wasm = crate::input::read_module(Path::new(&file))?;
    let engine = Engine::new(config);
    let compiled = engine.compile(&wasm).map_err(|e| format!("{file}: {e}"))?;
    let module = compiled.module();
    println!(
        "{file}: compiled {} functions with the {} tier on {} threads in {:.3} ms: {} bytes of wasm, {} bytes of code",
        module.num_defined_functions(),
        match config.tier {
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimizing",
        },
        config.compile_threads,
        compiled.compile_time().as_secs_f64() * 1e3,
        wasm.len(),
        compiled.code_size()
    );
    if stats && config.tier == Tier::Optimized {
        print!("{}", kiln_engine::opt_statistics().take());
    }
    if print_code {
        print_functions(&compiled)?;
    }
    Ok(())
}

#[cfg(feature = "disasm")]
fn print_functions(compiled: &kiln_engine::CompiledModule) -> Result<(), String> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    use std::fmt::Write as _;
    use std::io::Write as _;
    let module = compiled.module();
    let mut formatter = IntelFormatter::new();
    let mut out = String::new();
    for index in module.num_imported_functions..module.functions.len() as u32 {
        let code = compiled
            .native_module()
            .code(index)
            .ok_or(format!("function {index} has no code"))?;
        let name = module
            .function_name(index)
            .map(|n| format!(" ${n}"))
            .unwrap_or_default();
        let _ = writeln!(out, "\nfunction {index}{name}:");
        // Addresses relative to the function's start, so branch targets read as offsets.
        let mut decoder = Decoder::with_ip(64, code.instructions(), 0, DecoderOptions::NONE);
        let mut positions = code.source_positions().iter().peekable();
        let mut text = String::new();
        for instruction in &mut decoder {
            let offset = instruction.ip() as u32;
            while let Some(p) = positions.next_if(|p| p.pc_offset <= offset) {
                let _ = writeln!(out, "  ;; wasm @{:#x}", p.wasm_offset);
            }
            text.clear();
            formatter.format(&instruction, &mut text);
            let _ = writeln!(out, "  {offset:6x}: {text}");
        }
    }
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}

#[cfg(not(feature = "disasm"))]
fn print_functions(_: &kiln_engine::CompiledModule) -> Result<(), String> {
    Err("--print-code needs the `disasm` feature of kiln-cli".into())
}
