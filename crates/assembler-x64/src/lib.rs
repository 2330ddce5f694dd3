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
