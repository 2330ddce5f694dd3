//! The engines under test: node (V8) in several tier modes, Wasmtime (Cranelift and
//! Winch) through its Python package, and Kiln's own tiers. Each peer runs one
//! measurement per process through a driver script under `bench/drivers/`, which
//! prints one JSON line.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::tools::capture;

/// Which program runs a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// node with V8 flags.
    Node,
    /// Wasmtime through its Python package.
    Wasmtime,
    /// Kiln itself.
    Kiln,
}

impl Peer {
    /// Name used with `--peers`.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Node => "node",
            Peer::Wasmtime => "wasmtime",
            Peer::Kiln => "kiln",
        }
    }
}

/// One engine configuration: a column of the result tables.
#[derive(Debug, Clone, Copy)]
pub struct Engine {
    /// Column name.
    pub name: &'static str,
    /// Who runs it.
    pub peer: Peer,
    /// node: V8 flags.
    pub node_flags: &'static [&'static str],
    /// Wasmtime: compiler strategy, "cranelift" or "winch".
    pub strategy: &'static str,
    /// Wasmtime: parallel compilation.
    pub parallel: bool,
    /// The tier a run must be observed in (node: "liftoff"/"turbofan", Wasmtime:
    /// "cranelift"/"non-cranelift"), `None` when any tier is fine (default tiering).
    pub expect_tier: Option<&'static str>,
    /// Kiln: the tier ("baseline" or "opt").
    pub kiln_tier: Option<&'static str>,
}

/// V8 flags that make compile benchmarks compile every function eagerly and never
/// reuse an earlier compilation.
const NODE_EAGER: [&str; 2] = [
    "--no-wasm-lazy-compilation",
    "--no-wasm-native-module-cache-enabled",
];

const fn node(
    name: &'static str,
    flags: &'static [&'static str],
    tier: Option<&'static str>,
) -> Engine {
    Engine {
        name,
        peer: Peer::Node,
        node_flags: flags,
        strategy: "",
        parallel: true,
        expect_tier: tier,
        kiln_tier: None,
    }
}

const fn wasmtime(name: &'static str, strategy: &'static str, parallel: bool) -> Engine {
    let tier = if matches!(strategy.as_bytes(), b"winch") {
        "non-cranelift"
    } else {
        "cranelift"
    };
    Engine {
        name,
        peer: Peer::Wasmtime,
        node_flags: &[],
        strategy,
        parallel,
        expect_tier: Some(tier),
        kiln_tier: None,
    }
}

const fn kiln(name: &'static str, tier: &'static str) -> Engine {
    Engine {
        name,
        peer: Peer::Kiln,
        node_flags: &[],
        strategy: "",
        parallel: false,
        expect_tier: None,
        kiln_tier: Some(tier),
    }
}

const LIFTOFF: &[&str] = &["--liftoff-only", NODE_EAGER[0], NODE_EAGER[1]];
const LIFTOFF_1T: &[&str] = &[
    "--liftoff-only",
    NODE_EAGER[0],
    NODE_EAGER[1],
    "--single-threaded",
];
const TURBOFAN: &[&str] = &["--no-liftoff", NODE_EAGER[0], NODE_EAGER[1]];
const TURBOFAN_1T: &[&str] = &[
    "--no-liftoff",
    NODE_EAGER[0],
    NODE_EAGER[1],
    "--single-threaded",
];

/// Engines of the compile benchmark.
pub const COMPILE_ENGINES: &[Engine] = &[
    node("node-liftoff", LIFTOFF, Some("liftoff")),
    node("node-liftoff-1t", LIFTOFF_1T, Some("liftoff")),
    node("node-turbofan", TURBOFAN, Some("turbofan")),
    node("node-turbofan-1t", TURBOFAN_1T, Some("turbofan")),
    wasmtime("wasmtime-winch", "winch", true),
    wasmtime("wasmtime-winch-1t", "winch", false),
    wasmtime("wasmtime-cranelift", "cranelift", true),
    wasmtime("wasmtime-cranelift-1t", "cranelift", false),
    kiln("kiln-baseline", "baseline"),
    kiln("kiln-baseline-1t", "baseline-1t"),
    kiln("kiln-opt", "opt"),
];

/// Engines of the run benchmark.
pub const RUN_ENGINES: &[Engine] = &[
    node("node-liftoff", LIFTOFF, Some("liftoff")),
    node("node-turbofan", TURBOFAN, Some("turbofan")),
    node("node-default", &[], None),
    wasmtime("wasmtime-winch", "winch", true),
    wasmtime("wasmtime-cranelift", "cranelift", true),
    kiln("kiln-baseline", "baseline"),
    kiln("kiln-opt", "opt"),
    kiln("kiln-tiered", "tiered"),
];

/// V8 flag that makes every wasm compilation print a line with the function index, tier
/// and size of the generated code (a release-build flag; see `codesize.rs`).
pub const NODE_TRACE_CODE: &str = "--trace-wasm-compilation-times";

const LIFTOFF_TRACED: &[&str] = &[
    "--liftoff-only",
    NODE_EAGER[0],
    NODE_EAGER[1],
    NODE_TRACE_CODE,
];

/// Engines of the code size benchmark: the baseline tiers.
pub const CODESIZE_ENGINES: &[Engine] = &[
    node("node-liftoff", LIFTOFF_TRACED, Some("liftoff")),
    kiln("kiln-baseline", "baseline"),
];

/// Engines of the startup benchmark (node-default keeps V8's lazy compilation; kiln-tiered
/// is Kiln's lazy compilation with dynamic tiering).
pub const STARTUP_ENGINES: &[Engine] = &[
    node("node-default", &[], None),
    node("node-liftoff", LIFTOFF, Some("liftoff")),
    wasmtime("wasmtime-winch", "winch", true),
    wasmtime("wasmtime-cranelift", "cranelift", true),
    kiln("kiln-baseline", "baseline"),
    kiln("kiln-tiered", "tiered"),
];

/// Pairs (Kiln engine, peer engine) whose ratio the reports show.
pub const COMPARISONS: &[(&str, &str)] = &[
    ("kiln-baseline", "node-liftoff"),
    ("kiln-baseline", "wasmtime-winch"),
    ("kiln-baseline-1t", "node-liftoff-1t"),
    ("kiln-baseline-1t", "wasmtime-winch-1t"),
    ("kiln-opt", "node-turbofan"),
    ("kiln-opt", "wasmtime-cranelift"),
    // Start-up (time to first result) of Kiln's default strategy against the peers' defaults.
    ("kiln-tiered", "node-default"),
    ("kiln-tiered", "wasmtime-cranelift"),
    // Peak: dynamic tiering after warm-up against the optimizing tier alone (target 1.05).
    ("kiln-tiered", "kiln-opt"),
];

/// Hidden subcommand that takes one Kiln sample in the optimized child build.
pub const KILN_CHILD_COMMAND: &str = "__kiln-sample";

/// Entry point of the Kiln child: `bench __kiln-sample TIER REQUEST-JSON`; prints a
/// reply in the drivers' format.
pub fn kiln_child_main(args: &[String]) -> i32 {
    let (Some(tier), Some(request)) = (args.first(), args.last()) else {
        eprintln!("usage: bench {KILN_CHILD_COMMAND} TIER REQUEST");
        return 2;
    };
    let reply = match kiln_sample(tier, request) {
        Ok(v) => v,
        Err(e) => serde_json::json!({ "ok": false, "error": e }),
    };
    println!("{reply}");
    i32::from(reply["ok"] != true)
}

fn kiln_sample(tier: &str, request: &str) -> Result<serde_json::Value, String> {
    use super::kiln;
    let request: serde_json::Value = serde_json::from_str(request).map_err(|e| e.to_string())?;
    let file = request["file"].as_str().ok_or("no file")?;
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let arg = request["arg"].as_i64().unwrap_or(0) as i32;
    if request["op"] == "codesize" {
        return Ok(match kiln::code_size(tier, &bytes)? {
            kiln::CodeSize::Bytes(n) => {
                serde_json::json!({ "ok": true, "code_bytes": n, "tier": tier })
            }
            kiln::CodeSize::Unsupported(why) => {
                serde_json::json!({ "ok": true, "unsupported": why, "tier": tier })
            }
        });
    }
    let (time, checksum) = match request["op"].as_str() {
        Some("compile") => (kiln::compile(tier, &bytes)?, None),
        Some("run") | Some("verify") => {
            let (t, r) = kiln::run(tier, &bytes, arg)?;
            (t, Some(r.to_string()))
        }
        Some("startup") => {
            let call = request["call"].as_str().filter(|c| !c.is_empty());
            let (t, r) = kiln::startup(tier, &bytes, call)?;
            (t, r.map(|r| r.to_string()))
        }
        other => return Err(format!("unknown op {other:?}")),
    };
    Ok(serde_json::json!({
        "ok": true,
        "ms": time.as_secs_f64() * 1e3,
        "checksum": checksum,
        "tier": tier,
        "engine_version": "kiln (optimized child build)",
    }))
}

/// One request to a driver.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    /// Time compilation only.
    Compile,
    /// Time one call of `run(arg)`.
    Run(i32),
    /// Time compile + instantiate + the first call of an export.
    Startup,
    /// Run `run(arg)` and report the tier the code ran in.
    Verify(i32),
    /// Compile eagerly and report the size of the generated code.
    CodeSize,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Compile => "compile",
            Op::Run(_) => "run",
            Op::Startup => "startup",
            Op::Verify(_) => "verify",
            Op::CodeSize => "codesize",
        }
    }

    fn arg(self) -> i32 {
        match self {
            Op::Run(n) | Op::Verify(n) => n,
            _ => 0,
        }
    }
}

/// A driver's reply.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Reply {
    /// Whether the measurement worked.
    pub ok: bool,
    /// Elapsed milliseconds.
    #[serde(default)]
    pub ms: f64,
    /// Result of the call, as text.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Observed tier, where the driver can tell.
    #[serde(default)]
    pub tier: Option<String>,
    /// The engine's version.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// Failure text.
    #[serde(default)]
    pub error: Option<String>,
    /// Kiln, codesize: bytes of machine code of the defined functions.
    #[serde(default)]
    pub code_bytes: Option<u64>,
    /// Kiln, codesize: why the tier cannot compile the module (e.g. SIMD).
    #[serde(default)]
    pub unsupported: Option<String>,
    /// The driver's whole standard output (node's trace lines come before the reply).
    #[serde(skip)]
    pub stdout: String,
}

/// How to reach the peers on this machine.
#[derive(Debug, Clone)]
pub struct Drivers {
    /// `bench/drivers/` in the repository.
    pub dir: PathBuf,
    /// The Python interpreter with `wasmtime`, when available.
    pub python: Option<PathBuf>,
}

impl Drivers {
    /// Runs one measurement of `op` on `file` with `engine`; a startup measurement calls the
    /// export `call` with zero arguments.
    pub fn measure(
        &self,
        engine: &Engine,
        op: Op,
        file: &Path,
        call: Option<&str>,
    ) -> Result<Reply, String> {
        let mut cmd = match engine.peer {
            Peer::Node => self.node_command(engine, op),
            Peer::Wasmtime => self.python_command()?,
            Peer::Kiln => self.kiln_command(engine),
        };
        let request = serde_json::json!({
            "op": op.name(),
            "file": file,
            "arg": op.arg(),
            "strategy": engine.strategy,
            "parallel": engine.parallel,
            "call": call.unwrap_or(""),
        });
        cmd.arg(request.to_string());
        let out = capture(&mut cmd)?;
        let line = out.stdout.lines().last().unwrap_or("");
        match serde_json::from_str::<Reply>(line) {
            Ok(mut reply) if reply.ok && out.success => {
                reply.stdout = out.stdout;
                Ok(reply)
            }
            Ok(reply) => Err(last_line(reply.error.as_deref().unwrap_or(&out.stderr))),
            Err(_) => Err(format!(
                "{} crashed: {}",
                engine.name,
                last_line(&format!("{}{}", out.stderr, out.stdout))
            )),
        }
    }

    fn node_command(&self, engine: &Engine, op: Op) -> Command {
        let mut cmd = Command::new("node");
        cmd.args(engine.node_flags);
        if matches!(op, Op::Run(_) | Op::Verify(_)) {
            cmd.arg("--allow-natives-syntax");
        }
        cmd.arg(self.dir.join("node_driver.js"));
        cmd
    }

    fn kiln_command(&self, engine: &Engine) -> Command {
        let mut cmd = super::kiln::optimized_child();
        cmd.args(["bench", KILN_CHILD_COMMAND, engine.kiln_tier.unwrap_or("")]);
        cmd
    }

    fn python_command(&self) -> Result<Command, String> {
        let python = self
            .python
            .as_ref()
            .ok_or("the wasmtime Python package is missing")?;
        let mut cmd = Command::new(python);
        cmd.arg(self.dir.join("wasmtime_driver.py"));
        Ok(cmd)
    }
}

/// The last non-empty line of an error text (a Python traceback's message line), cut
/// to table size.
fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no output")
        .chars()
        .take(200)
        .collect()
}
