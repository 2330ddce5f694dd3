//! What a compiler produces for one function, before the code manager places it.

use crate::{SourcePositions, TrapCode};

/// The compiler that produced a piece of code. Ordered: a higher tier is never replaced by a
/// lower one in a jump table unless the caller asks for it (debugging).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// The single-pass baseline compiler (`kiln-codegen-baseline`).
    Baseline,
    /// The optimizing compiler (`kiln-codegen-opt`, on Cranelift).
    Optimized,
}

/// An instruction that can trap: `code[pc_offset..]` faults or executes `ud2` for `trap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// Offset of the trapping instruction from the start of the function's code.
    pub pc_offset: u32,
    /// Why it traps.
    pub trap: TrapCode,
}

/// Maps a pc to the wasm instruction it was generated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourcePosition {
    /// Offset of the first machine instruction generated for the wasm instruction.
    pub pc_offset: u32,
    /// Byte offset of the wasm instruction in the module's wire bytes.
    pub wasm_offset: u32,
}

/// What a relocation refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelocationTarget {
    /// The jump-table slot of the function with this index (imported functions included in the
    /// index space, though calls to imports never use a relocation).
    Function(u32),
}

/// A rel32 field in the code that must be patched when the code is placed.
///
/// The field at `code[offset..offset + 4]` receives `target - (field_address + 4) + addend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Offset of the 4-byte field from the start of the function's code.
    pub offset: u32,
    /// What the field refers to.
    pub target: RelocationTarget,
    /// Added to the pc-relative displacement.
    pub addend: i32,
}

/// One function's machine code with the metadata the code manager and runtime need.
///
/// Invariants: trap sites and source positions are sorted by `pc_offset` and lie inside `code`;
/// relocations lie inside `code`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompiledFunction {
    /// The machine code, position-independent except for `relocations`.
    pub code: Vec<u8>,
    /// Fields to patch when the code is placed.
    pub relocations: Vec<Relocation>,
    /// Instructions that may trap, sorted by pc.
    pub trap_sites: Vec<TrapSite>,
    /// pc -> wasm byte offset, sorted by pc.
    pub source_positions: SourcePositions,
    /// Bytes of stack the function's frame uses below the saved frame pointer.
    pub frame_size: u32,
    /// Where each local and operand-stack value lives at each debug break point (debug code
    /// only); opaque bytes owned by the baseline tier's debug mode.
    pub debug_side_table: Option<Vec<u8>>,
}

impl CompiledFunction {
    /// The trap recorded at exactly `pc_offset`, if any. Cost: O(log n).
    pub fn trap_at(&self, pc_offset: u32) -> Option<TrapCode> {
        self.trap_sites
            .binary_search_by_key(&pc_offset, |site| site.pc_offset)
            .ok()
            .map(|i| self.trap_sites[i].trap)
    }

    /// The wasm byte offset of the instruction covering `pc_offset`: the last source position at
    /// or before it. Cost: O(n), see [`SourcePositions::wasm_offset_at`].
    pub fn wasm_offset_at(&self, pc_offset: u32) -> Option<u32> {
        self.source_positions.wasm_offset_at(pc_offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_use_sorted_tables() {
        let f = CompiledFunction {
            code: vec![0x90; 32],
            trap_sites: vec![
                TrapSite {
                    pc_offset: 4,
                    trap: TrapCode::Unreachable,
                },
                TrapSite {
                    pc_offset: 9,
                    trap: TrapCode::MemoryOutOfBounds,
                },
            ],
            source_positions: [
                SourcePosition {
                    pc_offset: 0,
                    wasm_offset: 100,
                },
                SourcePosition {
                    pc_offset: 8,
                    wasm_offset: 103,
                },
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        assert_eq!(f.trap_at(9), Some(TrapCode::MemoryOutOfBounds));
        assert_eq!(f.trap_at(5), None);
        assert_eq!(f.wasm_offset_at(7), Some(100));
        assert_eq!(f.wasm_offset_at(8), Some(103));
        assert_eq!(f.wasm_offset_at(31), Some(103));
    }
}
