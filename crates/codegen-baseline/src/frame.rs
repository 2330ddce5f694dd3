//! The frame of a baseline function.
//!
//! ```text
//! [rbp + 16 ..]   stack arguments (popped by this function's `ret imm16`)
//! [rbp + 8]       return address
//! [rbp]           caller's rbp (frames chain through rbp)
//! [rbp - 8]       caller's rbx (rbx holds this function's VMContext)
//! [rbp - 16]      return-area pointer, when the signature has one
//! [rbp - 24]      callee of the call_indirect being set up
//! [rbp - 32]      (padding)
//! [rbp - 40 ..]   one 8-byte slot per value-stack position: locals first, then operands
//! [rsp]           = rbp - frame_size (16-byte aligned); outgoing stack arguments and return
//!                 areas are pushed below it for the duration of a call
//! ```
//!
//! A value-stack entry that is spilled lives in the slot of its position, so equal positions
//! agree at every control-flow merge and a merge never has to move a spilled value that stays
//! where it is. The frame size is known at the end of the body and patched into the prologue.
//! Debug code keeps every local and operand in its slot (or constant) at each instruction
//! boundary; its side table names slots by their offset from `rbp` ([`slot_offset`]).

use crate::error::{CompileError, Result};
use kiln_assembler_x64::{Mem, RBP};

/// Where the caller's `rbx` is saved.
pub const SAVED_RBX: Mem = Mem::base(RBP, -8);
/// Where the hidden return-area pointer is kept.
pub const RET_AREA_PTR: Mem = Mem::base(RBP, -16);
/// Where `call_indirect` keeps the callee's `VMFuncRef` pointer while arguments are moved.
pub const CALL_TARGET: Mem = Mem::base(RBP, -24);
/// Bytes of fixed slots below `rbp`.
const FIXED: u32 = 32;
/// Largest frame this tier builds (keeps every displacement in range).
const MAX_FRAME: u32 = 1 << 30;
/// Offset of the first stack argument from `rbp`.
pub const STACK_ARGS: i32 = 16;

/// The slot of value-stack position `index`. Positions are bounded by [`check_height`].
pub fn slot(index: usize) -> Mem {
    Mem::base(RBP, slot_offset(index))
}

/// The offset from `rbp` of the slot of value-stack position `index`.
pub fn slot_offset(index: usize) -> i32 {
    -((FIXED as i32) + 8 * (index as i32 + 1))
}

/// Fails if a value stack of `height` entries would not fit in a frame.
pub fn check_height(height: usize) -> Result<()> {
    if height as u64 * 8 + u64::from(FIXED) + 16 > u64::from(MAX_FRAME) {
        return Err(CompileError::TooLarge {
            what: "frame over 1 GiB",
        });
    }
    Ok(())
}

/// Bytes between `rsp` and `rbp` for a function whose value stack reached `max_height`.
pub fn frame_size(max_height: usize) -> u32 {
    (FIXED + 8 * max_height as u32).next_multiple_of(16)
}
