//! Float arithmetic, comparisons and conversions, with the spec's NaN, signed-zero and trap
//! rules.

use super::*;

/// The exclusive bounds of the float values a trunc to this integer converts without
/// overflow: `lo < x < hi`.
fn trunc_bounds(int: Kind, float: Kind, signed: bool) -> (f64, f64) {
    match (int, signed, float) {
        (Kind::I32, true, Kind::F64) => (-2147483649.0, 2147483648.0),
        // The f32 just below -2^31.
        (Kind::I32, true, _) => (-2147483904.0, 2147483648.0),
        (Kind::I32, false, _) => (-1.0, 4294967296.0),
        // The f64 just below -2^63.
        (_, true, Kind::F64) => (-9223372036854777856.0, 9223372036854775808.0),
        // The f32 just below -2^63.
        (_, true, _) => (-9223373136366403584.0, 9223372036854775808.0),
        (_, false, _) => (-1.0, 18446744073709551616.0),
    }
}

impl FuncCompiler<'_> {
    fn fconst(&mut self, kind: Kind, v: f64) -> Mem {
        if kind == Kind::F32 {
            self.asm.const_f32(v as f32)
        } else {
            self.asm.const_f64(v)
        }
    }

    pub(super) fn fbin(&mut self, kind: Kind, op: SseOp) -> Result<()> {
        if let Loc::Const(bits) = self.stack.peek().loc() {
            // A constant operand is read from the constant pool.
            self.stack.pop();
            let m = if kind == Kind::F32 {
                self.asm.const_u32(bits as u32)
            } else {
                self.asm.const_u64(bits as u64)
            };
            let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
            self.asm.sse_rm(op, dst.xmm(), m);
            return self.stack.push_reg(kind, dst);
        }
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::of(&[r]));
        self.asm.sse_rr(op, dst.xmm(), r.xmm());
        self.stack.regs.release(r);
        self.stack.push_reg(kind, dst)
    }

    /// `min`/`max`: NaN if either is NaN, -0 < +0; `minss`/`maxss` alone get both wrong.
    pub(super) fn fminmax(&mut self, kind: Kind, min: bool) -> Result<()> {
        let fs = float_size(kind);
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY).xmm();
        let dst = self
            .stack
            .pop_writable(&mut self.asm, RegSet::of(&[Reg::Xmm(r)]));
        let d = dst.xmm();
        let (nan, differ, done) = (
            self.asm.new_label(),
            self.asm.new_label(),
            self.asm.new_label(),
        );
        self.asm.ucomis_rr(fs, d, r);
        self.asm.jcc(Cond::P, nan);
        self.asm.jcc(Cond::Ne, differ);
        // Equal: only the signs of zeros can differ; or-ing gives -0 for min, and-ing +0 for max.
        self.asm
            .sse_rr(if min { SseOp::Orps } else { SseOp::Andps }, d, r);
        self.asm.jmp(done);
        self.asm.bind(nan);
        let add = if kind == Kind::F32 {
            SseOp::Addss
        } else {
            SseOp::Addsd
        };
        self.asm.sse_rr(add, d, r);
        self.asm.jmp(done);
        self.asm.bind(differ);
        let op = match (kind, min) {
            (Kind::F32, true) => SseOp::Minss,
            (Kind::F32, false) => SseOp::Maxss,
            (_, true) => SseOp::Minsd,
            (_, false) => SseOp::Maxsd,
        };
        self.asm.sse_rr(op, d, r);
        self.asm.bind(done);
        self.stack.regs.release(Reg::Xmm(r));
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn funary(&mut self, kind: Kind, f: fn(&mut Assembler, Xmm)) -> Result<()> {
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        f(&mut self.asm, dst.xmm());
        self.stack.push_reg(kind, dst)
    }

    /// `neg` (xor with the sign bit) and `abs` (and with its complement).
    pub(super) fn fbitwise(&mut self, kind: Kind, op: SseOp, mask: u64) -> Result<()> {
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        let m = self.asm.const_u128(u128::from(mask));
        self.asm.sse_rm(op, dst.xmm(), m);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn copysign(&mut self, kind: Kind) -> Result<()> {
        let sign: u64 = if kind == Kind::F32 {
            0x8000_0000
        } else {
            1 << 63
        };
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::of(&[r]));
        masm::mov_reg(&mut self.asm, Reg::Xmm(SCRATCH_XMM), r);
        let sm = self.asm.const_u128(u128::from(sign));
        self.asm.sse_rm(SseOp::Andps, SCRATCH_XMM, sm);
        let am = self.asm.const_u128(u128::from(
            !sign
                & if kind == Kind::F32 {
                    0xffff_ffff
                } else {
                    u64::MAX
                },
        ));
        self.asm.sse_rm(SseOp::Andps, dst.xmm(), am);
        self.asm.sse_rr(SseOp::Orps, dst.xmm(), SCRATCH_XMM);
        self.stack.regs.release(r);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn fround(&mut self, kind: Kind, mode: RoundMode, op: &str) -> Result<()> {
        if !self.opts.cpu.sse41 {
            return Err(unsupported(op, self.offset));
        }
        let dst = self.stack.pop_writable(&mut self.asm, RegSet::EMPTY);
        self.asm
            .rounds_rr(float_size(kind), mode, dst.xmm(), dst.xmm());
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn fcmp(&mut self, kind: Kind, cmp: FCmp) -> Result<()> {
        let fs = float_size(kind);
        let r = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let l = self.stack.pop_reg(&mut self.asm, RegSet::of(&[r]));
        let d = self
            .stack
            .alloc(&mut self.asm, RegClass::Gpr, RegSet::EMPTY)
            .gpr();
        let (a, b) = (l.xmm(), r.xmm());
        match cmp {
            FCmp::Eq | FCmp::Ne => {
                // Unordered (PF set): false for eq, true for ne.
                let nan_result = i64::from(matches!(cmp, FCmp::Ne));
                self.asm.mov_ri(Size::S32, d, nan_result);
                let done = self.asm.new_label();
                self.asm.ucomis_rr(fs, a, b);
                self.asm.jcc(Cond::P, done);
                let c = if matches!(cmp, FCmp::Eq) {
                    Cond::E
                } else {
                    Cond::Ne
                };
                self.asm.setcc_r(c, d);
                self.asm.bind(done);
            }
            _ => {
                // a > b and a >= b are false when unordered (CF = ZF = 1); lt/le swap.
                self.asm.alu_rr(AluOp::Xor, Size::S32, d, d);
                let (x, y, c) = match cmp {
                    FCmp::Gt => (a, b, Cond::A),
                    FCmp::Ge => (a, b, Cond::Ae),
                    FCmp::Lt => (b, a, Cond::A),
                    _ => (b, a, Cond::Ae),
                };
                self.asm.ucomis_rr(fs, x, y);
                self.asm.setcc_r(c, d);
            }
        }
        self.stack.regs.release(l);
        self.stack.regs.release(r);
        self.stack.push_reg(Kind::I32, gpr(d))
    }

    pub(super) fn convert_int(&mut self, kind: Kind, from: Kind, signed: bool) -> Result<()> {
        let fs = float_size(kind);
        let src = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY).gpr();
        let dst = self
            .stack
            .alloc(&mut self.asm, RegClass::Xmm, RegSet::EMPTY);
        let d = dst.xmm();
        self.asm.sse_rr(SseOp::Xorps, d, d);
        match (from, signed) {
            (Kind::I32, true) => self.asm.cvtsi2s_rr(fs, Size::S32, d, src),
            // The upper half of an i32 register is clear: convert it as a 64-bit signed value.
            (Kind::I32, false) | (_, true) => self.asm.cvtsi2s_rr(fs, Size::S64, d, src),
            _ => {
                // Allocate before branching: a spill must not happen on one path only.
                let tmp = self
                    .stack
                    .alloc(&mut self.asm, RegClass::Gpr, RegSet::of(&[gpr(src)]));
                let (big, done) = (self.asm.new_label(), self.asm.new_label());
                self.asm.test_rr(Size::S64, src, src);
                self.asm.jcc(Cond::S, big);
                self.asm.cvtsi2s_rr(fs, Size::S64, d, src);
                self.asm.jmp(done);
                // Halve (keeping the low bit so rounding is unchanged), convert, double.
                self.asm.bind(big);
                self.asm.mov_rr(Size::S64, R11, src);
                self.asm.shift_ri(ShiftOp::Shr, Size::S64, R11, 1);
                self.asm.mov_rr(Size::S32, tmp.gpr(), src);
                self.asm.alu_ri(AluOp::And, Size::S32, tmp.gpr(), 1);
                self.asm.alu_rr(AluOp::Or, Size::S64, R11, tmp.gpr());
                self.asm.cvtsi2s_rr(fs, Size::S64, d, R11);
                let add = if kind == Kind::F32 {
                    SseOp::Addss
                } else {
                    SseOp::Addsd
                };
                self.asm.sse_rr(add, d, d);
                self.asm.bind(done);
                self.stack.regs.release(tmp);
            }
        }
        self.stack.regs.release(gpr(src));
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn fconvert(&mut self, kind: Kind, op: SseOp) -> Result<()> {
        let src = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let dst = self
            .stack
            .alloc(&mut self.asm, RegClass::Xmm, RegSet::of(&[src]));
        self.asm.sse_rr(SseOp::Xorps, dst.xmm(), dst.xmm());
        self.asm.sse_rr(op, dst.xmm(), src.xmm());
        self.stack.regs.release(src);
        self.stack.push_reg(kind, dst)
    }

    pub(super) fn reinterpret(&mut self, kind: Kind) -> Result<()> {
        let src = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY);
        let dst = self.stack.alloc(&mut self.asm, kind.class(), RegSet::EMPTY);
        match (dst, src) {
            (Reg::Xmm(d), Reg::Gpr(s)) => self.asm.movd_xr(
                int_size(if kind == Kind::F32 {
                    Kind::I32
                } else {
                    Kind::I64
                }),
                d,
                s,
            ),
            (Reg::Gpr(d), Reg::Xmm(s)) => self.asm.movd_rx(int_size(kind), d, s),
            _ => unreachable!("reinterpret crosses register files"),
        }
        self.stack.regs.release(src);
        self.stack.push_reg(kind, dst)
    }

    /// Float to integer truncation, trapping or saturating.
    pub(super) fn trunc(
        &mut self,
        int: Kind,
        float: Kind,
        signed: bool,
        saturating: bool,
    ) -> Result<()> {
        let fs = float_size(float);
        let size = int_size(int);
        let src = self.stack.pop_reg(&mut self.asm, RegSet::EMPTY).xmm();
        let dst = self
            .stack
            .alloc(&mut self.asm, RegClass::Gpr, RegSet::EMPTY);
        let d = dst.gpr();
        let (lo, hi) = trunc_bounds(int, float, signed);
        let lo = self.fconst(float, lo);
        let hi = self.fconst(float, hi);
        let done = self.asm.new_label();
        if saturating {
            let (min, max): (i64, i64) = match (int, signed) {
                (Kind::I32, true) => (i64::from(i32::MIN), i64::from(i32::MAX)),
                (Kind::I32, false) => (0, i64::from(u32::MAX)),
                (_, true) => (i64::MIN, i64::MAX),
                (_, false) => (0, -1),
            };
            self.asm.alu_rr(AluOp::Xor, Size::S32, d, d);
            self.asm.ucomis_rr(fs, src, src);
            self.asm.jcc(Cond::P, done);
            self.asm.mov_ri(size, d, min);
            self.asm.ucomis_rm(fs, src, lo);
            self.asm.jcc(Cond::Be, done);
            self.asm.mov_ri(size, d, max);
            self.asm.ucomis_rm(fs, src, hi);
            self.asm.jcc(Cond::Ae, done);
        } else {
            let nan = self.trap_label(TrapCode::BadConversionToInteger);
            let overflow = self.trap_label(TrapCode::IntegerOverflow);
            self.asm.ucomis_rr(fs, src, src);
            self.asm.jcc(Cond::P, nan);
            self.asm.ucomis_rm(fs, src, lo);
            self.asm.jcc(Cond::Be, overflow);
            self.asm.ucomis_rm(fs, src, hi);
            self.asm.jcc(Cond::Ae, overflow);
        }
        // In range.
        match (int, signed) {
            (Kind::I32, true) => self.asm.cvtts2si_rr(fs, Size::S32, d, src),
            (Kind::I32, false) => {
                self.asm.cvtts2si_rr(fs, Size::S64, d, src);
                self.asm.mov_rr(Size::S32, d, d);
            }
            (_, true) => self.asm.cvtts2si_rr(fs, Size::S64, d, src),
            (_, false) => {
                let big = self.asm.new_label();
                let two63 = self.fconst(float, 9223372036854775808.0);
                self.asm.ucomis_rm(fs, src, two63);
                self.asm.jcc(Cond::Ae, big);
                self.asm.cvtts2si_rr(fs, Size::S64, d, src);
                self.asm.jmp(done);
                self.asm.bind(big);
                masm::mov_reg(&mut self.asm, Reg::Xmm(SCRATCH_XMM), Reg::Xmm(src));
                let sub = if float == Kind::F32 {
                    SseOp::Subss
                } else {
                    SseOp::Subsd
                };
                self.asm.sse_rm(sub, SCRATCH_XMM, two63);
                self.asm.cvtts2si_rr(fs, Size::S64, d, SCRATCH_XMM);
                self.asm.mov_ri(Size::S64, R11, i64::MIN);
                self.asm.alu_rr(AluOp::Xor, Size::S64, d, R11);
            }
        }
        self.asm.bind(done);
        self.stack.regs.release(Reg::Xmm(src));
        self.stack.push_reg(int, dst)
    }
}
