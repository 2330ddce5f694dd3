//! The register cache: which machine registers hold values, and how many value-stack entries
//! (or operands in hand) use each.
//!
//! Like Liftoff, a register may be shared by several entries (`local.get` of a local cached in
//! a register pushes the same register again); it is written in place only when its use count
//! is one. Allocation takes a free register in a fixed order; when none is free the caller
//! spills one (see `ValueStack::spill_one`).
//!
//! Reserved registers: `rbx` holds the `VMContext` for the whole function (callee-saved, so
//! it survives calls); `r11` and `xmm15` are scratch registers for single instruction
//! sequences and are never cached; `rsp`/`rbp` are the frame.

use kiln_assembler_x64::{Gpr, R8, R9, R10, R11, RAX, RBX, RCX, RDI, RDX, RSI, Xmm};

/// A machine register that can hold a wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    /// A general-purpose register (i32, i64, references).
    Gpr(Gpr),
    /// An xmm register (f32, f64).
    Xmm(Xmm),
}

/// The two register files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegClass {
    /// General-purpose.
    Gpr,
    /// Xmm.
    Xmm,
}

impl Reg {
    /// Index 0..32 in [`RegSet`] and the use-count table.
    pub fn index(self) -> usize {
        match self {
            Reg::Gpr(g) => usize::from(g.enc()),
            Reg::Xmm(x) => 16 + usize::from(x.enc()),
        }
    }

    /// The register file.
    pub fn class(self) -> RegClass {
        match self {
            Reg::Gpr(_) => RegClass::Gpr,
            Reg::Xmm(_) => RegClass::Xmm,
        }
    }

    /// The general-purpose register; panics (a compiler bug) for an xmm register.
    pub fn gpr(self) -> Gpr {
        match self {
            Reg::Gpr(g) => g,
            Reg::Xmm(_) => unreachable!("xmm register used as a gpr"),
        }
    }

    /// The xmm register; panics (a compiler bug) for a general-purpose register.
    pub fn xmm(self) -> Xmm {
        match self {
            Reg::Xmm(x) => x,
            Reg::Gpr(_) => unreachable!("gpr used as an xmm register"),
        }
    }
}

/// The register pinned to the `VMContext` pointer.
pub const VMCTX: Gpr = RBX;
/// The general-purpose scratch register (never cached).
pub const SCRATCH: Gpr = R11;
/// The xmm scratch register (never cached).
pub const SCRATCH_XMM: Xmm = kiln_assembler_x64::XMM15;

/// General-purpose registers values may be cached in, in allocation order: all caller-saved,
/// so calls need no save/restore beyond spilling.
pub const ALLOCATABLE_GPRS: [Gpr; 8] = [RAX, RCX, RDX, RSI, RDI, R8, R9, R10];

/// A set of registers (bit `Reg::index`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegSet(u32);

impl RegSet {
    /// The empty set.
    pub const EMPTY: RegSet = RegSet(0);

    /// A set holding `regs`.
    pub fn of(regs: &[Reg]) -> RegSet {
        let mut s = RegSet::EMPTY;
        for &r in regs {
            s.insert(r);
        }
        s
    }

    /// Adds `r`.
    pub fn insert(&mut self, r: Reg) {
        self.0 |= 1 << r.index();
    }

    /// The union of two sets.
    pub fn union(self, other: RegSet) -> RegSet {
        RegSet(self.0 | other.0)
    }

    /// Whether `r` is in the set.
    pub fn contains(self, r: Reg) -> bool {
        self.0 & (1 << r.index()) != 0
    }

    /// The registers of `class` the cache may hand out ([`ALLOCATABLE_GPRS`], `xmm0-14`).
    pub fn allocatable(class: RegClass) -> RegSet {
        match class {
            RegClass::Gpr => ALLOCATABLE_GPR_SET,
            RegClass::Xmm => ALLOCATABLE_XMM_SET,
        }
    }

    /// The registers of `class` the cache may hand out that are not in this set.
    pub fn free_of(self, class: RegClass) -> RegSet {
        RegSet(RegSet::allocatable(class).0 & !self.0)
    }

    /// How many registers the set holds.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The registers of the set in allocation order.
    pub fn iter(self) -> impl Iterator<Item = Reg> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let first = RegSet(bits).first()?;
            bits &= bits - 1;
            Some(first)
        })
    }

    /// The first register of the set in allocation order (allocation order is increasing
    /// [`Reg::index`] within each file), if any.
    pub fn first(self) -> Option<Reg> {
        if self.0 == 0 {
            return None;
        }
        let k = self.0.trailing_zeros() as u8;
        Some(if k < 16 {
            Reg::Gpr(Gpr::new(k).expect("register number below 16"))
        } else {
            Reg::Xmm(Xmm::new(k - 16).expect("register number below 16"))
        })
    }
}

/// [`ALLOCATABLE_GPRS`] as a set.
const ALLOCATABLE_GPR_SET: RegSet = {
    let mut bits = 0u32;
    let mut i = 0;
    while i < ALLOCATABLE_GPRS.len() {
        bits |= 1 << ALLOCATABLE_GPRS[i].enc();
        i += 1;
    }
    RegSet(bits)
};

/// `xmm0`-`xmm14` (every xmm register but the scratch `xmm15`) as a set.
const ALLOCATABLE_XMM_SET: RegSet = RegSet(0x7fff << 16);

/// Use counts of every register, and the set of registers with a use.
#[derive(Clone, Debug, Default)]
pub struct RegCache {
    uses: [u32; 32],
    used: RegSet,
}

impl RegCache {
    /// Counts one more use of `r`.
    pub fn acquire(&mut self, r: Reg) {
        self.uses[r.index()] += 1;
        self.used.insert(r);
    }

    /// Counts one use of `r` less.
    pub fn release(&mut self, r: Reg) {
        debug_assert!(self.uses[r.index()] > 0, "release of free {r:?}");
        let k = r.index();
        self.uses[k] = self.uses[k].saturating_sub(1);
        if self.uses[k] == 0 {
            self.used.0 &= !(1 << k);
        }
    }

    /// How many uses `r` has.
    pub fn uses(&self, r: Reg) -> u32 {
        self.uses[r.index()]
    }

    /// Whether any register has a use.
    pub fn any_used(&self) -> bool {
        !self.used.is_empty()
    }

    /// Forgets every use.
    pub fn clear(&mut self) {
        self.uses = [0; 32];
        self.used = RegSet::EMPTY;
    }

    /// A register of `class` with no use and not in `exclude`, in allocation order.
    pub fn free(&self, class: RegClass, exclude: RegSet) -> Option<Reg> {
        self.used.union(exclude).free_of(class).first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_order_is_allocation_order() {
        for class in [RegClass::Gpr, RegClass::Xmm] {
            let mut taken = RegSet::EMPTY;
            let mut order = Vec::new();
            while let Some(r) = taken.free_of(class).first() {
                assert_eq!(r.class(), class);
                taken.insert(r);
                order.push(r);
            }
            let expected: Vec<Reg> = match class {
                RegClass::Gpr => ALLOCATABLE_GPRS.iter().map(|&g| Reg::Gpr(g)).collect(),
                RegClass::Xmm => Xmm::ALL[..15].iter().map(|&x| Reg::Xmm(x)).collect(),
            };
            assert_eq!(order, expected);
            assert_eq!(
                RegSet::allocatable(class).iter().collect::<Vec<_>>(),
                expected
            );
            assert_eq!(RegSet::allocatable(class).len() as usize, expected.len());
        }
        let mut cache = RegCache::default();
        assert!(!cache.any_used());
        cache.acquire(Reg::Gpr(RCX));
        cache.acquire(Reg::Gpr(RCX));
        cache.release(Reg::Gpr(RCX));
        assert!(cache.any_used());
        cache.release(Reg::Gpr(RCX));
        assert!(!cache.any_used());
    }

    #[test]
    fn allocation_skips_used_excluded_and_reserved_registers() {
        let mut cache = RegCache::default();
        assert_eq!(
            cache.free(RegClass::Gpr, RegSet::EMPTY),
            Some(Reg::Gpr(RAX))
        );
        cache.acquire(Reg::Gpr(RAX));
        let ex = RegSet::of(&[Reg::Gpr(RCX)]);
        assert_eq!(cache.free(RegClass::Gpr, ex), Some(Reg::Gpr(RDX)));
        for g in ALLOCATABLE_GPRS {
            cache.acquire(Reg::Gpr(g));
        }
        assert_eq!(cache.free(RegClass::Gpr, RegSet::EMPTY), None);
        assert!(
            !RegSet::allocatable(RegClass::Gpr)
                .iter()
                .any(|r| r == Reg::Gpr(VMCTX))
        );
        assert!(
            !RegSet::allocatable(RegClass::Gpr)
                .iter()
                .any(|r| r == Reg::Gpr(SCRATCH))
        );
        assert!(
            !RegSet::allocatable(RegClass::Xmm)
                .iter()
                .any(|r| r == Reg::Xmm(SCRATCH_XMM))
        );
        cache.release(Reg::Gpr(RAX));
        cache.release(Reg::Gpr(RAX));
        assert_eq!(
            cache.free(RegClass::Gpr, RegSet::EMPTY),
            Some(Reg::Gpr(RAX))
        );
    }
}
