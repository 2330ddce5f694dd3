//! The module header: far-jump trampoline, lazy-compile stubs and the jump table.
//!
//! ```text
//! offset 0                16                      16 + 16n                16 + 24n
//!        | trampoline     | lazy stub 0 .. n-1    | slot 0 .. n-1          |
//!        | jmp [rip+2]    | mov r11d, idx         | jmp rel32 ; nop3       |
//!        | ud2            | jmp trampoline        | (8 bytes, 8-aligned)   |
//!        | .quad builtin  | int3 padding          |                        |
//! ```
//!
//! Slot `i` belongs to declared function `num_imported + i`. It first jumps to lazy stub `i`,
//! which loads the function index into r11 and jumps to the trampoline, which jumps (through an
//! absolute address, so the builtin may live anywhere) to the lazy-compile builtin. Publishing
//! rewrites the slot with one atomic 8-byte store to jump straight to the code; removing
//! rewrites it back to its stub. Calls between functions of the module are rel32 calls to slots.

use kiln_assembler_x64::patch::{
    FAR_JUMP_SIZE, JUMP_SLOT_SIZE, LAZY_STUB_SIZE, far_jump, jump_slot, lazy_stub,
};

use crate::CodeError;

/// Size of the far-jump trampoline at the start of every header.
pub(crate) const TRAMPOLINE_SIZE: usize = FAR_JUMP_SIZE;

/// Offset of the `ud2` inside the trampoline: the builtin target when none is registered, so a
/// lazy call without a builtin traps cleanly.
const TRAMPOLINE_UD2_OFFSET: usize = 6;

/// Where the parts of a header lie, relative to the header's start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderLayout {
    /// Declared functions: one stub and one slot each.
    pub(crate) slots: u32,
}

impl HeaderLayout {
    /// Offset of lazy stub `slot`.
    pub(crate) fn stub_offset(self, slot: u32) -> usize {
        TRAMPOLINE_SIZE + slot as usize * LAZY_STUB_SIZE
    }

    /// Offset of the jump table's first slot.
    pub(crate) fn table_offset(self) -> usize {
        self.stub_offset(self.slots)
    }

    /// Offset of jump-table slot `slot`.
    pub(crate) fn slot_offset(self, slot: u32) -> usize {
        self.table_offset() + slot as usize * JUMP_SLOT_SIZE
    }

    /// Total header size in bytes.
    pub(crate) fn size(self) -> usize {
        self.slot_offset(self.slots)
    }

    /// The header's bytes for a header placed at executable address `base`, with lazy calls
    /// going to `builtin` (or trapping on `ud2` if `None`).
    pub(crate) fn encode(
        self,
        base: usize,
        first_index: u32,
        builtin: Option<usize>,
    ) -> Result<Vec<u8>, CodeError> {
        let builtin = builtin.unwrap_or(base + TRAMPOLINE_UD2_OFFSET);
        let out_of_range = |offset: usize| CodeError::RelocationOutOfRange {
            offset: offset as u32,
        };
        // In address order, from templates (a module has a stub and a slot per function).
        let mut bytes = Vec::with_capacity(self.size());
        bytes.extend_from_slice(&far_jump(builtin as u64));
        for slot in 0..self.slots {
            let stub_at = self.stub_offset(slot);
            let stub = lazy_stub((base + stub_at) as u64, first_index + slot, base as u64)
                .map_err(|_| out_of_range(stub_at))?;
            bytes.extend_from_slice(&stub);
        }
        for slot in 0..self.slots {
            let slot_at = self.slot_offset(slot);
            let stub_at = self.stub_offset(slot);
            let jump = jump_slot((base + slot_at) as u64, (base + stub_at) as u64)
                .map_err(|_| out_of_range(slot_at))?;
            bytes.extend_from_slice(&jump);
        }
        debug_assert_eq!(bytes.len(), self.size());
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_start_at_their_stubs() {
        let layout = HeaderLayout { slots: 3 };
        assert_eq!(layout.size(), 16 + 3 * 16 + 3 * 8);
        assert_eq!(layout.table_offset() % JUMP_SLOT_SIZE, 0);
        let base = 0x10_0000;
        let bytes = layout.encode(base, 5, Some(0x7000_0000)).unwrap();
        // Stub 2 loads index 7 and jumps back to the trampoline at `base`.
        let stub = layout.stub_offset(2);
        assert_eq!(&bytes[stub..stub + 6], &[0x41, 0xBB, 7, 0, 0, 0]);
        let disp = i32::from_le_bytes(bytes[stub + 7..stub + 11].try_into().unwrap());
        assert_eq!(base as i64 + stub as i64 + 11 + disp as i64, base as i64);
        // Slot 2 jumps to stub 2.
        let slot = layout.slot_offset(2);
        assert_eq!(bytes[slot], 0xE9);
        let disp = i32::from_le_bytes(bytes[slot + 1..slot + 5].try_into().unwrap());
        assert_eq!(slot as i64 + 5 + disp as i64, stub as i64);
        assert_eq!(
            u64::from_le_bytes(bytes[8..16].try_into().unwrap()),
            0x7000_0000
        );
    }
}
