//! An isolate's foreground task queue, as V8's foreground task runner: work the engine wants
//! done on the isolate's own thread (compile results delivered to resolvers, code-logging
//! events, code-GC stack reports). The embedder runs the tasks with
//! [`crate::Isolate::run_pending_tasks`] or [`crate::Isolate::wait_for_tasks`].

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// One unit of work for the isolate's thread.
pub(crate) type Task = Box<dyn FnOnce() + Send>;

/// A queue of tasks, filled by any thread and drained by the owner's thread. Once closed
/// (the isolate was dropped) posted tasks are dropped unrun.
#[derive(Default)]
pub(crate) struct TaskQueue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    tasks: VecDeque<Task>,
    closed: bool,
}

impl TaskQueue {
    /// Appends `task`; false (and the task dropped) if the queue is closed.
    pub fn post(&self, task: Task) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closed {
            return false;
        }
        state.tasks.push_back(task);
        drop(state);
        self.ready.notify_all();
        true
    }

    /// Tasks waiting.
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tasks
            .len()
    }

    /// Runs the tasks present, and those they post, until the queue is empty; each runs with
    /// no lock held. Returns how many ran.
    pub fn run_pending(&self) -> usize {
        let mut ran = 0;
        while let Some(task) = self.pop() {
            task();
            ran += 1;
        }
        ran
    }

    /// Waits up to `timeout` for a task, then runs every pending one. Returns how many ran.
    pub fn wait_and_run(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.tasks.is_empty() && !state.closed {
            let now = Instant::now();
            if now >= deadline {
                return 0;
            }
            state = self
                .ready
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(state);
        self.run_pending()
    }

    /// Whether [`TaskQueue::close`] was called (the isolate is going away).
    pub fn is_closed(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    /// Closes the queue and drops the tasks still in it.
    pub fn close(&self) {
        let dropped = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.closed = true;
            std::mem::take(&mut state.tasks)
        };
        drop(dropped);
        self.ready.notify_all();
    }

    fn pop(&self) -> Option<Task> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tasks
            .pop_front()
    }
}
