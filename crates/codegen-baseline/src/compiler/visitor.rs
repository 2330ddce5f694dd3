//! The operator dispatch and visitor: the compile loop decodes each operator of the
//! WebAssembly 2.0 core itself ([`FuncCompiler::operator`]) and calls its `VisitOperator`
//! method, which emits its code; anything else (SIMD, proposals beyond 2.0, an encoding the
//! fast path does not take) goes through wasmparser's decoder, which calls the same methods
//! or reports the exact error. No `Operator` value is built and matched a second time.
//!
//! Every method is generated from wasmparser's operator list: control operators that matter
//! in unreachable code (`block`, `loop`, `if`, `else`, `end`) are handled by
//! [`visit_operator!`], every other operator does nothing in unreachable code and is compiled
//! by its arm of [`compile_operator!`], or is unsupported if it has none.

use super::*;
use crate::value_stack::Kind::{F32, F64, I32, I64, Ref};
use kiln_decoder::Reader;
use wasmparser::{FrameKind, FrameStack, MemArgTarget, VisitOperator, VisitSimdOperator};

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
        $s.call(callee, module.functions[$function_index as usize].type_index)
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

/// The operators without immediates among the numeric ones (`0x45..=0xc4`), by opcode, as
/// their visitor methods. Cost: one jump-table dispatch.
macro_rules! numeric_operators {
    ($($code:literal => $visit:ident,)*) => {
        impl FuncCompiler<'_> {
            /// Compiles numeric operator `op` (`0x45..=0xc4`).
            #[inline(always)]
            fn numeric(&mut self, op: u8) -> Result<()> {
                match op {
                    $($code => VisitOperator::$visit(self),)*
                    _ => unreachable!("numeric opcode {op:#x}"),
                }
            }
        }

        /// The visitor method of each numeric opcode, for the test against wasmparser.
        #[cfg(test)]
        const NUMERIC_VISITS: &[(u8, &str)] = &[$(($code, stringify!($visit)),)*];
    };
}

numeric_operators! {
    0x45 => visit_i32_eqz, 0x46 => visit_i32_eq, 0x47 => visit_i32_ne, 0x48 => visit_i32_lt_s,
    0x49 => visit_i32_lt_u, 0x4a => visit_i32_gt_s, 0x4b => visit_i32_gt_u, 0x4c => visit_i32_le_s,
    0x4d => visit_i32_le_u, 0x4e => visit_i32_ge_s, 0x4f => visit_i32_ge_u,
    0x50 => visit_i64_eqz, 0x51 => visit_i64_eq, 0x52 => visit_i64_ne, 0x53 => visit_i64_lt_s,
    0x54 => visit_i64_lt_u, 0x55 => visit_i64_gt_s, 0x56 => visit_i64_gt_u, 0x57 => visit_i64_le_s,
    0x58 => visit_i64_le_u, 0x59 => visit_i64_ge_s, 0x5a => visit_i64_ge_u,
    0x5b => visit_f32_eq, 0x5c => visit_f32_ne, 0x5d => visit_f32_lt, 0x5e => visit_f32_gt,
    0x5f => visit_f32_le, 0x60 => visit_f32_ge,
    0x61 => visit_f64_eq, 0x62 => visit_f64_ne, 0x63 => visit_f64_lt, 0x64 => visit_f64_gt,
    0x65 => visit_f64_le, 0x66 => visit_f64_ge,
    0x67 => visit_i32_clz, 0x68 => visit_i32_ctz, 0x69 => visit_i32_popcnt, 0x6a => visit_i32_add,
    0x6b => visit_i32_sub, 0x6c => visit_i32_mul, 0x6d => visit_i32_div_s, 0x6e => visit_i32_div_u,
    0x6f => visit_i32_rem_s, 0x70 => visit_i32_rem_u, 0x71 => visit_i32_and, 0x72 => visit_i32_or,
    0x73 => visit_i32_xor, 0x74 => visit_i32_shl, 0x75 => visit_i32_shr_s, 0x76 => visit_i32_shr_u,
    0x77 => visit_i32_rotl, 0x78 => visit_i32_rotr,
    0x79 => visit_i64_clz, 0x7a => visit_i64_ctz, 0x7b => visit_i64_popcnt, 0x7c => visit_i64_add,
    0x7d => visit_i64_sub, 0x7e => visit_i64_mul, 0x7f => visit_i64_div_s, 0x80 => visit_i64_div_u,
    0x81 => visit_i64_rem_s, 0x82 => visit_i64_rem_u, 0x83 => visit_i64_and, 0x84 => visit_i64_or,
    0x85 => visit_i64_xor, 0x86 => visit_i64_shl, 0x87 => visit_i64_shr_s, 0x88 => visit_i64_shr_u,
    0x89 => visit_i64_rotl, 0x8a => visit_i64_rotr,
    0x8b => visit_f32_abs, 0x8c => visit_f32_neg, 0x8d => visit_f32_ceil, 0x8e => visit_f32_floor,
    0x8f => visit_f32_trunc, 0x90 => visit_f32_nearest, 0x91 => visit_f32_sqrt, 0x92 => visit_f32_add,
    0x93 => visit_f32_sub, 0x94 => visit_f32_mul, 0x95 => visit_f32_div, 0x96 => visit_f32_min,
    0x97 => visit_f32_max, 0x98 => visit_f32_copysign,
    0x99 => visit_f64_abs, 0x9a => visit_f64_neg, 0x9b => visit_f64_ceil, 0x9c => visit_f64_floor,
    0x9d => visit_f64_trunc, 0x9e => visit_f64_nearest, 0x9f => visit_f64_sqrt, 0xa0 => visit_f64_add,
    0xa1 => visit_f64_sub, 0xa2 => visit_f64_mul, 0xa3 => visit_f64_div, 0xa4 => visit_f64_min,
    0xa5 => visit_f64_max, 0xa6 => visit_f64_copysign,
    0xa7 => visit_i32_wrap_i64, 0xa8 => visit_i32_trunc_f32_s, 0xa9 => visit_i32_trunc_f32_u,
    0xaa => visit_i32_trunc_f64_s, 0xab => visit_i32_trunc_f64_u, 0xac => visit_i64_extend_i32_s,
    0xad => visit_i64_extend_i32_u, 0xae => visit_i64_trunc_f32_s, 0xaf => visit_i64_trunc_f32_u,
    0xb0 => visit_i64_trunc_f64_s, 0xb1 => visit_i64_trunc_f64_u, 0xb2 => visit_f32_convert_i32_s,
    0xb3 => visit_f32_convert_i32_u, 0xb4 => visit_f32_convert_i64_s, 0xb5 => visit_f32_convert_i64_u,
    0xb6 => visit_f32_demote_f64, 0xb7 => visit_f64_convert_i32_s, 0xb8 => visit_f64_convert_i32_u,
    0xb9 => visit_f64_convert_i64_s, 0xba => visit_f64_convert_i64_u, 0xbb => visit_f64_promote_f32,
    0xbc => visit_i32_reinterpret_f32, 0xbd => visit_i64_reinterpret_f64,
    0xbe => visit_f32_reinterpret_i32, 0xbf => visit_f64_reinterpret_i64,
    0xc0 => visit_i32_extend8_s, 0xc1 => visit_i32_extend16_s, 0xc2 => visit_i64_extend8_s,
    0xc3 => visit_i64_extend16_s, 0xc4 => visit_i64_extend32_s,
}

/// The memory operators (`0x28..=0x3e`), by opcode: visitor method and natural alignment
/// (log2).
macro_rules! memory_operators {
    ($($code:literal => $visit:ident $align:literal,)*) => {
        impl FuncCompiler<'_> {
            /// Compiles memory operator `op` (`0x28..=0x3e`) with the memory argument `r`
            /// is at; `None` (nothing emitted) if that argument is not a plain one for
            /// memory 0 (then wasmparser decodes it).
            #[inline(always)]
            fn memory_operator(&mut self, op: u8, r: &mut Reader<'_>) -> Option<Result<()>> {
                let memarg = |r: &mut Reader<'_>, max_align: u8| {
                    let align = r.u32()?;
                    // Bits 4-6 select other memories or proposals' immediates.
                    (align < 0x10).then_some(())?;
                    Some(MemArg {
                        align: align as u8,
                        max_align,
                        // A 64-bit memory's offset beyond u32 takes wasmparser's path.
                        offset: u64::from(r.u32()?),
                        target: MemArgTarget::Memory(0),
                        ordering: None,
                    })
                };
                Some(match op {
                    $($code => VisitOperator::$visit(self, memarg(r, $align)?),)*
                    _ => unreachable!("memory opcode {op:#x}"),
                })
            }
        }

        /// The visitor method and natural alignment of each memory opcode, for the test
        /// against wasmparser.
        #[cfg(test)]
        const MEMORY_VISITS: &[(u8, &str, u8)] = &[$(($code, stringify!($visit), $align),)*];
    };
}

memory_operators! {
    0x28 => visit_i32_load 2, 0x29 => visit_i64_load 3, 0x2a => visit_f32_load 2,
    0x2b => visit_f64_load 3, 0x2c => visit_i32_load8_s 0, 0x2d => visit_i32_load8_u 0,
    0x2e => visit_i32_load16_s 1, 0x2f => visit_i32_load16_u 1, 0x30 => visit_i64_load8_s 0,
    0x31 => visit_i64_load8_u 0, 0x32 => visit_i64_load16_s 1, 0x33 => visit_i64_load16_u 1,
    0x34 => visit_i64_load32_s 2, 0x35 => visit_i64_load32_u 2, 0x36 => visit_i32_store 2,
    0x37 => visit_i64_store 3, 0x38 => visit_f32_store 2, 0x39 => visit_f64_store 3,
    0x3a => visit_i32_store8 0, 0x3b => visit_i32_store16 1, 0x3c => visit_i64_store8 0,
    0x3d => visit_i64_store16 1, 0x3e => visit_i64_store32 2,
}

/// A block type the fast path decodes: empty, or one value type of WebAssembly 2.0, or a
/// type index. `None` for anything else.
#[inline(always)]
fn block_type(r: &mut Reader<'_>) -> Option<BlockType> {
    let b = *r.bytes.get(r.pos)?;
    let t = match b {
        0x40 => None,
        0x7f => Some(ValType::I32),
        0x7e => Some(ValType::I64),
        0x7d => Some(ValType::F32),
        0x7c => Some(ValType::F64),
        0x70 => Some(ValType::FUNCREF),
        0x6f => Some(ValType::EXTERNREF),
        // A type index: a non-negative s33 (sign bit of its last byte clear).
        _ if b & 0xc0 != 0x40 => {
            let index = r.signed(64)?;
            return u32::try_from(index).ok().map(BlockType::FuncType);
        }
        _ => return None,
    };
    r.pos += 1;
    Some(t.map_or(BlockType::Empty, BlockType::Type))
}

impl FuncCompiler<'_> {
    /// Compiles the operator at `r`, leaving `r` after it.
    #[inline(always)]
    pub(super) fn operator(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let start = r.pos;
        if let Some(result) = self.decoded_operator(r) {
            return result;
        }
        r.pos = start;
        self.wasmparser_operator(r)
    }

    /// Decodes and compiles the operator at `r` if it is one of the fast path's; `None`
    /// (nothing emitted) otherwise.
    #[inline(always)]
    fn decoded_operator(&mut self, r: &mut Reader<'_>) -> Option<Result<()>> {
        let op = r.byte()?;
        Some(match op {
            0x45..=0xc4 => self.numeric(op),
            0x20 => VisitOperator::visit_local_get(self, r.u32()?),
            0x21 => VisitOperator::visit_local_set(self, r.u32()?),
            0x22 => VisitOperator::visit_local_tee(self, r.u32()?),
            0x23 => VisitOperator::visit_global_get(self, r.u32()?),
            0x24 => VisitOperator::visit_global_set(self, r.u32()?),
            0x28..=0x3e => return self.memory_operator(op, r),
            0x41 => VisitOperator::visit_i32_const(self, r.signed(32)? as i32),
            0x42 => VisitOperator::visit_i64_const(self, r.signed(64)?),
            0x43 => {
                let bits = r.fixed_u32()?;
                self.constant(F32, i64::from(bits))
            }
            0x44 => {
                let bits = r.fixed_u64()?;
                self.constant(F64, bits as i64)
            }
            0x00 => VisitOperator::visit_unreachable(self),
            0x01 => VisitOperator::visit_nop(self),
            0x02 => VisitOperator::visit_block(self, block_type(r)?),
            0x03 => VisitOperator::visit_loop(self, block_type(r)?),
            0x04 => VisitOperator::visit_if(self, block_type(r)?),
            0x05 => VisitOperator::visit_else(self),
            0x0b => VisitOperator::visit_end(self),
            0x0c => VisitOperator::visit_br(self, r.u32()?),
            0x0d => VisitOperator::visit_br_if(self, r.u32()?),
            0x0f => VisitOperator::visit_return(self),
            0x10 => VisitOperator::visit_call(self, r.u32()?),
            0x11 => {
                let type_index = r.u32()?;
                VisitOperator::visit_call_indirect(self, type_index, r.u32()?)
            }
            0x1a => VisitOperator::visit_drop(self),
            0x1b => VisitOperator::visit_select(self),
            _ => return None,
        })
    }

    /// A float constant of `kind` with `bits` (wasmparser's float immediates cannot be
    /// built from bits outside it).
    fn constant(&mut self, kind: Kind, bits: i64) -> Result<()> {
        if self.reachable {
            self.stack.push_const(kind, bits)
        } else {
            Ok(())
        }
    }

    /// Decodes and compiles the operator at `r` with wasmparser's decoder.
    #[cold]
    fn wasmparser_operator(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let start = r.pos;
        let mut reader = BinaryReader::new(&r.bytes[start..], start as u64);
        reader.visit_operator(self)??;
        r.pos = start + reader.current_position();
        Ok(())
    }
}

/// The frame wasmparser's decoder checks `else` and the end of the body against: the
/// innermost open construct (operators reach wasmparser only where that is exact).
impl FrameStack for FuncCompiler<'_> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.control.last().map(|c| match c.kind {
            ControlKind::Function | ControlKind::Block => FrameKind::Block,
            ControlKind::Loop => FrameKind::Loop,
            ControlKind::If { .. } => FrameKind::If,
            ControlKind::Else => FrameKind::Else,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{MEMORY_VISITS, NUMERIC_VISITS};
    use wasmparser::{BinaryReader, Operator, OperatorsReader};

    /// wasmparser's decoding of `bytes`, and the visitor method it calls: the operator's
    /// name in snake case.
    fn decode(bytes: &[u8]) -> (Operator<'_>, String) {
        let op = OperatorsReader::new(BinaryReader::new(bytes, 0))
            .read()
            .expect("operator decodes");
        let name = format!("{op:?}");
        let name = name.split([' ', '{', '(']).next().unwrap_or_default();
        let mut visit = String::from("visit");
        for c in name.chars() {
            if c.is_ascii_uppercase() {
                visit.push('_');
            }
            visit.push(c.to_ascii_lowercase());
        }
        (op, visit)
    }

    /// Each opcode of the numeric fast path calls the visitor method wasmparser's decoder
    /// calls for it, and the table covers `0x45..=0xc4` in order.
    #[test]
    fn numeric_opcodes_match_wasmparser() {
        assert_eq!(NUMERIC_VISITS.len(), 0xc4 - 0x45 + 1);
        for (i, &(code, visit)) in NUMERIC_VISITS.iter().enumerate() {
            assert_eq!(usize::from(code), 0x45 + i, "table order at {visit}");
            assert_eq!(decode(&[code]).1, visit, "opcode {code:#x}");
        }
    }

    /// Each memory opcode of the fast path calls wasmparser's visitor method for it with
    /// wasmparser's natural alignment, and the table covers `0x28..=0x3e` in order.
    #[test]
    fn memory_opcodes_match_wasmparser() {
        assert_eq!(MEMORY_VISITS.len(), 0x3e - 0x28 + 1);
        for (i, &(code, visit, align)) in MEMORY_VISITS.iter().enumerate() {
            assert_eq!(usize::from(code), 0x28 + i, "table order at {visit}");
            let bytes = [code, 0, 5];
            let (op, name) = decode(&bytes);
            assert_eq!(name, visit, "opcode {code:#x}");
            let memarg = match op {
                Operator::I32Load { memarg }
                | Operator::I64Load { memarg }
                | Operator::F32Load { memarg }
                | Operator::F64Load { memarg }
                | Operator::I32Load8S { memarg }
                | Operator::I32Load8U { memarg }
                | Operator::I32Load16S { memarg }
                | Operator::I32Load16U { memarg }
                | Operator::I64Load8S { memarg }
                | Operator::I64Load8U { memarg }
                | Operator::I64Load16S { memarg }
                | Operator::I64Load16U { memarg }
                | Operator::I64Load32S { memarg }
                | Operator::I64Load32U { memarg }
                | Operator::I32Store { memarg }
                | Operator::I64Store { memarg }
                | Operator::F32Store { memarg }
                | Operator::F64Store { memarg }
                | Operator::I32Store8 { memarg }
                | Operator::I32Store16 { memarg }
                | Operator::I64Store8 { memarg }
                | Operator::I64Store16 { memarg }
                | Operator::I64Store32 { memarg } => memarg,
                other => panic!("opcode {code:#x} decodes to {other:?}"),
            };
            assert_eq!(memarg.max_align, align, "opcode {code:#x}");
            assert_eq!(memarg.offset, 5, "opcode {code:#x}");
        }
    }
}
