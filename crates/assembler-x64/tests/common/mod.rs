//! Shared helpers: structural comparison against the iced-x86 decoder.
#![allow(dead_code)]

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use kiln_assembler_x64::{Assembler, Gpr, Mem, Scale, Size, Xmm};

/// Registers of each width, in hardware order.
pub const R8: [Register; 16] = [
    Register::AL,
    Register::CL,
    Register::DL,
    Register::BL,
    Register::SPL,
    Register::BPL,
    Register::SIL,
    Register::DIL,
    Register::R8L,
    Register::R9L,
    Register::R10L,
    Register::R11L,
    Register::R12L,
    Register::R13L,
    Register::R14L,
    Register::R15L,
];
pub const R16: [Register; 16] = [
    Register::AX,
    Register::CX,
    Register::DX,
    Register::BX,
    Register::SP,
    Register::BP,
    Register::SI,
    Register::DI,
    Register::R8W,
    Register::R9W,
    Register::R10W,
    Register::R11W,
    Register::R12W,
    Register::R13W,
    Register::R14W,
    Register::R15W,
];
pub const R32: [Register; 16] = [
    Register::EAX,
    Register::ECX,
    Register::EDX,
    Register::EBX,
    Register::ESP,
    Register::EBP,
    Register::ESI,
    Register::EDI,
    Register::R8D,
    Register::R9D,
    Register::R10D,
    Register::R11D,
    Register::R12D,
    Register::R13D,
    Register::R14D,
    Register::R15D,
];
pub const R64: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];
pub const XMMS: [Register; 16] = [
    Register::XMM0,
    Register::XMM1,
    Register::XMM2,
    Register::XMM3,
    Register::XMM4,
    Register::XMM5,
    Register::XMM6,
    Register::XMM7,
    Register::XMM8,
    Register::XMM9,
    Register::XMM10,
    Register::XMM11,
    Register::XMM12,
    Register::XMM13,
    Register::XMM14,
    Register::XMM15,
];

/// The iced register for `r` used at width `size`.
pub fn gpr(size: Size, r: Gpr) -> Register {
    let table = match size {
        Size::S8 => &R8,
        Size::S16 => &R16,
        Size::S32 => &R32,
        Size::S64 => &R64,
    };
    table[r.enc() as usize]
}

/// The iced register for `x`.
pub fn xmm(x: Xmm) -> Register {
    XMMS[x.enc() as usize]
}

/// A memory operand shape, from which both the assembler operand and the expectation are
/// built.
#[derive(Clone, Copy, Debug)]
pub struct MemSpec {
    pub base: Option<Gpr>,
    pub index: Option<(Gpr, Scale)>,
    pub disp: i32,
    pub rip: bool,
}

impl MemSpec {
    pub fn mem(&self) -> Mem {
        match (self.rip, self.base, self.index) {
            (true, _, _) => Mem::rip(self.disp),
            (false, Some(b), None) => Mem::base(b, self.disp),
            (false, Some(b), Some((i, s))) => Mem::base_index(b, i, s, self.disp),
            (false, None, Some((i, s))) => Mem::index(i, s, self.disp),
            (false, None, None) => unreachable!(),
        }
    }
}

const DISPS: [i32; 10] = [
    0,
    1,
    -1,
    127,
    -128,
    128,
    -129,
    0x1234_5678,
    i32::MIN,
    i32::MAX,
];
const INDEX_DISPS: [i32; 4] = [0, 0x40, -0x80, 0x1000];

/// Every addressing-mode shape: every base alone with boundary displacements (covering
/// rsp/r12 needing a SIB and rbp/r13 needing a displacement), every base with every index
/// and scale, index without base, and rip-relative.
pub fn mem_specs() -> Vec<MemSpec> {
    let mut v = Vec::new();
    for base in Gpr::ALL {
        for disp in DISPS {
            v.push(MemSpec {
                base: Some(base),
                index: None,
                disp,
                rip: false,
            });
        }
    }
    let mut n = 0;
    for base in Gpr::ALL {
        for index in Gpr::ALL.into_iter().filter(|&i| i.enc() != 4) {
            for scale in Scale::ALL {
                let disp = INDEX_DISPS[n % INDEX_DISPS.len()];
                n += 1;
                v.push(MemSpec {
                    base: Some(base),
                    index: Some((index, scale)),
                    disp,
                    rip: false,
                });
            }
        }
    }
    for index in Gpr::ALL.into_iter().filter(|&i| i.enc() != 4) {
        for (k, scale) in Scale::ALL.into_iter().enumerate() {
            let disp = [0, -8, 0x1000, i32::MAX][k];
            v.push(MemSpec {
                base: None,
                index: Some((index, scale)),
                disp,
                rip: false,
            });
        }
    }
    for disp in [0, -5, 0x100, -0x1000_0000, 0x7fff_0000] {
        v.push(MemSpec {
            base: None,
            index: None,
            disp,
            rip: true,
        });
    }
    v
}

/// A smaller subset of [`mem_specs`] (every special base case, a few index forms) for
/// crossing with many immediates.
pub fn mem_specs_small() -> Vec<MemSpec> {
    mem_specs()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 23 == 0)
        .map(|(_, m)| m)
        .collect()
}

/// An expected operand.
#[derive(Clone, Copy, Debug)]
pub enum E {
    /// A register.
    R(Register),
    /// Memory of `size` bytes (0: don't check the size).
    M(MemSpec, usize),
    /// An immediate compared on its low `bits` bits.
    I(i64, u32),
    /// A near branch to this offset (instruction decoded at ip 0).
    Target(u64),
}

/// Assembles with `f` and returns the finished bytes.
pub fn asm(f: impl FnOnce(&mut Assembler)) -> Vec<u8> {
    let mut a = Assembler::new();
    f(&mut a);
    a.finish().expect("assembles")
}

/// Decodes one instruction at ip 0.
pub fn decode(bytes: &[u8]) -> Instruction {
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    d.decode()
}

/// Decodes `bytes` as exactly one instruction and compares it structurally.
pub fn check(bytes: &[u8], mnemonic: Mnemonic, ops: &[E]) {
    let ins = decode(bytes);
    let ctx = || format!("bytes {bytes:02x?} decoded as {ins} ({:?})", ins.code());
    assert!(!ins.is_invalid(), "invalid: {}", ctx());
    assert_eq!(ins.len(), bytes.len(), "length: {}", ctx());
    assert_eq!(ins.mnemonic(), mnemonic, "mnemonic: {}", ctx());
    assert_eq!(
        ins.op_count() as usize,
        ops.len(),
        "operand count: {}",
        ctx()
    );
    for (i, op) in ops.iter().enumerate() {
        let i = i as u32;
        let kind = ins.op_kind(i);
        match *op {
            E::R(r) => {
                assert_eq!(kind, OpKind::Register, "operand {i} kind: {}", ctx());
                assert_eq!(ins.op_register(i), r, "operand {i}: {}", ctx());
            }
            E::M(spec, size) => {
                assert_eq!(kind, OpKind::Memory, "operand {i} kind: {}", ctx());
                if spec.rip {
                    assert_eq!(ins.memory_base(), Register::RIP, "base: {}", ctx());
                    assert_eq!(ins.memory_index(), Register::None, "index: {}", ctx());
                    let target = (bytes.len() as i64 + i64::from(spec.disp)) as u64;
                    assert_eq!(ins.memory_displacement64(), target, "rip target: {}", ctx());
                } else {
                    let base = spec.base.map_or(Register::None, |b| gpr(Size::S64, b));
                    assert_eq!(ins.memory_base(), base, "base: {}", ctx());
                    let (index, scale) = spec.index.map_or((Register::None, 1), |(r, s)| {
                        (gpr(Size::S64, r), s.factor())
                    });
                    assert_eq!(ins.memory_index(), index, "index: {}", ctx());
                    if index != Register::None {
                        assert_eq!(ins.memory_index_scale(), scale, "scale: {}", ctx());
                    }
                    assert_eq!(
                        ins.memory_displacement64() as i64,
                        i64::from(spec.disp),
                        "displacement: {}",
                        ctx()
                    );
                }
                if size != 0 {
                    assert_eq!(ins.memory_size().size(), size, "memory size: {}", ctx());
                }
            }
            E::I(v, bits) => {
                let value = ins
                    .try_immediate(i)
                    .unwrap_or_else(|_| panic!("operand {i} not immediate: {}", ctx()));
                let mask = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                assert_eq!(value & mask, (v as u64) & mask, "immediate {i}: {}", ctx());
            }
            E::Target(t) => {
                assert!(
                    matches!(kind, OpKind::NearBranch64),
                    "operand {i} kind {kind:?}: {}",
                    ctx()
                );
                assert_eq!(ins.near_branch_target(), t, "branch target: {}", ctx());
            }
        }
    }
}

/// Decodes a whole buffer into instructions with their offsets.
pub fn decode_all(bytes: &[u8]) -> Vec<(usize, Instruction)> {
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let mut out = Vec::new();
    while d.can_decode() {
        let pos = d.position();
        let ins = d.decode();
        assert!(!ins.is_invalid(), "invalid instruction at {pos:#x}");
        out.push((pos, ins));
    }
    out
}
