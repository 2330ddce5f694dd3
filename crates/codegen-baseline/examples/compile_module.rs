//! Compiles every defined function of a module with the baseline tier on one thread, several
//! times, and prints the fastest pass: `compile_module FILE [PASSES]`. Decoding and
//! validation happen once, outside the timing.

use kiln_codegen_baseline::{CompileEnv, CompileOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: compile_module FILE [PASSES]");
    let passes: usize = args.next().map_or(5, |p| p.parse().expect("a number"));
    let wasm = std::fs::read(&file).expect("readable file");
    let module = kiln_decoder::decode(&wasm, &Default::default()).expect("valid module");
    let env = CompileEnv::new(&module);
    let options = CompileOptions::default();
    let first = module.num_imported_functions;
    let last = module.functions.len() as u32;
    let mut best = f64::INFINITY;
    let mut code = 0;
    for _ in 0..passes {
        let start = Instant::now();
        code = compile_all(&env, &options, first..last);
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    if std::env::var_os("FINGERPRINT").is_some() {
        println!(
            "fingerprint {:016x}",
            fingerprint(&env, &options, first..last)
        );
    }
    println!(
        "{file}: {} functions, {code} bytes of code, best of {passes}: {best:.1} ms",
        last - first
    );
}

/// One pass over the functions; a separate function so profilers can single it out.
#[inline(never)]
fn compile_all(
    env: &CompileEnv<'_>,
    options: &CompileOptions,
    funcs: std::ops::Range<u32>,
) -> usize {
    funcs
        .map(|i| env.compile(i, options).expect("compiles").code.len())
        .sum()
}

/// A hash of every function's code and tables, to tell whether a change altered the output.
fn fingerprint(env: &CompileEnv<'_>, options: &CompileOptions, funcs: std::ops::Range<u32>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for i in funcs {
        let f = env.compile(i, options).expect("compiles");
        f.code.hash(&mut h);
        format!(
            "{:?} {:?} {:?} {}",
            f.relocations, f.trap_sites, f.source_positions, f.frame_size
        )
        .hash(&mut h);
    }
    h.finish()
}
