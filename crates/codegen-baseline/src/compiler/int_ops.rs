//! Integer arithmetic, bit counting, extensions and comparisons.

use super::*;

/// `bits` as the operand of a `kind` instruction's 32-bit immediate, if it fits.
fn imm32(kind: Kind, bits: i64) -> Option<i32> {
    match kind {
        Kind::I32 => Some(bits as i32),
        _ => i32::try_from(bits).ok(),
    }
}

impl FuncCompiler<'_> {
    /// Pushes an integer constant, normalizing an i32 to its sign-extended form.
    fn push_int(&mut self, kind: Kind, bits: i64) -> Result<()> {
        let bits = if kind == Kind::I32 {
            i64::from(bits as i32)
        } else {
            bits
        };
        self.stack.push_const(kind, bits)
    }

    /// The top two values if both are constants (popped), else `None` (nothing popped).
    fn pop_two_consts(&mut self) -> Option<(i64, i64)> {
        let n = self.stack.len();
        match (
            self.stack.values[n - 2].loc(),
            self.stack.values[n - 1].loc(),
        ) {
            (Loc::Const(a), Loc::Const(b)) => {
                self.stack.values.truncate(n - 2);
                Some((a, b))
            }
            _ => None,
        }
    }

    pub(super) fn alu(&mut self, kind: Kind, op: AluOp, fold: fn(i64, i64) -> i64) -> Result<()> {
        if let Some((a, b)) = self.pop_two_consts() {
            return self.push_int(kind, fold(a, b));
        }
        let size = int_size(kind);
        let (rhs, rpos) = self.stack.pop();
        if let Loc::Const(b) = rhs.loc()
            && let Some(imm) = imm32(kind, b)
        {
            let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
            self.asm.alu_ri(op, size, dst.gpr(), imm);
            return self.stack.push_reg(kind, dst);
        }
        let r = self.stack.into_reg(&mut self.asm, rhs, rpos, RegSet::EMPTY);
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::of(&[r]));
        self.asm.alu_rr(op, size, dst.gpr(), r.gpr());
        self.stack.regs.release(r);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn mul(&mut self, kind: Kind) -> Result<()> {
        if let Some((a, b)) = self.pop_two_consts() {
            return self.push_int(kind, a.wrapping_mul(b));
        }
        let size = int_size(kind);
        let (rhs, rpos) = self.stack.pop();
        if let Loc::Const(b) = rhs.loc()
            && let Some(imm) = imm32(kind, b)
        {
            let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
            self.asm.imul_rri(size, dst.gpr(), dst.gpr(), imm);
            return self.stack.push_reg(kind, dst);
        }
        let r = self.stack.into_reg(&mut self.asm, rhs, rpos, RegSet::EMPTY);
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::of(&[r]));
        self.asm.imul_rr(size, dst.gpr(), r.gpr());
        self.stack.regs.release(r);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn shift(&mut self, kind: Kind, op: ShiftOp) -> Result<()> {
        let size = int_size(kind);
        let (rhs, rpos) = self.stack.pop();
        if let Loc::Const(c) = rhs.loc() {
            let count = (c as u32 & (size.bits() - 1)) as u8;
            let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
            if count != 0 {
                self.asm.shift_ri(op, size, dst.gpr(), count);
            }
            return self.stack.push_reg(kind, dst);
        }
        // The count goes in cl: nothing on the stack may stay in rcx.
        let rcx = gpr(RCX);
        self.stack.evict(&mut self.asm, rcx, RegSet::EMPTY);
        let r = self.stack.into_reg(&mut self.asm, rhs, rpos, RegSet::EMPTY);
        let dst = self
            .stack
            .pop_writable(&mut self.asm, RegSet::of(&[rcx, r]));
        if r != rcx {
            self.asm.mov_rr(Size::S32, RCX, r.gpr());
        }
        self.asm.shift_r_cl(op, size, dst.gpr());
        self.stack.regs.release(r);
        self.stack.push_reg(kind, dst)
    }

    /// Division and remainder with the spec's traps: divide by zero, and signed overflow
    /// (`MIN / -1`) for division; `MIN rem -1` is 0.
    pub(super) fn divrem(&mut self, kind: Kind, signed: bool, rem: bool) -> Result<()> {
        let size = int_size(kind);
        let (rax, rdx) = (gpr(RAX), gpr(RDX));
        let fixed = RegSet::of(&[rax, rdx]);
        self.stack.evict(&mut self.asm, rax, fixed);
        self.stack.evict(&mut self.asm, rdx, fixed);
        let (rhs, rpos) = self.stack.pop();
        let known = match rhs.loc() {
            Loc::Const(c) => Some(if kind == Kind::I32 {
                i64::from(c as i32)
            } else {
                c
            }),
            _ => None,
        };
        let (divisor, held) = match rhs.loc() {
            Loc::Const(c) => {
                masm::load_const(&mut self.asm, kind, gpr(R11), c);
                (R11, None)
            }
            _ => {
                let r = self
                    .stack
                    .into_reg(&mut self.asm, rhs, rpos, RegSet::of(&[rax, rdx]));
                if r == rax || r == rdx {
                    self.asm.mov_rr(Size::S64, R11, r.gpr());
                    self.stack.regs.release(r);
                    (R11, None)
                } else {
                    (r.gpr(), Some(r))
                }
            }
        };
        let (lhs, lpos) = self.stack.pop();
        match lhs.loc() {
            Loc::Reg(r) => {
                masm::mov_reg(&mut self.asm, rax, r);
                self.stack.regs.release(r);
            }
            Loc::Stack => masm::load(&mut self.asm, kind, rax, frame::slot(lpos)),
            Loc::Const(c) => masm::load_const(&mut self.asm, kind, rax, c),
        }
        if known.is_none_or(|c| c == 0) {
            let trap = self.trap_label(TrapCode::IntegerDivideByZero);
            self.asm.test_rr(size, divisor, divisor);
            self.asm.jcc(Cond::E, trap);
        }
        let done = self.asm.new_label();
        if signed && known.is_none_or(|c| c == -1) {
            let normal = self.asm.new_label();
            self.asm.alu_ri(AluOp::Cmp, size, divisor, -1);
            self.asm.jcc(Cond::Ne, normal);
            if rem {
                self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
                self.asm.jmp(done);
            } else {
                // rax - 1 overflows exactly when rax is the minimum.
                let trap = self.trap_label(TrapCode::IntegerOverflow);
                self.asm.alu_ri(AluOp::Cmp, size, RAX, 1);
                self.asm.jcc(Cond::O, trap);
            }
            self.asm.bind(normal);
        }
        if signed {
            if size == Size::S32 {
                self.asm.cdq();
            } else {
                self.asm.cqo();
            }
            self.asm.unary_r(UnaryOp::Idiv, size, divisor);
        } else {
            self.asm.alu_rr(AluOp::Xor, Size::S32, RDX, RDX);
            self.asm.unary_r(UnaryOp::Div, size, divisor);
        }
        self.asm.bind(done);
        if let Some(r) = held {
            self.stack.regs.release(r);
        }
        let result = if rem { rdx } else { rax };
        self.stack.regs.acquire(result);
        self.stack.push_reg(kind, result)
    }

    pub(super) fn bitcount(&mut self, kind: Kind, op: BitOp) -> Result<()> {
        let size = int_size(kind);
        let cpu = self.opts.cpu;
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY).gpr();
        match op {
            BitOp::Lzcnt => self.asm.lzcnt_or_bsr(cpu, size, dst, dst),
            BitOp::Tzcnt => self.asm.tzcnt_or_bsf(cpu, size, dst, dst),
            _ => self.asm.popcnt_or_swar(cpu, size, dst, dst, R11),
        }
        self.stack.push_reg(kind, gpr(dst))
    }

    /// Sign-extends the low `from` bits to `to` (`extend8_s`, `i64.extend_i32_s`, ...).
    pub(super) fn extend(&mut self, kind: Kind, to: Size, from: Size) -> Result<()> {
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY).gpr();
        self.asm.movsx_rr(to, from, dst, dst);
        self.stack.push_reg(kind, gpr(dst))
    }

    /// `i64.extend_i32_u`: an i32 in a register already has its upper half clear.
    pub(super) fn extend_u(&mut self) -> Result<()> {
        let (v, pos) = self.stack.pop();
        if let Loc::Const(c) = v.loc() {
            return self.stack.push_const(Kind::I64, i64::from(c as u32));
        }
        let r = self.stack.into_reg(&mut self.asm, v, pos, RegSet::EMPTY);
        self.stack.push_reg(Kind::I64, r)
    }

    /// `i32.wrap_i64`: clear the upper half.
    pub(super) fn wrap(&mut self) -> Result<()> {
        if let Loc::Const(c) = self.stack.peek().loc() {
            self.stack.pop();
            return self.push_int(Kind::I32, c);
        }
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY).gpr();
        self.asm.mov_rr(Size::S32, dst, dst);
        self.stack.push_reg(Kind::I32, gpr(dst))
    }

    /// A fresh register holding 0, for a `setcc` result (cleared before the flags are set).
    fn zeroed_gpr(&mut self, exclude: RegSet) -> Gpr {
        let d = self
            .stack
            .alloc(&mut self.asm, RegClass::Gpr, exclude)
            .gpr();
        self.asm.alu_rr(AluOp::Xor, Size::S32, d, d);
        d
    }

    /// `eqz` (and `ref.is_null`).
    pub(super) fn eqz(&mut self, kind: Kind) -> Result<()> {
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        if self.next_is_branch() {
            self.asm.test_rr(int_size(kind), r.gpr(), r.gpr());
            self.stack.regs.release(r);
            self.pending_cond = Some(Cond::E);
            return Ok(());
        }
        let d = self.zeroed_gpr(RegSet::of(&[r]));
        self.asm.test_rr(int_size(kind), r.gpr(), r.gpr());
        self.asm.setcc_r(Cond::E, d);
        self.stack.regs.release(r);
        self.stack.push_reg(Kind::I32, gpr(d))
    }

    pub(super) fn icmp(&mut self, kind: Kind, cond: Cond) -> Result<()> {
        let size = int_size(kind);
        let (rhs, rpos) = self.stack.pop();
        let (l, r) = match rhs.loc() {
            Loc::Const(b) if imm32(kind, b).is_some() => {
                let l = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
                (l, None)
            }
            _ => {
                let r = self.stack.into_reg(&mut self.asm, rhs, rpos, RegSet::EMPTY);
                let l = self.stack.pop_reg(&mut self.asm, RegSet::of(&[r]));
                (l, Some(r))
            }
        };
        let mut ex = RegSet::of(&[l]);
        if let Some(r) = r {
            ex.insert(r);
        }
        // Fused with the branch that follows: leave the result in the flags.
        let d = (!self.next_is_branch()).then(|| self.zeroed_gpr(ex));
        match (r, rhs.loc()) {
            (Some(r), _) => self.asm.alu_rr(AluOp::Cmp, size, l.gpr(), r.gpr()),
            (None, Loc::Const(b)) => {
                self.asm
                    .alu_ri(AluOp::Cmp, size, l.gpr(), imm32(kind, b).expect("checked"))
            }
            (None, _) => unreachable!("a constant without a register"),
        }
        self.stack.regs.release(l);
        if let Some(r) = r {
            self.stack.regs.release(r);
        }
        match d {
            Some(d) => {
                self.asm.setcc_r(cond, d);
                self.stack.push_reg(Kind::I32, gpr(d))
            }
            None => {
                self.pending_cond = Some(cond);
                Ok(())
            }
        }
    }
}
