//! The decode benchmark: validation + decoding throughput of Kiln's decoder against
//! wasmparser's bare `Validator`, in-process, on the real-world corpus.
//!
//! `cargo xtask` builds in the dev profile, where workspace crates are unoptimized. So
//! that both decoders are compared as shipped, the measurement runs in the optimized
//! child build of [`kiln::optimized_child`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::kiln;
use super::tools::capture;

/// Hidden subcommand the child runs.
pub const CHILD_COMMAND: &str = "__decode-samples";

/// Each timed sample repeats decoding until it lasts at least this long.
const MIN_SAMPLE: Duration = Duration::from_millis(30);

/// Samples of one module, in milliseconds per full decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleSamples {
    /// The module file.
    pub file: PathBuf,
    /// wasmparser's `Validator`.
    pub reference_ms: Vec<f64>,
    /// Kiln's decoder.
    pub kiln_ms: Vec<f64>,
    /// Error from the reference, if it rejected the module.
    pub reference_error: Option<String>,
    /// Error from Kiln's decoder, if it rejected the module.
    pub kiln_error: Option<String>,
}

/// Measures `files` in an optimized child process, `reps` samples each.
pub fn measure(files: &[PathBuf], reps: usize) -> Result<Vec<ModuleSamples>, String> {
    let mut cmd = kiln::optimized_child();
    cmd.args(["bench", CHILD_COMMAND, &reps.to_string()]);
    cmd.args(files);
    println!("bench: decode runs in an optimized build of Kiln and wasmparser");
    let out = capture(&mut cmd)?;
    if !out.success {
        return Err(format!("decode child failed: {}", out.stderr.trim()));
    }
    serde_json::from_str(out.stdout.trim()).map_err(|e| format!("decode child output: {e}"))
}

/// The child's entry point: prints the samples of every module as JSON.
pub fn child_main(args: &[String]) -> i32 {
    let Some(reps) = args.first().and_then(|r| r.parse::<usize>().ok()) else {
        eprintln!("usage: bench {CHILD_COMMAND} REPS FILE...");
        return 2;
    };
    let mut modules: Vec<ModuleSamples> = args[1..]
        .iter()
        .map(|f| ModuleSamples {
            file: f.into(),
            reference_ms: Vec::new(),
            kiln_ms: Vec::new(),
            reference_error: None,
            kiln_error: None,
        })
        .collect();
    let bytes: Vec<Vec<u8>> = match modules.iter().map(|m| std::fs::read(&m.file)).collect() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    // Alternate which decoder goes first from one repetition to the next.
    for rep in 0..reps {
        for (m, b) in modules.iter_mut().zip(&bytes) {
            if rep % 2 == 0 {
                sample_into(
                    &mut m.reference_ms,
                    &mut m.reference_error,
                    b,
                    kiln::reference_validate,
                );
                sample_into(&mut m.kiln_ms, &mut m.kiln_error, b, kiln::decode);
            } else {
                sample_into(&mut m.kiln_ms, &mut m.kiln_error, b, kiln::decode);
                sample_into(
                    &mut m.reference_ms,
                    &mut m.reference_error,
                    b,
                    kiln::reference_validate,
                );
            }
        }
    }
    println!("{}", serde_json::to_string(&modules).expect("serializable"));
    0
}

fn sample_into(
    samples: &mut Vec<f64>,
    error: &mut Option<String>,
    bytes: &[u8],
    decode: fn(&[u8]) -> Result<(), String>,
) {
    if error.is_some() {
        return;
    }
    match time_decode(bytes, decode) {
        Ok(ms) => samples.push(ms),
        Err(e) => *error = Some(e),
    }
}

/// Milliseconds per decode, averaged over enough repetitions to last `MIN_SAMPLE`.
fn time_decode(bytes: &[u8], decode: fn(&[u8]) -> Result<(), String>) -> Result<f64, String> {
    let start = Instant::now();
    decode(bytes)?;
    let once = start.elapsed();
    let iterations = (MIN_SAMPLE.as_secs_f64() / once.as_secs_f64().max(1e-6)).ceil() as u32;
    let iterations = iterations.max(1);
    let start = Instant::now();
    for _ in 0..iterations {
        decode(std::hint::black_box(bytes))?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e3 / f64::from(iterations))
}
