//! Plain data of a benchmark run: every raw sample, written as JSON and read back for
//! `--compare`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::stats::Summary;

/// The state of one (workload, engine) cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Measured.
    Ok,
    /// The engine crashed, timed out, disagreed or failed its tier check.
    Failed,
    /// The peer is not installed and could not be installed.
    Missing,
    /// A Kiln tier that does not exist yet: neither pass nor fail.
    NotImplemented,
}

/// One (workload, engine) cell with its raw samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// Workload name.
    pub workload: String,
    /// Engine name.
    pub engine: String,
    /// Outcome.
    pub status: Status,
    /// Raw samples in milliseconds, in the order taken.
    pub samples_ms: Vec<f64>,
    /// Result the workload returned (run, startup).
    pub checksum: Option<String>,
    /// Tier the code was observed in (node run).
    pub tier: Option<String>,
    /// Why it failed, or what is missing.
    pub note: Option<String>,
    /// Code size benchmark: bytes of machine code generated for the module.
    #[serde(default)]
    pub code_bytes: Option<u64>,
}

impl Cell {
    /// An empty cell.
    pub fn new(workload: &str, engine: &str, status: Status, note: Option<String>) -> Cell {
        Cell {
            workload: workload.to_string(),
            engine: engine.to_string(),
            status,
            samples_ms: Vec::new(),
            checksum: None,
            tier: None,
            note,
            code_bytes: None,
        }
    }

    /// Median, min and max of the samples, when measured.
    pub fn summary(&self) -> Option<Summary> {
        if self.status == Status::Ok {
            Summary::of(&self.samples_ms)
        } else {
            None
        }
    }
}

/// A workload (row key) of a benchmark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workload {
    /// Name.
    pub name: String,
    /// Size of the module in bytes.
    pub bytes: u64,
    /// Toolchain or what the kernel exercises.
    pub detail: String,
    /// Code size benchmark: bytes of the module's function bodies.
    #[serde(default)]
    pub body_bytes: Option<u64>,
}

/// The result of a tier check of one engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TierCheck {
    /// Engine name.
    pub engine: String,
    /// What it must run in, if anything.
    pub expected: Option<String>,
    /// What was observed.
    pub observed: String,
    /// Whether it matched.
    pub ok: bool,
    /// The engine's own version string.
    pub engine_version: Option<String>,
}

/// What the cells' values are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Times in milliseconds (or, with `throughput`, shown as MB/s).
    #[default]
    Time,
    /// Bytes of machine code per byte of wasm function bodies; the "samples" hold this
    /// ratio, one per cell since it does not vary between runs.
    CodeSize,
}

/// One benchmark's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// decode, compile, run or startup.
    pub name: String,
    /// One-line description of what is measured.
    pub measures: String,
    /// Whether cells are shown as throughput (MB/s, higher is better) rather than ms.
    pub throughput: bool,
    /// What the cells measure.
    #[serde(default)]
    pub quantity: Quantity,
    /// Engine the plot normalizes to.
    pub reference: String,
    /// Workloads in order.
    pub workloads: Vec<Workload>,
    /// Engines in order.
    pub engines: Vec<String>,
    /// (Kiln engine, peer engine) ratio pairs.
    pub comparisons: Vec<(String, String)>,
    /// All cells.
    pub cells: Vec<Cell>,
    /// Tier checks made before measuring.
    pub tier_checks: Vec<TierCheck>,
    /// Errors that fail the run (checksum disagreement, crashes).
    pub errors: Vec<String>,
    /// Remarks shown under the tables (e.g. the native checksum check).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl BenchResult {
    /// The cell of (workload, engine).
    pub fn cell(&self, workload: &str, engine: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.workload == workload && c.engine == engine)
    }

    /// The cell of (workload, engine), mutable.
    pub fn cell_mut(&mut self, workload: &str, engine: &str) -> Option<&mut Cell> {
        self.cells
            .iter_mut()
            .find(|c| c.workload == workload && c.engine == engine)
    }

    /// The value shown for a median of `ms` on `workload`: ms, or MB/s for throughput.
    pub fn display_value(&self, workload: &Workload, ms: f64) -> f64 {
        if self.throughput {
            workload.bytes as f64 / (ms * 1e3)
        } else {
            ms
        }
    }

    /// Median of `engine` relative to the reference engine's on one workload: time
    /// ratio, or throughput ratio for throughput benchmarks.
    pub fn relative_to_reference(&self, workload: &str, engine: &str) -> Option<f64> {
        let v = self.cell(workload, engine)?.summary()?.median;
        let r = self.cell(workload, &self.reference)?.summary()?.median;
        Some(if self.throughput { r / v } else { v / r })
    }

    /// Kiln/peer ratio on one workload: time ratio (below 1 = Kiln faster), or for
    /// throughput benchmarks the throughput ratio (above 1 = Kiln faster).
    pub fn ratio(&self, workload: &str, kiln: &str, peer: &str) -> Option<f64> {
        let k = self.cell(workload, kiln)?.summary()?.median;
        let p = self.cell(workload, peer)?.summary()?.median;
        Some(if self.throughput { p / k } else { k / p })
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// UTC time the run started.
    pub date: String,
    /// Whether `--quick` was given.
    pub quick: bool,
    /// Machine and tool versions.
    pub environment: BTreeMap<String, String>,
    /// Per-benchmark results.
    pub benches: Vec<BenchResult>,
}
