//! Flushing baseline code, as V8's liftoff code flushing: every native module's baseline code
//! leaves its jump table (slots go back to lazy stubs), so functions recompile lazily on their
//! next call. Optimized code stays. The removed code goes to code GC, which frees it once no
//! stack can return into it.

use kiln_code_manager::{CodeKind, RemoveFilter};

use crate::{Engine, TierUpState};

impl Engine {
    /// Removes the baseline code of every native module. Returns the (code bytes, metadata
    /// bytes) unlinked; the memory returns once code GC and the code manager's grace period
    /// release it. Functions fall back to lazy compilation (with the configured tier), and
    /// their tier-up state restarts. Cost: one pass over every module's functions.
    pub fn flush_baseline_code(&self) -> (usize, usize) {
        let engine = &self.inner;
        let mut code_bytes = 0;
        let mut metadata_bytes = 0;
        for native in engine.live_modules() {
            let first = native.module.num_imported_functions;
            let mut flushed = Vec::new();
            for i in first..first + native.module.num_defined_functions() {
                if let Some(code) = native.code.code(i)
                    && matches!(code.kind(), CodeKind::Baseline | CodeKind::BaselineDebug)
                {
                    flushed.push(i);
                    engine.code_gc.add_potentially_dead(engine, code);
                }
            }
            let removed = native.code.remove_compiled_code(RemoveFilter::Baseline);
            for i in flushed {
                for from in [TierUpState::InProgress, TierUpState::Failed] {
                    native.transition_tier_up(i, from, TierUpState::None);
                }
            }
            code_bytes += removed.code_bytes;
            metadata_bytes += removed.metadata_bytes;
        }
        engine.stats.note_flush(code_bytes);
        (code_bytes, metadata_bytes)
    }

    /// Bytes of baseline code installed in all native modules now.
    pub fn baseline_code_size(&self) -> usize {
        self.inner
            .live_modules()
            .iter()
            .map(|m| m.baseline_code_size())
            .sum()
    }
}
