//! Decoding a module while its bytes are still arriving.

use crate::builder::ModuleBuilder;
use crate::{DecodeError, Features, Module, SectionId};
use std::ops::Range;

/// Receives what a [`StreamingDecoder`] finds, as soon as it finds it.
///
/// Every method has an empty default, so a processor implements only what it needs. Each is
/// called after the part it reports has been validated. The engine's streaming compile job
/// implements this to start compiling function bodies before the download ends.
pub trait StreamingProcessor {
    /// The 8-byte preamble was read; `version` is the binary format version (1).
    fn on_module_header(&mut self, version: u16) {
        let _ = version;
    }

    /// A section (or, for the code section, its header) was read; `range` is its payload's
    /// byte range in the module.
    fn on_section(&mut self, id: SectionId, range: Range<usize>) {
        let _ = (id, range);
    }

    /// The code section starts and will hold `function_count` bodies. `module` holds every
    /// section before it (types, imports, functions, tables, memories, globals, exports, ...)
    /// but not yet its wire bytes.
    fn on_code_section_start(&mut self, function_count: u32, module: &Module) {
        let _ = (function_count, module);
    }

    /// The body of function `function_index` (imports included in the numbering) is complete
    /// and valid: `body` are its bytes, which start at byte `offset` of the module.
    fn on_function_body(&mut self, function_index: u32, body: &[u8], offset: usize) {
        let _ = (function_index, body, offset);
    }
}

/// The processor that ignores everything.
impl StreamingProcessor for () {}

/// A borrowed processor, so the caller keeps it after [`StreamingDecoder::finish`].
impl<P: StreamingProcessor + ?Sized> StreamingProcessor for &mut P {
    fn on_module_header(&mut self, version: u16) {
        (**self).on_module_header(version)
    }
    fn on_section(&mut self, id: SectionId, range: Range<usize>) {
        (**self).on_section(id, range)
    }
    fn on_code_section_start(&mut self, function_count: u32, module: &Module) {
        (**self).on_code_section_start(function_count, module)
    }
    fn on_function_body(&mut self, function_index: u32, body: &[u8], offset: usize) {
        (**self).on_function_body(function_index, body, offset)
    }
}

/// Decodes a module from chunks of any size, reporting progress to a [`StreamingProcessor`].
///
/// Feeding a module in any split gives the same [`Module`], or the same [`DecodeError`] at the
/// same offset, as [`crate::decode`] on the whole: both run the same parser and validator. The
/// bytes are kept (they become [`Module::wire_bytes`]), so the caller may reuse each chunk's
/// buffer as soon as [`StreamingDecoder::on_bytes_received`] returns. Cost: amortized O(1) per
/// byte beyond decoding itself.
pub struct StreamingDecoder<P: StreamingProcessor = ()> {
    builder: ModuleBuilder,
    processor: P,
    bytes: Vec<u8>,
    /// How many of `bytes` the parser has consumed.
    consumed: usize,
}

impl<P: StreamingProcessor> std::fmt::Debug for StreamingDecoder<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingDecoder")
            .field("received", &self.bytes.len())
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl StreamingDecoder<()> {
    /// A decoder that reports to no one; useful when only the final module matters.
    pub fn new(features: &Features) -> StreamingDecoder<()> {
        StreamingDecoder::with_processor(features, ())
    }
}

impl<P: StreamingProcessor> StreamingDecoder<P> {
    /// A decoder that reports to `processor`.
    pub fn with_processor(features: &Features, processor: P) -> StreamingDecoder<P> {
        StreamingDecoder {
            builder: ModuleBuilder::new(features),
            processor,
            bytes: Vec::new(),
            consumed: 0,
        }
    }

    /// Appends `chunk` and decodes every payload it completes. Returns the first error; after
    /// one, further calls return it again and ignore their bytes.
    pub fn on_bytes_received(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        self.bytes.extend_from_slice(chunk);
        self.advance(false)
    }

    /// Ends the stream: decodes what is left and returns the module, or the error.
    pub fn finish(mut self) -> Result<Module, DecodeError> {
        self.advance(true)?;
        self.builder.finish(self.bytes.into())
    }

    /// Like [`StreamingDecoder::finish`], also giving the processor back.
    pub fn finish_with_processor(mut self) -> (Result<Module, DecodeError>, P) {
        let result = self
            .advance(true)
            .and_then(|()| self.builder.finish(self.bytes.into()));
        (result, self.processor)
    }

    /// Abandons the stream; nothing more is reported. Equivalent to dropping the decoder.
    pub fn abort(self) {}

    /// The processor, e.g. to read what it collected.
    pub fn processor(&self) -> &P {
        &self.processor
    }

    /// The processor, mutably (e.g. to take what it collected so far).
    pub fn processor_mut(&mut self) -> &mut P {
        &mut self.processor
    }

    /// The module decoded so far (without its wire bytes).
    pub fn module_so_far(&self) -> &Module {
        self.builder.module()
    }

    /// Bytes received so far.
    pub fn bytes_received(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes received so far, in order.
    pub fn received(&self) -> &[u8] {
        &self.bytes
    }

    fn advance(&mut self, eof: bool) -> Result<(), DecodeError> {
        let data = &self.bytes[self.consumed..];
        let n = self
            .builder
            .feed(data, self.consumed, eof, &mut self.processor)?;
        self.consumed += n;
        Ok(())
    }
}
