//! The engine's worker threads: a small fixed pool running compile jobs and background
//! tier-up compiles, with two priorities.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Work for a worker thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// How urgent a job is: foreground compile jobs (someone waits for them) run before background
/// optimizing compiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Priority {
    /// A compile job an embedder waits for.
    UserVisible,
    /// A tier-up compile.
    Background,
}

#[derive(Default)]
struct PoolState {
    urgent: VecDeque<Job>,
    background: VecDeque<Job>,
    shutdown: bool,
    /// Jobs running now.
    running: usize,
}

#[derive(Default)]
struct PoolShared {
    state: Mutex<PoolState>,
    wake: Condvar,
    idle: Condvar,
}

/// A fixed set of threads taking jobs from a shared queue. Dropping the pool lets running jobs
/// finish, drops queued ones and joins the threads (unless dropped on one of them).
pub(crate) struct WorkerPool {
    shared: Arc<PoolShared>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> WorkerPool {
        let shared = Arc::new(PoolShared::default());
        let threads = (0..threads.max(1))
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("kiln-worker-{i}"))
                    .spawn(move || work(&shared))
                    .expect("cannot spawn an engine worker thread")
            })
            .collect();
        WorkerPool { shared, threads }
    }

    /// Queues `job`.
    pub fn submit(&self, priority: Priority, job: Job) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        match priority {
            Priority::UserVisible => state.urgent.push_back(job),
            Priority::Background => state.background.push_back(job),
        }
        drop(state);
        self.shared.wake.notify_one();
    }

    /// Blocks until no job is queued or running. Must not be called from a worker.
    pub fn wait_idle(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.running > 0 || !state.urgent.is_empty() || !state.background.is_empty() {
            state = self
                .shared
                .idle
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn work(shared: &PoolShared) {
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if state.shutdown {
            return;
        }
        let Some(job) = state
            .urgent
            .pop_front()
            .or_else(|| state.background.pop_front())
        else {
            state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        state.running += 1;
        drop(state);
        // A panicking job must not take the worker down: the job's own state records the
        // failure (its result is never delivered, which the job's waiters see as cancelled).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running -= 1;
        if state.running == 0 && state.urgent.is_empty() && state.background.is_empty() {
            shared.idle.notify_all();
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        let dropped = {
            let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.shutdown = true;
            (
                std::mem::take(&mut state.urgent),
                std::mem::take(&mut state.background),
            )
        };
        drop(dropped);
        self.shared.wake.notify_all();
        let me = std::thread::current().id();
        for thread in self.threads.drain(..) {
            if thread.thread().id() != me {
                let _ = thread.join();
            }
        }
    }
}
