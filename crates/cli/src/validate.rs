//! `kiln validate FILE`.

use kiln_engine::decoder::{
    self, DecodeError, Features, Module, Proposal, SectionId, StreamingDecoder, StreamingProcessor,
};
use std::ops::Range;
use std::path::Path;

/// Records each section's id and size as the decoder meets it.
#[derive(Default)]
struct Sections(Vec<(SectionId, usize)>);

impl StreamingProcessor for Sections {
    fn on_section(&mut self, id: SectionId, range: Range<usize>) {
        self.0.push((id, range.len()));
    }
}

/// Decodes with every proposal on, so the summary can name the ones the module needs.
fn decode(wasm: &[u8]) -> Result<(Module, Sections), DecodeError> {
    let mut sections = Sections::default();
    let mut decoder = StreamingDecoder::with_processor(&Features::all(), &mut sections);
    decoder.on_bytes_received(wasm)?;
    let module = decoder.finish()?;
    Ok((module, sections))
}

/// Runs the command; returns the exit status.
pub fn run(file: &str) -> i32 {
    let path = Path::new(file);
    let wasm = match crate::input::read_module(path) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    match decode(&wasm) {
        Ok((module, sections)) => {
            print!(
                "{}",
                summary(
                    file,
                    &wasm,
                    &module,
                    &sections,
                    &decoder::proposals_needed(&wasm, &Features::default()).unwrap_or_default()
                )
            );
            0
        }
        Err(e) => {
            eprintln!("error: {file}: invalid module: {e}");
            1
        }
    }
}

fn summary(
    file: &str,
    wasm: &[u8],
    m: &Module,
    sections: &Sections,
    needed: &[Proposal],
) -> String {
    let defined = m.functions.len() as u32 - m.num_imported_functions;
    let mut out = format!(
        "{file}: valid WebAssembly module, {} bytes, hash {:016x}\n",
        wasm.len(),
        m.hash
    );
    if let Some(name) = m.module_name() {
        out += &format!("  name: {name}\n");
    }
    out += &format!(
        "  functions: {} ({} imported, {defined} defined); types: {}\n",
        m.functions.len(),
        m.num_imported_functions,
        m.types.len()
    );
    out += &format!(
        "  tables: {}; memories: {}; globals: {}; tags: {}\n",
        m.tables.len(),
        m.memories.len(),
        m.globals.len(),
        m.tags.len()
    );
    out += &format!(
        "  element segments: {}; data segments: {}; start: {}\n",
        m.elements.len(),
        m.data.len(),
        m.start
            .map_or("none".to_string(), |s| format!("function {s}"))
    );
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let imports: Vec<String> = m
        .imports
        .iter()
        .take(8)
        .map(|i| format!("{}.{}", i.module, i.name))
        .collect();
    let more = m.imports.len().saturating_sub(8);
    out += &format!(
        "  imports ({}): {}{}\n",
        m.imports.len(),
        list(imports),
        if more > 0 {
            format!(", ... {more} more")
        } else {
            String::new()
        }
    );
    let exports: Vec<String> = m.exports.iter().take(8).map(|e| e.name.clone()).collect();
    let more = m.exports.len().saturating_sub(8);
    out += &format!(
        "  exports ({}): {}{}\n",
        m.exports.len(),
        list(exports),
        if more > 0 {
            format!(", ... {more} more")
        } else {
            String::new()
        }
    );
    let mut custom = m.custom_sections.iter();
    let sizes: Vec<String> = sections
        .0
        .iter()
        .map(|(id, size)| match id {
            SectionId::Custom => {
                let name = custom.next().map_or("?", |c| c.name.as_str());
                format!("custom \"{name}\" {size}")
            }
            other => format!("{} {size}", other.name()),
        })
        .collect();
    out += &format!("  sections (bytes): {}\n", list(sizes));
    if let Some(url) = &m.source_mapping_url {
        out += &format!("  source map: {url}\n");
    }
    let needed: Vec<String> = needed.iter().map(|p| p.name().to_string()).collect();
    out += &format!("  features beyond WebAssembly 2.0: {}\n", list(needed));
    out
}
