//! The [`Assembler`]: one method per instruction form, appending to a growable buffer.
//!
//! Method names are the mnemonic followed by the operand forms: `r` a register (general
//! purpose or xmm, as the mnemonic implies), `m` memory ([`Mem`]), `i` an immediate, `cl` the
//! shift count register. Integer methods take the operation width as a [`Size`].
//!
//! # Errors
//! Emitting never panics on operand mistakes: an operand combination the instruction does not
//! have (a byte `lea`, an immediate that does not fit, a short branch that cannot reach its
//! label, ...) is recorded as the assembler's first [`AsmError`], the instruction is skipped,
//! and [`Assembler::finish`] returns that error. [`Assembler::error`] shows it earlier.

use std::fmt;

use crate::code_buf::CodeBuf;
use crate::constant_pool::ConstantPool;
use crate::cpu::CpuFeatures;
use crate::encoding::{self, Imm, LabelRef, Legacy, Map, Opcode, Rm, Vex};
use crate::inst::{self, AluOp, BitOp, FloatSize, IntForm, RoundMode, ShiftOp, SseOp, UnaryOp};
use crate::label::{BindError, FixupKind, Label, Labels};
use crate::operand::{Addr, Cond, Mem};
use crate::reg::{Gpr, Size, Xmm};

/// Why assembly failed. Offsets are code offsets at which the faulty instruction would start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AsmError {
    /// A label was referenced but never bound.
    UnboundLabel(Label),
    /// A label was bound twice.
    LabelBoundTwice(Label),
    /// A short (rel8) reference, forced by the caller, cannot reach its label. `at` is the
    /// offset of the 1-byte displacement.
    ShortBranchOutOfRange {
        /// Offset of the displacement byte.
        at: usize,
    },
    /// An immediate does not fit the instruction's immediate field.
    ImmediateOutOfRange {
        /// Offset of the instruction.
        at: usize,
        /// The rejected value.
        value: i64,
    },
    /// The instruction has no form for this combination of width and operands.
    InvalidOperands {
        /// Offset of the instruction.
        at: usize,
        /// Which rule was broken.
        what: &'static str,
    },
    /// The code grew past 2 GiB, beyond what rel32 displacements can span.
    CodeTooLarge,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsmError::UnboundLabel(l) => write!(f, "label {} is referenced but never bound", l.0),
            AsmError::LabelBoundTwice(l) => write!(f, "label {} is bound twice", l.0),
            AsmError::ShortBranchOutOfRange { at } => {
                write!(
                    f,
                    "short branch with displacement at {at:#x} cannot reach its label"
                )
            }
            AsmError::ImmediateOutOfRange { at, value } => {
                write!(
                    f,
                    "immediate {value} does not fit the instruction at {at:#x}"
                )
            }
            AsmError::InvalidOperands { at, what } => {
                write!(f, "invalid operands for the instruction at {at:#x}: {what}")
            }
            AsmError::CodeTooLarge => f.write_str("code larger than 2 GiB"),
        }
    }
}

impl std::error::Error for AsmError {}

/// How a branch to a label is encoded.
///
/// The policy of [`Assembler::jmp`] and [`Assembler::jcc`] is [`BranchSize::Auto`]: a
/// backward branch (label already bound) is short whenever the rel8 reaches, else near; a
/// forward branch is near (rel32), which always reaches. Forward branches the caller knows to
/// be short (e.g. over a few instructions) can ask for [`BranchSize::Short`]; if the label then
/// ends up out of rel8 range, binding it records [`AsmError::ShortBranchOutOfRange`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum BranchSize {
    /// Short when provably in range (backward), else near.
    Auto,
    /// Always rel8 (2 bytes); an error if the label is out of range.
    Short,
    /// Always rel32 (5 bytes for `jmp`, 6 for `jcc`).
    Near,
}

const fn fits_i8(v: i64) -> bool {
    v >= i8::MIN as i64 && v <= i8::MAX as i64
}

/// Whether `v` fits an immediate field of `size` (signed or unsigned reading for 8/16 bits;
/// 32- and 64-bit operations take a sign-extended imm32).
const fn imm_fits(size: Size, v: i64) -> bool {
    match size {
        Size::S8 => v >= i8::MIN as i64 && v <= u8::MAX as i64,
        Size::S16 => v >= i16::MIN as i64 && v <= u16::MAX as i64,
        Size::S32 | Size::S64 => v >= i32::MIN as i64 && v <= i32::MAX as i64,
    }
}

/// An assembler for one piece of code.
///
/// Cost model: each instruction is encoded into a 16-byte stack buffer and appended with one
/// unchecked 16-byte copy into the code buffer's reserved slack (about 50 host instructions
/// for a register form, 90 for a memory form, 55 for a branch, call included); labels and
/// constants cost one small vector entry each. Nothing is ever re-encoded: forward branches
/// are patched in place when their label is bound.
#[derive(Debug, Default)]
pub struct Assembler {
    buf: CodeBuf,
    labels: Labels,
    pool: ConstantPool,
    error: Option<AsmError>,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// An empty assembler whose buffer has room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Assembler {
        Assembler {
            buf: CodeBuf::from_vec(Vec::with_capacity(bytes)),
            ..Assembler::default()
        }
    }

    /// An empty assembler writing into `buf` (cleared first, then grown to room for `bytes`
    /// bytes): reusing the buffer a previous [`Assembler::finish`] returned saves its
    /// allocation and page faults.
    pub fn with_buffer(mut buf: Vec<u8>, bytes: usize) -> Assembler {
        buf.clear();
        buf.reserve(bytes);
        Assembler {
            buf: CodeBuf::from_vec(buf),
            ..Assembler::default()
        }
    }

    /// The offset at which the next instruction will start. Record it before emitting an
    /// instruction to build trap-site or source-position tables.
    pub fn pc_offset(&self) -> usize {
        self.buf.len()
    }

    /// The bytes emitted so far. References to labels not yet bound hold placeholders, and the
    /// constant pool is not there yet.
    pub fn code(&self) -> &[u8] {
        &self.buf
    }

    /// The first error recorded, if any (see the module documentation).
    pub fn error(&self) -> Option<AsmError> {
        self.error
    }

    /// Finishes the code: appends the constant pool (16-byte aligned, padded with `int3`),
    /// resolves its references and returns the bytes.
    ///
    /// # Errors
    /// The first error recorded while emitting, else [`AsmError::UnboundLabel`] if a
    /// referenced label was never bound.
    pub fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        self.finish_in_place()?;
        Ok(self.buf.into_vec())
    }

    /// [`Assembler::finish`] that leaves the finished code in the assembler ([`Assembler::code`])
    /// instead of returning it, so that the assembler can then be [`Assembler::reset`] and
    /// reused for the next piece of code without allocating again.
    ///
    /// # Errors
    /// As [`Assembler::finish`]. Emitting after this call is a programming error.
    pub fn finish_in_place(&mut self) -> Result<(), AsmError> {
        if !self.pool.is_empty() {
            self.align_with(16, inst::INT3.op);
            for entry in self.pool.layout() {
                self.bind(entry.label);
                let bytes = entry.bits.to_le_bytes();
                self.buf.extend_from_slice(&bytes[..entry.width as usize]);
            }
        }
        if self.buf.len() > i32::MAX as usize {
            self.fail(AsmError::CodeTooLarge);
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.labels.has_pending() {
            let label = self
                .labels
                .first_unbound_referenced()
                .expect("a pending fixup");
            return Err(AsmError::UnboundLabel(label));
        }
        Ok(())
    }

    /// Empties the assembler for a new piece of code (no bytes, labels, constants or error),
    /// keeping its allocations, and makes room for `bytes` bytes of code. Labels of the old
    /// code must not be used with it any more. Cost: O(1) plus the reservation.
    pub fn reset(&mut self, bytes: usize) {
        self.buf.clear();
        self.buf.reserve(bytes);
        self.labels.clear();
        self.pool.clear();
        self.error = None;
    }

    /// The capacity of the code buffer, in bytes (what a reused assembler keeps allocated).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, e: AsmError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    #[cold]
    #[inline(never)]
    fn invalid(&mut self, what: &'static str) {
        let at = self.pc_offset();
        self.fail(AsmError::InvalidOperands { at, what });
    }

    fn pc32(&self) -> u32 {
        self.buf.len() as u32
    }

    // --- Labels --------------------------------------------------------------------------

    /// A new, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.create()
    }

    /// Binds `label` to the current offset and patches every earlier reference to it.
    ///
    /// Binding a label twice records [`AsmError::LabelBoundTwice`] (the label keeps its first
    /// position); a forced-short reference that cannot reach records
    /// [`AsmError::ShortBranchOutOfRange`].
    pub fn bind(&mut self, label: Label) {
        let pos = self.pc32();
        match self.labels.bind(label, pos, &mut self.buf) {
            Ok(()) => {}
            Err(BindError::AlreadyBound) => self.fail(AsmError::LabelBoundTwice(label)),
            Err(BindError::ShortOutOfRange { at }) => {
                self.fail(AsmError::ShortBranchOutOfRange { at: at as usize })
            }
        }
    }

    /// The offset `label` is bound to, if it is bound.
    pub fn label_offset(&self, label: Label) -> Option<usize> {
        self.labels.pos(label).map(|p| p as usize)
    }

    /// Records (or, for a bound label, resolves at once) a rel32 reference.
    fn label_ref(&mut self, r: LabelRef) {
        self.rel32_ref(r.label, r.at, r.end);
    }

    fn rel32_ref(&mut self, label: Label, at: u32, end: u32) {
        match self.labels.pos(label) {
            Some(pos) => {
                crate::label::patch(&mut self.buf, at, end, FixupKind::Rel32, pos);
            }
            None => self.labels.add_fixup(label, at, end, FixupKind::Rel32),
        }
    }

    // --- Core emitters: operands to `encoding` -------------------------------------------

    /// A ModRM instruction with a legacy/REX encoding.
    ///
    /// Fast path for the bulk of generated code: primary-map and `0F xx` opcodes (with any
    /// prefixes) on a register or `[base + index * scale + disp]`, with no or an 8/16/32-bit
    /// immediate, encoded inline with one fixed 16-byte copy; everything else (`0F 38`/`0F 3A`
    /// maps, rip-relative and base-less memory) goes through [`encoding::emit_legacy`].
    #[inline(always)]
    fn legacy(&mut self, enc: Legacy, reg: u8, rm: Rm, imm: Imm) {
        if matches!(enc.opcode.map, Map::Primary | Map::M0F) {
            let imm = match imm {
                Imm::None => Some((0, 0)),
                Imm::B(v) => Some((u32::from(v), 1)),
                Imm::W(v) => Some((u32::from(v), 2)),
                Imm::D(v) => Some((v, 4)),
                Imm::Q(_) => None,
            };
            if let Some((bits, len)) = imm {
                match rm {
                    Rm::Reg(n) => {
                        encoding::emit_fast_rr(&mut self.buf, enc, reg, n, bits, len);
                        return;
                    }
                    Rm::Mem(Mem {
                        addr: Addr::Base { base, index },
                        disp,
                    }) => {
                        encoding::emit_fast_mem(
                            &mut self.buf,
                            enc,
                            reg,
                            base.enc(),
                            index.map(|(i, scale)| (i.enc(), scale.bits())),
                            disp,
                            bits,
                            len,
                        );
                        return;
                    }
                    Rm::Mem(_) => {}
                }
            }
        }
        self.legacy_general(enc, reg, rm, imm);
    }

    /// [`Assembler::legacy`] for any operands, out of line.
    #[inline(never)]
    fn legacy_general(&mut self, enc: Legacy, reg: u8, rm: Rm, imm: Imm) {
        if let Some(r) = encoding::emit_legacy(&mut self.buf, enc, reg, rm, imm) {
            self.label_ref(r);
        }
    }

    /// A VEX instruction.
    fn vex(&mut self, enc: Vex, reg: u8, vvvv: u8, rm: Rm, imm: Imm) {
        if let Some(r) = encoding::emit_vex(&mut self.buf, enc, reg, vvvv, rm, imm) {
            self.label_ref(r);
        }
    }

    /// An integer instruction of `size` from an [`IntForm`] row: `reg` goes in ModRM.reg, or
    /// the row's `/digit` when `None`. Records an error and emits nothing when the row has no
    /// form for `size`.
    #[inline(always)]
    fn int(&mut self, form: IntForm, size: Size, reg: Option<Gpr>, rm: Rm, imm: Imm) {
        // The 32- and 64-bit forms (the bulk of generated code) get their own copies of the
        // encoder, with the prefixes known; 8/16-bit forms share an out-of-line one.
        let w = match size {
            Size::S32 => false,
            Size::S64 => true,
            Size::S8 | Size::S16 => {
                self.int_small(form, size, reg, rm, imm);
                return;
            }
        };
        let enc = Legacy {
            opcode: Opcode {
                prefix: encoding::Prefix::None,
                map: form.map,
                op: form.op,
            },
            opsize16: false,
            w,
            force_rex: false,
        };
        let reg_field = reg.map_or(form.digit, Gpr::enc);
        self.legacy(enc, reg_field, rm, imm);
    }

    /// [`Assembler::int`] for 8- and 16-bit operations, out of line.
    #[inline(never)]
    fn int_small(&mut self, form: IntForm, size: Size, reg: Option<Gpr>, rm: Rm, imm: Imm) {
        self.int_narrow(form, size, reg, rm, imm);
    }

    /// The encoder of [`Assembler::int`] for 8- and 16-bit operations, inline: for callers
    /// whose size is a constant (`setcc`).
    #[inline(always)]
    fn int_narrow(&mut self, form: IntForm, size: Size, reg: Option<Gpr>, rm: Rm, imm: Imm) {
        let op = match (size, form.op8) {
            (Size::S8, Some(op8)) => op8,
            (Size::S8, None) => {
                self.invalid("no 8-bit form");
                return;
            }
            _ => form.op,
        };
        let byte_rex = size == Size::S8
            && (reg.is_some_and(Gpr::byte_needs_rex)
                || matches!(rm, Rm::Reg(n) if (4..8).contains(&n)));
        let enc = Legacy {
            opcode: Opcode {
                prefix: encoding::Prefix::None,
                map: form.map,
                op,
            },
            opsize16: size == Size::S16,
            w: size == Size::S64,
            force_rex: byte_rex,
        };
        let reg_field = reg.map_or(form.digit, Gpr::enc);
        self.legacy(enc, reg_field, rm, imm);
    }

    /// A legacy instruction on non-byte operands with a full [`Opcode`] (mandatory prefixes).
    #[inline(always)]
    fn op_w(&mut self, opcode: Opcode, w: bool, reg: u8, rm: Rm, imm: Imm) {
        let enc = Legacy {
            opcode,
            opsize16: false,
            w,
            force_rex: false,
        };
        self.legacy(enc, reg, rm, imm);
    }

    /// The immediate field of an operation of `size` holding `v` (truncated; 64-bit
    /// operations take a sign-extended imm32).
    fn sized_imm(size: Size, v: i64) -> Imm {
        match size {
            Size::S8 => Imm::B(v as u8),
            Size::S16 => Imm::W(v as u16),
            Size::S32 | Size::S64 => Imm::D(v as u32),
        }
    }

    fn check_imm(&mut self, size: Size, v: i64) -> bool {
        if imm_fits(size, v) {
            true
        } else {
            let at = self.pc_offset();
            self.fail(AsmError::ImmediateOutOfRange { at, value: v });
            false
        }
    }

    fn require_32_64(&mut self, size: Size) -> bool {
        if matches!(size, Size::S32 | Size::S64) {
            true
        } else {
            self.invalid("only 32- and 64-bit forms exist");
            false
        }
    }

    fn require_16_32_64(&mut self, size: Size) -> bool {
        if size == Size::S8 {
            self.invalid("no 8-bit form");
            false
        } else {
            true
        }
    }

    // --- Raw data, nops and alignment ----------------------------------------------------

    /// Appends raw bytes (data, or an instruction the assembler lacks).
    pub fn emit_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends a little-endian 32-bit value.
    pub fn emit_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a little-endian 64-bit value.
    pub fn emit_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a 32-bit value equal to `offset(label) - base`, e.g. an entry of a relative
    /// jump table whose start is at offset `base`. Resolved when `label` is bound.
    pub fn emit_label_rel32(&mut self, label: Label, base: usize) {
        let at = self.pc32();
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        self.rel32_ref(label, at, base as u32);
    }

    /// One nop instruction of exactly `len` bytes, 1..=15 (the recommended multi-byte forms;
    /// 11..=15 add `66` prefixes to the 10-byte form). Other lengths record an error.
    pub fn nop(&mut self, len: usize) {
        match len {
            1..=10 => self.buf.extend_from_slice(inst::NOPS[len - 1]),
            11..=15 => {
                self.buf.extend_repeat(inst::NOP_PAD, len - 10);
                self.buf.extend_from_slice(inst::NOPS[9]);
            }
            _ => self.invalid("a nop is 1..=15 bytes"),
        }
    }

    /// `len` bytes of nops, as few instructions as possible of at most 10 bytes each (longer
    /// nops decode slowly on some cores).
    pub fn nops(&mut self, mut len: usize) {
        while len > 0 {
            let n = len.min(10);
            self.nop(n);
            len -= n;
        }
    }

    /// Pads with nops up to the next multiple of `align` (a power of two), e.g. for loop
    /// heads or jump-table slots. Alignment is relative to the start of the code, so the code
    /// must be placed at an address aligned at least as much.
    pub fn align(&mut self, align: usize) {
        if !align.is_power_of_two() {
            self.invalid("alignment must be a power of two");
            return;
        }
        let pad = self.pc_offset().wrapping_neg() & (align - 1);
        self.nops(pad);
    }

    fn align_with(&mut self, align: usize, byte: u8) {
        let pad = self.pc_offset().wrapping_neg() & (align - 1);
        self.buf.extend_repeat(byte, pad);
    }

    // --- Data movement -------------------------------------------------------------------

    /// `mov dst, src` (any width; 32-bit zero-extends into the upper half).
    pub fn mov_rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        self.int(inst::MOV_MR, size, Some(src), Rm::Reg(dst.enc()), Imm::None);
    }

    /// `mov dst, [mem]`: a load of `size` (8/16-bit loads merge into the register; prefer
    /// [`Assembler::movzx_rm`]).
    pub fn mov_rm(&mut self, size: Size, dst: Gpr, src: Mem) {
        self.int_mem(inst::MOV_RM, size, dst, src);
    }

    /// `mov [mem], src`: a store of 8, 16, 32 or 64 bits.
    pub fn mov_mr(&mut self, size: Size, dst: Mem, src: Gpr) {
        self.int_mem(inst::MOV_MR, size, src, dst);
    }

    /// [`Assembler::int`] with a register in ModRM.reg and a memory operand: 32/64-bit
    /// primary-map forms addressing `[base + disp]` (most loads, stores and `lea`s) take a
    /// shorter encoder.
    #[inline(always)]
    fn int_mem(&mut self, form: IntForm, size: Size, reg: Gpr, mem: Mem) {
        if let (Size::S32 | Size::S64, Addr::Base { base, index: None }, Map::Primary) =
            (size, mem.addr, form.map)
        {
            let (w, reg, base) = (size == Size::S64, reg.enc(), base.enc());
            encoding::emit_base_mem(&mut self.buf, form.op, w, reg, base, mem.disp);
            return;
        }
        self.int(form, size, Some(reg), Rm::Mem(mem), Imm::None);
    }

    /// `mov [mem], imm`: a store of an immediate (64-bit stores sign-extend an imm32).
    pub fn mov_mi(&mut self, size: Size, dst: Mem, imm: i32) {
        let imm = i64::from(imm);
        if self.check_imm(size, imm) {
            self.int(
                inst::MOV_MI,
                size,
                None,
                Rm::Mem(dst),
                Self::sized_imm(size, imm),
            );
        }
    }

    /// `mov dst, imm` in the shortest form for `size`:
    /// 8/16/32-bit take `imm` in the signed or unsigned range of the width (`B0+r`/`B8+r`);
    /// 64-bit uses `mov r32, imm32` (zero-extending, 5-6 bytes) for `0..=u32::MAX`,
    /// `mov r64, simm32` (7 bytes) for other `i32` values, else `movabs` (10 bytes).
    pub fn mov_ri(&mut self, size: Size, dst: Gpr, imm: i64) {
        match size {
            Size::S8 | Size::S16 => {
                if self.check_imm(size, imm) {
                    self.mov_oi(size, dst, Self::sized_imm(size, imm));
                }
            }
            Size::S32 => {
                if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&imm) {
                    self.mov_oi(size, dst, Self::sized_imm(size, imm));
                } else {
                    let at = self.pc_offset();
                    self.fail(AsmError::ImmediateOutOfRange { at, value: imm });
                }
            }
            Size::S64 => {
                if (0..=i64::from(u32::MAX)).contains(&imm) {
                    self.mov_ri(Size::S32, dst, imm);
                } else if i32::try_from(imm).is_ok() {
                    let imm = Self::sized_imm(Size::S64, imm);
                    self.int(inst::MOV_MI, Size::S64, None, Rm::Reg(dst.enc()), imm);
                } else {
                    self.mov_ri64(dst, imm as u64);
                }
            }
        }
    }

    /// `movabs dst, imm64`: always the 10-byte form (e.g. for a value patched later).
    pub fn mov_ri64(&mut self, dst: Gpr, imm: u64) {
        self.mov_oi(Size::S64, dst, Imm::Q(imm));
    }

    /// `mov r, imm` (`B0+r` / `B8+r`).
    fn mov_oi(&mut self, size: Size, dst: Gpr, imm: Imm) {
        let form = inst::MOV_OI;
        let op = if size == Size::S8 {
            form.op8.unwrap_or(form.op)
        } else {
            form.op
        };
        let enc = Legacy {
            opcode: Opcode::primary(op),
            opsize16: size == Size::S16,
            w: size == Size::S64,
            force_rex: size == Size::S8 && dst.byte_needs_rex(),
        };
        encoding::emit_legacy_o(&mut self.buf, enc, dst.enc(), imm);
    }

    /// Shared body of `movzx`/`movsx`: `dst_size` is the result width, `src_size` the source
    /// width (smaller).
    fn extend(&mut self, signed: bool, dst_size: Size, src_size: Size, dst: Gpr, src: Rm) {
        let bytes_ok = src_size.bytes() < dst_size.bytes() && dst_size != Size::S8;
        if !bytes_ok {
            self.invalid("extension needs a source narrower than the destination");
            return;
        }
        match (src_size, signed) {
            (Size::S8 | Size::S16, _) => {
                let form = if signed { inst::MOVSX } else { inst::MOVZX };
                let op = if src_size == Size::S8 {
                    form.op8.unwrap_or(form.op)
                } else {
                    form.op
                };
                let byte_rex =
                    src_size == Size::S8 && matches!(src, Rm::Reg(n) if (4..8).contains(&n));
                let enc = Legacy {
                    opcode: Opcode {
                        prefix: encoding::Prefix::None,
                        map: form.map,
                        op,
                    },
                    opsize16: dst_size == Size::S16,
                    w: dst_size == Size::S64,
                    force_rex: byte_rex,
                };
                self.legacy(enc, dst.enc(), src, Imm::None);
            }
            // 32 -> 64 zero extension is a plain 32-bit mov.
            (Size::S32, false) => {
                self.int(inst::MOV_RM, Size::S32, Some(dst), src, Imm::None);
            }
            (Size::S32, true) => {
                self.int(inst::MOVSXD, Size::S64, Some(dst), src, Imm::None);
            }
            (Size::S64, _) => unreachable!("rejected above"),
        }
    }

    /// `movzx dst, src`: zero-extend the low `src_size` bits of `src` to `dst_size`
    /// (32 -> 64 is emitted as `mov r32, r32`).
    pub fn movzx_rr(&mut self, dst_size: Size, src_size: Size, dst: Gpr, src: Gpr) {
        self.extend(false, dst_size, src_size, dst, Rm::Reg(src.enc()));
    }

    /// `movzx dst, [mem]`: a zero-extending load (32 -> 64 is `mov r32, m32`).
    pub fn movzx_rm(&mut self, dst_size: Size, src_size: Size, dst: Gpr, src: Mem) {
        self.extend(false, dst_size, src_size, dst, Rm::Mem(src));
    }

    /// `movsx dst, src` (`movsxd` for 32 -> 64): sign-extend.
    pub fn movsx_rr(&mut self, dst_size: Size, src_size: Size, dst: Gpr, src: Gpr) {
        self.extend(true, dst_size, src_size, dst, Rm::Reg(src.enc()));
    }

    /// `movsx dst, [mem]` (`movsxd` for 32 -> 64): a sign-extending load.
    pub fn movsx_rm(&mut self, dst_size: Size, src_size: Size, dst: Gpr, src: Mem) {
        self.extend(true, dst_size, src_size, dst, Rm::Mem(src));
    }

    /// `lea dst, [mem]` (16/32/64-bit). With [`Mem::label`] it materialises a code address.
    pub fn lea(&mut self, size: Size, dst: Gpr, src: Mem) {
        self.int_mem(inst::LEA, size, dst, src);
    }

    /// `xchg dst, src`.
    pub fn xchg_rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        self.int(inst::XCHG, size, Some(src), Rm::Reg(dst.enc()), Imm::None);
    }

    /// `xchg [mem], src` (implicitly locked by the CPU).
    pub fn xchg_mr(&mut self, size: Size, dst: Mem, src: Gpr) {
        self.int(inst::XCHG, size, Some(src), Rm::Mem(dst), Imm::None);
    }

    /// `lock cmpxchg [mem], src`: compares `rax` (of `size`) with `[mem]`; if equal stores
    /// `src`, else loads `[mem]` into `rax`. ZF tells which.
    pub fn lock_cmpxchg_mr(&mut self, size: Size, dst: Mem, src: Gpr) {
        self.buf.push(inst::LOCK);
        self.int(inst::CMPXCHG, size, Some(src), Rm::Mem(dst), Imm::None);
    }

    /// `lock xadd [mem], src`: atomically adds `src` to `[mem]`, old value into `src`.
    pub fn lock_xadd_mr(&mut self, size: Size, dst: Mem, src: Gpr) {
        self.buf.push(inst::LOCK);
        self.int(inst::XADD, size, Some(src), Rm::Mem(dst), Imm::None);
    }

    /// `mfence`.
    pub fn mfence(&mut self) {
        self.op_w(
            inst::FENCE,
            false,
            inst::MFENCE_DIGIT,
            Rm::Reg(0),
            Imm::None,
        );
    }

    /// `bswap dst` (32/64-bit).
    pub fn bswap(&mut self, size: Size, dst: Gpr) {
        if self.require_32_64(size) {
            let enc = Legacy {
                opcode: Opcode {
                    prefix: encoding::Prefix::None,
                    map: inst::BSWAP.map,
                    op: inst::BSWAP.op,
                },
                opsize16: false,
                w: size == Size::S64,
                force_rex: false,
            };
            encoding::emit_legacy_o(&mut self.buf, enc, dst.enc(), Imm::None);
        }
    }

    /// `push src` (64-bit).
    pub fn push_r(&mut self, src: Gpr) {
        let enc = Legacy {
            opcode: inst::PUSH_O,
            opsize16: false,
            w: false,
            force_rex: false,
        };
        encoding::emit_legacy_o(&mut self.buf, enc, src.enc(), Imm::None);
    }

    /// `pop dst` (64-bit).
    pub fn pop_r(&mut self, dst: Gpr) {
        let enc = Legacy {
            opcode: inst::POP_O,
            opsize16: false,
            w: false,
            force_rex: false,
        };
        encoding::emit_legacy_o(&mut self.buf, enc, dst.enc(), Imm::None);
    }

    /// `push imm` (sign-extended to 64 bits; imm8 form when it fits).
    pub fn push_i(&mut self, imm: i32) {
        if fits_i8(i64::from(imm)) {
            encoding::emit_plain(&mut self.buf, inst::PUSH_I8, false, Imm::B(imm as u8));
        } else {
            encoding::emit_plain(&mut self.buf, inst::PUSH_I32, false, Imm::D(imm as u32));
        }
    }

    /// `push qword [mem]`.
    pub fn push_m(&mut self, src: Mem) {
        self.op_w(
            inst::GROUP5,
            false,
            inst::PUSH_DIGIT,
            Rm::Mem(src),
            Imm::None,
        );
    }

    /// `pop qword [mem]`.
    pub fn pop_m(&mut self, dst: Mem) {
        self.op_w(inst::POP_M, false, 0, Rm::Mem(dst), Imm::None);
    }

    // --- Integer arithmetic --------------------------------------------------------------

    /// `op dst, src` for the ALU operations (`add`, `sub`, `and`, `or`, `xor`, `cmp`, ...).
    pub fn alu_rr(&mut self, op: AluOp, size: Size, dst: Gpr, src: Gpr) {
        self.int(op.mr(), size, Some(src), Rm::Reg(dst.enc()), Imm::None);
    }

    /// `op dst, [mem]`.
    pub fn alu_rm(&mut self, op: AluOp, size: Size, dst: Gpr, src: Mem) {
        self.int_mem(op.rm(), size, dst, src);
    }

    /// `op [mem], src`.
    pub fn alu_mr(&mut self, op: AluOp, size: Size, dst: Mem, src: Gpr) {
        self.int_mem(op.mr(), size, src, dst);
    }

    /// `op dst, imm`: the sign-extended imm8 form when it fits, else imm8/16/32 by width.
    pub fn alu_ri(&mut self, op: AluOp, size: Size, dst: Gpr, imm: i32) {
        self.alu_i(op, size, Rm::Reg(dst.enc()), imm);
    }

    /// `op [mem], imm`.
    pub fn alu_mi(&mut self, op: AluOp, size: Size, dst: Mem, imm: i32) {
        self.alu_i(op, size, Rm::Mem(dst), imm);
    }

    /// `op dst, imm32` always in the 32-bit immediate form (32/64-bit), so that the immediate
    /// can be rewritten later with [`Assembler::patch_i32`] at `pc_offset() - 4`: e.g. the
    /// `sub rsp, frame_size` of a prologue emitted before the frame size is known.
    pub fn alu_ri32(&mut self, op: AluOp, size: Size, dst: Gpr, imm: i32) {
        if self.require_32_64(size) {
            self.int(op.mi(), size, None, Rm::Reg(dst.enc()), Imm::D(imm as u32));
        }
    }

    /// Overwrites the 4 bytes at `at` (an immediate or displacement emitted earlier) with
    /// `value`. Records [`AsmError::InvalidOperands`] if the range is not inside the code.
    pub fn patch_i32(&mut self, at: usize, value: i32) {
        match self.buf.get_mut(at..at.saturating_add(4)) {
            Some(field) if field.len() == 4 => field.copy_from_slice(&value.to_le_bytes()),
            _ => self.invalid("patch outside the code"),
        }
    }

    fn alu_i(&mut self, op: AluOp, size: Size, rm: Rm, imm: i32) {
        let imm = i64::from(imm);
        if !self.check_imm(size, imm) {
            return;
        }
        if size != Size::S8 && fits_i8(imm) {
            self.int(op.mi8(), size, None, rm, Imm::B(imm as u8));
        } else {
            self.int(op.mi(), size, None, rm, Self::sized_imm(size, imm));
        }
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, size: Size, a: Gpr, b: Gpr) {
        self.int(inst::TEST_MR, size, Some(b), Rm::Reg(a.enc()), Imm::None);
    }

    /// `test [mem], b`.
    pub fn test_mr(&mut self, size: Size, a: Mem, b: Gpr) {
        self.int(inst::TEST_MR, size, Some(b), Rm::Mem(a), Imm::None);
    }

    /// `test a, imm` (no short immediate form exists).
    pub fn test_ri(&mut self, size: Size, a: Gpr, imm: i32) {
        self.test_i(size, Rm::Reg(a.enc()), imm);
    }

    /// `test [mem], imm`.
    pub fn test_mi(&mut self, size: Size, a: Mem, imm: i32) {
        self.test_i(size, Rm::Mem(a), imm);
    }

    fn test_i(&mut self, size: Size, rm: Rm, imm: i32) {
        let imm = i64::from(imm);
        if self.check_imm(size, imm) {
            self.int(inst::TEST_MI, size, None, rm, Self::sized_imm(size, imm));
        }
    }

    /// One-operand operations on a register: `not`, `neg`, `inc`, `dec`, and `mul`/`imul`/
    /// `div`/`idiv` (implicit `rdx:rax`; precede `div` with `xor edx, edx` and `idiv` with
    /// [`Assembler::cdq`]/[`Assembler::cqo`]).
    pub fn unary_r(&mut self, op: UnaryOp, size: Size, dst: Gpr) {
        self.int(op.form(), size, None, Rm::Reg(dst.enc()), Imm::None);
    }

    /// One-operand operations on memory.
    pub fn unary_m(&mut self, op: UnaryOp, size: Size, dst: Mem) {
        self.int(op.form(), size, None, Rm::Mem(dst), Imm::None);
    }

    /// `imul dst, src` (16/32/64-bit, truncating).
    pub fn imul_rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
        if self.require_16_32_64(size) {
            self.int(
                inst::IMUL_RM,
                size,
                Some(dst),
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `imul dst, [mem]`.
    pub fn imul_rm(&mut self, size: Size, dst: Gpr, src: Mem) {
        if self.require_16_32_64(size) {
            self.int(inst::IMUL_RM, size, Some(dst), Rm::Mem(src), Imm::None);
        }
    }

    /// `imul dst, src, imm` (imm8 form when it fits).
    pub fn imul_rri(&mut self, size: Size, dst: Gpr, src: Gpr, imm: i32) {
        self.imul_i(size, dst, Rm::Reg(src.enc()), imm);
    }

    /// `imul dst, [mem], imm`.
    pub fn imul_rmi(&mut self, size: Size, dst: Gpr, src: Mem, imm: i32) {
        self.imul_i(size, dst, Rm::Mem(src), imm);
    }

    fn imul_i(&mut self, size: Size, dst: Gpr, src: Rm, imm: i32) {
        let imm = i64::from(imm);
        if !self.require_16_32_64(size) || !self.check_imm(size, imm) {
            return;
        }
        if fits_i8(imm) {
            self.int(inst::IMUL_RMI8, size, Some(dst), src, Imm::B(imm as u8));
        } else {
            self.int(
                inst::IMUL_RMI,
                size,
                Some(dst),
                src,
                Self::sized_imm(size, imm),
            );
        }
    }

    /// `cdq`: sign-extend `eax` into `edx:eax` (before a 32-bit `idiv`).
    pub fn cdq(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::CDQ, false, Imm::None);
    }

    /// `cqo`: sign-extend `rax` into `rdx:rax` (before a 64-bit `idiv`).
    pub fn cqo(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::CDQ, true, Imm::None);
    }

    /// `cdqe`: sign-extend `eax` into `rax`.
    pub fn cdqe(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::CDQE, true, Imm::None);
    }

    /// `op dst, cl`: shift or rotate by `cl` (masked to 5 or 6 bits by the CPU).
    pub fn shift_r_cl(&mut self, op: ShiftOp, size: Size, dst: Gpr) {
        self.int(op.by_cl(), size, None, Rm::Reg(dst.enc()), Imm::None);
    }

    /// `op [mem], cl`.
    pub fn shift_m_cl(&mut self, op: ShiftOp, size: Size, dst: Mem) {
        self.int(op.by_cl(), size, None, Rm::Mem(dst), Imm::None);
    }

    /// `op dst, imm`: shift or rotate by a constant (`D1` form for 1, else `C1 ib`).
    pub fn shift_ri(&mut self, op: ShiftOp, size: Size, dst: Gpr, imm: u8) {
        self.shift_i(op, size, Rm::Reg(dst.enc()), imm);
    }

    /// `op [mem], imm`.
    pub fn shift_mi(&mut self, op: ShiftOp, size: Size, dst: Mem, imm: u8) {
        self.shift_i(op, size, Rm::Mem(dst), imm);
    }

    fn shift_i(&mut self, op: ShiftOp, size: Size, rm: Rm, imm: u8) {
        if imm == 1 {
            self.int(op.by_one(), size, None, rm, Imm::None);
        } else {
            self.int(op.by_imm(), size, None, rm, Imm::B(imm));
        }
    }

    /// BMI2 `shlx`/`shrx`/`sarx dst, src, count` (32/64-bit; needs [`CpuFeatures::bmi2`]):
    /// shift by any register, flags untouched. Rotates have no such form (invalid operands).
    pub fn shiftx_rrr(&mut self, op: ShiftOp, size: Size, dst: Gpr, src: Gpr, count: Gpr) {
        self.shiftx(op, size, dst, Rm::Reg(src.enc()), count);
    }

    /// BMI2 `shlx`/`shrx`/`sarx dst, [mem], count`.
    pub fn shiftx_rmr(&mut self, op: ShiftOp, size: Size, dst: Gpr, src: Mem, count: Gpr) {
        self.shiftx(op, size, dst, Rm::Mem(src), count);
    }

    fn shiftx(&mut self, op: ShiftOp, size: Size, dst: Gpr, src: Rm, count: Gpr) {
        let Some(opcode) = op.bmi2() else {
            self.invalid("BMI2 has no rotate by register");
            return;
        };
        if self.require_32_64(size) {
            self.vop(
                opcode,
                size == Size::S64,
                dst.enc(),
                count.enc(),
                src,
                Imm::None,
            );
        }
    }

    /// BMI2 `rorx dst, src, imm` (32/64-bit): rotate right by a constant, flags untouched.
    pub fn rorx_rri(&mut self, size: Size, dst: Gpr, src: Gpr, imm: u8) {
        if self.require_32_64(size) {
            let src = Rm::Reg(src.enc());
            self.vop(
                inst::RORX,
                size == Size::S64,
                dst.enc(),
                0,
                src,
                Imm::B(imm),
            );
        }
    }

    /// `setcc dst8`: the byte register gets 1 if `cond` holds, else 0 (upper bits kept).
    pub fn setcc_r(&mut self, cond: Cond, dst: Gpr) {
        let form = IntForm {
            op8: Some(inst::SETCC.op + cond.bits()),
            ..inst::SETCC
        };
        self.int_narrow(form, Size::S8, None, Rm::Reg(dst.enc()), Imm::None);
    }

    /// `setcc byte [mem]`.
    pub fn setcc_m(&mut self, cond: Cond, dst: Mem) {
        let form = IntForm {
            op8: Some(inst::SETCC.op + cond.bits()),
            ..inst::SETCC
        };
        self.int_narrow(form, Size::S8, None, Rm::Mem(dst), Imm::None);
    }

    /// `cmovcc dst, src` (16/32/64-bit).
    pub fn cmov_rr(&mut self, cond: Cond, size: Size, dst: Gpr, src: Gpr) {
        self.cmov(cond, size, dst, Rm::Reg(src.enc()));
    }

    /// `cmovcc dst, [mem]` (the load happens, and may fault, even if `cond` is false).
    pub fn cmov_rm(&mut self, cond: Cond, size: Size, dst: Gpr, src: Mem) {
        self.cmov(cond, size, dst, Rm::Mem(src));
    }

    fn cmov(&mut self, cond: Cond, size: Size, dst: Gpr, src: Rm) {
        if self.require_16_32_64(size) {
            let form = IntForm {
                op: inst::CMOVCC.op + cond.bits(),
                ..inst::CMOVCC
            };
            self.int(form, size, Some(dst), src, Imm::None);
        }
    }

    /// `lzcnt`/`tzcnt`/`popcnt`/`bsr`/`bsf dst, src` (16/32/64-bit).
    pub fn bit_rr(&mut self, op: BitOp, size: Size, dst: Gpr, src: Gpr) {
        self.bit(op, size, dst, Rm::Reg(src.enc()));
    }

    /// `lzcnt`/`tzcnt`/`popcnt`/`bsr`/`bsf dst, [mem]`.
    pub fn bit_rm(&mut self, op: BitOp, size: Size, dst: Gpr, src: Mem) {
        self.bit(op, size, dst, Rm::Mem(src));
    }

    fn bit(&mut self, op: BitOp, size: Size, dst: Gpr, src: Rm) {
        if self.require_16_32_64(size) {
            let enc = Legacy {
                opcode: op.opcode(),
                opsize16: size == Size::S16,
                w: size == Size::S64,
                force_rex: false,
            };
            self.legacy(enc, dst.enc(), src, Imm::None);
        }
    }

    /// Count leading zeros of `src` into `dst` (32/64-bit; the full width for 0): `lzcnt` if
    /// `cpu.lzcnt`, else `bsr; jnz; mov; xor` (4 instructions, one short forward branch).
    pub fn lzcnt_or_bsr(&mut self, cpu: CpuFeatures, size: Size, dst: Gpr, src: Gpr) {
        if !self.require_32_64(size) {
            return;
        }
        if cpu.lzcnt {
            self.bit_rr(BitOp::Lzcnt, size, dst, src);
            return;
        }
        // bsr gives the index i of the top set bit; lzcnt = (bits - 1) - i = i ^ (bits - 1).
        // For a zero source, 2 * bits - 1 ^ (bits - 1) = bits.
        let bits = i64::from(size.bits());
        let done = self.new_label();
        self.bit_rr(BitOp::Bsr, size, dst, src);
        self.jcc_sized(Cond::Ne, done, BranchSize::Short);
        self.mov_ri(Size::S32, dst, 2 * bits - 1);
        self.bind(done);
        self.alu_ri(AluOp::Xor, Size::S32, dst, (bits - 1) as i32);
    }

    /// Count trailing zeros of `src` into `dst` (32/64-bit; the full width for 0): `tzcnt` if
    /// `cpu.bmi1`, else `bsf; jnz; mov`.
    pub fn tzcnt_or_bsf(&mut self, cpu: CpuFeatures, size: Size, dst: Gpr, src: Gpr) {
        if !self.require_32_64(size) {
            return;
        }
        if cpu.bmi1 {
            self.bit_rr(BitOp::Tzcnt, size, dst, src);
            return;
        }
        let done = self.new_label();
        self.bit_rr(BitOp::Bsf, size, dst, src);
        self.jcc_sized(Cond::Ne, done, BranchSize::Short);
        self.mov_ri(Size::S32, dst, i64::from(size.bits()));
        self.bind(done);
    }

    /// Population count of `src` into `dst` (32/64-bit): `popcnt` if `cpu.popcnt`, else the
    /// SWAR bit-twiddling sequence (16 instructions; the 64-bit masks come from the constant
    /// pool). `tmp` is clobbered and must differ from `dst` (it may equal `src`).
    pub fn popcnt_or_swar(&mut self, cpu: CpuFeatures, size: Size, dst: Gpr, src: Gpr, tmp: Gpr) {
        if !self.require_32_64(size) {
            return;
        }
        if cpu.popcnt {
            self.bit_rr(BitOp::Popcnt, size, dst, src);
            return;
        }
        if tmp == dst {
            self.invalid("popcnt fallback needs tmp != dst");
            return;
        }
        let mask = |asm: &mut Assembler, op: AluOp, reg: Gpr, byte: u8| {
            let pattern = u64::from_le_bytes([byte; 8]);
            if size == Size::S64 {
                let m = asm.const_u64(pattern);
                asm.alu_rm(op, size, reg, m);
            } else {
                asm.alu_ri(op, size, reg, pattern as u32 as i32);
            }
        };
        if dst != src {
            self.mov_rr(size, dst, src);
        }
        // x -= (x >> 1) & 0x55..
        self.mov_rr(size, tmp, dst);
        self.shift_ri(ShiftOp::Shr, size, tmp, 1);
        mask(self, AluOp::And, tmp, 0x55);
        self.alu_rr(AluOp::Sub, size, dst, tmp);
        // x = (x & 0x33..) + ((x >> 2) & 0x33..)
        self.mov_rr(size, tmp, dst);
        self.shift_ri(ShiftOp::Shr, size, tmp, 2);
        mask(self, AluOp::And, dst, 0x33);
        mask(self, AluOp::And, tmp, 0x33);
        self.alu_rr(AluOp::Add, size, dst, tmp);
        // x = (x + (x >> 4)) & 0x0f..
        self.mov_rr(size, tmp, dst);
        self.shift_ri(ShiftOp::Shr, size, tmp, 4);
        self.alu_rr(AluOp::Add, size, dst, tmp);
        mask(self, AluOp::And, dst, 0x0F);
        // x = (x * 0x01..) >> (bits - 8)
        if size == Size::S64 {
            let m = self.const_u64(0x0101_0101_0101_0101);
            self.imul_rm(size, dst, m);
        } else {
            self.imul_rri(size, dst, dst, 0x0101_0101);
        }
        self.shift_ri(ShiftOp::Shr, size, dst, (size.bits() - 8) as u8);
    }

    // --- Control flow --------------------------------------------------------------------

    /// `jmp label`, short or near by the [`BranchSize::Auto`] policy.
    pub fn jmp(&mut self, label: Label) {
        self.jmp_sized(label, BranchSize::Auto);
    }

    /// `jcc label`, short or near by the [`BranchSize::Auto`] policy.
    pub fn jcc(&mut self, cond: Cond, label: Label) {
        self.jcc_sized(cond, label, BranchSize::Auto);
    }

    /// `jmp label` with an explicit encoding size.
    pub fn jmp_sized(&mut self, label: Label, size: BranchSize) {
        self.branch(inst::JMP_REL8, inst::JMP_REL32, label, size);
    }

    /// `jcc label` with an explicit encoding size.
    pub fn jcc_sized(&mut self, cond: Cond, label: Label, size: BranchSize) {
        let short = inst::JCC_REL8.plus(cond.bits());
        let near = inst::JCC_REL32.plus(cond.bits());
        self.branch(short, near, label, size);
    }

    /// A branch to `label` with the `short` (rel8) or `near` (rel32) opcode. A bound label's
    /// displacement is written with the instruction; an unbound one gets a fixup.
    #[inline(always)]
    fn branch(&mut self, short: Opcode, near: Opcode, label: Label, size: BranchSize) {
        let start = self.pc32();
        let bound = self.labels.pos(label);
        let use_short = match size {
            BranchSize::Short => true,
            BranchSize::Near => false,
            // The short form is 2 bytes: opcode + rel8.
            BranchSize::Auto => {
                bound.is_some_and(|pos| fits_i8(i64::from(pos) - (i64::from(start) + 2)))
            }
        };
        if use_short {
            match bound {
                Some(pos) => {
                    let mut rel = i64::from(pos) - (i64::from(start) + 2);
                    if !fits_i8(rel) {
                        self.fail(AsmError::ShortBranchOutOfRange {
                            at: start as usize + 1,
                        });
                        rel = 0;
                    }
                    encoding::emit_rel(&mut self.buf, short, rel as u32, 1);
                }
                None => {
                    // The fixup first, so that the instruction's append ends the method.
                    let end = start + 2;
                    self.labels.add_fixup(label, end - 1, end, FixupKind::Rel8);
                    encoding::emit_rel(&mut self.buf, short, 0, 1);
                }
            }
        } else {
            let end = start + if near.map == Map::M0F { 6 } else { 5 };
            match bound {
                // Offsets are below 2^31 (`finish` rejects larger code): no overflow.
                Some(pos) => encoding::emit_rel(&mut self.buf, near, pos.wrapping_sub(end), 4),
                None => {
                    self.labels.add_fixup(label, end - 4, end, FixupKind::Rel32);
                    encoding::emit_rel(&mut self.buf, near, 0, 4)
                }
            };
        }
    }

    /// `jmp rel32` with a raw displacement from the end of the instruction (5 bytes). For a
    /// target outside this code, record `pc_offset() - 4` after the call to relocate it.
    pub fn jmp_rel32(&mut self, disp: i32) {
        encoding::emit_plain(&mut self.buf, inst::JMP_REL32, false, Imm::D(disp as u32));
    }

    /// `jmp target` through a register.
    pub fn jmp_r(&mut self, target: Gpr) {
        self.op_w(
            inst::GROUP5,
            false,
            inst::JMP_DIGIT,
            Rm::Reg(target.enc()),
            Imm::None,
        );
    }

    /// `jmp qword [mem]`.
    pub fn jmp_m(&mut self, target: Mem) {
        self.op_w(
            inst::GROUP5,
            false,
            inst::JMP_DIGIT,
            Rm::Mem(target),
            Imm::None,
        );
    }

    /// `call label` (always rel32).
    pub fn call(&mut self, label: Label) {
        let end = encoding::emit_plain(&mut self.buf, inst::CALL_REL32, false, Imm::D(0));
        self.rel32_ref(label, end - 4, end);
    }

    /// `call rel32` with a raw displacement from the end of the instruction. For a callee
    /// outside this code, record `pc_offset() - 4` after the call and patch the field once
    /// the code's address is known.
    pub fn call_rel32(&mut self, disp: i32) {
        encoding::emit_plain(&mut self.buf, inst::CALL_REL32, false, Imm::D(disp as u32));
    }

    /// `call target` through a register.
    pub fn call_r(&mut self, target: Gpr) {
        self.op_w(
            inst::GROUP5,
            false,
            inst::CALL_DIGIT,
            Rm::Reg(target.enc()),
            Imm::None,
        );
    }

    /// `call qword [mem]`.
    pub fn call_m(&mut self, target: Mem) {
        self.op_w(
            inst::GROUP5,
            false,
            inst::CALL_DIGIT,
            Rm::Mem(target),
            Imm::None,
        );
    }

    /// `ret`.
    pub fn ret(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::RET, false, Imm::None);
    }

    /// `ret imm16`: return and pop `bytes` bytes of arguments.
    pub fn ret_imm(&mut self, bytes: u16) {
        encoding::emit_plain(&mut self.buf, inst::RET_IMM, false, Imm::W(bytes));
    }

    /// `ud2`: a guaranteed invalid-opcode trap (2 bytes).
    pub fn ud2(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::UD2, false, Imm::None);
    }

    /// `int3`: a breakpoint trap (1 byte).
    pub fn int3(&mut self) {
        encoding::emit_plain(&mut self.buf, inst::INT3, false, Imm::None);
    }

    // --- Constant pool -------------------------------------------------------------------

    fn constant(&mut self, bits: u128, width: u8) -> Mem {
        let label = match self.pool.find(bits, width) {
            Some(label) => label,
            None => {
                let label = self.new_label();
                self.pool.insert(bits, width, label);
                label
            }
        };
        Mem::label(label)
    }

    /// A rip-relative operand for the 4-byte constant `v` (deduplicated, emitted by
    /// [`Assembler::finish`], 4-byte aligned).
    pub fn const_f32(&mut self, v: f32) -> Mem {
        self.constant(u128::from(v.to_bits()), 4)
    }

    /// A rip-relative operand for the 8-byte constant `v` (8-byte aligned).
    pub fn const_f64(&mut self, v: f64) -> Mem {
        self.constant(u128::from(v.to_bits()), 8)
    }

    /// A rip-relative operand for the 4-byte constant `v`.
    pub fn const_u32(&mut self, v: u32) -> Mem {
        self.constant(u128::from(v), 4)
    }

    /// A rip-relative operand for the 8-byte constant `v`.
    pub fn const_u64(&mut self, v: u64) -> Mem {
        self.constant(u128::from(v), 8)
    }

    /// A rip-relative operand for the 16-byte constant `v` (16-byte aligned relative to the
    /// code start), e.g. a sign mask for `andps`/`xorpd`.
    pub fn const_u128(&mut self, v: u128) -> Mem {
        self.constant(v, 16)
    }

    // --- Scalar floating point: SSE ------------------------------------------------------

    /// `op dst, src` for the [`SseOp`] table (SSE encoding: `dst` is also the first source).
    pub fn sse_rr(&mut self, op: SseOp, dst: Xmm, src: Xmm) {
        self.op_w(op.opcode(), false, dst.enc(), Rm::Reg(src.enc()), Imm::None);
    }

    /// `op dst, [mem]` (packed `ps`/`pd` operations need a 16-byte aligned operand).
    pub fn sse_rm(&mut self, op: SseOp, dst: Xmm, src: Mem) {
        self.op_w(op.opcode(), false, dst.enc(), Rm::Mem(src), Imm::None);
    }

    /// `vop dst, src1, src2` (AVX encoding, non-destructive; needs [`CpuFeatures::avx`]).
    pub fn vex_rrr(&mut self, op: SseOp, dst: Xmm, src1: Xmm, src2: Xmm) {
        let enc = Vex {
            opcode: op.opcode(),
            w: false,
        };
        self.vex(enc, dst.enc(), src1.enc(), Rm::Reg(src2.enc()), Imm::None);
    }

    /// `vop dst, src1, [mem]` (AVX; no alignment requirement).
    pub fn vex_rrm(&mut self, op: SseOp, dst: Xmm, src1: Xmm, src2: Mem) {
        let enc = Vex {
            opcode: op.opcode(),
            w: false,
        };
        self.vex(enc, dst.enc(), src1.enc(), Rm::Mem(src2), Imm::None);
    }

    /// `movss`/`movsd dst, [mem]`: a scalar load (zeroes the upper lanes).
    pub fn movs_rm(&mut self, fs: FloatSize, dst: Xmm, src: Mem) {
        self.op_w(
            inst::movs_load(fs),
            false,
            dst.enc(),
            Rm::Mem(src),
            Imm::None,
        );
    }

    /// `movss`/`movsd [mem], src`: a scalar store.
    pub fn movs_mr(&mut self, fs: FloatSize, dst: Mem, src: Xmm) {
        self.op_w(
            inst::movs_store(fs),
            false,
            src.enc(),
            Rm::Mem(dst),
            Imm::None,
        );
    }

    /// `movss`/`movsd dst, src` (register form: merges into the low lane only; prefer
    /// [`Assembler::movap_rr`] for a full copy).
    pub fn movs_rr(&mut self, fs: FloatSize, dst: Xmm, src: Xmm) {
        self.op_w(
            inst::movs_load(fs),
            false,
            dst.enc(),
            Rm::Reg(src.enc()),
            Imm::None,
        );
    }

    /// `movaps`/`movapd dst, src`: a full register copy.
    pub fn movap_rr(&mut self, fs: FloatSize, dst: Xmm, src: Xmm) {
        self.op_w(
            inst::movap(fs),
            false,
            dst.enc(),
            Rm::Reg(src.enc()),
            Imm::None,
        );
    }

    /// `movaps`/`movapd dst, [mem]`: a 16-byte load (the operand must be 16-byte aligned).
    pub fn movap_rm(&mut self, fs: FloatSize, dst: Xmm, src: Mem) {
        self.op_w(inst::movap(fs), false, dst.enc(), Rm::Mem(src), Imm::None);
    }

    /// `movaps`/`movapd [mem], src`: a 16-byte store (the operand must be 16-byte aligned).
    pub fn movap_mr(&mut self, fs: FloatSize, dst: Mem, src: Xmm) {
        self.op_w(
            inst::movap_store(fs),
            false,
            src.enc(),
            Rm::Mem(dst),
            Imm::None,
        );
    }

    /// `movups`/`movupd dst, [mem]`: a 16-byte load without alignment requirement.
    pub fn movup_rm(&mut self, fs: FloatSize, dst: Xmm, src: Mem) {
        self.op_w(inst::movup(fs), false, dst.enc(), Rm::Mem(src), Imm::None);
    }

    /// `movups`/`movupd [mem], src`: a 16-byte store without alignment requirement.
    pub fn movup_mr(&mut self, fs: FloatSize, dst: Mem, src: Xmm) {
        self.op_w(
            inst::movup(fs).plus(1),
            false,
            src.enc(),
            Rm::Mem(dst),
            Imm::None,
        );
    }

    /// `ucomiss`/`ucomisd a, b`: unordered compare setting ZF/PF/CF (PF = 1 when unordered).
    pub fn ucomis_rr(&mut self, fs: FloatSize, a: Xmm, b: Xmm) {
        self.op_w(
            inst::ucomis(fs),
            false,
            a.enc(),
            Rm::Reg(b.enc()),
            Imm::None,
        );
    }

    /// `ucomiss`/`ucomisd a, [mem]`.
    pub fn ucomis_rm(&mut self, fs: FloatSize, a: Xmm, b: Mem) {
        self.op_w(inst::ucomis(fs), false, a.enc(), Rm::Mem(b), Imm::None);
    }

    /// `cvtsi2ss`/`cvtsi2sd dst, src` from a 32- or 64-bit signed integer.
    pub fn cvtsi2s_rr(&mut self, fs: FloatSize, int: Size, dst: Xmm, src: Gpr) {
        if self.require_32_64(int) {
            self.op_w(
                inst::cvtsi2s(fs),
                int == Size::S64,
                dst.enc(),
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `cvtsi2ss`/`cvtsi2sd dst, [mem]` (32- or 64-bit integer in memory).
    pub fn cvtsi2s_rm(&mut self, fs: FloatSize, int: Size, dst: Xmm, src: Mem) {
        if self.require_32_64(int) {
            self.op_w(
                inst::cvtsi2s(fs),
                int == Size::S64,
                dst.enc(),
                Rm::Mem(src),
                Imm::None,
            );
        }
    }

    /// `cvttss2si`/`cvttsd2si dst, src`: truncate to a 32- or 64-bit signed integer
    /// (`0x80..0` "integer indefinite" on NaN or overflow).
    pub fn cvtts2si_rr(&mut self, fs: FloatSize, int: Size, dst: Gpr, src: Xmm) {
        if self.require_32_64(int) {
            self.op_w(
                inst::cvtts2si(fs),
                int == Size::S64,
                dst.enc(),
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `cvttss2si`/`cvttsd2si dst, [mem]`.
    pub fn cvtts2si_rm(&mut self, fs: FloatSize, int: Size, dst: Gpr, src: Mem) {
        if self.require_32_64(int) {
            self.op_w(
                inst::cvtts2si(fs),
                int == Size::S64,
                dst.enc(),
                Rm::Mem(src),
                Imm::None,
            );
        }
    }

    /// `roundss`/`roundsd dst, src, mode` (SSE4.1).
    pub fn rounds_rr(&mut self, fs: FloatSize, mode: RoundMode, dst: Xmm, src: Xmm) {
        let imm = Imm::B(mode.imm());
        self.op_w(inst::rounds(fs), false, dst.enc(), Rm::Reg(src.enc()), imm);
    }

    /// `roundss`/`roundsd dst, [mem], mode` (SSE4.1).
    pub fn rounds_rm(&mut self, fs: FloatSize, mode: RoundMode, dst: Xmm, src: Mem) {
        self.op_w(
            inst::rounds(fs),
            false,
            dst.enc(),
            Rm::Mem(src),
            Imm::B(mode.imm()),
        );
    }

    /// `movd`/`movq dst, src` (32/64-bit general register into the low lane, zeroing the rest).
    pub fn movd_xr(&mut self, int: Size, dst: Xmm, src: Gpr) {
        if self.require_32_64(int) {
            self.op_w(
                inst::MOVD_XR,
                int == Size::S64,
                dst.enc(),
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `movd`/`movq dst, src` (low 32/64 bits of an xmm register into a general register).
    pub fn movd_rx(&mut self, int: Size, dst: Gpr, src: Xmm) {
        if self.require_32_64(int) {
            self.op_w(
                inst::MOVD_RX,
                int == Size::S64,
                src.enc(),
                Rm::Reg(dst.enc()),
                Imm::None,
            );
        }
    }

    // --- Scalar floating point: AVX (VEX) forms ------------------------------------------

    fn vop(&mut self, opcode: Opcode, w: bool, reg: u8, vvvv: u8, rm: Rm, imm: Imm) {
        self.vex(Vex { opcode, w }, reg, vvvv, rm, imm);
    }

    /// `vmovss`/`vmovsd dst, [mem]`.
    pub fn vmovs_rm(&mut self, fs: FloatSize, dst: Xmm, src: Mem) {
        self.vop(
            inst::movs_load(fs),
            false,
            dst.enc(),
            0,
            Rm::Mem(src),
            Imm::None,
        );
    }

    /// `vmovss`/`vmovsd [mem], src`.
    pub fn vmovs_mr(&mut self, fs: FloatSize, dst: Mem, src: Xmm) {
        self.vop(
            inst::movs_store(fs),
            false,
            src.enc(),
            0,
            Rm::Mem(dst),
            Imm::None,
        );
    }

    /// `vmovss`/`vmovsd dst, src1, src2`: low lane from `src2`, upper lanes from `src1`.
    pub fn vmovs_rrr(&mut self, fs: FloatSize, dst: Xmm, src1: Xmm, src2: Xmm) {
        self.vop(
            inst::movs_load(fs),
            false,
            dst.enc(),
            src1.enc(),
            Rm::Reg(src2.enc()),
            Imm::None,
        );
    }

    /// `vmovaps`/`vmovapd dst, src`.
    pub fn vmovap_rr(&mut self, fs: FloatSize, dst: Xmm, src: Xmm) {
        self.vop(
            inst::movap(fs),
            false,
            dst.enc(),
            0,
            Rm::Reg(src.enc()),
            Imm::None,
        );
    }

    /// `vmovaps`/`vmovapd dst, [mem]` (16-byte aligned).
    pub fn vmovap_rm(&mut self, fs: FloatSize, dst: Xmm, src: Mem) {
        self.vop(
            inst::movap(fs),
            false,
            dst.enc(),
            0,
            Rm::Mem(src),
            Imm::None,
        );
    }

    /// `vmovaps`/`vmovapd [mem], src` (16-byte aligned).
    pub fn vmovap_mr(&mut self, fs: FloatSize, dst: Mem, src: Xmm) {
        self.vop(
            inst::movap_store(fs),
            false,
            src.enc(),
            0,
            Rm::Mem(dst),
            Imm::None,
        );
    }

    /// `vucomiss`/`vucomisd a, b`.
    pub fn vucomis_rr(&mut self, fs: FloatSize, a: Xmm, b: Xmm) {
        self.vop(
            inst::ucomis(fs),
            false,
            a.enc(),
            0,
            Rm::Reg(b.enc()),
            Imm::None,
        );
    }

    /// `vucomiss`/`vucomisd a, [mem]`.
    pub fn vucomis_rm(&mut self, fs: FloatSize, a: Xmm, b: Mem) {
        self.vop(inst::ucomis(fs), false, a.enc(), 0, Rm::Mem(b), Imm::None);
    }

    /// `vcvtsi2ss`/`vcvtsi2sd dst, src1, src2` (upper lanes from `src1`).
    pub fn vcvtsi2s_rrr(&mut self, fs: FloatSize, int: Size, dst: Xmm, src1: Xmm, src2: Gpr) {
        if self.require_32_64(int) {
            let w = int == Size::S64;
            self.vop(
                inst::cvtsi2s(fs),
                w,
                dst.enc(),
                src1.enc(),
                Rm::Reg(src2.enc()),
                Imm::None,
            );
        }
    }

    /// `vcvtsi2ss`/`vcvtsi2sd dst, src1, [mem]`.
    pub fn vcvtsi2s_rrm(&mut self, fs: FloatSize, int: Size, dst: Xmm, src1: Xmm, src2: Mem) {
        if self.require_32_64(int) {
            let w = int == Size::S64;
            self.vop(
                inst::cvtsi2s(fs),
                w,
                dst.enc(),
                src1.enc(),
                Rm::Mem(src2),
                Imm::None,
            );
        }
    }

    /// `vcvttss2si`/`vcvttsd2si dst, src`.
    pub fn vcvtts2si_rr(&mut self, fs: FloatSize, int: Size, dst: Gpr, src: Xmm) {
        if self.require_32_64(int) {
            let w = int == Size::S64;
            self.vop(
                inst::cvtts2si(fs),
                w,
                dst.enc(),
                0,
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `vcvttss2si`/`vcvttsd2si dst, [mem]`.
    pub fn vcvtts2si_rm(&mut self, fs: FloatSize, int: Size, dst: Gpr, src: Mem) {
        if self.require_32_64(int) {
            self.vop(
                inst::cvtts2si(fs),
                int == Size::S64,
                dst.enc(),
                0,
                Rm::Mem(src),
                Imm::None,
            );
        }
    }

    /// `vroundss`/`vroundsd dst, src1, src2, mode`.
    pub fn vrounds_rrr(&mut self, fs: FloatSize, mode: RoundMode, dst: Xmm, src1: Xmm, src2: Xmm) {
        let (src2, imm) = (Rm::Reg(src2.enc()), Imm::B(mode.imm()));
        self.vop(inst::rounds(fs), false, dst.enc(), src1.enc(), src2, imm);
    }

    /// `vroundss`/`vroundsd dst, src1, [mem], mode`.
    pub fn vrounds_rrm(&mut self, fs: FloatSize, mode: RoundMode, dst: Xmm, src1: Xmm, src2: Mem) {
        let (src2, imm) = (Rm::Mem(src2), Imm::B(mode.imm()));
        self.vop(inst::rounds(fs), false, dst.enc(), src1.enc(), src2, imm);
    }

    /// `vmovd`/`vmovq dst, src` (general register into xmm).
    pub fn vmovd_xr(&mut self, int: Size, dst: Xmm, src: Gpr) {
        if self.require_32_64(int) {
            self.vop(
                inst::MOVD_XR,
                int == Size::S64,
                dst.enc(),
                0,
                Rm::Reg(src.enc()),
                Imm::None,
            );
        }
    }

    /// `vmovd`/`vmovq dst, src` (xmm into general register).
    pub fn vmovd_rx(&mut self, int: Size, dst: Gpr, src: Xmm) {
        if self.require_32_64(int) {
            self.vop(
                inst::MOVD_RX,
                int == Size::S64,
                src.enc(),
                0,
                Rm::Reg(dst.enc()),
                Imm::None,
            );
        }
    }
}

/// Named shorthands (`add_rr`, `shl_ri`, `neg_r`, `addsd_rr`, `vmulss_rrm`, ...) for the
/// table-driven families above, so compiler code reads like assembly.
macro_rules! alu_shorthands {
    ($($op:ident: $rr:ident $ri:ident $rm:ident $mr:ident $mi:ident;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", stringify!($op), " dst, src` (see [`Assembler::alu_rr`]).")]
            pub fn $rr(&mut self, size: Size, dst: Gpr, src: Gpr) {
                self.alu_rr(AluOp::$op, size, dst, src);
            }
            #[doc = concat!("`", stringify!($op), " dst, imm` (see [`Assembler::alu_ri`]).")]
            pub fn $ri(&mut self, size: Size, dst: Gpr, imm: i32) {
                self.alu_ri(AluOp::$op, size, dst, imm);
            }
            #[doc = concat!("`", stringify!($op), " dst, [mem]`.")]
            pub fn $rm(&mut self, size: Size, dst: Gpr, src: Mem) {
                self.alu_rm(AluOp::$op, size, dst, src);
            }
            #[doc = concat!("`", stringify!($op), " [mem], src`.")]
            pub fn $mr(&mut self, size: Size, dst: Mem, src: Gpr) {
                self.alu_mr(AluOp::$op, size, dst, src);
            }
            #[doc = concat!("`", stringify!($op), " [mem], imm`.")]
            pub fn $mi(&mut self, size: Size, dst: Mem, imm: i32) {
                self.alu_mi(AluOp::$op, size, dst, imm);
            }
        )*}
    };
}

alu_shorthands! {
    Add: add_rr add_ri add_rm add_mr add_mi;
    Or: or_rr or_ri or_rm or_mr or_mi;
    Adc: adc_rr adc_ri adc_rm adc_mr adc_mi;
    Sbb: sbb_rr sbb_ri sbb_rm sbb_mr sbb_mi;
    And: and_rr and_ri and_rm and_mr and_mi;
    Sub: sub_rr sub_ri sub_rm sub_mr sub_mi;
    Xor: xor_rr xor_ri xor_rm xor_mr xor_mi;
    Cmp: cmp_rr cmp_ri cmp_rm cmp_mr cmp_mi;
}

macro_rules! unary_shorthands {
    ($($op:ident: $r:ident $m:ident;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", stringify!($op), " dst` (see [`Assembler::unary_r`]).")]
            pub fn $r(&mut self, size: Size, dst: Gpr) {
                self.unary_r(UnaryOp::$op, size, dst);
            }
            #[doc = concat!("`", stringify!($op), " [mem]`.")]
            pub fn $m(&mut self, size: Size, dst: Mem) {
                self.unary_m(UnaryOp::$op, size, dst);
            }
        )*}
    };
}

unary_shorthands! {
    Not: not_r not_m;
    Neg: neg_r neg_m;
    Mul: mul_r mul_m;
    Imul: imul_r imul_m;
    Div: div_r div_m;
    Idiv: idiv_r idiv_m;
    Inc: inc_r inc_m;
    Dec: dec_r dec_m;
}

macro_rules! shift_shorthands {
    ($($op:ident: $rcl:ident $ri:ident $mcl:ident $mi:ident;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", stringify!($op), " dst, cl`.")]
            pub fn $rcl(&mut self, size: Size, dst: Gpr) {
                self.shift_r_cl(ShiftOp::$op, size, dst);
            }
            #[doc = concat!("`", stringify!($op), " dst, imm`.")]
            pub fn $ri(&mut self, size: Size, dst: Gpr, imm: u8) {
                self.shift_ri(ShiftOp::$op, size, dst, imm);
            }
            #[doc = concat!("`", stringify!($op), " [mem], cl`.")]
            pub fn $mcl(&mut self, size: Size, dst: Mem) {
                self.shift_m_cl(ShiftOp::$op, size, dst);
            }
            #[doc = concat!("`", stringify!($op), " [mem], imm`.")]
            pub fn $mi(&mut self, size: Size, dst: Mem, imm: u8) {
                self.shift_mi(ShiftOp::$op, size, dst, imm);
            }
        )*}
    };
}

shift_shorthands! {
    Rol: rol_r_cl rol_ri rol_m_cl rol_mi;
    Ror: ror_r_cl ror_ri ror_m_cl ror_mi;
    Shl: shl_r_cl shl_ri shl_m_cl shl_mi;
    Shr: shr_r_cl shr_ri shr_m_cl shr_mi;
    Sar: sar_r_cl sar_ri sar_m_cl sar_mi;
}

macro_rules! sse_shorthands {
    ($($op:ident: $rr:ident $rm:ident $vrrr:ident $vrrm:ident;)*) => {
        impl Assembler {$(
            #[doc = concat!("`", stringify!($rr), "`: SSE `dst = dst op src` (see [`Assembler::sse_rr`]).")]
            pub fn $rr(&mut self, dst: Xmm, src: Xmm) {
                self.sse_rr(SseOp::$op, dst, src);
            }
            #[doc = concat!("SSE `", stringify!($op), " dst, [mem]`.")]
            pub fn $rm(&mut self, dst: Xmm, src: Mem) {
                self.sse_rm(SseOp::$op, dst, src);
            }
            #[doc = concat!("AVX `v", stringify!($op), " dst, src1, src2` (see [`Assembler::vex_rrr`]).")]
            pub fn $vrrr(&mut self, dst: Xmm, src1: Xmm, src2: Xmm) {
                self.vex_rrr(SseOp::$op, dst, src1, src2);
            }
            #[doc = concat!("AVX `v", stringify!($op), " dst, src1, [mem]`.")]
            pub fn $vrrm(&mut self, dst: Xmm, src1: Xmm, src2: Mem) {
                self.vex_rrm(SseOp::$op, dst, src1, src2);
            }
        )*}
    };
}

sse_shorthands! {
    Addss: addss_rr addss_rm vaddss_rrr vaddss_rrm;
    Addsd: addsd_rr addsd_rm vaddsd_rrr vaddsd_rrm;
    Subss: subss_rr subss_rm vsubss_rrr vsubss_rrm;
    Subsd: subsd_rr subsd_rm vsubsd_rrr vsubsd_rrm;
    Mulss: mulss_rr mulss_rm vmulss_rrr vmulss_rrm;
    Mulsd: mulsd_rr mulsd_rm vmulsd_rrr vmulsd_rrm;
    Divss: divss_rr divss_rm vdivss_rrr vdivss_rrm;
    Divsd: divsd_rr divsd_rm vdivsd_rrr vdivsd_rrm;
    Minss: minss_rr minss_rm vminss_rrr vminss_rrm;
    Minsd: minsd_rr minsd_rm vminsd_rrr vminsd_rrm;
    Maxss: maxss_rr maxss_rm vmaxss_rrr vmaxss_rrm;
    Maxsd: maxsd_rr maxsd_rm vmaxsd_rrr vmaxsd_rrm;
    Sqrtss: sqrtss_rr sqrtss_rm vsqrtss_rrr vsqrtss_rrm;
    Sqrtsd: sqrtsd_rr sqrtsd_rm vsqrtsd_rrr vsqrtsd_rrm;
    Andps: andps_rr andps_rm vandps_rrr vandps_rrm;
    Andpd: andpd_rr andpd_rm vandpd_rrr vandpd_rrm;
    Andnps: andnps_rr andnps_rm vandnps_rrr vandnps_rrm;
    Andnpd: andnpd_rr andnpd_rm vandnpd_rrr vandnpd_rrm;
    Orps: orps_rr orps_rm vorps_rrr vorps_rrm;
    Orpd: orpd_rr orpd_rm vorpd_rrr vorpd_rrm;
    Xorps: xorps_rr xorps_rm vxorps_rrr vxorps_rrm;
    Xorpd: xorpd_rr xorpd_rm vxorpd_rrr vxorpd_rrm;
    Cvtss2sd: cvtss2sd_rr cvtss2sd_rm vcvtss2sd_rrr vcvtss2sd_rrm;
    Cvtsd2ss: cvtsd2ss_rr cvtsd2ss_rm vcvtsd2ss_rrr vcvtsd2ss_rrm;
}
