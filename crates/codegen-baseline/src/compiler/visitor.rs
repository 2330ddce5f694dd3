//! The operator visitor: wasmparser decodes each operator straight into a call of the
//! matching `VisitOperator` method, which emits its code (no `Operator` value is built and
//! matched a second time).
//!
//! Every method is generated from wasmparser's operator list: control operators that matter
//! in unreachable code (`block`, `loop`, `if`, `else`, `end`) are handled by
//! [`visit_operator!`], every other operator does nothing in unreachable code and is compiled
//! by its arm of [`compile_operator!`], or is unsupported if it has none.

use super::*;
use crate::value_stack::Kind::{F32, F64, I32, I64, Ref};
use wasmparser::{VisitOperator, VisitSimdOperator};

/// The body of the visitor method for operator `$op` with immediates `$arg`.
macro_rules! visit_operator {
    ($s:ident, Block $blockty:ident) => {
        if $s.reachable {
            $s.visit_block($blockty, ControlKind::Block)
        } else {
            $s.dead_depth += 1;
            Ok(())
        }
    };
    ($s:ident, Loop $blockty:ident) => {
        if $s.reachable {
            $s.visit_loop($blockty)
        } else {
            $s.dead_depth += 1;
            Ok(())
        }
    };
    ($s:ident, If $blockty:ident) => {
        if $s.reachable {
            $s.visit_if($blockty)
        } else {
            $s.dead_depth += 1;
            Ok(())
        }
    };
    ($s:ident, Else) => {
        if $s.reachable || $s.dead_depth == 0 {
            $s.visit_else()
        } else {
            Ok(())
        }
    };
    ($s:ident, End) => {
        if $s.reachable || $s.dead_depth == 0 {
            $s.visit_end()
        } else {
            $s.dead_depth -= 1;
            Ok(())
        }
    };
    ($s:ident, $op:ident $($arg:ident)*) => {
        if $s.reachable {
            compile_operator!($s, $op $($arg)*)
        } else {
            $(let _ = $arg;)*
            Ok(())
        }
    };
}

/// The code of reachable operator `$op` with immediates `$arg`: one arm per supported
/// operator, `Unsupported` for the others.
macro_rules! compile_operator {
    // Control.
    ($s:ident, Unreachable) => {{
        $s.trap_here(TrapCode::Unreachable);
        $s.asm.ud2();
        $s.reachable = false;
        Ok(())
    }};
    ($s:ident, Nop) => { Ok(()) };
    ($s:ident, Br $relative_depth:ident) => {{
        $s.branch_to($relative_depth)?;
        $s.reachable = false;
        Ok(())
    }};
    ($s:ident, BrIf $relative_depth:ident) => { $s.visit_br_if($relative_depth) };
    ($s:ident, BrTable $targets:ident) => { $s.visit_br_table($targets) };
    ($s:ident, Return) => {{
        $s.emit_return()?;
        $s.reachable = false;
        Ok(())
    }};
    ($s:ident, Call $function_index:ident) => {{
        let module = $s.module;
        let callee = if $function_index < module.num_imported_functions {
            Callee::Import($function_index)
        } else {
            Callee::Local($function_index)
        };
        $s.call(callee, module.function_type($function_index))
    }};
    ($s:ident, CallIndirect $type_index:ident $table_index:ident) => { $s.visit_call_indirect($type_index, $table_index) };
    ($s:ident, Drop) => {{
        let (v, _) = $s.stack.pop();
        $s.stack.release(v);
        Ok(())
    }};
    ($s:ident, Select) => { $s.visit_select() };
    ($s:ident, TypedSelect $ty:ident) => {
        if Kind::of($ty).is_some() {
        $s.visit_select()
        } else {
        Err(unsupported("TypedSelect", $s.offset))
        }
    };

    // Locals and globals.
    ($s:ident, LocalGet $local_index:ident) => { $s.local_get($local_index as usize) };
    ($s:ident, LocalSet $local_index:ident) => { $s.local_set($local_index as usize, false) };
    ($s:ident, LocalTee $local_index:ident) => { $s.local_set($local_index as usize, true) };
    ($s:ident, GlobalGet $global_index:ident) => { $s.global_get($global_index, stringify!(GlobalGet)) };
    ($s:ident, GlobalSet $global_index:ident) => { $s.global_set($global_index, stringify!(GlobalSet)) };

    // Constants.
    ($s:ident, I32Const $value:ident) => { $s.stack.push_const(I32, i64::from($value)) };
    ($s:ident, I64Const $value:ident) => { $s.stack.push_const(I64, $value) };
    ($s:ident, F32Const $value:ident) => { $s.stack.push_const(F32, i64::from($value.bits())) };
    ($s:ident, F64Const $value:ident) => { $s.stack.push_const(F64, $value.bits() as i64) };

    // Integer arithmetic.
    ($s:ident, I32Add) => { $s.alu(I32, AluOp::Add, i64::wrapping_add) };
    ($s:ident, I64Add) => { $s.alu(I64, AluOp::Add, i64::wrapping_add) };
    ($s:ident, I32Sub) => { $s.alu(I32, AluOp::Sub, i64::wrapping_sub) };
    ($s:ident, I64Sub) => { $s.alu(I64, AluOp::Sub, i64::wrapping_sub) };
    ($s:ident, I32And) => { $s.alu(I32, AluOp::And, |a, b| a & b) };
    ($s:ident, I64And) => { $s.alu(I64, AluOp::And, |a, b| a & b) };
    ($s:ident, I32Or) => { $s.alu(I32, AluOp::Or, |a, b| a | b) };
    ($s:ident, I64Or) => { $s.alu(I64, AluOp::Or, |a, b| a | b) };
    ($s:ident, I32Xor) => { $s.alu(I32, AluOp::Xor, |a, b| a ^ b) };
    ($s:ident, I64Xor) => { $s.alu(I64, AluOp::Xor, |a, b| a ^ b) };
    ($s:ident, I32Mul) => { $s.mul(I32) };
    ($s:ident, I64Mul) => { $s.mul(I64) };
    ($s:ident, I32DivS) => { $s.divrem(I32, true, false) };
    ($s:ident, I64DivS) => { $s.divrem(I64, true, false) };
    ($s:ident, I32DivU) => { $s.divrem(I32, false, false) };
    ($s:ident, I64DivU) => { $s.divrem(I64, false, false) };
    ($s:ident, I32RemS) => { $s.divrem(I32, true, true) };
    ($s:ident, I64RemS) => { $s.divrem(I64, true, true) };
    ($s:ident, I32RemU) => { $s.divrem(I32, false, true) };
    ($s:ident, I64RemU) => { $s.divrem(I64, false, true) };
    ($s:ident, I32Shl) => { $s.shift(I32, ShiftOp::Shl) };
    ($s:ident, I64Shl) => { $s.shift(I64, ShiftOp::Shl) };
    ($s:ident, I32ShrS) => { $s.shift(I32, ShiftOp::Sar) };
    ($s:ident, I64ShrS) => { $s.shift(I64, ShiftOp::Sar) };
    ($s:ident, I32ShrU) => { $s.shift(I32, ShiftOp::Shr) };
    ($s:ident, I64ShrU) => { $s.shift(I64, ShiftOp::Shr) };
    ($s:ident, I32Rotl) => { $s.shift(I32, ShiftOp::Rol) };
    ($s:ident, I64Rotl) => { $s.shift(I64, ShiftOp::Rol) };
    ($s:ident, I32Rotr) => { $s.shift(I32, ShiftOp::Ror) };
    ($s:ident, I64Rotr) => { $s.shift(I64, ShiftOp::Ror) };
    ($s:ident, I32Clz) => { $s.bitcount(I32, BitOp::Lzcnt) };
    ($s:ident, I64Clz) => { $s.bitcount(I64, BitOp::Lzcnt) };
    ($s:ident, I32Ctz) => { $s.bitcount(I32, BitOp::Tzcnt) };
    ($s:ident, I64Ctz) => { $s.bitcount(I64, BitOp::Tzcnt) };
    ($s:ident, I32Popcnt) => { $s.bitcount(I32, BitOp::Popcnt) };
    ($s:ident, I64Popcnt) => { $s.bitcount(I64, BitOp::Popcnt) };
    ($s:ident, I32Extend8S) => { $s.extend(I32, Size::S32, Size::S8) };
    ($s:ident, I32Extend16S) => { $s.extend(I32, Size::S32, Size::S16) };
    ($s:ident, I64Extend8S) => { $s.extend(I64, Size::S64, Size::S8) };
    ($s:ident, I64Extend16S) => { $s.extend(I64, Size::S64, Size::S16) };
    ($s:ident, I64Extend32S) => { $s.extend(I64, Size::S64, Size::S32) };
    ($s:ident, I64ExtendI32S) => { $s.extend(I64, Size::S64, Size::S32) };
    ($s:ident, I64ExtendI32U) => { $s.extend_u() };
    ($s:ident, I32WrapI64) => { $s.wrap() };

    // Integer comparisons.
    ($s:ident, I32Eqz) => { $s.eqz(I32) };
    ($s:ident, I64Eqz) => { $s.eqz(I64) };
    ($s:ident, I32Eq) => { $s.icmp(I32, Cond::E) };
    ($s:ident, I64Eq) => { $s.icmp(I64, Cond::E) };
    ($s:ident, I32Ne) => { $s.icmp(I32, Cond::Ne) };
    ($s:ident, I64Ne) => { $s.icmp(I64, Cond::Ne) };
    ($s:ident, I32LtS) => { $s.icmp(I32, Cond::L) };
    ($s:ident, I64LtS) => { $s.icmp(I64, Cond::L) };
    ($s:ident, I32LtU) => { $s.icmp(I32, Cond::B) };
    ($s:ident, I64LtU) => { $s.icmp(I64, Cond::B) };
    ($s:ident, I32GtS) => { $s.icmp(I32, Cond::G) };
    ($s:ident, I64GtS) => { $s.icmp(I64, Cond::G) };
    ($s:ident, I32GtU) => { $s.icmp(I32, Cond::A) };
    ($s:ident, I64GtU) => { $s.icmp(I64, Cond::A) };
    ($s:ident, I32LeS) => { $s.icmp(I32, Cond::Le) };
    ($s:ident, I64LeS) => { $s.icmp(I64, Cond::Le) };
    ($s:ident, I32LeU) => { $s.icmp(I32, Cond::Be) };
    ($s:ident, I64LeU) => { $s.icmp(I64, Cond::Be) };
    ($s:ident, I32GeS) => { $s.icmp(I32, Cond::Ge) };
    ($s:ident, I64GeS) => { $s.icmp(I64, Cond::Ge) };
    ($s:ident, I32GeU) => { $s.icmp(I32, Cond::Ae) };
    ($s:ident, I64GeU) => { $s.icmp(I64, Cond::Ae) };

    // Floats.
    ($s:ident, F32Add) => { $s.fbin(F32, SseOp::Addss) };
    ($s:ident, F64Add) => { $s.fbin(F64, SseOp::Addsd) };
    ($s:ident, F32Sub) => { $s.fbin(F32, SseOp::Subss) };
    ($s:ident, F64Sub) => { $s.fbin(F64, SseOp::Subsd) };
    ($s:ident, F32Mul) => { $s.fbin(F32, SseOp::Mulss) };
    ($s:ident, F64Mul) => { $s.fbin(F64, SseOp::Mulsd) };
    ($s:ident, F32Div) => { $s.fbin(F32, SseOp::Divss) };
    ($s:ident, F64Div) => { $s.fbin(F64, SseOp::Divsd) };
    ($s:ident, F32Min) => { $s.fminmax(F32, true) };
    ($s:ident, F64Min) => { $s.fminmax(F64, true) };
    ($s:ident, F32Max) => { $s.fminmax(F32, false) };
    ($s:ident, F64Max) => { $s.fminmax(F64, false) };
    ($s:ident, F32Sqrt) => { $s.funary(F32, |a, x| a.sse_rr(SseOp::Sqrtss, x, x)) };
    ($s:ident, F64Sqrt) => { $s.funary(F64, |a, x| a.sse_rr(SseOp::Sqrtsd, x, x)) };
    ($s:ident, F32Neg) => { $s.fbitwise(F32, SseOp::Xorps, 0x8000_0000) };
    ($s:ident, F64Neg) => { $s.fbitwise(F64, SseOp::Xorps, 1 << 63) };
    ($s:ident, F32Abs) => { $s.fbitwise(F32, SseOp::Andps, 0x7fff_ffff) };
    ($s:ident, F64Abs) => { $s.fbitwise(F64, SseOp::Andps, u64::MAX >> 1) };
    ($s:ident, F32Copysign) => { $s.copysign(F32) };
    ($s:ident, F64Copysign) => { $s.copysign(F64) };
    ($s:ident, F32Ceil) => { $s.fround(F32, RoundMode::Up, stringify!(F32Ceil)) };
    ($s:ident, F64Ceil) => { $s.fround(F64, RoundMode::Up, stringify!(F64Ceil)) };
    ($s:ident, F32Floor) => { $s.fround(F32, RoundMode::Down, stringify!(F32Floor)) };
    ($s:ident, F64Floor) => { $s.fround(F64, RoundMode::Down, stringify!(F64Floor)) };
    ($s:ident, F32Trunc) => { $s.fround(F32, RoundMode::Zero, stringify!(F32Trunc)) };
    ($s:ident, F64Trunc) => { $s.fround(F64, RoundMode::Zero, stringify!(F64Trunc)) };
    ($s:ident, F32Nearest) => { $s.fround(F32, RoundMode::Nearest, stringify!(F32Nearest)) };
    ($s:ident, F64Nearest) => { $s.fround(F64, RoundMode::Nearest, stringify!(F64Nearest)) };
    ($s:ident, F32Eq) => { $s.fcmp(F32, FCmp::Eq) };
    ($s:ident, F64Eq) => { $s.fcmp(F64, FCmp::Eq) };
    ($s:ident, F32Ne) => { $s.fcmp(F32, FCmp::Ne) };
    ($s:ident, F64Ne) => { $s.fcmp(F64, FCmp::Ne) };
    ($s:ident, F32Lt) => { $s.fcmp(F32, FCmp::Lt) };
    ($s:ident, F64Lt) => { $s.fcmp(F64, FCmp::Lt) };
    ($s:ident, F32Gt) => { $s.fcmp(F32, FCmp::Gt) };
    ($s:ident, F64Gt) => { $s.fcmp(F64, FCmp::Gt) };
    ($s:ident, F32Le) => { $s.fcmp(F32, FCmp::Le) };
    ($s:ident, F64Le) => { $s.fcmp(F64, FCmp::Le) };
    ($s:ident, F32Ge) => { $s.fcmp(F32, FCmp::Ge) };
    ($s:ident, F64Ge) => { $s.fcmp(F64, FCmp::Ge) };

    // Conversions.
    ($s:ident, F32ConvertI32S) => { $s.convert_int(F32, I32, true) };
    ($s:ident, F32ConvertI32U) => { $s.convert_int(F32, I32, false) };
    ($s:ident, F32ConvertI64S) => { $s.convert_int(F32, I64, true) };
    ($s:ident, F32ConvertI64U) => { $s.convert_int(F32, I64, false) };
    ($s:ident, F64ConvertI32S) => { $s.convert_int(F64, I32, true) };
    ($s:ident, F64ConvertI32U) => { $s.convert_int(F64, I32, false) };
    ($s:ident, F64ConvertI64S) => { $s.convert_int(F64, I64, true) };
    ($s:ident, F64ConvertI64U) => { $s.convert_int(F64, I64, false) };
    ($s:ident, F32DemoteF64) => { $s.fconvert(F32, SseOp::Cvtsd2ss) };
    ($s:ident, F64PromoteF32) => { $s.fconvert(F64, SseOp::Cvtss2sd) };
    ($s:ident, I32ReinterpretF32) => { $s.reinterpret(I32) };
    ($s:ident, I64ReinterpretF64) => { $s.reinterpret(I64) };
    ($s:ident, F32ReinterpretI32) => { $s.reinterpret(F32) };
    ($s:ident, F64ReinterpretI64) => { $s.reinterpret(F64) };
    ($s:ident, I32TruncF32S) => { $s.trunc(I32, F32, true, false) };
    ($s:ident, I32TruncF32U) => { $s.trunc(I32, F32, false, false) };
    ($s:ident, I32TruncF64S) => { $s.trunc(I32, F64, true, false) };
    ($s:ident, I32TruncF64U) => { $s.trunc(I32, F64, false, false) };
    ($s:ident, I64TruncF32S) => { $s.trunc(I64, F32, true, false) };
    ($s:ident, I64TruncF32U) => { $s.trunc(I64, F32, false, false) };
    ($s:ident, I64TruncF64S) => { $s.trunc(I64, F64, true, false) };
    ($s:ident, I64TruncF64U) => { $s.trunc(I64, F64, false, false) };
    ($s:ident, I32TruncSatF32S) => { $s.trunc(I32, F32, true, true) };
    ($s:ident, I32TruncSatF32U) => { $s.trunc(I32, F32, false, true) };
    ($s:ident, I32TruncSatF64S) => { $s.trunc(I32, F64, true, true) };
    ($s:ident, I32TruncSatF64U) => { $s.trunc(I32, F64, false, true) };
    ($s:ident, I64TruncSatF32S) => { $s.trunc(I64, F32, true, true) };
    ($s:ident, I64TruncSatF32U) => { $s.trunc(I64, F32, false, true) };
    ($s:ident, I64TruncSatF64S) => { $s.trunc(I64, F64, true, true) };
    ($s:ident, I64TruncSatF64U) => { $s.trunc(I64, F64, false, true) };

    // Memory.
    ($s:ident, I32Load $memarg:ident) => { $s.load(&$memarg, I32, LoadOp::Plain(Size::S32), stringify!(I32Load)) };
    ($s:ident, I64Load $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Plain(Size::S64), stringify!(I64Load)) };
    ($s:ident, F32Load $memarg:ident) => { $s.load(&$memarg, F32, LoadOp::Float, stringify!(F32Load)) };
    ($s:ident, F64Load $memarg:ident) => { $s.load(&$memarg, F64, LoadOp::Float, stringify!(F64Load)) };
    ($s:ident, I32Load8S $memarg:ident) => { $s.load(&$memarg, I32, LoadOp::Sx(Size::S8), stringify!(I32Load8S)) };
    ($s:ident, I32Load8U $memarg:ident) => { $s.load(&$memarg, I32, LoadOp::Zx(Size::S8), stringify!(I32Load8U)) };
    ($s:ident, I32Load16S $memarg:ident) => { $s.load(&$memarg, I32, LoadOp::Sx(Size::S16), stringify!(I32Load16S)) };
    ($s:ident, I32Load16U $memarg:ident) => { $s.load(&$memarg, I32, LoadOp::Zx(Size::S16), stringify!(I32Load16U)) };
    ($s:ident, I64Load8S $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Sx(Size::S8), stringify!(I64Load8S)) };
    ($s:ident, I64Load8U $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Zx(Size::S8), stringify!(I64Load8U)) };
    ($s:ident, I64Load16S $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Sx(Size::S16), stringify!(I64Load16S)) };
    ($s:ident, I64Load16U $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Zx(Size::S16), stringify!(I64Load16U)) };
    ($s:ident, I64Load32S $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Sx(Size::S32), stringify!(I64Load32S)) };
    ($s:ident, I64Load32U $memarg:ident) => { $s.load(&$memarg, I64, LoadOp::Plain(Size::S32), stringify!(I64Load32U)) };
    ($s:ident, I32Store $memarg:ident) => { $s.store(&$memarg, Size::S32, stringify!(I32Store)) };
    ($s:ident, I64Store $memarg:ident) => { $s.store(&$memarg, Size::S64, stringify!(I64Store)) };
    ($s:ident, F32Store $memarg:ident) => { $s.store(&$memarg, Size::S32, stringify!(F32Store)) };
    ($s:ident, F64Store $memarg:ident) => { $s.store(&$memarg, Size::S64, stringify!(F64Store)) };
    ($s:ident, I32Store8 $memarg:ident) => {{
        $s.store(&$memarg, Size::S8, stringify!(I32Store8))
    }};
    ($s:ident, I64Store8 $memarg:ident) => {{
        $s.store(&$memarg, Size::S8, stringify!(I64Store8))
    }};
    ($s:ident, I32Store16 $memarg:ident) => {{
        $s.store(&$memarg, Size::S16, stringify!(I32Store16))
    }};
    ($s:ident, I64Store16 $memarg:ident) => {{
        $s.store(&$memarg, Size::S16, stringify!(I64Store16))
    }};
    ($s:ident, I64Store32 $memarg:ident) => { $s.store(&$memarg, Size::S32, stringify!(I64Store32)) };
    ($s:ident, MemorySize $mem:ident) => { $s.memory_size($mem, stringify!(MemorySize)) };
    ($s:ident, MemoryGrow $mem:ident) => {{
        $s.check_memory($mem, stringify!(MemoryGrow))?;
        $s.call_builtin(BuiltinId::MemoryGrow, &[$mem], 1, Some(I32))
    }};
    ($s:ident, MemoryCopy $dst_mem:ident $src_mem:ident) => {{
        $s.check_memory($dst_mem, stringify!(MemoryCopy))?;
        $s.check_memory($src_mem, stringify!(MemoryCopy))?;
        $s.call_builtin(BuiltinId::MemoryCopy, &[$dst_mem, $src_mem], 3, None)
    }};
    ($s:ident, MemoryFill $mem:ident) => {{
        $s.check_memory($mem, stringify!(MemoryFill))?;
        $s.call_builtin(BuiltinId::MemoryFill, &[$mem], 3, None)
    }};
    ($s:ident, MemoryInit $data_index:ident $mem:ident) => {{
        $s.check_memory($mem, stringify!(MemoryInit))?;
        $s.call_builtin(BuiltinId::MemoryInit, &[$mem, $data_index], 3, None)
    }};
    ($s:ident, DataDrop $data_index:ident) => {{
        $s.call_builtin(BuiltinId::DataDrop, &[$data_index], 0, None)
    }};

    // References and tables.
    ($s:ident, RefNull $hty:ident) => { { let _ = $hty; $s.stack.push_const(Ref, 0) } };
    ($s:ident, RefIsNull) => { $s.eqz(Ref) };
    ($s:ident, RefFunc $function_index:ident) => {{
        let dst = $s
            .stack
            .alloc(&mut $s.asm, RegClass::Gpr, RegSet::EMPTY);
        let off = $s.layout.funcref($function_index) as i32;
        $s.asm.lea(Size::S64, dst.gpr(), Mem::base(VMCTX, off));
        $s.stack.push_reg(Ref, dst)?;
        Ok(())
    }};
    ($s:ident, TableGet $table:ident) => { $s.table_get($table, stringify!(TableGet)) };
    ($s:ident, TableSet $table:ident) => { $s.table_set($table, stringify!(TableSet)) };
    ($s:ident, TableSize $table:ident) => { $s.table_size($table, stringify!(TableSize)) };
    ($s:ident, TableGrow $table:ident) => {{
        $s.check_table($table, stringify!(TableGrow))?;
        $s.call_builtin(BuiltinId::TableGrow, &[$table], 2, Some(I32))
    }};
    ($s:ident, TableFill $table:ident) => {{
        $s.check_table($table, stringify!(TableFill))?;
        $s.call_builtin(BuiltinId::TableFill, &[$table], 3, None)
    }};
    ($s:ident, TableCopy $dst_table:ident $src_table:ident) => {{
        $s.check_table($dst_table, stringify!(TableCopy))?;
        $s.check_table($src_table, stringify!(TableCopy))?;
        $s.call_builtin(BuiltinId::TableCopy, &[$dst_table, $src_table], 3, None)
    }};
    ($s:ident, TableInit $elem_index:ident $table:ident) => {{
        $s.check_table($table, stringify!(TableInit))?;
        $s.call_builtin(BuiltinId::TableInit, &[$table, $elem_index], 3, None)
    }};
    ($s:ident, ElemDrop $elem_index:ident) => {{
        $s.call_builtin(BuiltinId::ElemDrop, &[$elem_index], 0, None)
    }};


    ($s:ident, $op:ident $($arg:ident)*) => {{
        $(let _ = $arg;)*
        Err(unsupported(stringify!($op), $s.offset))
    }};
}

/// Defines every visitor method of wasmparser's list through [`visit_operator!`].
macro_rules! define_visit_operator {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<()> {
                visit_operator!(self, $op $($($arg)*)?)
            }
        )*
    };
}

/// Defines every SIMD visitor method as unsupported (this tier has no `v128`).
macro_rules! define_unsupported_operator {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Result<()> {
                $($(let _ = $arg;)*)?
                if self.reachable {
                    Err(unsupported(stringify!($op), self.offset))
                } else {
                    Ok(())
                }
            }
        )*
    };
}

impl<'a> VisitOperator<'a> for FuncCompiler<'_> {
    type Output = Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Result<()>>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_visit_operator);
}

impl VisitSimdOperator<'_> for FuncCompiler<'_> {
    wasmparser::for_each_visit_simd_operator!(define_unsupported_operator);
}
