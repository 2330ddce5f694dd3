//! Decoding errors: what went wrong and where.

use std::fmt;

/// A part of a module's binary encoding, for locating errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SectionId {
    /// The 8-byte preamble (magic number and version).
    Header,
    /// A custom section (id 0).
    Custom,
    /// The type section (id 1).
    Type,
    /// The import section (id 2).
    Import,
    /// The function section (id 3).
    Function,
    /// The table section (id 4).
    Table,
    /// The memory section (id 5).
    Memory,
    /// The global section (id 6).
    Global,
    /// The export section (id 7).
    Export,
    /// The start section (id 8).
    Start,
    /// The element section (id 9).
    Element,
    /// The code section (id 10).
    Code,
    /// The data section (id 11).
    Data,
    /// The data count section (id 12).
    DataCount,
    /// The tag section (id 13).
    Tag,
    /// A section id the decoder does not know.
    Unknown(u8),
}

impl SectionId {
    /// The section with binary id `id`.
    pub fn from_id(id: u8) -> SectionId {
        match id {
            0 => SectionId::Custom,
            1 => SectionId::Type,
            2 => SectionId::Import,
            3 => SectionId::Function,
            4 => SectionId::Table,
            5 => SectionId::Memory,
            6 => SectionId::Global,
            7 => SectionId::Export,
            8 => SectionId::Start,
            9 => SectionId::Element,
            10 => SectionId::Code,
            11 => SectionId::Data,
            12 => SectionId::DataCount,
            13 => SectionId::Tag,
            other => SectionId::Unknown(other),
        }
    }

    /// The section's name as the spec writes it (`type`, `import`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SectionId::Header => "header",
            SectionId::Custom => "custom",
            SectionId::Type => "type",
            SectionId::Import => "import",
            SectionId::Function => "function",
            SectionId::Table => "table",
            SectionId::Memory => "memory",
            SectionId::Global => "global",
            SectionId::Export => "export",
            SectionId::Start => "start",
            SectionId::Element => "element",
            SectionId::Code => "code",
            SectionId::Data => "data",
            SectionId::DataCount => "data count",
            SectionId::Tag => "tag",
            SectionId::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for SectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionId::Unknown(id) => write!(f, "unknown section {id}"),
            _ => write!(f, "{} section", self.name()),
        }
    }
}

/// Why a module failed to decode or validate, and where.
///
/// Displayed as `<message> (at byte offset 0x1a2 in the code section, function #3)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
    offset: usize,
    section: Option<SectionId>,
    function_index: Option<u32>,
}

impl DecodeError {
    pub(crate) fn new(
        message: impl Into<String>,
        offset: usize,
        section: Option<SectionId>,
        function_index: Option<u32>,
    ) -> DecodeError {
        DecodeError {
            message: message.into(),
            offset,
            section,
            function_index,
        }
    }

    pub(crate) fn from_wasmparser(
        err: &wasmparser::BinaryReaderError,
        section: Option<SectionId>,
        function_index: Option<u32>,
    ) -> DecodeError {
        // Some messages print byte arrays over several lines; keep errors on one line.
        let message = err
            .message()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        DecodeError::new(message, err.offset() as usize, section, function_index)
    }

    /// The reason, in wasmparser's words (e.g. `type mismatch: expected i32, found i64`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset of the error in the module's wire bytes.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The section the error is in, when known.
    pub fn section(&self) -> Option<SectionId> {
        self.section
    }

    /// Index (in the function index space, imports included) of the function whose body is
    /// invalid, for errors inside a function body.
    pub fn function_index(&self) -> Option<u32> {
        self.function_index
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte offset {:#x}", self.message, self.offset)?;
        if let Some(section) = self.section {
            write!(f, " in the {section}")?;
        }
        if let Some(index) = self.function_index {
            write!(f, ", function #{index}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for DecodeError {}
