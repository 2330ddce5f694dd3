//! The decoded module: everything the compilers and the runtime need, read once.

use crate::{ConstExpr, Names};
use std::ops::Range;
use std::sync::Arc;
use wasmparser::{FuncType, GlobalType, MemoryType, RefType, SubType, TableType, TagType};

/// What kind of entity an import or export is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A linear memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

/// The type an import must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportType {
    /// A function of the type with this index.
    Func(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag.
    Tag(TagType),
}

impl ImportType {
    /// The kind of entity imported.
    pub fn kind(&self) -> ExternKind {
        match self {
            ImportType::Func(_) => ExternKind::Func,
            ImportType::Table(_) => ExternKind::Table,
            ImportType::Memory(_) => ExternKind::Memory,
            ImportType::Global(_) => ExternKind::Global,
            ImportType::Tag(_) => ExternKind::Tag,
        }
    }
}

/// One import, in import-section order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub name: String,
    /// What is imported.
    pub ty: ImportType,
}

/// One export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// The export name (unique within the module).
    pub name: String,
    /// The kind of entity exported.
    pub kind: ExternKind,
    /// Its index in the index space of that kind (imports first).
    pub index: u32,
}

/// A function of the module's function index space (imports first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Index into [`Module::types`].
    pub type_index: u32,
    /// The body (locals and code, without the size prefix) in [`Module::wire_bytes`]; `None`
    /// for imported functions.
    pub body: Option<Range<usize>>,
}

/// A table of the module's table index space (imports first).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Element type and limits.
    pub ty: TableType,
    /// The initializer of every element, when the table declares one (function references);
    /// `None` means null. Always `None` for imported tables.
    pub init: Option<ConstExpr>,
}

/// A global of the module's global index space (imports first).
#[derive(Clone, Debug, PartialEq)]
pub struct Global {
    /// Value type and mutability.
    pub ty: GlobalType,
    /// The initializer; `None` for imported globals.
    pub init: Option<ConstExpr>,
}

/// How an element segment is used.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementKind {
    /// Copied into `table` at `offset` during instantiation, then dropped.
    Active {
        /// The table index.
        table: u32,
        /// The start index in the table.
        offset: ConstExpr,
    },
    /// Available to `table.init` until `elem.drop`.
    Passive,
    /// Only declares functions referenceable by `ref.func`; dropped at instantiation.
    Declared,
}

/// The items of an element segment.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementItems {
    /// Function indices (the compact `funcref` encoding).
    Functions(Vec<u32>),
    /// One constant expression per item.
    Expressions(Vec<ConstExpr>),
}

/// An element segment.
#[derive(Clone, Debug, PartialEq)]
pub struct ElementSegment {
    /// How it is used.
    pub kind: ElementKind,
    /// The reference type of its items.
    pub ty: RefType,
    /// The items.
    pub items: ElementItems,
}

impl ElementSegment {
    /// The number of items.
    pub fn len(&self) -> usize {
        match &self.items {
            ElementItems::Functions(f) => f.len(),
            ElementItems::Expressions(e) => e.len(),
        }
    }

    /// Whether the segment has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a data segment is used.
#[derive(Clone, Debug, PartialEq)]
pub enum DataKind {
    /// Copied into `memory` at `offset` during instantiation, then dropped.
    Active {
        /// The memory index.
        memory: u32,
        /// The start address.
        offset: ConstExpr,
    },
    /// Available to `memory.init` until `data.drop`.
    Passive,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSegment {
    /// How it is used.
    pub kind: DataKind,
    /// The segment's bytes in [`Module::wire_bytes`].
    pub range: Range<usize>,
}

/// A custom section, in module order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomSection {
    /// The section name.
    pub name: String,
    /// The section's payload (after the name) in [`Module::wire_bytes`].
    pub range: Range<usize>,
}

/// A validated WebAssembly module.
///
/// Index spaces (functions, tables, memories, globals, tags) list imports first, as the spec
/// numbers them. Byte ranges refer to [`Module::wire_bytes`], which is shared (`Arc`) so that
/// compile jobs on other threads can read bodies without copying.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The type section, one entry per type index.
    pub types: Vec<SubType>,
    /// Canonical signature id per type index: two function types with equal parameters and
    /// results have the same id, which is the index of the first such type. `call_indirect`
    /// compares these. Non-function types get their own index.
    pub signature_ids: Vec<u32>,
    /// Imports, in section order.
    pub imports: Vec<Import>,
    /// The function index space.
    pub functions: Vec<Function>,
    /// How many of [`Module::functions`] are imported (they come first).
    pub num_imported_functions: u32,
    /// The table index space.
    pub tables: Vec<Table>,
    /// How many tables are imported.
    pub num_imported_tables: u32,
    /// The memory index space.
    pub memories: Vec<MemoryType>,
    /// How many memories are imported.
    pub num_imported_memories: u32,
    /// The global index space.
    pub globals: Vec<Global>,
    /// How many globals are imported.
    pub num_imported_globals: u32,
    /// The tag index space (exceptions).
    pub tags: Vec<TagType>,
    /// Exports, in section order.
    pub exports: Vec<Export>,
    /// The start function, if any.
    pub start: Option<u32>,
    /// Element segments, in section order.
    pub elements: Vec<ElementSegment>,
    /// Data segments, in section order.
    pub data: Vec<DataSegment>,
    /// The data count section's value, if present.
    pub data_count: Option<u32>,
    /// The name section, parsed on first use by [`Module::function_name`] and friends.
    pub names: Names,
    /// Every custom section, the name section included.
    pub custom_sections: Vec<CustomSection>,
    /// The URL in the `sourceMappingURL` custom section, if any.
    pub source_mapping_url: Option<String>,
    /// The URL in the `external_debug_info` custom section, if any.
    pub external_debug_info_url: Option<String>,
    /// The module's binary encoding. Empty while a streaming decode is still in progress.
    pub wire_bytes: Arc<[u8]>,
    /// [`crate::hash_bytes`] of the wire bytes.
    pub hash: u64,
}

impl Default for Module {
    fn default() -> Module {
        Module {
            types: Vec::new(),
            signature_ids: Vec::new(),
            imports: Vec::new(),
            functions: Vec::new(),
            num_imported_functions: 0,
            tables: Vec::new(),
            num_imported_tables: 0,
            memories: Vec::new(),
            num_imported_memories: 0,
            globals: Vec::new(),
            num_imported_globals: 0,
            tags: Vec::new(),
            exports: Vec::new(),
            start: None,
            elements: Vec::new(),
            data: Vec::new(),
            data_count: None,
            names: Names::default(),
            custom_sections: Vec::new(),
            source_mapping_url: None,
            external_debug_info_url: None,
            wire_bytes: Arc::from(&[][..]),
            hash: 0,
        }
    }
}

impl Module {
    /// The function type with type index `type_index`, if it is a function type.
    pub fn func_type(&self, type_index: u32) -> Option<&FuncType> {
        self.types.get(type_index as usize)?.unwrap_func_checked()
    }

    /// The type of function `func_index` (imports included). Panics if out of range; the
    /// validator guarantees every index in the module is in range.
    pub fn function_type(&self, func_index: u32) -> &FuncType {
        let ty = self.functions[func_index as usize].type_index;
        self.func_type(ty).expect("function has a function type")
    }

    /// The bytes of function `func_index`'s body, or `None` for an import.
    pub fn function_body(&self, func_index: u32) -> Option<&[u8]> {
        let range = self.functions.get(func_index as usize)?.body.clone()?;
        Some(&self.wire_bytes[range])
    }

    /// The number of functions defined (not imported) in the module.
    pub fn num_defined_functions(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_functions
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }

    /// The module's name from the name section, if it has one. The first name lookup parses
    /// the name section (O(its size)); later ones are O(1).
    pub fn module_name(&self) -> Option<&str> {
        self.names.parsed(&self.wire_bytes).module.as_deref()
    }

    /// The function's name from the name section, if it has one. See [`Module::module_name`]
    /// for the cost.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.names
            .parsed(&self.wire_bytes)
            .functions
            .get(&func_index)
            .map(String::as_str)
    }

    /// The named locals of a function, as (local index, name) pairs in section order. See
    /// [`Module::module_name`] for the cost.
    pub fn local_names(&self, func_index: u32) -> &[(u32, String)] {
        let parsed = self.names.parsed(&self.wire_bytes);
        parsed.locals.get(&func_index).map_or(&[], Vec::as_slice)
    }
}

/// `SubType::unwrap_func` without the panic.
trait SubTypeExt {
    fn unwrap_func_checked(&self) -> Option<&FuncType>;
}

impl SubTypeExt for SubType {
    fn unwrap_func_checked(&self) -> Option<&FuncType> {
        match &self.composite_type.inner {
            wasmparser::CompositeInnerType::Func(f) => Some(f),
            _ => None,
        }
    }
}
