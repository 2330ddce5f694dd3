//! Cranelift's compiled code to a [`CompiledFunction`]: trap records to trap sites, source
//! locations to source positions, colocated calls to jump-table relocations.

use crate::translate::kiln_trap;
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::ir::{ExternalName, Function};
use cranelift_codegen::{CompiledCode, FinalizedRelocTarget};
use kiln_abi::{
    CompileError, CompiledFunction, Relocation, RelocationTarget, SourcePosition, SourcePositions,
    TrapSite,
};

/// Builds the function's `CompiledFunction`. `body_offset` (the body's wire-byte offset) maps
/// code without a source location (the prologue). Cost: linear in the code's metadata.
pub(crate) fn finish(
    code: &CompiledCode,
    func: &Function,
    body_offset: u32,
) -> Result<CompiledFunction, CompileError> {
    let buffer = &code.buffer;
    let bytes = buffer.data().to_vec();

    let mut relocations = Vec::with_capacity(buffer.relocs().len());
    for r in buffer.relocs() {
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &func.params.user_named_funcs()[*name];
                RelocationTarget::Function(name.index)
            }
            other => {
                return Err(CompileError::Internal(format!(
                    "unexpected relocation target {other:?}"
                )));
            }
        };
        if r.kind != Reloc::X86CallPCRel4 && r.kind != Reloc::X86PCRel4 {
            return Err(CompileError::Internal(format!(
                "unexpected relocation kind {:?}",
                r.kind
            )));
        }
        // Cranelift's field receives S + A - P (P the field's address); Kiln's receives
        // S - (P + 4) + addend.
        let addend = i32::try_from(r.addend + 4)
            .map_err(|_| CompileError::Internal("relocation addend out of range".into()))?;
        relocations.push(Relocation {
            offset: r.offset,
            target,
            addend,
        });
    }

    let mut trap_sites = Vec::with_capacity(buffer.traps().len());
    for t in buffer.traps() {
        let trap = kiln_trap(t.code).ok_or_else(|| {
            CompileError::Internal(format!("unexpected Cranelift trap code {}", t.code))
        })?;
        trap_sites.push(TrapSite {
            pc_offset: t.offset,
            trap,
        });
    }
    trap_sites.sort_by_key(|t| t.pc_offset);
    trap_sites.dedup_by_key(|t| t.pc_offset);

    // The prologue, before the first located range, belongs to the function's start; code
    // between ranges (moves, epilogues) to the range before it.
    let mut source_positions = vec![SourcePosition {
        pc_offset: 0,
        wasm_offset: body_offset,
    }];
    for loc in buffer.get_srclocs_sorted() {
        if loc.loc.is_default() || loc.start == loc.end {
            continue;
        }
        let pos = SourcePosition {
            pc_offset: loc.start,
            wasm_offset: loc.loc.bits(),
        };
        match source_positions.last_mut() {
            Some(last) if last.pc_offset == pos.pc_offset => *last = pos,
            Some(last) if last.wasm_offset == pos.wasm_offset => {}
            _ => source_positions.push(pos),
        }
    }

    let frame_size = buffer
        .frame_layout()
        .map_or(0, |layout| layout.frame_to_fp_offset);
    Ok(CompiledFunction {
        code: bytes,
        relocations,
        trap_sites,
        source_positions: SourcePositions::new(&source_positions),
        frame_size,
        debug_side_table: None,
    })
}
