//! Every instruction form, over every register, addressing-mode shape and boundary immediate,
//! decoded by iced-x86 and compared structurally (mnemonic, operand kinds, registers, memory
//! base/index/scale/displacement/size, immediates) and by length.

mod common;

use common::{E, asm, check, decode, gpr, mem_specs, mem_specs_small, xmm};
use iced_x86::{Mnemonic as Mn, Register};
use kiln_assembler_x64::*;

const INT_SIZES: [Size; 4] = Size::ALL;
const WIDE_SIZES: [Size; 3] = [Size::S16, Size::S32, Size::S64];
const DW_SIZES: [Size; 2] = [Size::S32, Size::S64];

/// Boundary immediates valid for an operation of `size`.
fn imms(size: Size) -> Vec<i32> {
    match size {
        Size::S8 => vec![0, 1, -1, 127, -128, 255],
        Size::S16 => vec![0, 1, -1, 127, 128, -128, -129, 32767, -32768, 65535],
        Size::S32 | Size::S64 => {
            vec![
                0,
                1,
                -1,
                127,
                128,
                -128,
                -129,
                i32::MIN,
                i32::MAX,
                0x1234_5678,
            ]
        }
    }
}

fn alu_mn(op: AluOp) -> Mn {
    match op {
        AluOp::Add => Mn::Add,
        AluOp::Or => Mn::Or,
        AluOp::Adc => Mn::Adc,
        AluOp::Sbb => Mn::Sbb,
        AluOp::And => Mn::And,
        AluOp::Sub => Mn::Sub,
        AluOp::Xor => Mn::Xor,
        AluOp::Cmp => Mn::Cmp,
    }
}

fn unary_mn(op: UnaryOp) -> Mn {
    match op {
        UnaryOp::Not => Mn::Not,
        UnaryOp::Neg => Mn::Neg,
        UnaryOp::Mul => Mn::Mul,
        UnaryOp::Imul => Mn::Imul,
        UnaryOp::Div => Mn::Div,
        UnaryOp::Idiv => Mn::Idiv,
        UnaryOp::Inc => Mn::Inc,
        UnaryOp::Dec => Mn::Dec,
    }
}

fn shift_mn(op: ShiftOp) -> Mn {
    match op {
        ShiftOp::Rol => Mn::Rol,
        ShiftOp::Ror => Mn::Ror,
        ShiftOp::Shl => Mn::Shl,
        ShiftOp::Shr => Mn::Shr,
        ShiftOp::Sar => Mn::Sar,
    }
}

fn bit_mn(op: BitOp) -> Mn {
    match op {
        BitOp::Lzcnt => Mn::Lzcnt,
        BitOp::Tzcnt => Mn::Tzcnt,
        BitOp::Popcnt => Mn::Popcnt,
        BitOp::Bsr => Mn::Bsr,
        BitOp::Bsf => Mn::Bsf,
    }
}

pub fn jcc_mn(c: Cond) -> Mn {
    [
        Mn::Jo,
        Mn::Jno,
        Mn::Jb,
        Mn::Jae,
        Mn::Je,
        Mn::Jne,
        Mn::Jbe,
        Mn::Ja,
        Mn::Js,
        Mn::Jns,
        Mn::Jp,
        Mn::Jnp,
        Mn::Jl,
        Mn::Jge,
        Mn::Jle,
        Mn::Jg,
    ][c.bits() as usize]
}

fn setcc_mn(c: Cond) -> Mn {
    [
        Mn::Seto,
        Mn::Setno,
        Mn::Setb,
        Mn::Setae,
        Mn::Sete,
        Mn::Setne,
        Mn::Setbe,
        Mn::Seta,
        Mn::Sets,
        Mn::Setns,
        Mn::Setp,
        Mn::Setnp,
        Mn::Setl,
        Mn::Setge,
        Mn::Setle,
        Mn::Setg,
    ][c.bits() as usize]
}

fn cmov_mn(c: Cond) -> Mn {
    [
        Mn::Cmovo,
        Mn::Cmovno,
        Mn::Cmovb,
        Mn::Cmovae,
        Mn::Cmove,
        Mn::Cmovne,
        Mn::Cmovbe,
        Mn::Cmova,
        Mn::Cmovs,
        Mn::Cmovns,
        Mn::Cmovp,
        Mn::Cmovnp,
        Mn::Cmovl,
        Mn::Cmovge,
        Mn::Cmovle,
        Mn::Cmovg,
    ][c.bits() as usize]
}

/// Register `k` of a rotation, so memory loops still visit every register.
fn rot(k: usize) -> Gpr {
    Gpr::ALL[k % 16]
}

fn rotx(k: usize) -> Xmm {
    Xmm::ALL[k % 16]
}

#[test]
fn mov_register_memory_and_immediate_forms() {
    let mems = mem_specs();
    for size in INT_SIZES {
        let b = size.bytes() as usize;
        for d in Gpr::ALL {
            for s in Gpr::ALL {
                check(
                    &asm(|a| a.mov_rr(size, d, s)),
                    Mn::Mov,
                    &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                );
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let r = rot(k);
            check(
                &asm(|a| a.mov_rm(size, r, m.mem())),
                Mn::Mov,
                &[E::R(gpr(size, r)), E::M(*m, b)],
            );
            check(
                &asm(|a| a.mov_mr(size, m.mem(), r)),
                Mn::Mov,
                &[E::M(*m, b), E::R(gpr(size, r))],
            );
        }
        for m in mem_specs_small() {
            for imm in imms(size) {
                check(
                    &asm(|a| a.mov_mi(size, m.mem(), imm)),
                    Mn::Mov,
                    &[E::M(m, b), E::I(imm.into(), size.bits())],
                );
            }
        }
    }
}

#[test]
fn mov_register_immediate_picks_shortest_form() {
    for r in Gpr::ALL {
        for size in [Size::S8, Size::S16, Size::S32] {
            let mut values: Vec<i64> = imms(size).into_iter().map(i64::from).collect();
            if size == Size::S32 {
                values.push(u32::MAX.into());
            }
            for imm in values {
                let bytes = asm(|a| a.mov_ri(size, r, imm));
                check(
                    &bytes,
                    Mn::Mov,
                    &[E::R(gpr(size, r)), E::I(imm, size.bits())],
                );
            }
        }
        let wide: [i64; 9] = [
            0,
            1,
            -1,
            -129,
            i32::MIN.into(),
            i32::MAX.into(),
            u32::MAX.into(),
            1 << 32,
            i64::MIN,
        ];
        for imm in wide {
            let bytes = asm(|a| a.mov_ri(Size::S64, r, imm));
            if (0..=u32::MAX as i64).contains(&imm) {
                // Zero-extending 32-bit form.
                check(&bytes, Mn::Mov, &[E::R(gpr(Size::S32, r)), E::I(imm, 32)]);
                assert!(bytes.len() <= 6);
            } else if i32::try_from(imm).is_ok() {
                check(&bytes, Mn::Mov, &[E::R(gpr(Size::S64, r)), E::I(imm, 64)]);
                assert_eq!(bytes.len(), 7);
            } else {
                check(&bytes, Mn::Mov, &[E::R(gpr(Size::S64, r)), E::I(imm, 64)]);
                assert_eq!(bytes.len(), 10);
            }
        }
        for imm in [
            0u64,
            1,
            u64::MAX,
            0x8000_0000_0000_0000,
            0x1234_5678_9abc_def0,
        ] {
            let bytes = asm(|a| a.mov_ri64(r, imm));
            assert_eq!(bytes.len(), 10);
            check(
                &bytes,
                Mn::Mov,
                &[E::R(gpr(Size::S64, r)), E::I(imm as i64, 64)],
            );
        }
    }
}

#[test]
fn zero_and_sign_extension() {
    let mems = mem_specs();
    for dst_size in WIDE_SIZES {
        for src_size in INT_SIZES
            .into_iter()
            .filter(|s| s.bytes() < dst_size.bytes())
        {
            for signed in [false, true] {
                let (mn, dsz) = match (src_size, signed) {
                    (Size::S32, false) => (Mn::Mov, Size::S32),
                    (Size::S32, true) => (Mn::Movsxd, dst_size),
                    (_, false) => (Mn::Movzx, dst_size),
                    (_, true) => (Mn::Movsx, dst_size),
                };
                for d in Gpr::ALL {
                    for s in Gpr::ALL {
                        let bytes = asm(|a| {
                            if signed {
                                a.movsx_rr(dst_size, src_size, d, s)
                            } else {
                                a.movzx_rr(dst_size, src_size, d, s)
                            }
                        });
                        check(&bytes, mn, &[E::R(gpr(dsz, d)), E::R(gpr(src_size, s))]);
                    }
                }
                for (k, m) in mems.iter().enumerate() {
                    let d = rot(k);
                    let bytes = asm(|a| {
                        if signed {
                            a.movsx_rm(dst_size, src_size, d, m.mem())
                        } else {
                            a.movzx_rm(dst_size, src_size, d, m.mem())
                        }
                    });
                    check(
                        &bytes,
                        mn,
                        &[E::R(gpr(dsz, d)), E::M(*m, src_size.bytes() as usize)],
                    );
                }
            }
        }
    }
}

#[test]
fn lea_every_addressing_mode() {
    for size in WIDE_SIZES {
        for (k, m) in mem_specs().iter().enumerate() {
            let d = rot(k + 3);
            check(
                &asm(|a| a.lea(size, d, m.mem())),
                Mn::Lea,
                &[E::R(gpr(size, d)), E::M(*m, 0)],
            );
        }
    }
}

#[test]
fn alu_all_forms() {
    let mems = mem_specs();
    let small = mem_specs_small();
    for op in AluOp::ALL {
        let mn = alu_mn(op);
        for size in INT_SIZES {
            let b = size.bytes() as usize;
            for d in Gpr::ALL {
                for s in Gpr::ALL {
                    check(
                        &asm(|a| a.alu_rr(op, size, d, s)),
                        mn,
                        &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                    );
                }
                for imm in imms(size) {
                    let bytes = asm(|a| a.alu_ri(op, size, d, imm));
                    check(
                        &bytes,
                        mn,
                        &[E::R(gpr(size, d)), E::I(imm.into(), size.bits())],
                    );
                }
            }
            for (k, m) in mems.iter().enumerate() {
                let r = rot(k);
                check(
                    &asm(|a| a.alu_rm(op, size, r, m.mem())),
                    mn,
                    &[E::R(gpr(size, r)), E::M(*m, b)],
                );
                check(
                    &asm(|a| a.alu_mr(op, size, m.mem(), r)),
                    mn,
                    &[E::M(*m, b), E::R(gpr(size, r))],
                );
            }
            for m in &small {
                for imm in imms(size) {
                    let bytes = asm(|a| a.alu_mi(op, size, m.mem(), imm));
                    check(&bytes, mn, &[E::M(*m, b), E::I(imm.into(), size.bits())]);
                }
            }
        }
    }
}

#[test]
fn wide_immediate_form_can_be_patched() {
    for op in AluOp::ALL {
        for size in DW_SIZES {
            for r in Gpr::ALL {
                for imm in [0, 1, -1, i32::MAX] {
                    let bytes = asm(|a| a.alu_ri32(op, size, r, imm));
                    check(
                        &bytes,
                        alu_mn(op),
                        &[E::R(gpr(size, r)), E::I(imm.into(), size.bits())],
                    );
                    // Always the imm32 form, even for small values.
                    assert_eq!(
                        bytes.len(),
                        if r.is_extended() || size == Size::S64 {
                            7
                        } else {
                            6
                        }
                    );
                }
            }
        }
    }
    let mut a = Assembler::new();
    a.alu_ri32(AluOp::Sub, Size::S64, RSP, 0);
    let field = a.pc_offset() - 4;
    a.ret();
    a.patch_i32(field, 0x1238);
    let code = a.finish().unwrap();
    check(
        &code[..7],
        Mn::Sub,
        &[E::R(Register::RSP), E::I(0x1238, 64)],
    );
    let mut a = Assembler::new();
    a.ret();
    a.patch_i32(0, 1);
    assert!(matches!(a.finish(), Err(AsmError::InvalidOperands { .. })));
}

#[test]
fn readme_example_bytes() {
    let bytes = asm(|a| {
        a.mov_rr(Size::S64, RAX, RDI);
        a.imul_rr(Size::S64, RAX, RSI);
        a.add_ri(Size::S64, RAX, 7);
        a.ret();
    });
    assert_eq!(
        bytes,
        [
            0x48, 0x89, 0xf8, 0x48, 0x0f, 0xaf, 0xc6, 0x48, 0x83, 0xc0, 0x07, 0xc3
        ]
    );
}

#[test]
fn alu_immediate_uses_imm8_when_it_fits() {
    assert_eq!(asm(|a| a.add_ri(Size::S64, RAX, 127)).len(), 4);
    assert_eq!(asm(|a| a.add_ri(Size::S64, RAX, 128)).len(), 7);
    assert_eq!(asm(|a| a.add_ri(Size::S32, R9, -128)).len(), 4);
    assert_eq!(asm(|a| a.add_ri(Size::S32, R9, -129)).len(), 7);
    assert_eq!(
        asm(|a| a.cmp_ri(Size::S8, RSI, -1)),
        vec![0x40, 0x80, 0xFE, 0xFF]
    );
}

#[test]
fn test_instruction_forms() {
    let mems = mem_specs();
    for size in INT_SIZES {
        let b = size.bytes() as usize;
        for x in Gpr::ALL {
            for y in Gpr::ALL {
                check(
                    &asm(|a| a.test_rr(size, x, y)),
                    Mn::Test,
                    &[E::R(gpr(size, x)), E::R(gpr(size, y))],
                );
            }
            for imm in imms(size) {
                check(
                    &asm(|a| a.test_ri(size, x, imm)),
                    Mn::Test,
                    &[E::R(gpr(size, x)), E::I(imm.into(), size.bits())],
                );
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let r = rot(k);
            check(
                &asm(|a| a.test_mr(size, m.mem(), r)),
                Mn::Test,
                &[E::M(*m, b), E::R(gpr(size, r))],
            );
            if k % 7 == 0 {
                let imm = imms(size)[k % imms(size).len()];
                check(
                    &asm(|a| a.test_mi(size, m.mem(), imm)),
                    Mn::Test,
                    &[E::M(*m, b), E::I(imm.into(), size.bits())],
                );
            }
        }
    }
}

#[test]
fn unary_forms() {
    let mems = mem_specs();
    for op in UnaryOp::ALL {
        let mn = unary_mn(op);
        for size in INT_SIZES {
            for r in Gpr::ALL {
                check(&asm(|a| a.unary_r(op, size, r)), mn, &[E::R(gpr(size, r))]);
            }
            for m in &mems {
                check(
                    &asm(|a| a.unary_m(op, size, m.mem())),
                    mn,
                    &[E::M(*m, size.bytes() as usize)],
                );
            }
        }
    }
    // The named shorthands go through the same table.
    assert_eq!(
        asm(|a| a.neg_r(Size::S64, RAX)),
        asm(|a| a.unary_r(UnaryOp::Neg, Size::S64, RAX))
    );
    check(
        &asm(|a| a.idiv_r(Size::S32, R11)),
        Mn::Idiv,
        &[E::R(Register::R11D)],
    );
}

#[test]
fn imul_two_and_three_operand_forms() {
    let mems = mem_specs();
    for size in WIDE_SIZES {
        let b = size.bytes() as usize;
        for d in Gpr::ALL {
            for s in Gpr::ALL {
                check(
                    &asm(|a| a.imul_rr(size, d, s)),
                    Mn::Imul,
                    &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                );
                let imm = imms(size)[(d.enc() + s.enc()) as usize % imms(size).len()];
                check(
                    &asm(|a| a.imul_rri(size, d, s, imm)),
                    Mn::Imul,
                    &[
                        E::R(gpr(size, d)),
                        E::R(gpr(size, s)),
                        E::I(imm.into(), size.bits()),
                    ],
                );
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let d = rot(k);
            check(
                &asm(|a| a.imul_rm(size, d, m.mem())),
                Mn::Imul,
                &[E::R(gpr(size, d)), E::M(*m, b)],
            );
            let imm = imms(size)[k % imms(size).len()];
            check(
                &asm(|a| a.imul_rmi(size, d, m.mem(), imm)),
                Mn::Imul,
                &[
                    E::R(gpr(size, d)),
                    E::M(*m, b),
                    E::I(imm.into(), size.bits()),
                ],
            );
        }
    }
}

#[test]
fn shifts_and_rotates() {
    let mems = mem_specs();
    for op in ShiftOp::ALL {
        let mn = shift_mn(op);
        for size in INT_SIZES {
            let b = size.bytes() as usize;
            for r in Gpr::ALL {
                check(
                    &asm(|a| a.shift_r_cl(op, size, r)),
                    mn,
                    &[E::R(gpr(size, r)), E::R(Register::CL)],
                );
                for imm in [0u8, 1, 2, 7, 31, 63] {
                    check(
                        &asm(|a| a.shift_ri(op, size, r, imm)),
                        mn,
                        &[E::R(gpr(size, r)), E::I(imm.into(), 8)],
                    );
                }
            }
            for (k, m) in mems.iter().enumerate() {
                check(
                    &asm(|a| a.shift_m_cl(op, size, m.mem())),
                    mn,
                    &[E::M(*m, b), E::R(Register::CL)],
                );
                let imm = [1u8, 3, 31][k % 3];
                check(
                    &asm(|a| a.shift_mi(op, size, m.mem(), imm)),
                    mn,
                    &[E::M(*m, b), E::I(imm.into(), 8)],
                );
            }
        }
    }
}

#[test]
fn bmi2_shifts() {
    let mems = mem_specs();
    for (op, mn) in [
        (ShiftOp::Shl, Mn::Shlx),
        (ShiftOp::Shr, Mn::Shrx),
        (ShiftOp::Sar, Mn::Sarx),
    ] {
        for size in DW_SIZES {
            for d in Gpr::ALL {
                for s in Gpr::ALL {
                    let c = rot((d.enc() * 7 + s.enc()) as usize);
                    check(
                        &asm(|a| a.shiftx_rrr(op, size, d, s, c)),
                        mn,
                        &[E::R(gpr(size, d)), E::R(gpr(size, s)), E::R(gpr(size, c))],
                    );
                }
            }
            for (k, m) in mems.iter().enumerate() {
                let (d, c) = (rot(k), rot(k / 16 + 3));
                check(
                    &asm(|a| a.shiftx_rmr(op, size, d, m.mem(), c)),
                    mn,
                    &[
                        E::R(gpr(size, d)),
                        E::M(*m, size.bytes() as usize),
                        E::R(gpr(size, c)),
                    ],
                );
            }
        }
    }
    for size in DW_SIZES {
        for d in Gpr::ALL {
            for s in Gpr::ALL {
                let imm = (d.enc() * 4 + s.enc()) % 64;
                check(
                    &asm(|a| a.rorx_rri(size, d, s, imm)),
                    Mn::Rorx,
                    &[E::R(gpr(size, d)), E::R(gpr(size, s)), E::I(imm.into(), 8)],
                );
            }
        }
    }
    let mut a = Assembler::new();
    a.shiftx_rrr(ShiftOp::Rol, Size::S64, RAX, RCX, RDX);
    assert!(matches!(
        a.finish(),
        Err(AsmError::InvalidOperands { at: 0, .. })
    ));
}

#[test]
fn setcc_and_cmov() {
    let mems = mem_specs();
    for c in Cond::ALL {
        for r in Gpr::ALL {
            check(
                &asm(|a| a.setcc_r(c, r)),
                setcc_mn(c),
                &[E::R(gpr(Size::S8, r))],
            );
        }
        for size in WIDE_SIZES {
            for d in Gpr::ALL {
                for s in Gpr::ALL {
                    check(
                        &asm(|a| a.cmov_rr(c, size, d, s)),
                        cmov_mn(c),
                        &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                    );
                }
            }
        }
        for (k, m) in mems
            .iter()
            .enumerate()
            .filter(|(k, _)| k % 4 == c.bits() as usize % 4)
        {
            check(&asm(|a| a.setcc_m(c, m.mem())), setcc_mn(c), &[E::M(*m, 1)]);
            let size = WIDE_SIZES[k % 3];
            let d = rot(k);
            check(
                &asm(|a| a.cmov_rm(c, size, d, m.mem())),
                cmov_mn(c),
                &[E::R(gpr(size, d)), E::M(*m, size.bytes() as usize)],
            );
        }
    }
    assert_eq!(Cond::L.invert(), Cond::Ge);
    assert_eq!(Cond::A.invert(), Cond::Be);
    assert_eq!(Cond::P.invert(), Cond::Np);
}

#[test]
fn bit_counting_and_bswap() {
    let mems = mem_specs();
    for op in BitOp::ALL {
        for size in WIDE_SIZES {
            for d in Gpr::ALL {
                for s in Gpr::ALL {
                    check(
                        &asm(|a| a.bit_rr(op, size, d, s)),
                        bit_mn(op),
                        &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                    );
                }
            }
            for (k, m) in mems.iter().enumerate() {
                let d = rot(k);
                check(
                    &asm(|a| a.bit_rm(op, size, d, m.mem())),
                    bit_mn(op),
                    &[E::R(gpr(size, d)), E::M(*m, size.bytes() as usize)],
                );
            }
        }
    }
    for size in DW_SIZES {
        for r in Gpr::ALL {
            check(&asm(|a| a.bswap(size, r)), Mn::Bswap, &[E::R(gpr(size, r))]);
        }
    }
}

#[test]
fn stack_calls_and_indirect_jumps() {
    let mems = mem_specs();
    for r in Gpr::ALL {
        check(&asm(|a| a.push_r(r)), Mn::Push, &[E::R(gpr(Size::S64, r))]);
        check(&asm(|a| a.pop_r(r)), Mn::Pop, &[E::R(gpr(Size::S64, r))]);
        check(&asm(|a| a.call_r(r)), Mn::Call, &[E::R(gpr(Size::S64, r))]);
        check(&asm(|a| a.jmp_r(r)), Mn::Jmp, &[E::R(gpr(Size::S64, r))]);
    }
    for m in &mems {
        check(&asm(|a| a.push_m(m.mem())), Mn::Push, &[E::M(*m, 8)]);
        check(&asm(|a| a.pop_m(m.mem())), Mn::Pop, &[E::M(*m, 8)]);
        check(&asm(|a| a.call_m(m.mem())), Mn::Call, &[E::M(*m, 8)]);
        check(&asm(|a| a.jmp_m(m.mem())), Mn::Jmp, &[E::M(*m, 8)]);
    }
    for imm in imms(Size::S32) {
        let bytes = asm(|a| a.push_i(imm));
        check(&bytes, Mn::Push, &[E::I(imm.into(), 64)]);
        assert_eq!(bytes.len(), if (-128..=127).contains(&imm) { 2 } else { 5 });
    }
    for disp in [0, 1, -1, 127, 128, -129, i32::MIN, i32::MAX] {
        let target = (5 + i64::from(disp)) as u64;
        check(&asm(|a| a.call_rel32(disp)), Mn::Call, &[E::Target(target)]);
        check(&asm(|a| a.jmp_rel32(disp)), Mn::Jmp, &[E::Target(target)]);
    }
    check(&asm(|a| a.ret()), Mn::Ret, &[]);
    check(&asm(|a| a.ret_imm(24)), Mn::Ret, &[E::I(24, 16)]);
    check(&asm(|a| a.ud2()), Mn::Ud2, &[]);
    check(&asm(|a| a.int3()), Mn::Int3, &[]);
    check(&asm(|a| a.cdq()), Mn::Cdq, &[]);
    check(&asm(|a| a.cqo()), Mn::Cqo, &[]);
    check(&asm(|a| a.cdqe()), Mn::Cdqe, &[]);
    check(&asm(|a| a.mfence()), Mn::Mfence, &[]);
}

#[test]
fn exchange_and_atomics() {
    let mems = mem_specs();
    for size in INT_SIZES {
        let b = size.bytes() as usize;
        for d in Gpr::ALL {
            for s in Gpr::ALL {
                check(
                    &asm(|a| a.xchg_rr(size, d, s)),
                    Mn::Xchg,
                    &[E::R(gpr(size, d)), E::R(gpr(size, s))],
                );
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let r = rot(k);
            check(
                &asm(|a| a.xchg_mr(size, m.mem(), r)),
                Mn::Xchg,
                &[E::M(*m, b), E::R(gpr(size, r))],
            );
            for (bytes, mn) in [
                (asm(|a| a.lock_cmpxchg_mr(size, m.mem(), r)), Mn::Cmpxchg),
                (asm(|a| a.lock_xadd_mr(size, m.mem(), r)), Mn::Xadd),
            ] {
                check(&bytes, mn, &[E::M(*m, b), E::R(gpr(size, r))]);
                assert!(decode(&bytes).has_lock_prefix(), "{bytes:02x?} lacks lock");
            }
        }
    }
}

#[test]
fn nops_of_every_length() {
    for len in 1..=15 {
        let bytes = asm(|a| a.nop(len));
        assert_eq!(bytes.len(), len);
        let ins = decode(&bytes);
        assert_eq!(ins.len(), len, "{bytes:02x?}");
        assert_eq!(ins.mnemonic(), Mn::Nop, "{bytes:02x?}");
    }
    for start in 0..16 {
        for align in [1, 2, 4, 8, 16, 32, 64] {
            let bytes = asm(|a| {
                a.emit_bytes(&vec![0x90; start]);
                a.align(align);
            });
            assert_eq!(bytes.len() % align, 0);
            assert!(bytes.len() - start < align);
            let decoded = common::decode_all(&bytes);
            assert!(decoded.iter().all(|(_, i)| i.mnemonic() == Mn::Nop));
        }
    }
}

fn sse_mn(op: SseOp) -> (Mn, Mn, usize) {
    match op {
        SseOp::Addss => (Mn::Addss, Mn::Vaddss, 4),
        SseOp::Addsd => (Mn::Addsd, Mn::Vaddsd, 8),
        SseOp::Subss => (Mn::Subss, Mn::Vsubss, 4),
        SseOp::Subsd => (Mn::Subsd, Mn::Vsubsd, 8),
        SseOp::Mulss => (Mn::Mulss, Mn::Vmulss, 4),
        SseOp::Mulsd => (Mn::Mulsd, Mn::Vmulsd, 8),
        SseOp::Divss => (Mn::Divss, Mn::Vdivss, 4),
        SseOp::Divsd => (Mn::Divsd, Mn::Vdivsd, 8),
        SseOp::Minss => (Mn::Minss, Mn::Vminss, 4),
        SseOp::Minsd => (Mn::Minsd, Mn::Vminsd, 8),
        SseOp::Maxss => (Mn::Maxss, Mn::Vmaxss, 4),
        SseOp::Maxsd => (Mn::Maxsd, Mn::Vmaxsd, 8),
        SseOp::Sqrtss => (Mn::Sqrtss, Mn::Vsqrtss, 4),
        SseOp::Sqrtsd => (Mn::Sqrtsd, Mn::Vsqrtsd, 8),
        SseOp::Andps => (Mn::Andps, Mn::Vandps, 16),
        SseOp::Andpd => (Mn::Andpd, Mn::Vandpd, 16),
        SseOp::Andnps => (Mn::Andnps, Mn::Vandnps, 16),
        SseOp::Andnpd => (Mn::Andnpd, Mn::Vandnpd, 16),
        SseOp::Orps => (Mn::Orps, Mn::Vorps, 16),
        SseOp::Orpd => (Mn::Orpd, Mn::Vorpd, 16),
        SseOp::Xorps => (Mn::Xorps, Mn::Vxorps, 16),
        SseOp::Xorpd => (Mn::Xorpd, Mn::Vxorpd, 16),
        SseOp::Cvtss2sd => (Mn::Cvtss2sd, Mn::Vcvtss2sd, 4),
        SseOp::Cvtsd2ss => (Mn::Cvtsd2ss, Mn::Vcvtsd2ss, 8),
    }
}

#[test]
fn sse_and_avx_arithmetic() {
    let mems = mem_specs();
    for op in SseOp::ALL {
        let (mn, vmn, size) = sse_mn(op);
        for d in Xmm::ALL {
            for s in Xmm::ALL {
                check(
                    &asm(|a| a.sse_rr(op, d, s)),
                    mn,
                    &[E::R(xmm(d)), E::R(xmm(s))],
                );
                for s1 in Xmm::ALL {
                    check(
                        &asm(|a| a.vex_rrr(op, d, s1, s)),
                        vmn,
                        &[E::R(xmm(d)), E::R(xmm(s1)), E::R(xmm(s))],
                    );
                }
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let (d, s1) = (rotx(k), rotx(k / 16 + 5));
            check(
                &asm(|a| a.sse_rm(op, d, m.mem())),
                mn,
                &[E::R(xmm(d)), E::M(*m, size)],
            );
            check(
                &asm(|a| a.vex_rrm(op, d, s1, m.mem())),
                vmn,
                &[E::R(xmm(d)), E::R(xmm(s1)), E::M(*m, size)],
            );
        }
    }
    // Shorthands are the same rows.
    assert_eq!(
        asm(|a| a.addsd_rr(XMM1, XMM9)),
        asm(|a| a.sse_rr(SseOp::Addsd, XMM1, XMM9))
    );
    assert_eq!(
        asm(|a| a.vxorps_rrr(XMM1, XMM2, XMM3)),
        asm(|a| a.vex_rrr(SseOp::Xorps, XMM1, XMM2, XMM3))
    );
    // The 2-byte VEX prefix is used when no extension bit is needed.
    assert_eq!(asm(|a| a.vaddsd_rrr(XMM0, XMM1, XMM2))[0], 0xC5);
    assert_eq!(asm(|a| a.vaddsd_rrr(XMM0, XMM1, XMM10))[0], 0xC4);
}

#[test]
fn float_moves_compares_and_rounding() {
    let mems = mem_specs();
    for fs in [FloatSize::F32, FloatSize::F64] {
        let single = fs == FloatSize::F32;
        let b = if single { 4 } else { 8 };
        let pick = |s: Mn, d: Mn| if single { s } else { d };
        let (movs, vmovs) = (pick(Mn::Movss, Mn::Movsd), pick(Mn::Vmovss, Mn::Vmovsd));
        let (movap, vmovap) = (pick(Mn::Movaps, Mn::Movapd), pick(Mn::Vmovaps, Mn::Vmovapd));
        let (ucom, vucom) = (
            pick(Mn::Ucomiss, Mn::Ucomisd),
            pick(Mn::Vucomiss, Mn::Vucomisd),
        );
        let (round, vround) = (
            pick(Mn::Roundss, Mn::Roundsd),
            pick(Mn::Vroundss, Mn::Vroundsd),
        );
        for d in Xmm::ALL {
            for s in Xmm::ALL {
                let (rd, rs) = (E::R(xmm(d)), E::R(xmm(s)));
                let s1 = rotx((d.enc() * 3 + s.enc()) as usize);
                check(&asm(|a| a.movs_rr(fs, d, s)), movs, &[rd, rs]);
                check(
                    &asm(|a| a.vmovs_rrr(fs, d, s1, s)),
                    vmovs,
                    &[rd, E::R(xmm(s1)), rs],
                );
                check(&asm(|a| a.movap_rr(fs, d, s)), movap, &[rd, rs]);
                check(&asm(|a| a.vmovap_rr(fs, d, s)), vmovap, &[rd, rs]);
                check(&asm(|a| a.ucomis_rr(fs, d, s)), ucom, &[rd, rs]);
                check(&asm(|a| a.vucomis_rr(fs, d, s)), vucom, &[rd, rs]);
                for mode in RoundMode::ALL {
                    let imm = E::I(mode.imm().into(), 8);
                    check(&asm(|a| a.rounds_rr(fs, mode, d, s)), round, &[rd, rs, imm]);
                    check(
                        &asm(|a| a.vrounds_rrr(fs, mode, d, s1, s)),
                        vround,
                        &[rd, E::R(xmm(s1)), rs, imm],
                    );
                }
            }
        }
        for (k, m) in mems.iter().enumerate() {
            let (x, s1) = (E::R(xmm(rotx(k))), rotx(k + 7));
            let mem = E::M(*m, b);
            let mode = RoundMode::ALL[k % 4];
            let imm = E::I(mode.imm().into(), 8);
            check(&asm(|a| a.movs_rm(fs, rotx(k), m.mem())), movs, &[x, mem]);
            check(&asm(|a| a.movs_mr(fs, m.mem(), rotx(k))), movs, &[mem, x]);
            check(&asm(|a| a.vmovs_rm(fs, rotx(k), m.mem())), vmovs, &[x, mem]);
            check(&asm(|a| a.vmovs_mr(fs, m.mem(), rotx(k))), vmovs, &[mem, x]);
            check(&asm(|a| a.ucomis_rm(fs, rotx(k), m.mem())), ucom, &[x, mem]);
            let m16 = E::M(*m, 16);
            let movup = pick(Mn::Movups, Mn::Movupd);
            check(&asm(|a| a.movap_rm(fs, rotx(k), m.mem())), movap, &[x, m16]);
            check(&asm(|a| a.movap_mr(fs, m.mem(), rotx(k))), movap, &[m16, x]);
            check(
                &asm(|a| a.vmovap_rm(fs, rotx(k), m.mem())),
                vmovap,
                &[x, m16],
            );
            check(
                &asm(|a| a.vmovap_mr(fs, m.mem(), rotx(k))),
                vmovap,
                &[m16, x],
            );
            check(&asm(|a| a.movup_rm(fs, rotx(k), m.mem())), movup, &[x, m16]);
            check(&asm(|a| a.movup_mr(fs, m.mem(), rotx(k))), movup, &[m16, x]);
            check(
                &asm(|a| a.vucomis_rm(fs, rotx(k), m.mem())),
                vucom,
                &[x, mem],
            );
            check(
                &asm(|a| a.rounds_rm(fs, mode, rotx(k), m.mem())),
                round,
                &[x, mem, imm],
            );
            check(
                &asm(|a| a.vrounds_rrm(fs, mode, rotx(k), s1, m.mem())),
                vround,
                &[x, E::R(xmm(s1)), mem, imm],
            );
        }
    }
}

#[test]
fn int_float_conversions_and_moves() {
    let mems = mem_specs();
    for fs in [FloatSize::F32, FloatSize::F64] {
        let single = fs == FloatSize::F32;
        let fb = if single { 4 } else { 8 };
        let pick = |s: Mn, d: Mn| if single { s } else { d };
        let (si2s, vsi2s) = (
            pick(Mn::Cvtsi2ss, Mn::Cvtsi2sd),
            pick(Mn::Vcvtsi2ss, Mn::Vcvtsi2sd),
        );
        let (s2si, vs2si) = (
            pick(Mn::Cvttss2si, Mn::Cvttsd2si),
            pick(Mn::Vcvttss2si, Mn::Vcvttsd2si),
        );
        for int in DW_SIZES {
            for x in Xmm::ALL {
                for r in Gpr::ALL {
                    let (ex, er) = (E::R(xmm(x)), E::R(gpr(int, r)));
                    let s1 = rotx((x.enc() + r.enc() * 5) as usize);
                    check(&asm(|a| a.cvtsi2s_rr(fs, int, x, r)), si2s, &[ex, er]);
                    check(
                        &asm(|a| a.vcvtsi2s_rrr(fs, int, x, s1, r)),
                        vsi2s,
                        &[ex, E::R(xmm(s1)), er],
                    );
                    check(&asm(|a| a.cvtts2si_rr(fs, int, r, x)), s2si, &[er, ex]);
                    check(&asm(|a| a.vcvtts2si_rr(fs, int, r, x)), vs2si, &[er, ex]);
                    if single {
                        let (mv, vmv) = if int == Size::S32 {
                            (Mn::Movd, Mn::Vmovd)
                        } else {
                            (Mn::Movq, Mn::Vmovq)
                        };
                        check(&asm(|a| a.movd_xr(int, x, r)), mv, &[ex, er]);
                        check(&asm(|a| a.movd_rx(int, r, x)), mv, &[er, ex]);
                        check(&asm(|a| a.vmovd_xr(int, x, r)), vmv, &[ex, er]);
                        check(&asm(|a| a.vmovd_rx(int, r, x)), vmv, &[er, ex]);
                    }
                }
            }
            for (k, m) in mems.iter().enumerate() {
                let (x, r, s1) = (rotx(k), rot(k + 1), rotx(k + 2));
                let ib = int.bytes() as usize;
                check(
                    &asm(|a| a.cvtsi2s_rm(fs, int, x, m.mem())),
                    si2s,
                    &[E::R(xmm(x)), E::M(*m, ib)],
                );
                check(
                    &asm(|a| a.vcvtsi2s_rrm(fs, int, x, s1, m.mem())),
                    vsi2s,
                    &[E::R(xmm(x)), E::R(xmm(s1)), E::M(*m, ib)],
                );
                check(
                    &asm(|a| a.cvtts2si_rm(fs, int, r, m.mem())),
                    s2si,
                    &[E::R(gpr(int, r)), E::M(*m, fb)],
                );
                check(
                    &asm(|a| a.vcvtts2si_rm(fs, int, r, m.mem())),
                    vs2si,
                    &[E::R(gpr(int, r)), E::M(*m, fb)],
                );
            }
        }
    }
}

#[test]
fn rip_relative_label_operands_account_for_trailing_immediates() {
    // A label bound before and after; instructions with 0, 1 and 4 immediate bytes.
    let mut a = Assembler::new();
    let before = a.new_label();
    let after = a.new_label();
    a.bind(before);
    a.nop(3);
    let mut sites = Vec::new();
    for l in [before, after] {
        for k in 0..4 {
            sites.push((a.pc_offset(), l, k));
            match k {
                0 => a.lea(Size::S64, RAX, Mem::label(l)),
                1 => a.cmp_mi(Size::S32, Mem::label(l), 5),
                2 => a.cmp_mi(Size::S32, Mem::label(l), 0x12345),
                _ => a.rounds_rm(FloatSize::F64, RoundMode::Up, XMM3, Mem::label(l).offset(8)),
            }
        }
    }
    a.nop(5);
    a.bind(after);
    a.int3();
    let code = a.finish().unwrap();
    let after_pos = code.len() as u64 - 1;
    for (pos, l, k) in sites {
        let ins = common::decode_all(&code)
            .into_iter()
            .find(|(p, _)| *p == pos)
            .unwrap()
            .1;
        let target = if l == before { 0 } else { after_pos };
        let target = if k == 3 { target + 8 } else { target };
        assert_eq!(ins.memory_base(), Register::RIP);
        assert_eq!(ins.memory_displacement64(), target, "{ins} at {pos}");
    }
}
