//! Preparing the tools and inputs once, then running each benchmark: peers and Kiln
//! alternate per workload within each repetition, and the engine order rotates from
//! one repetition to the next.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::codesize;
use super::corpus;
use super::decode;
use super::kernels::{self, KERNELS, Kernel};
use super::kiln;
use super::peers::{self, Drivers, Engine, Op, Peer};
use super::report::format_value;
use super::results::{BenchResult, Cell, Quantity, Status, TierCheck, Workload};
use super::tools;
use super::{Bench, Options};

/// The kernel and argument used for tier checks.
const TIER_CHECK_KERNEL: &str = "fib";
const TIER_CHECK_ARG: i32 = 22;

/// Everything prepared before measuring.
#[derive(Debug)]
pub struct Context {
    opts: Options,
    repo: PathBuf,
    out_dir: PathBuf,
    /// Tool versions, recorded with the results.
    pub versions: BTreeMap<String, String>,
    drivers: Drivers,
    node: Result<(), String>,
    wasmtime: Result<(), String>,
    corpus: Result<Vec<corpus::Module>, String>,
    kernels: Result<Vec<(Kernel, PathBuf)>, String>,
}

impl Context {
    /// Finds or installs the tools, fetches the corpus and builds the kernels.
    pub fn prepare(opts: &Options, repo: &Path, out_dir: &Path) -> Context {
        let mut versions = BTreeMap::new();
        let node = tools::ensure_node().map(|v| {
            versions.insert("node".into(), v);
        });
        // Decode and code size do not run Wasmtime: no need to install it for them alone.
        let wants_wasmtime = opts.peers.contains(&Peer::Wasmtime)
            && opts
                .benches
                .iter()
                .any(|b| matches!(b, Bench::Compile | Bench::Run | Bench::Startup));
        let python = if wants_wasmtime {
            tools::ensure_wasmtime_python(&out_dir.join("venv"))
        } else {
            Err("not selected".into())
        };
        if python.is_ok() {
            let v = format!("{} (Python package)", tools::WASMTIME_PY_VERSION);
            versions.insert("wasmtime".into(), v);
        }
        let kernels = tools::ensure_clang().and_then(|v| {
            versions.insert("clang".into(), v);
            let files = kernels::build_all(repo, &out_dir.join("kernels"))?;
            Ok(KERNELS.iter().copied().zip(files).collect())
        });
        let wants_corpus = opts.benches.iter().any(|b| {
            matches!(
                b,
                Bench::Decode | Bench::Compile | Bench::Startup | Bench::CodeSize
            )
        });
        let corpus = match (&node, wants_corpus) {
            (_, false) => Ok(Vec::new()),
            (Err(e), true) => Err(format!("npm is needed to fetch the corpus: {e}")),
            (Ok(()), true) => load_corpus(repo, &out_dir.join("cache"), opts.quick),
        };
        Context {
            opts: opts.clone(),
            repo: repo.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            versions,
            drivers: Drivers {
                dir: repo.join("bench").join("drivers"),
                python: python.as_ref().ok().cloned(),
            },
            node,
            wasmtime: python.map(drop),
            corpus,
            kernels,
        }
    }

    /// Runs one benchmark.
    pub fn run(&self, bench: Bench) -> BenchResult {
        let reps = self.opts.reps_for(bench);
        match bench {
            Bench::Decode => self.run_decode(reps),
            Bench::Compile => self.run_peers(
                "compile",
                "Time of `new WebAssembly.Module(bytes)` in node and `wasmtime.Module(engine, bytes)` \
                 in Python, in-process, lazy compilation and caches off; `-1t` = one compile thread.",
                peers::COMPILE_ENGINES,
                self.corpus_jobs(Op::Compile),
                reps,
            ),
            Bench::Run => {
                let mut result = self.run_peers(
                    "run",
                    "Time of one call of each C kernel's `run(n)` after instantiation (node-default \
                     includes V8's dynamic tier-up; its final tier is shown). Checksums must agree \
                     with each other and with a native build.",
                    peers::RUN_ENGINES,
                    self.kernel_jobs(|k| Op::Run(k.arg(self.opts.quick))),
                    reps,
                );
                self.check_native_checksums(&mut result);
                result
            }
            Bench::Startup => self.run_peers(
                "startup",
                "Bytes to first result, in-process (engine already created): compile + instantiate \
                 (function imports stubbed to trap) + the return of a first call: `cheap()` for \
                 kernels, a stack getter or allocator for corpus modules (bench/corpus.tsv). \
                 node-default keeps V8's lazy compilation.",
                peers::STARTUP_ENGINES,
                self.startup_jobs(),
                reps,
            ),
            Bench::CodeSize => self.run_codesize(),
        }
    }

    /// Code size of the baseline tiers: one compilation per (module, engine), since
    /// the code generated does not change from one run to the next.
    fn run_codesize(&self) -> BenchResult {
        let engines: Vec<Engine> = peers::CODESIZE_ENGINES
            .iter()
            .copied()
            .filter(|e| e.peer == Peer::Kiln || self.opts.peers.contains(&e.peer))
            .collect();
        let mut result = empty_result(
            "codesize",
            "Bytes of machine code generated for the defined functions per byte of their wasm \
             bodies, every function compiled eagerly: node-liftoff sums the per-function sizes \
             V8 prints under `--liftoff-only --trace-wasm-compilation-times` (wrappers \
             excluded); kiln-baseline is `CompiledModule::code_size()`.",
            false,
            &engines,
            "node-liftoff",
        );
        result.quantity = Quantity::CodeSize;
        let mut jobs = match self.kernel_jobs(|_| Op::CodeSize) {
            Ok(j) => j,
            Err(e) => {
                result.errors.push(format!("no kernels: {e}"));
                Vec::new()
            }
        };
        match self.corpus_jobs(Op::CodeSize) {
            Ok(j) => jobs.extend(j),
            Err(e) => result.errors.push(format!("no corpus: {e}")),
        }
        let mut functions = Vec::new();
        for job in &mut jobs {
            let f = std::fs::read(&job.file)
                .map_err(|e| format!("{}: {e}", job.file.display()))
                .and_then(|bytes| codesize::functions(&bytes));
            if let Ok(f) = &f {
                job.workload.body_bytes = Some(f.body_bytes);
            }
            functions.push(f);
        }
        self.set_up_cells(&mut result, &jobs, &engines);
        println!(
            "bench: codesize: {} workloads x {} engines",
            jobs.len(),
            engines.len()
        );
        for (job, funcs) in jobs.iter().zip(&functions) {
            for engine in &engines {
                let cell = result
                    .cell_mut(&job.workload.name, engine.name)
                    .expect("cell exists");
                if cell.status == Status::Ok {
                    self.code_size_sample(cell, job, engine, funcs);
                }
            }
        }
        result
    }

    /// Measures one code size cell.
    fn code_size_sample(
        &self,
        cell: &mut Cell,
        job: &Job,
        engine: &Engine,
        funcs: &Result<codesize::Functions, String>,
    ) {
        let outcome = funcs.clone().and_then(|funcs| {
            let reply = self
                .drivers
                .measure(engine, job.op, &job.file, job.call.as_deref())?;
            let bytes = match engine.peer {
                Peer::Node => codesize::liftoff_code_bytes(&reply.stdout, &funcs)?,
                _ => match (reply.code_bytes, reply.unsupported) {
                    (Some(n), _) => n,
                    (None, Some(why)) => return Ok(Err(why)),
                    (None, None) => return Err("no code size in the reply".into()),
                },
            };
            Ok(Ok((bytes, funcs.body_bytes)))
        });
        match outcome {
            Ok(Ok((code, body))) => {
                let per_byte = code as f64 / body.max(1) as f64;
                println!(
                    "bench: codesize {} {}: {code} bytes, {per_byte:.2} per wasm byte",
                    job.workload.name, engine.name
                );
                cell.samples_ms = vec![per_byte];
                cell.code_bytes = Some(code);
            }
            Ok(Err(why)) => {
                println!(
                    "bench: codesize {} {}: unsupported: {why}",
                    job.workload.name, engine.name
                );
                cell.status = Status::NotImplemented;
                cell.note = Some(format!("cannot compile the module ({why})"));
            }
            Err(e) => {
                println!(
                    "bench: codesize {} {}: FAILED: {e}",
                    job.workload.name, engine.name
                );
                cell.status = Status::Failed;
                cell.note = Some(e);
            }
        }
    }

    /// Compares every engine's checksum with a native build of each kernel.
    fn check_native_checksums(&self, result: &mut BenchResult) {
        let mut mismatches = Vec::new();
        for kernel in KERNELS {
            let arg = kernel.arg(self.opts.quick);
            let native = match kernels::native_checksum(
                &self.repo,
                &self.out_dir.join("kernels"),
                kernel,
                arg,
            ) {
                Ok(c) => c,
                Err(e) => {
                    result.errors.push(e);
                    continue;
                }
            };
            for c in result.cells.iter().filter(|c| c.workload == kernel.name) {
                if let Some(sum) = c.checksum.as_deref().filter(|s| *s != native) {
                    mismatches.push(format!(
                        "{} on {}: {sum}, native {native}",
                        c.engine, kernel.name
                    ));
                }
            }
        }
        if mismatches.is_empty() {
            result
                .notes
                .push("Checksums: every measured engine returned the result of a native `clang -O2` build.".into());
        } else {
            result.errors.push(format!(
                "checksum differs from the native build: {}",
                mismatches.join("; ")
            ));
        }
    }

    fn corpus_jobs(&self, op: Op) -> Result<Vec<Job>, String> {
        let modules = self.corpus.as_ref().map_err(Clone::clone)?;
        Ok(modules
            .iter()
            .map(|m| Job {
                workload: Workload {
                    name: m.entry.name.clone(),
                    bytes: m.entry.bytes,
                    detail: format!("{}, {}", m.entry.package, m.entry.toolchain),
                    body_bytes: None,
                },
                file: m.file.clone(),
                op,
                call: matches!(op, Op::Startup).then(|| m.entry.first_call.clone()),
            })
            .collect())
    }

    /// Kernels, then the corpus: bytes to the return of a first call (`cheap()` for the
    /// kernels, the corpus list's first call for real modules).
    fn startup_jobs(&self) -> Result<Vec<Job>, String> {
        let mut jobs = self.kernel_jobs(|_| Op::Startup)?;
        jobs.extend(self.corpus_jobs(Op::Startup)?);
        Ok(jobs)
    }

    /// Lists the workloads, gives every (workload, engine) pair an empty cell and checks each
    /// engine's tier: what every peer benchmark does before measuring.
    fn set_up_cells(&self, result: &mut BenchResult, jobs: &[Job], engines: &[Engine]) {
        result.workloads = jobs.iter().map(|j| j.workload.clone()).collect();
        for job in jobs {
            for e in engines {
                result.cells.push(self.initial_cell(&job.workload.name, e));
            }
        }
        for e in engines {
            self.check_tier(result, e);
        }
    }

    fn kernel_jobs(&self, op: impl Fn(&Kernel) -> Op) -> Result<Vec<Job>, String> {
        let kernels = self.kernels.as_ref().map_err(Clone::clone)?;
        Ok(kernels
            .iter()
            .map(|(k, file)| Job {
                workload: Workload {
                    name: k.name.to_string(),
                    bytes: std::fs::metadata(file).map_or(0, |m| m.len()),
                    detail: k.what.to_string(),
                    body_bytes: None,
                },
                file: file.clone(),
                op: op(k),
                call: Some("cheap".to_string()),
            })
            .collect())
    }

    /// Whether a peer can run, and why not.
    fn availability(&self, peer: Peer) -> Result<(), String> {
        if peer != Peer::Kiln && !self.opts.peers.contains(&peer) {
            return Err(format!("{} not selected by --peers", peer.name()));
        }
        match peer {
            Peer::Node => self.node.clone(),
            Peer::Wasmtime => self.wasmtime.clone(),
            Peer::Kiln => Ok(()),
        }
    }

    fn run_peers(
        &self,
        name: &str,
        measures: &str,
        all_engines: &[Engine],
        jobs: Result<Vec<Job>, String>,
        reps: usize,
    ) -> BenchResult {
        let engines: Vec<Engine> = all_engines
            .iter()
            .copied()
            .filter(|e| e.peer == Peer::Kiln || self.opts.peers.contains(&e.peer))
            .collect();
        let mut result = empty_result(name, measures, false, &engines, engines[0].name);
        let jobs = match jobs {
            Ok(j) => j,
            Err(e) => {
                result.errors.push(format!("no workloads: {e}"));
                return result;
            }
        };
        self.set_up_cells(&mut result, &jobs, &engines);
        println!(
            "bench: {name}: {} workloads x {} engines x {reps} repetitions",
            jobs.len(),
            engines.len()
        );
        for rep in 0..reps {
            for job in &jobs {
                for k in 0..engines.len() {
                    let engine = &engines[(k + rep) % engines.len()];
                    self.sample(&mut result, job, engine, rep);
                }
            }
        }
        check_checksums(&mut result);
        result
    }

    fn initial_cell(&self, workload: &str, engine: &Engine) -> Cell {
        if let Some(tier) = engine.kiln_tier
            && !kiln::tier_available(tier)
        {
            return Cell::new(
                workload,
                engine.name,
                Status::NotImplemented,
                Some(format!("tier {tier}")),
            );
        }
        match self.availability(engine.peer) {
            Ok(()) => Cell::new(workload, engine.name, Status::Ok, None),
            Err(e) => Cell::new(workload, engine.name, Status::Missing, Some(e)),
        }
    }

    /// Verifies that `engine` really runs the tier it claims; fails its cells if not.
    fn check_tier(&self, result: &mut BenchResult, engine: &Engine) {
        if engine.peer == Peer::Kiln || self.availability(engine.peer).is_err() {
            return;
        }
        let mut version = None;
        let (observed, ok) = match self.observe_tier(engine) {
            Ok((tier, v)) => {
                version = v;
                let ok = engine.expect_tier.is_none_or(|t| t == tier);
                (tier, ok)
            }
            Err(e) => (format!("check failed: {e}"), false),
        };
        println!(
            "bench: {}: tier check {}: observed {observed}",
            result.name, engine.name
        );
        if !ok {
            let note = format!(
                "tier check: expected {}, observed {observed}",
                engine.expect_tier.unwrap_or("any")
            );
            for c in result.cells.iter_mut().filter(|c| c.engine == engine.name) {
                c.status = Status::Failed;
                c.note = Some(note.clone());
            }
        }
        result.tier_checks.push(TierCheck {
            engine: engine.name.to_string(),
            expected: engine.expect_tier.map(String::from),
            observed,
            ok,
            engine_version: version,
        });
    }

    /// The tier a short run of the tier-check kernel ends in, and the engine version.
    fn observe_tier(&self, engine: &Engine) -> Result<(String, Option<String>), String> {
        let kernels = self.kernels.as_ref().map_err(Clone::clone)?;
        let (_, file) = kernels
            .iter()
            .find(|(k, _)| k.name == TIER_CHECK_KERNEL)
            .ok_or("tier-check kernel missing")?;
        let reply = self
            .drivers
            .measure(engine, Op::Verify(TIER_CHECK_ARG), file, None)?;
        let tier = reply.tier.ok_or("driver reported no tier")?;
        Ok((tier, reply.engine_version))
    }

    /// Takes one sample of `job` on `engine` into its cell.
    fn sample(&self, result: &mut BenchResult, job: &Job, engine: &Engine, rep: usize) {
        let bench = result.name.clone();
        let cell = result
            .cell_mut(&job.workload.name, engine.name)
            .expect("cell exists");
        if cell.status != Status::Ok {
            return;
        }
        match self
            .drivers
            .measure(engine, job.op, &job.file, job.call.as_deref())
        {
            Ok(reply) => {
                println!(
                    "bench: {bench} #{} {} {}: {} ms",
                    rep + 1,
                    job.workload.name,
                    engine.name,
                    format_value(reply.ms)
                );
                record(cell, engine, reply);
            }
            Err(e) => {
                println!(
                    "bench: {bench} {} {}: FAILED: {e}",
                    job.workload.name, engine.name
                );
                cell.status = Status::Failed;
                cell.note = Some(e);
            }
        }
    }

    fn run_decode(&self, reps: usize) -> BenchResult {
        let stand_in = if kiln::DECODER_IS_STAND_IN {
            " Kiln's decoder is not connected yet: `kiln-decoder` currently runs a wasmparser stand-in."
        } else {
            ""
        };
        let measures = format!(
            "Validation + decoding throughput in-process (optimized build), WebAssembly 2.0 + SIMD; \
             target: Kiln ≥ 0.8× wasmparser.{stand_in}"
        );
        let engines = [DECODE_REFERENCE, DECODE_KILN];
        let mut result = empty_result("decode", &measures, true, &[], DECODE_REFERENCE);
        result.engines = engines.iter().map(|s| s.to_string()).collect();
        result.comparisons = vec![(DECODE_KILN.into(), DECODE_REFERENCE.into())];
        let jobs = match self.corpus_jobs(Op::Compile) {
            Ok(j) => j,
            Err(e) => {
                result.errors.push(format!("no workloads: {e}"));
                return result;
            }
        };
        result.workloads = jobs.iter().map(|j| j.workload.clone()).collect();
        let files: Vec<PathBuf> = jobs.iter().map(|j| j.file.clone()).collect();
        match decode::measure(&files, reps) {
            Ok(samples) => {
                for (job, s) in jobs.iter().zip(samples) {
                    let w = &job.workload.name;
                    result.cells.push(decode_cell(
                        w,
                        DECODE_REFERENCE,
                        s.reference_ms,
                        s.reference_error,
                    ));
                    result
                        .cells
                        .push(decode_cell(w, DECODE_KILN, s.kiln_ms, s.kiln_error));
                }
            }
            Err(e) => result.errors.push(e),
        }
        result
    }
}

const DECODE_REFERENCE: &str = "wasmparser-validator";
const DECODE_KILN: &str = "kiln-decoder";

/// One unit of work: a workload file and what to do with it.
#[derive(Debug, Clone)]
struct Job {
    workload: Workload,
    file: PathBuf,
    op: Op,
    /// The export a startup measurement calls.
    call: Option<String>,
}

fn empty_result(
    name: &str,
    measures: &str,
    throughput: bool,
    engines: &[Engine],
    reference: &str,
) -> BenchResult {
    let comparisons = peers::COMPARISONS
        .iter()
        .filter(|(k, p)| {
            engines.iter().any(|e| e.name == *k) && engines.iter().any(|e| e.name == *p)
        })
        .map(|(k, p)| (k.to_string(), p.to_string()))
        .collect();
    BenchResult {
        name: name.into(),
        measures: measures.into(),
        throughput,
        quantity: Quantity::Time,
        reference: reference.into(),
        workloads: Vec::new(),
        engines: engines.iter().map(|e| e.name.to_string()).collect(),
        comparisons,
        cells: Vec::new(),
        tier_checks: Vec::new(),
        errors: Vec::new(),
        notes: Vec::new(),
    }
}

fn decode_cell(workload: &str, engine: &str, samples: Vec<f64>, error: Option<String>) -> Cell {
    let status = if error.is_some() {
        Status::Failed
    } else {
        Status::Ok
    };
    let mut cell = Cell::new(workload, engine, status, error);
    cell.samples_ms = samples;
    cell
}

/// Adds a driver's reply to a cell, failing the cell if the checksum changed between
/// repetitions or the code ran in the wrong tier.
fn record(cell: &mut Cell, engine: &Engine, reply: peers::Reply) {
    if let (Some(old), Some(new)) = (&cell.checksum, &reply.checksum)
        && old != new
    {
        cell.status = Status::Failed;
        cell.note = Some(format!(
            "checksum changed between repetitions: {old} then {new}"
        ));
        return;
    }
    if let (Some(want), Some(seen)) = (engine.expect_tier, &reply.tier)
        && want != seen
    {
        cell.status = Status::Failed;
        cell.note = Some(format!("ran in {seen}, expected {want}"));
        return;
    }
    cell.samples_ms.push(reply.ms);
    cell.checksum = reply.checksum.or(cell.checksum.take());
    cell.tier = reply.tier.or(cell.tier.take());
}

/// Every engine must return the same checksum for a workload.
fn check_checksums(result: &mut BenchResult) {
    for w in &result.workloads {
        let seen: BTreeSet<&str> = result
            .cells
            .iter()
            .filter(|c| c.workload == w.name && c.status == Status::Ok)
            .filter_map(|c| c.checksum.as_deref())
            .collect();
        if seen.len() > 1 {
            let by_engine: Vec<String> = result
                .cells
                .iter()
                .filter(|c| c.workload == w.name)
                .filter_map(|c| Some(format!("{}={}", c.engine, c.checksum.as_deref()?)))
                .collect();
            result.errors.push(format!(
                "checksum disagreement on {}: {}",
                w.name,
                by_engine.join(", ")
            ));
        }
    }
}

/// Reads the corpus list and fetches the modules (the two smallest with `--quick`).
fn load_corpus(repo: &Path, cache: &Path, quick: bool) -> Result<Vec<corpus::Module>, String> {
    let mut entries = corpus::load_list(repo)?;
    if quick {
        entries.truncate(2);
    }
    entries.iter().map(|e| corpus::fetch(e, cache)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(engine: &str, checksum: &str) -> Cell {
        let mut c = Cell::new("fib", engine, Status::Ok, None);
        c.samples_ms = vec![1.0];
        c.checksum = Some(checksum.into());
        c
    }

    fn result_with(cells: Vec<Cell>) -> BenchResult {
        let mut r = empty_result("run", "", false, &[], "node-liftoff");
        r.workloads = vec![Workload {
            name: "fib".into(),
            bytes: 1,
            detail: String::new(),
            body_bytes: None,
        }];
        r.cells = cells;
        r
    }

    #[test]
    fn disagreeing_checksums_are_an_error() {
        let mut r = result_with(vec![
            cell("node-liftoff", "55"),
            cell("wasmtime-winch", "56"),
        ]);
        check_checksums(&mut r);
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        let mut r = result_with(vec![
            cell("node-liftoff", "55"),
            cell("wasmtime-winch", "55"),
        ]);
        check_checksums(&mut r);
        assert!(r.errors.is_empty());
    }

    #[test]
    fn wrong_tier_or_changed_checksum_fails_the_cell() {
        let engine = peers::RUN_ENGINES[0];
        let reply = |checksum: &str, tier: &str| peers::Reply {
            ok: true,
            ms: 1.0,
            checksum: Some(checksum.into()),
            tier: Some(tier.into()),
            engine_version: None,
            ..peers::Reply::default()
        };
        let mut c = Cell::new("fib", engine.name, Status::Ok, None);
        record(&mut c, &engine, reply("55", "liftoff"));
        assert_eq!((c.status, c.samples_ms.len()), (Status::Ok, 1));
        record(&mut c, &engine, reply("56", "liftoff"));
        assert_eq!(c.status, Status::Failed);
        let mut c = Cell::new("fib", engine.name, Status::Ok, None);
        record(&mut c, &engine, reply("55", "turbofan"));
        assert_eq!(c.status, Status::Failed);
    }
}
