//! The one calling convention every wasm function uses, whichever tier compiled it.
//!
//! It is Cranelift's `tail` convention on x86-64 (with Cranelift's
//! `enable_multi_ret_implicit_sret`), so the optimizing tier gets it for free and the baseline
//! tier reproduces it exactly:
//!
//! - **Parameters**: the callee's `VMContext` pointer first, then the wasm parameters. Integer
//!   and reference values take `rdi, rsi, rdx, rcx, r8, r9` in order, floats `xmm0`..`xmm7`;
//!   the rest go on the stack in parameter order, each in an 8-byte slot (16 for `v128`,
//!   16-aligned), starting at `[rsp + 8]` on entry (just above the return address). The stack
//!   argument area is rounded up to 16 bytes and **the callee pops it** (`ret imm16`).
//! - **Results**: integer results in `rax, rcx, rdx, rsi, rdi, r8, r9, r10`, float results in
//!   `xmm0`..`xmm7`; results that do not fit go to a return area the caller provides, whose
//!   address is then passed as a hidden first integer argument (in `rdi`, shifting the
//!   `VMContext` and every integer parameter one register along). Return-area slots follow the
//!   stack-slot rules above.
//! - **Preserved**: `rbx, rbp, r12, r13, r14, r15` (System V's callee-saved set); every xmm
//!   register and every other general-purpose register may be clobbered. `r11` is never an
//!   argument or result: it is the scratch register of call sequences and lazy-compile stubs.
//! - **Frames**: `push rbp; mov rbp, rsp` in every prologue, so `[rbp]` chains frames and
//!   `[rbp + 8]` is the return address; then a stack-limit check against
//!   [`crate::VMContextLayout::STACK_LIMIT`].

use kiln_decoder::ValType;

/// x86-64 general-purpose register numbers, as the hardware encodes them.
pub mod gpr {
    /// `rax`.
    pub const RAX: u8 = 0;
    /// `rcx`.
    pub const RCX: u8 = 1;
    /// `rdx`.
    pub const RDX: u8 = 2;
    /// `rbx`.
    pub const RBX: u8 = 3;
    /// `rsp`.
    pub const RSP: u8 = 4;
    /// `rbp`.
    pub const RBP: u8 = 5;
    /// `rsi`.
    pub const RSI: u8 = 6;
    /// `rdi`.
    pub const RDI: u8 = 7;
    /// `r8`.
    pub const R8: u8 = 8;
    /// `r9`.
    pub const R9: u8 = 9;
    /// `r10`.
    pub const R10: u8 = 10;
    /// `r11`: the scratch register of call sequences; never an argument or result.
    pub const R11: u8 = 11;
    /// `r12`.
    pub const R12: u8 = 12;
    /// `r13`.
    pub const R13: u8 = 13;
    /// `r14`.
    pub const R14: u8 = 14;
    /// `r15`.
    pub const R15: u8 = 15;
}

/// Integer argument registers, in order.
pub const INT_ARG_REGS: [u8; 6] = [gpr::RDI, gpr::RSI, gpr::RDX, gpr::RCX, gpr::R8, gpr::R9];
/// Integer result registers, in order.
pub const INT_RESULT_REGS: [u8; 8] = [
    gpr::RAX,
    gpr::RCX,
    gpr::RDX,
    gpr::RSI,
    gpr::RDI,
    gpr::R8,
    gpr::R9,
    gpr::R10,
];
/// How many xmm registers carry float arguments (`xmm0`..) and, separately, float results.
pub const FLOAT_REGS: u8 = 8;
/// General-purpose registers a callee must preserve (besides `rsp`).
pub const CALLEE_SAVED_GPRS: [u8; 6] = [gpr::RBX, gpr::RBP, gpr::R12, gpr::R13, gpr::R14, gpr::R15];

/// Where one argument or result lives at the call boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// A general-purpose register (hardware number, see [`gpr`]).
    Gpr(u8),
    /// An xmm register.
    Xmm(u8),
    /// A stack argument: byte offset from the first stack-argument slot (`[rsp + 8]` on entry).
    Stack(u32),
    /// A result in the return area: byte offset from the return-area pointer.
    RetArea(u32),
}

/// Where every argument and result of one signature lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLayout {
    /// The hidden return-area pointer (always `rdi`), when some result does not fit in
    /// registers.
    pub ret_area_pointer: Option<Location>,
    /// The callee's `VMContext` pointer.
    pub vmctx: Location,
    /// One location per wasm parameter.
    pub params: Vec<Location>,
    /// One location per wasm result.
    pub results: Vec<Location>,
    /// Bytes of stack arguments, a multiple of 16; the callee pops them.
    pub stack_args_size: u32,
    /// Bytes of return area the caller must provide (a multiple of 16; 0 when unused).
    pub ret_area_size: u32,
}

fn is_float(ty: ValType) -> bool {
    matches!(ty, ValType::F32 | ValType::F64 | ValType::V128)
}

fn slot_size(ty: ValType) -> u32 {
    if ty == ValType::V128 { 16 } else { 8 }
}

/// Assigns register or memory locations in order, the way Cranelift's x64 ABI code does.
struct Assigner {
    next_int: usize,
    next_float: u8,
    next_offset: u32,
}

impl Assigner {
    fn new() -> Assigner {
        Assigner {
            next_int: 0,
            next_float: 0,
            next_offset: 0,
        }
    }

    fn assign(&mut self, ty: ValType, int_regs: &[u8], memory: fn(u32) -> Location) -> Location {
        if is_float(ty) {
            if self.next_float < FLOAT_REGS {
                self.next_float += 1;
                return Location::Xmm(self.next_float - 1);
            }
        } else if let Some(&reg) = int_regs.get(self.next_int) {
            self.next_int += 1;
            return Location::Gpr(reg);
        }
        let size = slot_size(ty);
        let offset = self.next_offset.next_multiple_of(size);
        self.next_offset = offset + size;
        memory(offset)
    }

    fn memory_size(&self) -> u32 {
        self.next_offset.next_multiple_of(16)
    }
}

/// The layout of a call to a wasm function with these parameter and result types. Cost:
/// O(params + results).
pub fn call_layout(params: &[ValType], results: &[ValType]) -> CallLayout {
    let mut rets = Assigner::new();
    let results: Vec<Location> = results
        .iter()
        .map(|&ty| rets.assign(ty, &INT_RESULT_REGS, Location::RetArea))
        .collect();
    let ret_area_size = rets.memory_size();

    let mut args = Assigner::new();
    let ret_area_pointer =
        (ret_area_size > 0).then(|| args.assign(ValType::I64, &INT_ARG_REGS, Location::Stack));
    let vmctx = args.assign(ValType::I64, &INT_ARG_REGS, Location::Stack);
    let params = params
        .iter()
        .map(|&ty| args.assign(ty, &INT_ARG_REGS, Location::Stack))
        .collect();
    CallLayout {
        ret_area_pointer,
        vmctx,
        params,
        results,
        stack_args_size: args.memory_size(),
        ret_area_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValType::*;

    #[test]
    fn registers_then_stack() {
        let l = call_layout(&[I32, F64, I64, F32], &[I32]);
        assert_eq!(l.vmctx, Location::Gpr(gpr::RDI));
        assert_eq!(
            l.params,
            [
                Location::Gpr(gpr::RSI),
                Location::Xmm(0),
                Location::Gpr(gpr::RDX),
                Location::Xmm(1)
            ]
        );
        assert_eq!(l.results, [Location::Gpr(gpr::RAX)]);
        assert_eq!(
            (l.stack_args_size, l.ret_area_size, l.ret_area_pointer),
            (0, 0, None)
        );

        // vmctx + 5 ints fill the six registers; the rest spill in order, 8 bytes each.
        let l = call_layout(&[I32; 8], &[]);
        assert_eq!(l.params[4], Location::Gpr(gpr::R9));
        assert_eq!(
            &l.params[5..],
            [Location::Stack(0), Location::Stack(8), Location::Stack(16)]
        );
        assert_eq!(l.stack_args_size, 32);

        let mut floats = vec![F32; 9];
        floats.push(V128);
        let l = call_layout(&floats, &[]);
        assert_eq!(l.params[7], Location::Xmm(7));
        assert_eq!(&l.params[8..], [Location::Stack(0), Location::Stack(16)]);
        assert_eq!(l.stack_args_size, 32);
    }

    #[test]
    fn results_beyond_registers_use_a_return_area() {
        let l = call_layout(&[I32], &[I64; 8]);
        assert_eq!(l.ret_area_pointer, None);
        assert_eq!(l.results[7], Location::Gpr(gpr::R10));

        let l = call_layout(&[I32], &[I64; 10]);
        assert_eq!(l.ret_area_pointer, Some(Location::Gpr(gpr::RDI)));
        assert_eq!(l.vmctx, Location::Gpr(gpr::RSI));
        assert_eq!(l.params, [Location::Gpr(gpr::RDX)]);
        assert_eq!(
            &l.results[8..],
            [Location::RetArea(0), Location::RetArea(8)]
        );
        assert_eq!(l.ret_area_size, 16);

        let mut results = vec![F64; 8];
        results.extend([I32, F32]);
        let l = call_layout(&[], &results);
        assert_eq!(l.results[8], Location::Gpr(gpr::RAX));
        assert_eq!(l.results[9], Location::RetArea(0));
    }

    #[test]
    fn every_shape_is_consistent() {
        let kinds = [I32, I64, F32, F64, V128, ValType::FUNCREF];
        for n in 0..=20usize {
            for m in 0..=10usize {
                let params: Vec<_> = (0..n).map(|i| kinds[(i * 7 + m) % kinds.len()]).collect();
                let results: Vec<_> = (0..m).map(|i| kinds[(i * 5 + n) % kinds.len()]).collect();
                let l = call_layout(&params, &results);
                let mut seen = std::collections::HashSet::new();
                for loc in l
                    .params
                    .iter()
                    .chain([&l.vmctx])
                    .chain(l.ret_area_pointer.iter())
                {
                    assert!(seen.insert(*loc), "{loc:?} used twice in {params:?}");
                    if let Location::Gpr(r) = loc {
                        assert!(INT_ARG_REGS.contains(r));
                    }
                    if let Location::Stack(off) = loc {
                        assert!(*off < l.stack_args_size);
                    }
                }
                let mut seen = std::collections::HashSet::new();
                for (loc, ty) in l.results.iter().zip(&results) {
                    assert!(seen.insert(*loc));
                    match loc {
                        Location::Xmm(_) => assert!(is_float(*ty)),
                        Location::Gpr(r) => assert!(!is_float(*ty) && INT_RESULT_REGS.contains(r)),
                        Location::RetArea(off) => assert!(off + slot_size(*ty) <= l.ret_area_size),
                        Location::Stack(_) => panic!("results never use argument slots"),
                    }
                }
                assert_eq!(l.stack_args_size % 16, 0);
            }
        }
    }
}
