//! The result of an asynchronous compile as a [`Future`], written by hand (a shared slot and a
//! waker) so the engine needs no async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use crate::{EngineError, ModuleObject};

/// A one-shot slot a worker fills and a waiter takes, with a waker for `poll` and a condvar
/// for blocking waits.
pub(crate) struct Completion<T> {
    slot: Mutex<Slot<T>>,
    done: Condvar,
}

struct Slot<T> {
    value: Option<T>,
    completed: bool,
    waker: Option<Waker>,
}

impl<T> Completion<T> {
    pub fn new() -> Arc<Completion<T>> {
        Arc::new(Completion {
            slot: Mutex::new(Slot {
                value: None,
                completed: false,
                waker: None,
            }),
            done: Condvar::new(),
        })
    }

    /// Stores `value` and wakes the waiter; false (value dropped) if already completed.
    pub fn complete(&self, value: T) -> bool {
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            if slot.completed {
                return false;
            }
            slot.completed = true;
            slot.value = Some(value);
            slot.waker.take()
        };
        self.done.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    pub fn is_completed(&self) -> bool {
        self.slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .completed
    }

    fn poll_take(&self, waker: &Waker) -> Option<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        match slot.value.take() {
            Some(v) => Some(v),
            None => {
                slot.waker = Some(waker.clone());
                None
            }
        }
    }

    /// Blocks until completed and takes the value (None if it was taken already).
    pub fn wait(&self) -> Option<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        while !slot.completed {
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
        slot.value.take()
    }
}

/// The module object an asynchronous or streaming compile job produces, as a [`Future`].
///
/// Completed by a worker thread when the job ends (with [`EngineError::Cancelled`] if it was
/// cancelled); polling registers the waker, which the worker wakes. Any executor works, or
/// [`CompileFuture::wait`] blocks the calling thread. Dropping it does not cancel the job.
pub struct CompileFuture {
    pub(crate) completion: Arc<Completion<Result<ModuleObject, EngineError>>>,
    pub(crate) job_id: u64,
}

impl std::fmt::Debug for CompileFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompileFuture")
            .field("job_id", &self.job_id)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl CompileFuture {
    /// The engine-wide id of the compile job.
    pub fn job_id(&self) -> u64 {
        self.job_id
    }

    /// Whether the job has ended (polling would return `Ready`).
    pub fn is_ready(&self) -> bool {
        self.completion.is_completed()
    }

    /// Blocks until the job ends and returns its result.
    pub fn wait(self) -> Result<ModuleObject, EngineError> {
        self.completion
            .wait()
            .unwrap_or(Err(EngineError::Cancelled))
    }
}

impl Future for CompileFuture {
    type Output = Result<ModuleObject, EngineError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.completion.poll_take(cx.waker()) {
            Some(result) => Poll::Ready(result),
            None if self.completion.is_completed() => Poll::Ready(Err(EngineError::Cancelled)),
            None => Poll::Pending,
        }
    }
}
