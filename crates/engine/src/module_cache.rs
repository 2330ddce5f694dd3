//! The module cache, as V8's `NativeModuleCache`: compiling bytes that an alive native module
//! already holds (same bytes, same features) returns that module, in any isolate; while one
//! compile of some bytes runs, other compiles of the same bytes wait for it instead of
//! compiling again.
//!
//! A streaming compile cannot look its bytes up before it has them all. As V8's streaming
//! ownership, it claims the hash of its bytes before the code section (with the code
//! section's length) instead: the first stream with a prefix compiles while bytes arrive; a
//! later one with the same prefix (most likely the same module) compiles nothing meanwhile and
//! looks its whole bytes up at the end, when the first has usually listed its module. It never
//! waits for the other stream (that could be fed by the very thread that waits): if the
//! first has not finished, it compiles the module itself.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use kiln_decoder::Features;

use crate::NativeModule;
use crate::engine::JobState;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    hash: u64,
    len: usize,
    features: Features,
}

enum Entry {
    /// A compile of these bytes is running; its owner fulfils or abandons it.
    Pending { owner: u64, bytes: Arc<[u8]> },
    /// A compiled module (weak: the cache never keeps a module alive).
    Done(Weak<NativeModule>),
}

/// The start of a streaming compile's module: the hash of its bytes before the code
/// section and the code section's length, with the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Prefix {
    hash: u64,
    features: Features,
}

impl Prefix {
    /// The prefix of a module whose code section's payload starts after `before` and is
    /// `code_len` bytes long. Cost: a hash of `before`.
    pub fn new(before: &[u8], code_len: usize, features: Features) -> Prefix {
        let hash = kiln_decoder::hash_bytes(before)
            ^ (code_len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Prefix { hash, features }
    }
}

/// Alive modules and running compiles by (hash, length, features), bytes compared on a hit;
/// and the prefixes streaming compiles own.
#[derive(Default)]
pub(crate) struct ModuleCache {
    entries: Mutex<HashMap<Key, Vec<Entry>>>,
    changed: Condvar,
    prefixes: Mutex<HashSet<Prefix>>,
}

/// What [`ModuleCache::lookup`] found.
pub(crate) enum Lookup<'c> {
    /// An alive module with these bytes.
    Hit(Arc<NativeModule>),
    /// No module: the caller compiles and must fulfil or drop the reservation.
    Miss(Reservation<'c>),
}

/// The right and duty to compile some bytes: fulfilled with the module, or (when dropped
/// unfulfilled: failure, cancellation, panic) removed so that waiters retry.
pub(crate) struct Reservation<'c> {
    cache: &'c ModuleCache,
    key: Key,
    owner: u64,
    done: bool,
}

impl ModuleCache {
    /// Finds an alive module for `bytes` (whose [`kiln_decoder::hash_bytes`] is `hash`), or
    /// reserves the compile. Waits while another compile of the same bytes runs; gives up
    /// with `None` if `job` is cancelled meanwhile.
    pub fn lookup(
        &self,
        bytes: &Arc<[u8]>,
        hash: u64,
        features: Features,
        owner: u64,
        job: Option<&JobState>,
    ) -> Option<Lookup<'_>> {
        debug_assert_eq!(hash, kiln_decoder::hash_bytes(bytes));
        let key = Key {
            hash,
            len: bytes.len(),
            features,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if job.is_some_and(JobState::is_cancelled) {
                return None;
            }
            let list = entries.entry(key).or_default();
            list.retain(|e| match e {
                Entry::Done(w) => w.strong_count() > 0,
                Entry::Pending { .. } => true,
            });
            let mut pending = false;
            let mut hit = None;
            for entry in list.iter() {
                match entry {
                    Entry::Done(w) => {
                        // Dropping an upgraded `m` here may free the module under our lock;
                        // its drop takes no cache lock, so that is fine.
                        if let Some(m) = w.upgrade()
                            && *m.module.wire_bytes == **bytes
                        {
                            hit = Some(m);
                            break;
                        }
                    }
                    Entry::Pending { bytes: b, .. } => pending |= **b == **bytes,
                }
            }
            if let Some(m) = hit {
                return Some(Lookup::Hit(m));
            }
            if !pending {
                list.push(Entry::Pending {
                    owner,
                    bytes: bytes.clone(),
                });
                return Some(Lookup::Miss(Reservation {
                    cache: self,
                    key,
                    owner,
                    done: false,
                }));
            }
            // Wake up now and then to notice cancellation even without a notification.
            entries = self
                .changed
                .wait_timeout(entries, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Claims `prefix` for a streaming compile: `true` if no other stream holds it (the caller
    /// compiles and must [`release_prefix`](Self::release_prefix) it), `false` if one does
    /// (the caller defers to the end, see the module docs).
    pub fn claim_prefix(&self, prefix: Prefix) -> bool {
        self.prefixes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(prefix)
    }

    /// Ends a claim of [`claim_prefix`](Self::claim_prefix).
    pub fn release_prefix(&self, prefix: Prefix) {
        self.prefixes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&prefix);
    }

    /// Wakes waiters (after a cancellation, so they re-check their job).
    pub fn notify_all(&self) {
        self.changed.notify_all();
    }

    /// Lists a module compiled without a reservation (streaming), unless an equal one is
    /// already alive: returns the module to use.
    pub fn insert_or_get(&self, native: Arc<NativeModule>) -> Arc<NativeModule> {
        let bytes = &native.module.wire_bytes;
        let key = Key {
            hash: native.module.hash,
            len: bytes.len(),
            features: native.features,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let list = entries.entry(key).or_default();
        list.retain(|e| match e {
            Entry::Done(w) => w.strong_count() > 0,
            Entry::Pending { .. } => true,
        });
        for entry in list.iter() {
            if let Entry::Done(w) = entry
                && let Some(m) = w.upgrade()
                && m.module.wire_bytes == *bytes
            {
                return m;
            }
        }
        list.push(Entry::Done(Arc::downgrade(&native)));
        native
    }

    /// Alive modules and running compiles listed.
    pub fn len(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .values()
            .flatten()
            .filter(|e| match e {
                Entry::Done(w) => w.strong_count() > 0,
                Entry::Pending { .. } => true,
            })
            .count()
    }

    fn settle(&self, key: Key, owner: u64, module: Option<&Arc<NativeModule>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = entries.get_mut(&key) {
            let at = list
                .iter()
                .position(|e| matches!(e, Entry::Pending { owner: o, .. } if *o == owner));
            if let Some(at) = at {
                match module {
                    Some(m) => list[at] = Entry::Done(Arc::downgrade(m)),
                    None => {
                        list.remove(at);
                    }
                }
            }
            if list.is_empty() {
                entries.remove(&key);
            }
        }
        drop(entries);
        self.changed.notify_all();
    }
}

impl Reservation<'_> {
    /// Lists `module` as the result; waiters take it.
    pub fn fulfil(mut self, module: &Arc<NativeModule>) {
        self.done = true;
        self.cache.settle(self.key, self.owner, Some(module));
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.cache.settle(self.key, self.owner, None);
        }
    }
}
