//! Lazy compilation and dynamic tier-up, as V8's `CompileLazy` and `TriggerTierUp`.
//!
//! Lazy: a function's jump-table slot starts at its lazy stub; the first call reaches the
//! runtime's lazy-compile entry, which calls [`lazy_compile`]: the function is compiled with
//! the configured tier, published (patching the slot) and the call continues in the new code.
//!
//! Tier-up: baseline code with tier-up checks spends a per-instance budget at entries and back
//! edges; when it runs out the runtime calls [`request_tier_up`] (and refills the budget). The
//! first request for a function queues a background optimizing compile on the engine's
//! workers; when it is ready the slot is patched, so later calls run optimized code, while
//! frames already running baseline code finish in it. The replaced code goes to code GC.

use std::sync::Arc;

use kiln_abi::Tier;
use kiln_code_manager::PublishMode;

use crate::NativeModule;
use crate::TierUpState;
use crate::compile_job::compile_and_publish;
use crate::engine::EngineInner;
use crate::worker_pool::Priority;

/// Compiles `func_index` of module `module_id` on its first call; returns the address to jump
/// to, or `None` (the call traps) if the module is gone or the function cannot be compiled.
pub(crate) fn lazy_compile(
    engine: &Arc<EngineInner>,
    module_id: u64,
    func_index: u32,
) -> Option<usize> {
    let native = engine.module_by_id(module_id)?;
    if native.code.code(func_index).is_none() {
        compile_and_publish(
            engine,
            &native,
            func_index,
            engine.config.tier,
            PublishMode::Normal,
        )
        .ok()?;
        engine.stats.note_lazy_compile();
    }
    native.code.jump_table_slot(func_index).ok()
}

/// A function used up its tier-up budget: queue its optimizing compile, once.
pub(crate) fn request_tier_up(engine: &Arc<EngineInner>, module_id: u64, func_index: u32) {
    engine.stats.note_tier_up_request();
    if !engine.config.tiers_up() {
        return;
    }
    let Some(native) = engine.module_by_id(module_id) else {
        return;
    };
    if !native.transition_tier_up(func_index, TierUpState::None, TierUpState::InProgress) {
        return;
    }
    let weak = Arc::downgrade(&native);
    drop(native);
    let worker_engine = engine.clone();
    engine.pool.submit(
        Priority::Background,
        Box::new(move || {
            if let Some(native) = weak.upgrade() {
                tier_up_now(&worker_engine, &native, func_index);
            }
        }),
    );
}

/// The background optimizing compile of one function.
fn tier_up_now(engine: &Arc<EngineInner>, native: &NativeModule, func_index: u32) {
    match compile_and_publish(
        engine,
        native,
        func_index,
        Tier::Optimized,
        PublishMode::Normal,
    ) {
        // Counted before the state changes, so whoever sees the state sees the count.
        Ok(_) => {
            engine.stats.note_tier_up_published();
            native.transition_tier_up(func_index, TierUpState::InProgress, TierUpState::Optimized);
        }
        Err(_) => {
            engine.stats.note_tier_up_failed();
            native.transition_tier_up(func_index, TierUpState::InProgress, TierUpState::Failed);
        }
    }
}
