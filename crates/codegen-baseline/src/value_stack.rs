//! The abstract value stack: one entry per local and per operand, each a register, its own
//! frame slot, or a constant; with the register cache counting register uses.
//!
//! Positions `0..num_locals` are the locals (Liftoff keeps locals in the same state as
//! operands, so they can live in registers too); the operands follow. An entry that is
//! `Stack` lives in the frame slot of its position ([`crate::frame::slot`]); a value never
//! changes position except through an explicit move.

use crate::error::Result;
use crate::frame;
use crate::masm::{self, Src};
use crate::regalloc::{Reg, RegCache, RegClass, RegSet};
use kiln_assembler_x64::Assembler;
use kiln_decoder::ValType;

/// A value type as the baseline tier handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `i32`: in a general-purpose register with the upper half clear.
    I32,
    /// `i64`.
    I64,
    /// `f32`: in the low lane of an xmm register.
    F32,
    /// `f64`.
    F64,
    /// `funcref`/`externref`: a pointer-sized integer, null is 0.
    Ref,
}

impl Kind {
    /// The kind of `ty`, or `None` for types this tier does not handle (`v128`).
    pub fn of(ty: ValType) -> Option<Kind> {
        match ty {
            ValType::I32 => Some(Kind::I32),
            ValType::I64 => Some(Kind::I64),
            ValType::F32 => Some(Kind::F32),
            ValType::F64 => Some(Kind::F64),
            ValType::Ref(_) => Some(Kind::Ref),
            ValType::V128 => None,
        }
    }

    /// The register file values of this kind live in.
    pub fn class(self) -> RegClass {
        match self {
            Kind::F32 | Kind::F64 => RegClass::Xmm,
            _ => RegClass::Gpr,
        }
    }
}

/// Where a value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// In a register (possibly shared with other entries).
    Reg(Reg),
    /// In the frame slot of its position.
    Stack,
    /// A constant: i32 sign-extended, i64 as is, float bits, null references 0.
    Const(i64),
}

/// One value-stack entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value {
    /// Its type.
    pub kind: Kind,
    /// Where it is.
    pub loc: Loc,
}

impl Value {
    /// The source of a move reading this value at position `pos`.
    pub fn src(self, pos: usize) -> Src {
        match self.loc {
            Loc::Reg(r) => Src::Reg(r),
            Loc::Stack => Src::Mem(frame::slot(pos)),
            Loc::Const(c) => Src::Const(c),
        }
    }
}

/// The value stack and register cache of the code being emitted.
#[derive(Clone, Debug, Default)]
pub struct ValueStack {
    /// Entries, locals first.
    pub values: Vec<Value>,
    /// Register use counts: entries plus operands popped but not yet released.
    pub regs: RegCache,
    /// The highest height reached (sizes the frame).
    pub max_height: usize,
}

impl ValueStack {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Pushes a value whose register use (if any) the caller owns and hands over.
    pub fn push(&mut self, value: Value) -> Result<()> {
        self.values.push(value);
        if self.values.len() > self.max_height {
            frame::check_height(self.values.len())?;
            self.max_height = self.values.len();
        }
        Ok(())
    }

    /// Pushes a value in `reg` (use owned by the caller).
    pub fn push_reg(&mut self, kind: Kind, reg: Reg) -> Result<()> {
        self.push(Value {
            kind,
            loc: Loc::Reg(reg),
        })
    }

    /// Pushes a constant.
    pub fn push_const(&mut self, kind: Kind, bits: i64) -> Result<()> {
        self.push(Value {
            kind,
            loc: Loc::Const(bits),
        })
    }

    /// Pops the top entry and its position; a register use passes to the caller.
    pub fn pop(&mut self) -> (Value, usize) {
        let v = self
            .values
            .pop()
            .expect("validated code never pops an empty stack");
        (v, self.values.len())
    }

    /// The top entry.
    pub fn peek(&self) -> Value {
        *self.values.last().expect("validated code")
    }

    /// Releases the register use of a value the caller held.
    pub fn release(&mut self, value: Value) {
        if let Loc::Reg(r) = value.loc {
            self.regs.release(r);
        }
    }

    /// Recomputes the register use counts from the entries (after replacing the state).
    pub fn reset_regs(&mut self) {
        self.regs.clear();
        for v in &self.values {
            if let Loc::Reg(r) = v.loc {
                self.regs.acquire(r);
            }
        }
    }

    /// Writes entry `index` to its slot if it is in a register.
    pub fn spill_entry(&mut self, asm: &mut Assembler, index: usize) {
        let v = self.values[index];
        if let Loc::Reg(r) = v.loc {
            masm::store(asm, v.kind, frame::slot(index), r);
            self.regs.release(r);
            self.values[index].loc = Loc::Stack;
        }
    }

    /// Spills every entry held in a register (before calls: all cached registers are
    /// caller-saved).
    pub fn spill_all(&mut self, asm: &mut Assembler) {
        if !self.regs.any_used() {
            return;
        }
        for i in 0..self.values.len() {
            self.spill_entry(asm, i);
        }
    }

    /// Spills every entry that uses `reg`.
    pub fn spill_reg(&mut self, asm: &mut Assembler, reg: Reg) {
        for i in 0..self.values.len() {
            if self.values[i].loc == Loc::Reg(reg) {
                self.spill_entry(asm, i);
            }
        }
    }

    /// A register of `class` not in `exclude`, with one use owned by the caller. Spills the
    /// deepest register whose every use is a stack entry when none is free.
    pub fn alloc(&mut self, asm: &mut Assembler, class: RegClass, exclude: RegSet) -> Reg {
        if let Some(r) = self.regs.free(class, exclude) {
            self.regs.acquire(r);
            return r;
        }
        let mut victim = None;
        for v in &self.values {
            if let Loc::Reg(r) = v.loc
                && r.class() == class
                && !exclude.contains(r)
            {
                let on_stack = self.values.iter().filter(|w| w.loc == Loc::Reg(r)).count();
                if on_stack as u32 == self.regs.uses(r) {
                    victim = Some(r);
                    break;
                }
            }
        }
        let r = victim.expect("at most a few operands are in hand, so a register can be spilled");
        self.spill_reg(asm, r);
        self.regs.acquire(r);
        r
    }

    /// Makes sure nothing on the stack uses `reg`: its stack users move to a free register
    /// outside `exclude`, or are spilled if none is free. Uses held by the caller remain.
    pub fn evict(&mut self, asm: &mut Assembler, reg: Reg, exclude: RegSet) {
        let users = self
            .values
            .iter()
            .filter(|v| v.loc == Loc::Reg(reg))
            .count() as u32;
        if users == 0 {
            return;
        }
        match self
            .regs
            .free(reg.class(), exclude.union(RegSet::of(&[reg])))
        {
            Some(to) => {
                masm::mov_reg(asm, to, reg);
                for v in self.values.iter_mut().filter(|v| v.loc == Loc::Reg(reg)) {
                    v.loc = Loc::Reg(to);
                }
                for _ in 0..users {
                    self.regs.release(reg);
                    self.regs.acquire(to);
                }
            }
            None => self.spill_reg(asm, reg),
        }
    }

    /// Loads `value` (at `pos`) into a register it owns, unless it already is in one.
    pub fn into_reg(
        &mut self,
        asm: &mut Assembler,
        value: Value,
        pos: usize,
        exclude: RegSet,
    ) -> Reg {
        match value.loc {
            Loc::Reg(r) => r,
            Loc::Stack => {
                let r = self.alloc(asm, value.kind.class(), exclude);
                masm::load(asm, value.kind, r, frame::slot(pos));
                r
            }
            Loc::Const(c) => {
                let r = self.alloc(asm, value.kind.class(), exclude);
                masm::load_const(asm, value.kind, r, c);
                r
            }
        }
    }

    /// Pops the top value into a register the caller owns.
    pub fn pop_reg(&mut self, asm: &mut Assembler, exclude: RegSet) -> Reg {
        let (v, pos) = self.pop();
        self.into_reg(asm, v, pos, exclude)
    }

    /// Pops the top value into a register the caller may overwrite (its only use).
    pub fn pop_writable(&mut self, asm: &mut Assembler, exclude: RegSet) -> Reg {
        let (v, pos) = self.pop();
        match v.loc {
            Loc::Reg(r) if self.regs.uses(r) == 1 && !exclude.contains(r) => r,
            Loc::Reg(r) => {
                let n = self.alloc(asm, r.class(), RegSet::of(&[r]).union(exclude));
                masm::mov_reg(asm, n, r);
                self.regs.release(r);
                n
            }
            _ => self.into_reg(asm, v, pos, exclude),
        }
    }
}
