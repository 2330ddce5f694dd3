//! Code GC, in the spirit of V8's `WasmEngine::ReportLiveCodeForGC`: code that was replaced
//! (tier-up, a second lazy compile) or removed (flushing) is *potentially dead*; the engine
//! keeps a reference to it until a GC round proves no isolate's stack can return into it.
//!
//! A round snapshots the potentially dead code and asks every isolate, through a task on its
//! queue (so at its next safepoint, on its own thread), for the wasm pcs on its stack
//! ([`kiln_runtime::wasm_pcs_on_stack`]). When every isolate alive at the start has reported
//! (a dropped isolate counts as having nothing on its stack), the code no stack contains is
//! released; the rest stays potentially dead for the next round. Releasing the last reference
//! hands the code to the code manager, which frees it after its grace period (a second,
//! process-wide guard for stacks outside any isolate).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use kiln_code_manager::WasmCodeRef;

use crate::engine::EngineInner;

/// A round starts on its own once this many bytes of code are potentially dead.
const AUTO_GC_BYTES: usize = 1 << 20;

#[derive(Default)]
struct GcState {
    potentially_dead: Vec<WasmCodeRef>,
    round: Option<Round>,
    rounds_completed: u64,
    freed_code_objects: u64,
    freed_code_bytes: u64,
}

struct Round {
    candidates: Vec<WasmCodeRef>,
    waiting: HashSet<u64>,
    live_pcs: Vec<usize>,
}

/// The engine's code-GC state.
#[derive(Default)]
pub(crate) struct CodeGc {
    state: Mutex<GcState>,
}

/// What code GC has done so far, from [`crate::Engine::code_gc_status`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeGcStatus {
    /// Code objects waiting for a round (not in the current one).
    pub potentially_dead: usize,
    /// Whether a round is waiting for isolates' reports.
    pub round_in_progress: bool,
    /// Isolates the current round still waits for.
    pub waiting_isolates: usize,
    /// Rounds completed.
    pub rounds_completed: u64,
    /// Code objects released, and their instruction bytes.
    pub freed_code_objects: u64,
    /// Instruction bytes of the released code.
    pub freed_code_bytes: u64,
}

impl CodeGc {
    fn lock(&self) -> std::sync::MutexGuard<'_, GcState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `code` until a round finds it on no stack; may start a round.
    pub fn add_potentially_dead(&self, engine: &Arc<EngineInner>, code: WasmCodeRef) {
        let start = {
            let mut state = self.lock();
            state.potentially_dead.push(code);
            state.round.is_none()
                && state
                    .potentially_dead
                    .iter()
                    .map(|c| c.instructions_len())
                    .sum::<usize>()
                    >= AUTO_GC_BYTES
        };
        if start {
            self.start_round(engine);
        }
    }

    /// Starts a round unless one is running: posts a stack report task to every isolate.
    /// Returns false if one was already running.
    pub fn start_round(&self, engine: &Arc<EngineInner>) -> bool {
        let isolates: Vec<_> = engine.lock_isolates().values().cloned().collect();
        {
            let mut state = self.lock();
            if state.round.is_some() {
                return false;
            }
            let candidates = std::mem::take(&mut state.potentially_dead);
            state.round = Some(Round {
                candidates,
                waiting: isolates.iter().map(|i| i.id).collect(),
                live_pcs: Vec::new(),
            });
        }
        for isolate in &isolates {
            let id = isolate.id;
            let weak = Arc::downgrade(engine);
            let posted = isolate.tasks.post(Box::new(move || {
                let mut pcs = Vec::new();
                kiln_runtime::wasm_pcs_on_stack(&mut pcs);
                if let Some(engine) = weak.upgrade() {
                    engine.code_gc.report(id, &pcs);
                }
            }));
            if !posted {
                self.report(id, &[]);
            }
        }
        self.maybe_finish();
        true
    }

    /// Isolate `id` reports the wasm pcs on its stack.
    pub fn report(&self, id: u64, pcs: &[usize]) {
        {
            let mut state = self.lock();
            let Some(round) = state.round.as_mut() else {
                return;
            };
            if round.waiting.remove(&id) {
                round.live_pcs.extend_from_slice(pcs);
            }
        }
        self.maybe_finish();
    }

    /// Isolate `id` is gone: it has nothing on any stack.
    pub fn isolate_gone(&self, _engine: &Arc<EngineInner>, id: u64) {
        self.report(id, &[]);
    }

    fn maybe_finish(&self) {
        let released = {
            let mut state = self.lock();
            if !state.round.as_ref().is_some_and(|r| r.waiting.is_empty()) {
                return;
            }
            let round = state.round.take().expect("checked above");
            let (live, dead): (Vec<_>, Vec<_>) = round
                .candidates
                .into_iter()
                .partition(|c| round.live_pcs.iter().any(|&pc| c.contains(pc)));
            state.potentially_dead.extend(live);
            state.rounds_completed += 1;
            state.freed_code_objects += dead.len() as u64;
            state.freed_code_bytes += dead
                .iter()
                .map(|c| c.instructions_len() as u64)
                .sum::<u64>();
            dead
        };
        // Released outside the lock: dropping a reference may retire code in its module.
        drop(released);
    }

    pub fn status(&self) -> CodeGcStatus {
        let state = self.lock();
        CodeGcStatus {
            potentially_dead: state.potentially_dead.len(),
            round_in_progress: state.round.is_some(),
            waiting_isolates: state.round.as_ref().map_or(0, |r| r.waiting.len()),
            rounds_completed: state.rounds_completed,
            freed_code_objects: state.freed_code_objects,
            freed_code_bytes: state.freed_code_bytes,
        }
    }

    /// Whether `pc` lies in code the engine keeps as potentially dead.
    pub fn holds(&self, pc: usize) -> bool {
        let state = self.lock();
        state.potentially_dead.iter().any(|c| c.contains(pc))
            || state
                .round
                .as_ref()
                .is_some_and(|r| r.candidates.iter().any(|c| c.contains(pc)))
    }
}
