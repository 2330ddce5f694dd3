//! The `name` custom section and the URL-carrying custom sections.

use std::collections::HashMap;
use wasmparser::{BinaryReader, Name, NameSectionReader};

/// Names from the `name` custom section, for backtraces, logs and the debugger.
///
/// A malformed name section is ignored (custom sections never make a module invalid); what was
/// read before the malformed part is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// The module's name.
    pub module: Option<String>,
    /// Function index -> name.
    pub functions: HashMap<u32, String>,
    /// Function index -> (local index, name) pairs.
    pub locals: HashMap<u32, Vec<(u32, String)>>,
}

impl Names {
    /// Reads a `name` section payload starting at byte offset `offset`.
    pub(crate) fn read(&mut self, data: &[u8], offset: usize) {
        let reader = NameSectionReader::new(BinaryReader::new(data, offset as u64));
        let _ = self.read_subsections(reader);
    }

    fn read_subsections(&mut self, reader: NameSectionReader<'_>) -> wasmparser::Result<()> {
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
