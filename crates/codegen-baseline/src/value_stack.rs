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
use smallvec::SmallVec;

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

/// One value-stack entry: its kind and where it is ([`Loc`]), packed into 16 bytes (a `Loc`
/// alone takes 16). Block entries, merges and joins copy whole stacks of them, and functions
/// compiled from Rust have hundreds of locals.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Its type.
    pub kind: Kind,
    /// The `Loc` variant: [`Value::REG`], [`Value::STACK`] or [`Value::CONST`].
    tag: u8,
    /// The register of a `Reg`; [`Value::NO_REG`] otherwise, so that equal locations have
    /// equal fields.
    reg: Reg,
    /// The constant of a `Const`; 0 otherwise.
    bits: i64,
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Value")
            .field("kind", &self.kind)
            .field("loc", &self.loc())
            .finish()
    }
}

impl Value {
    const REG: u8 = 0;
    const STACK: u8 = 1;
    const CONST: u8 = 2;
    const NO_REG: Reg = Reg::Gpr(kiln_assembler_x64::RAX);

    /// A value of `kind` at `loc`.
    #[inline]
    pub fn new(kind: Kind, loc: Loc) -> Value {
        let mut v = Value {
            kind,
            tag: Value::STACK,
            reg: Value::NO_REG,
            bits: 0,
        };
        v.set_loc(loc);
        v
    }

    /// Where it is.
    #[inline]
    pub fn loc(self) -> Loc {
        match self.tag {
            Value::REG => Loc::Reg(self.reg),
            Value::STACK => Loc::Stack,
            _ => Loc::Const(self.bits),
        }
    }

    /// Whether `other` is at the same location (kinds aside). Cheaper than comparing
    /// [`Value::loc`]s: equal locations have equal fields.
    #[inline]
    pub fn same_loc(self, other: Value) -> bool {
        (self.tag, self.reg, self.bits) == (other.tag, other.reg, other.bits)
    }

    /// Whether it is in its frame slot.
    #[inline]
    pub fn is_stack(self) -> bool {
        self.tag == Value::STACK
    }

    /// Moves it to `loc` (the entry, not the machine value: the caller emits any code).
    #[inline]
    pub fn set_loc(&mut self, loc: Loc) {
        (self.tag, self.reg, self.bits) = match loc {
            Loc::Reg(r) => (Value::REG, r, 0),
            Loc::Stack => (Value::STACK, Value::NO_REG, 0),
            Loc::Const(c) => (Value::CONST, Value::NO_REG, c),
        };
    }

    /// The source of a move reading this value at position `pos`.
    pub fn src(self, pos: usize) -> Src {
        match self.loc() {
            Loc::Reg(r) => Src::Reg(r),
            Loc::Stack => Src::Mem(frame::slot(pos)),
            Loc::Const(c) => Src::Const(c),
        }
    }
}

/// A set of local indices (a bit set sized for a function's locals), iterated in increasing
/// order. Merges visit only the locals in such sets, so their cost follows the locals that
/// left their slots, not all locals.
#[derive(Clone, Debug, Default)]
pub struct LocalSet {
    words: Vec<u64>,
    num_locals: usize,
}

impl LocalSet {
    /// Empties the set and sizes it for `num_locals` locals. O(num_locals / 64).
    pub fn reset(&mut self, num_locals: usize) {
        self.words.clear();
        self.words.resize(num_locals.div_ceil(64), 0);
        self.num_locals = num_locals;
    }

    /// The number of locals the set is sized for.
    pub fn num_locals(&self) -> usize {
        self.num_locals
    }

    /// Makes this set a copy of `other`, keeping this one's allocation.
    pub fn copy_from(&mut self, other: &LocalSet) {
        self.words.clear();
        self.words.extend_from_slice(&other.words);
        self.num_locals = other.num_locals;
    }

    /// Whether local `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Adds (`on`) or removes local `i`.
    pub fn set(&mut self, i: usize, on: bool) {
        let bit = 1 << (i % 64);
        if on {
            self.words[i / 64] |= bit;
        } else {
            self.words[i / 64] &= !bit;
        }
    }

    /// The locals in the set, in increasing order.
    pub fn iter(&self) -> LocalBits<'_> {
        self.iter_union(self)
    }

    /// The locals in this set or in `other` (sized alike), in increasing order.
    pub fn iter_union<'a>(&'a self, other: &'a LocalSet) -> LocalBits<'a> {
        debug_assert_eq!(self.num_locals, other.num_locals);
        LocalBits {
            a: &self.words,
            b: &other.words,
            next_word: 0,
            base: 0,
            word: 0,
        }
    }
}

/// The members of one [`LocalSet`] or of the union of two, in increasing order. A plain loop
/// over the words: merges iterate such sets for every branch.
#[derive(Debug)]
pub struct LocalBits<'a> {
    a: &'a [u64],
    b: &'a [u64],
    /// The next word to load, and the first local of the loaded one.
    next_word: usize,
    base: usize,
    /// The loaded word's members not yet returned.
    word: u64,
}

impl Iterator for LocalBits<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            let w = self.next_word;
            self.word = self.a.get(w)? | self.b[w];
            self.base = w * 64;
            self.next_word = w + 1;
        }
        let bit = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.base + bit)
    }
}

/// A saved value-stack state (a merge state, the entry state of an `else` arm): the entries,
/// and the locals that are not in their slots (in a register or a constant).
///
/// Invariant: `off_slot` holds exactly the locals whose entry is not `Loc::Stack`.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Entries, locals first.
    pub values: Vec<Value>,
    /// The locals not in their slots.
    pub off_slot: LocalSet,
}

impl State {
    /// Empties the state, keeping its allocations.
    pub fn clear(&mut self) {
        self.values.clear();
        self.off_slot.reset(0);
    }

    /// Checks the invariant (debug builds). O(locals).
    pub fn debug_check(&self) {
        debug_check_off_slot(&self.values, &self.off_slot);
    }
}

/// Debug builds: panics unless `off_slot` holds exactly the locals of `values` that are not
/// in their slots.
fn debug_check_off_slot(values: &[Value], off_slot: &LocalSet) {
    if cfg!(debug_assertions) {
        for (i, v) in values[..off_slot.num_locals()].iter().enumerate() {
            assert_eq!(
                off_slot.contains(i),
                !v.is_stack(),
                "local {i} at {:?} but off_slot says {}",
                v.loc(),
                off_slot.contains(i)
            );
        }
    }
}

/// The value stack and register cache of the code being emitted.
///
/// Which locals each register holds is indexed (`local_users`), so finding and spilling the
/// users of a register costs the operands plus that register's locals, never all locals: a
/// function with many locals compiles in time linear in its size. The locals not in their
/// slots are kept in `off_slot`, so merges and state changes cost those locals, not all of
/// them. Entries below `num_locals` must change location only through
/// [`ValueStack::set_loc`], [`ValueStack::spill_entry`], [`ValueStack::spill_all`],
/// [`ValueStack::evict`] or [`ValueStack::restore`].
#[derive(Clone, Debug, Default)]
pub struct ValueStack {
    /// Entries, locals first.
    pub values: Vec<Value>,
    /// Register use counts: entries plus operands popped but not yet released.
    pub regs: RegCache,
    /// The highest height reached (sizes the frame).
    pub max_height: usize,
    /// How many entries at the bottom are locals (indexed in `local_users`).
    num_locals: usize,
    /// For each register, the locals held in it.
    local_users: LocalUsers,
    /// The locals not in their slots (see [`State`]).
    pub off_slot: LocalSet,
    /// A register holding the base address of memory 0, with one use of its own, when one is
    /// cached (as Liftoff caches the memory start). It is given up when registers run out,
    /// before calls (which clobber it), when the register is evicted, and when a saved state
    /// is restored (control-flow joins): a state never carries it.
    mem_base: Option<Reg>,
}

/// For each register (by [`Reg::index`]), the locals held in it, as intrusive doubly linked
/// lists over one array (no allocation per register, O(1) insertion and removal). Links hold
/// `local + 1`, 0 ending a list.
#[derive(Clone, Debug, Default)]
struct LocalUsers {
    /// First local of each register's list.
    heads: [u32; 32],
    /// Length of each register's list.
    counts: [u32; 32],
    /// `[previous, next]` of each local in a register.
    links: Vec<[u32; 2]>,
}

impl LocalUsers {
    /// Empties every list and sizes the links for at least `n` locals. Links are only read
    /// for locals in a list (written when linked), so stale ones need no clearing.
    fn reset(&mut self, n: usize) {
        self.heads = [0; 32];
        self.counts = [0; 32];
        if self.links.len() < n {
            self.links.resize(n, [0; 2]);
        }
    }

    fn link(&mut self, local: usize, k: usize) {
        let head = self.heads[k];
        self.links[local] = [0, head];
        if head != 0 {
            self.links[head as usize - 1][0] = local as u32 + 1;
        }
        self.heads[k] = local as u32 + 1;
        self.counts[k] += 1;
    }

    fn unlink(&mut self, local: usize, k: usize) {
        let [prev, next] = self.links[local];
        match prev {
            0 => self.heads[k] = next,
            p => self.links[p as usize - 1][1] = next,
        }
        if next != 0 {
            self.links[next as usize - 1][0] = prev;
        }
        self.counts[k] -= 1;
    }

    /// The locals in register `k`, in no order.
    fn iter(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.heads[k];
        std::iter::from_fn(move || {
            let local = at.checked_sub(1)? as usize;
            at = self.links[local][1];
            Some(local)
        })
    }

    /// The locals in register `k`, sorted.
    fn sorted(&self, k: usize) -> SmallVec<[u32; 8]> {
        let mut v: SmallVec<[u32; 8]> = self.iter(k).map(|i| i as u32).collect();
        v.sort_unstable();
        v
    }

    /// Moves the list of register `from` to register `to`, whose list is empty.
    fn move_all(&mut self, from: usize, to: usize) {
        debug_assert_eq!(self.counts[to], 0);
        self.heads[to] = std::mem::take(&mut self.heads[from]);
        self.counts[to] = std::mem::take(&mut self.counts[from]);
    }
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
        self.push(Value::new(kind, Loc::Reg(reg)))
    }

    /// Pushes a constant.
    pub fn push_const(&mut self, kind: Kind, bits: i64) -> Result<()> {
        self.push(Value::new(kind, Loc::Const(bits)))
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
        if let Loc::Reg(r) = value.loc() {
            self.regs.release(r);
        }
    }

    /// Declares the bottom `n` entries (already pushed) as the locals and indexes them.
    /// Cost: O(n), once per function.
    pub fn set_num_locals(&mut self, n: usize) {
        self.num_locals = n;
        self.regs.clear();
        self.mem_base = None;
        self.local_users.reset(n);
        self.off_slot.reset(n);
        for (i, v) in self.values.iter().enumerate() {
            if i < n && !v.is_stack() {
                self.off_slot.set(i, true);
            }
            if let Loc::Reg(r) = v.loc() {
                self.regs.acquire(r);
                if i < n {
                    self.local_users.link(i, r.index());
                }
            }
        }
    }

    /// The number of locals (the bottom entries).
    pub fn num_locals(&self) -> usize {
        self.num_locals
    }

    /// Copies the current state into `state` (whose allocations are reused).
    pub fn save(&self, state: &mut State) {
        state.values.clear();
        state.values.extend_from_slice(&self.values);
        state.off_slot.copy_from(&self.off_slot);
    }

    /// Makes `state` (a state of this function) the current one, recounting register uses
    /// and re-indexing the locals in registers. Cost: the entries copied, plus the locals off
    /// their slots and the operands visited.
    pub fn restore(&mut self, state: &State) {
        debug_assert_eq!(state.off_slot.num_locals(), self.num_locals);
        state.debug_check();
        self.values.clear();
        self.values.extend_from_slice(&state.values);
        self.off_slot.copy_from(&state.off_slot);
        self.regs.clear();
        self.mem_base = None;
        self.local_users.reset(self.num_locals);
        for i in self.off_slot.iter() {
            if let Loc::Reg(r) = self.values[i].loc() {
                self.regs.acquire(r);
                self.local_users.link(i, r.index());
            }
        }
        for v in &self.values[self.num_locals..] {
            if let Loc::Reg(r) = v.loc() {
                self.regs.acquire(r);
            }
        }
    }

    /// The register caching memory 0's base, if any.
    pub fn mem_base(&self) -> Option<Reg> {
        self.mem_base
    }

    /// Caches memory 0's base in `r`, a free register (it takes a use of its own); the caller
    /// loads the base into it.
    pub fn set_mem_base(&mut self, r: Reg) {
        debug_assert!(self.mem_base.is_none() && self.regs.uses(r) == 0);
        self.regs.acquire(r);
        self.mem_base = Some(r);
    }

    /// Gives up the cached memory base, if any.
    pub fn drop_mem_base(&mut self) {
        if let Some(r) = self.mem_base.take() {
            self.regs.release(r);
        }
    }

    /// Checks that `off_slot` matches the entries (debug builds). O(locals).
    pub fn debug_check(&self) {
        debug_check_off_slot(&self.values, &self.off_slot);
    }

    fn link(&mut self, local: usize, r: Reg) {
        self.local_users.link(local, r.index());
    }

    fn unlink(&mut self, local: usize, r: Reg) {
        self.local_users.unlink(local, r.index());
    }

    /// Sets where entry `index` lives, keeping the index of locals in registers. Register
    /// use counts are the caller's business. O(1).
    pub fn set_loc(&mut self, index: usize, loc: Loc) {
        if index < self.num_locals {
            if let Loc::Reg(r) = self.values[index].loc() {
                self.unlink(index, r);
            }
            if let Loc::Reg(r) = loc {
                self.link(index, r);
            }
            self.off_slot.set(index, loc != Loc::Stack);
        }
        self.values[index].set_loc(loc);
    }

    /// Writes entry `index` to its slot if it is in a register.
    pub fn spill_entry(&mut self, asm: &mut Assembler, index: usize) {
        let v = self.values[index];
        if let Loc::Reg(r) = v.loc() {
            masm::store(asm, v.kind, frame::slot(index), r);
            self.regs.release(r);
            self.set_loc(index, Loc::Stack);
        }
    }

    /// Spills every entry held in a register (before calls: all cached registers are
    /// caller-saved), in position order, and gives up the cached memory base. Cost: the
    /// locals off their slots plus the operands.
    pub fn spill_all(&mut self, asm: &mut Assembler) {
        self.drop_mem_base();
        if !self.regs.any_used() {
            return;
        }
        // The locals in registers, in increasing order: the off-slot set's members, word by
        // word (the set is updated as they move to their slots).
        for w in 0..self.off_slot.words.len() {
            let mut word = self.off_slot.words[w];
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let v = self.values[i];
                if let Loc::Reg(r) = v.loc() {
                    masm::store(asm, v.kind, frame::slot(i), r);
                    self.regs.release(r);
                    self.values[i].set_loc(Loc::Stack);
                    self.off_slot.words[w] &= !(1 << (i % 64));
                }
            }
        }
        // Every local left its register: empty the lists at once instead of unlinking
        // each local.
        self.local_users.heads = [0; 32];
        self.local_users.counts = [0; 32];
        for i in self.num_locals..self.values.len() {
            self.spill_entry(asm, i);
        }
    }

    /// Spills every entry that uses `reg`, in position order. Cost: the locals in `reg`
    /// plus the operands.
    pub fn spill_reg(&mut self, asm: &mut Assembler, reg: Reg) {
        for i in self.local_users.sorted(reg.index()) {
            self.spill_entry(asm, i as usize);
        }
        for i in self.num_locals..self.values.len() {
            if self.values[i].loc() == Loc::Reg(reg) {
                self.spill_entry(asm, i);
            }
        }
    }

    /// A register of `class` not in `exclude`, with one use owned by the caller. Spills the
    /// deepest register whose every use is a stack entry when none is free. Cost: the
    /// operands plus the locals in registers of `class`.
    pub fn alloc(&mut self, asm: &mut Assembler, class: RegClass, exclude: RegSet) -> Reg {
        if let Some(r) = self.regs.free(class, exclude) {
            self.regs.acquire(r);
            return r;
        }
        // The cached memory base goes first: it costs a reload, not a spill.
        if let Some(r) = self.mem_base
            && r.class() == class
            && !exclude.contains(r)
            && self.regs.uses(r) == 1
        {
            self.mem_base = None;
            return r;
        }
        // Per register: stack entries using it and the deepest such position.
        let mut users = [0u32; 32];
        let mut deepest = [usize::MAX; 32];
        for (i, v) in self.values.iter().enumerate().skip(self.num_locals) {
            if let Loc::Reg(r) = v.loc() {
                let k = r.index();
                users[k] += 1;
                deepest[k] = deepest[k].min(i);
            }
        }
        let mut victim: Option<(usize, Reg)> = None;
        for r in exclude.free_of(class).iter() {
            let k = r.index();
            let count = users[k] + self.local_users.counts[k];
            if count == 0 || count != self.regs.uses(r) {
                continue;
            }
            let pos = self.local_users.iter(k).min().unwrap_or(deepest[k]);
            if victim.is_none_or(|(p, _)| pos < p) {
                victim = Some((pos, r));
            }
        }
        let (_, r) =
            victim.expect("at most a few operands are in hand, so a register can be spilled");
        self.spill_reg(asm, r);
        self.regs.acquire(r);
        r
    }

    /// Makes sure nothing on the stack uses `reg`: its stack users move to a free register
    /// outside `exclude`, or are spilled if none is free, and the memory base is no longer
    /// cached in it. Uses held by the caller remain.
    /// Cost: the operands plus the locals in `reg`.
    pub fn evict(&mut self, asm: &mut Assembler, reg: Reg, exclude: RegSet) {
        if self.mem_base == Some(reg) {
            self.drop_mem_base();
        }
        let operand_users = self.values[self.num_locals.min(self.values.len())..]
            .iter()
            .filter(|v| v.loc() == Loc::Reg(reg))
            .count();
        let users = operand_users as u32 + self.local_users.counts[reg.index()];
        if users == 0 {
            return;
        }
        match self
            .regs
            .free(reg.class(), exclude.union(RegSet::of(&[reg])))
        {
            Some(to) => {
                masm::mov_reg(asm, to, reg);
                // `to` has no use, so no local is in it: the list moves over whole and each
                // local keeps its slot in it.
                self.local_users.move_all(reg.index(), to.index());
                for i in self.local_users.iter(to.index()) {
                    self.values[i].set_loc(Loc::Reg(to));
                }
                let start = self.num_locals.min(self.values.len());
                for v in self.values[start..]
                    .iter_mut()
                    .filter(|v| v.loc() == Loc::Reg(reg))
                {
                    v.set_loc(Loc::Reg(to));
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
        match value.loc() {
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
        match v.loc() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_pack_into_16_bytes_and_keep_their_location() {
        assert_eq!(size_of::<Value>(), 16);
        let locs = [
            Loc::Reg(Reg::Gpr(kiln_assembler_x64::RAX)),
            Loc::Reg(Reg::Gpr(kiln_assembler_x64::RCX)),
            Loc::Reg(Reg::Xmm(kiln_assembler_x64::XMM0)),
            Loc::Stack,
            Loc::Const(0),
            Loc::Const(-1),
            Loc::Const(i64::MIN),
        ];
        for a in locs {
            let mut v = Value::new(Kind::I64, Loc::Const(7));
            v.set_loc(a);
            assert_eq!(v.loc(), a);
            assert_eq!(v.is_stack(), a == Loc::Stack);
            for b in locs {
                let w = Value::new(Kind::I64, b);
                // Equal locations, equal values: the fields hold no stale payload.
                assert_eq!(v.same_loc(w), a == b, "{a:?} {b:?}");
                assert_eq!(v == w, a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn local_set_iterates_in_order_across_words() {
        let mut a = LocalSet::default();
        a.reset(130);
        let mut b = LocalSet::default();
        b.reset(130);
        for i in [0, 63, 64, 129] {
            a.set(i, true);
        }
        for i in [1, 64, 65, 128] {
            b.set(i, true);
        }
        assert_eq!(a.iter().collect::<Vec<_>>(), [0, 63, 64, 129]);
        assert_eq!(
            a.iter_union(&b).collect::<Vec<_>>(),
            [0, 1, 63, 64, 65, 128, 129]
        );
        a.set(64, false);
        assert!(!a.contains(64) && a.contains(63));
        let mut c = LocalSet::default();
        c.copy_from(&a);
        assert_eq!(c.iter().collect::<Vec<_>>(), [0, 63, 129]);
        c.reset(3);
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.num_locals(), 3);
    }

    #[test]
    fn off_slot_follows_the_locals_through_set_spill_and_restore() {
        let mut asm = Assembler::new();
        let mut stack = ValueStack::default();
        let reg = Reg::Gpr(kiln_assembler_x64::Gpr::new(0).expect("rax"));
        for loc in [Loc::Stack, Loc::Const(0), Loc::Stack] {
            stack.push(Value::new(Kind::I32, loc)).unwrap();
        }
        stack.set_num_locals(3);
        assert_eq!(stack.off_slot.iter().collect::<Vec<_>>(), [1]);
        stack.regs.acquire(reg);
        stack.set_loc(2, Loc::Reg(reg));
        stack.set_loc(1, Loc::Stack);
        assert_eq!(stack.off_slot.iter().collect::<Vec<_>>(), [2]);
        let mut saved = State::default();
        stack.save(&mut saved);
        stack.spill_all(&mut asm);
        assert_eq!(stack.off_slot.iter().count(), 0);
        stack.debug_check();
        stack.restore(&saved);
        assert_eq!(stack.off_slot.iter().collect::<Vec<_>>(), [2]);
        assert_eq!(stack.regs.uses(reg), 1);
        stack.debug_check();
    }
}
