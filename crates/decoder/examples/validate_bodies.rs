//! Validates every function body of a module on one thread, several times over, and prints
//! the best time: the function validator's throughput on a real module, for A/B comparisons.
//!
//! `cargo run --release -p kiln-decoder --example validate_bodies -- FILE [PASSES]`

use std::sync::Arc;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let file = args.next().expect("usage: validate_bodies FILE [PASSES]");
    let passes: usize = args.next().map_or(5, |p| p.parse().expect("a number"));
    let bytes: Arc<[u8]> = std::fs::read(&file).expect("readable file").into();
    let features = kiln_decoder::Features::default();
    let mut scratch = kiln_decoder::ValidatorScratch::default();
    let mut best = f64::INFINITY;
    let mut code_bytes = 0;
    for _ in 0..passes {
        // Validating consumes each deferred function: decode again, untimed.
        let (module, functions) =
            kiln_decoder::decode_deferred(bytes.clone(), &features).expect("decodes");
        code_bytes = module
            .functions
            .iter()
            .filter_map(|f| f.body.as_ref())
            .map(|body| body.len())
            .sum::<usize>();
        let start = Instant::now();
        for f in functions {
            f.validate(&module, &mut scratch).expect("valid");
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{file}: {code_bytes} bytes of bodies, best of {passes}: {best:.2} ms ({:.0} MB/s)",
        code_bytes as f64 / best / 1e3
    );
}
