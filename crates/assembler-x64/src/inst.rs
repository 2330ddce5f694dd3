//! Opcode tables: one row per instruction form. The [`Assembler`](crate::Assembler) methods
//! look their opcode up here and hand it to [`crate::encoding`]; no other module spells an
//! opcode byte.

use crate::encoding::{Map, Opcode, Prefix};

/// An integer opcode that exists in a byte form and a 16/32/64-bit form, with the ModRM.reg
/// `/digit` when the reg field is an opcode extension.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IntForm {
    pub map: Map,
    /// Opcode of the 8-bit form, if there is one.
    pub op8: Option<u8>,
    /// Opcode of the 16/32/64-bit form.
    pub op: u8,
    /// The `/digit` (0 when the reg field holds a register).
    pub digit: u8,
}

const fn f(op8: u8, op: u8, digit: u8) -> IntForm {
    IntForm {
        map: Map::Primary,
        op8: Some(op8),
        op,
        digit,
    }
}
const fn f0f(op8: Option<u8>, op: u8) -> IntForm {
    IntForm {
        map: Map::M0F,
        op8,
        op,
        digit: 0,
    }
}

// --- Data movement -------------------------------------------------------------------------
/// `mov r/m, r`.
pub(crate) const MOV_MR: IntForm = f(0x88, 0x89, 0);
/// `mov r, r/m`.
pub(crate) const MOV_RM: IntForm = f(0x8A, 0x8B, 0);
/// `mov r/m, imm` (`C6 /0 ib`, `C7 /0 iw/id`).
pub(crate) const MOV_MI: IntForm = f(0xC6, 0xC7, 0);
/// `mov r, imm` (`B0+r ib`, `B8+r iw/id/io`): register added to the opcode.
pub(crate) const MOV_OI: IntForm = f(0xB0, 0xB8, 0);
/// `lea r, m`.
pub(crate) const LEA: IntForm = IntForm {
    map: Map::Primary,
    op8: None,
    op: 0x8D,
    digit: 0,
};
/// `movzx r, r/m8` / `movzx r, r/m16` (`0F B6`, `0F B7`).
pub(crate) const MOVZX: IntForm = f0f(Some(0xB6), 0xB7);
/// `movsx r, r/m8` / `movsx r, r/m16` (`0F BE`, `0F BF`).
pub(crate) const MOVSX: IntForm = f0f(Some(0xBE), 0xBF);
/// `movsxd r64, r/m32`.
pub(crate) const MOVSXD: IntForm = IntForm {
    map: Map::Primary,
    op8: None,
    op: 0x63,
    digit: 0,
};
/// `xchg r/m, r`.
pub(crate) const XCHG: IntForm = f(0x86, 0x87, 0);
/// `cmpxchg r/m, r` (used with `lock`).
pub(crate) const CMPXCHG: IntForm = f0f(Some(0xB0), 0xB1);
/// `xadd r/m, r` (used with `lock`).
pub(crate) const XADD: IntForm = f0f(Some(0xC0), 0xC1);
/// `bswap r32/r64` (`0F C8+r`).
pub(crate) const BSWAP: IntForm = f0f(None, 0xC8);
/// `cmovcc r, r/m` (`0F 40+cc`).
pub(crate) const CMOVCC: IntForm = f0f(None, 0x40);
/// `setcc r/m8` (`0F 90+cc /0`).
pub(crate) const SETCC: IntForm = f0f(Some(0x90), 0x90);
/// `imul r, r/m`.
pub(crate) const IMUL_RM: IntForm = f0f(None, 0xAF);
/// `imul r, r/m, imm8`.
pub(crate) const IMUL_RMI8: IntForm = IntForm {
    map: Map::Primary,
    op8: None,
    op: 0x6B,
    digit: 0,
};
/// `imul r, r/m, imm32`.
pub(crate) const IMUL_RMI: IntForm = IntForm {
    map: Map::Primary,
    op8: None,
    op: 0x69,
    digit: 0,
};
/// `test r/m, r`.
pub(crate) const TEST_MR: IntForm = f(0x84, 0x85, 0);
/// `test r/m, imm`.
pub(crate) const TEST_MI: IntForm = f(0xF6, 0xF7, 0);

/// The classic two-operand integer operations sharing one 8-opcode block each
/// (`base+0..=base+3` register forms, `80/81/83 /digit` immediate forms).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    /// `add`.
    Add,
    /// `or`.
    Or,
    /// `adc` (add with carry).
    Adc,
    /// `sbb` (subtract with borrow).
    Sbb,
    /// `and`.
    And,
    /// `sub`.
    Sub,
    /// `xor`.
    Xor,
    /// `cmp` (sets flags only).
    Cmp,
}

impl AluOp {
    /// All eight, in encoding order.
    pub const ALL: [AluOp; 8] = [
        AluOp::Add,
        AluOp::Or,
        AluOp::Adc,
        AluOp::Sbb,
        AluOp::And,
        AluOp::Sub,
        AluOp::Xor,
        AluOp::Cmp,
    ];

    /// The `/digit` of the immediate forms; the register forms start at `digit * 8`.
    const fn digit(self) -> u8 {
        self as u8
    }

    /// `op r/m, r`.
    pub(crate) const fn mr(self) -> IntForm {
        f(self.digit() * 8, self.digit() * 8 + 1, 0)
    }

    /// `op r, r/m`.
    pub(crate) const fn rm(self) -> IntForm {
        f(self.digit() * 8 + 2, self.digit() * 8 + 3, 0)
    }

    /// `op r/m, imm8/16/32` (`80 /d ib`, `81 /d iw/id`).
    pub(crate) const fn mi(self) -> IntForm {
        f(0x80, 0x81, self.digit())
    }

    /// `op r/m, imm8` sign-extended (`83 /d ib`), for 16/32/64-bit operations.
    pub(crate) const fn mi8(self) -> IntForm {
        IntForm {
            map: Map::Primary,
            op8: None,
            op: 0x83,
            digit: self.digit(),
        }
    }
}

/// One-operand integer operations (groups 3 and 4/5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum UnaryOp {
    /// `not` (bitwise complement).
    Not,
    /// `neg` (two's complement negation).
    Neg,
    /// `mul` (unsigned `rdx:rax = rax * src`).
    Mul,
    /// `imul` one-operand (signed `rdx:rax = rax * src`).
    Imul,
    /// `div` (unsigned `rdx:rax / src`; `#DE` on zero or overflow).
    Div,
    /// `idiv` (signed `rdx:rax / src`; `#DE` on zero or overflow).
    Idiv,
    /// `inc`.
    Inc,
    /// `dec`.
    Dec,
}

impl UnaryOp {
    /// All eight.
    pub const ALL: [UnaryOp; 8] = [
        UnaryOp::Not,
        UnaryOp::Neg,
        UnaryOp::Mul,
        UnaryOp::Imul,
        UnaryOp::Div,
        UnaryOp::Idiv,
        UnaryOp::Inc,
        UnaryOp::Dec,
    ];

    pub(crate) const fn form(self) -> IntForm {
        match self {
            UnaryOp::Not => f(0xF6, 0xF7, 2),
            UnaryOp::Neg => f(0xF6, 0xF7, 3),
            UnaryOp::Mul => f(0xF6, 0xF7, 4),
            UnaryOp::Imul => f(0xF6, 0xF7, 5),
            UnaryOp::Div => f(0xF6, 0xF7, 6),
            UnaryOp::Idiv => f(0xF6, 0xF7, 7),
            UnaryOp::Inc => f(0xFE, 0xFF, 0),
            UnaryOp::Dec => f(0xFE, 0xFF, 1),
        }
    }
}

/// Shifts and rotates (group 2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ShiftOp {
    /// `rol`.
    Rol,
    /// `ror`.
    Ror,
    /// `shl` (= `sal`).
    Shl,
    /// `shr` (logical).
    Shr,
    /// `sar` (arithmetic).
    Sar,
}

impl ShiftOp {
    /// All five.
    pub const ALL: [ShiftOp; 5] = [
        ShiftOp::Rol,
        ShiftOp::Ror,
        ShiftOp::Shl,
        ShiftOp::Shr,
        ShiftOp::Sar,
    ];

    const fn digit(self) -> u8 {
        match self {
            ShiftOp::Rol => 0,
            ShiftOp::Ror => 1,
            ShiftOp::Shl => 4,
            ShiftOp::Shr => 5,
            ShiftOp::Sar => 7,
        }
    }

    /// Shift by 1 (`D0/D1 /d`).
    pub(crate) const fn by_one(self) -> IntForm {
        f(0xD0, 0xD1, self.digit())
    }

    /// The BMI2 flag-less shift by a register (`shlx`/`shrx`/`sarx`, `VEX.LZ.pp.0F38 F7`):
    /// `None` for rotates, which only have the immediate `rorx`.
    pub(crate) const fn bmi2(self) -> Option<Opcode> {
        let prefix = match self {
            ShiftOp::Shl => Prefix::P66,
            ShiftOp::Shr => Prefix::PF2,
            ShiftOp::Sar => Prefix::PF3,
            ShiftOp::Rol | ShiftOp::Ror => return None,
        };
        Some(Opcode {
            prefix,
            map: Map::M0F38,
            op: 0xF7,
        })
    }

    /// Shift by `cl` (`D2/D3 /d`).
    pub(crate) const fn by_cl(self) -> IntForm {
        f(0xD2, 0xD3, self.digit())
    }

    /// Shift by imm8 (`C0/C1 /d ib`).
    pub(crate) const fn by_imm(self) -> IntForm {
        f(0xC0, 0xC1, self.digit())
    }
}

/// `rorx r, r/m, imm8` (BMI2, `VEX.LZ.F2.0F3A F0`).
pub(crate) const RORX: Opcode = Opcode {
    prefix: Prefix::PF2,
    map: Map::M0F3A,
    op: 0xF0,
};

/// Bit-counting instructions, 16/32/64-bit `r, r/m` forms.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BitOp {
    /// `lzcnt` (needs [`CpuFeatures::lzcnt`](crate::CpuFeatures)); on older CPUs the same
    /// bytes decode as `bsr`.
    Lzcnt,
    /// `tzcnt` (needs [`CpuFeatures::bmi1`](crate::CpuFeatures)); on older CPUs `bsf`.
    Tzcnt,
    /// `popcnt` (needs [`CpuFeatures::popcnt`](crate::CpuFeatures)).
    Popcnt,
    /// `bsr`: index of the highest set bit; ZF = 1 and destination undefined for 0.
    Bsr,
    /// `bsf`: index of the lowest set bit; ZF = 1 and destination undefined for 0.
    Bsf,
}

impl BitOp {
    /// All five.
    pub const ALL: [BitOp; 5] = [
        BitOp::Lzcnt,
        BitOp::Tzcnt,
        BitOp::Popcnt,
        BitOp::Bsr,
        BitOp::Bsf,
    ];

    pub(crate) const fn opcode(self) -> Opcode {
        match self {
            BitOp::Lzcnt => Opcode::pfx_0f(Prefix::PF3, 0xBD),
            BitOp::Tzcnt => Opcode::pfx_0f(Prefix::PF3, 0xBC),
            BitOp::Popcnt => Opcode::pfx_0f(Prefix::PF3, 0xB8),
            BitOp::Bsr => Opcode::x0f(0xBD),
            BitOp::Bsf => Opcode::x0f(0xBC),
        }
    }
}

// --- Control flow and miscellany -----------------------------------------------------------
/// `jmp rel8`.
pub(crate) const JMP_REL8: Opcode = Opcode::primary(0xEB);
/// `jmp rel32`.
pub(crate) const JMP_REL32: Opcode = Opcode::primary(0xE9);
/// `jcc rel8` (`70+cc`).
pub(crate) const JCC_REL8: Opcode = Opcode::primary(0x70);
/// `jcc rel32` (`0F 80+cc`).
pub(crate) const JCC_REL32: Opcode = Opcode::x0f(0x80);
/// `call rel32`.
pub(crate) const CALL_REL32: Opcode = Opcode::primary(0xE8);
/// Group 5 (`FF`): `call r/m64` is `/2`, `jmp r/m64` is `/4`, `push r/m64` is `/6`.
pub(crate) const GROUP5: Opcode = Opcode::primary(0xFF);
/// `/digit` of `call r/m64` in [`GROUP5`].
pub(crate) const CALL_DIGIT: u8 = 2;
/// `/digit` of `jmp r/m64` in [`GROUP5`].
pub(crate) const JMP_DIGIT: u8 = 4;
/// `/digit` of `push r/m64` in [`GROUP5`].
pub(crate) const PUSH_DIGIT: u8 = 6;
/// `pop r/m64` (`8F /0`).
pub(crate) const POP_M: Opcode = Opcode::primary(0x8F);
/// `push r64` (`50+r`).
pub(crate) const PUSH_O: Opcode = Opcode::primary(0x50);
/// `pop r64` (`58+r`).
pub(crate) const POP_O: Opcode = Opcode::primary(0x58);
/// `push imm8` (sign-extended).
pub(crate) const PUSH_I8: Opcode = Opcode::primary(0x6A);
/// `push imm32` (sign-extended).
pub(crate) const PUSH_I32: Opcode = Opcode::primary(0x68);
/// `ret`.
pub(crate) const RET: Opcode = Opcode::primary(0xC3);
/// `ret imm16`.
pub(crate) const RET_IMM: Opcode = Opcode::primary(0xC2);
/// `cdq`/`cqo` (`99`, `REX.W 99`).
pub(crate) const CDQ: Opcode = Opcode::primary(0x99);
/// `cdqe` (`REX.W 98`): sign-extend eax into rax.
pub(crate) const CDQE: Opcode = Opcode::primary(0x98);
/// `int3`.
pub(crate) const INT3: Opcode = Opcode::primary(0xCC);
/// `ud2` (`0F 0B`).
pub(crate) const UD2: Opcode = Opcode::x0f(0x0B);
/// `mfence` is `0F AE F0`: `0F AE /6` with a register r/m of 0.
pub(crate) const FENCE: Opcode = Opcode::x0f(0xAE);
/// `/digit` of `mfence` in [`FENCE`].
pub(crate) const MFENCE_DIGIT: u8 = 6;
/// The `lock` prefix byte.
pub(crate) const LOCK: u8 = 0xF0;

/// The recommended multi-byte nops of lengths 1..=10 (Intel SDM "NOP" table; lengths 10+ add
/// a `cs` segment override and `66` prefixes). Lengths 11..=15 prepend `66`s to the 10-byte
/// form.
pub(crate) const NOPS: [&[u8]; 10] = [
    &[0x90],
    &[0x66, 0x90],
    &[0x0F, 0x1F, 0x00],
    &[0x0F, 0x1F, 0x40, 0x00],
    &[0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
    &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
    &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/// An operand-size prefix, used as padding in nops longer than 10 bytes.
pub(crate) const NOP_PAD: u8 = 0x66;

// --- Scalar floating point (SSE2 / SSE4.1, and their VEX forms) ----------------------------
/// Scalar/packed float operations of the form `op xmm, xmm/m` (SSE) and
/// `vop xmm, xmm, xmm/m` (AVX: the first source is separate from the destination).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SseOp {
    /// `addss`.
    Addss,
    /// `addsd`.
    Addsd,
    /// `subss`.
    Subss,
    /// `subsd`.
    Subsd,
    /// `mulss`.
    Mulss,
    /// `mulsd`.
    Mulsd,
    /// `divss`.
    Divss,
    /// `divsd`.
    Divsd,
    /// `minss` (returns the second operand if either is NaN or both are zero).
    Minss,
    /// `minsd`.
    Minsd,
    /// `maxss` (returns the second operand if either is NaN or both are zero).
    Maxss,
    /// `maxsd`.
    Maxsd,
    /// `sqrtss` (AVX form merges the upper lanes from the first source).
    Sqrtss,
    /// `sqrtsd`.
    Sqrtsd,
    /// `andps` (memory operand must be 16-byte aligned).
    Andps,
    /// `andpd`.
    Andpd,
    /// `andnps` (`dst = !dst & src`).
    Andnps,
    /// `andnpd`.
    Andnpd,
    /// `orps`.
    Orps,
    /// `orpd`.
    Orpd,
    /// `xorps`.
    Xorps,
    /// `xorpd`.
    Xorpd,
    /// `cvtss2sd` (f32 -> f64).
    Cvtss2sd,
    /// `cvtsd2ss` (f64 -> f32).
    Cvtsd2ss,
}

impl SseOp {
    /// All of them.
    pub const ALL: [SseOp; 24] = [
        SseOp::Addss,
        SseOp::Addsd,
        SseOp::Subss,
        SseOp::Subsd,
        SseOp::Mulss,
        SseOp::Mulsd,
        SseOp::Divss,
        SseOp::Divsd,
        SseOp::Minss,
        SseOp::Minsd,
        SseOp::Maxss,
        SseOp::Maxsd,
        SseOp::Sqrtss,
        SseOp::Sqrtsd,
        SseOp::Andps,
        SseOp::Andpd,
        SseOp::Andnps,
        SseOp::Andnpd,
        SseOp::Orps,
        SseOp::Orpd,
        SseOp::Xorps,
        SseOp::Xorpd,
        SseOp::Cvtss2sd,
        SseOp::Cvtsd2ss,
    ];

    pub(crate) const fn opcode(self) -> Opcode {
        use Prefix::{P66, PF2, PF3};
        let (prefix, op) = match self {
            SseOp::Addss => (PF3, 0x58),
            SseOp::Addsd => (PF2, 0x58),
            SseOp::Mulss => (PF3, 0x59),
            SseOp::Mulsd => (PF2, 0x59),
            SseOp::Subss => (PF3, 0x5C),
            SseOp::Subsd => (PF2, 0x5C),
            SseOp::Minss => (PF3, 0x5D),
            SseOp::Minsd => (PF2, 0x5D),
            SseOp::Divss => (PF3, 0x5E),
            SseOp::Divsd => (PF2, 0x5E),
            SseOp::Maxss => (PF3, 0x5F),
            SseOp::Maxsd => (PF2, 0x5F),
            SseOp::Sqrtss => (PF3, 0x51),
            SseOp::Sqrtsd => (PF2, 0x51),
            SseOp::Andps => (Prefix::None, 0x54),
            SseOp::Andpd => (P66, 0x54),
            SseOp::Andnps => (Prefix::None, 0x55),
            SseOp::Andnpd => (P66, 0x55),
            SseOp::Orps => (Prefix::None, 0x56),
            SseOp::Orpd => (P66, 0x56),
            SseOp::Xorps => (Prefix::None, 0x57),
            SseOp::Xorpd => (P66, 0x57),
            SseOp::Cvtss2sd => (PF3, 0x5A),
            SseOp::Cvtsd2ss => (PF2, 0x5A),
        };
        Opcode::pfx_0f(prefix, op)
    }
}

/// Scalar float precision, selecting the `ss`/`sd` (or `ps`/`pd`) form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FloatSize {
    /// Single precision (`f32`).
    F32,
    /// Double precision (`f64`).
    F64,
}

/// `movss`/`movsd` load (`F3/F2 0F 10`); the store is `+1`.
pub(crate) const fn movs_load(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::pfx_0f(Prefix::PF3, 0x10),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::PF2, 0x10),
    }
}

/// `movss`/`movsd` store.
pub(crate) const fn movs_store(fs: FloatSize) -> Opcode {
    movs_load(fs).plus(1)
}

/// `movaps`/`movapd xmm, xmm/m128`.
pub(crate) const fn movap(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::x0f(0x28),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::P66, 0x28),
    }
}

/// `movaps`/`movapd xmm/m128, xmm` (store).
pub(crate) const fn movap_store(fs: FloatSize) -> Opcode {
    movap(fs).plus(1)
}

/// `movups`/`movupd xmm, xmm/m128` (unaligned load); the store is `+1`.
pub(crate) const fn movup(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::x0f(0x10),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::P66, 0x10),
    }
}

/// `ucomiss`/`ucomisd xmm, xmm/m`.
pub(crate) const fn ucomis(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::x0f(0x2E),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::P66, 0x2E),
    }
}

/// `cvtsi2ss`/`cvtsi2sd xmm, r/m32/64` (`REX.W` selects the 64-bit source).
pub(crate) const fn cvtsi2s(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::pfx_0f(Prefix::PF3, 0x2A),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::PF2, 0x2A),
    }
}

/// `cvttss2si`/`cvttsd2si r32/64, xmm/m` (truncating; `REX.W` selects the 64-bit result).
pub(crate) const fn cvtts2si(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode::pfx_0f(Prefix::PF3, 0x2C),
        FloatSize::F64 => Opcode::pfx_0f(Prefix::PF2, 0x2C),
    }
}

/// `roundss`/`roundsd xmm, xmm/m, imm8` (SSE4.1, `66 0F 3A 0A/0B`).
pub(crate) const fn rounds(fs: FloatSize) -> Opcode {
    match fs {
        FloatSize::F32 => Opcode {
            prefix: Prefix::P66,
            map: Map::M0F3A,
            op: 0x0A,
        },
        FloatSize::F64 => Opcode {
            prefix: Prefix::P66,
            map: Map::M0F3A,
            op: 0x0B,
        },
    }
}

/// `movd`/`movq xmm, r/m32/64` (`66 0F 6E`, `REX.W` for 64-bit).
pub(crate) const MOVD_XR: Opcode = Opcode::pfx_0f(Prefix::P66, 0x6E);
/// `movd`/`movq r/m32/64, xmm` (`66 0F 7E`, `REX.W` for 64-bit).
pub(crate) const MOVD_RX: Opcode = Opcode::pfx_0f(Prefix::P66, 0x7E);

/// The rounding mode of `roundss`/`roundsd` (immediate bits 0..1; bit 3, suppressing the
/// precision exception, is always set).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RoundMode {
    /// Round to nearest, ties to even (`f32.nearest`).
    Nearest = 0,
    /// Round toward negative infinity (`floor`).
    Down = 1,
    /// Round toward positive infinity (`ceil`).
    Up = 2,
    /// Round toward zero (`trunc`).
    Zero = 3,
}

impl RoundMode {
    /// All four.
    pub const ALL: [RoundMode; 4] = [
        RoundMode::Nearest,
        RoundMode::Down,
        RoundMode::Up,
        RoundMode::Zero,
    ];

    /// The immediate byte.
    pub const fn imm(self) -> u8 {
        self as u8 | 0x8
    }
}
