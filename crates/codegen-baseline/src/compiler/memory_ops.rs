//! Linear memory, globals and tables.
//!
//! SAFETY-CRITICAL: this file decides which memory accesses are bounds-checked. In guard mode
//! an access `base + zext(index) + offset` with `offset <= MAX_UNCHECKED_OFFSET` is left to the
//! guard region: the runtime reserves 4 GiB plus `kiln_abi::GUARD_SIZE` of inaccessible pages
//! after every 32-bit memory, so even the widest access at the largest index ends inside the
//! reservation. Accesses with larger offsets, and all accesses in explicit mode, compare
//! `index + offset + size` with the memory's current length first.

use super::*;

/// The largest static offset guard mode leaves unchecked: the guard region minus the widest
/// access (16 bytes), so `4 GiB - 1 + offset + size` never passes the end of the reservation.
const MAX_UNCHECKED_OFFSET: u64 = kiln_abi::GUARD_SIZE - 16;

/// The memory a `memarg` addresses (GC array targets are not memories).
fn memory_of(memarg: &MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => m,
        wasmparser::MemArgTarget::Array(_) => u32::MAX,
    }
}

impl FuncCompiler<'_> {
    /// Fails with `Unsupported` for memories this tier cannot access inline (memory64,
    /// shared memories).
    pub(super) fn check_memory(&self, mem: u32, op: &str) -> Result<()> {
        match self.module.memories.get(mem as usize) {
            Some(m) if !m.memory64 && !m.shared => Ok(()),
            _ => Err(unsupported(op, self.offset)),
        }
    }

    /// Fails with `Unsupported` for 64-bit tables.
    pub(super) fn check_table(&self, table: u32, op: &str) -> Result<()> {
        match self.module.tables.get(table as usize) {
            Some(t) if !t.ty.table64 && !t.ty.shared => Ok(()),
            _ => Err(unsupported(op, self.offset)),
        }
    }

    /// The address of a `VMMemoryDefinition`/`VMTableDefinition`/`VMGlobal` field at
    /// `field` bytes into the definition; imported ones are reached through `r11`.
    fn def_field(&mut self, place: Place, field: i32) -> Mem {
        match place {
            Place::Inline(off) => Mem::base(VMCTX, off as i32 + field),
            Place::Imported(off) => {
                self.asm
                    .mov_rm(Size::S64, SCRATCH, Mem::base(VMCTX, off as i32));
                Mem::base(SCRATCH, field)
            }
        }
    }

    /// Pops the index of an access of `size` bytes and returns the operand addressing it
    /// (through the memory base's register, [`Self::memory_base`]) and the register held for
    /// the index, if any. Nothing may allocate a register between this and the access.
    fn address(
        &mut self,
        memarg: &MemArg,
        size: u32,
        exclude: RegSet,
    ) -> Result<(Mem, Option<Reg>)> {
        let place = self.layout.memory(memory_of(memarg));
        let offset = memarg.offset;
        let explicit =
            self.opts.bounds_checks == BoundsChecks::Explicit || offset > MAX_UNCHECKED_OFFSET;
        let memory = memory_of(memarg);
        let (iv, ipos) = self.stack.pop();
        if !explicit && let Loc::Const(c) = iv.loc() {
            let eff = u64::from(c as u32) + offset;
            if eff <= i32::MAX as u64 {
                let base = self.memory_base(memory, place, exclude);
                return Ok((Mem::base(base, eff as i32), None));
            }
        }
        // An i32 in a register has its upper half clear: it is the 64-bit index.
        let mut idx = self.stack.into_reg(&mut self.asm, iv, ipos, exclude);
        let mut disp = offset as i32;
        if explicit {
            let end = self.stack.alloc(
                &mut self.asm,
                RegClass::Gpr,
                exclude.union(RegSet::of(&[idx])),
            );
            let e = end.gpr();
            let limit = offset + u64::from(size);
            self.asm.mov_ri(Size::S64, e, limit as i64);
            self.asm.alu_rr(AluOp::Add, Size::S64, e, idx.gpr());
            let len = self.def_field(place, 8);
            self.asm.alu_rm(AluOp::Cmp, Size::S64, e, len);
            let oob = self.trap_label(TrapCode::MemoryOutOfBounds);
            self.asm.jcc(Cond::A, oob);
            if offset > i32::MAX as u64 {
                // end - size = index + offset.
                self.asm.alu_ri(AluOp::Sub, Size::S64, e, size as i32);
                self.stack.regs.release(idx);
                idx = end;
                disp = 0;
            } else {
                self.stack.regs.release(end);
            }
        }
        let base = self.memory_base(memory, place, exclude.union(RegSet::of(&[idx])));
        Ok((
            Mem::base_index(base, idx.gpr(), Scale::One, disp),
            Some(idx),
        ))
    }

    /// A register holding the base address of `memory` (at `place`) for the access about to
    /// be emitted: memory 0's cached base, or a free register outside `exclude` that now
    /// caches it, or else `r11` loaded for this access only. Debug code caches nothing.
    fn memory_base(&mut self, memory: u32, place: Place, exclude: RegSet) -> Gpr {
        let cache = memory == 0 && self.debug.is_none();
        if cache && let Some(r) = self.stack.mem_base() {
            return r.gpr();
        }
        let field = self.def_field(place, 0);
        let free = if cache {
            self.stack.regs.free(RegClass::Gpr, exclude)
        } else {
            None
        };
        match free {
            Some(r) => {
                self.stack.set_mem_base(r);
                self.asm.mov_rm(Size::S64, r.gpr(), field);
                r.gpr()
            }
            None => {
                self.asm.mov_rm(Size::S64, SCRATCH, field);
                SCRATCH
            }
        }
    }

    pub(super) fn load(
        &mut self,
        memarg: &MemArg,
        kind: Kind,
        op: LoadOp,
        wasm_op: &str,
    ) -> Result<()> {
        self.check_memory(memory_of(memarg), wasm_op)?;
        if memarg.ordering.is_some() {
            return Err(unsupported(wasm_op, self.offset));
        }
        let bytes = match op {
            LoadOp::Plain(s) | LoadOp::Sx(s) | LoadOp::Zx(s) => s.bytes(),
            LoadOp::Float => {
                if kind == Kind::F32 {
                    4
                } else {
                    8
                }
            }
        };
        // Allocate the destination first so no spill lands between address and access.
        let dst = self.stack.alloc(&mut self.asm, kind.class(), RegSet::EMPTY);
        let (mem, idx) = self.address(memarg, bytes, RegSet::of(&[dst]))?;
        self.trap_here(TrapCode::MemoryOutOfBounds);
        match op {
            LoadOp::Plain(s) => self.asm.mov_rm(s, dst.gpr(), mem),
            LoadOp::Sx(s) => self.asm.movsx_rm(int_size(kind), s, dst.gpr(), mem),
            LoadOp::Zx(s) => self.asm.movzx_rm(Size::S32, s, dst.gpr(), mem),
            LoadOp::Float => self.asm.movs_rm(float_size(kind), dst.xmm(), mem),
        }
        if let Some(i) = idx {
            self.stack.regs.release(i);
        }
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn store(&mut self, memarg: &MemArg, size: Size, wasm_op: &str) -> Result<()> {
        self.check_memory(memory_of(memarg), wasm_op)?;
        if memarg.ordering.is_some() {
            return Err(unsupported(wasm_op, self.offset));
        }
        let (v, vpos) = self.stack.pop();
        let value = match v.loc() {
            Loc::Const(c)
                if v.kind.class() == RegClass::Gpr
                    && (size != Size::S64 || i32::try_from(c).is_ok()) =>
            {
                // The immediate of a narrow store is the value truncated to its width.
                Err(match size {
                    Size::S8 => i32::from(c as i8),
                    Size::S16 => i32::from(c as i16),
                    _ => c as i32,
                })
            }
            _ => Ok(self.stack.into_reg(&mut self.asm, v, vpos, RegSet::EMPTY)),
        };
        let exclude = value.map(|r| RegSet::of(&[r])).unwrap_or_default();
        let (mem, idx) = self.address(memarg, size.bytes(), exclude)?;
        self.trap_here(TrapCode::MemoryOutOfBounds);
        match value {
            Err(imm) => self.asm.mov_mi(size, mem, imm),
            Ok(Reg::Gpr(g)) => self.asm.mov_mr(size, mem, g),
            Ok(Reg::Xmm(x)) => self.asm.movs_mr(float_size(v.kind), mem, x),
        }
        if let Ok(r) = value {
            self.stack.regs.release(r);
        }
        if let Some(i) = idx {
            self.stack.regs.release(i);
        }
        Ok(())
    }

    pub(super) fn memory_size(&mut self, mem: u32, op: &str) -> Result<()> {
        self.check_memory(mem, op)?;
        let dst = self
            .stack
            .alloc(&mut self.asm, RegClass::Gpr, RegSet::EMPTY)
            .gpr();
        let place = self.layout.memory(mem);
        let len = self.def_field(place, 8);
        self.asm.mov_rm(Size::S64, dst, len);
        self.asm.shift_ri(ShiftOp::Shr, Size::S64, dst, 16);
        self.stack.push_reg(Kind::I32, gpr(dst))
    }

    fn global_kind(&self, index: u32, op: &str) -> Result<Kind> {
        let g = self
            .module
            .globals
            .get(index as usize)
            .ok_or_else(|| unsupported(op, self.offset))?;
        Kind::of(g.ty.content_type).ok_or_else(|| unsupported(op, self.offset))
    }

    pub(super) fn global_get(&mut self, index: u32, op: &str) -> Result<()> {
        let kind = self.global_kind(index, op)?;
        let dst = self.stack.alloc(&mut self.asm, kind.class(), RegSet::EMPTY);
        let mem = self.def_field(self.layout.global(index), 0);
        masm::load(&mut self.asm, kind, dst, mem);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn global_set(&mut self, index: u32, op: &str) -> Result<()> {
        let kind = self.global_kind(index, op)?;
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let mem = self.def_field(self.layout.global(index), 0);
        masm::store(&mut self.asm, kind, mem, r);
        self.stack.regs.release(r);
        Ok(())
    }

    /// Bounds-checks the i32 index in `idx` against table `table`, trapping with `oob`, and
    /// leaves the address of its element in the returned operand (through `r11`).
    pub(super) fn table_element(&mut self, table: u32, idx: Gpr, oob: TrapCode) -> Mem {
        let place = self.layout.table(table);
        let len = self.def_field(place, 8);
        self.asm.alu_rm(AluOp::Cmp, Size::S32, idx, len);
        let oob = self.trap_label(oob);
        self.asm.jcc(Cond::Ae, oob);
        let base = self.def_field(place, 0);
        self.asm.mov_rm(Size::S64, SCRATCH, base);
        Mem::base_index(SCRATCH, idx, Scale::Eight, 0)
    }

    pub(super) fn table_get(&mut self, table: u32, op: &str) -> Result<()> {
        self.check_table(table, op)?;
        let idx = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        let elem = self.table_element(table, idx.gpr(), TrapCode::TableOutOfBounds);
        self.asm.mov_rm(Size::S64, idx.gpr(), elem);
        self.stack.push_reg(Kind::Ref, idx)
    }

    pub(super) fn table_set(&mut self, table: u32, op: &str) -> Result<()> {
        self.check_table(table, op)?;
        let v = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let idx = self.stack.pop_reg(&mut self.asm, RegSet::of(&[v]));
        let elem = self.table_element(table, idx.gpr(), TrapCode::TableOutOfBounds);
        self.asm.mov_mr(Size::S64, elem, v.gpr());
        self.stack.regs.release(v);
        self.stack.regs.release(idx);
        Ok(())
    }

    pub(super) fn table_size(&mut self, table: u32, op: &str) -> Result<()> {
        self.check_table(table, op)?;
        let dst = self
            .stack
            .alloc(&mut self.asm, RegClass::Gpr, RegSet::EMPTY)
            .gpr();
        let len = self.def_field(self.layout.table(table), 8);
        self.asm.mov_rm(Size::S32, dst, len);
        self.stack.push_reg(Kind::I32, gpr(dst))
    }
}
