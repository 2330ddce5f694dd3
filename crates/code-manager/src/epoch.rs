//! Grace periods: when unlinked code, lookup tables and dropped modules may really be freed.
//!
//! A thread that runs wasm code, or reads the lookup structures, does so inside a *read
//! section*: an [`ExecutionScope`] for wasm execution, an internal guard for a lookup. Entering
//! and leaving are one or two atomic read-modify-writes on process-wide counters, with no lock and
//! no allocation, so both are safe in a signal handler.
//!
//! The scheme has two counters and an epoch number whose parity selects the counter a new reader
//! joins. The epoch advances from `e` to `e + 1` only when the counter of parity `e + 1` (the
//! one readers of epoch `e - 1` joined) is zero. Hence, once the epoch is two past the epoch read
//! right after an object was unlinked, every reader that could have seen it has left: readers of
//! that epoch and the one before have drained, and later readers entered after the unlink. Until
//! then the object stays, so a thread still executing removed code, or a signal handler holding an
//! old lookup table, never sees it freed.
//!
//! Cost: entering is two loads and one RMW (retried only if the epoch moved in between);
//! advancing is attempted by the mutating operations and [`crate::NativeModule::reclaim`] and
//! never waits. A read section that stays open (a wasm call that never returns) holds back all
//! reclamation in the process, but never blocks anyone.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst, fence};

static EPOCH: AtomicU64 = AtomicU64::new(2);
static READERS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
static ADVANCE: Mutex<()> = Mutex::new(());

/// Proof that the current thread is inside a read section: while it lives, no code that was
/// reachable when it was created is freed, in any module.
///
/// The runtime holds one for every activation of wasm code (from host to wasm until the return),
/// so code it is running, or that a frame on its stack will return into, stays mapped even if it
/// is removed from the jump table meanwhile. Cost: one atomic RMW to create and one to drop; both
/// are signal-safe. Not `Send`: it belongs to the thread that runs the code.
#[derive(Debug)]
pub struct ExecutionScope {
    parity: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ExecutionScope {
    /// Enters a read section. Nestable; lock-free and allocation-free.
    pub fn enter() -> ExecutionScope {
        loop {
            let epoch = EPOCH.load(SeqCst);
            let parity = (epoch & 1) as usize;
            READERS[parity].fetch_add(1, SeqCst);
            if EPOCH.load(SeqCst) == epoch {
                return ExecutionScope {
                    parity,
                    _not_send: std::marker::PhantomData,
                };
            }
            READERS[parity].fetch_sub(1, SeqCst);
        }
    }
}

impl Drop for ExecutionScope {
    fn drop(&mut self) {
        READERS[self.parity].fetch_sub(1, SeqCst);
    }
}

/// The epoch to tag an object with right after unlinking it. The fence orders the unlinking
/// stores before the epoch load.
pub(crate) fn retire_epoch() -> u64 {
    fence(SeqCst);
    EPOCH.load(SeqCst)
}

/// Whether an object tagged with `tag` by [`retire_epoch`] can no longer be seen by any reader.
pub(crate) fn is_safe_to_free(tag: u64) -> bool {
    EPOCH.load(SeqCst) >= tag + 2
}

/// Advances the epoch as far as the readers allow, at most two steps; never waits.
pub(crate) fn try_advance() {
    let Ok(_guard) = ADVANCE.try_lock() else {
        return;
    };
    for _ in 0..2 {
        let epoch = EPOCH.load(SeqCst);
        if READERS[((epoch + 1) & 1) as usize].load(SeqCst) != 0 {
            return;
        }
        EPOCH.store(epoch + 1, SeqCst);
    }
}

/// Things retired without an owner to keep them (the remains of dropped modules), each with its
/// tag; freed by [`reclaim_orphans`].
static ORPHANS: Mutex<Vec<(u64, Box<dyn Send>)>> = Mutex::new(Vec::new());

/// Keeps `value` until the grace period of `tag` has passed.
pub(crate) fn retire_orphan(tag: u64, value: Box<dyn Send>) {
    ORPHANS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((tag, value));
}

/// Frees the orphans whose grace period has passed (dropping them outside the lock).
pub(crate) fn reclaim_orphans() {
    let ready: Vec<Box<dyn Send>> = {
        let mut orphans = ORPHANS.lock().unwrap_or_else(|e| e.into_inner());
        let (ready, keep) = orphans
            .drain(..)
            .partition(|(tag, _)| is_safe_to_free(*tag));
        *orphans = keep;
        ready.into_iter().map(|(_, value)| value).collect()
    };
    drop(ready);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_period_waits_for_readers_that_entered_before() {
        let reader = ExecutionScope::enter();
        let tag = retire_epoch();
        for _ in 0..4 {
            try_advance();
        }
        assert!(
            !is_safe_to_free(tag),
            "a reader from before the unlink is still inside"
        );
        drop(reader);
        // Readers entering now cannot have seen the object; other tests' readers may be active,
        // so retry for a while.
        let later = ExecutionScope::enter();
        drop(later);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !is_safe_to_free(tag) && std::time::Instant::now() < deadline {
            try_advance();
            std::thread::yield_now();
        }
        assert!(is_safe_to_free(tag));
    }
}
