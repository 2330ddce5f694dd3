//! Compilation statistics of the optimizing tier, per phase, in the manner of V8's
//! `--turbo-stats`.
//!
//! Every [`crate::CompileEnv::compile`] call adds to one process-wide [`Statistics`] (reached
//! with [`statistics`]): the functions and wasm bytes compiled, the machine code produced, and
//! the time spent in each phase:
//!
//! - **translation**: WebAssembly operators to Cranelift IR (this crate's `translate`);
//! - **cranelift**: Cranelift's own passes (verification when on, unreachable-code removal, the
//!   e-graph optimizer, lowering, register allocation, emission into its buffer); the
//!   per-pass split Cranelift measures is kept too and printed by [`StatsSnapshot`]'s
//!   `Display`;
//! - **finish**: turning Cranelift's buffer into a [`kiln_abi::CompiledFunction`] (trap sites,
//!   source positions, relocations).
//!
//! Counters are atomics and the per-pass table a mutex taken once per function, so compile
//! threads share them at a cost that does not show next to compilation itself.
//! [`Statistics::snapshot`] reads them; [`Statistics::take`] reads and resets them (dump and
//! reset).

use cranelift_codegen::timing::PassTimes;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Process-wide accumulated statistics of the optimizing tier. Shared by every thread.
#[derive(Default)]
pub struct Statistics {
    functions: AtomicU64,
    wasm_bytes: AtomicU64,
    code_bytes: AtomicU64,
    translation_ns: AtomicU64,
    cranelift_ns: AtomicU64,
    finish_ns: AtomicU64,
    passes: Mutex<Option<PassTimes>>,
}

/// A copy of the statistics at one moment: plain numbers.
#[derive(Default)]
pub struct StatsSnapshot {
    /// Functions compiled.
    pub functions: u64,
    /// Bytes of wasm function bodies compiled.
    pub wasm_bytes: u64,
    /// Bytes of machine code produced.
    pub code_bytes: u64,
    /// Time translating wasm to Cranelift IR.
    pub translation: Duration,
    /// Time in Cranelift (optimization, lowering, register allocation, emission).
    pub cranelift: Duration,
    /// Time building the `CompiledFunction` from Cranelift's output.
    pub finish: Duration,
    /// Cranelift's own per-pass times (summed over threads), when measured.
    pub passes: Option<PassTimes>,
}

impl fmt::Debug for Statistics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

impl fmt::Debug for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatsSnapshot")
            .field("functions", &self.functions)
            .field("wasm_bytes", &self.wasm_bytes)
            .field("code_bytes", &self.code_bytes)
            .field("translation", &self.translation)
            .field("cranelift", &self.cranelift)
            .field("finish", &self.finish)
            .finish_non_exhaustive()
    }
}

static STATISTICS: Statistics = Statistics {
    functions: AtomicU64::new(0),
    wasm_bytes: AtomicU64::new(0),
    code_bytes: AtomicU64::new(0),
    translation_ns: AtomicU64::new(0),
    cranelift_ns: AtomicU64::new(0),
    finish_ns: AtomicU64::new(0),
    passes: Mutex::new(None),
};

/// The process-wide statistics every compilation of this tier adds to.
pub fn statistics() -> &'static Statistics {
    &STATISTICS
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What one function's compilation adds.
pub(crate) struct FunctionStats {
    pub wasm_bytes: usize,
    pub code_bytes: usize,
    pub translation: Duration,
    pub cranelift: Duration,
    pub finish: Duration,
    pub passes: PassTimes,
}

impl Statistics {
    pub(crate) fn add(&self, s: FunctionStats) {
        self.functions.fetch_add(1, Ordering::Relaxed);
        self.wasm_bytes
            .fetch_add(s.wasm_bytes as u64, Ordering::Relaxed);
        self.code_bytes
            .fetch_add(s.code_bytes as u64, Ordering::Relaxed);
        self.translation_ns
            .fetch_add(nanos(s.translation), Ordering::Relaxed);
        self.cranelift_ns
            .fetch_add(nanos(s.cranelift), Ordering::Relaxed);
        self.finish_ns.fetch_add(nanos(s.finish), Ordering::Relaxed);
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        passes.get_or_insert_with(PassTimes::default).add(&s.passes);
    }

    fn read(&self, reset: bool) -> StatsSnapshot {
        let get = |a: &AtomicU64| {
            if reset {
                a.swap(0, Ordering::Relaxed)
            } else {
                a.load(Ordering::Relaxed)
            }
        };
        let mut passes = self.passes.lock().unwrap_or_else(|e| e.into_inner());
        let passes = if reset {
            passes.take()
        } else {
            passes.as_ref().map(|p| {
                let mut copy = PassTimes::default();
                copy.add(p);
                copy
            })
        };
        StatsSnapshot {
            functions: get(&self.functions),
            wasm_bytes: get(&self.wasm_bytes),
            code_bytes: get(&self.code_bytes),
            translation: Duration::from_nanos(get(&self.translation_ns)),
            cranelift: Duration::from_nanos(get(&self.cranelift_ns)),
            finish: Duration::from_nanos(get(&self.finish_ns)),
            passes,
        }
    }

    /// The statistics so far. Cost: a few atomic loads and one lock.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.read(false)
    }

    /// The statistics so far, resetting them to zero (dump and reset).
    pub fn take(&self) -> StatsSnapshot {
        self.read(true)
    }
}

impl StatsSnapshot {
    /// Total compile time over all phases (summed over threads).
    pub fn total(&self) -> Duration {
        self.translation + self.cranelift + self.finish
    }
}

impl fmt::Display for StatsSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total().as_secs_f64().max(f64::MIN_POSITIVE);
        writeln!(
            f,
            "optimizing tier: {} functions, {} wasm bytes -> {} code bytes",
            self.functions, self.wasm_bytes, self.code_bytes
        )?;
        for (name, d) in [
            ("translation", self.translation),
            ("cranelift", self.cranelift),
            ("finish", self.finish),
        ] {
            writeln!(
                f,
                "  {name:<12} {:>10.3} ms {:>5.1}%",
                d.as_secs_f64() * 1e3,
                100.0 * d.as_secs_f64() / total
            )?;
        }
        writeln!(f, "  {:<12} {:>10.3} ms", "total", total * 1e3)?;
        if let Some(passes) = &self.passes {
            write!(f, "Cranelift passes (seconds):\n{passes}")?;
        }
        Ok(())
    }
}
