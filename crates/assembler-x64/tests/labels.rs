//! Labels, branch-size selection, the constant pool and error reporting, checked by decoding
//! the emitted branches and operands.

mod common;

/// A named way to emit something.
type Emit = Box<dyn Fn(&mut Assembler)>;

use common::{E, asm, check, decode_all};
use iced_x86::{Mnemonic as Mn, Register};
use kiln_assembler_x64::*;

/// The decoded instruction starting at `pos`.
fn at(code: &[u8], pos: usize) -> iced_x86::Instruction {
    let mut d =
        iced_x86::Decoder::with_ip(64, &code[pos..], pos as u64, iced_x86::DecoderOptions::NONE);
    let ins = d.decode();
    assert!(!ins.is_invalid(), "no instruction at {pos}");
    ins
}

#[derive(Clone, Copy, Debug)]
enum Branch {
    Jmp,
    Jcc(Cond),
}

impl Branch {
    fn emit(self, a: &mut Assembler, l: Label, size: BranchSize) {
        match self {
            Branch::Jmp => a.jmp_sized(l, size),
            Branch::Jcc(c) => a.jcc_sized(c, l, size),
        }
    }
    fn near_len(self) -> usize {
        match self {
            Branch::Jmp => 5,
            Branch::Jcc(_) => 6,
        }
    }
    fn mnemonic(self) -> Mn {
        match self {
            Branch::Jmp => Mn::Jmp,
            Branch::Jcc(c) => [
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
            ][c.bits() as usize],
        }
    }
}

fn branches() -> Vec<Branch> {
    let mut v = vec![Branch::Jmp];
    v.extend(Cond::ALL.into_iter().map(Branch::Jcc));
    v
}

#[test]
fn backward_branches_are_short_exactly_when_rel8_reaches() {
    for b in branches() {
        for body in 115..=140 {
            let mut a = Assembler::new();
            let top = a.new_label();
            a.bind(top);
            a.nops(body);
            let pos = a.pc_offset();
            b.emit(&mut a, top, BranchSize::Auto);
            let end = a.pc_offset();
            a.int3();
            let code = a.finish().unwrap();
            // rel8 reaches back to offset 0 when -(body + 2) >= -128.
            let expect_short = body + 2 <= 128;
            assert_eq!(
                end - pos,
                if expect_short { 2 } else { b.near_len() },
                "{b:?} over {body}"
            );
            check(
                &code[pos..end],
                b.mnemonic(),
                &[E::Target((-(pos as i64)) as u64)],
            );
            assert_eq!(at(&code, pos).near_branch_target(), 0);
        }
    }
}

#[test]
fn forward_branches_are_near_by_default_and_reach() {
    for b in branches() {
        for body in [0, 1, 120, 127, 128, 129, 140, 100_000] {
            let mut a = Assembler::new();
            let l = a.new_label();
            b.emit(&mut a, l, BranchSize::Auto);
            let len = a.pc_offset();
            assert_eq!(len, b.near_len());
            a.nops(body);
            a.bind(l);
            a.ret();
            let code = a.finish().unwrap();
            let target = (len + body) as u64;
            assert_eq!(
                at(&code, 0).near_branch_target(),
                target,
                "{b:?} over {body}"
            );
            assert_eq!(at(&code, 0).mnemonic(), b.mnemonic());
        }
    }
}

#[test]
fn forced_short_forward_branches_reach_up_to_127_bytes() {
    for b in branches() {
        for body in 120..=140 {
            let mut a = Assembler::new();
            let l = a.new_label();
            b.emit(&mut a, l, BranchSize::Short);
            a.nops(body);
            a.bind(l);
            a.ret();
            let result = a.finish();
            if body <= 127 {
                let code = result.unwrap();
                assert_eq!(at(&code, 0).len(), 2);
                assert_eq!(at(&code, 0).near_branch_target(), (2 + body) as u64);
            } else {
                assert_eq!(
                    result,
                    Err(AsmError::ShortBranchOutOfRange { at: 1 }),
                    "{b:?} over {body}"
                );
            }
        }
    }
}

#[test]
fn forced_sizes_on_bound_labels() {
    let mut a = Assembler::new();
    let top = a.new_label();
    a.bind(top);
    a.nop(1);
    a.jmp_sized(top, BranchSize::Near);
    a.jcc_sized(Cond::E, top, BranchSize::Near);
    a.jcc_sized(Cond::E, top, BranchSize::Short);
    a.nops(200);
    a.jmp_sized(top, BranchSize::Short);
    assert_eq!(
        a.error(),
        Some(AsmError::ShortBranchOutOfRange {
            at: 1 + 5 + 6 + 2 + 200 + 1
        })
    );
    let code = asm(|a| {
        let top = a.new_label();
        a.bind(top);
        a.nop(1);
        a.jmp_sized(top, BranchSize::Near);
        a.jcc_sized(Cond::E, top, BranchSize::Near);
        a.jcc_sized(Cond::E, top, BranchSize::Short);
    });
    let ins = decode_all(&code);
    assert_eq!(
        ins.iter().map(|(_, i)| i.len()).collect::<Vec<_>>(),
        vec![1, 5, 6, 2]
    );
    assert!(ins[1..].iter().all(|(_, i)| i.near_branch_target() == 0));
}

#[test]
fn many_references_to_one_label_are_all_patched() {
    let mut a = Assembler::new();
    let l = a.new_label();
    let mut sites = Vec::new();
    for k in 0..60 {
        sites.push(a.pc_offset());
        match k % 4 {
            0 => a.jmp(l),
            1 => a.jcc(Cond::Ne, l),
            2 => a.call(l),
            // Short references only in the last stretch, where rel8 still reaches.
            _ if k > 50 => a.jcc_sized(Cond::L, l, BranchSize::Short),
            _ => a.lea(Size::S64, RAX, Mem::label(l)),
        }
    }
    let target = a.pc_offset();
    a.bind(l);
    a.ret();
    let code = a.finish().unwrap();
    for (k, s) in sites.into_iter().enumerate() {
        let ins = at(&code, s);
        let reached = if k % 4 == 3 && k <= 50 {
            ins.memory_displacement64()
        } else {
            ins.near_branch_target()
        };
        assert_eq!(reached, target as u64, "reference {k}: {ins}");
    }

    // One forced-short reference too far back fails, even among good ones.
    let mut a = Assembler::new();
    let l = a.new_label();
    a.jcc_sized(Cond::L, l, BranchSize::Short);
    a.nops(130);
    a.jcc_sized(Cond::L, l, BranchSize::Short);
    a.bind(l);
    assert_eq!(a.finish(), Err(AsmError::ShortBranchOutOfRange { at: 1 }));
}

#[test]
fn label_offsets_and_pc_offsets() {
    let mut a = Assembler::new();
    let l = a.new_label();
    assert_eq!(a.label_offset(l), None);
    a.mov_rr(Size::S64, RAX, RDI);
    let p = a.pc_offset();
    assert_eq!(p, 3);
    a.bind(l);
    assert_eq!(a.label_offset(l), Some(3));
    a.ud2();
    assert_eq!(a.pc_offset(), 5);
    assert_eq!(a.code(), &[0x48, 0x89, 0xF8, 0x0F, 0x0B]);
}

#[test]
fn relative_jump_table_entries() {
    let mut a = Assembler::new();
    let cases: Vec<Label> = (0..4).map(|_| a.new_label()).collect();
    let table = a.pc_offset();
    for &c in &cases {
        a.emit_label_rel32(c, table);
    }
    for (k, &c) in cases.iter().enumerate() {
        a.nops(k * 3 + 1);
        a.bind(c);
        a.ret();
    }
    let code = a.finish().unwrap();
    for (k, &_c) in cases.iter().enumerate() {
        let v = i32::from_le_bytes(code[table + 4 * k..table + 4 * k + 4].try_into().unwrap());
        let expected = 16 + (0..=k).map(|j| j * 3 + 1).sum::<usize>() + k;
        assert_eq!(v as usize, expected);
        assert_eq!(code[table + v as usize], 0xC3);
    }
}

#[test]
fn constant_pool_is_deduplicated_aligned_and_referenced() {
    let mut a = Assembler::new();
    let c1 = a.const_f64(2.5);
    let c2 = a.const_f32(1.5);
    let c3 = a.const_u128(0x7FFF_FFFF_FFFF_FFFF_7FFF_FFFF_FFFF_FFFF);
    let c4 = a.const_f64(2.5);
    assert_eq!(c1, c4, "same constant, same operand");
    let c5 = a.const_u64(2.5f64.to_bits());
    assert_eq!(c1, c5, "deduplicated by bit pattern and width");
    let c6 = a.const_u32(1.5f32.to_bits());
    assert_eq!(c2, c6);
    let s1 = a.pc_offset();
    a.mulsd_rm(XMM0, c1);
    let s2 = a.pc_offset();
    a.movs_rm(FloatSize::F32, XMM9, c2);
    let s3 = a.pc_offset();
    a.andpd_rm(XMM15, c3);
    a.ret();
    let code_len = a.pc_offset();
    let code = a.finish().unwrap();
    let targets: Vec<u64> = [s1, s2, s3]
        .iter()
        .map(|&s| at(&code, s).memory_displacement64())
        .collect();
    for &t in &targets {
        assert!(t as usize >= code_len);
    }
    // Widest first from a 16-byte boundary, each naturally aligned.
    assert_eq!(targets[2] % 16, 0);
    assert_eq!(targets[0] % 8, 0);
    assert_eq!(targets[1] % 4, 0);
    let read = |t: u64, n: usize| code[t as usize..t as usize + n].to_vec();
    assert_eq!(read(targets[0], 8), 2.5f64.to_le_bytes());
    assert_eq!(read(targets[1], 4), 1.5f32.to_le_bytes());
    assert_eq!(
        read(targets[2], 16),
        0x7FFF_FFFF_FFFF_FFFF_7FFF_FFFF_FFFF_FFFFu128.to_le_bytes()
    );
    // Padding between code and pool is int3, and the pool is 16 + 8 + 4 bytes.
    assert!(
        code[code_len..targets[2] as usize]
            .iter()
            .all(|&b| b == 0xCC)
    );
    assert_eq!(code.len(), targets[2] as usize + 28);
    assert_eq!(at(&code, s3).memory_base(), Register::RIP);
}

#[test]
fn errors_are_values() {
    let mut a = Assembler::new();
    let l = a.new_label();
    a.jmp(l);
    assert_eq!(a.finish(), Err(AsmError::UnboundLabel(l)));

    let mut a = Assembler::new();
    let l = a.new_label();
    a.bind(l);
    a.nop(1);
    a.bind(l);
    assert_eq!(a.finish(), Err(AsmError::LabelBoundTwice(l)));

    let cases: Vec<(&str, Emit)> = vec![
        (
            "lea8",
            Box::new(|a| a.lea(Size::S8, RAX, Mem::base(RAX, 0))),
        ),
        ("bswap16", Box::new(|a| a.bswap(Size::S16, RAX))),
        (
            "movzx32to32",
            Box::new(|a| a.movzx_rr(Size::S32, Size::S32, RAX, RCX)),
        ),
        (
            "movsx64to32",
            Box::new(|a| a.movsx_rr(Size::S32, Size::S64, RAX, RCX)),
        ),
        ("imul8", Box::new(|a| a.imul_rr(Size::S8, RAX, RCX))),
        (
            "cmov8",
            Box::new(|a| a.cmov_rr(Cond::E, Size::S8, RAX, RCX)),
        ),
        (
            "cvt16",
            Box::new(|a| a.cvtsi2s_rr(FloatSize::F64, Size::S16, XMM0, RAX)),
        ),
        ("nop0", Box::new(|a| a.nop(0))),
        ("nop16", Box::new(|a| a.nop(16))),
        ("align3", Box::new(|a| a.align(3))),
        (
            "popcnt tmp",
            Box::new(|a| a.popcnt_or_swar(CpuFeatures::BASELINE, Size::S64, RAX, RCX, RAX)),
        ),
    ];
    for (name, f) in cases {
        let mut a = Assembler::new();
        a.nop(1);
        f(&mut a);
        assert_eq!(a.pc_offset(), 1, "{name}: nothing emitted");
        assert!(
            matches!(a.finish(), Err(AsmError::InvalidOperands { at: 1, .. })),
            "{name}"
        );
    }

    let imm_cases: Vec<(i64, Emit)> = vec![
        (256, Box::new(|a| a.add_ri(Size::S8, RAX, 256))),
        (
            -129,
            Box::new(|a| a.mov_mi(Size::S8, Mem::base(RAX, 0), -129)),
        ),
        (65536, Box::new(|a| a.test_ri(Size::S16, RAX, 65536))),
        (1 << 32, Box::new(|a| a.mov_ri(Size::S32, RAX, 1 << 32))),
        (300, Box::new(|a| a.mov_ri(Size::S8, RAX, 300))),
    ];
    for (value, f) in imm_cases {
        let mut a = Assembler::new();
        f(&mut a);
        assert_eq!(a.pc_offset(), 0);
        assert_eq!(
            a.finish(),
            Err(AsmError::ImmediateOutOfRange { at: 0, value })
        );
    }
    // The first error wins; later instructions are still emitted.
    let mut a = Assembler::new();
    a.bswap(Size::S8, RAX);
    a.ret();
    a.add_ri(Size::S8, RAX, 1000);
    assert_eq!(a.code(), &[0xC3]);
    assert!(matches!(
        a.error(),
        Some(AsmError::InvalidOperands { at: 0, .. })
    ));
    assert!(a.error().unwrap().to_string().contains("invalid operands"));
}

#[test]
#[should_panic(expected = "rsp cannot be used as an index register")]
fn rsp_index_is_rejected() {
    let _ = Mem::base_index(RAX, RSP, Scale::One, 0);
}

#[test]
#[should_panic(expected = "mnemonic")]
fn the_checker_rejects_a_wrong_mnemonic() {
    check(
        &asm(|a| a.add_rr(Size::S64, RAX, RCX)),
        Mn::Sub,
        &[E::R(Register::RAX), E::R(Register::RCX)],
    );
}

#[test]
#[should_panic(expected = "operand 1")]
fn the_checker_rejects_a_wrong_register() {
    check(
        &asm(|a| a.add_rr(Size::S64, RAX, RCX)),
        Mn::Add,
        &[E::R(Register::RAX), E::R(Register::RDX)],
    );
}

#[test]
#[should_panic(expected = "label from another assembler")]
fn a_foreign_label_panics_with_a_clear_message() {
    let mut a = Assembler::new();
    let mut b = Assembler::new();
    let _ = b.new_label();
    let l = b.new_label();
    a.jmp(l);
}

/// Code assembled into a reused buffer (old bytes, labels and constants of another piece of
/// code) is the same as code assembled fresh.
#[test]
fn a_reused_buffer_starts_empty() {
    let emit = |a: &mut Assembler| {
        let l = a.new_label();
        a.jcc(Cond::E, l);
        a.mov_ri(Size::S32, RAX, 7);
        a.bind(l);
        a.ret();
    };
    let mut first = Assembler::new();
    first.mov_ri(Size::S64, RCX, 0x1234_5678_9abc);
    first.push_r(RBP);
    let old = first.finish().unwrap();
    let old_len = old.len();
    let mut reused = Assembler::with_buffer(old, 64);
    assert_eq!(reused.pc_offset(), 0);
    emit(&mut reused);
    let mut fresh = Assembler::new();
    emit(&mut fresh);
    let (reused, fresh) = (reused.finish().unwrap(), fresh.finish().unwrap());
    assert_eq!(reused, fresh);
    assert!(reused.capacity() >= 64 && old_len > 0);
}
