//! Operands other than registers: memory references and condition codes.

use crate::label::Label;
use crate::reg::{Gpr, RSP};

/// The scale applied to an index register in a memory operand.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Scale {
    /// `index * 1`.
    One,
    /// `index * 2`.
    Two,
    /// `index * 4`.
    Four,
    /// `index * 8`.
    Eight,
}

impl Scale {
    /// The 2-bit SIB encoding of this scale.
    #[inline]
    pub const fn bits(self) -> u8 {
        match self {
            Scale::One => 0,
            Scale::Two => 1,
            Scale::Four => 2,
            Scale::Eight => 3,
        }
    }

    /// The multiplier, 1, 2, 4 or 8.
    #[inline]
    pub const fn factor(self) -> u32 {
        1 << self.bits()
    }

    /// All four scales.
    pub const ALL: [Scale; 4] = [Scale::One, Scale::Two, Scale::Four, Scale::Eight];
}

/// The address part of a memory operand, without the displacement.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Addr {
    /// `[base + index * scale + disp]` (index optional).
    Base {
        base: Gpr,
        index: Option<(Gpr, Scale)>,
    },
    /// `[index * scale + disp32]`, no base register.
    Index { index: Gpr, scale: Scale },
    /// `[rip + disp32]` with a fixed displacement, counted from the end of the instruction.
    Rip,
    /// `[rip + label + disp]`: resolved when the label is bound.
    Label(Label),
}

/// A memory operand: `[base + index * scale + disp]`, `[index * scale + disp]`,
/// `[rip + disp]`, or the address of a [`Label`] (plus `disp`) reached rip-relative.
///
/// The encoder picks the shortest ModRM/SIB/displacement form and handles the special cases
/// (`rsp`/`r12` as base need a SIB byte, `rbp`/`r13` as base need a displacement). Invariant:
/// the index register is never `rsp` (unencodable), checked by the constructors.
/// A `Mem` is 12 bytes and `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Mem {
    pub(crate) addr: Addr,
    pub(crate) disp: i32,
}

impl Mem {
    /// `[base + disp]`.
    #[inline]
    pub const fn base(base: Gpr, disp: i32) -> Mem {
        Mem {
            addr: Addr::Base { base, index: None },
            disp,
        }
    }

    /// `[base + index * scale + disp]`.
    ///
    /// # Panics
    /// If `index` is `rsp`, which x86-64 cannot encode as an index. This is a programming
    /// error in the caller's register choice, not a run-time condition.
    #[inline]
    pub const fn base_index(base: Gpr, index: Gpr, scale: Scale, disp: i32) -> Mem {
        assert!(
            index.enc() != RSP.enc(),
            "rsp cannot be used as an index register"
        );
        Mem {
            addr: Addr::Base {
                base,
                index: Some((index, scale)),
            },
            disp,
        }
    }

    /// `[index * scale + disp32]` with no base register (always a 32-bit displacement).
    ///
    /// # Panics
    /// If `index` is `rsp` (see [`Mem::base_index`]).
    #[inline]
    pub const fn index(index: Gpr, scale: Scale, disp: i32) -> Mem {
        assert!(
            index.enc() != RSP.enc(),
            "rsp cannot be used as an index register"
        );
        Mem {
            addr: Addr::Index { index, scale },
            disp,
        }
    }

    /// `[rip + disp]`, where `disp` is counted from the end of the instruction using it.
    #[inline]
    pub const fn rip(disp: i32) -> Mem {
        Mem {
            addr: Addr::Rip,
            disp,
        }
    }

    /// `[rip + label]`: the address of `label` (bound before or after the use).
    #[inline]
    pub const fn label(label: Label) -> Mem {
        Mem {
            addr: Addr::Label(label),
            disp: 0,
        }
    }

    /// The same operand with `delta` added to its displacement (wrapping).
    #[inline]
    pub const fn offset(self, delta: i32) -> Mem {
        Mem {
            addr: self.addr,
            disp: self.disp.wrapping_add(delta),
        }
    }

    /// The displacement.
    #[inline]
    pub const fn disp(&self) -> i32 {
        self.disp
    }

    /// Whether the operand needs a REX.X or REX.B extension bit for its registers.
    #[inline]
    pub(crate) const fn rex_xb(&self) -> (u8, u8) {
        match self.addr {
            Addr::Base { base, index } => {
                let x = match index {
                    Some((i, _)) => i.enc() >> 3,
                    None => 0,
                };
                (x, base.enc() >> 3)
            }
            Addr::Index { index, .. } => (index.enc() >> 3, 0),
            Addr::Rip | Addr::Label(_) => (0, 0),
        }
    }
}

/// A condition code, as used by `jcc`, `setcc` and `cmovcc` (the low 4 bits of their opcode).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(u8)]
pub enum Cond {
    /// Overflow (`OF = 1`).
    O = 0,
    /// No overflow.
    No = 1,
    /// Below, unsigned `<` (`CF = 1`); also "carry".
    B = 2,
    /// Above or equal, unsigned `>=` (`CF = 0`).
    Ae = 3,
    /// Equal / zero.
    E = 4,
    /// Not equal / not zero.
    Ne = 5,
    /// Below or equal, unsigned `<=`.
    Be = 6,
    /// Above, unsigned `>`.
    A = 7,
    /// Sign (negative).
    S = 8,
    /// No sign.
    Ns = 9,
    /// Parity even (after `ucomis*`: unordered).
    P = 10,
    /// Parity odd (after `ucomis*`: ordered).
    Np = 11,
    /// Less, signed `<`.
    L = 12,
    /// Greater or equal, signed `>=`.
    Ge = 13,
    /// Less or equal, signed `<=`.
    Le = 14,
    /// Greater, signed `>`.
    G = 15,
}

impl Cond {
    /// All sixteen conditions, in encoding order.
    pub const ALL: [Cond; 16] = [
        Cond::O,
        Cond::No,
        Cond::B,
        Cond::Ae,
        Cond::E,
        Cond::Ne,
        Cond::Be,
        Cond::A,
        Cond::S,
        Cond::Ns,
        Cond::P,
        Cond::Np,
        Cond::L,
        Cond::Ge,
        Cond::Le,
        Cond::G,
    ];

    /// The 4-bit encoding.
    #[inline]
    pub const fn bits(self) -> u8 {
        self as u8
    }

    /// The opposite condition (`E` <-> `Ne`, `L` <-> `Ge`, ...): flips the low bit.
    #[inline]
    pub const fn invert(self) -> Cond {
        Cond::ALL[(self as u8 ^ 1) as usize]
    }
}
