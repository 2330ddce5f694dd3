//! Reading a module from a file: binary `.wasm`, or text `.wat`/`.wast` compiled with `wat`.

use std::path::Path;

/// The module's binary encoding: the file itself, or its text compiled with `wat`.
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let is_text = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("wat" | "wast")
    );
    if bytes.starts_with(b"\0asm") || !is_text {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|mut e| {
            e.set_path(path);
            format!("invalid text module: {e}")
        })
}
