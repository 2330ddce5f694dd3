//! Wasm backtraces: the frames between an entry trampoline and the point of a trap.
//!
//! Frames are found by walking the `rbp` chain (every wasm prologue is
//! `push rbp; mov rbp, rsp`), starting at the faulting pc and frame pointer, or at the frame of
//! the builtin shim or exit trampoline a trap was raised from, and stopping at the first return
//! address that is not wasm code (the entry trampoline). Each pc is mapped to its function and
//! wasm byte offset through the code manager while the code is still alive.

use std::fmt;

/// One wasm frame of a [`Backtrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// [`kiln_decoder::Module::hash`] of the module the function belongs to (0 if unknown).
    pub module_hash: u64,
    /// The function index (imports included).
    pub func_index: u32,
    /// The function's name from the name section, if any.
    pub func_name: Option<String>,
    /// Byte offset of the wasm instruction in the module, if the code records it.
    pub wasm_offset: Option<u32>,
}

impl fmt::Display for FrameInfo {
    /// `wasm://wasm/<hash8>:wasm-function[<index>]:0x<offset>`, preceded by the name if known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = format!("{:016x}", self.module_hash);
        let location = format!(
            "wasm://wasm/{}:wasm-function[{}]:0x{:x}",
            &hash[..8],
            self.func_index,
            self.wasm_offset.unwrap_or(0)
        );
        match &self.func_name {
            Some(name) => write!(f, "{name} ({location})"),
            None => f.write_str(&location),
        }
    }
}

/// The wasm frames of a trap, innermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Backtrace {
    /// The frames.
    pub frames: Vec<FrameInfo>,
}

impl fmt::Display for Backtrace {
    /// One `    at <frame>` line per frame.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "    at {frame}")?;
        }
        Ok(())
    }
}
