//! `cargo xtask bench`: Kiln against V8 (node) and Wasmtime on decode, compile, run
//! and startup workloads. See `bench/README.md`.

mod codesize;
mod corpus;
mod decode;
mod kernels;
mod kiln;
mod peers;
mod plot;
mod report;
mod results;
mod runner;
mod stats;
mod tools;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use results::{Run, Status};

const USAGE: &str = "\
usage: cargo xtask bench [decode|compile|run|startup|codesize|all] [--quick] [--reps N]
                         [--compare OLD.json] [--peers node,wasmtime]

  decode    Kiln's decoder vs wasmparser's Validator, MB/s, real-world corpus
  compile   compile time of the real-world corpus (node, Wasmtime, Kiln tiers)
  run       run time of the C kernels under bench/kernels/
  startup   bytes to first result: compile + instantiate (+ first call), kernels and corpus
  codesize  bytes of machine code per byte of wasm, Kiln's baseline vs V8's Liftoff
  all       all of the above (the default)

  --quick         1-2 repetitions, smallest modules, small kernel sizes (smoke test)
  --reps N        repetitions per (workload, engine)
  --compare FILE  also show the change against an earlier results JSON
  --peers LIST    peers to run (default node,wasmtime); Kiln always runs
  --from-json F   measure nothing: rewrite tables and charts of an earlier results JSON

Output: Markdown on stdout and in target/bench/report.md, raw samples in
target/bench/results.json, SVG charts in target/bench/<benchmark>.svg.
Exits non-zero when a checksum disagrees, a peer crashes or is missing, or a tier
check fails. Kiln tiers that do not exist yet count neither as pass nor fail.";

/// Which benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bench {
    /// Decoder throughput.
    Decode,
    /// Compile time.
    Compile,
    /// Run time.
    Run,
    /// Bytes to first result.
    Startup,
    /// Machine code per byte of wasm.
    CodeSize,
}

impl Bench {
    const ALL: [Bench; 5] = [
        Bench::Decode,
        Bench::Compile,
        Bench::Run,
        Bench::Startup,
        Bench::CodeSize,
    ];

    fn parse(word: &str) -> Option<Vec<Bench>> {
        Some(match word {
            "decode" => vec![Bench::Decode],
            "compile" => vec![Bench::Compile],
            "run" => vec![Bench::Run],
            "startup" => vec![Bench::Startup],
            "codesize" => vec![Bench::CodeSize],
            "all" => Bench::ALL.to_vec(),
            _ => return None,
        })
    }

    /// Default repetitions of a full run (code size takes one sample: it does not vary).
    fn default_reps(self) -> usize {
        match self {
            Bench::CodeSize => 1,
            Bench::Compile => 3,
            Bench::Decode | Bench::Run | Bench::Startup => 5,
        }
    }
}

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Benchmarks to run, in order.
    pub benches: Vec<Bench>,
    /// Smoke mode.
    pub quick: bool,
    /// Repetitions, if given.
    pub reps: Option<usize>,
    /// Earlier results to compare with.
    pub compare: Option<PathBuf>,
    /// Peers to run.
    pub peers: Vec<peers::Peer>,
    /// Earlier results to report again instead of measuring.
    pub from_json: Option<PathBuf>,
}

impl Options {
    /// Repetitions for `bench`.
    pub fn reps_for(&self, bench: Bench) -> usize {
        match (self.reps, self.quick) {
            (Some(n), _) => n.max(1),
            (None, true) => 2,
            (None, false) => bench.default_reps(),
        }
    }
}

/// Parses the arguments after `bench`.
fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        benches: Vec::new(),
        quick: false,
        reps: None,
        compare: None,
        peers: vec![peers::Peer::Node, peers::Peer::Wasmtime],
        from_json: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--reps" => {
                let n = it.next().ok_or("--reps needs a number")?;
                opts.reps = Some(n.parse().map_err(|_| format!("bad --reps {n}"))?);
            }
            "--compare" => opts.compare = Some(it.next().ok_or("--compare needs a file")?.into()),
            "--peers" => opts.peers = parse_peers(it.next().ok_or("--peers needs a list")?)?,
            "--from-json" => {
                opts.from_json = Some(it.next().ok_or("--from-json needs a file")?.into())
            }
            word => match Bench::parse(word) {
                Some(b) => opts.benches.extend(b),
                None => return Err(format!("unknown argument {word}")),
            },
        }
    }
    if opts.benches.is_empty() {
        opts.benches = Bench::ALL.to_vec();
    }
    Ok(opts)
}

fn parse_peers(list: &str) -> Result<Vec<peers::Peer>, String> {
    list.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "node" => Ok(peers::Peer::Node),
            "wasmtime" => Ok(peers::Peer::Wasmtime),
            other => Err(format!("unknown peer {other} (known: node, wasmtime)")),
        })
        .collect()
}

/// The repository root (two levels above this crate).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Entry point of `cargo xtask bench ARGS`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    if args.first().map(String::as_str) == Some(decode::CHILD_COMMAND) {
        return decode::child_main(&args[1..]);
    }
    if args.first().map(String::as_str) == Some(peers::KILN_CHILD_COMMAND) {
        return peers::kiln_child_main(&args[1..]);
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return 0;
    }
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let repo = repo_root();
    let out_dir = repo.join("target").join("bench");
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        eprintln!("bench: {}: {e}", out_dir.display());
        return 1;
    }
    let run = match &opts.from_json {
        Some(path) => match read_run(path) {
            Ok(run) => run,
            Err(e) => {
                eprintln!("bench: --from-json: {e}");
                return 1;
            }
        },
        None => measure(&opts, &repo, &out_dir),
    };
    let ok = write_outputs(&run, &opts, &out_dir);
    let failures = count_failures(&run);
    if failures > 0 || !ok {
        eprintln!("bench: FAILED ({failures} failures; see the tables above)");
        1
    } else {
        println!("bench: ok");
        0
    }
}

/// Prepares the tools and inputs, then runs the selected benchmarks.
fn measure(opts: &Options, repo: &Path, out_dir: &Path) -> Run {
    let ctx = runner::Context::prepare(opts, repo, out_dir);
    Run {
        date: utc_now(),
        quick: opts.quick,
        environment: environment(&ctx),
        benches: opts.benches.iter().map(|b| ctx.run(*b)).collect(),
    }
}

/// Failures that make the run exit non-zero: errors, failed or missing cells.
fn count_failures(run: &Run) -> usize {
    run.benches
        .iter()
        .map(|b| {
            b.errors.len()
                + b.cells
                    .iter()
                    .filter(|c| matches!(c.status, Status::Failed | Status::Missing))
                    .count()
        })
        .sum()
}

/// Prints and writes the report, JSON and charts; false if writing failed.
fn write_outputs(run: &Run, opts: &Options, out_dir: &Path) -> bool {
    let md = report::markdown(run);
    println!("\n{md}");
    let mut ok = true;
    let stamp = run.date.replace([':', '-'], "");
    let json = serde_json::to_string_pretty(run).expect("serializable");
    let mut files = vec![(out_dir.join("report.md"), md.clone())];
    if opts.from_json.is_none() {
        files.push((out_dir.join("results.json"), json.clone()));
        files.push((out_dir.join(format!("results-{stamp}.json")), json));
    }
    for bench in &run.benches {
        files.push((
            out_dir.join(format!("{}.md", bench.name)),
            report::bench_markdown(bench),
        ));
        let svg = out_dir.join(format!("{}.svg", bench.name));
        match plot::write_svg(bench, &svg) {
            Ok(()) => println!("bench: wrote {}", relative(&svg)),
            Err(e) => println!("bench: no chart: {e}"),
        }
    }
    if let Some(old) = &opts.compare {
        match read_run(old) {
            Ok(old) => {
                let cmp = report::compare_markdown(&old, run);
                println!("{cmp}");
                files.push((out_dir.join("compare.md"), cmp));
            }
            Err(e) => {
                eprintln!("bench: --compare: {e}");
                ok = false;
            }
        }
    }
    for (path, text) in files {
        match std::fs::write(&path, text) {
            Ok(()) => println!("bench: wrote {}", relative(&path)),
            Err(e) => {
                eprintln!("bench: {}: {e}", path.display());
                ok = false;
            }
        }
    }
    ok
}

fn read_run(path: &Path) -> Result<Run, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `path` relative to the current directory when below it.
fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn utc_now() -> String {
    tools::capture(std::process::Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
        .map(|o| o.stdout.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Machine and tool versions recorded with the results.
fn environment(ctx: &runner::Context) -> BTreeMap<String, String> {
    let mut env = ctx.versions.clone();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    env.insert("cpu".into(), format!("{cpu}, {cores} cores"));
    if let Ok(v) = std::fs::read_to_string("/etc/debian_version") {
        env.insert("os".into(), format!("Debian {}", v.trim()));
    }
    env.insert(
        "kiln decoder".into(),
        if kiln::DECODER_IS_STAND_IN {
            "stand-in (wasmparser Validator) until kiln_decoder is connected".into()
        } else {
            "kiln_decoder::decode".into()
        },
    );
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_to_all_benchmarks_and_both_peers() {
        let o = parse_options(&[]).unwrap();
        assert_eq!(o.benches, Bench::ALL);
        assert_eq!(o.peers.len(), 2);
        assert_eq!(o.reps_for(Bench::Compile), 3);
    }

    #[test]
    fn parses_flags() {
        let o =
            parse_options(&args(&["run", "--quick", "--peers", "node", "--reps", "4"])).unwrap();
        assert_eq!(o.benches, [Bench::Run]);
        assert!(o.quick);
        assert_eq!(o.peers, [peers::Peer::Node]);
        assert_eq!(o.reps_for(Bench::Run), 4);
        assert!(parse_options(&args(&["--peers", "v8"])).is_err());
        assert!(parse_options(&args(&["fast"])).is_err());
    }
}
