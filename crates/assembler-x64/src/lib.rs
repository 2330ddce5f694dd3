//! A hand-written x86-64 assembler for Kiln's baseline tier, its trampolines and its jump tables.
//!
//! It depends on nothing else in Kiln, so it can be used alone.
//!
//! - [`reg`]: general-purpose ([`Gpr`]) and xmm ([`Xmm`]) registers, operation widths ([`Size`]).
//! - [`operand`]: memory operands ([`Mem`]: base, index, scale, displacement, rip-relative,
//!   label-relative) and condition codes ([`Cond`]).
//! - [`Assembler`]: one method per instruction form, labels with automatic short/near branch
//!   selection ([`BranchSize`]), a constant pool for float constants and masks, `pc_offset()`
//!   for trap-site and source-position tables, and `finish()` returning the bytes.
//! - [`CpuFeatures`]: cached CPU feature detection (AVX, LZCNT, POPCNT, BMI1, SSE4.1...).
//! - [`patch`]: the code shapes the code manager patches at run time (jump-table slots,
//!   lazy-compile stubs).
//!
//! Encodings are described once: the opcode tables live in one module, the REX/VEX/ModRM/SIB
//! rules in another, and the assembler methods only combine them.
//!
//! # Using it from a compiler
//! - **Offsets.** [`Assembler::pc_offset`] before an instruction is its offset in the final
//!   code: record it for trap sites (e.g. before a load that may fault, or a `ud2`) and for
//!   source positions. Offsets never move: nothing is re-encoded after it is emitted.
//! - **Labels.** [`Assembler::new_label`], [`Assembler::bind`], and branches/calls/`lea` to
//!   them. [`Assembler::jmp`]/[`Assembler::jcc`] use [`BranchSize::Auto`]: backward branches
//!   are short (2 bytes) when rel8 reaches, forward branches are near (5/6 bytes). Ask for
//!   [`BranchSize::Short`] on forward branches known to be short; an out-of-range one is
//!   reported by [`Assembler::finish`].
//! - **Constants.** [`Assembler::const_f64`] and friends return a rip-relative [`Mem`] to a
//!   deduplicated constant placed after the code by `finish` (16-byte aligned relative to the
//!   code start: map the code 16-byte aligned).
//! - **CPU features.** The VEX (`v*`), BMI2, `lzcnt`, `tzcnt`, `popcnt` and `rounds*` methods
//!   emit what they are told; choose them with [`CpuFeatures::detect`] or use the
//!   `*_or_*` helpers, which pick a fallback sequence.
//! - **Calls out of the code.** [`Assembler::call_rel32`]/[`Assembler::jmp_rel32`] take a raw
//!   displacement; record `pc_offset() - 4` after them and patch once the addresses are known,
//!   or load the absolute address (`mov_ri64`) and use [`Assembler::call_r`].
//! - **Errors.** Operand mistakes do not panic: the first is kept, the instruction skipped,
//!   and `finish` returns it as an [`AsmError`].
//!
//! # Example
//! Assemble `fn(a: i64, b: i64) -> i64 { a * b + 7 }` and run it:
//! ```
//! use kiln_assembler_x64::{Assembler, Size, RAX, RDI, RSI};
//!
//! let mut asm = Assembler::new();
//! asm.mov_rr(Size::S64, RAX, RDI);
//! asm.imul_rr(Size::S64, RAX, RSI);
//! asm.add_ri(Size::S64, RAX, 7);
//! asm.ret();
//! let code = asm.finish().unwrap();
//!
//! let mut page = region::alloc(code.len(), region::Protection::READ_WRITE).unwrap();
//! let ptr = page.as_mut_ptr::<u8>();
//! // SAFETY: `page` is a fresh writable mapping of at least `code.len()` bytes; it is made
//! // executable (and no longer writable) before the function is called.
//! let f: extern "sysv64" fn(i64, i64) -> i64 = unsafe {
//!     std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len());
//!     region::protect(ptr, code.len(), region::Protection::READ_EXECUTE).unwrap();
//!     std::mem::transmute(ptr)
//! };
//! assert_eq!(f(6, 7), 49);
//! ```

#![deny(missing_docs)]

mod assembler;
mod code_buf;
mod constant_pool;
mod cpu;
mod encoding;
mod inst;
mod label;
pub mod operand;
pub mod patch;
pub mod reg;

pub use assembler::{AsmError, Assembler, BranchSize};
pub use cpu::CpuFeatures;
pub use inst::{AluOp, BitOp, FloatSize, RoundMode, ShiftOp, SseOp, UnaryOp};
pub use label::Label;
pub use operand::{Cond, Mem, Scale};
pub use reg::*;
