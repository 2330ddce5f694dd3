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

/// A decoder under test.
type DecodeFn = fn(&[u8]) -> Result<(), String>;

/// Each sample of a decoder is made of this many batches, alternating with the
/// other decoder's batches.
const ROUNDS: usize = 6;

/// Each batch repeats decoding until it lasts at least this long.
const MIN_BATCH: Duration = Duration::from_millis(8);

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
    for _ in 0..reps {
        for (m, b) in modules.iter_mut().zip(&bytes) {
            sample_pair(m, b);
        }
    }
    println!("{}", serde_json::to_string(&modules).expect("serializable"));
    0
}

/// Takes one sample of each decoder on one module. The sample is split into
/// `ROUNDS` short batches that alternate between the two decoders, so a burst of
/// load on the machine slows both alike instead of one of them.
fn sample_pair(m: &mut ModuleSamples, bytes: &[u8]) {
    if m.reference_error.is_some() || m.kiln_error.is_some() {
        return;
    }
    let decoders: [DecodeFn; 2] = [kiln::reference_validate, kiln::decode];
    let mut total = [Duration::ZERO; 2];
    let mut count = [0u32; 2];
    for round in 0..ROUNDS {
        for k in 0..2 {
            let which = (k + round) % 2;
            match time_batch(bytes, decoders[which]) {
                Ok((elapsed, n)) => {
                    total[which] += elapsed;
                    count[which] += n;
                }
                Err(e) => {
                    let slot = if which == 0 {
                        &mut m.reference_error
                    } else {
                        &mut m.kiln_error
                    };
                    *slot = Some(e);
                    return;
                }
            }
        }
    }
    let ms = |k: usize| total[k].as_secs_f64() * 1e3 / f64::from(count[k]);
    m.reference_ms.push(ms(0));
    m.kiln_ms.push(ms(1));
}

/// Decodes repeatedly for at least `MIN_BATCH` (at least once); returns the time
/// and the number of decodes.
fn time_batch(
    bytes: &[u8],
    decode: fn(&[u8]) -> Result<(), String>,
) -> Result<(Duration, u32), String> {
    let start = Instant::now();
    let mut n = 0;
    loop {
        decode(std::hint::black_box(bytes))?;
        n += 1;
        let elapsed = start.elapsed();
        if elapsed >= MIN_BATCH {
            return Ok((elapsed, n));
        }
    }
}
