//! The perf map listener: `/tmp/perf-<pid>.map`, one line per code object
//! (`<start hex> <size hex> <symbol>`), which `perf report` reads to name JIT code.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{CodeEvent, CodeEventListener};

/// Appends code events to a perf map file.
#[derive(Debug)]
pub struct PerfMapListener {
    path: PathBuf,
    file: Mutex<File>,
}

impl PerfMapListener {
    /// Appends to `/tmp/perf-<pid>.map`, where `perf` looks.
    pub fn new() -> std::io::Result<PerfMapListener> {
        PerfMapListener::with_path(format!("/tmp/perf-{}.map", std::process::id()))
    }

    /// Appends to `path`.
    pub fn with_path(path: impl AsRef<Path>) -> std::io::Result<PerfMapListener> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(PerfMapListener {
            path,
            file: Mutex::new(file),
        })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CodeEventListener for PerfMapListener {
    fn code_created(&self, event: &CodeEvent) {
        let line = format!(
            "{:x} {:x} {}\n",
            event.address,
            event.size(),
            event.symbol()
        );
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // Logging must not fail the program; a full disk loses lines.
        let _ = file.write_all(line.as_bytes());
    }
}
