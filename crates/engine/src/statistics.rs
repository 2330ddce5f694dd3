//! Statistics and memory: optimizing-tier statistics (created on demand, as V8's
//! `--turbo-stats`), engine counters, the code tracer, code-size samples and memory estimates.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kiln_abi::{CompiledFunction, Tier};
use kiln_code_manager::WasmCodeRef;
use kiln_decoder::Module;

use crate::engine::EngineInner;
use crate::{Engine, NativeModule, code_logging};

/// What the optimizing tier compiled since the statistics were created or last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptimizingStatistics {
    /// Functions compiled.
    pub functions: u64,
    /// Bytes of function bodies compiled.
    pub body_bytes: u64,
    /// Bytes of machine code produced.
    pub code_bytes: u64,
    /// Total compile time.
    pub total_time: Duration,
    /// The longest single function compile.
    pub max_time: Duration,
}

impl OptimizingStatistics {
    /// A human-readable report.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "optimizing tier statistics");
        let _ = writeln!(out, "  functions compiled  {}", self.functions);
        let _ = writeln!(out, "  body bytes          {}", self.body_bytes);
        let _ = writeln!(out, "  code bytes          {}", self.code_bytes);
        let _ = writeln!(out, "  total time          {:?}", self.total_time);
        let _ = writeln!(out, "  longest function    {:?}", self.max_time);
        if self.body_bytes > 0 {
            let ratio = self.code_bytes as f64 / self.body_bytes as f64;
            let _ = writeln!(out, "  code / body bytes   {ratio:.2}");
        }
        out
    }
}

/// Engine-wide counters since the engine started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Functions compiled by the baseline tier (eager, lazy or streaming).
    pub baseline_functions: u64,
    /// Functions compiled by the optimizing tier.
    pub optimized_functions: u64,
    /// Functions compiled lazily, on their first call.
    pub lazy_compiles: u64,
    /// Tier-up requests from generated code (every exhausted budget).
    pub tier_up_requests: u64,
    /// Optimized code published by dynamic tiering.
    pub tier_ups_published: u64,
    /// Background optimizing compiles that failed.
    pub tier_up_failures: u64,
    /// Compiles answered by the module cache.
    pub cache_hits: u64,
    /// Calls of [`Engine::flush_baseline_code`], and the code bytes they unlinked.
    pub flushes: u64,
    /// Code bytes unlinked by flushing.
    pub flushed_code_bytes: u64,
}

/// A sample of the code and engine memory, from [`Engine::sample_code_size`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeSizeSample {
    /// Instruction bytes of all code not yet freed (every kind, dead included).
    pub code_bytes: usize,
    /// Memory committed for code.
    pub committed_bytes: usize,
    /// Code metadata (code objects, trap sites, source positions, lookup tables).
    pub code_metadata_bytes: usize,
    /// The engine's own metadata: decoded modules and wire bytes of alive native modules.
    pub engine_metadata_bytes: usize,
}

/// Aggregates of the samples taken so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeSizeHistory {
    /// Samples taken.
    pub samples: u64,
    /// The largest code size sampled.
    pub max_code_bytes: usize,
    /// The largest engine metadata sampled.
    pub max_engine_metadata_bytes: usize,
    /// The last sample.
    pub last: CodeSizeSample,
}

#[derive(Default)]
pub(crate) struct Statistics {
    optimizing: Mutex<Option<OptimizingStatistics>>,
    baseline_functions: AtomicU64,
    optimized_functions: AtomicU64,
    lazy_compiles: AtomicU64,
    tier_up_requests: AtomicU64,
    tier_ups_published: AtomicU64,
    tier_up_failures: AtomicU64,
    cache_hits: AtomicU64,
    flushes: AtomicU64,
    flushed_code_bytes: AtomicU64,
    samples: Mutex<CodeSizeHistory>,
}

impl Statistics {
    pub fn record_compile(
        &self,
        tier: Tier,
        module: &Module,
        func_index: u32,
        function: &CompiledFunction,
        time: Duration,
    ) {
        match tier {
            Tier::Baseline => {
                self.baseline_functions.fetch_add(1, Ordering::Relaxed);
            }
            Tier::Optimized => {
                self.optimized_functions.fetch_add(1, Ordering::Relaxed);
                let mut stats = self.optimizing.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(stats) = stats.as_mut() {
                    stats.functions += 1;
                    stats.body_bytes +=
                        module.function_body(func_index).map_or(0, |b| b.len()) as u64;
                    stats.code_bytes += function.code.len() as u64;
                    stats.total_time += time;
                    stats.max_time = stats.max_time.max(time);
                }
            }
        }
    }

    pub fn note_lazy_compile(&self) {
        self.lazy_compiles.fetch_add(1, Ordering::Relaxed);
    }
    pub fn note_tier_up_request(&self) {
        self.tier_up_requests.fetch_add(1, Ordering::Relaxed);
    }
    pub fn note_tier_up_published(&self) {
        self.tier_ups_published.fetch_add(1, Ordering::Relaxed);
    }
    pub fn note_tier_up_failed(&self) {
        self.tier_up_failures.fetch_add(1, Ordering::Relaxed);
    }
    pub fn note_cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn note_flush(&self, code_bytes: usize) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.flushed_code_bytes
            .fetch_add(code_bytes as u64, Ordering::Relaxed);
    }

    fn counters(&self) -> EngineCounters {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineCounters {
            baseline_functions: get(&self.baseline_functions),
            optimized_functions: get(&self.optimized_functions),
            lazy_compiles: get(&self.lazy_compiles),
            tier_up_requests: get(&self.tier_up_requests),
            tier_ups_published: get(&self.tier_ups_published),
            tier_up_failures: get(&self.tier_up_failures),
            cache_hits: get(&self.cache_hits),
            flushes: get(&self.flushes),
            flushed_code_bytes: get(&self.flushed_code_bytes),
        }
    }
}

/// Writes every function's generated code to a file, as V8's `--print-wasm-code` with
/// `--redirect-code-traces-to`: a header line per function, then its bytes in hex.
#[derive(Debug)]
pub(crate) struct CodeTracer {
    file: File,
}

impl CodeTracer {
    fn trace(&mut self, module: &Module, module_id: u64, func_index: u32, tier: Tier, code: &[u8]) {
        let name = module
            .function_name(func_index)
            .map_or_else(|| format!("wasm-function[{func_index}]"), str::to_string);
        let mut out = format!(
            "--- module {module_id} function {func_index} {name} ({tier:?}) {} bytes ---\n",
            code.len()
        );
        for line in code.chunks(32) {
            for byte in line {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('\n');
        }
        // Tracing must not fail compilation.
        let _ = self.file.write_all(out.as_bytes());
    }
}

impl EngineInner {
    /// After a batch of an initial compile was published: trace it.
    pub fn trace_batch(
        &self,
        module: &Module,
        module_id: u64,
        batch: &[(u32, CompiledFunction)],
        tier: Tier,
    ) {
        let mut tracer = self.tracer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tracer) = tracer.as_mut() {
            for (i, f) in batch {
                tracer.trace(module, module_id, *i, tier, &f.code);
            }
        }
    }

    /// After code was published into an existing module (lazy, tier-up, one-off compile):
    /// trace and log it.
    pub fn after_publish(&self, native: &NativeModule, codes: &[WasmCodeRef]) {
        {
            let mut tracer = self.tracer.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(tracer) = tracer.as_mut() {
                for c in codes {
                    if let (Some(i), Some(tier)) = (c.index(), c.tier()) {
                        tracer.trace(&native.module, native.id(), i, tier, c.instructions());
                    }
                }
            }
        }
        code_logging::code_published(self, native, codes);
    }

    pub fn engine_metadata_bytes(&self) -> usize {
        self.live_modules()
            .iter()
            .map(|m| m.memory_estimate() - m.code.memory_usage().estimate())
            .sum()
    }
}

impl Engine {
    /// The optimizing-tier statistics, created (zeroed) on first call; from then on every
    /// optimizing compile is recorded.
    pub fn get_or_create_optimizing_statistics(&self) -> OptimizingStatistics {
        *self
            .inner
            .stats
            .optimizing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(OptimizingStatistics::default)
    }

    /// A report of this engine's optimizing-tier statistics, if they were created, followed
    /// by the optimizing tier's per-phase times (process-wide, see
    /// [`kiln_codegen_opt::statistics`]).
    pub fn dump_optimizing_statistics(&self) -> Option<String> {
        let stats = self
            .inner
            .stats
            .optimizing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let phases = kiln_codegen_opt::statistics().snapshot();
        stats.as_ref().map(|s| format!("{}{phases}", s.dump()))
    }

    /// Like [`Engine::dump_optimizing_statistics`], then zeroes both.
    pub fn dump_and_reset_optimizing_statistics(&self) -> Option<String> {
        let mut stats = self
            .inner
            .stats
            .optimizing
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let s = stats.as_mut()?;
        let phases = kiln_codegen_opt::statistics().take();
        let dump = format!("{}{phases}", s.dump());
        *s = OptimizingStatistics::default();
        Some(dump)
    }

    /// Engine-wide counters.
    pub fn counters(&self) -> EngineCounters {
        self.inner.stats.counters()
    }

    /// Writes every function compiled from now on to `path` (created or truncated), or stops
    /// tracing with `None`.
    pub fn set_code_tracer(&self, path: Option<&Path>) -> std::io::Result<()> {
        let tracer = match path {
            Some(p) => Some(CodeTracer {
                file: File::create(p)?,
            }),
            None => None,
        };
        *self.inner.tracer.lock().unwrap_or_else(|e| e.into_inner()) = tracer;
        Ok(())
    }

    /// Samples code size and engine metadata size now and records the sample.
    pub fn sample_code_size(&self) -> CodeSizeSample {
        let usage = self.inner.code_manager.memory_usage();
        let sample = CodeSizeSample {
            code_bytes: usage.total_code_bytes(),
            committed_bytes: usage.committed_bytes,
            code_metadata_bytes: usage.metadata_bytes,
            engine_metadata_bytes: self.inner.engine_metadata_bytes(),
        };
        let mut history = self
            .inner
            .stats
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        history.samples += 1;
        history.max_code_bytes = history.max_code_bytes.max(sample.code_bytes);
        history.max_engine_metadata_bytes = history
            .max_engine_metadata_bytes
            .max(sample.engine_metadata_bytes);
        history.last = sample;
        sample
    }

    /// What the samples taken so far show.
    pub fn code_size_history(&self) -> CodeSizeHistory {
        *self
            .inner
            .stats
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Estimated bytes the engine uses for wasm: committed code and its metadata, plus every
    /// alive module's wire bytes and decoded structures.
    pub fn estimate_memory_consumption(&self) -> usize {
        self.inner.code_manager.memory_usage().estimate() + self.inner.engine_metadata_bytes()
    }

    /// Starts a code-GC round (unless one runs): each isolate reports its stack at its next
    /// [`crate::Isolate::run_pending_tasks`]; then unreferenced replaced code is released.
    /// Returns false if a round was already running.
    pub fn collect_code_garbage(&self) -> bool {
        self.inner.code_gc.start_round(&self.inner)
    }

    /// Code GC's progress.
    pub fn code_gc_status(&self) -> crate::CodeGcStatus {
        self.inner.code_gc.status()
    }

    /// Whether `pc` lies in replaced or removed code code GC still keeps.
    pub fn code_gc_holds(&self, pc: usize) -> bool {
        self.inner.code_gc.holds(pc)
    }
}
