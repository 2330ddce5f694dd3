//! A long pseudo-random instruction stream with labels and constants: the offsets recorded
//! with `pc_offset()` must be exactly the instruction boundaries a decoder finds, every
//! branch must land on its label, and every constant reference on its constant.

mod common;

use common::decode_all;
use iced_x86::{Mnemonic as Mn, OpKind, Register};
use kiln_assembler_x64::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn gpr(&mut self) -> Gpr {
        Gpr::ALL[self.below(16) as usize]
    }
    fn xmm(&mut self) -> Xmm {
        Xmm::ALL[self.below(16) as usize]
    }
    fn size(&mut self) -> Size {
        Size::ALL[self.below(4) as usize]
    }
    fn mem(&mut self) -> Mem {
        let disp = [0, 8, -8, 1000, -100_000][self.below(5) as usize];
        let base = self.gpr();
        match self.below(3) {
            0 => Mem::base(base, disp),
            1 => {
                let index = Gpr::ALL
                    .into_iter()
                    .filter(|g| *g != RSP)
                    .nth(self.below(15) as usize)
                    .unwrap();
                Mem::base_index(base, index, Scale::ALL[self.below(4) as usize], disp)
            }
            _ => Mem::rip(disp),
        }
    }
}

/// What the decoder must find at one recorded offset.
enum Expect {
    Mnemonic(Mn),
    Branch(Mn, Label),
    Constant(Mn, u64),
}

#[test]
fn recorded_offsets_are_instruction_boundaries() {
    for seed in 1..=8u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let mut a = Assembler::new();
        let labels: Vec<Label> = (0..64).map(|_| a.new_label()).collect();
        let mut next_bind = 0;
        let mut expected = Vec::new();
        for step in 0..3000 {
            if next_bind < labels.len() && rng.below(40) == 0 {
                a.bind(labels[next_bind]);
                next_bind += 1;
            }
            let at = a.pc_offset();
            let e = match rng.below(14) {
                0 => {
                    let size = rng.size();
                    a.mov_rm(size, rng.gpr(), rng.mem());
                    Expect::Mnemonic(Mn::Mov)
                }
                1 => {
                    let size = rng.size();
                    a.mov_mr(size, rng.mem(), rng.gpr());
                    Expect::Mnemonic(Mn::Mov)
                }
                2 => {
                    let op = AluOp::ALL[rng.below(8) as usize];
                    let imm = rng.next() as i8 as i32;
                    a.alu_ri(op, Size::S64, rng.gpr(), imm * 1000);
                    Expect::Mnemonic(
                        [
                            Mn::Add,
                            Mn::Or,
                            Mn::Adc,
                            Mn::Sbb,
                            Mn::And,
                            Mn::Sub,
                            Mn::Xor,
                            Mn::Cmp,
                        ][op as usize],
                    )
                }
                3 => {
                    let l = labels[rng.below(64) as usize];
                    if rng.below(2) == 0 {
                        a.jmp(l);
                        Expect::Branch(Mn::Jmp, l)
                    } else {
                        a.jcc(Cond::Ne, l);
                        Expect::Branch(Mn::Jne, l)
                    }
                }
                4 => {
                    let v = f64::from(rng.below(50) as u32);
                    let c = a.const_f64(v);
                    a.mulsd_rm(rng.xmm(), c);
                    Expect::Constant(Mn::Mulsd, v.to_bits())
                }
                5 => {
                    let v = rng.next();
                    a.mov_ri(Size::S64, rng.gpr(), v as i64);
                    Expect::Mnemonic(Mn::Mov)
                }
                6 => {
                    a.nop(1 + rng.below(15) as usize);
                    Expect::Mnemonic(Mn::Nop)
                }
                7 => {
                    a.vaddsd_rrr(rng.xmm(), rng.xmm(), rng.xmm());
                    Expect::Mnemonic(Mn::Vaddsd)
                }
                8 => {
                    a.movzx_rm(Size::S32, Size::S8, rng.gpr(), rng.mem());
                    Expect::Mnemonic(Mn::Movzx)
                }
                9 => {
                    a.setcc_r(Cond::L, rng.gpr());
                    Expect::Mnemonic(Mn::Setl)
                }
                10 => {
                    a.shift_ri(
                        ShiftOp::Sar,
                        Size::S32,
                        rng.gpr(),
                        (rng.below(31) + 1) as u8,
                    );
                    Expect::Mnemonic(Mn::Sar)
                }
                11 => {
                    let l = labels[rng.below(64) as usize];
                    a.call(l);
                    Expect::Branch(Mn::Call, l)
                }
                12 => {
                    a.ud2();
                    Expect::Mnemonic(Mn::Ud2)
                }
                _ => {
                    let size = [Size::S32, Size::S64][step % 2];
                    a.cvtsi2s_rm(FloatSize::F64, size, rng.xmm(), rng.mem());
                    Expect::Mnemonic(Mn::Cvtsi2sd)
                }
            };
            expected.push((at, e));
        }
        while next_bind < labels.len() {
            a.bind(labels[next_bind]);
            next_bind += 1;
        }
        a.ret();
        let label_pos: Vec<usize> = labels.iter().map(|&l| a.label_offset(l).unwrap()).collect();
        let code_len = a.pc_offset();
        let code = a.finish().unwrap();
        let decoded = decode_all(&code[..code_len]);
        assert_eq!(
            decoded.len(),
            expected.len() + 1,
            "seed {seed}: instruction count"
        );
        for ((pos, ins), (at, e)) in decoded.iter().zip(&expected) {
            assert_eq!(pos, at, "seed {seed}: boundary");
            match *e {
                Expect::Mnemonic(m) => assert_eq!(ins.mnemonic(), m, "at {at}: {ins}"),
                Expect::Branch(m, l) => {
                    assert_eq!(ins.mnemonic(), m, "at {at}: {ins}");
                    assert_eq!(ins.op_kind(0), OpKind::NearBranch64);
                    assert_eq!(
                        ins.near_branch_target(),
                        label_pos[l.index() as usize] as u64
                    );
                }
                Expect::Constant(m, bits) => {
                    assert_eq!(ins.mnemonic(), m, "at {at}: {ins}");
                    assert_eq!(ins.memory_base(), Register::RIP);
                    let t = ins.memory_displacement64() as usize;
                    assert!(t >= code_len && t.is_multiple_of(8));
                    assert_eq!(code[t..t + 8], bits.to_le_bytes());
                }
            }
        }
    }
}
