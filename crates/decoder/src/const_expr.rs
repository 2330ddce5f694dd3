//! Constant expressions: global initializers, segment offsets, element items.

use smallvec::SmallVec;
use std::ops::Range;
use wasmparser::{HeapType, Operator};

/// One instruction of a constant expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as raw bits.
    F32Const(u32),
    /// `f64.const`, as raw bits.
    F64Const(u64),
    /// `v128.const`, as little-endian bytes (not a `u128`, whose 16-byte alignment would
    /// double the size of every constant expression; modules have 100,000 of them).
    V128Const([u8; 16]),
    /// `ref.null`.
    RefNull(HeapType),
    /// `ref.func`.
    RefFunc(u32),
    /// `global.get` of an (imported or earlier immutable) global.
    GlobalGet(u32),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub` (extended constant expressions).
    I32Sub,
    /// `i32.mul` (extended constant expressions).
    I32Mul,
    /// `i64.add` (extended constant expressions).
    I64Add,
    /// `i64.sub` (extended constant expressions).
    I64Sub,
    /// `i64.mul` (extended constant expressions).
    I64Mul,
    /// An instruction the runtime does not evaluate (GC allocations in constant expressions);
    /// only possible with the GC proposal enabled. Carries the instruction's byte offset.
    Unsupported(usize),
}

/// A validated constant expression: its instructions in order (without the final `end`) and
/// its byte range in the wire bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstExpr {
    /// The instructions, evaluated with a small value stack. One instruction, the common
    /// case (modules have up to 100,000 segment offsets), is stored inline.
    pub ops: SmallVec<[ConstOp; 1]>,
    /// The expression's bytes in [`crate::Module::wire_bytes`], `end` included.
    pub range: Range<usize>,
}

impl ConstExpr {
    /// The single `i32.const` or `i64.const` value, if the expression is just that: the common
    /// case for segment offsets.
    pub fn as_int_const(&self) -> Option<i64> {
        match self.ops.as_slice() {
            [ConstOp::I32Const(v)] => Some(i64::from(*v)),
            [ConstOp::I64Const(v)] => Some(*v),
            _ => None,
        }
    }

    /// Reads an expression the validator has already accepted.
    pub(crate) fn read(expr: &wasmparser::ConstExpr<'_>) -> wasmparser::Result<ConstExpr> {
        let mut reader = expr.get_operators_reader();
        let start = reader.original_position();
        let mut ops = SmallVec::new();
        loop {
            let offset = reader.original_position();
            let op = match reader.read()? {
                Operator::End => break,
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(*value.bytes()),
                Operator::RefNull { hty } => ConstOp::RefNull(hty),
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                _ => ConstOp::Unsupported(offset as usize),
            };
            ops.push(op);
        }
        Ok(ConstExpr {
            ops,
            range: start as usize..reader.original_position() as usize,
        })
    }
}
