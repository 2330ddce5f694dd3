//! Grace periods: when unlinked code, lookup tables and dropped modules may really be freed.
//!
//! Two kinds of readers are tracked, each in its own *domain*:
//!
//! - **Execution**: a thread running wasm code holds an [`ExecutionScope`] for the whole
//!   activation (host to wasm until the return), so code its frames run or return into is not
//!   freed.
//! - **Lookup**: [`crate::lookup`] (from a signal handler, a frame walker) reads a module's
//!   lookup table and the code objects it lists inside a short internal [`LookupGuard`].
//!
//! Entering and leaving are one or two atomic read-modify-writes on process-wide counters, with
//! no lock and no allocation, so both are safe in a signal handler.
//!
//! Each domain has two counters and an epoch number whose parity selects the counter a new
//! reader joins. The epoch advances from `e` to `e + 1` only when the counter of parity `e + 1`
//! (the one readers of epoch `e - 1` joined) is zero. Hence, once the epoch is two past the
//! epoch read right after an object was unlinked, every reader of that domain that could have
//! seen it has left: readers of that epoch and the one before have drained, and later readers
//! entered after the unlink.
//!
//! What waits for which domain: dead code leaves the lookup table once no execution reader can
//! still run it (or once the engine proved, by scanning every stack, that no frame uses it:
//! [`crate::NativeModule::free_dead_code`]); its object and memory are freed once no lookup
//! reader can still hold it. Old lookup tables wait for lookups only. Remains of dropped modules
//! wait for both. So a long wasm call holds back only the first step of the normal path; lookup
//! sections are short and never hold anything back for long.
//!
//! Cost: entering is two loads and one RMW (retried only if the epoch moved in between);
//! advancing is attempted by the mutating operations and [`crate::NativeModule::reclaim`] and
//! never waits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst, fence};

/// One kind of reader: its epoch and reader counts.
struct Domain {
    epoch: AtomicU64,
    readers: [AtomicUsize; 2],
    advance: Mutex<()>,
}

impl Domain {
    const fn new() -> Domain {
        Domain {
            epoch: AtomicU64::new(2),
            readers: [AtomicUsize::new(0), AtomicUsize::new(0)],
            advance: Mutex::new(()),
        }
    }

    /// Joins the current epoch's counter; returns the parity to leave with.
    fn enter(&self) -> usize {
        loop {
            let epoch = self.epoch.load(SeqCst);
            let parity = (epoch & 1) as usize;
            self.readers[parity].fetch_add(1, SeqCst);
            if self.epoch.load(SeqCst) == epoch {
                return parity;
            }
            self.readers[parity].fetch_sub(1, SeqCst);
        }
    }

    fn leave(&self, parity: usize) {
        self.readers[parity].fetch_sub(1, SeqCst);
    }

    fn is_past(&self, tag: u64) -> bool {
        self.epoch.load(SeqCst) >= tag + 2
    }

    /// Advances the epoch as far as the readers allow, at most two steps; never waits.
    fn try_advance(&self) {
        let Ok(_guard) = self.advance.try_lock() else {
            return;
        };
        for _ in 0..2 {
            let epoch = self.epoch.load(SeqCst);
            if self.readers[((epoch + 1) & 1) as usize].load(SeqCst) != 0 {
                return;
            }
            self.epoch.store(epoch + 1, SeqCst);
        }
    }
}

static EXECUTION: Domain = Domain::new();
static LOOKUP: Domain = Domain::new();

/// Proof that the current thread is inside an execution read section: while it lives, no code
/// that was reachable when it was created is taken out of the lookup table or freed by the
/// normal reclamation path, in any module.
///
/// The runtime holds one for every activation of wasm code (from host to wasm until the return),
/// so code it is running, or that a frame on its stack will return into, stays mapped even if it
/// is removed from the jump table meanwhile. (The engine may still free dead code that no stack
/// uses, proven by stack scans: [`crate::NativeModule::free_dead_code`].) Cost: one atomic RMW
/// to create and one to drop; both are signal-safe. Not `Send`: it belongs to the thread that
/// runs the code.
#[derive(Debug)]
pub struct ExecutionScope {
    parity: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl ExecutionScope {
    /// Enters a read section. Nestable; lock-free and allocation-free.
    pub fn enter() -> ExecutionScope {
        ExecutionScope {
            parity: EXECUTION.enter(),
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for ExecutionScope {
    fn drop(&mut self) {
        EXECUTION.leave(self.parity);
    }
}

/// A lookup read section: while it lives, no lookup table or code object that was listed when
/// it was created is freed. Signal-safe; not `Send`.
#[derive(Debug)]
pub(crate) struct LookupGuard {
    parity: usize,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl LookupGuard {
    pub(crate) fn enter() -> LookupGuard {
        LookupGuard {
            parity: LOOKUP.enter(),
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for LookupGuard {
    fn drop(&mut self) {
        LOOKUP.leave(self.parity);
    }
}

/// The epochs of both domains when an object was unlinked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    execution: u64,
    lookup: u64,
}

impl Tag {
    /// Whether no execution reader can still run what was unlinked at this tag.
    pub(crate) fn unseen_by_execution(self) -> bool {
        EXECUTION.is_past(self.execution)
    }

    /// Whether no lookup can still see what was unlinked at this tag.
    pub(crate) fn unseen_by_lookups(self) -> bool {
        LOOKUP.is_past(self.lookup)
    }

    /// Whether no reader of either domain can still see it.
    pub(crate) fn unseen(self) -> bool {
        self.unseen_by_execution() && self.unseen_by_lookups()
    }
}

/// The tag of an object right after unlinking it. The fence orders the unlinking stores before
/// the epoch loads.
pub(crate) fn retire_epoch() -> Tag {
    fence(SeqCst);
    Tag {
        execution: EXECUTION.epoch.load(SeqCst),
        lookup: LOOKUP.epoch.load(SeqCst),
    }
}

/// Advances both domains' epochs as far as their readers allow; never waits.
pub(crate) fn try_advance() {
    EXECUTION.try_advance();
    LOOKUP.try_advance();
}

/// Things retired without an owner to keep them (the remains of dropped modules), each with its
/// tag; freed by [`reclaim_orphans`].
static ORPHANS: Mutex<Vec<(Tag, Box<dyn Send>)>> = Mutex::new(Vec::new());

/// Keeps `value` until the grace period of `tag` has passed.
pub(crate) fn retire_orphan(tag: Tag, value: Box<dyn Send>) {
    ORPHANS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((tag, value));
}

/// Frees the orphans whose grace period has passed (dropping them outside the lock).
pub(crate) fn reclaim_orphans() {
    let ready: Vec<Box<dyn Send>> = {
        let mut orphans = ORPHANS.lock().unwrap_or_else(|e| e.into_inner());
        let (ready, keep) = orphans.drain(..).partition(|(tag, _)| tag.unseen());
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
            !tag.unseen_by_execution(),
            "a reader from before the unlink is still inside"
        );
        drop(reader);
        // Readers entering now cannot have seen the object; other tests' readers may be active,
        // so retry for a while.
        let later = ExecutionScope::enter();
        drop(later);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !tag.unseen_by_execution() && std::time::Instant::now() < deadline {
            try_advance();
            std::thread::yield_now();
        }
        assert!(tag.unseen_by_execution());
    }

    #[test]
    fn a_long_execution_does_not_hold_back_lookups() {
        let running = ExecutionScope::enter();
        let tag = retire_epoch();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !tag.unseen_by_lookups() && std::time::Instant::now() < deadline {
            try_advance();
            std::thread::yield_now();
        }
        assert!(tag.unseen_by_lookups());
        assert!(!tag.unseen_by_execution() && !tag.unseen());
        drop(running);

        let looking = LookupGuard::enter();
        let tag = retire_epoch();
        for _ in 0..4 {
            try_advance();
        }
        assert!(
            !tag.unseen_by_lookups(),
            "a lookup from before is still inside"
        );
        drop(looking);
    }
}
