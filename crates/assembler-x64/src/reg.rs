//! Registers and operand sizes.
//!
//! Registers are identified by their hardware encoding (0..=15). The width at which a
//! general-purpose register is used is not part of the register: it is given by the [`Size`]
//! argument of the instruction, as in `add_rr(Size::S32, RAX, RCX)` for `add eax, ecx`.

use std::fmt;

/// A general-purpose register, by hardware number (`rax` = 0 ... `r15` = 15).
///
/// Invariant: the number is below 16. Copying and comparing are free.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gpr(u8);

impl Gpr {
    /// The register with hardware number `enc`, or `None` when `enc >= 16`.
    #[inline]
    pub const fn new(enc: u8) -> Option<Gpr> {
        if enc < 16 { Some(Gpr(enc)) } else { None }
    }

    /// The hardware number, 0..=15.
    #[inline]
    pub const fn enc(self) -> u8 {
        self.0
    }

    /// Whether encoding this register needs a REX extension bit (r8..r15).
    #[inline]
    pub const fn is_extended(self) -> bool {
        self.0 >= 8
    }

    /// Whether the 8-bit form of this register (`spl`, `bpl`, `sil`, `dil`) needs a REX
    /// prefix to be told apart from `ah`..`bh`.
    #[inline]
    pub const fn byte_needs_rex(self) -> bool {
        self.0 >= 4 && self.0 < 8
    }

    /// Every general-purpose register, in hardware order.
    pub const ALL: [Gpr; 16] = {
        let mut all = [Gpr(0); 16];
        let mut i = 0;
        while i < 16 {
            all[i] = Gpr(i as u8);
            i += 1;
        }
        all
    };

    /// The assembler name of this register at width `size` (`"eax"`, `"r9b"`, ...).
    #[inline]
    pub const fn name(self, size: Size) -> &'static str {
        const N64: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ];
        const N32: [&str; 16] = [
            "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
            "r12d", "r13d", "r14d", "r15d",
        ];
        const N16: [&str; 16] = [
            "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w",
            "r13w", "r14w", "r15w",
        ];
        const N8: [&str; 16] = [
            "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b",
            "r12b", "r13b", "r14b", "r15b",
        ];
        let i = self.0 as usize;
        match size {
            Size::S8 => N8[i],
            Size::S16 => N16[i],
            Size::S32 => N32[i],
            Size::S64 => N64[i],
        }
    }
}

impl fmt::Debug for Gpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name(Size::S64))
    }
}

/// `rax` (return value, implicit operand of `mul`/`div`/`cmpxchg`).
pub const RAX: Gpr = Gpr(0);
/// `rcx` (shift count in `cl`).
pub const RCX: Gpr = Gpr(1);
/// `rdx` (high half of `mul`/`div`).
pub const RDX: Gpr = Gpr(2);
/// `rbx`.
pub const RBX: Gpr = Gpr(3);
/// `rsp`, the stack pointer (cannot be an index register).
pub const RSP: Gpr = Gpr(4);
/// `rbp`, the frame pointer.
pub const RBP: Gpr = Gpr(5);
/// `rsi`.
pub const RSI: Gpr = Gpr(6);
/// `rdi`.
pub const RDI: Gpr = Gpr(7);
/// `r8`.
pub const R8: Gpr = Gpr(8);
/// `r9`.
pub const R9: Gpr = Gpr(9);
/// `r10`.
pub const R10: Gpr = Gpr(10);
/// `r11` (scratch; the lazy-compile stub's index register).
pub const R11: Gpr = Gpr(11);
/// `r12`.
pub const R12: Gpr = Gpr(12);
/// `r13`.
pub const R13: Gpr = Gpr(13);
/// `r14`.
pub const R14: Gpr = Gpr(14);
/// `r15`.
pub const R15: Gpr = Gpr(15);

/// An SSE/AVX register, by hardware number (`xmm0` = 0 ... `xmm15` = 15).
///
/// Invariant: the number is below 16.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Xmm(u8);

impl Xmm {
    /// The register with hardware number `enc`, or `None` when `enc >= 16`.
    #[inline]
    pub const fn new(enc: u8) -> Option<Xmm> {
        if enc < 16 { Some(Xmm(enc)) } else { None }
    }

    /// The hardware number, 0..=15.
    #[inline]
    pub const fn enc(self) -> u8 {
        self.0
    }

    /// Every xmm register, in hardware order.
    pub const ALL: [Xmm; 16] = {
        let mut all = [Xmm(0); 16];
        let mut i = 0;
        while i < 16 {
            all[i] = Xmm(i as u8);
            i += 1;
        }
        all
    };
}

impl fmt::Debug for Xmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xmm{}", self.0)
    }
}

macro_rules! xmm_consts {
    ($($name:ident = $n:expr),* $(,)?) => {
        $(
            #[doc = concat!("`xmm", stringify!($n), "`.")]
            pub const $name: Xmm = Xmm($n);
        )*
    };
}

xmm_consts!(
    XMM0 = 0,
    XMM1 = 1,
    XMM2 = 2,
    XMM3 = 3,
    XMM4 = 4,
    XMM5 = 5,
    XMM6 = 6,
    XMM7 = 7,
    XMM8 = 8,
    XMM9 = 9,
    XMM10 = 10,
    XMM11 = 11,
    XMM12 = 12,
    XMM13 = 13,
    XMM14 = 14,
    XMM15 = 15,
);

/// The width of an integer operation or memory access.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Size {
    /// 8 bits (byte registers `al`..`r15b`).
    S8,
    /// 16 bits (operand-size prefix `0x66`).
    S16,
    /// 32 bits (the default; writing a 32-bit register zeroes the upper half).
    S32,
    /// 64 bits (`REX.W`).
    S64,
}

impl Size {
    /// The width in bytes.
    #[inline]
    pub const fn bytes(self) -> u32 {
        match self {
            Size::S8 => 1,
            Size::S16 => 2,
            Size::S32 => 4,
            Size::S64 => 8,
        }
    }

    /// The width in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        self.bytes() * 8
    }

    /// All four sizes, narrowest first.
    pub const ALL: [Size; 4] = [Size::S8, Size::S16, Size::S32, Size::S64];
}
