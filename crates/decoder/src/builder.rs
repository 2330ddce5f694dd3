//! The one code path behind [`crate::decode`] and [`crate::StreamingDecoder`]: parse payloads
//! as bytes allow, validate each, and record what it holds in a [`Module`].

use crate::const_expr::ConstExpr;
use crate::error::{DecodeError, SectionId};
use crate::module::*;
use crate::names::read_url;
use crate::{Features, StreamingProcessor};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use wasmparser::{
    Chunk, FuncToValidate, FuncType, FuncValidatorAllocations, Parser, Payload, SectionLimited,
    TableInit, ValidPayload, Validator, ValidatorResources,
};

/// Decoding state between chunks of input.
pub(crate) struct ModuleBuilder {
    parser: Parser,
    validator: Validator,
    allocations: Option<FuncValidatorAllocations>,
    fast_validator: crate::func_validator::Scratch,
    module: Module,
    signatures: HashMap<FuncType, u32>,
    /// Code-section entries still expected; non-zero only inside the code section.
    code_entries_left: u32,
    /// The absolute function index of the next code-section entry.
    next_function: u32,
    ended: bool,
    error: Option<DecodeError>,
    /// When set, function bodies are not validated but collected here
    /// ([`crate::decode_deferred`]).
    deferred: Option<Vec<crate::DeferredFunction>>,
}

/// `Vec::with_capacity` for a section's declared count, bounded by its byte size so a count the
/// bytes do not contain cannot force a large allocation (every entry takes at least one byte).
fn reserve_for<T, U>(vec: &mut Vec<U>, section: &SectionLimited<'_, T>) {
    let bytes = section.range().end - section.range().start;
    vec.reserve((section.count() as u64).min(bytes) as usize);
}

fn range(r: Range<u64>) -> Range<usize> {
    r.start as usize..r.end as usize
}

fn section_of(payload: &Payload<'_>) -> Option<SectionId> {
    Some(match payload {
        Payload::Version { .. } => SectionId::Header,
        Payload::TypeSection(_) => SectionId::Type,
        Payload::ImportSection(_) => SectionId::Import,
        Payload::FunctionSection(_) => SectionId::Function,
        Payload::TableSection(_) => SectionId::Table,
        Payload::MemorySection(_) => SectionId::Memory,
        Payload::TagSection(_) => SectionId::Tag,
        Payload::GlobalSection(_) => SectionId::Global,
        Payload::ExportSection(_) => SectionId::Export,
        Payload::StartSection { .. } => SectionId::Start,
        Payload::ElementSection(_) => SectionId::Element,
        Payload::DataCountSection { .. } => SectionId::DataCount,
        Payload::DataSection(_) => SectionId::Data,
        Payload::CodeSectionStart { .. } | Payload::CodeSectionEntry(_) => SectionId::Code,
        Payload::CustomSection(_) => SectionId::Custom,
        Payload::UnknownSection { id, .. } => SectionId::Unknown(*id),
        _ => return None,
    })
}

/// The byte range a section payload covers, for [`StreamingProcessor::on_section`].
fn section_range(payload: &Payload<'_>) -> Option<Range<usize>> {
    Some(range(match payload {
        Payload::TypeSection(s) => s.range(),
        Payload::ImportSection(s) => s.range(),
        Payload::FunctionSection(s) => s.range(),
        Payload::TableSection(s) => s.range(),
        Payload::MemorySection(s) => s.range(),
        Payload::TagSection(s) => s.range(),
        Payload::GlobalSection(s) => s.range(),
        Payload::ExportSection(s) => s.range(),
        Payload::ElementSection(s) => s.range(),
        Payload::DataSection(s) => s.range(),
        Payload::StartSection { range, .. } | Payload::DataCountSection { range, .. } => {
            range.clone()
        }
        Payload::CodeSectionStart {
            unchecked_range, ..
        } => unchecked_range.clone(),
        Payload::CustomSection(s) => s.range(),
        Payload::UnknownSection { range, .. } => range.clone(),
        _ => return None,
    }))
}

impl ModuleBuilder {
    pub(crate) fn new(features: &Features) -> ModuleBuilder {
        // The parser reads operators (constant expressions, bodies) with the features too,
        // as wasmparser's own `validate_all` does: it decides how some opcodes decode.
        let mut parser = Parser::new(0);
        parser.set_features(features.wasm_features());
        ModuleBuilder {
            parser,
            validator: Validator::new_with_features(features.wasm_features()),
            allocations: Some(FuncValidatorAllocations::default()),
            fast_validator: Default::default(),
            module: Module::default(),
            signatures: HashMap::new(),
            code_entries_left: 0,
            next_function: 0,
            ended: false,
            error: None,
            deferred: None,
        }
    }

    /// A builder that collects function bodies for validation later instead of validating
    /// them as they arrive.
    pub(crate) fn deferring(features: &Features) -> ModuleBuilder {
        ModuleBuilder {
            deferred: Some(Vec::new()),
            ..ModuleBuilder::new(features)
        }
    }

    /// The bodies collected by a [`ModuleBuilder::deferring`] builder, in function order.
    pub(crate) fn take_deferred(&mut self) -> Vec<crate::DeferredFunction> {
        self.deferred.take().unwrap_or_default()
    }

    /// The module as decoded so far (wire bytes not yet attached).
    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    /// Parses, validates and records as much of `data` as forms complete payloads. `data`
    /// starts at absolute byte offset `base`, right after what earlier calls consumed; `eof`
    /// says no bytes follow it. Returns how many bytes were consumed; the caller passes the
    /// rest again, with more appended, next time. After an error every call returns it.
    pub(crate) fn feed(
        &mut self,
        data: &[u8],
        base: usize,
        eof: bool,
        processor: &mut dyn StreamingProcessor,
    ) -> Result<usize, DecodeError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let mut consumed = 0;
        while !self.ended {
            let (n, payload) = match self.parser.parse(&data[consumed..], eof) {
                Ok(Chunk::Parsed {
                    consumed: n,
                    payload,
                }) => (n, payload),
                Ok(Chunk::NeedMoreData(_)) if !eof => break,
                Ok(Chunk::NeedMoreData(_)) => {
                    let section = self.section_at(data, consumed, base);
                    let err = DecodeError::new("unexpected end", base + data.len(), section, None);
                    return Err(self.fail(err));
                }
                Err(e) => {
                    let section = self.section_at(data, consumed, base);
                    return Err(self.fail(DecodeError::from_wasmparser(&e, section, None)));
                }
            };
            let chunk = &data[consumed..consumed + n];
            let chunk_base = base + consumed;
            consumed += n;
            if let Err(err) = self.payload(payload, chunk, chunk_base, processor) {
                return Err(self.fail(err));
            }
        }
        Ok(consumed)
    }

    /// The finished module, once the parser has seen the end of the input.
    pub(crate) fn finish(self, wire_bytes: Arc<[u8]>) -> Result<Module, DecodeError> {
        let hash = crate::hash_bytes(&wire_bytes);
        self.finish_hashed(wire_bytes, hash)
    }

    /// [`ModuleBuilder::finish`] with the bytes' [`crate::hash_bytes`] already computed.
    pub(crate) fn finish_hashed(
        mut self,
        wire_bytes: Arc<[u8]>,
        hash: u64,
    ) -> Result<Module, DecodeError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        if !self.ended {
            let end = wire_bytes.len();
            return Err(DecodeError::new("unexpected end", end, None, None));
        }
        self.module.hash = hash;
        self.module.wire_bytes = wire_bytes;
        Ok(self.module)
    }

    /// Validates one function body with the builder's reused allocations: the fast
    /// validator first, wasmparser when that cannot prove the body valid.
    fn validate_now(
        &mut self,
        to_validate: FuncToValidate<ValidatorResources>,
        body: &wasmparser::FunctionBody<'_>,
        index: u32,
    ) -> Result<(), DecodeError> {
        let bytes = body.as_bytes();
        if crate::func_validator::validate(&self.module, index, bytes, &mut self.fast_validator) {
            return Ok(());
        }
        let allocations = self.allocations.take().unwrap_or_default();
        let mut validator = to_validate.into_validator(allocations);
        let result = validator.validate(body);
        self.allocations = Some(validator.into_allocations());
        result.map_err(|e| DecodeError::from_wasmparser(&e, Some(SectionId::Code), Some(index)))
    }

    fn fail(&mut self, err: DecodeError) -> DecodeError {
        self.error = Some(err.clone());
        err
    }

    /// Which section a parse error at `data[consumed]` belongs to: the code section while
    /// entries are pending, the header before byte 8, else the section whose id byte is there.
    fn section_at(&self, data: &[u8], consumed: usize, base: usize) -> Option<SectionId> {
        if self.code_entries_left > 0 {
            Some(SectionId::Code)
        } else if base + consumed < 8 {
            Some(SectionId::Header)
        } else {
            data.get(consumed).map(|&id| SectionId::from_id(id))
        }
    }

    /// Validates and records one payload, parsed from `chunk` (which starts at absolute
    /// offset `chunk_base` and holds the whole payload).
    fn payload(
        &mut self,
        payload: Payload<'_>,
        chunk: &[u8],
        chunk_base: usize,
        processor: &mut dyn StreamingProcessor,
    ) -> Result<(), DecodeError> {
        let section = section_of(&payload);
        let wasm_err =
            |e: wasmparser::BinaryReaderError| DecodeError::from_wasmparser(&e, section, None);
        // The data section's common form is validated and recorded in one pass of ours; the
        // validator and the general reader below see it only when that gives up.
        let data = match &payload {
            Payload::DataSection(reader) => {
                let items = reader.original_position() as usize - chunk_base;
                let end = reader.range().end as usize - chunk_base;
                crate::data_section::decode(
                    &chunk[items..end],
                    reader.original_position() as usize,
                    reader.count(),
                    &self.module.memories,
                    self.validator.features().bulk_memory(),
                )
            }
            _ => None,
        };
        let valid = match data {
            Some(_) => ValidPayload::Ok,
            None => self.validator.payload(&payload).map_err(|e| {
                let index =
                    matches!(payload, Payload::CodeSectionEntry(_)).then_some(self.next_function);
                DecodeError::from_wasmparser(&e, section, index)
            })?,
        };
        if let (Some(id), Some(range)) = (section, section_range(&payload)) {
            processor.on_section(id, range);
        }
        match payload {
            Payload::Version { num, .. } => processor.on_module_header(num),
            Payload::TypeSection(reader) => self.types(reader).map_err(wasm_err)?,
            Payload::ImportSection(reader) => self.imports(reader).map_err(wasm_err)?,
            Payload::FunctionSection(reader) => {
                reserve_for(&mut self.module.functions, &reader);
                for type_index in reader {
                    let type_index = type_index.map_err(wasm_err)?;
                    self.module.functions.push(Function {
                        type_index,
                        body: None,
                    });
                }
            }
            Payload::TableSection(reader) => {
                reserve_for(&mut self.module.tables, &reader);
                for table in reader {
                    let table = table.map_err(wasm_err)?;
                    let init = match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(e) => Some(ConstExpr::read(&e).map_err(wasm_err)?),
                    };
                    self.module.tables.push(Table { ty: table.ty, init });
                }
            }
            Payload::MemorySection(reader) => {
                reserve_for(&mut self.module.memories, &reader);
                for memory in reader {
                    self.module.memories.push(memory.map_err(wasm_err)?);
                }
            }
            Payload::TagSection(reader) => {
                reserve_for(&mut self.module.tags, &reader);
                for tag in reader {
                    self.module.tags.push(tag.map_err(wasm_err)?);
                }
            }
            Payload::GlobalSection(reader) => {
                reserve_for(&mut self.module.globals, &reader);
                for global in reader {
                    let global = global.map_err(wasm_err)?;
                    let init = Some(ConstExpr::read(&global.init_expr).map_err(wasm_err)?);
                    self.module.globals.push(Global {
                        ty: global.ty,
                        init,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                reserve_for(&mut self.module.exports, &reader);
                for export in reader {
                    let export = export.map_err(wasm_err)?;
                    let kind = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExternKind::Func
                        }
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        wasmparser::ExternalKind::Tag => ExternKind::Tag,
                    };
                    let name = export.name.to_owned();
                    self.module.exports.push(Export {
                        name,
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => self.module.start = Some(func),
            Payload::ElementSection(reader) => self.elements(reader).map_err(wasm_err)?,
            Payload::DataCountSection { count, .. } => self.module.data_count = Some(count),
            Payload::DataSection(reader) => match data {
                Some(segments) => self.module.data = segments,
                None => self.data_section(reader).map_err(wasm_err)?,
            },
            Payload::CodeSectionStart { count, .. } => {
                self.code_entries_left = count;
                self.next_function = self.module.num_imported_functions;
                processor.on_code_section_start(count, &self.module);
            }
            Payload::CodeSectionEntry(body) => {
                let index = self.next_function;
                let body_range = range(body.range());
                if let ValidPayload::Func(to_validate, _) = valid {
                    if let Some(deferred) = &mut self.deferred {
                        deferred.push(crate::DeferredFunction {
                            func: to_validate,
                            index,
                            body: body_range.clone(),
                        });
                    } else {
                        self.validate_now(to_validate, &body, index)?;
                    }
                }
                self.module.functions[index as usize].body = Some(body_range.clone());
                self.next_function += 1;
                self.code_entries_left -= 1;
                processor.on_function_body(index, body.as_bytes(), body_range.start);
            }
            Payload::CustomSection(reader) => {
                let data_range = range(reader.data_range());
                match reader.name() {
                    "name" => self.module.names.record(data_range.clone()),
                    "sourceMappingURL" => {
                        self.module.source_mapping_url = read_url(reader.data(), data_range.start)
                    }
                    "external_debug_info" => {
                        self.module.external_debug_info_url =
                            read_url(reader.data(), data_range.start)
                    }
                    _ => {}
                }
                let name = reader.name().to_owned();
                self.module.custom_sections.push(CustomSection {
                    name,
                    range: data_range,
                });
            }
            Payload::End(_) => self.ended = true,
            _ => {}
        }
        Ok(())
    }

    fn types(&mut self, reader: wasmparser::TypeSectionReader<'_>) -> wasmparser::Result<()> {
        reserve_for(&mut self.module.types, &reader);
        for group in reader {
            for sub_type in group?.into_types() {
                let index = self.module.types.len() as u32;
                let id = match &sub_type.composite_type.inner {
                    wasmparser::CompositeInnerType::Func(f) => {
                        *self.signatures.entry(f.clone()).or_insert(index)
                    }
                    _ => index,
                };
                self.module.signature_ids.push(id);
                self.module.types.push(sub_type);
            }
        }
        Ok(())
    }

    fn imports(&mut self, reader: wasmparser::ImportSectionReader<'_>) -> wasmparser::Result<()> {
        reserve_for(&mut self.module.imports, &reader);
        for import in reader.into_imports() {
            let import = import?;
            let m = &mut self.module;
            let ty = match import.ty {
                wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                    m.functions.push(Function {
                        type_index: t,
                        body: None,
                    });
                    m.num_imported_functions += 1;
                    ImportType::Func(t)
                }
                wasmparser::TypeRef::Table(t) => {
                    m.tables.push(Table { ty: t, init: None });
                    m.num_imported_tables += 1;
                    ImportType::Table(t)
                }
                wasmparser::TypeRef::Memory(t) => {
                    m.memories.push(t);
                    m.num_imported_memories += 1;
                    ImportType::Memory(t)
                }
                wasmparser::TypeRef::Global(t) => {
                    m.globals.push(Global { ty: t, init: None });
                    m.num_imported_globals += 1;
                    ImportType::Global(t)
                }
                wasmparser::TypeRef::Tag(t) => {
                    m.tags.push(t);
                    ImportType::Tag(t)
                }
            };
            let (module, name) = (import.module.to_owned(), import.name.to_owned());
            m.imports.push(Import { module, name, ty });
        }
        Ok(())
    }

    /// The data section's general path: the form [`crate::data_section`] leaves to it.
    fn data_section(
        &mut self,
        reader: wasmparser::DataSectionReader<'_>,
    ) -> wasmparser::Result<()> {
        reserve_for(&mut self.module.data, &reader);
        for data in reader {
            let data = data?;
            let kind = match data.kind {
                wasmparser::DataKind::Passive => DataKind::Passive,
                wasmparser::DataKind::Active {
                    memory_index,
                    offset_expr,
                } => DataKind::Active {
                    memory: memory_index,
                    offset: ConstExpr::read(&offset_expr)?,
                },
            };
            let end = data.range.end as usize;
            let range = end - data.data.len()..end;
            self.module.data.push(DataSegment { kind, range });
        }
        Ok(())
    }

    fn elements(&mut self, reader: wasmparser::ElementSectionReader<'_>) -> wasmparser::Result<()> {
        reserve_for(&mut self.module.elements, &reader);
        for element in reader {
            let element = element?;
            let kind = match element.kind {
                wasmparser::ElementKind::Passive => ElementKind::Passive,
                wasmparser::ElementKind::Declared => ElementKind::Declared,
                wasmparser::ElementKind::Active {
                    table_index,
                    offset_expr,
                } => ElementKind::Active {
                    table: table_index.unwrap_or(0),
                    offset: ConstExpr::read(&offset_expr)?,
                },
            };
            let (ty, items) = match element.items {
                wasmparser::ElementItems::Functions(funcs) => {
                    let mut items = Vec::new();
                    reserve_for(&mut items, &funcs);
                    for f in funcs {
                        items.push(f?);
                    }
                    (wasmparser::RefType::FUNCREF, ElementItems::Functions(items))
                }
                wasmparser::ElementItems::Expressions(ty, exprs) => {
                    let mut items = Vec::new();
                    reserve_for(&mut items, &exprs);
                    for e in exprs {
                        items.push(ConstExpr::read(&e?)?);
                    }
                    (ty, ElementItems::Expressions(items))
                }
            };
            self.module
                .elements
                .push(ElementSegment { kind, ty, items });
        }
        Ok(())
    }
}
