//! The decoder's fast validator for function bodies: the WebAssembly 2.0 core without SIMD,
//! over one byte per operand type, in one pass with no allocation once warm.
//!
//! Validation dominates the time from bytes to a first result under lazy compilation, and
//! wasmparser's general validator (every proposal, subtyping, precise errors) runs at about
//! 40% of the speed this subset allows. This validator only ever says "valid": whatever it
//! cannot prove valid (an invalid body, or anything outside its subset: SIMD, typed function
//! references, `ref.func`, 64-bit memories and tables, multiple memories) it leaves to
//! wasmparser, which gives the verdict and the exact error. It accepts only bodies wasmparser
//! accepts; the tests check that against wasmparser on the spec suite and on mutated bodies.

use crate::module::Module;
use crate::reader::Reader;
use wasmparser::{RefType, ValType};

/// Operand type codes.
const I32: u8 = 0;
const I64: u8 = 1;
const F32: u8 = 2;
const F64: u8 = 3;
const FUNCREF: u8 = 4;
const EXTERNREF: u8 = 5;
/// The bottom type: what an unreachable frame's polymorphic stack pops; matches any type.
const BOTTOM: u8 = 6;

/// wasmparser's limit on a function's locals (parameters included).
const MAX_LOCALS: u32 = 50_000;

/// The code of `t`, if in the subset.
fn code(t: ValType) -> Option<u8> {
    Some(match t {
        ValType::I32 => I32,
        ValType::I64 => I64,
        ValType::F32 => F32,
        ValType::F64 => F64,
        ValType::Ref(r) => ref_code(r)?,
        ValType::V128 => return None,
    })
}

fn ref_code(r: RefType) -> Option<u8> {
    if r == RefType::FUNCREF {
        Some(FUNCREF)
    } else if r == RefType::EXTERNREF {
        Some(EXTERNREF)
    } else {
        None
    }
}

/// The code of a value type's one-byte encoding, if in the subset.
fn value_type_byte(b: u8) -> Option<u8> {
    Some(match b {
        0x7f => I32,
        0x7e => I64,
        0x7d => F32,
        0x7c => F64,
        0x70 => FUNCREF,
        0x6f => EXTERNREF,
        _ => return None,
    })
}

/// The numeric operators without immediates, by opcode: `1 | binary << 2 | operand << 3 |
/// result << 6`, or 0 for any other opcode. One table lookup replaces the dispatch for them.
static NUMERIC: [u16; 256] = {
    const fn sig(binary: bool, operand: u8, result: u8) -> u16 {
        1 | (binary as u16) << 2 | (operand as u16) << 3 | (result as u16) << 6
    }
    let mut t = [0u16; 256];
    let mut op = 0x45;
    while op <= 0xc4 {
        t[op] = match op {
            0x45 => sig(false, I32, I32),
            0x46..=0x4f => sig(true, I32, I32),
            0x50 => sig(false, I64, I32),
            0x51..=0x5a => sig(true, I64, I32),
            0x5b..=0x60 => sig(true, F32, I32),
            0x61..=0x66 => sig(true, F64, I32),
            0x67..=0x69 => sig(false, I32, I32),
            0x6a..=0x78 => sig(true, I32, I32),
            0x79..=0x7b => sig(false, I64, I64),
            0x7c..=0x8a => sig(true, I64, I64),
            0x8b..=0x91 => sig(false, F32, F32),
            0x92..=0x98 => sig(true, F32, F32),
            0x99..=0x9f => sig(false, F64, F64),
            0xa0..=0xa6 => sig(true, F64, F64),
            0xa7 => sig(false, I64, I32),
            0xa8 | 0xa9 => sig(false, F32, I32),
            0xaa | 0xab => sig(false, F64, I32),
            0xac | 0xad => sig(false, I32, I64),
            0xae | 0xaf => sig(false, F32, I64),
            0xb0 | 0xb1 => sig(false, F64, I64),
            0xb2 | 0xb3 => sig(false, I32, F32),
            0xb4 | 0xb5 => sig(false, I64, F32),
            0xb6 => sig(false, F64, F32),
            0xb7 | 0xb8 => sig(false, I32, F64),
            0xb9 | 0xba => sig(false, I64, F64),
            0xbb => sig(false, F32, F64),
            0xbc => sig(false, F32, I32),
            0xbd => sig(false, F64, I64),
            0xbe => sig(false, I32, F32),
            0xbf => sig(false, I64, F64),
            0xc0 | 0xc1 => sig(false, I32, I32),
            _ => sig(false, I64, I64), // 0xc2..=0xc4
        };
        op += 1;
    }
    t
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    Loop,
    If,
    Else,
    Function,
}

/// A control frame. Its parameter then result types are `labels[types..]`.
#[derive(Clone, Copy)]
struct Frame {
    kind: Kind,
    /// The operand stack's height at entry (after the parameters were popped).
    height: usize,
    unreachable: bool,
    types: usize,
    params: usize,
    results: usize,
}

/// Memory reused across validations on one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    locals: Vec<u8>,
    stack: Vec<u8>,
    frames: Vec<Frame>,
    labels: Vec<u8>,
}

/// Whether `body` (locals and code) of function `func_index` of `module` is valid, proven by
/// this validator. `false` means invalid or not provable here: ask wasmparser. The module
/// must hold every section before the code section. Cost: one pass over the body.
pub(crate) fn validate(
    module: &Module,
    func_index: u32,
    body: &[u8],
    scratch: &mut Scratch,
) -> bool {
    // The buffers move into the validator (and back) so that, owned by a local, they can
    // live in registers.
    let mut v = Validator {
        m: module,
        r: Reader::new(body),
        locals: std::mem::take(&mut scratch.locals),
        stack: std::mem::take(&mut scratch.stack),
        frames: std::mem::take(&mut scratch.frames),
        labels: std::mem::take(&mut scratch.labels),
        height: 0,
        unreachable: false,
    };
    v.locals.clear();
    v.stack.clear();
    v.frames.clear();
    v.labels.clear();
    let valid = v.function(func_index).is_some();
    scratch.locals = v.locals;
    scratch.stack = v.stack;
    scratch.frames = v.frames;
    scratch.labels = v.labels;
    valid
}

struct Validator<'a> {
    m: &'a Module,
    r: Reader<'a>,
    locals: Vec<u8>,
    stack: Vec<u8>,
    frames: Vec<Frame>,
    labels: Vec<u8>,
    /// The innermost frame's `height` and `unreachable`, kept out of `frames` for the hot
    /// path of every pop.
    height: usize,
    unreachable: bool,
}

impl Validator<'_> {
    #[inline(always)]
    fn push_frame(&mut self, frame: Frame) {
        self.height = frame.height;
        self.unreachable = frame.unreachable;
        self.frames.push(frame);
    }

    #[inline(always)]
    fn pop_frame(&mut self) {
        self.frames.pop();
        if let Some(f) = self.frames.last() {
            self.height = f.height;
            self.unreachable = f.unreachable;
        }
    }

    #[inline(always)]
    fn function(&mut self, func_index: u32) -> Option<()> {
        let m = self.m;
        let ty = m.func_type(m.functions.get(func_index as usize)?.type_index)?;
        for &p in ty.params() {
            self.locals.push(code(p)?);
        }
        let mut total = self.locals.len() as u32;
        for _ in 0..self.r.u32()? {
            let n = self.r.u32()?;
            let t = value_type_byte(self.r.byte()?)?;
            total = total.checked_add(n).filter(|&t| t <= MAX_LOCALS)?;
            self.locals.resize(total as usize, t);
        }
        for &r in ty.results() {
            self.labels.push(code(r)?);
        }
        self.push_frame(Frame {
            kind: Kind::Function,
            height: 0,
            unreachable: false,
            types: 0,
            params: 0,
            results: ty.results().len(),
        });
        loop {
            let op = self.r.byte()?;
            let sig = NUMERIC[op as usize];
            if sig != 0 {
                let operand = (sig >> 3 & 7) as u8;
                if sig & 4 != 0 {
                    self.pop(operand)?;
                }
                self.pop(operand)?;
                self.push((sig >> 6) as u8);
                continue;
            }
            match op {
                // `local.get`, the most frequent operator, and `end`, the only one that can
                // end the body.
                0x20 => {
                    let t = self.local()?;
                    self.push(t);
                }
                0x0b => {
                    self.end()?;
                    if self.frames.is_empty() {
                        return self.r.at_end().then_some(());
                    }
                }
                op => self.operator(op)?,
            }
        }
    }

    #[inline(always)]
    fn push(&mut self, t: u8) {
        self.stack.push(t);
    }

    /// Pops an operand that must have type `expected`.
    #[inline(always)]
    fn pop(&mut self, expected: u8) -> Option<()> {
        let t = self.pop_any()?;
        (t == expected || t == BOTTOM).then_some(())
    }

    /// Pops an operand of any type; `BOTTOM` from an unreachable frame's empty stack.
    #[inline(always)]
    fn pop_any(&mut self) -> Option<u8> {
        if self.stack.len() == self.height {
            return self.unreachable.then_some(BOTTOM);
        }
        self.stack.pop()
    }

    /// Pops `n` operands of type `i32` (the address, value and length operands of the bulk
    /// memory and table operators).
    #[inline(always)]
    fn pop_i32s(&mut self, n: usize) -> Option<()> {
        (0..n).try_for_each(|_| self.pop(I32))
    }

    #[inline(always)]
    fn unary(&mut self, operand: u8, result: u8) -> Option<()> {
        self.pop(operand)?;
        self.push(result);
        Some(())
    }

    #[inline(always)]
    fn set_unreachable(&mut self) -> Option<()> {
        let frame = self.frames.last_mut()?;
        self.stack.truncate(frame.height);
        frame.unreachable = true;
        self.unreachable = true;
        Some(())
    }

    /// Reads a label depth; returns the range of that label's types in `labels`.
    #[inline(always)]
    fn label(&mut self) -> Option<(usize, usize)> {
        let depth = self.r.u32()?;
        let i = self.frames.len().checked_sub(depth as usize + 1)?;
        let f = self.frames[i];
        Some(match f.kind {
            Kind::Loop => (f.types, f.params),
            _ => (f.types + f.params, f.results),
        })
    }

    /// Pops the types `labels[start..start + n]`, last first.
    #[inline(always)]
    fn pop_types(&mut self, start: usize, n: usize) -> Option<()> {
        for i in (start..start + n).rev() {
            self.pop(self.labels[i])?;
        }
        Some(())
    }

    /// Checks the top operands have the types `labels[start..start + n]` without popping
    /// them; an unreachable frame's polymorphic stack supplies what is missing.
    #[inline(always)]
    fn peek_types(&self, start: usize, n: usize) -> Option<()> {
        let f = self.frames.last()?;
        for i in 0..n {
            let expected = self.labels[start + n - 1 - i];
            match self
                .stack
                .len()
                .checked_sub(i + 1)
                .filter(|&p| p >= f.height)
            {
                Some(p) if self.stack[p] != expected && self.stack[p] != BOTTOM => return None,
                Some(_) => {}
                None if !f.unreachable => return None,
                None => {}
            }
        }
        Some(())
    }

    #[inline(always)]
    fn push_types(&mut self, start: usize, n: usize) {
        self.stack.extend_from_slice(&self.labels[start..start + n]);
    }

    /// Reads a block type and records its parameter and result types in `labels`.
    #[inline(always)]
    fn block_type(&mut self) -> Option<(usize, usize, usize)> {
        let start = self.labels.len();
        let b = *self.r.bytes.get(self.r.pos)?;
        if b == 0x40 {
            self.r.pos += 1;
            return Some((start, 0, 0));
        }
        if let Some(t) = value_type_byte(b) {
            self.r.pos += 1;
            self.labels.push(t);
            return Some((start, 0, 1));
        }
        let index = u32::try_from(self.r.signed(33)?).ok()?;
        let ty = self.m.func_type(index)?;
        for &t in ty.params().iter().chain(ty.results()) {
            self.labels.push(code(t)?);
        }
        Some((start, ty.params().len(), ty.results().len()))
    }

    #[inline(always)]
    fn enter(&mut self, kind: Kind) -> Option<()> {
        let (types, params, results) = self.block_type()?;
        if kind == Kind::If {
            self.pop(I32)?;
        }
        self.pop_types(types, params)?;
        self.push_frame(Frame {
            kind,
            height: self.stack.len(),
            unreachable: false,
            types,
            params,
            results,
        });
        self.push_types(types, params);
        Some(())
    }

    /// Checks the current frame's results are exactly what is on its stack.
    #[inline(always)]
    fn check_results(&mut self, f: &Frame) -> Option<()> {
        self.pop_types(f.types + f.params, f.results)?;
        (self.stack.len() == f.height).then_some(())
    }

    #[inline(always)]
    fn end(&mut self) -> Option<()> {
        let f = *self.frames.last()?;
        self.check_results(&f)?;
        if f.kind == Kind::If {
            // No `else`: the parameters flow to the results.
            let (p, r) = (f.types, f.types + f.params);
            if self.labels[p..r] != self.labels[r..r + f.results] {
                return None;
            }
        }
        self.pop_frame();
        self.push_types(f.types + f.params, f.results);
        self.labels.truncate(f.types);
        Some(())
    }

    #[inline(always)]
    fn function_type_of_call(&mut self, type_index: u32) -> Option<()> {
        let ty = self.m.func_type(type_index)?;
        for &p in ty.params().iter().rev() {
            self.pop(code(p)?)?;
        }
        for &r in ty.results() {
            self.push(code(r)?);
        }
        Some(())
    }

    /// Reads a memory argument for an access of natural alignment `2^max_align` to memory 0.
    #[inline(always)]
    fn memarg(&mut self, max_align: u32) -> Option<()> {
        if self.r.u32()? > max_align {
            return None;
        }
        self.r.u32()?;
        self.memory(0)
    }

    /// Checks memory `index` exists and is 32-bit.
    #[inline(always)]
    fn memory(&self, index: u32) -> Option<()> {
        (!self.m.memories.get(index as usize)?.memory64).then_some(())
    }

    /// Reads a memory index byte, which must be 0 (one memory).
    #[inline(always)]
    fn memory_byte(&mut self) -> Option<()> {
        if self.r.byte()? != 0 {
            return None;
        }
        self.memory(0)
    }

    #[inline(always)]
    fn load(&mut self, max_align: u32, result: u8) -> Option<()> {
        self.memarg(max_align)?;
        self.unary(I32, result)
    }

    #[inline(always)]
    fn store(&mut self, max_align: u32, value: u8) -> Option<()> {
        self.memarg(max_align)?;
        self.pop(value)?;
        self.pop(I32)
    }

    /// The element type code of 32-bit table `index`.
    #[inline(always)]
    fn table(&mut self) -> Option<u8> {
        let t = self.m.tables.get(self.r.u32()? as usize)?;
        if t.ty.table64 {
            return None;
        }
        ref_code(t.ty.element_type)
    }

    /// The element type code of element segment `index`.
    #[inline(always)]
    fn element(&mut self) -> Option<u8> {
        ref_code(self.m.elements.get(self.r.u32()? as usize)?.ty)
    }

    #[inline(always)]
    fn data_index(&mut self) -> Option<()> {
        (self.r.u32()? < self.m.data_count?).then_some(())
    }

    #[inline(always)]
    fn local(&mut self) -> Option<u8> {
        self.locals.get(self.r.u32()? as usize).copied()
    }

    #[inline(always)]
    fn operator(&mut self, op: u8) -> Option<()> {
        match op {
            0x00 => self.set_unreachable()?,
            0x01 => {}
            0x02 => self.enter(Kind::Block)?,
            0x03 => self.enter(Kind::Loop)?,
            0x04 => self.enter(Kind::If)?,
            0x05 => {
                let f = *self.frames.last()?;
                if f.kind != Kind::If {
                    return None;
                }
                self.check_results(&f)?;
                let frame = self.frames.last_mut()?;
                frame.kind = Kind::Else;
                frame.unreachable = false;
                self.unreachable = false;
                self.push_types(f.types, f.params);
            }
            0x0c => {
                let (start, n) = self.label()?;
                self.pop_types(start, n)?;
                self.set_unreachable()?;
            }
            0x0d => {
                let (start, n) = self.label()?;
                self.pop(I32)?;
                self.pop_types(start, n)?;
                self.push_types(start, n);
            }
            0x0e => self.br_table()?,
            0x0f => {
                let f = self.frames[0];
                self.pop_types(f.types + f.params, f.results)?;
                self.set_unreachable()?;
            }
            0x10 => {
                let f = self.m.functions.get(self.r.u32()? as usize)?;
                self.function_type_of_call(f.type_index)?;
            }
            0x11 => {
                let type_index = self.r.u32()?;
                if self.table()? != FUNCREF {
                    return None;
                }
                self.pop(I32)?;
                self.function_type_of_call(type_index)?;
            }
            0x1a => {
                self.pop_any()?;
            }
            0x1b => {
                self.pop(I32)?;
                let a = self.pop_any()?;
                let b = self.pop_any()?;
                let numeric = |t: u8| t <= F64 || t == BOTTOM;
                if !numeric(a) || !numeric(b) || (a != b && a != BOTTOM && b != BOTTOM) {
                    return None;
                }
                self.push(if a == BOTTOM { b } else { a });
            }
            0x1c => {
                if self.r.u32()? != 1 {
                    return None;
                }
                let t = value_type_byte(self.r.byte()?)?;
                self.pop(I32)?;
                self.pop(t)?;
                self.pop(t)?;
                self.push(t);
            }
            0x21 => {
                let t = self.local()?;
                self.pop(t)?;
            }
            0x22 => {
                let t = self.local()?;
                self.unary(t, t)?;
            }
            0x23 => {
                let g = self.m.globals.get(self.r.u32()? as usize)?;
                self.push(code(g.ty.content_type)?);
            }
            0x24 => {
                let g = self.m.globals.get(self.r.u32()? as usize)?;
                if !g.ty.mutable {
                    return None;
                }
                self.pop(code(g.ty.content_type)?)?;
            }
            0x25 => {
                let t = self.table()?;
                self.unary(I32, t)?;
            }
            0x26 => {
                let t = self.table()?;
                self.pop(t)?;
                self.pop(I32)?;
            }
            0x28 => self.load(2, I32)?,
            0x29 => self.load(3, I64)?,
            0x2a => self.load(2, F32)?,
            0x2b => self.load(3, F64)?,
            0x2c | 0x2d => self.load(0, I32)?,
            0x2e | 0x2f => self.load(1, I32)?,
            0x30 | 0x31 => self.load(0, I64)?,
            0x32 | 0x33 => self.load(1, I64)?,
            0x34 | 0x35 => self.load(2, I64)?,
            0x36 => self.store(2, I32)?,
            0x37 => self.store(3, I64)?,
            0x38 => self.store(2, F32)?,
            0x39 => self.store(3, F64)?,
            0x3a => self.store(0, I32)?,
            0x3b => self.store(1, I32)?,
            0x3c => self.store(0, I64)?,
            0x3d => self.store(1, I64)?,
            0x3e => self.store(2, I64)?,
            0x3f => {
                self.memory_byte()?;
                self.push(I32);
            }
            0x40 => {
                self.memory_byte()?;
                self.unary(I32, I32)?;
            }
            0x41 => {
                self.r.signed(32)?;
                self.push(I32);
            }
            0x42 => {
                self.r.signed(64)?;
                self.push(I64);
            }
            0x43 => {
                self.r.skip(4)?;
                self.push(F32);
            }
            0x44 => {
                self.r.skip(8)?;
                self.push(F64);
            }
            // 0x45..=0xc4: `NUMERIC`, in the caller.
            0xd0 => {
                let t = match self.r.byte()? {
                    0x70 => FUNCREF,
                    0x6f => EXTERNREF,
                    _ => return None,
                };
                self.push(t);
            }
            0xd1 => {
                let t = self.pop_any()?;
                if t != FUNCREF && t != EXTERNREF && t != BOTTOM {
                    return None;
                }
                self.push(I32);
            }
            0xfc => self.prefixed()?,
            // Tail calls, `ref.func`, SIMD, exceptions, GC and anything malformed. (`local.get`
            // and `end` are handled by the caller.)
            _ => return None,
        }
        Some(())
    }

    #[inline(always)]
    fn br_table(&mut self) -> Option<()> {
        let n = self.r.u32()?;
        // Every target takes at least a byte: a count the body cannot hold is malformed.
        if n as usize > self.r.bytes.len() - self.r.pos {
            return None;
        }
        self.pop(I32)?;
        let mut arity = None;
        for _ in 0..n {
            let (start, len) = self.label()?;
            if *arity.get_or_insert(len) != len {
                return None;
            }
            self.peek_types(start, len)?;
        }
        let (start, len) = self.label()?;
        if arity.is_some_and(|a| a != len) {
            return None;
        }
        self.pop_types(start, len)?;
        self.set_unreachable()
    }

    #[inline(always)]
    fn prefixed(&mut self) -> Option<()> {
        match self.r.u32()? {
            0 | 1 => self.unary(F32, I32),
            2 | 3 => self.unary(F64, I32),
            4 | 5 => self.unary(F32, I64),
            6 | 7 => self.unary(F64, I64),
            8 => {
                self.data_index()?;
                self.memory_byte()?;
                self.pop_i32s(3)
            }
            9 => self.data_index(),
            10 => {
                self.memory_byte()?;
                self.memory_byte()?;
                self.pop_i32s(3)
            }
            11 => {
                self.memory_byte()?;
                self.pop_i32s(3)
            }
            12 => {
                let e = self.element()?;
                if self.table()? != e {
                    return None;
                }
                self.pop_i32s(3)
            }
            13 => self.element().map(drop),
            14 => {
                if self.table()? != self.table()? {
                    return None;
                }
                self.pop_i32s(3)
            }
            15 => {
                let t = self.table()?;
                self.pop(I32)?;
                self.pop(t)?;
                self.push(I32);
                Some(())
            }
            16 => {
                self.table()?;
                self.push(I32);
                Some(())
            }
            17 => {
                let t = self.table()?;
                self.pop(I32)?;
                self.pop(t)?;
                self.pop(I32)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Scratch, validate};
    use crate::Features;
    use crate::test_rng::Rng;

    /// A valid module of the WebAssembly 2.0 core without SIMD, from `seed`.
    fn generate(seed: u64) -> Vec<u8> {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let input: Vec<u8> = (0..16 * 1024).map(|_| rng.next() as u8).collect();
        let config = wasm_smith::Config {
            max_instructions: if seed % 4 == 3 { 600 } else { 150 },
            max_nesting_depth: 12,
            simd_enabled: false,
            relaxed_simd_enabled: false,
            threads_enabled: false,
            shared_everything_threads_enabled: false,
            tail_call_enabled: false,
            exceptions_enabled: false,
            gc_enabled: false,
            custom_descriptors_enabled: false,
            memory64_enabled: false,
            custom_page_sizes_enabled: false,
            wide_arithmetic_enabled: false,
            extended_const_enabled: false,
            reference_types_enabled: true,
            bulk_memory_enabled: true,
            multi_value_enabled: true,
            // Imports would come in the compact encoding of a later proposal.
            max_imports: 0,
            min_types: 2,
            min_funcs: 2,
            max_funcs: 12,
            max_memories: 1,
            max_tables: 2,
            ..wasm_smith::Config::default()
        };
        let mut u = arbitrary::Unstructured::new(&input);
        wasm_smith::Module::new(config, &mut u)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
            .to_bytes()
    }

    /// Opcodes a mutation writes: the 2.0 core's, so most mutants still parse and the
    /// validator's type checks are what decides.
    const OPCODES: &[u8] = &[
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x1a, 0x1b,
        0x1c, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x28, 0x29, 0x2a, 0x2b, 0x36, 0x37, 0x3f,
        0x40, 0x41, 0x42, 0x43, 0x45, 0x46, 0x50, 0x51, 0x5b, 0x61, 0x67, 0x6a, 0x79, 0x7c, 0x8b,
        0x92, 0x99, 0xa0, 0xa7, 0xa8, 0xac, 0xb2, 0xbb, 0xbf, 0xc0, 0xc4, 0xd0, 0xd1, 0xfc, 0x40,
        0x6f, 0x70, 0x7c, 0x7d, 0x7e, 0x7f,
    ];

    /// wasmparser alone, in the decoder's order: payloads in turn, each body validated as it
    /// comes (`validate_all` validates bodies after the whole module, so a later malformed
    /// section would win there).
    fn wasmparser_decode(
        bytes: &[u8],
        features: &Features,
    ) -> Result<(), wasmparser::BinaryReaderError> {
        let mut validator = wasmparser::Validator::new_with_features(features.wasm_features());
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(features.wasm_features());
        for payload in parser.parse_all(bytes) {
            let payload = payload?;
            if let wasmparser::ValidPayload::Func(func, body) = validator.payload(&payload)? {
                func.into_validator(Default::default()).validate(&body)?;
            }
        }
        Ok(())
    }

    /// The whole decoder (every fast path included) gives wasmparser's verdict and error on
    /// generated modules with a few bytes changed anywhere.
    #[test]
    fn decode_agrees_with_wasmparser_on_mutated_modules() {
        let features = Features::default();
        let mut rng = Rng(0xdec0de);
        let (mut total, mut valid) = (0, 0);
        for seed in 1000..1150 {
            let wasm = generate(seed);
            for _ in 0..20 {
                let mut mutant = wasm.clone();
                for _ in 0..1 + rng.below(3) {
                    // Past the header, which would only give "bad magic" errors.
                    let at = 8 + rng.below(mutant.len() - 8);
                    mutant[at] = match rng.below(3) {
                        0 => rng.next() as u8,
                        1 => mutant[at] ^ (1 << rng.below(8)),
                        _ => OPCODES[rng.below(OPCODES.len())],
                    };
                }
                match (
                    wasmparser_decode(&mutant, &features),
                    crate::decode(&mutant, &features),
                ) {
                    (Ok(()), Ok(_)) => valid += 1,
                    (Err(e), Err(d)) => assert_eq!(
                        (d.message(), d.offset()),
                        (e.message(), e.offset() as usize),
                        "seed {seed}: {mutant:02x?}"
                    ),
                    (r, d) => panic!("seed {seed}: wasmparser {r:?}, decode {d:?}: {mutant:02x?}"),
                }
                total += 1;
            }
        }
        assert!(
            valid * 20 > total && valid * 2 < total,
            "{valid} valid of {total}"
        );
    }

    /// On generated modules the fast validator accepts (nearly) every function, and on
    /// their mutants it accepts only what wasmparser accepts.
    #[test]
    fn accepts_only_what_wasmparser_accepts() {
        let features = Features::default();
        let mut scratch = Scratch::default();
        let mut rng = Rng(0x5eed);
        let (mut functions, mut accepted) = (0, 0);
        let (mut mutants, mut valid_mutants, mut fast_mutants) = (0, 0, 0);
        for seed in 0..300 {
            let wasm = generate(seed);
            let module =
                crate::decode(&wasm, &features).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            for index in module.num_imported_functions..module.functions.len() as u32 {
                let range = module.functions[index as usize].body.clone().unwrap();
                functions += 1;
                if validate(&module, index, &wasm[range.clone()], &mut scratch) {
                    accepted += 1;
                }
                for _ in 0..12 {
                    let mut mutant = wasm.clone();
                    for _ in 0..1 + rng.below(3) {
                        let at = range.start + rng.below(range.len());
                        mutant[at] = match rng.below(4) {
                            0 => rng.next() as u8,
                            1 => mutant[at] ^ (1 << rng.below(8)),
                            _ => OPCODES[rng.below(OPCODES.len())],
                        };
                    }
                    mutants += 1;
                    let fast = validate(&module, index, &mutant[range.clone()], &mut scratch);
                    let reference =
                        wasmparser::Validator::new_with_features(features.wasm_features())
                            .validate_all(&mutant)
                            .is_ok();
                    assert!(
                        reference || !fast,
                        "seed {seed} function {index}: accepted an invalid body {:02x?}",
                        &mutant[range.clone()]
                    );
                    valid_mutants += usize::from(reference);
                    fast_mutants += usize::from(fast);
                }
            }
        }
        // wasm-smith uses `ref.func` and call_indirect through externref-free tables
        // sometimes: a few functions go to wasmparser, not many.
        assert!(
            accepted * 10 >= functions * 9,
            "{accepted} of {functions} accepted"
        );
        // The mutants exercise both verdicts.
        assert!(valid_mutants * 20 > mutants && valid_mutants * 2 < mutants);
        assert!(
            fast_mutants * 10 > valid_mutants * 7,
            "{fast_mutants} of {valid_mutants}"
        );
    }
}
