//! The x86-64 instruction formats, described once: legacy prefixes, REX, VEX, the opcode
//! map escapes, ModRM, SIB and displacements.
//!
//! Every instruction the assembler emits goes through [`emit_legacy`], [`emit_legacy_o`] or
//! [`emit_vex`]; the per-instruction knowledge (opcode, map, mandatory prefix, `/digit`) lives
//! in the tables of [`crate::inst`].

use crate::code_buf::CodeBuf;
use crate::label::Label;
use crate::operand::{Addr, Mem};

/// A mandatory (or, for VEX, implied) SIMD prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Prefix {
    None,
    P66,
    PF3,
    PF2,
}

impl Prefix {
    /// The legacy prefix byte, if any.
    const fn byte(self) -> Option<u8> {
        match self {
            Prefix::None => None,
            Prefix::P66 => Some(0x66),
            Prefix::PF3 => Some(0xF3),
            Prefix::PF2 => Some(0xF2),
        }
    }

    /// The VEX `pp` field.
    const fn vex_pp(self) -> u8 {
        match self {
            Prefix::None => 0,
            Prefix::P66 => 1,
            Prefix::PF3 => 2,
            Prefix::PF2 => 3,
        }
    }
}

/// The opcode map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Map {
    /// One-byte opcodes.
    Primary,
    /// `0F xx`.
    M0F,
    /// `0F 38 xx`.
    M0F38,
    /// `0F 3A xx`.
    M0F3A,
}

impl Map {
    /// The legacy escape bytes.
    const fn escape(self) -> &'static [u8] {
        match self {
            Map::Primary => &[],
            Map::M0F => &[0x0F],
            Map::M0F38 => &[0x0F, 0x38],
            Map::M0F3A => &[0x0F, 0x3A],
        }
    }

    /// The VEX `mmmmm` field (VEX has no primary map).
    const fn vex_mmmmm(self) -> u8 {
        match self {
            Map::Primary => 0,
            Map::M0F => 1,
            Map::M0F38 => 2,
            Map::M0F3A => 3,
        }
    }
}

/// One opcode: mandatory prefix, map and opcode byte. A table row of [`crate::inst`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Opcode {
    pub prefix: Prefix,
    pub map: Map,
    pub op: u8,
}

impl Opcode {
    /// A one-byte opcode without prefix.
    pub const fn primary(op: u8) -> Opcode {
        Opcode {
            prefix: Prefix::None,
            map: Map::Primary,
            op,
        }
    }

    /// A `0F xx` opcode without prefix.
    pub const fn x0f(op: u8) -> Opcode {
        Opcode {
            prefix: Prefix::None,
            map: Map::M0F,
            op,
        }
    }

    /// A `pfx 0F xx` opcode.
    pub const fn pfx_0f(prefix: Prefix, op: u8) -> Opcode {
        Opcode {
            prefix,
            map: Map::M0F,
            op,
        }
    }

    /// The same opcode with `delta` added to the opcode byte (condition codes, `+r` forms).
    pub const fn plus(self, delta: u8) -> Opcode {
        Opcode {
            prefix: self.prefix,
            map: self.map,
            op: self.op + delta,
        }
    }
}

/// The r/m operand of a ModRM-encoded instruction: a register number or memory.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rm {
    Reg(u8),
    Mem(Mem),
}

/// A rip-relative reference to a label, produced while encoding a memory operand: the 4-byte
/// field at `at` (holding the addend) must receive `label - end` added to it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LabelRef {
    pub label: Label,
    pub at: u32,
    pub end: u32,
}

/// Everything about a legacy-encoded instruction except its operands.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Legacy {
    pub opcode: Opcode,
    /// Emit the `0x66` operand-size prefix (16-bit integer operation).
    pub opsize16: bool,
    /// `REX.W` (64-bit operation).
    pub w: bool,
    /// Emit a REX prefix even if no bit is set (byte access to `spl`/`bpl`/`sil`/`dil`).
    pub force_rex: bool,
}

/// The immediate (or branch displacement) field at the end of an instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Imm {
    None,
    B(u8),
    W(u16),
    D(u32),
    Q(u64),
}

impl Imm {
    /// Length in bytes.
    pub const fn len(self) -> u32 {
        match self {
            Imm::None => 0,
            Imm::B(_) => 1,
            Imm::W(_) => 2,
            Imm::D(_) => 4,
            Imm::Q(_) => 8,
        }
    }
}

/// One instruction being encoded, on the stack: the encoders fill it and copy it into the
/// code buffer with a single fixed-size copy (x86 instructions are at most 15 bytes).
pub(crate) struct InstBuf {
    bytes: [u8; 16],
    len: usize,
}

impl InstBuf {
    #[inline(always)]
    fn new() -> InstBuf {
        InstBuf {
            bytes: [0; 16],
            len: 0,
        }
    }

    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.bytes[self.len & 15] = b;
        self.len += 1;
    }

    #[inline(always)]
    fn extend(&mut self, s: &[u8]) {
        for &b in s {
            self.push(b);
        }
    }

    #[inline(always)]
    fn imm(&mut self, imm: Imm) {
        match imm {
            Imm::None => {}
            Imm::B(v) => self.push(v),
            Imm::W(v) => self.extend(&v.to_le_bytes()),
            Imm::D(v) => self.extend(&v.to_le_bytes()),
            Imm::Q(v) => self.extend(&v.to_le_bytes()),
        }
    }

    /// Appends the instruction to `buf`, turning a label reference's instruction-relative
    /// offsets into code offsets.
    #[inline(always)]
    fn flush(self, buf: &mut CodeBuf, label: Option<LabelRef>) -> Option<LabelRef> {
        debug_assert!(self.len <= 15);
        let base = buf.len() as u32;
        buf.put(&self.bytes, self.len);
        label.map(|r| LabelRef {
            label: r.label,
            at: r.at + base,
            end: r.end + base,
        })
    }
}

/// The REX prefix byte for the given W bit and the high bits of the reg, index and base
/// register numbers (only bit 3 of each is used).
pub(crate) const fn rex(w: bool, r: u8, x: u8, b: u8) -> u8 {
    0x40 | ((w as u8) << 3) | (((r >> 3) & 1) << 2) | (((x >> 3) & 1) << 1) | ((b >> 3) & 1)
}

/// A ModRM byte.
pub(crate) const fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

/// A SIB byte.
pub(crate) const fn sib(scale: u8, index: u8, base: u8) -> u8 {
    (scale << 6) | ((index & 7) << 3) | (base & 7)
}

/// The high (bit 3) parts of the index and base registers of an r/m operand.
fn rm_xb(rm: &Rm) -> (u8, u8) {
    match rm {
        Rm::Reg(n) => (0, *n >> 3),
        Rm::Mem(m) => m.rex_xb(),
    }
}

/// Emits a legacy/REX instruction `prefixes REX escape opcode ModRM [SIB] [disp] [imm]`.
/// `reg` is the ModRM.reg field (a register number or a `/digit`), `rm` the r/m operand.
/// Cost: built on the stack, then one 16-byte copy into `out`.
#[inline]
pub(crate) fn emit_legacy(
    out: &mut CodeBuf,
    enc: Legacy,
    reg: u8,
    rm: Rm,
    imm: Imm,
) -> Option<LabelRef> {
    let mut buf_ = InstBuf::new();
    let buf = &mut buf_;
    if enc.opsize16 {
        buf.push(0x66);
    }
    if let Some(p) = enc.opcode.prefix.byte() {
        buf.push(p);
    }
    let (x, b) = rm_xb(&rm);
    let rex = rex(enc.w, reg, x << 3, b << 3);
    if rex != 0x40 || enc.force_rex {
        buf.push(rex);
    }
    buf.extend(enc.opcode.map.escape());
    buf.push(enc.opcode.op);
    let label = emit_modrm(buf, reg, &rm, imm.len());
    buf.imm(imm);
    buf_.flush(out, label)
}

/// The legacy prefix byte of each [`Prefix`], by discriminant (0 for none).
const PREFIX_BYTES: [u8; 4] = [0, 0x66, 0xF3, 0xF2];

/// Writes the bytes of a fast-path instruction up to and including the opcode byte
/// (`[66] [mandatory prefix] [REX] [0F] op`, as [`emit_legacy`] orders them) into `b` and
/// returns their count. `enc.opcode.map` is the primary map or `0F`.
#[inline(always)]
fn fast_head(b: &mut [u8; 16], enc: Legacy, rex: u8) -> usize {
    debug_assert!(matches!(enc.opcode.map, Map::Primary | Map::M0F));
    let prefix = enc.opcode.prefix;
    b[0] = 0x66;
    let mut n = usize::from(enc.opsize16);
    b[n] = PREFIX_BYTES[prefix as usize];
    n += usize::from(prefix != Prefix::None);
    b[n] = rex;
    n += usize::from(rex != 0x40 || enc.force_rex);
    b[n] = 0x0F;
    n += usize::from(enc.opcode.map == Map::M0F);
    b[n] = enc.opcode.op;
    n + 1
}

/// The fast path of [`emit_legacy`] for the bulk of generated code: a primary-map or `0F xx`
/// opcode (any mandatory prefix, operand-size prefix, `REX.W`, forced REX) with a register
/// r/m operand (`mod 11`), then the low `imm_len` (0, 1, 2 or 4) bytes of `imm`. Encodes
/// exactly as [`emit_legacy`] does for the same operands, without building an [`InstBuf`].
#[inline(always)]
pub(crate) fn emit_fast_rr(
    out: &mut CodeBuf,
    enc: Legacy,
    reg: u8,
    rm: u8,
    imm: u32,
    imm_len: usize,
) {
    let mut b = [0u8; 16];
    let mut n = fast_head(&mut b, enc, rex(enc.w, reg, 0, rm));
    b[n] = modrm(0b11, reg, rm);
    n += 1;
    b[n..n + 4].copy_from_slice(&imm.to_le_bytes());
    out.put(&b, n + imm_len);
}

/// [`emit_fast_rr`] with a `[base + index * scale + disp]` memory operand (`index` is
/// `(register number, SIB scale bits)`, never `rsp`) instead of a register: the shortest
/// displacement, a SIB byte for an index or an `rsp`/`r12` base, and always a displacement
/// for an `rbp`/`r13` base, as [`emit_legacy`] encodes it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_fast_mem(
    out: &mut CodeBuf,
    enc: Legacy,
    reg: u8,
    base: u8,
    index: Option<(u8, u8)>,
    disp: i32,
    imm: u32,
    imm_len: usize,
) {
    let mut b = [0u8; 16];
    let low = base & 7;
    // rsp/r12 (low 100) in ModRM.rm means "SIB follows": without an index they get a SIB
    // with index field 100 (none) and REX.X = 0.
    let (x, sib_byte, has_sib) = match index {
        Some((i, scale)) => (i, sib(scale, i, low), true),
        None => (0, sib(0, 0b100, low), low == 4),
    };
    let mut n = fast_head(&mut b, enc, rex(enc.w, reg, x, base));
    // rbp/r13 (low 101) with mod 00 would mean rip-relative / no base: they always carry a
    // displacement, even 0.
    let disp_len: usize = if disp == 0 && low != 5 {
        0
    } else if i8::try_from(disp).is_ok() {
        1
    } else {
        4
    };
    // mod 00, 01, 10 for a displacement of 0, 1, 4 bytes.
    let md = ((disp_len + 1) >> 1) as u8;
    b[n] = modrm(md, reg, if has_sib { 0b100 } else { low });
    b[n + 1] = sib_byte;
    n += 1 + usize::from(has_sib);
    // The displacement and the immediate are written whole and counted by their lengths.
    b[n..n + 4].copy_from_slice(&disp.to_le_bytes());
    n += disp_len;
    b[n..n + 4].copy_from_slice(&imm.to_le_bytes());
    out.put(&b, n + imm_len);
}

/// The commonest memory form of all: a primary-map `op` (no prefix) with `REX.W` = `w`,
/// `reg` in ModRM.reg and `[base + disp]` (no index) as r/m: the loads and stores of frame
/// slots, `VMContext` fields and linear memory. Encodes as [`emit_fast_mem`] does for the
/// same operands, with less to decide.
#[inline(always)]
pub(crate) fn emit_base_mem(out: &mut CodeBuf, op: u8, w: bool, reg: u8, base: u8, disp: i32) {
    let low = base & 7;
    let rex = rex(w, reg, 0, base);
    let mut b = [0u8; 16];
    b[0] = rex;
    let mut n = usize::from(rex != 0x40);
    // rbp/r13 (low 101) always carry a displacement; mod 00, 01, 10 for 0, 1, 4 bytes.
    let disp_len: usize = if disp == 0 && low != 5 {
        0
    } else if i8::try_from(disp).is_ok() {
        1
    } else {
        4
    };
    b[n] = op;
    b[n + 1] = modrm(((disp_len + 1) >> 1) as u8, reg, low);
    // rsp/r12 (low 100) as base: a SIB byte with no index.
    b[n + 2] = 0x24;
    n += 2 + usize::from(low == 4);
    b[n..n + 4].copy_from_slice(&disp.to_le_bytes());
    out.put(&b, n + disp_len);
}

/// A branch or call with a relative displacement: `[0F] op rel8/rel32` (`opcode` without
/// prefix, primary map or `0F`), the low `rel_len` (1 or 4) bytes of `rel` last. Returns the
/// offset of the end of the instruction in `out`. Encodes as [`emit_plain`] does.
#[inline(always)]
pub(crate) fn emit_rel(out: &mut CodeBuf, opcode: Opcode, rel: u32, rel_len: usize) -> u32 {
    debug_assert!(opcode.prefix == Prefix::None);
    debug_assert!(matches!(opcode.map, Map::Primary | Map::M0F));
    let mut b = [0u8; 16];
    b[0] = 0x0F;
    let mut n = usize::from(opcode.map == Map::M0F);
    b[n] = opcode.op;
    n += 1;
    b[n..n + 4].copy_from_slice(&rel.to_le_bytes());
    out.put(&b, n + rel_len);
    out.len() as u32
}

/// Emits a legacy instruction whose register is added to the opcode byte (`B8+r`, `50+r`,
/// `0F C8+r`), with no ModRM, then `imm`.
#[inline]
pub(crate) fn emit_legacy_o(out: &mut CodeBuf, enc: Legacy, reg: u8, imm: Imm) {
    let mut buf = InstBuf::new();
    if enc.opsize16 {
        buf.push(0x66);
    }
    if let Some(p) = enc.opcode.prefix.byte() {
        buf.push(p);
    }
    let rex = rex(enc.w, 0, 0, reg);
    if rex != 0x40 || enc.force_rex {
        buf.push(rex);
    }
    buf.extend(enc.opcode.map.escape());
    buf.push(enc.opcode.op + (reg & 7));
    buf.imm(imm);
    buf.flush(out, None);
}

/// Emits an instruction with no operand encoding (prefix, escape and opcode only) followed by
/// `imm`: `ret`, `cdq`, `jcc rel32`, ... `w` adds `REX.W`. Returns the offset of the end of
/// the instruction in `out`.
#[inline]
pub(crate) fn emit_plain(out: &mut CodeBuf, opcode: Opcode, w: bool, imm: Imm) -> u32 {
    let mut buf = InstBuf::new();
    if let Some(p) = opcode.prefix.byte() {
        buf.push(p);
    }
    if w {
        buf.push(rex(true, 0, 0, 0));
    }
    buf.extend(opcode.map.escape());
    buf.push(opcode.op);
    buf.imm(imm);
    buf.flush(out, None);
    out.len() as u32
}

/// Everything about a VEX-encoded instruction except its operands.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vex {
    pub opcode: Opcode,
    /// `VEX.W`.
    pub w: bool,
}

/// Emits a VEX instruction (2-byte `C5` form when possible, else 3-byte `C4`) with
/// `vvvv` = the extra source register (0 when unused: encodes as `1111`) and L = 0, then `imm`.
#[inline]
pub(crate) fn emit_vex(
    out: &mut CodeBuf,
    enc: Vex,
    reg: u8,
    vvvv: u8,
    rm: Rm,
    imm: Imm,
) -> Option<LabelRef> {
    let mut buf_ = InstBuf::new();
    let buf = &mut buf_;
    let (x, b) = rm_xb(&rm);
    let r_bar = (!(reg >> 3) & 1) << 7;
    let v_bar = (!vvvv & 0xF) << 3;
    let pp = enc.opcode.prefix.vex_pp();
    if enc.opcode.map == Map::M0F && !enc.w && x == 0 && b == 0 {
        buf.push(0xC5);
        buf.push(r_bar | v_bar | pp);
    } else {
        buf.push(0xC4);
        buf.push(r_bar | ((!x & 1) << 6) | ((!b & 1) << 5) | enc.opcode.map.vex_mmmmm());
        buf.push(((enc.w as u8) << 7) | v_bar | pp);
    }
    buf.push(enc.opcode.op);
    let label = emit_modrm(buf, reg, &rm, imm.len());
    buf.imm(imm);
    buf_.flush(out, label)
}

/// Emits ModRM, SIB and displacement for `rm` with `reg` in ModRM.reg, choosing the shortest
/// form. `imm_len` is the number of immediate bytes that will follow (needed for rip-relative
/// displacements, which count from the end of the instruction).
#[inline(always)]
fn emit_modrm(buf: &mut InstBuf, reg: u8, rm: &Rm, imm_len: u32) -> Option<LabelRef> {
    let mem = match rm {
        Rm::Reg(n) => {
            buf.push(modrm(0b11, reg, *n));
            return None;
        }
        Rm::Mem(mem) => mem,
    };
    let disp = mem.disp;
    match mem.addr {
        Addr::Base { base, index } => {
            let b = base.enc() & 7;
            // rbp/r13 (b == 5) with mod 00 would mean rip-relative / no base: they always
            // carry a displacement, even 0.
            let (md, disp_len) = if disp == 0 && b != 5 {
                (0b00, 0)
            } else if i8::try_from(disp).is_ok() {
                (0b01, 1)
            } else {
                (0b10, 4)
            };
            match index {
                // rsp/r12 (b == 4) in ModRM.rm means "SIB follows": give them a SIB with no
                // index (index field 100 and REX.X = 0).
                None if b != 4 => buf.push(modrm(md, reg, b)),
                None => {
                    buf.push(modrm(md, reg, 0b100));
                    buf.push(sib(0, 0b100, b));
                }
                Some((index, scale)) => {
                    buf.push(modrm(md, reg, 0b100));
                    buf.push(sib(scale.bits(), index.enc(), b));
                }
            }
            match disp_len {
                0 => {}
                1 => buf.push(disp as u8),
                _ => buf.extend(&disp.to_le_bytes()),
            }
            None
        }
        Addr::Index { index, scale } => {
            // SIB base 101 with mod 00: no base, disp32.
            buf.push(modrm(0b00, reg, 0b100));
            buf.push(sib(scale.bits(), index.enc(), 0b101));
            buf.extend(&disp.to_le_bytes());
            None
        }
        Addr::Rip => {
            buf.push(modrm(0b00, reg, 0b101));
            buf.extend(&disp.to_le_bytes());
            None
        }
        Addr::Label(label) => {
            buf.push(modrm(0b00, reg, 0b101));
            // Offsets relative to the instruction start; `InstBuf::flush` rebases them.
            let at = buf.len as u32;
            buf.extend(&disp.to_le_bytes());
            Some(LabelRef {
                label,
                at,
                end: at + 4 + imm_len,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    //! The fast paths against the general encoder, over every prefix, map, REX and immediate
    //! combination they accept and every register and addressing-mode shape.

    use super::*;
    use crate::operand::Scale;
    use crate::reg::Gpr;

    const PREFIXES: [Prefix; 4] = [Prefix::None, Prefix::P66, Prefix::PF3, Prefix::PF2];
    const DISPS: [i32; 9] = [0, 1, -1, 127, -128, 128, -129, i32::MAX, i32::MIN];

    /// Every legacy encoding the fast paths take (primary map and `0F`, each prefix, with and
    /// without `66`, `REX.W` and a forced REX), with an opcode byte that varies too.
    fn encodings() -> Vec<Legacy> {
        let mut out = Vec::new();
        for (i, map) in [Map::Primary, Map::M0F].into_iter().enumerate() {
            for prefix in PREFIXES {
                for bits in 0..8u8 {
                    out.push(Legacy {
                        opcode: Opcode {
                            prefix,
                            map,
                            op: 0x80 + bits * 9 + i as u8,
                        },
                        opsize16: bits & 1 != 0,
                        w: bits & 2 != 0,
                        force_rex: bits & 4 != 0,
                    });
                }
            }
        }
        out
    }

    /// The immediates the fast paths take, with their field value and length.
    fn imms() -> [(Imm, u32, usize); 4] {
        [
            (Imm::None, 0, 0),
            (Imm::B(0x9A), 0x9A, 1),
            (Imm::W(0xBCDE), 0xBCDE, 2),
            (Imm::D(0x8765_4321), 0x8765_4321, 4),
        ]
    }

    fn general(enc: Legacy, reg: u8, rm: Rm, imm: Imm) -> Vec<u8> {
        let mut out = CodeBuf::from_vec(vec![0xAA]);
        assert!(emit_legacy(&mut out, enc, reg, rm, imm).is_none());
        out.into_vec()
    }

    #[test]
    fn fast_rr_encodes_as_general() {
        for enc in encodings() {
            for (imm, bits, len) in imms() {
                for reg in 0..16 {
                    for rm in 0..16 {
                        let mut fast = CodeBuf::from_vec(vec![0xAA]);
                        emit_fast_rr(&mut fast, enc, reg, rm, bits, len);
                        assert_eq!(
                            fast.into_vec(),
                            general(enc, reg, Rm::Reg(rm), imm),
                            "{enc:?} {reg} {rm}"
                        );
                    }
                }
            }
        }
    }

    /// Every base and index register (all 16 with all scales for some encodings, the
    /// special ones — rsp/r12/rbp/r13 — and a few others for the rest), each displacement
    /// width and every immediate.
    #[test]
    fn fast_mem_encodes_as_general() {
        let all: Vec<u8> = (0..16).collect();
        let some: Vec<u8> = vec![0, 4, 5, 7, 8, 12, 13, 15];
        for (n, enc) in encodings().into_iter().enumerate() {
            let regs = if n % 16 == 0 { &all } else { &some };
            for (k, &reg) in regs.iter().enumerate() {
                let (imm, bits, len) = imms()[(n + k) % 4];
                for &base in regs {
                    let indexes = regs
                        .iter()
                        .filter(|&&i| i != 4)
                        .flat_map(|&i| Scale::ALL.map(move |s| Some((i, s))));
                    for index in std::iter::once(None).chain(indexes) {
                        for disp in DISPS {
                            let b = Gpr::new(base).unwrap();
                            let mem = match index {
                                None => Mem::base(b, disp),
                                Some((i, s)) => Mem::base_index(b, Gpr::new(i).unwrap(), s, disp),
                            };
                            let mut fast = CodeBuf::from_vec(vec![0xAA]);
                            let ix = index.map(|(i, s)| (i, s.bits()));
                            emit_fast_mem(&mut fast, enc, reg, base, ix, disp, bits, len);
                            let want = general(enc, reg, Rm::Mem(mem), imm);
                            assert_eq!(fast.into_vec(), want, "{enc:?} {reg} {mem:?}");
                        }
                    }
                }
            }
        }
    }

    /// The plain `[base + disp]` form against the general encoder: every opcode byte and
    /// width, every register, base and displacement width.
    #[test]
    fn base_mem_encodes_as_general() {
        for op in [0x89, 0x8B, 0x01, 0x3B, 0x8D] {
            for w in [false, true] {
                let enc = Legacy {
                    opcode: Opcode::primary(op),
                    opsize16: false,
                    w,
                    force_rex: false,
                };
                for reg in 0..16 {
                    for base in 0..16 {
                        for disp in DISPS {
                            let mem = Mem::base(Gpr::new(base).unwrap(), disp);
                            let mut fast = CodeBuf::from_vec(vec![0xAA]);
                            emit_base_mem(&mut fast, op, w, reg, base, disp);
                            let want = general(enc, reg, Rm::Mem(mem), Imm::None);
                            assert_eq!(fast.into_vec(), want, "{op:#x} {w} {reg} {mem:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rel_encodes_as_plain() {
        let opcodes = (0..=255u8).flat_map(|op| [Opcode::primary(op), Opcode::x0f(op)]);
        for opcode in opcodes {
            for (rel, imm, len) in [
                (0x85, Imm::B(0x85), 1),
                (0x1234_5678, Imm::D(0x1234_5678), 4),
                (0, Imm::D(0), 4),
            ] {
                let mut fast = CodeBuf::from_vec(vec![0xAA; 3]);
                let mut plain = CodeBuf::from_vec(vec![0xAA; 3]);
                let fast_end = emit_rel(&mut fast, opcode, rel, len);
                let plain_end = emit_plain(&mut plain, opcode, false, imm);
                assert_eq!((&fast[..], fast_end), (&plain[..], plain_end), "{opcode:?}");
            }
        }
    }
}
