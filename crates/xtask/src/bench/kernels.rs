//! The run-time kernels: small C programs under `bench/kernels/`, compiled to wasm by
//! Debian's clang without SIMD. Each exports `run(n) -> i32` returning a checksum that
//! every engine must agree on, and `cheap() -> i32` for the startup benchmark.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tools::capture;

/// One kernel and its problem sizes.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// File stem under `bench/kernels/`.
    pub name: &'static str,
    /// What it exercises.
    pub what: &'static str,
    /// Argument to `run` for full runs (about 0.2-1 s on V8 TurboFan here).
    pub full_arg: i32,
    /// Argument to `run` for `--quick` runs.
    pub quick_arg: i32,
}

/// All kernels, in table order.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        name: "intloop",
        what: "i32 loops and branches (Collatz)",
        full_arg: 3_000_000,
        quick_arg: 100_000,
    },
    Kernel {
        name: "i64arith",
        what: "i64 mul/div/rem/shift (modular powers)",
        full_arg: 100_000,
        quick_arg: 5_000,
    },
    Kernel {
        name: "nbody",
        what: "f64 arithmetic and sqrt (5-body)",
        full_arg: 4_000_000,
        quick_arg: 100_000,
    },
    Kernel {
        name: "mandelbrot",
        what: "f64 multiply-add chains",
        full_arg: 2_000,
        quick_arg: 300,
    },
    Kernel {
        name: "sort",
        what: "memory: quicksort of 2^20 words",
        full_arg: 192,
        quick_arg: 8,
    },
    Kernel {
        name: "fib",
        what: "direct recursive calls",
        full_arg: 38,
        quick_arg: 27,
    },
    Kernel {
        name: "indirect",
        what: "call_indirect through a table",
        full_arg: 30_000_000,
        quick_arg: 1_000_000,
    },
    Kernel {
        name: "interp",
        what: "br_table dispatch loop",
        full_arg: 10_000_000,
        quick_arg: 500_000,
    },
];

/// Code generation flags: -O2, MVP CPU plus the post-MVP features Kiln's tiers
/// support, and explicitly no SIMD.
const CLANG_FLAGS: &[&str] = &[
    "--target=wasm32",
    "-nostdlib",
    "-O2",
    "-mcpu=mvp",
    "-mmutable-globals",
    "-msign-ext",
    "-mnontrapping-fptoint",
    "-mbulk-memory",
    "-mno-simd128",
    "-Wl,--no-entry",
];

impl Kernel {
    /// The argument to `run` for this mode.
    pub fn arg(&self, quick: bool) -> i32 {
        if quick { self.quick_arg } else { self.full_arg }
    }
}

/// Compiles every kernel into `out_dir`, returning the `.wasm` paths in table order.
pub fn build_all(repo: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    KERNELS.iter().map(|k| build(repo, out_dir, k)).collect()
}

fn build(repo: &Path, out_dir: &Path, kernel: &Kernel) -> Result<PathBuf, String> {
    let source = repo
        .join("bench")
        .join("kernels")
        .join(format!("{}.c", kernel.name));
    let output = out_dir.join(format!("{}.wasm", kernel.name));
    let out = capture(
        Command::new("clang")
            .args(CLANG_FLAGS)
            .arg("-o")
            .arg(&output)
            .arg(&source),
    )?;
    if !out.success {
        return Err(format!("clang {}: {}", source.display(), out.stderr.trim()));
    }
    Ok(output)
}

/// Checksum of `run(arg)` from a native build (host clang -O2) of `kernel`: the
/// reference the wasm engines' results are checked against.
pub fn native_checksum(
    repo: &Path,
    out_dir: &Path,
    kernel: &Kernel,
    arg: i32,
) -> Result<String, String> {
    let dir = repo.join("bench").join("kernels");
    let exe = out_dir.join(format!("{}-native", kernel.name));
    let out = capture(
        Command::new("clang")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(dir.join(format!("{}.c", kernel.name)))
            .arg(dir.join("native_main.c"))
            .arg("-lm"),
    )?;
    if !out.success {
        return Err(format!(
            "native build of {}: {}",
            kernel.name,
            out.stderr.trim()
        ));
    }
    let out = capture(Command::new(&exe).arg(arg.to_string()))?;
    if !out.success {
        return Err(format!(
            "native run of {}: {}",
            kernel.name,
            out.stderr.trim()
        ));
    }
    Ok(out.stdout.trim().to_string())
}
