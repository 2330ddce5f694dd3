//! Property: feeding any module to the streaming decoder split at random points gives the
//! same module, or the same error at the same offset, as `decode`. Run over every module of
//! the spec testsuite and over the benchmark corpus when it has been fetched.

use kiln_decoder::{Features, StreamingDecoder, decode};
use kiln_spec_harness::Suite;
use std::path::Path;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Splits `len` bytes at random points into 1..=16 ranges (some may be empty).
fn random_splits(len: usize, rng: &mut Rng) -> Vec<usize> {
    let pieces = 1 + rng.below(16);
    let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.below(len + 1)).collect();
    cuts.push(0);
    cuts.push(len);
    cuts.sort_unstable();
    cuts
}

fn check(wasm: &[u8], features: &Features, rng: &mut Rng, what: &str) {
    let expected = decode(wasm, features);
    for _ in 0..3 {
        let cuts = random_splits(wasm.len(), rng);
        let mut decoder = StreamingDecoder::new(features);
        for pair in cuts.windows(2) {
            if decoder.on_bytes_received(&wasm[pair[0]..pair[1]]).is_err() {
                break;
            }
        }
        let actual = decoder.finish();
        assert_eq!(actual, expected, "{what}: split at {cuts:?}");
    }
}

#[test]
fn streaming_matches_decode_on_spec_modules() {
    let Some(suite) = Suite::locate() else {
        eprintln!("spec testsuite not found (set KILN_SPEC_TESTSUITE); skipping");
        return;
    };
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut modules = 0;
    for (what, wasm) in suite.modules(None) {
        check(&wasm, &Features::default(), &mut rng, &what);
        check(&wasm, &Features::all(), &mut rng, &what);
        modules += 1;
    }
    println!("{modules} modules checked");
    assert!(modules > 5000, "only {modules} modules found");
}

#[test]
fn streaming_matches_decode_on_corpus() {
    // Fetched by `cargo xtask bench`; absent on a fresh clone.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/cache");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("benchmark corpus not fetched; skipping");
        return;
    };
    let mut rng = Rng(0x5eed_0000_0000_0002);
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let wasm = std::fs::read(&path).unwrap();
            check(
                &wasm,
                &Features::all(),
                &mut rng,
                &path.display().to_string(),
            );
        }
    }
}
