//! Code shapes that are written or rewritten while other threads may be executing them.
//!
//! A jump-table slot is one 8-byte aligned word holding `jmp rel32` followed by a 3-byte nop.
//! Because the whole slot is one naturally aligned 8-byte word, rewriting it with a single
//! 8-byte store means a thread fetching it sees either the old or the new instruction, never a
//! torn mix (x86-64 makes aligned 8-byte stores atomic, and an aligned 8-byte word never
//! crosses a cache line).

use crate::{Assembler, Gpr, Mem, Size};

/// Size and alignment of one jump-table slot, in bytes.
pub const JUMP_SLOT_SIZE: usize = 8;

/// Size of a lazy-compile stub, in bytes (a multiple of 8 so stubs stay aligned in a table).
pub const LAZY_STUB_SIZE: usize = 16;

/// Size of a far jump, in bytes: `jmp [rip + 2]; ud2` followed by the 8-byte target address.
pub const FAR_JUMP_SIZE: usize = 16;

/// The general-purpose register (by hardware number) in which a lazy-compile stub passes the
/// function index to the lazy-compile builtin: r11, never a parameter register.
pub const LAZY_STUB_INDEX_REGISTER: u8 = 11;

/// A branch target farther than a rel32 displacement can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// Address of the byte after the branch instruction.
    pub from: u64,
    /// The target address.
    pub to: u64,
}

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "branch from {:#x} to {:#x} does not fit in rel32",
            self.from, self.to
        )
    }
}

impl std::error::Error for OutOfRange {}

/// The rel32 displacement from `next_pc` (the address after the branch) to `target`.
pub fn rel32(next_pc: u64, target: u64) -> Result<i32, OutOfRange> {
    let delta = target.wrapping_sub(next_pc) as i64;
    i32::try_from(delta).map_err(|_| OutOfRange {
        from: next_pc,
        to: target,
    })
}

/// The 8 bytes of a jump-table slot at `slot_addr` that jumps to `target`:
/// `jmp rel32` then a 3-byte `nop dword [rax]` that is never executed.
/// Cost: a copy of a template the assembler encodes once, and the displacement.
pub fn jump_slot(slot_addr: u64, target: u64) -> Result<[u8; JUMP_SLOT_SIZE], OutOfRange> {
    static TEMPLATE: std::sync::LazyLock<[u8; JUMP_SLOT_SIZE]> = std::sync::LazyLock::new(|| {
        let mut asm = Assembler::with_capacity(JUMP_SLOT_SIZE);
        emit_jump_slot(&mut asm, 0, JMP_REL32_SIZE).expect("a zero displacement fits");
        to_array(asm)
    });
    let disp = rel32(slot_addr + JMP_REL32_SIZE, target)?;
    let mut slot = *TEMPLATE;
    slot[1..5].copy_from_slice(&disp.to_le_bytes());
    Ok(slot)
}

/// Emits the slot of [`jump_slot`] into `asm` (for tables written in one go).
pub fn emit_jump_slot(asm: &mut Assembler, slot_addr: u64, target: u64) -> Result<(), OutOfRange> {
    let disp = rel32(slot_addr + JMP_REL32_SIZE, target)?;
    asm.jmp_rel32(disp);
    asm.nop(JUMP_SLOT_SIZE - JMP_REL32_SIZE as usize);
    Ok(())
}

/// The target of a jump-table slot at `slot_addr` holding `slot`, or `None` if the bytes are
/// not a slot written by [`jump_slot`].
pub fn jump_slot_target(slot_addr: u64, slot: [u8; JUMP_SLOT_SIZE]) -> Option<u64> {
    let template = jump_slot(slot_addr, slot_addr).ok()?;
    if slot[0] != template[0] || slot[5..] != template[5..] {
        return None;
    }
    let disp = i32::from_le_bytes(slot[1..5].try_into().ok()?);
    Some((slot_addr + JMP_REL32_SIZE).wrapping_add_signed(i64::from(disp)))
}

/// Length of `jmp rel32`.
const JMP_REL32_SIZE: u64 = 5;

/// The bytes of `asm` (which emitted exactly `N` bytes, no labels, no constants).
fn to_array<const N: usize>(asm: Assembler) -> [u8; N] {
    let bytes = asm
        .finish()
        .expect("fixed patch shapes have no labels or errors");
    bytes
        .try_into()
        .expect("patch shape of the documented size")
}

/// Writes a jump-table slot with one atomic 8-byte store.
///
/// # Safety
/// `write_ptr` must be valid for an 8-byte write and 8-byte aligned, and no non-atomic access
/// to those bytes may race with this store.
pub unsafe fn write_jump_slot(write_ptr: *mut u8, slot: [u8; JUMP_SLOT_SIZE]) {
    debug_assert_eq!(write_ptr as usize % JUMP_SLOT_SIZE, 0);
    // SAFETY: the caller guarantees alignment and validity; AtomicU64 has the layout of u64.
    let word = unsafe { &*(write_ptr as *const std::sync::atomic::AtomicU64) };
    word.store(
        u64::from_le_bytes(slot),
        std::sync::atomic::Ordering::Release,
    );
}

/// A jump to an absolute address anywhere in the address space: `jmp [rip + 2]; ud2;
/// .quad target`. Position-independent, so it can be copied anywhere.
pub fn far_jump(target: u64) -> [u8; FAR_JUMP_SIZE] {
    let mut asm = Assembler::with_capacity(FAR_JUMP_SIZE);
    emit_far_jump(&mut asm, target);
    to_array(asm)
}

/// Emits the jump of [`far_jump`] into `asm`.
pub fn emit_far_jump(asm: &mut Assembler, target: u64) {
    // The target is stored right after `ud2`, 2 bytes past the end of the jump.
    asm.jmp_m(Mem::rip(2));
    asm.ud2();
    asm.emit_u64(target);
}

/// The bytes of a lazy-compile stub at `stub_addr` for function `func_index`:
/// `mov r11d, func_index; jmp builtin`, padded with `int3`.
///
/// The builtin at `builtin` finds the function index in r11 (see
/// [`LAZY_STUB_INDEX_REGISTER`]), all parameter registers untouched, and the caller's return
/// address on top of the stack. Cost: a copy of a template the assembler encodes once, the
/// index and the displacement (modules have a stub per function).
pub fn lazy_stub(
    stub_addr: u64,
    func_index: u32,
    builtin: u64,
) -> Result<[u8; LAZY_STUB_SIZE], OutOfRange> {
    /// The stub for index 0 jumping to its own end, and where its `jmp` ends.
    static TEMPLATE: std::sync::LazyLock<([u8; LAZY_STUB_SIZE], usize)> =
        std::sync::LazyLock::new(|| {
            let mut asm = Assembler::with_capacity(LAZY_STUB_SIZE);
            let jmp_end = emit_lazy_stub(&mut asm, 0, 0, 0).expect("a short jump fits");
            (to_array(asm), jmp_end)
        });
    let (mut stub, jmp_end) = *TEMPLATE;
    let disp = rel32(stub_addr + jmp_end as u64, builtin)?;
    // `mov r32, imm32` ends with its immediate, right before the 5-byte `jmp rel32`.
    let mov_end = jmp_end - JMP_REL32_SIZE as usize;
    stub[mov_end - 4..mov_end].copy_from_slice(&func_index.to_le_bytes());
    stub[jmp_end - 4..jmp_end].copy_from_slice(&disp.to_le_bytes());
    Ok(stub)
}

/// Emits the stub of [`lazy_stub`] into `asm`; returns the offset of the end of its `jmp`
/// from the stub's start.
fn emit_lazy_stub(
    asm: &mut Assembler,
    stub_addr: u64,
    func_index: u32,
    builtin: u64,
) -> Result<usize, OutOfRange> {
    let start = asm.pc_offset();
    let index_reg = Gpr::new(LAZY_STUB_INDEX_REGISTER).expect("a register number");
    asm.mov_ri(Size::S32, index_reg, i64::from(func_index));
    let jmp_end = asm.pc_offset() - start + JMP_REL32_SIZE as usize;
    asm.jmp_rel32(rel32(stub_addr + jmp_end as u64, builtin)?);
    while asm.pc_offset() - start < LAZY_STUB_SIZE {
        asm.int3();
    }
    Ok(jmp_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_slot_encodes_relative_target() {
        let slot = jump_slot(0x1000, 0x2000).unwrap();
        assert_eq!(slot[0], 0xE9);
        assert_eq!(
            i32::from_le_bytes(slot[1..5].try_into().unwrap()),
            0x2000 - 0x1005
        );
        assert!(jump_slot(0, 1 << 33).is_err());
    }

    #[test]
    fn far_jump_reads_its_target_after_ud2() {
        let bytes = far_jump(0x1122_3344_5566_7788);
        assert_eq!(
            &bytes[..8],
            &[0xFF, 0x25, 0x02, 0x00, 0x00, 0x00, 0x0F, 0x0B]
        );
        assert_eq!(
            u64::from_le_bytes(bytes[8..].try_into().unwrap()),
            0x1122_3344_5566_7788
        );
    }

    #[test]
    fn lazy_stub_loads_index_then_jumps() {
        let stub = lazy_stub(0x1000, 7, 0x1000).unwrap();
        assert_eq!(&stub[..6], &[0x41, 0xBB, 7, 0, 0, 0]);
        assert_eq!(i32::from_le_bytes(stub[7..11].try_into().unwrap()), -11);
        assert!(stub[11..].iter().all(|&b| b == 0xCC));
    }

    /// The template-based slot is the one the assembler encodes for the same addresses.
    #[test]
    fn jump_slot_is_the_assembled_slot() {
        for (slot_addr, target) in [(0x1000, 0x2000), (0x2000, 0x1000), (0x7fff_fff0, 0x10)] {
            let mut asm = Assembler::with_capacity(JUMP_SLOT_SIZE);
            emit_jump_slot(&mut asm, slot_addr, target).unwrap();
            let want: [u8; JUMP_SLOT_SIZE] = to_array(asm);
            assert_eq!(jump_slot(slot_addr, target).unwrap(), want);
        }
    }

    #[test]
    fn lazy_stub_is_the_assembled_stub() {
        for (stub_addr, index, builtin) in [
            (0x1000, 0, 0x2000),
            (0x2000, 7, 0x1000),
            (0x7fff_0000, u32::MAX, 0x10),
            (0x10, 0x1234_5678, 0x7fff_fff0),
        ] {
            let mut asm = Assembler::with_capacity(LAZY_STUB_SIZE);
            emit_lazy_stub(&mut asm, stub_addr, index, builtin).unwrap();
            let assembled: [u8; LAZY_STUB_SIZE] = to_array(asm);
            assert_eq!(lazy_stub(stub_addr, index, builtin).unwrap(), assembled);
        }
        assert!(lazy_stub(0, 1, 1 << 33).is_err());
    }

    #[test]
    fn jump_slot_target_round_trips() {
        for target in [0x1000u64, 0x1008, 0x7fff_0000, 0x10] {
            let slot = jump_slot(0x1000, target).unwrap();
            assert_eq!(jump_slot_target(0x1000, slot), Some(target));
        }
        assert_eq!(jump_slot_target(0x1000, [0x90; 8]), None);
    }
}
