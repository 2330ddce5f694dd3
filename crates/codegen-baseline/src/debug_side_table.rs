//! The debug side table: where every local and operand-stack value of a debug-mode function
//! lives at each place a debugger can stop it or find it on the stack.
//!
//! Debug code ([`crate::DebugOptions`]) keeps every local in its frame slot and every operand
//! in its slot or as a constant at each instruction boundary, so at each *entry* of this table
//! a value is either at a fixed offset from the function's frame pointer (`rbp`), where a
//! debugger may read and write it, or a constant the code never materialised. There are three
//! kinds of entries ([`EntryKind`]): a breakpoint or step check before an instruction, the
//! function-entry check, and each wasm call site (for frames below the top of the stack). An
//! entry is keyed by the pc offset of the return address of its call, the pc a stack walk
//! sees for the frame.
//!
//! # Encoding
//!
//! Little-endian bytes, integers in LEB128 (`u` unsigned, `s` signed):
//!
//! ```text
//! table  := 0x01 (version)  u(num_locals)  kind-byte × num_locals  u(num_entries)  entry*
//! entry  := u(pc delta)  s(wasm offset delta)  u8(entry kind: 0 break, 1 call, 2 entry)
//!           u(keep)  u(new)  value × new
//! value  := u8(tag)  [s(constant bits) if tag & 0x08]  [s(slot offset) if tag & 0x10]
//! tag    := value kind in bits 0-2 (0 i32, 1 i64, 2 f32, 3 f64, 4 reference)
//!           | 0x08 constant | 0x10 slot at an explicit offset (else: the slot of its position)
//! ```
//!
//! Deltas are against the previous entry (the first against 0). Locals are stored once in the
//! header: debug code keeps each in the slot of its position ([`crate::frame::slot`]) at every
//! entry. An entry's operand stack is the first `keep` operands of the previous entry's stack
//! followed by `new` values, so consecutive entries store only what changed (the top of the
//! stack, usually one or two values). Every [`KEYFRAME_INTERVAL`]-th entry has `keep = 0`, so
//! rebuilding any entry reads at most that many entries.
//!
//! Cost: encoding an entry compares its operands with the previous entry's, O(operand height),
//! which validation bounds by the function's operand depth, not its size; locals cost nothing
//! per entry. The table is linear in the number of entries plus the values that change.
//! Decoding is linear in the table's size; a lookup is O(log entries) plus rebuilding one
//! entry's operands.

use crate::frame;
use crate::value_stack::Kind;
use std::fmt;

/// Every this many entries, one stores its whole operand stack (bounds lookup cost).
pub const KEYFRAME_INTERVAL: usize = 32;

const VERSION: u8 = 1;
const TAG_CONST: u8 = 0x08;
const TAG_SLOT: u8 = 0x10;

/// Why an entry exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A breakpoint or step check before the instruction at the entry's wasm offset; the
    /// operand stack is the one that instruction starts with.
    Break,
    /// A call to a wasm function made by the instruction at the entry's wasm offset; the
    /// operand stack excludes the call's arguments.
    Call,
    /// The function-entry check, after the prologue, before the first instruction; its wasm
    /// offset is the start of the function body (its locals declaration), which no
    /// instruction has.
    FunctionEntry,
}

/// Where a value is at an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DebugLocation {
    /// In memory at `rbp + offset`, 8 bytes, with the value in its low bytes (an `i32` or
    /// `f32` uses the low 4; the upper 4 are undefined).
    Slot(i32),
    /// A constant: i32 sign-extended, i64 as is, float bits, null references 0. The code
    /// holds it as an immediate, so a debugger cannot change it.
    Const(i64),
}

/// One local or operand at an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DebugValue {
    /// Its type.
    pub kind: Kind,
    /// Where it is.
    pub loc: DebugLocation,
}

/// One decoded entry: a place where a debugger can read the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugEntry<'t> {
    /// Offset from the start of the function's code of the return address of the entry's
    /// call (the debug-break builtin, or the called function).
    pub pc_offset: u32,
    /// Byte offset in the module of the instruction (or, for [`EntryKind::FunctionEntry`], of
    /// the function body).
    pub wasm_offset: u32,
    /// Why the entry exists.
    pub kind: EntryKind,
    /// The locals, parameters first: always in their slots.
    pub locals: &'t [DebugValue],
    /// The operand stack, bottom first.
    pub operands: Vec<DebugValue>,
}

/// Why bytes are not a valid debug side table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the table where it was found.
    pub offset: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad debug side table at byte {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for DecodeError {}

fn kind_code(kind: Kind) -> u8 {
    match kind {
        Kind::I32 => 0,
        Kind::I64 => 1,
        Kind::F32 => 2,
        Kind::F64 => 3,
        Kind::Ref => 4,
    }
}

fn kind_of_code(code: u8) -> Option<Kind> {
    Some(match code {
        0 => Kind::I32,
        1 => Kind::I64,
        2 => Kind::F32,
        3 => Kind::F64,
        4 => Kind::Ref,
        _ => return None,
    })
}

fn write_u(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_s(out: &mut Vec<u8>, mut v: i64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The offset from `rbp` of value-stack position `pos`'s slot.
fn slot_offset(pos: usize) -> i32 {
    frame::slot_offset(pos)
}

fn write_value(out: &mut Vec<u8>, v: &DebugValue, pos: usize) {
    let mut tag = kind_code(v.kind);
    match v.loc {
        DebugLocation::Const(c) => {
            out.push(tag | TAG_CONST);
            write_s(out, c);
        }
        DebugLocation::Slot(off) if off == slot_offset(pos) => out.push(tag),
        DebugLocation::Slot(off) => {
            tag |= TAG_SLOT;
            out.push(tag);
            write_s(out, i64::from(off));
        }
    }
}

/// Builds the encoded table entry by entry, in increasing pc order.
#[derive(Clone, Debug)]
pub struct DebugSideTableBuilder {
    header: Vec<u8>,
    entries: Vec<u8>,
    num_locals: usize,
    count: usize,
    prev_pc: u32,
    prev_wasm: u32,
    prev_operands: Vec<DebugValue>,
}

impl DebugSideTableBuilder {
    /// A builder for a function whose locals (parameters first) have `locals` kinds, each in
    /// the slot of its position at every entry.
    pub fn new(locals: &[Kind]) -> DebugSideTableBuilder {
        let mut header = Vec::with_capacity(8 + locals.len());
        header.push(VERSION);
        write_u(&mut header, locals.len() as u64);
        header.extend(locals.iter().map(|&k| kind_code(k)));
        DebugSideTableBuilder {
            header,
            entries: Vec::new(),
            num_locals: locals.len(),
            count: 0,
            prev_pc: 0,
            prev_wasm: 0,
            prev_operands: Vec::new(),
        }
    }

    /// Number of entries added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds an entry. `pc_offset` must be greater than the previous entry's. Cost:
    /// O(`operands.len()`).
    pub fn add(
        &mut self,
        pc_offset: u32,
        wasm_offset: u32,
        kind: EntryKind,
        operands: &[DebugValue],
    ) {
        assert!(
            self.count == 0 || pc_offset > self.prev_pc,
            "debug side table entries come in increasing pc order"
        );
        let out = &mut self.entries;
        write_u(out, u64::from(pc_offset - self.prev_pc));
        write_s(out, i64::from(wasm_offset) - i64::from(self.prev_wasm));
        out.push(match kind {
            EntryKind::Break => 0,
            EntryKind::Call => 1,
            EntryKind::FunctionEntry => 2,
        });
        let keep = if self.count.is_multiple_of(KEYFRAME_INTERVAL) {
            0
        } else {
            self.prev_operands
                .iter()
                .zip(operands)
                .take_while(|(a, b)| a == b)
                .count()
        };
        write_u(out, keep as u64);
        write_u(out, (operands.len() - keep) as u64);
        for (i, v) in operands.iter().enumerate().skip(keep) {
            write_value(out, v, self.num_locals + i);
        }
        self.prev_operands.clear();
        self.prev_operands.extend_from_slice(operands);
        self.prev_pc = pc_offset;
        self.prev_wasm = wasm_offset;
        self.count += 1;
    }

    /// The encoded table.
    pub fn finish(self) -> Vec<u8> {
        let mut bytes = self.header;
        write_u(&mut bytes, self.count as u64);
        bytes.extend_from_slice(&self.entries);
        bytes
    }
}

/// An entry as decoded: its operands are `keep` of the previous entry's then
/// `values[start..start + len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RawEntry {
    pc_offset: u32,
    wasm_offset: u32,
    kind: EntryKind,
    keep: u32,
    start: u32,
    len: u32,
}

/// A decoded debug side table: entries sorted by pc (and by wasm offset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugSideTable {
    locals: Vec<DebugValue>,
    entries: Vec<RawEntry>,
    values: Vec<DebugValue>,
}

struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, message: &str) -> DecodeError {
        DecodeError {
            message: message.to_string(),
            offset: self.pos,
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    fn u(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.error("integer too long"))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let v = self.u()?;
        u32::try_from(v).map_err(|_| self.error("integer out of range"))
    }

    fn s(&mut self) -> Result<i64, DecodeError> {
        let mut v = 0i64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            v |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1 << shift;
                }
                return Ok(v);
            }
            if shift >= 64 {
                return Err(self.error("integer too long"));
            }
        }
    }

    fn kind(&mut self, code: u8) -> Result<Kind, DecodeError> {
        kind_of_code(code).ok_or_else(|| self.error("unknown value kind"))
    }
}

impl DebugSideTable {
    /// Decodes and checks a table made by [`DebugSideTableBuilder`] (including that no entry
    /// is more than [`KEYFRAME_INTERVAL`] - 1 entries from a full one, which bounds lookups).
    /// Cost: linear in its size.
    pub fn decode(bytes: &[u8]) -> Result<DebugSideTable, DecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.byte()? != VERSION {
            return Err(DecodeError {
                message: "unknown version".into(),
                offset: 0,
            });
        }
        let num_locals = r.u32()? as usize;
        if num_locals > bytes.len() {
            return Err(r.error("more locals than bytes"));
        }
        let mut locals = Vec::with_capacity(num_locals);
        for pos in 0..num_locals {
            let code = r.byte()?;
            let kind = r.kind(code)?;
            locals.push(DebugValue {
                kind,
                loc: DebugLocation::Slot(slot_offset(pos)),
            });
        }
        let count = r.u32()? as usize;
        if count > bytes.len() {
            return Err(r.error("more entries than bytes"));
        }
        let mut entries = Vec::with_capacity(count);
        let mut values = Vec::new();
        let (mut pc, mut wasm, mut height) = (0u32, 0u32, 0u32);
        let mut since_full = 0usize;
        for i in 0..count {
            let delta = r.u32()?;
            if i > 0 && delta == 0 {
                return Err(r.error("entries not in increasing pc order"));
            }
            pc = pc
                .checked_add(delta)
                .ok_or_else(|| r.error("pc offset out of range"))?;
            let wd = r.s()?;
            wasm = u32::try_from(i64::from(wasm) + wd)
                .map_err(|_| r.error("wasm offset out of range"))?;
            let kind = match r.byte()? {
                0 => EntryKind::Break,
                1 => EntryKind::Call,
                2 => EntryKind::FunctionEntry,
                _ => return Err(r.error("unknown entry kind")),
            };
            let keep = r.u32()?;
            if keep > height || (i == 0 && keep > 0) {
                return Err(r.error("entry keeps more operands than the previous one has"));
            }
            since_full = if keep == 0 { 0 } else { since_full + 1 };
            if since_full >= KEYFRAME_INTERVAL {
                return Err(r.error("too many entries since the last full one"));
            }
            let new = r.u32()?;
            let start = values.len() as u32;
            for k in 0..new {
                let tag = r.byte()?;
                let both = TAG_CONST | TAG_SLOT;
                if tag & !(0x07 | both) != 0 || tag & both == both {
                    return Err(r.error("bad value tag"));
                }
                let kind = r.kind(tag & 0x07)?;
                let pos = num_locals + (keep + k) as usize;
                let loc = if tag & TAG_CONST != 0 {
                    DebugLocation::Const(r.s()?)
                } else if tag & TAG_SLOT != 0 {
                    let off = r.s()?;
                    DebugLocation::Slot(
                        i32::try_from(off).map_err(|_| r.error("slot offset out of range"))?,
                    )
                } else {
                    DebugLocation::Slot(slot_offset(pos))
                };
                values.push(DebugValue { kind, loc });
            }
            height = keep
                .checked_add(new)
                .ok_or_else(|| r.error("operand stack too high"))?;
            entries.push(RawEntry {
                pc_offset: pc,
                wasm_offset: wasm,
                kind,
                keep,
                start,
                len: new,
            });
        }
        if r.pos != bytes.len() {
            return Err(r.error("trailing bytes"));
        }
        Ok(DebugSideTable {
            locals,
            entries,
            values,
        })
    }

    /// The locals (parameters first), in their slots at every entry.
    pub fn locals(&self) -> &[DebugValue] {
        &self.locals
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `index` (in pc order). Cost: rebuilding its operands from the entries since the
    /// last full one. Panics if `index >= len()`.
    pub fn entry(&self, index: usize) -> DebugEntry<'_> {
        let e = self.entries[index];
        let mut first = index;
        while self.entries[first].keep > 0 {
            first -= 1;
        }
        let mut operands = Vec::new();
        for raw in &self.entries[first..=index] {
            operands.truncate(raw.keep as usize);
            let (s, l) = (raw.start as usize, raw.len as usize);
            operands.extend_from_slice(&self.values[s..s + l]);
        }
        DebugEntry {
            pc_offset: e.pc_offset,
            wasm_offset: e.wasm_offset,
            kind: e.kind,
            locals: &self.locals,
            operands,
        }
    }

    /// Every entry, in pc order.
    pub fn entries(&self) -> impl Iterator<Item = DebugEntry<'_>> + '_ {
        (0..self.len()).map(|i| self.entry(i))
    }

    /// The entry whose call returns to `pc_offset`, if any. Cost: O(log entries) plus
    /// [`DebugSideTable::entry`].
    pub fn entry_at_pc(&self, pc_offset: u32) -> Option<DebugEntry<'_>> {
        self.entries
            .binary_search_by_key(&pc_offset, |e| e.pc_offset)
            .ok()
            .map(|i| self.entry(i))
    }

    /// The break check (or function-entry check) at `wasm_offset`, if the code has one.
    /// Cost: O(log entries) plus [`DebugSideTable::entry`].
    pub fn entry_for_wasm_offset(&self, wasm_offset: u32) -> Option<DebugEntry<'_>> {
        let first = self
            .entries
            .partition_point(|e| e.wasm_offset < wasm_offset);
        self.entries[first..]
            .iter()
            .take_while(|e| e.wasm_offset == wasm_offset)
            .position(|e| e.kind != EntryKind::Call)
            .map(|k| self.entry(first + k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trips_at_the_edges() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            write_u(&mut out, v);
            let mut r = Reader {
                bytes: &out,
                pos: 0,
            };
            assert_eq!(r.u().unwrap(), v);
            assert_eq!(r.pos, out.len());
        }
        for v in [
            0i64,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            i64::from(i32::MIN),
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            write_s(&mut out, v);
            let mut r = Reader {
                bytes: &out,
                pos: 0,
            };
            assert_eq!(r.s().unwrap(), v, "{v}");
            assert_eq!(r.pos, out.len());
        }
    }
}
