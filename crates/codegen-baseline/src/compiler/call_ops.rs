//! Calls: direct (through the jump table), imported, indirect, and builtins.

use super::*;

/// The moves of a call's arguments.
type Moves = SmallVec<[Move; 8]>;

impl<'a> FuncCompiler<'a> {
    /// Pops one argument per destination in `dsts` (the deepest value to the first) and
    /// adds the move of each to its destination to `moves`. Their register uses end at once:
    /// their locations stay valid while the rest of the stack is spilled (spilling only
    /// stores), as long as nothing allocates a register before the moves are emitted.
    fn pop_args(&mut self, dsts: impl ExactSizeIterator<Item = Dst>, moves: &mut Moves) {
        let first = self.stack.len() - dsts.len();
        for (i, (&v, dst)) in self.stack.values[first..].iter().zip(dsts).enumerate() {
            moves.push(Move {
                dst,
                src: v.src(first + i),
                kind: v.kind,
            });
            if let Loc::Reg(r) = v.loc() {
                self.stack.regs.release(r);
            }
        }
        self.stack.values.truncate(first);
    }

    /// The function type with index `type_index`.
    fn func_type_at(&self, type_index: u32) -> Result<&'a FuncType> {
        self.module
            .func_type(type_index)
            .ok_or_else(|| CompileError::Malformed {
                message: format!("type {type_index} is not a function type"),
                offset: self.offset,
            })
    }

    /// A call to `callee`, whose function type has index `type_index`.
    pub(super) fn call(&mut self, callee: Callee, type_index: u32) -> Result<()> {
        let ty = self.func_type_at(type_index)?;
        let results = kinds(ty.results(), self.offset)?;
        check_kinds(ty.params(), self.offset)?;
        let layouts = self.call_layouts;
        let layout = layouts[type_index as usize]
            .as_ref()
            .expect("every function type has a layout");
        let mut moves = Moves::new();
        let dsts = layout.params.iter().map(|loc| match *loc {
            Location::Gpr(g) => Dst::Reg(gpr(Gpr::new(g).expect("register"))),
            Location::Xmm(x) => Dst::Reg(Reg::Xmm(Xmm::new(x).expect("register"))),
            Location::Stack(off) => Dst::Mem(Mem::base(RSP, off as i32)),
            Location::RetArea(_) => unreachable!("arguments never use the return area"),
        });
        self.pop_args(dsts, &mut moves);
        // Every cached register is caller-saved.
        self.stack.spill_all(&mut self.asm);
        let extra = layout.stack_args_size + layout.ret_area_size;
        let extra = i32::try_from(extra).map_err(|_| CompileError::TooLarge {
            what: "call arguments",
        })?;
        if extra > 0 {
            self.asm.alu_ri(AluOp::Sub, Size::S64, RSP, extra);
        }
        masm::execute(&mut self.asm, &moves)?;
        if let Some(Location::Gpr(g)) = layout.ret_area_pointer {
            let ptr = Mem::base(RSP, layout.stack_args_size as i32);
            self.asm.lea(Size::S64, Gpr::new(g).expect("register"), ptr);
        }
        let Location::Gpr(vm) = layout.vmctx else {
            unreachable!("the VMContext is always a register argument")
        };
        let vm = Gpr::new(vm).expect("register");
        match callee {
            Callee::Local(index) => {
                self.asm.mov_rr(Size::S64, vm, VMCTX);
                self.asm.call_rel32(0);
                // The field receives slot - (field + 4) + addend: the call's own rel32.
                self.relocations.push(Relocation {
                    offset: self.pc() - 4,
                    target: RelocationTarget::Function(index),
                    addend: 0,
                });
            }
            Callee::Import(index) => {
                let off = self.layout.imported_function(index) as i32;
                self.asm.mov_rm(Size::S64, vm, Mem::base(VMCTX, off + 8));
                self.asm.call_m(Mem::base(VMCTX, off));
            }
            Callee::Indirect => {
                self.asm.mov_rm(Size::S64, SCRATCH, CALL_TARGET);
                self.asm.mov_rm(Size::S64, vm, Mem::base(SCRATCH, 16));
                self.asm.call_m(Mem::base(SCRATCH, 0));
            }
        }
        // Debug code: where the caller's values are while the callee runs.
        self.debug_entry(EntryKind::Call)?;
        // The callee popped its stack arguments; the return area is at rsp.
        for (kind, loc) in results.iter().zip(&layout.results) {
            match *loc {
                Location::Gpr(g) => {
                    let g = Gpr::new(g).expect("register");
                    if *kind == Kind::I32 {
                        self.asm.mov_rr(Size::S32, g, g);
                    }
                    self.stack.regs.acquire(gpr(g));
                    self.stack.push_reg(*kind, gpr(g))?;
                }
                Location::Xmm(x) => {
                    let r = Reg::Xmm(Xmm::new(x).expect("register"));
                    self.stack.regs.acquire(r);
                    self.stack.push_reg(*kind, r)?;
                }
                Location::RetArea(off) => {
                    let pos = self.stack.len();
                    frame::check_height(pos + 1)?;
                    masm::copy_mem(&mut self.asm, frame::slot(pos), Mem::base(RSP, off as i32));
                    self.stack.push(Value::new(*kind, Loc::Stack))?;
                }
                Location::Stack(_) => unreachable!("results never use argument slots"),
            }
        }
        if layout.ret_area_size > 0 {
            self.asm
                .alu_ri(AluOp::Add, Size::S64, RSP, layout.ret_area_size as i32);
        }
        Ok(())
    }

    pub(super) fn visit_call_indirect(&mut self, type_index: u32, table: u32) -> Result<()> {
        self.func_type_at(type_index)?;
        match self.module.tables.get(table as usize) {
            Some(t) if !t.ty.table64 && !t.ty.shared => {}
            _ => {
                return Err(CompileError::Unsupported {
                    operator: "CallIndirect".into(),
                    offset: self.offset,
                });
            }
        }
        let idx = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        let i = idx.gpr();
        let elem = self.table_element(table, i, TrapCode::UndefinedElement);
        self.asm.mov_rm(Size::S64, i, elem);
        let null = self.trap_label(TrapCode::IndirectCallToNull);
        self.asm.test_rr(Size::S64, i, i);
        self.asm.jcc(Cond::E, null);
        let sig = Mem::base(VMCTX, self.layout.signature_id(type_index) as i32);
        self.asm.mov_rm(Size::S32, SCRATCH, sig);
        self.asm
            .alu_mr(AluOp::Cmp, Size::S32, Mem::base(i, 8), SCRATCH);
        let bad = self.trap_label(TrapCode::BadSignature);
        self.asm.jcc(Cond::Ne, bad);
        self.asm.mov_mr(Size::S64, CALL_TARGET, i);
        self.stack.regs.release(idx);
        self.call(Callee::Indirect, type_index)
    }

    /// Calls builtin `id` with `imms` then the top `nvals` values as its operands, pushing
    /// its result as `result`. Builtins use System V: every caller-saved register is lost.
    pub(super) fn call_builtin(
        &mut self,
        id: BuiltinId,
        imms: &[u32],
        nvals: usize,
        result: Option<Kind>,
    ) -> Result<()> {
        let regs = &INT_ARG_REGS[1..];
        let reg = |j: usize| Dst::Reg(gpr(Gpr::new(regs[j]).expect("register")));
        let mut moves: Moves = (0..imms.len())
            .map(|j| Move {
                dst: reg(j),
                src: Src::Const(i64::from(imms[j])),
                kind: Kind::I64,
            })
            .collect();
        self.pop_args((imms.len()..imms.len() + nvals).map(reg), &mut moves);
        self.stack.spill_all(&mut self.asm);
        masm::execute(&mut self.asm, &moves)?;
        self.asm.mov_rr(Size::S64, RDI, VMCTX);
        self.call_builtin_entry(id);
        if let Some(kind) = result {
            if kind == Kind::I32 {
                self.asm.mov_rr(Size::S32, RAX, RAX);
            }
            self.stack.regs.acquire(gpr(RAX));
            self.stack.push_reg(kind, gpr(RAX))?;
        }
        Ok(())
    }
}
