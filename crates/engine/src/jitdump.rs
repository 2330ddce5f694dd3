//! The jitdump listener: the binary format `perf inject --jit` reads to attribute samples to
//! JIT code (Linux `tools/perf/Documentation/jitdump-specification.txt`): a file header, then
//! one `JIT_CODE_LOAD` record per code object with its name and bytes. The file is mapped
//! executable once, which is how `perf record` notices it.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{CodeEvent, CodeEventListener};

const MAGIC: u32 = 0x4A69_5444;
const VERSION: u32 = 1;
const HEADER_SIZE: u32 = 40;
const EM_X86_64: u32 = 62;
const JIT_CODE_LOAD: u32 = 0;
/// Record header (id, size, timestamp) plus pid, tid, vma, code_addr, code_size, code_index.
const LOAD_FIXED_SIZE: usize = 16 + 8 + 4 * 8;

/// Writes code events to a jitdump file.
#[derive(Debug)]
pub struct JitDumpListener {
    path: PathBuf,
    state: Mutex<JitDumpState>,
}

#[derive(Debug)]
struct JitDumpState {
    file: File,
    next_index: u64,
    /// The executable mapping of the file's first page that marks it for perf.
    marker: usize,
}

fn timestamp() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl JitDumpListener {
    /// Creates `jit-<pid>.dump` in `dir` (perf expects that name).
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<JitDumpListener> {
        let path = dir
            .as_ref()
            .join(format!("jit-{}.dump", std::process::id()));
        JitDumpListener::with_path(path)
    }

    /// Creates (truncates) the dump at `path` and writes its header.
    pub fn with_path(path: impl AsRef<Path>) -> std::io::Result<JitDumpListener> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::create(&path)?;
        let mut header = Vec::with_capacity(HEADER_SIZE as usize);
        header.extend_from_slice(&MAGIC.to_ne_bytes());
        header.extend_from_slice(&VERSION.to_ne_bytes());
        header.extend_from_slice(&HEADER_SIZE.to_ne_bytes());
        header.extend_from_slice(&EM_X86_64.to_ne_bytes());
        header.extend_from_slice(&0u32.to_ne_bytes()); // pad1
        header.extend_from_slice(&std::process::id().to_ne_bytes());
        header.extend_from_slice(&timestamp().to_ne_bytes());
        header.extend_from_slice(&0u64.to_ne_bytes()); // flags
        file.write_all(&header)?;
        // SAFETY: maps one page of an open file read+exec, private; no Rust reference to the
        // mapping exists and it is unmapped on drop.
        let marker = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        let marker = if marker == libc::MAP_FAILED {
            0
        } else {
            marker as usize
        };
        Ok(JitDumpListener {
            path,
            state: Mutex::new(JitDumpState {
                file,
                next_index: 0,
                marker,
            }),
        })
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl CodeEventListener for JitDumpListener {
    fn code_created(&self, event: &CodeEvent) {
        let name = event.symbol();
        let total = LOAD_FIXED_SIZE + name.len() + 1 + event.code.len();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut record = Vec::with_capacity(total);
        record.extend_from_slice(&JIT_CODE_LOAD.to_ne_bytes());
        record.extend_from_slice(&(total as u32).to_ne_bytes());
        record.extend_from_slice(&timestamp().to_ne_bytes());
        record.extend_from_slice(&std::process::id().to_ne_bytes());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        record.extend_from_slice(&tid.to_ne_bytes());
        record.extend_from_slice(&(event.address as u64).to_ne_bytes()); // vma
        record.extend_from_slice(&(event.address as u64).to_ne_bytes()); // code_addr
        record.extend_from_slice(&(event.code.len() as u64).to_ne_bytes());
        record.extend_from_slice(&state.next_index.to_ne_bytes());
        record.extend_from_slice(name.as_bytes());
        record.push(0);
        record.extend_from_slice(&event.code);
        state.next_index += 1;
        // Logging must not fail the program.
        let _ = state.file.write_all(&record);
    }
}

impl Drop for JitDumpListener {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if state.marker != 0 {
            // SAFETY: `marker` is the page mapped in `with_path`, unmapped once.
            unsafe { libc::munmap(state.marker as *mut libc::c_void, 4096) };
        }
    }
}
