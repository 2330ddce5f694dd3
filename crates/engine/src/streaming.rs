//! Streaming compilation: functions compile while the module's bytes arrive, driven by the
//! decoder's [`StreamingProcessor`] callbacks, as V8's `AsyncStreamingProcessor`.
//!
//! When the code section starts, the code space is created; each complete function body is
//! copied into a body buffer (at its module offset) and queued. Once enough bodies are queued
//! (or at the end), a snapshot of the module so far (the sections before the code section,
//! plus the bodies received) is handed to compilation units; the last batch uses the final
//! module. The code is the same as a one-shot compile's, since every function sees the same
//! module offsets and declarations.
//!
//! At the code section a stream claims its prefix in the module cache (see
//! [`crate::module_cache`]); a stream whose prefix another one holds compiles nothing while
//! bytes arrive and, at the end, compiles as a one-shot compile would, taking the other
//! stream's module from the cache when it is there.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use kiln_decoder::{Module, SectionId, StreamingDecoder, StreamingProcessor};

use crate::compile_job::{JobOptions, Units};
use crate::engine::{EngineInner, JobState};
use crate::future::{CompileFuture, Completion};
use crate::isolate::IsolateShared;
use crate::module_cache::Prefix;
use crate::worker_pool::Priority;
use crate::{EngineError, Isolate, ModuleObject, NativeModule};

/// Queued bodies are handed to compilation once they reach this many bytes.
const BATCH_BYTES: usize = 64 << 10;

/// What the decoder reports, collected for compilation.
struct Collector {
    /// The module as of the code section's start (no bodies, no wire bytes).
    template: Option<Module>,
    /// The code section's payload.
    code_section: Option<Range<usize>>,
    /// Bodies are collected for compiling while bytes arrive (not when another stream owns
    /// this module's prefix).
    collect: bool,
    code: Option<kiln_code_manager::NativeModule>,
    error: Option<EngineError>,
    /// Body bytes at their module offsets (other bytes zero).
    buffer: Vec<u8>,
    /// Every body received, and those not yet handed to compilation.
    bodies: Vec<(u32, Range<usize>)>,
    queued: Vec<u32>,
    queued_bytes: usize,
}

impl StreamingProcessor for Collector {
    fn on_section(&mut self, id: SectionId, range: Range<usize>) {
        if id == SectionId::Code {
            self.code_section = Some(range);
        }
    }

    fn on_code_section_start(&mut self, _count: u32, module: &Module) {
        self.template = Some(module.clone());
    }

    fn on_function_body(&mut self, function_index: u32, body: &[u8], offset: usize) {
        if !self.collect {
            return;
        }
        let end = offset + body.len();
        if self.buffer.len() < end {
            self.buffer.resize(end, 0);
        }
        self.buffer[offset..end].copy_from_slice(body);
        self.bodies.push((function_index, offset..end));
        self.queued.push(function_index);
        self.queued_bytes += body.len();
    }
}

/// The engine side of one streaming compile, with or without an isolate.
pub(crate) struct Streamer {
    engine: Arc<EngineInner>,
    decoder: Option<StreamingDecoder<Collector>>,
    job: Arc<JobState>,
    /// Compile batches on the calling thread (sync) or on the workers (async).
    sync: bool,
    units: Vec<Arc<Units>>,
    start: Instant,
    /// Whether this stream claims its prefix in the module cache: not when a caller already
    /// holds the cache's reservation for the whole bytes (test-streaming mode).
    claims_prefix: bool,
    /// Whether the code section has started and [`Streamer::check_prefix`] ran.
    prefix_checked: bool,
    /// The prefix this stream owns, released when it ends.
    owned_prefix: Option<Prefix>,
}

impl Drop for Streamer {
    fn drop(&mut self) {
        if let Some(prefix) = self.owned_prefix.take() {
            self.engine.cache.release_prefix(prefix);
        }
    }
}

impl Streamer {
    pub fn new(engine: &Arc<EngineInner>, job: Arc<JobState>, sync: bool) -> Streamer {
        let collector = Collector {
            template: None,
            code_section: None,
            collect: true,
            code: None,
            error: None,
            buffer: Vec::new(),
            bodies: Vec::new(),
            queued: Vec::new(),
            queued_bytes: 0,
        };
        Streamer {
            decoder: Some(StreamingDecoder::with_processor(
                &engine.config.features,
                collector,
            )),
            engine: engine.clone(),
            job,
            sync,
            units: Vec::new(),
            start: Instant::now(),
            claims_prefix: true,
            prefix_checked: false,
            owned_prefix: None,
        }
    }

    /// Once the code section has started: claims the module's prefix and creates the code
    /// space, or (another stream owns the prefix) stops collecting bodies.
    fn check_prefix(&mut self) {
        let decoder = self.decoder.as_mut().expect("not finished");
        let collector = decoder.processor();
        let (Some(code_section), Some(template)) = (&collector.code_section, &collector.template)
        else {
            return;
        };
        self.prefix_checked = true;
        let (imported, defined) = (
            template.num_imported_functions,
            template.num_defined_functions(),
        );
        if self.claims_prefix {
            let prefix = Prefix::new(
                &decoder.received()[..code_section.start],
                code_section.len(),
                self.engine.config.features,
            );
            if !self.engine.cache.claim_prefix(prefix) {
                let collector = decoder.processor_mut();
                // Bodies this chunk completed are dropped: they would never be compiled.
                collector.collect = false;
                collector.queued = Vec::new();
                collector.queued_bytes = 0;
                collector.bodies = Vec::new();
                collector.buffer = Vec::new();
                return;
            }
            self.owned_prefix = Some(prefix);
        }
        let collector = decoder.processor_mut();
        match self
            .engine
            .code_manager
            .new_native_module(imported, defined)
        {
            Ok(code) => collector.code = Some(code),
            Err(e) => collector.error = Some(EngineError::Code(e)),
        }
    }

    /// Decodes `chunk` and starts compiling the bodies it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), EngineError> {
        if self.job.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let decoder = self.decoder.as_mut().expect("not finished");
        decoder
            .on_bytes_received(chunk)
            .map_err(EngineError::Decode)?;
        if !self.prefix_checked {
            self.check_prefix();
        }
        let collector = self.decoder.as_mut().expect("not finished").processor_mut();
        if let Some(e) = collector.error.clone() {
            return Err(e);
        }
        if collector.queued_bytes >= BATCH_BYTES
            && let Some(units) = dispatch(&self.engine, &self.job, self.sync, collector, None)?
        {
            self.units.push(units);
        }
        Ok(())
    }

    /// Ends the stream: decodes the rest, compiles what is left, waits for every batch and
    /// returns the native module (or an equal alive one from the cache).
    pub fn finish(mut self) -> Result<Arc<NativeModule>, EngineError> {
        let decoder = self.decoder.take().expect("not finished");
        let (result, mut collector) = decoder.finish_with_processor();
        // Batches handed to workers must end before their code space is dropped or used;
        // this thread compiles what no worker has taken yet, so it never waits for a free one.
        let waited: Result<(), EngineError> = self.units.drain(..).try_fold((), |_, u| u.run(0));
        let module = Arc::new(result.map_err(EngineError::Decode)?);
        waited?;
        if let Some(e) = collector.error.take() {
            return Err(e);
        }
        if !collector.collect {
            // Another stream owns this prefix: its module, if listed by now, or a compile of
            // the whole bytes (which waits for any one-shot compile of them).
            let helpers = self.engine.config.compile_threads.saturating_sub(1);
            let bytes = module.wire_bytes.clone();
            return self
                .engine
                .get_or_compile(bytes, module.hash, Some(&self.job), helpers);
        }
        if collector.code.is_none() {
            let code = self
                .engine
                .code_manager
                .new_native_module(
                    module.num_imported_functions,
                    module.num_defined_functions(),
                )
                .map_err(EngineError::Code)?;
            collector.code = Some(code);
        }
        dispatch(&self.engine, &self.job, true, &mut collector, Some(&module))?;
        if self.job.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let code = collector.code.take().expect("created above");
        let lazy = self.engine.config.lazy_compilation;
        let native = self
            .engine
            .finish_module(module, code, lazy, self.start.elapsed());
        Ok(self.engine.cache.insert_or_get(native))
    }
}

/// Hands the queued bodies to compilation units, with `module` or a snapshot of the module so
/// far. Sync: compiles them now (with helpers); async: returns the units running on workers.
fn dispatch(
    engine: &Arc<EngineInner>,
    job: &Arc<JobState>,
    sync: bool,
    collector: &mut Collector,
    module: Option<&Arc<Module>>,
) -> Result<Option<Arc<Units>>, EngineError> {
    if engine.config.lazy_compilation {
        return Ok(None);
    }
    let Some(code) = collector.code.clone() else {
        return Ok(None);
    };
    let queued = std::mem::take(&mut collector.queued);
    collector.queued_bytes = 0;
    if queued.is_empty() {
        return Ok(None);
    }
    let module = match module {
        Some(m) => m.clone(),
        None => {
            let mut snapshot = collector
                .template
                .clone()
                .expect("bodies come after the code section starts");
            for (i, range) in &collector.bodies {
                snapshot.functions[*i as usize].body = Some(range.clone());
            }
            snapshot.wire_bytes = Arc::from(collector.buffer.as_slice());
            Arc::new(snapshot)
        }
    };
    let units = Units::new(engine, module, code, queued, Some(job.clone()));
    let helpers = engine.config.compile_threads.saturating_sub(1);
    if sync {
        units.run(helpers)?;
        Ok(None)
    } else {
        for _ in 0..=helpers {
            let u = units.clone();
            engine
                .pool
                .submit(Priority::UserVisible, Box::new(move || u.work()));
        }
        Ok(Some(units))
    }
}

/// Compiles `bytes` through the streaming decoder, split at pseudo-random points into up to 16
/// ranges fed in turn (test-streaming mode), on the calling thread.
pub(crate) fn compile_split(
    engine: &Arc<EngineInner>,
    bytes: &[u8],
    job: Option<&Arc<JobState>>,
    start: Instant,
) -> Result<Arc<NativeModule>, EngineError> {
    let job = match job {
        Some(j) => j.clone(),
        None => engine.start_job(None, 0),
    };
    let mut streamer = Streamer::new(engine, job, true);
    streamer.start = start;
    // The caller holds the cache's reservation for these bytes.
    streamer.claims_prefix = false;
    for range in random_split(engine, bytes.len()) {
        streamer.feed(&bytes[range])?;
    }
    streamer.finish()
}

/// Up to 16 consecutive ranges covering `0..len`, cut at pseudo-random points.
pub(crate) fn random_split(engine: &EngineInner, len: usize) -> Vec<Range<usize>> {
    let next = || {
        // xorshift64*, advanced atomically so concurrent compiles get different splits.
        let mut x = engine.split_seed.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y >> 12;
            y ^= y << 25;
            y ^= y >> 27;
            match engine.split_seed.compare_exchange_weak(
                x,
                y,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return y.wrapping_mul(0x2545_f491_4f6c_dd1d),
                Err(now) => x = now,
            }
        }
    };
    let ranges = 1 + (next() % 16) as usize;
    let mut cuts: Vec<usize> = (1..ranges)
        .map(|_| (next() % (len as u64 + 1)) as usize)
        .collect();
    cuts.push(0);
    cuts.push(len);
    cuts.sort_unstable();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// A streaming compile in progress for an isolate, from [`Isolate::start_streaming`]: feed it
/// bytes as they arrive, then [`finish`](StreamingCompile::finish) (asynchronous result) or
/// [`finish_sync`](StreamingCompile::finish_sync); or [`abort`](StreamingCompile::abort).
pub struct StreamingCompile {
    streamer: Option<Streamer>,
    isolate: Arc<IsolateShared>,
    options: Option<JobOptions>,
    completion: Arc<Completion<Result<ModuleObject, EngineError>>>,
    /// The first error, reported at the end.
    error: Option<EngineError>,
}

impl std::fmt::Debug for StreamingCompile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingCompile")
            .field("job", &self.streamer.as_ref().map(|s| s.job.id))
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Isolate {
    /// Starts a streaming compile. With `sync`, bodies compile on the thread that feeds the
    /// bytes (with helpers); otherwise on the engine's workers while the caller goes on.
    pub fn start_streaming(&self, options: JobOptions, sync: bool) -> StreamingCompile {
        let engine = &self.engine().inner;
        let job = engine.start_job(Some(self.id()), options.context);
        StreamingCompile {
            streamer: Some(Streamer::new(engine, job, sync)),
            isolate: self.shared.clone(),
            options: Some(options),
            completion: Completion::new(),
            error: None,
        }
    }
}

impl StreamingCompile {
    /// The job's engine-wide id.
    pub fn job_id(&self) -> u64 {
        self.streamer.as_ref().map_or(0, |s| s.job.id)
    }

    /// Decodes `chunk` (copied; the buffer may be reused at once) and starts compiling the
    /// function bodies it completes. Returns the error if the bytes are invalid (it is also
    /// the result at the end; later bytes are ignored).
    pub fn on_bytes_received(&mut self, chunk: &[u8]) -> Result<(), EngineError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let streamer = self.streamer.as_mut().expect("not finished");
        streamer.feed(chunk).inspect_err(|e| {
            self.error = Some(e.clone());
        })
    }

    /// Ends the stream; the rest of the work runs on a worker. The result comes through the
    /// future and the resolver.
    pub fn finish(mut self) -> CompileFuture {
        let streamer = self.streamer.take().expect("not finished");
        let engine = streamer.engine.clone();
        let future = CompileFuture {
            completion: self.completion.clone(),
            job_id: streamer.job.id,
        };
        let isolate = self.isolate.clone();
        let options = self.options.take().expect("not finished");
        let completion = self.completion.clone();
        let error = self.error.take();
        let worker_engine = engine.clone();
        engine.pool.submit(
            Priority::UserVisible,
            Box::new(move || {
                let job = streamer.job.clone();
                worker_engine.run_async_job(&isolate, &job, options, &completion, || {
                    let result = streamer.finish();
                    match error {
                        Some(e) => Err(e),
                        None => result,
                    }
                });
            }),
        );
        future
    }

    /// Ends the stream on this thread and returns the module object (the resolver, if any,
    /// is still called on the task queue).
    pub fn finish_sync(mut self) -> Result<ModuleObject, EngineError> {
        let streamer = self.streamer.take().expect("not finished");
        let engine = streamer.engine.clone();
        let job = streamer.job.clone();
        let options = self.options.take().expect("not finished");
        let error = self.error.take();
        let completion = self.completion.clone();
        engine.run_async_job(&self.isolate, &job, options, &completion, || {
            let result = streamer.finish();
            match error {
                Some(e) => Err(e),
                None => result,
            }
        });
        completion.wait().unwrap_or(Err(EngineError::Cancelled))
    }

    /// Abandons the compile: running batches stop, the resolver is dropped uncalled and the
    /// job ends as cancelled.
    pub fn abort(mut self) {
        self.cancel();
    }

    fn cancel(&mut self) {
        if let Some(streamer) = self.streamer.take() {
            streamer.job.cancelled.store(true, Ordering::Release);
            let engine = streamer.engine.clone();
            let job = streamer.job.clone();
            for units in &streamer.units {
                let _ = units.wait();
            }
            drop(streamer);
            engine.end_job(job.id);
            self.completion.complete(Err(EngineError::Cancelled));
        }
    }
}

impl Drop for StreamingCompile {
    /// Dropping an unfinished stream aborts it.
    fn drop(&mut self) {
        self.cancel();
    }
}
