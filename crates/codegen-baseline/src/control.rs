//! The control stack and merges at control-flow joins.
//!
//! Every block, loop and if has a *merge state*: where each value lives when control reaches
//! its label (the block's end, or a loop's header). It is computed once, from the first edge
//! that reaches the label (the first branch, or the fallthrough), and every other edge moves
//! its values into it with one parallel move ([`transfer`]). Loops compute it on entry, since
//! the header is bound before any back edge is seen.
//!
//! Choosing the merge state ([`merge_target`]): registers stay where the first edge had them
//! (each register at most once), so a value that lives in a register across a block needs no
//! move on the common path; constants among the locals get a free register while a few remain,
//! else their slots (another edge may have changed the local); constants among the operands
//! below the block stay constants (code inside a block cannot change them); constant results
//! get a free register if one remains.

use crate::error::{CompileError, Result};
use crate::frame;
use crate::masm::{self, Dst, Move, Src};
use crate::regalloc::RegSet;
use crate::value_stack::{Kind, Loc, State, Value, ValueStack};
use kiln_assembler_x64::{Assembler, Label};
use smallvec::SmallVec;

/// What opened a control frame.
#[derive(Clone, Debug)]
pub enum ControlKind {
    /// The function body: branching to it returns.
    Function,
    /// `block`.
    Block,
    /// `loop`: branches go to the header.
    Loop,
    /// `if` before its `else`: the state at the `if` and the label of the else arm.
    If {
        /// Where the false condition jumps.
        else_label: Label,
        /// The value stack the else arm starts with.
        else_state: State,
    },
    /// The `else` arm of an `if`.
    Else,
}

/// One entry of the control stack.
#[derive(Clone, Debug)]
pub struct Control {
    /// What kind of construct.
    pub kind: ControlKind,
    /// The branch target: end of a block/if, header of a loop.
    pub label: Label,
    /// Stack height below the block's parameters.
    pub base: usize,
    /// Parameter types (the values on top of the stack at entry).
    pub params: SmallVec<[Kind; 4]>,
    /// Result types.
    pub results: SmallVec<[Kind; 4]>,
    /// Where values live at the label, once known (length `base + branch arity`).
    pub merge: Option<State>,
    /// Wasm offset where the construct began (loop budgets are charged its size).
    pub start_offset: u32,
}

impl Control {
    /// How many values a branch to this frame carries: a loop's parameters, else its results.
    pub fn branch_arity(&self) -> usize {
        match self.kind {
            ControlKind::Loop => self.params.len(),
            _ => self.results.len(),
        }
    }

    /// The types a branch carries.
    pub fn branch_kinds(&self) -> &[Kind] {
        match self.kind {
            ControlKind::Loop => &self.params,
            _ => &self.results,
        }
    }
}

/// Registers of each file a merge state leaves free when it gives constant locals registers.
const KEEP_FREE_REGS: usize = 3;

/// The merge state for a label reached first from `source`, written into `target` (whose
/// allocations are reused), keeping `base` entries below and the top `arity` values as
/// results. Locals that are constants in `source` get registers while enough stay free
/// (another edge, or the next loop iteration, likely holds a different value), else their
/// slots. Cost: the entries copied, plus the locals off their slots and the operands.
///
/// Debug code (`debug`) keeps every value in its slot at instruction boundaries: its merge
/// states put everything in slots, except constants among the operands below `base`.
pub fn merge_target(
    target: &mut State,
    source: &ValueStack,
    base: usize,
    arity: usize,
    debug: bool,
) {
    let values = &source.values;
    let num_locals = source.num_locals();
    target.values.clear();
    target.values.reserve(base + arity);
    if debug {
        target.values.extend(
            values[..base]
                .iter()
                .enumerate()
                .chain(values[values.len() - arity..].iter().enumerate())
                .enumerate()
                .map(|(k, (pos, v))| {
                    let loc = match v.loc() {
                        Loc::Const(c) if k < base && pos >= num_locals => Loc::Const(c),
                        _ => Loc::Stack,
                    };
                    Value::new(v.kind, loc)
                }),
        );
        target.off_slot.reset(num_locals);
        return;
    }
    // Start from the entries below the base as they are, then visit only what can differ:
    // the locals off their slots and the operands.
    target.values.extend_from_slice(&values[..base]);
    target.off_slot.copy_from(&source.off_slot);
    let mut used = RegSet::EMPTY;
    // Constant locals are offered registers after the constant results.
    let mut const_locals = SmallVec::<[usize; 8]>::new();
    for pos in source.off_slot.iter() {
        match values[pos].loc() {
            Loc::Reg(r) if !used.contains(r) => used.insert(r),
            loc => {
                if matches!(loc, Loc::Const(_)) {
                    const_locals.push(pos);
                }
                target.values[pos].set_loc(Loc::Stack);
                target.off_slot.set(pos, false);
            }
        }
    }
    // Operands below the base: constants stay (code inside the block cannot change them).
    for t in &mut target.values[num_locals..base] {
        if let Loc::Reg(r) = t.loc() {
            if used.contains(r) {
                t.set_loc(Loc::Stack);
            } else {
                used.insert(r);
            }
        }
    }
    let mut pending_consts = SmallVec::<[usize; 4]>::new();
    for v in &values[values.len() - arity..] {
        let loc = match v.loc() {
            Loc::Reg(r) if !used.contains(r) => {
                used.insert(r);
                Loc::Reg(r)
            }
            Loc::Const(_) => {
                pending_consts.push(target.values.len());
                Loc::Stack
            }
            _ => Loc::Stack,
        };
        target.values.push(Value::new(v.kind, loc));
    }
    // Constant results, then constant locals (while enough stay free): a register nobody in
    // the merge state uses, if any.
    for &i in pending_consts.iter().chain(&const_locals) {
        let free = used.free_of(target.values[i].kind.class());
        if i < base && free.len() as usize <= KEEP_FREE_REGS {
            continue;
        }
        if let Some(r) = free.first() {
            used.insert(r);
            target.values[i].set_loc(Loc::Reg(r));
            if i < num_locals {
                target.off_slot.set(i, true);
            }
        }
    }
    target.debug_check();
}

/// Emits the moves taking the values of `source` to `target` (a merge state of length
/// `base + arity`): the entries below `base` stay at their positions, the top `arity` values
/// of `source` become positions `base..`. `source` is not changed, so this can run on a
/// conditional path; the values of `source` above `base` are dead afterwards, so their slots
/// may be overwritten. Cost: the locals off their slots in either state, plus the operands.
pub fn transfer(
    asm: &mut Assembler,
    source: &ValueStack,
    target: &State,
    base: usize,
) -> Result<()> {
    source.debug_check();
    let values = &source.values;
    let arity = target.values.len() - base;
    let top = values.len() - arity;
    // Results spilled at other positions move down to their own slots first, in increasing
    // order: a slot is written only after every value read from it has moved.
    for i in 0..arity {
        if values[top + i].is_stack() && top != base {
            masm::copy_mem(asm, frame::slot(base + i), frame::slot(top + i));
        }
    }
    let mut moves: SmallVec<[Move; 16]> = SmallVec::new();
    // Below the base, an entry already where the target wants it (the same register, its
    // own slot, or the same constant) needs no move: the common case, and every local in
    // its slot in both states.
    for pos in source.off_slot.iter_union(&target.off_slot) {
        if !values[pos].same_loc(target.values[pos]) {
            push_move(&mut moves, pos, values[pos], target.values[pos])?;
        }
    }
    let n = source.num_locals();
    for (i, (&v, &t)) in values[n..base]
        .iter()
        .zip(&target.values[n..base])
        .enumerate()
    {
        if !v.same_loc(t) {
            push_move(&mut moves, n + i, v, t)?;
        }
    }
    for (i, (&v, &t)) in values[top..].iter().zip(&target.values[base..]).enumerate() {
        push_move(&mut moves, base + i, v, t)?;
    }
    masm::execute(asm, &moves)
}

/// Adds the move of `v` (the value at `pos`) to `t` (where the target state wants it), if
/// it is not already there.
#[inline]
fn push_move(moves: &mut SmallVec<[Move; 16]>, pos: usize, v: Value, t: Value) -> Result<()> {
    let src = v.src(pos);
    let dst = match t.loc() {
        Loc::Reg(r) => Dst::Reg(r),
        Loc::Stack => Dst::Mem(frame::slot(pos)),
        Loc::Const(c) => {
            if v.loc() != Loc::Const(c) {
                return Err(CompileError::Internal(format!(
                    "merge expects constant {c} at position {pos}, found {:?}",
                    v.loc()
                )));
            }
            return Ok(());
        }
    };
    let noop = match (dst, src) {
        (Dst::Reg(d), Src::Reg(s)) => d == s,
        (Dst::Mem(d), Src::Mem(s)) => d == s,
        _ => false,
    };
    if !noop {
        moves.push(Move {
            dst,
            src,
            kind: t.kind,
        });
    }
    Ok(())
}

/// Whether [`transfer`] from `source` to `target` would emit nothing. Costs as [`transfer`].
pub fn is_noop(source: &ValueStack, target: &State, base: usize) -> bool {
    let values = &source.values;
    let arity = target.values.len() - base;
    let top = values.len() - arity;
    if top != base && values[top..].iter().any(|v| v.is_stack()) {
        return false;
    }
    for pos in source.off_slot.iter_union(&target.off_slot) {
        if !values[pos].same_loc(target.values[pos]) {
            return false;
        }
    }
    let n = source.num_locals();
    let same = |(v, t): (&Value, &Value)| v.same_loc(*t);
    values[n..base]
        .iter()
        .zip(&target.values[n..base])
        .all(same)
        && values[top..].iter().zip(&target.values[base..]).all(same)
}
