//! How an [`crate::Engine`] compiles and runs code.

use kiln_abi::Tier;
use kiln_codegen_baseline::CpuFeatures;
use kiln_decoder::Features;
use kiln_runtime::{BoundsChecks, RuntimeConfig};

/// How the engine compiles and runs code. Plain data; fixed for the engine's life.
///
/// The strategy is the combination of three choices: the initial [`EngineConfig::tier`]
/// (baseline or optimizing), whether it compiles eagerly or on the first call
/// ([`EngineConfig::lazy_compilation`]), and whether hot baseline functions move to the
/// optimizing tier ([`EngineConfig::dynamic_tiering`], which needs the baseline tier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Proposals accepted beyond WebAssembly 2.0.
    pub features: Features,
    /// Guard regions or explicit checks; compiled code and memories must agree.
    pub bounds_checks: BoundsChecks,
    /// Threads compiling one module's functions (at least 1): the calling thread of a
    /// synchronous compile plus helpers from the engine's workers.
    pub compile_threads: usize,
    /// Worker threads the engine owns for asynchronous, streaming and background compiles
    /// (at least 1).
    pub worker_threads: usize,
    /// Bytes of stack wasm may use below the host frame that enters it.
    pub max_wasm_stack: usize,
    /// Instruction-set extensions generated code may use (tests turn them off to exercise
    /// the fallback sequences).
    pub cpu: CpuFeatures,
    /// Whether baseline code counts a tier-up budget at entries and loop back edges. Implied
    /// by [`EngineConfig::dynamic_tiering`]; on its own, the requests are counted and ignored.
    pub tier_up_checks: bool,
    /// The tier that compiles every function first (and the only one unless
    /// [`EngineConfig::dynamic_tiering`]).
    pub tier: Tier,
    /// Compile each function on its first call (through its jump-table slot's lazy stub)
    /// instead of before instantiation.
    pub lazy_compilation: bool,
    /// With the baseline tier: a function whose tier-up budget runs out is compiled by the
    /// optimizing tier in the background and its jump-table slot patched when ready.
    pub dynamic_tiering: bool,
    /// The tier-up budget of every function in every instance: baseline code subtracts the
    /// body's size in bytes at each entry and a loop's size at each back edge, and asks for
    /// tier-up when it goes negative (the runtime then refills it).
    pub tier_up_budget: i32,
    /// Compile every baseline function as debug code for stepping
    /// ([`kiln_codegen_baseline::DebugOptions::stepping`]: a `DebugBreak` check on entry and
    /// before every instruction, values in their frame slots, a debug side table), published
    /// as `CodeKind::BaselineDebug`. The runtime's `EngineHooks::debug_break` sees every check;
    /// without hooks the checks return at once.
    pub debug_stepping: bool,
    /// Every compile goes through the streaming decoder, the module split at pseudo-random
    /// points into up to 16 ranges fed in turn (V8's `--wasm-test-streaming`).
    pub test_streaming: bool,
}

impl Default for EngineConfig {
    /// WebAssembly 2.0, guard regions, one compile thread per core, two workers, the runtime's
    /// default stack, this CPU's features, eager baseline compilation without tiering or debug
    /// code.
    fn default() -> EngineConfig {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        EngineConfig {
            features: Features::default(),
            bounds_checks: BoundsChecks::Guard,
            compile_threads: cores,
            worker_threads: cores.clamp(2, 8),
            max_wasm_stack: RuntimeConfig::default().max_wasm_stack,
            cpu: CpuFeatures::detect(),
            tier_up_checks: false,
            tier: Tier::Baseline,
            lazy_compilation: false,
            dynamic_tiering: false,
            tier_up_budget: 100_000,
            debug_stepping: false,
            test_streaming: false,
        }
    }
}

impl EngineConfig {
    /// Whether baseline code must count tier-up budgets.
    pub(crate) fn emits_tier_up_checks(&self) -> bool {
        self.tier_up_checks || self.dynamic_tiering
    }

    /// Whether hot functions move to the optimizing tier.
    pub(crate) fn tiers_up(&self) -> bool {
        self.dynamic_tiering && self.tier == Tier::Baseline
    }
}
