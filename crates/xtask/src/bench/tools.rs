//! Finding and, when missing, installing the outside tools the harness needs:
//! node and npm (V8 peer, corpus fetch), clang and wasm-ld (kernels), and a Python
//! virtual environment with the pinned `wasmtime` package (Wasmtime peer).
//!
//! Every install step is printed; a tool that cannot be had is reported as missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Wasmtime release the Python peer is pinned to.
pub const WASMTIME_PY_VERSION: &str = "50.0.1";

/// How long one peer invocation may take before it counts as hung.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(900);

/// What a finished child process printed.
#[derive(Debug)]
pub struct Output {
    /// Whether it exited with status zero.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `cmd` to completion (or the timeout), capturing its output.
pub fn capture(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || read_all(stdout));
    let err_reader = std::thread::spawn(move || read_all(stderr));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > PROCESS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{:?} timed out", cmd.get_program()));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Ok(Output {
        success: status.success(),
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

fn read_all(mut reader: impl std::io::Read) -> String {
    let mut text = String::new();
    let _ = reader.read_to_string(&mut text);
    text
}

/// The first line a tool prints for `--version`, if it runs at all.
pub fn version_of(program: &str, arg: &str) -> Option<String> {
    let out = capture(Command::new(program).arg(arg)).ok()?;
    if !out.success {
        return None;
    }
    let text = if out.stdout.trim().is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    text.lines().next().map(|l| l.trim().to_string())
}

/// Runs an install command with its output shown, reporting failure as text.
fn install(program: &str, args: &[&str]) -> Result<(), String> {
    println!("bench: installing: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

/// Installs Debian packages, refreshing the package lists first.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    install("apt-get", &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend_from_slice(packages);
    install("apt-get", &args)
}

/// Ensures `program` runs, installing `packages` with apt when it does not.
fn ensure_program(program: &str, packages: &[&str]) -> Result<String, String> {
    if let Some(v) = version_of(program, "--version") {
        return Ok(v);
    }
    println!("bench: {program} not found");
    apt_install(packages)?;
    version_of(program, "--version").ok_or_else(|| format!("{program} still missing after install"))
}

/// Node and npm, from Debian when missing. Returns node's version.
pub fn ensure_node() -> Result<String, String> {
    let v = ensure_program("node", &["nodejs"])?;
    ensure_program("npm", &["npm"])?;
    Ok(v)
}

/// Clang with the wasm32 target and wasm-ld. Returns clang's version.
pub fn ensure_clang() -> Result<String, String> {
    let v = ensure_program("clang", &["clang", "lld"])?;
    ensure_program("wasm-ld", &["lld"])?;
    Ok(v)
}

/// A Python virtual environment under `dir` with the pinned `wasmtime` package.
/// Returns the environment's interpreter.
pub fn ensure_wasmtime_python(dir: &Path) -> Result<PathBuf, String> {
    let python = dir.join("bin").join("python");
    if wasmtime_importable(&python) {
        return Ok(python);
    }
    if !python.exists() {
        println!("bench: creating Python environment {}", dir.display());
        let dir_text = dir.to_string_lossy().to_string();
        if install("python3", &["-m", "venv", &dir_text]).is_err() {
            apt_install(&["python3-venv"])?;
            install("python3", &["-m", "venv", &dir_text])?;
        }
    }
    let spec = format!("wasmtime=={WASMTIME_PY_VERSION}");
    install(
        &python.to_string_lossy(),
        &["-m", "pip", "install", "-q", &spec],
    )?;
    if wasmtime_importable(&python) {
        Ok(python)
    } else {
        Err("the wasmtime Python package does not import after install".into())
    }
}

fn wasmtime_importable(python: &Path) -> bool {
    let check = format!(
        "import importlib.metadata, wasmtime; \
         assert importlib.metadata.version('wasmtime') == '{WASMTIME_PY_VERSION}'"
    );
    python.exists()
        && capture(Command::new(python).args(["-c", &check]))
            .map(|o| o.success)
            .unwrap_or(false)
}
