//! Wasm-level helpers over the assembler: typed loads, stores and constants, and the
//! parallel-move executor that every merge, call and return uses.

use crate::error::{CompileError, Result};
use crate::regalloc::{Reg, SCRATCH_XMM};
use crate::value_stack::Kind;
use kiln_assembler_x64::{Assembler, FloatSize, Mem, Size, SseOp};
use smallvec::SmallVec;

/// The integer operation width of `kind` (i32 -> 32 bits, everything else 64).
pub fn int_size(kind: Kind) -> Size {
    if kind == Kind::I32 {
        Size::S32
    } else {
        Size::S64
    }
}

/// The float width of a float `kind`.
pub fn float_size(kind: Kind) -> FloatSize {
    if kind == Kind::F32 {
        FloatSize::F32
    } else {
        FloatSize::F64
    }
}

/// `dst = [src]` for a value of `kind`. 32-bit loads zero-extend, keeping the invariant that
/// an i32 in a general-purpose register has its upper half clear.
pub fn load(asm: &mut Assembler, kind: Kind, dst: Reg, src: Mem) {
    match dst {
        Reg::Gpr(g) => asm.mov_rm(int_size(kind), g, src),
        Reg::Xmm(x) => asm.movs_rm(float_size(kind), x, src),
    }
}

/// `[dst] = src` for a value of `kind`.
pub fn store(asm: &mut Assembler, kind: Kind, dst: Mem, src: Reg) {
    match src {
        Reg::Gpr(g) => asm.mov_mr(int_size(kind), dst, g),
        Reg::Xmm(x) => asm.movs_mr(float_size(kind), dst, x),
    }
}

/// `dst = src` (the whole register).
pub fn mov_reg(asm: &mut Assembler, dst: Reg, src: Reg) {
    if dst == src {
        return;
    }
    match (dst, src) {
        (Reg::Gpr(d), Reg::Gpr(s)) => asm.mov_rr(Size::S64, d, s),
        (Reg::Xmm(d), Reg::Xmm(s)) => asm.movap_rr(FloatSize::F64, d, s),
        _ => unreachable!("move across register files"),
    }
}

/// `dst = bits` for a constant of `kind` (f32 bits in the low 32 bits).
pub fn load_const(asm: &mut Assembler, kind: Kind, dst: Reg, bits: i64) {
    match dst {
        Reg::Gpr(g) if kind == Kind::I32 => {
            if bits as u32 == 0 {
                asm.alu_rr(kiln_assembler_x64::AluOp::Xor, Size::S32, g, g);
            } else {
                asm.mov_ri(Size::S32, g, i64::from(bits as u32));
            }
        }
        Reg::Gpr(g) => {
            if bits == 0 {
                asm.alu_rr(kiln_assembler_x64::AluOp::Xor, Size::S32, g, g);
            } else {
                asm.mov_ri(Size::S64, g, bits);
            }
        }
        Reg::Xmm(x) => {
            if bits == 0 {
                asm.sse_rr(SseOp::Xorps, x, x);
            } else if kind == Kind::F32 {
                let m = asm.const_u32(bits as u32);
                asm.movs_rm(FloatSize::F32, x, m);
            } else {
                let m = asm.const_u64(bits as u64);
                asm.movs_rm(FloatSize::F64, x, m);
            }
        }
    }
}

/// `[dst] = bits` for a constant of `kind`; touches only `xmm15` when the constant is not an
/// immediate.
pub fn store_const(asm: &mut Assembler, kind: Kind, dst: Mem, bits: i64) {
    match kind {
        Kind::I32 | Kind::F32 => asm.mov_mi(Size::S32, dst, bits as u32 as i32),
        _ => match i32::try_from(bits) {
            Ok(imm) => asm.mov_mi(Size::S64, dst, imm),
            Err(_) => {
                let m = asm.const_u64(bits as u64);
                asm.movs_rm(FloatSize::F64, SCRATCH_XMM, m);
                asm.movs_mr(FloatSize::F64, dst, SCRATCH_XMM);
            }
        },
    }
}

/// Copies 8 bytes from `src` to `dst` through `xmm15` (every slot is 8 bytes).
pub fn copy_mem(asm: &mut Assembler, dst: Mem, src: Mem) {
    asm.movs_rm(FloatSize::F64, SCRATCH_XMM, src);
    asm.movs_mr(FloatSize::F64, dst, SCRATCH_XMM);
}

/// Where a move reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A register.
    Reg(Reg),
    /// Memory (a frame slot, an incoming stack argument, a return area slot).
    Mem(Mem),
    /// A constant's bits.
    Const(i64),
}

/// Where a move writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dst {
    /// A register.
    Reg(Reg),
    /// Memory.
    Mem(Mem),
}

/// One move of a value of `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    /// Destination.
    pub dst: Dst,
    /// Source.
    pub src: Src,
    /// Type of the value moved.
    pub kind: Kind,
}

/// Performs `moves` as if all happened at once, given that no memory destination is also a
/// memory source of another move and register destinations are distinct.
///
/// Order: memory destinations first (they read registers that later moves overwrite), then
/// register-to-register moves as a parallel move (cycles broken with `xchg` for general-purpose
/// registers and `xmm15` for xmm registers), then loads and constants into registers (their
/// destinations are no longer sources of anything). Only `xmm15` is used as scratch, so a
/// memory destination may be addressed through `r11`.
pub fn execute(asm: &mut Assembler, moves: &[Move]) -> Result<()> {
    let mut pending: SmallVec<[(Reg, Reg); 16]> = SmallVec::new();
    for m in moves {
        match (m.dst, m.src) {
            (Dst::Mem(dst), Src::Reg(r)) => store(asm, m.kind, dst, r),
            (Dst::Mem(dst), Src::Mem(src)) => {
                if src != dst {
                    copy_mem(asm, dst, src)
                }
            }
            (Dst::Mem(dst), Src::Const(bits)) => store_const(asm, m.kind, dst, bits),
            (Dst::Reg(d), Src::Reg(s)) if d != s => pending.push((d, s)),
            (Dst::Reg(_), _) => {}
        }
    }
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|&(d, _)| !pending.iter().any(|&(_, s)| s == d));
        match ready {
            Some(i) => {
                let (d, s) = pending.swap_remove(i);
                mov_reg(asm, d, s);
            }
            None => {
                // Every destination is still read: a cycle. Swap its first edge.
                let (d, s) = pending.swap_remove(0);
                match (d, s) {
                    (Reg::Gpr(dg), Reg::Gpr(sg)) => {
                        asm.xchg_rr(Size::S64, dg, sg);
                        for p in pending.iter_mut() {
                            if p.1 == d {
                                p.1 = s;
                            } else if p.1 == s {
                                p.1 = d;
                            }
                        }
                    }
                    (Reg::Xmm(_), Reg::Xmm(_)) => {
                        if pending.iter().any(|p| p.1 == Reg::Xmm(SCRATCH_XMM)) {
                            return Err(CompileError::Internal(
                                "parallel move needs two xmm scratch registers".into(),
                            ));
                        }
                        mov_reg(asm, Reg::Xmm(SCRATCH_XMM), d);
                        for p in pending.iter_mut() {
                            if p.1 == d {
                                p.1 = Reg::Xmm(SCRATCH_XMM);
                            }
                        }
                        mov_reg(asm, d, s);
                    }
                    _ => unreachable!("move across register files"),
                }
                pending.retain(|&mut (d, s)| d != s);
            }
        }
    }
    for m in moves {
        if let Dst::Reg(dst) = m.dst {
            match m.src {
                Src::Mem(src) => load(asm, m.kind, dst, src),
                Src::Const(bits) => load_const(asm, m.kind, dst, bits),
                Src::Reg(_) => {}
            }
        }
    }
    Ok(())
}
