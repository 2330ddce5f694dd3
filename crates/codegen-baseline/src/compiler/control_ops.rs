//! Blocks, loops, ifs, branches, `select` and locals.

use super::*;

/// Parameter and result kinds of a block type.
type BlockSig = (SmallVec<[Kind; 4]>, SmallVec<[Kind; 4]>);

impl FuncCompiler<'_> {
    fn block_sig(&self, bt: BlockType) -> Result<BlockSig> {
        match bt {
            BlockType::Empty => Ok((SmallVec::new(), SmallVec::new())),
            BlockType::Type(t) => Ok((SmallVec::new(), kinds(&[t], self.offset)?)),
            BlockType::FuncType(i) => {
                let ty = self
                    .module
                    .func_type(i)
                    .ok_or_else(|| CompileError::Malformed {
                        message: format!("block type {i} is not a function type"),
                        offset: self.offset,
                    })?;
                Ok((
                    kinds(ty.params(), self.offset)?,
                    kinds(ty.results(), self.offset)?,
                ))
            }
        }
    }

    fn new_control(&mut self, bt: BlockType, kind: ControlKind) -> Result<Control> {
        let (params, results) = self.block_sig(bt)?;
        Ok(Control {
            kind,
            label: self.asm.new_label(),
            base: self.stack.len() - params.len(),
            params,
            results,
            merge: None,
            start_offset: self.offset,
        })
    }

    pub(super) fn visit_block(&mut self, bt: BlockType, kind: ControlKind) -> Result<()> {
        let c = self.new_control(bt, kind)?;
        self.control.push(c);
        Ok(())
    }

    pub(super) fn visit_loop(&mut self, bt: BlockType) -> Result<()> {
        let mut c = self.new_control(bt, ControlKind::Loop)?;
        let mut merge = self.spare_state();
        control::merge_target(
            &mut merge,
            &self.stack,
            c.base,
            c.params.len(),
            self.debug.is_some(),
        );
        control::transfer(&mut self.asm, &self.stack, &merge, c.base)?;
        self.stack.restore(&merge);
        self.asm.bind(c.label);
        c.merge = Some(merge);
        self.control.push(c);
        Ok(())
    }

    /// The condition of a `br_if`/`if`: the flags of a fused comparison, or a test of the
    /// popped i32. The returned condition holds when the wasm condition is nonzero.
    fn branch_condition(&mut self) -> Cond {
        if let Some(c) = self.pending_cond.take() {
            return c;
        }
        let cond = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        self.asm.test_rr(Size::S32, cond.gpr(), cond.gpr());
        self.stack.regs.release(cond);
        Cond::Ne
    }

    pub(super) fn visit_if(&mut self, bt: BlockType) -> Result<()> {
        let cond = self.branch_condition();
        let else_label = self.asm.new_label();
        self.asm.jcc(cond.invert(), else_label);
        let mut else_state = self.spare_state();
        self.stack.save(&mut else_state);
        let kind = ControlKind::If {
            else_label,
            else_state,
        };
        let c = self.new_control(bt, kind)?;
        self.control.push(c);
        Ok(())
    }

    /// An empty state, reusing a spare one's allocations if any.
    fn spare_state(&mut self) -> State {
        self.spare_states.pop().unwrap_or_default()
    }

    /// Keeps `state`'s allocations for [`Self::spare_state`].
    fn recycle_state(&mut self, mut state: State) {
        if state.values.capacity() <= SCRATCH_STATE_LIMIT {
            state.clear();
            self.spare_states.push(state);
        }
    }

    /// Makes sure control frame `c` has a merge state, taking it from the current state.
    fn ensure_merge(&mut self, c: &mut Control) {
        if c.merge.is_none() {
            let mut merge = self.spare_state();
            control::merge_target(
                &mut merge,
                &self.stack,
                c.base,
                c.branch_arity(),
                self.debug.is_some(),
            );
            c.merge = Some(merge);
        }
    }

    /// Moves the current state into `c`'s merge state (creating it if needed), without
    /// jumping.
    fn fall_into(&mut self, c: &mut Control) -> Result<()> {
        self.ensure_merge(c);
        let merge = c.merge.as_ref().expect("just ensured");
        control::transfer(&mut self.asm, &self.stack, merge, c.base)
    }

    /// Makes `state` the current value stack. It is copied into the current stack's vector,
    /// which keeps its capacity for the operands pushed next (a state vector is sized for
    /// the state only), and `state`'s allocations are recycled.
    fn adopt(&mut self, state: State) {
        self.stack.restore(&state);
        self.recycle_state(state);
    }

    pub(super) fn visit_else(&mut self) -> Result<()> {
        let mut c = self.control.pop().expect("validated: else inside if");
        let ControlKind::If {
            else_label,
            else_state,
        } = std::mem::replace(&mut c.kind, ControlKind::Else)
        else {
            unreachable!("validated: else follows if");
        };
        if self.reachable {
            self.fall_into(&mut c)?;
            self.asm.jmp(c.label);
        }
        self.asm.bind(else_label);
        self.adopt(else_state);
        self.reachable = true;
        self.dead_depth = 0;
        self.record_position();
        self.control.push(c);
        Ok(())
    }

    pub(super) fn visit_end(&mut self) -> Result<()> {
        let mut c = self.control.pop().expect("validated: end closes a frame");
        match std::mem::replace(&mut c.kind, ControlKind::Block) {
            ControlKind::Function => {
                if self.reachable {
                    self.emit_return()?;
                }
                self.reachable = false;
            }
            ControlKind::Loop => {
                if let Some(m) = c.merge.take() {
                    self.recycle_state(m);
                }
            }
            ControlKind::If {
                else_label,
                else_state,
            } => {
                if self.reachable {
                    self.fall_into(&mut c)?;
                    self.asm.jmp(c.label);
                }
                self.asm.bind(else_label);
                self.adopt(else_state);
                self.fall_into(&mut c)?;
                self.asm.bind(c.label);
                self.adopt(c.merge.take().expect("fell into it"));
                self.reachable = true;
            }
            ControlKind::Block | ControlKind::Else => {
                if self.reachable {
                    self.fall_into(&mut c)?;
                }
                self.asm.bind(c.label);
                match c.merge.take() {
                    Some(m) => {
                        self.adopt(m);
                        self.reachable = true;
                    }
                    None => self.reachable = false,
                }
            }
        }
        self.dead_depth = 0;
        if self.reachable {
            self.record_position();
        }
        Ok(())
    }

    /// Emits a branch to the frame `depth` levels up: moves into its merge state, charges
    /// the tier-up budget on loop back edges, and jumps (or returns). The state is unchanged.
    /// Gives frame `i` of the control stack a merge state if it has none.
    fn ensure_merge_at(&mut self, i: usize) {
        if self.control[i].merge.is_none() {
            let mut m = self.spare_state();
            let c = &self.control[i];
            control::merge_target(
                &mut m,
                &self.stack,
                c.base,
                c.branch_arity(),
                self.debug.is_some(),
            );
            self.control[i].merge = Some(m);
        }
    }

    /// Emits a branch to the frame `depth` levels up: moves into its merge state, charges
    /// the tier-up budget on loop back edges, and jumps (or returns). The state is unchanged.
    pub(super) fn branch_to(&mut self, depth: u32) -> Result<()> {
        let i = self.control.len() - 1 - depth as usize;
        if matches!(self.control[i].kind, ControlKind::Function) {
            return self.emit_return();
        }
        self.ensure_merge_at(i);
        let c = &self.control[i];
        let merge = c.merge.as_ref().expect("ensured");
        control::transfer(&mut self.asm, &self.stack, merge, c.base)?;
        let label = c.label;
        if matches!(c.kind, ControlKind::Loop) {
            let live = Self::live_regs(&merge.values, &merge.off_slot);
            let cost = self
                .offset
                .saturating_sub(c.start_offset)
                .clamp(1, i32::MAX as u32) as i32;
            self.tier_up_check(cost, live);
        }
        self.asm.jmp(label);
        Ok(())
    }

    pub(super) fn visit_br_if(&mut self, depth: u32) -> Result<()> {
        let cond = self.branch_condition();
        let i = self.control.len() - 1 - depth as usize;
        let direct = match self.control[i].kind {
            ControlKind::Function => false,
            ControlKind::Loop if self.opts.tier_up => false,
            _ => {
                self.ensure_merge_at(i);
                let c = &self.control[i];
                let noop =
                    control::is_noop(&self.stack, c.merge.as_ref().expect("ensured"), c.base);
                if noop {
                    self.asm.jcc(cond, c.label);
                }
                noop
            }
        };
        if !direct {
            let skip = self.asm.new_label();
            self.asm.jcc(cond.invert(), skip);
            self.branch_to(depth)?;
            self.asm.bind(skip);
        }
        Ok(())
    }

    /// `br_table`: a bounds check to the default target, then a jump through a table of
    /// rel32 offsets to one out-of-line stub per distinct target depth, each of which moves
    /// the state into its target's merge state and jumps. Cost: linear in the targets (the
    /// stub of a depth is found by indexing, not by searching).
    pub(super) fn visit_br_table(&mut self, targets: BrTable<'_>) -> Result<()> {
        let idx = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        // Stub label of each depth (indexed by depth), and the distinct depths in order.
        let mut stub_of = std::mem::take(&mut self.br_table_labels);
        stub_of.clear();
        stub_of.resize(self.control.len(), None);
        let mut stubs: SmallVec<[(u32, Label); 8]> = SmallVec::new();
        let mut stub = |d: u32, asm: &mut Assembler| -> Label {
            let slot = &mut stub_of[d as usize];
            if let Some(l) = *slot {
                return l;
            }
            let l = asm.new_label();
            *slot = Some(l);
            stubs.push((d, l));
            l
        };
        let default_label = stub(targets.default(), &mut self.asm);
        if targets.is_empty() {
            self.asm.jmp(default_label);
        } else {
            let g = idx.gpr();
            let n = i32::try_from(targets.len()).map_err(|_| CompileError::TooLarge {
                what: "br_table with over 2^31 targets",
            })?;
            self.asm.alu_ri(AluOp::Cmp, Size::S32, g, n);
            self.asm.jcc(Cond::Ae, default_label);
            let table = self.asm.new_label();
            self.asm.lea(Size::S64, SCRATCH, Mem::label(table));
            self.asm.movsx_rm(
                Size::S64,
                Size::S32,
                g,
                Mem::base_index(SCRATCH, g, Scale::Four, 0),
            );
            self.asm.alu_rr(AluOp::Add, Size::S64, SCRATCH, g);
            self.asm.jmp_r(SCRATCH);
            self.asm.align(4);
            self.asm.bind(table);
            let base = self.asm.pc_offset();
            for d in targets.targets() {
                let l = stub(d?, &mut self.asm);
                self.asm.emit_label_rel32(l, base);
            }
        }
        self.br_table_labels = stub_of;
        self.stack.regs.release(idx);
        for (d, l) in stubs {
            self.asm.bind(l);
            self.branch_to(d)?;
        }
        self.reachable = false;
        Ok(())
    }

    pub(super) fn visit_select(&mut self) -> Result<()> {
        let cond = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let (b, bpos) = self.stack.pop();
        let bi = self
            .stack
            .into_reg(&mut self.asm, b, bpos, RegSet::of(&[cond]));
        let kind = b.kind;
        let dst = self
            .stack
            .pop_writable(&mut self.asm, RegSet::of(&[cond, bi]));
        self.asm.test_rr(Size::S32, cond.gpr(), cond.gpr());
        match dst {
            Reg::Gpr(d) => self.asm.cmov_rr(Cond::E, int_size(kind), d, bi.gpr()),
            Reg::Xmm(_) => {
                let skip = self.asm.new_label();
                self.asm.jcc(Cond::Ne, skip);
                masm::mov_reg(&mut self.asm, dst, bi);
                self.asm.bind(skip);
            }
        }
        self.stack.regs.release(cond);
        self.stack.regs.release(bi);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn local_get(&mut self, i: usize) -> Result<()> {
        let v = self.stack.values[i];
        match v.loc() {
            Loc::Reg(r) => {
                self.stack.regs.acquire(r);
                self.stack.push(v)
            }
            Loc::Const(_) => self.stack.push(v),
            Loc::Stack => {
                let r = self
                    .stack
                    .alloc(&mut self.asm, v.kind.class(), RegSet::EMPTY);
                masm::load(&mut self.asm, v.kind, r, frame::slot(i));
                self.stack.push_reg(v.kind, r)
            }
        }
    }

    pub(super) fn local_set(&mut self, i: usize, tee: bool) -> Result<()> {
        let (mut v, pos) = self.stack.pop();
        if tee && v.is_stack() {
            let r = self.stack.into_reg(&mut self.asm, v, pos, RegSet::EMPTY);
            v.set_loc(Loc::Reg(r));
        }
        let old = self.stack.values[i];
        self.stack.release(old);
        self.debug_local_written(i);
        match v.loc() {
            Loc::Stack => {
                masm::copy_mem(&mut self.asm, frame::slot(i), frame::slot(pos));
                self.stack.set_loc(i, Loc::Stack);
            }
            loc => {
                self.stack.set_loc(i, loc);
                if tee && let Loc::Reg(r) = loc {
                    self.stack.regs.acquire(r);
                }
            }
        }
        if tee {
            self.stack.push(v)?;
        }
        Ok(())
    }
}
