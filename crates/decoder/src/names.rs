//! The `name` custom section, read lazily, and the URL-carrying custom sections.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;
use wasmparser::{BinaryReader, Name, NameSectionReader};

/// The `name` custom section of a module, parsed on first use.
///
/// Decoding only records where the section is; the first call of
/// [`crate::Module::function_name`] (or the other name accessors) parses it into maps, as V8
/// does, because most modules are run without ever printing a name and large modules carry
/// name sections of megabytes. A malformed name section is ignored (custom sections never make
/// a module invalid); what was read before the malformed part is kept.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// The payload of the first `name` section in the wire bytes, if any.
    section: Option<Range<usize>>,
    parsed: OnceLock<ParsedNames>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct ParsedNames {
    pub(crate) module: Option<String>,
    pub(crate) functions: HashMap<u32, String>,
    pub(crate) locals: HashMap<u32, Vec<(u32, String)>>,
}

/// Two `Names` are equal when they describe the same section of equal wire bytes.
impl PartialEq for Names {
    fn eq(&self, other: &Names) -> bool {
        self.section == other.section
    }
}

impl Names {
    /// Records the first `name` section's payload range; later ones are ignored.
    pub(crate) fn record(&mut self, range: Range<usize>) {
        self.section.get_or_insert(range);
    }

    /// The byte range of the `name` section's payload, if the module has one.
    pub fn section(&self) -> Option<Range<usize>> {
        self.section.clone()
    }

    /// The parsed names; `wire_bytes` must be the bytes the range was recorded in.
    pub(crate) fn parsed(&self, wire_bytes: &[u8]) -> &ParsedNames {
        self.parsed.get_or_init(|| {
            let mut parsed = ParsedNames::default();
            if let Some(range) = &self.section {
                let reader = BinaryReader::new(&wire_bytes[range.clone()], range.start as u64);
                let _ = parsed.read(NameSectionReader::new(reader));
            }
            parsed
        })
    }
}

impl ParsedNames {
    fn read(&mut self, reader: NameSectionReader<'_>) -> wasmparser::Result<()> {
        for subsection in reader {
            match subsection? {
                Name::Module { name, .. } => self.module = Some(name.to_owned()),
                Name::Function(map) => {
                    for naming in map {
                        let naming = naming?;
                        self.functions.insert(naming.index, naming.name.to_owned());
                    }
                }
                Name::Local(map) => {
                    for function in map {
                        let function = function?;
                        let mut locals = Vec::new();
                        for naming in function.names {
                            let naming = naming?;
                            locals.push((naming.index, naming.name.to_owned()));
                        }
                        self.locals.insert(function.index, locals);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Reads the single length-prefixed UTF-8 string that `sourceMappingURL` and
/// `external_debug_info` hold; `None` if malformed.
pub(crate) fn read_url(data: &[u8], offset: usize) -> Option<String> {
    let mut reader = BinaryReader::new(data, offset as u64);
    let url = reader.read_string().ok()?;
    reader.eof().then(|| url.to_owned())
}
