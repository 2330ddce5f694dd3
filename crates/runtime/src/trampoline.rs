//! Entry (host → wasm) and exit (wasm → host) trampolines, one pair per signature, plus the
//! shims through which generated code reaches builtins.
//!
//! Every trampoline is emitted with `kiln-assembler-x64` from [`kiln_abi::call_layout`], so it
//! follows the one calling convention by construction. Values cross the boundary in a buffer
//! of 16-byte slots, one per parameter or result ([`SLOT_SIZE`]): integers and references in
//! the low 8 bytes, `f32`/`f64` in the low 4/8 bytes, `v128` in all 16.
//!
//! **Entry** (`extern "sysv64" fn(vmctx, code, values, entry_sp_out) -> u64`):
//!
//! ```text
//! push rbp; mov rbp, rsp; push rbx, r12..r15; sub rsp, 8     ; 16-aligned, callee-saved kept
//! mov [entry_sp_out], rsp                                    ; where a trap resumes
//! sub rsp, ret_area + stack_args                             ; stack args at [rsp], area above
//! load stack args, register args, return-area pointer, vmctx from the buffer
//! call code                                                   ; callee pops the stack args
//! store register results, then return-area results, to the buffer
//! xor eax, eax; lea rsp, [rbp - 48]
//! landing:                                                    ; traps arrive here, rax = status
//! add rsp, 8; pop r15..r12, rbx; pop rbp; ret
//! ```
//!
//! A trap (from the signal handler or a builtin/host function) sets `rsp` to the saved entry
//! stack pointer and `rip` to `landing`, with `1 + TrapCode` in `rax`: the trampoline returns
//! that status to the host, with every callee-saved register restored.
//!
//! **Exit** (a wasm-convention function whose `VMContext` argument is the host call context):
//! spills every argument to a slot buffer in its frame, calls
//! `dispatch(ctx, values, frame_pointer)` (System V), loads the results back into their
//! locations and returns popping its stack arguments.
//!
//! **Builtin shims** (`push rbp; mov rbp, rsp; sub rsp, 8; push rbp; call impl; leave; ret`):
//! pass their own frame pointer as a seventh, stack-passed argument, so a builtin that traps can
//! find the wasm frames above it.

use kiln_abi::{Location, call_layout};
use kiln_assembler_x64::{Assembler, FloatSize, Gpr, Mem, Xmm};
use kiln_assembler_x64::{R11, R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP, Size};
use kiln_decoder::{FuncType, ValType};

/// Bytes per value in a trampoline's value buffer.
pub const SLOT_SIZE: usize = 16;

/// The machine code of one entry trampoline and the offset of its trap landing.
pub(crate) struct EntryCode {
    pub code: Vec<u8>,
    pub landing: usize,
}

fn gpr(n: u8) -> Gpr {
    Gpr::new(n).expect("calling-convention registers are valid")
}

fn xmm(n: u8) -> Xmm {
    Xmm::new(n).expect("calling-convention registers are valid")
}

/// The xmm register trampolines use as scratch: never an argument or result register.
fn scratch_xmm() -> Xmm {
    xmm(15)
}

fn slot(base: Gpr, index: usize) -> Mem {
    Mem::base(base, (index * SLOT_SIZE) as i32)
}

/// Loads a value of type `ty` from `src` into the register `loc`.
fn load_reg(asm: &mut Assembler, loc: Location, ty: ValType, src: Mem) {
    match (loc, ty) {
        (Location::Gpr(r), _) => asm.mov_rm(Size::S64, gpr(r), src),
        (Location::Xmm(x), ValType::F32) => asm.movs_rm(FloatSize::F32, xmm(x), src),
        (Location::Xmm(x), ValType::F64) => asm.movs_rm(FloatSize::F64, xmm(x), src),
        (Location::Xmm(x), _) => asm.movup_rm(FloatSize::F32, xmm(x), src),
        _ => unreachable!("not a register location"),
    }
}

/// Stores the register `loc` holding a value of type `ty` to `dst`.
fn store_reg(asm: &mut Assembler, loc: Location, ty: ValType, dst: Mem) {
    match (loc, ty) {
        (Location::Gpr(r), _) => asm.mov_mr(Size::S64, dst, gpr(r)),
        (Location::Xmm(x), ValType::F32) => asm.movs_mr(FloatSize::F32, dst, xmm(x)),
        (Location::Xmm(x), ValType::F64) => asm.movs_mr(FloatSize::F64, dst, xmm(x)),
        (Location::Xmm(x), _) => asm.movup_mr(FloatSize::F32, dst, xmm(x)),
        _ => unreachable!("not a register location"),
    }
}

/// Copies a value of type `ty` between two memory operands through a scratch register.
fn copy_mem(asm: &mut Assembler, ty: ValType, dst: Mem, src: Mem, scratch: Gpr) {
    if ty == ValType::V128 {
        asm.movup_rm(FloatSize::F32, scratch_xmm(), src);
        asm.movup_mr(FloatSize::F32, dst, scratch_xmm());
    } else {
        asm.mov_rm(Size::S64, scratch, src);
        asm.mov_mr(Size::S64, dst, scratch);
    }
}

/// Emits the entry trampoline for `ty`.
pub(crate) fn entry(ty: &FuncType) -> EntryCode {
    let layout = call_layout(ty.params(), ty.results());
    let mut asm = Assembler::new();
    asm.push_r(RBP);
    asm.mov_rr(Size::S64, RBP, RSP);
    for r in [RBX, R12, R13, R14, R15] {
        asm.push_r(r);
    }
    asm.sub_ri(Size::S64, RSP, 8);
    asm.mov_mr(Size::S64, Mem::base(RCX, 0), RSP);
    asm.mov_rr(Size::S64, R12, RDX); // values
    asm.mov_rr(Size::S64, R13, RSI); // code
    asm.mov_rr(Size::S64, R14, RDI); // vmctx
    let frame = layout.stack_args_size + layout.ret_area_size;
    if frame > 0 {
        asm.sub_ri(Size::S64, RSP, frame as i32);
    }
    for (i, (&loc, &pty)) in layout.params.iter().zip(ty.params()).enumerate() {
        if let Location::Stack(off) = loc {
            copy_mem(&mut asm, pty, Mem::base(RSP, off as i32), slot(R12, i), RAX);
        }
    }
    for (i, (&loc, &pty)) in layout.params.iter().zip(ty.params()).enumerate() {
        if !matches!(loc, Location::Stack(_)) {
            load_reg(&mut asm, loc, pty, slot(R12, i));
        }
    }
    if let Some(Location::Gpr(r)) = layout.ret_area_pointer {
        asm.lea(
            Size::S64,
            gpr(r),
            Mem::base(RSP, layout.stack_args_size as i32),
        );
    }
    let Location::Gpr(vmctx) = layout.vmctx else {
        unreachable!("the vmctx is always in a register")
    };
    asm.mov_rr(Size::S64, gpr(vmctx), R14);
    asm.call_r(R13);
    // The callee popped its stack arguments: the return area is now at [rsp].
    for (j, (&loc, &rty)) in layout.results.iter().zip(ty.results()).enumerate() {
        if !matches!(loc, Location::RetArea(_)) {
            store_reg(&mut asm, loc, rty, slot(R12, j));
        }
    }
    for (j, (&loc, &rty)) in layout.results.iter().zip(ty.results()).enumerate() {
        if let Location::RetArea(off) = loc {
            copy_mem(&mut asm, rty, slot(R12, j), Mem::base(RSP, off as i32), R11);
        }
    }
    asm.xor_rr(Size::S32, RAX, RAX);
    asm.lea(Size::S64, RSP, Mem::base(RBP, -48));
    let landing = asm.pc_offset();
    asm.add_ri(Size::S64, RSP, 8);
    for r in [R15, R14, R13, R12, RBX] {
        asm.pop_r(r);
    }
    asm.pop_r(RBP);
    asm.ret();
    let code = asm.finish().expect("entry trampolines use valid operands");
    EntryCode { code, landing }
}

/// Emits the exit trampoline for `ty`, calling `dispatch(ctx, values, frame_pointer)`.
pub(crate) fn exit(ty: &FuncType, dispatch: usize) -> Vec<u8> {
    let layout = call_layout(ty.params(), ty.results());
    let slots = ty.params().len().max(ty.results().len());
    let ret_ptr_at = (slots * SLOT_SIZE) as i32;
    let frame = (slots * SLOT_SIZE + 16) as i32;
    let mut asm = Assembler::new();
    asm.push_r(RBP);
    asm.mov_rr(Size::S64, RBP, RSP);
    asm.sub_ri(Size::S64, RSP, frame);
    for (i, (&loc, &pty)) in layout.params.iter().zip(ty.params()).enumerate() {
        match loc {
            Location::Stack(off) => copy_mem(
                &mut asm,
                pty,
                slot(RSP, i),
                Mem::base(RBP, 16 + off as i32),
                RAX,
            ),
            _ => store_reg(&mut asm, loc, pty, slot(RSP, i)),
        }
    }
    if let Some(Location::Gpr(r)) = layout.ret_area_pointer {
        asm.mov_mr(Size::S64, Mem::base(RSP, ret_ptr_at), gpr(r));
    }
    let Location::Gpr(vmctx) = layout.vmctx else {
        unreachable!("the vmctx is always in a register")
    };
    if gpr(vmctx) != RDI {
        asm.mov_rr(Size::S64, RDI, gpr(vmctx));
    }
    asm.mov_rr(Size::S64, RSI, RSP);
    asm.mov_rr(Size::S64, RDX, RBP);
    asm.mov_ri64(RAX, dispatch as u64);
    asm.call_r(RAX);
    if layout.ret_area_pointer.is_some() {
        asm.mov_rm(Size::S64, R11, Mem::base(RSP, ret_ptr_at));
        for (j, (&loc, &rty)) in layout.results.iter().zip(ty.results()).enumerate() {
            if let Location::RetArea(off) = loc {
                copy_mem(&mut asm, rty, Mem::base(R11, off as i32), slot(RSP, j), RAX);
            }
        }
    }
    for (j, (&loc, &rty)) in layout.results.iter().zip(ty.results()).enumerate() {
        if !matches!(loc, Location::RetArea(_)) {
            load_reg(&mut asm, loc, rty, slot(RSP, j));
        }
    }
    asm.mov_rr(Size::S64, RSP, RBP);
    asm.pop_r(RBP);
    if layout.stack_args_size > 0 {
        asm.ret_imm(layout.stack_args_size as u16);
    } else {
        asm.ret();
    }
    asm.finish().expect("exit trampolines use valid operands")
}

/// Emits the shim generated code calls for a builtin: it calls `target` (System V, the six
/// register arguments unchanged) with its own frame pointer as the seventh argument.
pub(crate) fn builtin_shim(target: usize) -> Vec<u8> {
    let mut asm = Assembler::new();
    asm.push_r(RBP);
    asm.mov_rr(Size::S64, RBP, RSP);
    asm.sub_ri(Size::S64, RSP, 8);
    asm.push_r(RBP);
    asm.mov_ri64(RAX, target as u64);
    asm.call_r(RAX);
    asm.mov_rr(Size::S64, RSP, RBP);
    asm.pop_r(RBP);
    asm.ret();
    asm.finish().expect("builtin shims use valid operands")
}

/// Bytes the lazy-compile entry saves below its frame: the eight general-purpose registers that
/// may carry arguments or be read by a caller's call sequence (`rax, rcx, rdx, rsi, rdi, r8,
/// r9, r10`) and `xmm0`..`xmm7` in full.
const LAZY_SAVE_GPRS: [Gpr; 8] = [
    RAX,
    RCX,
    RDX,
    RSI,
    RDI,
    kiln_assembler_x64::R8,
    kiln_assembler_x64::R9,
    kiln_assembler_x64::R10,
];
const LAZY_SAVE_SIZE: i32 = 8 * 8 + 16 * kiln_abi::calling_convention::FLOAT_REGS as i32;

/// Emits the lazy-compile entry: the code a module's lazy stubs jump to (through the module's
/// far-jump trampoline) with the wasm function index in `r11`.
///
/// It is entered by a jump, so `[rsp]` is the wasm caller's return address and the stack
/// arguments lie above it, untouched:
///
/// ```text
/// push rbp; mov rbp, rsp; and rsp, -16; sub rsp, 192   ; a walkable, aligned frame
/// save rax, rcx, rdx, rsi, rdi, r8, r9, r10, xmm0..xmm7 (128 bits each)
/// mov edx, r11d; mov rcx, rbp                          ; rdi, rsi: the vmctx candidates
/// call target(rdi, rsi, func_index, fp) -> code        ; System V
/// mov r11, rax; restore everything; mov rsp, rbp; pop rbp
/// jmp r11                                              ; as if the caller had called it
/// ```
///
/// Every argument location of every signature survives: integer and float argument
/// registers, the hidden return-area pointer (`rdi`) and the stack arguments. The callee
/// `VMContext` is in `rdi`, or in `rsi` when the signature has a return area; `target` tells
/// them apart (see `crate::lazy_compile`). `target` may also not return (it raises a trap
/// from this frame, whose frame pointer it gets).
pub(crate) fn lazy_compile_entry(target: usize) -> Vec<u8> {
    use kiln_assembler_x64::AluOp;
    let mut asm = Assembler::new();
    asm.push_r(RBP);
    asm.mov_rr(Size::S64, RBP, RSP);
    asm.alu_ri(AluOp::And, Size::S64, RSP, -16);
    asm.sub_ri(Size::S64, RSP, LAZY_SAVE_SIZE);
    for (i, &r) in LAZY_SAVE_GPRS.iter().enumerate() {
        asm.mov_mr(Size::S64, Mem::base(RSP, 8 * i as i32), r);
    }
    for k in 0..kiln_abi::calling_convention::FLOAT_REGS {
        let at = Mem::base(RSP, 64 + 16 * i32::from(k));
        asm.movup_mr(FloatSize::F32, at, xmm(k));
    }
    asm.mov_rr(Size::S32, RDX, R11);
    asm.mov_rr(Size::S64, RCX, RBP);
    asm.mov_ri64(RAX, target as u64);
    asm.call_r(RAX);
    asm.mov_rr(Size::S64, R11, RAX);
    for (i, &r) in LAZY_SAVE_GPRS.iter().enumerate() {
        asm.mov_rm(Size::S64, r, Mem::base(RSP, 8 * i as i32));
    }
    for k in 0..kiln_abi::calling_convention::FLOAT_REGS {
        let at = Mem::base(RSP, 64 + 16 * i32::from(k));
        asm.movup_rm(FloatSize::F32, xmm(k), at);
    }
    asm.mov_rr(Size::S64, RSP, RBP);
    asm.pop_r(RBP);
    asm.jmp_r(R11);
    asm.finish()
        .expect("the lazy-compile entry uses valid operands")
}
